"""What a shot looks like: its palette, its coarse background layout and its brightness.

:class:`ShotLookStage` (stage name ``shot-look``) keeps, for every frame of the one decode pass,
a colour histogram, a tiny Lab thumbnail and the mean luma, computed with OpenCV on a 64-pixel-wide
copy of the analysis frame: about 0.7 KB a frame, all but the 4-byte luma in a temporary file
(125 MB for a 2-hour film). Once the shots are known, :meth:`ShotLookStage.summarise` turns them
into one :class:`ShotLook` per shot, reading each shot's frames back.

Two shots of the same place share a palette (sky, walls, floor) even when the camera set-up
differs, and, from similar set-ups, a layout; :func:`look_distance` blends the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from animevid._columns import Column, Spill
from animevid.decode import FrameBatch
from animevid.engine import STAGES, EpisodeContext, SegmentRun, SplittableStage
from animevid.model import Shot

SMALL = (64, 36)
"""(width, height) of the copy every frame is measured on: enough pixels for a histogram."""
THUMB = (16, 9)
"""(width, height) of the Lab thumbnail behind the layout."""
BINS = (12, 3, 4)
"""Hue, saturation and value bins of the palette histogram (OpenCV HSV: hue 0..179)."""
PALETTE_BINS = int(np.prod(BINS))
"""Bins of one palette."""
FLASH_LEVELS = 40.0
"""Luma (0..255) by which a frame may differ from its shot's median before it is left out as a flash."""
TRANSITION_FRAMES = 8
"""Frames left out at a shot edge that is a fade or a dissolve (they blend in another picture)."""
DARK_LEVELS = 24.0
"""Mean luma at or below which a frame is black (a fade's end)."""
BRIGHT_LEVELS = 232.0
"""Mean luma at or above which a frame is white."""
WINDOW = 4096
"""Frames of palettes and thumbnails read at a time (a shot longer than that is averaged in windows)."""


@dataclass(frozen=True, eq=False)
class ShotLook:
    """How one shot looks, averaged over its own frames (transition and flash frames left out)."""

    shot_index: int
    """Index of the shot within the episode."""
    start_frame: int
    """First frame of the shot."""
    end_frame: int
    """One past its last frame."""
    palette: np.ndarray = field(repr=False)
    """HSV histogram (``PALETTE_BINS`` float32 values summing to 1)."""
    layout: np.ndarray = field(repr=False)
    """Mean Lab thumbnail, (9, 16, 3) float32, 0..255 per channel."""
    mean_luma: float = 0.0
    """Average brightness of its own frames, 0..255."""
    head_luma: float = 0.0
    """Brightness of its first frame (low or high after a fade in from black or white)."""
    tail_luma: float = 0.0
    """Brightness of its last frame (low or high before a fade out)."""

    @property
    def faded_in(self) -> bool:
        """Its first frame is black or white: it opens with a fade."""
        return self.head_luma <= DARK_LEVELS or self.head_luma >= BRIGHT_LEVELS

    @property
    def faded_out(self) -> bool:
        """Its last frame is black or white: it closes with a fade."""
        return self.tail_luma <= DARK_LEVELS or self.tail_luma >= BRIGHT_LEVELS


@dataclass
class FrameLooks:
    """Per-frame looks of a stream, in frame order (arrays built once the stream ends)."""

    palettes: np.ndarray
    """(frames, PALETTE_BINS) float16 histograms summing to 1."""
    thumbs: np.ndarray
    """(frames, 9, 16, 3) uint8 Lab thumbnails."""
    luma: np.ndarray
    """(frames,) float32 mean luma, 0..255."""


