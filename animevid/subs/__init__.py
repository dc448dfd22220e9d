"""Subtitles: load fansub files and mkv tracks, classify every line, align them to an episode's cuts.

- :func:`read_lines` / :func:`load_subtitles` read .ass, .ssa, .srt and .vtt files (encoding by BOM,
  UTF-16, UTF-8, an ASS script's style ``Encoding``, then detected among Shift-JIS, EUC-JP, GBK/GB18030,
  Big5 and Korean, cp1252 last; ``encoding=`` overrides it) and text subtitle tracks of videos (mkv,
  mp4, mks), numbering every line; a line that cannot be read is skipped with a
  :class:`~animevid.errors.SubtitleLineWarning`, a file that cannot be read raises
  :class:`~animevid.errors.SubtitleError` naming the line.
- Every event is classified as dialogue, sign, song or comment (:func:`classify`).
- :func:`align_lines` finds the offset and frame-rate drift between a file and the episode from
  the cuts fansubbers snap lines to, applies them, and snaps line starts/ends to nearby cuts like
  Aegisub's timing post-processor; :func:`write_subtitles` writes the re-timed file, keeping every
  other byte (styles, [Fonts], [Graphics], comments, script info).
- :func:`animevid.pipeline.align_subtitles` does it all for an episode file (one decode pass for the cuts).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from animevid.subs._align import SubtitleAlignment, TimingFit, align_lines, cut_seconds, estimate_timing
from animevid.subs._classify import classify, plain_text
from animevid.subs._find import episode_subtitles, sidecar_subtitles
from animevid.subs._load import SubtitleFile, SubtitleFormat, load_subtitles, read_lines
from animevid.subs._mkv import list_tracks
from animevid.subs._write import write_subtitles

if TYPE_CHECKING:
    from animevid.decode import SubtitleTrack

__all__ = [
    "SubtitleAlignment",
    "SubtitleFile",
    "SubtitleFormat",
    "TimingFit",
    "align_lines",
    "classify",
    "cut_seconds",
    "episode_subtitles",
    "estimate_timing",
    "load_subtitles",
    "plain_text",
    "read_lines",
    "sidecar_subtitles",
    "subtitle_tracks",
    "write_subtitles",
]


def subtitle_tracks(path: str | Path) -> list[SubtitleTrack]:
    """The subtitle tracks of a video (index, codec, language, title), in stream order.

    Raises:
        SubtitleError: The file is missing or not a container.
    """
    return list_tracks(path)
