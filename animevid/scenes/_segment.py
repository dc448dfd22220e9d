"""Grouping consecutive shots into scenes from the picture, the transitions and the dialogue."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from animevid.config import ScenesConfig
from animevid.model import Scene, Shot, SubtitleLine
from animevid.scenes._look import FLASH_LEVELS, ShotLook, look_distance

SPAN_MARGIN_SECONDS = 0.1
"""How far a line must run past a cut on both sides to span it (lines snapped to a cut start on it)."""


@dataclass(frozen=True)
class Cues:
    """The evidence for a new scene at one cut, by cue; a scene starts when ``total >= 1``."""

    visual: float
    """From how differently the new shot looks from the current scene's last shots (0..2)."""
    transition: float
    """From a fade or a dissolve into the new shot."""
    dialogue: float
    """Against a new scene: dialogue runs across the cut (0 or minus ``dialogue_weight``)."""
    silence: float
    """From a long silence around the cut (only when dialogue lines were given)."""

    @property
    def total(self) -> float:
        """Sum of the cues."""
        return self.visual + self.transition + self.dialogue + self.silence


class _Timed:
    """Lines of some kinds sorted by start, with the queries the cues need."""

    def __init__(self, lines: Sequence[SubtitleLine], kinds: tuple[str, ...]) -> None:
        spoken = sorted((ln.start_seconds, ln.end_seconds) for ln in lines if ln.kind in kinds)
        self.starts = [s for s, _ in spoken]
        self.spans = spoken
        self.latest_end: list[float] = []  # running max of ends: lines may overlap
        top = float("-inf")
        for _, end in spoken:
            top = max(top, end)
            self.latest_end.append(top)

    def __bool__(self) -> bool:
        return bool(self.spans)

    def binds(self, t: float, gap_seconds: float) -> bool:
        """A line spans ``t``, or the lines either side of it are less than ``gap_seconds`` apart."""
        k = bisect.bisect_right(self.starts, t - SPAN_MARGIN_SECONDS)  # lines starting clearly before t
        before_end = self.latest_end[k - 1] if k else float("-inf")
        if before_end >= t + SPAN_MARGIN_SECONDS:
            return True
        after = bisect.bisect_left(self.starts, t - SPAN_MARGIN_SECONDS)
        after_start = self.starts[after] if after < len(self.starts) else float("inf")
        return after_start - before_end < gap_seconds

    def silent(self, t: float, seconds: float) -> bool:
        """No line is shown within ``seconds`` of ``t``."""
        k = bisect.bisect_right(self.starts, t + seconds)
        return not k or self.latest_end[k - 1] <= t - seconds


