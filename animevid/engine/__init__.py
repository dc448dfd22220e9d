"""The pass engine: one decode pass over an episode feeding every stage, below every stage package.

A :class:`Stage` consumes the stream of :class:`~animevid.decode.FrameBatch` objects of one pass
and returns records; :func:`run_pass` decodes the episode once and feeds each batch to every
stage, in one process or, for stages that can be split (:class:`SplittableStage`), over several
(:mod:`animevid.engine._split`), with the same records. Stage packages (shots, analysis, scenes,
search) build on this module; the wiring of stages into commands lives above them
(:mod:`animevid.pipeline`).
"""

from __future__ import annotations

from animevid.engine._pass import PassResult, ProgressCallback, RecordSink, run_pass
from animevid.engine._split import SplitStats, can_split, process_pool, workers_for
from animevid.engine._stage import (
    COMMANDS,
    STAGES,
    Command,
    EpisodeContext,
    SegmentRun,
    SplittableStage,
    Stage,
    StageRegistry,
    StageSpec,
    Stored,
)

__all__ = [
    "COMMANDS",
    "STAGES",
    "Command",
    "EpisodeContext",
    "PassResult",
    "ProgressCallback",
    "RecordSink",
    "SegmentRun",
    "SplitStats",
    "SplittableStage",
    "Stage",
    "StageRegistry",
    "StageSpec",
    "Stored",
    "can_split",
    "process_pool",
    "run_pass",
    "workers_for",
]
