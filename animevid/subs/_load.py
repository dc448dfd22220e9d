"""Loading a subtitle file or a container's subtitle track into classified lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import pysubs2

from animevid.errors import SubtitleError
from animevid.model import SubtitleLine
from animevid.subs import _ass, _mkv, _srt
from animevid.subs._classify import classify, plain_text
from animevid.subs._text import Text, check_encoding, decode_bytes, split_text

SubtitleFormat = Literal["ass", "ssa", "srt", "vtt"]
SUBTITLE_SUFFIXES = (".ass", ".ssa", ".srt", ".vtt")
"""File endings read as subtitle text (anything else is opened as a container with subtitle tracks), in
the order a file beside an episode is preferred."""

_SUBSTATION_MARK = re.compile(r"^\s*(\[script info\]|\[events\]|\[v4\+? styles\+?\]|dialogue\s*:)", re.IGNORECASE)


@dataclass(frozen=True)
class Timed:
    """Where one line's times sit in the source text (to rewrite just those characters)."""

    index: int
    """0-based line index in the source text."""
    start_ms: int
    """Start time in the source, in milliseconds."""
    end_ms: int
    """End time in the source, in milliseconds."""
    spans: tuple[tuple[int, int], ...]
    """Character spans to rewrite: (start, end) fields for ASS/SSA, the whole ``a --> b`` for SRT/VTT."""


@dataclass(frozen=True)
class SubtitleFile:
    """A loaded subtitle file or track: its classified lines and what is needed to write it back."""

    path: Path
    """The file read (a subtitle file, or the video holding the track)."""
    format: SubtitleFormat
    """ass, ssa, srt or vtt (a track is rebuilt in its text format)."""
    encoding: str
    """The Python codec the text was decoded with, as detected (``utf-8``, ``cp932``, ``gb18030``,
    ``utf-16-le``...) or as given; utf-8 for tracks."""
    lines: tuple[SubtitleLine, ...]
    """Every readable event in file order, classified."""
    track: int | None = None
    """Stream index of the track, None for a subtitle file."""
    document: pysubs2.SSAFile = field(default_factory=pysubs2.SSAFile, repr=False, compare=False)
    """The file as pysubs2 sees it (info, styles, fonts, graphics; events as read here)."""
    source: Text = field(default_factory=lambda: split_text(""), repr=False, compare=False)
    """The source text split into lines, to write back unchanged."""
    timed: tuple[Timed, ...] = field(default=(), repr=False, compare=False)
    """Per line of ``lines``: where its times sit in ``source``."""

    def kinds(self) -> dict[str, int]:
        """How many lines of each kind (dialogue, sign, song, comment)."""
        counts = dict.fromkeys(("dialogue", "sign", "song", "comment"), 0)
        for line in self.lines:
            counts[line.kind] += 1
        return counts


def load_subtitles(
    path: str | Path,
    *,
    encoding: str | None = None,
    track: int | None = None,
    language: str | None = None,
    title: str | None = None,
) -> SubtitleFile:
    """Read a subtitle file (.ass, .ssa, .srt, .vtt) or a subtitle track of a video (mkv, mp4, mks).

    Args:
        path: The subtitle file or video.
        encoding: Python codec name of a subtitle file's text (``cp932``, ``gb18030``, ``big5``...); None
            detects it: BOM, UTF-16, UTF-8, the codec an ASS script's styles declare, then legacy
            Japanese/Chinese/Korean/8-bit codecs, cp1252 last. A track's text is always UTF-8.
        track: Stream index of the track to read from a video (see ``animevid subs tracks``).
        language: Language of the track to read (``eng`` or ``en``).
        title: Part of the title of the track to read.

    Returns:
        The lines, classified, in file order, with their 1-based line numbers (0 for a track).

    Raises:
        SubtitleError: ``encoding`` is not a codec name (checked first), or the file is missing, cannot
            be decoded (with ``encoding``: names the first bad line and byte offset), is not
            subtitles, or no track matches.

    Warns:
        SubtitleLineWarning: A line could not be read and was skipped (the message names it).
    """
    file = Path(path)
    if encoding:
        check_encoding(encoding, file)  # a typo in the name is reported before any file or track is opened
    if file.suffix.lower() not in SUBTITLE_SUFFIXES:
        return _load_track(file, track=track, language=language, title=title)
    if not file.is_file():
        raise SubtitleError(file, "no such file", hint="check the path")
    data = file.read_bytes()
    text = decode_bytes(data, file, encoding, declared=() if encoding else _ass.declared_codecs(data))
    return _from_text(file, text, numbered=True)


