"""The frame-source interface every decoding backend implements."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, get_args

import numpy as np
import torch

from animevid.config import Interpolation
from animevid.decode._probe import VideoInfo, probe
from animevid.decode._threads import background
from animevid.decode._timestamps import FrameGap, TimestampRepair
from animevid.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoWarning

FrameArray = np.ndarray | torch.Tensor

INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
"""Scaler names every backend accepts (each maps them to its own nearest filter); defined in the config."""

_GAPS_LISTED = 3
"""Gaps a warning names one by one; it counts the rest."""


@dataclass(frozen=True)
class FrameBatch:
    """Consecutive decoded frames at analysis resolution."""

    frames: torch.Tensor
    """RGB pixels, shape (n, height, width, 3), uint8, on the pipeline's device."""
    frame_indices: torch.Tensor
    """0-based decode-order index of each frame, shape (n,), int64, on the CPU."""
    pts_seconds: torch.Tensor
    """Presentation time of each frame in seconds from the first frame, (n,), float64, CPU."""
    details: Mapping[int, np.ndarray] = field(default_factory=dict)
    """Frames a stage asked to see larger (:class:`DetailRequest`), by frame index: (h, w, 3) uint8 RGB
    numpy arrays on the CPU, at the request's width (or the video's, when it is narrower)."""

    def __post_init__(self) -> None:
        n = self.frames.shape[0]
        if self.frames.ndim != 4 or self.frames.shape[3] != 3 or self.frames.dtype != torch.uint8:
            raise ValueError(f"frames must be (n, h, w, 3) uint8, got {tuple(self.frames.shape)} {self.frames.dtype}")
        if self.frame_indices.shape != (n,) or self.pts_seconds.shape != (n,):
            raise ValueError("frame_indices and pts_seconds need one entry per frame")

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def start_frame(self) -> int:
        """Index of the batch's first frame."""
        return int(self.frame_indices[0])


@dataclass(frozen=True)
class Chunk:
    """What a backend yields: consecutive frames and their raw container times."""

    frames: FrameArray
    """(n, h, w, 3) uint8 RGB, numpy on the CPU or a torch tensor on any device."""
    raw_seconds: Sequence[float | None]
    """Container time of each frame in seconds (None where the frame has none)."""
    details: Mapping[int, np.ndarray] = field(default_factory=dict)
    """Larger copies of some frames, by position in the chunk (see :class:`DetailRequest`)."""


@dataclass(frozen=True)
class DetailRequest:
    """Some frames wanted larger than the analysis frames, decided frame by frame as they are decoded.

    The decoder calls :attr:`wants` with every frame's number and its analysis-size picture, in
    order, in its own thread, and scales the frames it says yes to a second time, from the decoded
    picture, to :attr:`width`: the episode is not decoded again, and frames not asked for cost
    nothing more. ``wants`` must depend only on the frames it was shown (a split pass shows a
    segment's frames to a fresh copy, :mod:`animevid.engine._split`).
    """

    width: int
    """Width of the larger frames (the video's own when it is narrower); height keeps the aspect ratio."""
    wants: Callable[[int, np.ndarray], bool]
    """(frame number, (h, w, 3) uint8 analysis frame) -> whether to hand this frame out larger too."""


