"""The stage interface and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
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


@dataclass(frozen=True)
class SegmentRun:
    """What one stage's run over a segment left, and which of its frames to take."""

    part: Any
    """:meth:`SplittableStage.part` of the run."""
    records: Sequence[Any]
    """What ``process`` and ``finish`` returned in the run."""
    first: int
    """Episode frame number of the run's first frame."""
    start: int
    """First episode frame to take."""
    stop: int
    """Episode frame after the last to take."""
    pts_seconds: Sequence[float]
    """Presentation times of frames ``[start, stop)``."""

    def records_taken(self) -> list[Any]:
        """The run's records of frames ``[start, stop)``, for stages whose records each name their ``frame_index``."""
        return [r for r in self.records if self.start <= r.frame_index < self.stop]


class SplittableStage(Stage):
    """A stage whose work on one episode can be split into segments that separate processes run.

    Each segment's process builds the stage from :meth:`segment_stage`, feeds it the segment's
    frames (and a few past its end, with the episode's own frame numbers and times) and sends back
    its records and :meth:`part`. The main process then :meth:`absorb` s the runs in order, each
    from a frame where the run before hands over to it, so that its records are exactly those of
    one run over the whole stream (``animevid.engine._split``).
    """

    warmup_frames: ClassVar[int] = 0
    """Frames after a fresh start whose records may still differ from a run that saw the frames before."""
    lookahead_frames: ClassVar[int] = 0
    """Frames past a frame the stage must have seen before that frame's record is final."""
    cpu_only: ClassVar[bool] = False
    """It computes on the CPU whatever device its batches arrive on, so its records do not depend on it."""

    def segment_stage(self) -> Callable[[], SplittableStage]:
        """A picklable factory of the stage a segment's process runs (default: this class, same settings)."""
        return partial(type(self), **self.settings())

    def settings(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this stage's settings (device excepted)."""
        return {}

    def part(self) -> Any:
        """After :meth:`finish` in a segment's process: what :meth:`absorb` needs beside the records (picklable)."""
        return None

    def joinable(self, part: Any) -> np.ndarray | None:
        """Per frame of the run (``part``): whether another run of the stage may take over after it.

        Both runs must allow it at the same frame (None: at every frame after the warm-up).
        """
        return None

    @abstractmethod
    def reset(self) -> None:
        """Forget every frame processed or absorbed (a split pass that failed is run again in one)."""

    @abstractmethod
    def absorb(self, run: SegmentRun) -> Sequence[Any]:
        """Take frames ``[run.start, run.stop)`` of a segment's run as if this stage had processed them.

        Runs come in frame order. Returns the records ``process`` would have returned for them.
        """
