"""Per-frame measurements of the animation: new drawing or held, camera motion, flashes.

Every frame is compared with a *reference*: the last frame that was not an impact frame (a
flash hides the drawing; the frame after it is compared with the picture before it).

1. **Photometric test.** On a 9x16 grid of mean luma, a frame that is near-uniform black or
   white, or fits ``frame = a * reference + b`` with ``a`` far from 1 (inverted, white, black or
   tinted), is *altered* (:func:`animevid.signals.altered`); so is a frame whose palette jumps and
   comes back within 3 frames (:func:`animevid.signals.palette_flash`): a flash when the run is
   short, a fade when it is long (decided per shot, see :mod:`animevid.analysis._shots`). An altered
   frame that keeps every shape and stays so for the next frames is the same drawing *re-graded*
   (a scene darkened after a hit, a light switched on): held, the reference follows it, and the
   frames of the run before it that only go from the old colours to the new are held too.
2. **Held or new, static camera.** The luma difference to the reference, averaged over 4x4-pixel
   blocks: a held drawing keeps every block under ``held_levels`` (:func:`animevid.signals.held`,
   whose module holds every shared test and threshold). Changes that are not drawn
   are then set aside, and the reference stays or follows as each needs:

   - burned-in text: a wide flat strip at the top or bottom, nothing else (the reference follows);
   - a particle field: a dozen or more small separate spots, none of drawing size (rain, confetti);
   - a change of light: the fine detail (the picture minus a 1-px blur) stays, as a glow fading
     does; a drawn line moving changes it;
   - a one-frame blip: the next frame undoes the change and the one after does not redo it
     (a rain streak, a glint); the reference stays, so the blip leaves no trace.

3. **Camera.** When some block changed, the global motion is estimated by phase correlation on
   the whole frame and on its four quadrants (a zoom pushes the quadrants apart): a translation
   and a scale about the centre. When the picture moved, the reference is warped onto the frame
   and compared through a 3x3 min/max envelope (sub-pixel resampling of ink lines is not a
   change), over 4x4-pixel blocks, away from the borders the move uncovered. A pan, a zoom or a
   shake over a held cel leaves nothing: held. A character moving during a pan: new. When no
   one move fits, or only a zoom, the picture may be layers: a background sliding behind a cel
   that stays put (the camera follows a character); each pixel is then held when it is unchanged
   or moved with the background (:meth:`AnimationMeter._layered`), and the camera is a pan. When the
   whole picture got lighter or darker as well (a fade's first step, under the altered test), the
   frame is brought back to the reference's brightness first.
4. **Which drawing.** A new drawing is matched against the last drawings seen (step 2's test at
   ``same_levels``, which allows for the encoder coding a drawing anew when it comes back, with the
   same set-asides, on the unwarped frames): a blink that opens again, a mouth that closes, a cycle that
   comes round show an old drawing, so they get its label. While a background keeps sliding behind a cel
   (step 3's layers), the last drawings are also compared over the background moved on since
   (:mod:`animevid.analysis._slide`): a walk cycle the camera follows comes round. Distinct labels count
   drawings; the label sequence shows holds, cadence and cycles (:mod:`animevid.drawings`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import partial

import cv2
import numpy as np

from animevid import signals
from animevid._columns import Column, Spill
from animevid.analysis._slide import MOVED_PX, SLIDE_SAME_BLOCKS, slid_changes
from animevid.signals import block_means, changed_blocks

GRID = (9, 16)
"""Rows and columns of the luma grid behind the photometric test."""
REGIONS = (2, 3)
"""Rows and columns of screen regions whose cadence is measured apart."""
LOOKAHEAD = 3
"""Frames looked at beyond the one measured: an impact frame is followed by the picture it hid."""
REGRADE_AHEAD = 2
"""Frames after an altered one that must show the same picture for it to be a re-grade, not a flash."""
REGRADE_STEADY = 1.5
"""Mean luma-grid difference (levels) under which those frames show the same picture."""
REGRADE_PATH_LEVELS = 3.0
"""Mean colour distance (levels, 9x16 grid) under which a frame lies on the way from the old colours to the re-grade."""
REGRADE_FIT = 0.97
"""Share of the grid's variance that ``a * reference + b`` must explain: the same shapes, other colours."""
BRIGHTNESS_STEP = 0.05
"""Gain change (``|a - 1|``) of the whole picture from which a moving camera's frame is compared at the
reference's brightness (smaller steps stay inside the envelope)."""
ZOOM_STEP = 0.003
"""Scale step tried either side of a zoom's estimate when the move leaves changes (0.4 px at the edge)."""
CONSENSUS_PX = 1.0
"""Largest disagreement (pixels) between a quadrant's shift and the fitted camera move."""
MIN_MOVED_BLOCKS = 2
"""Fewest changed 4x4 blocks that make a new drawing under a moving camera (one is resampling noise)."""
STEADY_PX = 0.25
"""Largest change (pixels) between the last two frames' camera moves for the move to be steady."""
RECOGNISE_CANDIDATES = 6
"""Earlier drawings, closest first, compared in full with a new one."""
QUADRANTS = 3
_THREE_OF_FOUR = [[0, 1, 2, 3], [1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
"""Quadrants that must hold changed blocks before a change is tried as a camera move."""
FAINT_FACTOR = 1.65
"""A change under this many times the held levels on average is faint (slow push-ins over held cels on
dialogue_crossdissolve_vertical_406x720.mp4: 11.7-14 levels against 8.5; at 2x sakurasou's 14-level lip flaps
were absorbed by the camera estimate). Chosen on that dialogue clip: at 1.5 its push-in at 274-378 (12.8-14
levels a frame) was counted as 44 drawings where the eye sees 23, and the clip as +76 %; at 1.65 the clip is
+0 % (62 of the eye's 75 frames found, 13 eye-highlight trembles absorbed with the move); at 1.8 the girl
walk loses two drawings and sakurasou's lip flaps start to go."""
FAINT_QUADRANTS = 2
"""Fewest quadrants holding a faint change before it is tried as a camera move."""
STILL = (0.0, 0.0, 1.0)
"""The camera move of a still camera: no shift, scale 1."""
LAYER_SHARE = 0.05
"""Share of a quadrant's outer blocks holding detail that only the background shift explains, in 3 quadrants or
more, for the picture to be read as layers moving apart (see :meth:`AnimationMeter._layered`). Set on the synthetic
follow case; on the real clips it changes the first shot of pyscenedetect_issue-236-split-copy.mkv (a camera
moving over a bridge and mist while a boat comes out: static with 15 drawings and sakuga-candidate before, a
pan with 5 drawings after) and 8 single frames elsewhere, one of which the eye counts as a drawing
(dialogue_crossdissolve_vertical_406x720.mp4 frame 15)."""
LAYER_MAX_PX = 6
"""Largest background shift (analysis pixels per frame) tried by the layered test."""
PARTICLE_SPOTS = 12
"""Separate changed spots from which a change may be a particle field."""
PARTICLE_SHARE = 0.004
"""Largest spot (share of the frame's blocks) of a particle field."""
SOFT_LEVELS = 3.0
"""Change of fine detail (levels, 8x8 block mean) under which a change is light, not lines."""
SLIDING_FRAMES = 3
"""Fewest frames of a camera move measured as a background sliding behind a cel (:attr:`Measures.slid`) before
drawings are recognised over the moved background (:meth:`DrawingMemory.follow`)."""
SLIDING_SHARE = 0.25
"""Least share of a camera move's frames measured as a sliding background for the same: a slide that goes on,
not one frame of a pan read as layers. On the follow_walk case 3 of the first 8-10 frames of the move (seeds
2 and 3: the frames with a new drawing are often measured as one move of the whole picture), 40-90 % of the
whole shot; on devil_parttimer_fades.mp4, 1 of the 7 frames of a pan over a mouth flap (179-185), where a
mouth that opens again over the moved picture was matched once the gate was open over the whole move."""
MEMORY = 48
"""Drawings kept to recognise a drawing that comes back."""


@dataclass
class Measures:
    """Per-frame measurements, appended frame by frame.

    Each field reads like the list of per-frame values it once was (``measures.new[k]`` is a Python
    value, ``motion[k]`` a tuple; ``len``, iteration and ``==`` as for a list; a slice is an array)
    but is stored compactly (:class:`~animevid._columns.Column`): 49 bytes a frame in all. The luma
    grids (288 bytes a frame) are written to disk as they come (:class:`~animevid._columns.Spill`)
    and read back only near fades and dissolves.
    """

    altered: Column = field(default_factory=partial(Column, np.bool_))
    """Blank, or a brightness/colour transform of the reference (flash or fade frame)."""
    luma_grid: Spill | np.ndarray = field(default_factory=lambda: Spill(np.float16, GRID))
    """9x16 mean luma (float16), for the fade test that looks forward as well: ``luma_grid[a:b]`` is
    an (n, 9, 16) array. On disk while measuring; an array in a :meth:`copy`."""
    new: Column = field(default_factory=partial(Column, np.bool_))
    """The frame shows a new drawing (the first frame does; held and altered frames do not)."""
    label: Column = field(default_factory=partial(Column, np.int32))
    """Drawing label (-1 for altered frames)."""
    motion: Column = field(default_factory=partial(Column, np.float64, (3,)))
    """(dx, dy, scale) of the picture against the reference, in analysis pixels; (0, 0, 1) if none."""
    share: Column = field(default_factory=partial(Column, np.float64))
    """Share of the frame's blocks whose drawing changed (0 for held frames)."""
    level: Column = field(default_factory=partial(Column, np.float64))
    """Mean change (0..255) over the changed blocks (0 for held frames)."""
    regions: Column = field(default_factory=partial(Column, np.uint8))
    """Bit r set when screen region r (row-major over REGIONS, 6 bits) holds a changed block."""
    quiet: Column = field(default_factory=partial(Column, np.bool_))
    """The meter's state after this frame depends on this frame alone: it became the reference, the
    camera was still and no flash or fade was running. Two meters that both were quiet at a frame
    measure every later frame alike (whatever came before), which is where parallel segments join."""
    slid: Column = field(default_factory=partial(Column, np.bool_))
    """The camera move is a background sliding behind a cel that stayed (step 3's layered test): a drawing
    seen here is recognised over the moved background too (:func:`animevid.analysis._slide.slid_changes`)."""

    def extend(self, other: Measures, start: int, stop: int) -> None:
        """Append frames ``[start, stop)`` of ``other`` (labels included)."""
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name)[start:stop])

    def held(self) -> np.ndarray:
        """Per frame: it repeats the frame before (no new drawing, no camera move, no flash or fade).

        What ``animevid index`` counts as held frames (``held_fraction``); the first frame is not held.
        """
        motion = np.asarray(self.motion).reshape(-1, 3)
        still = (motion[:, 0] == 0.0) & (motion[:, 1] == 0.0) & (motion[:, 2] == 1.0)
        held = ~np.asarray(self.new, dtype=bool) & ~np.asarray(self.altered, dtype=bool) & still
        held[:1] = False
        return held

    def copy(self, start: int = 0, stop: int | None = None) -> Measures:
        """Frames ``[start, stop)`` held in memory, luma grids included: picklable (to send a segment's
        measurements to the main process), where the measuring meter's grids are in a file."""
        stop = len(self.new) if stop is None else stop
        grids = np.asarray(self.luma_grid[start:stop], dtype=np.float16).reshape(-1, *GRID)
        names = [name for name in self.__dataclass_fields__ if name != "luma_grid"]
        return Measures(luma_grid=grids, **{name: Column.of(getattr(self, name)[start:stop]) for name in names})


