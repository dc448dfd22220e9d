"""Bytes to text: encoding detection, and the file split into lines that can be put back byte for byte."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from animevid.errors import SubtitleError

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_LINE_BREAK = re.compile(r"(\r\n|\n|\r)")


@dataclass
class Text:
    """A subtitle file's text as lines, with what is needed to write it back unchanged."""

    lines: list[str]
    """The lines without their line breaks (line number n is ``lines[n - 1]``)."""
    breaks: list[str]
    """The line break after each line (``\\r\\n``, ``\\n``, ``\\r`` or ``''`` after the last)."""
    encoding: str
    """The Python codec the bytes were decoded with."""
    bom: bytes
    """The byte-order mark the file began with (``b''`` when none)."""

    def joined(self) -> str:
        """The text again (without the BOM)."""
        return "".join(line + brk for line, brk in zip(self.lines, self.breaks, strict=True))

    def encoded(self) -> bytes:
        """The file's bytes again: BOM, then the text in the original encoding."""
        return self.bom + self.joined().encode(self.encoding)


def split_text(text: str, *, encoding: str = "utf-8", bom: bytes = b"") -> Text:
    """Split ``text`` at every kind of line break, keeping the breaks so the file can be rebuilt."""
    parts = _LINE_BREAK.split(text)
    return Text(lines=parts[0::2], breaks=[*parts[1::2], ""], encoding=encoding, bom=bom)


def decode_bytes(data: bytes, path: str | Path, encoding: str | None = None) -> Text:
    """Decode a subtitle file: BOM, else UTF-16 without BOM, else UTF-8, else cp1252 (latin-1 last).

    Args:
        data: The file's bytes.
        path: The file (for messages).
        encoding: A codec name that overrides the detection.

    Raises:
        SubtitleError: ``encoding`` is unknown or does not decode the bytes (names the line).
    """
    if encoding:
        return _decode_as(data, path, encoding)
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_as(data[len(bom) :], path, codec, bom=bom)
    guessed = _utf16_without_bom(data)
    if guessed:
        return _decode_as(data, path, guessed)
    for codec in ("utf-8", "cp1252"):
        try:
            return split_text(data.decode(codec), encoding=codec)
        except UnicodeDecodeError:
            continue
    return split_text(data.decode("latin-1"), encoding="latin-1")


def _decode_as(data: bytes, path: str | Path, codec: str, *, bom: bytes = b"") -> Text:
    try:
        text = data.decode(codec)
    except LookupError:
        raise SubtitleError(
            path,
            f"unknown encoding {codec!r}",
            hint="pass a Python codec name such as utf-8, cp1252, utf-16 or shift_jis",
        ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubtitleError(
            path,
            f"byte 0x{data[exc.start]:02x} cannot be decoded as {codec}",
            line=line,
            hint="pass the file's real encoding (e.g. --encoding cp1252), or leave it out to detect it",
        ) from None
    if text.startswith("\ufeff"):  # a BOM inside an explicitly named codec
        bom, text = text[0].encode(codec), text[1:]
    return split_text(text, encoding=codec, bom=bom)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM has a NUL in every other byte (for Latin script)."""
    head = data[:4096]
    if len(head) < 4 or head.count(0) < len(head) // 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    return "utf-16-le" if odd > 2 * even else "utf-16-be" if even > 2 * odd else None
