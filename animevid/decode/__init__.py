"""Decoding: one streaming pass over an episode, in batches of small RGB frames.

Backends sit behind :class:`FrameSource` and are registered by name only when
their library imports: ``pyav`` (default, always), ``pyav-nvdec`` (NVDEC through PyAV's own
FFmpeg, where torch sees a CUDA GPU), ``decord`` (extra ``decord``), ``torchcodec`` (extra
``gpu``; NVDEC on CUDA, frames stay on the GPU).
"""

from __future__ import annotations

from pathlib import Path

import torch

from animevid.config import DecodeConfig
from animevid.decode._probe import SubtitleTrack, VideoInfo, probe
from animevid.decode._pyav import NvdecSource, PyAVSource
from animevid.decode._source import Chunk, DecodeReport, DetailRequest, FrameBatch, FrameSource, close_pass
from animevid.decode._timestamps import FrameGap
from animevid.registry import Registry

DECODERS: Registry[FrameSource] = Registry("decoder")
"""Frame sources by name."""

DECODERS.register("pyav")(PyAVSource)
if torch.cuda.is_available():
    DECODERS.register("pyav-nvdec")(NvdecSource)
else:
    DECODERS.mark_unavailable("pyav-nvdec", "it needs an NVIDIA GPU and driver (torch sees no CUDA device)")

try:
    from animevid.decode._decord import DecordSource
except Exception as exc:  # ImportError, or a broken native library
    DECODERS.mark_unavailable("decord", f"install the 'decord' extra (pip install 'animevid[decord]'): {exc}")
else:
    DECODERS.register("decord")(DecordSource)

try:
    from animevid.decode._torchcodec import TorchCodecSource
except Exception as exc:
    DECODERS.mark_unavailable("torchcodec", f"install the 'gpu' extra (torchcodec and FFmpeg libraries): {exc}")
else:
    DECODERS.register("torchcodec")(TorchCodecSource)


def open_video(path: str | Path, *, config: DecodeConfig | None = None, device: str = "cpu") -> FrameSource:
    """Open an episode for one streaming pass with the configured backend.

    Args:
        path: The episode file.
        config: Decoding options; defaults to :class:`DecodeConfig`.
        device: Resolved device ("cpu" or "cuda") the batches are delivered to.

    Returns:
        A frame source whose :meth:`FrameSource.batches` yields the episode.

    Raises:
        UnknownNameError: ``config.backend`` is not a known decoder.
        BackendUnavailableError: The decoder's library is not installed.
        VideoError: The file cannot be used (see :func:`probe`).
    """
    config = config or DecodeConfig()
    factory = DECODERS.get(config.backend)
    return factory(
        path,
        analysis_width=config.analysis_width,
        batch_frames=config.batch_frames,
        threads=config.threads,
        prefetch_batches=config.prefetch_batches,
        interpolation=config.interpolation,
        device=device,
        skip_loop_filter=config.skip_loop_filter,
    )


__all__ = [
    "DECODERS",
    "Chunk",
    "DecodeReport",
    "DetailRequest",
    "FrameBatch",
    "FrameGap",
    "FrameSource",
    "SubtitleTrack",
    "VideoInfo",
    "close_pass",
    "open_video",
    "probe",
]
