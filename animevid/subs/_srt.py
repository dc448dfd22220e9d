"""SubRip (.srt) and WebVTT (.vtt): cues found by our own scan, their text converted by pysubs2.

pysubs2 takes any line holding two timestamps as a timing line and glues every other line to the
cue before, so a damaged timing line silently becomes subtitle text. The scan here finds each cue's
timing line (``-->``) with its line number, warns about the ones it cannot read, and hands pysubs2
one cue at a time, which converts ``<i>``/``<b>`` to override tags and drops other markup.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pysubs2

from animevid.errors import SubtitleLineWarning
from animevid.subs._text import Text

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}")


@dataclass(frozen=True)
class Cue:
    """One readable cue."""

    index: int
    """0-based index of its timing line in the text."""
    start_ms: int
    """Start time in milliseconds."""
    end_ms: int
    """End time in milliseconds."""
    timing_span: tuple[int, int]
    """Character span of ``start --> end`` within the timing line (cue settings after it are kept)."""
    text: str
    """Text with ``<i>``-style markup turned into override tags, line breaks as ``\\N``."""


def scan_cues(text: Text, path: Path, fmt: str) -> list[Cue]:
    """Every readable cue in file order; unreadable timing lines warn and their cue is skipped."""
    cues = []
    lines = text.lines
    for index, line in enumerate(lines):
        if "-->" not in line:
            continue
        body = _body(lines, index + 1)
        match = _TIMING.match(line)
        if match is None:
            _warn(path, index, f"timing line {line.strip()!r} is not 'HH:MM:SS,mmm --> HH:MM:SS,mmm'")
            continue
        start, end = _millis(match.groups()[:4]), _millis(match.groups()[4:])
        if end < start:
            _warn(path, index, f"cue ends before it starts ({line.strip()!r})")
            continue
        cues.append(Cue(index, start, end, _timing_span(match), _convert(body, fmt)))
    return cues


def _timing_span(match: re.Match[str]) -> tuple[int, int]:
    first = next(i for i in range(1, 5) if match.group(i) is not None)
    return match.start(first), match.end()


def _body(lines: list[str], first: int) -> list[str]:
    """The cue's text lines: up to a blank line, or up to the next cue's number and timing line."""
    body: list[str] = []
    for i in range(first, len(lines)):
        if not lines[i].strip() or "-->" in lines[i]:
            break
        body.append(lines[i])
    if body and body[-1].strip().isdigit() and first + len(body) < len(lines) and "-->" in lines[first + len(body)]:
        body.pop()  # the next cue's number, when the blank line between cues is missing
    return body


def _millis(groups: tuple[str | None, ...]) -> int:
    hours, minutes, seconds, fraction = groups
    millis = int(fraction or 0) * 10 ** (3 - len(fraction or "0"))
    return ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)) * 1000 + millis


def _convert(body: list[str], fmt: str) -> str:
    source = "00:00:00,000 --> 00:00:01,000\n" + "\n".join(body) + "\n"
    if fmt == "vtt":
        source = "WEBVTT\n\n" + source.replace(",000", ".000")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subs = pysubs2.SSAFile.from_string(source, format_=fmt)
    return subs.events[0].text if subs.events else ""


def format_timing(start_ms: int, end_ms: int, fmt: str) -> str:
    """``HH:MM:SS,mmm --> HH:MM:SS,mmm`` (a dot before the milliseconds for WebVTT)."""
    sep = "." if fmt == "vtt" else ","
    return f"{_stamp(start_ms, sep)} --> {_stamp(end_ms, sep)}"


def _stamp(ms: int, sep: str) -> str:
    ms = max(0, ms)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{millis:03d}"


def _warn(path: Path, index: int, problem: str) -> None:
    warnings.warn(f"subtitle file {path}: line {index + 1}: {problem}; cue skipped", SubtitleLineWarning, stacklevel=4)
