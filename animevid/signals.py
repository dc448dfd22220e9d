"""The frame tests every stage shares: blank, flash, held and fade, each with its constants, defined once.

The shot detector (:mod:`animevid.shots._classic`), the animation meter
(:mod:`animevid.analysis._measure`), its per-shot summary (:mod:`animevid.analysis._shots`) and the
frame-diff stage (:mod:`animevid.stages.frame_diff`) ask the same questions of frames; the answers
live here, as every PySceneDetect detector shares one ``FlashFilter``:

- **blank**: near-uniform (:data:`FLAT_STD`) and dark or bright (:data:`DARK_MEAN`,
  :data:`BRIGHT_MEAN`): a frame of a fade or a white/black flash;
- **flash**: a run of at most :data:`MAX_FLASH_RUN` frames that hides the picture, which comes back
  after it: blank frames, frames that are ``a * previous + b`` with ``a`` far from 1
  (:func:`photometric`, :func:`altered`: inverted, white, black, tinted), frames whose palette
  jumps and comes back (:func:`palette_flash`) or whose picture comes back (:func:`transient`);
- **held**: no block of a given size changed by a given number of levels (:func:`held`), with two
  settings: 4x4 blocks at 8.5 levels for drawings (:data:`DRAWING_BLOCK_PX`,
  :data:`DRAWING_HELD_LEVELS`), 8x8 blocks at 6 levels for whole frames (:data:`FRAME_BLOCK_PX`,
  :data:`FRAME_HELD_LEVELS`);
- **fade**: a run of blank or altered frames longer than a flash (:func:`fade_run`), or a short
  one that the picture's contrast ramps into or out of (:func:`contrast_ramp`); the frames
  dimming toward the blank beside a fade boundary (:func:`fade_ramp`).

Where two stages compute a test's inputs differently (the shot detector fits a whole batch of
float32 9x16 YCbCr grids at once, the meter one float64 luma grid against its reference), each
keeps its arithmetic, so that every stage's output stays what it was to the bit; both decide with
the same constants. The thresholds are Python floats on purpose: compared with a float32 array,
NumPy compares in float32, as the stages always did.

Values are in luma levels (0..255) on analysis frames (256 px wide by default).
"""

from __future__ import annotations

from typing import Protocol, overload

import cv2
import numpy as np

# -- blank -----------------------------------------------------------------------------------------

FLAT_STD = 8.0
"""Luma standard deviation under which a frame is near-uniform (on the shot detector's 36x64 thumbnail, the meter's
9x16 grid): the classic detector's fade rule since its first version (028aacd); no measurement was recorded."""
DARK_MEAN = 48.0
"""Mean luma under which a frame is dark, a fade or flash to black: the classic detector's value since 028aacd."""
BRIGHT_MEAN = 208.0
"""Mean luma over which a frame is bright, a fade or flash to white: the classic detector's value since 028aacd."""


@overload
def flat(std: float) -> bool: ...
@overload
def flat(std: np.ndarray) -> np.ndarray: ...
def flat(std: float | np.ndarray) -> bool | np.ndarray:
    """Near-uniform: the luma spread is under :data:`FLAT_STD` (per frame for an array)."""
    return std < FLAT_STD


@overload
def dark_or_bright(mean: float) -> bool: ...
@overload
def dark_or_bright(mean: np.ndarray) -> np.ndarray: ...
def dark_or_bright(mean: float | np.ndarray) -> bool | np.ndarray:
    """The picture is toward black or white: its mean luma is under :data:`DARK_MEAN` or over :data:`BRIGHT_MEAN`."""
    return (mean < DARK_MEAN) | (mean > BRIGHT_MEAN)


@overload
def blank(std: float, mean: float) -> bool: ...
@overload
def blank(std: np.ndarray, mean: np.ndarray) -> np.ndarray: ...
def blank(std: float | np.ndarray, mean: float | np.ndarray) -> bool | np.ndarray:
    """Blank frames: near-uniform black or white (:func:`flat` and :func:`dark_or_bright`).

    Args:
        std: Luma standard deviation of each frame (or of one).
        mean: Mean luma of each frame (or of one).

    Returns:
        A boolean per frame (one for scalars).
    """
    return flat(std) & dark_or_bright(mean)


# -- flash -----------------------------------------------------------------------------------------

