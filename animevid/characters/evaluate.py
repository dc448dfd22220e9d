"""Scoring faces against known truth (the generator's boxes, eye labels): shared by tests and bench/characters.py.

A found face matches a true one when their boxes overlap by :data:`MATCH_IOU` or more, or when the
found box's centre lies inside the true box and their sizes differ by at most :data:`MATCH_SIZE`
times: detectors disagree on where a face ends (animeface boxes eyes to chin, the LBP cascade
the whole head), and both are right about where the face is. Matching is one to one, best overlap first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from animevid.shots.evaluate import Score

Box = tuple[float, float, float, float]

MATCH_IOU = 0.3
"""Overlap (intersection over union) from which two boxes are the same face."""
MATCH_SIZE = 2.0
"""Most a centred box's side may differ from the true one's, as a ratio."""


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def same_face(found: Box, true: Box) -> float:
    """How well ``found`` matches ``true`` (0: not the same face), for ranking matches."""
    overlap = iou(found, true)
    if overlap >= MATCH_IOU:
        return overlap
    cx, cy = found[0] + found[2] / 2, found[1] + found[3] / 2
    inside = true[0] <= cx <= true[0] + true[2] and true[1] <= cy <= true[1] + true[3]
    ratio = max(found[2], found[3]) / max(true[2], true[3], 1e-6)
    return max(overlap, 0.01) if inside and 1 / MATCH_SIZE <= ratio <= MATCH_SIZE else 0.0


def match(found: Sequence[Box], true: Sequence[Box]) -> list[tuple[int, int]]:
    """One-to-one pairs (found index, true index), best matches first."""
    pairs = sorted(((same_face(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(true)), reverse=True)
    used_found: set[int] = set()
    used_true: set[int] = set()
    out = []
    for score, i, j in pairs:
        if score > 0 and i not in used_found and j not in used_true:
            out.append((i, j))
            used_found.add(i)
            used_true.add(j)
    return out


@dataclass
class Counts:
    """Detection counts over a set of pictures."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    def add(self, found: Sequence[Box], true: Sequence[Box]) -> list[tuple[int, int]]:
        """Count one picture; returns its matched pairs."""
        pairs = match(found, true)
        self.true_positives += len(pairs)
        self.false_positives += len(found) - len(pairs)
        self.false_negatives += len(true) - len(pairs)
        return pairs

    @property
    def score(self) -> Score:
        """The counts so far, with their precision, recall and F1 (the shot benches' own :class:`Score`)."""
        return Score(self.true_positives, self.false_positives, self.false_negatives)

    @property
    def precision(self) -> float:
        """Found faces that are faces (1.0 when none was found)."""
        return self.score.precision

    @property
    def recall(self) -> float:
        """True faces found (1.0 when there were none)."""
        return self.score.recall


TrueFace = tuple[Box, str]
"""A true face: its box in frame pixels and who it is."""


def truth_faces(truth: dict[str, Any]) -> dict[int, list[TrueFace]]:
    """The generator's faces (its truth's ``faces``) by frame."""
    out: dict[int, list[TrueFace]] = {}
    for frame, name, x, y, w, h in truth["faces"]:
        out.setdefault(int(frame), []).append(((x, y, w, h), str(name)))
    return out


def gallery_frames(truth: dict[str, Any], *, min_height: float = 0.25) -> dict[str, int]:
    """For each character, the first frame where it is alone on screen and its face is at least ``min_height`` tall."""
    chosen: dict[str, int] = {}
    for frame, faces in sorted(truth_faces(truth).items()):
        if len(faces) == 1 and faces[0][0][3] >= min_height * truth["height"]:
            chosen.setdefault(faces[0][1], frame)
    return chosen


@dataclass
class Recognition:
    """Detection and naming of one library's faces against the generator's truth, on the frames looked at."""

    detection: Counts = field(default_factory=Counts)
    """Found faces against true faces at least ``min_face`` tall."""
    named_right: int = 0
    """Faces of enrolled characters named right."""
    named_wrong: int = 0
    """Faces of enrolled characters named otherwise or left unknown."""
    rejected: int = 0
    """Faces of characters not enrolled left unknown."""
    misnamed: int = 0
    """Faces of characters not enrolled given an enrolled name."""

    @property
    def identification(self) -> float:
        """Faces of enrolled characters named right (1.0 when there were none)."""
        total = self.named_right + self.named_wrong
        return self.named_right / total if total else 1.0

    @property
    def rejection(self) -> float:
        """Faces of characters not enrolled left unknown (1.0 when there were none)."""
        total = self.rejected + self.misnamed
        return self.rejected / total if total else 1.0


def recognition(
    faces: Sequence[dict[str, Any]],
    keyframes: Sequence[int],
    truth: dict[str, Any],
    enrolled: set[str],
    *,
    min_face: float,
) -> Recognition:
    """Score a library's faces (catalog rows: frame, x, y, w, h as fractions, character) against the truth."""
    width, height = truth["width"], truth["height"]
    true_by_frame = truth_faces(truth)
    found_by_frame: dict[int, list[dict[str, Any]]] = {}
    for face in faces:
        found_by_frame.setdefault(int(face["frame"]), []).append(face)
    out = Recognition()
    blended = {int(f["frame"]) for f in truth["flash_frames"]}
    blended |= {f for t in truth["transitions"] for f in range(int(t["start_frame"]), int(t["end_frame"]))}
    for frame in keyframes:
        if int(frame) in blended:  # the truth boxes only plain frames: a fade or flash hides how much of a face shows
            continue
        found = found_by_frame.get(int(frame), [])
        boxes = [(f["x"] * width, f["y"] * height, f["w"] * width, f["h"] * height) for f in found]
        true = [t for t in true_by_frame.get(int(frame), []) if t[0][3] >= min_face * height]
        for i, j in out.detection.add(boxes, [box for box, _ in true]):
            _count_name(out, found[i].get("character"), true[j][1], enrolled)
    return out


def _count_name(out: Recognition, got: Any, name: str, enrolled: set[str]) -> None:
    got = got if isinstance(got, str) else None
    if name in enrolled:
        out.named_right += got == name
        out.named_wrong += got != name
    else:
        out.rejected += got is None
        out.misnamed += got is not None
