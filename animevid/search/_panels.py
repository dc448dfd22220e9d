"""Split a screenshot made of several frames (side by side, stacked, a 2x2 grid) into its panels.

People post queries that put two to four anime frames in one picture, with or without gutters (straight
uniform bands of any colour between the frames) and sometimes an outer border. Each panel is searched on
its own. Three signals find the panels, on a grey copy scaled to at most :data:`_WORK_WIDTH` pixels wide:

1. a gutter: a run of full-length lines (rows or columns) with almost no spread along their length, of one
   colour, strictly inside the picture (a flat band at the edge is a border or a letterbox bar, not a gutter);
2. a seam: a line across which the picture jumps far more than neighbouring lines do, on most of the eight
   pieces the line is cut into (one strong horizon is strong on its whole length too, so a seam that leaves
   a single-frame shape is only believed when it forms a grid with seams across it);
3. the shape: a picture within :data:`_EVEN_TOLERANCE` of two or three 16:9 frames side by side or stacked
   is split evenly, at the strongest seam near each expected place.

Lines split full-width first, then each part full-height (or the other way round when rows do not split),
recursively, so a 2x2 grid gives four panels in reading order.
"""

from __future__ import annotations

import cv2
import numpy as np

from animevid.search._normalize import Box

_WORK_WIDTH = 480
"""The picture is scaled to at most this width first: enough to place a seam within 2 % of the size."""

_FLAT_STD = 6.0
"""A line is flat (border or gutter) when its grey spread along its length is under this: JPEG quality 70
leaves gutter lines at 0.5-4, while lines of anime pictures are above 8 (sky gradients included, because a
sky that is flat across the whole width is met as a border run at the edge, never as a gutter)."""

_GUTTER_CONTRAST = 0.3
"""A gutter's lines spread less than this fraction of the region's median line spread (dark scenes have
flat-looking bands inside the picture; a real gutter is far flatter than the pictures beside it)."""

_BESIDE_SPREAD = 12.0
"""The lines 3-6 away on both sides of a gutter must spread at least this much (pictures, not a flat patch)."""

_BESIDE_RATIO = 3.0
"""... and at least this many times the gutter's own spread."""

_SAME_COLOUR = 10.0
"""Flat lines whose mean colours (any RGB channel) differ by more than this belong to different runs."""

_GUTTER_MAX = 0.06
"""A gutter is at most this fraction of the picture's size across it (gutters are 0-5 %)."""

_PART_MIN = 0.15
"""A cut is only made when each side keeps at least this fraction of the region's extent."""

_SEGMENTS = 8
"""A seam line is cut into this many pieces; the jump must be strong on :data:`_SEGMENTS_STRONG` of them."""

_SEGMENTS_STRONG = 6
"""How many of the :data:`_SEGMENTS` pieces must show the jump (a lone edge crossing part of the frame fails)."""

_SEAM_RATIO = 3.0
"""On a piece, the jump must exceed this many times the typical jump of nearby lines on that piece."""

_SEAM_FLOOR = 6.0
"""... and exceed this many grey levels, so a jump within flat areas (tiny typical jumps) does not count."""

_SEAM_LINE_RATIO = 4.0
"""The whole line's jump must exceed this many times the typical jump of nearby lines."""

_MOST_SEAMS = 4
"""At most this many seams per region are weighed (each subset of them is tried as a split)."""

_NEARBY = 12
"""Typical jumps are the median over this many lines on each side of a candidate, less the closest two."""

_GRID_REACH = 0.05
"""A grid's middle seam lies within this fraction of the extent from the middle."""

_MIN_LINES = 16
"""Regions with fewer lines than this along an axis are not cut along it."""

_EVEN_TOLERANCE = 0.03
"""A picture within 3 % of the shape of 2 or 3 frames of 16:9 side by side (or stacked) is split evenly."""

_EVEN_SEARCH = 0.02
"""An even cut moves to the strongest jump within this fraction of the extent around its expected place."""

_FRAME_ASPECTS = (1.1, 2.45)
"""Width/height range of a single frame (4:3 to scope); a seam-only cut of such a picture must form a grid."""

_PANEL_ASPECTS = (1.15, 2.6)
"""Width/height range a panel left by a seam-only cut must have (crops of frames are 1.2-2.4)."""

_MIN_AREA = 0.15
"""Panels smaller than this fraction of the picture's area are dropped."""

