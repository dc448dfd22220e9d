"""Frames lost inside a file (gaps) are found, reported once per episode, and never on healthy files."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import pytest

import animevid.engine._split as parallel
from animevid.analysis import AnimationStage
from animevid.config import DecodeConfig
from animevid.decode import FrameGap, FrameSource, open_video
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.decode._source import Chunk
from animevid.decode._timestamps import GAP_MIN_STEP_FRAMES, TimestampRepair
from animevid.engine import run_pass
from animevid.errors import TruncatedVideoWarning
from tests.helpers import REAL_DIR, real_file

EP1 = Path(__file__).resolve().parents[1] / "data_samples" / "ep1.mkv"
REAL_CLIPS = sorted(p.name for p in (REAL_DIR / "video").glob("*") if p.suffix in VIDEO_SUFFIXES) or [
    "anime4k_web_input_popteamepic.mp4"  # reported as skipped when the folder is absent
]


def damaged_copy(source: Path, target: Path, *, nbytes: int = 100_000, seed: int = 0) -> Path:
    """``source`` with ``nbytes`` of seeded random bytes written over the middle of the file."""
    data = bytearray(source.read_bytes())
    middle = len(data) // 2
    data[middle : middle + nbytes] = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    target.write_bytes(bytes(data))
    return target


def decode(path: Path, **options: int) -> tuple[FrameSource, np.ndarray]:
    """The source after one pass, and the decoded frames' times."""
    source = open_video(path, config=DecodeConfig(**options))
    pts = np.concatenate([b.pts_seconds.numpy() for b in source.batches()])
    return source, pts


def lost_frames(pts: np.ndarray, fps: float, frames: int) -> list[int]:
    """Frame numbers of a constant-rate episode that no decoded frame's time lands on."""
    return sorted(set(range(frames)) - {int(n) for n in np.rint(pts * fps)})


def assert_one_gap_where_frames_went_missing(source: FrameSource, pts: np.ndarray, truth: dict) -> FrameGap:
    fps, frames = truth["fps"], truth["frames"]
    lost = lost_frames(pts, fps, frames)
    assert lost, "the damage should lose frames"
    [gap] = list(source.report.gaps)
    assert gap.after_frame == int(np.searchsorted(pts, lost[0] / fps)) - 1
    assert gap.start_seconds == pytest.approx(lost[0] / fps, abs=1e-3)
    assert gap.end_seconds == pytest.approx((lost[-1] + 1) / fps, abs=1e-3)
    assert abs(gap.missing_frames - (frames - source.report.frames)) <= 2
    assert source.report.missing_frames == gap.missing_frames and not source.report.truncated
    return gap


# --- damaged files ---------------------------------------------------------------------------


def test_a_damaged_mkv_reports_the_gap_and_keeps_the_frames_around_it(tmp_path: Path) -> None:
    truth = json.loads(EP1.with_suffix(".truth.json").read_text())
    path = damaged_copy(EP1, tmp_path / "damaged.mkv")
    with pytest.warns(TruncatedVideoWarning, match="frames are missing") as caught:
        source, pts = decode(path)
    gap = assert_one_gap_where_frames_went_missing(source, pts, truth)
    assert gap.length_seconds > 1.0  # 100 kB of this small episode is seconds of it
    [message] = [str(w.message) for w in caught]
    assert str(path) in message and f"after frame {gap.after_frame}" in message
    assert f"about {gap.missing_frames} frames" in message and "truncated" not in message
    assert pts[-1] == pytest.approx((truth["frames"] - 1) / truth["fps"], abs=1e-6)  # the end is there


def test_a_damaged_mp4_reports_a_gap_not_truncation(tmp_path: Path, synth_episode) -> None:
    # mp4 states its frame count; the frames after the damaged stretch are decoded again
    path = damaged_copy(synth_episode.mp4, tmp_path / "damaged.mp4")
    with pytest.warns(TruncatedVideoWarning, match="frames are missing") as caught:
        source, pts = decode(path)
    assert_one_gap_where_frames_went_missing(source, pts, synth_episode.truth)
    assert source.damaged_packets > 0 and not any("truncated" in str(w.message) for w in caught)
    assert len(caught) == 1, "one warning for the episode"


def test_gaps_are_listed_up_to_three_then_counted(synth_episode) -> None:
    fps = synth_episode.truth["fps"]
    frames = np.arange(400, dtype=float)
    for start in (50, 110, 170, 230, 290):  # five holes of 20 frames
        frames[start:] += 20
    source = _FixedTimes(synth_episode.mkv, frames / fps)
    with pytest.warns(TruncatedVideoWarning, match="frames are missing") as caught:
        assert sum(len(b) for b in source.batches()) == 400
    assert [g.after_frame for g in list(source.report.gaps)] == [49, 109, 169, 229, 289]
    assert all(g.missing_frames == 20 for g in list(source.report.gaps)) and source.report.missing_frames == 100
    [message] = [str(w.message) for w in caught]
    assert "after frame 169" in message and "after frame 229" not in message and "and 2 more" in message


class _FixedTimes(FrameSource):
    """Blank frames with the given container times (the file is only probed)."""

    name = "fixed-times"

    def __init__(self, path: Path, seconds: Sequence[float]) -> None:
        super().__init__(path, batch_frames=64, prefetch_batches=0)
        self.seconds = list(seconds)

    def _chunks(self) -> Iterator[Chunk]:
        width, height = self.analysis_size
        for start in range(0, len(self.seconds), self.batch_frames):
            times = self.seconds[start : start + self.batch_frames]
            yield Chunk(frames=np.zeros((len(times), height, width, 3), dtype=np.uint8), raw_seconds=times)


