"""Clip datasets: a library's shots, loops or scenes as frame-exact mp4 clips with their metadata.

``export_clips(library, out, format=...)`` writes one clip per shot (or loop, or scene) that the
:class:`ClipFilter` keeps, each at every size asked for, from one decode of each episode:

- ``files``: ``out/clips/{key}.mp4`` + ``{key}.json`` (metadata) + ``{key}.txt`` (dialogue);
- ``parquet``: ``out/clips/{key}.mp4`` + ``out/clips.parquet`` (one metadata row per clip);
- ``webdataset``: video2dataset's layout, ``out/{shard:05d}.tar`` holding ``{key}.mp4``, ``{key}.json``
  and ``{key}.txt``, with ``{shard:05d}.parquet`` and ``{shard:05d}_stats.json`` beside each shard.

Keys are ``{episode_id:05d}_{index:05d}`` (loops add ``_{loop:02d}``): stable and sortable. A clip is
stream-copied when that gives exactly its frames, else re-encoded (``encoding`` in its metadata says
which). ``out/manifest.json`` holds the settings, counts and the files of each shard;
``out/.animevid-export.json`` is the journal a re-run resumes from.
"""

from animevid.dataset._export import (
    DEFAULT_SHARD_SIZE,
    DUPLICATE_FRAME_SLACK,
    DUPLICATE_MAX_DIFFERENCE,
    ProgressCallback,
    export_clips,
    parse_sizes,
)
from animevid.dataset._options import (
    FORMATS,
    SKIP_REASONS,
    UNITS,
    ClipCutError,
    ClipFilter,
    ClipUnit,
    EpisodeFailure,
    ExportError,
    ExportFormat,
    ExportReport,
    ExportStats,
)

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "DUPLICATE_FRAME_SLACK",
    "DUPLICATE_MAX_DIFFERENCE",
    "FORMATS",
    "SKIP_REASONS",
    "UNITS",
    "ClipCutError",
    "ClipFilter",
    "ClipUnit",
    "EpisodeFailure",
    "ExportError",
    "ExportFormat",
    "ExportReport",
    "ExportStats",
    "ProgressCallback",
    "export_clips",
    "parse_sizes",
]
