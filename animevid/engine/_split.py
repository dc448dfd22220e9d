"""One episode's decode pass split over processes, joined so that the records are those of one pass.

On a machine with many cores, decoding alone spreads over all of them, while the stages of one
pass run in one thread (Python's GIL) and bound its speed. Here the episode is cut at keyframes
(:func:`~animevid.decode._segments.plan_segments`); a pool of processes each decodes a segment
(FFmpeg seeks to its keyframe) and runs the stages on it, and the main process joins the parts:

- each segment's process goes on a little past its segment's end, into the next one, until its
  stages have passed several frames where a fresh run may take over (:meth:`SplittableStage.joinable`:
  the animation meter is *quiet*, its state a function of that frame alone) past the next
  segment's warm-up (:attr:`SplittableStage.warmup_frames`; the shot detector looks back 4 frames);
- the main process takes the earlier segment's records up to the first such frame where both runs
  allow it, and the later one's from the frame after; what carries over a whole episode (the
  labels of drawings that come back) is settled by each stage's :meth:`SplittableStage.absorb`,
  in order;
- timestamps are repaired in the main process, in order, from the plan.

Only streams whose timestamps number their frames are split, and only stages that can be; a
segment whose frames differ from the plan, or two segments with no frame to join at, make the
caller decode in one pass (:class:`SegmentMismatch`). Tests compare every record with one pass.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, cast

import numpy as np

from animevid.decode import DecodeReport, FrameSource, close_pass
from animevid.decode._pyav import PyAVSource
from animevid.decode._segments import SegmentMismatch, SegmentPlan, SegmentSource, plan_segments
from animevid.decode._timestamps import TimestampRepair
from animevid.engine._stage import SegmentRun, SplittableStage, Stage, connect_details

logger = logging.getLogger(__name__)

MIN_SPLIT_FRAMES = 3000
"""Shortest episode that is split (about 2 minutes): starting the processes takes 1-2 s."""
MIN_SEGMENT_FRAMES = 300
"""Shortest segment: each costs a process hand-over, a seek and a few dozen frames decoded twice."""
SEGMENTS_PER_WORKER = 3
"""Segments per process, so that one slow segment does not leave the others idle at the end."""
JOIN_FRAMES = 8
"""Joinable frames a segment's process measures past the next segment's warm-up before it stops."""
MAX_OVERLAP = 240
"""Most frames a segment's process goes on into the next segment (10 s at 24 fps: a long pan)."""
AUTO_FROM_CORES = 4
"""Fewest cores from which ``decode.workers: 0`` splits an episode."""
MAX_AUTO_WORKERS = 32
"""Most processes ``decode.workers: 0`` starts (memory: about 300 MB each)."""
MAX_SEGMENT_FRAMES = 2400
"""Longest segment (100 s at 24 fps): what a segment sends back (about 12 kB a frame: descriptors,
thumbnails, measurements) waits in the main process until joined, so a long film is cut finer
instead of into ever longer segments, and the main process's memory does not grow with its length."""
AHEAD_PER_WORKER = 2
"""Segments submitted ahead of the one being joined, per process (results wait in memory in order)."""
WORKER_BATCH = 16
"""Frames per batch in a segment's process (small, so that it stops soon after it can)."""


def workers_for(setting: int) -> int:
    """Processes for one episode: ``setting``, or with 0 one per usable core from AUTO_FROM_CORES up, else 1.

    On 2 cores a split pass runs at about the speed of one pass (bench/analysis.py): FFmpeg's
    threads already fill both, and the processes cost memory (about 300 MB each).
    """
    if setting > 0:
        return setting
    cores = _usable_cores()
    return min(cores, MAX_AUTO_WORKERS) if cores >= AUTO_FROM_CORES else 1


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_split(source: FrameSource, stages: Sequence[Stage]) -> bool:
    """Whether :func:`run_split` can take this pass: the pyav decoder and stages that split.

    The segment processes run on the CPU, so a stage set to a GPU qualifies only when it computes
    on the CPU anyway (:attr:`SplittableStage.cpu_only`): ``analyze`` on a GPU machine splits,
    ``index`` (whose frame-diff stage computes on the GPU there) runs in one pass.
    """
    return (
        type(source) is PyAVSource
        and bool(stages)
        and all(
            isinstance(stage, SplittableStage) and (stage.device.type == "cpu" or stage.cpu_only) for stage in stages
        )
    )


