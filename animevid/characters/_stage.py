"""The characters stage: faces on a few keyframes per shot, embedded, tracked through each shot."""

from __future__ import annotations

import bisect
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from animevid.characters._detect import FaceBox, FaceDetector, create_detector, detect_at_widths
from animevid.characters._embed import Embedder, create_embedder, head_crop
from animevid.characters._keyframes import MEMORY_FRAMES, KeyframePicker
from animevid.config import CharactersConfig
from animevid.decode import DetailRequest, FrameBatch
from animevid.engine import STAGES, EpisodeContext, SegmentRun, SplittableStage, Stored
from animevid.library import INDEX_DIRNAME
from animevid.model import Shot

logger = logging.getLogger(__name__)

CROP_SIDE = 48
"""Side of the head thumbnail kept per face (the discovery page shows them)."""
CROP_SCALE = 1.6
"""The thumbnail's square: the face box's larger side times this, around its centre (head and hair)."""
TRACK_SIMILARITY = 0.8
"""Cosine similarity from which a face on a keyframe continues a face of the shot's keyframe before."""
BORDER = 0.05
"""Keyframes are extended by this share of their width on every side before detection (faces cut by the frame's
edge are found then: 3 of the 3 faces missed on held-out synthetic episodes were cut so)."""
FACES_STORE = "faces"
"""Name of the per-episode array store (``index/faces/<episode_id>.npz``)."""


def faces_file(library: Path, episode_id: int) -> Path:
    """Where an episode's face vectors, thumbnails and keyframes are kept in a library."""
    return library / INDEX_DIRNAME / FACES_STORE / f"{episode_id}.npz"


def episode_faces(library: Path, episode_id: int) -> dict[str, Any] | None:
    """An episode's stored ``embeddings``, ``crops``, ``keyframes`` and ``signature`` (None: no file)."""
    path = faces_file(library, episode_id)
    if not path.is_file():
        return None
    with np.load(path) as data:
        return {"embeddings": data["embeddings"], "crops": data["crops"], "keyframes": data["keyframes"],
                "signature": str(data["signature"])}  # fmt: skip


@dataclass(frozen=True)
class FoundFace:
    """One face on one keyframe."""

    box: tuple[float, float, float, float]
    """(x, y, w, h) as fractions of the frame's width and height."""
    score: float
    """The detector's confidence."""
    embedding: np.ndarray = field(repr=False)
    """(dim,) float32 unit vector."""
    crop: np.ndarray = field(repr=False)
    """(CROP_SIDE, CROP_SIDE, 3) uint8 RGB head thumbnail."""


@dataclass(frozen=True)
class Keyframe:
    """A frame the stage looked at, and the faces on it."""

    frame_index: int
    """The frame (0-based decode order)."""
    pts_seconds: float
    """Its presentation time."""
    faces: tuple[FoundFace, ...]
    """Faces kept (large enough, confident enough), best first."""


@dataclass(frozen=True)
class FaceRow:
    """One face as the catalog's ``faces`` table stores it."""

    face_index: int
    shot_index: int
    frame: int
    seconds: float
    x: float
    y: float
    w: float
    h: float
    score: float
    track: int
    """Faces of one character followed through one shot share a track (numbered over the episode)."""
    character: str | None = None
    """The enrolled character it was recognised as, None when unknown."""
    distance: float | None = None
    """Cosine distance to that character's nearest enrolled face."""
    cluster: int | None = None
    """Group of similar unknown faces (``animevid characters discover``)."""


@dataclass(frozen=True)
class EpisodeFaces:
    """Every face of one episode, in keyframe order, with what search and discovery need."""

    keyframes: np.ndarray
    """(k,) int64 frames looked at (with or without faces)."""
    rows: list[FaceRow]
    """One per face."""
    embeddings: np.ndarray
    """(n, dim) float32 unit vectors, row i for rows[i]."""
    crops: np.ndarray
    """(n, CROP_SIDE, CROP_SIDE, 3) uint8 head thumbnails."""
    signature: str
    """The embedder's (:attr:`~animevid.characters.Embedder.signature`): vectors of others cannot be compared."""

    def arrays(self) -> dict[str, np.ndarray]:
        """What the ``faces`` store keeps of the episode."""
        return {
            "keyframes": self.keyframes,
            "embeddings": self.embeddings,
            "crops": self.crops,
            "signature": np.array(self.signature),
        }


