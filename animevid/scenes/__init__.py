"""Scenes: consecutive shots that belong together (same place and moment).

:class:`ShotLookStage` (stage name ``shot-look``) runs beside the shot detector on the one
decode pass and keeps a palette, a coarse layout and the brightness of every frame; once the
shots are known, :meth:`ShotLookStage.summarise` gives one :class:`ShotLook` per shot.
:func:`segment_scenes` groups the shots into scenes from how they look, how they join (fades,
dissolves) and, when subtitle lines are given, the dialogue running across cuts and the
silences between them. :func:`find_scenes` does all of it for one file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from animevid.config import Config
from animevid.model import Scene, SubtitleLine
from animevid.scenes._look import FrameLooks, ShotLook, ShotLookStage, look_distance, summarise_looks
from animevid.scenes._segment import Cues, segment_scenes
from animevid.shots import ShotResult

__all__ = [
    "Cues",
    "FrameLooks",
    "SceneResult",
    "ShotLook",
    "ShotLookStage",
    "find_scenes",
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
class SceneResult(ShotResult):
    """The shots of one video (see :class:`~animevid.shots.ShotResult`) grouped into scenes."""

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


def find_scenes(
    path: str | Path,
    *,
    lines: Sequence[SubtitleLine] = (),
    config: Config | None = None,
    device: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SceneResult:
    """Decode ``path`` once: find its shots and their looks, then group the shots into scenes.

    Args:
        path: The video.
        lines: Subtitle lines of the video (e.g. from :func:`animevid.subs.read_lines`); only
            dialogue lines are used. Empty: scenes from the picture alone.
        config: Options (None: defaults); ``config.scenes`` tunes the grouping.
        device: Device overriding ``config.device``.
        progress: Called with the number of frames after each batch.
    """
    from animevid.device import resolve_device
    from animevid.shots import shot_pass

    cfg = config or Config()
    dev = resolve_device(device or cfg.device)
    looks = ShotLookStage(device=dev)
    found = shot_pass(path, cfg, dev, [looks], progress=progress)
    scenes = segment_scenes(found.shots, looks.summarise(found.shots), lines, config=cfg.scenes)
    return SceneResult(
        video=found.video,
        fps=found.fps,
        frames=found.frames,
        shots=found.shots,
        scenes=scenes,
        lines=list(lines),
    )
