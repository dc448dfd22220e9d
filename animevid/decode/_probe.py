"""Open-time checks: what a file holds, and a typed error when it cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.codec.hwaccel import HWAccel

from animevid.errors import (
    CorruptVideoError,
    EmptyVideoError,
    NotAVideoError,
    NoVideoStreamError,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)

MIN_ANALYSIS_SIDE = 16
"""Fewest pixels an analysis frame may have on a side (the stages' grids are 9x16 cells)."""
VIDEO_SUFFIXES = frozenset({".mkv", ".mp4", ".m4v", ".mov", ".webm", ".avi", ".ts", ".m2ts", ".gif", ".flv", ".ogv"})
"""File endings an episode may have (used to tell a damaged video from a non-video)."""


@dataclass(frozen=True)
class SubtitleTrack:
    """A subtitle stream inside a container."""

    index: int
    """Stream index in the container."""
    codec: str
    """Subtitle codec (ass, subrip, webvtt, hdmv_pgs_subtitle...)."""
    language: str
    """Language tag ('und' when missing)."""
    title: str
    """Track title ('' when missing)."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read from its container without decoding frames."""

    path: Path
    """The file."""
    container: str
    """Container format as FFmpeg names it (e.g. ``mov,mp4,m4a,3gp,3g2,mj2``)."""
    codec: str
    """Video codec name."""
    width: int
    """Coded width in pixels."""
    height: int
    """Coded height in pixels."""
    display_aspect: float
    """Width / height as shown, after the sample aspect ratio (anamorphic DVDs)."""
    fps: Fraction
    """Nominal frame rate (FFmpeg's guessed rate; average rate as fallback)."""
    frames_estimate: int
    """Frame count the container states, else duration times fps; 0 when unknown."""
    frames_stated: bool
    """True when the container itself states the frame count (mp4 sample tables)."""
    duration_seconds: float
    """Duration of the video stream as the container states it (0 when unknown)."""
    pixel_format: str
    """Decoded pixel format (yuv420p, bgra for GIF...)."""
    audio_streams: int
    """Number of audio streams."""
    subtitle_tracks: tuple[SubtitleTrack, ...]
    """Subtitle streams (e.g. an mkv's ASS tracks)."""
    attachments: tuple[str, ...]
    """File names of attachments (fonts in mkv releases)."""

    @property
    def fps_float(self) -> float:
        """The nominal frame rate as a float."""
        return float(self.fps)

    def analysis_size(self, analysis_width: int) -> tuple[int, int]:
        """(width, height) of analysis frames: ``analysis_width`` wide, aspect kept, height even.

        Raises:
            VideoError: The picture is so wide (or so tall) that an analysis frame would be under
                ``MIN_ANALYSIS_SIDE`` pixels on a side: no stage can measure anything in it.
        """
        height = max(2, round(analysis_width / self.display_aspect / 2) * 2)
        if min(analysis_width, height) < MIN_ANALYSIS_SIDE or height > 8 * analysis_width:
            raise VideoError(
                self.path,
                f"its picture is {self.width}x{self.height}; at {analysis_width} px wide for analysis it would be "
                f"{height} px tall, and animevid needs {MIN_ANALYSIS_SIDE} px or more, and no more than 8 times "
                "the width",
                hint="this is not an episode's picture (a strip or a line of pixels); leave the file out",
            )
        return analysis_width, height


def probe(path: str | Path) -> VideoInfo:
    """Read what a video file holds, raising a typed error if it cannot be used.

    Args:
        path: The episode file.

    Returns:
        The container's description of the file.

    Raises:
        VideoNotFoundError: The path does not exist or is a folder.
        EmptyVideoError: The file has zero bytes.
        NotAVideoError: No container format recognises the file.
        CorruptVideoError: The file looks like a video but its container is damaged.
        NoVideoStreamError: The container holds no video stream.
        UnsupportedCodecError: The video codec has no decoder in this build.
    """
    path = Path(path)
    _check_file(path)
    container = open_container(path)
    try:
        return _describe(path, container)
    finally:
        container.close()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoNotFoundError(path, "no such file", hint="check the path and the current folder")
    if not path.is_file():
        raise VideoNotFoundError(path, "is not a regular file", hint="pass a video file, not a folder")
    if path.stat().st_size == 0:
        raise EmptyVideoError(path, "the file is empty (0 bytes)", hint="copy or download it again")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:  # before FFmpeg, whose message would blame the container
        raise VideoError(path, f"the file cannot be read ({exc.strerror})", hint="check its permissions") from None


def open_container(path: Path, hwaccel: HWAccel | None = None) -> av.container.InputContainer:
    """Open ``path`` with FFmpeg, turning its errors into typed animevid errors.

    Args:
        path: The file.
        hwaccel: Hardware decoding settings (PyAV's), or None to decode on the CPU.
    """
    try:
        return av.open(str(path), mode="r", hwaccel=hwaccel)
    except av.error.FFmpegError as exc:
        detail = f"FFmpeg could not open it ({exc.strerror or exc})"
        if path.suffix.lower() in VIDEO_SUFFIXES or _looks_like_video(path):
            raise CorruptVideoError(
                path,
                f"the container is damaged or incomplete: {detail}",
                hint="the download may be truncated; fetch the file again",
            ) from None
        raise NotAVideoError(
            path, f"not a video file: {detail}", hint="pass an mkv, mp4, webm or gif episode"
        ) from None


def _looks_like_video(path: Path) -> bool:
    """Magic bytes of the containers we expect, so a renamed video is not called a non-video."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return head[4:8] == b"ftyp" or head.startswith((b"\x1a\x45\xdf\xa3", b"GIF8", b"RIFF"))


def _describe(path: Path, container: av.container.InputContainer) -> VideoInfo:
    _reject_non_video_formats(path, container.format.name)
    if not container.streams.video:
        kinds = _stream_summary(container)
        raise NoVideoStreamError(path, f"no video stream (it holds {kinds})", hint="pass the episode's video file")
    stream = container.streams.video[0]
    codec_name = _decoder_name(path, stream)
    fps = _nominal_fps(stream)
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
    if not duration and container.duration:
        duration = container.duration / av.time_base
    stated = int(stream.frames or 0)
    estimate = stated or round(duration * float(fps))
    width, height = stream.codec_context.width, stream.codec_context.height
    sar = stream.sample_aspect_ratio or Fraction(1)
    return VideoInfo(
        path=path,
        container=container.format.name,
        codec=codec_name,
        width=width,
        height=height,
        display_aspect=(width * float(sar)) / height if height else 16 / 9,
        fps=fps,
        frames_estimate=estimate,
        frames_stated=stated > 0,
        duration_seconds=duration,
        pixel_format=stream.codec_context.pix_fmt or "",
        audio_streams=len(container.streams.audio),
        subtitle_tracks=tuple(_subtitle_tracks(container)),
        attachments=tuple(_attachments(container)),
    )


def _reject_non_video_formats(path: Path, format_name: str) -> None:
    """FFmpeg "decodes" text files as ANSI art and pictures as one-frame videos; neither is an episode."""
    if format_name == "tty":
        raise NotAVideoError(path, "not a video file: it is text", hint="pass an mkv, mp4, webm or gif episode")
    if format_name.startswith("image2") or format_name.endswith("_pipe"):
        raise NotAVideoError(
            path,
            f"not a video file: it is a still image ({format_name})",
            hint="pass an episode's video file, not a picture",
        )


def _decoder_name(path: Path, stream: av.video.stream.VideoStream) -> str:
    context = stream.codec_context
    codec = getattr(context, "codec", None)
    if context is None or codec is None or context.name in ("", "none"):
        tag = stream.metadata.get("codec", "") or getattr(context, "codec_tag", "") or "unknown"
        raise UnsupportedCodecError(
            path,
            f"the video codec ({tag}) has no decoder in this FFmpeg build",
            hint="re-encode the episode to H.264, HEVC, VP9 or AV1",
        )
    return str(context.name)


def _nominal_fps(stream: av.video.stream.VideoStream) -> Fraction:
    for rate in (stream.guessed_rate, stream.average_rate, stream.base_rate):
        if rate and 0 < rate < 1000:
            return Fraction(rate)
    return Fraction(24000, 1001)  # TV anime's rate when the container says nothing usable


def _stream_summary(container: av.container.InputContainer) -> str:
    counts: dict[str, int] = {}
    for stream in container.streams:
        counts[stream.type] = counts.get(stream.type, 0) + 1
    if not counts:
        return "no streams at all"
    return ", ".join(f"{n} {kind} stream{'s' if n > 1 else ''}" for kind, n in sorted(counts.items()))


def _subtitle_codec(stream: av.stream.Stream) -> str:
    context = stream.codec_context
    if context is None:
        return "unknown"
    # FFmpeg's first decoder for AV_CODEC_ID_ASS is named "ssa"; the track is ASS (S_TEXT/ASS).
    if context.codec.id == av.codec.Codec("ass", "r").id:
        return "ass"
    return str(context.name)


def _subtitle_tracks(container: av.container.InputContainer) -> list[SubtitleTrack]:
    tracks = []
    for stream in container.streams.subtitles:
        meta = stream.metadata
        tracks.append(
            SubtitleTrack(
                index=stream.index,
                codec=_subtitle_codec(stream),
                language=meta.get("language", "und"),
                title=meta.get("title", ""),
            )
        )
    return tracks


def _attachments(container: av.container.InputContainer) -> list[str]:
    names = []
    for stream in container.streams:
        if stream.type == "attachment":
            names.append(stream.metadata.get("filename", f"attachment-{stream.index}"))
    return names
