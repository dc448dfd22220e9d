"""Which frames the characters stage looks at: a few per shot, representative and different from each other.

The decoder asks :meth:`KeyframePicker.wants` about every frame as it decodes it (from the analysis
frame), and hands out a larger copy of those it takes (:class:`~animevid.decode.DetailRequest`).
The picker cannot know the shots yet (the shot stage decides them at the end of the pass), so it
follows *stretches*: a stretch starts where the picture jumps from one frame to the next (a cut, a
flash) and goes on while it changes gradually (camera moves, acting). In a stretch it takes

- the frame :data:`SETTLE_FRAMES` after the jump (the shot's own picture: not a frame blended with
  the shot before, not the flash);
- twice more, :data:`SPACING_FRAMES` apart, the frame then shown if it differs from every frame
  already taken in the stretch by more than :data:`NOVEL_DISTANCE` (a character walked in, the
  camera panned to someone else): :data:`MOST_PER_STRETCH` frames at most, from the first
  4.25 s of a stretch (a face that appears only later in a long shot is missed).

A held dialogue shot gives one keyframe, a long pan over three people three. Each decision depends
only on the frames since the last jump, and never on a frame more than :data:`MEMORY_FRAMES` back,
so a fresh picker agrees with one that saw the whole episode once it has seen that many frames
(what a split pass needs, :mod:`animevid.engine._split`).
"""

from __future__ import annotations

import cv2
import numpy as np

SETTLE_FRAMES = 6
"""Frames after a jump before the stretch's first keyframe (a quarter second at 24 fps)."""
SPACING_FRAMES = 48
"""Frames between the later candidates of a stretch (2 s at 24 fps)."""
MOST_PER_STRETCH = 3
"""Most keyframes in one stretch."""
LAST_STEP = (MOST_PER_STRETCH - 1) * SPACING_FRAMES
"""The last candidate comes this many frames after the first."""
MEMORY_FRAMES = SETTLE_FRAMES + LAST_STEP + 2
"""Frames back from which nothing changes a decision."""
THUMB_SIZE = (16, 9)
"""Thumbnail (width, height) the decisions compare."""
JUMP_DISTANCE = 0.1
"""Mean absolute difference (0..1) of consecutive thumbnails from which the picture jumped."""
NOVEL_DISTANCE = 0.06
"""Mean absolute difference (0..1) from every keyframe taken in the stretch above which a candidate is new."""


class KeyframePicker:
    """Decides, frame by frame in decode order, which frames are keyframes (see the module docstring)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every frame seen: the next frame starts a stretch."""
        self._previous: np.ndarray | None = None
        self._since_jump = 0
        self._taken: list[np.ndarray] = []

    def wants(self, number: int, frame: np.ndarray) -> bool:
        """Whether frame ``number`` ((h, w, 3) uint8 analysis frame) is a keyframe."""
        thumb = cv2.resize(frame, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        jumped = self._previous is None or _distance(thumb, self._previous) > JUMP_DISTANCE
        self._previous = thumb
        if jumped:
            self._since_jump, self._taken = 0, []
            return False
        self._since_jump += 1
        step = self._since_jump - SETTLE_FRAMES
        if not 0 <= step <= LAST_STEP or step % SPACING_FRAMES or len(self._taken) >= MOST_PER_STRETCH:
            return False
        if self._taken and min(_distance(thumb, kept) for kept in self._taken) <= NOVEL_DISTANCE:
            return False
        self._taken.append(thumb)
        return True


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())
