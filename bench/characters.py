"""Characters: detection and naming against known truth, the unknown threshold, and what the stage costs.

Usage: python bench/characters.py [--seeds 11,12] [--rounds 2] [--skip-speed | --only-speed] [--detector-model M]
                                  [--embedder-model M] [--json OUT]

1. Synthetic series (exact truth: the generator's face boxes and names). Library episodes --seeds (40 s,
   640x360, never used to choose anything) indexed with the defaults; a gallery of one frame per
   character from episode 4 (the first frame where the character is alone and its face at least a quarter
   of the frame tall); four characters enrolled, the others must stay unknown. Detection precision and
   recall on the keyframes the stage looked at (faces at least characters.min_face tall, plain frames),
   identification, rejection, the distances that calibrate characters.unknown_distance, and discovery
   (every face unknown: is each character one cluster, is each cluster one character).
2. Real faces labelled by eye (tests/data/face_labels.json: 26 stills and 72 clip frames of
   ../shared/data/real, 108 faces; skipped when absent): precision and recall of each detector at the
   stage's keyframe width, on all faces and on faces at least min_face tall seen frontal or three-quarter;
   identification with one enrolled face crop per character (the labelled box widened as a user would cut
   it), on the other pictures where the detector finds the face; characters never enrolled must stay
   unknown. Nothing was fitted on these labels.
3. Speed: faces/s of each detector and embedder; `animevid index` on the 24-minute 1080p episode (the
   real sakurasou clip x76, bench/memory.py) with the characters stage on and off, against
   `ffmpeg -i EP -f null -` in the same run (best of --rounds), with peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from animevid.catalog import Catalog  # noqa: E402
from animevid.characters import DETECTORS, EMBEDDERS, Gallery, discover, enroll, episode_faces  # noqa: E402
from animevid.characters._api import FaceReader  # noqa: E402
from animevid.characters._embed import head_crop  # noqa: E402
from animevid.characters._gallery import NEAREST, Naming  # noqa: E402
from animevid.characters._stage import find_faces  # noqa: E402
from animevid.characters.evaluate import Counts, gallery_frames, match, recognition, truth_faces  # noqa: E402
from animevid.config import CharactersConfig, Config, DecodeConfig, SynthConfig  # noqa: E402
from animevid.pipeline import index_episodes  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
LABELS = ROOT / "tests" / "data" / "face_labels.json"
CACHE = ROOT / "bench" / ".cache" / "characters"
ENROLLED = ("Aoi", "Haruto", "Mika", "Sora")
"""Characters enrolled in the synthetic gallery; the others (Kaito, Yuki) must stay unknown."""
SIZE = SynthConfig(width=640, height=360)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="11,12")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--detector-model", default="", help="an ONNX YOLO face detector to measure too")
    parser.add_argument("--embedder-model", default="", help="an ONNX character embedder to measure too")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only-speed", action="store_true", help="only the 24-minute pipeline")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    if not args.skip_speed and (REAL / "video").is_dir():  # first: a child's peak RSS counts the parent's at fork
        report["pipeline"] = pipeline_speed(args.rounds)
    if args.only_speed:
        return
    report["synthetic"] = synthetic([int(s) for s in args.seeds.split(",")])
    config = CharactersConfig()
    if REAL.is_dir() and LABELS.is_file():
        entries = real_entries()
        report["real_detection"] = real_detection(entries, args.detector_model)
        report["real_identification"] = real_identification(entries, config)
        report["faces_per_second"] = faces_per_second(entries, args.detector_model, args.embedder_model)
    else:
        print(f"\n(real faces skipped: {REAL} or {LABELS} is missing)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


# -- 1. synthetic -------------------------------------------------------------------------------------


def synthetic(seeds: list[int]) -> dict[str, Any]:
    from animevid.synth import generate_episode

    root = Path(tempfile.mkdtemp(prefix="animevid-characters-"))
    try:
        gallery = generate_episode(root / "gallery", seed=4, seconds=60, config=SIZE)
        pictures = _gallery_pictures(gallery, root)
        episodes = [generate_episode(root / f"e{s}", seed=s, seconds=40, config=SIZE) for s in seeds]
        config = Config(device="cpu", decode=DecodeConfig(workers=1))
        results = index_episodes([e.mp4 for e in episodes], library=root / "lib", config=config)
        for name in ENROLLED:
            enroll(root / "lib", name, [pictures[name]], config.characters)
        out = _synthetic_scores(root / "lib", episodes, results)
        out["distances"] = _distances(root / "lib", episodes, results)
        out["discovery"] = _discovery(root, episodes, results)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    _print_synthetic(out, seeds)
    return out


def _gallery_pictures(gallery: Any, root: Path) -> dict[str, Path]:
    frames = {frame: name for name, frame in gallery_frames(gallery.truth).items()}
    pictures = {}
    with av.open(str(gallery.mp4)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number in frames:
                pictures[frames[number]] = root / f"{frames[number]}.png"
                frame.to_image().save(pictures[frames[number]])
    return pictures


def _library_faces(library: Path) -> Any:
    with Catalog.in_library(library) as catalog:
        return catalog.faces()


def _synthetic_scores(library: Path, episodes: list[Any], results: list[Any]) -> dict[str, Any]:
    faces = _library_faces(library)
    totals = {"tp": 0, "fp": 0, "fn": 0, "named_right": 0, "named_wrong": 0, "rejected": 0, "misnamed": 0}
    keyframes = shots = 0
    for episode, result in zip(episodes, results, strict=True):
        frames = episode_faces(library, result.episode_id)["keyframes"]
        rows = faces[faces["episode_id"] == result.episode_id].to_dict("records")
        found = recognition(rows, frames, episode.truth, set(ENROLLED), min_face=CharactersConfig.min_face)
        d = found.detection
        for key, value in (("tp", d.true_positives), ("fp", d.false_positives), ("fn", d.false_negatives)):
            totals[key] += value
        for key in ("named_right", "named_wrong", "rejected", "misnamed"):
            totals[key] += getattr(found, key)
        keyframes += len(frames)
        shots += len(episode.truth["shots"])
    totals |= {"keyframes": keyframes, "shots": shots}
    return totals


def _distances(library: Path, episodes: list[Any], results: list[Any]) -> dict[str, list[float]]:
    """Distance of each face's track mean to the nearest enrolled vector: own character, or another."""
    gallery = Gallery(library)
    faces = _library_faces(library)
    own: list[float] = []
    other: list[float] = []
    for episode, result in zip(episodes, results, strict=True):
        vectors = episode_faces(library, result.episode_id)["embeddings"]
        rows = faces[faces["episode_id"] == result.episode_id].reset_index(drop=True)
        true = truth_faces(episode.truth)
        for frame, group in rows.groupby("frame"):
            boxes = [
                (r.x * SIZE.width, r.y * SIZE.height, r.w * SIZE.width, r.h * SIZE.height) for r in group.itertuples()
            ]
            people = true.get(int(frame), [])
            for i, j in match(boxes, [b for b, _ in people]):
                index = int(group.iloc[i]["face_index"])
                m = gallery.match(vectors[index : index + 1], naming=NEAREST)[0]
                (own if m.name == people[j][1] else other).append(m.distance)
    return {"own": own, "other": other}


