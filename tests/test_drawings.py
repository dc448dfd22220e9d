"""The label definitions shared by the analysis and the synthetic truth: holds, cadence, cycles."""

from __future__ import annotations

import pytest

from animevid.drawings import Cycle, cadence_of, find_cycles, hold_runs, under_hidden


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


def _hide(labels: list[int], *frames: int) -> list[int | None]:
    return [None if i in frames else label for i, label in enumerate(labels)]


@pytest.mark.parametrize(("labels", "cadence"), [
    (_hide(on(3, 6), 7), "threes"),  # inside a hold: the hold goes on under the flash
    (_hide(on(3, 6), 6), "threes"),  # on a hold's first frame: the change is placed under the flash
    (_hide(on(3, 6), 8), "threes"),  # on a hold's last frame
    (_hide(on(2, 8), 5, 6), "twos"),  # two flash frames across a change
    (_hide(on(1, 12), 5), "ones"),  # on ones, the hidden frame is a drawing of its own
    (_hide(on(1, 12), 5, 6), "ones"),
])  # fmt: skip
def test_a_flash_is_transparent_to_holds_and_cadence(labels: list[int | None], cadence: str) -> None:
    assert cadence_of([label for label in labels if label is not None]) != cadence or cadence == "ones"
    assert cadence_of(under_hidden(labels)) == cadence


def test_the_drawing_under_a_flash_is_the_one_on_both_sides() -> None:
    assert under_hidden([1, 1, None, 1, 2, 2, 2]) == [1, 1, 1, 1, 2, 2, 2]
    threes = [0, 0, 0, 1, 1, 1, None, 2, 2, 3, 3, 3]
    assert under_hidden(threes) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]  # on threes, the change under it
    assert under_hidden([None, 1, 1, None]) == [None, 1, 1, None]  # at the edges nothing is guessed
    shown = under_hidden([1, 2, None, 4, 5])
    assert shown[:2] == [1, 2] and shown[3:] == [4, 5] and shown[2] not in (1, 2, 4, 5)
