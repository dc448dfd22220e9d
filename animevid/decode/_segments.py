"""One episode cut into segments at keyframes, each decoded on its own (by a separate process).

:func:`plan_segments` reads the packets once without decoding them (a few ms per thousand frames)
and numbers every frame by its timestamp; :class:`SegmentSource` seeks to a segment's keyframe and
hands out its frames with their episode-wide numbers, checking each frame's timestamp against the
plan. A stream that does not allow this (a missing or repeated timestamp, a frame the decoder drops
or adds) raises :class:`SegmentMismatch`, and the caller decodes the episode in one pass instead.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from animevid.decode._probe import open_container
from animevid.decode._pyav import PyAVSource
from animevid.decode._source import DecodeReport
from animevid.decode._timestamps import TimestampRepair


class SegmentMismatch(Exception):
    """A segment's frames are not the ones its plan expects: the episode must be decoded in one pass."""


@dataclass(frozen=True)
class SegmentPlan:
    """Where an episode's segments begin, and every frame's timestamp."""

    pts: tuple[int, ...]
    """Timestamp (stream time base) of every frame, in presentation order."""
    time_base: Fraction
    """Seconds per timestamp unit."""
    starts: tuple[int, ...]
    """First frame of each segment, a keyframe; the first is 0."""

    @property
    def frames(self) -> int:
        return len(self.pts)

    def stop(self, segment: int) -> int:
        """Frame after the last of ``segment``."""
        return self.starts[segment + 1] if segment + 1 < len(self.starts) else self.frames


def plan_segments(path: str | Path, *, segments: int, min_frames: int) -> SegmentPlan | None:
    """Cut ``path`` into about ``segments`` segments of at least ``min_frames`` frames, at keyframes.

    Returns None when the episode cannot be cut: fewer than two segments' worth of frames or of
    keyframes, or timestamps that do not number the frames (missing or repeated ones, as in
    re-muxes that give two frames one time): decode it in one pass then.
    """
    stamps: list[int] = []
    keys: list[int] = []
    with open_container(Path(path)) as container:
        stream = container.streams.video[0]
        if stream.time_base is None:
            return None
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet at the end
                continue
            if packet.pts is None:
                return None
            stamps.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
        time_base = stream.time_base
    ordered = sorted(stamps)
    if len(set(ordered)) != len(ordered) or len(ordered) < 2 * min_frames:
        return None
    length = max(min_frames, len(ordered) // max(segments, 1))
    starts = [0]
    for index in sorted(bisect_left(ordered, k) for k in keys):
        if index - starts[-1] >= length and len(ordered) - index >= min_frames:
            starts.append(index)
    if len(starts) < 2:
        return None
    return SegmentPlan(pts=tuple(ordered), time_base=time_base, starts=tuple(starts))


class SegmentSource(PyAVSource):
    """Frames ``[first, first + len(expected))`` of an episode, decoded from the keyframe at ``first``.

    Frame numbers in the batches are the episode's. Frames the decoder gives before the keyframe's
    time (the leading pictures of an open GOP, which belong to the segment before) are skipped; any
    other difference from ``expected`` raises :class:`SegmentMismatch`. The decode ends after the
    expected frames or when the caller stops reading.

    Args:
        path: The episode.
        first: Episode-wide number of the segment's first frame (a keyframe).
        expected: Timestamps of the frames wanted, from the plan.
        seconds: Their presentation times in seconds, as one pass over the episode repairs them.
        **kwargs: As :class:`~animevid.decode.FrameSource` (threads: per segment).
    """

    name = "pyav-segment"

    def __init__(
        self, path: str | Path, *, first: int, expected: Sequence[int], seconds: Sequence[float], **kwargs: Any
    ) -> None:
        super().__init__(path, **kwargs)
        if not expected or len(seconds) != len(expected):
            raise ValueError("a segment needs at least one frame, and one time per frame")
        self.first_index = first
        self.expected = tuple(expected)
        self.seconds = tuple(seconds)

    def _seconds(self, raw_seconds: Sequence[float | None], clock: TimestampRepair) -> list[float]:
        """The episode's own times (repaired over the whole episode, not from the segment's start)."""
        done = self.frames_decoded
        return list(self.seconds[done : done + len(raw_seconds)])

    def _decoded_frames(self) -> Iterator[av.VideoFrame]:
        container, stream = self._open_stream()
        count = 0
        try:
            start = self.expected[0]
            container.seek(start, stream=stream, backward=True, any_frame=False)
            wanted = iter(self.expected)
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if frame.pts is not None and frame.pts < start:
                        continue
                    expected = next(wanted, None)
                    if frame.pts != expected:
                        raise SegmentMismatch(
                            f"{self.path}: frame {self.first_index + count} has timestamp {frame.pts}, "
                            f"the plan says {expected}"
                        )
                    count += 1
                    yield frame
                    if count == len(self.expected):
                        return
        except av.FFmpegError as exc:
            raise SegmentMismatch(f"{self.path}: decoding frame {self.first_index + count} failed ({exc})") from exc
        finally:
            container.close()
        raise SegmentMismatch(f"{self.path}: the segment ended after {count} of {len(self.expected)} frames")

    def _close(self, clock: TimestampRepair, stopped_by: Exception | None) -> DecodeReport:
        """A segment is checked frame by frame against the plan, not against the container's length."""
        if stopped_by is not None:
            raise SegmentMismatch(f"{self.path}: decoding stopped at frame {self.first_index + self.frames_decoded}")
        return DecodeReport(
            frames=self.frames_decoded,
            decoded_seconds=clock.last_seconds,
            repaired_timestamps=0,
            damaged_packets=self.damaged_packets,
            truncated=False,
        )
