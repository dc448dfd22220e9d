"""Query-side normalisation: find where the picture really is inside a screenshot.

Real screenshots come with black or blurred bars (letterbox, pillarbox, vertical-video blur) or
pasted inside a larger image. Each finder returns a rectangle; the search tries the whole image
and every rectangle found, and the finer check keeps whichever matches best, so a wrong guess
costs time, not accuracy.
"""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in pixels, x1 and y1 exclusive."""

_WORK_WIDTH = 480
"""Finders run on the query scaled to at most this width."""


def _plain(values: np.ndarray, detail: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Lines (rows or columns) that look like a border: flat, or far blurrier than the picture."""
    sharp = float(np.percentile(detail, 75))
    return (spread < 5.0) | (detail < 0.15 * sharp)


def _run_from_start(flags: np.ndarray) -> int:
    """How many leading entries are True."""
    false = np.flatnonzero(~flags)
    return int(false[0]) if len(false) else len(flags)


def trim_borders(grey: np.ndarray) -> Box | None:
    """The rectangle inside flat or blurred borders, or None when there is no border to trim.

    Args:
        grey: (h, w) uint8 picture.

    Returns:
        The box in ``grey``'s pixels when at least 2 % of a side was trimmed.
    """
    h, w = grey.shape
    detail = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=3))
    cols = _plain(grey, detail.mean(axis=0), grey.std(axis=0))
    rows = _plain(grey, detail.mean(axis=1), grey.std(axis=1))
    x0, x1 = _run_from_start(cols), w - _run_from_start(cols[::-1])
    y0, y1 = _run_from_start(rows), h - _run_from_start(rows[::-1])
    if x1 - x0 < w // 4 or y1 - y0 < h // 4:
        return None  # a flat picture, not a bordered one
    if max(x0, w - x1) < 0.02 * w and max(y0, h - y1) < 0.02 * h:
        return None
    return x0, y0, x1, y1


_BAR_LEVELS = (30, 225)
"""A caption bar is darker than the first or brighter than the second grey level (black or white bars)."""
_BAR_NEAR = 12
"""Grey levels from the bar's colour that still count as the bar (JPEG ringing around the text)."""
_BAR_SHARE = 0.6
"""A row belongs to a bar when at least this share of it is the bar's colour: caption text covers the rest."""


def _bar_rows(rows: np.ndarray) -> int:
    """How many of ``rows`` (from the picture's edge inward) belong to a plain black or white bar with text on it."""
    colour = float(np.median(rows[0]))
    if _BAR_LEVELS[0] < colour < _BAR_LEVELS[1]:
        return 0
    return _run_from_start((np.abs(rows.astype(np.float32) - colour) <= _BAR_NEAR).mean(axis=1) >= _BAR_SHARE)


def caption_bars(grey: np.ndarray) -> Box | None:
    """The rectangle between plain white or black bars above and below the picture that may carry text.

    Meme captions put black text on white bars; the text's rows are busy, so :func:`trim_borders`
    stops at them, and the frame's place in the query is then known only from the bars' colour.

    Args:
        grey: (h, w) uint8 picture.

    Returns:
        The box in ``grey``'s pixels when the bars take at least 5 % of the height and leave a quarter.
    """
    h, w = grey.shape
    top, bottom = _bar_rows(grey), _bar_rows(grey[::-1])
    if top + bottom < 0.05 * h or h - top - bottom < h // 4:
        return None
    return 0, top, w, h - bottom


