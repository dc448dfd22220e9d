"""The MPEG-7 colour layout descriptor, as trace.moe uses it: the baseline of bench/search.py.

The picture is averaged into an 8x8 grid of colours, converted to YCbCr, and each channel's
8x8 DCT is read in zig-zag order: 21 luma and 6 + 6 chroma coefficients, 33 numbers, compared
by L2 distance. (MPEG-7 also quantises the coefficients non-linearly; a linear scale is used
here, which ranks alike.)
"""

from __future__ import annotations

import cv2
import numpy as np

_ZIGZAG = sorted(
    ((v, u) for v in range(8) for u in range(8)), key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 else p[0])
)
_Y_COEFFS, _C_COEFFS = 21, 6


def color_layout(rgb: np.ndarray) -> np.ndarray:
    """The 33-number colour layout of an (h, w, 3) uint8 RGB picture, float32."""
    grid = cv2.resize(rgb, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32)
    r, g, b = grid[..., 0], grid[..., 1], grid[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    channels = (y, 128 + 0.564 * (b - y), 128 + 0.713 * (r - y))
    out: list[float] = []
    for channel, count in zip(channels, (_Y_COEFFS, _C_COEFFS, _C_COEFFS), strict=True):
        coefficients = cv2.dct(channel)
        out.extend(float(coefficients[v, u]) / 8.0 for v, u in _ZIGZAG[:count])
    return np.asarray(out, np.float32)
