"""Fit the classic shot detector's scorer; writes animevid/shots/classic_model.json. --loco measures it honestly.

The scorer is a 29-16-1 perceptron over the features of animevid/shots/_classic.py, fitted by L-BFGS on
hard-cut labels of synthetic episodes (seeds 1-8 at 320 px, 11-14 at 640 px with grain 4), of the synthetic
case clips (animevid.synth.CASES, seeds 11-18, at CASE_WEIGHT: strobes of 1-2 frame shots, cuts on blended
frames, drawn motion and editing effects that are not cuts) and of every hand-labelled real clip in
tests/data/shot_labels.json whose video is in ../shared/data/real/video/ (frames inside a labelled fade or
dissolve, and frame 0, are left out). Deterministic: same data, same weights.

--loco also fits, for each real clip, a scorer on everything but that clip (written to
bench/.cache/fit_shots/loco-<digest>/<clip>.json) and prints the clip's hard-cut score under the scorer that never
saw it, then the micro F1 over all real clips: the number a new user's footage gets, not the in-sample one.
bench/shots.py scores our detector on each real clip with these scorers.

Each video's per-frame measurements are cached in bench/.cache/fit_shots/measured/, keyed on the detector's
and signals' source, so a refit after a change to the fitting alone decodes nothing.

    .venv/bin/python bench/fit_shots.py [--loco] [--seeds 1-8] [--grain-seeds 11-14] [--no-real]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animevid.config import SynthConfig  # noqa: E402
from animevid.decode import open_video  # noqa: E402
from animevid.engine import SegmentRun, run_pass  # noqa: E402
from animevid.model import Shot  # noqa: E402
from animevid.shots._classic import N_FEATURES, ClassicShotStage, build_features  # noqa: E402
from animevid.shots.evaluate import EMPTY, Score, ShotTruth, load_labels, score_hard_cuts, truth_from_synth  # noqa: E402
from animevid.synth import CASES, generate_case, generate_episode, load_truth  # noqa: E402

REAL = ROOT.parent / "shared/data/real/video"
LABELS = ROOT / "tests/data/shot_labels.json"
CACHE = ROOT / "bench" / ".cache" / "fit_shots"
HIDDEN = 16
POS_WEIGHT = 2.0
"""A missed cut weighs like 2 false alarms. Chosen by leave-one-clip-out F1 over the real clips among 5 and 2
(0.652 and 0.699 micro): a mild choice made on the numbers it reports."""
L2 = 1e-3
CASE_WEIGHT = 0.1
"""Weight of a case clip's frames. Chosen by leave-one-clip-out F1 over the real clips among 1, 0.3 and 0.1
(0.670, 0.702, 0.712; 0.713 without the cases): the strobes teach that fast changes in a row are cuts, which
One Piece's fast drawn action pays for. At 0.1 the held-out strobe clips (seeds 1-3) go from 1 of 27 cuts found to
16, the blended cuts from 3 of 9 to 4."""


@dataclass
class Clip:
    """One labelled video and its per-frame measurements."""

    name: str
    truth: ShotTruth
    measured: dict[str, np.ndarray]
    real: bool
    weight: float = 1.0
    """Weight of each of its frames in the fit."""

    @property
    def frames(self) -> int:
        return len(self.measured["changed"])


def _dummy() -> dict[str, Any]:
    return {
        "mean": [0.0] * N_FEATURES,
        "scale": [1.0] * N_FEATURES,
        "w1": [[0.0] * N_FEATURES] * HIDDEN,
        "b1": [0.0] * HIDDEN,
        "w2": [0.0] * HIDDEN,
        "b2": 0.0,
    }


def _code_digest() -> str:
    digest = hashlib.sha256()
    for source in ("animevid/shots/_classic.py", "animevid/signals.py"):
        digest.update((ROOT / source).read_bytes())
    return digest.hexdigest()[:12]


def measure(video: Path, label: str) -> dict[str, np.ndarray]:
    """The detector's per-frame measurements of ``video`` (and the frame times), cached."""
    stat = video.stat()
    key = hashlib.sha256(f"{video.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{_code_digest()}".encode()).hexdigest()
    cached = CACHE / "measured" / f"{label}.{key[:16]}.npz"
    if cached.exists():
        with np.load(cached) as data:
            return {k: data[k] for k in data.files}
    stage = ClassicShotStage(model=_dummy())
    run_pass(open_video(video), [stage])
    measured = {**stage.part(), "pts": np.asarray(stage._pts.view(), dtype=np.float64)}
    cached.parent.mkdir(parents=True, exist_ok=True)
    for stale in cached.parent.glob(f"{label}.*.npz"):
        stale.unlink()
    np.savez(cached, **measured)  # type: ignore[arg-type]  # numpy stubs type **kwds as allow_pickle
    return measured


