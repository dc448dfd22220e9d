"""The classic shot detector: cheap frame descriptors, a small fitted scorer and explicit rules.

Per frame, on the analysis frames (any device), three descriptors are computed once:

- a 4x8 and a 9x16 grid of mean colours (YCbCr), coarse enough to ignore speed lines and
  encoder noise;
- a hue/saturation histogram of saturated pixels plus 4 grey levels, which follows who and
  where is on screen and ignores black/white speed lines and outlines;
- a 36x64 thumbnail for a motion-compensated block change (each 4x4 block's best match within
  +-2 px in the previous frame): the share of the frame that truly changed, which a pan, a shake
  or a character's move does not reach.

From these, 29 features per frame describe the change to the previous frame, how it compares
with the change around it (medians of the 7 frames on each side), whether the picture comes
back within 3 frames (a flash or smear does, a cut does not), how dark and flat the frames
are, and whether the colours change (the sorted grid values, frame to frame and pooled over 3
frames on each side: a drawn move keeps its colours, a cut does not). A 29-16-1 perceptron
fitted on synthetic episodes and the hand-labelled real clips (``bench/fit_shots.py``; the
weights ship in ``classic_model.json``, or ``shots.model`` names other weights) turns them into
a cut probability. Explicit rules then decide:

- a cut is a local maximum of the probability above the threshold, where at least
  ``min_changed`` of the frame changed after motion compensation (a head turn over a held
  background is not a cut), neither frame is blank and the frame is no flash (a brightness or
  colour transform of the frame before, or a picture that comes back within 3 frames);
- a run of blank frames (near-uniform black or white) starting at frame 0 is a fade in, one
  reaching the end a fade out; between shots it is a fade through that colour when it lasts 4
  frames or more or the picture dims into or out of it, and the incoming shot starts at the first
  frame after the run; 1-3 blank frames without a ramp are a flash, or a cut through a blank
  frame when the palette on both sides differs;
- a dissolve is a stretch whose middle frame is the average of its ends while the ends differ
  like two shots do; the incoming shot starts where its weight reaches one half;
- a strobe edit (held shots of 1-2 frames, some of 1, each no step on the way between the frames
  either side) is a cut at every shot (:func:`animevid.shots._short.strobe_cuts`): the scorer's local
  maxima cannot put cuts on two consecutive frames;
- a frame blended half and half from the frames either side, which differ like two shots, starts
  the new shot (frame-rate conversion by blending): it replaces a cut one frame later or a dissolve
  found there.

The blank, flash and fade tests and their constants live in :mod:`animevid.signals`, shared with
the animation analysis.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from animevid import signals
from animevid._columns import Column, Spill
from animevid.decode import FrameBatch
from animevid.engine import SegmentRun, SplittableStage
from animevid.errors import ConfigError
from animevid.shots._base import SHOT_DETECTORS, Boundary, ShotStage
from animevid.shots._short import strobe_cuts
from animevid.signals import photometric

LOOKBACK = 4
"""Frames back each descriptor is compared with."""
CONTEXT = 8
"""Frames on each side whose change is the context of a frame's change."""
HIST_SCALE = 100.0
"""Histogram distances are L1 in percent of the frame."""
N_FEATURES = 29
WINDOW = 2048
"""Frames whose features or dissolve tests are computed at a time once the episode has ended (each
window reads the few frames around it that its rows reach), so that memory does not grow with it."""
SCORE_ROWS = 512
"""Frames scored per matrix product, in blocks from frame 0. OpenBLAS computes the last rows of a
product (past a multiple of 4 or 16) with other kernels than the rest, whose sums can differ in the
last bit, and splits products of more than about 600 rows over threads: blocks of 512 rows give
every row the kernel one product over the whole episode on one thread gives it, whatever the
number of cores."""


CUTOUT_FRAMES = 8
"""Most frames between a cut-out appearing (the cut) and its own background coming in behind it."""
CUTOUT_CELLS = 12
"""9x16 grid cells the cut-out must cover, unchanged across the background's arrival (of 144)."""
CUTOUT_ROWS = 3
"""Grid rows those cells must span (a figure, not a strip of text)."""
CUTOUT_NEW = 20.0
"""Change (0..255, any YCC channel) from which a cell came in with the first cut."""
CUTOUT_SAME = 3.0
"""Change under which a cell stayed the same across the second."""
TRAIN_CADENCES = (2, 3)
"""Spacings (frames) of a train of cuts that are drawings of one move: on twos or threes (see :func:`_drawn_trains`)."""
TRAIN_CANDIDATE = 0.2
"""Cut probability from which a local maximum counts as a drawing when trains are looked for: a drawing the
scorer is unsure of still keeps the train's beat (a train broken there would leave its other cuts standing)."""
TRAIN_MIN = 4
"""Fewest cuts in a train (three equal spacings: a steady cadence, not chance)."""
TRAIN_PALETTE = 7.5
"""Largest palette change (:func:`_palette_change`, in levels) across each cut of a train. Chosen on
naruto_shippuden_forest_fight_720p25.mp4 (a pan drawn on threes: 1.9-6.2 at its false cuts, 12.3 at the cut after
it). Palette alone does not part them from short shots of one location (synthetic seed 103: 5.2-6.2 at cuts 5, 4
and 3 frames apart): the steady spacing does."""

