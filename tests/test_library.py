"""A library never loses or hides an episode: kills at every commit step, two writers, damaged files, repairs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from animevid.catalog import Catalog
from animevid.config import Config
from animevid.errors import SearchError
from animevid.integrity import check_library
from animevid.library import FAULT_ENV
from animevid.model import content_hash
from animevid.pipeline import index_episodes
from animevid.search import SearchIndex, search_image
from tests.helpers import cli, frame_of, group_members, run_cli, tiny_episode, wait_until

CPU = Config(device="cpu")
COMMIT_STEPS = ("library-locked", "catalog-reserved", "search-episode-files", "search-vectors", "catalog-committed")
"""Every point between two store writes of an episode's commit (animevid.pipeline, animevid.search._store)."""


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("tiny")
    return [tiny_episode(folder / f"ep{seed:02d}.mp4", seed) for seed in range(20)]


def assert_all_found(library: Path, wanted: list[Path]) -> None:
    """Each episode is indexed, and a frame of it finds it first, confidently."""
    with Catalog.in_library(library) as catalog:
        rows = catalog.episodes()
    assert set(rows["state"]) == {"indexed"}
    assert sorted(Path(p).name for p in rows["path"]) == sorted(p.name for p in wanted)
    for episode in wanted:
        result = search_image(frame_of(episode, 20), library=library, config=CPU.search)
        assert result.confident and Path(result.hits[0].episode).name == episode.name, (episode, result.hits)
    assert check_library(library).findings == []


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_kill_at_any_commit_step_loses_nothing(tmp_path: Path, episodes: list[Path], step: str) -> None:
    library = tmp_path / "lib"
    first, second = episodes[0], episodes[1]
    index_episodes([first], library=library, config=CPU)
    killed = run_cli("index", second, "--library", library, env={FAULT_ENV: step})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    committed = step == "catalog-committed"  # killed after the commit point: the episode is in
    with Catalog.in_library(library) as catalog:  # before it, the killed episode never counts as indexed
        stored = catalog.stored(content_hash(second))
        assert (
            (stored is not None and stored.state == "indexed")
            if committed
            else (stored is None or stored.state == "pending")
        )
    hits = search_image(frame_of(first, 20), library=library, config=CPU.search)
    assert hits.confident and Path(hits.hits[0].episode).name == first.name  # what was indexed stays searchable
    results = index_episodes([first, second], library=library, config=CPU)
    assert [r.status for r in results] == ["skipped", "skipped" if committed else "indexed"]
    assert_all_found(library, [first, second])


def test_a_kill_while_re_indexing_keeps_the_episode_findable_after_a_re_run(
    tmp_path: Path, episodes: list[Path]
) -> None:
    library = tmp_path / "lib"
    index_episodes(episodes[:2], library=library, config=CPU)
    killed = run_cli("index", episodes[0], "--force", "--library", library, env={FAULT_ENV: "search-vectors"})
    assert killed.returncode == -signal.SIGKILL
    second = search_image(frame_of(episodes[1], 20), library=library, config=CPU.search)
    assert Path(second.hits[0].episode).name == episodes[1].name  # the other episode is untouched meanwhile
    assert [r.status for r in index_episodes(episodes[:2], library=library, config=CPU)] == ["indexed", "skipped"]
    assert_all_found(library, episodes[:2])