def features(clip: Clip) -> np.ndarray:
    m = clip.measured
    return build_features(m["dist"], m["changed"], m["std"], m["mean"], m["grid16"])


def examples(clip: Clip) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, cut labels and weights (0 inside labelled gradual transitions and at frame 0)."""
    y = np.zeros(clip.frames)
    y[[c for c in clip.truth.cuts if c < clip.frames]] = 1.0
    w = np.full(clip.frames, clip.weight)
    for start, end in clip.truth.gradual:
        w[max(0, start - 2) : end + 2] = 0.0
    w[0] = 0.0
    return features(clip), y, w


def fit(clips: list[Clip]) -> dict[str, Any]:
    """The perceptron fitted on ``clips`` (weighted BCE, L-BFGS, fixed seed)."""
    parts = [examples(c) for c in clips]
    x, y, w = (np.concatenate(p) for p in zip(*parts, strict=True))
    torch.manual_seed(0)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    xt = torch.tensor((x - mean) / scale, dtype=torch.float32)
    yt, wt = torch.tensor(y, dtype=torch.float32), torch.tensor(w, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 1))
    opt = torch.optim.LBFGS(net.parameters(), max_iter=800)
    pos = torch.tensor(POS_WEIGHT)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        per_frame = F.binary_cross_entropy_with_logits(net(xt).squeeze(1), yt, pos_weight=pos, reduction="none")
        loss = (per_frame * wt).sum() / wt.sum() + L2 * sum((p**2).sum() for p in net.parameters())
        loss.backward()
        return loss

    opt.step(closure)
    first, last = net[0], net[2]
    assert isinstance(first, torch.nn.Linear) and isinstance(last, torch.nn.Linear)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "w1": first.weight.detach().tolist(),
        "b1": first.bias.detach().tolist(),
        "w2": last.weight.detach().ravel().tolist(),
        "b2": float(last.bias.detach()),
        "fitted_on": {"clips": [c.name for c in clips], "frames": len(y), "cuts": int(y.sum())},
    }


def shots_under(model: dict[str, Any], clip: Clip) -> list[Shot]:
    """The detector's shots of ``clip`` with ``model`` as its scorer (from the measurements; nothing decoded)."""
    stage = ClassicShotStage(model=model)
    part = {k: v for k, v in clip.measured.items() if k != "pts"}
    pts = clip.measured["pts"]
    stage.absorb(SegmentRun(part=part, records=[], first=0, start=0, stop=clip.frames, pts_seconds=pts.tolist()))
    return list(stage.finish())


def hard_score(shots: list[Shot], truth: ShotTruth, tolerance: int = 2) -> Score:
    """Hard-cut score as bench/shots.py counts it (animevid.shots.evaluate.score_hard_cuts)."""
    return score_hard_cuts([s.start_frame for s in shots if s.transition == "cut"], truth, tolerance=tolerance)


def synthetic_clips(seeds: list[int], grain_seeds: list[int]) -> list[Clip]:
    clips = []
    jobs = [(s, SynthConfig()) for s in seeds] + [
        (s, replace(SynthConfig(), grain=4.0, width=640, height=360)) for s in grain_seeds
    ]
    for seed, cfg in jobs:
        folder = CACHE / f"{cfg.width}_g{cfg.grain:g}"
        mp4 = folder / f"ep{seed}.mp4"
        if not mp4.exists():
            generate_episode(folder, seed=seed, seconds=60, config=cfg)
        truth = truth_from_synth(load_truth(folder / f"ep{seed}.truth.json"))
        clips.append(Clip(f"synth-{cfg.width}-{seed}", truth, measure(mp4, f"synth-{cfg.width}-{seed}"), real=False))
        print(f"  {clips[-1].name}: {clips[-1].frames} frames, {len(truth.cuts)} cuts", flush=True)
    return clips