_MIN_SIDE = 32
"""Panels with a side under this many pixels (full size) are dropped."""

_WIDE = 16 / 9
"""The aspect of one frame, for the even split."""

_SHAPES = ((0.52, 0.6), (1.1, 2.45))
"""Width/height ranges of one frame: portrait 9:16 (0.56), and 640x552 (1.16) or 4:3 to scope (2.39); halves
of a 4:3 frame (0.67) or of a 16:9 one (0.89 side by side, 3.56 stacked) are no frame's shape."""

_SHAPE_SLACK = 0.04
"""A panel (or a whole picture) has a frame's shape within this fraction of the ranges in :data:`_SHAPES`."""

_LAYOUTS = ((2, 2), (3, 1), (1, 3), (2, 1), (1, 2))
"""(rows, columns) of equal frames tried first: what people compose, the most panels first."""

_CUT_REACH = 2
"""A seam of equal frames lies within this many working lines (plus :data:`_CUT_SLACK`) of its place."""

_CUT_SLACK = 0.004
"""... plus this fraction of the extent (rounding when the frames were scaled before composing)."""

_SURE_RATIO = 3.0
"""A seam at an equal frames' place is sure when its jump is this many times the typical one nearby ..."""

_SURE_PIECES = 5
"""... on at least this many of the :data:`_SEGMENTS` pieces (true seams: 96 %; the middle of a single
frame: under 0.5 %, measured on the library's clips)."""

_WEAK_RATIO = 1.3
"""A picture that cannot be one frame (too wide or too tall) is split at equal frames' places that jump at
least this much (the place is known; similar neighbouring frames leave a faint seam)."""

_EDGE_SKIP = 0.05
"""Seams this close to a region's edge are not weighed against a faint cut (JPEG and bars make them)."""

_SURE = 99.0
"""The strength given to a gutter found at its equal frames' place."""

_RUN_MAX = 0.25
"""A flat run at an equal frames' place may be this wide: a gutter merged with the frames' pillar bars."""


def split_panels(rgb: np.ndarray) -> list[Box]:
    """Panels of a picture made of several frames, in reading order; [] for one frame.

    Args:
        rgb: (h, w, 3) uint8 picture.

    Returns:
        Boxes in ``rgb``'s pixels, rows top to bottom and left to right within a row; an empty list when
        the picture is one frame (letterboxed, pillarboxed or pasted on a plain background included).
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, _WORK_WIDTH / w)
    small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    colour = small.astype(np.float32)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    whole = (0, 0, grey.shape[1], grey.shape[0])
    region = _trim(grey, colour, whole, None)
    if region is None:
        return []
    cells = _equal_frames(grey, colour, [region, whole]) or _cells(grey, colour, region, axis=0, top=True)
    keep = [
        (round(x0 / scale), round(y0 / scale), min(w, round(x1 / scale)), min(h, round(y1 / scale)))
        for x0, y0, x1, y1 in cells
    ]
    keep = [b for b in keep if _big_enough(b, w, h)]
    return _reading_order(keep) if len(keep) >= 2 else []


def _big_enough(box: Box, w: int, h: int) -> bool:
    """At least :data:`_MIN_AREA` of the picture and :data:`_MIN_SIDE` pixels a side."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    return min(bw, bh) >= _MIN_SIDE and bw * bh >= _MIN_AREA * w * h


def _reading_order(boxes: list[Box]) -> list[Box]:
    """Rows top to bottom (boxes overlapping vertically by more than half share a row), then left to right."""
    rows: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: b[1]):
        row = rows[-1] if rows else None
        if row and min(box[3], row[0][3]) - max(box[1], row[0][1]) > 0.5 * (box[3] - box[1]):
            row.append(box)
        else:
            rows.append([box])
    return [b for row in rows for b in sorted(row, key=lambda b: b[0])]


