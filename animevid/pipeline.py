"""Wiring: one decode pass feeding every stage, and batch indexing into a library.

The device is resolved here, once, and handed to the frame source and the stages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch

from animevid import __version__
from animevid.analysis import AnimationStage
from animevid.catalog import Catalog
from animevid.config import Config, config_as_dict
from animevid.decode import DECODERS, FrameSource, open_video
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.decode._segments import SegmentMismatch
from animevid.device import resolve_device
from animevid.errors import (
    AnimevidError,
    ConfigError,
    SubtitleError,
    SubtitleLineWarning,
    TruncatedVideoWarning,
    VideoNotFoundError,
)
from animevid.model import Episode, Shot, SubtitleLine, content_hash
from animevid.parallel import run_split, workers_for
from animevid.scenes import ShotLookStage, segment_scenes
from animevid.search import EpisodeFrames, FrameDescriptorStage, SearchIndex
from animevid.shots import SHOT_DETECTORS, make_detector
from animevid.stages import FrameDiff, FrameDiffStage, SplittableStage, Stage

logger = logging.getLogger(__name__)

DEFAULT_LIBRARY = "animevid-library"
"""Library folder used when neither --library, the config nor $ANIMEVID_LIBRARY names one."""

ProgressCallback = Callable[[int], None]
"""Called with the number of frames just processed."""


def resolve_library(library: str | Path | None, config: Config) -> Path:
    """The library folder: the argument, else the config, else $ANIMEVID_LIBRARY, else ./animevid-library."""
    chosen = library or config.library.path or os.environ.get("ANIMEVID_LIBRARY") or DEFAULT_LIBRARY
    return Path(chosen).expanduser()


def find_episodes(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into the video files inside them (recursively, in natural order).

    Files are kept as given, whatever their ending, so that a bad file is recorded as a
    failure instead of silently dropped. Hidden files and folders are skipped.

    Raises:
        VideoNotFoundError: A folder holds no video file.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            found.append(path)
            continue
        inside = [
            f
            for f in path.rglob("*")
            if f.suffix.lower() in VIDEO_SUFFIXES and f.is_file() and not _hidden(f.relative_to(path))
        ]
        if not inside:
            endings = ", ".join(sorted(VIDEO_SUFFIXES))
            raise VideoNotFoundError(path, f"the folder holds no video file (looked for {endings})")
        found.extend(sorted(inside, key=_natural_key))
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _natural_key(path: Path) -> list[object]:
    """Sort "ep2" before "ep10", as a person would."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(path))]


def config_fingerprint(config: Config) -> str:
    """Hash of everything that changes what indexing stores (options and code version)."""
    relevant: dict[str, Any] = {
        "version": __version__,
        # how many processes share an episode changes nothing stored (animevid.parallel)
        "decode": {k: v for k, v in config_as_dict(config.decode).items() if k != "workers"},
        "shots": config_as_dict(config.shots),
        "scenes": config_as_dict(config.scenes),
        "subs": config_as_dict(config.subs),
    }
    search = config.search  # what the descriptor stage keeps changes the index
    relevant["search"] = f"{SearchIndex.descriptor_version}/{search.min_gap_seconds}/{search.max_gap_seconds}"
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def run_pass(
    source: FrameSource, stages: Sequence[Stage], *, progress: ProgressCallback | None = None, workers: int = 1
) -> dict[str, list[Any]]:
    """Decode ``source`` once and feed every batch to every stage, in order.

    With ``workers`` > 1, stages that can be split (:class:`~animevid.stages.SplittableStage`,
    on the CPU, behind the pyav decoder) run on segments of the episode in that many processes,
    with the same records (:mod:`animevid.parallel`); otherwise, or when the episode cannot be
    split, in this process.

    Args:
        source: The opened episode.
        stages: Consumers of the stream; each sees every batch once.
        progress: Called after each batch (or joined segment) with its frame count.
        workers: Processes for one episode (1: this one only).

    Returns:
        Each stage's records (from ``process`` and ``finish``) by stage name.
    """
    if workers > 1:
        try:  # None when the pass cannot be split (stages, decoder, a short or unnumbered episode)
            split = run_split(source, stages, workers, progress=progress)
        except (SegmentMismatch, BrokenProcessPool) as exc:
            # frames that differ from the plan (damaged data, a decoder that drops frames) or a
            # process that died: the pass runs again in this process, which reports what it finds
            why = str(exc) if isinstance(exc, SegmentMismatch) else _POOL_BROKE
            where = "" if str(source.path) in why else f"{source.path}: "
            logger.warning("%s%s; the split pass gave up, decoding in one pass", where, why)
            for stage in stages:
                if isinstance(stage, SplittableStage):
                    stage.reset()
        else:
            if split is not None:
                return split
    records: dict[str, list[Any]] = {stage.name: [] for stage in stages}
    with _cpu_threads(1 if all(stage.device.type == "cpu" for stage in stages) else None):
        for batch in source.batches():
            for stage in stages:
                records[stage.name].extend(stage.process(batch))
            if progress is not None:
                progress(len(batch))
        for stage in stages:
            records[stage.name].extend(stage.finish())
    return records


