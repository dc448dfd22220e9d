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


# -- what fans post (issue 24): crops of a part, several frames in one image, filters, photos, overlays -----


def reaction_crop(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A part of the frame (35-45 % of its width and, independently, of its height) anywhere, scaled to
    360-640 px wide, JPEG at quality 70-90: a face or a hand cut out to react with."""
    h, w = rgb.shape[:2]
    kw, kh = round(w * rng.uniform(0.35, 0.45)), round(h * rng.uniform(0.35, 0.45))
    x, y = int(rng.integers(0, w - kw + 1)), int(rng.integers(0, h - kh + 1))
    part = rgb[y : y + kh, x : x + kw]
    width = int(rng.integers(360, 641))
    part = cv2.resize(part, (width, max(2, round(kh * width / kw))), interpolation=cv2.INTER_CUBIC)
    return _jpeg(part, int(rng.integers(70, 91)))


def _gutter(rng: np.random.Generator, size: int) -> tuple[int, tuple[int, int, int]]:
    """A gutter's width in pixels (none a third of the time, else 1-4 % of ``size``) and its colour."""
    width = 0 if rng.random() < 1 / 3 else max(1, round(size * rng.uniform(0.01, 0.04)))
    colour = ((255, 255, 255), (0, 0, 0), tuple(int(c) for c in rng.integers(0, 256, 3)))[int(rng.integers(0, 3))]
    return width, colour  # type: ignore[return-value]


def side_by_side(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two frames in one image, left and right, with or without a gutter, JPEG at quality 75-90."""
    h, w = first.shape[:2]
    second = cv2.resize(second, (w, h), interpolation=cv2.INTER_AREA) if second.shape != first.shape else second
    gap, colour = _gutter(rng, w)
    canvas = np.empty((h, 2 * w + gap, 3), np.uint8)
    canvas[:] = colour
    canvas[:, :w], canvas[:, w + gap :] = first, second
    return _jpeg(canvas, int(rng.integers(75, 91)))


def panel_grid(frames: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    """Several frames in one image: stacked (a comic-style strip of 2-3) or a 2x2 grid, JPEG at 75-90.

    Args:
        frames: At least 4 frames of one size.
        rng: Seeded generator.

    Returns:
        The picture and which of ``frames`` it shows, in reading order.
    """
    h, w = frames[0].shape[:2]
    rows, cols = ((2, 1), (3, 1), (2, 2))[int(rng.integers(0, 3))]
    gap, colour = _gutter(rng, w)
    canvas = np.empty((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), np.uint8)
    canvas[:] = colour
    used = list(range(rows * cols))
    for n in used:
        r, c = divmod(n, cols)
        canvas[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = frames[n]
    return _jpeg(canvas, int(rng.integers(75, 91))), used


def _sepia(x: np.ndarray) -> np.ndarray:
    matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)
    return x @ matrix.T


def _vignette(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2) / np.sqrt(2)
    strength = float(rng.uniform(0.5, 0.85))
    return x * (1 - strength * r**2)[..., None]


def photo_filter(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One of: sepia, monochrome with gamma 0.5-2, strong contrast x1.5-2.2 (clipped), a vignette darkening
    the corners by 50-85 %, a colour filter (per-channel curves), or sepia with a vignette; JPEG at 80-92."""
    x = rgb.astype(np.float32) / 255.0
    kind = int(rng.integers(0, 6))
    if kind in (0, 5):
        x = _sepia(x)
    elif kind == 1:
        x = np.repeat((x @ np.array([0.299, 0.587, 0.114], np.float32))[..., None], 3, axis=2)
        x = np.clip(x, 0, 1) ** float(rng.choice([rng.uniform(0.5, 0.8), rng.uniform(1.3, 2.0)]))
    elif kind == 2:
        x = (x - 0.5) * float(rng.uniform(1.5, 2.2)) + 0.5
    elif kind == 4:
        gammas = rng.uniform(0.6, 1.6, 3).astype(np.float32)
        x = np.clip(x, 0, 1) ** gammas * rng.uniform(0.7, 1.1, 3).astype(np.float32) + rng.uniform(0, 0.15, 3)
    if kind in (3, 5):
        x = _vignette(np.clip(x, 0, 1), rng)
    return _jpeg((np.clip(x, 0, 1) * 255).astype(np.uint8), int(rng.integers(80, 93)))


def rotated(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turned 3-8 degrees either way and cropped to the largest upright rectangle of picture, JPEG at 85."""
    h, w = rgb.shape[:2]
    angle = float(rng.uniform(3, 8)) * (1 if rng.random() < 0.5 else -1)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    out = cv2.warpAffine(rgb, turn, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    a = np.radians(abs(angle))
    # the largest centred w':h' = w:h rectangle inside the turned frame
    shrink = 1.0 / (np.cos(a) + np.sin(a) * max(w / h, h / w))
    kw, kh = int(w * shrink), int(h * shrink)
    x0, y0 = (w - kw) // 2, (h - kh) // 2
    return _jpeg(np.ascontiguousarray(out[y0 : y0 + kh, x0 : x0 + kw]), 85)


def screen_photo(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A phone photo of a screen showing the frame: bezel, room behind, perspective, blur, glare, noise, JPEG."""
    w = rgb.shape[1]
    bezel = max(2, round(w * rng.uniform(0.02, 0.05)))
    shade = int(rng.integers(5, 50))
    screen = cv2.copyMakeBorder(rgb, bezel, bezel, bezel, bezel, cv2.BORDER_CONSTANT, value=(shade,) * 3)
    sh, sw = screen.shape[:2]
    out_w, out_h = round(sw * 1.15), round(sh * 1.25)
    room = cv2.GaussianBlur(rng.normal(0, 40, (out_h // 8, out_w // 8, 3)).astype(np.float32), (0, 0), 2)
    room = cv2.resize(room, (out_w, out_h)) + rng.uniform(60, 200, 3).astype(np.float32)
    fill = float(rng.uniform(0.7, 0.9))
    cx, cy = out_w / 2 + rng.uniform(-0.05, 0.05) * out_w, out_h / 2 + rng.uniform(-0.05, 0.05) * out_h
    half = np.array([sw, sh], np.float32) * fill / 2
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * half
    corners += rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * half * 2  # tilt: perspective
    turn = np.radians(rng.uniform(-6, 6))
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    corners = corners @ rot.T + np.array([cx, cy], np.float32)
    source = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    warp = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    shown = cv2.warpPerspective(screen, warp, (out_w, out_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((sh, sw), np.float32), warp, (out_w, out_h))[..., None]
    photo = room * (1 - mask) + shown.astype(np.float32) * mask
    gx, gy = rng.uniform(0.2, 0.8) * out_w, rng.uniform(0.2, 0.8) * out_h
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    glare = np.exp(-(((xx - gx) / (0.15 * out_w)) ** 2 + ((yy - gy) / (0.1 * out_h)) ** 2))
    photo += float(rng.uniform(30, 90)) * glare[..., None] * mask
    photo = cv2.GaussianBlur(photo, (0, 0), float(rng.uniform(0.6, 1.6)))
    photo += np.asarray(rng.normal(0, 4, photo.shape), np.float32)
    return _jpeg(np.clip(photo, 0, 255).astype(np.uint8), int(rng.integers(70, 90)))


def player_ui(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A video player's overlay: a dark title bar with text on top, a progress bar and buttons at the bottom,
    often a big play symbol in the middle; JPEG at 85."""
    out = rgb.astype(np.float32)
    h, w = out.shape[:2]
    top, bottom = round(h * rng.uniform(0.08, 0.14)), round(h * rng.uniform(0.1, 0.18))
    out[:top] *= 0.35
    out[h - bottom :] *= 0.35
    out = out.astype(np.uint8)
    scale = w / 640
    text = " ".join(rng.choice(_WORDS, 4)) + f" - {int(rng.integers(1, 25)):02d}"
    cv2.putText(out, text, (round(12 * scale), round(top * 0.7)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (240,) * 3, 1)
    y = h - round(bottom * 0.65)
    done = int(rng.uniform(0.05, 0.95) * (w - 24 * scale))
    cv2.line(out, (round(12 * scale), y), (round(w - 12 * scale), y), (120, 120, 120), max(2, round(4 * scale)))
    cv2.line(out, (round(12 * scale), y), (round(12 * scale) + done, y), (230, 40, 40), max(2, round(4 * scale)))
    cv2.circle(out, (round(12 * scale) + done, y), max(3, round(7 * scale)), (255, 255, 255), -1)
    for k in range(5):
        cx = round((24 + 36 * k) * scale)
        cv2.rectangle(out, (cx - 8, h - round(bottom * 0.3) - 8), (cx + 8, h - round(bottom * 0.3) + 8), (230,) * 3, -1)
    if rng.random() < 0.5:
        r = round(h * 0.09)
        tri = np.array([[w // 2 - r // 2, h // 2 - r], [w // 2 - r // 2, h // 2 + r], [w // 2 + r, h // 2]], np.int32)
        cv2.circle(out, (w // 2, h // 2), round(r * 1.5), (30, 30, 30), -1)
        cv2.fillPoly(out, [tri], (250, 250, 250))
    return _jpeg(out, 85)


def upscaled(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Upscaled x2 (bicubic) and sharpened (unsharp mask, amount 0.8-1.5), JPEG at 85-95."""
    h, w = rgb.shape[:2]
    big = cv2.resize(rgb, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    amount = float(rng.uniform(0.8, 1.5))
    sharp = big * (1 + amount) - cv2.GaussianBlur(big, (0, 0), 2.0) * amount
    return _jpeg(np.clip(sharp, 0, 255).astype(np.uint8), int(rng.integers(85, 96)))


def meme_caption(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """White bars above and/or below the frame (12-25 % of its height each) with black caption text."""
    h, w = rgb.shape[:2]
    where = int(rng.integers(0, 3))  # 0 top, 1 bottom, 2 both
    top = round(h * rng.uniform(0.12, 0.25)) if where in (0, 2) else 0
    bottom = round(h * rng.uniform(0.12, 0.25)) if where in (1, 2) else 0
    out = cv2.copyMakeBorder(rgb, top, bottom, 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    scale = w / 640
    for y0, size in ((0, top), (top + h, bottom)):
        if size:
            text = " ".join(rng.choice(_WORDS, int(rng.integers(3, 7)))).upper()
            org = (round(10 * scale), y0 + round(size * 0.65))
            cv2.putText(out, text, org, cv2.FONT_HERSHEY_DUPLEX, 0.9 * scale, (0, 0, 0), max(1, round(2 * scale)))
    return _jpeg(out, 85)


def sticker(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stickers and a watermark over the frame: 1-3 opaque blobs covering 10-30 % of it in all, JPEG at 85."""
    out = rgb.copy()
    h, w = out.shape[:2]
    budget, covered = float(rng.uniform(0.1, 0.3)) * h * w, 0.0
    while covered < budget:
        r = int(np.sqrt(min(budget - covered, budget / 1.5) / np.pi)) + 4
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(out, (cx, cy), r, colour, -1)
        cv2.circle(out, (cx - r // 3, cy - r // 4), max(2, r // 6), (0, 0, 0), -1)
        cv2.circle(out, (cx + r // 3, cy - r // 4), max(2, r // 6), (0, 0, 0), -1)
        covered += np.pi * r * r
    scale = w / 640
    cv2.putText(
        out,
        "@fansub",
        (w - round(120 * scale), round(24 * scale)),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.6 * scale,
        (255, 255, 255),
        1,
    )
    return _jpeg(out, 85)


def squeezed(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Squeezed to 4:3 (or stretched to 21:9), JPEG at 85."""
    h = rgb.shape[0]
    aspect = 4 / 3 if rng.random() < 0.7 else 21 / 9
    return _jpeg(cv2.resize(rgb, (round(h * aspect), h), interpolation=cv2.INTER_AREA), 85)


def thumbnail_160(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 160-px-wide thumbnail, JPEG at 60-85."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (160, max(2, round(h * 160 / w))), interpolation=cv2.INTER_AREA)
    return _jpeg(small, int(rng.integers(60, 86)))


FAN_DISTORTIONS: dict[str, Distortion] = {
    "reaction-crop": reaction_crop,
    "filter": photo_filter,
    "rotated": rotated,
    "screen-photo": screen_photo,
    "player-ui": player_ui,
    "sticker": sticker,
    "upscaled": upscaled,
    "meme-caption": meme_caption,
    "squeezed": squeezed,
    "thumbnail-160": thumbnail_160,
}
"""What fans post, one frame per query, in the order the bench prints them. Several frames in one image
(:func:`side_by_side`, :func:`panel_grid`) take more than one frame and are driven by the bench itself."""
