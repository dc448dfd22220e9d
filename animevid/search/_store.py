"""The library's search index: ``<library>/index/``.

Files::

    index/episodes/<episode_id>.npz   what each episode keeps (frames, times, descriptors)
    index/episodes/<episode_id>.npy   its grey thumbnails (read memory-mapped: only checked ones load)
    index/vectors.faiss               the FAISS index over every episode's descriptors
    index/vectors.json                its kind (exact or ivfpq), size and descriptor version

The per-episode files are the truth; ``vectors.faiss`` is derived from them and rebuilt when it
is missing, stale, or when the library grows past ``exact_max_vectors`` (exact search becomes
IVF-PQ). A vector's id is ``episode_id << 24 | row``: removing an episode removes one id range.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import faiss
import numpy as np

from animevid.config import SearchConfig
from animevid.errors import SearchError
from animevid.search._describe import DESCRIPTOR_DIM
from animevid.search._faiss import INDEX_BACKENDS, FaissBackend, IndexKind, default_backend
from animevid.search._stage import EpisodeFrames

INDEX_DIRNAME = "index"
"""Folder of the search index inside a library."""
DESCRIPTOR_VERSION = 1
"""Bumped when descriptors change meaning; a mismatch asks for re-indexing."""
ROW_BITS = 24
"""Low bits of a vector id that hold the row within its episode."""


@dataclass(frozen=True)
class FrameRef:
    """Where an indexed vector comes from."""

    episode_id: int
    """The episode's catalog id."""
    frame_index: int
    """The kept frame."""
    pts_seconds: float
    """Its presentation time."""
    until_seconds: float
    """The picture shows until this time (start of the next kept frame)."""


def vector_ids(episode_id: int, rows: int) -> np.ndarray:
    """Ids of an episode's vectors, ``episode_id << 24 | row``."""
    return (np.int64(episode_id) << ROW_BITS) | np.arange(rows, dtype=np.int64)


def split_id(vector_id: int) -> tuple[int, int]:
    """(episode id, row) of a vector id, the inverse of :func:`vector_ids`."""
    return vector_id >> ROW_BITS, vector_id & ((1 << ROW_BITS) - 1)


