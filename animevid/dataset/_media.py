"""Cutting clips out of an episode, frame-exact, in one decode of the file.

Frame ``i`` of an episode is the ``i``-th picture its decoder puts out, i.e. the packet with the
``i``-th smallest pts (every H.264/HEVC/AV1 packet is one picture). A clip ``start .. end`` is
**copied** (its packets muxed into an mp4 unchanged) only when that is exact: frame ``start`` is a key
packet and, in decode order, the packets from it on are exactly the clip's frames, none of another
frame in between and none missing. Then nothing before the key packet is referenced, B-frames of
the clip reference only packets of the clip, and the decoder gives back exactly the clip's frames.
Open-GOP leading pictures (decoded after an I-frame, shown before it) and a clip ending on a
B-frame whose reference lies beyond the clip break that run, so those clips are **re-encoded**
(libx264) from the decoded frames instead, like every clip of another size than ``full``.

The file is read twice: once for its packet table (demuxing only, no decoding) and once to
decode, where only the GOPs holding a frame some clip needs are decoded (all of them when the
table is not trustworthy: packets without pts, repeated pts, or another count than the catalog's).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from animevid.dataset._options import ClipCutError

COPY_CODECS = frozenset({"h264", "hevc", "av1", "vp9", "mpeg4"})
"""Codecs whose packets an mp4 holds as they are; clips of other codecs are always re-encoded."""
CRF = 18
"""x264 quality of re-encoded clips (visually lossless for flat anime cels)."""
PRESET = "veryfast"
"""x264 speed preset of re-encoded clips."""
SIGNATURE_FRAMES = 4
"""Frames sampled (evenly, centres of equal parts) for a clip's near-duplicate signature."""
SIGNATURE_SIDE = 16
"""Each sampled frame is shrunk to a SIGNATURE_SIDE x SIGNATURE_SIDE grey thumbnail."""


@dataclass(frozen=True)
class ClipJob:
    """One clip to cut: its name and frame range."""

    key: str
    start_frame: int
    end_frame: int
    """One past the last frame."""


@dataclass(frozen=True)
class ClipFile:
    """One written clip file (one size of one clip)."""

    size: str
    """``full`` or the short side in pixels as asked."""
    path: Path
    """Where it was written (a temporary name in the work folder)."""
    width: int
    height: int
    frames: int
    encoding: str
    """copy or reencode."""
    bytes: int


@dataclass
class ClipMedia:
    """What cutting one clip gave: a file per size and its signature, or why it failed."""

    key: str
    files: list[ClipFile] = field(default_factory=list)
    signature: np.ndarray | None = None
    """SIGNATURE_FRAMES x SIGNATURE_SIDE**2 grey levels (uint8), when asked for."""
    error: str | None = None


