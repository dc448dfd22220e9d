"""The stage interface and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from animevid.decode import FrameBatch
from animevid.registry import Registry


class Stage(ABC):
    """One analysis step fed every batch of the single decode pass.

    Args:
        device: Resolved torch device the batches arrive on.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)

    @abstractmethod
    def process(self, batch: FrameBatch) -> Sequence[Any]:
        """Consume the next batch (in frame order) and return records ready now."""

    def finish(self) -> Sequence[Any]:
        """Return records held back until the stream ended (none by default)."""
        return []


STAGES: Registry[Stage] = Registry("stage")
"""Stages by name."""


class SplittableStage(Stage):
    """A stage whose work on one episode can be split into segments that separate processes run.

    Each segment's process builds the stage from :meth:`segment_stage`, feeds it the segment's
    frames (and a few past its end) and sends back :meth:`part`. The main process then
    :meth:`absorb` s the parts in order, each from a frame where the run before hands over to it,
    so that its records are exactly those of one run over the whole stream (``animevid.parallel``).
    """

    warmup_frames: ClassVar[int] = 0
    """Frames after a fresh start whose records may still differ from a run that saw the frames before."""
    lookahead_frames: ClassVar[int] = 0
    """Frames past a frame the stage must have seen before that frame's record is final."""

    @abstractmethod
    def segment_stage(self) -> Callable[[], SplittableStage]:
        """A picklable factory of the stage a segment's process runs (on the CPU)."""

    @abstractmethod
    def part(self) -> Any:
        """After :meth:`finish` in a segment's process: the records of every frame fed (picklable)."""

    def joinable(self, part: Any) -> np.ndarray | None:
        """Per frame of ``part``: whether another run of the stage may take over after it.

        Both runs must allow it at the same frame (None: at every frame after the warm-up).
        """
        return None

    @abstractmethod
    def reset(self) -> None:
        """Forget every frame processed or absorbed (a split pass that failed is run again in one)."""

    @abstractmethod
    def absorb(self, part: Any, start: int, stop: int, pts_seconds: Sequence[float]) -> None:
        """Take frames ``[start, stop)`` of a segment's ``part`` as if this stage had processed them.

        ``pts_seconds`` are those frames' presentation times; parts come in frame order.
        """
