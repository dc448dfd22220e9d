"""A synthetic season: episodes that share an OP and ED, with the cases intro detectors get wrong.

Built by cutting and re-joining generated episodes (:func:`generate_episode`, one series seed),
so every output frame's origin is known and the truth is exact:

- every episode: the series' OP, a recap of the previous episode's shots (episode 1's recaps an
  episode outside the season: nothing to find), its own content, the series' ED;
- episodes 2 and 4: a cold open (2 s of their own content) before the OP;
- episode 3: the OP cut short (its first 60 %);
- episodes 5 and 6: a second OP (the OP of another series seed);
- episode 5: 2 s of episode 2's content reused in the middle of its own (bank footage).

Truth per episode: ``segments`` of kind op, ed, recap, reused as 0-based ``[start_frame,
end_frame)`` in the output file. A recap is marked where it is shown (not at its source); reused
footage at every showing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from animevid.config import SynthConfig
from animevid.errors import SynthError
from animevid.synth import SynthEpisode, generate_episode

COLD_OPEN = 48
"""Frames of content moved before the OP (2 s)."""
REUSED = 48
"""Frames of episode 2's content reused in episode 5."""
SHORT_OP = 0.6
"""Share of the OP kept where it is cut short."""


@dataclass(frozen=True)
class Piece:
    """Frames ``start..end`` of a generated episode, placed in order in an output episode."""

    base: str
    """Which generated episode: ``"s<seed>"`` of the season's series, or ``"op2"`` (the other series)."""
    start: int
    end: int


@dataclass(frozen=True)
class SeasonEpisode:
    """One episode of the season: its file and exact truth."""

    path: Path
    number: int
    segments: list[dict[str, Any]]
    """``{"kind", "start_frame", "end_frame"}`` in the output file, by start."""
    frames: int


