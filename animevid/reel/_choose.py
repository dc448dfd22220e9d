"""Which shots a reel holds: a 0/1 knapsack by frames under the budget, then once more after novelty.

Decisions, so a reader need not guess:

- The budget is a hard cap on the reel's frame count: ``floor(seconds * fps)`` at the episode's frame rate
  as an exact fraction (:func:`reel_rate`).
- A shot is whole or absent: the reel is cut at shot boundaries only, never inside a shot, so a shot longer
  than the budget is never chosen (trimming it would make a cut the episode does not have).
- A shot that shares any frame with an OP, ED, recap, preview or eyecatch is never a candidate; reused
  (bank) footage is allowed.
- Chosen shots play in episode order. Ties go to the earlier shot, so the same facts give the same reel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from animevid.clips import EpisodeFacts
from animevid.reel._errors import ReelError
from animevid.reel._importance import NOVELTY_WEIGHT, scene_of_shots, shot_importance, shot_similarity

MAX_KNAPSACK_CELLS = 64_000_000
"""Largest knapsack table (shots x budget frames, one byte each) solved frame by frame; above it frames are
grouped (see :func:`knapsack`)."""


@dataclass(frozen=True)
class ReelShot:
    """One shot chosen for a reel."""

    shot_index: int
    """Index of the shot within the episode."""
    start_frame: int
    """First frame of the shot in the episode."""
    end_frame: int
    """One past the shot's last frame (exclusive)."""
    start_seconds: float
    """Episode time of the shot's first frame."""
    end_seconds: float
    """Episode time just after its last frame."""
    importance: float
    """:func:`animevid.reel.shot_importance` (0..1), before novelty."""
    score: float
    """The importance the final knapsack saw, after the novelty penalty (0..1)."""

    @property
    def frames(self) -> int:
        """Number of frames the shot adds to the reel."""
        return self.end_frame - self.start_frame


def reel_rate(facts: EpisodeFacts) -> Fraction:
    """The episode's frame rate as an exact fraction (23.976... becomes 24000/1001): the reel's time base."""
    if facts.episode.fps <= 0:
        raise ReelError(f"{facts.name}: the catalog holds no frame rate for it; re-index it with --force")
    return Fraction(facts.episode.fps).limit_denominator(1001)


def budget_frames(facts: EpisodeFacts, seconds: float) -> int:
    """The most frames a reel of ``seconds`` may hold: ``floor(seconds * fps)``.

    Raises:
        ReelError: ``seconds`` is not a positive number.
    """
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds <= 0:
        raise ReelError(f"{facts.name}: a reel needs a budget above 0 seconds, got {seconds!r}; pass --seconds 60")
    return math.floor(Fraction(seconds) * reel_rate(facts))


def knapsack(
    values: Sequence[float], weights: Sequence[int], capacity: int, *, max_cells: int = MAX_KNAPSACK_CELLS
) -> list[int]:
    """The items of greatest total value whose weights sum to at most ``capacity`` (0/1 knapsack).

    Exact dynamic programming over whole frames while ``len(values) * (capacity + 1) <= max_cells``. Above
    that, weights are counted in groups of ``g`` frames, each rounded up (and the capacity down), so the cap
    still holds and the answer is optimal at that coarser grain. Items worth nothing or too heavy are never
    taken; among equal totals the earlier items win.

    Args:
        values: Value of each item (>= 0).
        weights: Weight of each item, in frames (> 0).
        capacity: Largest total weight (>= 0).
        max_cells: Largest table solved exactly.

    Returns:
        Indices of the chosen items, ascending.
    """
    if len(values) != len(weights):
        raise ValueError(f"knapsack needs one weight per value, got {len(values)} values and {len(weights)} weights")
    group = max(1, math.ceil(len(values) * (capacity + 1) / max_cells))
    grouped = [math.ceil(w / group) for w in weights]
    room = capacity // group
    best = np.zeros(room + 1, dtype=np.float64)
    take = np.zeros((len(values), room + 1), dtype=bool)
    for item, (value, weight) in enumerate(zip(values, grouped, strict=True)):
        if value <= 0 or weight > room or weight <= 0:
            continue
        with_item = best[: room + 1 - weight] + value
        better = with_item > best[weight:]
        take[item, weight:] = better
        best[weight:] = np.where(better, with_item, best[weight:])
    chosen, left = [], room
    for item in range(len(values) - 1, -1, -1):
        if take[item, left]:
            chosen.append(item)
            left -= grouped[item]
    return sorted(chosen)