@dataclass
class SplitStats:
    """How a split pass went (``FrameSource.split``)."""

    workers: int
    segments: int
    merged: int = 0
    """Segments that had to be run again together with the one before (no frame to join at)."""
    overlap_frames: int = 0
    """Frames decoded twice (segments run past their end, and merged runs)."""
    worker_cpu_seconds: float = 0.0
    """CPU time of the processes' work (their start-up excluded)."""
    worker_peak_rss_mb: float = 0.0
    """Largest resident memory of one process."""


@dataclass(frozen=True)
class _Job:
    path: str
    first: int
    expected: tuple[int, ...]
    seconds: tuple[float, ...]
    """The frames' repaired times, as one pass over the episode gives them."""
    join_from: int | None
    """Frame from which a join with the next segment may happen (None: the last segment)."""
    makers: tuple[Callable[[], SplittableStage], ...]
    source_options: dict[str, Any]


@dataclass(frozen=True)
class _Part:
    first: int
    final: int
    """Frames (from ``first``) whose records are final: the lookahead was there to see."""
    joinable: np.ndarray
    parts: list[Any]
    records: list[list[Any]] = field(default_factory=list)
    """What each stage's ``process`` and ``finish`` returned."""
    error: str | None = None
    """Why the segment did not decode as planned (its records are empty then)."""
    fed: int = 0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0


