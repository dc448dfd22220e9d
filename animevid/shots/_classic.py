"""The classic shot detector: cheap frame descriptors, a small fitted scorer and explicit rules.

Per frame, on the analysis frames (any device), three descriptors are computed once:

- a 4x8 and a 9x16 grid of mean colours (YCbCr), coarse enough to ignore speed lines and
  encoder noise;
- a hue/saturation histogram of saturated pixels plus 4 grey levels, which follows who and
  where is on screen and ignores black/white speed lines and outlines;
- a 36x64 thumbnail for a motion-compensated block change (each 4x4 block's best match within
  +-2 px in the previous frame): the share of the frame that truly changed, which a pan, a shake
  or a character's move does not reach.

From these, 25 features per frame describe the change to the previous frame, how it compares
with the change around it (medians of the 7 frames on each side), whether the picture comes
back within 3 frames (a flash or smear does, a cut does not) and how dark and flat the frames
are. A 25-16-1 perceptron fitted on synthetic episodes (``bench/fit_shots.py``; the weights ship
in ``classic_model.json``) turns them into a cut probability. Explicit rules then decide:

- a cut is a local maximum of the probability above the threshold, where at least
  ``min_changed`` of the frame changed after motion compensation (a head turn over a held
  background is not a cut) and neither frame is blank;
- a run of blank frames (near-uniform black or white) starting at frame 0 is a fade in, one
  reaching the end a fade out; between shots it is a fade through that colour when it lasts 4
  frames or more or the picture dims into or out of it, and the incoming shot starts at the first
  frame after the run; 1-3 blank frames without a ramp are a flash, or a cut through a blank
  frame when the palette on both sides differs;
- a dissolve is a stretch whose middle frame is the average of its ends while the ends differ
  like two shots do; the incoming shot starts where its weight reaches one half.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from animevid.decode import FrameBatch
from animevid.shots._base import SHOT_DETECTORS, Boundary, ShotStage

LOOKBACK = 4
"""Frames back each descriptor is compared with."""
CONTEXT = 8
"""Frames on each side whose change is the context of a frame's change."""
HIST_SCALE = 100.0
"""Histogram distances are L1 in percent of the frame."""
N_FEATURES = 25


def _ycc(x: torch.Tensor) -> torch.Tensor:
    y = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return torch.stack([y, (x[:, 2] - y) * 0.564, (x[:, 0] - y) * 0.713], 1)


def hue_histogram(x: torch.Tensor, hue_bins: int = 12, sat_bins: int = 3, grey_bins: int = 4) -> torch.Tensor:
    """Normalised hue x saturation histogram of saturated pixels, plus grey levels for the rest.

    Args:
        x: (n, 3, h, w) RGB in 0..255.
    """
    rgb = x.permute(0, 2, 3, 1) / 255.0
    high = rgb.max(-1).values
    low = rgb.min(-1).values
    chroma = high - low
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    c = chroma.clamp_min(1e-6)
    hue = torch.where(high == r, ((g - b) / c) % 6, torch.where(high == g, (b - r) / c + 2, (r - g) / c + 4)) / 6
    sat = chroma / high.clamp_min(1e-6)
    coloured = (sat > 0.25) & (high > 0.15)
    h_idx = (hue * hue_bins).long().clamp(0, hue_bins - 1)
    s_idx = ((sat - 0.25) / 0.75 * sat_bins).long().clamp(0, sat_bins - 1)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    grey = (luma * grey_bins).long().clamp(0, grey_bins - 1) + hue_bins * sat_bins
    idx = torch.where(coloured, h_idx * sat_bins + s_idx, grey).flatten(1)
    hist = torch.zeros(len(x), hue_bins * sat_bins + grey_bins, device=x.device)
    hist.scatter_add_(1, idx, torch.ones_like(idx, dtype=hist.dtype))
    return hist / idx.shape[1]


def changed_share(x: torch.Tensor, previous: torch.Tensor, radius: int = 2, block: int = 4) -> torch.Tensor:
    """Share of blocks that changed by more than 10 levels even after the best shift within ``radius``."""
    h, w = x.shape[-2:]
    padded = F.pad(previous, (radius, radius, radius, radius), mode="replicate")
    best: torch.Tensor | None = None
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            diff = (x - padded[:, :, dy : dy + h, dx : dx + w]).abs().mean(1, keepdim=True)
            pooled = F.avg_pool2d(diff, block)
            best = pooled if best is None else torch.minimum(best, pooled)
    assert best is not None
    return (best.flatten(1) > 10.0).float().mean(1)


