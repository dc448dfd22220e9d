"""The stage interface, what a stage leaves once the pass is over, and the registry that wires stages into commands.

A stage is one class and one registration (:meth:`StageRegistry.register`): the class consumes the
pass's batches (:meth:`Stage.process`), turns its records into its per-episode output once the
shots are known (:meth:`Stage.summarise`) and says what that output stores in a library
(:meth:`Stage.stored`: catalog rows, per-episode arrays); the registration names the commands
that run it. :mod:`animevid.pipeline` asks the registry which stages a command needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, cast, get_args

import numpy as np
import torch

from animevid.decode import DecodeReport, DetailRequest, FrameBatch, FrameSource
from animevid.errors import UnknownNameError
from animevid.model import Shot

if TYPE_CHECKING:
    from animevid.config import Config

R = TypeVar("R")
"""What a stage's :meth:`Stage.process` returns per batch (its records)."""
Out = TypeVar("Out")
"""A stage's per-episode output (:meth:`Stage.summarise`)."""
S = TypeVar("S", bound="Stage[Any, Any]")

Command = Literal["index", "shots", "analyze", "scenes", "subs align"]
"""The commands that decode an episode; each runs the stages registered for it."""
COMMANDS: tuple[Command, ...] = get_args(Command)


@dataclass(frozen=True)
class EpisodeContext:
    """What a stage's summary may use once the pass is over."""

    path: Path
    """The episode file."""
    fps: float
    """Its nominal frame rate."""
    report: DecodeReport
    """What decoding did (frames, time decoded, gaps)."""
    shots: Sequence[Shot]
    """Its shots (the shot stage's output), covering every frame."""


@dataclass(frozen=True)
class Stored:
    """What a stage's output puts in a library when the episode is indexed (written in its one commit)."""

    rows: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    """Catalog rows by table name, in order: dataclasses or mappings whose fields are the table's columns
    (``episode_id`` is added); lists, tuples and dicts are stored as JSON."""
    arrays: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    """Per-episode arrays by store name, written to ``<library>/index/<name>/<episode_id>.npz``."""


class Stage(ABC, Generic[R, Out]):
    """One analysis step fed every batch of the single decode pass.

    Args:
        device: Resolved torch device the batches arrive on.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)

    @abstractmethod
    def process(self, batch: FrameBatch) -> Sequence[R]:
        """Consume the next batch (in frame order) and return records ready now."""

    def finish(self) -> Sequence[R]:
        """Return records held back until the stream ended (none by default)."""
        return []

    def summarise(self, records: list[R], episode: EpisodeContext) -> Out:
        """The stage's per-episode output from its records and the episode's shots (default: the records)."""
        return cast(Out, records)

    def stored(self, output: Out) -> Stored:
        """What ``output`` puts in a library (default: nothing)."""
        return Stored()

    def detail_request(self) -> DetailRequest | None:
        """Frames this stage wants larger than the analysis frames, in ``FrameBatch.details`` (default: none)."""
        return None

    def detail_refused(self) -> None:
        """The decoder cannot hand out larger frames (:meth:`detail_request`): the batches will carry none."""


def connect_details(source: FrameSource, stages: Sequence[Stage[Any, Any]]) -> None:
    """Give the decoder the one stage's :meth:`Stage.detail_request` (before its pass), or tell the stage it cannot.

    Raises:
        ValueError: More than one stage asks for larger frames.
    """
    asking = [(stage, request) for stage in stages if (request := stage.detail_request()) is not None]
    if len(asking) > 1:
        raise ValueError(f"stages {', '.join(s.name for s, _ in asking)} all ask for larger frames; one may")
    for stage, request in asking:
        if not source.request_detail(request):
            stage.detail_refused()


StageBuilder = Callable[["Config", str], Stage[Any, Any]]
"""Builds a stage from the options and the resolved device."""


@dataclass(frozen=True)
class StageSpec:
    """A registered stage: how to build it and which commands run it."""

    name: str
    """The stage's name (records, outputs and messages use it)."""
    build: StageBuilder
    """Builds it from the options and the resolved device."""
    commands: frozenset[str]
    """The commands whose pass it joins."""
    order: int
    """Its place in the pass: stages see each batch in increasing order."""
    when: Callable[[Config], bool] | None = None
    """Whether the options want it in the pass (None: always)."""

    def wanted(self, config: Config) -> bool:
        """Whether it joins the pass under ``config``."""
        return self.when is None or self.when(config)


class StageRegistry:
    """Stages by name, with the commands that run them (:meth:`for_command`)."""

    def __init__(self) -> None:
        self._specs: dict[str, StageSpec] = {}

    def register(
        self, name: str, *, commands: Sequence[str], order: int, build: StageBuilder | None = None
    ) -> Callable[[type[S]], type[S]]:
        """Class decorator: register a stage for ``commands`` (built by ``build``, else ``cls(device=...)``).

        Raises:
            ValueError: The name is taken, or a command is not one of :data:`COMMANDS`.
        """

        def decorate(cls: type[S]) -> type[S]:
            self.add(name, build=build or (lambda config, device: cls(device=device)), commands=commands, order=order)
            return cls

        return decorate

    def add(
        self,
        name: str,
        *,
        build: StageBuilder,
        commands: Sequence[str],
        order: int,
        when: Callable[[Config], bool] | None = None,
    ) -> None:
        """Register a stage made by a factory (e.g. the configured shot detector); ``when`` may leave it out.

        Raises:
            ValueError: The name is taken, or a command is not one of :data:`COMMANDS`.
        """
        unknown = sorted(set(commands) - set(COMMANDS))
        if unknown:
            raise ValueError(f"stage {name!r}: unknown command(s) {unknown}; commands are {', '.join(COMMANDS)}")
        if name in self._specs:
            raise ValueError(f"stage {name!r} is registered twice")
        self._specs[name] = StageSpec(name, build, frozenset(commands), order, when)

    def for_command(self, command: str) -> list[StageSpec]:
        """The stages a command runs, in pass order."""
        return sorted((s for s in self._specs.values() if command in s.commands), key=lambda s: s.order)

    def get(self, name: str) -> StageSpec:
        """The stage registered under ``name``.

        Raises:
            UnknownNameError: No stage has that name.
        """
        if name not in self._specs:
            raise UnknownNameError("stage", name, self.names())
        return self._specs[name]

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    @contextmanager
    def registered(
        self, name: str, cls: type[Stage[Any, Any]], *, commands: Sequence[str], order: int
    ) -> Iterator[None]:
        """Register a stage for the duration of a ``with`` block (tests, notebooks)."""
        self.register(name, commands=commands, order=order)(cls)
        try:
            yield
        finally:
            del self._specs[name]


STAGES = StageRegistry()
"""Every stage, by name, with the commands that run it."""


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


class SplittableStage(Stage[R, Out]):
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

    def segment_stage(self) -> Callable[[], SplittableStage[R, Out]]:
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
    def absorb(self, run: SegmentRun) -> Sequence[R]:
        """Take frames ``[run.start, run.stop)`` of a segment's run as if this stage had processed them.

        Runs come in frame order. Returns the records ``process`` would have returned for them.
        """
