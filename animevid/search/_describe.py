"""Frame descriptors: what is stored per indexed frame and how a query region is described.

Two things are kept per indexed frame, both from the analysis frame (any width, e.g. 256 px):

- a **thumbnail**: the frame in grey at 128x72 pixels (9,216 bytes), for the finer check (run at
  64x36 on every candidate, then, aligned to a fraction of a pixel, at 128x72 on the few that tie);
- a **descriptor**: the 63 lowest 2-D DCT frequencies (DC left out) of the *core* of the frame
  (its central 60 % in each direction) in grey at 32x32, L2-normalised, padded to 64 numbers.

The core is what survives: a crop that keeps 80 % of each side, wherever it sits, still holds the
core, and burned-in subtitles and letterbox bars mostly fall outside it. Dropping DC and
normalising makes the descriptor blind to brightness and contrast shifts; luma makes it nearly
blind to hue shifts. Mirroring a picture negates the DCT coefficients of odd horizontal
frequency, so a mirrored query costs a sign flip, not a second transform.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

THUMB_SIZE = (128, 72)
"""(width, height) of the stored grey thumbnails behind the finer check."""
COARSE_SIZE = (64, 36)
"""(width, height) the finer check first runs at, on every candidate."""
DESCRIPTOR_DIM = 64
"""Numbers per descriptor (63 DCT coefficients and one zero)."""
FRAME_ASPECT = 16 / 9
"""Shape of TV anime frames (width / height), for guesses of where a frame lies in a query."""
CORE_MARGIN = 0.2
"""Share of the frame's width and height left out on every side of the described core."""
SHIFT_MARGIN = 0.06
"""Share of the query trimmed on every side for the shift-tolerant part of the finer check."""
ALIGN_BLUR = 5
"""Gaussian kernel (pixels, sigma 1.1) both pictures are smoothed with for the sub-pixel alignment and its
score. Unsmoothed, alignment stalls in local optima and the score is dominated by resampling (popteamepic
crops peaked 0.2 s off the true frame); smoothed, the true frame of a held drawing with confetti scores
0.997 against 0.993 for its neighbours."""
COVER_BLOCKS = (8, 6)
"""(columns, rows) of blocks a matched pair is split into to find what covers the picture (stickers, a player's
bars, a play symbol): blocks are dropped whole, not pixels, so that a wrong frame cannot drop its way to a fit."""
COVER_ERROR = 4.0
"""A block is covered when its squared difference (both pictures standardised on the kept blocks) is this many
times the median block's."""
COVER_MOST = 0.4
"""Most of the blocks that may be dropped as covered (the issue's overlays cover up to a third of the frame)."""
COVER_FIT = 0.9
"""Blocks are dropped only when what is left fits at least this well: a wrong frame that differs everywhere
gains nothing by dropping its worst blocks."""
COVER_COST = 0.02
"""Taken off a score computed with blocks dropped, plus :data:`COVER_SLOPE` times the share dropped, so that a
query nothing covers keeps its plain score and a covered one counts as less certain the more is hidden."""
COVER_SLOPE = 0.1
COVER_CHECKS = 3
"""Scales of a query scored again with covered blocks left out, each at its better placement (whole or centre)
by plain correlation, the best scales first: a cover lowers both placements of a scale alike, and checking
every placement had cost a fifth of a hard query's time."""
COVER_MIN_SHARE = 0.7
"""Only a query showing at least this share of the frame's width is checked for covers; a part of the frame
(a reaction crop) is compared whole: its blocks are too small to tell a cover from a difference."""
ALIGN_STRETCH = (0.8, 1.25)
"""Least and most scale an alignment may give the template, which :func:`match_score` already sized (within 5 %):
an alignment outside collapsed it onto a plain patch of a wrong frame (out-of-library queries fitted 0.95-0.99
on 1-6 % of a frame), so the start is kept."""
_ALIGN_STOP = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 15, 1e-3)
_DCT_SIDE = 32
_KEEP = 8
# DCT coefficient (row v, column u) with u odd changes sign when the picture is mirrored.
_MIRROR_SIGNS = np.array(
    [[-1.0 if u % 2 else 1.0 for u in range(_KEEP)] for _ in range(_KEEP)], dtype=np.float32
).ravel()[1:]


@dataclass(frozen=True)
class Placement:
    """Where a query picture sits inside the original frame (a crop hypothesis)."""

    scale: float
    """Width (and height) of the query as a share of the original frame's, 0..1."""
    x: float
    """Left edge of the query in original frame widths."""
    y: float
    """Top edge of the query in original frame heights."""

    def __post_init__(self) -> None:
        if not 0.0 < self.scale <= 1.0 or not 0.0 <= self.x <= 1.0 - self.scale + 1e-6:
            raise ValueError(f"placement {self} does not fit inside the frame")


