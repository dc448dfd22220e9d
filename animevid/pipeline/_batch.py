"""Batch indexing into a library: find the episodes, run each through the ``index`` stages, commit what they store.

The device is resolved here, once, and handed to the frame source and the stages; which stages
run, and what each stores, comes from the stage registry (:func:`~animevid.pipeline.episode_pass`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from animevid import __version__
from animevid.analysis import AnimationStage
from animevid.catalog import Catalog, StoredEpisode
from animevid.characters import CharacterStage, Gallery, Naming, name_faces
from animevid.config import Config, ScenesConfig, ShotsConfig, config_as_dict
from animevid.decode import DECODERS, FrameGap, probe
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.device import ResolvedDevice, resolve_device
from animevid.engine import ProgressCallback, Stored
from animevid.errors import (
    AnimevidError,
    CatalogError,
    ConfigError,
    TruncatedVideoWarning,
    VideoNotFoundError,
)
from animevid.integrity import repair_before_batch
from animevid.library import (
    Library,
    display_name,
    fault_point,
    path_text,
    remove_episode_arrays,
    write_episode_arrays,
)
from animevid.model import Episode, content_hash
from animevid.pipeline._episode import EpisodePass, episode_lines, episode_pass, kept_warnings
from animevid.scenes import ShotLook, ShotLookStage, segment_scenes
from animevid.search import EpisodeFrames, FrameDescriptorStage, SearchIndex
from animevid.search._store import FrameWriter
from animevid.shots import SHOT_DETECTORS, model_digest

logger = logging.getLogger(__name__)

DEFAULT_LIBRARY = "animevid-library"
"""Library folder used when neither --library, the config nor $ANIMEVID_LIBRARY names one."""


def resolve_library(library: str | Path | None, config: Config) -> Path:
    """The library folder: the argument, else the config, else $ANIMEVID_LIBRARY, else ./animevid-library."""
    chosen = library or config.library.path or os.environ.get("ANIMEVID_LIBRARY") or DEFAULT_LIBRARY
    return Path(chosen).expanduser()


@dataclass(frozen=True)
class Unreadable:
    """An argument of a batch that holds no episode to index: a failure of its own, not an abort."""

    path: Path
    """The file or folder given, or a folder found inside one."""
    problem: str
    """Why nothing can be read there."""


def find_episodes(paths: Iterable[str | Path]) -> list[Path | Unreadable]:
    """Expand folders into the video files inside them (recursively, in natural order).

    Files are kept as given, whatever their ending, so that a bad file is recorded as a
    failure instead of silently dropped. Hidden files and folders are skipped. A folder with
    no video file, or one that cannot be read, becomes an :class:`Unreadable` entry: the
    batch records it as a failure and goes on with the rest.
    """
    found: list[Path | Unreadable] = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)
            continue
        inside, problems = _videos_in(path)
        if not inside and not problems:
            endings = ", ".join(sorted(VIDEO_SUFFIXES))
            problems.append(Unreadable(path, f"the folder holds no video file (looked for {endings})"))
        ordered: list[Path] = sorted(inside, key=_natural_key)
        found += [*ordered, *problems]
    return found


def _videos_in(folder: Path) -> tuple[list[Path], list[Unreadable]]:
    videos: list[Path] = []
    problems: list[Unreadable] = []

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        problems.append(Unreadable(where, f"the folder cannot be read ({exc.strerror or exc}); check its permissions"))

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        videos += [Path(root, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_SUFFIXES]
    return videos, problems


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _natural_key(path: Path) -> list[object]:
    """Sort "ep2" before "ep10", as a person would."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(path))]