def _candidates(facts: EpisodeFacts) -> list[int]:
    """Shots a reel may hold: those touching no OP, ED, recap, preview or eyecatch frame."""
    if not facts.shots or not facts.analyses:
        raise ReelError(
            f"{facts.name}: the library holds no shot analyses for it; "
            f"re-index it with `animevid index {facts.path} --force`"
        )
    candidates = [i for i, s in enumerate(facts.shots) if not facts.repeated(s.start_frame, s.end_frame)]
    if not candidates:
        raise ReelError(f"{facts.name}: every shot lies in an OP, ED, recap, preview or eyecatch; nothing to show")
    return candidates


def _novelty(facts: EpisodeFacts, candidates: list[int], importance: dict[int, float], first: list[int]) -> dict:
    """Each candidate's importance less ``NOVELTY_WEIGHT`` x its similarity to a better shot of ``first``."""
    rank = {shot: place for place, shot in enumerate(sorted(candidates, key=lambda s: (-importance[s], s)))}
    scenes = scene_of_shots(facts)
    scores = {}
    for shot in candidates:
        above = [other for other in first if rank[other] < rank[shot]]
        similar = max((shot_similarity(facts, shot, other, scenes=scenes) for other in above), default=0.0)
        scores[shot] = importance[shot] * (1.0 - NOVELTY_WEIGHT * similar)
    return scores


def choose_shots(facts: EpisodeFacts, seconds: float) -> list[ReelShot]:
    """The shots of a highlight reel of at most ``seconds``, in episode order.

    Candidates are the shots touching no OP, ED, recap, preview or eyecatch frame. A 0/1 knapsack picks those
    of greatest total ``importance x frames`` (:func:`shot_importance`) within :func:`budget_frames`; then each
    candidate loses ``NOVELTY_WEIGHT x`` its largest :func:`shot_similarity` to a better shot of that first pick,
    and a second knapsack makes the final choice. Shots are whole: one longer than the budget is never chosen
    (trimming would cut where the episode has no cut). Ties go to the earlier shot: the same facts, the same reel.

    Args:
        facts: The indexed episode (:func:`animevid.clips.open_episode`).
        seconds: The reel's length budget; the reel never exceeds ``floor(seconds * fps)`` frames.

    Returns:
        The chosen shots, in episode order (never empty).

    Raises:
        ReelError: The budget is not above 0, the episode has no analyses, or no candidate shot fits.
    """
    capacity = budget_frames(facts, seconds)
    candidates = _candidates(facts)
    frames = [facts.shots[i].frames for i in candidates]
    if min(frames) > capacity:
        shortest = min(frames) / float(reel_rate(facts))
        raise ReelError(
            f"{facts.name}: no shot fits a {seconds:g} s reel (shots are never cut); "
            f"the shortest one lasts {shortest:.2f} s: pass --seconds {math.ceil(shortest * 100) / 100:g} or more"
        )
    importance = {i: shot_importance(facts, i) for i in candidates}
    # a floor keeps shots with nothing measured eligible to fill the budget, below every shot that scores
    value = {i: max(importance[i], 1e-6) for i in candidates}
    first = [
        candidates[k]
        for k in knapsack([value[i] * f for i, f in zip(candidates, frames, strict=True)], frames, capacity)
    ]
    scores = _novelty(facts, candidates, value, first)
    final = knapsack([scores[i] * f for i, f in zip(candidates, frames, strict=True)], frames, capacity)
    chosen = [candidates[k] for k in final] or [candidates[frames.index(min(frames))]]
    return [
        ReelShot(
            i,
            facts.shots[i].start_frame,
            facts.shots[i].end_frame,
            facts.shots[i].start_seconds,
            facts.shots[i].end_seconds,
            importance[i],
            scores[i],
        )
        for i in chosen
    ]
