"""Adding an episode costs what the episode costs: vectors.faiss is not rewritten until a fold.

Pending episodes are searched from their own files beside the base, dropped ones are left out of
every answer, and folding them in changes no answer. Truth: each tiny episode's own frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import animevid.search._store as store
from animevid.config import Config
from animevid.integrity import check_library
from animevid.pipeline import index_episodes
from animevid.search import SearchIndex, search_image
from tests.helpers import frame_of, tiny_episode

CPU = Config(device="cpu")


@pytest.fixture()
def episodes(tmp_path: Path) -> list[Path]:
    return [tiny_episode(tmp_path / f"ep{k}.mp4", seed=40 + k, frames=64) for k in range(4)]


def _version(library: Path) -> tuple[int, int]:
    stat = (library / "index" / "vectors.faiss").stat()
    return stat.st_ino, stat.st_mtime_ns


def _found(library: Path, episode: Path, frame: int = 20) -> str:
    hits = search_image(frame_of(episode, frame), library=library, config=CPU.search).hits
    return Path(hits[0].episode).name if hits else ""


def _ids(library: Path) -> list[int]:
    index = SearchIndex.in_library(library)
    return sorted(index.vector_counts())


def test_adding_an_episode_leaves_the_base_file_alone(episodes: list[Path], tmp_path: Path) -> None:
    library = tmp_path / "library"
    index_episodes(episodes[:2], library=library, config=CPU)
    before = _version(library)
    index_episodes(episodes[2:], library=library, config=CPU)
    assert _version(library) == before, "vectors.faiss was rewritten for two small episodes"
    assert all(_found(library, e) == e.name for e in episodes)
    assert check_library(library).ok
    assert len(_ids(library)) == 4


def test_reindexed_and_removed_episodes_leave_the_answers(
    episodes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "library"
    monkeypatch.setattr(store, "FOLD_MIN_VECTORS", 0)
    monkeypatch.setattr(store, "FOLD_RATIO", 0.0)
    index_episodes(episodes[:3], library=library, config=CPU)  # folded: all three in the base
    monkeypatch.undo()
    index = SearchIndex.in_library(library)
    counts = index.vector_counts()
    assert index._base_counts == counts and not index._pending
    index_episodes([episodes[1]], library=library, config=CPU, force=True)  # its base vectors are dropped
    index = SearchIndex.in_library(library)
    assert index.vector_counts() == counts, "the episode counts once, from its new files"
    assert index._dropped and index._pending
    _scores, ids = index.search(index.episode(2).descriptors[:5], 8)
    assert all(len(set(row[row >= 0].tolist())) == int((row >= 0).sum()) for row in ids), "no vector twice"
    removed = sorted(counts)[0]
    index.remove_episode(removed)
    reopened = SearchIndex.in_library(library)
    _, ids = reopened.search(index.episode(sorted(counts)[1]).descriptors, 8)
    assert removed not in set((ids[ids >= 0] >> store.ROW_BITS).tolist())
    assert removed not in reopened.vector_counts()


def test_folding_changes_no_answer(episodes: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library = tmp_path / "library"
    index_episodes(episodes[:3], library=library, config=CPU)
    index = SearchIndex.in_library(library)
    queries = np.concatenate([index.episode(e).descriptors[:6] for e in index.vector_counts()])
    before = index.search(queries, 5)
    assert index._pending, "small additions stay pending"
    monkeypatch.setattr(store, "FOLD_MIN_VECTORS", 0)
    monkeypatch.setattr(store, "FOLD_RATIO", 0.0)
    old = _version(library)
    index_episodes([episodes[3]], library=library, config=CPU)  # past the (lowered) threshold: folded
    folded = SearchIndex.in_library(library)
    folded.count  # noqa: B018 - loads it
    assert _version(library) != old and not folded._pending
    after = folded.search(queries, 5)
    np.testing.assert_array_equal(after[1][:, 0], before[1][:, 0])
    np.testing.assert_allclose(after[0][:, 0], before[0][:, 0], rtol=1e-5)
    assert check_library(library).ok and _found(library, episodes[3]) == episodes[3].name
