"""Query-side normalisation for phone photos of a screen: find the screen, warp it back upright.

A photo of a monitor or TV shows the picture (16:9, 4:3 or vertical) as a convex quadrilateral inside
a dark bezel. :func:`find_screen` looks for outlines among the contours of an edge map, keeps those a
tilted screen could make, and moves each side onto the screen's edge: an outline whose outside is the
brighter room is the bezel's outer edge, and the bezel's inner edge is looked for inside it, sample
by sample, as the nearest edge enough samples agree on. The bezel is a band of one width all round,
so a side whose inner edge is not seen (a picture dark at that edge melts into the bezel) is the
outer edge moved in by the width the other sides show. Quadrilaterals with a dark band (the bezel)
outside are kept; :func:`rectify` warps the picture inside back to a flat 16:9 rectangle.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_WORK_SIZE = 640
"""The finder runs on the photo scaled so its longer side is at most this many pixels."""

_AREA = (0.2, 0.99)
"""Smallest and largest share of the photo a screen's quadrilateral may cover."""

_ANGLES = (60.0, 120.0)
"""Range of a plausible corner angle in degrees (a screen tilted by up to ~20 degrees)."""

_SIDE_RATIO = 0.6
"""Least ratio of the shorter to the longer of two opposite sides."""

_ASPECT = (0.4, 2.6)
"""Range of mean width / mean height of a plausible quadrilateral: 16:9 is 1.78, the library's 4:3-ish clips 1.35
and its vertical 9:16 clip 0.56, each squeezed or stretched by up to ~25 % by the tilt."""

_MARGIN = 0.005
"""A corner closer than this share of the photo's width to its edge counts as outside (on the edge)."""

_BAND = 0.02
"""Width of the band just outside a side, as a share of the quadrilateral's width, where the bezel is looked for."""

_DARK = 100
"""A side is bezel-like when the median grey of its outside band is below this."""

_BEZEL_DEPTH = 0.1
"""How far inside an outline, as a share of its longer sides, the screen's edge is looked for (bezel up to ~9 %)."""

_SAMPLES = 48
"""Points along each side where the edge profile is sampled."""

_NESTED = 0.75
"""An inner candidate at least this share of an outer one's area is the screen inside the outer's bezel, when the
outer one stayed on the bezel's outer edge (below this, or inside a settled screen, it is the picture's own content)."""

_INNER_EDGE = 16.0
"""Least edge strength (Sobel of the blurred grey, ~8 grey levels of step) of the bezel's inner edge at one sample."""

_INNER_SUPPORT = 0.15
"""Least share of a side's samples whose first edge inside the bezel agrees (within a pixel) for it to be the inner
edge: a picture dark at that edge shows the edge only where something bright touches it."""

_ROOM_STEP = 25.0
"""An outline whose outside is brighter than the band just inside it by this many grey levels is the bezel's outer
edge against the room (the bezel is dark, 5-50), even when the room itself is darker than ``_DARK``."""

_OUTLINE_SUPPORT = 0.3
"""Least share of a side's samples with an edge on it for an outline kept as the screen's edge: a convex hull's
side that bridges a gap between edge pieces (a room object beside the screen) has few and is no screen's edge."""

_CHIN = 2.0
"""How many times the other sides' bezel width the bottom side's may be (a TV's chin below the picture)."""

_WIDTH_TOLERANCE = 0.35
"""How far, as a share of the other sides' median bezel width, one side's found width may stray (perspective)."""


