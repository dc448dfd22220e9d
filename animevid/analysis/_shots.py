"""From per-frame measurements and shots to the animation of each shot.

Which frames count. Frames of a fade (a run of 4 or more altered frames, or frames ramping
toward black or white next to a fade boundary: :func:`animevid.signals.fade_run` and
:func:`animevid.signals.fade_ramp`) and of a dissolve (between the two pictures it blends) show no
drawing of their own and are left out of everything; short runs (1-3 frames) of altered frames
inside a shot are impact frames: they are listed in ``flash_frames``, hide the drawing under them
without ending its hold, and break any cycle.

What is reported, per shot (see :class:`~animevid.model.ShotAnalysis`):

- ``drawings``: distinct drawing labels; ``drawings_per_second``: drawings *shown* per second
  (each change of drawing counts, a drawing that comes back counts again: a walk cycle of 4
  drawings on twos shows 12 per second), which is what ones/twos/threes mean;
- ``cadence`` from the holds (:func:`animevid.drawings.cadence_of`); ``cadence_mix``: when the
  whole picture is mixed but screen regions each keep a steady cadence that differ (one
  character on twos, another on threes), those cadences;
- ``loops``: :func:`animevid.drawings.find_cycles` on the labels, never across the shot's edges;
- ``camera``: from the per-frame global motion (see :func:`camera_of`);
- ``motion`` (share of the frame whose drawing changes, per frame, averaged) and
  ``motion_level`` (how much: mean change of the changed blocks, 0..255);
- ``tags`` and ``sakuga_score`` (see :func:`sakuga_score`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from animevid import signals
from animevid._columns import Spill
from animevid.analysis._measure import GRID, REGIONS, Measures
from animevid.drawings import CADENCES, cadence_of, find_cycles, hold_runs, true_runs, under_hidden
from animevid.model import Cadence, Camera, Loop, Shot, ShotAnalysis

DISSOLVE_REACH = 8
"""Frames either side of a dissolve boundary searched for the blend."""
GRID_BLOCK = 64
"""Frames of luma grids read at a time around a fade."""

# camera thresholds, in analysis pixels (256 wide by default) and per frame
STATIC_SPEED = 0.15
"""Mean translation per frame under which the camera is still."""
PAN_STRAIGHTNESS = 0.6
"""Net translation over path length above which a move is a pan (else a shake)."""
ZOOM_TOTAL = 0.08
"""Total change of scale (log) above which the camera zooms."""
MOVING_SHARE = 0.5
"""Share of a shot's frames that must show a global move for the camera to count as moving."""

# sakuga score: each signal is normalised to 0..1 and weighted; weights sum to 1
SCORE_WEIGHTS = {"drawing_rate": 0.45, "motion": 0.25, "motion_level": 0.15, "impacts": 0.15}


def transition_frames(measures: Measures, shots: Sequence[Shot]) -> np.ndarray:
    """Frames that belong to a fade or a dissolve (no drawing of their own)."""
    altered = np.asarray(measures.altered, dtype=bool)
    n = len(altered)
    out = np.zeros(n, dtype=bool)
    for start, end in true_runs(altered):
        if signals.fade_run(end - start):
            out[start:end] = True
    grid = _Grids(measures.luma_grid, n)  # read near the start, the end and each fade or dissolve only
    out[signals.fade_ramp(grid, 0, +1)] = True  # a fade in from black at the start
    out[signals.fade_ramp(grid, n, -1)] = True  # a fade out at the end
    for shot in shots:
        b = shot.start_frame
        if shot.transition == "fade":
            out[signals.fade_ramp(grid, b, -1)] = True
            out[signals.fade_ramp(grid, b, +1)] = True
        elif shot.transition == "dissolve":
            out[_blend(grid, b)] = True
    return out


