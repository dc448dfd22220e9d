"""Peak memory of ``animevid index`` on a 24-minute and a 2-hour 1080p episode, and its speed against ffmpeg.

Usage: python bench/memory.py [--only-24] [--workers N]

The episodes are the real 1080p clip video2x_sample_output_sakurasou.mp4 (19 s, from
../shared/data/real) concatenated with ``ffmpeg -f concat -c copy`` (no re-encoding) 76 times
(24.1 minutes, 34,656 frames) and 380 times (2.0 hours, 173,280 frames), made once into
bench/.cache/ (animevid.synth.repeat_video stands in where ffmpeg is not installed). Each is
indexed into a fresh library by ``animevid index`` in its own process; the peak resident memory
of that process (``wait4``'s ru_maxrss) and its wall time are printed, beside the anchor measured
in the same run: ``ffmpeg -i EP -f null -`` on the 24-minute file (every frame decoded, FFmpeg's
own threads) and the ratio of the two speeds.

Bars (DESIGN.md, issue 17): peak RSS under 1 GB for both, the 2-hour within 15 % of the 24-minute
one; the speed ratio against ffmpeg on the 24-minute file 0.8 or more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from decode import REAL_1080P  # noqa: E402  (bench/decode.py)

COPIES = {"24-minute": 76, "2-hour": 380}
MB = 1024.0


def concatenated(copies: int) -> Path:
    """The real clip ``copies`` times over, remuxed once into bench/.cache/."""
    target = HERE / ".cache" / f"{REAL_1080P.stem}-concat{copies}.mp4"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.mp4")
    print(f"(making {target.name}: {copies} copies)", file=sys.stderr, flush=True)
    if shutil.which("ffmpeg"):
        listing = target.with_suffix(".txt")
        listing.write_text("".join(f"file '{REAL_1080P}'\n" for _ in range(copies)), encoding="utf-8")
        command = ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
        subprocess.run([*command, "-map", "0:v", "-c", "copy", str(partial)], check=True)
        listing.unlink()
    else:
        from animevid.synth import repeat_video

        repeat_video(REAL_1080P, partial, copies)
    partial.rename(target)
    return target


def measured(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit status of a command, from wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status:
        assert process.stderr is not None
        print(process.stderr.read().decode(errors="replace")[-2000:], file=sys.stderr)
    return seconds, usage.ru_maxrss / MB, os.waitstatus_to_exitcode(status)


def index_run(episode: Path, workers: int) -> tuple[float, float]:
    library = Path(tempfile.mkdtemp(prefix="animevid-memory-"))
    try:
        command = [sys.executable, "-m", "animevid", "index", str(episode), "--library", str(library)]
        if workers:
            command += ["--workers", str(workers)]
        seconds, peak, status = measured(command)
        if status:
            raise SystemExit(f"animevid index failed on {episode.name} (exit status {status})")
        return seconds, peak
    finally:
        shutil.rmtree(library, ignore_errors=True)


def frames_of(episode: Path) -> int:
    from animevid.decode import probe

    return probe(episode).frames_estimate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only-24", action="store_true", help="skip the 2-hour episode (about 10 min on 2 cores)")
    parser.add_argument("--workers", type=int, default=0, help="index --workers (0: the default, decode.workers)")
    args = parser.parse_args()
    if not REAL_1080P.exists():
        raise SystemExit(f"needs {REAL_1080P} (../shared/data/real)")
    names = ["24-minute"] if args.only_24 else list(COPIES)
    episodes = {name: concatenated(COPIES[name]) for name in names}
    print(f"machine: {len(os.sched_getaffinity(0))} cores; animevid index --workers {args.workers or 'default'}")
    rows = {}
    for name, episode in episodes.items():
        frames = frames_of(episode)
        seconds, peak = index_run(episode, args.workers)
        rows[name] = (frames, seconds, peak)
        print(
            f"  {name:10s} {frames:7d} frames  peak RSS {peak:7.0f} MB  {seconds:7.1f} s  {frames / seconds:6.1f} fps"
        )
    base = rows["24-minute"]
    if shutil.which("ffmpeg"):
        anchor, _, _ = measured(["ffmpeg", "-v", "error", "-i", str(episodes["24-minute"]), "-f", "null", "-"])
        print(
            f"  anchor: ffmpeg -f null on the 24-minute file {anchor:.1f} s ({base[0] / anchor:.1f} fps); "
            f"index speed / ffmpeg speed = {anchor / base[1]:.2f} (bar: 0.80)"
        )
    else:
        print("  anchor: ffmpeg is not installed (apt-get install ffmpeg) - no speed ratio")
    if "2-hour" in rows:
        growth = rows["2-hour"][2] / base[2] - 1
        print(f"  2-hour peak / 24-minute peak = {1 + growth:.3f} ({growth:+.1%}; bar: within +15 %)")
    worst = max(peak for _, _, peak in rows.values())
    print(f"  largest peak {worst:.0f} MB (bar: under 1024 MB)")


if __name__ == "__main__":
    main()