def config_fingerprint(config: Config) -> str:
    """Hash of everything that changes what indexing stores (options and code version).

    Scoring tolerances (``shots.tolerance_frames``, ``scenes.tolerance_frames``) only say how
    benchmarks compare with the truth: they are hashed at their defaults, so changing one does
    not re-index a library (and libraries indexed before keep their fingerprint).
    """
    evaluation_only = replace(
        config,
        shots=replace(config.shots, tolerance_frames=ShotsConfig.tolerance_frames),
        scenes=replace(config.scenes, tolerance_frames=ScenesConfig.tolerance_frames),
    )
    relevant: dict[str, Any] = {
        "version": __version__,
        # how many processes share an episode changes nothing stored (animevid.engine._split)
        "decode": {k: v for k, v in config_as_dict(config.decode).items() if k != "workers"},
        "shots": config_as_dict(evaluation_only.shots),
        "shots_model": model_digest(config),  # the scorer's weights, shipped or shots.model
        "scenes": config_as_dict(evaluation_only.scenes),
        "subs": config_as_dict(config.subs),
        # which faces are found and how they are embedded; names are applied again whenever the gallery changes
        "characters": {
            k: v
            for k, v in config_as_dict(config.characters).items()
            if k not in ("unknown_distance", "distinct_distance", "distinct_margin", "cluster_distance")
        },
    }
    search = config.search  # what the descriptor stage keeps changes the index
    relevant["search"] = f"{SearchIndex.descriptor_version}/{search.min_gap_seconds}/{search.max_gap_seconds}"
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class IndexResult:
    """What happened to one episode of a batch."""

    path: Path
    """The episode file."""
    status: Literal["indexed", "skipped", "failed"]
    """indexed, skipped (already in the library with the same options) or failed."""
    episode_id: int | None = None
    """Catalog id when indexed or skipped."""
    frames: int = 0
    """Frames decoded."""
    seconds: float = 0.0
    """Wall time spent on the episode."""
    error: str = ""
    """Why it failed."""
    error_type: str = ""
    """The failure's exception class (``VideoError``, ``PermissionError``...)."""
    warnings: list[str] = field(default_factory=list)
    """Warnings raised while decoding (truncated file, frames missing, repaired timestamps)."""
    notes: list[str] = field(default_factory=list)
    """What else happened to the library: the file moved, replaced an older episode at its path..."""
    log: Path | None = None
    """For an unexpected error: the log file that holds its traceback."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": path_text(self.path),
            "status": self.status,
            "episode_id": self.episode_id,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "error_type": self.error_type,
            "warnings": self.warnings,
            "notes": self.notes,
            "log": None if self.log is None else str(self.log),
        }


ProgressFactory = Callable[[Path, int], ProgressCallback]
"""Given an episode and its estimated frame count, returns that episode's progress callback."""


def index_episodes(
    paths: Iterable[str | Path | Unreadable],
    *,
    library: Path,
    config: Config,
    force: bool = False,
    progress: ProgressFactory | None = None,
    on_result: Callable[[IndexResult], None] | None = None,
    subs: str | Path | None = None,
    subs_encoding: str | None = None,
    on_note: Callable[[str], None] | None = None,
    jobs: int = 1,
    engine: Literal["local", "ray"] = "local",
) -> list[IndexResult]:
    """Index episodes into a library; whatever goes wrong with one episode is recorded and the batch goes on.

    Subtitles (``subs``, a same-named file, or the episode's own track) are aligned and stored with
    the scenes. An episode counts as indexed once every store it owns is written (:mod:`animevid.library`);
    what an interrupted batch left half-done is repaired first; episodes another process claims are
    left to it and waited for at the end; the seasons touched get their recurring footage marked.

    Args:
        paths: Episode files (or :class:`Unreadable` entries from :func:`find_episodes`), in order.
        library: Library folder (created if needed).
        config: Options; ``config.device`` is resolved once here.
        force: Re-index episodes already indexed with the same options.
        progress: Makes a per-episode progress callback (e.g. a progress bar).
        on_result: Called with each episode's result as soon as it is done.
        subs: A subtitle file for the one episode given (not for a batch).
        subs_encoding: Text encoding of the subtitle files (None: detected).
        on_note: Told what the batch did to the library beside indexing (repairs, waits).
        jobs: Episodes whose passes run at once in worker processes (1 GB of memory each).
        engine: ``ray``: each pass is a Ray task (``RAY_ADDRESS``); commits stay here either way.

    Returns:
        One result per path, in order.

    Raises:
        UnknownNameError: The configured decoder does not exist (before any episode is touched).
        BackendUnavailableError: The decoder or device is not available here.
        ConfigError: ``subs`` was given with more than one episode, or does not exist.
        CatalogError: The library's catalog cannot be opened.
    """
    items = list(paths)
    subs_path = _check_subs(subs, items)
    _check_encoding(subs_encoding)
    DECODERS.get(config.decode.backend)  # a wrong option fails the batch, not each episode
    SHOT_DETECTORS.get(config.shots.detector)
    batch = _Batch(Library(library), config, resolve_device(config.device), force, progress, on_note)
    batch.subs, batch.subs_encoding = subs_path, subs_encoding
    batch.parallel(jobs, engine)
    for note in repair_before_batch(library, config=config.search, on_wait=batch.note):
        batch.note(f"repaired: {note}")
    with batch.library.writing(on_wait=batch.note):  # two first runs on a new library do not race to create it
        opened = Catalog.in_library(library)
    with opened as catalog:
        results = batch.all(items, catalog, on_result or (lambda result: None))
    _mark_recurring(library, batch, results)
    return results


