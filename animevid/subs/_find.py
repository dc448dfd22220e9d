"""Which subtitles belong to an episode when none are named: a same-named file, else its own track."""

from __future__ import annotations

import glob
from pathlib import Path

from animevid.subs import _mkv
from animevid.subs._load import SUBTITLE_SUFFIXES


def sidecar_subtitles(episode: str | Path) -> Path | None:
    """A subtitle file next to ``episode`` named after it, or None.

    ``ep01.ass`` (then .ssa, .srt, .vtt) comes first; else a language-tagged ``ep01.<tag>.ass``
    (e.g. ``ep01.en.ass``, ``ep01.eng.forced.srt``), the first in name order.
    """
    path = Path(episode)
    for suffix in SUBTITLE_SUFFIXES:
        exact = path.with_suffix(suffix)
        if exact.is_file() and exact != path:
            return exact
    tagged = sorted(
        p
        for p in path.parent.glob(glob.escape(path.stem) + ".*")
        if p.suffix.lower() in SUBTITLE_SUFFIXES and p.is_file() and p != path
    )
    return tagged[0] if tagged else None


def episode_subtitles(episode: str | Path) -> tuple[Path, int | None, str] | None:
    """Where an episode's subtitles are when none were named: ``(path, track, what)`` or None.

    A same-named file next to the episode wins (fansub releases ship them beside the video);
    else the episode's own first text subtitle track (``track`` is its stream index, None for a
    file). ``what`` says which, for messages.

    Raises:
        SubtitleError: The episode cannot be opened as a container.
    """
    sidecar = sidecar_subtitles(episode)
    if sidecar is not None:
        return sidecar, None, f"file {sidecar.name}"
    tracks = [t for t in _mkv.list_tracks(episode) if t.codec in _mkv.TEXT_CODECS]
    if tracks:
        t = tracks[0]
        return Path(episode), t.index, f"track {t.index} ({t.codec}, {t.language})"
    return None
