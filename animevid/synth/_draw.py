"""Drawing: the cast, the locations and the painter that turns a drawing spec into pixels.

Every size is a fraction of the frame height (``unit = height / 180``) so the same episode
plan looks alike at 320x180 and 1280x720. A drawing is described by a hashable
:class:`DrawingSpec`; the :class:`Painter` paints each spec once and keeps it (LRU), so held
frames, loops and camera moves never repaint.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from animevid.errors import SynthError

INK = (28, 22, 34)
"""Outline colour: near-black with a purple cast, as cel ink lines are."""

HAIR_COLOURS = {
    "black": (40, 38, 52),
    "brown": (120, 72, 40),
    "blonde": (240, 208, 110),
    "pink": (244, 140, 180),
    "blue": (70, 110, 220),
    "silver": (200, 204, 216),
    "red": (200, 50, 50),
    "green": (60, 160, 100),
}
EYE_COLOURS = {
    "blue": (40, 110, 230),
    "green": (30, 160, 80),
    "red": (210, 40, 50),
    "amber": (220, 150, 30),
    "violet": (140, 70, 200),
    "brown": (110, 60, 30),
}
FACE_SHAPES = ("round", "oval", "pointed")
NAMES = ("Aoi", "Haruto", "Mika", "Ren", "Sora", "Yuki", "Kaito", "Hana")
LOCATION_NAMES = ("classroom", "rooftop", "station", "street", "park", "shrine", "beach", "bedroom")


@dataclass(frozen=True)
class Character:
    """One member of the series' cast (shared by every episode of a series_seed)."""

    name: str
    """Display name."""
    hair: str
    """Hair colour name (a key of HAIR_COLOURS)."""
    eyes: str
    """Eye colour name (a key of EYE_COLOURS)."""
    face: str
    """Face shape: round, oval or pointed."""
    skin: tuple[int, int, int]
    """Skin RGB."""
    outfit: tuple[int, int, int]
    """Clothes RGB."""
    long_hair: bool
    """Long hair falls to the shoulders (and sways in wind loops)."""


@dataclass(frozen=True)
class Location:
    """A background setting; its layout is seeded so every canvas size paints alike."""

    name: str
    """Location name (used by scenes and signs)."""
    sky_top: tuple[int, int, int]
    """RGB at the top of the gradient."""
    sky_bottom: tuple[int, int, int]
    """RGB at the horizon."""
    ground: tuple[int, int, int]
    """RGB of the floor / ground band."""
    seed: int
    """Seed of the layout and texture."""


@dataclass(frozen=True)
class Figure:
    """One character as drawn in one drawing; positions are canvas pixels."""

    who: int
    """Index into the cast."""
    x: int
    """Head centre x."""
    y: int
    """Head centre y."""
    r: int
    """Head radius in pixels."""
    mouth: int = 0
    """0 closed, 1 half open, 2 open (lip flaps cycle these)."""
    eyes_closed: bool = False
    """Blink drawing."""
    hair: int = 0
    """Hair sway phase (wind loops)."""
    walk: int = -1
    """Walk-cycle phase 0..3, or -1 for a bust (no legs)."""
    arm: int = 0
    """Arm angle in degrees (gestures, action poses)."""
    turn: int = 0
    """Horizontal shift of the features, in pixels, as the head turns."""


@dataclass(frozen=True)
class DrawingSpec:
    """Everything that determines one drawing's pixels (hashable: the cache key)."""

    location: int
    """Index into the locations."""
    canvas: tuple[int, int]
    """Canvas (width, height) in pixels; larger than the frame for pans and shakes."""
    figures: tuple[Figure, ...] = ()
    """Characters, back to front."""
    lines: int = -1
    """Seed of speed lines drawn over the background, or -1 for none."""
    detail: int = -1
    """Seed of painted detail all over the background (leaves, stones, cloud edges), or -1 for none: a painted
    background, textured everywhere, as a tracking shot's is."""


