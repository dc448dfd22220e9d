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
- :func:`align_subtitles` does it all for an episode file (one decode pass for the cuts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from animevid.config import Config
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
    "align_subtitles",
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


def align_subtitles(
    episode: str | Path,
    subtitles: str | Path | None = None,
    *,
    config: Config | None = None,
    output: str | Path | None = None,
    encoding: str | None = None,
    track: int | None = None,
    language: str | None = None,
    detector: str | None = None,
    device: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SubtitleAlignment:
    """Align a subtitle file (or the episode's own track) to the episode's cuts; optionally write it.

    Args:
        episode: The video whose cuts the lines are aligned to (decoded once).
        subtitles: A subtitle file or a video with subtitle tracks; None reads the episode's track.
        config: Options (``config.subs`` for alignment, ``config.shots`` for the cuts).
        output: Where to write the re-timed file (.ass, .ssa, .srt, .vtt); None writes nothing.
        encoding: Python codec name of the subtitle file's text (``cp932``, ``gb18030``, ``big5``...);
            None detects it. An unknown name raises before the episode is opened.
        track: Stream index of the subtitle track to read from a video.
        language: Language of the subtitle track to read from a video.
        detector: Shot detector overriding ``config.shots.detector``.
        device: Device overriding ``config.device``.
        progress: Called with the number of frames decoded after each batch.

    Returns:
        The fit, the re-timed lines and the counts (``as_dict()`` is the CLI's JSON).

    Raises:
        SubtitleError: The subtitles cannot be read or written.
        VideoError: The episode cannot be decoded.
    """
    from animevid.shots import detect_shots

    cfg = config or Config()
    source = subtitles if subtitles is not None else episode
    subs = load_subtitles(source, encoding=encoding, track=track, language=language)
    shots = detect_shots(episode, config=cfg, detector=detector, device=device, progress=progress)
    result = align_lines(subs.lines, cut_seconds(shots.shots), fps=shots.fps, config=cfg.subs)
    written = write_subtitles(subs, result.lines, output) if output is not None else None
    return replace(result, episode=str(episode), subtitles=str(source), output=str(written) if written else None)
