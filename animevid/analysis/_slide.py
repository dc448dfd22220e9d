"""Is a new drawing an earlier one, seen again over a background that slid on meanwhile?

A walk cycle in place while the camera follows the character: the cel stays where it is on the screen
and the background slides behind it, so when a drawing of the cycle comes round, the picture around it
has moved by ``D``, the background's move since that drawing was last seen. Whole frames then differ
everywhere, and :class:`~animevid.analysis._measure.DrawingMemory` compares whole frames. Here the earlier
picture is compared with the new one both as it was (the cel, which stayed) and moved by ``D`` (the
background): a pixel that either explains is unchanged. The only other pixels are the strip of background
that the moved cel uncovered, ``|D|`` wide on the ``+D`` side of the cel; they are left out (a one-sided
dilation of the pixels that only "as it was" explains, the cel's lines). The test runs both ways (old onto
new and new onto old): each leaves out another strip, so a change hidden in one strip shows in the other.

``D`` comes from the background's position that the meter's per-frame moves add up to (the *prior*), which
runs short of the true move (by up to 40 % on the follow_walk case: each frame's layered estimate leans
towards the cel, which does not move). So ``D`` is measured again: the highest phase-correlation peak along
the prior's direction, away from the still cel's peak at 0, then refined by a short search on whole pixels
explained.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from animevid.signals import block_means

SLIDE_MIN_PX = 2.5
"""Smallest background move (analysis pixels) between two views of a drawing for the sliding comparison: under
it the ordinary comparison's blocks already absorb the move; also the radius around 0 where the phase
correlation's peak is the still cel's, not the background's (the follow_walk case's walk bobs by 2 px)."""
SLIDE_MAX_PX = 32.0
"""Largest background move (analysis pixels, an eighth of a 256-px frame) between two views of a drawing for
the sliding comparison: the strip it leaves out beside the cel is as wide, and a wider one hides too much of
what surrounds the cel. The follow_walk case needs up to 27 (a drawing last seen two periods of its cycle
before); on pyscenedetect_issue-236-split-copy.mkv (a boat ride the camera follows, hair blowing, drawn anew
on most frames) drawings 17 frames apart, 62 px of background, matched with the whole strip beside the
boat's riders left out, which is not a comparison."""
MOVED_PX = 0.5
"""Smallest background move (analysis pixels) for which the sliding comparison is worth making: under it
:class:`~animevid.analysis._measure.DrawingMemory`'s own comparison has already been made."""
SLIDE_SAME_BLOCKS = 4
"""Most 4x4 blocks, both ways together, left unexplained by the earlier drawing for the new frame to show it
again (the drawing on screen, compared with the frame after it, must leave none). Set on the follow_walk
case, seeds 1-3: a drawing coming round leaves 0-3 (sub-pixel lines at the cel's outline), another walk phase
12 or more where its legs or arm show (seeds 1 and 2; on seed 3 two phases differ only by leg lines a few
pixels apart, dark on a dark ground, and leave 0 at any setting); seeds 4-6, held out, leave 0-4 for the same
drawing."""
BACKGROUND_SHARE = 0.05
"""Share of each outer quarter of the frame (left, right, top, bottom) that only the moved picture must explain
for the moved layer to be the background: the meter's ``LAYER_SHARE`` (:mod:`animevid.analysis._measure`) by
the same reasoning, asked of every side; it keeps a character drifting over a still background (the synthetic
``motion`` shots, where the meter's layered test also fires) from matching its earlier drawings moved along."""
PRIOR_SPAN = (0.6, 2.2)
"""Range, as multiples of the prior's length, searched along its direction for the background's move: the
summed per-frame moves ran 60-100 % of the true move on the follow_walk case (the meter's layered shifts
lean towards the still cel)."""
PRIOR_ACROSS = 0.25
"""Width searched across the prior's direction, as a share of its length (plus 3 pixels): a per-frame
estimate drifts sideways (0.7 px a frame in y on a horizontal slide in the follow_walk case)."""
REFINE_PX = 2.0
"""Reach (analysis pixels, 0.5-px steps) of the search that refines the phase correlation's move: its peak
was up to 1.5 px off on seed 5 of the follow_walk case, where the ground's dots and the buildings' edges
disagree."""

_windows: dict[tuple[int, int], np.ndarray] = {}


