"""Aligning subtitles to an episode's cuts: offset and drift, then keyframe snapping.

Fansub timers snap line starts and ends to hard cuts, and ASS stores centiseconds, so in a file
timed to the same video many boundaries sit exactly at a cut's pts floored to centiseconds. A file
timed to another release is that pattern moved by an offset (and stretched by a frame-rate
ratio, e.g. 25/23.976 for a PAL speed-up). :func:`estimate_timing` votes over every (boundary, cut)
pair for each candidate ratio and keeps the offset most boundaries agree on; :func:`align_lines`
applies it and then snaps like Aegisub's timing post-processor (thresholds in
:class:`~animevid.config.SubsConfig`).

Convention: ``video_seconds = ratio * file_seconds + offset_seconds``. A snapped time is the cut
frame's pts floored to centiseconds, so a renderer shows the line from exactly that frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from animevid.config import SubsConfig, parse_ratios
from animevid.model import Shot, SubtitleLine

_BIN_SECONDS = 0.001
_EPS = 1e-6


@dataclass(frozen=True)
class TimingFit:
    """How a subtitle file's clock maps onto the video's: ``video = ratio * file + offset``."""

    offset_seconds: float
    """Seconds added to every (ratio-scaled) subtitle time (0 when no offset stands out at all)."""
    ratio: float
    """Frame-rate ratio applied to subtitle times (1 when there is no drift)."""
    matched: int
    """Line boundaries (dialogue and sign starts/ends) that land on a cut after the fit."""
    boundaries: int
    """Line boundaries considered."""
    reliable: bool
    """True when the fit beats every rival offset by ``min_lead`` boundaries and chance by far; short clips
    with few lines give fits that are applied (they are the best explanation) but not reliable."""


@dataclass(frozen=True)
class SubtitleAlignment:
    """Subtitles aligned to an episode: the fitted clock, the re-timed lines, what snapping did."""

    fit: TimingFit
    """The offset and ratio applied."""
    lines: tuple[SubtitleLine, ...]
    """Every line re-timed, in file order (comments and songs shifted, never snapped)."""
    snapped_starts: int
    """Lines whose start is on a cut after snapping."""
    snapped_ends: int
    """Lines whose end is on a cut after snapping."""
    snapped: int
    """Lines with a start or an end on a cut."""
    retimed: int
    """Lines whose start or end changed (in whole centiseconds)."""
    cuts: int
    """Hard cuts the lines were aligned to."""
    fps: float
    """Frame rate used to turn the snapping thresholds into seconds."""
    episode: str = ""
    """The episode file (when aligned by :func:`~animevid.subs.align_subtitles`)."""
    subtitles: str = ""
    """The subtitle file or video the lines came from."""
    output: str | None = None
    """The re-timed file written, if any."""

    def as_dict(self) -> dict[str, Any]:
        """The ``animevid subs align --json`` object (DESIGN.md: offset_seconds, lines, snapped)."""
        kinds = dict.fromkeys(("dialogue", "sign", "song", "comment"), 0)
        for line in self.lines:
            kinds[line.kind] += 1
        return {
            "episode": self.episode,
            "subtitles": self.subtitles,
            "output": self.output,
            "offset_seconds": round(self.fit.offset_seconds, 6),
            "ratio": round(self.fit.ratio, 9),
            "reliable": self.fit.reliable,
            "lines": len(self.lines),
            "snapped": self.snapped,
            "snapped_starts": self.snapped_starts,
            "snapped_ends": self.snapped_ends,
            "retimed": self.retimed,
            "matched_boundaries": self.fit.matched,
            "boundaries": self.fit.boundaries,
            "cuts": self.cuts,
            "fps": round(self.fps, 6),
            "kinds": kinds,
        }


def cut_seconds(shots: Sequence[Shot]) -> list[float]:
    """Times of the hard cuts (shots whose transition is ``cut``); fades and dissolves are not snapped to."""
    return [shot.start_seconds for shot in shots if shot.transition == "cut"]


def estimate_timing(
    lines: Sequence[SubtitleLine], cut_times: Sequence[float], *, config: SubsConfig | None = None
) -> TimingFit:
    """Find the offset and frame-rate ratio that put most dialogue and sign boundaries on cuts.

    Args:
        lines: The subtitle lines (their kinds pick the boundaries used).
        cut_times: Times of the episode's hard cuts in seconds.
        config: Search range, candidate ratios, tolerance and evidence needed.

    Returns:
        The best fit when at least ``min_matches`` boundaries agree and no other offset does as well;
        else the identity (offset 0, ratio 1). ``reliable`` says whether it clearly stands out.
    """
    cfg = config or SubsConfig()
    bounds = _boundaries(lines)
    cuts = np.unique(np.asarray(cut_times, dtype=np.float64))
    if not len(bounds) or not len(cuts):
        return TimingFit(0.0, 1.0, 0, len(bounds), False)
    peaks = [_Peak.find(bounds * r, cuts, r, cfg) for r in (1.0, *parse_ratios(cfg.drift_ratios))]
    fits = []
    for peak in peaks:
        offset, matched, residual = _refine(bounds * peak.ratio, cuts, peak.offset, cfg.match_tolerance_seconds)
        # most votes wins; on a tie the ratio whose matches sit closest to their cuts, then the smaller drift
        fits.append(((peak.votes, matched, -round(residual, 3), -abs(math.log(peak.ratio))), peak, offset, matched))
    _, best, offset, matched = max(fits, key=lambda fit: fit[0])
    runner_up = max(p.votes_away_from(best.offset, 0.1) for p in peaks)  # a rival: another alignment
    span = max(float(cuts[-1] - cuts[0]), float(bounds[-1] - bounds[0]), 1.0)
    chance = len(bounds) * len(cuts) * cfg.match_tolerance_seconds / span  # pairs per window by coincidence
    lead = best.votes - runner_up
    if matched >= cfg.min_matches and lead >= 1:  # a unique best explanation is applied ...
        reliable = lead >= cfg.min_lead and matched > 3 * chance  # ... and trusted when it stands out
        return TimingFit(offset, best.ratio, matched, len(bounds), reliable)
    identity = _refine(bounds, cuts, 0.0, cfg.match_tolerance_seconds)[1]
    return TimingFit(0.0, 1.0, identity, len(bounds), False)


def _boundaries(lines: Sequence[SubtitleLine]) -> np.ndarray:
    times = [t for line in lines if line.kind in ("dialogue", "sign") for t in (line.start_seconds, line.end_seconds)]
    return np.unique(np.asarray(times, dtype=np.float64))


@dataclass(frozen=True)
class _Peak:
    """Votes of (boundary, cut) pairs per candidate offset, for one ratio."""

    ratio: float
    votes: int
    offset: float
    windows: np.ndarray
    centres: np.ndarray

    @classmethod
    def find(cls, bounds: np.ndarray, cuts: np.ndarray, ratio: float, cfg: SubsConfig) -> _Peak:
        """Count pairs per offset window (bins of 1 ms) and keep the best window nearest to offset 0."""
        # on the video's own clock the only spread is the centisecond floor; a rescaled file adds its rounding
        tolerance = cfg.match_tolerance_seconds / 2 + 0.001 if ratio == 1.0 else cfg.match_tolerance_seconds
        limit = cfg.max_offset_seconds
        diffs = (cuts[None, :] - bounds[:, None]).ravel()
        bins = np.floor((diffs[np.abs(diffs) <= limit] + limit) / _BIN_SECONDS).astype(np.int64)
        counts = np.bincount(bins, minlength=round(2 * limit / _BIN_SECONDS) + 2)
        width = max(1, round(tolerance / _BIN_SECONDS))
        windows = np.convolve(counts, np.ones(width, dtype=np.int64), mode="valid")
        centres = (np.arange(len(windows)) + width / 2) * _BIN_SECONDS - limit
        top = int(windows.max())
        tied = centres[windows == top]
        return cls(ratio, top, float(tied[np.argmin(np.abs(tied))]), windows, centres)

    def votes_away_from(self, offset: float, radius: float) -> int:
        """Most votes of a window farther than ``radius`` from ``offset`` (a rival explanation)."""
        away = np.abs(self.centres - offset) > radius
        return int(self.windows[away].max()) if away.any() else 0


def _refine(bounds: np.ndarray, cuts: np.ndarray, rough: float, tolerance: float) -> tuple[float, int, float]:
    """The offset putting matched boundaries on their cuts' floored times; matches; their mean distance (ms)."""
    nearest = _nearest(cuts, bounds + rough)
    close = np.abs(nearest - (bounds + rough)) <= tolerance
    if not close.any():
        return rough, 0, math.inf
    targets = np.floor(nearest[close] * 100 + _EPS) / 100
    offset = float(np.median(targets - bounds[close]))
    targets = np.floor(_nearest(cuts, bounds + offset) * 100 + _EPS) / 100
    distance = np.abs(targets - (bounds + offset))
    close = distance <= tolerance
    return offset, int(np.count_nonzero(close)), float(distance[close].mean() * 1000) if close.any() else math.inf


