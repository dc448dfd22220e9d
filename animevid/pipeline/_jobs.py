"""Several episodes at once: their passes in worker processes (``--jobs N``) or Ray tasks
(``--engine ray``), their commits here, in this process, one at a time: one writer.

The main process probes, hashes and claims each episode, hands the pass to a worker, and commits
what comes back in the order passes finish; the worker writes nothing to the library but its
thumbnails file under ``<library>/tmp/`` (so Ray workers on other machines must see the library
folder and the episode files at the same paths). A worker's failure comes back as a
:class:`JobFailure` and is recorded like any failed episode; the batch goes on.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from animevid.config import Config
from animevid.device import ResolvedDevice
from animevid.errors import AnimevidError
from animevid.library import Library, path_text

if TYPE_CHECKING:
    from animevid.catalog import Catalog
    from animevid.pipeline._batch import Computed, IndexResult, Prepared, _Batch

EPISODE_MEMORY = 1_000_000_000
"""Memory one episode's pass may take (the memory bar: peak RSS under 1 GB at any length)."""


@dataclass(frozen=True)
class EpisodeJob:
    """Everything a worker needs to run one episode's pass (picklable)."""

    number: int
    path: Path
    digest: str
    library: Path
    config: Config
    device: ResolvedDevice
    force: bool
    subs: Path | None
    subs_encoding: str | None
    progress: Any = None
    """A queue proxy the worker reports decoded frames to, as ``(number, frames)``; None: no progress."""


@dataclass(frozen=True)
class JobFailure:
    """A worker's exception, as text (exceptions do not always survive pickling)."""

    kind: str
    message: str
    trace: str
    bug: bool


class _WorkerError(AnimevidError):
    """An animevid error raised in a worker, re-raised here to be recorded with its message."""


class _WorkerBug(Exception):
    """An unexpected error in a worker; its text holds the worker's traceback for the error log."""


def compute_episode(job: EpisodeJob) -> Computed | JobFailure:
    """Run one episode's pass in a worker (process or Ray task); nothing is committed."""
    from animevid.pipeline._batch import _Batch, _describe_error, _EpisodeRun

    progress = None
    if job.progress is not None:
        queue, number = job.progress, job.number

        def progress(path: Path, total: int) -> Callable[[int], None]:
            return lambda frames: queue.put((number, frames))

    batch = _Batch(Library(job.library), job.config, job.device, job.force, progress, None)
    batch.subs, batch.subs_encoding = job.subs, job.subs_encoding
    try:
        return _EpisodeRun(batch, job.path, job.digest).compute().portable()
    except (AnimevidError, OSError) as exc:
        text = str(exc) if isinstance(exc, AnimevidError) else _describe_error(job.path, exc)
        return JobFailure(type(exc).__name__, text, "", bug=False)
    except Exception as exc:  # a bug: its traceback goes to the error log
        return JobFailure(type(exc).__name__, _describe_error(job.path, exc), traceback.format_exc(), bug=True)


