"""A pass split over processes (animevid.engine._split) gives exactly the records of one pass.

The episodes here are short, so the split thresholds are lowered in the main process (where the
plan is made); the segment processes run the real code.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import animevid.engine._split as parallel
from animevid.analysis import AnimationStage
from animevid.analysis._measure import AnimationMeter, DrawingMemory
from animevid.config import Config, DecodeConfig
from animevid.decode import open_video
from animevid.decode._segments import SegmentPlan, SegmentSource, plan_segments
from animevid.engine import PassResult, SplittableStage, run_pass
from animevid.errors import ConfigError
from animevid.pipeline import analyze_episode
from animevid.shots import make_detector
from tests.helpers import real_file

FIELDS = ("altered", "new", "label", "motion", "share", "level", "regions", "quiet", "slid")


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split even a 20 s episode, into segments of about 50 frames."""
    monkeypatch.setattr(parallel, "MIN_SPLIT_FRAMES", 0)
    monkeypatch.setattr(parallel, "MIN_SEGMENT_FRAMES", 40)


def analyse(path: Path, workers: int) -> tuple[PassResult, list[Any]]:
    config = Config(device="cpu")
    source = open_video(path, config=config.decode)
    stages = [make_detector(config, "cpu"), AnimationStage()]
    return run_pass(source, stages, workers=workers), stages


def assert_same_pass(path: Path, workers: int = 3) -> PassResult:
    """Split and one pass agree on every shot, every cut probability and every frame's measures."""
    one, one_stages = analyse(path, 1)
    split, split_stages = analyse(path, workers)
    assert split.records(split_stages[0]) == one.records(one_stages[0])
    assert split.report == one.report  # frames, times, repaired timestamps, gaps: as one pass
    np.testing.assert_array_equal(split_stages[0].probabilities(), one_stages[0].probabilities())
    a, b = one_stages[1].measures, split_stages[1].measures
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        wrong = [k for k in range(max(len(x), len(y))) if k >= min(len(x), len(y)) or x[k] != y[k]]
        assert not wrong, f"{name} differs at frames {wrong[:10]} of {len(x)}"
    assert all(np.array_equal(g, h) for g, h in zip(a.luma_grid, b.luma_grid, strict=True))
    return split


def test_segments_start_at_keyframes_and_decode_the_same_frames(synth_episode) -> None:
    path = synth_episode.mp4
    one_pass = list(open_video(path, config=DecodeConfig()).batches())
    full = np.concatenate([b.frames.numpy() for b in one_pass])
    pts = np.concatenate([b.pts_seconds.numpy() for b in one_pass])
    plan = plan_segments(path, segments=6, min_frames=40)
    assert plan is not None and plan.frames == len(full) == synth_episode.truth["frames"]
    assert plan.starts[0] == 0 and len(plan.starts) >= 3
    for k, first in enumerate(plan.starts):
        stop = plan.stop(k)
        seconds = [float(t) for t in pts[first:stop]]
        source = SegmentSource(path, first=first, expected=plan.pts[first:stop], seconds=seconds, skip_loop_filter=True)
        batches = list(source.batches())
        indices = np.concatenate([b.frame_indices.numpy() for b in batches])
        np.testing.assert_array_equal(indices, np.arange(first, stop))
        np.testing.assert_array_equal(np.concatenate([b.pts_seconds.numpy() for b in batches]), seconds)
        np.testing.assert_array_equal(np.concatenate([b.frames.numpy() for b in batches]), full[first:stop])


def test_no_plan_for_an_episode_too_short_to_split(synth_episode) -> None:
    assert plan_segments(synth_episode.mp4, segments=4, min_frames=synth_episode.truth["frames"]) is None


def test_no_plan_when_timestamps_repeat() -> None:
    # 60 fps container whose frames come in pairs with one timestamp: they cannot be numbered by it
    assert plan_segments(real_file("video", "anime4k_web_input_popteamepic.mp4"), segments=4, min_frames=20) is None


@pytest.mark.usefixtures("small_segments")
@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_split_pass_equals_one_pass(synth_episode, container: str) -> None:
    source = assert_same_pass(getattr(synth_episode, container))
    assert source.split is not None and source.split.segments >= 5
    assert source.report.frames == synth_episode.truth["frames"]


def open_gop_copy(source: Path, target: Path) -> Path:
    """``source`` re-encoded with open GOPs: B-frames right after a keyframe show pictures before it."""
    import av

    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        stream = inp.streams.video[0]
        encoder = out.add_stream("libx264", rate=stream.average_rate)
        encoder.codec_context.time_base = 1 / stream.average_rate
        encoder.width, encoder.height, encoder.pix_fmt = stream.width, stream.height, "yuv420p"
        params = "open-gop=1:keyint=40:min-keyint=40:scenecut=0:bframes=3:threads=2"
        encoder.options = {"x264-params": params, "crf": "23"}
        for number, frame in enumerate(inp.decode(stream)):
            frame.pts, frame.time_base = number, encoder.codec_context.time_base
            out.mux(encoder.encode(frame))
        out.mux(encoder.encode())
    return target


