"""Highlight reels: an episode's most important shots under a time budget, as an mp4 or in the TVSum layout.

Each shot gets an importance (sakuga score, motion, dialogue, characters; :func:`shot_importance`); a 0/1
knapsack by frames picks the shots worth most under the budget, shots like a better one already picked are
marked down (novelty) and the knapsack runs again (:func:`choose_shots`). OP, ED, recap, preview and
eyecatch footage is never shown. :func:`write_reel` cuts the chosen shots frame-exact with their sound;
:func:`write_tvsum` writes the scores and shot layout as the public SumMe/TVSum h5 files hold them.

Example::

    from animevid.clips import open_episode
    from animevid.reel import write_reel

    facts = open_episode("animevid-library", "ep01.mkv")
    report = write_reel(facts, 60, "ep01-reel.mp4")
"""

from animevid.reel._choose import MAX_KNAPSACK_CELLS, ReelShot, budget_frames, choose_shots, knapsack, reel_rate
from animevid.reel._errors import ReelError
from animevid.reel._importance import (
    CAST_FULL,
    CAST_WEIGHT,
    DIALOGUE_WEIGHT,
    MOTION_FULL,
    MOTION_WEIGHT,
    NOVELTY_WEIGHT,
    SAKUGA_WEIGHT,
    SCENE_SHARE,
    dialogue_seconds,
    frame_importance,
    shot_importance,
    shot_similarity,
)
from animevid.reel._tvsum import PICK_STEP, SUMMARY_PROPORTION, tvsum_arrays, write_tvsum
from animevid.reel._write import ReelReport, write_reel

__all__ = [
    "CAST_FULL",
    "CAST_WEIGHT",
    "DIALOGUE_WEIGHT",
    "MAX_KNAPSACK_CELLS",
    "MOTION_FULL",
    "MOTION_WEIGHT",
    "NOVELTY_WEIGHT",
    "PICK_STEP",
    "SAKUGA_WEIGHT",
    "SCENE_SHARE",
    "SUMMARY_PROPORTION",
    "ReelError",
    "ReelReport",
    "ReelShot",
    "budget_frames",
    "choose_shots",
    "dialogue_seconds",
    "frame_importance",
    "knapsack",
    "reel_rate",
    "shot_importance",
    "shot_similarity",
    "tvsum_arrays",
    "write_reel",
    "write_tvsum",
]
