"""Seeded synthetic anime episodes with exact ground truth.

:func:`generate_episode` writes ``ep{seed}.mp4``, ``ep{seed}.mkv`` (same video plus the
subtitles as an ASS track), ``ep{seed}.ass`` and ``ep{seed}.truth.json``. The episode looks like
limited TV animation (flat cels, ink outlines, anime faces, textured gradient backgrounds) and is
laid out as: OP (depends only on ``series_seed``) | recap of episode ``seed - 1`` (none for
seed 0) | the episode's own scenes | ED (``series_seed`` only). Same seed and config give
byte-identical truth and pixel-identical frames.

Truth conventions (``schema`` 1):

- ``frames`` N, ``pts_seconds[i] = i * fps_den / fps_num``; every range is ``[start_frame, end_frame)``.
- ``drawing_id[i]``: one id per distinct drawing, numbered in order of first appearance. A camera
  move (pan, zoom, shake) over a held drawing keeps the id; every flash frame and every frame of a
  fade or dissolve gets an id of its own.
- ``same_image_as_previous[i]``: frame i renders pixel-identical to frame i-1 (always false with grain).
- Shot boundaries at gradual transitions: a fade between shots goes fully to the colour on the
  outgoing shot's last frame and the incoming shot starts at the first fade-in frame; a dissolve's
  incoming shot starts at the first frame whose incoming weight is >= 0.5. ``transitions`` entries
  carry ``boundary_frame`` (that first frame); fades have ``direction`` ``through`` (between
  shots), ``in`` (from black at frame 0) or ``out`` (to black at the end).
- ``shots[].drawings``: distinct ids shown in the shot's own frames, i.e. excluding frames inside a
  transition and flash frames. ``cadence`` is computed from the drawings under those frames (a
  flash hides its drawing without replacing it): ones/twos/threes when every inner hold lasts
  1/2/3 frames (the first and last hold may be shorter), still for one drawing, else mixed.
  Extra keys: ``animation`` (the generator: dialogue, duet, motion, action, short, pan, zoom,
  impact, loop, still), ``location`` (index into the series' locations) and ``source_start_frame``
  (recap shots: where the copied frames start in episode ``seed - 1``, else null). A recap that
  finds too little plain footage ends with an ``eyecatch`` still shot.
- ``shots[].setup`` / ``setup_end``: the camera set-up of the shot's first / last frame, as
  ``{"scale", "x", "y"}``: ``scale`` is the camera window's size over the frame size (1.0 wide,
  0.7 close; everything in the window, background and figures, is scaled up to the frame),
  ``x`` / ``y`` the window centre in frame widths / heights from the canvas' top-left corner (the
  canvas is the frame, or wider/taller for pans and shakes). Static shots keep one window
  (``setup_end == setup``); pans, zooms and shakes start from their set-up and move. Every shot
  draws its own set-up, and two consecutive shots at the same location (across OP, recap, scenes
  and ED too) never share one: their ``scale`` differs by >= 0.12 or their window centres lie
  >= 0.15 frame widths apart (outgoing ``setup_end`` vs incoming ``setup``), so no cut is a
  jump cut. Values are rounded to 4 decimals.
- ``loops``: every repeated cycle of every shot, by :func:`animevid.drawings.find_cycles` on the
  drawings of the shot's own frames (the walk and hair loops, and lip flaps that repeat):
  ``period_frames``, ``repeats``, ``drawings`` (distinct in a period) and ``cycle_drawings`` (the
  ids of one period, consecutive repeats merged). Loop and short shots are always joined by cuts.
- ``shots[].cadence_mix``: for ``duet`` shots (two characters, one on twos, one on threes), the
  cadences of the two, sorted; empty otherwise.
- ``flash_frames`` kinds: white, black, inverted, tint (action shots), and one white frame inside a hold of
  every ``motion`` shot on twos or threes; never within 10 frames of a shot edge.
- ``op``, ``ed``: frame ranges; ``recap``: range, ``source_seed`` and ``segments`` (each with
  ``source_start_frame``), or null for seed 0. ``scenes`` also carry their ``scene`` index.
- ``characters`` also carry ``long_hair``.
- ``faces``: ``[frame, name, x, y, w, h]`` for every face on screen in every plain frame (no flash,
  fade or dissolve): a box in frame pixels from cheek to cheek and from the bangs' lower edge to the
  chin; faces mostly outside the frame, or whose centre a figure in front covers, are left out.
- ``subtitles``: one entry per event of the .ass, in file order, with ``start_seconds`` /
  ``end_seconds`` exactly as written (centiseconds), ``kind`` dialogue|sign|song|comment,
  ``style``, ``name`` (speaker), ``text`` (raw, with override tags), ``plain``, ``snapped_start``
  / ``snapped_end`` (the time is a hard cut's pts floored to centiseconds), ``start_frame`` /
  ``end_frame`` (first frame shown / first frame no longer shown), ``crosses_cut``, and for
  dialogue ``speech_start_frame`` / ``speech_end_frame`` (the lip flaps, or off-screen voice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from animevid.config import SynthConfig
from animevid.errors import SynthError
from animevid.synth import _subs
from animevid.synth._cases import CASES, render_case
from animevid.synth._draw import Painter, make_cast, make_locations
from animevid.synth._encode import encode, repeat_video
from animevid.synth._render import Renderer
from animevid.synth._shots import Ctx
from animevid.synth._timeline import build_timeline, frame_count, minimum_seconds
from animevid.synth._truth import build_truth

__all__ = [
    "CASES",
    "SynthEpisode",
    "generate_case",
    "generate_episode",
    "load_truth",
    "minimum_seconds",
    "render_case",
    "render_episode",
    "repeat_video",
]


@dataclass(frozen=True)
class SynthEpisode:
    """The files of one generated episode and its parsed truth."""

    mp4: Path
    """H.264 video in MP4."""
    mkv: Path
    """The same video in Matroska, plus the subtitles as an ASS track."""
    ass: Path
    """The subtitle file."""
    truth_json: Path
    """The ground truth file."""
    truth: dict[str, Any]
    """The parsed truth (same content as ``truth_json``)."""


def render_episode(
    seed: int, *, seconds: float | None = None, config: SynthConfig | None = None, series_seed: int = 0
) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
    """Plan an episode and return its frames (lazily rendered) and its truth.

    Args:
        seed: Episode seed (>= 0); episode ``seed`` recaps episode ``seed - 1``.
        seconds: Length; None uses ``config.seconds``.
        config: Generator options; None uses the defaults.
        series_seed: Seeds the cast, locations, OP and ED shared by a series.

    Returns:
        An iterator over (H, W, 3) uint8 RGB frames (each a fresh array) and the truth dict.

    Raises:
        SynthError: Negative seeds, or ``seconds`` too short to hold OP, recap, ED and a scene.
    """
    cfg = config or SynthConfig()
    length = cfg.seconds if seconds is None else float(seconds)
    _check(seed, series_seed, length, cfg)
    cfg = replace(cfg, seconds=length)
    series_rng = np.random.default_rng([series_seed, 11])
    cast, locations = make_cast(series_rng), make_locations(series_rng)
    ctx = Ctx(cfg.width, cfg.height, len(cast))
    timeline = build_timeline(seed, series_seed, cfg, ctx, frame_count(length, cfg))
    timing = _subs.Timing(cfg.fps_num, cfg.fps_den)
    sub_rng = np.random.default_rng([series_seed, seed, 3])
    subtitles = _subs.make_subtitles(timeline.entries, timing, cast, locations, sub_rng, (cfg.width, cfg.height))
    truth = build_truth(
        seed=seed,
        series_seed=series_seed,
        seconds=length,
        cfg=cfg,
        timeline=timeline,
        cast=cast,
        locations=locations,
        subtitles=subtitles,
    )
    renderer = Renderer(Painter(cast, locations, (cfg.width, cfg.height)), cfg.grain, series_seed)
    return renderer.frames(timeline.recipes), truth


def _check(seed: int, series_seed: int, seconds: float, cfg: SynthConfig) -> None:
    if seed < 0 or series_seed < 0:
        raise SynthError(f"seed and series_seed must be >= 0, got seed={seed}, series_seed={series_seed}")
    shortest = minimum_seconds(cfg)
    if seconds < shortest:
        raise SynthError(
            f"seconds={seconds:g} is too short: an episode needs OP ({cfg.op_seconds:g} s), recap "
            f"({cfg.recap_seconds:g} s), ED ({cfg.ed_seconds:g} s) and one scene; use seconds >= {shortest:g}"
        )


def generate_episode(
    out_dir: str | Path,
    *,
    seed: int,
    seconds: float | None = None,
    config: SynthConfig | None = None,
    series_seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SynthEpisode:
    """Render and write one episode: ep{seed}.mp4, .mkv, .ass and .truth.json in ``out_dir``.

    Args:
        out_dir: Output folder (created if missing).
        seed: Episode seed (>= 0).
        seconds: Length; None uses ``config.seconds``.
        config: Generator options; None uses the defaults.
        series_seed: Seeds what episodes of a series share (cast, locations, OP, ED).
        progress: Called as ``progress(done_frames, total_frames)`` while encoding.

    Returns:
        The written files and the parsed truth.

    Raises:
        SynthError: Impossible options (see :func:`render_episode`).
    """
    cfg = config or SynthConfig()
    frames, truth = render_episode(seed, seconds=seconds, config=cfg, series_seed=series_seed)
    title = f"animevid synthetic episode {seed} (series {series_seed})"
    return _write(Path(out_dir) / f"ep{seed}", frames, truth, cfg, title, progress)


def generate_case(out_dir: str | Path, name: str, *, seed: int = 0, config: SynthConfig | None = None) -> SynthEpisode:
    """Render and write one case clip (:data:`CASES`): case-{name}-{seed}.mp4, .mkv, .ass and .truth.json.

    Raises:
        SynthError: No case of that name, or a negative seed.
    """
    cfg = config or SynthConfig()
    frames, truth = render_case(name, seed=seed, config=cfg)
    return _write(
        Path(out_dir) / f"case-{name}-{seed}", frames, truth, cfg, f"animevid synthetic case {name} (seed {seed})"
    )


def _write(
    stem: Path,
    frames: Iterator[np.ndarray],
    truth: dict[str, Any],
    cfg: SynthConfig,
    title: str,
    progress: Callable[[int, int], None] | None = None,
) -> SynthEpisode:
    """Write a rendered clip: ``stem``.mp4, .mkv (with the subtitles), .ass and .truth.json (folder created)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    clip = SynthEpisode(
        Path(f"{stem}.mp4"), Path(f"{stem}.mkv"), Path(f"{stem}.ass"), Path(f"{stem}.truth.json"), truth
    )
    _subs.write_ass(truth["subtitles"], str(clip.ass), (cfg.width, cfg.height), title)
    cfg = replace(cfg, seconds=truth["seconds"])
    encode(frames, truth["frames"], (clip.mp4, clip.mkv, clip.ass), cfg, title=title, progress=progress)
    clip.truth_json.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return clip


def load_truth(path: str | Path) -> dict[str, Any]:
    """Read a truth JSON file written by :func:`generate_episode`.

    Raises:
        SynthError: The file is missing, not JSON, or not a truth file of a known schema.
    """
    file = Path(path)
    try:
        truth = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SynthError(f"cannot read truth file {file}: {exc}") from None
    if not isinstance(truth, dict) or truth.get("generator") != "animevid.synth" or truth.get("schema") != 1:
        raise SynthError(f"{file} is not an animevid.synth truth file of schema 1")
    return truth
