"""The reel's scores in the layout of the public SumMe/TVSum benchmark files, for researchers' own tools.

The benchmark's ``eccv16_dataset_{summe,tvsum}_google_pool5.h5`` files hold one group per video; evaluation
code (KTS/DSNet/PGL-SUM ``generate_summary``) reads ``change_points``, ``n_frame_per_seg``, ``n_frames`` and
``picks``, spreads a score per pick over the frames up to the next pick, averages it per segment and solves a
knapsack at 15 % of the frames; it compares the result with each row of ``user_summary``. This file, one group
``video_1``, holds:

========================  ==========================  ===============================================
key                       shape, dtype                meaning
========================  ==========================  ===============================================
``n_frames``              (), int32                   frames of the episode
``picks``                 (n_steps,), int32           every 15th frame: 0, 15, 30, ...
``n_steps``               (), int32                   ``len(picks)``
``change_points``         (n_segments, 2), int32      our shots as inclusive ``[first, last]`` frames
``n_frame_per_seg``       (n_segments,), int32        frames per segment (they sum to ``n_frames``)
``gtscore``               (n_steps,), float32         importance (0..1) of the frame at each pick
``user_summary``          (1, n_frames), float32      1 on the frames of the reel, 0 elsewhere
``gtsummary``             (n_steps,), float32         ``user_summary`` at the picks
``video_name``            (), utf-8 string            the episode's file name
``frame_scores``          (n_frames,), float32        importance of every frame (animevid's addition)
========================  ==========================  ===============================================

There are no ``features``: the benchmark's GoogLeNet pool5 features are not computed here. Frames outside
every shot (there are none when the index tiled the episode) become segments of their own, scored 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from animevid.clips import EpisodeFacts
from animevid.library import write_atomically
from animevid.reel._choose import choose_shots, reel_rate
from animevid.reel._importance import frame_importance

PICK_STEP = 15
"""Frames between picks, as in the public files (about 2 per second)."""
SUMMARY_PROPORTION = 0.15
"""The benchmark's summary length (15 % of the frames), used when no budget is given."""
VIDEO_KEY = "video_1"
"""The group's name, as the benchmark names its videos."""


def _segments(facts: EpisodeFacts) -> list[tuple[int, int]]:
    """Our shots as ``(first, last)`` inclusive, clipped to the episode, gaps filled, covering each frame once."""
    total = facts.episode.frames
    bounds: list[tuple[int, int]] = []
    reach = 0
    for shot in sorted(facts.shots, key=lambda s: s.start_frame):
        start, end = max(shot.start_frame, reach), min(shot.end_frame, total)
        if end <= start:
            continue
        if start > reach:
            bounds.append((reach, start - 1))
        bounds.append((start, end - 1))
        reach = end
    if reach < total:
        bounds.append((reach, total - 1))
    return bounds


def tvsum_arrays(facts: EpisodeFacts, *, seconds: float | None = None) -> dict[str, np.ndarray]:
    """The benchmark layout of one episode (see the module docstring), as arrays by h5 key.

    Args:
        facts: The indexed episode.
        seconds: The reel's budget for ``user_summary``; None uses 15 % of the episode, as the benchmark does.

    Raises:
        ReelError: As :func:`animevid.reel.choose_shots`.
    """
    total = facts.episode.frames
    budget = SUMMARY_PROPORTION * total / float(reel_rate(facts)) if seconds is None else seconds
    scores = frame_importance(facts)
    picks = np.arange(0, total, PICK_STEP, dtype=np.int32)
    segments = np.array(_segments(facts), dtype=np.int32).reshape(-1, 2)
    summary = np.zeros((1, total), dtype=np.float32)
    for shot in choose_shots(facts, budget):
        summary[0, shot.start_frame : shot.end_frame] = 1.0
    return {
        "n_frames": np.int32(total),
        "picks": picks,
        "n_steps": np.int32(len(picks)),
        "change_points": segments,
        "n_frame_per_seg": (segments[:, 1] - segments[:, 0] + 1).astype(np.int32),
        "gtscore": scores[picks],
        "user_summary": summary,
        "gtsummary": summary[0, picks],
        "frame_scores": scores,
    }


def _json_path(out: Path) -> Path:
    beside = out.with_suffix(".json")
    return beside if beside != out else out.with_name(out.name + ".json")


def write_tvsum(facts: EpisodeFacts, out_path: str | Path, *, seconds: float | None = None) -> Path:
    """Write the episode's per-frame importance and shot layout as a SumMe/TVSum-style h5, and the same as JSON.

    The JSON, beside the h5 with the suffix ``.json``, holds the same keys as lists. Both are written atomically.

    Args:
        facts: The indexed episode (:func:`animevid.clips.open_episode`).
        out_path: The .h5 file to write.
        seconds: The reel budget behind ``user_summary``; None uses 15 % of the episode (the benchmark's).

    Returns:
        The h5 file's path.

    Raises:
        ReelError: As :func:`animevid.reel.choose_shots`.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = tvsum_arrays(facts, seconds=seconds)

    def write_h5(partial: Path) -> None:
        with h5py.File(partial, "w") as h5:
            group = h5.create_group(VIDEO_KEY)
            for key, value in arrays.items():
                group.create_dataset(key, data=value)
            group.create_dataset("video_name", data=facts.name)
            group.attrs["fps"] = float(reel_rate(facts))
            group.attrs["source"] = str(facts.path)

    write_atomically(out, write_h5)
    document = {
        VIDEO_KEY: {
            **{key: value.tolist() for key, value in arrays.items()},
            "video_name": facts.name,
            "fps": float(reel_rate(facts)),
        }
    }

    def write_json(partial: Path) -> None:
        partial.write_text(json.dumps(document), encoding="utf-8")

    write_atomically(_json_path(out), write_json)
    return out
