"""What every shot detector shares: the stage interface, the registry, boundaries to shots."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
import torch

from animevid._columns import Column
from animevid.decode import FrameBatch
from animevid.engine import Stage, Stored
from animevid.model import Shot, Transition
from animevid.registry import Registry


@dataclass(frozen=True)
class Boundary:
    """The first frame of a new shot and how it begins."""

    frame: int
    """First frame of the incoming shot."""
    transition: Transition
    """cut, fade or dissolve."""
    score: float = 1.0
    """Detector confidence, 0..1."""


class ShotStage(Stage[Shot, list[Shot]]):
    """A shot-boundary detector on the shared frame stream; its records (at the end) and output are the shots.

    Subclasses implement :meth:`_observe` (see every batch) and :meth:`_boundaries` (decide
    at the end); this class keeps the timestamps and turns boundaries into shots, which it
    stores as the catalog's ``shots`` rows.

    Args:
        device: Device the batches arrive on.
        threshold: Confidence above which a frame starts a new shot.
    """

    name: ClassVar[str] = "shots"

    def __init__(self, *, device: str | torch.device = "cpu", threshold: float = 0.5) -> None:
        super().__init__(device=device)
        self.threshold = threshold
        self._pts = Column(np.float64)  # 8 bytes a frame (a list of floats took 32)

    def process(self, batch: FrameBatch) -> Sequence[Shot]:
        """Observe a batch; shots are only final at the end of the stream."""
        self._pts.extend(batch.pts_seconds.cpu().numpy().astype(np.float64))
        if len(batch):
            self._observe(batch)
        return []

    def finish(self) -> Sequence[Shot]:
        """The episode's shots, in order, covering every frame."""
        frames = len(self._pts)
        if frames == 0:
            return []
        return boundaries_to_shots(self._boundaries(frames), self._pts.view())

    def stored(self, output: list[Shot]) -> Stored:
        """The catalog's ``shots`` rows, numbered in order."""
        return Stored(rows={"shots": [{"shot_index": i, **asdict(shot)} for i, shot in enumerate(output)]})

    @abstractmethod
    def _observe(self, batch: FrameBatch) -> None:
        """Take in the next batch (frame order)."""

    @abstractmethod
    def _boundaries(self, frames: int) -> list[Boundary]:
        """Boundaries over the ``frames`` frames seen."""


SHOT_DETECTORS: Registry[ShotStage] = Registry("shot detector")
"""Shot detectors by name (classic, transnetv2)."""


def boundaries_to_shots(boundaries: Sequence[Boundary], pts: Sequence[float] | np.ndarray) -> list[Shot]:
    """Shots from boundaries; the first shot starts at frame 0 with transition ``start``."""
    frames = len(pts)
    step = float(np.median(np.diff(pts))) if frames > 1 else 1 / 24
    starts: list[tuple[int, Transition]] = [(0, "start")]
    for b in sorted(boundaries, key=lambda b: b.frame):
        if starts[-1][0] < b.frame < frames:
            starts.append((b.frame, b.transition))
    ends = [s for s, _ in starts[1:]] + [frames]
    return [
        Shot(
            start_frame=start,
            end_frame=end,
            start_seconds=float(pts[start]),
            end_seconds=float(pts[end]) if end < frames else float(pts[-1]) + step,
            transition=transition,
        )
        for (start, transition), end in zip(starts, ends, strict=True)
    ]
