"""Frame-exact reading of chosen ranges from the episode file: video frames by count, audio by sample.

Times are the catalog's: seconds from the first decoded video frame (as the index measured them). A range
is reached by seeking to the I-frame before it and decoding forward, or, when it starts a little after where
decoding already is, by decoding on (cheaper than a seek into the same group of pictures).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from animevid.reel._errors import ReelError

CONTINUE_SECONDS = 4.0
"""A range starting at most this far after the decoding position is decoded to, not sought."""
SEEK_BACKOFF_SECONDS = (0.0, 2.0, 10.0, 60.0)
"""How far before a range successive seeks aim when a container's seek lands after the range's start;
after the last, decoding restarts at the file's beginning."""
AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350})
"""Sample rates the AAC encoder takes; another is converted to 48 kHz."""
JITTER_SECONDS = 0.015
"""Audio frames whose timestamps are this close to the end of the previous one are laid end to end
(containers such as Matroska keep milliseconds only)."""

Timed = tuple[float, av.VideoFrame | av.AudioFrame]


def open_episode_file(path: Path, name: str) -> av.container.InputContainer:
    """The episode file opened for reading, or a :class:`ReelError` saying why it cannot be.

    Where it went is asked before (:meth:`animevid.clips.EpisodeFacts.file_problem`); a file gone since
    is an OS error here."""
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise ReelError(f"{name}: {path} cannot be opened ({exc}); check the file or index it again") from None


def first_frame_seconds(path: Path, name: str) -> float:
    """Container time of the first decoded video frame: the catalog's time 0."""
    with open_episode_file(path, name) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None:
                return float(frame.time)
            return 0.0
    raise ReelError(f"{name}: {path} has no decodable video frame any more; index it again")


class StreamCursor:
    """The frames of one stream in order with their catalog times, positioned by :meth:`start_at`."""

    def __init__(self, container: av.container.InputContainer, stream: av.stream.Stream, origin: float) -> None:
        self.container, self.stream, self.origin = container, stream, origin
        rate = getattr(stream, "average_rate", None) or getattr(stream, "rate", None) or 24
        self.frame_seconds = 1.0 / float(rate)
        """Nominal time between frames (for video; a frame without a time is placed this far after the last)."""
        self._frames: Iterator[Timed] | None = None
        self._pending: Timed | None = None
        self._last = -math.inf

    def _timed(self) -> Iterator[Timed]:
        for frame in self.container.decode(self.stream):
            if isinstance(frame, av.VideoFrame | av.AudioFrame):
                seconds = self._last + self.frame_seconds if frame.time is None else float(frame.time) - self.origin
                yield seconds, frame

    def next(self) -> Timed | None:
        """The next frame and its time, None at the stream's end."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        if self._frames is None:
            return None
        item = next(self._frames, None)
        if item is not None:
            self._last = item[0]
        return item

    def put_back(self, item: Timed) -> None:
        """Make ``item`` the next frame again (it belongs to the next range too)."""
        self._pending = item

    def _seek(self, seconds: float, back: float | None) -> None:
        base = float(self.stream.time_base or Fraction(1, 1000))
        target = 0 if back is None else max(0, int((seconds - back + self.origin) / base))
        self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        self._frames, self._pending, self._last = self._timed(), None, -math.inf

    def start_at(self, seconds: float, ends: Callable[[Timed], float], slack: float) -> None:
        """Position the cursor so that :meth:`next` gives the first frame with ``ends(frame) > seconds``.

        A seek that lands on a frame later than ``seconds + slack`` missed the range (some containers seek
        inexactly): it is tried again further back, in the end from the file's beginning.
        """
        ahead = self._frames is not None and self._last <= seconds <= self._last + CONTINUE_SECONDS
        if not ahead:
            for back in (*SEEK_BACKOFF_SECONDS, None):
                self._seek(seconds, back)
                first = self.next()
                if back is None or (first is not None and first[0] <= seconds + slack):
                    if first is not None:
                        self.put_back(first)
                    break
        while (item := self.next()) is not None and ends(item) <= seconds:
            pass
        if item is not None:
            self.put_back(item)


class AudioCutter:
    """Samples of the episode's first audio track for given catalog times, as float planes of the reel's layout."""

    def __init__(self, container: av.container.InputContainer, origin: float) -> None:
        stream = container.streams.audio[0]
        self.cursor = StreamCursor(container, stream, origin)
        self.source_rate = int(stream.rate or 48000)
        self.rate = self.source_rate if self.source_rate in AAC_RATES else 48000
        self.layout = "mono" if (stream.channels or 2) == 1 else "stereo"
        self._convert = av.AudioResampler(format="fltp", layout=self.layout, rate=self.source_rate)
        self._jitter = JITTER_SECONDS * self.source_rate

    def _planes(self, frame: av.AudioFrame) -> np.ndarray:
        parts = [f.to_ndarray() for f in self._convert.resample(frame)]
        channels = 1 if self.layout == "mono" else 2
        return np.concatenate(parts, axis=1) if parts else np.zeros((channels, 0), dtype=np.float32)

    def cut(self, start_seconds: float, samples: int) -> np.ndarray:
        """``samples`` samples at :attr:`rate` from ``start_seconds`` on; silence where the track has none."""
        wanted = samples if self.rate == self.source_rate else math.ceil(samples * self.source_rate / self.rate) + 1
        out = np.zeros((1 if self.layout == "mono" else 2, wanted), dtype=np.float32)
        cursor = self.cursor
        cursor.start_at(start_seconds, _audio_end, JITTER_SECONDS)
        expected: int | None = None
        while (item := cursor.next()) is not None:
            frame = item[1]
            assert isinstance(frame, av.AudioFrame)
            offset = round((item[0] - start_seconds) * self.source_rate)
            if expected is not None and (frame.time is None or abs(offset - expected) <= self._jitter):
                offset = expected
            if offset >= wanted:
                cursor.put_back(item)
                break
            pcm = self._planes(frame)
            skip, at = max(0, -offset), max(0, offset)
            count = min(pcm.shape[1] - skip, wanted - at)
            if count > 0:
                out[:, at : at + count] = pcm[:, skip : skip + count]
            expected = offset + pcm.shape[1]
            if expected > wanted:
                cursor.put_back(item)
                break
        return out if wanted == samples else _to_rate(out, self.source_rate, self.rate, samples)


def _audio_end(item: Timed) -> float:
    frame = item[1]
    assert isinstance(frame, av.AudioFrame)
    return item[0] + frame.samples / (frame.sample_rate or 1)


def _to_rate(planes: np.ndarray, source: int, target: int, samples: int) -> np.ndarray:
    """Linear resampling to an AAC rate, for the rare track at another rate (exact length, no filter delay)."""
    at = np.arange(samples, dtype=np.float64) * source / target
    index = np.arange(planes.shape[1], dtype=np.float64)
    return np.stack([np.interp(at, index, channel) for channel in planes]).astype(np.float32)