def _build(config: Any, device: str) -> CharacterStage:
    return CharacterStage(device=device, config=config.characters)


class CharacterStage(SplittableStage[Keyframe, EpisodeFaces]):
    """Faces on the keyframes :class:`~animevid.characters.KeyframePicker` chooses, from larger frames of the same pass.

    The decoder hands this stage a ``detail_width`` copy of each keyframe
    (:class:`~animevid.decode.DetailRequest`); a decoder that cannot (``decord``, ``torchcodec``)
    leaves it the analysis frames, with a warning (small faces are then missed). Faces smaller than
    ``min_face`` of the frame's height or scored under ``min_score`` are dropped; the rest are
    embedded and, in :meth:`summarise`, assigned to shots and followed through each shot
    (:data:`TRACK_SIMILARITY`). Naming them is the gallery's job (:func:`~animevid.characters.name_faces`).

    Splittable: the picker's decisions depend on the last :data:`~animevid.characters.MEMORY_FRAMES`
    frames only, and a keyframe's faces on that frame alone.

    Args:
        device: Device the batches arrive on (faces are found on the CPU).
        config: The characters options.
    """

    name = "characters"
    cpu_only = True
    warmup_frames = MEMORY_FRAMES

    def __init__(self, *, device: str | torch.device = "cpu", config: CharactersConfig | None = None) -> None:
        super().__init__(device=device)
        self.config = config or CharactersConfig()
        self.detector: FaceDetector = create_detector(self.config)
        self.embedder: Embedder = create_embedder(self.config)
        self.picker = KeyframePicker()
        self._picks_itself = False

    def settings(self) -> dict[str, Any]:
        """The characters options."""
        return {"config": self.config}

    def reset(self) -> None:
        """Forget every frame seen."""
        self.picker.reset()

    def absorb(self, run: SegmentRun) -> Sequence[Keyframe]:
        """The run's keyframes within ``[run.start, run.stop)``."""
        return run.records_taken()

    def detail_request(self) -> DetailRequest:
        """Keyframes at ``detail_width``."""
        return DetailRequest(width=self.config.detail_width, wants=self.picker.wants)

    def detail_refused(self) -> None:
        """Pick keyframes here and look at the analysis frames themselves."""
        self._picks_itself = True
        warnings.warn(
            "the decoder cannot hand out larger frames: faces are looked for in the analysis frames, and small "
            "ones are missed; use decode.backend: pyav for characters",
            UserWarning,
            stacklevel=2,
        )

    def process(self, batch: FrameBatch) -> Sequence[Keyframe]:
        """The batch's keyframes with their faces."""
        first = batch.start_frame
        images = dict(batch.details)
        if self._picks_itself:
            frames = batch.frames.cpu().numpy()
            images = {first + i: frame for i, frame in enumerate(frames) if self.picker.wants(first + i, frame)}
        return [
            Keyframe(number, float(batch.pts_seconds[number - first]), self.faces(image))
            for number, image in sorted(images.items())
        ]

    def faces(self, image: np.ndarray) -> tuple[FoundFace, ...]:
        """The faces of one keyframe that are kept, embedded (see :func:`find_faces`)."""
        h, w = image.shape[:2]
        found = [
            f
            for f in find_faces(self.detector, image, self.config.detect_width)
            if f.score >= self.config.min_score and f.h >= self.config.min_face * h
        ]
        vectors = self.embedder.embed(image, found)
        return tuple(
            FoundFace((f.x / w, f.y / h, f.w / w, f.h / h), f.score, vectors[i], thumbnail(image, f))
            for i, f in enumerate(found)
        )

    def summarise(self, records: list[Keyframe], episode: EpisodeContext) -> EpisodeFaces:
        """Every face with its shot and track."""
        return gather_faces(records, episode.shots, self.embedder.signature, self.embedder.dim)

    def stored(self, output: EpisodeFaces) -> Stored:
        """The ``faces`` rows and the ``faces`` array store."""
        return Stored(rows={"faces": output.rows}, arrays={FACES_STORE: output.arrays()})


