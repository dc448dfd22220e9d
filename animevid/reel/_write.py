"""Writing a reel: the chosen shots cut frame-exact from the episode, H.264 with the episode's sound as AAC."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from animevid.clips import EpisodeFacts
from animevid.library import write_atomically
from animevid.reel._choose import ReelShot, budget_frames, choose_shots, reel_rate
from animevid.reel._errors import ReelError
from animevid.reel._media import AudioCutter, StreamCursor, Timed, first_frame_seconds, open_episode_file

CRF = 20
"""x264 constant rate factor of a reel: close to the source for anime's flat colours and clean lines."""
PRESET = "veryfast"
"""x264 preset: a reel is a preview, its encode should not take longer than the episode's decode."""
AUDIO_BIT_RATE = 160_000
"""AAC bit rate of the reel's sound (bits per second)."""

Progress = Callable[[int, int], None]
"""Called as ``progress(frames_written, reel_frames)``."""


@dataclass(frozen=True)
class ReelReport:
    """What :func:`write_reel` wrote."""

    path: Path
    """The reel (mp4)."""
    shots: tuple[ReelShot, ...]
    """The shots it holds, in episode (and reel) order."""
    frames: int
    """Video frames in the reel (the chosen shots' frames, all of them)."""
    budget_frames: int
    """The cap the frames never exceed: ``floor(seconds * fps)``."""
    fps: Fraction
    """The reel's frame rate, the episode's as an exact fraction (its time base is ``1 / fps``)."""
    width: int
    """Picture width in pixels."""
    height: int
    """Picture height in pixels."""
    audio: bool
    """Whether the reel carries sound (the episode's first audio track, as AAC)."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What a viewer should know, e.g. that the reel is silent because the episode has no audio track."""
    elapsed_seconds: float = 0.0
    """Wall-clock time the decode and encode took."""

    @property
    def seconds(self) -> float:
        """The reel's length: ``frames / fps``."""
        return float(self.frames / self.fps)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (fps as ``[numerator, denominator]``)."""
        return {
            "path": str(self.path),
            "frames": self.frames,
            "seconds": self.seconds,
            "budget_frames": self.budget_frames,
            "fps": [self.fps.numerator, self.fps.denominator],
            "width": self.width,
            "height": self.height,
            "audio": self.audio,
            "notes": list(self.notes),
            "elapsed_seconds": self.elapsed_seconds,
            "shots": [{**asdict(shot), "frames": shot.frames} for shot in self.shots],
        }


@dataclass
class _Written:
    """What the encode did so far (filled in while it runs)."""

    name: str = ""
    total: int = 0
    frames: int = 0
    width: int = 0
    height: int = 0
    audio: bool = False
    time_base: Fraction = Fraction(1, 24)


def _even(value: int) -> int:
    return max(2, value // 2 * 2)


def _check_file(facts: EpisodeFacts) -> None:
    """The episode file is where it was indexed and still the same size."""
    problem = facts.file_problem()
    if problem is not None:
        raise ReelError(f"{problem}; no reel was written")


def _copy_video(
    cursor: StreamCursor,
    shot: ReelShot,
    sink: av.container.OutputContainer,
    encoder: av.VideoStream,
    written: _Written,
    progress: Progress | None,
) -> float:
    """Encode the shot's frames; returns the catalog time of its first frame."""
    half = 0.5 * cursor.frame_seconds
    cursor.start_at(shot.start_seconds, lambda item: item[0] + half, half)
    first = None
    for offset in range(shot.frames):
        item: Timed | None = cursor.next()
        if item is None:
            raise ReelError(
                f"{written.name}: the file ends inside shot {shot.shot_index} (frame {shot.start_frame + offset}); "
                "it changed since it was indexed: index it again with --force"
            )
        seconds, frame = item
        assert isinstance(frame, av.VideoFrame)
        first = seconds if first is None else first
        picture = frame.reformat(width=written.width, height=written.height, format="yuv420p")
        picture.pts, picture.time_base = written.frames, written.time_base
        sink.mux(encoder.encode(picture))
        written.frames += 1
        if progress is not None:
            progress(written.frames, written.total)
    return shot.start_seconds if first is None else first


