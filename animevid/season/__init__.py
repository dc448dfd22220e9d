"""Whole seasons: footage that recurs across episodes (OP, ED, eyecatch, recap, preview, reused).

:func:`find_segments` compares every pair of a season's episodes through the frames the search
index keeps, and stores what it finds in the catalog's ``segments`` table, so search, reels,
exports and digests can exclude or label it. A season is the indexed episodes of one folder.
"""

from __future__ import annotations

from animevid.season._segments import Segment, classify, find_segments, seasons

__all__ = ["Segment", "classify", "find_segments", "seasons"]
