"""Scoring shot boundaries against truth: hard cuts and gradual transitions, separately.

Hard cuts are matched one-to-one within ``tolerance`` frames (each true cut can be claimed
by one detection, nearest first), the usual protocol of shot-boundary benchmarks.
A gradual transition (fade through black/white, dissolve) counts as found when a detected
fade or dissolve boundary falls inside its span, widened by ``tolerance`` frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from animevid.model import Shot


@dataclass(frozen=True)
class Score:
    """Counts and rates of one comparison."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """Share of detections that are right (1.0 when nothing was detected)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """Share of true boundaries found (1.0 when there were none)."""
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.false_negatives + other.false_negatives,
        )

    def as_dict(self) -> dict[str, float | int]:
        """JSON-ready form."""
        return {
            "tp": self.true_positives,
            "fp": self.false_positives,
            "fn": self.false_negatives,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


EMPTY = Score(0, 0, 0)
"""The score of nothing compared (adding identity)."""


def score_cuts(detected: Iterable[int], truth: Iterable[int], *, tolerance: int = 2) -> Score:
    """Match detected cut frames to true ones, one-to-one, within ``tolerance`` frames."""
    free = sorted(set(truth))
    found = 0
    detections = sorted(set(detected))
    for frame in detections:
        near = [t for t in free if abs(t - frame) <= tolerance]
        if near:
            free.remove(min(near, key=lambda t: abs(t - frame)))
            found += 1
    return Score(found, len(detections) - found, len(free))


def score_hard_cuts(detected: Iterable[int], truth: ShotTruth, *, tolerance: int = 2) -> Score:
    """:func:`score_cuts` against ``truth.cuts``, leaving out a detection inside a labelled gradual transition
    (span widened by ``tolerance``) that matches no true cut: a detector that does not tell dissolves and fades
    from cuts is not charged for them (bench/shots.py scores every detector so)."""

    def ignored(frame: int) -> bool:
        near_cut = any(abs(frame - cut) <= tolerance for cut in truth.cuts)
        return not near_cut and any(s - tolerance <= frame < e + tolerance for s, e in truth.gradual)

    return score_cuts([f for f in detected if not ignored(f)], truth.cuts, tolerance=tolerance)


def score_gradual(detected: Iterable[int], spans: Sequence[tuple[int, int]], *, tolerance: int = 2) -> Score:
    """Match detected gradual boundaries to true transition spans ``[start, end)``."""
    free = list(spans)
    found = 0
    detections = sorted(set(detected))
    for frame in detections:
        inside = [s for s in free if s[0] - tolerance <= frame < s[1] + tolerance]
        if inside:
            free.remove(inside[0])
            found += 1
    return Score(found, len(detections) - found, len(free))


def cuts_of(shots: Sequence[Shot]) -> list[int]:
    """First frames of the shots that begin with a hard cut."""
    return [s.start_frame for s in shots if s.transition == "cut"]


def gradual_of(shots: Sequence[Shot]) -> list[int]:
    """First frames of the shots that begin with a fade or a dissolve."""
    return [s.start_frame for s in shots if s.transition in ("fade", "dissolve")]


@dataclass(frozen=True)
class ShotTruth:
    """Known shot boundaries of one video."""

    cuts: list[int]
    """First frames of shots that begin with a hard cut."""
    gradual: list[tuple[int, int]]
    """Spans ``[start, end)`` of fades through a colour and dissolves between shots."""
    frames: int
    """Frames in the video."""


def truth_from_synth(truth: dict[str, Any]) -> ShotTruth:
    """Shot truth of a synthetic episode (the generator's truth JSON, parsed)."""
    cuts = [s["start_frame"] for s in truth["shots"] if s["transition"] == "cut"]
    spans = [(t["start_frame"], t["end_frame"]) for t in truth["transitions"] if "boundary_frame" in t]
    return ShotTruth(cuts=cuts, gradual=spans, frames=truth["frames"])


def load_labels(path: str | Path) -> dict[str, ShotTruth]:
    """Hand labels of real clips (``tests/data/shot_labels.json``), by file name."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {
        name: ShotTruth(
            cuts=list(clip["cuts"]),
            gradual=[(g["start_frame"], g["end_frame"]) for g in clip["gradual"]],
            frames=clip["frames"],
        )
        for name, clip in data["clips"].items()
    }


def score_shots(shots: Sequence[Shot], truth: ShotTruth, *, tolerance: int = 2) -> tuple[Score, Score]:
    """(hard-cut score, gradual score) of detected shots against truth."""
    return (
        score_cuts(cuts_of(shots), truth.cuts, tolerance=tolerance),
        score_gradual(gradual_of(shots), truth.gradual, tolerance=tolerance),
    )
