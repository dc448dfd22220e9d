"""Memory that does not grow with the episode: compact columns, spills to disk, windowed end computations.

The shot detector, the animation meter and the look stage keep something of every frame until the
episode ends. Here: the stores they keep it in (animevid._columns), the bytes per frame they hold
and need at the end (measured with tracemalloc), and that computing the end in windows gives
exactly what one computation over the whole episode gives.
"""

from __future__ import annotations

import gc
import pickle
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import animevid.analysis._shots as analysis_shots
import animevid.scenes._look as look
import animevid.shots._classic as classic
from animevid._columns import Column, Spill
from animevid.analysis import AnimationStage
from animevid.config import Config
from animevid.decode import FrameBatch, open_video
from animevid.scenes import ShotLookStage
from animevid.shots import make_detector

BUDGET = 200
"""Bytes per frame the three stages may hold after the pass, and may add at the end (old code: 3 KB held)."""

# ---- Column -------------------------------------------------------------------------------------


def test_a_column_appends_like_a_list_and_reads_like_an_array() -> None:
    column = Column(np.int32)
    values = list(range(1000))
    for v in values[:10]:
        column.append(v)
    column.extend(np.array(values[10:]))
    assert len(column) == 1000 and column == values and column != values[:-1]
    assert column[3] == 3 and type(column[3]) is int and column[-1] == 999  # Python values, like the list
    part = column[10:20]
    assert isinstance(part, np.ndarray) and part.tolist() == values[10:20]
    part[0] = -5  # a slice is a copy
    assert column[10] == 10
    column[10] = 7
    column[[0, 1]] = -1
    assert column[10] == 7 and column[0] == column[1] == -1
    view = np.asarray(column)
    assert view.dtype == np.int32 and view.shape == (1000,) and np.shares_memory(view, column.view())
    assert list(column)[:3] == [-1, -1, 2]
    assert np.asarray(column, dtype=np.int64).dtype == np.int64


def test_a_column_of_rows_gives_tuples_and_checks_shapes() -> None:
    motion = Column(np.float64, (3,))
    motion.append((0.5, -1.0, 1.0))
    motion.extend([(0.0, 0.0, 1.0), (2.0, 3.0, 1.01)])
    assert motion[0] == (0.5, -1.0, 1.0) and motion[-1] != (0.0, 0.0, 1.0)
    assert list(motion) == [(0.5, -1.0, 1.0), (0.0, 0.0, 1.0), (2.0, 3.0, 1.01)]
    assert motion[1:].shape == (2, 3)
    with pytest.raises(ValueError, match="rows of shape"):
        motion.extend(np.zeros((2, 4)))


def test_a_column_grows_by_a_quarter_and_pickles_only_its_rows() -> None:
    column = Column(np.float64)
    for k in range(100_000):
        column.append(float(k))
    assert len(column._data) <= 1.25 * len(column) + 1
    assert list(column) == [float(k) for k in range(100_000)]  # iterated a block at a time
    copy = pickle.loads(pickle.dumps(column))
    assert copy == column and len(copy._data) == len(column)
    copy.append(1.0)
    assert len(copy) == len(column) + 1
    column.clear()
    assert len(column) == 0 and column == [] and column.view().shape == (0,)