class _Grids:
    """The luma grids of the frames as float32 rows of 144 values, read from their store when needed.

    A fade's ramp can run over any number of blank frames, so :func:`~animevid.signals.fade_ramp`
    reads frame by frame; the rows come in blocks of :data:`GRID_BLOCK` frames, one block kept.
    """

    def __init__(self, store: Spill | np.ndarray, frames: int) -> None:
        self.store = store
        self.frames = frames
        self._block: tuple[int, np.ndarray] = (0, np.zeros((0, GRID[0] * GRID[1]), np.float32))

    def __len__(self) -> int:
        return self.frames

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Frames ``[start, stop)`` as an (n, 144) float32 array (a float16 grid converts exactly)."""
        return np.asarray(self.store[start:stop], dtype=np.float32).reshape(-1, GRID[0] * GRID[1])

    def __getitem__(self, frame: int) -> np.ndarray:
        first, block = self._block
        if not first <= frame < first + len(block):
            first = frame - frame % GRID_BLOCK
            block = self.rows(first, first + GRID_BLOCK)
            self._block = (first, block)
        return block[frame - first]


def _blend(grid: _Grids, boundary: int) -> slice:
    """The frames around a dissolve boundary that lie strictly between its two end pictures."""
    n = len(grid)
    lo, hi = max(0, boundary - DISSOLVE_REACH), min(n - 1, boundary + DISSOLVE_REACH - 1)
    if hi - lo < 2:
        return slice(0, 0)
    a, b = grid[lo], grid[hi]
    axis = b - a
    norm = float(axis @ axis)
    if norm < 1e-6:
        return slice(0, 0)
    weights = ((grid.rows(lo, hi + 1) - a) @ axis) / norm
    # the blend is the run of frames around the boundary whose weight climbs frame by frame
    first = last = boundary - lo
    # a frame belongs to the blend when it climbed from the frame before it (a new drawing just
    # before the blend can carry some weight without having climbed)
    while first > 1 and weights[first - 1] > 0.04 and weights[first - 1] - weights[first - 2] > 0.04:
        first -= 1
    while last + 1 < len(weights) and weights[last + 1] < 0.96 and weights[last + 1] - weights[last] > 0.04:
        last += 1
    return slice(lo + first, lo + last + 1)


def summarise(measures: Measures, shots: Sequence[Shot], fps: float, *, frame_width: int) -> list[ShotAnalysis]:
    """One :class:`ShotAnalysis` per shot, in order."""
    frames = _Frames.of(measures, shots)
    return [_analyse(index, shot, frames, fps, frame_width) for index, shot in enumerate(shots)]


@dataclass(frozen=True)
class _Frames:
    """The episode's per-frame values a shot's summary reads: views of the columns (no copy of the
    episode), converted shot by shot."""

    transition: np.ndarray
    """Frames of a fade or dissolve (:func:`transition_frames`)."""
    flash: np.ndarray
    """Impact frames: altered frames outside transitions."""
    labels: np.ndarray
    """Drawing label per frame (:attr:`Measures.label`)."""
    motion: np.ndarray
    """(frames, 3) camera move per frame (:attr:`Measures.motion`)."""
    share: np.ndarray
    """Changed share per frame (:attr:`Measures.share`)."""
    level: np.ndarray
    """Change level per frame (:attr:`Measures.level`)."""
    regions: np.ndarray
    """Changed screen regions per frame (:attr:`Measures.regions`)."""

    @classmethod
    def of(cls, measures: Measures, shots: Sequence[Shot]) -> _Frames:
        """The values of ``measures``, with the transition and impact frames that ``shots`` give them."""
        n = len(measures.new)
        altered = np.asarray(measures.altered, dtype=bool)
        transition = transition_frames(measures, shots)
        return cls(
            transition=transition,
            flash=altered & ~transition,
            labels=np.asarray(measures.label),
            motion=np.asarray(measures.motion, dtype=np.float64).reshape(n, 3),
            share=np.asarray(measures.share, dtype=np.float64),
            level=np.asarray(measures.level, dtype=np.float64),
            regions=np.asarray(measures.regions),
        )


def _analyse(index: int, shot: Shot, frames: _Frames, fps: float, frame_width: int) -> ShotAnalysis:
    """The :class:`ShotAnalysis` of one shot (see the module docstring)."""
    s, e = shot.start_frame, shot.end_frame
    own = ~frames.transition[s:e]
    visible = own & ~frames.flash[s:e]
    seen = frames.labels[s:e][visible].tolist()
    seconds = max(int(own.sum()), 1) / fps
    # holds and cadence go on through impact frames: the drawing under a flash is still there
    shown = under_hidden(
        [
            None if f else label
            for label, f in zip(frames.labels[s:e][own].tolist(), frames.flash[s:e][own], strict=True)
        ]
    )
    runs = hold_runs(shown)
    cadence = cadence_of(shown)
    loops = _loops(frames.labels[s:e], visible, s, fps)
    moving = visible.copy()
    moving[0] = False  # the first frame's "motion" is against the previous shot
    camera, detail = camera_of(frames.motion[s:e][moving], fps, frame_width)
    shot_share, shot_level = _motion(frames.share[s:e][visible], frames.level[s:e][visible])
    rate = len(hold_runs(seen)) / seconds if seen else 0.0  # drawings seen: none is counted under a flash
    flash = frames.flash[s:e]
    score = sakuga_score(
        drawing_rate=rate / fps if fps else 0.0,
        motion=shot_share,
        motion_level=shot_level,
        impacts_per_second=len(true_runs(flash)) / seconds,
        loop_share=sum(loop.end_frame - loop.start_frame for loop in loops) / max(e - s, 1),
    )
    analysis = ShotAnalysis(
        shot_index=index,
        drawings=len(set(seen)),
        drawings_per_second=round(rate, 4),
        cadence=cadence,
        camera=camera,
        motion=round(shot_share, 4),
        sakuga_score=round(score, 4),
        start_frame=s,
        end_frame=e,
        cadence_mix=cadence_mix(frames.regions[s:e][visible].astype(np.int64), cadence),
        camera_detail=detail,
        motion_level=round(shot_level, 3),
        flash_frames=tuple(int(f) for f in np.flatnonzero(flash) + s),
        loops=loops,
    )
    return analysis.with_tags(tags_of(analysis, fps, main_hold(runs)))


def _loops(labels: np.ndarray, visible: np.ndarray, start: int, fps: float) -> tuple[Loop, ...]:
    """The repeated cycles of a shot's visible labels (``start``: the shot's first frame)."""
    cycle_labels = [lab if ok else None for lab, ok in zip(labels.tolist(), visible, strict=True)]
    return tuple(
        Loop(c.start_frame + start, c.end_frame + start, c.period_frames, c.repeats)
        for c in find_cycles(cycle_labels, fps)
    )


def _motion(share: np.ndarray, level: np.ndarray) -> tuple[float, float]:
    """Mean changed share over a shot's visible frames, and mean level over those that changed."""
    shot_share = float(share.mean()) if len(share) else 0.0
    changed = share > 0
    shot_level = float(level[changed].mean()) if changed.any() else 0.0
    return shot_share, shot_level


