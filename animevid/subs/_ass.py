"""SubStation Alpha (.ass v4.00+ and .ssa v4.00): the events read by our own scan, the rest by pysubs2.

pysubs2 1.8 ignores ``Format:`` lines (it assumes the standard field order), aborts the whole file on
one bad timestamp or style number, and reports no line numbers. So the ``[Events]`` section is
scanned here, honouring its Format line and numbering every line; bad lines become a
:class:`~animevid.errors.SubtitleLineWarning` and are blanked before pysubs2 reads the header
(script info, styles, ``[Fonts]``, ``[Graphics]``, Aegisub project data).
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pysubs2

from animevid.errors import SubtitleError, SubtitleLineWarning
from animevid.subs._text import Text

DEFAULT_EVENT_FORMAT = {
    "ass": ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"],
    "ssa": ["marked", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"],
}
"""The Format of ``[Events]`` when a file has no Format line (what libass assumes too)."""
STANDARD_FORMAT_LINE = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"

_TIMESTAMP = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?\s*$")
_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_ATTACHMENT_SECTIONS = ("fonts", "graphics")
_OTHER_EVENT_TYPES = ("picture", "sound", "movie", "command")
_EVENT_START = re.compile(r"^\s*(dialogue|comment)\s*:", re.IGNORECASE)
STYLE_CHARSETS = {128: "cp932", 129: "cp949", 134: "gb18030", 136: "cp950"}
"""Style ``Encoding`` values (Windows GDI charsets) that name a legacy multi-byte codec: Shift-JIS as its
Windows superset cp932, Hangul as cp949, GB2312 as its superset gb18030, Big5 as cp950 (Windows' Big5,
whose kana Taiwanese files use). 0 (ANSI) and 1 (default) say nothing about the file's bytes."""


@dataclass(frozen=True)
class Event:
    """One readable ``Dialogue:`` or ``Comment:`` line."""

    index: int
    """0-based index of the line in the text (line number - 1)."""
    comment: bool
    """True for ``Comment:``."""
    start_ms: int
    """Start time in milliseconds."""
    end_ms: int
    """End time in milliseconds."""
    start_span: tuple[int, int]
    """Character span of the Start field within the line."""
    end_span: tuple[int, int]
    """Character span of the End field within the line."""
    style: str
    """Style name."""
    name: str
    """Actor (speaker) name."""
    effect: str
    """Effect field."""
    text: str
    """Raw text, override tags included."""
    layer: int = 0
    """Layer (0 for SSA)."""


def substation_version(text: Text) -> str:
    """``ass`` (v4.00+) or ``ssa`` (v4.00), from the styles header, else the ScriptType line."""
    for line in text.lines:
        key = line.strip().lower()
        if key.startswith("[v4+ styles") or key.startswith("[v4 styles+"):
            return "ass"
        if key.startswith("[v4 styles"):
            return "ssa"
        if key.startswith("scripttype:"):
            return "ssa" if key.split(":", 1)[1].strip() in ("v4.00", "v4") else "ass"
    return "ass"


def declared_codecs(data: bytes) -> tuple[str, ...]:
    """The legacy codecs the styles of an undecoded ASS/SSA script declare, most-declared first.

    The ``Encoding`` field (the column the styles' ``Format:`` line names, else the last) is read from
    the raw bytes: the header is ASCII, and no byte of a Shift-JIS, GBK or Big5 character is a comma or
    a line break, so splitting the bytes is safe before the codec is known.

    Args:
        data: The file's bytes (an ASCII-compatible encoding; anything else declares nothing).

    Returns:
        Codec names from :data:`STYLE_CHARSETS`; empty for SRT/VTT or when every style says 0 or 1.
    """
    counts: Counter[str] = Counter()
    column: int | None = -1  # the last field, where Encoding sits when a style section has no Format line
    in_styles = False
    for raw in data.splitlines():
        line = raw.strip()
        if line.startswith(b"[") and line.endswith(b"]"):
            if line.lower() == b"[events]":
                break  # styles come before the events: no need to read a long script to its end
            in_styles, column = b"styles" in line.lower(), -1
            continue
        key, sep, rest = line.partition(b":")
        kind = key.strip().lower()
        if not in_styles or not sep or kind not in (b"format", b"style"):
            continue
        fields = [field.strip().lower() for field in rest.split(b",")]
        if kind == b"format":
            column = fields.index(b"encoding") if b"encoding" in fields else None
        elif column is not None and -len(fields) <= column < len(fields) and fields[column].isdigit():
            codec = STYLE_CHARSETS.get(int(fields[column]))
            counts.update([codec] if codec else [])
    return tuple(codec for codec, _ in counts.most_common())


def scan_events(text: Text, path: Path, version: str) -> tuple[list[Event], set[int]]:
    """Every readable event in file order, and the indices of the lines to hide from pysubs2.

    Raises:
        SubtitleError: The ``[Events]`` Format line lacks Start, End or Text, or Text is not last.
    """
    events: list[Event] = []
    hidden: set[int] = set()
    section = ""
    fields = DEFAULT_EVENT_FORMAT[version]
    for index, line in enumerate(text.lines):
        stripped = line.strip()
        heading = _SECTION.match(line)
        if heading and (section not in _ATTACHMENT_SECTIONS or re.search("[a-z]", stripped)):
            section = heading.group(1).strip().lower()
            continue
        if section == "events":
            hidden.add(index)
            fields = _events_line(line, index, path, fields, events)
        elif section not in _ATTACHMENT_SECTIONS and _EVENT_START.match(line):
            hidden.add(index)
            _warn(path, index, f"event line outside the [Events] section (in [{section}])", "skipped")
        elif (
            section.endswith("styles")
            and stripped.lower().startswith("style:")
            and not _style_ok(line, index, path, version)
        ):
            hidden.add(index)
    return events, hidden