def _mark_recurring(library: Path, batch: _Batch, results: list[IndexResult]) -> None:
    """Find OP, ED, recaps and reused footage again in the seasons the batch added episodes to."""
    from animevid.season import find_segments

    added = {r.episode_id for r in results if r.status == "indexed" and r.episode_id is not None}
    if not added:
        return
    try:
        found = find_segments(library, episodes=added)
    except AnimevidError as exc:  # the episodes are indexed; only the season's marks are stale
        batch.note(f"recurring footage (OP/ED/recap) not updated: {exc}; run `animevid segments` again")
        return
    if found:
        kinds = sorted({s.kind for s in found})
        batch.note(f"marked {len(found)} stretch(es) of recurring footage ({', '.join(kinds)}): animevid segments")


def _check_subs(subs: str | Path | None, paths: list[str | Path | Unreadable]) -> Path | None:
    if subs is None:
        return None
    if len(paths) != 1:
        raise ConfigError(
            f"--subs {subs} names one subtitle file but {len(paths)} episodes were given; index one episode "
            "with --subs, or put each episode's subtitles beside it under the same name (ep01.mkv, ep01.ass)"
        )
    if not Path(subs).is_file():
        raise ConfigError(f"--subs {subs}: no such file; give the path of an .ass, .ssa, .srt or .vtt file")
    return Path(subs)


def _check_encoding(encoding: str | None) -> None:
    if encoding is None:
        return
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(
            f"--subs-encoding {encoding!r} is not a text encoding Python knows; "
            "use one such as utf-8, shift_jis (cp932), euc_jp, gbk (gb18030) or big5"
        ) from None


_T = TypeVar("_T")


@dataclass(frozen=True)
class Prepared:
    """An episode claimed for this batch, its pass not run yet."""

    path: Path
    digest: str
    claim: Any
    """The :class:`~animevid.library.Claim`; released once the episode is committed or failed."""


