"""Bytes to text: encoding detection, and the file split into lines that can be put back byte for byte.

The codec used is the first of these that applies:

1. ``encoding=`` as given (an unknown name is an error before anything is read).
2. The one a byte-order mark names (UTF-8, UTF-16, UTF-32).
3. UTF-16 without a BOM (a NUL in every other byte).
4. UTF-8, if every byte decodes strictly (plain ASCII included), so UTF-8 files read as they always did.
5. A legacy CJK codec that decodes every byte, ranked: one an ASS/SSA script's styles declare in their
   ``Encoding`` field (128 Shift-JIS as cp932, 129 Hangul as cp949, 134 GB2312 as gb18030, 136 Big5
   as cp950) unless charset-normalizer finds its text clearly messier; a Japanese one whose text is
   kana-rich; then charset-normalizer's picks among cp932, euc_jp, gb18030, cp950, big5hkscs and cp949,
   weighed against cp1252 and cp1251. A reading that looks like Latin text misread is skipped.
6. cp1252, then latin-1 (which decodes any byte), as before detection existed.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import CharsetMatch, from_bytes

from animevid.errors import SubtitleError

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_LINE_BREAK = re.compile(r"(\r\n|\n|\r)")
_MULTI_BYTE = ("cp932", "euc_jp", "gb18030", "cp950", "big5hkscs", "cp949")
"""The codecs detection may pick, in order of preference when two decode a file alike: the Windows
supersets (cp932 over shift_jis, gb18030 over gbk, cp950 - whose kana Taiwanese Big5 files use - over
big5hkscs, which reads those bytes as circled digits)."""
_RIVALS = ("cp1252", "cp1251")
"""8-bit codecs charset-normalizer weighs against the multi-byte ones, so that Latin or Cyrillic text is
not forced into a CJK reading. They are never picked: a line or two cannot tell cp1252 from cp1251
(``Ela é`` reads as Russian), and cp1252 is the fallback files have always had."""
_FALLBACKS = ("cp1252", "latin-1")
_VALID_EXAMPLES = "shift_jis, cp932, euc_jp, gbk, gb18030, big5, cp1252, utf-8"
_SAMPLE_BYTES = 65536
_OVERRIDE_BLOCK = re.compile(rb"\{[^{}\x80-\xff]*\}")
_EVENT_PREFIX = re.compile(rb"^\s*(?:dialogue|comment)\s*:(?:[^,]*,){9}", re.IGNORECASE)
_CHAOS_SLACK = 0.05
"""How much messier (charset-normalizer's chaos, 0 to 1) than the best a preferred codec's text may be: a
right reading scores about 0.02-0.05, a wrong multi-byte one 0.1 and up."""
_JAPANESE = ("cp932", "euc_jp")
_KANA = re.compile("[\u3041-\u30ff]")
_KANA_SHARE = 0.2
"""Above this share of kana among non-ASCII characters, the text is Japanese (Chinese has none)."""
_NON_ASCII = re.compile("[^\x00-\x7f]")
_TOUCHING_LETTER = re.compile("(?<=[A-Za-z])[^\x00-\x7f\uff61-\uff9f]|[^\x00-\x7f\uff61-\uff9f](?=[A-Za-z])")
_HALF_WIDTH_KANA = re.compile("[\uff61-\uff9f]")
_MISREAD_SHARE = 0.5
"""Above this share of odd characters (see ``_misread``), a CJK reading is cp1252 text misread."""


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


def check_encoding(encoding: str, path: str | Path) -> str:
    """Return ``encoding`` if Python has a text codec of that name.

    Args:
        encoding: The codec name a user gave (``shift_jis``, ``cp932``, ``gbk``...).
        path: The file it is for (for the message).

    Raises:
        SubtitleError: No text codec has that name (``rot13`` and ``base64`` are codecs, not encodings).
    """
    try:
        known = codecs.lookup(encoding)._is_text_encoding
    except LookupError:
        known = False
    if not known:
        raise SubtitleError(
            path,
            f"unknown encoding {encoding!r}",
            hint=f"pass a Python codec name such as {_VALID_EXAMPLES}, or leave it out to detect it",
        )
    return encoding


def decode_bytes(data: bytes, path: str | Path, encoding: str | None = None, *, declared: Sequence[str] = ()) -> Text:
    """Decode a subtitle file, detecting its encoding unless one is given (see the module doc for the order).

    Args:
        data: The file's bytes.
        path: The file (for messages).
        encoding: A codec name that overrides the detection.
        declared: Codecs the file declares for itself, most-declared first (an ASS script's style
            ``Encoding`` fields, see :func:`animevid.subs._ass.declared_codecs`); used only when the
            bytes are not UTF-8 and the codec decodes all of them.

    Returns:
        The text split into lines; ``encoding`` names the codec used (``cp932``, ``utf-16-le``...).

    Raises:
        SubtitleError: ``encoding`` is unknown or does not decode the bytes (names the line and offset).
    """
    if encoding:
        return _decode_as(data, path, check_encoding(encoding, path))
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_as(data[len(bom) :], path, codec, bom=bom)
    guessed = _utf16_without_bom(data)
    if guessed:
        return _decode_as(data, path, guessed)
    try:
        return split_text(data.decode("utf-8"), encoding="utf-8")
    except UnicodeDecodeError:
        pass
    codec = _legacy_codec(data, declared)
    return split_text(data.decode(codec), encoding=codec)


def _legacy_codec(data: bytes, declared: Sequence[str] = ()) -> str:
    """The codec of bytes that are not UTF-8: declared or detected, else cp1252 (latin-1 last).

    Args:
        data: The file's bytes (not UTF-8, not UTF-16).
        declared: Codecs the file declares for itself, most-declared first.

    Returns:
        A codec that decodes every byte of ``data``.
    """
    candidates = [codec for codec in dict.fromkeys([*declared, *_MULTI_BYTE, *_RIVALS]) if _decodes(data, codec)]
    hinted = [codec for codec in declared if codec in candidates]
    chosen = _detect(data, candidates, hinted) if any(c in _MULTI_BYTE for c in candidates) else None
    return chosen or next(codec for codec in _FALLBACKS if _decodes(data, codec))


def _detect(data: bytes, candidates: Sequence[str], hinted: Sequence[str]) -> str | None:
    """The first of these that is a CJK codec and does not read like misread Latin text, else None:

    1. A declared codec whose text charset-normalizer finds about as clean as the best one's.
    2. A Japanese codec whose text is kana-rich: kana bytes are valid GB2312, Big5 and Korean too,
       where short texts can score cleaner, and charset-normalizer scores some Japanese (``色々``)
       as messy as noise.
    3. charset-normalizer's picks, best first.
    """
    sample = _sample(data, candidates)
    matches = list(from_bytes(sample, cp_isolation=list(candidates)))
    close = {c for m in matches if m.chaos <= matches[0].chaos + _CHAOS_SLACK for c in _codecs_of(m, candidates)}
    ranked = [
        *(c for c in hinted if c in close or not matches),
        *(c for c in _JAPANESE if c in candidates and _kana_share(sample.decode(c)) >= _KANA_SHARE),
        *(c for m in matches for c in _codecs_of(m, candidates)),
    ]
    return next((c for c in ranked if c in _MULTI_BYTE and not _misread(data.decode(c))), None)


def _codecs_of(match: CharsetMatch, candidates: Sequence[str]) -> list[str]:
    """The candidates a match stands for (charset-normalizer merges codecs that decode alike)."""
    return [codec for codec in candidates if codec in match.could_be_from_charset]


def _kana_share(text: str) -> float:
    """The share of hiragana and katakana among the non-ASCII characters of ``text``."""
    wide = len(_NON_ASCII.findall(text))
    return len(_KANA.findall(text)) / wide if wide else 0.0


def _sample(data: bytes, candidates: Sequence[str]) -> bytes:
    """The lines of ``data`` holding a non-ASCII byte, up to about 64 KiB, for detection to read.

    Only those lines tell codecs apart; an event line keeps only its Text field, without ASS override
    blocks, since the ASCII around the words reads as English to the 8-bit codecs, and karaoke splits
    words into one syllable per tag. Cutting at line breaks and commas never splits a character: no byte
    of a legacy CJK character is one.
    """
    raw: list[bytes] = []
    size = 0
    for line in data.splitlines():
        if not line.isascii():
            text = _EVENT_PREFIX.sub(b"", line)
            raw.append(line if text.isascii() else text)  # the non-ASCII may be all in the Name field
            size += len(raw[-1])
            if size > _SAMPLE_BYTES:
                break
    stripped = b"\n".join(_OVERRIDE_BLOCK.sub(b"", line) for line in raw)
    # A '{' or '}' can be the second byte of a Shift-JIS, GBK or Big5 character; in the rare file where
    # one pairs with a real brace, removing the "block" cuts a character: then read the blocks too.
    if all(_decodes(stripped, codec) for codec in candidates):
        return stripped
    return b"\n".join(raw)


def _misread(text: str) -> bool:
    """Whether ``text`` reads like cp1252 Latin text put through a CJK codec.

    Its accents sit inside words (``não``), so each one and the letter after it become one character
    touching an ASCII letter; a capital ``É`` alone becomes a half-width katakana (cp932 single bytes),
    which real Japanese subtitles hardly use.
    """
    wide = len(_NON_ASCII.findall(text))
    odd = len(_TOUCHING_LETTER.findall(text)) + len(_HALF_WIDTH_KANA.findall(text))
    return wide > 0 and odd > _MISREAD_SHARE * wide


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _decode_as(data: bytes, path: str | Path, codec: str, *, bom: bytes = b"") -> Text:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubtitleError(
            path,
            f"byte 0x{data[exc.start]:02x} cannot be decoded as {codec} (byte offset {exc.start + len(bom)})",
            line=line,
            hint="pass the file's real encoding (e.g. --encoding cp932 or cp1252), or leave it out to detect it",
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