FULL = Placement(1.0, 0.0, 0.0)
"""The query is the whole frame."""


def grey(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) or (n, h, w, 3) uint8 RGB to grey (BT.601 luma), uint8, in one OpenCV call."""
    if rgb.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    n, h, w = rgb.shape[:3]
    stacked = np.ascontiguousarray(rgb).reshape(n * h, w, 3)
    return cv2.cvtColor(stacked, cv2.COLOR_RGB2GRAY).reshape(n, h, w)


def thumbnails(grey_frames: np.ndarray, size: tuple[int, int] = THUMB_SIZE) -> np.ndarray:
    """(n, h, w) uint8 grey frames to (n, height, width) uint8 thumbnails (area average)."""
    width, height = size
    return np.stack([cv2.resize(g, (width, height), interpolation=cv2.INTER_AREA) for g in grey_frames])


def dct_code(patch: np.ndarray) -> np.ndarray:
    """63 low DCT frequencies of a grey patch (any size), L2-normalised, plus one zero."""
    small = cv2.resize(patch, (_DCT_SIDE, _DCT_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    coefficients = cv2.dct(small)[:_KEEP, :_KEEP].ravel()[1:]
    norm = float(np.linalg.norm(coefficients))
    out = np.zeros(DESCRIPTOR_DIM, np.float32)
    if norm > 1e-3:  # a flat picture has no descriptor: it matches nothing rather than everything
        out[:63] = coefficients / norm
    return out


def frame_descriptors(grey_frames: np.ndarray) -> np.ndarray:
    """Descriptors of whole frames: (n, h, w) uint8 grey to (n, 64) float32."""
    h, w = grey_frames.shape[1:3]
    y0, y1 = round(h * CORE_MARGIN), round(h * (1 - CORE_MARGIN))
    x0, x1 = round(w * CORE_MARGIN), round(w * (1 - CORE_MARGIN))
    return np.stack([dct_code(g[y0:y1, x0:x1]) for g in grey_frames]).astype(np.float32)


def query_descriptor(grey_query: np.ndarray, placement: Placement) -> np.ndarray:
    """Descriptor of the original frame's core, cut out of a query under a crop hypothesis.

    Args:
        grey_query: The query picture (already trimmed of borders), grey uint8.
        placement: Where the query sits in the original frame.

    Returns:
        (64,) float32; all zeros when the core does not lie inside the query.
    """
    h, w = grey_query.shape
    s = placement.scale
    left, right = (CORE_MARGIN - placement.x) / s, (1 - CORE_MARGIN - placement.x) / s
    top, bottom = (CORE_MARGIN - placement.y) / s, (1 - CORE_MARGIN - placement.y) / s
    if left < -0.02 or top < -0.02 or right > 1.02 or bottom > 1.02:
        return np.zeros(DESCRIPTOR_DIM, np.float32)
    x0, x1 = max(0, round(left * w)), min(w, round(right * w))
    y0, y1 = max(0, round(top * h)), min(h, round(bottom * h))
    return dct_code(grey_query[y0:y1, x0:x1])


def mirrored(descriptors: np.ndarray) -> np.ndarray:
    """Descriptors of the horizontally mirrored pictures (sign flip of odd horizontal frequencies)."""
    out = descriptors.copy()
    out[..., :63] *= _MIRROR_SIGNS
    return out


def placements(scales: tuple[float, ...], step: float) -> list[Placement]:
    """Crop hypotheses: every scale, with the query's corner on a grid of ``step`` frame shares."""
    found: list[Placement] = []
    for scale in scales:
        room = 1.0 - scale
        offsets = np.linspace(0.0, room, max(1, round(room / step) + 1)) if room > 1e-6 else np.zeros(1)
        found.extend(Placement(scale, float(x), float(y)) for y in offsets for x in offsets)
    return found


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt(float((a * a).sum()) * float((b * b).sum())) + 1e-6))