class _Batch:
    """What every episode of one :func:`index_episodes` call shares."""

    def __init__(
        self,
        library: Library,
        config: Config,
        device: ResolvedDevice,
        force: bool,
        progress: ProgressFactory | None,
        on_note: Callable[[str], None] | None,
    ) -> None:
        self.library, self.config, self.device, self.force, self.progress = library, config, device, force, progress
        self.fingerprint = config_fingerprint(config)
        self.subs: Path | None = None
        self.subs_encoding: str | None = None
        self._on_note = on_note
        self._index: SearchIndex | None = None
        self._logged = False
        self.jobs = 1
        """Episodes whose passes run at once (worker processes); the commits stay in this process."""
        self.engine: Literal["local", "ray"] = "local"

    def all(
        self, items: list[Path | str | Unreadable], catalog: Catalog, on_result: Callable[[IndexResult], None]
    ) -> list[IndexResult]:
        """Index every item in order; those another process has claimed are waited for at the end."""
        if self.jobs > 1 or self.engine == "ray":
            from animevid.pipeline._jobs import run_parallel

            return run_parallel(self, items, catalog, on_result)
        results: dict[int, IndexResult] = {}
        waiting: list[int] = []
        for number, item in enumerate(items):
            result = self.one(item, catalog, wait=False)
            if result is None:  # another process has it: come back at the end
                waiting.append(number)
                continue
            results[number] = result
            on_result(result)
        for number in waiting:
            results[number] = self.one(items[number], catalog, wait=True) or IndexResult(Path(), "failed")
            on_result(results[number])
        return [results[number] for number in range(len(items))]

    def parallel(self, jobs: int, engine: Literal["local", "ray"]) -> None:
        """Run ``jobs`` episodes' passes at once (as many as the memory allows), or Ray tasks."""
        self.engine = engine
        if jobs > 1:
            from animevid.pipeline._jobs import jobs_within_memory

            self.jobs = jobs_within_memory(jobs)
            if self.jobs < jobs:
                self.note(f"--jobs {jobs} lowered to {self.jobs}: each running episode needs up to 1 GB of memory")

    def note(self, message: str) -> None:
        """Pass a note on the batch to the caller (or the log)."""
        if self._on_note is not None:
            self._on_note(message)
        else:
            logger.info("%s", message)

    @property
    def index(self) -> SearchIndex:
        """The library's search index, opened to write (once per batch; re-read when another process changed it)."""
        if self._index is None:
            self._index = SearchIndex.in_library(self.library.folder, config=self.config.search, device=self.device)
        return self._index

    def one(self, item: Path | str | Unreadable, catalog: Catalog, *, wait: bool) -> IndexResult | None:
        """Index one episode; any error becomes a failed result and a ``failures`` row. None: claimed elsewhere."""
        started = time.perf_counter()
        path = item_path(item)
        result = self.attempt(path, catalog, lambda: self._index_one(readable(item), catalog, wait=wait))
        if result is not None:
            result.seconds = time.perf_counter() - started
        return result

    def _failed(self, path: Path, catalog: Catalog, exc: Exception) -> IndexResult:
        error = str(exc) if isinstance(exc, AnimevidError) else _describe_error(path, exc)
        kind = type(exc).__name__
        try:
            catalog.record_failure(path, error, error_type=kind)
        except CatalogError as failed:  # the catalog itself cannot be written: say so, do not hide the first error
            error = f"{error} (and it could not be recorded: {failed})"
        return IndexResult(path=path, status="failed", error=error, error_type=kind)

    def _index_one(self, path: Path, catalog: Catalog, *, wait: bool) -> IndexResult | None:
        prepared = self.prepare(path, catalog, wait=wait)
        if not isinstance(prepared, Prepared):
            return prepared
        with prepared.claim:
            return _EpisodeRun(self, path, prepared.digest).run(catalog)

    def prepare(self, path: Path, catalog: Catalog, *, wait: bool) -> IndexResult | Prepared | None:
        """Before an episode's pass: probe and hash it, skip it when indexed, claim it. None: claimed elsewhere."""
        probe(path).analysis_size(self.config.decode.analysis_width)  # bad files fail here, before hashing
        digest = content_hash(path)
        done = self._already_indexed(path, digest, catalog)
        if done is not None:
            return done
        claim = self.library.wait_for_claim(digest, on_wait=self.note) if wait else self.library.claim(digest)
        if claim is None:
            return None
        if wait:  # the other process may have indexed it meanwhile
            done = self._already_indexed(path, digest, catalog)
            if done is not None:
                claim.release()
                return done
        return Prepared(path, digest, claim)

    def attempt(self, path: Path, catalog: Catalog, work: Callable[[], _T]) -> _T | IndexResult:
        """``work()``, or the episode's failure when it raises (recorded, a bug's traceback logged)."""
        try:
            return work()
        except (AnimevidError, OSError) as exc:
            return self.failed(path, catalog, exc, bug=False)
        except Exception as exc:  # a bug or an unforeseen input: recorded with its traceback
            return self.failed(path, catalog, exc, bug=True)

    def failed(self, path: Path, catalog: Catalog, exc: Exception, *, bug: bool) -> IndexResult:
        """An episode's failure, recorded in the catalog (and, for a bug, its traceback in the error log)."""
        result = self._failed(path, catalog, exc)
        if bug:
            result.log = self.library.log_error(path_text(path), exc)
        return result

    def _already_indexed(self, path: Path, digest: str, catalog: Catalog) -> IndexResult | None:
        stored = catalog.stored(digest)
        if self.force or stored is None or (stored.state, stored.config_fingerprint) != ("indexed", self.fingerprint):
            return None
        if self.index.missing_files(stored.episode_id):
            return None  # a store went missing since: index it again
        result = IndexResult(path=path, status="skipped", episode_id=stored.episode_id)
        if stored.path != path_text(path):
            catalog.set_path(stored.episode_id, path)
            result.notes.append(f"moved: the catalog had it at {stored.path}")
        else:
            catalog.clear_failure(path)
        return result


