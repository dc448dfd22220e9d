"""Optional backend: torchcodec, decoding on the GPU with NVDEC when device is cuda."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torchcodec.decoders import VideoDecoder

from animevid.decode._source import Chunk, FrameSource


class TorchCodecSource(FrameSource):
    """Decode with torchcodec; on CUDA the frames never leave the GPU.

    Frames are resized on the device with area averaging, so a 1080p episode is
    reduced to analysis size before any host copy.
    """

    name = "torchcodec"
    decode_errors = (RuntimeError,)

    def _chunks(self) -> Iterator[Chunk]:
        decoder = VideoDecoder(str(self.path), device=str(self.device), dimension_order="NCHW", seek_mode="approximate")
        total = decoder.metadata.num_frames or self.info.frames_estimate
        for start in range(0, total, self.batch_frames):
            batch = decoder.get_frames_in_range(start, min(start + self.batch_frames, total))
            frames = self._resize(batch.data)
            yield Chunk(frames=frames, raw_seconds=[float(t) for t in batch.pts_seconds])

    def _resize(self, frames: torch.Tensor) -> torch.Tensor:
        width, height = self.analysis_size
        mode = "area" if self.interpolation == "area" else "bilinear"
        small = F.interpolate(frames.float(), size=(height, width), mode=mode, antialias=mode == "bilinear")
        return small.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()