def _standardised(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``picture`` less its mean, over its spread, both taken where ``mask`` is set."""
    mean, spread = cv2.meanStdDev(picture, mask=mask)
    return (picture - float(mean[0, 0])) / (float(spread[0, 0]) + 1e-6)


def _fit(query: np.ndarray, seen: np.ndarray, frame_width: int) -> float:
    """:func:`uncovered_score` for a query showing most of a frame ``frame_width`` wide, else the plain one."""
    if query.shape[1] >= COVER_MIN_SHARE * frame_width:
        return uncovered_score(query, seen)
    return _correlation(query, seen)


def uncovered_score(query: np.ndarray, seen: np.ndarray) -> float:
    """Normalised correlation of two float32 pictures of one size, with the blocks something covers left out.

    The pictures are split into :data:`COVER_BLOCKS`; standardised on the blocks kept so far, a block whose
    mean squared difference exceeds :data:`COVER_ERROR` times the median block's is covered (a sticker, a
    dark title bar, a play symbol: opaque things the frame does not have). At most :data:`COVER_MOST` of
    the blocks go, the worst first; two passes, so an overlay's pull on the mean and spread is undone. The
    score is the plain correlation, or, when what is left fits at least :data:`COVER_FIT`, that fit less
    :data:`COVER_COST` and :data:`COVER_SLOPE` times the share dropped, whichever is higher. A wrong frame
    differs everywhere, so few of its blocks stand out and what is left still fits badly.
    """
    plain = _correlation(query, seen)
    h, w = query.shape
    if plain >= 1 - COVER_COST:
        return plain
    cols, rows = COVER_BLOCKS
    mask: np.ndarray = np.ones((h, w), np.uint8)
    kept = np.ones(rows * cols, bool)
    for _ in range(2):
        difference = _standardised(query, mask) - _standardised(seen, mask)
        error = cv2.resize(difference * difference, (cols, rows), interpolation=cv2.INTER_AREA).ravel()
        order = np.argsort(error)  # the median from the same sort (np.median cost a third of this function)
        middle = len(order) // 2
        median = float(error[order[middle]]) if len(order) % 2 else float(error[order[middle - 1 : middle + 1]].mean())
        worst = order[::-1][: int(COVER_MOST * rows * cols)]
        kept = np.ones(rows * cols, bool)
        kept[worst[error[worst] > COVER_ERROR * median]] = False
        if kept.all():
            return plain
        mask = cv2.resize(kept.reshape(rows, cols).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    pixels = mask.astype(bool)
    fit = _correlation(query[pixels], seen[pixels])
    if fit < COVER_FIT:
        return plain
    return max(plain, fit - COVER_COST - COVER_SLOPE * float(1 - kept.mean()))


@dataclass(frozen=True)
class Match:
    """The best whole-pixel place of a query on a thumbnail."""

    score: float
    """Normalised correlation, -1..1 (1: the same picture up to brightness and contrast)."""
    scale: float
    """Share of the frame the query covers."""
    x: float
    """Left edge of the query in frame widths (below 0 when only its centre fits)."""
    y: float
    """Top edge of the query in frame heights."""
    scale_y: float | None = None
    """Height of the query as a share of the frame's, when it differs from ``scale`` (a part of the frame
    cut to its own shape); None: the same."""

    @property
    def height(self) -> float:
        """Share of the frame's height the query covers."""
        return self.scale if self.scale_y is None else self.scale_y


def match_score(
    query_thumb: np.ndarray, frame_thumb: np.ndarray, scales: tuple[float, ...], *, own_shape: bool = False
) -> Match:
    """The finer check: best normalised correlation of the query inside a stored thumbnail.

    The query, scaled to each hypothesised share of the frame, slides over the thumbnail at every
    whole-pixel offset (OpenCV template matching), so the crop position need not be known. Its
    centre (``SHIFT_MARGIN`` trimmed) slides too, which absorbs a few percent of camera pan
    between the query's frame and the nearest kept one.

    Args:
        query_thumb: The query in grey, float32, at the thumbnail's size.
        frame_thumb: A thumbnail, float32.
        scales: Shares of the frame's width the query may cover.
        own_shape: The query keeps its own shape (a part of the frame cut to any shape, at the frame's
            pixel aspect) instead of the frame's.

    Returns:
        The best match (score -1 when every part is flat).
    """
    height, width = frame_thumb.shape
    tall = query_thumb.shape[0] / query_thumb.shape[1] * width / height if own_shape else 1.0
    placed: list[tuple[Match, np.ndarray, np.ndarray]] = []
    for scale in scales:
        size = (max(8, round(width * scale)), max(8, round(height * scale * tall)))
        if size[1] > height or size[0] > width:
            continue
        if scale == 1.0 and not own_shape:
            template = query_thumb
        else:
            template = cv2.resize(query_thumb, size, interpolation=cv2.INTER_AREA)
        mx, my = round(size[0] * SHIFT_MARGIN), round(size[1] * SHIFT_MARGIN)
        for part, dx, dy in ((template, 0, 0), (template[my:-my, mx:-mx], mx, my)):
            if float(part.std()) < 1.0:
                continue
            result = np.nan_to_num(cv2.matchTemplate(frame_thumb, part, cv2.TM_CCOEFF_NORMED), nan=-1.0)
            _, value, _, (x, y) = cv2.minMaxLoc(result)
            ph, pw = part.shape
            scale_y = scale * tall if own_shape else None
            match = Match(min(float(value), 1.0), scale, (x - dx) / width, (y - dy) / height, scale_y)
            placed.append((match, part, frame_thumb[y : y + ph, x : x + pw]))
    return _best_fit(placed, width, Match(-1.0, scales[0], 0.0, 0.0))


