"""Several episodes at once: --jobs N (worker processes) and --engine ray give the catalog one process gives.

A bad episode in the middle is reported and the rest indexed; a batch killed midway finishes on
re-run without redoing what it finished. Episode ids follow commit order, so catalogs are compared
by episode path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from animevid.catalog import Catalog
from animevid.config import Config
from animevid.pipeline import index_episodes
from animevid.synth import generate_episode
from tests.helpers import cli, wait_until


@pytest.fixture(scope="module")
def episodes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three short episodes of one series (they share an OP and ED), and a damaged file between them."""
    folder = tmp_path_factory.mktemp("Series")
    made = [generate_episode(folder, seed=s, seconds=12.0).mp4 for s in (1, 2, 3)]
    bad = folder / "ep1b.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 500)
    return [made[0], bad, made[1], made[2]]


def _catalog(library: Path) -> dict[str, Any]:
    """The catalog's content keyed by episode file name (ids depend on commit order)."""
    with Catalog.in_library(library) as catalog:
        episodes = catalog.episodes()
        names = {int(e.episode_id): Path(e.path).name for e in episodes.itertuples()}

        def rows(frame: Any, drop: tuple[str, ...] = ()) -> list[tuple]:
            frame = frame.assign(episode=frame["episode_id"].map(names)).drop(columns=["episode_id", *drop])
            return sorted(tuple(map(str, row)) for row in frame.itertuples(index=False))

        return {
            "episodes": sorted(
                (Path(e.path).name, e.state, int(e.frames), int(e.search_vectors), e.config_fingerprint)
                for e in episodes.itertuples()
            ),
            "shots": rows(catalog.shots()),
            "analyses": rows(catalog.shot_analyses()),
            "scenes": rows(catalog.scenes()),
            "faces": rows(catalog.faces()),
            "segments": rows(catalog.segments(), drop=("path", "family")),
            "failures": sorted(Path(f.path).name for f in catalog.failures().itertuples()),
        }


@pytest.fixture(scope="module")
def one_process(episodes: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    library = tmp_path_factory.mktemp("one") / "library"
    results = index_episodes(episodes, library=library, config=Config(device="cpu"))
    assert [r.status for r in results] == ["indexed", "failed", "indexed", "indexed"]
    return _catalog(library)


def test_two_jobs_give_the_same_catalog_and_report_the_bad_episode(
    episodes: list[Path], one_process: dict[str, Any], tmp_path: Path
) -> None:
    library = tmp_path / "library"
    results = index_episodes(episodes, library=library, config=Config(device="cpu"), jobs=2)
    assert [r.status for r in results] == ["indexed", "failed", "indexed", "indexed"]
    assert "ep1b.mp4" in results[1].error and results[1].error_type
    found = _catalog(library)
    assert found == one_process
    assert {row[0] for row in found["segments"]} >= {"op", "ed"}, "the batch marked the series' OP and ED"


def test_the_ray_engine_gives_the_same_catalog(
    episodes: list[Path], one_process: dict[str, Any], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", object_store_memory=200_000_000,
        log_to_driver=False,
    )  # fmt: skip
    try:
        library = tmp_path / "library"
        results = index_episodes(episodes, library=library, config=Config(device="cpu"), engine="ray")
    finally:
        ray.shutdown()
    assert [r.status for r in results] == ["indexed", "failed", "indexed", "indexed"]
    assert _catalog(library) == one_process


def test_a_batch_killed_midway_finishes_on_rerun_without_redoing(episodes: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "season"
    folder.mkdir()
    for path in episodes:
        shutil.copy(path, folder / path.name)
    library = tmp_path / "library"
    process = subprocess.Popen(
        cli("index", folder, "--library", library, "--jobs", "2", "--json"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def indexed() -> int:
        try:
            with Catalog.in_library(library) as catalog:
                return len(catalog.stored_episodes("indexed"))
        except Exception:
            return 0

    try:
        assert wait_until(lambda: indexed() >= 1 or process.poll() is not None, seconds=120)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    before = indexed()
    rerun = subprocess.run(
        cli("index", folder, "--library", library, "--jobs", "2", "--json"), capture_output=True, text=True
    )
    statuses = {Path(r["path"]).name: r["status"] for r in json.loads(rerun.stdout)["episodes"]}
    assert rerun.returncode == 1 and statuses.pop("ep1b.mp4") == "failed"
    assert sorted(statuses.values()).count("skipped") >= before >= 1, statuses
    assert set(statuses.values()) <= {"indexed", "skipped"} and indexed() == 3
