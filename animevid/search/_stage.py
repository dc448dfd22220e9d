"""The frame-descriptor stage: picks the frames worth indexing on the one decode pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from animevid.config import SearchConfig
from animevid.decode import FrameBatch
from animevid.engine import STAGES, EpisodeContext, SegmentRun, SplittableStage
from animevid.search._describe import COARSE_SIZE, DESCRIPTOR_DIM, frame_descriptors, grey, thumbnails
from animevid.search._parts import frame_parts

_NO_PARTS = np.zeros((0, DESCRIPTOR_DIM), np.float32)
_NO_XY = np.zeros((0, 2), np.float32)
_WITH_PARTS = 2


@dataclass(frozen=True)
class IndexedFrame:
    """One frame kept for search, with what is stored about it."""

    frame_index: int
    """The frame (0-based decode order)."""
    pts_seconds: float
    """Its presentation time."""
    descriptor: np.ndarray
    """(64,) float32 L2-normalised descriptor of the frame's core."""
    thumbnail: np.ndarray
    """(72, 128) uint8 grey thumbnail for the finer check."""
    parts: np.ndarray = field(default_factory=lambda: _NO_PARTS)
    """(m, 64) float32 part descriptors (:mod:`animevid.search._parts`); empty on most kept frames."""
    part_xy: np.ndarray = field(default_factory=lambda: _NO_XY)
    """(m, 2) float32 centres of the parts' patches in frame shares (x, y)."""


@dataclass(frozen=True)
class EpisodeFrames:
    """Every frame of one episode kept for search, as arrays (what the index stores)."""

    frames: np.ndarray
    """(n,) int64 frame indices, increasing."""
    seconds: np.ndarray
    """(n,) float64 presentation times."""
    until_seconds: np.ndarray
    """(n,) float64: the picture (up to small changes) shows until this time, the next kept frame's."""
    descriptors: np.ndarray
    """(n, 64) float32 descriptors."""
    thumbnails: np.ndarray
    """(n, 72, 128) uint8 grey thumbnails."""
    parts: np.ndarray = field(default_factory=lambda: _NO_PARTS)
    """(m, 64) float32 part descriptors of some kept frames (none in files written before they existed)."""
    part_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """(m,) int64: the row (kept frame) each part belongs to."""
    part_xy: np.ndarray = field(default_factory=lambda: _NO_XY)
    """(m, 2) float32 centres of the parts' patches in frame shares."""

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def vector_count(self) -> int:
        """Vectors the episode owns in the index: one per kept frame and one per part."""
        return len(self.frames) + len(self.parts)

    def vectors(self) -> np.ndarray:
        """(vector_count, 64) float32: the kept frames' descriptors, then the parts'."""
        return (
            np.concatenate([self.descriptors, self.parts]).astype(np.float32) if len(self.parts) else self.descriptors
        )

    @classmethod
    def from_records(cls, records: Sequence[IndexedFrame], end_seconds: float) -> EpisodeFrames:
        """Gather a stage's records; ``end_seconds`` (the episode's length) closes the last span."""
        return cls.spanning(
            frames=np.array([r.frame_index for r in records], np.int64),
            seconds=np.array([r.pts_seconds for r in records], np.float64),
            descriptors=np.stack([r.descriptor for r in records]) if records else np.zeros((0, 64), np.float32),
            thumbnails=np.stack([r.thumbnail for r in records]) if records else np.zeros((0, 72, 128), np.uint8),
            end_seconds=end_seconds,
            parts=gather_parts(records, 0),
        )

    @classmethod
    def spanning(
        cls,
        *,
        frames: np.ndarray,
        seconds: np.ndarray,
        descriptors: np.ndarray,
        thumbnails: np.ndarray,
        end_seconds: float,
        parts: Parts | None = None,
    ) -> EpisodeFrames:
        """Kept frames whose pictures each show until the next one; ``end_seconds`` closes the last span.

        ``parts`` is (descriptors, rows, centres) as :func:`gather_parts` gives it.
        """
        until = np.append(seconds[1:], max(end_seconds, seconds[-1]) if len(seconds) else end_seconds)
        return cls(frames, seconds, until[: len(seconds)], descriptors, thumbnails, *(parts or ()))


