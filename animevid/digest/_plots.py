"""The digest's plots: drawings per second, motion and cut rate over the episode, as one PNG.

Drawn with :class:`matplotlib.figure.Figure` directly, which renders with Agg and never touches
pyplot's global state or the backend a caller chose.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from animevid.clips import SEGMENT_COLOURS, EpisodeFacts

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_INK, _GRID, _PAPER = "#c9ccd4", "#2b2f3a", "#14161b"


def _stairs(facts: EpisodeFacts, value: str) -> tuple[list[float], list[float]]:
    """Shot edges in minutes and one value per shot (NaN for a shot without analysis)."""
    edges = [shot.start_seconds / 60 for shot in facts.shots] + [facts.shots[-1].end_seconds / 60]
    values = []
    for index in range(len(facts.shots)):
        analysis = facts.analyses.get(index)
        values.append(float(getattr(analysis, value)) if analysis is not None else float("nan"))
    return edges, values


def plot_png(facts: EpisodeFacts, cut_rate: Sequence[tuple[float, float]], *, width_px: int = 960) -> bytes:
    """The three plots stacked over one time axis (minutes), OP/ED/recap shaded; PNG bytes."""
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(width_px / dpi, 5.4), dpi=dpi, facecolor=_PAPER, layout="constrained")
    axes = figure.subplots(3, 1, sharex=True)
    if facts.shots:
        edges, drawings = _stairs(facts, "drawings_per_second")
        axes[0].stairs(drawings, edges, color="#7bdcb5", fill=True, alpha=0.85)
        edges, motion = _stairs(facts, "motion")
        axes[1].stairs(motion, edges, color="#ffb86b", fill=True, alpha=0.85)
    if cut_rate:
        axes[2].plot([t / 60 for t, _ in cut_rate], [r for _, r in cut_rate], color="#8fb8ff", linewidth=1.4)
    labels = ("drawings / s", "motion (share)", "cuts / min")
    for ax, label in zip(axes, labels, strict=True):
        _style(ax, label)
        for segment in facts.segments:
            colour = SEGMENT_COLOURS.get(segment.kind, "#888888")
            ax.axvspan(segment.start_seconds / 60, segment.end_seconds / 60, color=colour, alpha=0.18, linewidth=0)
    axes[2].set_xlabel("minutes", color=_INK)
    axes[2].set_xlim(0, max(facts.episode.duration_seconds / 60, 1e-3))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=_PAPER)
    return buffer.getvalue()


def _style(ax: Axes, label: str) -> None:
    ax.set_facecolor(_PAPER)
    ax.set_ylabel(label, color=_INK, fontsize=9)
    ax.tick_params(colors=_INK, labelsize=8)
    ax.grid(True, color=_GRID, linewidth=0.6)
    ax.set_ylim(bottom=0)
    for spine in ax.spines.values():
        spine.set_color(_GRID)
