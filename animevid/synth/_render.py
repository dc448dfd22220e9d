"""Rendering: recipe -> RGB frame, using the painter's cached drawings."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from animevid.synth._draw import Painter
from animevid.synth._shots import Layer
from animevid.synth._timeline import Recipe

TINT = np.array([1.0, 0.45, 0.25], np.float32)
"""Multiplier of a tinted impact frame (red-orange, as in anime hit frames)."""


class Renderer:
    """Turns recipes into frames at the painter's frame size.

    Args:
        painter: Paints (and caches) drawings.
        grain: Grain standard deviation in 8-bit levels; 0 disables it.
        series_seed: Seeds the grain so OP/ED grain is shared across episodes.
    """

    def __init__(self, painter: Painter, grain: float, series_seed: int) -> None:
        self.painter = painter
        self.width, self.height = painter.size
        self.grain = grain
        self.series_seed = series_seed
        self._tiles: list[np.ndarray] = []
        if grain > 0:
            rng = np.random.default_rng([series_seed, 99])
            pad = 16
            self._tiles = [
                rng.normal(0, grain, (self.height + pad, self.width + pad, 1)).astype(np.float32) for _ in range(4)
            ]

    def frames(self, recipes: list[Recipe]) -> Iterator[np.ndarray]:
        """Render the recipes in order (lazily: one frame in memory at a time)."""
        for recipe in recipes:
            yield self.render(recipe)

    def render(self, r: Recipe) -> np.ndarray:
        """One frame as an (H, W, 3) uint8 RGB array (a fresh, writable array)."""
        image = self.view(r.layer)
        if r.grade is not None:
            image = _grade(image, r.grade)
        if r.other is not None:
            image = cv2.addWeighted(image, 1.0 - r.mix, self.view(r.other), r.mix, 0.0)
        if r.fade > 0:
            colour = np.full_like(image, r.fade_colour)
            image = cv2.addWeighted(image, 1.0 - r.fade, colour, r.fade, 0.0)
        if r.flash is not None:
            image = _flash(image, r.flash)
        if self._tiles:
            image = self._add_grain(image, r.origin)
        return np.array(image, copy=True) if not image.flags.writeable else image

    def view(self, layer: Layer) -> np.ndarray:
        """The layer's drawing through its camera window, at frame size, with its cel on top."""
        image = self._camera(layer)
        if layer.near is not None:
            spec, crop, top = layer.near
            band = self._camera(Layer(spec, crop))
            row = round(top * self.height)
            image = image.copy() if not image.flags.writeable else image
            image[row:] = band[row:]
        if not layer.cels:
            return image
        colour, alpha = self.painter.cel(layer.cels)
        return (image * (1.0 - alpha) + colour * alpha + 0.5).astype(np.uint8)

    def _camera(self, layer: Layer) -> np.ndarray:
        drawing = self.painter.drawing(layer.drawing)
        if layer.crop is None:
            return drawing
        x, y, w, h = layer.crop
        if w == self.width and h == self.height and x == int(x) and y == int(y):
            return drawing[int(y) : int(y) + self.height, int(x) : int(x) + self.width]
        scale = self.width / w
        matrix = np.array([[scale, 0.0, -x * scale], [0.0, scale, -y * scale]], np.float32)
        return cv2.warpAffine(
            drawing, matrix, (self.width, self.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )

    def _add_grain(self, image: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        # Keyed by the frame's origin, so recap frames get their source's grain and OP/ED
        # frames the same grain in every episode.
        pick = np.random.default_rng([self.series_seed, origin[0] + 3, origin[1]]).integers(0, 16, 3)
        tile = self._tiles[int(pick[0]) % len(self._tiles)]
        noise = tile[pick[1] : pick[1] + self.height, pick[2] : pick[2] + self.width]
        return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


DUSK = np.array([0.55, 0.62, 0.95], np.float32)
"""Channel gains of the ``dusk`` grade: the same picture, darker and bluer (a scene re-graded after a hit)."""


def _grade(image: np.ndarray, grade: str) -> np.ndarray:
    return np.clip(image.astype(np.float32) * DUSK + 12, 0, 255).astype(np.uint8)


def _flash(image: np.ndarray, kind: str) -> np.ndarray:
    if kind == "white":
        return np.full_like(image, 255)
    if kind == "black":
        return np.zeros_like(image)
    if kind == "inverted":
        return 255 - image
    if kind == "glow":  # an editing glow: the picture washed toward white
        return np.clip(image.astype(np.float32) * 0.7 + 90, 0, 255).astype(np.uint8)
    return np.clip(image.astype(np.float32) * TINT + 40, 0, 255).astype(np.uint8)
