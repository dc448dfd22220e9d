"""The candidate clips of an episode (shots, loops or scenes), what is known of each, and the filters.

A scene's animation fields summarise its shots: the cadence and camera covering most of its frames,
frame-weighted drawings per second and motion, the highest sakuga score, every tag and character.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from animevid.clips import EpisodeFacts
from animevid.dataset._options import ClipFilter
from animevid.model import Shot, ShotAnalysis


@dataclass(frozen=True)
class Candidate:
    """One clip that may be exported: a frame range of an episode and what the catalog says of it."""

    key: str
    """Stable, sortable name: ``{episode_id:05d}_{index:05d}`` (loops add ``_{loop:02d}``)."""
    ordinal: int
    """Position among the episode's candidates (resuming skips those already done)."""
    index: int
    """Shot or scene index within the episode."""
    start_frame: int
    end_frame: int
    """One past the last frame."""
    start_seconds: float
    end_seconds: float
    analysis: dict[str, object] = field(default_factory=dict)
    """cadence, drawings_per_second, camera, motion, tags, sakuga_score (empty without a shot analysis)."""
    characters: tuple[str, ...] = ()
    dialogue: tuple[tuple[float, float, str], ...] = ()
    """Dialogue lines shown during the clip: (start_seconds, end_seconds, text)."""
    segment: str | None = None
    """The recurring segment covering most of the clip (op, ed, recap, ...), if any."""
    repeated: bool = False
    """Whether any frame lies in an OP, ED, recap, preview or eyecatch."""
    loop: dict[str, int] | None = None
    """period_frames and repeats of a loop clip."""

    @property
    def frames(self) -> int:
        """Frames in the clip."""
        return self.end_frame - self.start_frame

    @property
    def seconds(self) -> float:
        """The clip's length in seconds."""
        return self.end_seconds - self.start_seconds


def _fields(analysis: ShotAnalysis | None) -> dict[str, object]:
    if analysis is None:
        return {}
    return {
        "cadence": analysis.cadence,
        "drawings_per_second": round(float(analysis.drawings_per_second), 4),
        "camera": analysis.camera,
        "motion": round(float(analysis.motion), 4),
        "tags": list(analysis.tags),
        "sakuga_score": round(float(analysis.sakuga_score), 4),
    }


def _range_facts(facts: EpisodeFacts, start: int, end: int, start_s: float, end_s: float) -> dict[str, object]:
    span = Shot(start, end, start_s, max(start_s, end_s))
    lines = tuple((line.start_seconds, line.end_seconds, line.text) for line in facts.shot_lines(span))
    return {
        "dialogue": lines,
        "segment": facts.segment_kind(start, end),
        "repeated": facts.repeated(start, end),
    }


def _shot_candidates(facts: EpisodeFacts) -> list[Candidate]:
    out = []
    for i, shot in enumerate(facts.shots):
        out.append(
            Candidate(
                key=f"{facts.episode_id:05d}_{i:05d}",
                ordinal=i,
                index=i,
                start_frame=shot.start_frame,
                end_frame=shot.end_frame,
                start_seconds=shot.start_seconds,
                end_seconds=shot.end_seconds,
                analysis=_fields(facts.analyses.get(i)),
                characters=facts.cast.get(i, ()),
                **_range_facts(facts, shot.start_frame, shot.end_frame, shot.start_seconds, shot.end_seconds),  # type: ignore[arg-type]
            )
        )
    return out


def _loop_candidates(facts: EpisodeFacts) -> list[Candidate]:
    out: list[Candidate] = []
    fps = facts.episode.fps or 24.0
    for i, shot in enumerate(facts.shots):
        analysis = facts.analyses.get(i)
        for n, loop in enumerate(analysis.loops if analysis else ()):
            start_s = shot.start_seconds + (loop.start_frame - shot.start_frame) / fps
            end_s = shot.start_seconds + (loop.end_frame - shot.start_frame) / fps
            out.append(
                Candidate(
                    key=f"{facts.episode_id:05d}_{i:05d}_{n:02d}",
                    ordinal=len(out),
                    index=i,
                    start_frame=loop.start_frame,
                    end_frame=loop.end_frame,
                    start_seconds=round(start_s, 6),
                    end_seconds=round(end_s, 6),
                    analysis=_fields(analysis),
                    characters=facts.cast.get(i, ()),
                    loop={"period_frames": loop.period_frames, "repeats": loop.repeats},
                    **_range_facts(facts, loop.start_frame, loop.end_frame, start_s, end_s),  # type: ignore[arg-type]
                )
            )
    return out