class SearchIndex:
    """Open (creating when asked) a library's search index.

    Args:
        folder: The ``index/`` folder of a library.
        config: Search options (index kinds, sizes, backend).
        device: Resolved device; picks faiss-gpu on CUDA when ``config.backend`` is auto.
    """

    descriptor_version: ClassVar[int] = DESCRIPTOR_VERSION
    """What indexing stores per frame; part of the pipeline's config fingerprint."""

    def __init__(self, folder: str | Path, *, config: SearchConfig | None = None, device: str = "cpu") -> None:
        self.folder = Path(folder)
        self.config = config or SearchConfig()
        name = default_backend(device) if self.config.backend == "auto" else self.config.backend
        self.backend: FaissBackend = INDEX_BACKENDS.create(name, device=device)
        self._index: faiss.Index | None = None
        self._searchable: faiss.Index | None = None
        self._episodes: dict[int, EpisodeFrames] = {}

    @classmethod
    def in_library(cls, library: str | Path, *, config: SearchConfig | None = None, device: str = "cpu") -> SearchIndex:
        """The index of a library folder (``<library>/index``)."""
        return cls(Path(library) / INDEX_DIRNAME, config=config, device=device)

    # -- episodes ---------------------------------------------------------------------------------

    def episode_ids(self) -> list[int]:
        """Ids of the episodes in the index, sorted."""
        folder = self.folder / "episodes"
        return sorted(int(p.stem) for p in folder.glob("*.npz") if p.stem.isdigit()) if folder.is_dir() else []

    def episode(self, episode_id: int) -> EpisodeFrames:
        """What the index keeps of one episode (cached after the first read).

        Raises:
            SearchError: The episode is not in the index.
        """
        if episode_id not in self._episodes:
            path = self._episode_path(episode_id)
            if not path.is_file():
                raise SearchError(f"search index {self.folder}: no episode {episode_id}; re-run `animevid index`")
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
            arrays["thumbnails"] = np.load(path.with_suffix(".npy"), mmap_mode="r")
            self._episodes[episode_id] = EpisodeFrames(**arrays)
        return self._episodes[episode_id]

    def put_episode(self, episode_id: int, frames: EpisodeFrames) -> None:
        """Add an episode's frames, replacing what the index held for it.

        Args:
            episode_id: The episode's catalog id.
            frames: Its kept frames (from :class:`FrameDescriptorStage`).
        """
        if len(frames) >= 1 << ROW_BITS:
            raise SearchError(f"episode {episode_id} keeps {len(frames)} frames; at most {(1 << ROW_BITS) - 1}")
        index = self._load_index()
        index.remove_ids(faiss.IDSelectorRange(episode_id << ROW_BITS, (episode_id + 1) << ROW_BITS))
        self._write_episode(episode_id, frames)
        self._episodes[episode_id] = frames
        if self._kind_for(index.ntotal + len(frames)) != self._meta().get("kind", "exact"):
            self.rebuild()
            return
        if len(frames):
            index.add_with_ids(frames.descriptors, vector_ids(episode_id, len(frames)))
        self._save_index(index)

    def remove_episode(self, episode_id: int) -> bool:
        """Remove an episode's vectors and files.

        Returns:
            True when the episode was in the index.
        """
        path = self._episode_path(episode_id)
        if not path.is_file():
            return False
        index = self._load_index()
        index.remove_ids(faiss.IDSelectorRange(episode_id << ROW_BITS, (episode_id + 1) << ROW_BITS))
        path.unlink()
        path.with_suffix(".npy").unlink(missing_ok=True)
        self._episodes.pop(episode_id, None)
        self._save_index(index)
        return True

    def _episode_path(self, episode_id: int) -> Path:
        return self.folder / "episodes" / f"{episode_id}.npz"

    def _write_episode(self, episode_id: int, frames: EpisodeFrames) -> None:
        path = self._episode_path(episode_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npy")
        np.save(partial, np.ascontiguousarray(frames.thumbnails))
        os.replace(partial, path.with_suffix(".npy"))
        partial = path.with_suffix(".partial.npz")
        names = [name for name in EpisodeFrames.__dataclass_fields__ if name != "thumbnails"]
        np.savez(partial, **{name: getattr(frames, name) for name in names})
        os.replace(partial, path)

    # -- the FAISS index --------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Vectors in the index."""
        return int(self._load_index().ntotal)

    @property
    def kind(self) -> IndexKind:
        """exact or ivfpq."""
        self._load_index()
        return "ivfpq" if self._meta().get("kind") == "ivfpq" else "exact"

    def _kind_for(self, vectors: int) -> IndexKind:
        return "exact" if vectors <= self.config.exact_max_vectors else "ivfpq"

    def rebuild(self, kind: IndexKind | None = None) -> None:
        """Rebuild ``vectors.faiss`` from the episode files (kind chosen by size unless given)."""
        ids = self.episode_ids()
        parts = [self.episode(e) for e in ids]
        vectors = np.concatenate([p.descriptors for p in parts]) if parts else np.zeros((0, DESCRIPTOR_DIM), np.float32)
        all_ids = np.concatenate([vector_ids(e, len(p)) for e, p in zip(ids, parts, strict=True)]) if parts else None
        index = self.build(vectors, kind or self._kind_for(len(vectors)))
        if all_ids is not None and len(vectors):
            index.add_with_ids(vectors, all_ids)
        self._save_index(index)

    def build(self, vectors: np.ndarray, kind: IndexKind) -> faiss.Index:
        """An empty index of ``kind``, trained on ``vectors`` when it is IVF-PQ."""
        if kind == "ivfpq" and len(vectors) < 40 * 256:
            raise SearchError(f"an IVF-PQ index needs >= {40 * 256} vectors to train, got {len(vectors)}")
        lists = self.config.ivf_lists or int(min(65536, max(256, 4 * np.sqrt(len(vectors)))))
        rng = np.random.default_rng(0)
        sample = min(len(vectors), max(64 * lists, 40 * 256))  # k-means wants ~40 points per centroid (PQ: 256)
        train = vectors[rng.choice(len(vectors), sample, replace=False)] if len(vectors) else vectors
        return self.backend.build(kind, DESCRIPTOR_DIM, train, lists=lists, pq_bytes=self.config.pq_bytes)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vectors by inner product.

        Args:
            queries: (q, 64) float32 descriptors.
            k: Neighbours per query.

        Returns:
            (scores, ids), each (q, k); missing neighbours have id -1.
        """
        if self._searchable is None:
            self._searchable = self.backend.searchable(self._load_index(), nprobe=self.config.nprobe)
        scores, ids = self._searchable.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, ids

    def ref(self, vector_id: int) -> FrameRef:
        """The episode and frame a vector id stands for."""
        episode_id, row = split_id(vector_id)
        frames = self.episode(episode_id)
        return FrameRef(
            episode_id, int(frames.frames[row]), float(frames.seconds[row]), float(frames.until_seconds[row])
        )

    def thumbnail(self, vector_id: int) -> np.ndarray:
        """The stored (72, 128) uint8 grey thumbnail of a vector's frame."""
        episode_id, row = split_id(vector_id)
        return self.episode(episode_id).thumbnails[row]

    def _meta(self) -> dict[str, object]:
        path = self.folder / "vectors.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def _load_index(self) -> faiss.Index:
        if self._index is not None:
            return self._index
        path, meta = self.folder / "vectors.faiss", self._meta()
        if path.is_file() and meta.get("descriptor_version") == DESCRIPTOR_VERSION:
            self._index = faiss.read_index(str(path))
        elif self.episode_ids():
            self.rebuild()  # stale or lost: derived from the episode files
        else:
            self._index = self.build(np.zeros((0, DESCRIPTOR_DIM), np.float32), "exact")
        assert self._index is not None
        return self._index

    def _save_index(self, index: faiss.Index) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / "vectors.faiss.partial"
        faiss.write_index(index, str(partial))
        os.replace(partial, self.folder / "vectors.faiss")
        kind = "exact" if isinstance(index, faiss.IndexIDMap2) else "ivfpq"
        meta = {"kind": kind, "vectors": int(index.ntotal), "descriptor_version": DESCRIPTOR_VERSION}
        (self.folder / "vectors.json").write_text(json.dumps(meta), encoding="utf-8")
        self._index, self._searchable = index, None
