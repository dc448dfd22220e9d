"""Shot-boundary detection: animevid against PySceneDetect's detectors, on labelled real clips and synthetic episodes.

Usage: python bench/shots.py [--rounds 3] [--seeds 101-106] [--seconds 60] [--tolerance 2] [--json OUT]

Videos: every labelled real clip (tests/data/shot_labels.json; clips in ../shared/data/real/video/, skipped
with a message when that folder is absent) and synthetic episodes of held-out seeds, generated once into
bench/.cache/ and reused while the animevid version, the generator's source and SynthConfig are unchanged.

Rows: our default detector (plus transnetv2 when registered) and PySceneDetect's ContentDetector,
AdaptiveDetector, HashDetector and HistogramDetector at their default settings (OpenCV backend, default
auto-downscale). A run times the whole detection, decode included, in its own subprocess; rounds interleave
every (video, detector) pair and the best of --rounds is kept.

Our default detector's scorer is fitted on synthetic episodes and on these real clips (bench/fit_shots.py), so
on each real clip it runs with the scorer fitted without that clip (leave-one-clip-out, fitted here first when
bench/.cache has none for this code and these labels): its real-clip numbers are those of footage it never saw.

fps = frames / best seconds; over a set,
total frames / total best seconds. "x content" is a row's fps over ContentDetector's.

Scoring (animevid.shots.evaluate): hard cuts matched one-to-one within +-tolerance frames. A detection inside
a labelled gradual transition between shots (span widened by the tolerance) that matches no true cut is left
out of the hard-cut score, for every detector alike: PySceneDetect does not tell dissolves from cuts.
Gradual transitions (fades, dissolves) are scored separately, for our detectors only. "ours/F1" is our
default detector's F1 over the row's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared/data/real/video"
LABELS = ROOT / "tests/data/shot_labels.json"
CACHE = Path(__file__).resolve().parent / ".cache"
PYSCENEDETECT = {
    "content": "ContentDetector",
    "adaptive": "AdaptiveDetector",
    "hash": "HashDetector",
    "histogram": "HistogramDetector",
}
"""Our short names of the PySceneDetect detectors compared, all at default settings."""


@dataclass(frozen=True)
class Video:
    """One benchmark video and its truth."""

    name: str
    path: Path
    group: str
    """anime, real (not anime) or synth."""
    truth: Any
    """animevid.shots.evaluate.ShotTruth."""
    model: Path | None = None
    """Scorer our default detector runs with on this video (shots.model): fitted without it."""


def measure_pyscenedetect(path: str, detector: str) -> dict[str, Any]:
    import scenedetect

    started = time.perf_counter()
    video = scenedetect.open_video(path)
    manager = scenedetect.SceneManager()
    manager.add_detector(getattr(scenedetect, PYSCENEDETECT[detector])())
    frames = manager.detect_scenes(video)
    cuts = [start.frame_num for start, _ in manager.get_scene_list()[1:]]
    return {"frames": frames, "seconds": time.perf_counter() - started, "cuts": cuts, "gradual": []}


def measure_ours(path: str, detector: str | None, model: str | None) -> dict[str, Any]:
    import animevid.pipeline  # noqa: F401  imports stay outside the timing, as scenedetect's do
    from animevid.config import Config, ShotsConfig
    from animevid.pipeline import detect_shots
    from animevid.shots.evaluate import cuts_of, gradual_of

    config = Config(shots=ShotsConfig(model=model)) if model else Config()
    started = time.perf_counter()
    result = detect_shots(path, config=config, detector=detector)
    seconds = time.perf_counter() - started
    return {
        "frames": result.frames,
        "seconds": seconds,
        "cuts": [int(f) for f in cuts_of(result.shots)],
        "gradual": [int(f) for f in gradual_of(result.shots)],
    }


def run_once(kind: str, video: Video) -> dict[str, Any]:
    """One measurement in a fresh process; {"error": ...} when it fails."""
    command = [sys.executable, __file__, "--child", kind, str(video.path)]
    if kind == "ours:-" and video.model is not None:
        command += ["--child-model", str(video.model)]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure_all(videos: list[Video], kinds: list[str], rounds: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Best (fastest) run of every (video, detector); rounds interleave them so machine drift hits all alike."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for r in range(rounds):
        started = time.perf_counter()
        for video in videos:
            for kind in kinds:
                result, current = run_once(kind, video), best.get((video.name, kind))
                if current is None or "error" in current or result.get("seconds", 1e9) < current.get("seconds", 1e9):
                    best[(video.name, kind)] = result
        print(f"(round {r + 1}/{rounds}: {time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return best


def real_videos() -> list[Video]:
    from animevid.shots.evaluate import load_labels

    if not REAL.is_dir():
        print(f"(skipping the real clips: {REAL} not found)")
        return []
    anime = {name: clip["anime"] for name, clip in json.loads(LABELS.read_text())["clips"].items()}
    videos = []
    for name, truth in load_labels(LABELS).items():
        if (REAL / name).exists():
            videos.append(Video(name, REAL / name, "anime" if anime[name] else "real", truth))
        else:
            print(f"(skipping {name}: not in {REAL})")
    return videos


def with_loco_scorers(videos: list[Video]) -> list[Video]:
    """The real clips, each with the scorer fitted without it (bench/fit_shots.py --loco)."""
    if not videos:
        return videos
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import fit_shots

    print("(leave-one-clip-out scorers: bench/fit_shots.py)", file=sys.stderr, flush=True)
    fit_shots.ensure_loco()
    return [replace(v, model=fit_shots.loco_model_path(v.name)) for v in videos]


def synth_cache() -> Path:
    """Cache folder keyed on what decides the episodes: version, generator source, SynthConfig defaults."""
    import animevid
    from animevid.config import SynthConfig

    digest = hashlib.sha256(f"{animevid.__version__}|{SynthConfig()!r}".encode())
    for source in sorted((ROOT / "animevid/synth").glob("*.py")):
        digest.update(source.read_bytes())
    return CACHE / f"synth-{animevid.__version__}-{digest.hexdigest()[:12]}"


def synth_videos(seeds: list[int], seconds: float) -> list[Video]:
    from animevid.shots.evaluate import truth_from_synth
    from animevid.synth import generate_episode, load_truth

    folder = synth_cache() / f"{seconds:g}s"
    for stale in CACHE.glob("synth-*"):
        if stale != folder.parent:
            shutil.rmtree(stale)
    videos = []
    for seed in seeds:
        mp4, truth_json = folder / f"ep{seed}.mp4", folder / f"ep{seed}.truth.json"
        if not (mp4.exists() and truth_json.exists()):
            print(f"(generating synthetic episode {seed}, {seconds:g} s, into {folder})", file=sys.stderr, flush=True)
            generate_episode(folder, seed=seed, seconds=seconds)
        videos.append(Video(mp4.name, mp4, "synth", truth_from_synth(load_truth(truth_json))))
    return videos


def hard_score(result: dict[str, Any], truth: Any, tolerance: int) -> Any:
    """Hard-cut score (animevid.shots.evaluate.score_hard_cuts: detections inside a gradual transition that match
    no true cut are left out)."""
    from animevid.shots.evaluate import score_hard_cuts

    return score_hard_cuts(result["cuts"], truth, tolerance=tolerance)


HEADER = f"  {'detector':32s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'P':>6s} {'R':>6s} {'F1':>6s} {'ours/F1':>7s}"
HEADER += f" {'frames/s':>9s} {'x content':>9s}"
Best = dict[tuple[str, str], dict[str, Any]]


def counts(label: str, score: Any) -> str:
    return (
        f"  {label:32s} {score.true_positives:4d} {score.false_positives:4d} {score.false_negatives:4d}"
        f" {score.precision:6.3f} {score.recall:6.3f} {score.f1:6.3f}"
    )


def score_set(videos: list[Video], kind: str, best: Best, tolerance: int) -> dict[str, Any]:
    """Hard-cut and gradual scores summed over ``videos``, and fps over them all, of one detector."""
    from animevid.shots.evaluate import EMPTY, score_gradual

    results = [best[(v.name, kind)] for v in videos]
    failed = next((r["error"] for r in results if "error" in r), None)
    if failed is not None:
        return {"error": failed}
    cuts, gradual = EMPTY, EMPTY
    for result, video in zip(results, videos, strict=True):
        cuts += hard_score(result, video.truth, tolerance)
        gradual += score_gradual(result["gradual"], video.truth.gradual, tolerance=tolerance)
    fps = sum(r["frames"] for r in results) / sum(r["seconds"] for r in results)
    return {"cuts": cuts, "gradual": gradual, "fps": fps}


def report(title: str, videos: list[Video], kinds: list[str], best: Best, tolerance: int) -> dict[str, Any]:
    """Print one table (one clip, or a set summed) and return its numbers, JSON-ready."""
    frames, cuts = sum(v.truth.frames for v in videos), sum(len(v.truth.cuts) for v in videos)
    gradual = sum(len(v.truth.gradual) for v in videos)
    print(f"\n{title}  ({len(videos)} video(s), {frames} frames, {cuts} true cuts, {gradual} gradual)\n{HEADER}")
    numbers = {kind: score_set(videos, kind, best, tolerance) for kind in kinds}
    ours, content_fps = numbers.get("ours:-", {}).get("cuts"), numbers.get("psd:content", {}).get("fps")
    out: dict[str, Any] = {}
    for kind, n in numbers.items():
        if "error" in n:
            print(f"  {label_of(kind):32s} error: {n['error']}")
            out[kind] = n
            continue
        f1_ratio = ours.f1 / n["cuts"].f1 if ours is not None and n["cuts"].f1 else None
        fps_ratio = n["fps"] / content_fps if content_fps else None
        ratio, speed = (f"{x:7.2f}" if x is not None else f"{'-':>7s}" for x in (f1_ratio, fps_ratio))
        print(f"{counts(label_of(kind), n['cuts'])} {ratio} {n['fps']:9.1f} {speed:>9s}")
        out[kind] = {"cuts": n["cuts"].as_dict(), "gradual": n["gradual"].as_dict(), "fps": round(n["fps"], 1)}
        out[kind] |= {"ours_f1_over_this": f1_ratio, "fps_over_content": fps_ratio}
    for kind in (k for k in kinds if k.startswith("ours:") and "error" not in numbers[k]):
        print(counts(f"gradual: {our_name(kind[5:])}", numbers[kind]["gradual"]))
    return out


def label_of(kind: str) -> str:
    family, name = kind.split(":")
    if family == "psd":
        return f"PySceneDetect {PYSCENEDETECT[name]}"
    return f"animevid {our_name(name)}"


def our_name(name: str) -> str:
    from animevid.config import ShotsConfig

    return f"{ShotsConfig().detector} (default, LOCO on real)" if name == "-" else name


def our_kinds() -> list[str]:
    try:
        from animevid.pipeline import detect_shots  # noqa: F401
        from animevid.shots import SHOT_DETECTORS
    except ImportError as exc:
        print(f"(animevid.pipeline.detect_shots not importable, our rows are left out: {exc})")
        return []
    return ["ours:-"] + (["ours:transnetv2"] if "transnetv2" in SHOT_DETECTORS.names() else [])


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", default="101-106", help="synthetic episode seeds: 101-106 or 101,103")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each synthetic episode")
    parser.add_argument("--tolerance", type=int, default=2, help="frames either side a cut may be off by")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        (family, name), path = args.child[0].split(":"), args.child[1]
        if family == "ours":
            print(json.dumps(measure_ours(path, None if name == "-" else name, args.child_model)))
        else:
            print(json.dumps(measure_pyscenedetect(path, name)))
        return
    print(
        f"machine: {os.cpu_count()} cores; best of {args.rounds} interleaved rounds, each run in its own process",
        flush=True,
    )
    kinds = our_kinds() + [f"psd:{name}" for name in PYSCENEDETECT]
    videos = with_loco_scorers(real_videos()) + synth_videos(parse_seeds(args.seeds), args.seconds)
    best = measure_all(videos, kinds, args.rounds)
    clips = {v.name: report(v.name, [v], kinds, best, args.tolerance) for v in videos}
    print("\n=== summary (counts summed over each set) ===")
    sets = {
        "real anime clips": [v for v in videos if v.group == "anime"],
        "all real clips": [v for v in videos if v.group != "synth"],
        f"synthetic episodes (seeds {args.seeds}, {args.seconds:g} s)": [v for v in videos if v.group == "synth"],
    }
    summary = {title: report(title, vs, kinds, best, args.tolerance) for title, vs in sets.items() if vs}
    if args.json:
        detections = {f"{v}|{k}": r for (v, k), r in best.items()}
        data = {"rounds": args.rounds, "tolerance": args.tolerance, "clips": clips, "summary": summary}
        args.json.write_text(json.dumps({**data, "detections": detections}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
