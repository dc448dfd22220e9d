"""Stages: consumers of the shared one-pass frame stream.

A stage has one required method, :meth:`Stage.process`, which takes a
:class:`~animevid.decode.FrameBatch` and returns the records it can already
emit; :meth:`Stage.finish` (optional) returns what it held back. A stage never
opens files and never picks its own device: it is handed both.
"""

from __future__ import annotations

from animevid.stages._base import STAGES, SegmentRun, SplittableStage, Stage
from animevid.stages.frame_diff import FrameDiff, FrameDiffStage

__all__ = ["STAGES", "FrameDiff", "FrameDiffStage", "SegmentRun", "SplittableStage", "Stage"]