def camera_of(motion: np.ndarray, fps: float, frame_width: int) -> tuple[Camera, dict[str, float | str]]:
    """static, pan, zoom or shake from per-frame (dx, dy, scale), plus the move's direction and speed.

    - ``zoom`` when the scale changed by more than :data:`ZOOM_TOTAL` in total, one way;
    - else ``static`` when the mean translation is under :data:`STATIC_SPEED` px per frame;
    - else ``pan`` when the net translation is over :data:`PAN_STRAIGHTNESS` of the path
      travelled (the camera goes somewhere), ``shake`` when it mostly comes back.

    ``direction`` is where the camera moves (the picture moves the other way): left, right, up,
    down or a diagonal; ``speed`` is in frame widths per second. For a zoom, ``direction`` is
    in or out and ``speed`` the scale change per second.
    """
    if not len(motion):
        return "static", {}
    dx, dy, scale = motion[:, 0], motion[:, 1], motion[:, 2]
    moving = (np.hypot(dx, dy) >= 0.3) | (np.abs(scale - 1) >= 0.003)
    if moving.mean() < MOVING_SHARE:
        return "static", {}  # a few frames that seemed to move: things in the picture, not the camera
    log_scale = np.log(np.clip(scale, 1e-3, None))
    total_zoom = float(log_scale.sum())
    if abs(total_zoom) > ZOOM_TOTAL and abs(total_zoom) > 0.6 * float(np.abs(log_scale).sum()):
        return "zoom", {
            "direction": "in" if total_zoom > 0 else "out",
            "speed": round(abs(total_zoom) * fps / len(motion), 4),
        }
    # not a zoom: frames whose fit needed a scale change were fooled by something moving in the picture
    steady = np.abs(scale - 1) < 0.01
    dx, dy = np.where(steady, dx, 0.0), np.where(steady, dy, 0.0)
    if (moving & steady).mean() < MOVING_SHARE:
        return "static", {}
    path = float(np.hypot(dx, dy).sum())
    if path / len(motion) < STATIC_SPEED:
        return "static", {}
    net_x, net_y = float(dx.sum()), float(dy.sum())
    net = math.hypot(net_x, net_y)
    speed = round(net / len(motion) * fps / frame_width, 4)
    if net / path > PAN_STRAIGHTNESS:
        return "pan", {"direction": _direction(-net_x, -net_y), "speed": speed}
    return "shake", {"amplitude": round(path / len(motion) / frame_width, 4)}


def _direction(x: float, y: float) -> str:
    """Compass word for a camera move (x right, y down)."""
    horizontal = "right" if x > 0 else "left"
    vertical = "down" if y > 0 else "up"
    if abs(x) > 2 * abs(y):
        return horizontal
    if abs(y) > 2 * abs(x):
        return vertical
    return f"{vertical}-{horizontal}"