def segment_scenes(
    shots: Sequence[Shot],
    looks: Sequence[ShotLook],
    lines: Sequence[SubtitleLine] = (),
    *,
    config: ScenesConfig | None = None,
) -> list[Scene]:
    """Group consecutive shots into scenes.

    Each cut (the start of every shot but the first) is weighed by four cues, summed into one
    evidence (see :class:`Cues`); the cut starts a new scene when the sum reaches 1:

    - **visual**: the new shot's look (palette and background layout, :func:`look_distance`) is
      compared with each of the last ``compare_shots`` shots of the current scene and the
      closest counts, so shot/reverse-shot (A-B-A-B) stays one scene. Up to ``same_distance``
      this gives nothing; it rises linearly to 1 at ``split_distance`` (enough alone) and is
      capped at 2.
    - **transition**: a fade through black or white (the detector's ``fade``, or a black or
      white frame at the cut that the shots themselves are not) adds ``fade_weight`` (1: a fade
      alone separates scenes); a dissolve adds ``dissolve_weight``, enough together with a
      partial change of look.
    - **dialogue** (``kind == "dialogue"`` lines only): a line running across the cut, or lines
      less than ``dialogue_gap_seconds`` apart on both sides of it, subtract ``dialogue_weight``:
      a conversation holds shots together even when the camera turns to another background.
    - **silence**: when dialogue lines were given, no dialogue or song line within
      ``silence_seconds`` on both sides adds ``silence_weight``, tipping doubtful cuts toward a
      new scene (a song means music plays: no pause).

    Finally, runs of two or more consecutive would-be scenes each shorter than
    ``montage_seconds`` merge into one (a recap or montage cuts between places quickly), except
    across a fade.

    Args:
        shots: The episode's shots, in order.
        looks: One look per shot (:meth:`ShotLookStage.summarise`), same order.
        lines: Subtitle lines, any order: dialogue lines bind cuts; dialogue and song lines break silences.
        config: Options (None: defaults).

    Returns:
        Scenes in order, covering every shot.

    Raises:
        ValueError: ``looks`` does not hold one look per shot.
    """
    cfg = config or ScenesConfig()
    if len(looks) != len(shots):
        raise ValueError(f"segment_scenes needs one look per shot, got {len(looks)} looks for {len(shots)} shots")
    if not shots:
        return []
    speech, sound = _Timed(lines, ("dialogue",)), _Timed(lines, ("dialogue", "song"))
    starts = [0]
    for i in range(1, len(shots)):
        if scene_cues(shots, looks, i, starts[-1], (speech, sound), cfg).total >= 1.0:
            starts.append(i)
    starts = _merge_montages(starts, shots, cfg.montage_seconds)
    return [scene_of(shots, a, b - 1) for a, b in zip(starts, [*starts[1:], len(shots)], strict=True)]


def scene_cues(
    shots: Sequence[Shot],
    looks: Sequence[ShotLook],
    index: int,
    scene_start: int,
    timed: tuple[_Timed, _Timed],
    cfg: ScenesConfig,
) -> Cues:
    """The cues at the cut into shot ``index`` when the current scene began at shot ``scene_start``.

    ``timed`` holds the dialogue lines, and the dialogue and song lines (music is no silence).
    """
    recent = looks[max(scene_start, index - cfg.compare_shots) : index]
    distance = min(look_distance(look, looks[index], palette_weight=cfg.palette_weight) for look in recent)
    visual = min(2.0, max(0.0, (distance - cfg.same_distance) / (cfg.split_distance - cfg.same_distance)))
    transition = 0.0
    if shots[index].transition == "fade" or _faded(looks[index - 1], looks[index]):
        transition = cfg.fade_weight
    elif shots[index].transition == "dissolve":
        transition = cfg.dissolve_weight
    t = shots[index].start_seconds
    speech, sound = timed
    bound = -cfg.dialogue_weight if speech and speech.binds(t, cfg.dialogue_gap_seconds) else 0.0
    silence = cfg.silence_weight if speech and sound.silent(t, cfg.silence_seconds) else 0.0
    return Cues(visual=visual, transition=transition, dialogue=bound, silence=silence)


def _faded(before: ShotLook, after: ShotLook) -> bool:
    """A black or white frame at the cut, unlike the shot it belongs to (not a dark scene)."""
    out = before.faded_out and abs(before.tail_luma - before.mean_luma) > FLASH_LEVELS
    into = after.faded_in and abs(after.head_luma - after.mean_luma) > FLASH_LEVELS
    return out or into


def _merge_montages(starts: list[int], shots: Sequence[Shot], seconds: float) -> list[int]:
    """Drop the boundaries between consecutive scenes each shorter than ``seconds`` (not fades)."""
    ends = [*starts[1:], len(shots)]
    short = [shots[b - 1].end_seconds - shots[a].start_seconds < seconds for a, b in zip(starts, ends, strict=True)]
    return [s for k, s in enumerate(starts) if not (k and short[k] and short[k - 1] and shots[s].transition != "fade")]


def scene_of(shots: Sequence[Shot], first: int, last: int) -> Scene:
    """The scene made of ``shots[first..last]`` (inclusive)."""
    return Scene(
        start_frame=shots[first].start_frame,
        end_frame=shots[last].end_frame,
        start_seconds=shots[first].start_seconds,
        end_seconds=shots[last].end_seconds,
        first_shot=first,
        last_shot=last,
    )
