"""Writing re-timed lines back: only the changed time fields are rewritten, every other byte is kept.

pysubs2's writer rebuilds the whole file: it drops ``;`` comments in [Script Info], unknown sections
and the original Format lines, re-formats style numbers and re-encodes as UTF-8. So a file written in
its own format is patched in place instead: the Start/End fields (ASS/SSA) or the ``a --> b`` part of
the timing line (SRT/VTT) of each re-timed line, in the file's own encoding, BOM and line breaks.
Only a change of format (e.g. .srt in, .ass out) goes through pysubs2, which keeps the script
info, styles, [Fonts] and [Graphics].
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

from animevid.errors import SubtitleError
from animevid.model import SubtitleLine
from animevid.subs._ass import format_timestamp
from animevid.subs._load import SubtitleFile
from animevid.subs._srt import format_timing
from animevid.subs._text import Text

WRITE_FORMATS = {".ass": "ass", ".ssa": "ssa", ".srt": "srt", ".vtt": "vtt"}
"""File endings that can be written, and their formats."""


def write_subtitles(subs: SubtitleFile, lines: Sequence[SubtitleLine], path: str | Path) -> Path:
    """Write ``subs`` with the times of ``lines`` (same lines, same order, e.g. from an alignment).

    Args:
        subs: The loaded file.
        lines: One line per line of ``subs.lines`` carrying the new times.
        path: Output file; its ending picks the format (.ass, .ssa, .srt, .vtt).

    Returns:
        The path written.

    Raises:
        SubtitleError: The ending is not a subtitle format, or ``lines`` does not match ``subs``.
    """
    out = Path(path)
    fmt = WRITE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise SubtitleError(
            out,
            f"cannot write {out.suffix or 'a file without ending'}",
            hint="name the output .ass, .ssa, .srt or .vtt",
        )
    if len(lines) != len(subs.lines):
        raise SubtitleError(
            subs.path,
            f"got {len(lines)} re-timed lines for {len(subs.lines)} lines",
            hint="pass the lines of an alignment of this file",
        )
    times = [(round(line.start_seconds * 1000), round(line.end_seconds * 1000)) for line in lines]
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == subs.format:
        out.write_bytes(_patched(subs, times).encoded())
    else:
        document = copy.deepcopy(subs.document)
        for event, (start, end) in zip(document.events, times, strict=True):
            event.start, event.end = start, end
        document.save(str(out), encoding="utf-8", format_=fmt)
    return out


def _patched(subs: SubtitleFile, times: list[tuple[int, int]]) -> Text:
    text = copy.copy(subs.source)
    text.lines = list(subs.source.lines)
    for timed, (start, end) in zip(subs.timed, times, strict=True):
        if (start, end) == (timed.start_ms, timed.end_ms):
            continue  # untouched lines keep their bytes, even non-standard time formats
        line = text.lines[timed.index]
        if subs.format in ("srt", "vtt"):
            replacements = [(timed.spans[0], format_timing(start, end, subs.format))]
        else:
            replacements = [(timed.spans[0], format_timestamp(start)), (timed.spans[1], format_timestamp(end))]
        for (a, b), value in sorted(replacements, reverse=True):
            line = line[:a] + value + line[b:]
        text.lines[timed.index] = line
    return text