def _events_line(line: str, index: int, path: Path, fields: list[str], events: list[Event]) -> list[str]:
    """Read one line of ``[Events]``; return the Format in force after it."""
    stripped = line.strip()
    key, sep, _ = stripped.partition(":")
    kind = key.strip().lower()
    if not stripped or stripped.startswith(";") or stripped.startswith("!:"):
        return fields
    if kind == "format" and sep:
        return _format_fields(line, index, path)
    if kind in ("dialogue", "comment") and sep:
        event = _parse_event(line, index, path, fields, comment=kind == "comment")
        if event is not None:
            events.append(event)
        return fields
    what = f"a {key.strip()} event (not shown by libass)" if kind in _OTHER_EVENT_TYPES else "not an event line"
    _warn(path, index, f"{what}: {_clip(stripped)!r}", "skipped")
    return fields


def _format_fields(line: str, index: int, path: Path) -> list[str]:
    names = [name.strip().lower() for name in line.split(":", 1)[1].split(",")]
    names = ["name" if name == "actor" else name for name in names]
    missing = [name for name in ("start", "end", "text") if name not in names]
    if missing or names[-1] != "text":
        problem = f"the [Events] Format line lacks {', '.join(missing)}" if missing else "Text is not the last field"
        raise SubtitleError(
            path,
            f"{problem} ({line.strip()!r})",
            line=index + 1,
            hint=f"expected e.g. {STANDARD_FORMAT_LINE!r}; re-save the file in Aegisub or fix that line",
        )
    return names


def _parse_event(line: str, index: int, path: Path, fields: list[str], *, comment: bool) -> Event | None:
    spans = _field_spans(line, line.index(":") + 1, len(fields))
    if len(spans) < len(fields):
        _warn(path, index, f"has {len(spans)} fields, the Format line names {len(fields)}", "skipped")
        return None
    values = {name: line[a:b] for name, (a, b) in zip(fields, spans, strict=True)}
    start, end = parse_timestamp(values["start"]), parse_timestamp(values["end"])
    if start is None or end is None:
        bad = values["start"] if start is None else values["end"]
        _warn(path, index, f"time {bad.strip()!r} is not H:MM:SS.cc", "skipped")
        return None
    if end < start:
        _warn(path, index, f"ends ({values['end'].strip()}) before it starts ({values['start'].strip()})", "skipped")
        return None
    return Event(
        index=index,
        comment=comment,
        start_ms=start,
        end_ms=end,
        start_span=spans[fields.index("start")],
        end_span=spans[fields.index("end")],
        style=values.get("style", "Default").strip().lstrip("*") or "Default",
        name=values.get("name", ""),
        effect=values.get("effect", ""),
        text=values["text"],
        layer=int(values["layer"]) if values.get("layer", "").strip().isdigit() else 0,
    )


def _field_spans(line: str, start: int, count: int) -> list[tuple[int, int]]:
    """Spans of up to ``count`` comma-separated fields from ``start``; the last takes the rest of the line."""
    while start < len(line) and line[start] == " ":
        start += 1
    spans = []
    for _ in range(count - 1):
        comma = line.find(",", start)
        if comma < 0:
            break
        spans.append((start, comma))
        start = comma + 1
    spans.append((start, len(line)))
    return spans


def parse_timestamp(value: str) -> int | None:
    """``H:MM:SS.cc`` (or ``.c``/``.ccc``) in milliseconds; None when it is not a time."""
    match = _TIMESTAMP.match(value)
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if int(minutes) > 59 or int(seconds) > 59:
        return None
    millis = round(int(fraction) * 10 ** (3 - len(fraction))) if fraction else 0
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + millis


def format_timestamp(ms: int) -> str:
    """Milliseconds as ``H:MM:SS.cc``, rounded half up to centiseconds as Aegisub does."""
    cs = max(0, (ms + 5) // 10)
    hours, rest = divmod(cs, 360000)
    minutes, rest = divmod(rest, 6000)
    seconds, cs = divmod(rest, 100)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}.{cs:02d}"


def _style_ok(line: str, index: int, path: Path, version: str) -> bool:
    """Try one Style line alone with pysubs2: a line it cannot read is skipped with a warning."""
    header = "[V4+ Styles]" if version == "ass" else "[V4 Styles]"
    error: Exception | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pysubs2.SSAFile.from_string(f"[Script Info]\n{header}\n{line.strip()}\n", format_=version)
        except Exception as exc:  # pysubs2 raises bare ValueError/IndexError/KeyError on bad numbers
            error = exc
    if error is not None:
        _warn(path, index, f"style line cannot be read ({error})", "skipped; lines using it get the default style")
        return False
    for warning in caught:
        _warn(path, index, f"style line: {warning.message}", "that field keeps its default")
    return True


def load_header(text: Text, hidden: set[int], version: str) -> pysubs2.SSAFile:
    """The file read by pysubs2 without its event lines (and without the style lines it cannot read)."""
    lines = ["" if i in hidden else line for i, line in enumerate(text.lines)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every line that warns was reported by _style_ok already
        return pysubs2.SSAFile.from_string("\n".join(lines), format_=version)


def _warn(path: Path, index: int, problem: str, action: str) -> None:
    warnings.warn(f"subtitle file {path}: line {index + 1}: {problem}; {action}", SubtitleLineWarning, stacklevel=5)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
