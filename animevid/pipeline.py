"""Wiring: one decode pass feeding every stage, and batch indexing into a library.

The device is resolved here, once, and handed to the frame source and the stages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from animevid import __version__
from animevid.analysis import AnimationStage
from animevid.catalog import Catalog
from animevid.config import Config, config_as_dict
from animevid.decode import DECODERS, FrameSource, open_video
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.device import resolve_device
from animevid.errors import AnimevidError, TruncatedVideoWarning, VideoNotFoundError
from animevid.model import Episode, content_hash
from animevid.shots import SHOT_DETECTORS, make_detector
from animevid.stages import FrameDiff, FrameDiffStage, Stage

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
    relevant = {"version": __version__, "decode": config_as_dict(config.decode), "shots": config_as_dict(config.shots)}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


def run_pass(
    source: FrameSource, stages: Sequence[Stage], *, progress: ProgressCallback | None = None
) -> dict[str, list[Any]]:
    """Decode ``source`` once and feed every batch to every stage, in order.

    Args:
        source: The opened episode.
        stages: Consumers of the stream; each sees every batch once.
        progress: Called after each batch with its frame count.

    Returns:
        Each stage's records (from ``process`` and ``finish``) by stage name.
    """
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
) -> list[IndexResult]:
    """Index episodes into a library; a bad episode is recorded as failed and the batch goes on.

    Args:
        paths: Episode files, in the order to process them.
        library: Library folder (created if needed).
        config: Options; ``config.device`` is resolved once here.
        force: Re-index episodes already indexed with the same options.
        progress: Makes a per-episode progress callback (e.g. a progress bar).
        on_result: Called with each episode's result as soon as it is done.

    Returns:
        One result per path, in order.

    Raises:
        UnknownNameError: The configured decoder does not exist (before any episode is touched).
        BackendUnavailableError: The decoder or device is not available here.
    """
    DECODERS.get(config.decode.backend)  # a wrong option fails the batch, not each episode
    SHOT_DETECTORS.get(config.shots.detector)
    device = resolve_device(config.device)
    fingerprint = config_fingerprint(config)
    results = []
    with Catalog.in_library(library) as catalog:
        for path in map(Path, paths):
            started = time.perf_counter()
            try:
                result = _index_one(path, catalog, config, device, fingerprint, force, progress)
            except AnimevidError as exc:
                catalog.record_failure(path, str(exc))
                result = IndexResult(path=path, status="failed", error=str(exc))
            result.seconds = time.perf_counter() - started
            results.append(result)
            if on_result is not None:
                on_result(result)
    return results


def _index_one(
    path: Path,
    catalog: Catalog,
    config: Config,
    device: str,
    fingerprint: str,
    force: bool,
    progress: ProgressFactory | None,
) -> IndexResult:
    source = open_video(path, config=config.decode, device=device)  # probes: bad files fail here
    digest = content_hash(path)
    if not force and catalog.is_indexed(digest, fingerprint):
        return IndexResult(path=path, status="skipped", episode_id=catalog.episode_id(digest))
    callback = progress(path, source.info.frames_estimate) if progress else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedVideoWarning)
        animation = AnimationStage(device=device)
        stages = [FrameDiffStage(device=device), make_detector(config, device), animation]
        records = run_pass(source, stages, progress=callback)
    messages = [str(w.message) for w in caught if issubclass(w.category, TruncatedVideoWarning)]
    for other in caught:  # not ours to keep: hand them on as if never caught
        if not issubclass(other.category, TruncatedVideoWarning):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    episode = _episode_record(path, digest, source)
    shots = records["shots"]
    analyses = animation.summarise(shots, source.info.fps_float)
    extra = {
        "decode": _decode_summary(source, records["frame-diff"]),
        "shots": {"detector": config.shots.detector, "count": len(shots)},
        "warnings": messages,
    }
    episode_id = catalog.put_episode(
        episode, shots=shots, analyses=analyses, config_fingerprint=fingerprint, extra=extra
    )
    return IndexResult(path=path, status="indexed", episode_id=episode_id, frames=episode.frames, warnings=messages)


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
    }
