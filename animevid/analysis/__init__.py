"""How each shot is animated: drawings, cadence, cycles, camera, impact frames, sakuga score.

:class:`AnimationStage` (stage name ``animation``) measures every frame of the one decode pass
(see :mod:`animevid.analysis._measure`); once the shots are known,
:meth:`AnimationStage.summarise` turns the measurements into one
:class:`~animevid.model.ShotAnalysis` per shot (see :mod:`animevid.analysis._shots`).
:func:`animevid.pipeline.analyze_episode` runs shots and analysis together on one file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch

from animevid.analysis._measure import LOOKAHEAD, AnimationMeter, Measures
from animevid.analysis._shots import SAKUGA_CANDIDATE, SCORE_WEIGHTS, sakuga_score, summarise
from animevid.decode import FrameBatch
from animevid.engine import STAGES, EpisodeContext, SegmentRun, SplittableStage, Stored
from animevid.model import Shot, ShotAnalysis

__all__ = [
    "SAKUGA_CANDIDATE",
    "SCORE_WEIGHTS",
    "AnalysisResult",
    "AnimationStage",
    "Measures",
    "sakuga_score",
]


@dataclass(frozen=True)
class AnimationPart:
    """What a segment's process measured (see :class:`AnimationStage`)."""

    measures: Measures
    """Every fed frame's measurements, labels not yet settled (held in memory: :meth:`Measures.copy`)."""
    drawn: dict[int, np.ndarray]
    """The pictures the labels are settled from (:meth:`DrawingMemory.replay`), by fed frame."""
    frame_width: int


@STAGES.register("animation", commands=("index", "analyze"), order=10)
class AnimationStage(SplittableStage[None, list[ShotAnalysis]]):
    """Per-frame animation measurements on the shared stream (CPU, OpenCV on analysis frames).

    Its output is one :class:`~animevid.model.ShotAnalysis` per shot, stored as the catalog's
    ``shot_analyses`` rows.

    Splittable (``animevid.engine._split``): a segment's process measures without recognising drawings
    and keeps the pictures of its new drawings; the main process labels them in order. Two runs
    join at a frame where both are quiet (:attr:`Measures.quiet`).

    Args:
        device: Device the batches arrive on (frames are copied to the CPU, a few KB each).
        recognise: Label drawings as they come (False in a segment's process).
    """

    name = "animation"
    lookahead_frames = LOOKAHEAD
    cpu_only = True

    def __init__(self, *, device: str | torch.device = "cpu", recognise: bool = True) -> None:
        super().__init__(device=device)
        self.meter = AnimationMeter(recognise=recognise)
        self.frame_width = 0

    def process(self, batch: FrameBatch) -> Sequence[None]:
        """Measure every frame of the batch; results come from :meth:`summarise`."""
        frames = batch.frames.cpu().numpy()
        self.frame_width = int(frames.shape[2]) if len(frames) else self.frame_width
        for frame in frames:
            self.meter.add(frame)
        return []

    def finish(self) -> Sequence[None]:
        """Measure the last frames (held back to look a few frames ahead)."""
        self.meter.finish()
        return []

    def segment_stage(self) -> Callable[[], SplittableStage[None, list[ShotAnalysis]]]:
        """The stage without recognition (labels are settled in the main process)."""
        return partial(AnimationStage, recognise=False)

    def part(self) -> AnimationPart:
        """The measurements and the new drawings' pictures."""
        measures = self.meter.measures.copy()  # the meter's luma grids are in a file of this process
        return AnimationPart(measures=measures, drawn=dict(self.meter.drawn), frame_width=self.frame_width)

    def reset(self) -> None:
        """Forget every frame measured."""
        self.meter = AnimationMeter(recognise=self.meter.memory is not None)
        self.frame_width = 0

    def joinable(self, part: AnimationPart) -> np.ndarray:
        """Frames after which a meter depends on nothing before (:attr:`Measures.quiet`)."""
        return np.array(part.measures.quiet, dtype=bool)

    def absorb(self, run: SegmentRun) -> Sequence[None]:
        """Append the run's frames ``[run.start, run.stop)``, labelling their drawings after those seen before."""
        assert self.meter.memory is not None, "absorb needs a stage that recognises drawings"
        part: AnimationPart = run.part
        start, stop = run.start - run.first, run.stop - run.first
        taken = part.measures.copy(start, stop)
        self.meter.memory.replay(taken, part.drawn, offset=start)
        self.meter.measures.extend(taken, 0, stop - start)
        self.frame_width = part.frame_width
        return []

    @property
    def measures(self) -> Measures:
        """What was measured, frame by frame (complete once the stream has finished)."""
        return self.meter.measures

    def analyses(self, shots: Sequence[Shot], fps: float) -> list[ShotAnalysis]:
        """One analysis per shot (the shots must cover the frames measured)."""
        return summarise(self.meter.finish(), shots, fps, frame_width=max(self.frame_width, 1))

    def summarise(self, records: list[None], episode: EpisodeContext) -> list[ShotAnalysis]:
        """One analysis per shot of the episode."""
        return self.analyses(episode.shots, episode.fps)

    def stored(self, output: list[ShotAnalysis]) -> Stored:
        """The catalog's ``shot_analyses`` rows."""
        return Stored(rows={"shot_analyses": output})


@dataclass(frozen=True)
class AnalysisResult:
    """The shots of one video and how each is animated (what ``animevid analyze`` prints)."""

    video: str
    """The video file."""
    fps: float
    """Nominal frame rate."""
    frames: int
    """Frames decoded."""
    shots: list[Shot]
    """Shots in order, covering every frame."""
    analyses: list[ShotAnalysis] = field(default_factory=list)
    """One per shot, same order."""

    def as_dict(self) -> dict[str, Any]:
        """The ``animevid analyze --json`` object (DESIGN.md), shot times included."""
        return {
            "video": self.video,
            "fps": round(self.fps, 6),
            "frames": self.frames,
            "shots": [
                {
                    **a.as_dict(),
                    "start_seconds": round(s.start_seconds, 6),
                    "end_seconds": round(s.end_seconds, 6),
                    "transition": s.transition,
                }
                for s, a in zip(self.shots, self.analyses, strict=True)
            ],
        }