def test_two_writers_over_twenty_episodes_lose_nothing(tmp_path: Path, episodes: list[Path]) -> None:
    library = tmp_path / "lib"
    env = {**os.environ, "ANIMEVID_LIBRARY": ""}
    runs = [
        subprocess.Popen(
            cli("index", *order, "--library", library, "--json"), env=env, stdout=subprocess.PIPE, text=True
        )
        for order in (episodes, episodes[::-1])
    ]
    outputs = [json.loads(run.communicate(timeout=600)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    indexed = [e["path"] for out in outputs for e in out["episodes"] if e["status"] == "indexed"]
    assert sorted(Path(p).name for p in indexed) == sorted(p.name for p in episodes)  # each once, by one of them
    index = SearchIndex.in_library(library)
    with Catalog.in_library(library) as catalog:
        owned = {e.episode_id: e.search_vectors for e in catalog.stored_episodes("indexed")}
    assert len(owned) == 20 and index.vector_counts() == owned
    assert_all_found(library, episodes)


def test_a_truncated_faiss_file_is_named_by_search_and_rebuilt_by_check_and_by_index(
    tmp_path: Path, episodes: list[Path]
) -> None:
    library = tmp_path / "lib"
    index_episodes(episodes[:3], library=library, config=CPU)
    faiss_file = library / "index" / "vectors.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[: faiss_file.stat().st_size // 2])
    with pytest.raises(SearchError, match=r"vectors\.faiss cannot be read.*animevid check --repair --library"):
        search_image(frame_of(episodes[0], 20), library=library, config=CPU.search)
    broken = run_cli("search", tmp_path / "shot.png", "--library", library)  # the CLI: one line, exit 1
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    found = check_library(library)
    assert not found.ok and "cannot be read" in found.findings[0].problem
    repaired = run_cli("check", "--repair", "--library", library, "--json")
    assert repaired.returncode == 0 and json.loads(repaired.stdout)["findings"][0]["repaired"]
    assert_all_found(library, episodes[:3])
    faiss_file.write_bytes(b"garbage")  # and the next index run repairs it by itself
    (library / "index" / "vectors.json").write_text("{not json", encoding="utf-8")
    results = index_episodes(episodes[:4], library=library, config=CPU)
    assert [r.status for r in results] == ["skipped", "skipped", "skipped", "indexed"]
    assert_all_found(library, episodes[:4])


def test_a_lost_episode_file_is_marked_and_indexed_again(tmp_path: Path, episodes: list[Path]) -> None:
    library = tmp_path / "lib"
    index_episodes(episodes[:2], library=library, config=CPU)
    with Catalog.in_library(library) as catalog:
        lost = catalog.stored_episodes()[0]
    (library / "index" / "episodes" / f"{lost.episode_id}.npy").unlink()
    with pytest.raises(SearchError, match=r"missing.*animevid check --repair"):
        search_image(frame_of(episodes[1], 20), library=library, config=CPU.search)
    report = check_library(library, repair=True)
    assert report.ok and "index it again: animevid index" in report.findings[0].action
    with Catalog.in_library(library) as catalog:
        assert catalog.stored(lost.content_hash).state == "damaged"  # type: ignore[union-attr]
    found = search_image(frame_of(episodes[1], 20), library=library, config=CPU.search)  # the rest is searchable
    assert Path(found.hits[0].episode).name == episodes[1].name
    assert [r.status for r in index_episodes(episodes[:2], library=library, config=CPU)] == ["indexed", "skipped"]
    assert_all_found(library, episodes[:2])


def test_a_batch_survives_bad_names_bad_pictures_unreadable_files_and_bugs(
    tmp_path: Path, episodes: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.mp4"))  # a Latin-1 name: not valid UTF-8
    shutil.copy(episodes[2], odd)
    thin = tmp_path / "thin.mp4"
    _thin_video(thin)
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    boom = tmp_path / "boom.mp4"
    shutil.copy(episodes[3], boom)
    import animevid.pipeline._batch as batch
    from animevid.pipeline import find_episodes

    hashed = batch.content_hash
    monkeypatch.setattr(batch, "content_hash", lambda p: 1 / 0 if Path(p).name == "boom.mp4" else hashed(p))
    library = tmp_path / "lib"
    paths = find_episodes([episodes[0], odd, thin, empty, boom, episodes[1]])
    results = index_episodes(paths, library=library, config=CPU)
    assert [r.status for r in results] == ["indexed", "indexed", "failed", "failed", "failed", "indexed"]
    by_name = {r.path.name: r for r in results}
    assert "px tall" in by_name["thin.mp4"].error and by_name["thin.mp4"].error_type == "VideoError"
    assert "holds no video file" in by_name["empty-folder"].error
    crash = by_name["boom.mp4"]
    assert crash.error_type == "ZeroDivisionError" and "unexpected ZeroDivisionError" in crash.error
    assert (
        crash.log is not None and "Traceback" in crash.log.read_text() and "ZeroDivisionError" in crash.log.read_text()
    )
    with Catalog.in_library(library) as catalog:
        failures = catalog.failures().set_index("path")
        episodes_table = catalog.episodes()
    assert set(failures["error_type"]) == {"VideoError", "VideoNotFoundError", "ZeroDivisionError"}
    assert all(Path(p).is_absolute() for p in failures.index)
    assert "caf\\xe9.mp4" in set(Path(p).name for p in episodes_table["path"])  # stored, escaped, findable
    found = search_image(frame_of(odd, 20), library=library, config=CPU.search)
    assert found.hits[0].episode.endswith("caf\\xe9.mp4")


def test_an_unreadable_file_and_folder_are_failures_of_their_own(tmp_path: Path, episodes: list[Path]) -> None:
    prefix = _without_root_powers()
    folder = tmp_path / "season"
    (folder / "locked").mkdir(parents=True)
    shutil.copy(episodes[0], folder / "ep01.mp4")
    shutil.copy(episodes[1], folder / "locked" / "ep02.mp4")
    unreadable = shutil.copy(episodes[2], tmp_path / "secret.mp4")
    os.chmod(unreadable, 0)
    os.chmod(folder / "locked", 0)
    try:
        command = cli("index", folder, unreadable, episodes[3], "--library", tmp_path / "lib", "--json", prefix=prefix)
        env = {**os.environ, "ANIMEVID_LIBRARY": ""}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    finally:
        os.chmod(folder / "locked", 0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    statuses = {Path(e["path"]).name: (e["status"], e["error"]) for e in json.loads(done.stdout)["episodes"]}
    assert statuses["ep01.mp4"][0] == "indexed" and statuses[episodes[3].name][0] == "indexed"
    assert statuses["locked"][0] == "failed" and "cannot be read" in statuses["locked"][1]
    assert statuses["secret.mp4"][0] == "failed" and "ermission denied" in statuses["secret.mp4"][1]


def _without_root_powers() -> list[str]:
    """How to run a command so that file permissions apply to it (root reads anything)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to apply")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_failures_clear_and_changed_or_moved_files_update_the_episode(
    tmp_path: Path, episodes: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "lib"
    monkeypatch.chdir(tmp_path)
    broken = Path("ep.mp4")  # relative, as a user types it
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 400)
    assert index_episodes([broken], library=library, config=CPU)[0].status == "failed"
    shutil.copy(episodes[0], broken)  # fetched again: the same path now holds a good file
    first = index_episodes([tmp_path / "ep.mp4"], library=library, config=CPU)[0]  # absolute this time
    with Catalog.in_library(library) as catalog:
        assert catalog.failures().empty  # keyed by absolute path: cleared whatever folder each run used
    shutil.copy(episodes[1], broken)  # a new version at the same path replaces the old episode
    second = index_episodes([broken], library=library, config=CPU)[0]
    assert second.status == "indexed" and f"replaced episode {first.episode_id}" in second.notes[0]
    moved = tmp_path / "season" / "ep.mp4"
    moved.parent.mkdir()
    broken.rename(moved)
    again = index_episodes([moved], library=library, config=CPU)[0]
    assert again.status == "skipped" and "moved" in again.notes[0]
    with Catalog.in_library(library) as catalog:
        rows = catalog.episodes()
    assert rows["path"].tolist() == [str(moved.resolve())]
    assert SearchIndex.in_library(library).episode_ids() == [second.episode_id]
    assert_all_found(library, [moved])


def test_worker_processes_die_with_the_index_process(tmp_path: Path, synth_episode) -> None:
    from animevid.synth import repeat_video

    long = repeat_video(synth_episode.mkv, tmp_path / "long.mkv", 7)  # 3360 frames: the pass splits
    env = {**os.environ, "ANIMEVID_LIBRARY": ""}
    for sig in (signal.SIGKILL, signal.SIGTERM):
        run = subprocess.Popen(
            cli("index", long, "--workers", "2", "--library", tmp_path / f"lib{sig}"),
            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:  # main, fork server, resource tracker and two segment processes
            assert wait_until(lambda run=run: len(group_members(run.pid)) >= 5, seconds=120), "the split never started"
            run.send_signal(sig)
            run.wait(timeout=60)
            assert wait_until(lambda run=run: not group_members(run.pid), seconds=10), group_members(run.pid)
        finally:
            for pid in group_members(run.pid):
                os.kill(pid, signal.SIGKILL)


def _thin_video(path: Path) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 4096, 16, "yuv420p"
        for i in range(24):
            frame = av.VideoFrame.from_ndarray(np.full((16, 4096, 3), i * 8, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_a_damaged_episode_is_indexed_with_its_gap_and_warning(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[1] / "data_samples" / "ep1.mkv"
    data = bytearray(sample.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 100_000] = np.random.default_rng(3).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    [result] = index_episodes([damaged], library=tmp_path / "lib", config=CPU)
    assert result.status == "indexed" and any("frames are missing" in w for w in result.warnings)
    with Catalog.in_library(tmp_path / "lib") as catalog:
        decode = catalog.episodes()["extra"].iloc[0]["decode"]
    [gap] = decode["gaps"]
    assert decode["truncated"] is False and gap["missing_frames"] == decode["missing_frames"]
    assert result.frames + gap["missing_frames"] == 480  # the sample's frames, each decoded or counted missing


def test_a_read_only_index_folder_fails_the_episode_and_loses_nothing(tmp_path: Path, episodes: list[Path]) -> None:
    prefix = _without_root_powers()
    library = tmp_path / "lib"
    index_episodes([episodes[0]], library=library, config=CPU)
    os.chmod(library / "index" / "episodes", 0o555)
    try:
        env = {**os.environ, "ANIMEVID_LIBRARY": ""}
        command = cli("index", episodes[1], "--library", library, "--json", prefix=prefix)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    finally:
        os.chmod(library / "index" / "episodes", 0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [failed] = json.loads(done.stdout)["episodes"]
    assert (
        failed["status"] == "failed"
        and "cannot write" in failed["error"]
        and "nothing indexed was lost" in failed["error"]
    )
    with Catalog.in_library(library) as catalog:  # the reserved row was given up: no trace but the failure
        assert catalog.stored(content_hash(episodes[1])) is None and len(catalog.failures()) == 1
    assert_all_found(library, [episodes[0]])
    assert [r.status for r in index_episodes(episodes[:2], library=library, config=CPU)] == ["skipped", "indexed"]
    assert_all_found(library, episodes[:2])


def test_searches_during_a_batch_never_see_a_half_written_index(tmp_path: Path, episodes: list[Path]) -> None:
    library = tmp_path / "lib"
    index_episodes([episodes[0]], library=library, config=CPU)
    query = frame_of(episodes[0], 20)
    env = {**os.environ, "ANIMEVID_LIBRARY": ""}
    writer = subprocess.Popen(cli("index", *episodes[1:12], "--library", library), env=env, stdout=subprocess.DEVNULL)
    searches = 0
    try:
        while writer.poll() is None and searches < 500:
            result = search_image(query, library=library, config=CPU.search)
            assert result.confident and Path(result.hits[0].episode).name == episodes[0].name
            searches += 1
    finally:
        writer.wait(timeout=600)
    assert writer.returncode == 0 and searches > 3
    assert_all_found(library, episodes[:12])
