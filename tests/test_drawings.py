"""The label definitions shared by the analysis and the synthetic truth: holds, cadence, cycles."""

from __future__ import annotations

import pytest

from animevid.drawings import Cycle, cadence_of, find_cycles, hold_runs


def on(every: int, drawings: int) -> list[int]:
    return [d for d in range(drawings) for _ in range(every)]


def test_hold_runs_split_at_missing_frames() -> None:
    assert hold_runs([1, 1, 2, None, 2, 2, 3]) == [2, 1, 2, 1]
    assert hold_runs([]) == []


@pytest.mark.parametrize(("labels", "expected"), [
    (on(1, 10), "ones"),
    (on(2, 10), "twos"),
    (on(3, 10), "threes"),
    ([0] * 30, "still"),
    ([5, 5, 6, 6, 6, 7, 7, 8], "mixed"),
    ([0, 1, 1, 2, 2, 3], "twos"),  # the first hold is cut short by the shot's start
    ([0, 0, 1, 1, 2, 2, 3, 3, 3], "mixed"),  # a last hold longer than the cadence
])  # fmt: skip
def test_cadence(labels: list[int], expected: str) -> None:
    assert cadence_of(labels) == expected


def test_walk_cycle_is_one_cycle_at_its_period() -> None:
    labels = [(j // 2) % 4 for j in range(32)]  # 4 drawings on twos, 4 times
    assert find_cycles(labels, 24.0) == [Cycle(0, 32, 8, 4, 4)]


def test_cycle_is_trimmed_to_whole_periods_and_offset() -> None:
    labels = [9, 9, 9] + [(j // 3) % 3 for j in range(9 * 3 + 4)] + [7, 7]
    (cycle,) = find_cycles(labels, 24.0)
    assert (cycle.start_frame, cycle.period_frames, cycle.repeats) == (3, 9, 3)
    assert cycle.end_frame == 3 + 27
    assert cycle.shifted(100).start_frame == 103


def test_no_cycle_in_holds_short_runs_or_across_missing_frames() -> None:
    assert find_cycles([0] * 50, 24.0) == []  # one drawing: a hold, not a cycle
    assert find_cycles([0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 24.0) == []  # 4 frames < 0.6 s
    broken = [(j // 2) % 4 for j in range(32)]
    broken[12] = None  # an impact frame
    cycles = find_cycles(broken, 24.0)
    assert all(not (c.start_frame <= 12 < c.end_frame) for c in cycles)


def test_period_over_six_seconds_is_not_a_loop() -> None:
    labels = [j % 160 for j in range(400)]  # a 160-frame period at 24 fps: 6.7 s
    assert find_cycles(labels, 24.0) == []
    assert find_cycles(labels, 30.0) == [Cycle(0, 320, 160, 2, 160)]
