"""The frame-source interface every decoding backend implements."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from animevid.decode._probe import VideoInfo, probe
from animevid.decode._threads import background
from animevid.decode._timestamps import FrameGap, TimestampRepair
from animevid.errors import CorruptVideoError, EmptyVideoError, TruncatedVideoWarning

FrameArray = np.ndarray | torch.Tensor

INTERPOLATIONS = ("fast_bilinear", "bilinear", "area", "bicubic")
"""Scaler names every backend accepts (each maps them to its own nearest filter)."""

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
        """Frames handed out so far."""
        self.first_index = 0
        """Number of the first frame handed out (a segment of the episode starts later)."""
        self.split: Any = None
        """How the last pass was split over processes (``animevid.engine.SplitStats``); None: one pass."""
        self.truncated = False
        """True when decoding stopped before the container's end."""
        self.repaired_timestamps = 0
        """Frames whose timestamp was missing, duplicated or went backwards."""
        self.decoded_seconds = 0.0
        """Time from the first frame to the end of the last decoded frame."""
        self.damaged_packets = 0
        """Damaged packets skipped (each loses its own frame, not the rest)."""
        self.gaps: list[FrameGap] = []
        """Where frames are missing inside the stream (a damaged file), after a pass; in stream order."""

    @property
    def missing_frames(self) -> int:
        """About how many frames the last pass found missing in :attr:`gaps` (not at the end: :attr:`truncated`)."""
        return sum(gap.missing_frames for gap in self.gaps)

    @abstractmethod
    def _chunks(self) -> Iterator[Chunk]:
        """Decode the whole stream in order, yielding chunks of at most ``batch_frames``."""

    def batches(self) -> Generator[FrameBatch, None, None]:
        """Decode the episode once, yielding :class:`FrameBatch` objects in order.

        Raises:
            CorruptVideoError: Decoding failed before any frame came out.
            EmptyVideoError: The stream decoded to zero frames.

        Warns:
            TruncatedVideoWarning: Decoding stopped early, or frames are missing inside the stream
                (:attr:`gaps`); the frames decoded are kept.
        """
        self.frames_decoded = 0
        self.truncated = False
        self.damaged_packets = 0
        self.gaps = []
        clock = TimestampRepair(1.0 / self.info.fps_float)
        chunks = self._chunks()
        if self.prefetch_batches > 0:
            chunks = background(chunks, maxsize=self.prefetch_batches, name=f"animevid-{self.name}")
        try:
            for chunk in chunks:
                yield self._to_batch(chunk, clock)
        except self.decode_errors as exc:
            self._stopped_early(exc)
        self._record_timing(clock)
        self._check_complete()

    def _to_batch(self, chunk: Chunk, clock: TimestampRepair) -> FrameBatch:
        n = len(chunk.raw_seconds)
        frames = torch.as_tensor(chunk.frames) if isinstance(chunk.frames, np.ndarray) else chunk.frames
        first = self.first_index + self.frames_decoded
        indices = torch.arange(first, first + n, dtype=torch.int64)
        pts = torch.tensor(self._seconds(chunk.raw_seconds, clock), dtype=torch.float64)
        self.frames_decoded += n
        return FrameBatch(frames=frames.to(self.device, non_blocking=True), frame_indices=indices, pts_seconds=pts)

    def _seconds(self, raw_seconds: Sequence[float | None], clock: TimestampRepair) -> list[float]:
        """Presentation times of the next frames, from their container times (repaired in order)."""
        return [clock(raw) for raw in raw_seconds]

    def _stopped_early(self, exc: Exception) -> None:
        if self.frames_decoded == 0:
            raise CorruptVideoError(
                self.path,
                f"decoding failed before the first frame ({type(exc).__name__}: {exc})",
                hint="the file is damaged; fetch it again",
            ) from exc
        self.truncated = True
        self._warn(
            f"decoding stopped at frame {self.frames_decoded} ({exc}); kept the {self.frames_decoded} frames before"
        )

    def _record_timing(self, clock: TimestampRepair) -> None:
        """Keep what the pass's clock saw: repaired timestamps, the time decoded and the gaps.

        The split pass (``animevid.engine._split.run_split``) hands in the clock it ran over its plan,
        so it reports what one pass would.
        """
        self.repaired_timestamps = clock.repaired
        self.decoded_seconds = clock.last_seconds + clock.frame_seconds if self.frames_decoded else 0.0
        self.gaps = clock.gaps

    def _check_complete(self) -> None:
        if self.frames_decoded == 0:
            if self.info.duration_seconds > 0:
                raise CorruptVideoError(
                    self.path,
                    f"no frame could be decoded although the container announces "
                    f"{self.info.duration_seconds:.1f} s of video; the file looks truncated",
                    hint="fetch the file again",
                )
            raise EmptyVideoError(self.path, "the video stream holds no decodable frame", hint="fetch the file again")
        if self.gaps:
            self._warn(self._gap_report())
        elif self.damaged_packets:
            self._warn(f"skipped {self.damaged_packets} damaged packet(s); the frames around them were kept")
        if not self.truncated and self._looks_truncated():
            self.truncated = True
            self._warn(
                f"the container announces {self._announced()} but only {self.frames_decoded} frames "
                f"({self.decoded_seconds:.1f} s) decoded; the file looks truncated, the decoded frames were kept"
            )

    def _gap_report(self) -> str:
        """One line naming the first gaps and counting the rest."""
        listed = [
            f"{gap.length_seconds:.2f} s (about {gap.missing_frames} frames) from {gap.start_seconds:.2f} s "
            f"(after frame {gap.after_frame})"
            for gap in self.gaps[:_GAPS_LISTED]
        ]
        more = len(self.gaps) - len(listed)
        where = ", ".join(listed) + (f" and {more} more" if more else "")
        skipped = f" ({self.damaged_packets} damaged packet(s) skipped)" if self.damaged_packets else ""
        around = "gaps" if len(self.gaps) > 1 else "gap"
        return (
            f"frames are missing: {where}; the file is damaged there{skipped}, the frames around the {around} "
            "were kept; fetch it again for the missing frames"
        )

    def _warn(self, problem: str) -> None:
        warnings.warn(f"{self.path}: {problem}", TruncatedVideoWarning, stacklevel=4)

    def _looks_truncated(self) -> bool:
        """Whether the end of the stream did not decode; frames missing inside it are :attr:`gaps`."""
        if self.info.frames_stated:
            # mp4 states its frame count: the frames missing in gaps were lost, but not at the end
            return self.frames_decoded + self.missing_frames < 0.98 * self.info.frames_estimate
        # Containers without a frame count (mkv, webm) still state a duration; audio may
        # run a little past the video, hence the slack.
        duration = self.info.duration_seconds
        return duration > 0 and self.decoded_seconds < duration - max(1.0, 0.05 * duration)

    def _announced(self) -> str:
        if self.info.frames_stated:
            return f"{self.info.frames_estimate} frames"
        return f"{self.info.duration_seconds:.1f} s"

    def close(self) -> None:
        """Release the backend's resources (the base holds none; backends open per pass)."""
        return None

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
