"""Scoring scene boundaries against the synthetic generator's truth, and naive baselines.

A scene boundary is the ``start_frame`` of every scene but the first. Detected boundaries are
matched one-to-one to true ones within ``tolerance`` frames (nearest first), as shot cuts are
(:func:`animevid.shots.evaluate.score_cuts`); precision, recall and F1 follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from animevid.model import Scene, Shot, SubtitleLine
from animevid.scenes._segment import scene_of
from animevid.shots.evaluate import Score, score_cuts

__all__ = [
    "Score",
    "boundaries",
    "every_n_shots",
    "fade_baseline",
    "lines_from_truth",
    "score_scenes",
    "shots_from_truth",
    "truth_boundaries",
]


def boundaries(scenes: Iterable[Scene]) -> list[int]:
    """Start frames of every scene but one starting at frame 0."""
    return sorted(s.start_frame for s in scenes if s.start_frame > 0)


def truth_boundaries(truth: dict[str, Any]) -> list[int]:
    """Scene boundaries of a synthetic episode's truth (its ``scenes`` start frames, 0 left out)."""
    return sorted(int(s["start_frame"]) for s in truth["scenes"] if int(s["start_frame"]) > 0)


def score_scenes(scenes: Iterable[Scene], truth: dict[str, Any], *, tolerance: int = 2) -> Score:
    """Precision/recall counts of ``scenes``' boundaries against a truth dict, within ``tolerance`` frames."""
    return score_cuts(boundaries(scenes), truth_boundaries(truth), tolerance=tolerance)


def shots_from_truth(truth: dict[str, Any]) -> list[Shot]:
    """The truth's shots as :class:`~animevid.model.Shot` objects."""
    return [
        Shot(
            start_frame=int(s["start_frame"]),
            end_frame=int(s["end_frame"]),
            start_seconds=float(s["start_seconds"]),
            end_seconds=float(s["end_seconds"]),
            transition=s["transition"],
        )
        for s in truth["shots"]
    ]


def lines_from_truth(truth: dict[str, Any]) -> list[SubtitleLine]:
    """The truth's subtitle events as :class:`~animevid.model.SubtitleLine` objects (every kind)."""
    return [
        SubtitleLine(
            start_seconds=float(ln["start_seconds"]),
            end_seconds=float(ln["end_seconds"]),
            text=str(ln["plain"]),
            style=str(ln["style"]),
            kind=ln["kind"],
            line_number=number,
        )
        for number, ln in enumerate(truth["subtitles"], start=1)
    ]


def fade_baseline(shots: Sequence[Shot]) -> list[Scene]:
    """Naive baseline: a new scene at every fade and dissolve, never at a hard cut."""
    return _scenes_from(shots, [i for i, s in enumerate(shots) if i and s.transition in ("fade", "dissolve")])


def every_n_shots(shots: Sequence[Shot], n: int) -> list[Scene]:
    """Naive baseline: a new scene every ``n`` shots (what a shot-count rule of thumb does)."""
    return _scenes_from(shots, list(range(n, len(shots), n)))


def _scenes_from(shots: Sequence[Shot], starts: list[int]) -> list[Scene]:
    if not shots:
        return []
    firsts = [0, *starts]
    lasts = [*(k - 1 for k in starts), len(shots) - 1]
    return [scene_of(shots, a, b) for a, b in zip(firsts, lasts, strict=True)]