def read_lines(
    path: str | Path, *, encoding: str | None = None, track: int | None = None, language: str | None = None
) -> list[SubtitleLine]:
    """The classified lines of a subtitle file or of a video's subtitle track, in file order.

    Args:
        path: A subtitle file (.ass, .ssa, .srt, .vtt) or a video with subtitle tracks.
        encoding: Python codec name of a subtitle file's text (``cp932``, ``gb18030``...); None detects it.
        track: Stream index of the track to read from a video.
        language: Language of the track to read from a video.

    Raises:
        SubtitleError: See :func:`load_subtitles`.
    """
    return list(load_subtitles(path, encoding=encoding, track=track, language=language).lines)


def _load_track(file: Path, *, track: int | None, language: str | None, title: str | None) -> SubtitleFile:
    chosen = _mkv.choose_track(file, _mkv.list_tracks(file), track=track, language=language, title=title)
    text, fmt = _mkv.track_text(file, chosen)
    loaded = _from_text(file, split_text(text), numbered=False, fmt=fmt)
    return SubtitleFile(
        loaded.path,
        loaded.format,
        loaded.encoding,
        loaded.lines,
        chosen.index,
        loaded.document,
        loaded.source,
        loaded.timed,
    )


def _from_text(file: Path, text: Text, *, numbered: bool, fmt: str | None = None) -> SubtitleFile:
    fmt = fmt or _sniff(text, file)
    if fmt in ("srt", "vtt"):
        return _from_cues(file, text, fmt, numbered)
    version = _ass.substation_version(text)
    events, hidden = _ass.scan_events(text, file, version)
    if not events:
        _check_empty(file, text, "event")
    document = _ass.load_header(text, hidden, version)
    lines, timed = [], []
    for e in events:
        kind = classify(e.text, style=e.style, effect=e.effect, comment=e.comment)
        number = e.index + 1 if numbered else 0
        lines.append(SubtitleLine(e.start_ms / 1000, e.end_ms / 1000, plain_text(e.text), e.style, kind, number))
        timed.append(Timed(e.index, e.start_ms, e.end_ms, (e.start_span, e.end_span)))
        document.events.append(
            pysubs2.SSAEvent(
                start=e.start_ms,
                end=e.end_ms,
                text=e.text,
                style=e.style,
                name=e.name,
                effect=e.effect,
                layer=e.layer,
                type="Comment" if e.comment else "Dialogue",
            )
        )
    return SubtitleFile(
        file, cast(SubtitleFormat, version), text.encoding, tuple(lines), None, document, text, tuple(timed)
    )


def _from_cues(file: Path, text: Text, fmt: str, numbered: bool) -> SubtitleFile:
    cues = _srt.scan_cues(text, file, fmt)
    if not cues:
        _check_empty(file, text, "cue")
    document = pysubs2.SSAFile()
    document.format = fmt
    lines, timed = [], []
    for c in cues:
        number = c.index + 1 if numbered else 0
        lines.append(
            SubtitleLine(c.start_ms / 1000, c.end_ms / 1000, plain_text(c.text), "Default", classify(c.text), number)
        )
        timed.append(Timed(c.index, c.start_ms, c.end_ms, (c.timing_span,)))
        document.events.append(pysubs2.SSAEvent(start=c.start_ms, end=c.end_ms, text=c.text))
    return SubtitleFile(
        file, cast(SubtitleFormat, fmt), text.encoding, tuple(lines), None, document, text, tuple(timed)
    )


def _sniff(text: Text, file: Path) -> str:
    """ass/ssa (SubStation markers), vtt (WEBVTT header) or srt (a ``-->`` timing line)."""
    head = next((line.strip() for line in text.lines if line.strip()), "")
    if head.startswith("WEBVTT"):
        return "vtt"
    if any(_SUBSTATION_MARK.match(line) for line in text.lines):
        return "ass"
    if any("-->" in line for line in text.lines):
        return "srt"
    raise SubtitleError(
        file,
        f"not a subtitle file: no [Script Info] or [Events] (ASS/SSA), WEBVTT header or '-->' timing line; "
        f"it begins {head[:40]!r}",
        line=1,
        hint="pass an .ass, .ssa, .srt or .vtt file, or --encoding when the text looks garbled",
    )


def _check_empty(file: Path, text: Text, what: str) -> None:
    """No readable line: fine for an empty script, an error when every line it has was bad."""
    marker = re.compile(r"^\s*(dialogue|comment)\s*:", re.IGNORECASE) if what == "event" else re.compile("-->")
    first_bad = next((i + 1 for i, line in enumerate(text.lines) if marker.search(line)), 0)
    if first_bad:
        raise SubtitleError(
            file,
            f"no {what} could be read (each was skipped with a warning; the first is at line {first_bad})",
            line=first_bad,
            hint="fix those lines (re-save the file in Aegisub), or pass --encoding if the text is garbled",
        )
