"""What a sequence of per-frame drawing labels says: holds, cadence and repeated cycles.

A *label* names the drawing a frame shows: two frames with the same label show the same
drawing (whatever the camera does over it). ``None`` marks a frame that shows no drawing of the
shot (an impact frame, a frame of a fade or dissolve): it ends every hold and every cycle.

These definitions are shared by the animation analysis, which measures labels from pixels, and
by the synthetic generator's truth, which knows them; so "exact on synthetic episodes" compares
measurements, not two readings of a word.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from animevid.model import CADENCE_NAMES, Cadence

CADENCES: dict[int, Cadence] = dict(enumerate(CADENCE_NAMES[:3], start=1))
"""Hold length -> cadence name (1: ones, 2: twos, 3: threes; the first three :data:`~animevid.model.Cadence`)."""

LOOP_MIN_SECONDS = 0.6
"""Shortest loop (all its repeats together), as animeloop uses."""
LOOP_MAX_PERIOD_SECONDS = 6.0
"""Longest period of a loop, as animeloop uses."""


def hold_runs(labels: Sequence[Hashable | None]) -> list[int]:
    """Lengths of the runs of consecutive frames showing one drawing (``None`` frames dropped)."""
    runs: list[int] = []
    previous: object = object()
    for label in labels:
        if label is None:
            previous = object()
            continue
        if label == previous and runs:
            runs[-1] += 1
        else:
            runs.append(1)
        previous = label
    return runs


def cadence_of(labels: Sequence[Hashable | None]) -> Cadence:
    """ones, twos or threes when every inner hold lasts that many frames; still for one drawing.

    The first and last hold may be cut short by the shot's edges, so they only need to be no
    longer than the cadence. Anything else (holds of varying length) is ``mixed``.
    """
    runs = hold_runs(labels)
    if len(runs) <= 1:
        return "still"
    inner = runs[1:-1]
    for length, name in CADENCES.items():
        if all(r == length for r in inner) and max(runs[0], runs[-1]) <= length and (inner or max(runs) == length):
            return name
    return "mixed"


@dataclass(frozen=True)
class Cycle:
    """Drawings that repeat: frames ``start_frame`` to ``end_frame`` are ``repeats`` copies of a period."""

    start_frame: int
    """First frame (index into the labels, or an episode frame once offset)."""
    end_frame: int
    """One past the last frame: ``start_frame + period_frames * repeats``; it returns to the start."""
    period_frames: int
    """Frames in one period."""
    repeats: int
    """Whole periods, at least 2."""
    drawings: int
    """Distinct drawings in one period, at least 2."""

    def shifted(self, offset: int) -> Cycle:
        """The same cycle with frame numbers moved by ``offset``."""
        return Cycle(
            self.start_frame + offset, self.end_frame + offset, self.period_frames, self.repeats, self.drawings
        )


def find_cycles(labels: Sequence[Hashable | None], fps: float) -> list[Cycle]:
    """Repeated cycles in one shot's labels: the shortest period first, never two overlapping.

    A cycle is a stretch where every frame shows the same drawing as the frame one period later,
    with at least two distinct drawings in a period, at least two whole periods, a period of at
    most :data:`LOOP_MAX_PERIOD_SECONDS` and all repeats together at least
    :data:`LOOP_MIN_SECONDS`. Each stretch is trimmed to whole periods, so the clip from
    ``start_frame`` to ``end_frame`` ends where it began and plays seamlessly on repeat.

    Args:
        labels: One label per frame of the shot (``None``: no drawing).
        fps: Frames per second (turns the second limits into frames).
    """
    n = len(labels)
    codes = _codes(labels)
    min_frames = math.ceil(LOOP_MIN_SECONDS * fps - 1e-9)
    max_period = min(n // 2, math.floor(LOOP_MAX_PERIOD_SECONDS * fps + 1e-9))
    taken = np.zeros(n, dtype=bool)
    cycles: list[Cycle] = []
    for period in range(2, max_period + 1):
        same = codes[:-period] == codes[period:]
        for first, last in true_runs(same):
            repeats = (last - first + period) // period
            start, end = first, first + period * repeats
            if repeats < 2 or end - start < min_frames or taken[start:end].any():
                continue
            distinct = len(set(codes[start : start + period].tolist()))
            if distinct < 2:
                continue
            taken[start:end] = True
            cycles.append(Cycle(start, end, period, repeats, distinct))
    return sorted(cycles, key=lambda c: c.start_frame)


def _codes(labels: Sequence[Hashable | None]) -> np.ndarray:
    """Integer codes per label; every ``None`` gets its own negative code (equal to nothing)."""
    ids: dict[Hashable, int] = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        out[i] = -1 - i if label is None else ids.setdefault(label, len(ids))
    return out


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, one past last) index of every run of True."""
    if not len(mask):
        return []
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
