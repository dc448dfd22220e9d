"""The default backend: PyAV (FFmpeg), threaded decode, scaling in a second thread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.codec.hwaccel import HWAccel
from av.video.reformatter import VideoReformatter

from animevid.decode._probe import open_container
from animevid.decode._source import Chunk, FrameSource
from animevid.decode._threads import background
from animevid.errors import BackendUnavailableError

_SCALERS = {
    "fast_bilinear": "FAST_BILINEAR",
    "bilinear": "BILINEAR",
    "area": "AREA",
    "bicubic": "BICUBIC",
}

_MAX_BAD_SECONDS_IN_A_ROW = 60.0
"""Stream time of damaged packets skipped in a row before the rest of the file is given up on.

An mp4's index still leads the demuxer to every packet after a damaged stretch, and a failed
packet costs well under a millisecond: a 100 kB hole in a small episode is 70 packets, a lost
16 MB download piece of a 1080p one 30 s of them, and the frames after it decode again (the
hole is reported as a gap). Only a decoder that fails on everything is stopped by this.
"""
_MIN_BAD_PACKETS_IN_A_ROW = 50
"""Damaged packets skipped in a row at the least before giving up, whatever the frame rate."""


class PyAVSource(FrameSource):
    """Decode with PyAV's bundled FFmpeg.

    FFmpeg decodes with frame and slice threads; a producer thread runs the
    demux/decode loop while the calling thread scales each frame to analysis size
    with one reused swscale context (FFmpeg releases the GIL in both), so scaling
    overlaps decoding instead of adding to it.
    """

    name = "pyav"
    decode_errors = (av.FFmpegError,)

    gives_details = True

    def _chunks(self) -> Iterator[Chunk]:
        width, height = self.analysis_size
        scaler = VideoReformatter()
        larger = _Larger(self)
        frames = background(self._decoded_frames(), maxsize=16, name="animevid-pyav-decode")
        pixels = np.empty((self.batch_frames, height, width, 3), dtype=np.uint8)
        times: list[float | None] = []
        details: dict[int, np.ndarray] = {}
        number = self.first_index
        for frame in frames:
            small = scaler.reformat(
                frame, width=width, height=height, format="rgb24", interpolation=_SCALERS[self.interpolation]
            )
            pixels[len(times)] = small.to_ndarray()
            if larger.wants(number, pixels[len(times)]):
                details[len(times)] = larger.scale(frame)
            number += 1
            times.append(None if frame.pts is None or frame.time_base is None else float(frame.pts * frame.time_base))
            if len(times) == self.batch_frames:
                yield Chunk(frames=pixels, raw_seconds=times, details=details)
                pixels = np.empty_like(pixels)
                times, details = [], {}
        if times:
            yield Chunk(frames=pixels[: len(times)], raw_seconds=times, details=details)

    def _hwaccel(self) -> HWAccel | None:
        """Hardware decoding settings for FFmpeg; None decodes on the CPU."""
        return None

    def _decoded_frames(self) -> Iterator[av.VideoFrame]:
        container, stream = self._open_stream()
        try:
            yield from self._decode_packets(container, stream)
        finally:
            container.close()

    def _open_stream(self) -> tuple[av.container.InputContainer, av.VideoStream]:
        """The container and its video stream, with the decoder's threads and options set."""
        container = open_container(self.path, self._hwaccel())
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = self.threads
        if self.skip_loop_filter:
            stream.codec_context.options = {**stream.codec_context.options, "skip_loop_filter": "all"}
        return container, stream

    def _decode_packets(
        self, container: av.container.InputContainer, stream: av.VideoStream
    ) -> Iterator[av.VideoFrame]:
        bad_in_a_row = 0
        most_in_a_row = max(_MIN_BAD_PACKETS_IN_A_ROW, round(_MAX_BAD_SECONDS_IN_A_ROW * self.info.fps_float))
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                # One damaged packet costs its own frame, not the rest of the episode.
                self.damaged_packets += 1
                bad_in_a_row += 1
                if bad_in_a_row > most_in_a_row:
                    raise
                continue
            bad_in_a_row = 0
            yield from decoded


class NvdecSource(PyAVSource):
    """PyAV with FFmpeg's NVDEC decoder on a CUDA GPU (no extra package: PyAV's FFmpeg has it).

    The GPU decodes; each frame is copied back (NV12) and scaled to analysis size by swscale
    exactly as in ``pyav``, so the analysis frames are the same. It frees the CPU cores that
    decoding takes, which matters when several episodes are indexed at once; on a machine with
    many cores a single episode decodes faster on the CPU (bench/decode.py).

    Streams NVDEC cannot decode (a codec it lacks, 10-bit H.264) are decoded by FFmpeg on the
    CPU instead; :attr:`decoded_on_gpu` says which happened.
    """

    name = "pyav-nvdec"

    def __init__(self, path: str | Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        try:  # the file itself was checked by the probe above: a failure here is the device's
            container = av.open(str(self.path), hwaccel=self._hwaccel())
        except (OSError, av.FFmpegError) as exc:
            raise BackendUnavailableError(
                f"decoder pyav-nvdec: FFmpeg could not open a CUDA device for NVDEC ({exc}); "
                "it needs an NVIDIA GPU and driver; use decode.backend: pyav"
            ) from None
        with container:
            on_gpu = container.streams.video[0].codec_context.is_hwaccel
        self.decoded_on_gpu = bool(on_gpu)
        """False when NVDEC lacks this codec and FFmpeg decodes on the CPU."""

    def _hwaccel(self) -> HWAccel:
        return HWAccel("cuda", allow_software_fallback=True)


class _Larger:
    """The frames a :class:`~animevid.decode.DetailRequest` wants, scaled a second time with their own scaler."""

    def __init__(self, source: PyAVSource) -> None:
        self.request = source.detail
        self.size = source.detail_size(self.request.width) if self.request is not None else (0, 0)
        self.scaler = VideoReformatter()

    def wants(self, number: int, small: np.ndarray) -> bool:
        return self.request is not None and bool(self.request.wants(number, small))

    def scale(self, frame: av.VideoFrame) -> np.ndarray:
        width, height = self.size
        # area: a larger frame is looked at for detail (faces), where fast bilinear aliases
        return self.scaler.reformat(
            frame, width=width, height=height, format="rgb24", interpolation="AREA"
        ).to_ndarray()