def _most_frames(values: list[tuple[str, int]]) -> str:
    counts: Counter[str] = Counter()
    for value, frames in values:
        counts[value] += frames
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def _scene_fields(facts: EpisodeFacts, first: int, last: int) -> dict[str, object]:
    parts = [(facts.shots[i], facts.analyses[i]) for i in range(first, last + 1) if i in facts.analyses]
    if not parts:
        return {}
    total = sum(shot.frames for shot, _ in parts)
    tags = sorted({tag for _, a in parts for tag in a.tags})
    return {
        "cadence": _most_frames([(a.cadence, shot.frames) for shot, a in parts]),
        "drawings_per_second": round(sum(a.drawings_per_second * shot.frames for shot, a in parts) / total, 4),
        "camera": _most_frames([(a.camera, shot.frames) for shot, a in parts]),
        "motion": round(sum(a.motion * shot.frames for shot, a in parts) / total, 4),
        "tags": tags,
        "sakuga_score": round(max(a.sakuga_score for _, a in parts), 4),
    }


def _scene_candidates(facts: EpisodeFacts) -> list[Candidate]:
    out = []
    for i, scene in enumerate(facts.scenes):
        names: list[str] = []
        for shot in range(scene.first_shot, scene.last_shot + 1):
            names += [name for name in facts.cast.get(shot, ()) if name not in names]
        out.append(
            Candidate(
                key=f"{facts.episode_id:05d}_{i:05d}",
                ordinal=i,
                index=i,
                start_frame=scene.start_frame,
                end_frame=scene.end_frame,
                start_seconds=scene.start_seconds,
                end_seconds=scene.end_seconds,
                analysis=_scene_fields(facts, scene.first_shot, scene.last_shot),
                characters=tuple(names),
                **_range_facts(facts, scene.start_frame, scene.end_frame, scene.start_seconds, scene.end_seconds),  # type: ignore[arg-type]
            )
        )
    return out


def candidates(facts: EpisodeFacts, unit: str) -> list[Candidate]:
    """The episode's candidate clips of one unit (shot, loop or scene), in frame order."""
    build = {"shot": _shot_candidates, "loop": _loop_candidates, "scene": _scene_candidates}[unit]
    return [c for c in build(facts) if c.frames > 0]


def _analysis_reason(clip: Candidate, rules: ClipFilter) -> str | None:
    info = clip.analysis
    if rules.cadences and info.get("cadence") not in rules.cadences:
        return "cadence"
    if rules.min_sakuga > 0 and float(str(info.get("sakuga_score", -1.0))) < rules.min_sakuga:
        return "sakuga"
    tags = set(info.get("tags", ()) or ())  # type: ignore[call-overload]
    if rules.tags_any and not tags & set(rules.tags_any):
        return "tags"
    if rules.tags_all and not set(rules.tags_all) <= tags:
        return "tags"
    return None


def skip_reason(clip: Candidate, rules: ClipFilter) -> str | None:
    """The first filter that rejects the clip (one of :data:`SKIP_REASONS`), None when every filter keeps it."""
    seconds = clip.seconds
    if seconds < rules.min_seconds - 1e-9 or (rules.max_seconds is not None and seconds > rules.max_seconds + 1e-9):
        return "duration"
    reason = _analysis_reason(clip, rules)
    if reason is not None:
        return reason
    if rules.character is not None and rules.character.casefold() not in {c.casefold() for c in clip.characters}:
        return "character"
    if rules.has_dialogue is not None and bool(clip.dialogue) != rules.has_dialogue:
        return "dialogue"
    if rules.exclude_repeated and clip.repeated:
        return "repeated"
    return None