@pytest.mark.usefixtures("small_segments")
def test_split_pass_equals_one_pass_on_an_open_gop_encode(synth_episode, tmp_path: Path) -> None:
    import av

    path = open_gop_copy(synth_episode.mp4, tmp_path / "open-gop.mp4")
    with av.open(str(path)) as container:
        packets = [(p.pts, p.is_keyframe) for p in container.demux(container.streams.video[0]) if p.size]
    leading = {pts for i, (pts, key) in enumerate(packets[:-1]) if key and i and packets[i + 1][0] < pts}
    plan = plan_segments(path, segments=3 * parallel.SEGMENTS_PER_WORKER, min_frames=parallel.MIN_SEGMENT_FRAMES)
    assert plan is not None
    assert leading & {plan.pts[start] for start in plan.starts}, "no segment starts at such a keyframe"
    source = assert_same_pass(path)
    assert source.split is not None and source.split.merged == 0


@pytest.mark.usefixtures("small_segments")
def test_split_pass_equals_one_pass_on_real_footage() -> None:
    source = assert_same_pass(real_file("video", "video2x_sample_output_sakurasou.mp4"))
    assert source.split is not None and source.split.segments >= 3


@pytest.mark.usefixtures("small_segments")
def test_segments_without_a_frame_to_join_at_are_run_again_together(
    synth_episode, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no overlap: a segment's process stops where the next begins, so no frame is measured by both
    monkeypatch.setattr(parallel, "MAX_OVERLAP", 0)
    source = assert_same_pass(synth_episode.mp4)
    assert source.split.merged == source.split.segments - 1


@pytest.mark.usefixtures("small_segments")
def test_a_segment_that_decodes_otherwise_than_planned_falls_back_to_one_pass(
    synth_episode, monkeypatch: pytest.MonkeyPatch
) -> None:
    def wrong_plan(path: Path, *, segments: int, min_frames: int) -> SegmentPlan | None:
        plan = plan_segments(path, segments=segments, min_frames=min_frames)
        assert plan is not None
        pts = list(plan.pts)
        pts[plan.starts[2] + 5] += 1  # a timestamp no frame has
        return dataclasses.replace(plan, pts=tuple(pts))

    monkeypatch.setattr(parallel, "plan_segments", wrong_plan)
    source = assert_same_pass(synth_episode.mp4)
    assert source.split is None  # the stages were reset and ran in one pass


class DiesInASegment(AnimationStage):
    """The animation stage, whose segment processes die at once (as one killed for memory would)."""

    def segment_stage(self) -> Callable[[], SplittableStage]:
        return partial(os._exit, 3)  # type: ignore[return-value]


@pytest.mark.usefixtures("small_segments")
def test_a_segment_process_that_dies_leaves_the_pass_to_one_process(
    synth_episode, caplog: pytest.LogCaptureFixture
) -> None:
    one = AnimationStage()
    run_pass(open_video(synth_episode.mp4), [one])
    dying = DiesInASegment()
    result = run_pass(open_video(synth_episode.mp4), [dying], workers=2)
    assert result.split is None and "a process of the split pass stopped" in caplog.text
    assert dying.measures.label == one.measures.label and dying.measures.new == one.measures.new


UNGUARDED = """
import json, sys
import animevid.engine._split as parallel
from animevid.config import Config, DecodeConfig
from animevid.pipeline import analyze_episode

parallel.MIN_SPLIT_FRAMES, parallel.MIN_SEGMENT_FRAMES = 0, 40
result = analyze_episode(sys.argv[1], config=Config(device="cpu", decode=DecodeConfig(workers=2)))
print(json.dumps(result.as_dict()))
"""


def test_a_script_without_a_main_guard_gets_one_pass_and_is_told_why(synth_episode, tmp_path: Path) -> None:
    """Each started process first re-runs the calling script; unguarded, they stop, and one pass follows."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    run = subprocess.run([sys.executable, script, synth_episode.mp4], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    one = analyze_episode(synth_episode.mp4, config=Config(device="cpu"))
    assert json.loads(run.stdout) == json.loads(json.dumps(one.as_dict()))
    assert 'lacks the `if __name__ == "__main__":` guard' in run.stderr


@pytest.mark.usefixtures("small_segments")
def test_analyze_episode_with_workers_gives_the_same_analyses(synth_episode) -> None:
    one = analyze_episode(synth_episode.mp4, config=Config(device="cpu"))
    split = analyze_episode(synth_episode.mp4, config=Config(device="cpu", decode=DecodeConfig(workers=2)))
    assert split.as_dict() == one.as_dict()


def test_drawing_labels_settled_afterwards_equal_those_given_on_the_way(synth_episode) -> None:
    frames = [f for b in open_video(synth_episode.mp4).batches() for f in b.frames.numpy()]
    on_the_way, later = AnimationMeter(), AnimationMeter(recognise=False)
    for frame in frames:
        on_the_way.add(frame)
        later.add(frame)
    expected, measured = on_the_way.finish(), later.finish()
    assert len(set(measured.label)) > len(set(expected.label))  # without a memory every drawing is new
    DrawingMemory(on_the_way.held_block, on_the_way.same_levels).replay(measured, dict(later.drawn))
    assert measured.label == expected.label


def test_workers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parallel.workers_for(3) == 3
    monkeypatch.setattr(parallel, "_usable_cores", lambda: 2)
    assert parallel.workers_for(0) == 1  # on 2 cores one pass is as fast
    monkeypatch.setattr(parallel, "_usable_cores", lambda: 16)
    assert parallel.workers_for(0) == 16
    monkeypatch.setattr(parallel, "_usable_cores", lambda: 128)
    assert parallel.workers_for(0) == parallel.MAX_AUTO_WORKERS
    with pytest.raises(ConfigError, match="workers"):
        DecodeConfig(workers=-1)


def test_a_stage_that_cannot_split_keeps_the_pass_in_one_process(synth_episode) -> None:
    from animevid.engine import Stage

    class Counter(Stage):
        name = "counter"

        def process(self, batch: Any) -> list[int]:
            return [len(batch)]

    source = open_video(synth_episode.mp4)
    stages = [AnimationStage(), Counter()]
    assert not parallel.can_split(source, stages)
    result = run_pass(source, stages, workers=4)
    assert sum(result.records(stages[1])) == synth_episode.truth["frames"] and result.split is None


@pytest.mark.usefixtures("small_segments")
def test_the_index_pass_split_gives_every_stage_the_records_of_one_pass(synth_episode) -> None:
    """The five stages of ``animevid index``: frame diffs, shots, animation, looks, search frames."""
    from animevid.scenes import ShotLookStage
    from animevid.search import FrameDescriptorStage
    from animevid.stages import FrameDiffStage

    def index_pass(workers: int) -> tuple[PassResult, list[Any]]:
        config = Config(device="cpu")
        source = open_video(synth_episode.mkv, config=config.decode)
        stages = [
            FrameDiffStage(),
            make_detector(config, "cpu"),
            AnimationStage(),
            ShotLookStage(),
            FrameDescriptorStage(),
        ]
        return run_pass(source, stages, workers=workers), stages

    one, one_stages = index_pass(1)
    split, split_stages = index_pass(3)
    assert split.split is not None and split.split.segments >= 5
    for a, b in zip(split_stages[:2], one_stages[:2], strict=True):  # frame diffs, shots
        assert split.records(a) == one.records(b)
    assert split_stages[2].measures.label == one_stages[2].measures.label
    for name in ("palettes", "thumbs", "luma"):
        np.testing.assert_array_equal(getattr(split_stages[3].frames, name), getattr(one_stages[3].frames, name))
    kept, expected = split.records(split_stages[4]), one.records(one_stages[4])
    assert [(k.frame_index, k.pts_seconds) for k in kept] == [(k.frame_index, k.pts_seconds) for k in expected]
    for a, b in zip(kept, expected, strict=True):
        np.testing.assert_array_equal(a.descriptor, b.descriptor)
        np.testing.assert_array_equal(a.thumbnail, b.thumbnail)


def test_a_meter_started_anywhere_measures_alike_after_both_were_quiet(synth_episode) -> None:
    """Why segments join at a quiet frame: from there on a fresh meter and one that saw everything agree.

    A fresh meter started inside a camera move or a flash measures differently at first (the
    steady-move check carries the move over from frame to frame); joining 3 frames after its start
    regardless would change records on this episode.
    """
    frames = [f for b in open_video(synth_episode.mp4).batches() for f in b.frames.numpy()]
    whole = AnimationMeter(recognise=False)
    for frame in frames:
        whole.add(frame)
    everything = whole.finish()
    names = [name for name in FIELDS if name != "label"]
    horizon, after_quiet, naive = 60, 0, 0
    for start in range(1, len(frames) - horizon, 9):
        fresh = AnimationMeter(recognise=False)
        for frame in frames[start : start + horizon + 3]:
            fresh.add(frame)
        part = fresh.finish()
        same = [all(getattr(everything, n)[start + k] == getattr(part, n)[k] for n in names) for k in range(horizon)]
        join = next((k for k in range(3, horizon) if everything.quiet[start + k] and part.quiet[k]), None)
        if join is not None and not all(same[join + 1 :]):
            after_quiet += 1
        naive += not all(same[3:])
    assert after_quiet == 0
    assert naive > 0


def test_join_takes_the_first_frame_both_runs_allow_past_the_warmup() -> None:
    def part(first: int, flags: list[int]) -> parallel._Part:
        return parallel._Part(first=first, final=len(flags), joinable=np.array(flags, bool), parts=[])

    before = part(0, [1] * 100 + [0, 0, 1, 1, 0, 1, 1, 1])
    after = part(100, [1, 1, 1, 0, 0, 1, 1, 1])
    assert parallel._join(before, after, warmup=4) == 105  # 103 is before's but not after's; 104 neither
    assert parallel._join(before, after, warmup=1) == 102
    assert parallel._join(before, part(100, [0] * 8), warmup=1) is None
    # frames before 103 were taken from the run before ``before``: the hand-over cannot precede them
    assert parallel._join(before, after, warmup=1, taken=104) == 105


def test_repeat_video_makes_a_longer_episode_with_rising_timestamps(synth_episode, tmp_path: Path) -> None:
    from animevid.synth import repeat_video

    frames = synth_episode.truth["frames"]
    for source in (synth_episode.mp4, synth_episode.mkv):
        longer = repeat_video(source, tmp_path / f"x3{source.suffix}", 3)
        plan = plan_segments(longer, segments=3, min_frames=frames // 2)
        assert plan is not None and plan.frames == 3 * frames  # every frame numbered by a timestamp of its own
        assert {frames, 2 * frames} <= set(plan.starts)  # each copy starts with its keyframe


def test_analyze_command_with_workers_prints_what_one_pass_prints(synth_episode, tmp_path: Path) -> None:
    """A broadcast-length episode (7 copies of the 20 s one: 3360 frames) split over 2 processes."""
    from animevid.synth import repeat_video
    from tests.test_cli import animevid

    long = repeat_video(synth_episode.mp4, tmp_path / "long.mp4", 7)
    assert synth_episode.truth["frames"] * 7 >= parallel.MIN_SPLIT_FRAMES
    one = animevid("analyze", long, "--workers", "1", "--json")
    split = animevid("analyze", long, "--workers", "2", "--json")
    assert one.returncode == 0 and split.returncode == 0, split.stderr
    assert json.loads(split.stdout) == json.loads(one.stdout)
    assert len(json.loads(one.stdout)["shots"]) >= 7 * 10


def test_the_number_of_processes_does_not_invalidate_an_indexed_episode() -> None:
    from animevid.pipeline import config_fingerprint

    one = config_fingerprint(Config())
    assert config_fingerprint(Config(decode=DecodeConfig(workers=8))) == one
    assert config_fingerprint(Config(decode=DecodeConfig(analysis_width=320))) != one


def test_a_gpu_machine_splits_analyze_and_index(synth_episode) -> None:
    """Segment processes run on the CPU: stages that compute there anyway split whatever their device."""
    from animevid.scenes import ShotLookStage
    from animevid.search import FrameDescriptorStage
    from animevid.stages import FrameDiffStage

    config = Config(device="cpu")
    source = open_video(synth_episode.mp4, config=config.decode, device="cuda")  # nothing is sent before a pass
    analyze = [make_detector(config, "cuda"), AnimationStage(device="cuda")]
    assert parallel.can_split(source, analyze)
    # index's stages (frame diffs, which compute on the GPU, are not among them since held frames come from the meter)
    assert parallel.can_split(source, [*analyze, ShotLookStage(device="cuda"), FrameDescriptorStage(device="cuda")])
    assert not parallel.can_split(source, [*analyze, FrameDiffStage(device="cuda")])  # it computes on the GPU
    assert parallel.can_split(source, [*analyze, FrameDiffStage(device="cpu")])


@pytest.mark.usefixtures("small_segments")
def test_a_long_episode_is_cut_finer_and_few_segments_wait_in_memory(
    synth_episode, monkeypatch: pytest.MonkeyPatch
) -> None:
    # segments of at most ~100 frames, one submitted ahead per process: same records as one pass
    monkeypatch.setattr(parallel, "MAX_SEGMENT_FRAMES", 100)
    monkeypatch.setattr(parallel, "AHEAD_PER_WORKER", 1)
    submitted: list[int] = []
    original = parallel._in_order

    def watched(pool: Any, jobs: list[Any], *, ahead: int) -> Any:
        submitted.append(ahead)
        return original(pool, jobs, ahead=ahead)

    monkeypatch.setattr(parallel, "_in_order", watched)
    source = assert_same_pass(synth_episode.mp4, workers=2)
    assert source.split.segments >= synth_episode.truth["frames"] // 100 - 1  # not 2 x 3 segments
    assert submitted == [2]
