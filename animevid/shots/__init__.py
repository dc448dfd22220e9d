"""Shot boundaries: hard cuts, fades and dissolves, found on the shared one-pass frame stream.

Detectors register by name in :data:`SHOT_DETECTORS`: ``classic`` (the default: cheap
descriptors, a small fitted scorer and explicit flash/fade/dissolve rules, see
:mod:`animevid.shots._classic`) and ``transnetv2`` (the TransNetV2 network, when the
``neural`` extra is installed). Each is a :class:`~animevid.stages.Stage` named ``shots``
whose ``finish()`` returns the episode's :class:`~animevid.model.Shot` list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from animevid.config import Config
from animevid.model import Shot
from animevid.shots import _classic
from animevid.shots._base import SHOT_DETECTORS, Boundary, ShotStage, boundaries_to_shots

if TYPE_CHECKING:
    from animevid.device import ResolvedDevice
    from animevid.engine import Stage

with contextlib.suppress(ImportError):  # optional: "transnetv2" registers only when its package imports
    from animevid.shots import _transnet  # noqa: F401

__all__ = [
    "SHOT_DETECTORS",
    "Boundary",
    "ShotResult",
    "ShotStage",
    "boundaries_to_shots",
    "detect_shots",
    "make_detector",
    "shot_pass",
]

del _classic


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

    Raises:
        UnknownNameError: No detector of that name.
        BackendUnavailableError: It is known but its package is not installed.
    """
    return SHOT_DETECTORS.create(name or config.shots.detector, device=device, threshold=config.shots.threshold)


def detect_shots(
    path: str | Path,
    *,
    config: Config | None = None,
    detector: str | None = None,
    device: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ShotResult:
    """Decode ``path`` once and return its shots.

    Args:
        path: The video.
        config: Options (None: defaults).
        detector: Detector name overriding ``config.shots.detector``.
        device: Device overriding ``config.device``.
        progress: Called with the number of frames after each batch.
    """
    from animevid.device import resolve_device

    cfg = config or Config()
    return shot_pass(path, cfg, resolve_device(device or cfg.device), detector=detector, progress=progress)


def shot_pass(
    path: str | Path,
    config: Config,
    device: ResolvedDevice,
    beside: Sequence[Stage] = (),
    *,
    detector: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ShotResult:
    """Decode ``path`` once through the shot detector and the ``beside`` stages (which keep their records).

    The one pass behind :func:`detect_shots`, ``analyze_episode`` and ``find_scenes``.

    Args:
        path: The video.
        config: Options.
        device: The resolved device (``cpu`` or ``cuda``) the stages run on.
        beside: Stages that see the same batches after the detector.
        detector: Detector name overriding ``config.shots.detector``.
        progress: Called with the number of frames after each batch.
    """
    from animevid.decode import open_video
    from animevid.engine import run_pass, workers_for

    source = open_video(path, config=config.decode, device=device)
    stages = [make_detector(config, device, detector), *beside]
    records = run_pass(source, stages, progress=progress, workers=workers_for(config.decode.workers))
    return ShotResult(video=str(path), fps=source.info.fps_float, frames=source.frames_decoded, shots=records["shots"])
