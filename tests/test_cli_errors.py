"""Every command, every kind of bad input: one line naming what was wrong, exit status 1 (2: usage), no traceback."""

from __future__ import annotations

import json
import resource
import shutil
import struct
import time
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from animevid.cli import app
from animevid.config import Config
from animevid.errors import SearchError
from animevid.pipeline import index_episodes
from animevid.search import load_image
from tests.helpers import tiny_episode

SAMPLE = Path(__file__).resolve().parents[1] / "data_samples" / "ep1.mkv"


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bad inputs, made once: files of the wrong kind, folders where files belong, damaged stores."""
    root = tmp_path_factory.mktemp("bad")
    made = {
        "missing": root / "missing.mkv",
        "folder": root / "a-folder",
        "text": root / "notes.txt",
        "binary": root / "blob.yaml",
        "huge_batch": root / "huge.yaml",
        "garbage_png": root / "garbage.png",
        "garbage_catalog": root / "garbage-lib",
        "empty_lib": root / "empty-lib",
        "bomb": root / "bomb.png",
        "subs_garbage": root / "garbage.ass",
        "model_missing": root / "model-missing.yaml",
        "model_garbage": root / "model-garbage.yaml",
        "model_old": root / "model-old.yaml",
    }
    made["folder"].mkdir()
    made["empty_lib"].mkdir()
    made["text"].write_text("not a video\n" * 40)
    made["binary"].write_bytes(bytes(range(256)) * 8)
    made["huge_batch"].write_text("decode:\n  batch_frames: 2000000\n")
    made["garbage_png"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300)
    made["garbage_catalog"].mkdir()
    (made["garbage_catalog"] / "catalog.sqlite").write_bytes(b"this is not sqlite" * 100)
    made["subs_garbage"].write_bytes(b"\x00\xff" * 500)
    bomb_png(made["bomb"])
    (root / "scorer.json").write_text("{not json")
    (root / "old-scorer.json").write_text(
        json.dumps({k: [0.0] * 25 for k in ("mean", "scale", "w1", "b1", "w2", "b2")})
    )
    made["model_missing"].write_text(f"shots:\n  model: {root / 'no-such-scorer.json'}\n")
    made["model_garbage"].write_text(f"shots:\n  model: {root / 'scorer.json'}\n")
    made["model_old"].write_text(f"shots:\n  model: {root / 'old-scorer.json'}\n")
    return made


def bomb_png(path: Path, side: int = 32000) -> Path:
    """A valid 1-bit PNG of ``side`` x ``side`` zeros: 80 kB on disk, 3 GB once decoded to RGB."""
    row = b"\x00" * (1 + side // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


CASES: list[tuple[str, list[str]]] = [
    ("index: a missing file", ["index", "{missing}", "--library", "{lib}"]),
    ("index: an empty folder", ["index", "{folder}", "--library", "{lib}"]),
    ("index: an unknown device", ["index", str(SAMPLE), "--device", "gpu", "--library", "{lib}"]),
    ("index: an unknown decoder", ["index", str(SAMPLE), "--backend", "ffmpeg7", "--library", "{lib}"]),
    ("index: a binary --config", ["index", str(SAMPLE), "--config", "{binary}", "--library", "{lib}"]),
    ("index: batch_frames 2000000", ["index", str(SAMPLE), "--config", "{huge_batch}", "--library", "{lib}"]),
    ("index: an unknown encoding", ["index", str(SAMPLE), "--subs-encoding", "klingon", "--library", "{lib}"]),
    ("index: a missing --subs", ["index", str(SAMPLE), "--subs", "{missing}", "--library", "{lib}"]),
    ("index: a garbage catalog", ["index", str(SAMPLE), "--library", "{garbage_catalog}"]),
    ("index: negative workers", ["index", str(SAMPLE), "--workers", "-1", "--library", "{lib}"]),
    ("check: no such library", ["check", "--library", "{missing}"]),
    ("check: a garbage catalog", ["check", "--library", "{garbage_catalog}"]),
    ("info: a missing file", ["info", "{missing}"]),
    ("info: a text file", ["info", "{text}"]),
    ("info: nothing to show", ["info"]),
    ("info: a library without catalog", ["info", "--library", "{empty_lib}"]),
    ("info: a garbage catalog", ["info", "--library", "{garbage_catalog}"]),
    ("shots: an unknown device", ["shots", str(SAMPLE), "--device", "gpu"]),
    ("shots: an unknown detector", ["shots", str(SAMPLE), "--detector", "magic"]),
    ("shots: a folder", ["shots", "{folder}"]),
    ("analyze: an unknown device", ["analyze", str(SAMPLE), "--device", "gpu"]),
    ("analyze: an unknown loop format", ["analyze", str(SAMPLE), "--loop-format", "avi", "--export-loops", "{out}"]),
    ("analyze: loops into a file", ["analyze", str(SAMPLE), "--export-loops", "{text}"]),
    ("scenes: an unknown device", ["scenes", str(SAMPLE), "--device", "gpu"]),
    ("scenes: missing subtitles", ["scenes", str(SAMPLE), "--subs", "{missing}"]),
    ("scenes: garbage subtitles", ["scenes", str(SAMPLE), "--subs", "{subs_garbage}"]),
    ("subs align: an unknown device", ["subs", "align", str(SAMPLE), "--device", "gpu"]),
    ("subs align: output is a folder", ["subs", "align", str(SAMPLE), "-o", "{folder}"]),
    ("subs align: output folder missing", ["subs", "align", str(SAMPLE), "-o", "{missing}/x/out.ass"]),
    ("subs align: an unknown encoding", ["subs", "align", str(SAMPLE), "{subs_garbage}", "--encoding", "klingon"]),
    ("subs align: garbage subtitles", ["subs", "align", str(SAMPLE), "{subs_garbage}"]),
    ("subs tracks: a text file", ["subs", "tracks", "{text}"]),
    ("search: a missing picture", ["search", "{missing}", "--library", "{lib}"]),
    ("search: a garbage picture", ["search", "{garbage_png}", "--library", "{lib}"]),
    ("search: a 32000x32000 picture", ["search", "{bomb}", "--library", "{lib}"]),
    ("search: page into a folder", ["search", "{garbage_png}", "--html", "{folder}", "--library", "{lib}"]),
    ("search: text on a garbage catalog", ["search", "--text", "hello", "--library", "{garbage_catalog}"]),
    ("search: no library", ["search", "--text", "hello", "--library", "{empty_lib}"]),
    ("search: both picture and text", ["search", "{garbage_png}", "--text", "hi", "--library", "{lib}"]),
    ("search: an empty text", ["search", "--text", " ", "--library", "{lib}"]),
    ("reel: a missing episode", ["reel", "{missing}", "--seconds", "5", "-o", "{out}.mp4", "--library", "{lib}"]),
    ("reel: a text file", ["reel", "{text}", "--seconds", "5", "-o", "{out}.mp4", "--library", "{lib}"]),
    ("reel: a zero budget", ["reel", str(SAMPLE), "--seconds", "0", "-o", "{out}.mp4", "--library", "{lib}"]),
    ("reel: an unknown format", ["reel", str(SAMPLE), "--seconds", "5", "-o", "{out}", "--format", "avi"]),
    ("reel: output is a folder", ["reel", str(SAMPLE), "--seconds", "5", "-o", "{folder}", "--library", "{lib}"]),
    (
        "reel: a garbage catalog",
        ["reel", str(SAMPLE), "--seconds", "5", "-o", "{out}", "--library", "{garbage_catalog}"],
    ),
    ("export: no such library", ["export", "--library", "{missing}", "--out", "{out}"]),
    ("export: a garbage catalog", ["export", "--library", "{garbage_catalog}", "--out", "{out}"]),
    ("export: an unknown format", ["export", "--library", "{empty_lib}", "--out", "{out}", "--format", "zip"]),
    ("export: an unknown cadence", ["export", "--library", "{empty_lib}", "--out", "{out}", "--cadence", "fours"]),
    ("export: a size of 0", ["export", "--library", "{empty_lib}", "--out", "{out}", "--sizes", "0"]),
    ("export: --out is a file", ["export", "--library", "{empty_lib}", "--out", "{text}"]),
    ("export: a garbage sidecar", ["export", "--library", "{empty_lib}", "--out", "{out}", "--metadata", "{binary}"]),
    ("digest: no such library", ["digest", "--library", "{missing}", "-o", "{out}"]),
    ("digest: a garbage catalog", ["digest", "--library", "{garbage_catalog}", "-o", "{out}"]),
    ("digest: a missing episode", ["digest", "{missing}", "--library", "{lib}", "-o", "{out}"]),
    ("digest: a text file", ["digest", "{text}", "--library", "{lib}", "-o", "{out}"]),
    ("digest: --out is a file", ["digest", str(SAMPLE), "--library", "{lib}", "-o", "{text}"]),
    ("synth: too short", ["synth", "{out}", "--seconds", "2"]),
    ("synth: an odd width", ["synth", "{out}", "--width", "321"]),
    ("demo: --out is a file", ["demo", "--out", "{text}"]),
    ("--config that is missing", ["shots", str(SAMPLE), "--config", "{missing}"]),
    ("shots.model that is missing", ["shots", str(SAMPLE), "--config", "{model_missing}"]),
    ("shots.model that is no JSON", ["index", str(SAMPLE), "--config", "{model_garbage}", "--library", "{lib}"]),
    ("shots.model of 25 features", ["analyze", str(SAMPLE), "--config", "{model_old}"]),
]


@pytest.mark.parametrize(("case", "args"), CASES, ids=[c for c, _ in CASES])
def test_bad_input_gives_one_line_never_a_traceback(
    case: str, args: list[str], bad: dict[str, Path], tmp_path: Path
) -> None:
    places = {**{k: str(v) for k, v in bad.items()}, "lib": str(tmp_path / "lib"), "out": str(tmp_path / "out")}
    result = CliRunner().invoke(app, [a.format(**places) for a in args])
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (1, 2), (case, result.exit_code, output)
    if result.exit_code == 1:  # animevid's own message on stderr, on one line ("failed:" for a batch's episode)
        errors = [line for line in result.stderr.splitlines() if line.startswith(("error:", "failed:"))]
        assert len(errors) == 1, result.stderr
    else:  # a usage error from the argument parser names the option
        assert "Usage" in result.stderr or "Invalid value" in result.stderr


def test_a_huge_picture_is_refused_from_its_header(bad: dict[str, Path]) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with pytest.raises(SearchError, match=r"32000x32000 pixels \(1024 megapixels\).*scale it down"):
        load_image(bad["bomb"])
    seconds = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert grown < 200, f"refusing the picture took {grown:.0f} MB"  # decoding it would take 3 GB
    print(f"refused in {seconds * 1000:.1f} ms, {grown:.0f} MB more peak memory")


def test_a_shift_jis_subtitle_line_is_found_by_dialogue_search(tmp_path: Path) -> None:
    episode = tiny_episode(tmp_path / "ep01.mp4", 5, frames=72)
    line = "今日は学校に行かない"
    script = (
        "[Script Info]\r\nScriptType: v4.00+\r\n\r\n[V4+ Styles]\r\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, Bold, Encoding\r\n"
        "Style: Default,MS Gothic,40,&H00FFFFFF,0,1\r\n\r\n[Events]\r\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n"
        f"Dialogue: 0,0:00:00.50,0:00:02.00,Default,,0,0,0,,{line}\r\n"
    )
    (tmp_path / "ep01.ass").write_bytes(script.encode("shift_jis"))  # no Encoding hint: detected
    library = tmp_path / "lib"
    [result] = index_episodes([episode], library=library, config=Config(device="cpu"))
    assert result.status == "indexed", result.error
    found = CliRunner().invoke(app, ["search", "--text", "学校", "--library", str(library), "--json"])
    assert found.exit_code == 0, found.stderr
    assert [hit["text"] for hit in json.loads(found.stdout)["results"]] == [line]
    shutil.copy(episode, tmp_path / "ep02.mp4")  # the same picture, named otherwise: skipped, nothing new
    chosen = CliRunner().invoke(
        app, ["index", str(episode), "--force", "--subs-encoding", "shift_jis", "--library", str(library), "--json"]
    )
    assert chosen.exit_code == 0 and json.loads(chosen.stdout)["episodes"][0]["status"] == "indexed"


def test_info_on_a_library_shows_states_warnings_and_failures(tmp_path: Path, bad: dict[str, Path]) -> None:
    library = tmp_path / "lib"
    index_episodes([SAMPLE, bad["text"]], library=library, config=Config(device="cpu"))
    shown = CliRunner().invoke(app, ["info", "--library", str(library), "--json"])
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert [e["state"] for e in data["episodes"]] == ["indexed"] and data["counts"]["indexed"] == 1
    assert data["episodes"][0]["search_vectors"] > 0 and data["episodes"][0]["warnings"] == []
    [failure] = data["failures"]
    assert failure["path"] == str(bad["text"].resolve()) and failure["error_type"] == "NotAVideoError"
    table = CliRunner().invoke(app, ["info", "--library", str(library)])
    assert table.exit_code == 0 and "ep1.mkv" in table.stdout and "NotAVideoError" in table.stdout