MAX_FLASH_RUN = 3
"""Longest run of blank or altered frames that is a flash (impact frames); longer runs are fades. The shot detector's
rules (028aacd) and the meter and its summary (cc87c4b) each chose 3; the generator's impact frames last 1-2."""

FLASH_MIN_FIT = 0.9
"""Share of the luma variance that ``frame = a * previous + b`` must explain for the frame to be a transform of the
picture before it: the classic detector's value (028aacd), which the meter took over (cc87c4b)."""
FLASH_GAIN_STEP = 0.15
"""Gain change ``|a - 1|`` above which such a transform is a flash (028aacd): a fade of 7 frames steps by 14 %, under
it, so its frames are compared one with the next (0388c64)."""
FLASH_MIN_VARIANCE = 50.0
"""Luma variance per grid value of the picture before under which it has no structure to fit (028aacd)."""
FLASH_MIN_STEP = 4.0
"""Mean change per grid value (levels) under which a frame is the same picture, not a flash of it (028aacd)."""

PALETTE_QUANTILES = 16
"""Quantiles per colour channel in a frame's palette (:func:`palette`)."""
PALETTE_JUMP = 22.0
"""Mean palette change from which a change that comes back is an impact frame: flashes measured 23.2 and more, a
speed-lined action frame of the synthetic episodes 20.5 (f8101af)."""
PALETTE_RETURN = 0.4
"""Largest share of the jump left once the palette comes back (:func:`palette_flash`; cc87c4b)."""
COVER_LEVELS = 15.0
"""Luma change of a 9x16 grid value from which it counts as changed in :func:`covers` (cc87c4b)."""
COVER_SHARE = 0.6
"""Share of the 9x16 grid that must change for a palette jump to be worth testing (:func:`covers`; cc87c4b)."""

TRANSIENT_STEP = 4.0
"""Change of the 9x16 colour grid (levels) from which a change that comes back is a flash or a smear: the shot
detector's value since 028aacd."""
TRANSIENT_RETURN = 0.5
"""Largest share of that change left once the picture comes back (:func:`transient`; 028aacd)."""


