"""Whole seasons: ingest speed with --jobs 1, --jobs 2 and the Ray engine beside the decode-only anchor,
peak memory per worker, recurring-footage accuracy, and the cost of adding one episode at 10k-1M vectors.

Usage: python bench/season.py [--seconds 60] [--skip-ingest] [--sizes 10000,100000,1000000] [--json OUT]

Ingest: the synthetic season (animevid/synth/_season.py: 6 episodes of --seconds at 320x180 sharing an
OP and ED, with cold opens, a short OP, a second OP, recaps and reused footage) indexed from scratch by
`animevid index SEASON --jobs N [--engine ray]` as its own process group; its wall time gives hours of
video per hour. Anchor: `ffmpeg -i EP -f null -` over the same files (decoding alone, all threads), in
the same run. Peak memory: the largest resident set of any process of the group, sampled every 0.2 s
from /proc. The segments found are scored against the generator's truth (+-2 frames, kinds equal).

Adding an episode: a search index grown to each size with the real descriptors of a small library
(perturbed with noise, re-normalised; the base exact up to 200k vectors, IVF-PQ beyond, as the library
builds it), then one more 24-minute episode (20,000 kept frames) added with `SearchIndex.put_episode`.
Printed per size: the time to add it (pending: its own files and vectors.json), the time of a fold
(rewriting the base with the pending vectors), the fold's share per added episode (a fold comes once
per max(100k, base / 4) pending vectors), and, as the anchor, what adding cost before this layout:
rewriting the whole vectors.faiss. Search p50 per descriptor at each size, with a full pending set.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import animevid.search._store as store  # noqa: E402
from animevid.catalog import Catalog  # noqa: E402
from animevid.config import SearchConfig  # noqa: E402
from animevid.search import EpisodeFrames, SearchIndex  # noqa: E402
from animevid.synth._season import generate_season  # noqa: E402

EPISODE_FRAMES = 20_000
"""Kept frames of a 24-minute episode (bench/search.py: about 14 a second)."""


def _group_rss(pgid: int) -> int:
    """Largest resident set (bytes) of any process in a process group, now."""
    largest = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    largest = max(largest, int(line.split()[1]) * 1024)
        except (OSError, ProcessLookupError):
            continue
    return largest


def ingest(season: Path, args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS of one worker for `animevid index SEASON ARGS` in a new library."""
    library = Path(tempfile.mkdtemp(prefix="animevid-season-lib-"))
    command = [sys.executable, "-m", "animevid", "index", str(season), "--library", str(library), "--json", *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _group_rss(process.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - started
    out = process.stdout.read() if process.stdout else b""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a Ray or pool process left behind
    statuses = [e["status"] for e in json.loads(out)["episodes"]]
    if any(s != "indexed" for s in statuses):
        raise SystemExit(f"indexing failed: {statuses}")
    ingest.last_library = library  # type: ignore[attr-defined]
    return wall, peak


def decode_anchor(files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    return time.perf_counter() - started


def score_segments(library: Path, truth: list[dict[str, Any]]) -> dict[str, int]:
    with Catalog.in_library(library) as catalog:
        rows = catalog.segments()
    found: dict[str, list[tuple[str, int, int]]] = {}
    for row in rows.itertuples():
        found.setdefault(Path(row.path).name, []).append((row.kind, int(row.start_frame), int(row.end_frame)))
    right = wrong = missed = 0
    for episode in truth:
        got = list(found.get(episode["file"], []))
        for want in episode["segments"]:
            match = [
                g
                for g in got
                if g[0] == want["kind"] and abs(g[1] - want["start_frame"]) <= 2 and abs(g[2] - want["end_frame"]) <= 2
            ]
            if match:
                right += 1
                got.remove(match[0])
            else:
                missed += 1
        wrong += len(got)
    return {"right": right, "missed": missed, "false": wrong}


def run_ingest(seconds: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="animevid-bench-season-"))
    episodes = generate_season(work / "Synthetic Season", seconds=seconds)
    folder = episodes[0].path.parent
    shutil.rmtree(folder / "bases", ignore_errors=True)
    truth = json.loads((folder / "season.truth.json").read_text())
    hours = sum(e.frames for e in episodes) / (24000 / 1001) / 3600
    anchor = decode_anchor([e.path for e in episodes])
    rows: dict[str, Any] = {
        "video_hours": hours,
        "ffmpeg decode-only": {"seconds": anchor, "hours_per_hour": hours * 3600 / anchor},
    }
    for name, args in (
        ("--jobs 1", ["--jobs", "1"]),
        ("--jobs 2", ["--jobs", "2"]),
        ("--engine ray", ["--engine", "ray"]),
    ):
        try:
            wall, peak = ingest(folder, args)
        except (SystemExit, json.JSONDecodeError) as exc:
            rows[name] = {"error": str(exc)}
            continue
        rows[name] = {
            "seconds": wall,
            "hours_per_hour": hours * 3600 / wall,
            "ratio_to_decode": anchor / wall,
            "peak_rss_mb_one_process": peak / 1e6,
            "segments": score_segments(ingest.last_library, truth),  # type: ignore[attr-defined]
        }
    shutil.rmtree(work, ignore_errors=True)
    return rows


def _grown(real: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    picks = real[rng.integers(0, len(real), count)] + rng.normal(0, 0.08, (count, real.shape[1])).astype(np.float32)
    return picks / np.linalg.norm(picks, axis=1, keepdims=True)


def _episode(descriptors: np.ndarray) -> EpisodeFrames:
    n = len(descriptors)
    seconds = np.arange(n, dtype=np.float64) * 0.07
    return EpisodeFrames(
        frames=np.arange(n, dtype=np.int64) * 2,
        seconds=seconds,
        until_seconds=seconds + 0.07,
        descriptors=descriptors.astype(np.float32),
        thumbnails=np.zeros((n, 72, 128), np.uint8),
    )


def add_cost(size: int, real: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """Time to add one 24-minute episode to an index of ``size`` vectors, and search p50 there."""
    folder = Path(tempfile.mkdtemp(prefix="animevid-bench-add-"))
    index = SearchIndex(folder, config=SearchConfig())
    vectors = _grown(real, size, rng)
    base = index.build(vectors, index._kind_for(size))
    base.add_with_ids(vectors, np.arange(size, dtype=np.int64) + (1 << store.ROW_BITS))
    index._save_index(base, trained_on=size)
    started = time.perf_counter()
    faiss.write_index(base, str(folder / "rewrite.faiss"))
    rewrite = time.perf_counter() - started
    new = _episode(_grown(real, EPISODE_FRAMES, rng))
    opened = SearchIndex(folder, config=SearchConfig())
    started = time.perf_counter()
    opened.put_episode(5, new)
    add = time.perf_counter() - started
    pending_max = max(store.FOLD_MIN_VECTORS, store.FOLD_RATIO * size)
    queries = _grown(real, 300, rng)
    singles = []
    opened.search(queries[:1], 8)
    for query in queries:
        started = time.perf_counter()
        opened.search(query[None], 8)
        singles.append(time.perf_counter() - started)
    started = time.perf_counter()
    opened._fold()
    fold = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "vectors": size,
        "kind": "exact" if size <= SearchConfig().exact_max_vectors else "ivfpq",
        "add_seconds": add,
        "fold_seconds": fold,
        "fold_share_per_episode_seconds": fold * EPISODE_FRAMES / pending_max,
        "old_rewrite_seconds": rewrite,
        "search_p50_ms": float(np.percentile(singles, 50) * 1000),
        "search_p99_ms": float(np.percentile(singles, 99) * 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each synthetic episode")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if not args.skip_ingest:
        out["ingest"] = run_ingest(args.seconds)
    rng = np.random.default_rng(0)
    real = _grown(rng.normal(0, 1, (2000, 64)).astype(np.float32), 20000, rng)  # 2000 random cluster centres
    out["add"] = [add_cost(int(s), real, rng) for s in args.sizes.split(",")]
    _print(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def _print(out: dict[str, Any]) -> None:
    if "ingest" in out:
        rows = out["ingest"]
        minutes = rows["video_hours"] * 60
        print(f"\ningest: synthetic season, {minutes:.1f} minutes of 320x180 video, {os.cpu_count()} cores")
        print(f"{'':22} {'seconds':>8} {'h/h':>8} {'x decode':>9} {'peak MB':>8}  segments (right/missed/false)")
        for name, row in rows.items():
            if name == "video_hours":
                continue
            if "error" in row:
                print(f"{name:22} {row['error']}")
                continue
            seg = row.get("segments")
            scored = "" if seg is None else "{right}/{missed}/{false}".format(**seg)
            print(
                f"{name:22} {row['seconds']:8.1f} {row['hours_per_hour']:8.1f} {row.get('ratio_to_decode', 1.0):9.3f} "
                f"{row.get('peak_rss_mb_one_process', 0):8.0f}  {scored}"
            )
    print("\nadding one 24-minute episode (20,000 kept frames)")
    heads = ("add s", "fold s", "fold/ep s", "old rewrite s", "p50 ms", "p99 ms")
    print(f"{'vectors':>9} {'kind':>6} " + " ".join(f"{h:>{max(7, len(h))}}" for h in heads))
    for row in out["add"]:
        print(
            f"{row['vectors']:9d} {row['kind']:>6} {row['add_seconds']:7.3f} {row['fold_seconds']:7.2f} "
            f"{row['fold_share_per_episode_seconds']:9.3f} {row['old_rewrite_seconds']:13.3f} "
            f"{row['search_p50_ms']:7.2f} {row['search_p99_ms']:7.2f}"
        )


if __name__ == "__main__":
    main()