_POOL_BROKE = (
    "a process of the split pass stopped: killed for lack of memory, or the Python script that calls "
    'animevid lacks the `if __name__ == "__main__":` guard that starting processes needs '
    "(decode.workers: 1 starts none)"
)


@contextmanager
def _cpu_threads(count: int | None) -> Iterator[None]:
    """Limit torch's CPU threads while the decoder runs beside the stages.

    Stage tensors are small (analysis frames); with torch's default of one thread per core,
    its workers spin against FFmpeg's decode threads. Measured on 2 cores: 31 frames/s with 2
    torch threads against 271 with 1 for the shot stage (bench/shots.py).
    """
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    warnings: list[str] = field(default_factory=list)
    """Warnings raised while decoding (truncated file, repaired timestamps)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "status": self.status,
            "episode_id": self.episode_id,
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "warnings": self.warnings,
        }


ProgressFactory = Callable[[Path, int], ProgressCallback]
"""Given an episode and its estimated frame count, returns that episode's progress callback."""


def index_episodes(
    paths: Iterable[str | Path],
    *,
    library: Path,
    config: Config,
    force: bool = False,
    progress: ProgressFactory | None = None,
    on_result: Callable[[IndexResult], None] | None = None,
    subs: str | Path | None = None,
) -> list[IndexResult]:
    """Index episodes into a library; a bad episode is recorded as failed and the batch goes on.

    Each episode's subtitles (``subs``, else a same-named file beside it, else its own text
    track) are aligned to its cuts and stored with its scenes.

    Args:
        paths: Episode files, in the order to process them.
        library: Library folder (created if needed).
        config: Options; ``config.device`` is resolved once here.
        force: Re-index episodes already indexed with the same options.
        progress: Makes a per-episode progress callback (e.g. a progress bar).
        on_result: Called with each episode's result as soon as it is done.
        subs: A subtitle file for the one episode given (not for a batch).

    Returns:
        One result per path, in order.

    Raises:
        UnknownNameError: The configured decoder does not exist (before any episode is touched).
        BackendUnavailableError: The decoder or device is not available here.
        ConfigError: ``subs`` was given with more than one episode, or does not exist.
    """
    paths = list(paths)
    subs_path = _check_subs(subs, paths)
    DECODERS.get(config.decode.backend)  # a wrong option fails the batch, not each episode
    SHOT_DETECTORS.get(config.shots.detector)
    device = resolve_device(config.device)
    fingerprint = config_fingerprint(config)
    results = []
    with Catalog.in_library(library) as catalog:
        for path in map(Path, paths):
            started = time.perf_counter()
            try:
                result = _index_one(path, catalog, config, device, fingerprint, force, progress, subs_path)
            except AnimevidError as exc:
                catalog.record_failure(path, str(exc))
                result = IndexResult(path=path, status="failed", error=str(exc))
            result.seconds = time.perf_counter() - started
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _check_subs(subs: str | Path | None, paths: list[str | Path]) -> Path | None:
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