def photometric(grid: np.ndarray, min_fit: float = FLASH_MIN_FIT) -> np.ndarray:
    """Frames that are a brightness/colour transform of the previous one (a flash, not a new picture).

    Per YCbCr channel, fits ``frame = a * previous + b`` over the 9x16 grid: an inverted frame
    fits with a < 0, a white, black or coloured tint with 0 < a < 1, a new shot does not fit.
    Luma decides; chroma channels of near-grey pictures carry no structure to fit. Every operation
    is per frame pair, so batch by batch equals all frames at once.

    Args:
        grid: (n, 9 * 16 * 3) float32 YCbCr grids of consecutive frames.
        min_fit: Share of the luma variance the fit must explain.

    Returns:
        (n,) booleans; frame 0 has no frame before it and is False.
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
    fit = 1 - residual[:, 0] / np.maximum(total[:, 0], 1e-6)
    structured = var[:, 0] > FLASH_MIN_VARIANCE * pc.shape[1]
    moved = np.abs(cur - prev).mean((1, 2)) > FLASH_MIN_STEP
    out[1:] = structured & moved & _flash_fit(slope[:, 0], fit, min_fit)
    return out


def altered(ref_grid: np.ndarray, grid: np.ndarray, min_fit: float = FLASH_MIN_FIT) -> bool:
    """Blank, or ``grid`` is ``a * ref_grid + b`` with ``a`` far from 1: the one-frame form of :func:`photometric`.

    The animation meter compares each frame with its reference (the last frame that was not altered),
    on luma only, in float64.

    Args:
        ref_grid: (9, 16) float32 mean luma of the reference.
        grid: (9, 16) float32 mean luma of the frame.
        min_fit: Share of the variance the fit must explain.
    """
    mean, std = cv2.meanStdDev(grid)  # every frame: OpenCV's statistics of 9x16 values take 9 us, numpy's 50
    if blank(std[0, 0], mean[0, 0]):
        return True
    if (
        cv2.meanStdDev(ref_grid)[1][0, 0] ** 2 < FLASH_MIN_VARIANCE
        or cv2.norm(grid, ref_grid, cv2.NORM_L1) <= FLASH_MIN_STEP * grid.size
    ):
        return False
    slope, fit = affine_fit(ref_grid.ravel().astype(np.float64), grid.ravel().astype(np.float64))
    return bool(_flash_fit(slope, fit, min_fit))


@overload
def _flash_fit(slope: float, fit: float, min_fit: float) -> bool: ...
@overload
def _flash_fit(slope: np.ndarray, fit: np.ndarray, min_fit: float) -> np.ndarray: ...
def _flash_fit(slope: float | np.ndarray, fit: float | np.ndarray, min_fit: float) -> bool | np.ndarray:
    """The fit explains the picture and its gain is off 1 by more than :data:`FLASH_GAIN_STEP`."""
    return (fit >= min_fit) & (abs(slope - 1) > FLASH_GAIN_STEP)  # type: ignore[operator]


def tinted(ref_colour: np.ndarray, colour: np.ndarray, min_fit: float = FLASH_MIN_FIT) -> bool:
    """Each colour channel of ``colour`` is ``a_c * ref_colour + b_c``, and one gain is far from 1: a tint.

    A red-orange impact frame keeps red, halves green and quarters blue: over a picture that is not grey
    the luma of the result is no longer an affine function of the luma before (:func:`altered` misses it),
    while every channel still is.

    Args:
        ref_colour, colour: (9, 16, 3) float32 mean colours of the reference and the frame.
    """
    if cv2.norm(colour, ref_colour, cv2.NORM_L1) <= FLASH_MIN_STEP * colour.size:
        return False
    gains = []
    for c in range(3):
        ref, cur = ref_colour[..., c].ravel().astype(np.float64), colour[..., c].ravel().astype(np.float64)
        if ref.var() < FLASH_MIN_VARIANCE:
            continue  # a channel without structure says nothing
        slope, fit = affine_fit(ref, cur)
        if fit < min_fit:
            return False
        gains.append(slope)
    return len(gains) >= 2 and max(abs(g - 1) for g in gains) > FLASH_GAIN_STEP


def affine_fit(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Slope of the least-squares line ``cur = a * ref + b`` and the share of variance it explains.

    Args:
        ref, cur: Equal-length float64 vectors.

    Returns:
        ``(a, share)``; ``(1.0, 0.0)`` when ``ref`` is constant.
    """
    pc, cc = ref - ref.mean(), cur - cur.mean()
    var = float(pc @ pc)
    if var < 1e-6:
        return 1.0, 0.0
    slope = float(pc @ cc) / var
    residual = float(((cc - slope * pc) ** 2).sum())
    return slope, 1 - residual / max(float(cc @ cc), 1e-6)


def palette(rgb: np.ndarray) -> np.ndarray:
    """Per-channel quantiles of a 64x36 copy: where the colours are does not matter, only which.

    Args:
        rgb: (h, w, 3) uint8 frame.

    Returns:
        (PALETTE_QUANTILES, 3) float32 values.
    """
    small = cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA).reshape(-1, 3)
    picks = ((np.arange(PALETTE_QUANTILES) + 0.5) * len(small) / PALETTE_QUANTILES).astype(int)
    out = np.empty((PALETTE_QUANTILES, 3), np.float32)
    for c in range(3):  # the value at each sorted position, from the cumulative histogram (no sort)
        cumulative = np.cumsum(np.bincount(small[:, c], minlength=256))
        out[:, c] = np.searchsorted(cumulative, picks, side="right")
    return out


def grid_palette(grid: np.ndarray) -> np.ndarray:
    """The colours of colour grids, not their places: each channel's cell values sorted.

    Args:
        grid: (..., cells * 3) interleaved colour grids (the shot detector's 9x16 YCbCr grid).

    Returns:
        (..., cells, 3) float32, ascending along the cells.
    """
    cells = np.asarray(grid, dtype=np.float32).reshape(*np.shape(grid)[:-1], -1, 3)
    return np.sort(cells, axis=-2)


