"""Clip export speed: stream-copy and re-encode against the ffmpeg CLI making the same cuts.

Usage: python bench/export.py [--repeats 3] [VIDEO ...]

Each video (default: the 1080p real clip video2x_sample_output_sakurasou.mp4 from ../shared/data/real)
is indexed into a temporary library; then every shot is exported (files format, full size, no
near-duplicate check, so both sides cut the same clips):

  * ``copy``: animevid's default, packets copied where that is frame-exact, re-encoded elsewhere;
  * ``reencode``: every clip re-encoded (``stream_copy=False``; libx264 crf 18 veryfast, as animevid);

beside the anchor, the ffmpeg CLI cutting the same shots, one process per clip:
``ffmpeg -ss START -i EP -frames:v N -c copy`` and ``... -c:v libx264 -crf 18 -preset veryfast``.
It prints clips/s and MB/s (clip bytes written per second) of each, the ratio to ffmpeg (> 1: faster),
and how many of ffmpeg's stream copies hold exactly the shot's frame count (a fast seek copies from
the I-frame before, so its clips are not frame-exact). Best of --repeats. Skips when the real
data folder is absent and no VIDEO is given.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REAL_1080P = Path(__file__).resolve().parents[2] / "shared/data/real/video/video2x_sample_output_sakurasou.mp4"


def index(video: Path, library: Path) -> None:
    from animevid.config import Config
    from animevid.pipeline import index_episodes

    [result] = index_episodes([video], library=library, config=Config(device="cpu"))
    if result.status != "indexed":
        raise SystemExit(f"{video.name}: could not be indexed ({result.status})")


def shots(library: Path) -> tuple[Path, list[tuple[float, int]], float]:
    """The episode, its shots as (start seconds, frames), and its frame rate."""
    from animevid.clips import library_episodes

    [facts] = list(library_episodes(library))
    return facts.path, [(s.start_seconds, s.frames) for s in facts.shots], facts.episode.fps


def run_animevid(library: Path, out: Path, *, stream_copy: bool) -> tuple[float, int, int, int]:
    """Seconds, clips, bytes and copied clips of one export."""
    from animevid.dataset import ClipFilter, export_clips

    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    report = export_clips(library, out, filters=ClipFilter(dedupe=False), stream_copy=stream_copy)
    seconds = time.perf_counter() - started
    return seconds, report.stats.clips, report.stats.bytes, report.stats.copied


def run_ffmpeg(video: Path, cuts: list[tuple[float, int]], out: Path, *, copy: bool) -> tuple[float, int, int, int]:
    """Seconds, clips and bytes of the ffmpeg CLI cutting ``cuts``, and how many have the right frame count."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    codec = ["-c", "copy"] if copy else ["-c:v", "libx264", "-crf", "18", "-preset", "veryfast", "-an"]
    started = time.perf_counter()
    for n, (start, frames) in enumerate(cuts):
        cmd = ["ffmpeg", "-v", "error", "-y", "-ss", f"{start:.6f}", "-i", str(video), "-map", "0:v:0"]
        subprocess.run([*cmd, "-frames:v", str(frames), *codec, str(out / f"{n:05d}.mp4")], check=True)
    seconds = time.perf_counter() - started
    files = sorted(out.glob("*.mp4"))
    exact = sum(count_frames(f) == frames for f, (_, frames) in zip(files, cuts, strict=True))
    return seconds, len(files), sum(f.stat().st_size for f in files), exact


def run_copies(library: Path, out: Path) -> tuple[float, int, int, int, list[tuple[float, int]]]:
    """Seconds, clips and bytes of animevid cutting only the shots it can stream-copy, and those shots."""
    from animevid.clips import library_episodes
    from animevid.dataset._media import ClipJob, cut_clips, read_packet_table

    [facts] = list(library_episodes(library))
    table = read_packet_table(facts.path, facts.episode.frames)
    picked = [s for s in facts.shots if table.copy_span(s.start_frame, s.end_frame) is not None]
    jobs = [ClipJob(f"{n:05d}", s.start_frame, s.end_frame) for n, s in enumerate(picked)]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    kw = {"sizes": ["full"], "expected_frames": facts.episode.frames, "work": out, "signatures": False}
    clips = list(cut_clips(facts.path, jobs, **kw))  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    size = sum(f.bytes for c in clips for f in c.files)
    copied = sum(f.encoding == "copy" for c in clips for f in c.files)
    return seconds, len(clips), size, copied, [(s.start_seconds, s.frames) for s in picked]


def count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def best(runs: list[tuple[float, int, int, int]]) -> tuple[float, int, int, int]:
    """The fastest run."""
    return min(runs, key=lambda r: r[0])


def line(name: str, result: tuple[float, int, int, int], anchor: tuple[float, int, int, int], note: str) -> str:
    seconds, clips, size, _ = result
    ratio = anchor[0] / seconds if seconds else float("inf")
    return (
        f"  {name:<18} {clips / seconds:8.1f} clips/s {size / 1e6 / seconds:8.2f} MB/s "
        f"({seconds:.2f} s, {clips} clips, {size / 1e6:.1f} MB)  x{ratio:.2f} vs ffmpeg  {note}"
    )


def bench(video: Path, repeats: int) -> None:
    with tempfile.TemporaryDirectory(prefix="animevid-bench-export-") as folder:
        root = Path(folder)
        index(video, root / "library")
        episode, cuts, fps = shots(root / "library")
        print(f"{video.name}: {len(cuts)} shots, {sum(f for _, f in cuts)} frames at {fps:.3f} fps")
        ours_copy = best([run_animevid(root / "library", root / "a", stream_copy=True) for _ in range(repeats)])
        ours_enc = best([run_animevid(root / "library", root / "b", stream_copy=False) for _ in range(repeats)])
        ff_copy = best([run_ffmpeg(episode, cuts, root / "c", copy=True) for _ in range(repeats)])
        ff_enc = best([run_ffmpeg(episode, cuts, root / "d", copy=False) for _ in range(repeats)])
        print(line("ffmpeg -c copy", ff_copy, ff_copy, f"{ff_copy[3]}/{ff_copy[1]} with the shot's frame count"))
        print(line("animevid copy", ours_copy, ff_copy, f"{ours_copy[3]} copied, the rest re-encoded; all exact"))
        copies = [run_copies(root / "library", root / "e") for _ in range(repeats)]
        copy_cuts = copies[0][4]
        ours_only = best([c[:4] for c in copies])  # type: ignore[misc]
        if copy_cuts:
            ff_only = best([run_ffmpeg(episode, copy_cuts, root / "f", copy=True) for _ in range(repeats)])
            print(
                line(
                    "ffmpeg -c copy *",
                    ff_only,
                    ff_only,
                    f"{ff_only[3]}/{ff_only[1]} exact  (* the shots animevid copies)",
                )
            )
            print(line("animevid copy *", ours_only, ff_only, f"{ours_only[3]} copied (packets only, no decode)"))
        print(line("ffmpeg libx264", ff_enc, ff_enc, f"{ff_enc[3]}/{ff_enc[1]} with the shot's frame count"))
        print(line("animevid reencode", ours_enc, ff_enc, "one decode for every clip; all exact"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    videos = args.videos or ([REAL_1080P] if REAL_1080P.is_file() else [])
    if not videos:
        print(f"skipped: {REAL_1080P} not found and no VIDEO given")
        return
    if shutil.which("ffmpeg") is None:
        print("skipped: the ffmpeg CLI (the anchor) is not installed")
        return
    for video in videos:
        bench(video, args.repeats)


if __name__ == "__main__":
    sys.exit(main())
