"""The digest's JSON: everything the page shows, as numbers and text (pictures are named by frame)."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from animevid.clips import EpisodeFacts
from animevid.digest._plan import ShownLoop, cut_rate, shot_scenes, summary
from animevid.model import Scene, SubtitleLine

SCHEMA = 1
"""Version of the JSON's layout."""


def _r(value: float) -> float:
    return round(float(value), 3)


def _episode(facts: EpisodeFacts) -> dict[str, Any]:
    episode = facts.episode
    number = facts.number
    return {
        "episode_id": facts.episode_id,
        "name": facts.name,
        "path": episode.path,
        "series": facts.series,
        "number": number if isinstance(number, int | float) or number is None else str(number),
        "content_hash": episode.content_hash,
        "width": episode.width,
        "height": episode.height,
        "fps": episode.fps,
        "frames": episode.frames,
        "duration_seconds": episode.duration_seconds,
    }


def _shots(facts: EpisodeFacts) -> list[dict[str, Any]]:
    owner = shot_scenes(facts)
    rows = []
    for index, shot in enumerate(facts.shots):
        row: dict[str, Any] = {
            "index": index,
            "start_frame": shot.start_frame,
            "end_frame": shot.end_frame,
            "start_seconds": shot.start_seconds,
            "end_seconds": shot.end_seconds,
            "transition": shot.transition,
            "scene": owner[index],
            "segment": facts.segment_kind(shot.start_frame, shot.end_frame),
            "cast": list(facts.cast.get(index, ())),
        }
        analysis = facts.analyses.get(index)
        if analysis is not None:
            row.update(
                drawings=analysis.drawings,
                drawings_per_second=analysis.drawings_per_second,
                cadence=analysis.cadence,
                camera=analysis.camera,
                motion=analysis.motion,
                sakuga_score=analysis.sakuga_score,
                tags=list(analysis.tags),
            )
        rows.append(row)
    return rows


def scene_lines(facts: EpisodeFacts) -> list[list[SubtitleLine]]:
    """Each scene's dialogue lines: every dialogue line goes to the scene its start falls in (the last that
    starts at or before it; the first scene for a line before any)."""
    found: list[list[SubtitleLine]] = [[] for _ in facts.scenes]
    if not found:
        return found
    starts = [scene.start_seconds for scene in facts.scenes]
    for line in facts.lines:
        if line.kind != "dialogue":
            continue
        found[max(0, bisect_right(starts, line.start_seconds + 1e-6) - 1)].append(line)
    return found


def _scene_cast(facts: EpisodeFacts, scene: Scene) -> list[str]:
    counts: Counter[str] = Counter()
    for shot in range(scene.first_shot, scene.last_shot + 1):
        counts.update(facts.cast.get(shot, ()))
    return [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _keyframe(facts: EpisodeFacts, frame: int, owner: Sequence[int]) -> dict[str, Any]:
    shot = bisect_right([s.start_frame for s in facts.shots], frame) - 1
    seconds = frame / facts.episode.fps if facts.episode.fps > 0 else 0.0
    if shot >= 0:  # the shot's own clock, which follows the stream's repaired timestamps
        start = facts.shots[shot]
        seconds = start.start_seconds + (frame - start.start_frame) / max(facts.episode.fps, 1e-6)
    return {"frame": frame, "seconds": _r(seconds), "shot": shot, "scene": owner[shot] if shot >= 0 else -1}


def _scenes(facts: EpisodeFacts, keyframes: Mapping[int, Sequence[int]]) -> list[dict[str, Any]]:
    owner = shot_scenes(facts)
    lines = scene_lines(facts)
    rows = []
    for index, scene in enumerate(facts.scenes):
        rows.append(
            {
                "index": index,
                **asdict(scene),
                "shots": scene.last_shot - scene.first_shot + 1,
                "segment": facts.segment_kind(scene.start_frame, scene.end_frame),
                "keyframes": [_keyframe(facts, f, owner) for f in keyframes.get(index, ())],
                "cast": _scene_cast(facts, scene),
                "lines": [
                    {
                        "start_seconds": line.start_seconds,
                        "end_seconds": line.end_seconds,
                        "text": line.text,
                        "style": line.style,
                        "line_number": line.line_number,
                    }
                    for line in lines[index]
                ],
            }
        )
    return rows


def _highlights(facts: EpisodeFacts, shots: Sequence[int], frames: Mapping[int, int]) -> list[dict[str, Any]]:
    owner = shot_scenes(facts)
    rows = []
    for index in shots:
        shot, analysis = facts.shots[index], facts.analyses[index]
        rows.append(
            {
                "shot": index,
                "scene": owner[index],
                "frame": frames.get(index),
                "start_seconds": shot.start_seconds,
                "end_seconds": shot.end_seconds,
                "sakuga_score": analysis.sakuga_score,
                "cadence": analysis.cadence,
                "camera": analysis.camera,
                "drawings_per_second": analysis.drawings_per_second,
                "motion": analysis.motion,
                "tags": list(analysis.tags),
                "cast": list(facts.cast.get(index, ())),
            }
        )
    return rows


def _loops(facts: EpisodeFacts, loops: Sequence[ShownLoop], animated: set[int]) -> list[dict[str, Any]]:
    fps = max(facts.episode.fps, 1e-6)
    return [
        {
            "shot": shown.shot_index,
            **asdict(shown.loop),
            "start_seconds": _r(
                facts.shots[shown.shot_index].start_seconds
                + (shown.loop.start_frame - facts.shots[shown.shot_index].start_frame) / fps
            ),
            "period_seconds": _r(shown.loop.period_frames / fps),
            "animated": shown.loop.start_frame in animated,
        }
        for shown in loops
    ]


def build_report(
    facts: EpisodeFacts,
    *,
    keyframes: Mapping[int, Sequence[int]],
    highlights: Sequence[int],
    highlight_frames: Mapping[int, int],
    loops: Sequence[ShownLoop],
    animated: set[int],
    files: Mapping[str, str | None],
    notes: Sequence[str],
) -> dict[str, Any]:
    """The JSON of one episode's digest.

    Args:
        facts: The episode as the catalog holds it.
        keyframes: Keyframe frames by scene index (empty where no picture was taken).
        highlights: Highlight shot indexes, best first.
        highlight_frames: The frame each highlight's picture shows, by shot index.
        loops: Loops shown; ``animated`` holds the start frames of those with an animation.
        animated: Start frames of the loops whose animation was made.
        files: The digest's file names (html, json, contact).
        notes: What the page warns about (a moved file, missing pictures).
    """
    return {
        "schema": SCHEMA,
        "episode": _episode(facts),
        "summary": summary(facts),
        "segments": [asdict(segment) for segment in facts.segments],
        "shots": _shots(facts),
        "scenes": _scenes(facts, keyframes),
        "highlights": _highlights(facts, highlights, highlight_frames),
        "loops": _loops(facts, loops, animated),
        "plots": {"cut_rate": [list(point) for point in cut_rate(facts)]},
        "files": dict(files),
        "notes": list(notes),
    }