def item_path(item: Path | str | Unreadable) -> Path:
    """The path a batch item names (a failure is recorded under it)."""
    return item.path if isinstance(item, Unreadable) else Path(item)


def readable(item: Path | str | Unreadable) -> Path:
    """The item's path; an :class:`Unreadable` item's problem raised as its failure."""
    if isinstance(item, Unreadable):
        raise VideoNotFoundError(item.path, item.problem)
    return Path(item)


def _describe_error(path: Path, exc: Exception) -> str:
    """One line for an error that is not animevid's own (an OSError, or a bug)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = display_name(os.fsdecode(exc.filename)) if isinstance(exc.filename, str | bytes) else ""
        target = f" {where}" if where and where != display_name(path) else ""
        return f"{path_text(path)}: cannot read{target} ({exc.strerror}); check the file and its permissions"
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "no message"
    return f"{path_text(path)}: unexpected {type(exc).__name__}: {text} (a bug in animevid: please report it)"


@dataclass
class Computed:
    """One episode's pass, ready to commit; it crosses process and Ray boundaries (see :meth:`portable`)."""

    episode: Episode
    stored: Stored
    extra: dict[str, Any]
    frames: EpisodeFrames
    thumbnails: Path
    """The kept frames' thumbnails, written under the library's ``tmp/`` (moved into the index on commit)."""
    warnings: list[str]

    def portable(self) -> Computed:
        """Without the thumbnails in memory (they stay in their file, which the committer reads)."""
        light = replace(self.frames, thumbnails=np.zeros((0, *self.frames.thumbnails.shape[1:]), np.uint8))
        return replace(self, frames=light)

    def restored(self) -> Computed:
        """The thumbnails read back from their file (after :meth:`portable`)."""
        rows = len(self.frames)
        thumbnails = np.load(self.thumbnails, mmap_mode="r") if rows else self.frames.thumbnails
        return replace(self, frames=replace(self.frames, thumbnails=thumbnails))