def generate_season(
    out_dir: str | Path, *, episodes: int = 6, seconds: float = 24.0, config: SynthConfig | None = None
) -> list[SeasonEpisode]:
    """Write a synthetic season of ``episodes`` (>= 6) to ``out_dir`` with ``season.truth.json``.

    Raises:
        SynthError: Fewer than 6 episodes (every case needs its own).
    """
    if episodes < 6:
        raise SynthError(f"a season needs at least 6 episodes for its cases, got {episodes}")
    out = Path(out_dir)
    work = out / "bases"
    bases = {f"s{s}": generate_episode(work, seed=s, seconds=seconds, config=config) for s in range(1, episodes + 1)}
    bases["op2"] = generate_episode(work / "other-series", seed=1, seconds=seconds, config=config, series_seed=1)
    plans = _plans(bases, episodes)
    season = []
    for number, pieces in plans.items():
        path = out / f"Synthetic Season - {number:02d}.mp4"
        frames = _write(path, pieces, bases)
        season.append(SeasonEpisode(path, number, _truth(number, pieces, plans, bases), frames))
    truth = [{"file": e.path.name, "episode": e.number, "frames": e.frames, "segments": e.segments} for e in season]
    (out / "season.truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return season


def _blocks(episode: SynthEpisode) -> tuple[int, int, int, int]:
    """OP end, content start, ED start, frames."""
    t = episode.truth
    content = t["recap"]["end_frame"] if t.get("recap") else t["op"]["end_frame"]
    return t["op"]["end_frame"], content, t["ed"]["start_frame"], t["frames"]


def _plans(bases: dict[str, SynthEpisode], episodes: int) -> dict[int, list[Piece]]:
    plans: dict[int, list[Piece]] = {}
    for number in range(1, episodes + 1):
        name = f"s{number}"
        op_end, content, ed, frames = _blocks(bases[name])
        op = [Piece(name, 0, op_end)]
        if number == 3:
            op = [Piece(name, 0, round(op_end * SHORT_OP))]
        if number in (5, 6):
            op = [Piece("op2", 0, _blocks(bases["op2"])[0])]
        pieces = [*op, Piece(name, op_end, frames)]
        if number in (2, 4):
            pieces = [Piece(name, content, content + COLD_OPEN), *op, Piece(name, op_end, content)]
            pieces.append(Piece(name, content + COLD_OPEN, frames))
        if number == 5:
            start, end = _reused_source(bases)
            middle = (content + ed) // 2
            last = pieces.pop()
            pieces += [Piece(name, last.start, middle), Piece("s2", start, end), Piece(name, middle, last.end)]
        plans[number] = pieces
    return plans


def _reused_source(bases: dict[str, SynthEpisode]) -> tuple[int, int]:
    """A stretch of episode 2's content after its cold open that episode 3's recap does not show."""
    _, content, ed, _ = _blocks(bases["s2"])
    taken = [
        (s["source_start_frame"], s["source_start_frame"] + s["end_frame"] - s["start_frame"])
        for s in bases["s3"].truth["recap"]["segments"]
    ]
    for start in range(content + COLD_OPEN + 12, ed - REUSED - 12):
        if all(start + REUSED <= a or start >= b for a, b in taken):
            return start, start + REUSED
    raise SynthError("episode 2 has no stretch of content to reuse; generate longer episodes")


def _place(pieces: list[Piece], base: str, start: int, end: int) -> list[tuple[int, int]]:
    """Where frames ``start..end`` of ``base`` land in an output episode (one range per piece they fall in)."""
    placed, at = [], 0
    for piece in pieces:
        lo, hi = max(start, piece.start), min(end, piece.end)
        if piece.base == base and lo < hi:
            placed.append((at + lo - piece.start, at + hi - piece.start))
        at += piece.end - piece.start
    return placed


def _truth(
    number: int, pieces: list[Piece], plans: dict[int, list[Piece]], bases: dict[str, SynthEpisode]
) -> list[dict[str, Any]]:
    name = f"s{number}"
    t = bases[name].truth
    op_base = "op2" if number in (5, 6) else name
    op = next(p for p in pieces if p.start == 0)
    segments = [("op", r) for r in _place(pieces, op_base, 0, op.end)]
    segments += [("ed", r) for r in _place(pieces, name, t["ed"]["start_frame"], t["ed"]["end_frame"])]
    if number >= 2:
        segments += [("recap", r) for r in _place(pieces, name, t["recap"]["start_frame"], t["recap"]["end_frame"])]
    if number in (2, 5):
        start, end = _reused_source(bases)
        segments += [("reused", r) for r in _place(pieces, "s2", start, end)]
    return [{"kind": k, "start_frame": a, "end_frame": b} for k, (a, b) in sorted(segments, key=lambda s: s[1])]


def _write(path: Path, pieces: list[Piece], bases: dict[str, SynthEpisode]) -> int:
    """Encode the pieces in order (H.264, the generator's rate and quality); returns the frame count."""
    cache: dict[str, np.ndarray] = {}
    first = bases[pieces[0].base].truth
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(first["fps_num"], first["fps_den"]))
        stream.width, stream.height, stream.pix_fmt = first["width"], first["height"], "yuv420p"
        stream.options = {"crf": "16", "preset": "veryfast"}
        count = 0
        for piece in pieces:
            if piece.base not in cache:
                cache[piece.base] = _frames(bases[piece.base].mp4)
            for frame in cache[piece.base][piece.start : piece.end]:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
                count += 1
        container.mux(stream.encode(None))
    return count


def _frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@dataclass(frozen=True)
class Cut:
    """Seconds ``start..end`` of a video file, for :func:`splice`."""

    path: Path
    start: float
    end: float


def splice(
    out: str | Path, cuts: list[Cut], *, width: int, height: int, crf: int = 18, rate: Fraction = Fraction(24000, 1001)
) -> list[int]:
    """Join pieces of video files into one H.264 file (every source frame becomes one output frame).

    Builds episodes from real clips with known truth: where each piece lands is the returned frame
    counts, summed. Pieces are scaled to ``width`` x ``height``.

    Returns:
        Frames written per piece, in order.
    """
    counts = []
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        written = 0
        for cut in cuts:
            count = 0
            for frame in _between(cut):
                picture = frame.reformat(width=width, height=height, format="yuv420p")
                picture.pts, picture.time_base = written, 1 / rate
                container.mux(stream.encode(picture))
                count, written = count + 1, written + 1
            counts.append(count)
        container.mux(stream.encode(None))
    return counts


def _between(cut: Cut) -> Iterator[av.VideoFrame]:
    with av.open(str(cut.path)) as source:
        video = source.streams.video[0]
        base = float(video.time_base or Fraction(1, 1000))
        origin = (video.start_time or 0) * base
        for frame in source.decode(video):
            if frame.pts is None:
                continue
            seconds = frame.pts * base - origin
            if seconds >= cut.end:
                return
            if seconds >= cut.start:
                yield frame