def _lines(grey: np.ndarray, colour: np.ndarray, box: Box, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """The region as (lines, length) grey and (lines, length, 3) colour views: rows for axis 0, columns for 1."""
    x0, y0, x1, y1 = box
    g, c = grey[y0:y1, x0:x1], colour[y0:y1, x0:x1]
    return (g, c) if axis == 0 else (g.T, c.transpose(1, 0, 2))


def _flat_runs(g: np.ndarray, c: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Runs of flat lines of one colour: (start, end exclusive, mean colour)."""
    flat = g.std(axis=1) < _FLAT_STD
    means = c.mean(axis=1)
    runs: list[tuple[int, int, np.ndarray]] = []
    start = -1
    for i in range(len(flat) + 1):
        ends = i == len(flat) or not flat[i] or (start >= 0 and np.abs(means[i] - means[start]).max() > _SAME_COLOUR)
        if ends and start >= 0:
            runs.append((start, i, means[start:i].mean(axis=0)))
            start = -1
        if i < len(flat) and flat[i] and start < 0:
            start = i
    return runs


def _trim(grey: np.ndarray, colour: np.ndarray, box: Box, paint: np.ndarray | None) -> Box | None:
    """The box less flat runs at its four edges (of colour ``paint`` when given); None when nothing is left.

    Args:
        grey: (h, w) float32 picture.
        colour: (h, w, 3) float32 picture.
        box: The region to trim.
        paint: Mean colour a trimmed line must have, or None for any one colour per run.
    """
    edges = list(box)
    for axis in (0, 1):
        g, c = _lines(grey, colour, (edges[0], edges[1], edges[2], edges[3]), axis)
        n = g.shape[0]
        if n == 0:
            return None
        runs = [r for r in _flat_runs(g, c) if paint is None or np.abs(r[2] - paint).max() <= _SAME_COLOUR]
        head = next((r[1] for r in runs if r[0] == 0), 0)
        tail = next((n - r[0] for r in runs if r[1] == n), 0)
        if head + tail >= n:
            return None
        lo = 1 - axis  # rows (axis 0) move y0/y1, at indices 1 and 3
        edges[lo] += head
        edges[lo + 2] -= tail
    return edges[0], edges[1], edges[2], edges[3]


def _gutters(g: np.ndarray, c: np.ndarray, size: int) -> list[tuple[int, int, np.ndarray]]:
    """Flat runs strictly inside the region, thin enough for a gutter, leaving enough on both sides.

    Args:
        g: (lines, length) grey region.
        c: (lines, length, 3) colour region.
        size: The whole picture's size across these lines, for :data:`_GUTTER_MAX`.
    """
    n = g.shape[0]
    least = _PART_MIN * n
    spread = g.std(axis=1)
    flat = _GUTTER_CONTRAST * float(np.median(spread))
    thin = max(2.0, _GUTTER_MAX * size)
    found = []
    for a, b, paint in _flat_runs(g, c):
        if a < least or n - b < least or b - a > thin or spread[a:b].max() >= flat:
            continue
        beside = min(spread[max(0, a - 6) : a - 2].min(initial=1e9), spread[b + 2 : b + 6].min(initial=1e9))
        if beside >= max(_BESIDE_SPREAD, _BESIDE_RATIO * spread[a:b].max()):
            found.append((a, b, paint))
    return found


def _jumps(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line boundary: the jump across it, its strength against nearby lines, and how many pieces agree.

    The jump at line i compares lines i+1 and i-1 (so a seam blurred over one line by the scaling still
    shows whole) and lines i+2 and i-2, keeping the smaller.
    Returns (jump, ratio, strong pieces), each of length ``lines`` (0 at the two ends).
    """
    length = g.shape[1]
    bounds = np.linspace(0, length, _SEGMENTS + 1).astype(int)[:-1]
    widths = np.diff(np.append(bounds, length))
    near = np.add.reduceat(np.abs(g[2:] - g[:-2]), bounds, axis=1) / widths
    far = np.add.reduceat(np.abs(g[4:] - g[:-4]), bounds, axis=1) / widths
    # A thin drawn line jumps across three lines but not across five; a seam jumps across both.
    pieces = near.copy()
    pieces[1:-1] = np.minimum(near[1:-1], far)
    line = pieces.mean(axis=1)
    keep = np.r_[0 : _NEARBY - 2, _NEARBY + 3 : 2 * _NEARBY + 1]
    padded = np.pad(pieces, ((_NEARBY, _NEARBY), (0, 0)), mode="reflect")
    window = np.lib.stride_tricks.sliding_window_view(padded, 2 * _NEARBY + 1, axis=0)[..., keep]
    typical = np.median(window, axis=-1)
    strong = ((pieces > _SEAM_RATIO * typical) & (pieces > _SEAM_FLOOR)).sum(axis=1)
    ratio = line / (typical.mean(axis=1) + 1.0)
    zero = np.zeros(1)
    return np.r_[zero, line, zero], np.r_[zero, ratio, zero], np.r_[zero, strong, zero]


def _boundary(g: np.ndarray, centre: int) -> int:
    """Where a jump centred on line ``centre`` lies: before it or after it, whichever single step is larger."""
    before = np.abs(g[centre] - g[centre - 1]).mean()
    after = np.abs(g[centre + 1] - g[centre]).mean() if centre + 1 < g.shape[0] else -1.0
    return centre if before >= after else centre + 1


def _seams(g: np.ndarray) -> list[tuple[int, float]]:
    """Seams: (boundary, strength) of strong jumps consistent along the line, strongest first (at most 4).

    A part ends before the boundary line; the strength is the jump over the typical one nearby.
    """
    n = g.shape[0]
    if n < 2 * _NEARBY + 3:
        return []
    _, ratio, strong = _jumps(g)
    found: list[int] = []
    least = _PART_MIN * n
    for i in np.argsort(-ratio):
        if ratio[i] < _SEAM_LINE_RATIO or len(found) == _MOST_SEAMS:
            break
        near = any(abs(i - f) <= 3 for f in found)
        if strong[i] >= _SEGMENTS_STRONG and least <= i <= n - least and not near:
            found.append(int(i))
    return [(_boundary(g, i), float(ratio[i])) for i in found]


def _even_cuts(g: np.ndarray, axis: int) -> list[int]:
    """Cuts for a region shaped like 2 or 3 frames of 16:9 one after the other across its lines.

    Args:
        g: (lines, length) grey region.
        axis: 0 when the lines are rows (frames stacked), 1 when columns (frames side by side).
    """
    n, length = g.shape
    frame = length / _WIDE if axis == 0 else length * _WIDE  # lines one frame spans
    for k in (2, 3):
        if abs(n / frame - k) <= _EVEN_TOLERANCE * k:
            jump, _, _ = _jumps(g) if n >= 2 * _NEARBY + 3 else (np.zeros(n), None, None)
            reach = max(1, round(_EVEN_SEARCH * n))
            cuts = []
            for j in range(1, k):
                at = round(j * n / k)
                lo, hi = max(1, at - reach), min(n - 1, at + reach + 1)
                best = lo + int(np.argmax(jump[lo:hi]))
                cuts.append(_boundary(g, best) if jump[best] > 0 else at)
            return cuts
    return []


def _seam_cuts(seams: list[tuple[int, float]], n: int, length: int, axis: int) -> list[int]:
    """The subset of seams that leaves only panel-shaped parts, its weakest seam the strongest; [] if none."""
    best: list[int] = []
    best_strength = 0.0
    for mask in range(1, 1 << len(seams)):
        chosen = sorted(seams[i] for i in range(len(seams)) if mask >> i & 1)
        edges = [0] + [b for b, _ in chosen] + [n]
        extents = np.diff(edges)
        aspects = length / extents if axis == 0 else extents / length
        strength = min(r for _, r in chosen)
        if np.all((aspects >= _PANEL_ASPECTS[0]) & (aspects <= _PANEL_ASPECTS[1])) and strength > best_strength:
            best, best_strength = [b for b, _ in chosen], strength
    return best


def _parts(box: Box, axis: int, spans: list[tuple[int, int]]) -> list[Box]:
    """The region's pieces between cuts (spans of lines cut out, relative to the region)."""
    x0, y0, x1, y1 = box
    start, end = (y0, y1) if axis == 0 else (x0, x1)
    edges = [start] + [start + v for a, b in spans for v in (a, b)] + [end]
    pieces = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    return [(x0, lo, x1, hi) if axis == 0 else (lo, y0, hi, y1) for lo, hi in pieces if hi > lo]


def _aspect(box: Box) -> float:
    """Width over height."""
    return (box[2] - box[0]) / max(1, box[3] - box[1])


def _cells(grey: np.ndarray, colour: np.ndarray, box: Box, *, axis: int, top: bool, turned: bool = False) -> list[Box]:
    """The panels of a region: cut across ``axis``, then each part across the other axis, recursively.

    Gutters are trusted; seams must leave panel-shaped parts (or, for a whole picture shaped like one frame,
    a grid: both halves split again); a whole picture shaped like 2 or 3 frames is split evenly.

    Args:
        grey: (h, w) float32 picture.
        colour: (h, w, 3) float32 picture.
        box: The region.
        axis: 0 to cut along rows (full-width lines) first, 1 along columns.
        top: The region is the whole picture (less its border).
        turned: The other axis was already tried for this region.
    """
    g, c = _lines(grey, colour, box, axis)
    n, length = g.shape
    if n >= 2 * _MIN_LINES and length >= _MIN_LINES:
        gutters = _gutters(g, c, grey.shape[axis])
        if gutters:
            pieces = [
                _trim(grey, colour, p, paint)
                for p, paint in zip(
                    _parts(box, axis, [(a, b) for a, b, _ in gutters]),
                    [gutters[0][2]] + [r[2] for r in gutters],
                    strict=False,
                )
            ]
            return [
                cell
                for p in pieces
                if p is not None
                for cell in _cells(grey, colour, p, axis=axis, top=False)  # a thinner gutter or seam may follow
            ]
        seams = _seams(g)
        cuts = _seam_cuts(seams, n, length, axis)
        if cuts:
            parts = _parts(box, axis, [(b, b) for b in cuts])
            return [cell for p in parts for cell in _cells(grey, colour, p, axis=1 - axis, top=False, turned=True)]
        if top and seams:
            grid = _grid(grey, colour, box, axis, seams)
            if grid:
                return grid
        cuts = _even_cuts(g, axis) if top else []
        if cuts:
            parts = _parts(box, axis, [(b, b) for b in cuts])
            return [cell for p in parts for cell in _cells(grey, colour, p, axis=1 - axis, top=False, turned=True)]
    if not turned:
        return _cells(grey, colour, box, axis=1 - axis, top=top, turned=True)
    return [box]


def _grid(grey: np.ndarray, colour: np.ndarray, box: Box, axis: int, seams: list[tuple[int, float]]) -> list[Box]:
    """Four panels when the seam nearest the middle halves the region and seams halve both halves; else []."""
    n = box[3] - box[1] if axis == 0 else box[2] - box[0]
    middle, _ = min(seams, key=lambda s: abs(s[0] - n / 2))
    if abs(middle - n / 2) > _GRID_REACH * n:
        return []
    halves = [
        _cells(grey, colour, p, axis=1 - axis, top=False, turned=True) for p in _parts(box, axis, [(middle, middle)])
    ]
    return [cell for half in halves for cell in half] if all(len(h) == 2 for h in halves) else []


def _shaped(aspect: float) -> bool:
    """Whether a width/height is one frame's, within :data:`_SHAPE_SLACK`."""
    return any(lo * (1 - _SHAPE_SLACK) <= aspect <= hi * (1 + _SHAPE_SLACK) for lo, hi in _SHAPES)


class _Axis:
    """What the cuts across one axis of a region can lean on: its jumps and its flat runs, worked out once."""

    def __init__(self, grey: np.ndarray, colour: np.ndarray, box: Box, axis: int) -> None:
        self.g, c = _lines(grey, colour, box, axis)
        self.n = self.g.shape[0]
        short = self.n < 2 * _NEARBY + 3 or self.g.shape[1] < _MIN_LINES
        zero = np.zeros(self.n)
        jumps: tuple[np.ndarray, np.ndarray, np.ndarray] = (zero, zero, zero) if short else _jumps(self.g)
        self.ratio: np.ndarray = jumps[1]
        self.strong: np.ndarray = jumps[2]
        spread = self.g.std(axis=1)
        flat = _GUTTER_CONTRAST * float(np.median(spread))
        self.runs = [
            (a, b, paint)
            for a, b, paint in _flat_runs(self.g, c)
            if a > 0 and b < self.n and 2 <= b - a <= _RUN_MAX * self.n and spread[a:b].max() < flat
        ]

    def cuts(self, k: int) -> tuple[list[tuple[int, int]], float, bool, np.ndarray | None]:
        """Spans to cut out for ``k`` equal frames across the lines, the weakest cut's strength, whether every
        cut is sure, and the colour of a gutter met (None without)."""
        spans: list[tuple[int, int]] = []
        weakest, sure, paint = _SURE, True, None
        for j in range(1, k):
            run = next((r for r in self.runs if self._holds(r, j, k)), None)
            if run is not None:
                spans.append((run[0], run[1]))
                paint = run[2]
                continue
            at = j * self.n / k
            reach = _CUT_REACH + round(_CUT_SLACK * self.n)
            lo, hi = max(1, round(at) - reach), min(self.n - 1, round(at) + reach + 1)
            if hi <= lo:
                return [], 0.0, False, None
            best = lo + int(np.argmax(self.ratio[lo:hi]))
            weakest = min(weakest, float(self.ratio[best]))
            sure &= bool(self.ratio[best] >= _SURE_RATIO and self.strong[best] >= _SURE_PIECES)
            at_line = _boundary(self.g, best)
            spans.append((at_line, at_line))
        return spans, weakest, sure, paint

    def stray(self, spans: list[tuple[int, int]], *, runs: bool) -> bool:
        """Whether a sure seam or a flat run lies away from the cuts: the edge of a frame pasted on a blurred
        copy of itself, or a gutter between frames of unequal sizes; the cuts then split no equal frames."""
        reach = _CUT_REACH + round(_CUT_SLACK * self.n) + 1
        sure = (self.ratio >= _SURE_RATIO) & (self.strong >= _SURE_PIECES)
        lines = np.arange(self.n)
        away = (lines >= _EDGE_SKIP * self.n) & (lines <= (1 - _EDGE_SKIP) * self.n)
        for a, b in spans:
            away &= (lines < a - reach) | (lines > b + reach)
        return bool((sure & away).any()) or (runs and any(away[a:b].all() for a, b, _ in self.runs))

    def _holds(self, run: tuple[int, int, np.ndarray], j: int, k: int) -> bool:
        """Whether a flat run sits where the gutter after frame ``j`` of ``k`` equal frames lies."""
        a, b, _ = run
        gap = b - a
        centre = j * (self.n - (k - 1) * gap) / k + (j - 1) * gap + gap / 2
        return a - 1 <= centre <= b + 1


def _equal_frames(grey: np.ndarray, colour: np.ndarray, boxes: list[Box]) -> list[Box]:
    """Panels of a picture composed of equal frames in a regular layout (2 or 3 in a row or a column, or 2x2).

    Each cut must be at its place for equal frames: a flat run there, or a seam, sure when the picture has a
    single frame's shape (only then could it be one frame), at least faint otherwise; every panel must have a
    frame's shape. The most panels win among sure layouts, then the strongest weakest cut.

    Args:
        grey: (h, w) float32 picture.
        colour: (h, w, 3) float32 picture.
        boxes: Regions to try (the picture less its border, then the whole picture).

    Returns:
        Boxes in reading order, [] when no layout holds.
    """
    best: tuple[tuple[bool, int, float], list[Box]] = ((False, 0, 0.0), [])
    single = any(_shaped(_aspect(b)) for b in boxes)
    if _shaped(_aspect(boxes[0])):
        boxes = boxes[:1]  # a frame's shape less its border: the border belongs to no frame
    for box in dict.fromkeys(boxes):
        rows, cols = _Axis(grey, colour, box, 0), _Axis(grey, colour, box, 1)
        if min(rows.n, cols.n) < 2 * _MIN_LINES:
            continue
        for r, c in _LAYOUTS:
            row_spans, row_weakest, row_sure, row_paint = rows.cuts(r)
            col_spans, col_weakest, col_sure, col_paint = cols.cuts(c)
            sure, weakest = row_sure and col_sure, min(row_weakest, col_weakest)
            if (r > 1 and not row_spans) or (c > 1 and not col_spans) or (single and not sure):
                continue
            seamed = weakest < _SURE  # a flat sky row may stray; only a faint seam needs no flat run elsewhere
            if weakest < _WEAK_RATIO or (
                seamed and (rows.stray(row_spans, runs=not sure) or cols.stray(col_spans, runs=not sure))
            ):
                continue
            panels = [cell for band in _parts(box, 0, row_spans) for cell in _parts(band, 1, col_spans)]
            if len(panels) != r * c or not all(_shaped(_aspect(p)) for p in panels):
                continue
            key = (sure, r * c if sure else 0, weakest)
            if key > best[0]:
                best = (key, _painted(grey, colour, panels, row_paint if row_paint is not None else col_paint))
    return best[1]


def _painted(grey: np.ndarray, colour: np.ndarray, panels: list[Box], paint: np.ndarray | None) -> list[Box]:
    """Panels less the gutter colour at their edges (a frame's own bars of that colour go too)."""
    if paint is None:
        return panels
    trimmed = [_trim(grey, colour, p, paint) for p in panels]
    return [p for p in trimmed if p is not None]
