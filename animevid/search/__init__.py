"""Find any frame: screenshot, clip or dialogue -> episode and time.

Indexing adds :class:`FrameDescriptorStage` to the one decode pass; it keeps the frames a
screenshot could come from (new pictures, and at least one per second while anything moves) with
a 64-number descriptor and a 64x36 grey thumbnail each. :class:`SearchIndex` stores them in
``<library>/index/`` behind FAISS (exact search for small libraries, IVF-PQ for large ones).
:func:`search_image` trims borders, finds pasted screenshots, tries mirror and crop hypotheses,
then checks the best candidates against their thumbnails; :func:`search_text` searches dialogue.
"""

from __future__ import annotations

from animevid.search._api import indexed_episodes, load_image, open_search_index, search_image, search_video
from animevid.search._colorlayout import color_layout
from animevid.search._describe import DESCRIPTOR_DIM, THUMB_SIZE
from animevid.search._faiss import INDEX_BACKENDS
from animevid.search._query import SearchHit, SearchResult
from animevid.search._stage import EpisodeFrames, FrameDescriptorStage, IndexedFrame
from animevid.search._store import FrameRef, SearchIndex, index_version
from animevid.search._text import TextHit, fold_text, search_text

__all__ = [
    "DESCRIPTOR_DIM",
    "INDEX_BACKENDS",
    "THUMB_SIZE",
    "EpisodeFrames",
    "FrameDescriptorStage",
    "FrameRef",
    "IndexedFrame",
    "SearchHit",
    "SearchIndex",
    "SearchResult",
    "TextHit",
    "color_layout",
    "fold_text",
    "index_version",
    "indexed_episodes",
    "load_image",
    "open_search_index",
    "search_image",
    "search_text",
    "search_video",
]