def _discovery(root: Path, episodes: list[Any], results: list[Any]) -> dict[str, Any]:
    library = root / "discover"
    shutil.copytree(root / "lib", library)
    shutil.rmtree(library / "gallery")
    with Catalog.in_library(library) as catalog:
        catalog._conn.execute("DELETE FROM characters")
        catalog._conn.execute("UPDATE faces SET character = NULL, distance = NULL")
        catalog._conn.commit()
    found = discover(library, max_distance=CharactersConfig.cluster_distance)
    faces = _library_faces(library)
    members: dict[str, dict[int, int]] = {}
    for episode, result in zip(episodes, results, strict=True):
        true = truth_faces(episode.truth)
        rows = faces[faces["episode_id"] == result.episode_id]
        for frame, group in rows.groupby("frame"):
            group = group.reset_index(drop=True)
            boxes = [
                (r.x * SIZE.width, r.y * SIZE.height, r.w * SIZE.width, r.h * SIZE.height) for r in group.itertuples()
            ]
            people = true.get(int(frame), [])
            for i, j in match(boxes, [b for b, _ in people]):
                cluster = group.loc[i, "cluster"]
                key = -1 if str(cluster) == "<NA>" else int(cluster)
                counts = members.setdefault(people[j][1], {})
                counts[key] = counts.get(key, 0) + 1
    return {"clusters": len(found.clusters), "members": members}


