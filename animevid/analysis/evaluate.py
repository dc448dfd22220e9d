"""Score shot analyses against a synthetic episode's truth (what the tests and bench/analysis.py use).

Shots are paired by their frame range: a detected shot and a true shot whose starts and ends
both lie within ``tolerance`` frames. Per pair, each measured field is right or wrong:

- ``drawings``: the distinct-drawing count equals the truth's;
- ``cadence``: equal (ones, twos, threes, mixed, still);
- ``cadence_mix``: the same set of region cadences (both empty for most shots);
- ``camera``: equal (static, pan, zoom, shake);
- ``flash_frames``: the same frames;
- ``loops``: the same (start, end, period, repeats) list.

Loops are also checked episode-wide: none may cross a true cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from animevid.model import Shot, ShotAnalysis, Transition

FIELDS = ("drawings", "cadence", "cadence_mix", "camera", "flash_frames", "loops")


@dataclass
class AnalysisScore:
    """How many paired shots got each field right, and which did not."""

    shots: int = 0
    """True shots."""
    paired: int = 0
    """True shots with a detected shot over the same frames."""
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    """Field -> paired shots where it matched."""
    wrong: list[dict[str, Any]] = field(default_factory=list)
    """One entry per mismatch: shot range, field, measured and true values."""
    loops_across_cuts: int = 0
    """Detected loops that cross a true shot boundary (must be 0)."""

    def accuracy(self, name: str) -> float:
        """Share of paired shots with ``name`` right (1.0 when none are paired)."""
        return self.right[name] / self.paired if self.paired else 1.0

    def add(self, other: AnalysisScore) -> AnalysisScore:
        """Sum of two scores (for a set of episodes)."""
        return AnalysisScore(
            self.shots + other.shots,
            self.paired + other.paired,
            {k: self.right[k] + other.right[k] for k in FIELDS},
            self.wrong + other.wrong,
            self.loops_across_cuts + other.loops_across_cuts,
        )


def truth_shots(truth: dict[str, Any]) -> list[Shot]:
    """The true shots of a synthetic episode as :class:`~animevid.model.Shot`."""
    out = []
    for s in truth["shots"]:
        transition: Transition = s["transition"]
        out.append(Shot(s["start_frame"], s["end_frame"], s["start_seconds"], s["end_seconds"], transition))
    return out


def truth_values(shot: dict[str, Any], loops: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The truth's value of every field for one true shot."""
    inside = [
        (lp["start_frame"], lp["end_frame"], lp["period_frames"], lp["repeats"])
        for lp in loops
        if shot["start_frame"] <= lp["start_frame"] < shot["end_frame"]
    ]
    return {
        "drawings": len(shot["drawings"]),
        "cadence": shot["cadence"],
        "cadence_mix": tuple(sorted(shot.get("cadence_mix", ()))),
        "camera": shot["camera"],
        "flash_frames": tuple(shot["flash_frames"]),
        "loops": tuple(sorted(inside)),
    }


def measured_values(a: ShotAnalysis) -> dict[str, Any]:
    """The same fields from an analysis."""
    return {
        "drawings": a.drawings,
        "cadence": a.cadence,
        "cadence_mix": tuple(sorted(a.cadence_mix)),
        "camera": a.camera,
        "flash_frames": tuple(a.flash_frames),
        "loops": tuple(sorted((lp.start_frame, lp.end_frame, lp.period_frames, lp.repeats) for lp in a.loops)),
    }


def score_analysis(analyses: Sequence[ShotAnalysis], truth: dict[str, Any], *, tolerance: int = 0) -> AnalysisScore:
    """Compare ``analyses`` with the truth of a synthetic episode (see the module docstring)."""
    result = AnalysisScore(shots=len(truth["shots"]))
    by_range = {(a.start_frame, a.end_frame): a for a in analyses}
    for shot in truth["shots"]:
        found = by_range.get((shot["start_frame"], shot["end_frame"]))
        if found is None and tolerance:
            found = next(
                (
                    a
                    for a in analyses
                    if abs(a.start_frame - shot["start_frame"]) <= tolerance
                    and abs(a.end_frame - shot["end_frame"]) <= tolerance
                ),
                None,
            )
        if found is None:
            continue
        result.paired += 1
        want, got = truth_values(shot, truth["loops"]), measured_values(found)
        for name in FIELDS:
            if want[name] == got[name]:
                result.right[name] += 1
            else:
                result.wrong.append(
                    {
                        "start_frame": shot["start_frame"],
                        "end_frame": shot["end_frame"],
                        "animation": shot.get("animation"),
                        "field": name,
                        "measured": got[name],
                        "truth": want[name],
                    }
                )
    cuts = [s["start_frame"] for s in truth["shots"][1:]]
    for a in analyses:
        for lp in a.loops:
            if any(lp.start_frame < c < lp.end_frame for c in cuts):
                result.loops_across_cuts += 1
    return result