def target_size(size: str, width: int, height: int) -> tuple[int, int]:
    """Frame size of a clip of ``size`` (``full`` or the short side in pixels; never larger than the source).

    Sides are even (yuv420p) and keep the source's aspect ratio.
    """
    if size == "full" or int(size) >= min(width, height):
        return width - width % 2, height - height % 2
    scale = int(size) / min(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


@dataclass
class PacketTable:
    """The video packets of a file in decode order, and which packet shows each frame."""

    pts: list[int]
    keyframe: list[bool]
    frame_pos: list[int]
    """Decode position of frame i's packet."""
    trusted: bool
    """Whether every packet has its own pts and the count matches the catalog's frames."""

    def copy_span(self, start: int, end: int) -> tuple[int, int] | None:
        """Decode positions (first, last) of packets that decode to exactly frames ``start .. end``, if any."""
        if not self.trusted or end > len(self.frame_pos):
            return None
        positions = self.frame_pos[start:end]
        first, last = min(positions), max(positions)
        exact = first == positions[0] and last - first + 1 == end - start
        return (first, last) if exact and self.keyframe[first] else None

    def gop_of(self) -> list[int]:
        """For each decode position, the position of the key packet that opens its GOP (-1 before the first)."""
        out, current = [], -1
        for pos, key in enumerate(self.keyframe):
            current = pos if key else current
            out.append(current)
        return out


def read_packet_table(path: Path, expected_frames: int) -> PacketTable:
    """Demux (no decoding) the first video stream's packets of ``path``."""
    pts: list[int] = []
    keyframe: list[bool] = []
    none_pts = False
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            none_pts |= packet.pts is None
            pts.append(packet.pts if packet.pts is not None else -1)
            keyframe.append(bool(packet.is_keyframe))
    trusted = not none_pts and len(set(pts)) == len(pts) == expected_frames
    frame_pos = sorted(range(len(pts)), key=pts.__getitem__) if trusted else []
    return PacketTable(pts=pts, keyframe=keyframe, frame_pos=frame_pos, trusted=trusted)


def _copy_dts(span_pts: list[int]) -> list[int]:
    """Decode times for a run of packets (Matroska stores none): the sorted pts, delayed just enough."""
    ordered = sorted(span_pts)
    step = max(1, (ordered[-1] - ordered[0]) // max(1, len(ordered) - 1))
    for delay in range(len(span_pts) + 1):
        dts = [ordered[k - delay] if k >= delay else ordered[0] - (delay - k) * step for k in range(len(span_pts))]
        if all(d <= p for d, p in zip(dts, span_pts, strict=True)):
            return dts
    raise ClipCutError("no decode order fits the packets' times")  # pragma: no cover - delay = len always fits


_X264_CPU_NAMES = {
    "mmxext": "MMX2",
    "sse": "SSE",
    "sse2": "SSE2",
    "pni": "SSE3",
    "ssse3": "SSSE3",
    "sse4_1": "SSE4.1",
    "sse4_2": "SSE4.2",
    "abm": "LZCNT",
    "avx": "AVX",
    "fma": "FMA3",
    "bmi1": "BMI1",
    "bmi2": "BMI2",
    "avx2": "AVX2",
}
"""x264's names of the x86 instruction sets it uses below AVX-512, by their /proc/cpuinfo flag."""


@functools.cache
def x264_cpu_options() -> dict[str, str]:
    """x264 options that keep it off its AVX-512 code on CPUs that have it, else none.

    With AVX-512, x264 (core 165, in PyAV's wheels) gives other bytes for the same frames from run to
    run (measured: 1-3 of 15 clips of a synthetic episode differ between runs in one process; its
    macroblock-tree code; none differ with AVX2 or without SIMD). Clips must not change between runs:
    a resumed export must equal an uninterrupted one. AVX-512 speeds x264 up by little.
    """
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return {}
    if "avx512f" not in flags:
        return {}
    return {"x264-params": "asm=" + ",".join(name for flag, name in _X264_CPU_NAMES.items() if flag in flags)}


class _Writer:
    """An mp4 a clip is written to, opened at its first frame (an episode's clips are not all open at once)."""

    sink: av.container.OutputContainer | None = None
    done = False

    def abort(self) -> None:
        """Close what was written so far (the caller removes the file)."""
        if self.sink is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                self.sink.close()


class _CopyWriter(_Writer):
    """Muxes packets ``first .. last`` (decode positions) into an mp4, times starting at the clip's first frame."""

    def __init__(self, path: Path, stream: av.VideoStream, table: PacketTable, span: tuple[int, int]) -> None:
        self.path, self.first, self.last, self.source = path, span[0], span[1], stream
        span_pts = table.pts[self.first : self.last + 1]
        self.base = span_pts[0]
        self.dts = _copy_dts(span_pts)

    def packet(self, pos: int, packet: av.Packet) -> None:
        if not self.first <= pos <= self.last or self.done:
            return
        if self.sink is None:  # opened at the first packet: an episode's clips are not all open at once
            self.sink = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
            self.out = self.sink.add_stream_from_template(self.source)
            self.out.time_base = self.source.time_base
        packet.pts = (packet.pts or 0) - self.base
        packet.dts = self.dts[pos - self.first] - self.base
        packet.stream = self.out
        self.sink.mux(packet)
        if pos == self.last:
            self.sink.close()
            self.done = True


class _EncodeWriter(_Writer):
    """Encodes frames, scaled to one size, into an H.264 mp4 with frame i at time i / rate."""

    def __init__(self, path: Path, size: tuple[int, int], rate: Fraction, frames: int) -> None:
        self.path, self.size, self.frames, self.count, self.rate = path, size, frames, 0, rate
        self.time_base = Fraction(1) / rate

    def _open(self) -> av.container.OutputContainer:
        sink = av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"})
        self.stream = sink.add_stream("libx264", rate=self.rate)
        self.stream.width, self.stream.height = self.size
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"crf": str(CRF), "preset": PRESET, **x264_cpu_options()}
        return sink

    def frame(self, picture: av.VideoFrame) -> None:
        if self.done:
            return
        if self.sink is None:
            self.sink = self._open()
        scaled = picture.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
        scaled.pts, scaled.time_base = self.count, self.time_base
        scaled.pict_type = 0  # the source's I-frames would force I-frames here too (larger clips)
        self.sink.mux(self.stream.encode(scaled))
        self.count += 1
        if self.count == self.frames:
            self.sink.mux(self.stream.encode(None))
            self.sink.close()
            self.done = True


def _signature_frames(start: int, end: int) -> list[int]:
    count = end - start
    return sorted({start + min(count - 1, int((k + 0.5) * count / SIGNATURE_FRAMES)) for k in range(SIGNATURE_FRAMES)})


def thumbnail(picture: av.VideoFrame) -> np.ndarray:
    """The frame as a small grey thumbnail for signatures."""
    grey = picture.reformat(width=SIGNATURE_SIDE, height=SIGNATURE_SIDE, format="gray", interpolation="AREA")
    return np.ascontiguousarray(grey.to_ndarray()).reshape(-1)


@dataclass
class _Cut:
    """The writers and signature of one clip while the episode is read."""

    job: ClipJob
    sizes: list[tuple[str, tuple[int, int], str]]
    """(size, (width, height), encoding) per size."""
    copy: _CopyWriter | None = None
    encoders: list[_EncodeWriter] = field(default_factory=list)
    wanted_thumbs: list[int] = field(default_factory=list)
    thumbs: dict[int, np.ndarray] = field(default_factory=dict)
    next_frame: int = 0

    def needs_frames(self) -> bool:
        return bool(self.encoders) or bool(self.wanted_thumbs)

    def frame(self, index: int, picture: av.VideoFrame) -> None:
        if self.encoders:
            if index != self.next_frame:
                return  # a repeat or a frame out of order: encoders take only the expected next frame
            self.next_frame += 1
            for encoder in self.encoders:
                encoder.frame(picture)
        if index in self.wanted_thumbs:
            self.thumbs[index] = thumbnail(picture)

    def finished(self) -> bool:
        copy_done = self.copy is None or self.copy.done
        return copy_done and all(e.done for e in self.encoders) and len(self.thumbs) == len(self.wanted_thumbs)

    def result(self) -> ClipMedia:
        files = []
        for (size, (width, height), encoding), path in zip(self.sizes, self._paths(), strict=True):
            files.append(
                ClipFile(
                    size, path, width, height, self.job.end_frame - self.job.start_frame, encoding, path.stat().st_size
                )
            )
        signature = np.stack([self.thumbs[i] for i in self.wanted_thumbs]) if self.wanted_thumbs else None
        return ClipMedia(self.job.key, files, signature)

    def _paths(self) -> list[Path]:
        encoders = iter(self.encoders)
        return [self.copy.path if enc == "copy" and self.copy else next(encoders).path for _, _, enc in self.sizes]

    def abort(self) -> None:
        for writer in [self.copy, *self.encoders]:
            if writer is not None:
                writer.abort()
                with contextlib.suppress(OSError):
                    writer.path.unlink()


@dataclass
class _Plan:
    """Every clip's cut and which packets and frames feed which cuts."""

    cuts: list[_Cut]
    by_pos: dict[int, list[_Cut]]
    by_frame: dict[int, list[_Cut]]
    decode: set[int] | None
    """Decode positions to decode; None: every packet (an untrusted table)."""


@dataclass(frozen=True)
class _Options:
    sizes: tuple[str, ...]
    work: Path
    rate: Fraction
    signatures: bool
    stream_copy: bool


def _plan_cut(job: ClipJob, table: PacketTable, stream: av.VideoStream, options: _Options) -> _Cut:
    copyable = options.stream_copy and stream.codec_context.name in COPY_CODECS
    span = table.copy_span(job.start_frame, job.end_frame) if copyable else None
    frames = job.end_frame - job.start_frame
    cut = _Cut(job, [])
    for size in options.sizes:
        dims = target_size(size, stream.width, stream.height)
        name = f"{job.key}.{size}.mp4"
        if size == "full" and span is not None and dims == (stream.width, stream.height):
            cut.copy = _CopyWriter(options.work / name, stream, table, span)
            cut.sizes.append((size, dims, "copy"))
        else:
            cut.encoders.append(_EncodeWriter(options.work / name, dims, options.rate, frames))
            cut.sizes.append((size, dims, "reencode"))
    if options.signatures:
        cut.wanted_thumbs = _signature_frames(job.start_frame, job.end_frame)
    cut.next_frame = job.start_frame
    return cut


def _plan(jobs: Sequence[ClipJob], table: PacketTable, stream: av.VideoStream, options: _Options) -> _Plan:
    plan = _Plan([], {}, {}, None)
    for job in jobs:
        cut = _plan_cut(job, table, stream, options)
        plan.cuts.append(cut)
        if cut.copy is not None:
            for pos in range(cut.copy.first, cut.copy.last + 1):
                plan.by_pos.setdefault(pos, []).append(cut)
        wanted = range(job.start_frame, job.end_frame) if cut.encoders else cut.wanted_thumbs
        for index in wanted:
            plan.by_frame.setdefault(index, []).append(cut)
    if table.trusted:
        gop = table.gop_of()
        needed: set[int] = set()
        for index in plan.by_frame:
            if index >= len(table.frame_pos):
                continue
            pos = table.frame_pos[index]
            needed.add(gop[pos])
            if gop[pos] > 0 and table.pts[pos] < table.pts[gop[pos]]:  # open-GOP leading picture
                needed.add(gop[gop[pos] - 1])
        plan.decode = {pos for pos, g in enumerate(gop) if g in needed}
    else:
        # without a trusted table, the Nth decoded frame must be counted: the frames before the first wanted one too
        plan.decode = None
    return plan


class _Pass:
    """One read of an episode feeding every clip's writers; yields finished clips in job order."""

    def __init__(self, plan: _Plan, table: PacketTable) -> None:
        self.plan, self.table = plan, table
        self.rank = {pts: i for i, pts in enumerate(sorted(table.pts))} if table.trusted else {}
        self.results: dict[int, ClipMedia] = {}
        self.order = {id(cut): n for n, cut in enumerate(plan.cuts)}
        self.counted = 0
        self.next_out = 0

    def packet(self, pos: int, packet: av.Packet) -> list[av.VideoFrame]:
        pictures: list[av.VideoFrame] = []
        if self.plan.decode is None or pos in self.plan.decode:
            # a damaged packet costs its own frame; the clips that needed it fail at the end
            with contextlib.suppress(av.error.InvalidDataError):
                pictures = list(packet.decode())
        # muxing rewrites the packet's times and stream: only after it was decoded
        for cut in self.plan.by_pos.get(pos, ()):
            if cut.copy is not None:
                self._guard(cut, functools.partial(cut.copy.packet, pos, packet))
        return pictures

    def frame(self, picture: av.VideoFrame) -> None:
        if self.table.trusted:
            index = self.rank.get(picture.pts if picture.pts is not None else -1, -1)
        else:
            index, self.counted = self.counted, self.counted + 1
        for cut in self.plan.by_frame.get(index, ()):
            self._guard(cut, functools.partial(cut.frame, index, picture))

    def _guard(self, cut: _Cut, action: Callable[[], object]) -> None:
        """Run one writer step; a writer that fails fails its clip only."""
        key = self.order[id(cut)]
        if key in self.results:
            return
        try:
            action()
        except (av.FFmpegError, OSError) as exc:
            cut.abort()
            self.results[key] = ClipMedia(cut.job.key, error=f"cannot write clip {cut.job.key} ({exc})")
            return
        if cut.finished():
            self.results[key] = cut.result()

    def ready(self) -> Iterator[ClipMedia]:
        """Finished clips not yet handed out, in job order, stopping at the first unfinished one."""
        while self.next_out in self.results:
            yield self.results.pop(self.next_out)
            self.next_out += 1

    def finish(self) -> Iterator[ClipMedia]:
        """Every remaining clip: finished, or failed for frames that never came."""
        for n, cut in enumerate(self.plan.cuts[self.next_out :], start=self.next_out):
            if n not in self.results:
                cut.abort()
                missing = cut.job.end_frame - cut.next_frame
                self.results[n] = ClipMedia(
                    cut.job.key, error=f"frames {cut.job.start_frame}..{cut.job.end_frame}: {missing} never decoded"
                )
        yield from self.ready()

    def all_done(self) -> bool:
        return self.next_out >= len(self.plan.cuts)


def cut_clips(
    path: Path,
    jobs: Sequence[ClipJob],
    *,
    sizes: Sequence[str],
    expected_frames: int,
    work: Path,
    signatures: bool,
    stream_copy: bool = True,
) -> Iterator[ClipMedia]:
    """Cut ``jobs`` (sorted by start, not overlapping) out of the episode at ``path`` in one read.

    Args:
        path: The episode file.
        jobs: The clips, in frame order.
        sizes: ``full`` and/or short sides in pixels; one file per size per clip.
        expected_frames: The catalog's frame count (the packet table is trusted only when it agrees).
        work: Folder for the clip files (each named ``{key}.{size}.mp4``).
        signatures: Whether to sample the frames of a near-duplicate signature.
        stream_copy: Whether clips may be copied (where exact); False re-encodes every clip.

    Yields:
        One :class:`ClipMedia` per job, in job order, as soon as it is finished.

    Raises:
        av.FFmpegError: The file cannot be opened or demuxed.
    """
    table = read_packet_table(path, expected_frames)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = Fraction(stream.average_rate or stream.guessed_rate or 24).limit_denominator(1001)
        plan = _plan(jobs, table, stream, _Options(tuple(sizes), work, rate, signatures, stream_copy))
        run = _Pass(plan, table)
        pos = 0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            for picture in run.packet(pos, packet):
                run.frame(picture)
            pos += 1
            yield from run.ready()
            if run.all_done():
                return
        with contextlib.suppress(av.FFmpegError):
            for picture in stream.codec_context.decode(None):
                run.frame(picture)
        yield from run.finish()