def _longest_runs(edges: np.ndarray, least: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a boolean image: length, start and end (exclusive) of its longest True run.

    Rows with fewer than ``least`` True pixels cannot hold a run that long and are left at 0.
    """
    n, w = edges.shape
    padded = np.zeros((n, w + 2), np.int8)
    padded[:, 1:-1] = edges
    change = np.diff(padded, axis=1)
    lengths, starts, ends = np.zeros(n, int), np.zeros(n, int), np.zeros(n, int)
    for row in np.flatnonzero(edges.sum(axis=1) >= least):
        up, down = np.flatnonzero(change[row] == 1), np.flatnonzero(change[row] == -1)
        best = int(np.argmax(down - up))
        lengths[row], starts[row], ends[row] = down[best] - up[best], up[best], down[best]
    return lengths, starts, ends


def find_pasted(picture: np.ndarray) -> Box | None:
    """The largest rectangle whose four sides are long straight edges (a pasted screenshot).

    Args:
        picture: (h, w) grey or (h, w, 3) colour uint8 picture. In colour, an edge is a step in any
            channel: a background of another hue but the same grey as the picture's border hides
            that border in grey (bench/search.py seed 1: the box was missed or more than 4 px off
            for 49 of its 200 pasted queries in grey, 4 in colour).

    Returns:
        The box in ``picture``'s pixels, or None when no such rectangle covers 15-95 % of the picture.
    """
    h, w = picture.shape[:2]
    scale = min(1.0, _WORK_WIDTH / w)
    size = (round(w * scale), round(h * scale))
    small = cv2.resize(picture, size, interpolation=cv2.INTER_AREA) if scale < 1 else picture
    sh, sw = small.shape[:2]
    g = small.astype(np.int16)
    steps_y, steps_x = np.abs(np.diff(g, axis=0)), np.abs(np.diff(g, axis=1))
    if g.ndim == 3:
        steps_y, steps_x = steps_y.max(axis=2), steps_x.max(axis=2)
    # Edges between row y and y+1 (column x and x+1); closing bridges the gaps where the picture's
    # border happens to match the background for a few pixels.
    horizontal = _close(steps_y > 12, (9, 1))
    vertical = _close(steps_x > 12, (1, 9))
    rows = _candidates(*_longest_runs(horizontal, sw // 4), sw)
    cols = _candidates(*_longest_runs(vertical.T, sh // 4), sh)
    best: Box | None = None
    best_area = 0.15 * sh * sw
    tol_x, tol_y = 0.03 * sw, 0.03 * sh
    for i, (ya, xa0, xa1) in enumerate(rows):
        for yb, xb0, xb1 in rows[i + 1 :]:
            if abs(xa0 - xb0) > tol_x or abs(xa1 - xb1) > tol_x or yb - ya < 0.2 * sh:
                continue
            x0, x1 = (xa0 + xb0) / 2, (xa1 + xb1) / 2
            sides = sum(
                abs(c - x0) <= tol_x or abs(c - x1) <= tol_x
                for c, c0, c1 in cols
                if c0 <= ya + tol_y and c1 >= yb - tol_y
            )
            area = (x1 - x0) * (yb - ya)
            if sides >= 2 and best_area < area < 0.95 * sh * sw:
                best, best_area = (
                    (round(x0 / scale), round((ya + 1) / scale), round(x1 / scale), round((yb + 1) / scale)),
                    area,
                )
    return best or _from_one_edge(rows, cols, sw, sh, scale)


def _from_one_edge(
    rows: list[tuple[int, int, int]], cols: list[tuple[int, int, int]], sw: int, sh: int, scale: float
) -> Box | None:
    """A 16:9 box hanging from the longest horizontal edge, when the opposite edge is too faint to see.

    Of the two (below or above the edge), the one whose sides have more vertical edge pixels wins.
    """
    inner = [r for r in rows if r[2] - r[1] < 0.95 * sw]
    if not inner:
        return None
    y, x0, x1 = max(inner, key=lambda r: r[2] - r[1])
    height = round((x1 - x0) * 9 / 16)
    options = [(x0, y + 1, x1, y + 1 + height), (x0, y + 1 - height, x1, y + 1)]
    fits = [b for b in options if b[1] >= 0 and b[3] <= sh]
    if not fits:
        return None

    def support(box: tuple[int, int, int, int]) -> int:
        return sum(
            min(c1, box[3]) - max(c0, box[1])
            for c, c0, c1 in cols
            if min(abs(c - box[0]), abs(c - box[2])) <= 3 and c1 > box[1] and c0 < box[3]
        )

    bx0, by0, bx1, by1 = max(fits, key=support)
    return round(bx0 / scale), round(by0 / scale), round(bx1 / scale), round(by1 / scale)


def _candidates(lengths: np.ndarray, starts: np.ndarray, ends: np.ndarray, span: int) -> list[tuple[int, int, int]]:
    """Lines whose longest edge run covers at least a quarter of the picture: (line, start, end)."""
    found = np.flatnonzero(lengths >= 0.25 * span)
    return [(int(i), int(starts[i]), int(ends[i])) for i in found]


def _close(edges: np.ndarray, kernel: tuple[int, int]) -> np.ndarray:
    """Morphological closing of a boolean image with a (width, height) line kernel."""
    element = cv2.getStructuringElement(cv2.MORPH_RECT, kernel)
    return cv2.morphologyEx(edges.astype(np.uint8), cv2.MORPH_CLOSE, element).astype(bool)
