"""Scenes: consecutive shots that belong together (same place and moment).

:class:`ShotLookStage` (stage name ``shot-look``) runs beside the shot detector on the one
decode pass and keeps a palette, a coarse layout and the brightness of every frame; once the
shots are known, :meth:`ShotLookStage.summarise` gives one :class:`ShotLook` per shot.
:func:`segment_scenes` groups the shots into scenes from how they look, how they join (fades,
dissolves) and, when subtitle lines are given, the dialogue running across cuts and the
silences between them. :func:`animevid.pipeline.find_scenes` does all of it for one file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from animevid.model import Scene, Shot, SubtitleLine
from animevid.scenes._look import FrameLooks, ShotLook, ShotLookStage, look_distance, summarise_looks
from animevid.scenes._segment import Cues, segment_scenes

__all__ = [
    "Cues",
    "FrameLooks",
    "SceneResult",
    "ShotLook",
    "ShotLookStage",
    "lines_in",
    "look_distance",
    "segment_scenes",
    "summarise_looks",
]


def lines_in(scene: Scene, lines: Sequence[SubtitleLine]) -> list[SubtitleLine]:
    """The dialogue lines whose middle falls within ``scene``, in time order."""
    inside = [
        ln
        for ln in lines
        if ln.kind == "dialogue" and scene.start_seconds <= (ln.start_seconds + ln.end_seconds) / 2 < scene.end_seconds
    ]
    return sorted(inside, key=lambda ln: ln.start_seconds)


@dataclass(frozen=True)
class SceneResult:
    """The shots of one video grouped into scenes (what ``animevid scenes`` prints)."""

    video: str
    """The video file."""
    fps: float
    """Nominal frame rate."""
    frames: int
    """Frames decoded."""
    shots: list[Shot]
    """Shots in order, covering every frame."""
    scenes: list[Scene] = field(default_factory=list)
    """Scenes in order, covering every shot."""
    lines: list[SubtitleLine] = field(default_factory=list)
    """The subtitle lines used (every kind; scenes list their dialogue)."""

    def as_dict(self) -> dict[str, Any]:
        """The ``animevid scenes --json`` object."""
        return {
            "video": self.video,
            "fps": round(self.fps, 6),
            "frames": self.frames,
            "scenes": [
                {
                    "start_frame": s.start_frame,
                    "end_frame": s.end_frame,
                    "start_seconds": round(s.start_seconds, 6),
                    "end_seconds": round(s.end_seconds, 6),
                    "first_shot": s.first_shot,
                    "last_shot": s.last_shot,
                    "lines": [
                        {"start_seconds": ln.start_seconds, "end_seconds": ln.end_seconds, "text": ln.text}
                        for ln in lines_in(s, self.lines)
                    ],
                }
                for s in self.scenes
            ],
        }
