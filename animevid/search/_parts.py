"""Part-of-frame descriptors: find a frame from a query that shows only part of it (a reaction crop).

A frame's whole-frame descriptor describes its core, which a crop of 30-50 % of the frame does not
hold. So a few frames a second also keep **part descriptors**: small square patches centred on the
frame's strongest corners (eyes, hands, outlines), each described like the core (63 low DCT
frequencies, L2-normalised). Corners are found the same way on a query scaled to the frame's size
under a hypothesis of how much of the frame it shows; a corner that is strong in the frame is strong
in any crop that holds it, so the crop's corners find the frame's patches, and patches that agree on
where the crop lies vote for the frame.

Part vectors share the descriptor space with whole-frame vectors but are told apart by the last
number (whole frames leave it 0, parts set it to :data:`PART_TAG`): a whole-frame query lies at
least ``2 - 2 * sqrt(1 - PART_TAG**2)`` (squared) from every part vector, farther than any good match.
"""

from __future__ import annotations

import cv2
import numpy as np

from animevid.search._describe import DESCRIPTOR_DIM, dct_code

PART_WIDTH = 256
"""Width (pixels) frames and queries are scaled to before their corners and patches are taken."""
PATCH = 24
"""Side of a part's square patch at :data:`PART_WIDTH` (9 % of a 16:9 frame's width, 17 % of its height)."""
PART_CORNERS = 32
"""Most part descriptors kept per frame (its strongest corners, at least ``PATCH / 2`` apart). Reaction crops
of the 13 real clips (a prototype, exact search, 120 queries): the true frame among the 16 best voted 94 times
with 32, 104 with 48, 105 with 64."""
QUERY_CORNERS = 24
"""Most corners described per query and scale hypothesis."""
PART_TAG = 0.8
"""Last number of every part vector (its DCT code is scaled by sqrt(1 - PART_TAG**2))."""
_QUALITY = 0.02
_SMOOTH = 1.0


def _corners(grey: np.ndarray, most: int) -> np.ndarray:
    """(n, 2) float32 x, y of the strongest corners whose patch lies inside the picture."""
    h, w = grey.shape
    half = PATCH // 2
    if h <= PATCH or w <= PATCH:
        return np.zeros((0, 2), np.float32)
    mask = np.zeros((h, w), np.uint8)
    mask[half : h - half, half : w - half] = 255
    smooth = cv2.GaussianBlur(grey, (0, 0), _SMOOTH)
    found = cv2.goodFeaturesToTrack(smooth, most, _QUALITY, half, mask=mask, blockSize=5)
    return np.zeros((0, 2), np.float32) if found is None else found.reshape(-1, 2).astype(np.float32)


def _describe(grey: np.ndarray, corners: np.ndarray) -> np.ndarray:
    half = PATCH // 2
    out = np.zeros((len(corners), DESCRIPTOR_DIM), np.float32)
    keep = np.sqrt(1 - PART_TAG**2)
    for i, (x, y) in enumerate(np.round(corners).astype(int)):
        code = dct_code(grey[y - half : y + half, x - half : x + half])
        if code.any():
            out[i] = code * keep
            out[i, -1] = PART_TAG
    return out


def _parts_of(grey: np.ndarray, most: int, frame_size: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The described corners of a picture at the frame's scale: (vectors, centres / ``frame_size`` (w, h)).

    A flat patch has no descriptor and is left out.
    """
    corners = _corners(grey, most)
    vectors = _describe(grey, corners)
    kept = vectors[:, -1] > 0
    return vectors[kept], corners[kept] / np.array(frame_size, np.float32)


def frame_parts(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Part descriptors of one frame: ((n, 64) float32 vectors, (n, 2) float32 patch centres in frame shares)."""
    h, w = grey.shape
    if w != PART_WIDTH:
        grey = cv2.resize(grey, (PART_WIDTH, max(2, round(h * PART_WIDTH / w))), interpolation=cv2.INTER_AREA)
    return _parts_of(grey, PART_CORNERS, (grey.shape[1], grey.shape[0]))


def query_parts(grey: np.ndarray, share: float, frame_aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Part descriptors of a query under the hypothesis that it is ``share`` of the frame's width.

    Args:
        grey: The query in grey, uint8.
        share: Hypothesised width of the query as a share of the frame's.
        frame_aspect: The frame's width / height (16/9 for TV anime).

    Returns:
        ((n, 64) vectors, (n, 2) corner positions in frame shares *relative to the query's top-left*).
    """
    h, w = grey.shape
    width = max(8, round(PART_WIDTH * share))
    height = max(8, round(h * width / w))
    scaled = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA if width < w else cv2.INTER_LINEAR)
    return _parts_of(scaled, QUERY_CORNERS, (PART_WIDTH, PART_WIDTH / frame_aspect))