def _print_synthetic(out: dict[str, Any], seeds: list[int]) -> None:
    tp, fp, fn = out["tp"], out["fp"], out["fn"]
    named = out["named_right"] + out["named_wrong"]
    strangers = out["rejected"] + out["misnamed"]
    print(f"\n=== synthetic series: library seeds {seeds} (40 s, 640x360), gallery from seed 4, one frame each ===")
    print(f"keyframes {out['keyframes']} for {out['shots']} shots")
    print(
        f"detection: precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  (TP {tp} FP {fp} FN {fn})"
    )
    print(
        f"identification (enrolled {', '.join(ENROLLED)}): {out['named_right']}/{named}"
        f" = {out['named_right'] / max(named, 1):.3f}"
    )
    print(f"not enrolled left unknown: {out['rejected']}/{strangers} = {out['rejected'] / max(strangers, 1):.3f}")
    own, other = np.array(out["distances"]["own"]), np.array(out["distances"]["other"])
    print("unknown_distance calibration (face to nearest enrolled face): own character vs any other")
    for threshold in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4):
        rejected = float((own > threshold).mean()) if len(own) else 0.0
        accepted = float((other <= threshold).mean()) if len(other) else 0.0
        mark = "  <- characters.unknown_distance" if threshold == CharactersConfig.unknown_distance else ""
        print(f"  {threshold:.2f}: own rejected {rejected:.3f}  other accepted {accepted:.3f}{mark}")
    print(f"  own: max {own.max() if len(own) else 0:.3f}   other: min {other.min() if len(other) else 0:.3f}")
    discovery = out["discovery"]
    print(f"discovery: {discovery['clusters']} clusters")
    for name, counts in sorted(discovery["members"].items()):
        top = max(counts, key=lambda k: counts[k])
        print(
            f"  {name:7s} {sum(counts.values()):3d} faces, {counts[top] / sum(counts.values()):.0%} "
            f"in cluster {top}  {counts}"
        )


# -- 2. real faces --------------------------------------------------------------------------------------


def real_entries() -> list[tuple[dict[str, Any], np.ndarray]]:
    labels = json.loads(LABELS.read_text())["images"]
    frames: dict[str, list[np.ndarray]] = {}
    out = []
    for entry in labels:
        path = REAL / entry["source"]
        if "frame" not in entry:
            out.append((entry, cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)))
            continue
        if entry["source"] not in frames:
            with av.open(str(path)) as container:
                frames[entry["source"]] = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        out.append((entry, frames[entry["source"]][entry["frame"]]))
    return out


def _detectors(model: str) -> dict[str, Any]:
    found = {"animeface": DETECTORS.create("animeface", CharactersConfig())}
    cascade = REAL / "cascade" / "lbpcascade_animeface.xml"
    if cascade.is_file():
        found["lbp"] = DETECTORS.create("lbp", CharactersConfig(detector="lbp", cascade=str(cascade)))
    if model:
        found["onnx"] = DETECTORS.create("onnx", CharactersConfig(detector="onnx", detector_model=model))
    else:
        print("(onnx detector: no model here; pass --detector-model to measure one)")
    return found


def _keyframe_faces(detector: Any, image: np.ndarray, width: int) -> list[tuple[float, float, float, float]]:
    """What the stage finds in a picture seen as a keyframe ``width`` wide, in the picture's pixels."""
    config = CharactersConfig()
    h, w = image.shape[:2]
    scale = min(1.0, width / w)
    small = (
        cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 else image
    )
    found = find_faces(detector, small, config.detect_width)
    kept = [
        f.scaled(1 / scale) for f in found if f.score >= config.min_score and f.h >= config.min_face * small.shape[0]
    ]
    return [(f.x, f.y, f.w, f.h) for f in kept]


