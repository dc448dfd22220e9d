"""Seeded screenshot distortions: what happens to a frame before someone searches with it.

Used by ``bench/search.py`` and the tests; every function takes an (h, w, 3) uint8 RGB frame and
a numpy Generator and returns a new picture.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Distortion = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
    assert ok and decoded is not None
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def jpeg(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """JPEG re-compression at quality 20-60."""
    return _jpeg(rgb, int(rng.integers(20, 61)))


def downscale_320(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scaled to 320 px wide, then JPEG at quality 70-90."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (320, max(2, round(h * 320 / w))), interpolation=cv2.INTER_AREA)
    return _jpeg(small, int(rng.integers(70, 91)))


def _crop(rgb: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Keep (1 - share) of the width and of the height, at a random position."""
    h, w = rgb.shape[:2]
    kw, kh = round(w * (1 - share)), round(h * (1 - share))
    x, y = int(rng.integers(0, w - kw + 1)), int(rng.integers(0, h - kh + 1))
    return np.ascontiguousarray(rgb[y : y + kh, x : x + kw])


def crop_10(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """10 % of each side's length cut away, split at random between the two ends."""
    return _crop(rgb, rng, 0.10)


def crop_20(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """20 % of each side's length cut away, split at random between the two ends."""
    return _crop(rgb, rng, 0.20)


def letterbox(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Black bars: top/bottom (letterbox) or left/right (pillarbox), 8-25 % of the picture each side."""
    h, w = rgb.shape[:2]
    pad = float(rng.uniform(0.08, 0.25))
    if rng.random() < 0.5:
        out = cv2.copyMakeBorder(rgb, round(h * pad), round(h * pad), 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    else:
        out = cv2.copyMakeBorder(rgb, 0, 0, round(w * pad), round(w * pad), cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return _jpeg(out, 85)


def blurred_border(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The frame on a blurred, enlarged copy of itself (vertical-video style), 15-40 % wider/taller."""
    h, w = rgb.shape[:2]
    pad = float(rng.uniform(0.15, 0.4))
    tall = rng.random() < 0.5
    ch, cw = (round(h * (1 + 2 * pad)), w) if tall else (h, round(w * (1 + 2 * pad)))
    scale = max(ch / h, cw / w)
    back = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    by, bx = (back.shape[0] - ch) // 2, (back.shape[1] - cw) // 2
    canvas = cv2.GaussianBlur(back[by : by + ch, bx : bx + cw], (0, 0), sigmaX=max(4.0, w / 30))
    canvas = (canvas * 0.7).astype(np.uint8)
    y, x = (ch - h) // 2, (cw - w) // 2
    canvas[y : y + h, x : x + w] = rgb
    return _jpeg(canvas, 85)


def mirror(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirrored left-right, JPEG at quality 75-95."""
    return _jpeg(np.ascontiguousarray(rgb[:, ::-1]), int(rng.integers(75, 96)))


_WORDS = tuple("the of and I you we what why no yes wait run here there now never always tomorrow".split())  # noqa: SIM905


def subtitle(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One or two lines of white outlined text burned into the bottom fifth."""
    out = rgb.copy()
    h, w = out.shape[:2]
    scale = w / 640
    lines = int(rng.integers(1, 3))
    for line in range(lines):
        text = " ".join(rng.choice(_WORDS, int(rng.integers(3, 7))))
        size = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.1 * scale, max(1, round(2 * scale)))[0]
        org = (max(0, (w - size[0]) // 2), round(h * 0.95 - (lines - 1 - line) * size[1] * 1.6))
        cv2.putText(
            out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 1.1 * scale, (0, 0, 0), max(2, round(6 * scale)), cv2.LINE_AA
        )
        cv2.putText(
            out,
            text,
            org,
            cv2.FONT_HERSHEY_SIMPLEX,
            1.1 * scale,
            (255, 255, 255),
            max(1, round(2 * scale)),
            cv2.LINE_AA,
        )
    return _jpeg(out, 90)


def colour_shift(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness +-40 levels, contrast x0.7-1.3, per-channel gains 0.85-1.15, gamma 0.7-1.4."""
    x = rgb.astype(np.float32) / 255.0
    x = x ** float(rng.uniform(0.7, 1.4))
    x = x * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    x = (x - 0.5) * float(rng.uniform(0.7, 1.3)) + 0.5 + float(rng.uniform(-40, 40)) / 255.0
    return _jpeg((np.clip(x, 0, 1) * 255).astype(np.uint8), 90)


def pasted(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scaled to 40-75 % and pasted into a larger image (plain, gradient or noisy background)."""
    h, w = rgb.shape[:2]
    share = float(rng.uniform(0.4, 0.75))
    small = cv2.resize(rgb, (round(w * share), round(h * share)), interpolation=cv2.INTER_AREA)
    kind = int(rng.integers(0, 3))
    base = rng.integers(0, 256, 3).astype(np.float32)
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = base
    if kind == 1:
        canvas *= np.linspace(0.4, 1.0, h, dtype=np.float32)[:, None, None]
    elif kind == 2:
        noise = cv2.GaussianBlur(rng.normal(0, 60, (h, w, 3)).astype(np.float32), (0, 0), 3)
        canvas += noise
    canvas = np.clip(canvas, 0, 255).astype(np.uint8)
    sh, sw = small.shape[:2]
    y, x = int(rng.integers(0, h - sh + 1)), int(rng.integers(0, w - sw + 1))
    canvas[y : y + sh, x : x + sw] = small
    return _jpeg(canvas, 85)


DISTORTIONS: dict[str, Distortion] = {
    "jpeg": jpeg,
    "downscale-320": downscale_320,
    "crop-10": crop_10,
    "crop-20": crop_20,
    "letterbox": letterbox,
    "blurred-border": blurred_border,
    "mirror": mirror,
    "subtitle": subtitle,
    "colour-shift": colour_shift,
    "pasted": pasted,
}
"""Every distortion type by name, in the order the bench prints them."""
