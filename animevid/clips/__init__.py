"""What an indexed episode is made of, read from the catalog for the pages and files made from it
(digests, reels, clip datasets): shots with their analyses, scenes, dialogue, cast and recurring segments.
"""

from animevid.clips._facts import (
    REPEATED_KINDS,
    SEGMENT_COLOURS,
    EpisodeFacts,
    EpisodeNotFound,
    Segment,
    find_episode,
    indexed_ids,
    library_episodes,
    open_episode,
    read_episode,
)

__all__ = [
    "REPEATED_KINDS",
    "SEGMENT_COLOURS",
    "EpisodeFacts",
    "EpisodeNotFound",
    "Segment",
    "find_episode",
    "indexed_ids",
    "library_episodes",
    "open_episode",
    "read_episode",
]