Parts = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(descriptors, rows, centres) of an episode's parts, as :class:`EpisodeFrames` keeps them."""


def gather_parts(records: Sequence[IndexedFrame], first_row: int) -> Parts:
    """The records' parts; the first record is row ``first_row``."""
    with_parts = [(row, r) for row, r in enumerate(records, first_row) if len(r.parts)]
    return join_parts([(r.parts, np.full(len(r.parts), row, np.int64), r.part_xy) for row, r in with_parts])


def join_parts(pieces: Sequence[Parts]) -> Parts:
    """Pieces of parts, in row order, as one."""
    if not pieces:
        return _NO_PARTS, np.zeros(0, np.int64), _NO_XY
    descriptors, rows, centres = (np.concatenate([piece[k] for piece in pieces]) for k in range(3))
    return descriptors.astype(np.float32), rows, centres.astype(np.float32)


@STAGES.register(
    "frame-descriptors",
    commands=("index",),
    order=30,
    build=lambda config, device: FrameDescriptorStage(
        device=device,
        min_gap_seconds=config.search.min_gap_seconds,
        max_gap_seconds=config.search.max_gap_seconds,
        part_gap_seconds=config.search.part_gap_seconds,
    ),
)
class FrameDescriptorStage(SplittableStage[IndexedFrame, EpisodeFrames]):
    """Keep the frames a screenshot could come from and describe them for search.

    A frame is kept when its thumbnail correlates less than ``keep_correlation`` with the last
    kept one and ``min_gap_seconds`` passed (a new picture, or a move that a screenshot would no
    longer match), at once when it correlates less than ``cut_correlation`` (a cut: every shot's
    first frame is kept), or when anything beyond encoder noise changed and ``max_gap_seconds``
    passed. With the defaults (both gaps 0.03 s) every new picture is kept: a screenshot between two
    kept frames of a lip flap or of an action shot on ones otherwise matches a look-alike a second
    away. Exact repeats of a held drawing are never kept: the kept frame's span simply grows.
    Descriptors are computed with OpenCV on the CPU
    (torch is 10-20x slower on frames this small).

    Splittable (``animevid.engine._split``): what is kept next depends only on the last kept frame, so
    two runs that both kept a frame keep the same frames after it.

    Args:
        device: Device the batches arrive on (frames are copied to the CPU).
        keep_correlation: Correlation with the last kept thumbnail below which a frame is new.
        cut_correlation: Correlation below which a frame is kept whatever the gap.
        noise_levels: Change of the most-changed 4x4 thumbnail block (0..255) below which the
            picture counts as held.
        min_gap_seconds: Least time between two kept frames (bounds vectors per second in action).
        max_gap_seconds: Most time between two kept frames while anything changes.
        part_gap_seconds: Kept frames get part descriptors (:mod:`animevid.search._parts`) at every
            shot's start and at most once per slot of this length.
    """

    name = "frame-descriptors"
    cpu_only = True

    def __init__(
        self,
        *,
        device: str | torch.device = "cpu",
        keep_correlation: float = 0.9,
        cut_correlation: float = 0.5,
        noise_levels: float = 2.5,
        min_gap_seconds: float = SearchConfig.min_gap_seconds,
        max_gap_seconds: float = SearchConfig.max_gap_seconds,
        part_gap_seconds: float = SearchConfig.part_gap_seconds,
    ) -> None:
        super().__init__(device=device)
        self.keep_correlation, self.cut_correlation = keep_correlation, cut_correlation
        self.noise_levels = noise_levels
        self.min_gap_seconds, self.max_gap_seconds = min_gap_seconds, max_gap_seconds
        self.part_gap_seconds = part_gap_seconds
        self.reset()

    def settings(self) -> dict[str, Any]:
        """The keep thresholds and gaps."""
        names = (
            "keep_correlation",
            "cut_correlation",
            "noise_levels",
            "min_gap_seconds",
            "max_gap_seconds",
            "part_gap_seconds",
        )
        return {name: getattr(self, name) for name in names}

    def reset(self) -> None:
        """Forget the last kept frame."""
        self._last: np.ndarray | None = None
        self._last_unit = np.zeros(0, np.float32)
        self._last_seconds = -1e9
        self._kept: list[bool] = []

    def part(self) -> np.ndarray:
        """Whether each fed frame was kept."""
        return np.array(self._kept, dtype=bool)

    def joinable(self, part: np.ndarray) -> np.ndarray:
        """Kept frames: the next decisions depend on the last kept frame alone."""
        return part

    def summarise(self, records: list[IndexedFrame], episode: EpisodeContext) -> EpisodeFrames:
        """The kept frames as arrays, the last one shown until the episode's end.

        ``animevid index`` streams the records to disk instead (:class:`~animevid.search.FrameWriter`,
        whose ``finish`` gives the same) and stores them in the search index.
        """
        return EpisodeFrames.from_records(records, episode.report.decoded_seconds)

    def absorb(self, run: SegmentRun) -> Sequence[IndexedFrame]:
        """The run's kept frames within ``[run.start, run.stop)``."""
        return run.records_taken()

    def process(self, batch: FrameBatch) -> Sequence[IndexedFrame]:
        """The kept frames of ``batch``, with descriptors and thumbnails."""
        greys = grey(batch.frames.cpu().numpy())
        fine = thumbnails(greys)
        thumbs = thumbnails(fine, COARSE_SIZE)
        flat = thumbs.reshape(len(thumbs), -1).astype(np.float32)
        flat -= flat.mean(axis=1, keepdims=True)
        flat /= np.linalg.norm(flat, axis=1, keepdims=True) + 1e-3
        decisions = [self._keep(thumbs[i], flat[i], float(batch.pts_seconds[i])) for i in range(len(thumbs))]
        kept = [i for i, d in enumerate(decisions) if d]
        self._kept.extend(bool(d) for d in decisions)
        if not kept:
            return []
        descriptors = frame_descriptors(greys[kept])
        records = []
        for j, i in enumerate(kept):
            parts, xy = frame_parts(greys[i]) if decisions[i] == _WITH_PARTS else (_NO_PARTS, _NO_XY)
            records.append(
                IndexedFrame(
                    int(batch.frame_indices[i]), float(batch.pts_seconds[i]), descriptors[j], fine[i], parts, xy
                )
            )
        return records

    def _keep(self, thumb: np.ndarray, unit: np.ndarray, seconds: float) -> int:
        """0: not kept; 1: kept; 2 (``_WITH_PARTS``): kept with part descriptors.

        A kept frame gets parts when it opens a shot or is the first kept in its ``part_gap_seconds``
        slot of the episode's time: both depend on the last kept frame alone, as the split pass asks.
        """
        cut = True
        if self._last is not None:
            gap = seconds - self._last_seconds
            correlation = float(unit @ self._last_unit)
            diff = np.abs(thumb.astype(np.int16) - self._last).astype(np.float32)
            moved = float(diff.reshape(9, 4, 16, 4).mean(axis=(1, 3)).max()) > self.noise_levels
            cut = correlation < self.cut_correlation and moved
            keep = cut
            keep |= correlation < self.keep_correlation and moved and gap >= self.min_gap_seconds - 1e-6
            keep |= moved and gap >= self.max_gap_seconds - 1e-6
            if not keep:
                return 0
        slot = np.floor(seconds / self.part_gap_seconds) != np.floor(self._last_seconds / self.part_gap_seconds)
        self._last, self._last_unit, self._last_seconds = thumb.astype(np.int16), unit, seconds
        return _WITH_PARTS if cut or slot else 1