def palette_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How far apart two :func:`grid_palette` results are: the mean absolute difference, in levels.

    A character moving, or a camera moving over one set, keeps the colours and changes this little;
    a cut to another set or lighting changes it. Pools of several frames compare too: pass the
    palette of their cells together (the grids of the frames stacked, then sorted).
    """
    return np.abs(np.asarray(after) - np.asarray(before)).mean(axis=(-2, -1))


def covers(ref_grid: np.ndarray, grid: np.ndarray) -> bool:
    """The brightness changed nearly everywhere (a flash does; a character leaving the frame does not)."""
    return float((np.abs(grid - ref_grid) > COVER_LEVELS).mean()) >= COVER_SHARE


def palette_flash(ref_palette: np.ndarray, frame_palette: np.ndarray, ahead: list[np.ndarray]) -> bool:
    """The colours jump (inverted, tinted, white, black) and the next frames bring them back.

    Measured on the palette (per-channel quantiles), which a character moving on ones barely
    changes but a flash overturns; a cut to another palette does not come back.

    Args:
        ref_palette: Palette of the picture before.
        frame_palette: Palette of the frame.
        ahead: Palettes of the next frames (up to :data:`MAX_FLASH_RUN`).
    """
    step = float(np.abs(frame_palette - ref_palette).mean())
    if step < PALETTE_JUMP or not ahead:
        return False
    back = min(float(np.abs(p - ref_palette).mean()) for p in ahead)
    return back < PALETTE_RETURN * step


def transient(changes: np.ndarray) -> np.ndarray:
    """Frames after which the picture comes back within :data:`MAX_FLASH_RUN` frames (flashes, smears): not new shots.

    Args:
        changes: (n, MAX_FLASH_RUN + 1) distance of each frame to the 1, 2, ... frames before it
            (the first frame standing in before it).

    Returns:
        (n,) booleans; frame 0 is False.
    """
    n = len(changes)
    out = np.zeros(n, dtype=bool)
    for i in range(1, n):
        step = changes[i, 0]
        back = min(changes[i + j, j] for j in range(1, MAX_FLASH_RUN + 1) if i + j < n) if i + 1 < n else step
        out[i] = step > TRANSIENT_STEP and back < TRANSIENT_RETURN * step
    return out


# -- held ------------------------------------------------------------------------------------------

DRAWING_BLOCK_PX = 4
"""Block side (analysis pixels) of the animation meter's held test: sakurasou's lip flaps reach 14 levels in a 4x4
block but 5.4-5.8 in an 8x8 one."""
DRAWING_HELD_LEVELS = 8.5
"""Mean luma change of a 4x4 block from which a drawing changed: on video2x_sample_output_sakurasou.mp4 it parts the
eye's new drawings from its held frames best (34 disagreements in 450 pairs; 8x8 blocks at their best: 55)."""
AFTER_FLASH_FACTOR = 2.0
"""The drawing held test's levels are this many times higher on the first frame after an impact frame: the encoder
redraws the picture out of the flash, and its noise there is stronger (seed 109's held drawing after a white frame
changed 8.5 levels in a few blocks; a lip flap changes 30 and more)."""
FRAME_BLOCK_PX = 8
"""Block side (analysis pixels) of the frame-diff stage's held test: a lip flap is small but strong, encoder noise
spread out and weak (the frame mean found 27 of the about 53 images of realesrgan_onepiece_demo.mp4)."""
FRAME_HELD_LEVELS = 6.0
"""Mean luma change of an 8x8 block from which a frame is not held: x264 noise on held synthetic frames stays <= 2.9,
the faintest new image reaches 12.4; on real clips 4-8 counts the images SOURCES.md lists (53 in
realesrgan_onepiece_demo.mp4, 128 in anime4k_web_input_popteamepic.mp4)."""