def rectify(rgb: np.ndarray, corners: np.ndarray, width: int = 640) -> np.ndarray:
    """The screen's picture warped to a flat 16:9 rectangle.

    Args:
        rgb: (h, w, 3) uint8 photo.
        corners: (4, 2) screen corners in the photo's pixels: top-left, top-right, bottom-right,
            bottom-left (as :func:`find_screen` returns them).
        width: Width of the result in pixels.

    Returns:
        (round(width * 9 / 16), width, 3) uint8 picture.
    """
    height = round(width * 9 / 16)
    flat = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    warp = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), flat)
    return cv2.warpPerspective(rgb, warp, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _small_grey(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The photo in grey with its longer side at most ``_WORK_SIZE``, and the scale used."""
    h, w = rgb.shape[:2]
    scale = min(1.0, _WORK_SIZE / max(h, w))
    if scale < 1:
        step = max(1, int(0.5 / scale))  # drop pixels first: INTER_AREA on 12 MP costs 30 ms
        rgb = rgb[::step, ::step]
        size = (round(w * scale), round(h * scale))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        scale = size[0] / w
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), scale


def _ordered(quad: np.ndarray) -> np.ndarray:
    """Corners sorted clockwise (in image coordinates) from the one nearest the top-left."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]
    return np.roll(quad, -int(np.argmin(quad.sum(axis=1))), axis=0).astype(np.float32)


def _intersection(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """Where line a-b meets line c-d, or None when they are (nearly) parallel."""
    r, s = b - a, d - c
    cross = r[0] * s[1] - r[1] * s[0]
    if abs(cross) < 1e-6 * np.linalg.norm(r) * np.linalg.norm(s):
        return None
    t = ((c[0] - a[0]) * s[1] - (c[1] - a[1]) * s[0]) / cross
    return a + t * r


def _quad_of(hull: np.ndarray) -> np.ndarray | None:
    """Four corners from a convex hull: the crossings of its four longest sides after simplifying.

    A corner cut off by the photo's edge leaves a short extra side; dropping it and crossing its
    neighbours puts the corner back outside the photo.
    """
    poly = cv2.approxPolyDP(hull, 0.015 * cv2.arcLength(hull, True), True)[:, 0].astype(np.float64)
    if len(poly) < 4 or len(poly) > 8:
        return None
    lengths = np.linalg.norm(np.roll(poly, -1, axis=0) - poly, axis=1)
    keep = np.sort(np.argsort(lengths)[-4:])
    if lengths[keep].sum() < 0.8 * lengths.sum():
        return None
    corners = []
    for i, j in zip(keep, np.roll(keep, -1), strict=True):
        point = _intersection(poly[i], poly[(i + 1) % len(poly)], poly[j], poly[(j + 1) % len(poly)])
        if point is None:
            return None
        corners.append(point)
    return _ordered(np.array(corners))


def _plausible(quad: np.ndarray, w: int, h: int) -> bool:
    """Whether a 16:9 screen under perspective could make this quadrilateral in a w x h photo."""
    if not cv2.isContourConvex(quad):
        return False
    area = cv2.contourArea(quad)
    if not _AREA[0] * w * h <= area <= _AREA[1] * w * h:
        return False
    margin = _MARGIN * w
    inside = (quad[:, 0] >= margin) & (quad[:, 0] <= w - margin) & (quad[:, 1] >= margin) & (quad[:, 1] <= h - margin)
    if inside.sum() < 3:
        return False
    sides = np.roll(quad, -1, axis=0) - quad
    lengths = np.linalg.norm(sides, axis=1)
    cosines = -np.sum(sides * np.roll(sides, 1, axis=0), axis=1) / (lengths * np.roll(lengths, 1))
    angles = np.degrees(np.arccos(np.clip(cosines, -1, 1)))
    if angles.min() < _ANGLES[0] or angles.max() > _ANGLES[1]:
        return False
    if min(lengths[0], lengths[2]) < _SIDE_RATIO * max(lengths[0], lengths[2]):
        return False
    if min(lengths[1], lengths[3]) < _SIDE_RATIO * max(lengths[1], lengths[3]):
        return False
    aspect = (lengths[0] + lengths[2]) / (lengths[1] + lengths[3])
    return _ASPECT[0] <= aspect <= _ASPECT[1]


def _bezel_sides(grey: np.ndarray, quad: np.ndarray) -> tuple[int, int]:
    """How many sides have a dark band just outside them, of how many sides have that band in the photo."""
    h, w = grey.shape
    width = max(3.0, _BAND * float(np.linalg.norm(quad[1] - quad[0])))
    centre = quad.mean(axis=0)
    dark, seen = 0, 0
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        normal = np.array([b[1] - a[1], a[0] - b[0]]) / np.linalg.norm(b - a)
        if np.dot(normal, (a + b) / 2 - centre) < 0:
            normal = -normal
        near, far = normal * 1.5, normal * (1.5 + width)
        band = np.array([a + near, b + near, b + far, a + far], np.float32)
        mask = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(mask, np.round(band).astype(np.int32), 1)
        values = grey[mask > 0]
        if len(values) < 0.3 * width * np.linalg.norm(b - a):
            continue
        seen += 1
        dark += int(np.median(values) < _DARK)
    return dark, seen


def _candidates(grey: np.ndarray) -> list[np.ndarray]:
    """Plausible screen quadrilaterals: the hulls of large connected edge pieces."""
    h, w = grey.shape
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    edges = cv2.Canny(blurred, 20, 50)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    found = []
    for label in range(1, count):
        x, y, bw, bh, _ = stats[label]
        if bw * bh < _AREA[0] * w * h:
            continue
        ys, xs = np.nonzero(labels[y : y + bh, x : x + bw] == label)
        hull = cv2.convexHull(np.c_[xs + x, ys + y].astype(np.int32))
        quad = _quad_of(hull)
        if quad is not None and _plausible(quad, w, h):
            found.append(quad)
    return found


def _profiles(grad: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray, depth: int) -> np.ndarray:
    """Edge strength across side a-b: (depth + 4, _SAMPLES) derivative along the inward normal, offsets -3..depth."""
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)  # inward for clockwise corners
    along = np.linspace(0.1, 0.9, _SAMPLES)[None, :, None] * (b - a) + a
    offsets = np.arange(-3, depth + 1, dtype=np.float64)[:, None, None] * normal
    points = (along + offsets).astype(np.float32)
    gx = cv2.remap(grad[0], points[..., 0], points[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    gy = cv2.remap(grad[1], points[..., 0], points[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return np.abs(gx * normal[0] + gy * normal[1])


def _band_median(grey: np.ndarray, a: np.ndarray, b: np.ndarray, start: float, stop: float) -> float:
    """Median grey of the band from ``start`` to ``stop`` pixels inside side a-b (negative: outside); 255 when empty."""
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
    band = np.array([a + start * normal, b + start * normal, b + stop * normal, a + stop * normal], np.float32)
    box = np.round(band).astype(np.int32)
    x0, y0 = np.maximum(box.min(axis=0), 0)
    x1, y1 = np.minimum(box.max(axis=0) + 1, grey.shape[::-1])
    if x1 <= x0 or y1 <= y0:
        return 255.0
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, box - np.array([x0, y0]), 1)
    values = grey[y0:y1, x0:x1][mask > 0]
    return float(np.median(values)) if len(values) else 255.0


def _band_is_dark(grey: np.ndarray, a: np.ndarray, b: np.ndarray, start: float, stop: float) -> bool:
    """Whether the band from ``start`` to ``stop`` pixels inside side a-b (negative: outside) is mostly dark."""
    return _band_median(grey, a, b, start, stop) < _DARK


@dataclass(frozen=True)
class _Side:
    """What one side of an outline says about the screen's edge near it."""

    outline: tuple[np.ndarray, np.ndarray]
    """The outline's own edge as (point, direction), fitted to the strongest edge within 3 pixels of it."""
    normal: np.ndarray
    """Unit normal pointing into the outline."""
    is_screen: bool
    """Whether the outline's outside is dark: the outline is already the screen's edge (not the bezel's outer one)."""
    inner: tuple[np.ndarray, np.ndarray] | None
    """The bezel's inner edge as (point, direction), when one was found; None otherwise."""
    width: float
    """Distance in pixels from the outline to ``inner`` (0 when none was found)."""
    support: float
    """Share of the samples with an edge on the outline (a hull's side bridging a gap between edges has few)."""


def _fitted(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A robust line fit through (n, 2) points as (point, unit direction)."""
    vx, vy, x, y = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.array([x, y]), np.array([vx, vy])


def _first_rises(strength: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Per sample (column of ``strength``), the row of the first edge peak at or after ``start``, and whether one is.

    A peak counts when the edge strength rises to at least ``_INNER_EDGE`` there (so the falling tail of the
    outline's own edge does not count) and is then climbed to its local maximum.
    """
    rising = (strength[1:] > strength[:-1]) & (strength[1:] >= _INNER_EDGE)
    rising[: max(0, start - 1)] = False
    has: np.ndarray = np.asarray(rising.any(axis=0))
    rows = np.argmax(rising, axis=0) + 1
    columns = np.arange(strength.shape[1])
    for _ in range(4):
        ahead = np.minimum(rows + 1, len(strength) - 1)
        rows = np.where(strength[ahead, columns] > strength[rows, columns], ahead, rows)
    return rows, has


def _inner_rows(rows: np.ndarray, has: np.ndarray) -> np.ndarray | None:
    """Which samples lie on the bezel's inner edge: the nearest row that enough samples' first peaks agree on.

    Picture content inside the screen only adds first peaks deeper than the inner edge (the bezel
    between has none), so the shallowest well-supported row is the edge even where a dark picture
    leaves most samples without one there.
    """
    votes = np.bincount(rows[has], minlength=rows.max() + 3)
    near = votes + np.r_[0, votes[:-1]] + np.r_[votes[1:], 0]
    enough = np.flatnonzero(near >= _INNER_SUPPORT * len(rows))
    if not len(enough):
        return None
    first = int(enough[0])
    best = first + int(np.argmax(near[first : first + 3]))
    return has & (np.abs(rows - best) <= 2)


def _side(grey: np.ndarray, grad: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray, depth: int) -> _Side:
    """The outline's edge along side a-b and, when its outside is not dark, the bezel's inner edge inside it."""
    strength = _profiles(grad, a, b, depth)
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)  # inward for clockwise corners
    along = np.linspace(0.1, 0.9, _SAMPLES)[:, None] * (b - a) + a
    offset = int(np.argmax(np.median(strength[:7], axis=1)))
    low = max(0, offset - 2)
    steps = low + np.argmax(strength[low : offset + 3], axis=0) - 3
    outline = _fitted(along + steps[:, None] * normal)
    support = float(np.mean(strength[steps + 3, np.arange(_SAMPLES)] >= _INNER_EDGE))
    outside = _band_median(grey, a, b, -depth // 2, -2)
    is_screen = outside < _DARK and outside < _band_median(grey, a, b, offset - 1, offset + 1) + _ROOM_STEP
    rows, has = _first_rises(strength, offset + 3)
    chosen = _inner_rows(rows, has)
    if chosen is None:
        return _Side(outline, normal, is_screen, None, 0.0, support)
    width = float(np.median(rows[chosen]) - offset)
    if not _band_is_dark(grey, a, b, offset - 1, offset - 3 + width - 2):
        return _Side(outline, normal, is_screen, None, 0.0, support)
    inner = _fitted(along[chosen] + (rows[chosen] - 3)[:, None] * normal)
    return _Side(outline, normal, is_screen, inner, width, support)


def _screen_edges(sides: list[_Side]) -> tuple[list[tuple[np.ndarray, np.ndarray]], bool] | None:
    """Each side's screen edge: the outline, the inner edge found, or the outline moved in by the bezel's width;
    and whether every side is settled (no side stayed on a bezel's outer edge for want of an inner edge anywhere).

    The bezel is a band of one width all round, so a side whose inner edge vanished (a picture dark
    at that edge) takes the median width of the sides where it was found. A found width far from
    the others' is a picture edge inside a dark margin, not the bezel's, and is replaced the same way.
    A side whose outside looked dark (a dark room) still moves in when it shows an inner edge at the
    bezel's width. The bottom side may be up to ``_CHIN`` times as wide. None when a side kept as the
    screen's edge has too little edge on it (see ``_OUTLINE_SUPPORT``).
    """
    outer = [s for s in sides if not s.is_screen and s.inner is not None]
    settled = all(s.is_screen for s in sides) or bool(outer)
    edges = []
    for number, side in enumerate(sides):
        widths = [s.width for s in outer if s is not side]
        expected = float(np.median(widths)) if widths else side.width  # none found anywhere: the outline stays
        most = (1 + _WIDTH_TOLERANCE) * expected * (_CHIN if number == 2 else 1) + 1.5
        fits = side.inner is not None and (1 - _WIDTH_TOLERANCE) * expected - 1.5 <= side.width <= most
        if side.is_screen and not (widths and fits):
            if side.support < _OUTLINE_SUPPORT:
                return None
            edges.append(side.outline)
        elif fits and side.inner is not None:
            edges.append(side.inner)
        else:
            point, direction = side.outline
            edges.append((point + expected * side.normal, direction))
    return edges, settled


def _refined(grey: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """The quadrilateral with each side moved onto the screen's edge and whether it is settled there (see
    :func:`_side` and :func:`_screen_edges`); None when two neighbouring sides come out parallel."""
    blurred = cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)
    grad = (cv2.Sobel(blurred, cv2.CV_32F, 1, 0), cv2.Sobel(blurred, cv2.CV_32F, 0, 1))
    depth = max(4, round(_BEZEL_DEPTH * max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))))
    found = _screen_edges([_side(grey, grad, quad[i], quad[(i + 1) % 4], depth) for i in range(4)])
    if found is None:
        return None
    lines, settled = found
    corners = []
    for i in range(4):
        (p, u), (q, v) = lines[i - 1], lines[i]
        point = _intersection(p, p + u, q, q + v)
        if point is None:
            return None
        corners.append(point)
    return np.array(corners, np.float32), settled


def find_screen(rgb: np.ndarray) -> np.ndarray | None:
    """The screen's corners in a phone photo of a screen.

    Args:
        rgb: (h, w, 3) uint8 photo.

    Returns:
        (4, 2) float32 corners in the photo's pixels: top-left, top-right, bottom-right,
        bottom-left; None when no screen-like quadrilateral is found.
    """
    grey, scale = _small_grey(rgb)
    screens = []
    for outline in _candidates(grey):
        refined = _refined(grey, outline)
        if refined is None or not _plausible(refined[0], *grey.shape[::-1]):
            continue
        dark, seen = _bezel_sides(grey, refined[0])
        if seen >= 2 and dark >= seen - 1 and dark >= 2:
            screens.append((dark == seen, *refined))
    if not screens:
        return None
    # a bezel on every side beats one on all but one; then the larger, unless it stayed on a bezel's outer edge
    # and a nested one is the screen inside (a settled screen's nested outlines are the picture's own edges)
    screens.sort(key=lambda s: (s[0], cv2.contourArea(s[1])), reverse=True)
    whole, best, settled = screens[0]
    for other_whole, quad, _ in screens[1:]:
        nested = cv2.contourArea(quad) >= _NESTED * cv2.contourArea(best) and _inside(quad, best)
        if not settled and other_whole == whole and nested:
            best = quad
    return (best / scale).astype(np.float32)


def _inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether every corner of ``inner`` lies inside ``outer`` (or within 2 pixels of it)."""
    return all(cv2.pointPolygonTest(outer, (float(x), float(y)), True) >= -2 for x, y in inner)