def measure_frames(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Palettes, Lab thumbnails and mean luma of (n, h, w, 3) uint8 RGB frames."""
    n = len(frames)
    small = np.stack([cv2.resize(f, SMALL, interpolation=cv2.INTER_AREA) for f in frames])
    tall = small.reshape(n * SMALL[1], SMALL[0], 3)  # one OpenCV call per batch for the colour conversions
    hsv = cv2.cvtColor(tall, cv2.COLOR_RGB2HSV).reshape(n, -1, 3)
    hue = np.minimum(hsv[..., 0].astype(np.int32) * BINS[0] // 180, BINS[0] - 1)
    sat = hsv[..., 1].astype(np.int32) * BINS[1] // 256
    val = hsv[..., 2].astype(np.int32) * BINS[2] // 256
    index = (hue * BINS[1] + sat) * BINS[2] + val + np.arange(n)[:, None] * PALETTE_BINS
    counts = np.bincount(index.ravel(), minlength=n * PALETTE_BINS).reshape(n, PALETTE_BINS)
    palettes = (counts / hsv.shape[1]).astype(np.float16)
    lab = cv2.cvtColor(tall, cv2.COLOR_RGB2LAB)
    # SMALL is an exact multiple of THUMB, so area resizing the stacked frames never mixes two of them
    thumbs = cv2.resize(lab, (THUMB[0], n * THUMB[1]), interpolation=cv2.INTER_AREA).reshape(n, THUMB[1], THUMB[0], 3)
    luma = cv2.cvtColor(tall, cv2.COLOR_RGB2GRAY).reshape(n, -1).mean(axis=1)  # BT.601 weights
    return palettes, thumbs, luma.astype(np.float32)


@STAGES.register("shot-look", commands=("index", "scenes"), order=20)
class ShotLookStage(SplittableStage[None, list[ShotLook]]):
    """Per-frame palette, layout thumbnail and brightness on the shared stream (CPU, OpenCV).

    Its output is one :class:`ShotLook` per shot, which scenes are grouped from (it stores nothing).

    The palettes and thumbnails (720 bytes a frame) are written to disk as they come
    (:class:`~animevid._columns.Spill`) and read back shot by shot; the brightness stays in memory.

    Splittable (``animevid.engine._split``): every frame is measured on its own.

    Args:
        device: Device the batches arrive on (frames are copied to the CPU, a few KB each).
    """

    name = "shot-look"
    cpu_only = True

    def __init__(self, *, device: str | torch.device = "cpu") -> None:
        super().__init__(device=device)
        self._palettes = Spill(np.float16, (PALETTE_BINS,))
        self._thumbs = Spill(np.uint8, (THUMB[1], THUMB[0], 3))
        self._luma = Column(np.float32)

    def reset(self) -> None:
        """Forget every frame measured."""
        self._palettes.clear()
        self._thumbs.clear()
        self._luma.clear()

    def part(self) -> FrameLooks:
        """Every fed frame's looks."""
        return self.frames

    def absorb(self, run: SegmentRun) -> Sequence[None]:
        """Append the run's looks of frames ``[run.start, run.stop)``."""
        looks: FrameLooks = run.part
        self._append(
            *(a[run.start - run.first : run.stop - run.first] for a in (looks.palettes, looks.thumbs, looks.luma))
        )
        return []

    def process(self, batch: FrameBatch) -> Sequence[None]:
        """Measure every frame of the batch; results come from :meth:`summarise`."""
        if len(batch):
            self._append(*measure_frames(batch.frames.cpu().numpy()))
        return []

    def _append(self, palettes: np.ndarray, thumbs: np.ndarray, luma: np.ndarray) -> None:
        self._palettes.extend(palettes)
        self._thumbs.extend(thumbs)
        self._luma.extend(luma)

    @property
    def frames(self) -> FrameLooks:
        """What was measured, frame by frame (every frame read back: :meth:`summarise` reads shot by shot)."""
        return FrameLooks(self._palettes[:], self._thumbs[:], self._luma[:])

    def looks(self, shots: Sequence[Shot]) -> list[ShotLook]:
        """One look per shot (the shots must cover the frames measured)."""
        return _summarise(self._palettes, self._thumbs, self._luma.view(), shots)

    def summarise(self, records: list[None], episode: EpisodeContext) -> list[ShotLook]:
        """One look per shot of the episode."""
        return self.looks(episode.shots)


def summarise_looks(looks: FrameLooks, shots: Sequence[Shot]) -> list[ShotLook]:
    """One :class:`ShotLook` per shot from per-frame looks.

    Frames within ``TRANSITION_FRAMES`` of a fade or dissolve edge are left out (when the shot is
    long enough to spare them), and so are frames far brighter or darker than the shot's median
    (impact frames).

    Raises:
        ValueError: The shots run past the frames measured.
    """
    return _summarise(looks.palettes, looks.thumbs, looks.luma, shots)


def _summarise(
    palettes: np.ndarray | Spill, thumbs: np.ndarray | Spill, luma: np.ndarray, shots: Sequence[Shot]
) -> list[ShotLook]:
    """:func:`summarise_looks` over per-frame palettes and thumbnails held in arrays or spills."""
    total = len(luma)
    if shots and max(s.end_frame for s in shots) > total:
        raise ValueError(
            f"the shots run to frame {max(s.end_frame for s in shots)} but only {total} frames were measured"
        )
    out = []
    for i, shot in enumerate(shots):
        start, end = shot.start_frame, shot.end_frame
        gradual_in = shot.transition in ("fade", "dissolve")
        gradual_out = i + 1 < len(shots) and shots[i + 1].transition in ("fade", "dissolve")
        keep = _own_frames(luma[start:end], gradual_in, gradual_out)
        out.append(
            ShotLook(
                shot_index=i,
                start_frame=shot.start_frame,
                end_frame=shot.end_frame,
                palette=_mean_of(palettes, start, keep),
                layout=_mean_of(thumbs, start, keep),
                mean_luma=float(luma[start:end][keep].mean()),
                head_luma=float(luma[start]),
                tail_luma=float(luma[end - 1]),
            )
        )
    return out


def _mean_of(rows: np.ndarray | Spill, start: int, keep: np.ndarray) -> np.ndarray:
    """Float32 mean of the kept rows among ``rows[start : start + len(keep)]``, read WINDOW frames at a time.

    Equal, bit for bit, to ``rows[kept].astype(np.float32).mean(axis=0)``: numpy adds the rows of an
    array along its first axis one after the other, so the sum so far, put before the next window's
    rows, continues the same sum; np.mean then divides the float32 sum by the count as an intp (in
    float64) and rounds back to float32.
    """
    if len(keep) <= WINDOW:  # nearly every shot: one read, numpy's own mean
        return rows[start : start + len(keep)][keep].astype(np.float32).mean(axis=0)
    total: np.ndarray | None = None
    for lo in range(0, len(keep), WINDOW):
        hi = min(len(keep), lo + WINDOW)
        part = rows[start + lo : start + hi][keep[lo:hi]].astype(np.float32)
        if total is not None:
            part = np.concatenate([total[None], part])
        total = part.sum(axis=0) if len(part) else total
    assert total is not None, "a shot keeps at least one frame"
    return (total / np.intp(keep.sum())).astype(np.float32)


def _own_frames(luma: np.ndarray, gradual_in: bool, gradual_out: bool) -> np.ndarray:
    """Mask of the frames that show the shot's own picture (never empty)."""
    n = len(luma)
    keep = np.ones(n, dtype=bool)
    spare = min(TRANSITION_FRAMES, n // 4)
    if gradual_in:
        keep[:spare] = False
    if gradual_out and spare:
        keep[n - spare :] = False
    steady = np.abs(luma - np.median(luma[keep])) <= FLASH_LEVELS
    return keep & steady if (keep & steady).any() else keep


def look_distance(a: ShotLook, b: ShotLook, *, palette_weight: float = 0.7) -> float:
    """How differently two shots look, 0 (same) .. 1 (nothing alike).

    The palette part is the Hellinger distance of the histograms; the layout part is the mean
    absolute Lab difference of the thumbnails over 64 levels (clipped at 1).
    """
    overlap = float(np.sqrt(np.clip(a.palette, 0, None) * np.clip(b.palette, 0, None)).sum())
    palette = float(np.sqrt(max(0.0, 1.0 - min(overlap, 1.0))))
    layout = min(1.0, float(np.abs(a.layout - b.layout).mean()) / 64.0)
    return palette_weight * palette + (1.0 - palette_weight) * layout