# --- the gap finder on its own ------------------------------------------------------------------


def times(*stretches: tuple[int, float], nominal: float, milliseconds: bool = True) -> list[float]:
    """Frame times of ``(frames, fps)`` stretches one after the other, rounded as Matroska stores them."""
    out, t = [], 0.0
    for count, fps in stretches:
        for _ in range(count):
            out.append(round(t, 3) if milliseconds else t)
            t += 1 / fps
    return out


def gaps_of(raw: Sequence[float | None], fps: float) -> list[FrameGap]:
    clock = TimestampRepair(1 / fps)
    for t in raw:
        clock(t)
    return clock.gaps


@pytest.mark.parametrize(
    ("stretches", "nominal"),
    [
        ([(48, 24000 / 1001), (60, 30000 / 1001), (120, 60000 / 1001), (48, 24000 / 1001)], 24000 / 1001),
        ([(48, 24000 / 1001), (60, 30000 / 1001), (48, 24000 / 1001)], 120),  # FFmpeg's guess for 24/30 mkv
        ([(60, 60000 / 1001), (48, 24000 / 1001), (60, 30000 / 1001)], 60000 / 1001),
        ([(48, 24000 / 1001), (16, 8), (48, 24000 / 1001)], 120),  # limited animation timed as it is drawn
    ],
)
def test_variable_frame_rates_are_not_gaps(stretches: list[tuple[int, float]], nominal: float) -> None:
    assert gaps_of(times(*stretches, nominal=nominal), nominal) == []


def test_frames_in_pairs_with_one_timestamp_are_not_gaps() -> None:
    raw = [k // 2 * 2 / 60 for k in range(200)]  # a 30 fps timeline re-muxed at 60 fps
    assert gaps_of(raw, 60) == []


def test_holes_close_together_are_one_gap_and_far_apart_two() -> None:
    numbers = [*range(100), 103, *range(183, 186), 187, *range(188, 400), *range(500, 600)]
    [near, far] = gaps_of([n / 24 for n in numbers], 24)
    # 3 frames lost, one kept, 79 lost, three kept, 1 lost: one damaged stretch
    assert (near.after_frame, near.missing_frames) == (99, 3 + 79 + 1)
    assert near.start_seconds == pytest.approx(100 / 24) and near.end_seconds == pytest.approx(187 / 24)
    assert (far.after_frame, far.missing_frames) == (numbers.index(399), 100)


def test_a_step_just_under_the_threshold_alone_is_no_gap() -> None:
    step = int(GAP_MIN_STEP_FRAMES)  # whole frames: lost ones, but too few to report on their own
    assert gaps_of([n / 24 for n in [*range(100), *range(100 + step - 1, 200)]], 24) == []


def test_a_gap_in_30fps_footage_at_60fps_counts_only_the_hole() -> None:
    # every step is two nominal frames: the stream's rhythm, not holes to add to the gap
    raw = [k * 2 / 60 for k in range(100)] + [1.0 + k * 2 / 60 for k in range(100, 200)]
    [gap] = gaps_of(raw, 60)
    assert gap.after_frame == 99 and gap.missing_frames == 61


# --- healthy files ----------------------------------------------------------------------------


@pytest.mark.parametrize("clip", REAL_CLIPS)
def test_no_gap_in_real_clips(clip: str) -> None:
    source, _ = decode(real_file("video", clip), analysis_width=64)  # warnings are errors here
    assert list(source.report.gaps) == [] and source.report.missing_frames == 0


def test_no_gap_in_synthetic_episodes_and_their_remuxed_copies(synth_episode, tmp_path: Path) -> None:
    from animevid.synth import repeat_video

    for path in (synth_episode.mp4, synth_episode.mkv):
        longer = repeat_video(path, tmp_path / f"x3{path.suffix}", 3)
        for episode in (path, longer):
            source, _ = decode(episode, analysis_width=64)
            assert list(source.report.gaps) == [] and not source.report.truncated, episode


# --- the split pass ---------------------------------------------------------------------------


def without_a_gop(source: Path, target: Path, *, gop: int) -> Path:
    """``source`` remuxed without the packets of its ``gop``-th group of pictures (a clean hole)."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = inp.streams.video[0]
        stream_out = out.add_stream_from_template(stream)
        keys = -1
        for packet in inp.demux(stream):
            if packet.size == 0:
                continue
            keys += bool(packet.is_keyframe)
            if keys != gop:
                packet.stream = stream_out
                out.mux(packet)
    return target


def test_the_split_pass_reports_the_gaps_of_one_pass(
    synth_episode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "MIN_SPLIT_FRAMES", 0)  # split even this 20 s episode
    monkeypatch.setattr(parallel, "MIN_SEGMENT_FRAMES", 40)
    path = without_a_gop(synth_episode.mp4, tmp_path / "hole.mp4", gop=3)
    found = []
    for workers in (1, 2):
        with pytest.warns(TruncatedVideoWarning, match="frames are missing"):
            result = run_pass(open_video(path), [AnimationStage()], workers=workers)
        assert (result.split is not None) == (workers > 1)
        found.append(list(result.report.gaps))
    assert found[0] == found[1] and len(found[0]) == 1 and found[0][0].missing_frames >= 10