def real_detection(entries: list[tuple[dict[str, Any], np.ndarray]], model: str) -> dict[str, Any]:
    width = CharactersConfig.detail_width
    print(f"\n=== real faces labelled by eye: {len(entries)} pictures, keyframe width {width} ===")
    print("detector    set      precision  recall   TP  FP  FN   recall(frontal/3-4, >= min_face)  ms/picture")
    out = {}
    for name, detector in _detectors(model).items():
        for subset in ("stills", "frames", "all"):
            picked = [(e, im) for e, im in entries if subset == "all" or (("frame" in e) == (subset == "frames"))]
            counts, easy = Counts(), Counts()
            started = time.perf_counter()
            for entry, image in picked:
                found = _keyframe_faces(detector, image, width)
                counts.add(found, [tuple(f["box"]) for f in entry["faces"]])
                h = entry["height"]
                clear = [tuple(f["box"]) for f in entry["faces"] if f["view"] != "profile" and f["box"][3] >= 0.06 * h]
                easy.add(found, clear)
            ms = (time.perf_counter() - started) / max(len(picked), 1) * 1000
            out[f"{name}/{subset}"] = {
                "precision": counts.precision,
                "recall": counts.recall,
                "easy_recall": easy.recall,
            }
            print(
                f"{name:10s}  {subset:7s}  {counts.precision:9.3f}  {counts.recall:6.3f}  {counts.true_positives:3d} "
                f"{counts.false_positives:3d} {counts.false_negatives:3d}   {easy.recall:6.3f}"
                f"                             {ms:6.0f}"
            )
    return out


def real_identification(entries: list[tuple[dict[str, Any], np.ndarray]], config: CharactersConfig) -> dict[str, Any]:
    """One face crop per character enrolled; named right on the other pictures where the detector finds it."""
    reader = FaceReader(config)
    faces: list[tuple[int, dict[str, Any]]] = [(k, f) for k, (e, _) in enumerate(entries) for f in e["faces"]]
    per_identity: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for k, face in faces:
        per_identity.setdefault(face["identity"], []).append((k, face))
    enrolled = {name: items[0] for name, items in per_identity.items() if len(items) >= 2}
    folder = Path(tempfile.mkdtemp(prefix="animevid-gallery-"))
    try:
        for name, (k, face) in enrolled.items():
            crop = head_crop(entries[k][1], _box(face), 1.6)
            path = folder / f"{name.replace('/', '_')}.png"
            cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR))
            enroll(folder / "lib", name.replace("/", ":"), [path], config)
        gallery = Gallery(folder / "lib")
        counts = {"right": 0, "wrong": 0, "unknown": 0, "stranger_named": 0, "stranger_unknown": 0}
        distances: dict[str, list[float]] = {"own": [], "other": []}
        pairs: dict[str, list[tuple[float, float]]] = {"own": [], "other": []}
        for k, (entry, image) in enumerate(entries):
            found = [p for p in reader.read(image, whole_if_none=False)]
            boxes = [(p.box.x, p.box.y, p.box.w, p.box.h) for p in found]
            for i, j in match(boxes, [tuple(f["box"]) for f in entry["faces"]]):
                truth = entry["faces"][j]["identity"]
                if truth in enrolled and enrolled[truth][0] == k:
                    continue  # the enrolment picture itself
                m = gallery.match(found[i].vector[None], naming=Naming.of(config))[0]
                nearest = gallery.match(found[i].vector[None], naming=NEAREST)[0]
                own = nearest.name is not None and nearest.name.replace(":", "/") == truth
                distances["own" if own else "other"].append(nearest.distance)
                pairs["own" if own else "other"].append((round(nearest.distance, 3), round(nearest.runner_up, 3)))
                got = m.name.replace(":", "/") if m.name else None
                if truth in enrolled:
                    counts["right" if got == truth else "unknown" if got is None else "wrong"] += 1
                else:
                    counts["stranger_unknown" if got is None else "stranger_named"] += 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    judged = counts["right"] + counts["wrong"] + counts["unknown"]
    strangers = counts["stranger_named"] + counts["stranger_unknown"]
    print(
        f"\nreal identification ({config.detector} + {config.embedder}), {len(enrolled)} characters enrolled "
        "from one crop each:"
    )
    print(
        f"  enrolled characters' faces found elsewhere: {judged}: right {counts['right']}, "
        f"wrong {counts['wrong']}, unknown {counts['unknown']}"
    )
    print(
        f"  never-enrolled characters' faces found: {strangers}: left unknown {counts['stranger_unknown']}, "
        f"given a name {counts['stranger_named']}"
    )
    print("  (nearest, runner-up) own:", sorted(pairs["own"]))
    print("  (nearest, runner-up) other:", sorted(pairs["other"]))
    own, other = sorted(distances["own"]), sorted(distances["other"])
    print(f"  nearest-enrolled distance when it is the face's own character: {[round(d, 3) for d in own]}")
    print(f"  ... when it is another character: {[round(d, 3) for d in other]}")
    return counts | {"enrolled": len(enrolled), "distances": distances}


