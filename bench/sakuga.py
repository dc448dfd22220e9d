"""Does the sakuga score rank full animation above limited animation on real footage? AUC against eye labels.

Usage: python bench/sakuga.py

Labels: tests/data/sakuga_labels.json (shots of the real clips called ``full`` or ``limited`` by eye, and how),
and the camera the eye saw in each (tests/data/eye_labels/, printed beside ours with the count that agree).
Clips in ../shared/data/real/video/ (skipped with a message when absent). Each clip is decoded once by the
animation stage and summarised over the labelled shots' own spans (so the shot detector is not what is
measured). It prints every labelled shot with its score and signals, then the AUC: the share of (full,
limited) pairs the score orders right, ties counting half, over all clips and leaving each clip out in turn
(a fixed formula needs no refitting; the leave-one-clip-out rows show how much one clip weighs). The issue-19
bar is an AUC of 0.95 or more leave-one-clip-out.
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LABELS = ROOT / "tests/data/sakuga_labels.json"
REAL = ROOT.parent / "shared/data/real/video"
EYE = ROOT / "tests/data/eye_labels"


def eye_cameras(name: str) -> dict[int, str]:
    """The camera the eye saw in each shot of a clip, by first frame."""
    data = json.loads((EYE / Path(name).with_suffix(".json").name).read_text(encoding="utf-8"))
    return {shot["start_frame"]: shot.get("camera", "?") for shot in data["shots"]}


def scored_shots(name: str, spans: list[list[Any]]) -> list[dict[str, Any]]:
    """Each labelled shot of one clip with its sakuga score and the signals behind it."""
    from animevid.analysis import AnimationStage
    from animevid.decode import open_video
    from animevid.engine import run_pass
    from animevid.model import Shot

    stage = AnimationStage()
    source = open_video(REAL / name)
    run_pass(source, [stage])
    frames = len(stage.measures.new)
    fps = source.info.fps_float
    edges = sorted({0, frames, *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    shots = [
        Shot(start_frame=a, end_frame=b, start_seconds=a / fps, end_seconds=b / fps, transition="cut")
        for a, b in itertools.pairwise(edges)
        if a < b
    ]
    by_start = {a.start_frame: a for a in stage.analyses(shots, fps)}
    eye = eye_cameras(name)
    out = []
    for start, end, label, why in spans:
        a = by_start[start]
        assert a.end_frame == end, (name, start, end, a.end_frame)
        out.append(
            {
                "clip": name,
                "start": start,
                "end": end,
                "label": label,
                "why": why,
                "score": a.sakuga_score,
                "drawings_per_second": a.drawings_per_second,
                "motion": a.motion,
                "cadence": a.cadence,
                "camera": a.camera,
                "eye_camera": eye.get(start, "?"),
            }
        )
    return out


def auc(rows: list[dict[str, Any]]) -> float | None:
    """Share of (full, limited) pairs with the full shot scored higher (ties half); None without both."""
    full = [r["score"] for r in rows if r["label"] == "full"]
    limited = [r["score"] for r in rows if r["label"] == "limited"]
    if not full or not limited:
        return None
    wins = sum((f > x) + 0.5 * (f == x) for f in full for x in limited)
    return wins / (len(full) * len(limited))


def main() -> None:
    labels = json.loads(LABELS.read_text(encoding="utf-8"))["clips"]
    if not REAL.is_dir():
        print(f"(no real clips: {REAL} not found)")
        return
    rows: list[dict[str, Any]] = []
    for name, spans in labels.items():
        if not (REAL / name).exists():
            print(f"(skipping {name}: not in {REAL})")
            continue
        rows += scored_shots(name, spans)
    print(f"{'clip':44s} {'shot':>10s} {'label':8s} {'score':>6s} {'dr/s':>5s} {'motion':>6s} cadence/camera (eye)")
    for r in sorted(rows, key=lambda r: -r["score"]):
        print(
            f"{r['clip'][:44]:44s} {r['start']:4d}-{r['end']:<5d} {r['label']:8s} {r['score']:6.3f}"
            f" {r['drawings_per_second']:5.1f} {r['motion']:6.3f} {r['cadence']}/{r['camera']} ({r['eye_camera']})"
        )
    same = sum(r["camera"] == r["eye_camera"] for r in rows)
    print(f"\ncamera as the eye saw it: {same} of {len(rows)} shots (the eye's 'drawn' is a camera move drawn by hand)")
    total = auc(rows)
    print(f"\nAUC, full above limited, all {len(rows)} shots: {total:.3f}" if total is not None else "\nAUC: n/a")
    for name in labels:
        rest = auc([r for r in rows if r["clip"] != name])
        print(f"  without {name[:44]:44s} {rest:.3f}" if rest is not None else f"  without {name}: n/a")


if __name__ == "__main__":
    main()