def make_cast(rng: np.random.Generator, count: int = 6) -> tuple[Character, ...]:
    """Draw a cast of distinct characters (distinct hair colours and names)."""
    hairs = rng.permutation(list(HAIR_COLOURS))[:count]
    names = rng.permutation(list(NAMES))[:count]
    cast = []
    for i in range(count):
        skin = (255, int(rng.integers(214, 232)), int(rng.integers(190, 212)))
        outfit = tuple(int(v) for v in rng.integers(30, 230, 3))
        cast.append(
            Character(
                name=str(names[i]),
                hair=str(hairs[i]),
                eyes=str(rng.choice(list(EYE_COLOURS))),
                face=FACE_SHAPES[i % len(FACE_SHAPES)],
                skin=skin,
                outfit=(outfit[0], outfit[1], outfit[2]),
                long_hair=bool(i % 2),
            )
        )
    return tuple(cast)


def make_locations(rng: np.random.Generator) -> tuple[Location, ...]:
    """Draw the series' locations, each with its own palette and layout seed."""
    out = []
    for name in LOCATION_NAMES:
        top, bottom, ground = (
            tuple(int(v) for v in rng.integers(lo, hi, 3)) for lo, hi in ((60, 200), (150, 250), (60, 170))
        )
        out.append(Location(name, top, bottom, ground, int(rng.integers(0, 2**31))))  # type: ignore[arg-type]
    return tuple(out)


