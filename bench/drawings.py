"""New drawings found by the animation meter against the eye's, per shot, on the real clips labelled by eye.

Usage: python bench/drawings.py [CLIP_NAME ...]

Labels: tests/data/eye_labels/*.json (shots with ``new_frames``: the frames where the eye saw a new
drawing; how they were made is in each file). Clips in ../shared/data/real/video/ (skipped with a
message when absent). Each shot's first frame counts on both sides. For each clip it prints the
eye's count, ours, the frames both found, and our count's error (the issue-19 bar: within 5 % on
every clip with character animation); then each shot as (start, eye, ours, camera by eye).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "tests/data/eye_labels"
REAL = ROOT.parent / "shared/data/real/video"


def measured_new_frames(path: Path) -> set[int]:
    """Frames the animation meter calls a new drawing (one decode pass, no shot detection).

    Frames of a fade or flash run (``altered``) are left out, as each shot's analysis leaves them out: the
    meter follows the picture through a fade, but no drawing is counted there, by it or by the eye.
    """
    from animevid.analysis import AnimationStage
    from animevid.decode import open_video
    from animevid.engine import run_pass

    stage = AnimationStage()
    run_pass(open_video(path), [stage])
    stage.finish()
    measures = stage.measures
    return {
        i for i, (new, altered) in enumerate(zip(measures.new, measures.altered, strict=True)) if new and not altered
    }


def compare(name: str, label: dict) -> str:
    """One clip's line: counts over the shots the eye counted, then per shot."""
    ours = measured_new_frames(REAL / name)
    rows, eye_total, our_total, both = [], 0, 0, 0
    for shot in (s for s in label["shots"] if s.get("new_frames")):
        a, b = shot["start_frame"], shot["end_frame"]
        eye = {f for f in shot["new_frames"] if a <= f < b} | {a}
        found = {f for f in ours if a <= f < b} | {a}
        eye_total, our_total, both = eye_total + len(eye), our_total + len(found), both + len(eye & found)
        rows.append(f"({a}, {len(eye)}, {len(found)}, {shot.get('camera', '?')})")
    if not eye_total:
        return f"{name}: no shot with new_frames"
    error = 100.0 * (our_total - eye_total) / eye_total
    return f"{name}: eye {eye_total}, ours {our_total}, both {both}, count {error:+.0f}%\n    " + " ".join(rows)


def main() -> None:
    if not REAL.is_dir():
        print(f"skipped: {REAL} is absent (the real clips live outside the repository)")
        return
    wanted = set(sys.argv[1:])
    for path in sorted(LABELS.glob("*.json")):
        name = path.stem + ".mp4"
        if (wanted and name not in wanted) or not (REAL / name).is_file():
            continue
        print(compare(name, json.loads(path.read_text(encoding="utf-8"))), flush=True)


if __name__ == "__main__":
    main()
