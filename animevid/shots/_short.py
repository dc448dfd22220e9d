"""Rules for very short shots: strobe edits of 1-2 frame shots.

The classic detector's scorer judges a frame's change against the change around it, and its cuts are
local maxima: two cuts on consecutive frames (a 1-frame shot) cannot both be one, and a strobe's busy
neighbourhood lowers every cut's score. This rule looks at the steps themselves instead.
"""

from __future__ import annotations

import itertools

import numpy as np

from animevid._columns import Spill

STROBE_STEP = 10.0
"""Smallest step (mean change of the 9x16 YCbCr grid to the frame before, levels) that can be a strobe's cut.
Chosen on the strobe case (seeds 1-3: its cuts step 12.2-27.7, its held frames 0) and One Piece's strobe at
994-996 (steps 20.4-66.1)."""
STROBE_HELD = 0.25
"""Largest step of a frame inside a strobe's shot (or just outside the strobe), as a share of the smaller strobe
cut next to it: the shots of a strobe are held. Chosen on the strobe case (0 on seeds 1-3) and One Piece's strobe
(0.12 after it, where the next shot moves); One Piece's drawn action at 907-914 steps 10.7-15.2 between its
largest changes of 15.2-27.1 (0.4-0.7), which is how drawn action on ones differs."""
STROBE_GAP = 2
"""Longest spacing (frames) between a strobe's cuts: its shots last 1 or 2 frames."""
STROBE_SINGLES = 2
"""Fewest 1-frame shots in a strobe. One alone is a cut followed by a drawing on the next frame as often as
a shot: One Piece's cuts at 490, 664 and 808 each have one (808 then drawn on twos), its strobe at 994-996 two,
the strobe case 3-4 (seeds 1-3)."""
STROBE_APART = 0.6
"""Smallest distance of a 1-frame shot from the average of the frames either side, as a share of their distance
from each other (9x16 grid): a shot is no step on the way between its neighbours. A blended frame (24->25 fps
conversion) is 0.01-0.2 of the way; the strobe case's 1-frame shots are 0.70-2.09 (seeds 1-6). One Piece's
drawn action reaches 0.44-1.55, so :data:`STROBE_TRIANGLE` is asked too."""
STROBE_TRIANGLE = 0.5
"""Largest hue-histogram distance between the frames either side of a 1-frame shot, as a share of the way through
it (the two steps' distances summed): a step of a drawn move lies on the way (One Piece's drawn action: 0.13-0.99,
above 0.5 at one 1-frame candidate or more in each of its runs of them); a strobe cutting between set-ups or
characters in turn comes back to colours like those before (the strobe case: 0.10-0.43, seeds 1-6). Limit: three
1-frame shots all unlike each other are about 0.5 and may be missed."""


def strobe_cuts(dist: np.ndarray, can_cut: np.ndarray, grid: Spill | np.ndarray) -> list[int]:
    """Cuts of strobe edits: runs of held shots of 1-2 frames, at least one of them 1 frame long.

    A frame is a strobe cut candidate when its step (``step``) is at least :data:`STROBE_STEP` and it
    ``can_cut`` (enough of the frame changed after motion compensation, no flash or blank). Candidates
    spaced by at most :data:`STROBE_GAP` frames form a run; a run with two candidates on consecutive frames
    (a 1-frame shot) is a strobe when it has :data:`STROBE_SINGLES` 1-frame shots, each no step between
    the frames either side (:data:`STROBE_APART`, :data:`STROBE_TRIANGLE`), and every other frame from one
    before it to one after it is held: its step at most :data:`STROBE_HELD` of the smaller candidate step
    next to it. Drawn action on ones changes every frame by similar amounts, each drawing on the way from one
    to the next; drawn action on twos has no 1-frame shot.

    Args:
        dist: (frames, 3, k >= 2) distance of each frame to the 1, 2, ... frames before it under the 4x8 grid,
            the 9x16 grid and the hue histogram (the classic detector's measurements; frame 0: 0).
        can_cut: (frames,) booleans: the frame may start a shot.
        grid: (frames, 432) 9x16 YCbCr grids (only the 1-frame shots' neighbourhoods are read).

    Returns:
        Every cut of every strobe, in order.
    """
    step = dist[:, 1, 0]
    candidates = np.flatnonzero((step >= STROBE_STEP) & can_cut)
    out: list[int] = []
    start = 0
    for end in range(1, len(candidates) + 1):
        if end < len(candidates) and candidates[end] - candidates[end - 1] <= STROBE_GAP:
            continue
        run = [int(c) for c in candidates[start:end]]
        start = end
        singles = [a for a, b in itertools.pairwise(run) if b - a == 1]
        if len(singles) >= STROBE_SINGLES and all(_apart(dist, grid, f) for f in singles) and _held_between(step, run):
            out += run
    return out


def _held_between(step: np.ndarray, run: list[int]) -> bool:
    """Whether every frame from one before ``run`` to one after it, other than the run's, barely changes."""
    cuts = set(run)
    for frame in range(run[0] - 1, min(len(step), run[-1] + 2)):
        if frame in cuts or frame < 1:
            continue
        beside = [float(step[f]) for f in (frame - 1, frame + 1) if f in cuts]
        if step[frame] > STROBE_HELD * min(beside):
            return False
    return True


def _apart(dist: np.ndarray, grid: Spill | np.ndarray, frame: int) -> bool:
    """Whether ``frame`` is no step on the way between the frames either side (:data:`STROBE_APART`,
    :data:`STROBE_TRIANGLE`)."""
    before, here, after = (np.asarray(grid[f], dtype=np.float32) for f in (frame - 1, frame, frame + 1))
    off = float(np.abs(here - (before + after) / 2).mean())
    way = float(dist[frame, 2, 0] + dist[frame + 1, 2, 0])
    return off >= STROBE_APART * float(np.abs(after - before).mean()) and dist[frame + 1, 2, 1] <= STROBE_TRIANGLE * way
