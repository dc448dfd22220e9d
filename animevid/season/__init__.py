"""Whole seasons: footage that recurs across episodes (OP, ED, eyecatch, recap, preview, reused).

:func:`find_segments` compares every pair of a season's episodes through the frames the search
index keeps, and stores what it finds in the catalog's ``segments`` table, so search, reels,
exports and digests can exclude or label it. A season is the indexed episodes of one folder.
:func:`write_season_page` draws each season: OP/ED and the rest on a timeline, screen time per
character and episode, sakuga highlights outside the footage that repeats.
"""

from __future__ import annotations

from animevid.season._page import season_report, write_season_page
from animevid.season._segments import Segment, classify, find_segments, seasons

__all__ = ["Segment", "classify", "find_segments", "season_report", "seasons", "write_season_page"]
