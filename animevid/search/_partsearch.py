"""The part round of a lookup: candidates for a query that shows only part of a frame.

Under each hypothesis of how much of the frame's width the query shows (:data:`PART_SHARES`), the
query's corners are described (:func:`animevid.search._parts.query_parts`) and looked up among the
part vectors. Each part found says where the query's top-left corner would lie in its frame; parts of
one frame that agree on it (within :data:`OFFSET_STEP`) add up, so a frame is a candidate when
several of its patches fit the query in the same place, not when one look-alike patch does. The
best-voted frames then get the finer check with the query at its own shape.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from animevid.search._describe import FRAME_ASPECT, Match, match_score
from animevid.search._parts import PART_TAG, query_parts
from animevid.search._store import SearchIndex

PART_SHARES = (0.30, 0.34, 0.39, 0.45, 0.51)
"""Shares of the frame's width a part query is tried at (steps of 14 %: a patch 7 % off in scale still
matches); a reaction crop shows 30-50 % of the frame."""
WHOLE_SHARES = (1.0,)
"""The share tried, on its own, for a query that shows the whole frame under stickers or a player's overlay:
the corners they leave uncovered still find the frame when its covered core does not."""
WHOLE_CANDIDATES = 8
"""Frames, best voted first, the whole-frame share gives the finer check."""
PART_NEIGHBOURS = 8
"""Nearest part vectors fetched per query corner."""
PART_MIN_COSINE = 0.6
"""A part matches a query corner when their DCT codes correlate at least this much."""
OFFSET_STEP = 0.025
"""Parts whose placements of the query differ by less than this (frame shares) agree."""
PART_CANDIDATES = 24
"""Frames, best voted first, given the finer check."""


def _votes(index: SearchIndex, grey: np.ndarray, tried: tuple[float, ...]) -> dict[tuple[int, float, int, int], float]:
    """(frame vector id, share, offset cell x, y) -> summed evidence of the parts that put the query there."""
    codes, corners, shares = [], [], []
    for share in tried:
        found, at = query_parts(grey, share, FRAME_ASPECT)
        codes.append(found)
        corners.append(at)
        shares += [share] * len(found)
    votes: dict[tuple[int, float, int, int], float] = defaultdict(float)
    if not shares:
        return votes
    scores, ids = index.search(np.concatenate(codes), PART_NEIGHBOURS, parts=True)
    spread = 1 - PART_TAG**2
    for q, (here, row_scores, row_ids) in enumerate(zip(np.concatenate(corners), scores, ids, strict=True)):
        for score, vid in zip(row_scores, row_ids, strict=True):
            cosine = (float(score) - PART_TAG**2) / spread
            if vid < 0 or cosine < PART_MIN_COSINE:
                continue
            frame, centre = index.part(int(vid))
            cell = np.round((centre - here) / OFFSET_STEP).astype(int)
            votes[(frame, shares[q], int(cell[0]), int(cell[1]))] += cosine - PART_MIN_COSINE
    return votes


def part_candidates(
    index: SearchIndex, grey: np.ndarray, shares: tuple[float, ...] = PART_SHARES, most: int = PART_CANDIDATES
) -> list[tuple[int, float, float]]:
    """Frames a part-of-frame query may come from: (frame vector id, share, evidence), best first.

    Args:
        index: The open search index.
        grey: The query (a region of it), grey uint8.
        shares: Shares of the frame's width the query is tried at.
        most: Most frames returned.

    Returns:
        At most ``most`` frames.
    """
    votes = _votes(index, grey, shares)
    best: dict[int, tuple[float, float]] = {}
    for (frame, share, cx, cy), _ in votes.items():
        near = sum(votes.get((frame, share, cx + a, cy + b), 0.0) for a in (-1, 0, 1) for b in (-1, 0, 1))
        if near > best.get(frame, (0.0, 0.0))[0]:
            best[frame] = (near, share)
    ranked = sorted(best.items(), key=lambda item: -item[1][0])[:most]
    return [(frame, share, evidence) for frame, (evidence, share) in ranked]


def part_match(index: SearchIndex, picture: np.ndarray, vid: int, share: float) -> Match:
    """The finer check of a part query on a candidate frame's thumbnail, at the query's own shape."""
    thumb = index.thumbnail(vid).astype(np.float32)
    scales = tuple(share * f for f in (0.9, 0.95, 1.0, 1.05, 1.1))
    return match_score(picture.astype(np.float32), thumb, scales, own_shape=True)