class _EpisodeRun:
    """One episode's pass and commit (see :func:`index_episodes`)."""

    def __init__(self, batch: _Batch, path: Path, digest: str) -> None:
        self.batch, self.path, self.digest = batch, path, digest
        self.config = batch.config

    def run(self, catalog: Catalog) -> IndexResult:
        return self.commit(catalog, self.compute())

    def compute(self) -> Computed:
        """The episode's pass and what each stage stores; nothing in the library changes but a temporary file."""
        writer = FrameWriter(self.batch.library.tmp, name=self.digest)
        try:
            found, messages = self._pass(writer)
            episode = _episode_record(self.path, self.digest, found)
            frames = writer.finish(episode.duration_seconds)
            stored, notes, extra = self._stored(found)
        except BaseException:
            writer.discard()
            raise
        extra["warnings"] = messages + notes
        return Computed(episode, stored, extra, frames, writer.path, messages + notes)

    def commit(self, catalog: Catalog, computed: Computed) -> IndexResult:
        """Write what :meth:`compute` produced (here, or in another process or machine) into the library."""
        try:
            episode_id, replaced = self._commit(
                catalog, computed.episode, computed.stored, computed.extra, computed.frames, computed.thumbnails
            )
        finally:
            computed.thumbnails.unlink(missing_ok=True)  # moved into the index, or not wanted
        result = IndexResult(self.path, "indexed", episode_id, computed.episode.frames, warnings=computed.warnings)
        result.notes += [f"replaced episode {old.episode_id}: the file at its path changed" for old in replaced]
        return result

    def _pass(self, writer: FrameWriter) -> tuple[EpisodePass, list[str]]:
        batch = self.batch
        callback = batch.progress(self.path, probe(self.path).frames_estimate) if batch.progress else None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TruncatedVideoWarning)
            found = episode_pass(
                self.path, "index", self.config, batch.device, progress=callback,
                sink_for=lambda stage: writer.add if isinstance(stage, FrameDescriptorStage) else None,
            )  # fmt: skip
        return found, kept_warnings(caught, TruncatedVideoWarning)

    def _stored(self, found: EpisodePass) -> tuple[Stored, list[str], dict[str, Any]]:
        """What every stage stores, with the scenes and subtitle lines the pipeline derives from their outputs."""
        shots, context = found.shots, found.context
        lines, subtitles, notes = episode_lines(
            self.path, shots, context.fps, self.config, subs=self.batch.subs, encoding=self.batch.subs_encoding
        )
        looks: list[ShotLook] = found.output(ShotLookStage)
        scenes = segment_scenes(shots, looks, lines, config=self.config.scenes)
        rows: dict[str, Sequence[Any]] = {
            "scenes": [{"scene_index": i, **asdict(scene)} for i, scene in enumerate(scenes)],
            "subtitle_lines": [{"line_index": i, **asdict(line)} for i, line in enumerate(lines)],
        }
        arrays: dict[str, Any] = {}
        for stage in found.stages:
            if id(stage) in found.outputs:
                output = found.outputs[id(stage)]
                if isinstance(stage, CharacterStage):  # named after the gallery as it is now; enroll renames
                    gallery = Gallery(self.batch.library.folder)
                    output = name_faces(output, gallery, naming=Naming.of(self.config.characters))
                stored = stage.stored(output)
                rows |= stored.rows
                arrays |= stored.arrays
        extra = {
            "decode": _decode_summary(found),
            "shots": {"detector": self.config.shots.detector, "count": len(shots)},
            "subtitles": subtitles,
        }
        return Stored(rows=rows, arrays=arrays), notes, extra

    def _commit(
        self,
        catalog: Catalog,
        episode: Episode,
        stored: Stored,
        extra: dict[str, Any],
        frames: EpisodeFrames,
        thumbnails: Path,
    ) -> tuple[int, list[StoredEpisode]]:
        """The episode's stores, each written whole, then the catalog's ``indexed``: the one commit point."""
        index = self.batch.index
        with self.batch.library.writing(on_wait=self.batch.note):
            fault_point("library-locked")
            known = catalog.stored(episode.content_hash) is not None
            episode_id = catalog.reserve_episode(episode)
            fault_point("catalog-reserved")
            try:
                index.put_episode(episode_id, frames, thumbnails_file=thumbnails)
                write_episode_arrays(index.folder, episode_id, stored.arrays)
                replaced = catalog.commit_episode(
                    episode_id, episode, stored.rows, config_fingerprint=self.batch.fingerprint, extra=extra,
                    search_vectors=frames.vector_count,
                )  # fmt: skip
            except Exception:  # a full disk, a read-only folder: the catalog says what is left
                catalog.abandon_episode(episode_id, new=not known)
                raise
            fault_point("catalog-committed")
            if replaced:  # after the commit: a kill before it leaves the old episode whole
                index.remove_episodes(old.episode_id for old in replaced)
                for old in replaced:
                    remove_episode_arrays(index.folder, old.episode_id)
        return episode_id, replaced


def _episode_record(path: Path, digest: str, found: EpisodePass) -> Episode:
    info, report = found.source.info, found.context.report
    return Episode(
        path=path_text(path),
        content_hash=digest,
        size_bytes=path.stat().st_size,
        container=info.container,
        codec=info.codec,
        width=info.width,
        height=info.height,
        fps=info.fps_float,
        frames=report.frames,
        duration_seconds=report.decoded_seconds,
    )


def _decode_summary(found: EpisodePass) -> dict[str, Any]:
    source, report, split = found.source, found.context.report, found.split
    # the animation meter's held frames: no new drawing, no camera move, no flash or fade
    held = next(s for s in found.stages if isinstance(s, AnimationStage)).measures.held()
    return {
        "backend": source.name,
        "analysis_size": list(source.analysis_size),
        "truncated": report.truncated,
        "repaired_timestamps": report.repaired_timestamps,
        "damaged_packets": report.damaged_packets,
        # frames lost inside the file (damaged data): where, and about how many
        "gaps": [_gap_summary(g) for g in report.gaps],
        "missing_frames": report.missing_frames,
        "held_frames": int(held.sum()),
        "held_fraction": round(int(held.sum()) / max(1, len(held) - 1), 4),
        # None: one pass; else how many segments over how many processes (animevid.engine._split)
        "split": None if split is None else {"segments": split.segments, "workers": split.workers},
    }


def _gap_summary(gap: FrameGap) -> dict[str, Any]:
    return {
        "after_frame": gap.after_frame,
        "start_seconds": round(gap.start_seconds, 3),
        "length_seconds": round(gap.length_seconds, 3),
        "missing_frames": gap.missing_frames,
    }
