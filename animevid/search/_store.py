"""The library's search index: ``<library>/index/``.

Files::

    index/episodes/<episode_id>.npz   what each episode keeps (frames, times, descriptors)
    index/episodes/<episode_id>.npy   its grey thumbnails (read memory-mapped: only checked ones load)
    index/vectors.faiss               the FAISS index over the episodes' descriptors (the base)
    index/vectors.json                its kind (exact or ivfpq), size and descriptor version, and
                                      the episodes added or removed since it was written

The per-episode files are the truth; ``vectors.faiss`` is derived from them and rebuilt when it
is missing or stale. Adding an episode writes its own files and ``vectors.json`` only: the episode
is *pending*, searched from its own descriptors (an exact index built in memory) beside the base.
Removing or replacing one marks its base vectors *dropped* (left out of every answer). When the
pending vectors pass a quarter of the base (at least :data:`FOLD_MIN_VECTORS`), they are folded
into ``vectors.faiss`` and the dropped ones taken out: each vector is rewritten a bounded number of
times on average however large the library, so adding an episode costs what the episode costs.
Past ``exact_max_vectors`` the base becomes IVF-PQ, trained once and re-trained only when the
library has grown :data:`RETRAIN_GROWTH` times since. A vector's id is ``episode_id << 24 | row``.

Every file is written under a temporary name, flushed to disk and renamed
(:func:`animevid.library.write_atomically`), so a reader sees a whole file or none. Which
episodes count is the catalog's word: a reader is told the ``indexed`` episodes and drops any other
vector (an episode whose commit a kill interrupted). A reader never writes: a damaged or stale
``vectors.faiss`` is a :class:`~animevid.errors.SearchError` that names ``animevid check --repair``;
a writer (indexing, the repair) rebuilds it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import faiss
import numpy as np

from animevid.config import SearchConfig
from animevid.errors import SearchError
from animevid.library import INDEX_DIRNAME, fault_point, flush_file, write_atomically
from animevid.search._describe import DESCRIPTOR_DIM, THUMB_SIZE
from animevid.search._faiss import INDEX_BACKENDS, FaissBackend, IndexKind, default_backend
from animevid.search._stage import EpisodeFrames, IndexedFrame, Parts, gather_parts, join_parts

DESCRIPTOR_VERSION = 1
"""Bumped when descriptors change meaning; a mismatch asks for re-indexing."""
ROW_BITS = 24
"""Low bits of a vector id that hold the row within its episode."""
PART_FLAG = 1 << 23
"""Set in the row of a part vector (:mod:`animevid.search._parts`); the rest is the part's number."""
FOLD_MIN_VECTORS = 100_000
"""Pending vectors below which they are never folded into the base (searching them exactly costs ~2 ms)."""
FOLD_RATIO = 0.25
"""Pending vectors, as a share of the base, past which they are folded in."""
FOLD_MAX_PENDING = 1_000_000
"""Pending vectors past which they are folded in whatever the base (searching them exactly stays ~10 ms)."""
FOLD_MAX_EPISODES = 256
"""Pending episodes past which they are folded in (each is read from its file when the index opens)."""
RETRAIN_GROWTH = 8.0
"""An IVF-PQ base is trained again when the library has grown this many times since it was trained."""


@dataclass(frozen=True)
class FrameRef:
    """Where an indexed vector comes from."""

    episode_id: int
    """The episode's catalog id."""
    frame_index: int
    """The kept frame."""
    pts_seconds: float
    """Its presentation time."""
    end_seconds: float
    """The picture shows until this time (start of the next kept frame), as a shot's ``end_seconds``."""


def vector_ids(episode_id: int, rows: int) -> np.ndarray:
    """Ids of an episode's vectors, ``episode_id << 24 | row``."""
    return (np.int64(episode_id) << ROW_BITS) | np.arange(rows, dtype=np.int64)


def part_ids(episode_id: int, parts: int) -> np.ndarray:
    """Ids of an episode's part vectors, ``episode_id << 24 | PART_FLAG | part``."""
    return (np.int64(episode_id) << ROW_BITS) | PART_FLAG | np.arange(parts, dtype=np.int64)