def _nearest(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The value of ``sorted_values`` nearest to each query."""
    if len(sorted_values) == 1:
        return np.full_like(queries, sorted_values[0])
    right = np.clip(np.searchsorted(sorted_values, queries), 1, len(sorted_values) - 1)
    left_values, right_values = sorted_values[right - 1], sorted_values[right]
    return np.where(np.abs(queries - left_values) <= np.abs(right_values - queries), left_values, right_values)


def align_lines(
    lines: Sequence[SubtitleLine],
    cut_times: Sequence[float],
    *,
    fps: float,
    config: SubsConfig | None = None,
    fit: TimingFit | None = None,
) -> SubtitleAlignment:
    """Re-time lines onto an episode: apply the offset and ratio, then snap to nearby cuts.

    Args:
        lines: The subtitle lines, in file order.
        cut_times: Times of the episode's hard cuts in seconds.
        fps: The episode's frame rate (the snapping thresholds are in frames).
        config: Snapping thresholds and estimation options.
        fit: A known offset and ratio; None estimates them (:func:`estimate_timing`).

    Returns:
        The re-timed lines and counts of what changed.
    """
    cfg = config or SubsConfig()
    timing = fit or estimate_timing(lines, cut_times, config=cfg)
    snapper = _Snapper(cut_times, fps, cfg)
    kinds = ("dialogue", "sign") if cfg.snap_signs else ("dialogue",)
    out, starts, ends, snapped, retimed = [], 0, 0, 0, 0
    for line in lines:
        start = max(0, round((timing.ratio * line.start_seconds + timing.offset_seconds) * 1000))
        end = max(start, round((timing.ratio * line.end_seconds + timing.offset_seconds) * 1000))
        if line.kind in kinds:
            start, end = snapper.snap(start, end)
            on_start, on_end = snapper.on_cut(start), snapper.on_cut(end)
            starts, ends, snapped = starts + on_start, ends + on_end, snapped + (on_start or on_end)
        new = replace(line, start_seconds=start / 1000, end_seconds=end / 1000)
        retimed += _centis(new) != _centis(line)
        out.append(new)
    return SubtitleAlignment(timing, tuple(out), starts, ends, snapped, retimed, len(snapper.cut_ms), fps)


def _centis(line: SubtitleLine) -> tuple[int, int]:
    """A line's times in whole centiseconds (what an .ass file can tell apart)."""
    return math.floor(line.start_seconds * 100 + 0.5), math.floor(line.end_seconds * 100 + 0.5)


class _Snapper:
    """Keyframe snapping in integer milliseconds, onto cut times floored to centiseconds."""

    def __init__(self, cut_times: Sequence[float], fps: float, cfg: SubsConfig) -> None:
        floored = {math.floor(t * 100 + _EPS) * 10 for t in cut_times}
        self.cut_ms = np.asarray(sorted(floored), dtype=np.int64)
        frame_ms = 1000.0 / fps if fps > 0 else 1000 / 23.976
        self.start_window = (cfg.snap_start_after_frames * frame_ms, cfg.snap_start_before_frames * frame_ms)
        self.end_window = (cfg.snap_end_after_frames * frame_ms, cfg.snap_end_before_frames * frame_ms)

    def snap(self, start: int, end: int) -> tuple[int, int]:
        """The line's (start, end) moved onto cuts within the windows; unchanged if that would empty it."""
        new_start = self._nearest(start, *self.start_window)
        new_end = self._nearest(end, *self.end_window)
        if new_end > new_start:
            return new_start, new_end
        if end > new_start:
            return new_start, end
        return (start, new_end) if new_end > start else (start, end)

    def _nearest(self, ms: int, back: float, ahead: float) -> int:
        """The cut nearest to ``ms`` from ``back`` ms before it to ``ahead`` ms after it, else ``ms``."""
        lo, hi = np.searchsorted(self.cut_ms, [ms - back - _EPS, ms + ahead + _EPS])
        if lo >= hi:
            return ms
        window = self.cut_ms[lo:hi]
        return int(window[np.argmin(np.abs(window - ms))])

    def on_cut(self, ms: int) -> bool:
        """True when ``ms`` is exactly a cut's floored time."""
        i = int(np.searchsorted(self.cut_ms, ms))
        return i < len(self.cut_ms) and int(self.cut_ms[i]) == ms
