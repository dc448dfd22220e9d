"""One decode pass feeding every stage: in this process, or split over processes (:mod:`._split`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from animevid.decode import DecodeReport, FrameSource
from animevid.decode._segments import SegmentMismatch
from animevid.engine._split import SplitStats, run_split
from animevid.engine._stage import SplittableStage, Stage, connect_details

R = TypeVar("R")

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
"""Called with the number of frames just processed."""


RecordSink = Callable[[Sequence[Any]], None]
"""Takes a stage's records as they come, instead of :func:`run_pass` keeping them (e.g. writing them to disk)."""


@dataclass(frozen=True)
class PassResult:
    """What one pass over an episode gave: each stage's records and what decoding did."""

    report: DecodeReport
    """Frames decoded, time decoded, repaired timestamps, gaps, truncation."""
    split: SplitStats | None
    """How the pass was split over processes; None: it ran in one."""
    _records: Mapping[int, list[Any]] = field(repr=False)

    def records(self, stage: Stage[R, Any]) -> list[R]:
        """The records ``stage`` returned (empty for a stage whose records went to a sink)."""
        return self._records[id(stage)]


def run_pass(
    source: FrameSource,
    stages: Sequence[Stage[Any, Any]],
    *,
    progress: ProgressCallback | None = None,
    workers: int = 1,
    sinks: Mapping[Stage[Any, Any], RecordSink] | None = None,
) -> PassResult:
    """Decode ``source`` once and feed every batch to every stage, in order.

    With ``workers`` > 1, stages that can be split (:class:`~animevid.engine.SplittableStage`,
    on the CPU, behind the pyav decoder) run on segments of the episode in that many processes,
    with the same records (:mod:`animevid.engine._split`); otherwise, or when the episode cannot be
    split, in this process.

    Args:
        source: The opened episode.
        stages: Consumers of the stream; each sees every batch once.
        progress: Called after each batch (or joined segment) with its frame count.
        workers: Processes for one episode (1: this one only).
        sinks: For some stages, where their records go as they come (so that a long episode's
            records need not stay in memory); :meth:`PassResult.records` is empty for them.

    Returns:
        Each stage's records and the decode report.
    """
    if workers > 1:
        try:  # None when the pass cannot be split (stages, decoder, a short or unnumbered episode)
            split = run_split(source, stages, workers, progress=progress, sinks=sinks)
        except (SegmentMismatch, BrokenProcessPool) as exc:
            # frames that differ from the plan (damaged data, a decoder that drops frames) or a
            # process that died: the pass runs again in this process, which reports what it finds
            why = str(exc) if isinstance(exc, SegmentMismatch) else _POOL_BROKE
            where = "" if str(source.path) in why else f"{source.path}: "
            logger.warning("%s%s; the split pass gave up, decoding in one pass", where, why)
            for stage in stages:
                if isinstance(stage, SplittableStage):
                    stage.reset()
        else:
            if split is not None:
                records, report, stats = split
                return PassResult(report, stats, {id(stage): kept for stage, kept in zip(stages, records, strict=True)})
    return _one_pass(source, stages, progress, sinks or {})


def _one_pass(
    source: FrameSource,
    stages: Sequence[Stage[Any, Any]],
    progress: ProgressCallback | None,
    sinks: Mapping[Stage[Any, Any], RecordSink],
) -> PassResult:
    records: dict[int, list[Any]] = {id(stage): [] for stage in stages}
    keep = [sinks.get(stage, records[id(stage)].extend) for stage in stages]
    connect_details(source, stages)
    with _cpu_threads(1 if all(stage.device.type == "cpu" for stage in stages) else None):
        for batch in source.batches():
            for stage, take in zip(stages, keep, strict=True):
                take(stage.process(batch))
            if progress is not None:
                progress(len(batch))
        for stage, take in zip(stages, keep, strict=True):
            take(stage.finish())
    assert source.report is not None  # set when batches() ends
    return PassResult(source.report, None, records)


_POOL_BROKE = (
    "a process of the split pass stopped: killed for lack of memory, or the Python script that calls "
    'animevid lacks the `if __name__ == "__main__":` guard that starting processes needs '
    "(decode.workers: 1 starts none)"
)


@contextmanager
def _cpu_threads(count: int | None) -> Iterator[None]:
    """Limit torch's CPU threads while the decoder runs beside the stages.

    Stage tensors are small (analysis frames); with torch's default of one thread per core,
    its workers spin against FFmpeg's decode threads. Measured on 2 cores: 31 frames/s with 2
    torch threads against 271 with 1 for the shot stage (bench/shots.py).
    """
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
