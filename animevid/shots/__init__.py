"""Shot boundaries: hard cuts, fades and dissolves, found on the shared one-pass frame stream.

Detectors register by name in :data:`SHOT_DETECTORS`: ``classic`` (the default: cheap
descriptors, a small fitted scorer and explicit flash/fade/dissolve rules, see
:mod:`animevid.shots._classic`) and ``transnetv2`` (the TransNetV2 network, when the
``neural`` extra is installed). Each is a :class:`~animevid.engine.Stage` registered as ``shots``
for every command, whose ``finish()`` returns the episode's :class:`~animevid.model.Shot` list.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from animevid.config import Config
from animevid.engine import COMMANDS, STAGES
from animevid.errors import ConfigError
from animevid.model import Shot
from animevid.shots import _classic
from animevid.shots._base import SHOT_DETECTORS, Boundary, ShotStage, boundaries_to_shots

with contextlib.suppress(ImportError):  # optional: "transnetv2" registers only when its package imports
    from animevid.shots import _transnet  # noqa: F401

__all__ = [
    "SHOT_DETECTORS",
    "Boundary",
    "ShotResult",
    "ShotStage",
    "boundaries_to_shots",
    "make_detector",
    "model_digest",
]


@dataclass(frozen=True)
class ShotResult:
    """The shots of one video."""

    video: str
    """The video file."""
    fps: float
    """Nominal frame rate."""
    frames: int
    """Frames decoded."""
    shots: list[Shot]
    """Shots in order, covering every frame."""

    def as_dict(self) -> dict[str, Any]:
        """The ``animevid shots --json`` object (DESIGN.md)."""
        return {
            "video": self.video,
            "fps": round(self.fps, 6),
            "frames": self.frames,
            "shots": [
                {
                    "start_frame": s.start_frame,
                    "end_frame": s.end_frame,
                    "start_seconds": round(s.start_seconds, 6),
                    "end_seconds": round(s.end_seconds, 6),
                    "transition": s.transition,
                }
                for s in self.shots
            ],
        }


def make_detector(config: Config, device: str, name: str | None = None) -> ShotStage:
    """The configured shot detector as a stage (``name`` overrides ``config.shots.detector``).

    Args:
        config: Options (``shots.detector``, ``shots.threshold``, ``shots.model``).
        device: The resolved device.
        name: A detector name overriding the config's.

    Raises:
        UnknownNameError: No detector of that name.
        ConfigError: ``shots.model`` is set for another detector, or is no scorer.
        BackendUnavailableError: It is known but its package is not installed.
    """
    detector = name or config.shots.detector
    if not config.shots.model:
        return SHOT_DETECTORS.create(detector, device=device, threshold=config.shots.threshold)
    if detector != "classic":
        raise ConfigError(f"shots.model is a scorer of the classic detector; detector {detector!r} takes none")
    model = _classic.load_model(config.shots.model)
    return SHOT_DETECTORS.create(detector, device=device, threshold=config.shots.threshold, model=model)


def model_digest(config: Config) -> str:
    """Hash of the classic detector's scorer weights that ``config`` selects (shipped or ``shots.model``)."""
    return _classic.model_digest(_classic.load_model(config.shots.model or None))


# every command finds the shots: the configured detector (shots.detector) is the stage
STAGES.add("shots", build=make_detector, commands=COMMANDS, order=0)
