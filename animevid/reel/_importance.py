"""How much each shot matters to a highlight reel, and how alike two shots are.

The importance of shot ``i`` is a weighted sum of four measures, each in 0..1 (the weights sum to 1)::

    importance(i) = SAKUGA_WEIGHT   * sakuga_score(i)
                  + MOTION_WEIGHT   * min(1, motion(i) / MOTION_FULL)
                  + DIALOGUE_WEIGHT * dialogue_seconds(i) / seconds(i)
                  + CAST_WEIGHT     * min(1, characters(i) / CAST_FULL)

``sakuga_score`` and ``motion`` come from the shot's analysis (0 without one); ``dialogue_seconds`` is the
time the shot shows dialogue lines (their union, clipped to the shot); ``characters`` is how many recognised
characters appear. A shot's importance is a density (per frame): the reel's knapsack gives a shot the
value ``importance * frames``, so the reel holds the most important *frames* the budget allows.

Novelty: after a first knapsack, each candidate loses ``NOVELTY_WEIGHT * similarity`` of its importance,
where ``similarity`` is its largest :func:`shot_similarity` to a shot of that first choice ranked above it
(higher importance, or equal and earlier); a second knapsack then makes the final choice. The best shot
of a group of look-alikes keeps its score, its look-alikes make room for something else.
"""

from __future__ import annotations

import numpy as np

from animevid.clips import REPEATED_KINDS, EpisodeFacts

SAKUGA_WEIGHT = 0.40
"""Weight of the shot's sakuga score (cadence, motion, effects: animation worth seeing)."""
MOTION_WEIGHT = 0.20
"""Weight of the share of the picture whose drawing changes (see ``MOTION_FULL``)."""
DIALOGUE_WEIGHT = 0.25
"""Weight of the share of the shot's time that shows dialogue (the story's beats)."""
CAST_WEIGHT = 0.15
"""Weight of the characters recognised in the shot (see ``CAST_FULL``)."""
MOTION_FULL = 0.5
"""Motion (share of the frame changing) that counts as full marks: half the picture redrawn is a lot."""
CAST_FULL = 2
"""Characters that count as full marks: a shot with two is as good as one with five."""
NOVELTY_WEIGHT = 0.5
"""Share of its importance a shot loses when it is just like a better shot already chosen."""
SCENE_SHARE = 0.5
"""Share of :func:`shot_similarity` that comes from being in the same scene; the rest from what shows."""


def dialogue_seconds(facts: EpisodeFacts, shot_index: int) -> float:
    """Seconds of the shot during which at least one dialogue line is shown (overlaps counted once)."""
    shot = facts.shots[shot_index]
    spans = sorted(
        (max(line.start_seconds, shot.start_seconds), min(line.end_seconds, shot.end_seconds))
        for line in facts.shot_lines(shot)
    )
    total, reach = 0.0, shot.start_seconds
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def shot_importance(facts: EpisodeFacts, shot_index: int) -> float:
    """The shot's importance before novelty, in 0..1: a weighted sum of four measures, each in 0..1::

        SAKUGA_WEIGHT * sakuga_score + MOTION_WEIGHT * min(1, motion / MOTION_FULL)
        + DIALOGUE_WEIGHT * dialogue_seconds / shot_seconds + CAST_WEIGHT * min(1, characters / CAST_FULL)

    (0.40, 0.20, 0.25 and 0.15; a shot without an analysis scores 0 for sakuga and motion). It is a density:
    the reel's knapsack values a shot at ``importance * frames``.

    Args:
        facts: The indexed episode.
        shot_index: Index of the shot within the episode.

    Returns:
        The weighted sum of sakuga score, motion, dialogue share and characters present.
    """
    shot = facts.shots[shot_index]
    analysis = facts.analyses.get(shot_index)
    sakuga = min(1.0, max(0.0, analysis.sakuga_score)) if analysis else 0.0
    motion = min(1.0, max(0.0, analysis.motion) / MOTION_FULL) if analysis else 0.0
    seconds = shot.end_seconds - shot.start_seconds
    dialogue = min(1.0, dialogue_seconds(facts, shot_index) / seconds) if seconds > 0 else 0.0
    cast = min(1.0, len(facts.cast.get(shot_index, ())) / CAST_FULL)
    return SAKUGA_WEIGHT * sakuga + MOTION_WEIGHT * motion + DIALOGUE_WEIGHT * dialogue + CAST_WEIGHT * cast


def _signature(facts: EpisodeFacts, shot_index: int) -> frozenset[str]:
    """What a viewer sees of the shot, as words: its tags, cadence, camera and characters."""
    analysis = facts.analyses.get(shot_index)
    words = {f"character:{name}" for name in facts.cast.get(shot_index, ())}
    if analysis is not None:
        words |= {f"tag:{tag}" for tag in analysis.tags}
        words |= {f"cadence:{analysis.cadence}", f"camera:{analysis.camera}"}
    return frozenset(words)


def scene_of_shots(facts: EpisodeFacts) -> dict[int, int]:
    """The scene (its position in ``facts.scenes``) of every shot that has one."""
    return {
        shot: number
        for number, scene in enumerate(facts.scenes)
        for shot in range(scene.first_shot, scene.last_shot + 1)
    }


def shot_similarity(facts: EpisodeFacts, first: int, second: int, *, scenes: dict[int, int] | None = None) -> float:
    """How alike two shots are, in 0..1: ``SCENE_SHARE`` for the same scene plus the rest times the
    Jaccard overlap of their tags, cadence, camera and characters.

    Args:
        facts: The indexed episode.
        first: Index of one shot.
        second: Index of the other.
        scenes: :func:`scene_of_shots` of ``facts``, when the caller already has it.
    """
    scene = scene_of_shots(facts) if scenes is None else scenes
    same_scene = first in scene and scene.get(first) == scene.get(second)
    a, b = _signature(facts, first), _signature(facts, second)
    overlap = len(a & b) / len(a | b) if a | b else 0.0
    return SCENE_SHARE * float(same_scene) + (1.0 - SCENE_SHARE) * overlap


def frame_importance(facts: EpisodeFacts) -> np.ndarray:
    """Importance of every frame of the episode (float32, 0..1): its shot's :func:`shot_importance`.

    Frames a reel never shows score 0: those outside every shot, and every frame of a shot that touches an
    OP, ED, recap, preview or eyecatch (as in :func:`animevid.reel.choose_shots`).
    """
    scores = np.zeros(facts.episode.frames, dtype=np.float32)
    for index, shot in enumerate(facts.shots):
        if not facts.repeated(shot.start_frame, shot.end_frame):
            scores[shot.start_frame : shot.end_frame] = shot_importance(facts, index)
    for segment in facts.segments:
        if segment.kind in REPEATED_KINDS:
            scores[max(0, segment.start_frame) : max(0, segment.end_frame)] = 0.0
    return scores
