"""Encoding: one x264 encode, its packets muxed into both the .mp4 and the .mkv.

The .mkv also carries the .ass file as a subtitle track: FFmpeg's ass demuxer reads it and its
packets are interleaved with the video by time. Encoding once halves the cost and guarantees
both containers hold the very same video.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from animevid.config import SynthConfig
from animevid.errors import SynthError


def encode(
    frames: Iterator[np.ndarray],
    total: int,
    paths: tuple[Path, Path, Path],
    cfg: SynthConfig,
    *,
    title: str,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Encode ``frames`` to H.264 yuv420p in (mp4, mkv) and mux the .ass into the mkv.

    Args:
        frames: RGB frames, exactly ``total`` of them.
        total: Frame count (for progress).
        paths: (mp4, mkv, ass) paths; the ass file must already exist.
        cfg: Size, rate, crf and preset.
        title: Title metadata of the files.
        progress: Called as ``progress(done, total)`` after each frame.

    Raises:
        SynthError: The encoder rejects the options.
    """
    mp4_path, mkv_path, ass_path = paths
    time_base = Fraction(cfg.fps_den, cfg.fps_num)  # frame i at pts i: exact times
    with av.open(str(mp4_path), "w") as mp4, av.open(str(mkv_path), "w") as mkv, av.open(str(ass_path)) as ass:
        mp4.metadata["title"] = mkv.metadata["title"] = title
        video = _video_stream(mp4, cfg, time_base)
        sub_in = ass.streams.subtitles[0]
        muxer = _MkvMuxer(mkv, sub_in, [p for p in ass.demux(sub_in) if p.size])
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, time_base
            for packet in video.encode(frame):
                muxer.mux(mp4, video, packet)
            if progress is not None:
                progress(index + 1, total)
        for packet in video.encode(None):
            muxer.mux(mp4, video, packet)
        muxer.finish()


def _video_stream(container: av.container.OutputContainer, cfg: SynthConfig, time_base: Fraction) -> av.VideoStream:
    try:
        stream = container.add_stream("libx264", rate=Fraction(cfg.fps_num, cfg.fps_den))
    except (av.FFmpegError, ValueError) as exc:  # pragma: no cover - PyAV wheels bundle libx264
        raise SynthError(f"cannot create an H.264 encoder ({exc}); install PyAV wheels that bundle libx264") from None
    stream.width, stream.height, stream.pix_fmt = cfg.width, cfg.height, "yuv420p"
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    # a fixed thread count: x264's output depends on it, and by default it follows the machine's
    # cores, so a 16-core machine encoded another episode than CI's 2 cores (2 keeps CI's bytes)
    stream.options = {"crf": str(cfg.crf), "preset": cfg.preset, "threads": "2"}
    return stream


class _MkvMuxer:
    """Opens the mkv once the encoder is open (its streams copy the encoder's parameters), then
    interleaves subtitle packets before the first video packet at or after their time."""

    def __init__(self, mkv: av.container.OutputContainer, sub_in: av.stream.Stream, subs: list[av.Packet]) -> None:
        self.mkv, self.sub_in, self.subs = mkv, sub_in, subs
        self.video_out: av.stream.Stream | None = None
        self.sub_out: av.stream.Stream | None = None

    def mux(self, mp4: av.container.OutputContainer, video: av.VideoStream, packet: av.Packet) -> None:
        mp4.mux(packet)
        if self.video_out is None:
            self.video_out = self.mkv.add_stream_from_template(video)
            self.sub_out = self.mkv.add_stream_from_template(self.sub_in)
            self.sub_out.metadata["language"] = "eng"
            self.sub_out.metadata["title"] = "English (fansub timing)"
        if packet.pts is not None and packet.time_base is not None:
            self._flush_subs(float(packet.pts * packet.time_base))
        packet.stream = self.video_out
        self.mkv.mux(packet)

    def _flush_subs(self, until_seconds: float) -> None:
        while self.subs and self.sub_out is not None:
            head = self.subs[0]
            if head.pts is None or head.time_base is None or float(head.pts * head.time_base) > until_seconds:
                return
            head.stream = self.sub_out
            self.mkv.mux(self.subs.pop(0))

    def finish(self) -> None:
        """Mux the subtitle packets that start after the last frame."""
        self._flush_subs(float("inf"))


def repeat_video(source: str | Path, target: str | Path, copies: int) -> Path:
    """Write ``source``'s video stream ``copies`` times over into ``target``, remuxed (no re-encoding).

    A long episode from a short clip, for benchmarks and tests that need an episode of broadcast
    length (the split pass, animevid.engine._split, starts at 3000 frames). Each copy's timestamps
    follow the copy before; audio and subtitles are left out.
    """
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    target = Path(target)
    with av.open(str(target), "w") as out:
        stream_out: av.VideoStream | None = None
        offset = 0
        last_dts: int | None = None
        for _ in range(copies):
            with av.open(str(source)) as container:
                stream = container.streams.video[0]
                if stream_out is None:
                    stream_out = out.add_stream_from_template(stream)
                rate, base = stream.average_rate, stream.time_base
                step = round(1 / (rate * base)) if rate and base else 1  # a frame, where packets lack a duration
                end = 0
                for packet in container.demux(stream):
                    if packet.size == 0 or packet.pts is None:
                        continue
                    end = max(end, packet.pts + (packet.duration or step))
                    packet.pts += offset
                    if packet.dts is not None:
                        packet.dts += offset
                    elif last_dts is not None:  # Matroska leaves it out at the start: keep it rising
                        packet.dts = last_dts + 1
                    last_dts = packet.dts
                    packet.stream = stream_out
                    out.mux(packet)
                offset += end
    return target
