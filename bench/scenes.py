"""Scene segmentation: animevid against naive baselines, on synthetic episodes with exact scene truth.

Usage: python bench/scenes.py [--seeds 101-106] [--seconds 60] [--every 4] [--json OUT]

Episodes are generated once into bench/.cache/ (the folder bench/shots.py uses, keyed on the animevid
version, the generator's source and SynthConfig) and reused. Each is decoded once with the default shot
detector and the ``shot-look`` stage; the cost of each stage's ``process`` is timed in that pass (the shot
detector is the anchor: same frames, same machine, same run).

Rows, each scored against the truth's scenes (boundary = a scene's start_frame other than 0, matched
one-to-one within +-tolerance frames, animevid.scenes.evaluate):

- ours, on truth shots or on detected shots, with or without the subtitle lines (the truth's subtitles as
  SubtitleLine objects: what animevid.subs.read_lines gives for the episode's .ass);
- fades: a naive baseline, a scene at every fade and dissolve the detector reports;
- every N: a scene every N shots (a shot-count rule of thumb), on detected shots.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"


def synth_folder(seconds: float) -> Path:
    """Cache folder keyed on what decides the episodes (the same key as bench/shots.py's)."""
    import animevid
    from animevid.config import SynthConfig

    digest = hashlib.sha256(f"{animevid.__version__}|{SynthConfig()!r}".encode())
    for source in sorted((ROOT / "animevid/synth").glob("*.py")):
        digest.update(source.read_bytes())
    return CACHE / f"synth-{animevid.__version__}-{digest.hexdigest()[:12]}" / f"{seconds:g}s"


def episode(seed: int, seconds: float) -> tuple[Path, dict[str, Any]]:
    """The cached episode of ``seed`` (generated on first use) and its truth."""
    from animevid.synth import generate_episode, load_truth

    folder = synth_folder(seconds)
    mp4, truth = folder / f"ep{seed}.mp4", folder / f"ep{seed}.truth.json"
    if not (mp4.exists() and truth.exists()):
        print(f"(generating synthetic episode {seed}, {seconds:g} s, into {folder})", file=sys.stderr, flush=True)
        generate_episode(folder, seed=seed, seconds=seconds)
    return mp4, load_truth(truth)


class Timed:
    """Wraps a stage and adds up the time its ``process`` takes."""

    def __init__(self, stage: Any) -> None:
        self.stage, self.name, self.device, self.seconds = stage, stage.name, stage.device, 0.0

    def process(self, batch: Any) -> Sequence[Any]:
        started = time.perf_counter()
        out = self.stage.process(batch)
        self.seconds += time.perf_counter() - started
        return out

    def finish(self) -> Sequence[Any]:
        started = time.perf_counter()
        out = self.stage.finish()
        self.seconds += time.perf_counter() - started
        return out


def measure(seed: int, seconds: float, every: int) -> dict[str, Any]:
    """Decode one episode once; score every variant against its truth."""
    from animevid.config import Config
    from animevid.decode import open_video
    from animevid.engine import run_pass
    from animevid.scenes import ShotLookStage, segment_scenes
    from animevid.scenes import evaluate as ev
    from animevid.shots import make_detector

    mp4, truth = episode(seed, seconds)
    cfg = Config()
    detector, looks = Timed(make_detector(cfg, "cpu")), Timed(ShotLookStage())
    records = run_pass(open_video(mp4, config=cfg.decode), [detector, looks])  # type: ignore[list-item]
    frames = truth["frames"]
    detected, true_shots = records.records(detector), ev.shots_from_truth(truth)  # type: ignore[arg-type]
    lines = ev.lines_from_truth(truth)
    tolerance = cfg.scenes.tolerance_frames
    rows: dict[str, Any] = {}
    for shots_name, shots in (("truth shots", true_shots), ("detected shots", detected)):
        shot_looks = looks.stage.looks(shots)
        for subs_name, given in (("no subs", ()), ("subs", lines)):
            scenes = segment_scenes(shots, shot_looks, given, config=cfg.scenes)
            rows[f"ours, {shots_name}, {subs_name}"] = ev.score_scenes(scenes, truth, tolerance=tolerance)
    rows["fades, detected shots"] = ev.score_scenes(ev.fade_baseline(detected), truth, tolerance=tolerance)
    rows[f"every {every}, detected shots"] = ev.score_scenes(
        ev.every_n_shots(detected, every), truth, tolerance=tolerance
    )
    return {
        "seed": seed,
        "frames": frames,
        "scenes": len(truth["scenes"]),
        "shots": [len(true_shots), len(detected)],
        "ms_per_frame": {
            "shot-look": 1000 * looks.seconds / frames,
            "shots (anchor)": 1000 * detector.seconds / frames,
        },
        "rows": rows,
    }


def parse_seeds(text: str) -> list[int]:
    """'101-106' or '101,103,107'."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def report(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Print per-seed and total P/R/F1 and stage cost; return the JSON form."""
    from animevid.shots.evaluate import EMPTY

    names = list(results[0]["rows"])
    width = max(map(len, names)) + 2
    totals = {name: EMPTY for name in names}
    for r in results:
        true_shots, found_shots = r["shots"]
        print(
            f"\nseed {r['seed']}: {r['frames']} frames, {r['scenes']} scenes, {true_shots} shots ({found_shots} found)"
        )
        for name in names:
            score = r["rows"][name]
            totals[name] = totals[name] + score
            print(f"  {name:<{width}} {line(score)}")
    print(f"\ntotal over seeds {', '.join(str(r['seed']) for r in results)}:")
    for name, score in totals.items():
        print(f"  {name:<{width}} {line(score)}")
    frames = sum(r["frames"] for r in results)
    cost = {k: sum(r["ms_per_frame"][k] * r["frames"] for r in results) / frames for k in results[0]["ms_per_frame"]}
    ratio = cost["shot-look"] / max(cost["shots (anchor)"], 1e-9)
    print(
        f"\nstage cost (process time per frame, {frames} frames): shot-look {cost['shot-look']:.3f} ms, "
        f"shot detector {cost['shots (anchor)']:.3f} ms (anchor); ratio {ratio:.2f}"
    )
    return {
        "seeds": [{**r, "rows": {k: v.as_dict() for k, v in r["rows"].items()}} for r in results],
        "total": {k: v.as_dict() for k, v in totals.items()},
        "ms_per_frame": cost,
    }


def line(score: Any) -> str:
    """One row: counts and rates."""
    return (
        f"P {score.precision:.3f}  R {score.recall:.3f}  F1 {score.f1:.3f}  "
        f"(tp {score.true_positives}, fp {score.false_positives}, fn {score.false_negatives})"
    )


def main() -> None:
    """Parse options, run every seed, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="101-106", help="seeds: a range 101-106 or a list 101,107")
    parser.add_argument("--seconds", type=float, default=60.0, help="episode length")
    parser.add_argument("--every", type=int, default=4, help="N of the every-N-shots baseline")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    results = [measure(seed, args.seconds, args.every) for seed in parse_seeds(args.seeds)]
    data = report(results)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
