"""Write loops found by the analysis as clips that play seamlessly.

A loop's frames ``start_frame .. end_frame`` are ``repeats`` copies of one period, so one
period played on repeat is the loop itself: GIF and WebP files hold one period and loop
forever; an mp4 (which players do not loop) holds every repeat.

Exporting reads the episode once more, from its start to the last loop's end, keeping only
the frames inside loops: it is an explicit export step, not a pipeline stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image

from animevid.config import DecodeConfig
from animevid.decode import open_video
from animevid.errors import AnimevidError
from animevid.model import Loop

LoopFormat = Literal["gif", "webp", "mp4"]
FORMATS: tuple[str, ...] = ("gif", "webp", "mp4")
EXPORT_WIDTH = 480
"""Width of exported clips in pixels (height keeps the aspect ratio)."""


def export_loops(
    video: str | Path,
    loops: Sequence[Loop],
    out_dir: str | Path,
    *,
    fmt: str = "gif",
    config: DecodeConfig | None = None,
    width: int = EXPORT_WIDTH,
) -> list[Path]:
    """Write each loop of ``video`` to ``out_dir`` as ``{stem}_loop{start}-{end}.{fmt}``.

    Args:
        video: The episode the loops were found in.
        loops: Loops from :func:`animevid.analysis.analyze_episode` (frame numbers of that decode).
        out_dir: Folder for the clips (created).
        fmt: gif, webp (one period, looping forever) or mp4 (every repeat).
        config: Decode options (backend, threads); the width is set to ``width``.
        width: Clip width in pixels (even).

    Returns:
        The files written, in the order of ``loops``.

    Raises:
        AnimevidError: Unknown format.
    """
    if fmt not in FORMATS:
        raise AnimevidError(f"unknown loop format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not loops:
        return []
    cfg = replace(config or DecodeConfig(), analysis_width=width - width % 2)
    wanted = {f for loop in loops for f in _frames_of(loop, fmt)}
    last = max(wanted)
    source = open_video(video, config=cfg)
    fps = source.info.fps_float or 24.0
    frames: dict[int, np.ndarray] = {}
    for batch in source.batches():
        pixels = batch.frames.cpu().numpy()
        for i, index in enumerate(batch.frame_indices.tolist()):
            if index in wanted:
                frames[index] = pixels[i].copy()
        if batch.frame_indices[-1] >= last:
            break
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for loop in loops:
        clip = [frames[f] for f in _frames_of(loop, fmt) if f in frames]
        path = out / f"{Path(video).stem}_loop{loop.start_frame}-{loop.end_frame}.{fmt}"
        if fmt == "mp4":
            _write_mp4(path, clip, fps)
        else:
            write_animation(path, clip, fps, fmt)
        written.append(path)
    return written


def _frames_of(loop: Loop, fmt: str) -> range:
    end = loop.end_frame if fmt == "mp4" else loop.start_frame + loop.period_frames
    return range(loop.start_frame, end)


def write_animation(path: Path, clip: list[np.ndarray], fps: float, fmt: str) -> None:
    """Write RGB frames as an animated GIF or WebP (``fmt``) that plays at ``fps`` and repeats forever."""
    images = [Image.fromarray(frame) for frame in clip]
    # GIF durations are whole hundredths of a second; spread the rounding so the period keeps its length
    total = round(len(images) * 1000 / fps)
    durations = [round(total * (i + 1) / len(images)) - round(total * i / len(images)) for i in range(len(images))]
    extra = {"lossless": False, "quality": 85} if fmt == "webp" else {"optimize": False}
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0, **extra)


def _write_mp4(path: Path, clip: list[np.ndarray], fps: float) -> None:
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.height, stream.width = clip[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for frame in clip:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
