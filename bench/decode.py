"""Decode throughput: every backend at analysis resolution against FFmpeg decode-only.

Usage: python bench/decode.py [--repeats 3] [--seconds 30] [VIDEO ...]

For each video (default: the 1080p real clip video2x_sample_output_sakurasou.mp4
from ../shared/data/real and a synthetic 720p episode made on the fly) it prints
frames/s of:
  * the anchor, FFmpeg decode-only: PyAV decoding every frame with no conversion,
    and the `ffmpeg -i V -f null -` CLI where it is installed;
  * each available backend delivering analysis-size RGB batches (the default
    config, plus PyAV with the area scaler for comparison);
and the ratio to the anchor. Each measurement runs in its own subprocess, best of
--repeats, so peak RSS is per measurement. Target: default backend >= 0.8x.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REAL_1080P = Path(__file__).resolve().parents[2] / "shared/data/real/video/video2x_sample_output_sakurasou.mp4"


def measure_decode_only(path: str) -> dict[str, float]:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        started = time.perf_counter()
        frames = sum(1 for _ in container.decode(stream))
    return {"frames": frames, "seconds": time.perf_counter() - started}


def measure_backend(path: str, backend: str, interpolation: str) -> dict[str, float]:
    from animevid.config import DecodeConfig
    from animevid.decode import open_video

    config = DecodeConfig(backend=backend, interpolation=interpolation)  # type: ignore[arg-type]
    started = time.perf_counter()
    source = open_video(path, config=config)
    frames = sum(len(batch) for batch in source.batches())
    return {"frames": frames, "seconds": time.perf_counter() - started}


def measure_ffmpeg_cli(path: str) -> dict[str, float] | None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    started = time.perf_counter()
    subprocess.run([exe, "-v", "error", "-i", path, "-map", "0:v:0", "-f", "null", "-"], check=True)
    return {"frames": 0, "seconds": time.perf_counter() - started}


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, path: str, backend: str, interpolation: str) -> None:
    """Run one measurement in this process and print it as JSON."""
    result = measure_decode_only(path) if kind == "decode-only" else measure_backend(path, backend, interpolation)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def run_once(kind: str, path: Path, backend: str = "", interpolation: str = "") -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", kind, str(path), backend or "-", interpolation or "-"]
    result: dict[str, float] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    result["fps"] = result["frames"] / result["seconds"]
    return result


def best_of_interleaved(runs: list[tuple[str, str, str]], path: Path, repeats: int) -> list[dict[str, float]]:
    """Best run of each measurement; rounds interleave them so machine drift hits all alike."""
    best: list[dict[str, float] | None] = [None] * len(runs)
    for _ in range(repeats):
        for i, (kind, backend, interpolation) in enumerate(runs):
            result = run_once(kind, path, backend, interpolation)
            current = best[i]
            if current is None or result["fps"] > current["fps"]:
                best[i] = result
    return [b for b in best if b is not None]


def synthetic_720p(folder: Path, seconds: float) -> Path:
    from animevid.config import SynthConfig
    from animevid.synth import generate_episode

    episode = generate_episode(folder, seed=11, seconds=seconds, config=SynthConfig(width=1280, height=720))
    return episode.mp4


def bench_video(path: Path, repeats: int) -> None:
    from animevid.config import DecodeConfig
    from animevid.decode import DECODERS

    default = DecodeConfig()
    backends = [(name, default.interpolation) for name in DECODERS.names()] + [("pyav", "area")]
    runs = [("decode-only", "", ""), *[("backend", b, i) for b, i in backends]]
    anchor, *results = best_of_interleaved(runs, path, repeats)
    print(f"\n{path.name}")
    print(f"  {'what':44s} {'frames/s':>9s} {'ratio':>6s} {'peak RSS MB':>12s}")
    label = "anchor: FFmpeg decode-only (PyAV, no scaling)"
    print(f"  {label:44s} {anchor['fps']:9.1f} {1.0:6.2f} {anchor['peak_rss_mb']:12.0f}")
    cli = measure_ffmpeg_cli(str(path))
    if cli is not None:
        fps = anchor["frames"] / cli["seconds"]
        print(
            f"  {'anchor: ffmpeg -f null CLI (with its start-up)':44s} {fps:9.1f} {fps / anchor['fps']:6.2f} {'-':>12s}"
        )
    for (backend, interpolation), result in zip(backends, results, strict=True):
        label = f"{backend} -> {default.analysis_width}px {interpolation}"
        if backend == default.backend and interpolation == default.interpolation:
            label += " (default)"
        ratio = result["fps"] / anchor["fps"]
        print(f"  {label:44s} {result['fps']:9.1f} {ratio:6.2f} {result['peak_rss_mb']:12.0f}")
    for name, reason in DECODERS.unavailable().items():
        print(f"  {name}: not measured ({reason.split(':')[0]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the synthetic 720p episode")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, backend, interpolation = args.child
        child(kind, path, backend, interpolation)
        return
    import os

    print(f"machine: {os.cpu_count()} cores; best of {args.repeats} interleaved rounds, each run in its own process")
    with tempfile.TemporaryDirectory() as tmp:
        videos = list(args.videos)
        if not videos:
            if REAL_1080P.exists():
                videos.append(REAL_1080P)
            else:
                print(f"(skipping the real 1080p clip: {REAL_1080P} not found)")
            videos.append(synthetic_720p(Path(tmp), args.seconds))
        for video in videos:
            bench_video(video, args.repeats)


if __name__ == "__main__":
    main()
