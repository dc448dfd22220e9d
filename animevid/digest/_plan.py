"""What a digest shows, decided from the catalog's facts alone (no pixel): the numbers in the header,
the timeline, the frames each scene may show, the sakuga highlights and the loops.

Every frame number here is a 0-based decode-order index, as in the catalog.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from animevid.clips import EpisodeFacts
from animevid.model import CADENCE_NAMES, Loop, Scene, Shot

KEYFRAMES_PER_SCENE = 4
"""Keyframes a scene shows at most (fewer when its candidates look alike, see :mod:`animevid.digest._pictures`)."""
KEYFRAMES_BY_LENGTH = ((8.0, 2), (20.0, 3))
"""Fewer keyframes for short scenes: under 8 s at most 2, under 20 s at most 3 (a 23-minute episode of 133
scenes weighs 3.9 MB with 4 for every scene, most of it keyframes)."""
HIGHLIGHTS = 8
"""Sakuga highlights shown: the top-scoring shots outside OP, ED, recaps and other repeated footage."""
LOOPS = 6
CANDIDATES = 3
"""Highlights and loops are chosen from this many times as many, best first, leaving out those whose picture
repeats one already chosen (reused footage)."""
"""Loops shown as animations at most."""
LOOP_MAX_PERIOD_FRAMES = 48
"""Longer periods (2 s at 24 fps) are listed but not animated: they would weigh more than the rest of the page."""
TOP_TAGS = 5
"""Tags named in the header and the library index."""


@dataclass(frozen=True)
class ShownLoop:
    """A loop the page animates: which shot it is in and its frames."""

    shot_index: int
    loop: Loop

    @property
    def frames(self) -> range:
        """One period: played on repeat, it is the loop itself."""
        return range(self.loop.start_frame, self.loop.start_frame + self.loop.period_frames)


def shot_scenes(facts: EpisodeFacts) -> list[int]:
    """The index of the scene each shot belongs to (-1 for a shot no scene covers)."""
    owner = [-1] * len(facts.shots)
    for number, scene in enumerate(facts.scenes):
        for shot in range(scene.first_shot, min(scene.last_shot + 1, len(owner))):
            owner[shot] = number
    return owner


def middle_frame(shot: Shot) -> int:
    """The frame in the middle of a shot."""
    return shot.start_frame + shot.frames // 2


def keyframes_wanted(scene: Scene) -> int:
    """How many keyframes a scene may show, by its length (:data:`KEYFRAMES_BY_LENGTH`)."""
    seconds = scene.end_seconds - scene.start_seconds
    return next((most for shorter, most in KEYFRAMES_BY_LENGTH if seconds < shorter), KEYFRAMES_PER_SCENE)


def shot_picture(facts: EpisodeFacts, index: int) -> int:
    """The frame that pictures a shot (highlights, contact sheet): its middle, or the next that is no impact frame."""
    shot, analysis = facts.shots[index], facts.analyses.get(index)
    return _clear_frame(shot, middle_frame(shot), set(analysis.flash_frames) if analysis is not None else set())


def scene_candidates(facts: EpisodeFacts, scene: Scene) -> list[tuple[int, float]]:
    """Frames a scene's keyframes are picked from, with the screen time each stands for (seconds).

    Each shot offers its middle frame; in a scene of few shots (fewer than twice
    :data:`KEYFRAMES_PER_SCENE`) each shot also offers the frames a quarter and three quarters in,
    so that a long single take can still show how it changes. An impact frame is never offered: the
    next frame of the shot stands in for it.
    """
    shots = facts.shots[scene.first_shot : scene.last_shot + 1]
    points = (0.5,) if len(shots) >= 2 * KEYFRAMES_PER_SCENE else (0.25, 0.5, 0.75)
    found: dict[int, float] = {}
    for offset, shot in enumerate(shots):
        analysis = facts.analyses.get(scene.first_shot + offset)
        flashes = set(analysis.flash_frames) if analysis is not None else set()
        frames = {_clear_frame(shot, shot.start_frame + int(p * shot.frames), flashes) for p in points}
        for frame in frames:
            found[frame] = (shot.end_seconds - shot.start_seconds) / len(frames)
    return sorted(found.items())


def _clear_frame(shot: Shot, frame: int, flashes: set[int]) -> int:
    """``frame``, or the first later frame of the shot that is no impact frame (``frame`` when all are)."""
    for candidate in range(frame, shot.end_frame):
        if candidate not in flashes:
            return candidate
    return frame


def highlight_shots(facts: EpisodeFacts, count: int = HIGHLIGHTS) -> list[int]:
    """Indexes of the top sakuga shots, best first, leaving out shots in repeated footage (OP, ED, recap...)."""
    ranked = sorted(facts.analyses.values(), key=lambda a: (-a.sakuga_score, a.shot_index))
    picked = []
    for analysis in ranked:
        if analysis.shot_index >= len(facts.shots) or analysis.sakuga_score <= 0:
            continue
        shot = facts.shots[analysis.shot_index]
        if facts.repeated(shot.start_frame, shot.end_frame):
            continue
        picked.append(analysis.shot_index)
        if len(picked) == count:
            break
    return picked


def shown_loops(facts: EpisodeFacts, count: int = LOOPS) -> list[ShownLoop]:
    """The loops to animate: in the best-scoring shots first, outside repeated footage, periods not too long."""
    found = []
    for index, analysis in facts.analyses.items():
        if index >= len(facts.shots):
            continue
        shot = facts.shots[index]
        if facts.repeated(shot.start_frame, shot.end_frame):
            continue
        for loop in analysis.loops:
            if loop.period_frames <= LOOP_MAX_PERIOD_FRAMES:
                found.append((-analysis.sakuga_score, -loop.repeats, loop.start_frame, ShownLoop(index, loop)))
    found.sort(key=lambda item: item[:3])
    return [item[3] for item in found[:count]]


def summary(facts: EpisodeFacts) -> dict[str, object]:
    """The header's numbers: length, counts, drawings per second, cadence mix, cut rate, top tags."""
    seconds = {i: shot.end_seconds - shot.start_seconds for i, shot in enumerate(facts.shots)}
    analysed = {i: a for i, a in facts.analyses.items() if i in seconds}
    screen = sum(seconds[i] for i in analysed) or 1.0
    drawings = sum(a.drawings_per_second * seconds[i] for i, a in analysed.items()) / screen
    cadence = dict.fromkeys(CADENCE_NAMES, 0.0)
    tags: Counter[str] = Counter()
    for i, analysis in analysed.items():
        cadence[analysis.cadence] = cadence.get(analysis.cadence, 0.0) + seconds[i]
        tags.update(analysis.tags)
    duration = facts.episode.duration_seconds
    cuts = sum(1 for shot in facts.shots if shot.transition == "cut")
    return {
        "duration_seconds": round(duration, 3),
        "frames": facts.episode.frames,
        "fps": round(facts.episode.fps, 3),
        "shots": len(facts.shots),
        "scenes": len(facts.scenes),
        "cuts": cuts,
        "cuts_per_minute": round(cuts * 60 / duration, 2) if duration > 0 else 0.0,
        "mean_shot_seconds": round(duration / len(facts.shots), 2) if facts.shots else 0.0,
        "drawings_per_second": round(drawings, 2),
        "cadence_mix": {name: round(cadence[name] / screen, 3) for name in CADENCE_NAMES if cadence[name] > 0},
        "top_tags": [tag for tag, _ in tags.most_common(TOP_TAGS)],
        "dialogue_lines": sum(1 for line in facts.lines if line.kind == "dialogue"),
    }


def cut_rate(facts: EpisodeFacts, *, points: int = 200) -> list[tuple[float, float]]:
    """Cuts per minute over the episode: (seconds, rate) in a window a twentieth of the episode wide (5-60 s)."""
    duration = facts.episode.duration_seconds
    if duration <= 0:
        return []
    window = min(60.0, max(5.0, duration / 20))
    cuts = [shot.start_seconds for shot in facts.shots if shot.transition == "cut"]
    series = []
    for k in range(points + 1):
        at = duration * k / points
        low, high = max(0.0, at - window / 2), min(duration, at + window / 2)
        inside = sum(1 for cut in cuts if low <= cut < high)
        series.append((round(at, 3), round(inside * 60 / max(high - low, 1e-6), 2)))
    return series