# ---- Spill --------------------------------------------------------------------------------------


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files of this test go to their own folder (to see that none is left)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_spill_gives_back_exactly_the_rows_written(temp_dir: Path) -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(0, 1000, (500, 9, 16)).astype(np.float16)
    rows[3, 0, 0] = np.nan
    spill = Spill(np.float16, (9, 16))
    spill.append(rows[0])
    spill.extend(rows[1:300])
    assert len(spill) == 300 and spill.nbytes == 300 * 9 * 16 * 2
    np.testing.assert_array_equal(spill[:], rows[:300])
    spill.extend(rows[300:])  # writing after a read goes to the end
    assert spill.read(0, 500).tobytes() == rows.tobytes()  # bit for bit, NaN included
    np.testing.assert_array_equal(spill.read(490, 600), rows[490:])  # clipped to the rows there are
    np.testing.assert_array_equal(spill[10:20], rows[10:20])
    np.testing.assert_array_equal(spill[5], rows[5])
    np.testing.assert_array_equal(spill[::50], rows[::50])
    order = [400, 3, 4, 5, 3, -1, 0]
    np.testing.assert_array_equal(spill.take(order), rows[order])
    np.testing.assert_array_equal(spill[np.array([7, 8])], rows[[7, 8]])
    assert np.array_equal(np.asarray(spill), rows, equal_nan=True)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(spill, rows, strict=True))
    with pytest.raises(IndexError):
        spill.take([500])
    with pytest.raises(ValueError, match="rows of shape"):
        spill.extend(np.zeros((2, 16, 9), np.float16))
    spill.clear()
    assert len(spill) == 0 and spill[:].shape == (0, 9, 16)


def test_a_spill_leaves_nothing_on_disk_and_stays_in_its_process(temp_dir: Path) -> None:
    spill = Spill(np.uint8, (9, 16, 3))
    spill.extend(np.ones((1000, 9, 16, 3), np.uint8))
    assert list(temp_dir.iterdir()) == []  # an anonymous file: no name, even while it is written
    with pytest.raises(TypeError, match="send spill"):
        pickle.dumps(spill)
    spill.clear()
    spill.extend(np.zeros((3, 9, 16, 3), np.uint8))  # reusable after clear
    assert spill[:].sum() == 0
    del spill
    gc.collect()  # collected: its file closes (a warning otherwise, an error here)
    assert list(temp_dir.iterdir()) == []


# ---- the stages ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batches(synth_episode) -> list[FrameBatch]:
    """The synthetic 20 s episode's analysis frames, decoded once."""
    return list(open_video(synth_episode.mp4).batches())


def repeated(batches: list[FrameBatch], copies: int) -> Iterator[FrameBatch]:
    """The episode ``copies`` times over, as one stream (as ``repeat_video`` makes it, without decoding)."""
    frames = sum(len(b) for b in batches)
    seconds = float(batches[-1].pts_seconds[-1]) + float(batches[0].pts_seconds[1] - batches[0].pts_seconds[0])
    for copy in range(copies):
        for b in batches:
            yield FrameBatch(b.frames, b.frame_indices + copy * frames, b.pts_seconds + copy * seconds)


def stages() -> list[Any]:
    return [make_detector(Config(device="cpu"), "cpu"), AnimationStage(), ShotLookStage()]


def run(batches: list[FrameBatch], copies: int) -> tuple[list[Any], dict[str, Any]]:
    """The three stages over ``copies`` copies of the episode, and what they hold: frames, bytes held
    after the pass, bytes added at the end (shots, analyses, looks) at the peak."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        kept = stages()
        frames = 0
        for batch in repeated(batches, copies):
            for stage in kept:
                stage.process(batch)
            frames += len(batch)
        kept[1].finish()  # the meter's last frames
        held = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.reset_peak()
        results = results_of(kept)
        peak = tracemalloc.get_traced_memory()[1] - base - held
    finally:
        tracemalloc.stop()
    return kept, {"frames": frames, "held": held, "peak": peak, "results": results}


def results_of(kept: list[Any]) -> dict[str, Any]:
    shots = kept[0].finish()
    return {
        "shots": shots,
        "analyses": kept[1].analyses(shots, 24.0),
        "looks": kept[2].looks(shots),
    }


@pytest.fixture(scope="module")
def windows(monkeypatch_module: pytest.MonkeyPatch) -> None:
    """End computations in windows of 256 frames, so that both episodes of the memory test span
    several: a window's memory is then the same in both and cancels out of the per-frame slope."""
    monkeypatch_module.setattr(classic, "WINDOW", 256)
    monkeypatch_module.setattr(look, "WINDOW", 256)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def short_and_long(batches: list[FrameBatch], windows: None) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Runs over 2 and 7 copies of the episode (960 and 3360 frames at 320x180)."""
    run(batches[:3], 1)  # once first: what a first run sets up for good (caches, lazy imports) is not per frame
    _, short = run(batches, 2)
    kept, long = run(batches, 7)
    return short, long, kept


def test_the_stages_hold_under_the_budget_per_frame(short_and_long) -> None:
    """What the stages hold grows by BUDGET bytes a frame at most (their fixed state cancels out)."""
    short, long, _ = short_and_long
    frames = long["frames"] - short["frames"]
    held = (long["held"] - short["held"]) / frames
    assert held < BUDGET, f"the stages hold {held:.0f} bytes more per frame"


def test_the_end_of_the_episode_needs_under_the_budget_per_frame(short_and_long) -> None:
    """Shots, analyses and looks are computed in windows and shot by shot: the peak grows by little per frame."""
    short, long, _ = short_and_long
    frames = long["frames"] - short["frames"]
    peak = (long["peak"] - short["peak"]) / frames
    assert peak < BUDGET, f"finishing took {peak:.0f} bytes more per frame"


def same(a: Any, b: Any) -> bool:
    """Equal, arrays and floats bit for bit."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.asarray(a).dtype == np.asarray(b).dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return type(a) is type(b) and all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    return bool(a == b)