def _best_fit(placed: list[tuple[Match, np.ndarray, np.ndarray]], frame_width: int, best: Match) -> Match:
    """The best of the placements (match, part, the thumbnail under it), ``best`` when none beats it: the better
    placement of each of the :data:`COVER_CHECKS` best scales by plain correlation is scored again with covered
    blocks left out (:func:`_fit`); the rest keep their plain score."""
    placed.sort(key=lambda item: -item[0].score)
    checked: set[float] = set()
    for match, part, seen in placed:
        score = match.score
        if match.scale not in checked and len(checked) < COVER_CHECKS:
            checked.add(match.scale)
            score = min(_fit(part, seen, frame_width), 1.0)
        if score > best.score:
            best = replace(match, score=score)
    return best


@dataclass(frozen=True)
class Alignment:
    """Where a query picture lies on a thumbnail, to a fraction of a pixel."""

    template: np.ndarray
    """The query in grey at the matched share of the thumbnail's size, float32."""
    warp: np.ndarray
    """(2, 3) float32 affine map from template pixels to thumbnail pixels."""


def align(query_grey: np.ndarray, frame_thumb: np.ndarray, start: Match) -> tuple[float, Alignment]:
    """The finer check to a fraction of a pixel: ECC affine alignment from a whole-pixel match.

    A crop's scale and offset are rarely whole thumbnail pixels; at 128x72 the half-pixel error
    costs more correlation (0.02-0.04) than the differences between neighbouring frames of a slow
    pan. OpenCV's enhanced correlation coefficient maximisation refines scale, shear and offset
    from the match of :func:`match_score` (at any thumbnail size).

    Args:
        query_grey: The query region in grey, uint8, at any size larger than the thumbnail.
        frame_thumb: A thumbnail, float32.
        start: Where the query matched to a whole pixel.

    Returns:
        (score, alignment); the score is :func:`aligned_score` at the alignment, -1..1.
    """
    height, width = frame_thumb.shape
    size = (max(8, round(width * start.scale)), max(8, round(height * start.height)))
    template = cv2.resize(query_grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    warp = np.array([[1, 0, start.x * width], [0, 1, start.y * height]], np.float32)
    return refine(Alignment(template, warp), frame_thumb)


def refine(start: Alignment, frame_thumb: np.ndarray) -> tuple[float, Alignment]:
    """ECC alignment of ``start``'s template on a thumbnail from ``start``'s warp; (score, alignment)."""
    try:
        _, warp = cv2.findTransformECC(  # type: ignore[call-overload]  # the stubs lack gaussFiltSize
            start.template, frame_thumb, start.warp.copy(), cv2.MOTION_AFFINE, _ALIGN_STOP, None, ALIGN_BLUR
        )
    except cv2.error:  # no convergence (a flat or unrelated picture): keep the start
        warp = start.warp
    stretch = np.linalg.svd(warp[:, :2], compute_uv=False)
    if stretch.min() < ALIGN_STRETCH[0] or stretch.max() > ALIGN_STRETCH[1]:  # collapsed onto a plain patch
        warp = start.warp
    aligned = Alignment(start.template, warp)
    return aligned_score(aligned, frame_thumb), aligned


def aligned_score(alignment: Alignment, frame_thumb: np.ndarray) -> float:
    """Normalised correlation of the template and the thumbnail resampled under the warp (both smoothed).

    The template's whole area counts: where the warp puts it outside the thumbnail, the edge
    pixels repeat, so a query cannot score better by sliding its hard parts off the frame.
    """
    th, tw = alignment.template.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    seen = cv2.warpAffine(frame_thumb, alignment.warp, (tw, th), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    a = cv2.GaussianBlur(seen, (ALIGN_BLUR, ALIGN_BLUR), 0)
    b = cv2.GaussianBlur(alignment.template, (ALIGN_BLUR, ALIGN_BLUR), 0)
    return _fit(b, a, frame_thumb.shape[1])
