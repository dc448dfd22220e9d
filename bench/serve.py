"""animevid serve under load: requests/s and p50/p99 latency of /search with 8 concurrent loopback
clients on a 100k-frame library, beside the same searches through the library call the CLI makes.

Usage: python bench/serve.py [--frames 100000] [--queries 200] [--clients 8] [--json OUT]

Library: the real clips in ../shared/data/real/video (synthetic episodes when absent) indexed with
`index_episodes`, then grown to --frames kept frames with padding episodes: catalog rows and search
files made from the real episodes' own, their descriptors perturbed with Gaussian noise (sigma 0.05,
re-normalised) so they compete in FAISS's nearest neighbours, their thumbnails rolled and inverted so the
finer check rejects them. A search therefore pays for neighbours from the whole library, as in a real one.

Queries: --queries frames of the real episodes (seeded draw among kept frames with detail), cropped 10 %
and re-encoded as JPEG quality 80. Right: the top hit names the query's episode within 1 s.

Anchor, measured in the same run on the same queries:
- "library call": `animevid.search.search_image(path, library=...)` as `animevid search` runs it, with
  the index opened once (what the CLI's process does per query, minus its start-up), sequentially, and
  with --clients threads at once;
- "CLI process": `animevid search IMAGE --json` as a new process, for 5 queries (start-up included).
Server: `animevid serve` started as its own process (workers = cores, rate limit and quota off),
--clients threads each sending its share of the queries as raw POST bodies over keep-alive connections.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animevid.catalog import Catalog  # noqa: E402
from animevid.config import Config  # noqa: E402
from animevid.decode._probe import VIDEO_SUFFIXES  # noqa: E402
from animevid.pipeline import index_episodes  # noqa: E402
from animevid.search import EpisodeFrames, SearchIndex, open_search_index, search_image  # noqa: E402
from animevid.synth import generate_episode  # noqa: E402

REAL = ROOT.parent / "shared/data/real/video"
PAD_FRAMES = 5000
"""Kept frames per padding episode (a real episode's frames repeated end to end)."""


def build_library(work: Path, frames: int, rng: np.random.Generator) -> tuple[Path, list[Path]]:
    """Index the real clips (or synthetic episodes), then pad the library to ``frames`` kept frames."""
    videos = sorted(p for p in REAL.glob("*") if p.suffix in VIDEO_SUFFIXES) if REAL.is_dir() else []
    if not videos:
        print(f"real clips not found in {REAL}: synthetic episodes only")
        videos = [generate_episode(work / "synth", seed=s, seconds=60.0).mp4 for s in (1, 2, 3)]
    library = work / "library"
    results = index_episodes(videos, library=library, config=Config(device="cpu"))
    indexed = [r for r in results if r.status == "indexed"]
    print(f"indexed {len(indexed)} of {len(videos)} videos")
    _pad(library, frames, rng)
    return library, [r.path for r in indexed]


def _pad(library: Path, target: int, rng: np.random.Generator) -> None:
    index = SearchIndex.in_library(library)
    with Catalog.in_library(library) as catalog:
        real = [(e, index.episode(e.episode_id)) for e in catalog.stored_episodes("indexed")]
        real = [(e, f) for e, f in real if len(f)]
        have = sum(len(f) for _, f in real)
        copy = 0
        while have < target:
            stored, frames = real[copy % len(real)]
            episode = catalog.get_episode(stored.episode_id)
            take = min(PAD_FRAMES, target - have)
            padded = _perturbed(frames, take, copy, rng)
            fake = replace(episode, path=f"{episode.path}.pad{copy}", content_hash=f"pad{copy}-{episode.content_hash}")
            episode_id = catalog.put_episode(
                fake, shots=catalog.get_shots(stored.episode_id), search_vectors=take, config_fingerprint="bench"
            )
            index.put_episode(episode_id, padded)
            have += take
            copy += 1
    print(f"library grown to {have} kept frames with {copy} padding episodes")


def _perturbed(frames: EpisodeFrames, take: int, copy: int, rng: np.random.Generator) -> EpisodeFrames:
    """``take`` frames made from ``frames`` repeated end to end (later repeats later in time), perturbed."""
    reps = -(-take // len(frames))
    span_frames, span_seconds = int(frames.frames[-1]) + 1, float(frames.until_seconds[-1])
    tiled = {
        "frames": np.concatenate([frames.frames + r * span_frames for r in range(reps)])[:take],
        "seconds": np.concatenate([frames.seconds + r * span_seconds for r in range(reps)])[:take],
        "until_seconds": np.concatenate([frames.until_seconds + r * span_seconds for r in range(reps)])[:take],
    }
    base = np.concatenate([frames.descriptors] * reps)[:take]
    descriptors = base + rng.normal(0, 0.05, base.shape).astype(np.float32)
    descriptors /= np.linalg.norm(descriptors, axis=1, keepdims=True)
    thumbs = np.concatenate([np.asarray(frames.thumbnails)] * reps)[:take]
    thumbs = 255 - np.roll(thumbs, (17 + copy % 30, 41 + copy % 50), axis=(1, 2))
    return EpisodeFrames(descriptors=descriptors, thumbnails=thumbs, **tiled)


def make_queries(library: Path, videos: list[Path], count: int, work: Path, rng: np.random.Generator) -> list[dict]:
    """Crops of kept frames with detail, as JPEG files: (path, episode, seconds)."""
    index = SearchIndex.in_library(library)
    with Catalog.in_library(library) as catalog:
        ids = {Path(e.path).name: e.episode_id for e in catalog.stored_episodes("indexed")}
    pool = []
    for video in videos:
        kept = index.episode(ids[video.name])
        pool += [(video, float(s)) for s, t in zip(kept.seconds, kept.thumbnails, strict=True) if t.std() >= 20]
    picks = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    queries = []
    for n, k in enumerate(picks):
        video, seconds = pool[int(k)]
        rgb = _frame_at(video, seconds)
        h, w = rgb.shape[:2]
        crop = rgb[h // 20 : h - h // 20, w // 20 : w - w // 20]
        path = work / "queries" / f"{n:04d}.jpg"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        queries.append({"path": path, "episode": str(video), "seconds": seconds})
    return queries


def _frame_at(video: Path, seconds: float) -> np.ndarray:
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        origin = (stream.start_time or 0) * float(stream.time_base)
        for frame in container.decode(stream):
            if frame.pts is not None and frame.pts * float(stream.time_base) - origin >= seconds - 1e-3:
                return frame.to_ndarray(
                    format="rgb24", width=640, height=round(640 * frame.height / frame.width / 2) * 2
                )
    raise SystemExit(f"{video}: no frame at {seconds}")


def _stats(latencies: list[float], wall: float, right: int) -> dict[str, float]:
    ms = np.array(latencies) * 1000
    return {
        "requests_per_second": len(latencies) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "top1_within_1s": right / len(latencies),
    }


def _right(query: dict, episode: str, seconds: float) -> bool:
    return Path(episode).name == Path(query["episode"]).name and abs(seconds - query["seconds"]) <= 1.0


def library_calls(library: Path, queries: list[dict], clients: int) -> dict[str, dict[str, float]]:
    """The anchor: the library call `animevid search` makes, the index opened once."""
    index = open_search_index(library)
    search_image(queries[0]["path"], library=library, index=index)  # warm: the index and files are read

    def one(query: dict) -> tuple[float, bool]:
        started = time.perf_counter()
        hits = search_image(query["path"], library=library, index=index, top=10).hits
        spent = time.perf_counter() - started
        return spent, bool(hits) and _right(query, hits[0].episode, hits[0].seconds)

    out = {}
    for threads in (1, clients):
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(one, queries))
        out[f"library call, {threads} thread(s)"] = _stats(
            [t for t, _ in done], time.perf_counter() - started, sum(r for _, r in done)
        )
    return out


def cli_processes(library: Path, queries: list[dict]) -> dict[str, float]:
    """`animevid search IMAGE --json` as a new process (start-up included), 5 queries."""
    latencies, right = [], 0
    for query in queries[:5]:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "animevid", "search", str(query["path"]), "--library", str(library), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        latencies.append(time.perf_counter() - started)
        hit = json.loads(done.stdout)["results"][0]
        right += _right(query, hit["episode"], hit["seconds"])
    return _stats(latencies, sum(latencies), right)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def served(library: Path, queries: list[dict], clients: int, work: Path) -> dict[str, float]:
    """`animevid serve` as its own process, ``clients`` threads posting screenshots."""
    import httpx

    port = _free_port()
    config = work / "serve.yaml"
    workers = os.cpu_count() or 2
    config.write_text(f"serve:\n  rate_limit: 0\n  quota: 0\n  concurrency: 64\n  workers: {workers}\n  queue: 64\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "animevid",
            "serve",
            "--library",
            str(library),
            "--port",
            str(port),
            "--config",
            str(config),
        ],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url)
        bodies = [q["path"].read_bytes() for q in queries]
        httpx.post(f"{url}/search", content=bodies[0], timeout=120)  # warm, as the library call is
        results: list[tuple[float, bool]] = []
        lock = threading.Lock()

        def client(share: range) -> None:
            with httpx.Client(timeout=120) as http:
                for k in share:
                    started = time.perf_counter()
                    reply = http.post(f"{url}/search", content=bodies[k], headers={"content-type": "image/jpeg"})
                    spent = time.perf_counter() - started
                    hit = reply.json()["result"][0] if reply.status_code == 200 and reply.json()["result"] else None
                    ok = hit is not None and _right(queries[k], hit["filename"], hit["at"])
                    with lock:
                        results.append((spent, ok))

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(range(c, len(queries), clients),)) for c in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(30)
    return _stats([t for t, _ in results], wall, sum(ok for _, ok in results))