class Painter:
    """Paints drawing specs at one frame size, caching backgrounds and drawings.

    Args:
        cast: The characters.
        locations: The backgrounds.
        size: Frame (width, height) in pixels.
        cache_drawings: How many painted drawings to keep (LRU).
    """

    def __init__(
        self,
        cast: tuple[Character, ...],
        locations: tuple[Location, ...],
        size: tuple[int, int],
        cache_drawings: int = 48,
    ) -> None:
        self.cast, self.locations, self.size = cast, locations, size
        self.unit = size[1] / 180.0
        self._backgrounds: dict[tuple[int, int, int], np.ndarray] = {}
        self._drawings: OrderedDict[DrawingSpec, np.ndarray] = OrderedDict()
        self._cels: dict[tuple[Figure, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._limit = cache_drawings

    def drawing(self, spec: DrawingSpec) -> np.ndarray:
        """The painted drawing (read-only array, canvas size), painted at most once while cached."""
        image = self._drawings.get(spec)
        if image is not None:
            self._drawings.move_to_end(spec)
            return image
        image = self.background(spec.location, spec.canvas).copy()
        if spec.detail >= 0:
            _detail(image, spec.detail, self.unit)
        if spec.lines >= 0:
            _speed_lines(image, spec.lines, self.unit)
        for figure in spec.figures:
            _draw_figure(image, self.cast[figure.who], figure)
        image.flags.writeable = False
        self._drawings[spec] = image
        if len(self._drawings) > self._limit:
            self._drawings.popitem(last=False)
        return image

    def cel(self, figures: tuple[Figure, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Figures painted on a transparent frame-size cel: (colour, alpha), float32, (h, w, 3) and (h, w, 1).

        Painted once over black and once over white: where the two agree the cel is opaque, and the
        anti-aliased edges get the alpha that blends them exactly over any background.
        """
        cached = self._cels.get(figures)
        if cached is not None:
            return cached
        w, h = self.size
        over = []
        for level in (0, 255):
            image = np.full((h, w, 3), level, np.uint8)
            for figure in figures:
                _draw_figure(image, self.cast[figure.who], figure)
            over.append(image.astype(np.float32))
        alpha = 1.0 - (over[1] - over[0]).max(axis=2, keepdims=True) / 255.0
        colour = np.where(alpha > 0, over[0] / np.maximum(alpha, 1e-6), 0.0).astype(np.float32)
        self._cels[figures] = (colour, alpha)
        if len(self._cels) > self._limit:
            self._cels.pop(next(iter(self._cels)))
        return colour, alpha

    def background(self, location: int, canvas: tuple[int, int]) -> np.ndarray:
        """The location's background at a canvas size (cached per episode)."""
        key = (location, canvas[0], canvas[1])
        if key not in self._backgrounds:
            if not 0 <= location < len(self.locations):
                raise SynthError(f"location index {location} out of range 0..{len(self.locations) - 1}")
            self._backgrounds[key] = _paint_background(self.locations[location], canvas, self.unit)
        return self._backgrounds[key]


def _paint_background(loc: Location, canvas: tuple[int, int], unit: float) -> np.ndarray:
    width, height = canvas
    rng = np.random.default_rng(loc.seed)
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    sky = (1 - t) * np.array(loc.sky_top, np.float32) + t * np.array(loc.sky_bottom, np.float32)
    image = np.broadcast_to(sky, (height, width, 3)).copy()
    # Low-frequency clouds plus fine paper texture: every pixel differs from its neighbours a
    # little, so a pan changes every pixel even over flat colour.
    clouds = cv2.resize(rng.normal(0, 14, (6, 10)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    image += clouds[:, :, None]
    horizon = int(height * 0.62)
    ground = np.array(loc.ground, np.float32)
    shade = np.linspace(1.0, 0.75, height - horizon, dtype=np.float32)[:, None, None]
    image[horizon:] = ground * shade
    texture = np.random.default_rng(loc.seed + 1).normal(0, 3.0, (height, width, 1)).astype(np.float32)
    image = np.clip(image + texture, 0, 255).astype(np.uint8)
    _scenery(image, rng, horizon, unit)
    return image


def _scenery(image: np.ndarray, rng: np.random.Generator, horizon: int, unit: float) -> None:
    """Buildings and trees along the horizon, laid out per 100 px of height so sizes scale."""
    width = image.shape[1]
    thick = max(1, round(unit))
    x = -int(rng.integers(0, 40) * unit)
    while x < width:
        w = int(rng.integers(18, 46) * unit)
        h = int(rng.integers(20, 70) * unit)
        colour = tuple(int(v) for v in rng.integers(90, 230, 3))
        if rng.random() < 0.7:
            cv2.rectangle(image, (x, horizon - h), (x + w, horizon), colour, -1)
            cv2.rectangle(image, (x, horizon - h), (x + w, horizon), INK, thick)
            for wy in range(horizon - h + int(6 * unit), horizon - int(6 * unit), max(2, int(10 * unit))):
                cv2.line(image, (x + int(4 * unit), wy), (x + w - int(4 * unit), wy), (250, 240, 170), thick)
        else:
            r = w // 2
            cv2.line(image, (x + r, horizon), (x + r, horizon - h // 2), (90, 60, 40), max(2, 3 * thick))
            cv2.circle(image, (x + r, horizon - h // 2 - r // 2), r, (60, 150, 70), -1, cv2.LINE_AA)
            cv2.circle(image, (x + r, horizon - h // 2 - r // 2), r, INK, thick, cv2.LINE_AA)
        x += w + int(rng.integers(2, 20) * unit)


def _detail(image: np.ndarray, seed: int, unit: float) -> None:
    """Small painted marks everywhere, about one per 14 x 14 px (at 180 px high): short strokes and dabs in
    darker or lighter shades of what lies under them."""
    rng = np.random.default_rng([seed, 5])
    height, width = image.shape[:2]
    step = max(4, round(14 * unit))
    for y in range(0, height, step):
        for x in range(0, width, step):
            cx, cy = x + int(rng.integers(0, step)), y + int(rng.integers(0, step))
            under = image[min(cy, height - 1), min(cx, width - 1)].astype(int)
            shade = tuple(int(v) for v in np.clip(under + int(rng.choice([-60, -40, 40, 60])), 0, 255))
            size = max(1, round(float(rng.uniform(1.5, 4.0)) * unit))
            if rng.random() < 0.5:
                angle = float(rng.uniform(0, np.pi))
                end = (cx + round(size * 2 * np.cos(angle)), cy + round(size * 2 * np.sin(angle)))
                cv2.line(image, (cx, cy), end, shade, max(1, round(unit)), cv2.LINE_AA)
            else:
                cv2.ellipse(image, (cx, cy), (size, max(1, size // 2)), 0, 0, 360, shade, -1, cv2.LINE_AA)


def _speed_lines(image: np.ndarray, seed: int, unit: float) -> None:
    rng = np.random.default_rng(seed)
    height, width = image.shape[:2]
    for _ in range(28):
        y = int(rng.integers(0, height))
        x0 = int(rng.integers(-width // 2, width))
        length = int(rng.integers(width // 4, width))
        colour = (255, 255, 255) if rng.random() < 0.7 else INK
        cv2.line(image, (x0, y), (x0 + length, y), colour, max(1, round(unit * rng.uniform(0.6, 2.0))), cv2.LINE_AA)


def _outlined_poly(image: np.ndarray, pts: np.ndarray, colour: tuple[int, int, int], thick: int) -> None:
    poly = [np.round(pts).astype(np.int32)]
    cv2.fillPoly(image, poly, colour, cv2.LINE_AA)
    cv2.polylines(image, poly, True, INK, thick, cv2.LINE_AA)


def _face_outline(ch: Character, cx: float, cy: float, r: float) -> np.ndarray:
    angles = np.linspace(0, 2 * math.pi, 48, endpoint=False)
    ax, ay = {"round": (1.0, 1.02), "oval": (0.86, 1.14), "pointed": (0.92, 1.0)}[ch.face]
    xs, ys = np.cos(angles), np.sin(angles)
    if ch.face == "pointed":
        # Narrow toward a sharp chin in the lower half.
        lower = np.clip(ys, 0, None)
        xs = xs * (1 - 0.45 * lower**1.5)
        ys = ys * (1 + 0.28 * lower)
    return np.stack([cx + ax * r * xs, cy + ay * r * ys], axis=1)


def _draw_figure(image: np.ndarray, ch: Character, fig: Figure) -> None:
    r = float(fig.r)
    thick = max(1, round(r / 14))
    hair = HAIR_COLOURS[ch.hair]
    if fig.walk >= 0:
        _legs(image, ch, fig, thick)
    _body(image, ch, fig, thick)
    _back_hair(image, ch, fig, hair, thick)
    _outlined_poly(image, _face_outline(ch, fig.x, fig.y, r), ch.skin, thick)
    for side in (-1, 1):
        _eye(image, ch, fig, side, thick)
    _mouth(image, fig, thick)
    _bangs(image, fig, hair, thick)


def _body(image: np.ndarray, ch: Character, fig: Figure, thick: int) -> None:
    x, y, r = fig.x, fig.y, fig.r
    neck = np.array(
        [
            [x - 0.28 * r, y + 0.7 * r],
            [x + 0.28 * r, y + 0.7 * r],
            [x + 0.3 * r, y + 1.5 * r],
            [x - 0.3 * r, y + 1.5 * r],
        ]
    )
    _outlined_poly(image, neck, ch.skin, thick)
    bottom = y + (3.2 * r if fig.walk >= 0 else 4.5 * r)
    torso = np.array(
        [
            [x - 0.5 * r, y + 1.35 * r],
            [x + 0.5 * r, y + 1.35 * r],
            [x + 1.5 * r, y + 2.0 * r],
            [x + 1.2 * r, bottom],
            [x - 1.2 * r, bottom],
            [x - 1.5 * r, y + 2.0 * r],
        ]
    )
    _outlined_poly(image, torso, ch.outfit, thick)
    angle = math.radians(fig.arm)
    sx, sy = x + 1.35 * r, y + 2.0 * r
    ex, ey = sx + 1.7 * r * math.sin(angle), sy + 1.7 * r * math.cos(angle)
    cv2.line(
        image, (round(sx), round(sy)), (round(ex), round(ey)), INK, max(3, round(0.5 * r)) + 2 * thick, cv2.LINE_AA
    )
    cv2.line(image, (round(sx), round(sy)), (round(ex), round(ey)), ch.outfit, max(3, round(0.5 * r)), cv2.LINE_AA)
    cv2.circle(image, (round(ex), round(ey)), max(2, round(0.25 * r)), ch.skin, -1, cv2.LINE_AA)
    cv2.circle(image, (round(ex), round(ey)), max(2, round(0.25 * r)), INK, thick, cv2.LINE_AA)


def _legs(image: np.ndarray, ch: Character, fig: Figure, thick: int) -> None:
    x, y, r = fig.x, fig.y, fig.r
    swing = (-0.9, -0.3, 0.9, 0.3)[fig.walk % 4]
    hip_y = y + 3.1 * r
    for side, sign in ((-0.5, 1), (0.5, -1)):
        hx = x + side * r
        fx, fy = hx + sign * swing * 1.3 * r, hip_y + 2.4 * r
        width = max(3, round(0.45 * r))
        cv2.line(image, (round(hx), round(hip_y)), (round(fx), round(fy)), INK, width + 2 * thick, cv2.LINE_AA)
        cv2.line(image, (round(hx), round(hip_y)), (round(fx), round(fy)), (60, 60, 90), width, cv2.LINE_AA)


def _back_hair(image: np.ndarray, ch: Character, fig: Figure, hair: tuple[int, int, int], thick: int) -> None:
    x, y, r = fig.x, fig.y, fig.r
    sway = (0.0, 0.18, 0.32, 0.18, 0.0, -0.1)[fig.hair % 6] * r
    drop = 1.9 * r if ch.long_hair else 0.7 * r
    angles = np.linspace(math.pi, 2 * math.pi, 20)
    top = np.stack([x + 1.18 * r * np.cos(angles), y - 0.05 * r + 1.22 * r * np.sin(angles)], axis=1)
    tips = np.array(
        [
            [x + 1.25 * r + sway, y + drop],
            [x + 0.6 * r + sway * 1.4, y + drop * 0.8],
            [x - 0.6 * r + sway * 1.4, y + drop * 0.8],
            [x - 1.25 * r + sway, y + drop],
        ]
    )
    _outlined_poly(image, np.concatenate([top, tips]), hair, thick)


def _bangs(image: np.ndarray, fig: Figure, hair: tuple[int, int, int], thick: int) -> None:
    x, y, r = fig.x + fig.turn * 0.3, fig.y, fig.r
    angles = np.linspace(math.pi * 1.02, math.pi * 1.98, 16)
    top = np.stack([x + 1.1 * r * np.cos(angles), y - 0.1 * r + 1.12 * r * np.sin(angles)], axis=1)
    spikes = []
    for i in range(7):
        sx = x + r * (1.0 - 2.0 * i / 6)
        spikes.append([sx, y - 0.32 * r])
        if i < 6:
            spikes.append([sx - r / 6 + fig.hair % 2 * 0.04 * r, y + (0.0 if i % 2 else -0.12) * r])
    _outlined_poly(image, np.concatenate([top, np.array(spikes)]), hair, thick)


def _eye(image: np.ndarray, ch: Character, fig: Figure, side: int, thick: int) -> None:
    r = fig.r
    ex, ey = round(fig.x + side * 0.42 * r + fig.turn), round(fig.y + 0.18 * r)
    w, h = max(2, round(0.25 * r)), max(2, round(0.32 * r))
    lash = max(1, round(r / 8))
    if fig.eyes_closed:
        cv2.ellipse(image, (ex, ey), (w, max(1, h // 3)), 0, 0, 180, INK, lash, cv2.LINE_AA)
        return
    cv2.ellipse(image, (ex, ey), (w, h), 0, 0, 360, (255, 255, 255), -1, cv2.LINE_AA)
    iris = EYE_COLOURS[ch.eyes]
    cv2.ellipse(
        image, (ex, ey + h // 8), (max(1, round(w * 0.8)), max(1, round(h * 0.85))), 0, 0, 360, iris, -1, cv2.LINE_AA
    )
    cv2.ellipse(image, (ex, ey + h // 6), (max(1, w // 3), max(1, h // 2)), 0, 0, 360, INK, -1, cv2.LINE_AA)
    cv2.circle(image, (ex - w // 3, ey - h // 3), max(1, w // 3), (255, 255, 255), -1, cv2.LINE_AA)
    cv2.ellipse(image, (ex, ey), (w, h), 0, 180, 360, INK, lash, cv2.LINE_AA)
    brow_y = ey - h - max(2, round(0.15 * r))
    cv2.line(image, (ex - w, brow_y + side), (ex + w, brow_y - side), INK, thick, cv2.LINE_AA)


def _mouth(image: np.ndarray, fig: Figure, thick: int) -> None:
    r = fig.r
    mx, my = round(fig.x + fig.turn), round(fig.y + 0.66 * r)
    if fig.mouth == 0:
        cv2.line(image, (mx - max(1, round(0.14 * r)), my), (mx + max(1, round(0.14 * r)), my), INK, thick, cv2.LINE_AA)
        return
    axes = (max(2, round(0.13 * r)), max(1, round((0.06 if fig.mouth == 1 else 0.14) * r)))
    cv2.ellipse(image, (mx, my), axes, 0, 0, 360, (150, 40, 50), -1, cv2.LINE_AA)
    cv2.ellipse(image, (mx, my), axes, 0, 0, 360, INK, thick, cv2.LINE_AA)
