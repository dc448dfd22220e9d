"""Stages that belong to no analysis package: frame-to-frame change (:class:`FrameDiffStage`).

The stage interface itself (:class:`~animevid.engine.Stage`) lives in :mod:`animevid.engine`.
"""

from __future__ import annotations

from animevid.stages.frame_diff import FrameDiff, FrameDiffStage

__all__ = ["FrameDiff", "FrameDiffStage"]
