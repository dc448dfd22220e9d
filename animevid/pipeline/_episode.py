"""One episode through the stages a command runs, and the per-file commands built on it.

The one place where stages are wired into commands: :func:`episode_pass` asks the registry
(:data:`animevid.engine.STAGES`) which stages a command runs, decodes the episode once through
them and turns each stage's records into its output once the shots are known. ``shots``,
``analyze``, ``scenes`` and ``subs align`` render those outputs; ``index`` stores them
(:mod:`animevid.pipeline._batch`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from animevid.analysis import AnalysisResult, AnimationStage
from animevid.config import Config
from animevid.decode import FrameSource, open_video
from animevid.device import ResolvedDevice, resolve_device
from animevid.engine import (
    STAGES,
    Command,
    EpisodeContext,
    ProgressCallback,
    RecordSink,
    SplitStats,
    Stage,
    run_pass,
    workers_for,
)
from animevid.errors import SubtitleError, SubtitleLineWarning
from animevid.model import Shot, SubtitleLine
from animevid.scenes import SceneResult, ShotLook, ShotLookStage, segment_scenes
from animevid.shots import ShotResult
from animevid.subs import (
    SubtitleAlignment,
    align_lines,
    cut_seconds,
    episode_subtitles,
    load_subtitles,
    read_lines,
    write_subtitles,
)

Out = TypeVar("Out")


@dataclass(frozen=True)
class EpisodePass:
    """One episode decoded through the stages of a command, with each stage's output."""

    context: EpisodeContext
    """The episode, its decode report and its shots."""
    split: SplitStats | None
    """How the pass was split over processes; None: it ran in one."""
    stages: Sequence[Stage[Any, Any]]
    """The stages that ran, in pass order (the shot detector first)."""
    outputs: Mapping[int, Any]
    """Each stage's output, by ``id(stage)`` (stages whose records went to a sink have none)."""
    source: FrameSource
    """The opened episode (its :attr:`~animevid.decode.FrameSource.info`)."""

    def output(self, kind: type[Stage[Any, Out]]) -> Out:
        """The output of the stage of class ``kind`` (e.g. ``AnimationStage``: one analysis per shot).

        Raises:
            KeyError: No stage of that class ran, or its records went to a sink.
        """
        for stage in self.stages:
            if isinstance(stage, kind) and id(stage) in self.outputs:
                value: Out = self.outputs[id(stage)]
                return value
        raise KeyError(f"no {kind.__name__} output in this pass")

    @property
    def shots(self) -> list[Shot]:
        """The episode's shots."""
        return list(self.context.shots)


SinkFor = Callable[[Stage[Any, Any]], RecordSink | None]
"""Given a stage, where its records should go as they come (None: kept for its summary)."""


def episode_pass(
    path: str | Path,
    command: Command,
    config: Config,
    device: ResolvedDevice,
    *,
    progress: ProgressCallback | None = None,
    sink_for: SinkFor | None = None,
) -> EpisodePass:
    """Decode ``path`` once through the stages registered for ``command``, and summarise each.

    The shot stage (registered for every command, first in the pass) is summarised first; the
    others get the shots in their :class:`~animevid.engine.EpisodeContext`.

    Args:
        path: The episode.
        command: Which registered stages run (``index``, ``shots``, ``analyze``...).
        config: Options; each stage is built from them.
        device: The resolved device the stages run on.
        progress: Called with the number of frames after each batch.
        sink_for: Where some stages' records go as they come (``index`` streams the search
            stage's thumbnails to disk); those stages are not summarised.
    """
    source = open_video(path, config=config.decode, device=device)
    stages = [spec.build(config, device) for spec in STAGES.for_command(command) if spec.wanted(config)]
    sinks = {stage: sink for stage in stages if (sink := sink_for(stage) if sink_for else None) is not None}
    result = run_pass(source, stages, progress=progress, workers=workers_for(config.decode.workers), sinks=sinks)
    shot_stage, others = stages[0], stages[1:]
    fps = source.info.fps_float
    before = EpisodeContext(Path(path), fps, result.report, shots=())
    shots = shot_stage.summarise(result.records(shot_stage), before)
    context = replace(before, shots=tuple(shots))
    outputs = {id(shot_stage): shots}
    outputs |= {id(s): s.summarise(result.records(s), context) for s in others if s not in sinks}
    return EpisodePass(context, result.split, stages, outputs, source)


def _device(config: Config, device: str | None) -> ResolvedDevice:
    return resolve_device(device or config.device)


