"""Subtitle tracks inside a container (mkv releases), read by demuxing with PyAV (no decoding).

An ASS track stores the script header (info, styles, often the Comment lines) as the codec's
extradata and each Dialogue line as a packet ``ReadOrder, Layer, Style, Name, MarginL, MarginR,
MarginV, Effect, Text`` whose pts and duration are its times. The track is rebuilt here as the
text of an .ass file (events in ReadOrder), so it loads, aligns and writes back like a file.
SubRip and WebVTT tracks are rebuilt as .srt/.vtt text; mov_text (mp4) as .srt.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import av

from animevid.errors import SubtitleError

if TYPE_CHECKING:  # animevid.decode imports torch: only the functions that need it import it
    from animevid.decode import SubtitleTrack

TEXT_CODECS = {
    "ass": "ass",
    "ssa": "ass",
    "subrip": "srt",
    "srt": "srt",
    "text": "srt",
    "mov_text": "srt",
    "webvtt": "vtt",
}
"""Text subtitle codecs this module reads, and the file format each is rebuilt as."""

_LANGUAGES = {
    "en": "eng", "ja": "jpn", "pt": "por", "es": "spa", "fr": "fre", "de": "ger", "zh": "chi", "ko": "kor",
    "it": "ita", "ru": "rus", "ar": "ara", "pl": "pol", "nl": "dut", "sv": "swe", "id": "ind", "th": "tha",
}  # fmt: skip
_ALIASES = {"fra": "fre", "deu": "ger", "zho": "chi", "nld": "dut"}


def list_tracks(path: str | Path) -> list[SubtitleTrack]:
    """The subtitle tracks of a container, in stream order.

    Raises:
        SubtitleError: The file is missing or no container format recognises it.
    """
    with _open(path) as container:
        return [_track(stream) for stream in container.streams.subtitles]


def _track(stream: av.stream.Stream) -> SubtitleTrack:
    from animevid.decode import SubtitleTrack

    meta = stream.metadata
    return SubtitleTrack(
        index=stream.index, codec=_codec(stream), language=meta.get("language", "und"), title=meta.get("title", "")
    )


def _codec(stream: av.stream.Stream) -> str:
    context = stream.codec_context
    name = str(context.name) if context is not None else "unknown"
    return "ass" if name == "ssa" else name


def choose_track(
    path: str | Path, tracks: list[SubtitleTrack], *, track: int | None, language: str | None, title: str | None
) -> SubtitleTrack:
    """The track asked for by stream index, language or title; by default the first text track.

    Raises:
        SubtitleError: No track matches, or the match is image-based (lists the tracks there are).
    """
    listing = "; ".join(f"{t.index}: {t.codec} {t.language} {t.title!r}" for t in tracks) or "none"
    if not tracks:
        raise SubtitleError(path, "the file has no subtitle tracks", hint="pass a subtitle file (.ass, .srt) instead")
    found = [t for t in tracks if _matches(t, track, language, title)]
    text = [t for t in found if t.codec in TEXT_CODECS]
    if not found:
        asked = f"track {track}" if track is not None else f"language {language!r}" if language else f"title {title!r}"
        raise SubtitleError(path, f"no subtitle track matches {asked}", hint=f"tracks here are {listing}")
    if not text:
        raise SubtitleError(
            path,
            f"track {found[0].index} is {found[0].codec}, an image-based format with no text",
            hint=f"choose a text track ({listing}) or an OCR'd subtitle file",
        )
    return text[0]


def _matches(t: SubtitleTrack, track: int | None, language: str | None, title: str | None) -> bool:
    if track is not None and t.index != track:
        return False
    if language and _language(t.language) != _language(language):
        return False
    return not title or title.lower() in t.title.lower()


def _language(code: str) -> str:
    code = code.strip().lower()
    return _ALIASES.get(code, _LANGUAGES.get(code, code))


def track_text(path: str | Path, chosen: SubtitleTrack) -> tuple[str, str]:
    """The track rebuilt as subtitle-file text, and that text's format (ass, srt or vtt)."""
    fmt = TEXT_CODECS[chosen.codec]
    with _open(path) as container:
        stream = container.streams[chosen.index]
        header = bytes(stream.codec_context.extradata or b"").decode("utf-8", errors="replace")
        packets = [
            (float(p.pts * p.time_base), float((p.duration or 0) * p.time_base), bytes(p))
            for p in container.demux(stream)
            if p.size and p.pts is not None and p.time_base is not None
        ]
    if fmt == "ass":
        return _ass_text(header, packets), fmt
    if chosen.codec == "mov_text":
        packets = [(start, length, data[2 : 2 + int.from_bytes(data[:2], "big")]) for start, length, data in packets]
    return _cue_text(packets, fmt), fmt


