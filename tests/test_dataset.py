"""Clip datasets (animevid.dataset) against the truth of two indexed synthetic episodes.

Truth: the source frames decoded from the episode files, the catalog's shots, analyses, dialogue
and segments (read with animevid.clips, independently of the export's own selection code), and
the generator's truth (episodes 1 and 2 of one series share their OP and ED: reused footage).
"""

from __future__ import annotations

import gc
import json
import shutil
import tarfile
import warnings
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from animevid.clips import EpisodeFacts, library_episodes
from animevid.config import Config
from animevid.dataset import ClipFilter, ExportError, export_clips
from animevid.pipeline import index_episodes
from animevid.synth import generate_episode

CODEC_NOISE = 3.0
"""Largest mean absolute RGB difference (0..255) allowed between a re-encoded clip frame and its source."""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Episodes 1 and 2 of one series (mkv with the .ass beside), indexed; their truth by file name."""
    root = tmp_path_factory.mktemp("dataset")
    episodes = [generate_episode(root / "src", seed=seed, seconds=20) for seed in (1, 2)]
    results = index_episodes([e.mkv for e in episodes], library=root / "library", config=Config(device="cpu"))
    assert [r.status for r in results] == ["indexed", "indexed"]
    return root / "library", {e.mkv.name: e.truth for e in episodes}


@pytest.fixture(scope="module")
def facts(library) -> list[EpisodeFacts]:
    return list(library_episodes(library[0]))


@pytest.fixture(scope="module")
def source_frames(facts) -> dict[int, list[np.ndarray]]:
    out = {}
    for episode in facts:
        with av.open(str(episode.path)) as container:
            out[episode.episode_id] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return out


@pytest.fixture(scope="module")
def plain(library, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every shot at full size and 64 px, no duplicate left out."""
    out = tmp_path_factory.mktemp("plain") / "out"
    export_clips(library[0], out, format="files", sizes=("full", "64"), filters=ClipFilter(dedupe=False))
    return out