def case_clips(seeds: list[int]) -> list[Clip]:
    """The synthetic case clips (animevid.synth.CASES: strobes, blended cuts, drawn motion, effects), each seed."""
    clips = []
    folder = CACHE / f"cases-{_synth_digest()}"
    for name in CASES:
        for seed in seeds:
            mp4 = folder / f"case-{name}-{seed}.mp4"
            if not mp4.exists():
                generate_case(folder, name, seed=seed)
            truth = truth_from_synth(load_truth(folder / f"case-{name}-{seed}.truth.json"))
            clip = Clip(
                f"case-{name}-{seed}", truth, measure(mp4, f"case-{name}-{seed}"), real=False, weight=CASE_WEIGHT
            )
            clips.append(clip)
    print(f"  {len(clips)} case clips ({', '.join(CASES)}; seeds {seeds[0]}-{seeds[-1]})", flush=True)
    return clips


def real_clips() -> list[Clip]:
    if not REAL.is_dir():
        print(f"  (no real clips: {REAL} not found)")
        return []
    clips = []
    for name, truth in load_labels(LABELS).items():
        if (REAL / name).exists():
            clips.append(Clip(name, truth, measure(REAL / name, name), real=True))
            print(f"  {name}: {clips[-1].frames} frames, {len(truth.cuts)} cuts", flush=True)
        else:
            print(f"  (skipping {name}: not in {REAL})")
    return clips


def _synth_digest() -> str:
    digest = hashlib.sha256()
    for source in sorted((ROOT / "animevid/synth").glob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def loco_folder() -> Path:
    """Where --loco leaves its scorers: keyed on the detector's source, the labels and this script."""
    digest = hashlib.sha256(
        (_code_digest() + _synth_digest()).encode() + LABELS.read_bytes() + Path(__file__).read_bytes()
    )
    return CACHE / f"loco-{digest.hexdigest()[:12]}"


def loco_model_path(name: str) -> Path:
    """Where --loco leaves the scorer fitted without clip ``name``."""
    return loco_folder() / f"{name}.json"


def ensure_loco(seeds: str = "1-8", grain_seeds: str = "11-14", case_seeds: str = "11-18") -> None:
    """Fit the leave-one-clip-out scorers unless this code and these labels already have them."""
    names = [n for n in load_labels(LABELS) if (REAL / n).exists()]
    if not all(loco_model_path(n).exists() for n in names):
        clips = synthetic_clips(_range(seeds), _range(grain_seeds)) + case_clips(_range(case_seeds))
        leave_one_out(clips + real_clips())


def leave_one_out(clips: list[Clip]) -> Score:
    """Fit without each real clip, score it with that scorer; print and return the micro total."""
    for stale in CACHE.glob("loco-*"):
        if stale != loco_folder():
            for f in stale.glob("*.json"):
                f.unlink()
            stale.rmdir()
    loco_folder().mkdir(parents=True, exist_ok=True)
    total = EMPTY
    print(
        f"\nleave-one-clip-out (each real clip scored by a scorer fitted without it):\n  {'clip':44s}  TP  FP  FN    F1"
    )
    for held in (c for c in clips if c.real):
        model = fit([c for c in clips if c is not held])
        loco_model_path(held.name).write_text(json.dumps(model) + "\n", encoding="utf-8")
        score = hard_score(shots_under(model, held), held.truth)
        total += score
        print(
            f"  {held.name[:44]:44s} {score.true_positives:3d} {score.false_positives:3d} {score.false_negatives:3d}"
            f" {score.f1:.3f}",
            flush=True,
        )
    print(
        f"  {'micro, all real clips':44s} {total.true_positives:3d} {total.false_positives:3d}"
        f" {total.false_negatives:3d} {total.f1:.3f}"
    )
    return total


def _range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1-8", help="clean 320 px training episodes (default 1-8)")
    parser.add_argument("--grain-seeds", default="11-14", help="640 px episodes with grain 4 (default 11-14)")
    parser.add_argument("--case-seeds", default="11-18", help="seeds of the synthetic case clips (default 11-18)")
    parser.add_argument("--no-real", action="store_true", help="fit on the synthetic episodes only")
    parser.add_argument("--loco", action="store_true", help="also fit and score leave-one-clip-out on the real clips")
    parser.add_argument("--out", type=Path, default=ROOT / "animevid" / "shots" / "classic_model.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print("synthetic episodes:")
    clips = synthetic_clips(_range(args.seeds), _range(args.grain_seeds))
    clips += case_clips(_range(args.case_seeds))
    if not args.no_real:
        print("real clips:")
        clips += real_clips()
    if args.loco:
        leave_one_out(clips)
    model = fit(clips)
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    fitted = model["fitted_on"]
    print(f"\nwrote {args.out} ({len(clips)} videos, {fitted['frames']} frames, {fitted['cuts']} cuts)")


if __name__ == "__main__":
    main()