BLEND_SPAN = 12.0
"""Smallest mean change (levels, 9x16 grid) between the ends of a blend for them to be two shots."""
BLEND_RESIDUAL = 0.25
"""Largest distance of a blend's middle frame from the average of its ends, as a share of the span."""
BLEND_STEADY = 0.3
"""Largest change just outside each end of a blend, as a share of the span (each end holds its own shot)."""
BLEND_HELD_SPAN = BLEND_SPAN * 2 / 3
"""Smallest span (levels, 9x16 grid; two thirds of :data:`BLEND_SPAN`, 8) of a blended cut (:func:`_blended_cuts`)
one of whose ends is a held picture
(:data:`BLEND_HELD`): a held end is stronger evidence than a steady one, so two shots of one place may differ less.
Chosen on the blended_cut case, seeds 1-3: its still-to-shot cuts span 17.1, 13.8 and 8.9 (seeds 4-6, held out:
8.0, 14.9, 7.3); One Piece's drawn action 7.6-8.9 at frames 505-507 of its frames that pass the rest of the test
when this is lowered, none with a held end."""
BLEND_HELD = 0.05
"""Largest change across a blend's held end (the frame before it against the one before that, or the frame after
it against the one after that), as a share of the span: a still's frames repeat (0.00 on the blended_cut case,
seeds 1-3); One Piece's 507, the nearest to a blended cut among its drawn frames, is 0.10 and 0.24."""

THUMB = (36, 64)
"""(height, width) of the thumbnail under the grids and the block change."""
GRID16 = 9 * 16 * 3
"""Values in a frame's 9x16 YCbCr grid."""


def _ycc(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) RGB to YCbCr (BT.601, chroma centred on 0)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return np.stack([y, (b - y) * 0.564, (r - y) * 0.713], -1)


