"""The command line as a user runs it: real processes, exit codes, stdout JSON, stderr messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from animevid import __version__
from animevid.catalog import Catalog
from tests.helpers import real_file


def animevid(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "ANIMEVID_LIBRARY": ""}
    return subprocess.run(
        [sys.executable, "-m", "animevid", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_version_and_help() -> None:
    assert animevid("--version").stdout.strip() == f"animevid {__version__}"
    result = animevid("--help")
    assert result.returncode == 0
    for command in ("index", "info", "synth", "demo"):
        assert command in result.stdout
    assert "Examples" in result.stdout


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "ep01.mkv"
    result = animevid("info", missing)
    assert result.returncode == 1
    assert "error:" in result.stderr and str(missing) in result.stderr and "no such file" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_release_names_with_brackets_are_printed_verbatim(tmp_path: Path, synth_episode) -> None:
    # Fansub releases are named "[Group] Show - 01 [1080p].mkv"; brackets must not be eaten as markup.
    named = tmp_path / "[Okaeri] Show - 01 [1080p][ABCD1234].mkv"
    missing = animevid("info", named)
    assert str(named) in missing.stderr.replace("\n", "")
    named.write_bytes(synth_episode.mkv.read_bytes())
    table = animevid("index", named, "--library", tmp_path / "lib")
    assert table.returncode == 0 and "[Okaeri]" in table.stdout


def test_info_json(synth_episode) -> None:
    result = animevid("info", synth_episode.mkv, "--json", "--count")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["frames"] == synth_episode.truth["frames"]
    assert data["codec"] == "h264"
    assert [t["codec"] for t in data["subtitle_tracks"]] == ["ass"]


def test_index_batch_goes_on_past_a_bad_file_and_resumes(tmp_path: Path, synth_episode) -> None:
    bad = tmp_path / "broken.mkv"
    bad.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 500)  # a Matroska header and nothing else
    library = tmp_path / "lib"
    first = animevid("index", synth_episode.mp4, bad, synth_episode.mkv, "--library", library, "--json")
    assert first.returncode == 1  # a failure in the batch is reported in the exit status
    statuses = [e["status"] for e in json.loads(first.stdout)["episodes"]]
    assert statuses == ["indexed", "failed", "indexed"]
    with Catalog.in_library(library) as catalog:
        episodes = catalog.episodes()
        assert len(episodes) == 2
        assert set(episodes["frames"]) == {synth_episode.truth["frames"]}
        failures = catalog.failures()
        assert len(failures) == 1 and "broken.mkv" in failures["error"].iloc[0]
    again = animevid("index", synth_episode.mp4, synth_episode.mkv, "--library", library, "--json")
    assert again.returncode == 0
    assert [e["status"] for e in json.loads(again.stdout)["episodes"]] == ["skipped", "skipped"]


def test_index_keeps_a_truncated_episode_with_its_warning(tmp_path: Path) -> None:
    source = real_file("video", "moviepy_big_buck_bunny_0_30.webm")
    half = tmp_path / "half.webm"
    half.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    result = animevid("index", half, "--library", tmp_path / "lib", "--json")
    assert result.returncode == 0, result.stderr
    [episode] = json.loads(result.stdout)["episodes"]
    assert episode["status"] == "indexed" and 200 < episode["frames"] < 720
    assert any("looks truncated" in w for w in episode["warnings"])


def test_bad_config_names_file_and_key(tmp_path: Path, synth_episode) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text("decode:\n  batch_framez: 10\n")
    result = animevid("info", synth_episode.mp4, "--config", config)
    assert result.returncode == 1
    assert str(config) in result.stderr and "batch_framez" in result.stderr and "batch_frames" in result.stderr


def test_unknown_backend_lists_valid_ones(tmp_path: Path, synth_episode) -> None:
    result = animevid("index", synth_episode.mp4, "--backend", "nvdec2", "--library", tmp_path / "lib")
    assert result.returncode == 1
    assert "unknown decoder 'nvdec2'" in result.stderr and "pyav" in result.stderr


def test_synth_command_writes_episode_and_truth(tmp_path: Path) -> None:
    result = animevid("synth", tmp_path / "out", "--seed", "5", "--seconds", "12", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("mp4", "mkv", "ass", "truth"):
        assert Path(data[key]).is_file()
    truth = json.loads(Path(data["truth"]).read_text())
    assert truth["seed"] == 5 and truth["frames"] == data["frames"]


@pytest.mark.slow
def test_demo_reports_measurements_against_truth(tmp_path: Path) -> None:
    result = animevid("demo", "--out", tmp_path / "demo")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["frames"]["truth"] == checks["frames"]["measured"]
    assert (
        checks["held frames (repeat the previous image)"]["truth"]
        == checks["held frames (repeat the previous image)"]["measured"]
    )
    for name in (
        "shots",
        "distinct drawings (sum over shots)",
        "scenes",
        "subtitle lines (ep1.ass beside the episode)",
    ):
        assert checks[name]["truth"] == checks[name]["measured"], checks[name]
    found = checks["screenshot (cropped, mirrored) shown at (s)"]
    start, until = (float(t) for t in found["measured"].split("-"))
    assert start - 1.0 <= float(found["truth"].split()[0]) <= until + 1.0, found
    assert Path(report["outputs"]["catalog"]).is_file()
    assert "outputs:" in result.stdout
    page = Path(report["outputs"]["digest"]).read_text()
    assert page.count("<article class=scene ") == checks["scenes"]["truth"]


def test_digest_reel_and_export_from_the_command_line(tmp_path: Path) -> None:
    """The take-home commands on the sample: digest indexes it first, reel and export read the library."""
    sample = Path(__file__).resolve().parents[1] / "data_samples" / "ep1.mkv"
    library = tmp_path / "library"
    result = animevid("digest", sample, "--library", library, "-o", tmp_path / "digest", "--json")
    assert result.returncode == 0, result.stderr
    assert "indexing it first" in result.stderr
    [page] = json.loads(result.stdout)["pages"]
    facts = json.loads(Path(page["json"]).read_text())
    shots = len(facts["shots"])
    assert shots == 18 and Path(page["html"]).is_file() and Path(page["contact"]).is_file()

    result = animevid("reel", sample, "--seconds", "4", "-o", tmp_path / "reel.mp4", "--library", library, "--json")
    assert result.returncode == 0, result.stderr
    reel = json.loads(result.stdout)
    assert 0 < reel["frames"] <= reel["budget_frames"] == int(4 * 24000 / 1001)
    assert "indexing it first" not in result.stderr

    result = animevid("export", "--library", library, "--out", tmp_path / "clips", "--format", "parquet", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)["stats"]
    assert stats["clips"] == shots and stats["copied"] + stats["reencoded"] == shots
    assert len(list((tmp_path / "clips" / "clips").glob("*.mp4"))) == shots


def test_index_takes_a_season_folder_in_natural_order(tmp_path: Path, synth_episode) -> None:
    season = tmp_path / "season"
    (season / "extras" / ".hidden").mkdir(parents=True)
    for name in ("ep10.mkv", "ep2.mkv", "extras/ep1.mp4", "extras/.hidden/x.mkv", "notes.txt"):
        (season / name).write_bytes(synth_episode.mkv.read_bytes() if name.endswith("mkv") else b"")
    (season / "extras" / "ep1.mp4").write_bytes(synth_episode.mp4.read_bytes())
    result = animevid("index", season, "--library", tmp_path / "lib", "--json")
    assert result.returncode == 0, result.stderr
    names = [Path(e["path"]).name for e in json.loads(result.stdout)["episodes"]]
    assert names == ["ep2.mkv", "ep10.mkv", "ep1.mp4"]
    assert json.loads(result.stdout)["episodes"][1]["status"] == "skipped"  # same bytes as ep2.mkv


def test_index_empty_folder_says_what_it_looked_for(tmp_path: Path) -> None:
    result = animevid("index", tmp_path, "--library", tmp_path / "lib")
    assert result.returncode == 1 and "holds no video file" in result.stderr and ".mkv" in result.stderr