def find_faces(detector: FaceDetector, image: np.ndarray, width: int) -> list[FaceBox]:
    """Faces of a keyframe, looked for at ``width`` (and 2/3 of it when none is found), in the keyframe's pixels.

    The keyframe is extended by :data:`BORDER` first. Looking at 480 px costs half as much as at
    640 and found as many faces (more on the generator's close-ups); the faces are embedded from
    the keyframe itself.
    """
    w = image.shape[1]
    scale = min(1.0, width / w)
    small = image
    if scale < 1.0:
        small = cv2.resize(image, (width, max(2, round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    found = detect_at_widths(detector, small, (small.shape[1] * 2 // 3,), border=BORDER)
    return [face.scaled(1 / scale) for face in found]


def thumbnail(image: np.ndarray, face: FaceBox) -> np.ndarray:
    """The head around ``face`` as a CROP_SIDE square thumbnail."""
    crop = head_crop(image, face, CROP_SCALE)
    return cv2.resize(np.ascontiguousarray(crop), (CROP_SIDE, CROP_SIDE), interpolation=cv2.INTER_AREA)


def gather_faces(records: Sequence[Keyframe], shots: Sequence[Shot], signature: str, dim: int) -> EpisodeFaces:
    """The faces of an episode's keyframes, each in its shot, followed from keyframe to keyframe of the shot."""
    starts = [shot.start_frame for shot in shots]
    rows: list[FaceRow] = []
    vectors: list[np.ndarray] = []
    crops: list[np.ndarray] = []
    tracks = _Tracks()
    for keyframe in sorted(records, key=lambda k: k.frame_index):
        shot = max(0, bisect.bisect_right(starts, keyframe.frame_index) - 1)
        ids = tracks.follow(shot, [f.embedding for f in keyframe.faces])
        for face, track in zip(keyframe.faces, ids, strict=True):
            x, y, w, h = face.box
            rows.append(
                FaceRow(len(rows), shot, keyframe.frame_index, keyframe.pts_seconds, x, y, w, h, face.score, track)
            )
            vectors.append(face.embedding)
            crops.append(face.crop)
    return EpisodeFaces(
        keyframes=np.array(sorted(k.frame_index for k in records), np.int64),
        rows=rows,
        embeddings=np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32),
        crops=np.stack(crops) if crops else np.zeros((0, CROP_SIDE, CROP_SIDE, 3), np.uint8),
        signature=signature,
    )


class _Tracks:
    """Track numbers: a face continues the most similar face of the shot's previous keyframe, one to one."""

    def __init__(self) -> None:
        self.count = 0
        self.shot = -1
        self.last: list[tuple[int, np.ndarray]] = []

    def follow(self, shot: int, vectors: list[np.ndarray]) -> list[int]:
        if shot != self.shot:
            self.shot, self.last = shot, []
        pairs = sorted(
            ((float(v @ prev), i, j) for i, v in enumerate(vectors) for j, (_, prev) in enumerate(self.last)),
            reverse=True,
        )
        ids: dict[int, int] = {}
        used: set[int] = set()
        for similarity, i, j in pairs:
            if similarity >= TRACK_SIMILARITY and i not in ids and j not in used:
                ids[i] = self.last[j][0]
                used.add(j)
        for i in range(len(vectors)):
            if i not in ids:
                ids[i], self.count = self.count, self.count + 1
        self.last = [(ids[i], v) for i, v in enumerate(vectors)]
        return [ids[i] for i in range(len(vectors))]


STAGES.add("characters", build=_build, commands=("index",), order=40, when=lambda config: config.characters.enabled)