def detect_shots(
    path: str | Path,
    *,
    config: Config | None = None,
    detector: str | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> ShotResult:
    """Decode ``path`` once and return its shots (``animevid shots``).

    Args:
        path: The video.
        config: Options (None: defaults).
        detector: Detector name overriding ``config.shots.detector``.
        device: Device overriding ``config.device``.
        progress: Called with the number of frames after each batch.
    """
    cfg = _with_detector(config or Config(), detector)
    found = episode_pass(path, "shots", cfg, _device(cfg, device), progress=progress)
    return ShotResult(video=str(path), fps=found.context.fps, frames=found.context.report.frames, shots=found.shots)


def _with_detector(config: Config, detector: str | None) -> Config:
    return config if detector is None else replace(config, shots=replace(config.shots, detector=detector))


def analyze_episode(
    path: str | Path,
    *,
    config: Config | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Decode ``path`` once: find its shots and analyse how each is animated (``animevid analyze``).

    Args:
        path: The video.
        config: Options (None: defaults).
        device: Device overriding ``config.device``.
        progress: Called with the number of frames after each batch.
    """
    cfg = config or Config()
    found = episode_pass(path, "analyze", cfg, _device(cfg, device), progress=progress)
    context = found.context
    return AnalysisResult(
        video=str(path),
        fps=context.fps,
        frames=context.report.frames,
        shots=found.shots,
        analyses=found.output(AnimationStage),
    )


def find_scenes(
    path: str | Path,
    *,
    lines: Sequence[SubtitleLine] = (),
    config: Config | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> SceneResult:
    """Decode ``path`` once: find its shots and their looks, then group the shots into scenes (``animevid scenes``).

    Args:
        path: The video.
        lines: Subtitle lines of the video (e.g. from :func:`animevid.subs.read_lines`); only
            dialogue lines are used. Empty: scenes from the picture alone.
        config: Options (None: defaults); ``config.scenes`` tunes the grouping.
        device: Device overriding ``config.device``.
        progress: Called with the number of frames after each batch.
    """
    cfg = config or Config()
    found = episode_pass(path, "scenes", cfg, _device(cfg, device), progress=progress)
    looks: list[ShotLook] = found.output(ShotLookStage)
    scenes = segment_scenes(found.shots, looks, lines, config=cfg.scenes)
    context = found.context
    return SceneResult(
        video=str(path),
        fps=context.fps,
        frames=context.report.frames,
        shots=found.shots,
        scenes=scenes,
        lines=list(lines),
    )


def align_subtitles(
    episode: str | Path,
    subtitles: str | Path | None = None,
    *,
    config: Config | None = None,
    output: str | Path | None = None,
    encoding: str | None = None,
    track: int | None = None,
    language: str | None = None,
    detector: str | None = None,
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> SubtitleAlignment:
    """Align a subtitle file (or the episode's own track) to the episode's cuts; optionally write it.

    Args:
        episode: The video whose cuts the lines are aligned to (decoded once).
        subtitles: A subtitle file or a video with subtitle tracks; None reads the episode's track.
        config: Options (``config.subs`` for alignment, ``config.shots`` for the cuts).
        output: Where to write the re-timed file (.ass, .ssa, .srt, .vtt); None writes nothing.
        encoding: Python codec name of the subtitle file's text (``cp932``, ``gb18030``, ``big5``...);
            None detects it. An unknown name raises before the episode is opened.
        track: Stream index of the subtitle track to read from a video.
        language: Language of the subtitle track to read from a video.
        detector: Shot detector overriding ``config.shots.detector``.
        device: Device overriding ``config.device``.
        progress: Called with the number of frames decoded after each batch.

    Returns:
        The fit, the re-timed lines and the counts (``as_dict()`` is the CLI's JSON).

    Raises:
        SubtitleError: The subtitles cannot be read or written.
        VideoError: The episode cannot be decoded.
    """
    cfg = _with_detector(config or Config(), detector)
    source = subtitles if subtitles is not None else episode
    subs = load_subtitles(source, encoding=encoding, track=track, language=language)
    found = episode_pass(episode, "subs align", cfg, _device(cfg, device), progress=progress)
    result = align_lines(subs.lines, cut_seconds(found.shots), fps=found.context.fps, config=cfg.subs)
    written = write_subtitles(subs, result.lines, output) if output is not None else None
    return replace(result, episode=str(episode), subtitles=str(source), output=str(written) if written else None)


def episode_lines(
    path: Path,
    shots: Sequence[Shot],
    fps: float,
    config: Config,
    *,
    subs: Path | None = None,
    encoding: str | None = None,
) -> tuple[list[SubtitleLine], dict[str, Any], list[str]]:
    """The episode's subtitle lines aligned to its cuts, what was used, and warnings for the result.

    The subtitles are ``subs`` when given, else a same-named file beside the episode, else the
    episode's own text track (:func:`animevid.subs.episode_subtitles`). The offset and drift
    found against the cuts are applied only when the fit is reliable (a short clip can fit a
    wrong offset by chance); lines are then snapped to nearby cuts. A subtitle file that cannot
    be read is a warning: the episode's pictures are still indexed.
    """
    what = f"file {subs.name}" if subs is not None else "its own track"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SubtitleLineWarning)
        try:
            found = (subs, None, what) if subs is not None else episode_subtitles(path)
            if found is None:
                return [], {"source": None}, []
            source, track, what = found
            lines = read_lines(source, track=track, encoding=encoding if track is None else None)
        except SubtitleError as exc:
            return [], {"source": what, "error": str(exc)}, [f"subtitles not used: {exc}"]
    messages = kept_warnings(caught, SubtitleLineWarning)
    cuts = cut_seconds(shots)
    aligned = align_lines(lines, cuts, fps=fps, config=config.subs)
    if not aligned.fit.reliable:  # keep the file's own clock; snapping alone is safe
        kept = replace(aligned.fit, offset_seconds=0.0, ratio=1.0)
        aligned = align_lines(lines, cuts, fps=fps, config=config.subs, fit=kept)
    summary = {
        "source": what,
        "lines": len(aligned.lines),
        "offset_seconds": round(aligned.fit.offset_seconds, 6),
        "ratio": round(aligned.fit.ratio, 9),
        "reliable": aligned.fit.reliable,
        "snapped": aligned.snapped,
    }
    return list(aligned.lines), summary, messages


def kept_warnings(caught: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    """The messages of the caught warnings of ``category``; the others are handed on as if never caught."""
    for other in caught:
        if not issubclass(other.category, category):
            warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    return [str(w.message) for w in caught if issubclass(w.category, category)]
