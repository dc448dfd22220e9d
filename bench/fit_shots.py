"""Fit the classic shot detector's scorer on synthetic episodes; writes animevid/shots/classic_model.json.

The scorer is a 25-16-1 perceptron over the features of animevid/shots/_classic.py, fitted by
L-BFGS on hard-cut labels of synthetic episodes (training seeds only; bench/shots.py measures on
other seeds and on the hand-labelled real clips). Deterministic: same seeds, same weights.

    .venv/bin/python bench/fit_shots.py [--seeds 1-8] [--grain-seeds 11-14] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from animevid.config import SynthConfig
from animevid.decode import open_video
from animevid.engine import run_pass
from animevid.shots._classic import N_FEATURES, ClassicShotStage
from animevid.synth import generate_episode, load_truth

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = 16


def _range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def _dummy() -> dict[str, object]:
    return {
        "mean": [0.0] * N_FEATURES,
        "scale": [1.0] * N_FEATURES,
        "w1": [[0.0] * N_FEATURES] * HIDDEN,
        "b1": [0.0] * HIDDEN,
        "w2": [0.0] * HIDDEN,
        "b2": 0.0,
    }


def episode_features(mp4: Path) -> np.ndarray:
    """Features of every frame of one episode, as the detector computes them."""
    stage = ClassicShotStage(model=_dummy())
    run_pass(open_video(mp4), [stage])
    return stage.features()


def training_set(cache: Path, seeds: list[int], grain_seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    jobs = [(s, SynthConfig()) for s in seeds] + [
        (s, replace(SynthConfig(), grain=4.0, width=640, height=360)) for s in grain_seeds
    ]
    for seed, cfg in jobs:
        folder = cache / f"{cfg.width}_g{cfg.grain:g}"
        mp4 = folder / f"ep{seed}.mp4"
        if not mp4.exists():
            generate_episode(folder, seed=seed, seconds=60, config=cfg)
        truth = load_truth(folder / f"ep{seed}.truth.json")
        feats = episode_features(mp4)
        labels = np.zeros(len(feats))
        for shot in truth["shots"]:
            if shot["transition"] == "cut":
                labels[shot["start_frame"]] = 1.0
        xs.append(feats)
        ys.append(labels)
        print(
            f"seed {seed} ({cfg.width} px, grain {cfg.grain:g}): {len(feats)} frames, {int(labels.sum())} cuts",
            flush=True,
        )
    return np.concatenate(xs), np.concatenate(ys)


def fit(x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    torch.manual_seed(0)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    xt = torch.tensor((x - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, 1))
    opt = torch.optim.LBFGS(net.parameters(), max_iter=800)
    weight = torch.tensor(5.0)  # cuts are rare: weigh a missed cut like 5 false alarms

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(net(xt).squeeze(1), yt, pos_weight=weight)
        loss = loss + 1e-3 * sum((p**2).sum() for p in net.parameters())
        loss.backward()
        return loss

    opt.step(closure)  # type: ignore[arg-type]
    first, last = net[0], net[2]
    assert isinstance(first, torch.nn.Linear) and isinstance(last, torch.nn.Linear)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "w1": first.weight.detach().tolist(),
        "b1": first.bias.detach().tolist(),
        "w2": last.weight.detach().ravel().tolist(),
        "b2": float(last.bias.detach()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1-8", help="clean 320 px training episodes (default 1-8)")
    parser.add_argument("--grain-seeds", default="11-14", help="640 px episodes with grain 4 (default 11-14)")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache" / "fit_shots")
    parser.add_argument("--out", type=Path, default=ROOT / "animevid" / "shots" / "classic_model.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    x, y = training_set(args.cache, _range(args.seeds), _range(args.grain_seeds))
    model = fit(x, y)
    model["fitted_on"] = {"seeds": args.seeds, "grain_seeds": args.grain_seeds, "frames": len(y), "cuts": int(y.sum())}
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(y)} frames, {int(y.sum())} cuts)")


if __name__ == "__main__":
    main()
