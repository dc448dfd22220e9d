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


def under_hidden(labels: Sequence[Hashable | None]) -> list[Hashable | None]:
    """The drawings under frames that hide them (``None``: an impact frame), so a hold goes on through a flash.

    A flash hides the drawing under it without replacing it. Where the drawing is the same on both
    sides, the hidden frames show it too. Where it differs, the change happened somewhere under the
    flash, and on ones or twos a drawing of its own may hide there: the hidden frames are split
    into the end of the earlier hold, a hold of an unseen drawing (a label of its own) and the
    start of the later one so that every hold comes closest to the shot's usual hold (the most
    common length of the holds that no flash touches); ties go to no unseen drawing, then to the
    earlier hold. Hidden frames at a shot's edge stay ``None``.
    """
    out = list(labels)
    usual = _usual_hold(out)
    for first, last in true_runs(np.array([label is None for label in out], dtype=bool)):
        before = out[first - 1] if first > 0 else None
        after = out[last] if last < len(out) else None
        if before is None or after is None:
            continue  # at the shot's edge: a hold there may be cut short anyway, so nothing is guessed
        if before == after:
            out[first:last] = [before] * (last - first)
            continue
        k, m = _split_hidden(_run_length(out, first - 1, -1), last - first, _run_length(out, last, 1), usual)
        unseen = [_Unseen() for _ in range(0, m, usual)]
        out[first:last] = [before] * k + [unseen[i // usual] for i in range(m)] + [after] * (last - first - k - m)
    return out


class _Unseen:
    """The label of a drawing hidden under a flash: equal only to itself."""


def _split_hidden(held_before: int, hidden: int, held_after: int, usual: int) -> tuple[int, int]:
    """(frames to the earlier hold, frames to unseen drawings held ``usual`` frames each) of ``hidden``
    frames between two holds."""
    options = [(k, m) for m in range(hidden + 1) for k in range(hidden - m + 1)]

    def cost(option: tuple[int, int]) -> tuple[int, int, int]:
        k, m = option
        off = abs(held_before + k - usual) + abs(held_after + hidden - k - m - usual) + (m % usual)
        return off, m, -k

    return min(options, key=cost)


def _usual_hold(labels: Sequence[Hashable | None]) -> int:
    """The most common length of the inner holds that touch no ``None`` frame; failing those, the
    longest hold at a shot's edge that touches none (edges cut holds short); else 1."""
    inner: dict[int, int] = {}
    edge = 1
    start = 0
    for i in range(1, len(labels) + 1):
        if i < len(labels) and labels[i] == labels[start]:
            continue
        hidden = (
            labels[start] is None
            or (start > 0 and labels[start - 1] is None)
            or (i < len(labels) and labels[i] is None)
        )
        if not hidden and (start == 0 or i == len(labels)):
            edge = max(edge, i - start)
        elif not hidden:
            inner[i - start] = inner.get(i - start, 0) + 1
        start = i
    return max(inner, key=lambda k: (inner[k], -k)) if inner else edge


def _run_length(labels: Sequence[Hashable | None], i: int, step: int) -> int:
    """Frames that show ``labels[i]`` from ``i`` on, walking by ``step`` (1: forward, -1: backward)."""
    n = 0
    while 0 <= i + n * step < len(labels) and labels[i + n * step] == labels[i]:
        n += 1
    return n


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
