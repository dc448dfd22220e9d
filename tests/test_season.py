"""Recurring footage across a season: OP, ED, recap and reused ranges against exact truth.

Truth comes from construction, never from our detector: the synthetic season's cut-and-joined
generated episodes (animevid/synth/_season.py), and episodes spliced from real clips with one
real OP excerpt placed at different offsets and encoded with different sizes and qualities.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest

from animevid.catalog import Catalog
from animevid.config import Config
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.pipeline import index_episodes
from animevid.season import find_segments
from animevid.synth._season import Cut, generate_season, splice
from tests.helpers import run_cli

TOLERANCE = 2
"""Frames a range's start and end may be off."""


def _by_file(library: Path) -> dict[str, list[tuple[str, int, int]]]:
    with Catalog.in_library(library) as catalog:
        rows = catalog.segments()
    found: dict[str, list[tuple[str, int, int]]] = {}
    for row in rows.itertuples():
        found.setdefault(Path(row.path).name, []).append((row.kind, int(row.start_frame), int(row.end_frame)))
    return found


def _matches(found: list[tuple[str, int, int]], wanted: list[tuple[str, int, int]]) -> bool:
    return len(found) == len(wanted) and all(
        f[0] == w[0] and abs(f[1] - w[1]) <= TOLERANCE and abs(f[2] - w[2]) <= TOLERANCE
        for f, w in zip(sorted(found, key=lambda s: s[1]), sorted(wanted, key=lambda s: s[1]), strict=True)
    )


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """The six-episode synthetic season, indexed (indexing marks the segments)."""
    root = tmp_path_factory.mktemp("season")
    episodes = generate_season(root / "Synthetic Season")
    library = root / "library"
    results = index_episodes([e.path for e in episodes], library=library, config=Config(device="cpu"))
    assert [r.status for r in results] == ["indexed"] * len(episodes)
    return library, episodes


def test_every_op_ed_recap_and_reused_range_within_two_frames(season) -> None:
    library, episodes = season
    found = _by_file(library)
    for episode in episodes:
        wanted = [(s["kind"], s["start_frame"], s["end_frame"]) for s in episode.segments]
        got = found.get(episode.path.name, [])
        assert _matches(got, wanted), (episode.number, got, wanted)
    kinds = {kind for rows in found.values() for kind, _, _ in rows}
    assert kinds == {"op", "ed", "recap", "reused"}


def test_the_truth_holds_the_hard_cases(season) -> None:
    """The season really has a cold open, a short OP, a second OP and reused footage (the generator's truth)."""
    _, episodes = season
    op = {e.number: next(s for s in e.segments if s["kind"] == "op") for e in episodes}
    assert op[2]["start_frame"] == 48 and op[4]["start_frame"] == 48, "cold opens before the OP"
    assert op[3]["end_frame"] - op[3]["start_frame"] < op[1]["end_frame"] - op[1]["start_frame"], "a short OP"
    assert sum(any(s["kind"] == "reused" for s in e.segments) for e in episodes) == 2
    truth = json.loads((episodes[0].path.parent / "season.truth.json").read_text())
    assert [t["episode"] for t in truth] == [1, 2, 3, 4, 5, 6]