def _resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average every (h, w, 3) uint8 frame to (height, width).

    When the height shrinks by a whole factor, the frames are stacked and resized in one call
    (no output row then mixes two frames); otherwise frame by frame.
    """
    n, h, w = frames.shape[:3]
    if h % height == 0:
        stacked = np.ascontiguousarray(frames).reshape(n * h, w, 3)
        return cv2.resize(stacked, (width, n * height), interpolation=cv2.INTER_AREA).reshape(n, height, width, 3)
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames])


def _hist_luts(hue_bins: int, sat_bins: int) -> np.ndarray:
    """Per-channel lookup tables from HSV (OpenCV's full-range uint8) to bin parts.

    Channel 0: the hue bin times ``sat_bins``; channel 1: the saturation bin, 255 when the
    pixel is not saturated (S <= 0.25); channel 2: 1 when bright enough (V > 0.15), else 0.
    """
    levels = np.arange(256)
    hue = (levels * hue_bins >> 8) * sat_bins
    sat = np.where(levels * 4 > 255, np.clip(((levels * 4 - 255) * sat_bins) // (3 * 255), 0, sat_bins - 1), 255)
    value = (levels * 20 > 3 * 255).astype(np.int64)
    return np.stack([hue, sat, value], -1).astype(np.uint8).reshape(256, 1, 3)


_LUTS = _hist_luts(12, 3)


def hue_histogram(rgb: np.ndarray, hue_bins: int = 12, sat_bins: int = 3, grey_bins: int = 4) -> np.ndarray:
    """Normalised hue x saturation histogram of saturated pixels, plus grey levels for the rest.

    A pixel is saturated when its saturation exceeds 0.25 and its value 0.15; grey pixels are
    binned by luma. Black and white lines, speed lines and ink fall in the grey bins.

    Args:
        rgb: (n, h, w, 3) uint8 frames.

    Returns:
        (n, hue_bins * sat_bins + grey_bins) shares summing to 1 per frame.
    """
    n = len(rgb)
    luts = _LUTS if (hue_bins, sat_bins) == (12, 3) else _hist_luts(hue_bins, sat_bins)
    h, w = rgb.shape[1:3]
    stacked = np.ascontiguousarray(rgb).reshape(n * h, w, 3)  # per-pixel conversions: one call per batch
    parts = cv2.LUT(cv2.cvtColor(stacked, cv2.COLOR_RGB2HSV_FULL), luts).reshape(n, h, w, 3)
    grey = cv2.cvtColor(stacked, cv2.COLOR_RGB2GRAY).reshape(n, h, w) // (256 // grey_bins)
    sat = parts[..., 1]
    coloured = (sat != 255) & (parts[..., 2] == 1)
    idx = np.where(coloured, parts[..., 0] + sat, hue_bins * sat_bins + grey)
    bins = hue_bins * sat_bins + grey_bins
    flat = idx.reshape(n, -1).astype(np.int64) + bins * np.arange(n)[:, None]
    counts = np.bincount(flat.ravel(), minlength=bins * n).reshape(n, bins)
    return counts / flat.shape[1]


def changed_share(x: np.ndarray, previous: np.ndarray, radius: int = 2, block: int = 4) -> np.ndarray:
    """Share of blocks that changed by more than 10 levels even after the best shift within ``radius``.

    A block counts when every shift leaves it changed, so the unshifted comparison comes first and
    the other shifts are tried only on the frames that still have such a block (a held drawing has
    none: most frames of TV anime cost one comparison, not 25).

    Args:
        x, previous: (n, h, w, c) uint8 thumbnails, h and w multiples of ``block``.
    """
    n, h, w, c = x.shape
    padded = np.pad(previous, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
    x = np.ascontiguousarray(x)
    changed = np.ones((n, h // block, w // block), dtype=bool)
    live = np.arange(n)
    shifts = [(radius, radius)] + [(dy, dx) for dy in range(2 * radius + 1) for dx in range(2 * radius + 1)]
    for dy, dx in dict.fromkeys(shifts):  # the unshifted comparison first, each shift once
        k = len(live)
        shifted = np.ascontiguousarray(padded[live, dy : dy + h, dx : dx + w]).reshape(k * h, w * c)
        # rows of whole frames, columns of interleaved channels: an area resize to
        # (k * h / block, w / block) is each block's mean over its pixels and channels
        diff = cv2.absdiff(x[live].reshape(k * h, w * c), shifted)
        pooled = cv2.resize(diff, (w // block, k * h // block), interpolation=cv2.INTER_AREA)
        changed[live] &= pooled.reshape(k, h // block, w // block) > 10
        live = live[changed[live].any(axis=(1, 2))]
        if not len(live):
            break
    return changed.reshape(n, -1).mean(1)


class _Descriptors:
    """The per-frame descriptors of a batch, computed on the CPU with OpenCV (a few per frame).

    Measured on 2 cores: torch's pooling of (64, 3, 144, 256) float frames took 22 ms per batch,
    OpenCV's area resize of the uint8 frames 1.1 ms.
    """

    def __init__(self, frames: np.ndarray) -> None:
        n, height, width = frames.shape[:3]
        half = _resize(frames, 128, max(1, round(height * 128 / width)))
        self.thumb = _resize(half, THUMB[1], THUMB[0])
        ycc = _ycc(self.thumb.astype(np.float32))
        self.grid8 = _grid(ycc, 4, 8)
        self.grid16 = _grid(ycc, 9, 16)
        self.hist = (hue_histogram(self.thumb) * HIST_SCALE).astype(np.float32)
        luma = ycc[..., 0].reshape(n, -1)
        self.std = luma.std(1)
        self.mean = luma.mean(1)

    def parts(self) -> tuple[np.ndarray, ...]:
        return self.grid8, self.grid16, self.hist, self.thumb


def _grid(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """(n, h, w, c) to (n, rows * cols * c) block means (h, w multiples of rows, cols)."""
    n, h, w, c = x.shape
    planes = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(n * c * h, w)
    pooled = cv2.resize(planes, (cols, n * c * rows), interpolation=cv2.INTER_AREA)  # never crosses a plane
    return pooled.reshape(n, c, rows, cols).transpose(0, 2, 3, 1).reshape(n, -1)


@SHOT_DETECTORS.register("classic")
class ClassicShotStage(ShotStage, SplittableStage):
    """Fast CPU/GPU shot detector (see the module docstring).

    Splittable (``animevid.engine._split``): a frame's descriptors look back LOOKBACK frames, the
    decisions are taken at the end over the whole episode's descriptors, a WINDOW of frames at a
    time (about 70 bytes a frame stay in memory, the colour grids go to a temporary file).

    Args:
        device: Device the batches arrive on.
        threshold: Cut probability above which a local maximum is a cut.
        min_changed: Share of the frame that must change after motion compensation for a cut.
        model: Fitted scorer (``classic_model.json`` form); None loads the shipped one.
    """

    def __init__(
        self,
        *,
        device: str | torch.device = "cpu",
        threshold: float = 0.5,
        min_changed: float = 0.3,
        model: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(device=device, threshold=threshold)
        self.min_changed = min_changed
        self.model = model if model is not None else load_model()
        self.reset()

    def reset(self) -> None:
        """Forget every frame seen."""
        self._pts = Column(np.float64)
        self._tail: tuple[np.ndarray, ...] | None = None
        self._last_grid: np.ndarray | None = None  # the last frame's 9x16 grid, for the photometric test
        # per frame: 65 bytes in memory (and the time), the 9x16 colour grid (864 bytes) on disk for dissolves
        self._dist = Column(np.float32, (3, LOOKBACK))  # 3 descriptors x LOOKBACK frames back
        self._changed = Column(np.float64)
        self._std = Column(np.float32)
        self._mean = Column(np.float32)
        self._photometric = Column(np.bool_)
        self._grid16 = Spill(np.float16, (GRID16,))
        self._cache: tuple[int, np.ndarray] | None = None

    def _observe(self, batch: FrameBatch) -> None:
        now = _Descriptors(batch.frames.cpu().numpy())
        parts = now.parts()
        n = len(batch)
        seq = (
            parts
            if self._tail is None
            else tuple(np.concatenate([t, p]) for t, p in zip(self._tail, parts, strict=True))
        )
        before = len(seq[0]) - n  # frames of the tail (all frames seen, while fewer than LOOKBACK)
        index = np.arange(before, before + n)
        dist = np.zeros((n, 3, LOOKBACK), dtype=np.float32)
        for k in range(1, LOOKBACK + 1):
            partner = np.maximum(index - k, 0)  # the stream's first frame stands in before it
            for d, desc in enumerate(seq[:3]):
                dist[:, d, k - 1] = np.abs(desc[index] - desc[partner]).mean(1)
        thumbs = seq[3]
        changed = changed_share(thumbs[index], thumbs[np.maximum(index - 1, 0)])
        if self._tail is None:
            changed[0] = 0.0
        self._dist.extend(dist)
        self._changed.extend(changed)
        self._std.extend(now.std)
        self._mean.extend(now.mean)
        grid16 = now.grid16.astype(np.float16)  # what the flash and dissolve tests see
        self._grid16.extend(grid16)
        self._photometric.extend(self._flashes(grid16.astype(np.float32)))
        self._tail = tuple(s[-LOOKBACK:] for s in seq)
        self._cache = None

    def _flashes(self, grid: np.ndarray) -> np.ndarray:
        """:func:`photometric` of the batch's frames, the first against the last frame of the batch before.

        Every operation of the test is per frame pair, so batch by batch equals all frames at once.
        """
        if self._last_grid is None:
            flags = photometric(grid)
        else:
            flags = photometric(np.concatenate([self._last_grid, grid]))[1:]
        self._last_grid = grid[-1:]
        return flags

    warmup_frames = LOOKBACK
    cpu_only = True

    def settings(self) -> dict[str, Any]:
        """Threshold, minimum change and model."""
        return {"threshold": self.threshold, "min_changed": self.min_changed, "model": self.model}

    def part(self) -> dict[str, np.ndarray]:
        """Every fed frame's measurements (what :meth:`_boundaries` decides from), as arrays."""
        return {name: store[:] for name, store in self._stores().items()}

    def absorb(self, run: SegmentRun) -> Sequence[Any]:
        """Append the run's measurements of frames ``[run.start, run.stop)``.

        The photometric test of frame ``run.start`` looked at the frame before it in the same run
        (a run is taken from past its warm-up), as one pass would have.
        """
        for name, store in self._stores().items():
            store.extend(run.part[name][run.start - run.first : run.stop - run.first])
        self._pts.extend(np.asarray(run.pts_seconds, dtype=np.float64))
        self._cache = None
        return []

    def _stores(self) -> dict[str, Column | Spill]:
        return {
            "dist": self._dist,
            "changed": self._changed,
            "std": self._std,
            "mean": self._mean,
            "photometric": self._photometric,
            "grid16": self._grid16,
        }

    def probabilities(self) -> np.ndarray:
        """Cut probability of every frame seen (frame 0 is never a cut)."""
        frames = len(self._changed)
        if self._cache is None or self._cache[0] != frames:
            prob = np.zeros(frames)
            for lo in range(0, frames, SCORE_ROWS):
                hi = min(frames, lo + SCORE_ROWS)
                prob[lo:hi] = _probability(self.model, self._features(lo, hi))
            prob[:1] = 0.0
            self._cache = (frames, prob)
        return self._cache[1]

    def features(self) -> np.ndarray:
        """The (frames, 25) feature matrix fed to the scorer."""
        return self._features(0, len(self._changed))

    def _features(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)`` of the feature matrix, computed WINDOW rows at a time."""
        columns = (self._dist.view(), self._changed.view(), self._std.view(), self._mean.view(), self._grid16)
        windows = [build_features(*columns, start=lo, stop=min(stop, lo + WINDOW)) for lo in range(start, stop, WINDOW)]
        return np.concatenate(windows) if windows else np.zeros((0, N_FEATURES))

    def _boundaries(self, frames: int) -> list[Boundary]:
        if frames < 2:
            return []
        prob = self.probabilities()
        dist, changed, std, mean = (c.view() for c in (self._dist, self._changed, self._std, self._mean))
        blank = signals.blank(std, mean)
        flash = self._photometric.view() | blank | signals.transient(dist[:, 1])  # on the 9x16 grid
        found: dict[int, Boundary] = {}
        weak: list[int] = []  # local maxima above TRAIN_CANDIDATE: the drawings a train is looked for among
        for i in range(1, frames):
            p = prob[i]
            if p < min(self.threshold, TRAIN_CANDIDATE) or blank[i - 1] or flash[i] or changed[i] < self.min_changed:
                continue
            # leaving a flash: a cut only if the palette differs from the picture before the flash
            if (flash[i - 1] and dist[i, 2, 1] < 25.0) or (
                i >= 3 and flash[i - 1] and flash[i - 2] and dist[i, 2, 2] < 25.0
            ):
                continue
            if p >= prob[i - 1] and (i + 1 >= frames or p > prob[i + 1]):
                weak.append(i)
                if p >= self.threshold:
                    found[i] = Boundary(i, "cut", float(p))
        for frame in _drawn_trains(weak, self._grid16) & set(found):
            del found[frame]
        for frame in _cutout_backgrounds(sorted(found), self._grid16):
            del found[frame]
        # a 1-frame shot brings back a picture like the one before it: transient, but no flash
        steady = ~(self._photometric.view() | blank | np.roll(blank, 1)) & (changed >= self.min_changed)
        for frame in strobe_cuts(dist, steady, self._grid16):
            found.setdefault(frame, Boundary(frame, "cut", float(prob[frame])))
        for b in _fades(blank, std, dist, frames):
            found = {f: v for f, v in found.items() if abs(f - b.frame) > 2 or b.transition == "cut"}
            found.setdefault(b.frame, b)
        dim = signals.dark_or_bright(mean)  # toward black or white: a fade, not a dissolve
        for b in _dissolves(self._grid16, blank | dim, found, frames):
            found[b.frame] = b
        _place_blends(found, _blended_cuts(self._grid16, changed >= self.min_changed, blank | dim, frames), prob)
        return sorted(found.values(), key=lambda b: b.frame)


def _drawn_trains(cuts: list[int], grid: Spill | np.ndarray) -> set[int]:
    """Cuts that are the drawings of a hand-drawn camera move, not cuts.

    A camera move drawn by hand (a pan or a rotating view redrawn every third frame) changes most
    of the frame at every drawing, so each reads as a cut; but the drawings come at a steady
    cadence and keep the same colours, where cuts between shots come at any spacing or change the
    palette. A train is :data:`TRAIN_MIN` or more cuts spaced by one of :data:`TRAIN_CADENCES`
    frames, the same spacing throughout, each with a palette change under :data:`TRAIN_PALETTE`;
    its cuts are dropped, and the next cut too if it comes one frame later than the cadence with
    the same colours (the move's last drawing held a frame longer). Limits: a strobe of 2- or
    3-frame shots of one set in the same colours at a steady beat would be dropped too.
    """
    if len(cuts) < TRAIN_MIN:
        return set()
    same = [_palette_change(grid, c) < TRAIN_PALETTE for c in cuts]
    dropped: set[int] = set()
    first = 0
    while first < len(cuts):
        last = first
        step = cuts[first + 1] - cuts[first] if first + 1 < len(cuts) else 0
        while (
            same[first]
            and step in TRAIN_CADENCES
            and last + 1 < len(cuts)
            and cuts[last + 1] - cuts[last] == step
            and same[last + 1]
        ):
            last += 1
        if last - first + 1 >= TRAIN_MIN:
            dropped.update(cuts[first : last + 1])
            # the move's last drawing may be held a frame longer (its ease-out)
            if last + 1 < len(cuts) and cuts[last + 1] - cuts[last] <= step + 1 and same[last + 1]:
                last += 1
                dropped.add(cuts[last])
        first = max(last, first + 1)
    return dropped


def _cutout_backgrounds(cuts: list[int], grid: Spill | np.ndarray) -> list[int]:
    """Cuts that are only a shot's own background appearing behind its cut-out.

    A shot may open as a cut-out: its character laid over the previous shot's picture (the cut),
    its own background drawn in a few frames later. That second change replaces most of the frame
    but keeps the cut-out where it was, unchanged. A cut up to :data:`CUTOUT_FRAMES` after another
    is dropped when cells that the first one changed stay the same across it (at least
    :data:`CUTOUT_CELLS` of the 9x16 grid, over :data:`CUTOUT_ROWS` rows, the top row and the bottom
    two left out: burned-in text that appears with a cut and stays is not a cut-out).
    """
    dropped = []
    for first, second in itertools.pairwise(cuts):
        if not 1 <= second - first <= CUTOUT_FRAMES:
            continue
        rows = np.asarray(grid[[first - 1, first, second - 1, second]], dtype=np.float32).reshape(4, 9, 16, 3)
        came = np.abs(rows[1] - rows[0]).max(-1) > CUTOUT_NEW
        stayed = np.abs(rows[3] - rows[2]).max(-1) < CUTOUT_SAME
        held = (came & stayed)[1:7]
        if held.sum() >= CUTOUT_CELLS and held.any(1).sum() >= CUTOUT_ROWS:
            dropped.append(second)
    return dropped


def _palette_change(grid: Spill | np.ndarray, frame: int) -> float:
    """:func:`signals.palette_change` from ``frame - 1`` to ``frame`` on the 9x16 grids."""
    pair = signals.grid_palette(np.asarray(grid[frame - 1 : frame + 1], dtype=np.float32))
    return float(signals.palette_change(pair[0], pair[1]))


def _blended_cuts(grid: Spill | np.ndarray, changed: np.ndarray, faded: np.ndarray, frames: int) -> list[int]:
    """Cuts that land on a frame blended half and half from both shots, as frame-rate conversion by blending
    makes them (24 to 25 fps): the dissolve test (:func:`_blends`) over 3 frames, each side steady a frame
    further out, where both steps changed the frame after motion compensation. Ends of two shots of one place
    may span down to :data:`BLEND_HELD_SPAN` when one of them is a held picture (:data:`BLEND_HELD`). The
    blended frame starts the new shot. Found WINDOW frames at a time; frames toward black or white
    (``faded``) are a fade's.
    """
    out: list[int] = []
    for lo in range(2, frames - 2, WINDOW):
        hi = min(frames - 2, lo + WINDOW)
        rows = np.asarray(grid[lo - 2 : hi + 2], dtype=np.float32)
        span, _, centres = _blends(rows, lo - 2, range(lo - 1, hi - 1), 1, frames, reach=1, min_span=BLEND_HELD_SPAN)
        at = centres - (lo - 2)  # the centres' rows
        held = np.minimum(_step(rows, at - 1), _step(rows, at + 2)) <= BLEND_HELD * span[centres - lo]
        keep = changed[centres] & changed[centres + 1] & ~(faded[centres - 1] | faded[centres] | faded[centres + 1])
        keep &= (span[centres - lo] >= BLEND_SPAN) | held
        out += [int(i) for i in centres[keep]]
    return out


def _step(rows: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Mean change of each row ``at`` from the row before it."""
    return np.abs(rows[at] - rows[at - 1]).mean(1)


def _place_blends(found: dict[int, Boundary], blends: list[int], prob: np.ndarray) -> None:
    """Make each blended cut (:func:`_blended_cuts`) the boundary there: it replaces a cut on the frame after it
    (the first frame of the new shot alone) and a dissolve within 2 frames (a blend of one frame is a cut); any
    other boundary within 2 frames stays, and the blend is not added."""
    for frame in blends:
        near = [f for f in found if abs(f - frame) <= 2]
        replaced = [
            f for f in near if (f == frame + 1 and found[f].transition == "cut") or found[f].transition == "dissolve"
        ]
        if len(replaced) == len(near):
            for f in replaced:
                del found[f]
            found[frame] = Boundary(frame, "cut", float(prob[frame]))


def _fades(blank: np.ndarray, std: np.ndarray, dist: np.ndarray, frames: int) -> list[Boundary]:
    """Boundaries at runs of blank frames (see the module docstring)."""
    out = []
    i = 0
    while i < frames:
        if not blank[i]:
            i += 1
            continue
        start = i
        while i < frames and blank[i]:
            i += 1
        end = i
        if start == 0 or end >= frames:
            continue  # fade in from, or out to, a blank: starts or ends no shot
        if signals.fade_run(end - start) or signals.contrast_ramp(std, start, end):
            out.append(Boundary(end, "fade"))
        elif end - (start - 1) <= LOOKBACK and dist[end, 2, end - start] >= 40.0:
            out.append(Boundary(end, "cut"))  # a cut through 1-3 blank frames: the palette changed
    return out


def _dissolves(grid: Spill | np.ndarray, blank: np.ndarray, found: dict[int, Boundary], frames: int) -> list[Boundary]:
    """Boundaries where a stretch of frames blends linearly from one picture into another.

    ``grid`` holds every frame's 9x16 colour grid (float16); the stretches are tested WINDOW at a
    time, on the frames they and their steadiness tests reach.
    """
    half = 5
    out: list[Boundary] = []
    if frames <= 2 * half + 2:
        return out
    last = -10 * half
    count = frames - 2 * half  # stretches [k, k + 2 * half], by first frame k
    for k0 in range(0, count, WINDOW):
        k1 = min(count, k0 + WINDOW)
        first = max(0, k0 - 2)  # the steadiness tests reach 2 frames beyond each end
        rows = np.asarray(grid[first : min(frames, k1 + 2 * half + 3)], dtype=np.float32)
        span, residual, centres = _blends(rows, first, range(k0, k1), half, frames)
        for c in centres:
            if c - last <= 2 * half:
                continue
            lo, hi = c - half, c + half
            if any(lo - 2 <= f <= hi + 2 for f in found) or blank[lo : hi + 1].any():
                continue
            stretch = rows[lo - first : hi + 1 - first]
            start, end = stretch[0], stretch[-1]
            ls, le = start.reshape(-1, 3)[:, 0], end.reshape(-1, 3)[:, 0]
            if np.corrcoef(ls, le)[0, 1] > 0.9:  # the same picture brightening or dimming: a fade
                continue
            axis = end - start
            weights = ((stretch - start) @ axis) / max(float(axis @ axis), 1e-6)
            if not np.all(np.diff(weights) > -0.05):  # a dissolve only moves forward
                continue
            frame = int(lo + int(np.argmax(weights >= 0.5)))
            out.append(Boundary(frame, "dissolve", float(1 - residual[lo - k0] / span[lo - k0])))
            last = int(c)
    return out


def _blends(
    rows: np.ndarray,
    first: int,
    stretches: range,
    half: int,
    frames: int,
    reach: int = 2,
    min_span: float = BLEND_SPAN,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Span, residual and candidate centres of the stretches ``[k, k + 2 * half]`` for k in ``stretches``.

    ``rows`` holds the grids (float32) of frames ``first`` on. A candidate's middle frame is the
    average of its ends, which differ like two shots do, and the frames ``reach`` outside each end
    barely change (steady ends). Every operation is per stretch, so a window's values equal those
    of all stretches at once. The ends differ like two shots when their span is ``min_span`` or more.
    """
    k = np.arange(stretches.start, stretches.stop)
    a = rows[stretches.start - first : stretches.stop - first]
    b = rows[stretches.start + 2 * half - first : stretches.stop + 2 * half - first]
    m = rows[stretches.start + half - first : stretches.stop + half - first]
    span = np.abs(a - b).mean(1)
    residual = np.abs(m - (a + b) / 2).mean(1)
    steady_a = np.abs(rows[np.maximum(k - reach, 0) - first] - a).mean(1)
    steady_b = np.abs(rows[np.minimum(k + 2 * half + reach, frames - 1) - first] - b).mean(1)
    ok = (span >= min_span) & (residual < BLEND_RESIDUAL * span)
    ok &= (steady_a < BLEND_STEADY * span) & (steady_b < BLEND_STEADY * span)
    return span, residual, np.flatnonzero(ok) + stretches.start + half


def build_features(
    dist: np.ndarray,
    changed: np.ndarray,
    std: np.ndarray,
    mean: np.ndarray,
    grid: Spill | np.ndarray,
    *,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """Rows ``[start, stop)`` (default: all) of the (frames, 29) feature matrix from per-frame raw measurements.

    A row reads the frames within CONTEXT of its own (clamped at the episode's first and last
    frame) and every operation is per row or per value, so a window of rows equals the same rows
    of the whole matrix, bit for bit.

    Args:
        dist: (n, 3, LOOKBACK): distance of each frame to the 1..4 frames before it under the
            4x8 grid, 9x16 grid and hue histogram (clamped at frame 0).
        changed: (n,) motion-compensated changed share against the previous frame.
        std, mean: (n,) luma spread and level of each frame.
        grid: (n, 432) 9x16 YCbCr grids (read for the rows and the 3 frames on each side).
        start, stop: The rows wanted.
    """
    rows = _Rows(len(changed), start, len(changed) if stop is None else stop)
    cols = []
    for desc in range(3):
        step = rows.pair(dist, desc, rows.near - 1, rows.near)  # the change to the frame before, around the rows
        ld = np.log1p(rows.here(step))
        left = np.log1p(rows.context(step, -CONTEXT, -2))
        right = np.log1p(rows.context(step, 2, CONTEXT))
        ret = np.min(np.stack([rows.pair(dist, desc, rows.idx - 1, rows.idx + j) for j in (1, 2, 3)], 1), 1)
        cross = rows.pair(dist, desc, rows.idx - 2, rows.idx + 1)
        cols += [ld, ld - left, ld - right, np.log1p(ret) - ld, np.log1p(cross) - ld, np.maximum(left, right)]
    m = changed[rows.lo : rows.hi].astype(np.float64)
    if rows.lo == 0 and len(m):
        m[0] = 0.0  # frame 0 has no frame before it
    cols += [rows.here(m), rows.here(m) - rows.context(m, -CONTEXT, -2), rows.here(m) - rows.context(m, 2, CONTEXT)]
    s = np.log1p(std[rows.lo : rows.hi].astype(np.float64))
    lm = mean[rows.lo : rows.hi].astype(np.float64) / 255.0
    before = rows.clamp(rows.idx - 1) - rows.lo
    cols += [rows.here(s), s[before], rows.here(lm), lm[before]]
    cols += _palette_features(rows, np.asarray(grid[rows.lo : rows.hi], dtype=np.float32))
    feats = np.stack(cols, 1)
    if start == 0 and len(feats):
        feats[0] = 0.0
    return feats


PALETTE_POOL = 3
"""Frames pooled on each side of a frame for the palette-change features."""


def _palette_features(rows: _Rows, grid: np.ndarray) -> list[np.ndarray]:
    """Four features of how the colours (not their places) change at each row's frame.

    The palette (:func:`signals.grid_palette`) of the frame before against the frame's; of the
    :data:`PALETTE_POOL` frames before pooled against the frame and the ones after it pooled (a
    drawn move or a flash of one frame keeps the pooled colours, a cut does not); and how much the
    colours drift inside each pool (the larger of the two), alone and against the pooled change.
    All in log(1 + levels).

    Args:
        rows: The rows.
        grid: (len(rows.near), 432) float32 grids of the frames ``near`` the rows.
    """
    at = [signals.grid_palette(grid[rows.clamp(rows.idx + k) - rows.lo]) for k in range(-PALETTE_POOL, PALETTE_POOL)]
    step = np.log1p(signals.palette_change(at[PALETTE_POOL - 1], at[PALETTE_POOL]))
    pooled_before = np.sort(np.concatenate(at[:PALETTE_POOL], axis=1), axis=1)
    pooled_after = np.sort(np.concatenate(at[PALETTE_POOL:], axis=1), axis=1)
    pooled = np.log1p(signals.palette_change(pooled_before, pooled_after))
    drift_before = signals.palette_change(at[0], at[PALETTE_POOL - 1])
    drift = np.log1p(np.maximum(drift_before, signals.palette_change(at[PALETTE_POOL], at[-1])))
    return [step, pooled, pooled - drift, drift]


class _Rows:
    """Rows ``[start, stop)`` of the feature matrix of ``frames`` frames, and the frames ``near`` them
    that they read (CONTEXT on each side, clamped at the episode's ends)."""

    def __init__(self, frames: int, start: int, stop: int) -> None:
        self.frames = frames
        self.idx = np.arange(start, stop)
        self.lo, self.hi = max(0, start - CONTEXT), min(frames, stop + CONTEXT)
        self.near = np.arange(self.lo, self.hi)

    def clamp(self, i: np.ndarray) -> np.ndarray:
        """Frame numbers clamped to the episode."""
        return np.clip(i, 0, self.frames - 1)

    def here(self, values: np.ndarray) -> np.ndarray:
        """The rows' own values of ``values`` (one per frame ``near``)."""
        return values[self.idx - self.lo]

    def pair(self, dist: np.ndarray, desc: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Distance under descriptor ``desc`` from frames ``a`` to frames ``b`` (0 where b is not after a)."""
        a, b = self.clamp(a), self.clamp(b)
        gap = b - a
        out = np.zeros(len(b))
        ok = gap > 0
        out[ok] = dist[b[ok], desc, gap[ok] - 1]
        return out

    def context(self, values: np.ndarray, first: int, last: int) -> np.ndarray:
        """Median of ``values`` (one per frame ``near``) over frames ``first..last`` from each row's."""
        return np.median(np.stack([values[self.clamp(self.idx + k) - self.lo] for k in range(first, last + 1)], 1), 1)


def score(model: dict[str, Any], feats: np.ndarray) -> np.ndarray:
    """Cut probability per frame from the fitted perceptron (``feats`` from frame 0: frame 0 scores 0)."""
    prob = _probability(model, feats)
    prob[0] = 0.0
    return prob


def _probability(model: dict[str, Any], feats: np.ndarray) -> np.ndarray:
    """The perceptron's output for each row of ``feats``."""
    x = (feats - np.asarray(model["mean"])) / np.asarray(model["scale"])
    hidden = np.tanh(x @ np.asarray(model["w1"]).T + np.asarray(model["b1"]))
    logit = hidden @ np.asarray(model["w2"]).ravel() + float(model["b2"])
    return 1.0 / (1.0 + np.exp(-logit))


MODEL_KEYS = ("mean", "scale", "w1", "b1", "w2", "b2")
"""What a fitted scorer holds (``bench/fit_shots.py`` writes them)."""


def load_model(path: str | Path | None = None) -> dict[str, Any]:
    """A fitted scorer: the shipped one (``animevid/shots/classic_model.json``) or a file of the same form.

    Raises:
        ConfigError: ``path`` cannot be read, is not JSON, or does not hold a scorer for these features.
    """
    if path is None:
        text = resources.files("animevid.shots").joinpath("classic_model.json").read_text(encoding="utf-8")
        model: dict[str, Any] = json.loads(text)
        return model
    fix = "write one with bench/fit_shots.py, or leave shots.model empty for the shipped scorer"
    try:
        model = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"shots.model: cannot read {path} as JSON ({exc}); {fix}") from None
    missing = [k for k in MODEL_KEYS if not isinstance(model, dict) or k not in model]
    if missing:
        raise ConfigError(f"shots.model: {path} is not a shot scorer (no {', '.join(missing)}); {fix}")
    if len(model["mean"]) != N_FEATURES or len(model["scale"]) != N_FEATURES:
        raise ConfigError(
            f"shots.model: {path} scores {len(model['mean'])} features, this version computes {N_FEATURES}; {fix}"
        )
    return model


def model_digest(model: dict[str, Any]) -> str:
    """A short hash of a scorer's weights (libraries indexed with other weights are re-indexed)."""
    weights = {k: model[k] for k in MODEL_KEYS}
    return hashlib.sha256(json.dumps(weights, sort_keys=True).encode()).hexdigest()[:12]
