"""Monotonic, correct presentation times from the timestamps containers really carry, and the gaps in them."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

GAP_MIN_STEP_FRAMES = 3.5
"""A forward step between two frames' times longer than this many nominal frames (and than
:data:`GAP_MIN_STEP_SECONDS`) is a gap: frames are missing there.

Largest step between repaired times, in nominal frames, measured with the pyav decoder:
every real clip in ``../shared/data/real/video`` 1.0 except devil_parttimer_fades.mp4, 1.35
(its first frame starts off the grid); anime4k_web_input_popteamepic.mp4 (60 fps, frames in
pairs with one timestamp) 2.0 before the pair repair, 1.0 after it; ``animevid synth``
episodes (seeds 1-4, 20-60 s) 1.0 in mp4 and mkv; ``repeat_video`` copies (x3 of 60 s, x7 of
20 s) 1.0 in mp4 and 1.021 in mkv (Matroska's milliseconds drift off the grid across copies).
3.5 leaves 2.6 times the largest real step. Damage measured on copies of synthetic episodes
(4-100 kB of random bytes at 30-70 % of the file, mp4 and mkv) loses one run of 8-160 frames,
often with lone 1- and 3-frame holes beside it (counted into the gap), or only 1-2 frames,
which are no gap (an mp4 still warns about its damaged packets).
"""

GAP_MIN_STEP_SECONDS = 0.15
"""A gap also lasts longer than this: where FFmpeg guesses a high nominal rate (120 fps for
variable-rate mkv mixing 24 and 30 fps: steps of 4-6 frames; 59.94 fps with 24 fps stretches: 2.5),
a frame of 24 fps footage (0.042 s), or of 8 fps limited animation (0.125 s), spans several
nominal frames without any being lost."""

GAP_JOIN_FRAMES = 12
"""Holes fewer decoded frames apart than this are one damaged stretch, reported as one gap
(damage leaves lone frames, often keyframes, between the holes)."""

_ON_GRID_FRAMES = 0.2
"""A step this close to a whole number of nominal frames lost whole frames (used for the small
holes beside a gap, which count towards it)."""


@dataclass(frozen=True)
class FrameGap:
    """Frames missing inside a stream: its timestamps jump past frames the frame rate expects."""

    after_frame: int
    """0-based index of the last frame decoded before the gap (decode order)."""
    start_seconds: float
    """When the first missing frame was due (the end of that frame), in seconds from the first frame."""
    length_seconds: float
    """Seconds from ``start_seconds`` to the next decoded frame (lone frames kept inside one stretch included)."""
    missing_frames: int
    """About how many frames are missing, at the nominal frame rate."""

    def __post_init__(self) -> None:
        if self.after_frame < 0 or self.length_seconds <= 0 or self.missing_frames < 1:
            raise ValueError(
                f"a gap needs after_frame >= 0, length_seconds > 0 and missing_frames >= 1, got "
                f"{self.after_frame}, {self.length_seconds}, {self.missing_frames}"
            )

    @property
    def end_seconds(self) -> float:
        """Time of the first frame decoded after the gap."""
        return self.start_seconds + self.length_seconds

    def joined(self, later: FrameGap) -> FrameGap:
        """This gap and a later one as one stretch of damage."""
        return FrameGap(
            after_frame=self.after_frame,
            start_seconds=self.start_seconds,
            length_seconds=later.end_seconds - self.start_seconds,
            missing_frames=self.missing_frames + later.missing_frames,
        )


class GapFinder:
    """Find the gaps in a stream of repaired frame times, keeping only the gaps (bounded memory).

    A step longer than :data:`GAP_MIN_STEP_FRAMES` nominal frames and :data:`GAP_MIN_STEP_SECONDS`
    is a gap. Shorter steps that lose whole frames (on the nominal grid) are counted into a gap
    they lie within :data:`GAP_JOIN_FRAMES` frames of, unless they are common in the stream: then
    they are its frame rate (30 fps footage in a 60 fps container), not damage.

    Args:
        frame_seconds: Nominal frame duration (1 / fps).
    """

    def __init__(self, frame_seconds: float) -> None:
        self.frame_seconds = frame_seconds
        self._closed: list[FrameGap] = []
        self._open: FrameGap | None = None
        self._resume = 0  # the frame decoded after the open gap's latest hole
        self._small: deque[FrameGap] = deque(maxlen=GAP_JOIN_FRAMES)
        self._small_count = 0
        self._steps = 0

    @property
    def gaps(self) -> list[FrameGap]:
        """The gaps found so far, in stream order."""
        return self._closed + ([self._open] if self._open is not None else [])

    def step(self, index: int, before_seconds: float, seconds: float) -> None:
        """Look at the step from frame ``index - 1`` (at ``before_seconds``) to frame ``index``."""
        self._steps += 1
        if self._open is not None and index - self._resume > GAP_JOIN_FRAMES:
            self._closed.append(self._open)
            self._open = None
        span = seconds - before_seconds
        frames = span / self.frame_seconds
        if frames > GAP_MIN_STEP_FRAMES and span > GAP_MIN_STEP_SECONDS:
            self._add_gap(self._hole(index, before_seconds, seconds))
        elif round(frames) >= 2 and abs(frames - round(frames)) <= _ON_GRID_FRAMES:
            self._small_count += 1
            # rare (one step in 20, a few more at the start): damage; common: the stream's own rhythm
            if self._small_count <= 3 + self._steps // 20:
                self._add_small(self._hole(index, before_seconds, seconds))

    def _hole(self, index: int, before_seconds: float, seconds: float) -> FrameGap:
        start = before_seconds + self.frame_seconds
        return FrameGap(
            after_frame=index - 1,
            start_seconds=start,
            length_seconds=seconds - start,
            missing_frames=max(1, round((seconds - before_seconds) / self.frame_seconds) - 1),
        )

    def _add_gap(self, hole: FrameGap) -> None:
        self._resume = hole.after_frame + 1
        if self._open is not None:
            self._open = self._open.joined(hole)
            return
        for small in reversed(self._small):  # the small holes just before it, latest first
            if hole.after_frame - small.after_frame > GAP_JOIN_FRAMES:
                break
            hole = small.joined(hole)
        self._small.clear()
        self._open = hole

    def _add_small(self, hole: FrameGap) -> None:
        if self._open is not None:
            self._open = self._open.joined(hole)
            self._resume = hole.after_frame + 1
        else:
            self._small.append(hole)


class TimestampRepair:
    """Turn raw frame timestamps into strictly increasing seconds from the first frame.

    Real releases carry duplicated timestamps (frames in pairs with one pts, as in
    60 fps re-muxes of 30 fps timelines), near-duplicates off by one tick, missing
    timestamps and backward jumps. A frame whose raw time is missing or does not
    advance by at least a quarter of the nominal frame duration past the previous
    frame's time is placed one nominal frame after it; every other frame keeps its
    own time, so real variable frame rates survive. A time within
    ``snap_seconds`` of the nominal frame grid is put on it: Matroska stores
    milliseconds, so a 23.976 fps mkv would otherwise be off by up to 0.5 ms.

    A jump forward that is kept is also looked at by a :class:`GapFinder`: :attr:`gaps`
    lists where frames went missing (a damaged file), for one pass and a split pass alike.

    Args:
        frame_seconds: Nominal frame duration (1 / fps).
        snap_seconds: Largest distance to the frame grid that is snapped away.
    """

    def __init__(self, frame_seconds: float, *, snap_seconds: float = 0.0006) -> None:
        if frame_seconds <= 0:
            raise ValueError(f"frame_seconds must be > 0, got {frame_seconds}")
        self.frame_seconds = frame_seconds
        self.snap_seconds = snap_seconds
        self.repaired = 0
        """How many frames got a synthesised time."""
        self.frames = 0
        """How many frames were timed."""
        self._gaps = GapFinder(frame_seconds)
        self._origin: float | None = None
        self._last: float | None = None

    @property
    def last_seconds(self) -> float:
        """Repaired time of the last frame seen (0 before any)."""
        return self._last or 0.0

    @property
    def gaps(self) -> list[FrameGap]:
        """Where frames are missing between the frames seen so far, in stream order."""
        return self._gaps.gaps

    def __call__(self, raw_seconds: float | None) -> float:
        """The repaired time of the next frame in decode order."""
        self.frames += 1
        if self._last is None:
            self._origin = raw_seconds if raw_seconds is not None else 0.0
            self._last = 0.0
            return 0.0
        assert self._origin is not None
        candidate = None if raw_seconds is None else raw_seconds - self._origin
        if candidate is None or candidate < self._last + 0.25 * self.frame_seconds:
            candidate = self._last + self.frame_seconds
            self.repaired += 1
        candidate = self._snap(candidate)
        self._gaps.step(self.frames - 1, self._last, candidate)
        self._last = candidate
        return candidate

    def _snap(self, seconds: float) -> float:
        on_grid = round(seconds / self.frame_seconds) * self.frame_seconds
        return on_grid if abs(on_grid - seconds) <= self.snap_seconds else seconds