def _box(face: dict[str, Any]) -> Any:
    from animevid.characters import FaceBox

    return FaceBox(*map(float, face["box"]), score=1.0)


def faces_per_second(
    entries: list[tuple[dict[str, Any], np.ndarray]], detector_model: str, embedder_model: str
) -> dict[str, float]:
    width = CharactersConfig.detail_width
    pictures = []
    for _, image in entries:
        h, w = image.shape[:2]
        scale = min(1.0, width / w)
        pictures.append(cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA))
    out = {}
    print(f"\n=== speed on the {len(pictures)} real pictures at {width} px (one thread of this machine) ===")
    for name, detector in _detectors(detector_model).items():
        started = time.perf_counter()
        found = sum(len(detector.detect(p)) for p in pictures)
        seconds = time.perf_counter() - started
        out[f"detector/{name}"] = len(pictures) / seconds
        print(f"  detector {name:10s} {len(pictures) / seconds:7.1f} pictures/s  ({found} faces)")
    embedders = {"colour": EMBEDDERS.create("colour", CharactersConfig())}
    if embedder_model:
        embedders["onnx"] = EMBEDDERS.create("onnx", CharactersConfig(embedder="onnx", embedder_model=embedder_model))
    for name, embedder in embedders.items():
        boxes = [(p, [_box(f)]) for (e, _), p in zip(entries, pictures, strict=True) for f in e["faces"][:1]]
        started = time.perf_counter()
        for picture, face in boxes:
            embedder.embed(picture, face)
        seconds = time.perf_counter() - started
        out[f"embedder/{name}"] = len(boxes) / seconds
        print(f"  embedder {name:10s} {len(boxes) / seconds:7.1f} faces/s")
    return out


# -- 3. the pipeline ------------------------------------------------------------------------------------


def pipeline_speed(rounds: int) -> dict[str, Any]:
    from memory import concatenated, frames_of, measured

    episode = concatenated(76)
    frames = frames_of(episode)
    off = Path(tempfile.mkdtemp(prefix="animevid-off-")) / "off.yaml"
    off.write_text("characters:\n  enabled: false\n")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(rounds):
        for name, command in (
            ("ffmpeg decode-only", ["ffmpeg", "-v", "error", "-i", str(episode), "-f", "null", "-"]),
            ("index, characters on", None),
            ("index, characters off", ["--config", str(off)]),
        ):
            library = Path(tempfile.mkdtemp(prefix="animevid-speed-"))
            if command is None or command[0] == "--config":
                command = [
                    sys.executable,
                    "-m",
                    "animevid",
                    "index",
                    str(episode),
                    "--library",
                    str(library),
                    *(command or []),
                ]
            seconds, peak, status = measured(command)
            if status:
                raise SystemExit(f"{name} failed (exit status {status})")
            faces = _faces_in(library)
            shutil.rmtree(library, ignore_errors=True)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, peak)
            if faces is not None:
                best[name + " faces"] = faces
    anchor = best["ffmpeg decode-only"][0]
    print(f"\n=== pipeline on the 24-minute 1080p episode ({frames} frames), best of {rounds} ===")
    for name in ("ffmpeg decode-only", "index, characters on", "index, characters off"):
        seconds, peak = best[name]
        print(
            f"  {name:24s} {seconds:7.1f} s  {frames / seconds:6.1f} fps  x decode-only {anchor / seconds:5.2f}  "
            f"peak RSS {peak:5.0f} MB"
        )
    if "index, characters on faces" in best:
        keyframes, faces = best["index, characters on faces"]
        print(f"  characters on: {keyframes} keyframes looked at, {faces} faces")
    return {k: v for k, v in best.items()}


def _faces_in(library: Path) -> tuple[int, int] | None:
    store = library / "index" / "faces"
    if not store.is_dir():
        return None
    keyframes = sum(len(np.load(p)["keyframes"]) for p in store.glob("*.npz"))
    with Catalog.in_library(library) as catalog:
        return keyframes, len(catalog.faces())


if __name__ == "__main__":
    main()