def episode_vector_ids(episode_id: int, frames: EpisodeFrames) -> np.ndarray:
    """Ids of every vector of an episode, in the order of :meth:`EpisodeFrames.vectors`."""
    return np.concatenate([vector_ids(episode_id, len(frames)), part_ids(episode_id, len(frames.parts))])


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

    def __init__(
        self,
        folder: str | Path,
        *,
        config: SearchConfig | None = None,
        device: str = "cpu",
        indexed: Mapping[int, int] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.config = config or SearchConfig()
        name = default_backend(device) if self.config.backend == "auto" else self.config.backend
        self.backend: FaissBackend = INDEX_BACKENDS.create(name, device=device)
        self.indexed = dict(indexed) if indexed is not None else None
        """Reader mode: the episodes to search (id -> vectors it owns, -1 unknown); other vectors are
        dropped, and a damaged ``vectors.faiss`` is an error instead of being rebuilt. None: writer."""
        self._index: faiss.Index | None = None
        self._stamp: tuple[object, ...] | None = None
        self._foreign = 0
        """Vectors of episodes outside :attr:`indexed` (a reader drops them from every search)."""
        self._searchable: faiss.Index | None = None
        self._episodes: dict[int, EpisodeFrames] = {}
        self._pending: dict[int, int] = {}
        """Episode id -> vectors, for episodes searched from their own files (added since the last fold)."""
        self._dropped: set[int] = set()
        """Episodes whose vectors in the base no longer count (removed or replaced since the last fold)."""
        self._pending_index: faiss.Index | None = None
        self._base_counts: dict[int, int] = {}

    @classmethod
    def in_library(
        cls,
        library: str | Path,
        *,
        config: SearchConfig | None = None,
        device: str = "cpu",
        indexed: Mapping[int, int] | None = None,
    ) -> SearchIndex:
        """The index of a library folder (``<library>/index``); ``indexed`` opens it to read (see the class)."""
        return cls(Path(library) / INDEX_DIRNAME, config=config, device=device, indexed=indexed)

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
            self._episodes[episode_id] = self._read_episode(episode_id)
        return self._episodes[episode_id]

    def _read_episode(self, episode_id: int) -> EpisodeFrames:
        path = self._episode_path(episode_id)
        try:
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
            arrays["thumbnails"] = np.load(path.with_suffix(".npy"), mmap_mode="r")
            frames = EpisodeFrames(**arrays)
        except FileNotFoundError as exc:
            raise self._damaged(f"the search files of episode {episode_id} are missing ({exc.filename})") from None
        except (OSError, ValueError, TypeError, KeyError, EOFError) as exc:  # what numpy raises on a damaged file
            raise self._damaged(f"the search files of episode {episode_id} are damaged ({exc})") from None
        parts = len(frames.parts)
        if (
            len(frames.thumbnails) != len(frames)
            or frames.descriptors.shape != (len(frames), DESCRIPTOR_DIM)
            or frames.parts.shape[1:] != (DESCRIPTOR_DIM,)
            or frames.part_rows.shape != (parts,)
            or frames.part_xy.shape != (parts, 2)
            or (parts and not 0 <= int(frames.part_rows.min()) <= int(frames.part_rows.max()) < len(frames))
        ):
            raise self._damaged(f"the search files of episode {episode_id} disagree with each other")
        return frames

    def _damaged(self, problem: str) -> SearchError:
        return SearchError(
            f"search index {self.folder}: {problem}; run `animevid check --repair --library {self.folder.parent}` "
            "(it rebuilds what can be rebuilt and says which episodes to index again)"
        )

    def put_episode(self, episode_id: int, frames: EpisodeFrames, *, thumbnails_file: Path | None = None) -> None:
        """Add an episode's frames, replacing what the index held for it; every file is written atomically.

        Args:
            episode_id: The episode's catalog id.
            frames: Its kept frames (from :class:`FrameDescriptorStage`).
            thumbnails_file: A finished ``.npy`` of ``frames.thumbnails`` (:class:`FrameWriter`), moved
                into place instead of written again.

        Raises:
            SearchError: A file cannot be written (full disk, read-only folder); the index is as it
                was, except that the episode's own files may be new.
        """
        if max(len(frames), len(frames.parts)) >= PART_FLAG:
            raise SearchError(
                f"episode {episode_id} keeps {len(frames)} frames and {len(frames.parts)} parts; "
                f"at most {PART_FLAG - 1} each"
            )
        self._load_index()
        try:
            self._writing(lambda: self._write_episode(episode_id, frames, thumbnails_file))
            fault_point("search-episode-files")
            self._episodes.pop(episode_id, None)
            if self._base_counts.get(episode_id):
                self._dropped.add(episode_id)
            self._pending[episode_id] = frames.vector_count
            self._pending_index = None
            if self._fold_due():
                self._fold()
            else:
                self._save_meta()
        except BaseException:
            self._index = self._searchable = self._stamp = None  # changed in memory, not on disk: read again
            raise

    def remove_episodes(self, episode_ids: Iterable[int]) -> list[int]:
        """Remove episodes' vectors and files (one save of the FAISS index for all of them).

        Returns:
            The ids that had vectors or files.
        """
        self._load_index()
        removed = []
        for episode_id in episode_ids:
            had = self._pending.pop(episode_id, None) is not None
            if self._base_counts.get(episode_id) and episode_id not in self._dropped:
                self._dropped.add(episode_id)
                had = True
            path = self._episode_path(episode_id)
            if had or path.exists() or path.with_suffix(".npy").exists():
                removed.append(episode_id)
            self._episodes.pop(episode_id, None)
        if removed:
            self._pending_index = None
            self._save_meta()
            for episode_id in removed:  # after the index stopped pointing at them
                path = self._episode_path(episode_id)
                path.unlink(missing_ok=True)
                path.with_suffix(".npy").unlink(missing_ok=True)
        return removed

    def remove_episode(self, episode_id: int) -> bool:
        """Remove an episode's vectors and files.

        Returns:
            True when the episode was in the index.
        """
        return bool(self.remove_episodes([episode_id]))

    def vector_counts(self) -> dict[int, int]:
        """Vectors per episode id as the index holds them, base and pending (what ``animevid check`` compares)."""
        self._load_index()
        return self._counts()

    def _counts(self) -> dict[int, int]:
        counts = {e: n for e, n in self._base_counts.items() if e not in self._dropped}
        counts.update({e: n for e, n in self._pending.items() if n})
        return counts

    def missing_files(self, episode_id: int) -> list[str]:
        """Names of the episode's search files that are not there (empty: both are)."""
        npz = self._episode_path(episode_id)
        return [p.name for p in (npz, npz.with_suffix(".npy")) if not p.is_file()]

    def _episode_path(self, episode_id: int) -> Path:
        return self.folder / "episodes" / f"{episode_id}.npz"

    def _write_episode(self, episode_id: int, frames: EpisodeFrames, thumbnails_file: Path | None) -> None:
        path = self._episode_path(episode_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        if thumbnails_file is not None:
            os.replace(thumbnails_file, path.with_suffix(".npy"))  # flushed by FrameWriter.finish
        else:
            write_atomically(path.with_suffix(".npy"), lambda p: _save(p, np.ascontiguousarray(frames.thumbnails)))
        names = [name for name in EpisodeFrames.__dataclass_fields__ if name != "thumbnails"]
        write_atomically(path, lambda p: _savez(p, {name: getattr(frames, name) for name in names}))

    def _writing(self, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as exc:
            raise SearchError(
                f"search index {self.folder}: cannot write {exc.filename or 'a file'} ({exc.strerror or exc}); "
                "nothing indexed was lost: free disk space or fix the folder's permissions and re-run animevid index"
            ) from exc

    # -- the FAISS index --------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Vectors in the index (base and pending, without dropped ones)."""
        self._load_index()
        return sum(self._counts().values())

    @property
    def kind(self) -> IndexKind:
        """exact or ivfpq."""
        self._load_index()
        return "ivfpq" if self._meta().get("kind") == "ivfpq" else "exact"

    def _kind_for(self, vectors: int) -> IndexKind:
        return "exact" if vectors <= self.config.exact_max_vectors else "ivfpq"

    def rebuild(self, kind: IndexKind | None = None, *, episode_ids: Sequence[int] | None = None) -> None:
        """Rebuild ``vectors.faiss`` from the episode files (kind chosen by size unless given).

        Args:
            kind: exact or ivfpq (None: by size).
            episode_ids: The episodes to put in (None: every episode file there is).
        """
        # None: every episode whose files can be read (animevid check tells about the others)
        ids = [e for e in self.episode_ids() if _readable(self, e)] if episode_ids is None else list(episode_ids)
        parts = [self.episode(e) for e in ids]
        vectors = np.concatenate([p.vectors() for p in parts]) if parts else np.zeros((0, DESCRIPTOR_DIM), np.float32)
        all_ids = np.concatenate([episode_vector_ids(e, p) for e, p in zip(ids, parts, strict=True)]) if parts else None
        index = self.build(vectors, kind or self._kind_for(len(vectors)))
        if all_ids is not None and len(vectors):
            index.add_with_ids(vectors, all_ids)
        self._pending, self._dropped, self._pending_index = {}, set(), None
        self._save_index(index, trained_on=len(vectors))

    def build(self, vectors: np.ndarray, kind: IndexKind) -> faiss.Index:
        """An empty index of ``kind``, trained on ``vectors`` when it is IVF-PQ."""
        if kind == "ivfpq" and len(vectors) < 40 * 256:
            raise SearchError(f"an IVF-PQ index needs >= {40 * 256} vectors to train, got {len(vectors)}")
        lists = self.config.ivf_lists or int(min(65536, max(256, 4 * np.sqrt(len(vectors)))))
        rng = np.random.default_rng(0)
        sample = min(len(vectors), max(64 * lists, 40 * 256))  # k-means wants ~40 points per centroid (PQ: 256)
        train = vectors[rng.choice(len(vectors), sample, replace=False)] if len(vectors) else vectors
        return self.backend.build(kind, DESCRIPTOR_DIM, train, lists=lists, pq_bytes=self.config.pq_bytes)

    def search(self, queries: np.ndarray, k: int, *, parts: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vectors by inner product.

        Args:
            queries: (q, 64) float32 descriptors.
            k: Neighbours per query.
            parts: Part queries: only part vectors count (else only whole-frame vectors).

        Returns:
            (scores, ids), each (q, k); missing neighbours have id -1.
        """
        if self._searchable is None:
            self._searchable = self.backend.searchable(self._load_index(), nprobe=self.config.nprobe)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        skipped = self._foreign + sum(self._base_counts.get(e, 0) for e in self._dropped)
        scores, ids = self._searchable.search(queries, k + skipped)
        if self._pending:
            more_scores, more_ids = self._pending_searchable().search(queries, k)
            scores, ids = np.hstack([scores, more_scores]), np.hstack([ids, more_ids])
        episodes = ids >> ROW_BITS
        keep = ids >= 0
        if self._dropped:  # their base vectors: a pending vector of the same episode is at a column >= k + skipped
            base = np.arange(ids.shape[1]) < k + skipped
            keep &= ~(np.isin(episodes, np.fromiter(self._dropped, np.int64)) & base)
        if self.indexed is not None and self._foreign:  # episodes the catalog does not count as indexed
            keep &= np.isin(episodes, np.fromiter(self.indexed, np.int64))
        keep &= ((ids & PART_FLAG) != 0) == parts  # the two kinds sit apart (PART_TAG), but a stray one is no answer
        order = np.argsort(np.where(keep, -scores, np.inf), axis=1, kind="stable")[:, :k]
        found = np.take_along_axis(keep, order, 1)
        scores = np.where(found, np.take_along_axis(scores, order, 1), -np.inf)
        ids = np.where(found, np.take_along_axis(ids, order, 1), -1)
        return scores, ids

    def _pending_searchable(self) -> faiss.Index:
        """The pending episodes' vectors, exact, in memory."""
        if self._pending_index is None:
            self._pending_index = faiss.IndexIDMap2(faiss.IndexFlatIP(DESCRIPTOR_DIM))
            self._add_pending(self._pending_index)
        return self._pending_index

    def _add_pending(self, index: faiss.Index) -> None:
        """Add the pending episodes' vectors, read from their files, to ``index``."""
        for episode_id, rows in sorted(self._pending.items()):
            if rows:
                frames = self.episode(episode_id)
                index.add_with_ids(np.ascontiguousarray(frames.vectors()), episode_vector_ids(episode_id, frames))

    def ref(self, vector_id: int) -> FrameRef:
        """The episode and frame a vector id stands for."""
        episode_id, row = split_id(vector_id)
        frames = self.episode(episode_id)
        return FrameRef(
            episode_id, int(frames.frames[row]), float(frames.seconds[row]), float(frames.until_seconds[row])
        )

    def part(self, vector_id: int) -> tuple[int, np.ndarray]:
        """The whole-frame vector id of a part vector's frame, and the part's centre (x, y in frame shares)."""
        episode_id, row = split_id(vector_id)
        frames = self.episode(episode_id)
        number = row & (PART_FLAG - 1)
        return (episode_id << ROW_BITS) | int(frames.part_rows[number]), frames.part_xy[number]

    def thumbnail(self, vector_id: int) -> np.ndarray:
        """The stored (72, 128) uint8 grey thumbnail of a vector's frame."""
        episode_id, row = split_id(vector_id)
        return self.episode(episode_id).thumbnails[row]

    def _meta(self) -> dict[str, object]:
        path = self.folder / "vectors.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            meta = {"damaged": True}
        return meta if isinstance(meta, dict) else {"damaged": True}

    def _load_index(self) -> faiss.Index:
        if self._index is not None and self._stamp == self._version():
            return self._index
        path, meta = self.folder / "vectors.faiss", self._meta()
        problem = _index_problem(path, meta)
        if problem is None:
            try:
                self._stamp = self._version()
                self._index = faiss.read_index(str(path))
            except RuntimeError:  # FAISS reports a truncated or garbage file this way (with C++ internals)
                problem = f"{path.name} cannot be read: it is truncated or damaged ({path.stat().st_size} bytes)"
            else:
                if meta.get("vectors") != self._index.ntotal:
                    said = meta.get("vectors")
                    problem = f"{path.name} holds {self._index.ntotal} vectors but vectors.json says {said}"
        if problem is not None:
            self._recover(problem)
        else:
            self._read_changes(meta)
        self._check_counts()
        assert self._index is not None
        self._searchable = None
        return self._index

    def _version(self) -> tuple[object, ...]:
        return index_version(self.folder)

    def _read_changes(self, meta: Mapping[str, object]) -> None:
        pending, dropped = meta.get("pending", []), meta.get("dropped", [])
        self._pending = {int(e): int(n) for e, n in pending} if isinstance(pending, list) else {}
        self._dropped = {int(e) for e in dropped} if isinstance(dropped, list) else set()
        self._pending_index = None
        self._base_counts = _id_counts(self._index) if self._index is not None else {}

    def _recover(self, problem: str) -> None:
        """A writer rebuilds a missing, stale or damaged FAISS index from the episode files; a reader may not."""
        if self.indexed is not None:
            if problem == "missing" and not self.indexed:
                self._index = self.build(np.zeros((0, DESCRIPTOR_DIM), np.float32), "exact")
                self._read_changes({})
                return
            raise self._damaged(f"vectors.faiss is {problem}" if problem == "missing" else problem)
        if self.episode_ids():
            self.rebuild()  # stale or lost: derived from the episode files
        else:
            self._index = self.build(np.zeros((0, DESCRIPTOR_DIM), np.float32), "exact")
            self._read_changes({})
            self._stamp = None

    def _check_counts(self) -> None:
        """A reader checks that the index holds every vector the catalog says its episodes own, and their files."""
        if self.indexed is None or self._index is None:
            return
        for episode_id in self.indexed:
            if self.missing_files(episode_id):
                raise self._damaged(f"the search files of episode {episode_id} are missing")
        counts = self._counts()
        self._foreign = sum(n for e, n in counts.items() if e not in self.indexed)
        short = [e for e, n in self.indexed.items() if n >= 0 and counts.get(e, 0) != n]
        if short:
            raise self._damaged(
                f"vectors.faiss disagrees with the catalog on {len(short)} episode(s) (episode {short[0]}: "
                f"{counts.get(short[0], 0)} vectors, the catalog says {self.indexed[short[0]]})"
            )

    def _meta_for(self, index: faiss.Index, trained_on: int) -> dict[str, object]:
        return {
            "kind": _kind_of(index),
            "vectors": int(index.ntotal),
            "descriptor_version": DESCRIPTOR_VERSION,
            "trained_on": trained_on,
            "pending": [[e, n] for e, n in sorted(self._pending.items())],
            "dropped": sorted(self._dropped),
        }

    def _save_meta(self) -> None:
        """Record the pending and dropped episodes (the base is unchanged): the cost of adding one episode."""
        assert self._index is not None
        if not (self.folder / "vectors.faiss").is_file():  # a new library: its (empty) base is written once
            self._save_index(self._index, trained_on=self._trained_on())
            return
        meta = self._meta_for(self._index, self._trained_on())
        self._writing(lambda: write_atomically(self.folder / "vectors.json", lambda p: _write_text(p, meta)))
        fault_point("search-vectors")
        self._stamp, self._searchable = self._version(), None

    def _save_index(self, index: faiss.Index, *, trained_on: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self._meta_for(index, trained_on)
        path = self.folder / "vectors.faiss"
        # the meta first: a kill between the two leaves a stale-looking index, which a writer rebuilds
        self._writing(lambda: write_atomically(self.folder / "vectors.json", lambda p: _write_text(p, meta)))
        self._writing(lambda: write_atomically(path, lambda p: faiss.write_index(index, str(p))))
        fault_point("search-vectors")
        self._index, self._searchable = index, None
        self._base_counts = _id_counts(index)
        self._stamp = self._version()

    def _trained_on(self) -> int:
        trained = self._meta().get("trained_on", 0)
        return trained if isinstance(trained, int) else 0

    def _fold_due(self) -> bool:
        pending = sum(self._pending.values())
        base = self._index.ntotal if self._index is not None else 0
        limit = min(FOLD_MAX_PENDING, max(FOLD_MIN_VECTORS, FOLD_RATIO * base))
        return pending > limit or len(self._pending) > FOLD_MAX_EPISODES

    def _fold(self) -> None:
        """Fold the pending episodes into the base and take the dropped ones out (no re-training unless due)."""
        assert self._index is not None
        index, trained_on = self._index, self._trained_on()
        total = sum(self._counts().values())
        kind = _kind_of(index)
        if self._kind_for(total) != kind or (kind == "ivfpq" and total > RETRAIN_GROWTH * max(1, trained_on)):
            self.rebuild(episode_ids=sorted(self._counts()))
            return
        for episode_id in self._dropped | set(self._pending):
            index.remove_ids(faiss.IDSelectorRange(episode_id << ROW_BITS, (episode_id + 1) << ROW_BITS))
        self._add_pending(index)
        self._pending, self._dropped, self._pending_index = {}, set(), None
        self._save_index(index, trained_on=trained_on)


def index_version(folder: Path) -> tuple[object, ...]:
    """Identity of an ``index/`` folder's base and the changes since: another process writing either changes it."""
    return (_stamp(folder / "vectors.faiss"), _stamp(folder / "vectors.json"))


def _kind_of(index: faiss.Index) -> IndexKind:
    return "exact" if isinstance(index, faiss.IndexIDMap2) else "ivfpq"


def _readable(index: SearchIndex, episode_id: int) -> bool:
    try:
        index.episode(episode_id)
    except SearchError:
        return False
    return True


def _index_problem(path: Path, meta: Mapping[str, object]) -> str | None:
    if not path.is_file():
        return "missing"
    if meta.get("damaged"):
        return "vectors.json is damaged"
    if meta.get("descriptor_version") != DESCRIPTOR_VERSION:
        return "stale (written for other descriptors)"
    return None


def _stored_ids(index: faiss.Index) -> np.ndarray:
    if isinstance(index, faiss.IndexIDMap2 | faiss.IndexIDMap):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = faiss.extract_index_ivf(index)
    lists = ivf.invlists
    assert lists is not None
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(k), lists.list_size(k)).copy() for k in range(ivf.nlist) if lists.list_size(k)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def _id_counts(index: faiss.Index) -> dict[int, int]:
    episodes, counts = np.unique(_stored_ids(index) >> ROW_BITS, return_counts=True)
    return {int(e): int(n) for e, n in zip(episodes, counts, strict=True)}


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Identity of a file's current version (another process replacing it changes the inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:  # a handle: np.save would add ".npy" to the temporary name
        np.save(handle, array)


def _savez(path: Path, arrays: Mapping[str, Any]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **dict(arrays))


def _write_text(path: Path, data: object) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


class FrameWriter:
    """Gathers one pass's kept frames for the index, their thumbnails straight to disk.

    A 24-minute episode keeps about 20,000 frames, whose (72, 128) grey thumbnails weigh 190 MB
    (a 2-hour film: about 1 GB); held in memory until the pass ends, they made the peak memory of
    ``animevid index`` grow with the episode's length. Here each batch's thumbnails are appended
    to a ``.npy`` file in ``<index>/tmp`` whose header (which holds the row count) is written
    last; :meth:`SearchIndex.put_episode` then moves the file into place. Descriptors, frame
    numbers and times (300 bytes a kept frame) stay in memory.

    Args:
        folder: Where the file is written (on the index's file system, so that moving it is a rename).
        name: Start of the file's name (the episode's content hash, so that ``animevid check`` can
            tell a live process's file from a leftover).
    """

    HEADER_BYTES = 128
    """Room reserved for the ``.npy`` header (format 1.0; a multiple of 64, as the format asks)."""

    def __init__(self, folder: Path, *, name: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{name or uuid.uuid4().hex}.thumbnails.npy.partial"
        """The file being written (a crash leaves it behind; ``animevid check --repair`` removes it)."""
        self._file = open(self.path, "wb")  # noqa: SIM115 - written batch by batch, closed in finish
        self._file.write(b"\0" * self.HEADER_BYTES)
        self._frames: list[np.ndarray] = []
        self._seconds: list[np.ndarray] = []
        self._descriptors: list[np.ndarray] = []
        self._parts: list[Parts] = []
        self._rows = 0

    def add(self, records: Sequence[IndexedFrame]) -> None:
        """Take the next kept frames (in frame order)."""
        if not records:
            return
        self._frames.append(np.array([r.frame_index for r in records], np.int64))
        self._seconds.append(np.array([r.pts_seconds for r in records], np.float64))
        self._descriptors.append(np.stack([r.descriptor for r in records]).astype(np.float32))
        self._parts.append(gather_parts(records, self._rows))
        for r in records:
            self._file.write(np.ascontiguousarray(r.thumbnail, dtype=np.uint8).tobytes())
        self._rows += len(records)

    def finish(self, end_seconds: float) -> EpisodeFrames:
        """Close the file (flushed to disk) and return the frames, thumbnails read from it on demand.

        Args:
            end_seconds: The episode's length (closes the last kept frame's span).
        """
        shape = (self._rows, THUMB_SIZE[1], THUMB_SIZE[0])
        header = repr({"descr": "|u1", "fortran_order": False, "shape": shape})
        text = header.ljust(self.HEADER_BYTES - 11) + "\n"
        self._file.seek(0)
        self._file.write(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1"))
        self._file.close()
        flush_file(self.path)
        empty = np.zeros((0, DESCRIPTOR_DIM), np.float32)
        return EpisodeFrames.spanning(
            frames=np.concatenate(self._frames) if self._frames else np.zeros(0, np.int64),
            seconds=np.concatenate(self._seconds) if self._seconds else np.zeros(0, np.float64),
            descriptors=np.concatenate(self._descriptors) if self._descriptors else empty,
            thumbnails=np.load(self.path, mmap_mode="r") if self._rows else np.zeros((0, *shape[1:]), np.uint8),
            end_seconds=end_seconds,
            parts=join_parts(self._parts),
        )

    def discard(self) -> None:
        """Close and delete the file (the episode was not indexed)."""
        self._file.close()
        self.path.unlink(missing_ok=True)