def _ass_text(header: str, packets: list[tuple[float, float, bytes]]) -> str:
    from animevid.subs._ass import STANDARD_FORMAT_LINE

    header = header.replace("\r\n", "\n").rstrip("\n")
    if "[events]" not in header.lower():
        header += f"\n\n[Events]\n{STANDARD_FORMAT_LINE}"
    fmt_line = next((ln for ln in header.split("\n") if ln.lower().startswith("format:") and "text" in ln.lower()), "")
    names = [
        n.strip().lower() for n in (fmt_line.split(":", 1)[1] if fmt_line else STANDARD_FORMAT_LINE[7:]).split(",")
    ]
    rows: list[tuple[int, list[str]]] = []
    for start, length, data in packets:
        order, values = _block_fields(data.decode("utf-8", errors="replace"), start, length)
        rows.append((order if order >= 0 else len(rows), [values.get(n, "") for n in names]))
    rows.sort(key=lambda row: row[0])
    return header + "\n" + "".join(f"Dialogue: {','.join(fields)}\n" for _, fields in rows)


def _block_fields(block: str, start: float, length: float) -> tuple[int, dict[str, str]]:
    """ReadOrder (-1 if unreadable) and the fields of one Matroska ASS block, times as ASS timestamps."""
    from animevid.subs._ass import format_timestamp

    order, layer, style, name, margin_l, margin_r, margin_v, effect, text = [*block.split(",", 8), *[""] * 9][:9]
    values = {"layer": layer, "marked": layer, "style": style, "name": name, "actor": name, "effect": effect}
    values.update(marginl=margin_l, marginr=margin_r, marginv=margin_v, text=text)
    values.update(start=format_timestamp(round(start * 1000)), end=format_timestamp(round((start + length) * 1000)))
    return (int(order) if order.strip().isdigit() else -1), values


def _cue_text(packets: list[tuple[float, float, bytes]], fmt: str) -> str:
    from animevid.subs._srt import format_timing

    blocks = ["WEBVTT\n"] if fmt == "vtt" else []
    for number, (start, length, data) in enumerate(packets, 1):
        timing = format_timing(round(start * 1000), round((start + length) * 1000), fmt)
        blocks.append(f"{number}\n{timing}\n{data.decode('utf-8', errors='replace').strip()}\n")
    return "\n".join(blocks)


def _open(path: str | Path) -> av.container.InputContainer:
    file = Path(path)
    if not file.is_file():
        raise SubtitleError(file, "no such file", hint="check the path")
    try:
        container = av.open(str(file))
    except av.error.FFmpegError as exc:
        raise SubtitleError(
            file, f"no container format recognises it ({exc})", hint="pass a video or .mks with subtitle tracks"
        ) from None
    kind = container.format.name
    if kind == "tty" or kind.startswith("image2") or kind.endswith("_pipe"):  # FFmpeg "opens" text and pictures
        container.close()
        what = "text" if kind == "tty" else "a still image"
        raise SubtitleError(file, f"not a video: it is {what}", hint="pass a video or .mks with subtitle tracks")
    return container