class FrameSource(ABC):
    """Decode one episode into batches of small RGB frames, in one streaming pass.

    Memory stays bounded by ``batch_frames`` times the prefetch depth, whatever the
    episode's length. Subclasses implement :meth:`_chunks`; timestamp repair, frame
    numbering, truncation and gap handling and prefetching are shared here.

    Args:
        path: The episode file (checked with :func:`probe` first).
        analysis_width: Width of the frames handed out; height keeps the aspect ratio.
        batch_frames: Frames per batch.
        threads: Decoder threads (0: as many as FFmpeg likes).
        prefetch_batches: Batches decoded ahead in a background thread (0: inline).
        interpolation: Scaler name (fast_bilinear, bilinear, area, bicubic).
        device: Where batches are delivered ("cpu" or "cuda"), already resolved.
    """

    name: ClassVar[str] = ""
    decode_errors: ClassVar[tuple[type[Exception], ...]] = ()
    """The backend library's own errors for damaged data: raised mid-stream they end the
    pass with the frames so far (a warning); anything else is a bug and propagates."""

    def __init__(
        self,
        path: str | Path,
        *,
        analysis_width: int = 256,
        batch_frames: int = 64,
        threads: int = 0,
        prefetch_batches: int = 2,
        interpolation: str = "fast_bilinear",
        device: str = "cpu",
        skip_loop_filter: bool = False,
    ) -> None:
        if batch_frames < 1 or analysis_width < 2:
            raise ValueError("batch_frames must be >= 1 and analysis_width >= 2")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
        self.path = Path(path)
        self.info: VideoInfo = probe(self.path)
        self.analysis_size = self.info.analysis_size(analysis_width)
        self.batch_frames = batch_frames
        self.threads = threads
        self.prefetch_batches = prefetch_batches
        self.interpolation = interpolation
        self.skip_loop_filter = skip_loop_filter
        """Ask the decoder to skip its deblocking filter (backends that can: pyav)."""
        self.device = torch.device(device)
        self.frames_decoded = 0
        """Frames handed out so far in the current pass."""
        self.first_index = 0
        """Number of the first frame handed out (a segment of the episode starts later)."""
        self.damaged_packets = 0
        """Damaged packets skipped so far in the current pass (each loses its own frame, not the rest)."""
        self.report: DecodeReport | None = None
        """What the last whole pass did (None before one); :func:`animevid.engine.run_pass` returns it too."""
        self.detail: DetailRequest | None = None
        """Frames a stage wants larger (:meth:`request_detail`); None: none."""

    gives_details: ClassVar[bool] = False
    """Whether the backend can hand out larger copies of some frames (:class:`DetailRequest`)."""

    def request_detail(self, request: DetailRequest) -> bool:
        """Hand out the frames ``request`` wants at its width too, from the next pass on.

        Returns:
            False when this backend cannot (it scales inside its decoder): the batches carry no details.
        """
        if not self.gives_details:
            return False
        self.detail = request
        return True

    def detail_size(self, width: int) -> tuple[int, int]:
        """(width, height) of the larger frames for a requested width: never wider than the video, even sizes."""
        return self.info.analysis_size(min(width, self.info.width))

    @abstractmethod
    def _chunks(self) -> Iterator[Chunk]:
        """Decode the whole stream in order, yielding chunks of at most ``batch_frames``."""

    def batches(self) -> Generator[FrameBatch, None, None]:
        """Decode the episode once, yielding :class:`FrameBatch` objects in order; :attr:`report` says how it went.

        Raises:
            CorruptVideoError: Decoding failed before any frame came out.
            EmptyVideoError: The stream decoded to zero frames.

        Warns:
            TruncatedVideoWarning: Decoding stopped early, or frames are missing inside the stream
                (:attr:`DecodeReport.gaps`); the frames decoded are kept.
        """
        self.frames_decoded = 0
        self.damaged_packets = 0
        self.report = None
        clock = TimestampRepair(1.0 / self.info.fps_float)
        chunks = self._chunks()
        if self.prefetch_batches > 0:
            chunks = background(chunks, maxsize=self.prefetch_batches, name=f"animevid-{self.name}")
        stopped: Exception | None = None
        try:
            for chunk in chunks:
                yield self._to_batch(chunk, clock)
        except self.decode_errors as exc:
            stopped = exc
        self.report = self._close(clock, stopped)

    def _close(self, clock: TimestampRepair, stopped_by: Exception | None) -> DecodeReport:
        """The pass's report, after the checks every whole pass ends with (:func:`close_pass`)."""
        return close_pass(
            self.path, self.info, frames=self.frames_decoded, clock=clock,
            damaged_packets=self.damaged_packets, stopped_by=stopped_by,
        )  # fmt: skip

    def _to_batch(self, chunk: Chunk, clock: TimestampRepair) -> FrameBatch:
        n = len(chunk.raw_seconds)
        frames = torch.as_tensor(chunk.frames) if isinstance(chunk.frames, np.ndarray) else chunk.frames
        first = self.first_index + self.frames_decoded
        indices = torch.arange(first, first + n, dtype=torch.int64)
        pts = torch.tensor(self._seconds(chunk.raw_seconds, clock), dtype=torch.float64)
        self.frames_decoded += n
        details = {first + position: pixels for position, pixels in chunk.details.items()}
        return FrameBatch(
            frames=frames.to(self.device, non_blocking=True), frame_indices=indices, pts_seconds=pts, details=details
        )

    def _seconds(self, raw_seconds: Sequence[float | None], clock: TimestampRepair) -> list[float]:
        """Presentation times of the next frames, from their container times (repaired in order)."""
        return [clock(raw) for raw in raw_seconds]

    def close(self) -> None:
        """Release the backend's resources (the base holds none; backends open per pass)."""
        return None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class DecodeReport:
    """What one decode pass did: returned by the pass, never written onto the source from outside."""

    frames: int
    """Frames decoded."""
    decoded_seconds: float
    """Time from the first frame to the end of the last one."""
    repaired_timestamps: int
    """Frames whose timestamp was missing, duplicated or went backwards (given one a frame after the last)."""
    damaged_packets: int
    """Damaged packets skipped (each lost its own frame, not the rest)."""
    truncated: bool
    """Decoding stopped before the container's end; the frames before were kept."""
    gaps: tuple[FrameGap, ...] = ()
    """Where frames are missing inside the stream (damaged data), in stream order."""

    @property
    def missing_frames(self) -> int:
        """About how many frames are missing in :attr:`gaps` (not at the end: :attr:`truncated`)."""
        return sum(gap.missing_frames for gap in self.gaps)


