"""Frame-to-frame change: the raw signal under cuts, held drawings and motion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from animevid import signals
from animevid.decode import FrameBatch
from animevid.engine import STAGES, SegmentRun, SplittableStage

# ITU-R BT.601 luma weights: the eye's sensitivity, and what encoders compress on.
_LUMA = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class FrameDiff:
    """How much one frame differs from the frame before it."""

    frame_index: int
    """The frame (0-based decode order)."""
    pts_seconds: float
    """Its presentation time."""
    mean_luma: float
    """Average brightness, 0..255 (black and white flashes stand out here)."""
    mean_abs_diff: float
    """Mean absolute luma difference to the previous frame, 0..255 (0 for frame 0)."""
    changed_fraction: float
    """Share of pixels whose luma moved by more than the noise threshold (0..1)."""
    block_max_diff: float
    """Largest mean absolute luma change over the frame's 8x8-pixel blocks
    (:data:`~animevid.signals.FRAME_BLOCK_PX`), 0..255: a lip flap is small but strong, encoder
    noise is spread out and weak."""
    held: bool
    """The frame repeats the previous image up to encoder noise (:func:`animevid.signals.held`; False
    for frame 0)."""


@STAGES.register("frame-diff", commands=(), order=5)  # no command runs it: held frames come from the meter
class FrameDiffStage(SplittableStage[FrameDiff, list[FrameDiff]]):
    """Per-frame brightness and change against the previous frame, on the batch's device.

    Args:
        device: Device the batches arrive on.
        noise_levels: Luma change (0..255) below which a pixel counts as unchanged.
        held_block_levels: A frame is held when no 8x8 block of it changed by this much on
            average; the default, :data:`animevid.signals.FRAME_HELD_LEVELS`, says how it was
            measured.
    """

    name = "frame-diff"
    block = signals.FRAME_BLOCK_PX
    """Side in analysis pixels of the blocks behind ``block_max_diff``."""

    def __init__(
        self,
        *,
        device: str | torch.device = "cpu",
        noise_levels: float = 16.0,
        held_block_levels: float = signals.FRAME_HELD_LEVELS,
    ) -> None:
        super().__init__(device=device)
        self.noise_levels = noise_levels
        self.held_block_levels = held_block_levels
        self._previous: torch.Tensor | None = None

    warmup_frames = 1  # a run's first frame has no previous frame to compare with

    def settings(self) -> dict[str, Any]:
        """The two thresholds."""
        return {"noise_levels": self.noise_levels, "held_block_levels": self.held_block_levels}

    def reset(self) -> None:
        """Forget the previous frame."""
        self._previous = None

    def absorb(self, run: SegmentRun) -> Sequence[FrameDiff]:
        """The run's records of frames ``[run.start, run.stop)`` (split runs: ``animevid.engine._split``)."""
        return run.records_taken()

    def process(self, batch: FrameBatch) -> Sequence[FrameDiff]:
        """Records for every frame of ``batch``."""
        weights = torch.tensor(_LUMA, device=batch.frames.device, dtype=torch.float32)
        luma = batch.frames.to(torch.float32) @ weights  # (n, h, w)
        previous = luma[:1] if self._previous is None else self._previous
        stacked = torch.cat([previous, luma])
        diff = (stacked[1:] - stacked[:-1]).abs_()
        mean_diff = diff.mean(dim=(1, 2)).cpu()
        changed = (diff > self.noise_levels).float().mean(dim=(1, 2)).cpu()
        brightness = luma.mean(dim=(1, 2)).cpu()
        block_max = F.avg_pool2d(diff.unsqueeze(1), self.block, ceil_mode=True).amax(dim=(1, 2, 3)).cpu()
        self._previous = luma[-1:]
        return [
            FrameDiff(
                frame_index=int(batch.frame_indices[i]),
                pts_seconds=float(batch.pts_seconds[i]),
                mean_luma=float(brightness[i]),
                mean_abs_diff=float(mean_diff[i]),
                changed_fraction=float(changed[i]),
                block_max_diff=float(block_max[i]),
                held=int(batch.frame_indices[i]) > 0 and signals.held(float(block_max[i]), self.held_block_levels),
            )
            for i in range(len(batch))
        ]
