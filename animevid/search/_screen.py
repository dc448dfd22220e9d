"""Query-side normalisation for phone photos of a screen: find the screen, warp it back upright.

A photo of a monitor or TV shows the 16:9 picture as a convex quadrilateral inside a dark bezel.
:func:`find_screen` looks for the quadrilateral's outline among the contours of an edge map, keeps
outlines that a tilted 16:9 screen could make and whose outside is a dark, plain band (the bezel),
and refines each side by a line fitted to the strongest edge along it. :func:`rectify` warps the
picture inside back to a flat 16:9 rectangle.
"""

from __future__ import annotations

import cv2
import numpy as np

_WORK_SIZE = 640
"""The finder runs on the photo scaled so its longer side is at most this many pixels."""

_AREA = (0.2, 0.99)
"""Smallest and largest share of the photo a screen's quadrilateral may cover."""

_ANGLES = (60.0, 120.0)
"""Range of a plausible corner angle in degrees (a 16:9 screen tilted by up to ~20 degrees)."""

_SIDE_RATIO = 0.6
"""Least ratio of the shorter to the longer of two opposite sides."""

_ASPECT = (1.2, 2.6)
"""Range of mean width / mean height of a plausible quadrilateral (16:9 is 1.78)."""

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

_NESTED = 0.55
"""An inner candidate at least this share of an outer one's area is the screen inside the outer's bezel."""


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


def _band_is_dark(grey: np.ndarray, a: np.ndarray, b: np.ndarray, start: float, stop: float) -> bool:
    """Whether the band from ``start`` to ``stop`` pixels inside side a-b (negative: outside) is mostly dark."""
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
    band = np.array([a + start * normal, b + start * normal, b + stop * normal, a + stop * normal], np.float32)
    mask = np.zeros(grey.shape, np.uint8)
    cv2.fillConvexPoly(mask, np.round(band).astype(np.int32), 1)
    values = grey[mask > 0]
    return bool(len(values)) and float(np.median(values)) < _DARK


def _side_line(
    grey: np.ndarray, grad: tuple[np.ndarray, np.ndarray], a: np.ndarray, b: np.ndarray, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """The screen's edge near side a-b as (point, direction): the outline itself, or the bezel's inner edge inside it.

    The inner edge is looked for only when the outline's outside is not dark, and taken when the
    band between it and the outline is dark: then the outline was the bezel's outer edge. Each
    sample's strongest edge within 2 pixels of the chosen offset gives one point; a robust line
    fit through them is the side.
    """
    strength = _profiles(grad, a, b, depth)
    profile = np.median(strength, axis=1)
    offset = int(np.argmax(profile[:7]))
    inner = profile[7:]
    if len(inner) and inner.max() > 0.3 * profile[offset] and not _band_is_dark(grey, a, b, -depth // 2, -2):
        first = 7 + int(np.flatnonzero(inner >= 0.5 * inner.max())[0])
        first += int(np.argmax(profile[first : first + 3]))
        if _band_is_dark(grey, a, b, 2, first - 5):
            offset = first
    low = max(0, offset - 2)
    steps = low + np.argmax(strength[low : offset + 3], axis=0) - 3
    normal = np.array([a[1] - b[1], b[0] - a[0]]) / np.linalg.norm(b - a)
    along = np.linspace(0.1, 0.9, _SAMPLES)[:, None] * (b - a) + a
    points = (along + steps[:, None] * normal).astype(np.float32)
    vx, vy, x, y = cv2.fitLine(points, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.array([x, y]), np.array([vx, vy])


def _refined(grey: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The quadrilateral with each side moved onto the screen's edge (see :func:`_side_line`)."""
    blurred = cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)
    grad = (cv2.Sobel(blurred, cv2.CV_32F, 1, 0), cv2.Sobel(blurred, cv2.CV_32F, 0, 1))
    depth = max(4, round(_BEZEL_DEPTH * max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))))
    lines = [_side_line(grey, grad, quad[i], quad[(i + 1) % 4], depth) for i in range(4)]
    corners = []
    for i in range(4):
        (p, u), (q, v) = lines[i - 1], lines[i]
        point = _intersection(p, p + u, q, q + v)
        if point is None:
            return None
        corners.append(point)
    return np.array(corners, np.float32)


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
        quad = _refined(grey, outline)
        if quad is None or not _plausible(quad, *grey.shape[::-1]):
            continue
        dark, seen = _bezel_sides(grey, quad)
        if seen >= 2 and dark >= seen - 1 and dark >= 2:
            screens.append(quad)
    if not screens:
        return None
    screens.sort(key=cv2.contourArea, reverse=True)
    best = screens[0]
    for quad in screens[1:]:
        if cv2.contourArea(quad) >= _NESTED * cv2.contourArea(best) and _inside(quad, best):
            best = quad
    return (best / scale).astype(np.float32)


def _inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    """Whether every corner of ``inner`` lies inside ``outer`` (or within 2 pixels of it)."""
    return all(cv2.pointPolygonTest(outer, (float(x), float(y)), True) >= -2 for x, y in inner)
