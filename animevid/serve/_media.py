"""Preview media for a hit: a JPEG of the frame and a short mp4 of its shot, cut from the episode file.

Times are the catalog's (seconds from the stream's first frame); the stream's own start time is
added before seeking. Each preview decodes only from the key frame before it to its end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2

from animevid.errors import AnimevidError

SIZES = {"s": 160, "m": 320, "l": 640}
"""Preview widths by trace.moe's ``size`` parameter (m when absent)."""


class PreviewError(AnimevidError):
    """A preview cannot be made (the episode file moved, or cannot be decoded there)."""


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _open(path: str) -> av.container.InputContainer:
    if not Path(path).is_file():
        raise PreviewError(f"{Path(path).name}: the episode file is no longer where it was indexed")
    try:
        return av.open(path)
    except (av.FFmpegError, OSError) as exc:
        raise PreviewError(f"{Path(path).name}: cannot be opened for a preview ({exc})") from None


def _frames(container: av.container.InputContainer, start: float, end: float) -> Iterator[tuple[float, av.VideoFrame]]:
    """Video frames shown from ``start`` to ``end`` (catalog seconds), with their catalog times."""
    stream = container.streams.video[0]
    base = float(stream.time_base or Fraction(1, 1000))
    origin = (stream.start_time or 0) * base
    container.seek(max(0, int((start + origin) / base)), stream=stream, backward=True, any_frame=False)
    half = 0.5 / float(stream.average_rate or 24)
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        seconds = frame.pts * base - origin
        if seconds < start - half:
            continue
        if seconds >= end - half:
            return
        yield seconds, frame


def preview_image(path: str, at: float, width: int) -> bytes:
    """The frame shown at ``at`` seconds as a JPEG ``width`` pixels wide."""
    with _open(path) as container:
        try:
            for _, frame in _frames(container, at, at + 3600):
                height = _even(width * frame.height / max(1, frame.width))
                rgb = frame.to_ndarray(format="rgb24", width=_even(width), height=height)
                ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
                if ok:
                    return bytes(data)
        except av.FFmpegError as exc:
            raise PreviewError(f"{Path(path).name}: cannot be decoded at {at:.2f} s ({exc})") from None
    raise PreviewError(f"{Path(path).name}: no frame at {at:.2f} s")


def preview_video(path: str, start: float, end: float, width: int, *, mute: bool) -> bytes:
    """The episode from ``start`` to ``end`` seconds as H.264 mp4, ``width`` pixels wide, AAC sound unless muted."""
    with tempfile.TemporaryDirectory(prefix="animevid-preview-") as folder:
        out = Path(folder) / "preview.mp4"  # +faststart rewrites the file: it needs a real one
        _write_video(path, out, start, end, width, mute=mute)
        return out.read_bytes()


def _write_video(path: str, out: Path, start: float, end: float, width: int, *, mute: bool) -> None:
    try:
        with _open(path) as source, av.open(str(out), "w", options={"movflags": "+faststart"}) as sink:
            video = source.streams.video[0]
            height = _even(width * video.height / max(1, video.width))
            rate = Fraction(video.average_rate or 24).limit_denominator(1001)
            encoder = sink.add_stream("libx264", rate=rate)
            encoder.width, encoder.height, encoder.pix_fmt = _even(width), height, "yuv420p"
            encoder.options = {"crf": "26", "preset": "veryfast"}
            sound = None if mute or not source.streams.audio else sink.add_stream("aac", rate=48000)
            count = 0
            for _, frame in _frames(source, start, end):
                picture = frame.reformat(width=encoder.width, height=encoder.height, format="yuv420p")
                picture.pts, picture.time_base = count, Fraction(1) / rate
                sink.mux(encoder.encode(picture))
                count += 1
            sink.mux(encoder.encode(None))
            if count == 0:
                raise PreviewError(f"{Path(path).name}: no frame between {start:.2f} and {end:.2f} s")
            if sound is not None:
                _copy_sound(path, start, end, sink, sound)
    except av.FFmpegError as exc:
        raise PreviewError(f"{Path(path).name}: cannot cut {start:.2f}-{end:.2f} s ({exc})") from None


def _copy_sound(path: str, start: float, end: float, sink: av.container.OutputContainer, sound: av.AudioStream) -> None:
    """Re-encode the episode's first audio track from ``start`` to ``end`` as 48 kHz stereo AAC."""
    with av.open(path) as source:
        audio = source.streams.audio[0]
        base = float(audio.time_base or Fraction(1, 48000))
        origin = (source.streams.video[0].start_time or 0) * float(source.streams.video[0].time_base or 0)
        source.seek(max(0, int((start + origin) / base)), stream=audio, backward=True)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=48000, frame_size=1024)
        written = 0
        total = int((end - start) * 48000)
        for frame in source.decode(audio):
            if frame.pts is None:
                continue
            seconds = frame.pts * base - origin
            if seconds + frame.samples / frame.sample_rate <= start:
                continue
            if seconds >= end or written >= total:
                break
            for chunk in resampler.resample(frame):
                chunk.pts, written = written, written + chunk.samples
                sink.mux(sound.encode(chunk))
        sink.mux(sound.encode(None))