def _wait_up(url: str) -> None:
    import httpx

    for _ in range(600):  # bounded: 60 s
        try:
            if httpx.get(f"{url}/me", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("animevid serve did not start within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000, help="grow the library to this many kept frames")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    work = Path(tempfile.mkdtemp(prefix="animevid-bench-serve-"))
    try:
        library, videos = build_library(work, args.frames, rng)
        queries = make_queries(library, videos, args.queries, work, rng)
        rows = library_calls(library, queries, args.clients)
        rows["CLI process (5 queries)"] = cli_processes(library, queries)
        rows[f"animevid serve, {args.clients} clients"] = served(library, queries, args.clients, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print(rows, args, len(queries))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _print(rows: dict[str, dict[str, float]], args: argparse.Namespace, queries: int) -> None:
    print(
        f"\n{queries} screenshot queries (crop 10 %, JPEG 80) on a {args.frames}-frame library, {os.cpu_count()} cores"
    )
    print(f"{'':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'top-1':>7}")
    for name, row in rows.items():
        print(
            f"{name:34} {row['requests_per_second']:8.2f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} "
            f"{row['top1_within_1s'] * 100:6.1f}%"
        )
    anchor = rows[f"library call, {args.clients} thread(s)"]["requests_per_second"]
    server = rows[f"animevid serve, {args.clients} clients"]["requests_per_second"]
    print(f"server / library call with {args.clients} threads: {server / anchor:.2f}x requests per second")


if __name__ == "__main__":
    main()