def test_windows_of_7_frames_give_what_one_window_gives(short_and_long, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every window edge clamps and reaches like one computation over the whole episode would."""
    _, long, kept = short_and_long
    detector = kept[0]

    def with_windows(frames: int) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        monkeypatch.setattr(classic, "WINDOW", frames)
        monkeypatch.setattr(look, "WINDOW", frames)
        monkeypatch.setattr(analysis_shots, "GRID_BLOCK", frames)
        detector._cache = None  # the probabilities computed again
        return results_of(kept), detector.probabilities(), detector.features()

    one, one_probabilities, one_features = with_windows(10**6)
    tiny, tiny_probabilities, tiny_features = with_windows(7)
    for name in ("shots", "analyses", "looks"):
        assert same(tiny[name], one[name]), name
        assert same(long["results"][name], one[name]), name  # windows of 256 in the memory runs
    assert same(tiny_probabilities, one_probabilities) and same(tiny_features, one_features)
    assert {"cut", "fade", "dissolve"} <= {s.transition for s in one["shots"]}  # every rule ran across edges
    assert any(s.end_frame - s.start_frame > 7 for s in one["shots"])  # looks averaged over windows


def test_windows_equal_the_computations_over_the_whole_episode(short_and_long) -> None:
    """Features and the flash test equal the functions applied to the whole episode's arrays at once."""
    detector = short_and_long[2][0]
    part = detector.part()
    whole = classic.build_features(part["dist"], part["changed"], part["std"], part["mean"], part["grid16"])
    assert same(detector.features(), whole)
    assert same(classic.photometric(part["grid16"].astype(np.float32)), part["photometric"])
    assert part["photometric"].any()  # the synthetic episode has flashes


def test_stage_parts_are_plain_arrays_and_reset_forgets(batches: list[FrameBatch]) -> None:
    """A segment's part crosses processes (pickled); reset empties every store."""
    kept = stages()
    for batch in batches:
        for stage in kept:
            stage.process(batch)
    kept[1].finish()
    frames = sum(len(b) for b in batches)
    for stage in kept:
        part = pickle.loads(pickle.dumps(stage.part()))
        assert part is not None
    looks = kept[2].frames
    assert looks.thumbs.shape == (frames, 9, 16, 3) and looks.palettes.dtype == np.float16
    assert len(kept[1].measures.luma_grid) == frames and kept[1].measures.luma_grid[:2].shape == (2, 9, 16)
    for stage in kept:
        stage.reset()
    assert len(kept[0].probabilities()) == 0 and kept[0].finish() == []
    assert len(kept[1].measures.new) == 0 and len(kept[2].frames.luma) == 0
    empty = torch.zeros((0, 144, 256, 3), dtype=torch.uint8)
    assert kept[2].process(FrameBatch(empty, torch.zeros(0, dtype=torch.int64), torch.zeros(0))) == []