class AnimationMeter:
    """Streams frames in, keeps the per-frame :class:`Measures`.

    Args:
        held_levels: Mean luma change of a ``held_block`` block (static camera) under which it is
            unchanged (:func:`animevid.signals.held`).
        moved_levels: Mean change of a 4x4 block outside the min/max envelope of the warped
            reference (moving camera) under which it is unchanged.
        held_block: Side in analysis pixels of the blocks behind ``held_levels``.
        same_levels: Block change under which a new drawing equals a remembered one; None uses
            ``held_levels``.

    The defaults come from video2x_sample_output_sakurasou.mp4 (1080p, 256-px analysis frames)
    against its by-eye counts (tests/data/drawing_counts.json): the held test's block and levels
    are :data:`animevid.signals.DRAWING_BLOCK_PX` and :data:`animevid.signals.DRAWING_HELD_LEVELS`,
    which say how they were measured. Matching remembered drawings at 12 levels, not 8.5, counts
    distinct drawings as the eye does (sakurasou 69 for its 68, onepiece 14 for 14; at 8.5: 75
    and 16): a drawing that comes back a few pixels off (an outline redrawn) is the same one.
    """

    def __init__(
        self,
        *,
        held_levels: float = signals.DRAWING_HELD_LEVELS,
        moved_levels: float = 25.0,
        held_block: int = signals.DRAWING_BLOCK_PX,
        same_levels: float | None = 12.0,
        recognise: bool = True,
    ) -> None:
        self.held_block = held_block
        self.held_levels = held_levels
        self.moved_levels = moved_levels
        self.same_levels = held_levels if same_levels is None else same_levels
        self.measures = Measures()
        self.memory: DrawingMemory | None = DrawingMemory(held_block, self.same_levels) if recognise else None
        """Recognises drawings that come back; None when labels are settled later (:attr:`drawn`)."""
        self.drawn: list[tuple[int, np.ndarray]] = []
        """Without a memory: (frame, uint8 luma) of every frame whose drawing is to be recognised, and of
        the last frame before it that a moving camera showed held (see :meth:`DrawingMemory.replay`)."""
        self._view: tuple[int, np.ndarray] | None = None
        self._fresh = 0
        self._label = -1
        self._ref: np.ndarray | None = None
        self._ref_grid: np.ndarray | None = None
        self._windows: dict[tuple[int, int], np.ndarray] = {}
        self._full_window: np.ndarray | None = None
        self._pending: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque()
        self._ref_rgb = np.zeros((36, 64, 3), np.uint8)
        self._altered_run = 0
        self._run_rgb: list[np.ndarray] = []
        """9x16 grid colours of the current altered run's frames (a hit or a dimming, before a re-grade)."""

    def add(self, rgb: np.ndarray) -> None:
        """Take the next frame, (h, w, 3) uint8 RGB; it is measured once LOOKAHEAD more have come."""
        luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)  # converted once for every comparison
        grid = cv2.resize(luma, (GRID[1], GRID[0]), interpolation=cv2.INTER_AREA)
        # the colour picture is kept for the rare palette check (a copy: the caller may reuse its buffer)
        self._pending.append((luma, grid, rgb.copy()))
        if len(self._pending) > LOOKAHEAD:
            self._measure(*self._pending.popleft())

    def finish(self) -> Measures:
        """Measure the frames still waiting and return the measurements of every frame."""
        while self._pending:
            self._measure(*self._pending.popleft())
        self._keep_view()
        return self.measures

    def _measure(self, luma: np.ndarray, grid: np.ndarray, rgb: np.ndarray) -> None:
        m = self.measures
        assert isinstance(m.luma_grid, Spill), "a meter's grids go to a spill"
        m.luma_grid.append(grid.astype(np.float16))
        if self._ref is None or self._ref_grid is None:
            self._ref_rgb = rgb
            self._accept(luma, grid, new=True, motion=(0.0, 0.0, 1.0), share=1.0, level=0.0, regions=0)
            return
        flash = (
            signals.altered(self._ref_grid, grid)
            or self._tinted(grid, rgb)
            or (
                signals.covers(self._ref_grid, grid)  # rare: only then are palettes worth computing
                and signals.palette_flash(
                    signals.palette(self._ref_rgb),
                    signals.palette(rgb),
                    [signals.palette(p) for _, _, p in self._pending],
                )
            )
        )
        if flash and self._regraded(grid):
            # the same drawing in other colours from here on (a re-grade after an impact, a light switched on)
            self._settle_run(rgb)
            self._ref_rgb, self._altered_run = rgb, 0
            self._accept(luma, grid, new=False, motion=STILL, share=0.0, level=0.0, regions=0)
            m.quiet[-1] = False  # it does not repeat the frame before
            self._remember_view(len(m.new) - 1, luma)  # the drawing, as it now looks, is recognised when it comes back
            return
        if flash and not signals.fade_run(self._altered_run + 1):  # an impact frame hides the reference
            if self._altered_run == 0:
                self._run_rgb.clear()
            self._run_rgb.append(_small(rgb))
            self._altered_run += 1
            if self.memory is not None:  # as the replay does for every frame
                self.memory.follow(STILL, slid=False)
            m.altered.append(True)
            m.new.append(False)
            m.label.append(-1)
            m.motion.append((0.0, 0.0, 1.0))
            m.share.append(0.0)
            m.level.append(0.0)
            m.regions.append(0)
            m.quiet.append(False)
            m.slid.append(False)
            return
        self._ref_rgb = rgb
        if flash:
            # the run outgrew a flash: a fade; follow the picture (the run is dropped per shot)
            self._altered_run += 1
            self._accept(luma, grid, new=True, motion=(0.0, 0.0, 1.0), share=1.0, level=0.0, regions=0)
            m.altered[-1] = True
            return
        after_flash = self._altered_run > 0 and not signals.fade_run(self._altered_run)  # an impact, not a fade
        self._altered_run = 0
        self._compare(luma, grid, self.held_levels * (signals.AFTER_FLASH_FACTOR if after_flash else 1.0))

    def _tinted(self, grid: np.ndarray, rgb: np.ndarray) -> bool:
        """The frame is the reference's picture with each colour channel scaled on its own (a tinted hit).

        Only looked at when the luma changed everywhere by a flash's step (a held frame costs nothing more).
        """
        assert self._ref_grid is not None
        if cv2.norm(grid, self._ref_grid, cv2.NORM_L1) <= signals.FLASH_MIN_STEP * grid.size:
            return False
        return signals.tinted(_small(self._ref_rgb), _small(rgb))

    def _settle_run(self, rgb: np.ndarray) -> None:
        """Before a re-grade: the altered frames just before it that only go from the old colours to the new
        (a light dimming over two frames) show the drawing too; a frame off that path (a tinted hit) stays a flash."""
        m, run = self.measures, self._altered_run
        if not run or len(self._run_rgb) < run:
            return
        old, new = _small(self._ref_rgb), _small(rgb)
        step = new - old
        size = float((step * step).sum())
        for k, frame in enumerate(self._run_rgb[-run:]):
            w = float(np.clip(((frame - old) * step).sum() / size, 0.0, 1.0)) if size else 0.0
            off = float(np.abs(frame - (old + w * step)).mean())
            if off < max(REGRADE_PATH_LEVELS, 0.25 * float(np.abs(step).mean())):
                at = len(m.altered) - run + k
                m.altered[at], m.label[at] = False, self._label

    def _regraded(self, grid: np.ndarray) -> bool:
        """The frame is the reference's picture in other colours, and stays so (not a flash, not a fade).

        Its grid fits ``a * reference + b`` closely (every shape where it was), it is not blank, and the
        frames ahead show the same grid again: a fade changes every frame, a flash comes back.
        """
        assert self._ref_grid is not None
        ahead = [g for _, g, _ in list(self._pending)[:REGRADE_AHEAD]]
        if len(ahead) < REGRADE_AHEAD or signals.blank(float(grid.std()), float(grid.mean())):
            return False
        if any(float(np.abs(g - grid).mean()) > REGRADE_STEADY for g in ahead):
            return False
        _, fit = signals.affine_fit(self._ref_grid.ravel().astype(np.float64), grid.ravel().astype(np.float64))
        return fit >= REGRADE_FIT

    # -- steps -----------------------------------------------------------------------------------

    def _compare(self, luma: np.ndarray, grid: np.ndarray, levels: float) -> None:
        """Measure a frame against the reference; a block changed by ``levels`` or more is a change."""
        assert self._ref is not None and self._ref_grid is not None
        cur, ref = luma, self._ref
        blocks = block_means(cv2.absdiff(cur, ref), self.held_block)
        if signals.held(blocks, levels):
            self._accept(luma, grid, new=False, motion=STILL, share=0.0, level=0.0, regions=0)
            return
        static = changed_blocks(blocks, levels)
        if _not_drawn(ref, cur, static, self.held_block):  # subtitles, rain or confetti, a glow: no drawing
            self._accept(luma, grid, new=False, motion=STILL, share=0.0, level=0.0, regions=0)
            return
        if self._reverts(ref, cur, static):  # a particle or glint flickered: the drawing stays the reference
            self._accept(luma, grid, new=False, motion=STILL, share=0.0, level=0.0, regions=0, keep_ref=True)
            return
        changed, residual, motion, slid = static, blocks, STILL, False
        everywhere = _everywhere(static) or _faint_spread(static, blocks, levels)
        steady = self._steady_move() if everywhere else None
        if steady is not None and self._moved_changes(ref, cur, *steady)[0].sum() < MIN_MOVED_BLOCKS:
            # the camera moved as it did over the last frames and that explains everything: held
            self._accept(luma, grid, new=False, motion=steady, share=0.0, level=0.0, regions=0)
            return
        if everywhere:
            changed, residual, motion = self._whole_move(ref, cur, grid, static, blocks)
        if motion[2] != 1.0 or (motion == STILL and _spread(static)):
            # a zoom's fit can pass for layers sliding apart; no fit at all may be layers too
            layered = self._layered(ref, cur, static, levels)
            if layered is not None and layered[0].sum() <= changed.sum() and layered[0].mean() < 0.5 * static.mean():
                (changed, residual, motion), slid = layered, True
                if changed.sum() < MIN_MOVED_BLOCKS:
                    changed = np.zeros_like(changed)
        if not changed.any():
            self._accept(luma, grid, new=False, motion=motion, share=0.0, level=0.0, regions=0, slid=slid)
            return
        regions = _region_bits(changed)
        level = float(residual[changed].mean())
        share = float(changed.mean())
        self._accept(luma, grid, new=True, motion=motion, share=share, level=level, regions=regions, slid=slid)

    def _whole_move(
        self, ref: np.ndarray, cur: np.ndarray, grid: np.ndarray, static: np.ndarray, blocks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
        """Changed blocks, residual and move when one camera move of the whole picture explains the change
        (step 3 of the module docstring); the static comparison's when none does."""
        assert self._ref_grid is not None
        estimate = self._global_motion(ref, cur)
        if estimate is None:
            return static, blocks, STILL
        gain = _brightness_change(self._ref_grid, grid)
        if gain is not None:  # the light changed too (a fade's step): at the reference's brightness
            cur = (cur - gain[1]) * (1.0 / gain[0])
        # even a sub-pixel move (a slow tilt) changes every edge; the envelope absorbs it
        dx, dy, scale = estimate
        moved_changed, moved = self._moved_changes(ref, cur, dx, dy, scale)
        if moved_changed.sum() >= MIN_MOVED_BLOCKS:  # refine once: quadrant estimates can be ~1 px off
            ex, ey = self._residual_shift(ref, cur, dx, dy, scale)
            retry_changed, retry = self._moved_changes(ref, cur, dx + ex, dy + ey, scale)
            if retry_changed.sum() < moved_changed.sum():
                moved_changed, moved, dx, dy = retry_changed, retry, dx + ex, dy + ey
            if scale != 1.0 and moved_changed.sum() >= MIN_MOVED_BLOCKS:
                # a zoom's scale can be a few thousandths off too; a neighbour counts only if it
                # explains everything (a changed drawing stays changed at any scale)
                for step in (-ZOOM_STEP, ZOOM_STEP):
                    retry_changed, retry = self._moved_changes(ref, cur, dx, dy, scale + step)
                    if retry_changed.sum() < MIN_MOVED_BLOCKS:
                        moved_changed, moved, scale = retry_changed, retry, scale + step
                        break
        # the move must explain the change: a character's motion can pull the correlation too
        if moved_changed.mean() >= 0.5 * static.mean():
            return static, blocks, STILL
        if moved_changed.sum() < MIN_MOVED_BLOCKS:
            moved_changed = np.zeros_like(moved_changed)
        return moved_changed, moved, (dx, dy, scale)

    def _steady_move(self) -> tuple[float, float, float] | None:
        """The camera move of the last two frames when they agree (a steady pan or zoom), else None.

        Checking that move first spares the phase correlation on most frames of a pan; a drawing
        change, a shake or a change of speed fails the check and is measured in full.
        """
        motion = self.measures.motion
        if len(motion) < 2 or motion[-1] == (0.0, 0.0, 1.0):
            return None
        (ax, ay, az), (bx, by, bz) = motion[-2], motion[-1]
        if abs(ax - bx) > STEADY_PX or abs(ay - by) > STEADY_PX or abs(az - bz) > 0.002:
            return None
        return bx, by, bz

    def _reverts(self, ref: np.ndarray, cur: np.ndarray, changed: np.ndarray) -> bool:
        """The next frame undoes the change and the one after does not redo it: a one-frame blip.

        Rain streaks, glints and glow flicker show for one frame and leave the drawing as it was.
        A drawing trembling on ones (A B A B) redoes the change, so it is not a blip.
        """
        if len(self._pending) < 2:
            return False
        nxt, after = (self._pending[k][0] for k in (0, 1))
        back = block_means(cv2.absdiff(nxt, ref), self.held_block)
        if not signals.held(back[changed], self.held_levels):
            return False
        again = block_means(cv2.absdiff(after, cur), self.held_block)
        return not signals.held(again[changed], self.held_levels)

    def _accept(
        self,
        luma: np.ndarray,
        grid: np.ndarray,
        *,
        new: bool,
        motion: tuple[float, float, float],
        share: float,
        level: float,
        regions: int,
        keep_ref: bool = False,
        slid: bool = False,
    ) -> None:
        m = self.measures
        frame = len(m.new)
        if self.memory is not None:
            self.memory.follow(motion, slid=slid)
        if new:
            self._label = self._new_drawing(frame, luma)
        elif motion != (0.0, 0.0, 1.0):
            self._remember_view(frame, luma)
        m.altered.append(False)
        m.new.append(new)
        m.label.append(self._label)
        m.motion.append(motion)
        m.share.append(share)
        m.level.append(level)
        m.regions.append(regions)
        m.quiet.append(not keep_ref and motion == (0.0, 0.0, 1.0) and self._altered_run == 0)
        m.slid.append(slid)
        if not keep_ref:
            self._ref, self._ref_grid = luma, grid

    def _remember_view(self, frame: int, luma: np.ndarray) -> None:
        """The drawing on screen as it looks now (the camera moved, or it was re-graded), to recognise it by."""
        if self.memory is not None:
            self.memory.remember_view(luma)
        else:  # only the last such view before the next drawing counts
            self._view = (frame, luma.astype(np.uint8))

    def _new_drawing(self, frame: int, luma: np.ndarray) -> int:
        if self.memory is not None:
            return self.memory.recognise(luma)
        self._keep_view()
        self.drawn.append((frame, luma.astype(np.uint8)))
        self._fresh += 1
        return self._fresh - 1

    def _keep_view(self) -> None:
        """Keep the last moving-camera view of the drawing on screen, now that the next one is due."""
        if self._view is not None:
            self.drawn.append(self._view)
            self._view = None

    def _global_motion(self, ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, float] | None:
        """Translation (dx, dy) and scale about the centre taking ``ref`` onto ``cur``; None if none fits.

        A first pass at half resolution (a quarter of the work) drops frames whose quadrants
        clearly disagree (a character on ones over a still background); the others are measured
        at full resolution, where the estimate is precise enough to warp by. While the camera was
        moving a frame ago the first pass is skipped (on the 720p synthetic episode and on
        sakurasou, every frame's measurements stay the same without it).
        """
        h, w = cur.shape
        if self.measures.motion and self.measures.motion[-1] != (0.0, 0.0, 1.0):
            # the camera was moving a frame ago: it is worth measuring at full resolution at once
            return _similarity(*self._quadrant_shifts(ref, cur), CONSENSUS_PX)
        half = (w // 2, h // 2)
        coarse = self._quadrant_shifts(
            cv2.resize(ref, half, interpolation=cv2.INTER_AREA), cv2.resize(cur, half, interpolation=cv2.INTER_AREA)
        )
        # three quadrants agreeing are enough here: at half resolution one flat quadrant can
        # lock onto the wrong peak (the full-resolution fit below still needs all four)
        d, p = coarse[0] * 2, coarse[1] * 2
        if not any(_similarity(d[k], p[k] - p[k].mean(0), 3 * CONSENSUS_PX) for k in _THREE_OF_FOUR):
            return None
        # None when the quadrants disagree: things move in the picture, the camera does not
        return _similarity(*self._quadrant_shifts(ref, cur), CONSENSUS_PX)

    def _quadrant_shifts(self, ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Phase-correlation shift of each quadrant and the quadrant centres (from the frame centre)."""
        h, w = cur.shape
        window = self._windows.get((h // 2, w // 2))
        if window is None:
            window = self._windows[(h // 2, w // 2)] = cv2.createHanningWindow((w // 2, h // 2), cv2.CV_32F)
        shifts, points = [], []
        for y0 in (0, h // 2):
            for x0 in (0, w // 2):
                a = np.ascontiguousarray(ref[y0 : y0 + h // 2, x0 : x0 + w // 2])
                b = np.ascontiguousarray(cur[y0 : y0 + h // 2, x0 : x0 + w // 2])
                (sx, sy), _ = cv2.phaseCorrelate(a, b, window)
                shifts.append((sx, sy))
                points.append((x0 + w / 4 - w / 2, y0 + h / 4 - h / 2))
        return np.array(shifts), np.array(points)

    def _moved_changes(
        self, ref: np.ndarray, cur: np.ndarray, dx: float, dy: float, scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Changed 4x4 blocks (away from the uncovered borders) and the block residual under a move."""
        moved, margin = self._moved_residual(ref, cur, dx, dy, scale)
        inside = np.zeros_like(moved, dtype=bool)
        inside[margin:-margin, margin:-margin] = True
        return (moved >= self.moved_levels) & inside, moved

    def _residual_shift(
        self, ref: np.ndarray, cur: np.ndarray, dx: float, dy: float, scale: float
    ) -> tuple[float, float]:
        """What translation is left between ``cur`` and ``ref`` moved by the estimate (whole frame)."""
        h, w = cur.shape
        warped = _moved(ref, dx, dy, scale)
        if self._full_window is None or self._full_window.shape != (h, w):
            self._full_window = cv2.createHanningWindow((w, h), cv2.CV_32F)
        # a copy: when no padding is needed, OpenCV applies the window to its inputs in place
        (ex, ey), _ = cv2.phaseCorrelate(warped, cur.copy(), self._full_window)
        return float(ex), float(ey)

    def _layered(
        self, ref: np.ndarray, cur: np.ndarray, static: np.ndarray, levels: float
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]] | None:
        """Changed blocks, residual and camera move when the picture is layers moving apart; None if none fits.

        The camera follows a character: the background slides behind a cel that stays put, so no one
        move fits the whole picture (or a zoom seems to). Each pixel is compared, through the 3x3
        envelope, with the reference unchanged and moved with the background (the shifts of the last
        frame, of each quadrant and of the whole frame are tried); it is held when either explains it.
        A shift counts only when the blocks that it alone explains at the held test's own sensitivity
        (``static`` blocks whose difference to the moved reference is under ``levels``: background
        detail that slid) cover :data:`LAYER_SHARE` of 3 quadrants or more in the outer quarter of the
        picture (:func:`_ring`): a layer behind, around the character, not one character drifting or
        walking over a still background, and not a soft picture that any small shift explains. Where the
        layers meet, the strip the background uncovers beside the cel is neither: pixels within
        :func:`_band` of a cel pixel (unchanged, and changed under the shift) are left out.

        Limits: a drawing that changes right at the cel's outline by less than the band is missed. A
        frame measured here is marked :attr:`Measures.slid`: while a background keeps sliding, a walk
        cycle's drawings are recognised when they come round over it (:mod:`animevid.analysis._slide`).
        """
        still = self._outside(ref, cur, 0.0, 0.0, 1.0)[0]
        unmoved = cv2.absdiff(cur, ref) < levels
        best: tuple[np.ndarray, np.ndarray, tuple[float, float, float]] | None = None
        for dx, dy in self._layer_shifts(ref, cur):
            moved_difference = cv2.absdiff(cur, _moved(ref, dx, dy, 1.0))
            # what the shift alone explains, at the held test's own sensitivity: detail that slid
            slid = static & ~changed_blocks(block_means(moved_difference, self.held_block), levels)
            if int((_quadrant_shares(slid & _ring(slid.shape)) >= LAYER_SHARE).sum()) < QUADRANTS:
                continue
            moved, margin = self._outside(ref, cur, dx, dy, 1.0)
            band = np.ones((_band(dy), _band(dx)), np.uint8)
            with_background = moved_difference < levels
            front = unmoved & ~with_background  # pixels that stayed: the cel (its lines and detail)
            seam = cv2.dilate(front.astype(np.uint8), band).astype(bool)
            residual = block_means(np.where(seam, 0.0, np.minimum(still, moved)).astype(np.float32), 4)
            inside = np.zeros(residual.shape, dtype=bool)
            inside[margin:-margin, margin:-margin] = True
            changed = (residual >= self.moved_levels) & inside
            if best is None or changed.sum() < best[0].sum():
                best = (changed, residual, (dx, dy, 1.0))
        return best

    def _layer_shifts(self, ref: np.ndarray, cur: np.ndarray) -> list[tuple[float, float]]:
        """Background shifts worth a layered test: the last frame's move, each quadrant's, the whole frame's."""
        tried: list[tuple[float, float]] = []
        last = self.measures.motion[-1] if self.measures.motion else (0.0, 0.0, 1.0)
        quadrants, _ = self._quadrant_shifts(ref, cur)
        if self._full_window is None or self._full_window.shape != cur.shape:
            self._full_window = cv2.createHanningWindow((cur.shape[1], cur.shape[0]), cv2.CV_32F)
        whole, _ = cv2.phaseCorrelate(ref.copy(), cur.copy(), self._full_window)  # copies: windowed in place
        candidates = ([(last[0], last[1])] if last[2] == 1.0 else []) + [tuple(q) for q in quadrants] + [whole]
        for dx, dy in ((float(a), float(b)) for a, b in candidates):
            if not 0.5 <= np.hypot(dx, dy) <= LAYER_MAX_PX:
                continue
            if all(np.hypot(dx - tx, dy - ty) > 0.5 for tx, ty in tried):
                tried.append((dx, dy))
        return tried

    def _moved_residual(
        self, ref: np.ndarray, cur: np.ndarray, dx: float, dy: float, scale: float
    ) -> tuple[np.ndarray, int]:
        """Change outside the envelope of the warped reference, per 4x4 block, and the border to skip."""
        outside, margin = self._outside(ref, cur, dx, dy, scale)
        return block_means(outside, 4), margin

    def _outside(self, ref: np.ndarray, cur: np.ndarray, dx: float, dy: float, scale: float) -> tuple[np.ndarray, int]:
        """Per pixel, the change outside the envelope of the warped reference; and the border (blocks) to skip."""
        h, w = cur.shape
        warped = _moved(ref, dx, dy, scale)
        # soften both: analysis frames are scaled down fast, so thin ink lines alias differently
        # at every camera position; a drawing change survives a 3x3 blur, aliasing does not
        warped = cv2.GaussianBlur(warped, (3, 3), 0)
        cur = cv2.GaussianBlur(cur, (3, 3), 0)
        kernel = np.ones((3, 3), np.uint8)
        low = cv2.erode(warped, kernel)
        high = cv2.dilate(warped, kernel)
        outside = np.maximum(np.maximum(low - cur, cur - high), 0)
        reach = max(abs(dx), abs(dy)) + abs(scale - 1) * max(w, h) / 2 + 2
        return outside, max(1, int(np.ceil(reach / 4)))


class DrawingMemory:
    """Step 4 of the module docstring: the label of each new drawing, an earlier one's when it comes back.

    Args:
        held_block: Block side (analysis pixels) of the comparison.
        same_levels: Block change under which a new drawing equals a remembered one.
    """

    def __init__(self, held_block: int, same_levels: float) -> None:
        self.held_block = held_block
        self.same_levels = same_levels
        self.label = -1
        """The drawing on screen (-1 before the first)."""
        self.position = (0.0, 0.0)
        """Where the camera's pure shifts have taken the background (analysis pixels, summed frame by frame)."""
        self.sliding = False
        """A background kept sliding behind a cel during the camera move now under way (:meth:`follow`)."""
        self._move = (0, 0)
        """Frames of the camera move now under way, and how many of them the meter measured as layers."""
        self._shows = 0
        self._shown: dict[int, int] = {}
        """Per label, when it was last on screen (counted in drawings recognised): the sliding comparison tries
        the latest first."""
        self._labels = 0
        self._memory: deque[tuple[int, np.ndarray, np.ndarray, tuple[float, float]]] = deque(maxlen=MEMORY)
        self._thumbs = np.zeros((0, 18, 32), np.float32)

    def replay(self, measures: Measures, drawn: dict[int, np.ndarray], offset: int = 0) -> None:
        """Label frames measured without a memory, in order, continuing from the frames labelled before.

        ``drawn`` holds the luma (uint8) of every new frame and of the last frame a moving camera
        showed held before each, by frame index (``offset`` is the index of ``measures``' first frame);
        the labels are what a meter with this memory would have given.
        """
        for k, new in enumerate(measures.new):
            luma = drawn.get(offset + k)
            self.follow(measures.motion[k], slid=bool(measures.slid[k]))
            if new:
                assert luma is not None, f"frame {offset + k}: a new drawing without its picture"
                measures.label[k] = self.recognise(luma.astype(np.float32))
                continue
            if luma is not None:
                self.remember_view(luma.astype(np.float32))
            measures.label[k] = -1 if measures.altered[k] else self.label

    def remember_view(self, luma: np.ndarray) -> None:
        """Remember the held drawing as the moving camera now shows it.

        Recognition compares unwarped frames, so a drawing that comes back after a pan (or after a
        slow dissolve that every frame's envelope absorbed) is matched with its latest view.
        """
        for k, (label, _, _, _) in enumerate(self._memory):
            if label == self.label:
                thumb = _thumb(luma)
                self._memory[k] = (label, thumb, luma, self.position)
                self._thumbs[k] = thumb
                return

    def follow(self, motion: tuple[float, float, float], *, slid: bool) -> None:
        """Take the next frame's camera move (before its drawing is recognised): :attr:`position` moves by a
        pure shift (a zoom's is left out), and :attr:`sliding` says whether a background kept sliding behind a
        cel (:attr:`Measures.slid`) during the camera move now under way: on :data:`SLIDING_FRAMES` frames or
        more, and on :data:`SLIDING_SHARE` of its frames (a frame that shows a new drawing as well is often
        measured as one move of the whole picture, not as layers)."""
        dx, dy, scale = motion
        if scale == 1.0 and (dx or dy):
            self.position = (self.position[0] + dx, self.position[1] + dy)
        moving, slid_frames = (0, 0) if motion == STILL else (self._move[0] + 1, self._move[1] + int(slid))
        self._move = (moving, slid_frames)
        self.sliding = slid_frames >= SLIDING_FRAMES and slid_frames >= SLIDING_SHARE * moving

    def recognise(self, luma: np.ndarray) -> int:
        """The label of an earlier drawing this frame shows again, else a fresh label.

        While the background slides behind a cel (:attr:`sliding`), a drawing that comes back over the
        background moved on is recognised too (:func:`animevid.analysis._slide.slid_changes`).
        """
        thumb = _thumb(luma)
        if self._memory:
            # cheap pre-check on 32x18 copies: most drawings are clearly another picture; the
            # closest few are compared in full. The share of pixels off by more than 2 levels (at
            # most a quarter), not the mean difference, so that a subtitle that came or went (a
            # strip of the picture) does not hide the drawing under it
            distance = (np.abs(self._thumbs[: len(self._memory)] - thumb) > 2.0).mean(axis=(1, 2))
            near = [k for k in np.argsort(distance, kind="stable")[:RECOGNISE_CANDIDATES] if distance[k] <= 0.25]
            cur = luma
            for k in near:
                label, _, old, _ = self._memory[int(k)]
                if label == self.label:  # this frame was just found to differ from that drawing
                    continue
                differ = changed_blocks(block_means(cv2.absdiff(cur, old), self.held_block), self.same_levels)
                if not differ.any() or _not_drawn(old, cur, differ, self.held_block):
                    self.label = label
                    return self._show(label)
            if self.sliding and (found := self._slid_label(luma)) is not None:
                self.label = found
                return self._show(found)
        label = self.label = self._labels
        self._labels += 1
        self._memory.append((label, thumb, luma, self.position))
        # the thumbnails in memory order, as one array for the pre-check (the deque dropped its oldest)
        self._thumbs = np.concatenate([self._thumbs[len(self._thumbs) - len(self._memory) + 1 :], thumb[None]])
        return self._show(label)

    def _show(self, label: int) -> int:
        """Note that ``label`` is on screen now; return it."""
        self._shows += 1
        self._shown[label] = self._shows
        if len(self._shown) > 2 * MEMORY:  # forget the labels the memory forgot
            kept = {entry[0] for entry in self._memory}
            self._shown = {k: v for k, v in self._shown.items() if k in kept}
        return label

    def _slid_label(self, luma: np.ndarray) -> int | None:
        """The first of the :data:`RECOGNISE_CANDIDATES` drawings last on screen that ``luma`` shows again over
        a background that slid on since. The drawing on screen is one of them, if it leaves no block at all
        unexplained (the meter's comparison with the frame before, one move of the whole picture or layers at
        one frame's shift, can call a held frame new: seeds 2 and 5 of the follow_walk case, 1 frame each)."""
        latest = sorted(self._memory, key=lambda entry: -self._shown.get(entry[0], -1))
        for label, _, old, position in latest[:RECOGNISE_CANDIDATES]:
            prior = (self.position[0] - position[0], self.position[1] - position[1])
            if np.hypot(*prior) < MOVED_PX:
                continue
            changes = slid_changes(old, luma, prior, self.same_levels)
            if changes is not None and changes <= (0 if label == self.label else SLIDE_SAME_BLOCKS):
                return label
        return None


def _similarity(d: np.ndarray, p: np.ndarray, tolerance: float) -> tuple[float, float, float] | None:
    """Shift and scale about the centre fitting quadrant shifts ``d`` at ``p``; None when they disagree."""
    tx, ty = (float(v) for v in d.mean(0))
    # d = t + (s - 1) * p: least squares for the scale with t at the mean (p sums to 0)
    growth = float(((d - [tx, ty]) * p).sum()) / float((p**2).sum())
    predicted = np.array([tx, ty]) + growth * p
    if float(np.abs(d - predicted).max()) > tolerance:
        return None
    scale = 1.0 + growth
    if abs(growth) < 0.003 or not 0.8 < scale < 1.25:
        scale = 1.0
    return tx, ty, scale


def _moved(ref: np.ndarray, dx: float, dy: float, scale: float) -> np.ndarray:
    """``ref`` as the camera move shows it: shifted by (dx, dy) and scaled about the centre (bilinear).

    A pure shift (pans and shakes, most moves) is a sub-pixel rectangle: OpenCV's getRectSubPix takes
    16 us on a 256x144 frame where warpAffine takes 130-190.
    """
    h, w = ref.shape
    if scale == 1.0:
        return cv2.getRectSubPix(ref, (w, h), ((w - 1) / 2 - dx, (h - 1) / 2 - dy))
    return cv2.warpAffine(
        ref, _matrix(w, h, dx, dy, scale), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _matrix(w: int, h: int, dx: float, dy: float, scale: float) -> np.ndarray:
    """Affine matrix of a scale about the frame centre followed by a shift."""
    cx, cy = w / 2, h / 2
    return np.array([[scale, 0, (1 - scale) * cx + dx], [0, scale, (1 - scale) * cy + dy]], np.float32)


def _caption_only(changed: np.ndarray) -> bool:
    """The change is a line of burned-in text: a wide, flat strip near the top or bottom edge, nothing else.

    Subtitles and on-screen captions span a good part of the width but only a text line's height;
    a drawing change (a mouth, a hand) is compact. Anything changed outside the strip means a drawing.
    """
    rows = np.flatnonzero(changed.any(1))
    h, w = changed.shape
    if len(rows) == 0 or not (rows[0] >= 0.65 * h or rows[-1] < 0.25 * h):  # not near the top or bottom edge
        return False
    if changed.sum() < 5:
        return False
    top, bottom = int(rows[0]), int(rows[-1])
    cols = np.flatnonzero(changed.any(0))
    span = cols[-1] - cols[0] + 1
    flat = bottom - top + 1 <= max(2, round(0.12 * h))  # a text line or two
    wide = span >= 0.15 * w
    lit = np.asarray(changed[top : bottom + 1].any(axis=0))
    dense = float(lit[cols[0] : cols[-1] + 1].mean()) >= 0.6  # letters side by side
    return bool(flat and wide and dense)


def _not_drawn(ref: np.ndarray, cur: np.ndarray, changed: np.ndarray, block: int) -> bool:
    """The change is burned-in text, a particle field or a change of light: no drawing changed."""
    return _caption_only(changed) or _particles(changed) or _soft(ref, cur, changed, block)


def _particles(changed: np.ndarray) -> bool:
    """The change is a field of small separate spots (rain, confetti, snow), no drawn shape among them.

    Measured on anime4k_web_input_popteamepic.mp4: falling confetti over a held cel changes 70-80
    spots of at most 8 4x4 blocks; a drawing change has a spot of 19 blocks or more once it has
    that many spots (a head turn, a lowered umbrella), or only a few spots (a mouth, an eye).
    """
    mask = changed.astype(np.uint8)
    side = int(np.sqrt(PARTICLE_SHARE * changed.size)) + 1
    if cv2.erode(mask, np.ones((side, side), np.uint8)).any():  # a solid square bigger than any particle
        return False
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count - 1 < PARTICLE_SPOTS:
        return False
    return int(stats[1:, cv2.CC_STAT_AREA].max()) <= PARTICLE_SHARE * changed.size


def _soft(ref: np.ndarray, cur: np.ndarray, changed: np.ndarray, block: int) -> bool:
    """The change has no edges in it: its fine detail (the picture minus a 1-px blur) is the same.

    A drawing change moves lines, which are sharp; a glow fading, a light flickering or a shadow
    shifting changes brightness smoothly. Measured on video2x_sample_output_sakurasou.mp4: glow
    flicker keeps the fine detail within 2.4 levels, every drawing the eye counts changes it by 3.5
    or more (one glow-lit tear at 2.2 excepted).
    """
    spots = np.argwhere(changed)
    if len(spots) == 0:
        return False
    # a few spots first: a drawn change shows lines in nearly any of them, and a big one costs
    # the whole test otherwise; light has to be soft everywhere it changed
    picks = spots[(len(spots) - 1) * np.arange(4) // 3] if len(spots) > 4 else spots
    if any(_fine_change(ref, cur, r, r + 1, c, c + 1, block).max() >= SOFT_LEVELS for r, c in picks):
        return False
    if len(spots) <= 4:
        return True
    (r0, c0), (r1, c1) = spots.min(0), spots.max(0) + 1
    fine = _fine_change(ref, cur, r0, r1, c0, c1, block)
    return bool(fine[changed[r0:r1, c0:c1]].max() < SOFT_LEVELS)


def _fine_change(ref: np.ndarray, cur: np.ndarray, r0: int, r1: int, c0: int, c1: int, block: int) -> np.ndarray:
    """Block means of the change in fine detail over blocks ``[r0, r1) x [c0, c1)``."""
    margin = 4  # the blur's reach: the crop keeps what the blocks' pixels need
    y0, x0 = max(0, r0 * block - margin), max(0, c0 * block - margin)
    a = np.ascontiguousarray(cur[y0 : r1 * block + margin, x0 : c1 * block + margin])
    b = np.ascontiguousarray(ref[y0 : r1 * block + margin, x0 : c1 * block + margin])
    fine = cv2.absdiff(a - cv2.GaussianBlur(a, (0, 0), 1.0), b - cv2.GaussianBlur(b, (0, 0), 1.0))
    oy, ox = r0 * block - y0, c0 * block - x0
    return block_means(fine[oy : oy + (r1 - r0) * block, ox : ox + (c1 - c0) * block], block)


def _faint_spread(changed: np.ndarray, blocks: np.ndarray, levels: float) -> bool:
    """A faint change (under :data:`FAINT_FACTOR` times the held levels on average) in
    :data:`FAINT_QUADRANTS` quadrants or more: the edges a slow push-in or tilt moves by a fraction
    of a pixel, worth a camera estimate although not everywhere."""
    if float(blocks[changed].mean()) >= FAINT_FACTOR * levels:
        return False
    return int((_quadrant_shares(changed) > 0).sum()) >= FAINT_QUADRANTS


def _ring(shape: tuple[int, ...]) -> np.ndarray:
    """The blocks of the outer quarter of the picture on every side: where a background shows around a character."""
    h, w = shape[:2]
    ring = np.ones((h, w), dtype=bool)
    ring[h // 4 : h - h // 4, w // 4 : w - w // 4] = False
    return ring


def _band(shift: float) -> int:
    """Width of the strip a layer moving by ``shift`` px uncovers beside a still layer: the shift, plus the pixel
    on each side that the comparison's 3x3 blur spreads it by (1 when it does not move that way)."""
    return int(np.ceil(abs(shift))) + 3 if abs(shift) >= 0.5 else 1


def _spread(changed: np.ndarray) -> bool:
    """Changed blocks in 3 quadrants or more (however few): worth the layered test when no one move fits."""
    return int((_quadrant_shares(changed) > 0).sum()) >= QUADRANTS


def _everywhere(changed: np.ndarray) -> bool:
    """Change all over the picture, as a camera move makes: 5 % of the blocks or more in 3 quadrants or more.

    A character moving over a still background changes only where it is, however big it is.
    """
    return int((_quadrant_shares(changed) >= 0.05).sum()) >= QUADRANTS


def _quadrant_shares(changed: np.ndarray) -> np.ndarray:
    """(2, 2) share of changed blocks in each quadrant of the frame (an odd last row or column left out)."""
    h, w = changed.shape
    h, w = h - h % 2, w - w % 2
    return changed[:h, :w].reshape(2, h // 2, 2, w // 2).mean(axis=(1, 3))


def _brightness_change(
    ref_grid: np.ndarray, grid: np.ndarray, min_fit: float = signals.FLASH_MIN_FIT
) -> tuple[float, float] | None:
    """``(a, b)`` when the whole picture went ``a * ref + b`` with ``a`` off 1 (by BRIGHTNESS_STEP), else None.

    Under the altered test's :data:`~animevid.signals.FLASH_GAIN_STEP` (a fade of 7 frames steps by
    14 %), such a frame is compared with the one before; under a moving camera every ink line then
    changes by a few levels more than the envelope allows, so the frame is first brought back to the
    reference's brightness.
    """
    ref, cur = ref_grid.ravel().astype(np.float64), grid.ravel().astype(np.float64)
    slope, fit = signals.affine_fit(ref, cur)
    if fit < min_fit or abs(slope - 1) < BRIGHTNESS_STEP or slope <= 0:
        return None
    return slope, float(cur.mean() - slope * ref.mean())


def _thumb(luma: np.ndarray) -> np.ndarray:
    """32x18 copy of a float luma frame for the recognition pre-check (averaged as uint8 pixels)."""
    return cv2.resize(luma.astype(np.uint8), (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32)


def _region_bits(changed: np.ndarray) -> int:
    """Bitmask of the REGIONS cells (row-major) holding a changed block."""
    rows, cols = REGIONS
    h, w = changed.shape
    bits = 0
    for r in range(rows):
        for c in range(cols):
            if changed[r * h // rows : (r + 1) * h // rows, c * w // cols : (c + 1) * w // cols].any():
                bits |= 1 << (r * cols + c)
    return bits


def _small(rgb: np.ndarray) -> np.ndarray:
    """The frame's mean colours on the 9x16 grid, float32 (for whole-picture colour changes)."""
    return cv2.resize(rgb, (GRID[1], GRID[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
