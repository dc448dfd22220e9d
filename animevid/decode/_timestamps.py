"""Monotonic, correct presentation times from the timestamps containers really carry."""

from __future__ import annotations


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
        self._origin: float | None = None
        self._last: float | None = None

    @property
    def last_seconds(self) -> float:
        """Repaired time of the last frame seen (0 before any)."""
        return self._last or 0.0

    def __call__(self, raw_seconds: float | None) -> float:
        """The repaired time of the next frame in decode order."""
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
        self._last = candidate
        return candidate

    def _snap(self, seconds: float) -> float:
        on_grid = round(seconds / self.frame_seconds) * self.frame_seconds
        return on_grid if abs(on_grid - seconds) <= self.snap_seconds else seconds