def run_split(
    source: FrameSource,
    stages: Sequence[Stage[Any, Any]],
    workers: int,
    *,
    progress: Callable[[int], None] | None = None,
    sinks: Mapping[Stage[Any, Any], Callable[[Sequence[Any]], None]] | None = None,
) -> tuple[list[list[Any]], DecodeReport, SplitStats] | None:
    """Run the pass of ``source`` through ``stages`` in ``workers`` processes (see the module docstring).

    Returns:
        Each stage's records, in the order of ``stages``, as one pass gives them (a stage with a
        sink gets an empty list: its records went there as they were joined), the decode report
        and how the pass was split; None when the episode is too short or its timestamps do not
        allow segments (run one pass then).

    Raises:
        SegmentMismatch: The episode did not decode as planned (a segment joined to the one before
            did not either); :meth:`SplittableStage.reset` the stages before one pass follows.
    """
    if workers < 2 or not can_split(source, stages) or source.info.frames_estimate < MIN_SPLIT_FRAMES:
        return None
    segments = max(workers * SEGMENTS_PER_WORKER, -(-source.info.frames_estimate // MAX_SEGMENT_FRAMES))
    plan = plan_segments(source.path, segments=segments, min_frames=MIN_SEGMENT_FRAMES)
    if plan is None:
        return None
    clock = TimestampRepair(1.0 / source.info.fps_float)
    seconds = tuple(clock(float(stamp * plan.time_base)) for stamp in plan.pts)  # as one pass repairs them
    splittable = [cast(SplittableStage[Any, Any], stage) for stage in stages]  # can_split checked each
    jobs = _jobs(source, splittable, plan, seconds)
    joiner = _Joiner(splittable, plan, seconds, sinks or {}, progress)
    processes = min(workers, len(jobs))
    stats = SplitStats(workers=processes, segments=len(jobs))
    with process_pool(processes, threads=_threads_each(source, processes)) as pool:
        for job, part in zip(jobs, _in_order(pool, jobs, ahead=AHEAD_PER_WORKER * processes), strict=True):
            joiner.take(pool, job, part, stats)
        joiner.close()
    if joiner.absorbed != plan.frames:
        raise SegmentMismatch(f"{source.path}: the segments gave {joiner.absorbed} of {plan.frames} frames")
    stats.overlap_frames -= plan.frames
    report = close_pass(source.path, source.info, frames=plan.frames, clock=clock)  # as one pass ends
    for stage, take in zip(splittable, joiner.keep, strict=True):
        take(stage.finish())
    return joiner.records, report, stats


class _Joiner:
    """Joins the segments' parts in order into the main process's stages (see the module docstring)."""

    def __init__(
        self,
        stages: list[SplittableStage[Any, Any]],
        plan: SegmentPlan,
        seconds: tuple[float, ...],
        sinks: Mapping[Stage[Any, Any], Callable[[Sequence[Any]], None]],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.stages, self.plan, self.seconds, self.progress = stages, plan, seconds, progress
        self.records: list[list[Any]] = [[] for _ in stages]
        self.keep = [sinks.get(stage, kept.extend) for stage, kept in zip(stages, self.records, strict=True)]
        self.warmup = max(stage.warmup_frames for stage in stages)
        self.pending: _Part | None = None
        self.start = 0
        """First frame of :attr:`pending` not yet taken."""
        self.absorbed = 0

    def take(self, pool: ProcessPoolExecutor, job: _Job, part: _Part, stats: SplitStats) -> None:
        """Join the next segment's part: take the run before it up to their hand-over frame."""
        _count(stats, part)
        if self.pending is None:
            if part.error is not None:
                raise SegmentMismatch(part.error)
            self.pending = part
            return
        join = None if part.error is not None else _join(self.pending, part, self.warmup, self.start)
        if join is None:
            # no frame to join at (a long camera move over the seam) or the segment did not
            # decode from its keyframe: one run from the earlier segment's start through this one
            self.pending = self._merged(pool, job)
            _count(stats, self.pending)
            stats.merged += 1
            return
        self._absorb(self.pending, join + 1)
        self.start, self.pending = join + 1, part

    def close(self) -> None:
        """Take the last run to its end."""
        assert self.pending is not None
        self._absorb(self.pending, self.pending.first + self.pending.final)

    def _merged(self, pool: ProcessPoolExecutor, job: _Job) -> _Part:
        assert self.pending is not None
        end = job.first + len(job.expected)
        first = self.pending.first
        whole = replace(job, first=first, expected=self.plan.pts[first:end], seconds=self.seconds[first:end])
        merged = pool.submit(_run_segment, whole).result()
        if merged.error is not None:
            raise SegmentMismatch(merged.error)
        logger.debug("%s: segments at frames %d and %d run again as one", job.path, first, job.first)
        return merged

    def _absorb(self, part: _Part, stop: int) -> None:
        if self.start != self.absorbed:
            raise SegmentMismatch(f"segment at frame {part.first}: frames {self.absorbed}..{self.start} are missing")
        times = self.seconds[self.start : stop]
        for stage, take, kept, made in zip(self.stages, self.keep, part.parts, part.records, strict=True):
            run = SegmentRun(part=kept, records=made, first=part.first, start=self.start, stop=stop, pts_seconds=times)
            take(stage.absorb(run))
        if self.progress is not None:
            self.progress(stop - self.start)
        self.absorbed = stop


def _in_order(pool: ProcessPoolExecutor, jobs: list[_Job], *, ahead: int) -> Iterator[_Part]:
    """Each job's part, in order, with at most ``ahead`` jobs submitted past the one awaited.

    ``Executor.map`` submits every job at once: with a slow first segment, the parts of all the
    others (the whole episode) would wait in memory.
    """
    pending: deque[Future[_Part]] = deque()
    queued = iter(jobs)
    for job in itertools.islice(queued, ahead):
        pending.append(pool.submit(_run_segment, job))
    while pending:
        part = pending.popleft().result()
        for job in itertools.islice(queued, 1):
            pending.append(pool.submit(_run_segment, job))
        yield part


def _count(stats: SplitStats, part: _Part) -> None:
    stats.overlap_frames += part.fed
    stats.worker_cpu_seconds += part.cpu_seconds
    stats.worker_peak_rss_mb = max(stats.worker_peak_rss_mb, part.peak_rss_mb)


def _jobs(
    source: FrameSource, stages: list[SplittableStage], plan: SegmentPlan, seconds: tuple[float, ...]
) -> list[_Job]:
    warmup = max(stage.warmup_frames for stage in stages)
    lookahead = max(stage.lookahead_frames for stage in stages)
    options = {
        "analysis_width": source.analysis_size[0],
        "batch_frames": WORKER_BATCH,
        "interpolation": source.interpolation,
        "skip_loop_filter": source.skip_loop_filter,
        "prefetch_batches": 2,
    }
    makers = tuple(stage.segment_stage() for stage in stages)
    jobs = []
    for k, first in enumerate(plan.starts):
        last = k + 1 == len(plan.starts)
        stop = plan.frames if last else min(plan.frames, plan.stop(k) + MAX_OVERLAP + lookahead)
        jobs.append(
            _Job(
                path=str(source.path),
                first=first,
                expected=plan.pts[first:stop],
                seconds=seconds[first:stop],
                join_from=None if last else plan.stop(k) + warmup - 1,
                makers=makers,
                source_options=options,
            )
        )
    return jobs


def _threads_each(source: FrameSource, workers: int) -> int:
    return source.threads or max(1, _usable_cores() // workers)


_PRELOAD = [
    "animevid.engine", "animevid.shots", "animevid.analysis", "animevid.scenes", "animevid.search",
    "animevid.characters",
]  # fmt: skip
"""Imported once by the fork server (torch alone takes 1.5-2 s) instead of once per process."""


@contextmanager
def process_pool(processes: int, *, threads: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``processes`` worker processes, each with ``threads`` torch/OpenCV/decoder threads.

    Workers end soon after the main process ends, however it ends.
    """
    # not a plain fork: the parent may hold torch's and OpenCV's thread pools, which do not survive
    # one. A fork server (a clean process with the modules imported) forks the processes at once.
    # An executor, not multiprocessing.Pool: a process that dies (killed for memory) breaks the
    # pool with an error instead of leaving the main process waiting for its result forever.
    context: multiprocessing.context.BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        server = multiprocessing.get_context("forkserver")
        server.set_forkserver_preload(_PRELOAD)
        context = server
    else:
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(processes, mp_context=context, initializer=_init_worker, initargs=(threads, os.getpid()))
    try:
        yield pool
    finally:  # on an error, segments not started yet are dropped rather than waited for
        pool.shutdown(wait=True, cancel_futures=True)


def _init_worker(threads: int, main_pid: int) -> None:
    import cv2
    import torch

    _die_with(main_pid)
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    global _DECODE_THREADS
    _DECODE_THREADS = threads


PARENT_POLL_SECONDS = 0.25
"""How often a segment process checks that the main process is still there."""


def _die_with(main_pid: int) -> None:
    """End this process soon after the main process ends, however that ends (kill -9, SIGTERM, a crash).

    Nothing else ends it: a pool's processes wait on their task queue (whose pipe they hold both
    ends of) and the fork server waits for every process it forked, so all of them, with the
    resource tracker, would stay for a minute or more, 300 MB each. A thread polls for the main
    process instead.
    """

    def watch() -> None:
        while _alive(main_pid):
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="animevid-main-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a killed process its parent has not reaped yet is a zombie: not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the number now belongs to another user's process
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[-1].split()[0] not in (b"Z", b"X")
    except OSError:  # no /proc (macOS): the signal test above is all there is
        return True


_DECODE_THREADS = 1


def _run_segment(job: _Job) -> _Part:
    started = time.process_time()
    options = {"threads": _DECODE_THREADS, **job.source_options}
    source = SegmentSource(job.path, first=job.first, expected=job.expected, seconds=job.seconds, **options)
    stages = [make() for make in job.makers]
    connect_details(source, stages)
    records: list[list[Any]] = [[] for _ in stages]
    lookahead = max(stage.lookahead_frames for stage in stages)
    fed = 0
    batches = source.batches()
    try:
        for batch in batches:
            for stage, kept in zip(stages, records, strict=True):
                kept.extend(stage.process(batch))
            fed += len(batch)
            if job.join_from is not None and _can_stop(stages, job, fed - lookahead):
                break
    except SegmentMismatch as exc:
        return _Part(first=job.first, final=0, joinable=np.zeros(0, bool), parts=[], error=str(exc), fed=fed)
    finally:
        batches.close()
    for stage, kept in zip(stages, records, strict=True):
        kept.extend(stage.finish())
    parts = [stage.part() for stage in stages]
    joinable = _joinable(stages, parts, fed)
    reached_end = job.join_from is None
    return _Part(
        first=job.first,
        final=fed if reached_end else fed - lookahead,
        joinable=joinable,
        parts=parts,
        records=records,
        fed=fed,
        cpu_seconds=time.process_time() - started,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _can_stop(stages: list[SplittableStage], job: _Job, measured: int) -> bool:
    assert job.join_from is not None
    begin = job.join_from - job.first
    if measured - begin < JOIN_FRAMES:
        return False
    parts = [stage.part() for stage in stages]
    joinable = _joinable(stages, parts, measured)
    return int(joinable[begin:measured].sum()) >= JOIN_FRAMES


def _joinable(stages: list[SplittableStage], parts: list[Any], frames: int) -> np.ndarray:
    allowed = np.ones(frames, dtype=bool)
    for stage, part in zip(stages, parts, strict=True):
        flags = stage.joinable(part)
        if flags is not None:
            allowed &= flags[:frames]
    return allowed


def _join(before: _Part, after: _Part, warmup: int, taken: int = 0) -> int | None:
    """The last frame taken from ``before``: the first where both runs may hand over, past the warm-up.

    ``before``'s records are exact from frame ``taken`` on (its own join with the run before it,
    plus one), so the hand-over cannot be earlier than ``taken - 1``.
    """
    lo = max(after.first, after.first + warmup - 1, taken - 1)
    hi = min(before.first + before.final, after.first + after.final)  # final frames of both
    for frame in range(lo, hi):
        if before.joinable[frame - before.first] and after.joinable[frame - after.first]:
            return frame
    return None