def slid_changes(old: np.ndarray, cur: np.ndarray, prior: tuple[float, float], levels: float) -> int | None:
    """4x4 blocks that the drawing ``old`` (a float32 luma frame) leaves unexplained in ``cur``, both ways
    together, once its background is moved on (see the module docstring); None when the background did not
    move. ``prior`` (analysis pixels, old to new) is measured again when it is :data:`SLIDE_MIN_PX` or more
    (views of a drawing a cycle apart), only refined when less (the frame before)."""
    if math.hypot(*prior) * PRIOR_SPAN[0] > SLIDE_MAX_PX:
        return None
    shift = background_shift(old, cur, prior) if math.hypot(*prior) >= SLIDE_MIN_PX else prior
    if shift is None:
        return None
    dx, dy = _refined(old, cur, *shift, levels)
    if not MOVED_PX <= math.hypot(dx, dy) <= SLIDE_MAX_PX or not _behind(old, cur, dx, dy, levels):
        return None
    return int(_one_way(old, cur, dx, dy, levels).sum() + _one_way(cur, old, -dx, -dy, levels).sum())


def background_shift(old: np.ndarray, cur: np.ndarray, prior: tuple[float, float]) -> tuple[float, float] | None:
    """The background's move from ``old`` to ``cur``: the highest phase-correlation peak in a band along
    ``prior`` (:data:`PRIOR_SPAN`, :data:`PRIOR_ACROSS`) and at least :data:`SLIDE_MIN_PX` from 0, with a
    centroid for the fraction; None for a prior too short to search along."""
    length = math.hypot(*prior)
    if length < 1.0:
        return None
    surface = _correlation(old, cur)
    h, w = surface.shape
    ys, xs = np.mgrid[-(h // 2) : h - h // 2, -(w // 2) : w - w // 2]
    ux, uy = prior[0] / length, prior[1] / length
    along = xs * ux + ys * uy
    across = np.abs(ys * ux - xs * uy)
    allowed = (
        (along >= PRIOR_SPAN[0] * length)
        & (along <= PRIOR_SPAN[1] * length + 2)
        & (across <= PRIOR_ACROSS * length + 3)
        & (np.hypot(xs, ys) >= SLIDE_MIN_PX)
    )
    iy, ix = np.unravel_index(int(np.argmax(np.where(allowed, surface, -np.inf))), surface.shape)
    if not (0 < iy < h - 1 and 0 < ix < w - 1):
        return float(xs[iy, ix]), float(ys[iy, ix])
    patch = surface[iy - 1 : iy + 2, ix - 1 : ix + 2]
    patch = np.maximum(patch - patch.min(), 0.0)
    total = float(patch.sum()) or 1.0
    fy, fx = np.mgrid[-1:2, -1:2]
    return float(xs[iy, ix] + (patch * fx).sum() / total), float(ys[iy, ix] + (patch * fy).sum() / total)


def _correlation(old: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """The phase-correlation surface of ``old`` onto ``cur``, zero shift at the centre (OpenCV's
    phaseCorrelate gives only its highest peak, which is the still cel's)."""
    h, w = cur.shape
    window = _windows.get((h, w))
    if window is None:
        window = _windows[(h, w)] = cv2.createHanningWindow((w, h), cv2.CV_32F)
    a = cv2.dft((old - float(old.mean())) * window, flags=cv2.DFT_COMPLEX_OUTPUT)
    b = cv2.dft((cur - float(cur.mean())) * window, flags=cv2.DFT_COMPLEX_OUTPUT)
    cross = cv2.mulSpectrums(b, a, 0, conjB=True)
    cross = cross / (cv2.magnitude(cross[..., 0], cross[..., 1]) + 1e-6)[..., None]
    return np.fft.fftshift(cv2.idft(cross, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE))


def _refined(old: np.ndarray, cur: np.ndarray, dx: float, dy: float, levels: float) -> tuple[float, float]:
    """The move near (dx, dy) that leaves the fewest pixels explained neither as they were nor moved
    (:data:`REFINE_PX` along x, then half that along y)."""
    changed = cv2.absdiff(cur, old) >= levels

    def unexplained(x: float, y: float) -> int:
        return int(np.count_nonzero(changed & (cv2.absdiff(cur, _shifted(old, x, y)) >= levels)))

    best = (unexplained(dx, dy), dx, dy)
    for step in np.arange(-REFINE_PX, REFINE_PX + 0.01, 0.5):
        best = min(best, (unexplained(dx + step, dy), dx + step, dy))
    bx = best[1]
    for step in np.arange(-REFINE_PX / 2, REFINE_PX / 2 + 0.01, 0.5):
        best = min(best, (unexplained(bx, dy + step), bx, dy + step))
    return best[1], best[2]


def _one_way(old: np.ndarray, cur: np.ndarray, dx: float, dy: float, levels: float) -> np.ndarray:
    """Blocks of ``cur`` explained neither by ``old`` as it was nor by ``old`` moved by (dx, dy), outside the
    strip the moved cel uncovers and the border the move brings in."""
    soft_old, soft_cur = cv2.GaussianBlur(old, (3, 3), 0), cv2.GaussianBlur(cur, (3, 3), 0)
    moved = cv2.GaussianBlur(_shifted(old, dx, dy), (3, 3), 0)
    kernel = np.ones((3, 3), np.uint8)
    # the moved picture through a 3x3 min/max envelope (sub-pixel resampling of ink lines); the cel as it was
    # needs none: it did not move
    outside = np.maximum(np.maximum(cv2.erode(moved, kernel) - soft_cur, soft_cur - cv2.dilate(moved, kernel)), 0)
    residual = np.minimum(cv2.absdiff(soft_old, soft_cur), outside)
    cel = (cv2.absdiff(cur, old) < levels) & (cv2.absdiff(cur, _shifted(old, dx, dy)) >= levels)
    strip = cv2.dilate(cv2.dilate(cel.astype(np.uint8), _trail(dx, dy)), kernel).astype(bool)
    blocks = block_means(np.where(strip, 0.0, residual).astype(np.float32), 4)
    return (blocks >= levels) & _inside(blocks.shape, dx, dy)


def _behind(old: np.ndarray, cur: np.ndarray, dx: float, dy: float, levels: float) -> bool:
    """The layer that moved is the one behind, all round the frame: in each outer quarter (left, right, top,
    bottom), what only the move explains (blocks that changed and that the moved picture matches) covers
    :data:`BACKGROUND_SHARE` of it; and over the four, it outnumbers what only the unmoved picture explains.
    A character drifting over a still background (a bust that reaches the top and bottom quarters) moves on
    one side of the frame only, its background stays on the others."""
    changed = block_means(cv2.absdiff(cur, old), 4) >= levels
    matched = block_means(cv2.absdiff(cur, _shifted(old, dx, dy)), 4) < levels
    slid, stayed = changed & matched, ~changed & ~matched
    h, w = slid.shape
    sides = [np.s_[:, : w // 4], np.s_[:, w - w // 4 :], np.s_[: h // 4, :], np.s_[h - h // 4 :, :]]
    if any(float(slid[side].mean()) < BACKGROUND_SHARE for side in sides):
        return False
    ring = np.ones((h, w), dtype=bool)
    ring[h // 4 : h - h // 4, w // 4 : w - w // 4] = False
    return int((slid & ring).sum()) > int((stayed & ring).sum())


def _trail(dx: float, dy: float) -> np.ndarray:
    """Dilation kernel that spreads a pixel along (dx, dy) from itself: the strip a cel moved by it uncovers."""
    reach = math.ceil(max(abs(dx), abs(dy))) + 1
    kernel = np.zeros((2 * reach + 1, 2 * reach + 1), np.uint8)
    cv2.line(kernel, (reach, reach), (reach - round(dx), reach - round(dy)), 1, 1)
    return kernel


def _inside(shape: tuple[int, ...], dx: float, dy: float) -> np.ndarray:
    """Blocks away from the frame's edge on the side a move by (dx, dy) brings in (one block elsewhere)."""
    h, w = shape[:2]
    inside = np.zeros((h, w), dtype=bool)
    inside[1:-1, 1:-1] = True
    bx, by = math.ceil((abs(dx) + 2) / 4), math.ceil((abs(dy) + 2) / 4)
    if dx > 0:
        inside[:, :bx] = False
    else:
        inside[:, w - bx :] = False
    if dy > 0:
        inside[:by, :] = False
    else:
        inside[h - by :, :] = False
    return inside


def _shifted(picture: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``picture`` moved by (dx, dy) (bilinear; the edge repeated where the move brings in no picture)."""
    h, w = picture.shape
    return cv2.getRectSubPix(picture, (w, h), ((w - 1) / 2 - dx, (h - 1) / 2 - dy))