def close_pass(
    path: Path,
    info: VideoInfo,
    *,
    frames: int,
    clock: TimestampRepair,
    damaged_packets: int = 0,
    stopped_by: Exception | None = None,
) -> DecodeReport:
    """The report of a finished pass over ``path``, after the checks every pass ends with.

    One pass and the split pass (``animevid.engine._split``, which repairs the plan's timestamps
    with its own clock) both end here, so they report alike.

    Args:
        path: The episode.
        info: What the container announced.
        frames: Frames decoded.
        clock: The pass's timestamp repair (repaired times, time decoded, gaps).
        damaged_packets: Damaged packets skipped.
        stopped_by: The decoder's error that ended the pass early, if one did.

    Raises:
        CorruptVideoError: No frame decoded although the container announces some.
        EmptyVideoError: The stream holds no decodable frame.

    Warns:
        TruncatedVideoWarning: Gaps, damaged packets, or an end that did not decode.
    """
    if frames == 0:
        _no_frames(path, info, stopped_by)
    report = DecodeReport(
        frames=frames,
        decoded_seconds=clock.last_seconds + clock.frame_seconds,
        repaired_timestamps=clock.repaired,
        damaged_packets=damaged_packets,
        truncated=stopped_by is not None,
        gaps=tuple(clock.gaps),
    )
    if stopped_by is not None:
        _warn(path, f"decoding stopped at frame {frames} ({stopped_by}); kept the {frames} frames before")
    if report.gaps:
        _warn(path, _gap_report(report))
    elif damaged_packets:
        _warn(path, f"skipped {damaged_packets} damaged packet(s); the frames around them were kept")
    if not report.truncated and _looks_truncated(info, report):
        report = replace(report, truncated=True)
        _warn(
            path,
            f"the container announces {_announced(info)} but only {frames} frames "
            f"({report.decoded_seconds:.1f} s) decoded; the file looks truncated, the decoded frames were kept",
        )
    return report


def _no_frames(path: Path, info: VideoInfo, stopped_by: Exception | None) -> None:
    if stopped_by is not None:
        raise CorruptVideoError(
            path,
            f"decoding failed before the first frame ({type(stopped_by).__name__}: {stopped_by})",
            hint="the file is damaged; fetch it again",
        ) from stopped_by
    if info.duration_seconds > 0:
        raise CorruptVideoError(
            path,
            f"no frame could be decoded although the container announces "
            f"{info.duration_seconds:.1f} s of video; the file looks truncated",
            hint="fetch the file again",
        )
    raise EmptyVideoError(path, "the video stream holds no decodable frame", hint="fetch the file again")


def _gap_report(report: DecodeReport) -> str:
    """One line naming the first gaps and counting the rest."""
    listed = [
        f"{gap.length_seconds:.2f} s (about {gap.missing_frames} frames) from {gap.start_seconds:.2f} s "
        f"(after frame {gap.after_frame})"
        for gap in report.gaps[:_GAPS_LISTED]
    ]
    more = len(report.gaps) - len(listed)
    where = ", ".join(listed) + (f" and {more} more" if more else "")
    skipped = f" ({report.damaged_packets} damaged packet(s) skipped)" if report.damaged_packets else ""
    around = "gaps" if len(report.gaps) > 1 else "gap"
    return (
        f"frames are missing: {where}; the file is damaged there{skipped}, the frames around the {around} "
        "were kept; fetch it again for the missing frames"
    )


def _warn(path: Path, problem: str) -> None:
    warnings.warn(f"{path}: {problem}", TruncatedVideoWarning, stacklevel=4)


def _looks_truncated(info: VideoInfo, report: DecodeReport) -> bool:
    """Whether the end of the stream did not decode; frames missing inside it are gaps."""
    if info.frames_stated:
        # mp4 states its frame count: the frames missing in gaps were lost, but not at the end
        return report.frames + report.missing_frames < 0.98 * info.frames_estimate
    # Containers without a frame count (mkv, webm) still state a duration; audio may
    # run a little past the video, hence the slack.
    duration = info.duration_seconds
    return duration > 0 and report.decoded_seconds < duration - max(1.0, 0.05 * duration)


def _announced(info: VideoInfo) -> str:
    if info.frames_stated:
        return f"{info.frames_estimate} frames"
    return f"{info.duration_seconds:.1f} s"