def jobs_within_memory(jobs: int) -> int:
    """``jobs``, lowered so that every running episode has :data:`EPISODE_MEMORY` of the memory available now."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return jobs
    return max(1, min(jobs, available // EPISODE_MEMORY))


class _Engine:
    """Where passes run; ``slots`` at a time."""

    slots = 1
    progress: Any = None

    def submit(self, job: EpisodeJob) -> Future[Any]:
        raise NotImplementedError


class _Processes(_Engine):
    def __init__(self, jobs: int) -> None:
        self.slots = jobs

    @contextmanager
    def running(self) -> Iterator[_Engine]:
        import multiprocessing

        from animevid.engine import process_pool

        threads = max(1, (os.cpu_count() or 1) // self.slots)
        with multiprocessing.Manager() as manager, process_pool(self.slots, threads=threads) as pool:
            self._pool = pool
            self.progress = manager.Queue()
            yield self

    def submit(self, job: EpisodeJob) -> Future[Any]:
        return self._pool.submit(compute_episode, replace(job, progress=self.progress))


class _Ray(_Engine):
    @contextmanager
    def running(self) -> Iterator[_Engine]:
        try:
            import ray
        except ImportError:
            raise AnimevidError(
                "--engine ray needs Ray: pip install 'animevid[cluster]' (and, for a cluster, RAY_ADDRESS)"
            ) from None
        started = not ray.is_initialized()
        if started:  # RAY_ADDRESS (or `ray start --head` on this machine) joins a cluster; else a local one
            ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False, log_to_driver=False)
        try:
            self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
            self._task = ray.remote(num_cpus=1, max_retries=0)(compute_episode)
            yield self
        finally:
            if started:
                ray.shutdown()

    def submit(self, job: EpisodeJob) -> Future[Any]:
        return self._task.remote(job).future()


def run_parallel(
    batch: _Batch, items: list[Any], catalog: Catalog, on_result: Callable[[IndexResult], None]
) -> list[IndexResult]:
    """Index ``items`` with passes in workers and commits here (see the module)."""
    engine = _Ray() if batch.engine == "ray" else _Processes(batch.jobs)
    results: dict[int, IndexResult] = {}
    waiting: list[int] = []
    with engine.running() as running:
        _Dispatch(batch, running, catalog, results, waiting, on_result).run(deque(enumerate(items)))
    for number in waiting:  # claimed by another process: waited for, one by one, as a plain batch does
        results[number] = batch.one(items[number], catalog, wait=True) or _lost(items[number])
        on_result(results[number])
    return [results[number] for number in range(len(items))]


def _lost(item: Any) -> IndexResult:
    from animevid.pipeline._batch import IndexResult

    return IndexResult(Path(getattr(item, "path", item)), "failed", error="claimed by another process")


class _Dispatch:
    """Keeps the engine's slots busy and commits each pass as it finishes."""

    def __init__(
        self,
        batch: _Batch,
        engine: _Engine,
        catalog: Catalog,
        results: dict[int, IndexResult],
        waiting: list[int],
        on_result: Callable[[IndexResult], None],
    ) -> None:
        self.batch, self.engine, self.catalog = batch, engine, catalog
        self.results, self.waiting, self.on_result = results, waiting, on_result
        self.pending: dict[Future[Any], tuple[int, Prepared]] = {}
        self.bars: dict[int, Callable[[int], None]] = {}

    def run(self, queue: deque[tuple[int, Any]]) -> None:
        pump = self._pump_progress()
        try:
            while queue or self.pending:
                while queue and len(self.pending) < self.engine.slots:
                    self._start(*queue.popleft())
                if self.pending:
                    done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
                    for future in done:
                        self._finish(future)
        finally:
            for future, (_, prepared) in self.pending.items():  # interrupted: drop what was not committed
                future.cancel()
                prepared.claim.release()
            if pump is not None:
                self.engine.progress.put(None)
                pump.join(5)

    def _start(self, number: int, item: Any) -> None:
        from animevid.pipeline._batch import Prepared, item_path, readable

        batch = self.batch
        path = item_path(item)
        prepared = batch.attempt(path, self.catalog, lambda: batch.prepare(readable(item), self.catalog, wait=False))
        if prepared is None:
            self.waiting.append(number)
        elif not isinstance(prepared, Prepared):
            self._done(number, prepared)
        else:
            if batch.progress is not None:
                from animevid.decode import probe

                self.bars[number] = batch.progress(path, probe(path).frames_estimate)
            job = EpisodeJob(
                number, path, prepared.digest, batch.library.folder, _one_process(batch.config), batch.device,
                batch.force, batch.subs, batch.subs_encoding,
            )  # fmt: skip
            self.pending[self.engine.submit(job)] = (number, prepared)

    def _finish(self, future: Future[Any]) -> None:
        from animevid.pipeline._batch import _EpisodeRun

        number, prepared = self.pending.pop(future)
        batch = self.batch

        def commit() -> IndexResult:  # future.result() raises for a worker that died (killed for memory)
            outcome = future.result()
            if not isinstance(outcome, JobFailure):
                return _EpisodeRun(batch, prepared.path, prepared.digest).commit(self.catalog, outcome.restored())
            # recorded under the worker's error type and message
            result = batch.failed(
                prepared.path, self.catalog, type(outcome.kind, (_WorkerError,), {})(outcome.message), bug=False
            )
            if outcome.bug:
                result.log = batch.library.log_error(path_text(prepared.path), _WorkerBug(outcome.trace))
            return result

        try:
            result = batch.attempt(prepared.path, self.catalog, commit)
        finally:
            prepared.claim.release()
        self._done(number, result)

    def _done(self, number: int, result: IndexResult) -> None:
        self.results[number] = result
        self.on_result(result)

    def _pump_progress(self) -> threading.Thread | None:
        queue = self.engine.progress
        if queue is None or self.batch.progress is None:
            return None

        def pump() -> None:
            while (message := queue.get()) is not None:
                number, frames = message
                if number in self.bars:
                    self.bars[number](frames)

        thread = threading.Thread(target=pump, name="animevid-progress", daemon=True)
        thread.start()
        return thread


def _one_process(config: Config) -> Config:
    """Each job's pass runs in its own process: its episode is not split again (``--workers`` is for one episode)."""
    return replace(config, decode=replace(config.decode, workers=1))