def test_segments_command_and_reindexing(season, tmp_path: Path) -> None:
    library, episodes = season
    done = run_cli("segments", "--library", library, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["segments"]
    assert {r["kind"] for r in rows} == {"op", "ed", "recap", "reused"}
    assert all(r["episodes"] >= 2 and r["start_frame"] < r["end_frame"] for r in rows)
    copy = tmp_path / "library"
    shutil.copytree(library, copy)
    index_episodes([episodes[0].path], library=copy, config=Config(device="cpu"), force=True)
    assert _by_file(copy) == _by_file(library), "re-indexing one episode marks the season the same way again"
    missing = run_cli("segments", "--library", tmp_path / "none")
    assert missing.returncode == 1 and "no such library" in missing.stderr


def test_one_episode_alone_has_no_segments(tmp_path: Path, synth_episode) -> None:
    library = tmp_path / "library"
    index_episodes([synth_episode.mp4], library=library, config=Config(device="cpu"))
    assert find_segments(library) == []


def test_two_releases_of_one_episode_are_not_an_op(tmp_path: Path, synth_episode) -> None:
    """The same episode as mp4 and mkv in one folder (a v2, another group's encode) shows itself
    all the way through: that is one episode twice, not recurring footage (it marked both wholly "op")."""
    library = tmp_path / "library"
    index_episodes([synth_episode.mp4, synth_episode.mkv], library=library, config=Config(device="cpu"))
    assert find_segments(library) == []


@pytest.mark.real
def test_a_real_op_at_different_offsets_and_encodes_is_found(real_dir: Path, tmp_path: Path) -> None:
    video = real_dir / "video"
    ops = {}
    for crf, (w, h) in ((18, (1280, 720)), (30, (854, 480)), (24, (640, 360))):
        ops[crf] = tmp_path / f"op{crf}.mp4"
        splice(ops[crf], [Cut(video / "digimon_kizuna_clip_720p.mp4", 10.0, 25.0)], width=w, height=h, crf=crf)
    plans = [
        ([Cut(video / "video2x_sample_output_sakurasou.mp4", 0, 6), Cut(ops[18], 0, 1e9),
          Cut(video / "naruto_shippuden_forest_fight_720p25.mp4", 0, 12)], (640, 360), 20, 1),
        ([Cut(ops[30], 0, 1e9), Cut(video / "onepiece_gear5_action_engsubs.mp4", 0, 14),
          Cut(video / "devil_parttimer_fades.mp4", 0, 6)], (640, 360), 26, 0),
        ([Cut(video / "onepiece_gear5_action_engsubs.mp4", 15, 25), Cut(ops[24], 0, 1e9),
          Cut(video / "video2x_sample_output_sakurasou.mp4", 7, 15)], (480, 270), 23, 1),
        ([Cut(video / "moviepy_big_buck_bunny_0_30.webm", 0, 4), Cut(ops[18], 0, 1e9),
          Cut(video / "moviepy_big_buck_bunny_0_30.webm", 10, 20)], (960, 540), 28, 1),
    ]  # fmt: skip
    folder = tmp_path / "Real Mix"
    folder.mkdir()
    wanted = {}
    for number, (cuts, (w, h), crf, op) in enumerate(plans, 1):
        path = folder / f"Real Mix - {number:02d}.mp4"
        counts = splice(path, cuts, width=w, height=h, crf=crf)
        wanted[path.name] = [("op", sum(counts[:op]), sum(counts[: op + 1]))]
    library = tmp_path / "library"
    index_episodes(sorted(folder.glob("*.mp4")), library=library, config=Config(device="cpu"))
    found = _by_file(library)
    assert all(_matches(found.get(name, []), rows) for name, rows in wanted.items()), (found, wanted)


@pytest.mark.real
def test_no_range_among_unrelated_real_clips(real_dir: Path, tmp_path: Path) -> None:
    """Thirteen clips of different anime (two of them One Piece) in one folder share no footage."""
    videos = sorted(p for p in (real_dir / "video").glob("*") if p.suffix in VIDEO_SUFFIXES)
    library = tmp_path / "library"
    index_episodes(videos, library=library, config=Config(device="cpu"))
    assert find_segments(library) == []


def test_the_season_page_shows_ranges_cast_and_highlights(season, tmp_path: Path) -> None:
    import cv2

    from animevid.characters import enroll
    from animevid.config import CharactersConfig
    from animevid.season import season_report, write_season_page
    from tests.helpers import frame_of

    library, episodes = season
    copy = tmp_path / "library"
    shutil.copytree(library, copy)
    first = episodes[0]  # the season's first episode is its generated episode unchanged: the truth's faces hold
    truth = json.loads((first.path.parent / "bases" / "ep1.truth.json").read_text())
    frame, name, x, y, w, h = max((f for f in truth["faces"] if f[0] > 150), key=lambda f: f[4] * f[5])
    top, left = max(0, int(y - h * 0.3)), max(0, int(x - w * 0.2))
    picture = frame_of(first.path, frame)[top : int(y + h * 1.2), left : int(x + w * 1.2)]
    crop = tmp_path / "face.png"
    cv2.imwrite(str(crop), cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
    enroll(copy, name, [crop], CharactersConfig())
    [report] = season_report(copy)
    assert [e["name"] for e in report["episodes"]] == [e.path.name for e in episodes]
    assert report["screen_time"].get(name, {}).get(report["episodes"][0]["episode_id"], 0) > 0
    ops = {e["name"]: [s for s in e["segments"] if s["kind"] == "op"] for e in report["episodes"]}
    assert all(len(found) == 1 for found in ops.values())
    for highlight in report["highlights"]:  # never inside the OP, ED or a recap
        episode = next(e for e in report["episodes"] if e["name"] == highlight["episode"])
        middle = (highlight["start_seconds"] + highlight["end_seconds"]) / 2
        assert not any(
            s["start_seconds"] <= middle < s["end_seconds"] for s in episode["segments"] if s["kind"] != "reused"
        )
    assert len(report["highlights"]) == 10
    page = write_season_page(copy, tmp_path / "season.html").read_text(encoding="utf-8")
    assert page.count('class="seg"') == sum(len(e["segments"]) for e in report["episodes"])
    assert html.escape(name) in page and "http" not in page, "offline: no address to fetch"


def test_compared_pairs_are_kept_so_a_new_episode_costs_only_its_own_pairs(
    season, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import animevid.season._segments as segments

    library, episodes = season
    copy = tmp_path / "library"
    shutil.copytree(library, copy)
    calls: list[tuple[int, int]] = []
    real = segments.pair_runs

    def counted(x, y):  # type: ignore[no-untyped-def]
        calls.append((x.episode_id, y.episode_id))
        return real(x, y)

    monkeypatch.setattr(segments, "pair_runs", counted)
    before = find_segments(copy)
    assert calls == [], "every pair of the indexed season was compared once already"
    shutil.rmtree(copy / "index" / segments.PAIRS_DIRNAME)
    assert find_segments(copy) == before and len(calls) == len(episodes) * (len(episodes) - 1) // 2