class _Descriptors:
    """The per-frame descriptors of a batch."""

    def __init__(self, frames: torch.Tensor) -> None:
        x = frames.permute(0, 3, 1, 2).to(torch.float32)
        height, width = x.shape[-2:]
        half = F.adaptive_avg_pool2d(x, (max(1, round(height * 128 / width)), 128))
        self.thumb = F.adaptive_avg_pool2d(half, (36, 64))
        ycc = _ycc(self.thumb)
        self.grid8 = F.adaptive_avg_pool2d(ycc, (4, 8)).flatten(1)
        self.grid16 = F.adaptive_avg_pool2d(ycc, (9, 16)).flatten(1)
        self.hist = hue_histogram(half) * HIST_SCALE
        luma = ycc[:, 0].flatten(1)
        self.std = luma.std(1)
        self.mean = luma.mean(1)

    def parts(self) -> tuple[torch.Tensor, ...]:
        return self.grid8, self.grid16, self.hist, self.thumb


@SHOT_DETECTORS.register("classic")
class ClassicShotStage(ShotStage):
    """Fast CPU/GPU shot detector (see the module docstring).

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
        self._tail: tuple[torch.Tensor, ...] | None = None
        self._dist: list[np.ndarray] = []  # per batch: (n, 3 descriptors, LOOKBACK)
        self._changed: list[np.ndarray] = []
        self._std: list[np.ndarray] = []
        self._mean: list[np.ndarray] = []
        self._grid16: list[np.ndarray] = []
        self._cache: tuple[int, np.ndarray, np.ndarray] | None = None

    def _observe(self, batch: FrameBatch) -> None:
        now = _Descriptors(batch.frames)
        parts = now.parts()
        n = len(batch)
        seq = parts if self._tail is None else tuple(torch.cat([t, p]) for t, p in zip(self._tail, parts, strict=True))
        before = len(seq[0]) - n  # frames of the tail (all frames seen, while fewer than LOOKBACK)
        index = torch.arange(before, before + n, device=seq[0].device)
        dist = torch.zeros(n, 3, LOOKBACK, device=seq[0].device)
        for k in range(1, LOOKBACK + 1):
            partner = (index - k).clamp_min(0)  # the stream's first frame stands in before it
            for d, desc in enumerate(seq[:3]):
                dist[:, d, k - 1] = (desc[index] - desc[partner]).abs().mean(1)
        thumbs = seq[3]
        previous = thumbs[(index - 1).clamp_min(0)]
        changed = changed_share(thumbs[index], previous)
        if self._tail is None:
            changed[0] = 0.0
        self._dist.append(dist.cpu().numpy())
        self._changed.append(changed.cpu().numpy())
        self._std.append(now.std.cpu().numpy())
        self._mean.append(now.mean.cpu().numpy())
        self._grid16.append(now.grid16.cpu().numpy().astype(np.float16))
        self._tail = tuple(s[-LOOKBACK:] for s in seq)
        self._cache = None

    def probabilities(self) -> np.ndarray:
        """Cut probability of every frame seen (frame 0 is never a cut)."""
        return self._scored()[1]

    def features(self) -> np.ndarray:
        """The (frames, 25) feature matrix fed to the scorer."""
        return self._scored()[2]

    def _scored(self) -> tuple[int, np.ndarray, np.ndarray]:
        frames = sum(len(c) for c in self._changed)
        if self._cache is None or self._cache[0] != frames:
            feats = build_features(
                np.concatenate(self._dist),
                np.concatenate(self._changed),
                np.concatenate(self._std),
                np.concatenate(self._mean),
            )
            self._cache = (frames, score(self.model, feats), feats)
        return self._cache

    def _boundaries(self, frames: int) -> list[Boundary]:
        if frames < 2:
            return []
        _, prob, _ = self._scored()
        dist = np.concatenate(self._dist)
        changed = np.concatenate(self._changed)
        std = np.concatenate(self._std)
        mean = np.concatenate(self._mean)
        blank = (std < 8.0) & ((mean < 48.0) | (mean > 208.0))
        grid16 = np.concatenate(self._grid16).astype(np.float32)
        flash = photometric(grid16) | blank | _transient(dist)
        found: dict[int, Boundary] = {}
        for i in range(1, frames):
            p = prob[i]
            if p < self.threshold or blank[i - 1] or flash[i] or changed[i] < self.min_changed:
                continue
            # leaving a flash: a cut only if the palette differs from the picture before the flash
            if (flash[i - 1] and dist[i, 2, 1] < 25.0) or (
                i >= 3 and flash[i - 1] and flash[i - 2] and dist[i, 2, 2] < 25.0
            ):
                continue
            if p >= prob[i - 1] and (i + 1 >= frames or p > prob[i + 1]):
                found[i] = Boundary(i, "cut", float(p))
        for b in _fades(blank, std, dist, frames):
            found = {f: v for f, v in found.items() if abs(f - b.frame) > 2 or b.transition == "cut"}
            found.setdefault(b.frame, b)
        dim = (mean < 48.0) | (mean > 208.0)  # toward black or white: a fade, not a dissolve
        for b in _dissolves(grid16, blank | dim, found, frames):
            found[b.frame] = b
        return sorted(found.values(), key=lambda b: b.frame)


def _transient(dist: np.ndarray) -> np.ndarray:
    """Frames after which the picture comes back within 3 frames (flashes, smears): not new shots."""
    n = len(dist)
    out = np.zeros(n, dtype=bool)
    for i in range(1, n):
        step = dist[i, 1, 0]
        back = min(dist[i + j, 1, j] for j in (1, 2, 3) if i + j < n) if i + 1 < n else step
        out[i] = step > 4.0 and back < 0.5 * step
    return out


def photometric(grid: np.ndarray, min_fit: float = 0.9) -> np.ndarray:
    """Frames that are a brightness/colour transform of the previous one (a flash, not a new picture).

    Per YCbCr channel, fits ``frame = a * previous + b`` over the 9x16 grid: an inverted frame
    fits with a < 0, a white, black or coloured tint with 0 < a < 1, a new shot does not fit.
    """
    n = len(grid)
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    cur = grid[1:].reshape(n - 1, -1, 3)
    prev = grid[:-1].reshape(n - 1, -1, 3)
    pc = prev - prev.mean(1, keepdims=True)
    cc = cur - cur.mean(1, keepdims=True)
    var = (pc**2).sum(1)
    slope = (pc * cc).sum(1) / np.maximum(var, 1e-6)
    residual = ((cc - slope[:, None, :] * pc) ** 2).sum(1)
    total = (cc**2).sum(1)
    # luma decides; chroma channels of near-grey pictures carry no structure to fit
    fit = 1 - residual[:, 0] / np.maximum(total[:, 0], 1e-6)
    structured = var[:, 0] > 50.0 * pc.shape[1]
    moved = np.abs(cur - prev).mean((1, 2)) > 4.0
    out[1:] = structured & moved & (fit >= min_fit) & (np.abs(slope[:, 0] - 1) > 0.15)
    return out


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
        before = std[max(0, start - 4) : start]
        after = std[end : end + 4]
        ramp_out = len(before) >= 3 and before[-1] < 0.7 * before[0]
        ramp_in = len(after) >= 3 and after[0] < 0.7 * after[-1]
        if end - start >= 4 or ramp_out or ramp_in:
            out.append(Boundary(end, "fade"))
        elif end - (start - 1) <= LOOKBACK and dist[end, 2, end - start] >= 40.0:
            out.append(Boundary(end, "cut"))  # a cut through 1-3 blank frames: the palette changed
    return out


def _dissolves(grid: np.ndarray, blank: np.ndarray, found: dict[int, Boundary], frames: int) -> list[Boundary]:
    """Boundaries where a stretch of frames blends linearly from one picture into another."""
    half = 5
    out: list[Boundary] = []
    if frames <= 2 * half + 2:
        return out
    a = grid[: frames - 2 * half]
    b = grid[2 * half :]
    m = grid[half : frames - half]
    span = np.abs(a - b).mean(1)
    residual = np.abs(m - (a + b) / 2).mean(1)
    # the ends must be steady: the frames just outside each end barely change
    steady_a = np.abs(grid[np.maximum(np.arange(len(a)) - 2, 0)] - a).mean(1)
    steady_b = np.abs(grid[np.minimum(np.arange(len(b)) + 2 * half + 2, frames - 1)] - b).mean(1)
    ok = (span >= 12.0) & (residual < 0.25 * span) & (steady_a < 0.3 * span) & (steady_b < 0.3 * span)
    centres = np.flatnonzero(ok) + half
    last = -10 * half
    for c in centres:
        if c - last <= 2 * half:
            continue
        lo, hi = c - half, c + half
        if any(lo - 2 <= f <= hi + 2 for f in found) or blank[lo : hi + 1].any():
            continue
        start, end = grid[lo], grid[hi]
        ls, le = start.reshape(-1, 3)[:, 0], end.reshape(-1, 3)[:, 0]
        if np.corrcoef(ls, le)[0, 1] > 0.9:  # the same picture brightening or dimming: a fade
            continue
        axis = end - start
        weights = ((grid[lo : hi + 1] - start) @ axis) / max(float(axis @ axis), 1e-6)
        if not np.all(np.diff(weights) > -0.05):  # a dissolve only moves forward
            continue
        frame = int(lo + int(np.argmax(weights >= 0.5)))
        out.append(Boundary(frame, "dissolve", float(1 - residual[c - half] / span[c - half])))
        last = int(c)
    return out


def build_features(dist: np.ndarray, changed: np.ndarray, std: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The (frames, 25) feature matrix from per-frame raw measurements.

    Args:
        dist: (n, 3, LOOKBACK): distance of each frame to the 1..4 frames before it under the
            4x8 grid, 9x16 grid and hue histogram (clamped at frame 0).
        changed: (n,) motion-compensated changed share against the previous frame.
        std, mean: (n,) luma spread and level of each frame.
    """
    n = len(changed)
    idx = np.arange(n)

    def clamp(i: np.ndarray) -> np.ndarray:
        return np.clip(i, 0, n - 1)

    def pair(desc: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = clamp(a), clamp(b)
        gap = b - a
        out = np.zeros(n)
        ok = gap > 0
        out[ok] = dist[b[ok], desc, gap[ok] - 1]
        return out

    def context(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
        return np.median(np.stack([values[clamp(idx + k)] for k in range(lo, hi + 1)], 1), 1)

    cols = []
    for desc in range(3):
        d = pair(desc, idx - 1, idx)
        ld = np.log1p(d)
        left = np.log1p(context(d, -CONTEXT, -2))
        right = np.log1p(context(d, 2, CONTEXT))
        ret = np.min(np.stack([pair(desc, idx - 1, idx + j) for j in (1, 2, 3)], 1), 1)
        cross = pair(desc, idx - 2, idx + 1)
        cols += [ld, ld - left, ld - right, np.log1p(ret) - ld, np.log1p(cross) - ld, np.maximum(left, right)]
    m = changed.astype(np.float64).copy()
    m[0] = 0.0
    cols += [m, m - context(m, -CONTEXT, -2), m - context(m, 2, CONTEXT)]
    s = np.log1p(std.astype(np.float64))
    lm = mean.astype(np.float64) / 255.0
    cols += [s, s[clamp(idx - 1)], lm, lm[clamp(idx - 1)]]
    feats = np.stack(cols, 1)
    feats[0] = 0.0
    return feats


def score(model: dict[str, Any], feats: np.ndarray) -> np.ndarray:
    """Cut probability per frame from the fitted perceptron."""
    x = (feats - np.asarray(model["mean"])) / np.asarray(model["scale"])
    hidden = np.tanh(x @ np.asarray(model["w1"]).T + np.asarray(model["b1"]))
    logit = hidden @ np.asarray(model["w2"]).ravel() + float(model["b2"])
    prob = 1.0 / (1.0 + np.exp(-logit))
    prob[0] = 0.0
    return prob


def load_model() -> dict[str, Any]:
    """The shipped scorer weights (``animevid/shots/classic_model.json``)."""
    text = resources.files("animevid.shots").joinpath("classic_model.json").read_text(encoding="utf-8")
    model: dict[str, Any] = json.loads(text)
    return model