def block_means(x: np.ndarray, size: int) -> np.ndarray:
    """Mean of every ``size`` x ``size`` block of a (h, w) picture (partial blocks at the edges are dropped)."""
    h, w = x.shape
    h, w = h - h % size, w - w % size
    return cv2.resize(x[:h, :w], (w // size, h // size), interpolation=cv2.INTER_AREA)


def changed_blocks(blocks: np.ndarray, levels: float) -> np.ndarray:
    """The blocks whose mean change reaches ``levels``."""
    return blocks >= levels


def held(block_change: np.ndarray | float, levels: float) -> bool:
    """No block changed by ``levels`` or more: the picture is held.

    Args:
        block_change: The mean change of every block (:func:`block_means` of the absolute
            difference), or the largest of them (the frame-diff stage pools its 8x8 blocks with
            torch on its device, edge blocks included, and passes the largest).
        levels: :data:`DRAWING_HELD_LEVELS` (4x4 blocks), :data:`FRAME_HELD_LEVELS` (8x8 blocks)
            or a caller's setting.
    """
    largest = block_change.max() if isinstance(block_change, np.ndarray) else block_change
    return bool(largest < levels)


# -- fade ------------------------------------------------------------------------------------------

RAMP_SPAN = 4
"""Frames beside a blank run (shots) or a fade boundary (analysis) where a fade's ramp or blank frames are looked for
(028aacd, f8101af)."""
RAMP_DROP = 0.7
"""Contrast ratio under which the frames next to a short blank run ramp into it, a fade and not a flash (028aacd)."""
RAMP_CONTRAST = 1.04
"""Least contrast ratio of a frame's neighbour further from the blank to the frame, for the frame to be on the ramp
(cc87c4b)."""
RAMP_TOWARD = 0.5
"""Least step (levels) toward the blank's brightness of a ramp frame from its neighbour, since a drawing on ones can
lose contrast from one frame to the next without dimming (f8101af)."""
MAX_RAMP = 12
"""Most frames of a fade's ramp on one side of its boundary (cc87c4b)."""


def fade_run(frames: int) -> bool:
    """A run of ``frames`` blank or altered frames is a fade: longer than :data:`MAX_FLASH_RUN`."""
    return frames > MAX_FLASH_RUN


def contrast_ramp(std: np.ndarray, start: int, end: int) -> bool:
    """The picture dims into the blank run ``[start, end)`` or comes out of it.

    The contrast (luma spread) of the last frame before the run is under :data:`RAMP_DROP` of the
    one :data:`RAMP_SPAN` frames earlier, or the same after the run.

    Args:
        std: Luma standard deviation of every frame.
        start, end: The run.
    """
    before = std[max(0, start - RAMP_SPAN) : start]
    after = std[end : end + RAMP_SPAN]
    ramp_out = len(before) >= RAMP_SPAN - 1 and before[-1] < RAMP_DROP * before[0]
    ramp_in = len(after) >= RAMP_SPAN - 1 and after[0] < RAMP_DROP * after[-1]
    return bool(ramp_out or ramp_in)


class Grids(Protocol):
    """Frames' 9x16 luma grids, read one frame at a time."""

    def __len__(self) -> int: ...

    def __getitem__(self, frame: int) -> np.ndarray: ...


def fade_ramp(grid: Grids, boundary: int, step: int) -> slice:
    """The frames next to a fade boundary that are a dimmed or brightened copy of the clean frame beyond.

    Walking away from the boundary (``step`` -1: back, +1: forward), the fade's own blank frames
    (:func:`flat`) and then every frame with less contrast than its neighbour further from the
    blank (:data:`RAMP_CONTRAST`) and nearer the blank's brightness (:data:`RAMP_TOWARD`), up to
    :data:`MAX_RAMP` frames.

    Args:
        grid: The frames' luma grids (float32).
        boundary: First frame after the fade boundary.
        step: -1 for the frames before it, +1 for the frames from it on.
    """
    n = len(grid)
    frames = range(boundary - 1, -1, -1) if step < 0 else range(boundary, n)
    ramp: list[int] = []
    reach = range(max(0, boundary - RAMP_SPAN), min(n, boundary + RAMP_SPAN))
    near = [float(grid[k].mean()) for k in reach if flat(grid[k].std())]
    blank_level = near[0] if near else None  # the fade's blank brightness (the boundary can be off by one)
    for i in frames:
        std = float(grid[i].std())
        if flat(std):  # the fade's own blank frames
            ramp.append(i)
            blank_level = float(grid[i].mean()) if blank_level is None else blank_level
            continue
        j = i + step
        if not 0 <= j < n or flat(float(grid[j].std())):
            if ramp and len(ramp) < MAX_RAMP:
                ramp.append(i)
                continue
            break
        if _on_ramp(grid[i], grid[j], std, blank_level) and len(ramp) < MAX_RAMP:
            ramp.append(i)
            continue
        break
    if not ramp:
        return slice(0, 0)
    return slice(min(ramp), max(ramp) + 1)


def _on_ramp(frame: np.ndarray, beyond: np.ndarray, std: float, blank_level: float | None) -> bool:
    """``frame`` has less contrast than its neighbour further from the blank and is nearer the blank's brightness."""
    sign = 1 if blank_level is not None and blank_level > 128 else -1
    toward = 1.0 if blank_level is None else float(frame.mean() - beyond.mean()) * sign
    return float(beyond.std()) > RAMP_CONTRAST * std and toward > RAMP_TOWARD