def cadence_mix(regions: np.ndarray, cadence: Cadence) -> tuple[Cadence, ...]:
    """Steady cadences of screen regions that differ, when the whole picture's is mixed.

    Each region's own holds come from the frames where a block of it changed; a region with
    fewer than 3 changes is not moving. Regions touched by two characters are mixed themselves
    and say nothing.
    """
    if cadence != "mixed" or not len(regions):
        return ()
    found = set()
    for r in range(REGIONS[0] * REGIONS[1]):
        changes = (regions >> r) & 1
        if changes.sum() < 3:
            continue
        name = _region_cadence(hold_runs(np.cumsum(changes).tolist()))
        if name is not None:
            found.add(name)
    return tuple(sorted(found)) if len(found) >= 2 else ()


def _region_cadence(runs: list[int]) -> Cadence | None:
    """A region's steady cadence, or None.

    A region sees only part of a character, so a change that stays under the block threshold
    there merges two holds: twos and threes are read when every inner hold is a multiple of the
    step and the step is the commonest hold; ones only when every hold is one frame.
    """
    inner = runs[1:-1]
    if len(inner) < 2:
        return None
    if all(r == 1 for r in inner):
        return CADENCES[1]
    for step in (2, 3):
        if all(r % step == 0 for r in inner) and max(set(inner), key=inner.count) == step:
            return CADENCES[step]
    return None


def sakuga_score(
    *, drawing_rate: float, motion: float, motion_level: float, impacts_per_second: float, loop_share: float
) -> float:
    """A 0..1 ranking of how much animation a shot shows, from measured signals.

    Rewards, with the weights in :data:`SCORE_WEIGHTS`: drawings shown per frame (1 on ones,
    0.5 on twos), the share of the frame that is redrawn (saturating at 30 %), how strongly it
    changes (saturating at 60 of 255 levels) and impact frames (saturating at 2 per second).
    Repeated cycles are reused drawings, so the score is multiplied by ``1 - 0.5 * loop_share``.
    Camera moves over held cels add nothing: they are not drawn. The score rises with every
    signal but the loop share, and falls with that one (monotone in each).
    """
    parts = {
        "drawing_rate": min(max(drawing_rate, 0.0), 1.0),
        "motion": min(max(motion, 0.0) / 0.3, 1.0),
        "motion_level": min(max(motion_level, 0.0) / 60.0, 1.0),
        "impacts": min(max(impacts_per_second, 0.0) / 2.0, 1.0),
    }
    raw = sum(SCORE_WEIGHTS[k] * v for k, v in parts.items())
    return raw * (1.0 - 0.5 * min(max(loop_share, 0.0), 1.0))


SAKUGA_CANDIDATE = 0.55
"""Score from which a shot is tagged ``sakuga-candidate``."""
HIGH_MOTION = 0.15
"""Motion share from which a shot is tagged ``high-motion``."""


def main_hold(runs: list[int]) -> int | None:
    """The hold (1, 2 or 3 frames) that covers most of the shot's inner frames, if half or more.

    Real shots are rarely steady: a shot on threes with one 4+2 pair and a long final hold is
    ``mixed`` by the strict definition, yet mostly on threes.
    """
    inner = runs[1:-1]
    total = sum(inner)
    if not total:
        return None
    cover = {c: c * inner.count(c) for c in CADENCES}
    best = max(cover, key=lambda c: cover[c])
    return best if cover[best] >= 0.5 * total else None


def tags_of(a: ShotAnalysis, fps: float, hold: int | None = None) -> tuple[str, ...]:
    """Tags from the measured values (documented in the README's analysis section)."""
    tags = []
    if a.cadence in CADENCES.values():
        tags.append(f"on-{a.cadence}")
    elif a.cadence == "still":
        tags.append("still")
    elif hold is not None:
        tags.append(f"mostly-on-{CADENCES[hold]}")
    if a.cadence_mix:
        tags.append("mixed-cadence")
    if a.cadence != "still" and a.drawings_per_second <= fps / 3 + 1e-6 and not a.cadence_mix:
        tags.append("limited")
    if a.camera != "static":
        tags.append(a.camera)
    if a.loops:
        tags.append("loop")
    if a.flash_frames:
        tags.append("impact-frames")
    if a.motion >= HIGH_MOTION:
        tags.append("high-motion")
    if a.sakuga_score >= SAKUGA_CANDIDATE and a.end_frame - a.start_frame >= fps / 2:
        tags.append("sakuga-candidate")
    return tuple(tags)