def _decode(data: bytes | Path) -> list[np.ndarray]:
    with av.open(str(data) if isinstance(data, Path) else __import__("io").BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _keys(out: Path) -> set[str]:
    return {p.stem for p in (out / "clips").glob("*.json")}


def _all_keys(facts: list[EpisodeFacts]) -> dict[str, tuple[EpisodeFacts, int]]:
    return {f"{e.episode_id:05d}_{i:05d}": (e, i) for e in facts for i in range(len(e.shots))}


def test_every_clip_holds_exactly_its_shots_frames(plain: Path, facts, source_frames, key_frames) -> None:
    shots = _all_keys(facts)
    assert _keys(plain) == set(shots), "one clip per shot"
    encodings = []
    for key, (episode, index) in shots.items():
        shot = episode.shots[index]
        meta = json.loads((plain / "clips" / f"{key}.json").read_text())
        got = _decode(plain / "clips" / f"{key}.mp4")
        want = source_frames[episode.episode_id][shot.start_frame : shot.end_frame]
        assert len(got) == len(want) == meta["frames"], key
        worst = max(float(np.abs(a.astype(np.int16) - b).mean()) for a, b in zip(got, want, strict=True))
        if meta["encoding"] == "copy":
            assert worst == 0.0, f"{key}: a copied clip decodes to the very same pixels"
        assert worst < CODEC_NOISE, f"{key}: frames differ from the source's {shot.start_frame}..{shot.end_frame}"
        assert (meta["start_frame"], meta["end_frame"]) == (shot.start_frame, shot.end_frame)
        encodings.append(meta["encoding"])
        if meta["encoding"] == "copy":
            assert shot.start_frame in key_frames[episode.episode_id], f"{key}: copied without starting on an I-frame"
    assert "copy" in encodings and "reencode" in encodings, "both ways of cutting are checked"
    starts = {(e.episode_id, s.start_frame) for e in facts for s in e.shots}
    assert any((e, f) in starts for e, frames in key_frames.items() for f in frames if f > 0)


@pytest.fixture(scope="module")
def key_frames(facts) -> dict[int, set[int]]:
    """Frames whose packet is a key packet (by presentation order), per episode."""
    out = {}
    for episode in facts:
        with av.open(str(episode.path)) as container:
            packets = [(p.pts, p.is_keyframe) for p in container.demux(video=0) if p.size]
        order = sorted(pts for pts, _ in packets)
        out[episode.episode_id] = {order.index(pts) for pts, key in packets if key}
    return out


def test_sizes_are_written_with_the_right_dimensions(plain: Path, facts) -> None:
    for key in _keys(plain):
        meta = json.loads((plain / "clips" / f"{key}.json").read_text())
        full, small = (plain / "clips" / f"{key}.mp4"), (plain / "clips" / f"{key}.64.mp4")
        assert [f["size"] for f in meta["files"]] == ["full", "64"]
        with av.open(str(full)) as a, av.open(str(small)) as b:
            assert (a.streams.video[0].width, a.streams.video[0].height) == (320, 180)
            assert (b.streams.video[0].width, b.streams.video[0].height) == (114, 64), "short side 64, aspect kept"
        assert len(_decode(small)) == meta["frames"]
        assert meta["files"][1]["encoding"] == "reencode"


def test_metadata_carries_the_catalogs_facts(plain: Path, facts) -> None:
    episode = facts[1]
    for index, shot in enumerate(episode.shots):
        meta = json.loads((plain / "clips" / f"{episode.episode_id:05d}_{index:05d}.json").read_text())
        analysis = episode.analyses[index]
        assert meta["episode"] == "ep2.mkv" and meta["episode_number"] == 2 and meta["series"] == episode.series
        assert meta["cadence"] == analysis.cadence and meta["camera"] == analysis.camera
        assert meta["tags"] == list(analysis.tags)
        assert meta["sakuga_score"] == pytest.approx(analysis.sakuga_score, abs=1e-4)
        assert meta["start_seconds"] == pytest.approx(shot.start_seconds, abs=1e-6)
        lines = [line.text for line in episode.shot_lines(shot)]
        assert meta["dialogue"] == "\n".join(lines)
        assert (plain / "clips" / f"{meta['key']}.txt").read_text() == meta["dialogue"]
    assert any(json.loads(p.read_text())["dialogue"] for p in (plain / "clips").glob("*.json")), "dialogue is there"


def _expected(facts: list[EpisodeFacts], keep) -> set[str]:  # type: ignore[no-untyped-def]
    return {key for key, (episode, index) in _all_keys(facts).items() if keep(episode, index, episode.shots[index])}


FILTERS = {
    "duration": (
        ClipFilter(min_seconds=1.0, max_seconds=1.5),
        lambda e, i, s: 1.0 <= s.end_seconds - s.start_seconds <= 1.5,
    ),
    "cadence": (ClipFilter(cadences=("twos", "threes")), lambda e, i, s: e.analyses[i].cadence in ("twos", "threes")),
    "sakuga": (ClipFilter(min_sakuga=0.5), lambda e, i, s: e.analyses[i].sakuga_score >= 0.5),
    "tags_any": (ClipFilter(tags_any=("loop", "zoom")), lambda e, i, s: {"loop", "zoom"} & set(e.analyses[i].tags)),
    "tags_all": (
        ClipFilter(tags_all=("on-ones", "high-motion")),
        lambda e, i, s: {"on-ones", "high-motion"} <= set(e.analyses[i].tags),
    ),
    "dialogue": (ClipFilter(has_dialogue=True), lambda e, i, s: bool(e.shot_lines(s))),
    "no_dialogue": (ClipFilter(has_dialogue=False), lambda e, i, s: not e.shot_lines(s)),
    "repeated": (ClipFilter(exclude_repeated=True), lambda e, i, s: not e.repeated(s.start_frame, s.end_frame)),
}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_each_filter_keeps_exactly_its_clips(name: str, library, facts, tmp_path: Path) -> None:
    rules, keep = FILTERS[name]
    wanted = _expected(facts, keep)
    assert 0 < len(wanted) < sum(len(e.shots) for e in facts), "the filter has something to keep and to drop"
    report = export_clips(library[0], tmp_path / "out", format="parquet", filters=replace(rules, dedupe=False))
    rows = pq.read_table(tmp_path / "out" / "clips.parquet").to_pylist()
    assert {r["key"] for r in rows} == wanted
    assert {p.name.split(".")[0] for p in (tmp_path / "out" / "clips").glob("*.mp4")} == wanted
    assert report.stats.clips == len(wanted)
    assert sum(report.stats.skipped.values()) == report.stats.considered - len(wanted)


def test_character_filter_uses_the_cast(library, facts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic cast is not enrolled, so the catalog's cast is faked: Aoi in shots 2 and 7 of episode 2."""
    import animevid.dataset._export as export

    faked = [
        replace(e, cast={2: ("Aoi", "Ren"), 7: ("Aoi",), 8: ("Ren",)}) if e.name == "ep2.mkv" else e for e in facts
    ]
    monkeypatch.setattr(export, "library_episodes", lambda _library: iter(faked))
    export_clips(library[0], tmp_path / "out", filters=ClipFilter(character="aoi", dedupe=False))
    episode = facts[1].episode_id
    assert _keys(tmp_path / "out") == {f"{episode:05d}_00002", f"{episode:05d}_00007"}
    meta = json.loads((tmp_path / "out" / "clips" / f"{episode:05d}_00002.json").read_text())
    assert meta["characters"] == ["Aoi", "Ren"]


def test_reused_footage_is_exported_once(library, facts, tmp_path: Path) -> None:
    """Episode 2 repeats episode 1's OP and ED (separately encoded): those shots are left out as duplicates."""
    _, truth = library
    report = export_clips(library[0], tmp_path / "out", format="files")
    second = facts[1]
    op, ed = truth["ep2.mkv"]["op"], truth["ep2.mkv"]["ed"]

    def reused(shot) -> bool:  # type: ignore[no-untyped-def]
        return shot.end_frame <= op["end_frame"] or shot.start_frame >= ed["start_frame"]

    wanted = {
        f"{e.episode_id:05d}_{i:05d}" for e in facts for i, s in enumerate(e.shots) if e is not second or not reused(s)
    }
    assert _keys(tmp_path / "out") == wanted
    assert report.stats.duplicates == sum(reused(s) for s in second.shots) > 0


def _snapshot(out: Path) -> dict[str, object]:
    """Everything an export wrote that must not depend on being interrupted (times of day left out)."""
    snap: dict[str, object] = {"manifest": json.loads((out / "manifest.json").read_text())}
    for tar in sorted(out.glob("*.tar")):
        with tarfile.open(tar) as handle:
            snap[tar.name] = [(m.name, handle.extractfile(m).read()) for m in handle.getmembers()]  # type: ignore[union-attr]
    for table in sorted(out.glob("*.parquet")):
        snap[table.name] = pq.read_table(table).to_pylist()
    for stats in sorted(out.glob("*_stats.json")):
        data = json.loads(stats.read_text())
        snap[stats.name] = {k: v for k, v in data.items() if k not in ("start_time", "end_time", "duration")}
    return snap


def test_a_killed_export_resumes_to_the_same_result(library, tmp_path: Path) -> None:
    options = {"format": "webdataset", "shard_size": 4, "sizes": ("full", "64")}
    whole = export_clips(library[0], tmp_path / "whole", **options)

    def killer(done: int, total: int) -> None:
        if done == 15:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        export_clips(library[0], tmp_path / "killed", progress=killer, **options)
    finished = sorted(p.name for p in (tmp_path / "killed").glob("*.tar"))
    assert 0 < len(finished) < whole.shards and not list((tmp_path / "killed").glob("*.partial"))
    seen: list[int] = []
    resumed = export_clips(library[0], tmp_path / "killed", progress=lambda d, t: seen.append(d), **options)
    assert resumed.resumed_shards == len(finished)
    assert seen[0] > 1 and seen[-1] == whole.stats.considered, "finished shards are not redone"
    assert _snapshot(tmp_path / "killed") == _snapshot(tmp_path / "whole")
    again = export_clips(library[0], tmp_path / "killed", **options)
    assert again.stats == whole.stats and again.resumed_shards == whole.shards


def test_webdataset_round_trips_through_the_webdataset_package(library, facts, tmp_path: Path) -> None:
    wds = pytest.importorskip("webdataset")
    out = tmp_path / "out"
    report = export_clips(library[0], out, format="webdataset", shard_size=10)
    urls = [str(p) for p in sorted(out.glob("*.tar"))]
    assert [Path(u).name for u in urls] == [f"{n:05d}.tar" for n in range(report.shards)]
    with warnings.catch_warnings():
        # webdataset 1.0 leaves its shard files for the garbage collector to close
        warnings.simplefilter("ignore", ResourceWarning)
        samples = list(wds.WebDataset(urls, shardshuffle=False))
        gc.collect()
    assert len(samples) == report.stats.clips
    for sample in samples:
        meta = json.loads(sample["json"])
        assert meta["key"] == sample["__key__"]
        assert sample["txt"].decode() == meta["dialogue"]
        assert len(_decode(sample["mp4"])) == meta["frames"]
    for n in range(report.shards):
        stats = json.loads((out / f"{n:05d}_stats.json").read_text())
        assert {"count", "successes", "failed_to_download", "bytes_downloaded", "status_dict"} <= set(stats)
        rows = pq.read_table(out / f"{n:05d}.parquet").to_pylist()
        assert len(rows) == stats["successes"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stats"]["clips"] == len(samples) and len(manifest["shards"]) == report.shards


def test_loops_and_scenes_are_units_too(library, facts, tmp_path: Path) -> None:
    loops = export_clips(library[0], tmp_path / "loops", unit="loop", filters=ClipFilter(dedupe=False))
    wanted = sum(len(a.loops) for e in facts for a in e.analyses.values())
    assert loops.stats.clips == wanted > 0
    for meta in (json.loads(p.read_text()) for p in (tmp_path / "loops" / "clips").glob("*.json")):
        assert meta["frames"] == meta["loop"]["period_frames"] * meta["loop"]["repeats"]
    scenes = export_clips(library[0], tmp_path / "scenes", unit="scene", filters=ClipFilter(dedupe=False))
    assert scenes.stats.clips == sum(len(e.scenes) for e in facts)


def test_sidecar_credits_and_clear_errors(library, facts, tmp_path: Path) -> None:
    sidecar = tmp_path / "credits.yaml"
    sidecar.write_text(
        "series:\n  ep2: {studio: Studio Synth, staff: {director: A. Director}}\n"
        "episodes:\n  ep2.mkv: {staff: {key_animation: [K. One, K. Two]}}\n"
    )
    export_clips(library[0], tmp_path / "out", metadata=sidecar, filters=ClipFilter(min_seconds=1.4, dedupe=False))
    metas = [json.loads(p.read_text()) for p in (tmp_path / "out" / "clips").glob("*.json")]
    second = [m for m in metas if m["episode"] == "ep2.mkv"]
    assert second and all(m["studio"] == "Studio Synth" for m in second)
    assert second[0]["staff"] == {"director": "A. Director", "key_animation": ["K. One", "K. Two"]}
    assert all(m["studio"] is None for m in metas if m["episode"] == "ep1.mkv")
    with pytest.raises(ExportError, match="other settings"):
        export_clips(library[0], tmp_path / "out", filters=ClipFilter(min_seconds=2.0))
    bad = tmp_path / "bad.yaml"
    bad.write_text("studios: []\n")
    with pytest.raises(ExportError, match=r"bad\.yaml"):
        export_clips(library[0], tmp_path / "other", metadata=bad)
    with pytest.raises(ExportError, match="size"):
        export_clips(library[0], tmp_path / "other", sizes=("huge",))


def test_a_moved_episode_is_a_recorded_failure(library, facts, tmp_path: Path) -> None:
    copy = tmp_path / "library"
    shutil.copytree(library[0], copy)
    moved = facts[0].path.with_name("moved.mkv")
    facts[0].path.rename(moved)
    try:
        report = export_clips(copy, tmp_path / "out", filters=ClipFilter(dedupe=False))
    finally:
        moved.rename(facts[0].path)
    assert [f.episode for f in report.failures] == ["ep1.mkv"] and "no longer" in report.failures[0].error
    assert report.stats.clips == len(facts[1].shots)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["failures"][0]["episode"] == "ep1.mkv"


def test_a_run_killed_before_its_first_shard_resumes(library, tmp_path: Path) -> None:
    options = {"format": "files", "filters": ClipFilter(min_seconds=1.4, dedupe=False)}

    def killer(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        export_clips(library[0], tmp_path / "out", progress=killer, **options)
    report = export_clips(library[0], tmp_path / "out", **options)
    whole = export_clips(library[0], tmp_path / "whole", **options)
    assert report.resumed_shards == 0 and report.stats == whole.stats
    assert _keys(tmp_path / "out") == _keys(tmp_path / "whole")
    assert json.loads((tmp_path / "out" / "manifest.json").read_text()) == json.loads(
        (tmp_path / "whole" / "manifest.json").read_text()
    )