def _encode(
    facts: EpisodeFacts, shots: list[ReelShot], out: Path, progress: Progress | None, written: _Written
) -> None:
    rate = reel_rate(facts)
    origin = first_frame_seconds(facts.path, facts.name)
    written.name, written.total = facts.name, sum(shot.frames for shot in shots)
    with (
        open_episode_file(facts.path, facts.name) as source,
        av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as sink,
    ):
        video = source.streams.video[0]
        video.thread_type = "AUTO"
        written.width, written.height = _even(video.width), _even(video.height)
        written.time_base = Fraction(1) / rate
        encoder = sink.add_stream("libx264", rate=rate)
        encoder.width, encoder.height, encoder.pix_fmt = written.width, written.height, "yuv420p"
        encoder.options = {"crf": str(CRF), "preset": PRESET}
        if video.sample_aspect_ratio:  # anamorphic sources keep their shape on screen
            encoder.codec_context.sample_aspect_ratio = video.sample_aspect_ratio
        sound = open_episode_file(facts.path, facts.name) if source.streams.audio else None
        try:
            cutter = AudioCutter(sound, origin) if sound is not None else None
            audio = _audio_stream(sink, cutter) if cutter is not None else None
            cursor = StreamCursor(source, video, origin)
            for shot in shots:
                before = written.frames
                start = _copy_video(cursor, shot, sink, encoder, written, progress)
                if cutter is not None and audio is not None:
                    _copy_audio(cutter, audio, sink, start, before, written.frames, rate)
            sink.mux(encoder.encode(None))
            if audio is not None:
                sink.mux(audio.encode(None))
            written.audio = audio is not None
        finally:
            if sound is not None:
                sound.close()


def _audio_stream(sink: av.container.OutputContainer, cutter: AudioCutter) -> av.AudioStream:
    stream = sink.add_stream("aac", rate=cutter.rate)
    stream.layout = cutter.layout
    stream.bit_rate = AUDIO_BIT_RATE
    return stream


def _copy_audio(
    cutter: AudioCutter,
    stream: av.AudioStream,
    sink: av.container.OutputContainer,
    start_seconds: float,
    frames_before: int,
    frames_after: int,
    rate: Fraction,
) -> None:
    """The sound of one shot, exactly as long as its frames: reel samples are counted from the reel's frames,
    so rounding never adds up and the sound stays in sync to the sample."""
    first = round(frames_before / rate * cutter.rate)
    last = round(frames_after / rate * cutter.rate)
    planes = cutter.cut(start_seconds, last - first)
    frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout=cutter.layout)
    frame.sample_rate, frame.pts, frame.time_base = cutter.rate, first, Fraction(1, cutter.rate)
    sink.mux(stream.encode(frame))


def write_reel(
    facts: EpisodeFacts, seconds: float, out_path: str | Path, *, progress: Progress | None = None
) -> ReelReport:
    """Choose a reel's shots (:func:`choose_shots`) and write them as one mp4, cut at frame-exact shot bounds.

    Only the chosen ranges are decoded (a seek to the I-frame before each, then forward). The video is H.264
    (libx264, yuv420p) at the episode's size and frame rate, an exact fraction; the sound is the same time
    ranges of the episode's first audio track, re-encoded as AAC and laid end to end, each shot's sound as
    long as its frames. An episode without an audio track gives a silent reel, and the report says so.

    Args:
        facts: The indexed episode (:func:`animevid.clips.open_episode`).
        seconds: The length budget; the reel never holds more than ``floor(seconds * fps)`` frames.
        out_path: The mp4 to write (atomically: readers never see a part of it).
        progress: Called as ``progress(frames_written, reel_frames)`` after every frame.

    Returns:
        What was written.

    Raises:
        ReelError: A bad budget, no analyses, no shot fits, or the episode file moved or cannot be decoded.
    """
    shots = choose_shots(facts, seconds)
    _check_file(facts)
    out = Path(out_path)
    if out.resolve() == facts.path.resolve():
        raise ReelError(f"{facts.name}: -o {out} is the episode itself; give the reel another file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    written = _Written()
    started = time.perf_counter()
    try:
        write_atomically(out, lambda partial: _encode(facts, shots, partial, progress, written))
    except av.FFmpegError as exc:
        raise ReelError(f"{facts.name}: the reel cannot be cut from {facts.path} ({exc}); index it again") from None
    notes = () if written.audio else (f"{facts.name} has no audio track: the reel is silent",)
    return ReelReport(
        path=out,
        shots=tuple(shots),
        frames=written.frames,
        budget_frames=budget_frames(facts, seconds),
        fps=reel_rate(facts),
        width=written.width,
        height=written.height,
        audio=written.audio,
        notes=notes,
        elapsed_seconds=time.perf_counter() - started,
    )