def _index_one(
    path: Path,
    catalog: Catalog,
    config: Config,
    device: str,
    fingerprint: str,
    force: bool,
    progress: ProgressFactory | None,
    subs: Path | None = None,
) -> IndexResult:
    source = open_video(path, config=config.decode, device=device)  # probes: bad files fail here
    digest = content_hash(path)
    if not force and catalog.is_indexed(digest, fingerprint):
        return IndexResult(path=path, status="skipped", episode_id=catalog.episode_id(digest))
    callback = progress(path, source.info.frames_estimate) if progress else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedVideoWarning)
        animation, looks = AnimationStage(device=device), ShotLookStage(device=device)
        search = FrameDescriptorStage(
            device=device, min_gap_seconds=config.search.min_gap_seconds, max_gap_seconds=config.search.max_gap_seconds
        )
        stages = [FrameDiffStage(device=device), make_detector(config, device), animation, looks, search]
        records = run_pass(source, stages, progress=callback, workers=workers_for(config.decode.workers))
    messages = _kept_warnings(caught, TruncatedVideoWarning)
    episode = _episode_record(path, digest, source)
    shots = records["shots"]
    fps = source.info.fps_float
    lines, subtitles, notes = episode_lines(path, shots, fps, config, subs=subs)
    messages += notes
    scenes = segment_scenes(shots, looks.summarise(shots), lines, config=config.scenes)
    extra = {
        "decode": _decode_summary(source, records["frame-diff"]),
        "shots": {"detector": config.shots.detector, "count": len(shots)},
        "subtitles": subtitles,
        "warnings": messages,
    }
    episode_id = catalog.put_episode(
        episode,
        shots=shots,
        scenes=scenes,
        subtitle_lines=lines,
        analyses=animation.summarise(shots, fps),
        config_fingerprint=fingerprint,
        extra=extra,
    )
    kept = EpisodeFrames.from_records(records[search.name], episode.duration_seconds)
    SearchIndex.in_library(catalog.path.parent, config=config.search, device=device).put_episode(episode_id, kept)
    return IndexResult(path=path, status="indexed", episode_id=episode_id, frames=episode.frames, warnings=messages)


def _kept_warnings(caught: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    """The messages of the caught warnings of ``category``; the others are handed on as if never caught."""
    for other in caught:
        if not issubclass(other.category, category):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return [str(w.message) for w in caught if issubclass(w.category, category)]


def _episode_record(path: Path, digest: str, source: FrameSource) -> Episode:
    info = source.info
    return Episode(
        path=str(path.resolve()),
        content_hash=digest,
        size_bytes=path.stat().st_size,
        container=info.container,
        codec=info.codec,
        width=info.width,
        height=info.height,
        fps=info.fps_float,
        frames=source.frames_decoded,
        duration_seconds=source.decoded_seconds,
    )


def _decode_summary(source: FrameSource, diffs: list[FrameDiff]) -> dict[str, Any]:
    held = sum(1 for d in diffs if d.held)
    return {
        "backend": source.name,
        "analysis_size": list(source.analysis_size),
        "truncated": source.truncated,
        "repaired_timestamps": source.repaired_timestamps,
        "damaged_packets": source.damaged_packets,
        "held_frames": held,
        "held_fraction": round(held / max(1, len(diffs) - 1), 4),
        # None: one pass; else how many segments over how many processes (animevid.parallel)
        "split": None if source.split is None else {"segments": source.split.segments, "workers": source.split.workers},
    }


def episode_lines(
    path: Path, shots: Sequence[Shot], fps: float, config: Config, *, subs: Path | None = None
) -> tuple[list[SubtitleLine], dict[str, Any], list[str]]:
    """The episode's subtitle lines aligned to its cuts, what was used, and warnings for the result.

    The subtitles are ``subs`` when given, else a same-named file beside the episode, else the
    episode's own text track (:func:`animevid.subs.episode_subtitles`). The offset and drift
    found against the cuts are applied only when the fit is reliable (a short clip can fit a
    wrong offset by chance); lines are then snapped to nearby cuts. A subtitle file that cannot
    be read is a warning: the episode's pictures are still indexed.
    """
    from animevid.subs import align_lines, cut_seconds, episode_subtitles, read_lines

    what = f"file {subs.name}" if subs is not None else "its own track"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SubtitleLineWarning)
        try:
            found = (subs, None, what) if subs is not None else episode_subtitles(path)
            if found is None:
                return [], {"source": None}, []
            source, track, what = found
            lines = read_lines(source, track=track)
        except SubtitleError as exc:
            return [], {"source": what, "error": str(exc)}, [f"subtitles not used: {exc}"]
    messages = _kept_warnings(caught, SubtitleLineWarning)
    cuts = cut_seconds(shots)
    aligned = align_lines(lines, cuts, fps=fps, config=config.subs)
    if not aligned.fit.reliable:  # keep the file's own clock; snapping alone is safe
        kept = replace(aligned.fit, offset_seconds=0.0, ratio=1.0)
        aligned = align_lines(lines, cuts, fps=fps, config=config.subs, fit=kept)
    summary = {
        "source": what,
        "lines": len(aligned.lines),
        "offset_seconds": round(aligned.fit.offset_seconds, 6),
        "ratio": round(aligned.fit.ratio, 9),
        "reliable": aligned.fit.reliable,
        "snapped": aligned.snapped,
    }
    return list(aligned.lines), summary, messages
