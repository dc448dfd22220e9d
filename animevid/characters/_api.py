"""What the ``animevid characters`` commands and ``search --character`` do, on a library folder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from animevid.catalog import CATALOG_FILENAME, Catalog
from animevid.characters._detect import FaceBox, FaceDetector, create_detector, detect_at_widths
from animevid.characters._embed import Embedder, create_embedder
from animevid.characters._gallery import Gallery, Naming, rename_library
from animevid.characters._stage import BORDER, thumbnail
from animevid.config import CharactersConfig
from animevid.errors import CharacterError
from animevid.library import Library
from animevid.pictures import read_picture

PICTURE_WIDTHS = (800, 640, 560, 480, 400, 320, 240, 200)
"""Widths a picture is tried at, in turn, when no face is found at its own size (:func:`detect_at_widths`)."""
WHOLE_FACE = (0.18, 0.3, 0.64, 0.6)
"""Where the face is taken to be, as fractions (x, y, w, h) of a picture in which no face is found: a head
cut by hand, the face in its middle and the hair around it."""


@dataclass(frozen=True)
class PictureFace:
    """A face in a picture a user gave: where, its vector and thumbnail, and whether it was found or assumed."""

    box: FaceBox
    vector: np.ndarray = field(repr=False)
    crop: np.ndarray = field(repr=False)
    whole: bool
    """No detector found a face: the picture itself was taken as the head (:data:`WHOLE_FACE`)."""


class FaceReader:
    """The configured detector and embedder, loaded once, for pictures users give."""

    def __init__(self, config: CharactersConfig) -> None:
        self.config = config
        self.detector: FaceDetector = create_detector(config)
        self.embedder: Embedder = create_embedder(config)

    def read(self, image: np.ndarray, *, whole_if_none: bool) -> list[PictureFace]:
        """The faces of ``image`` (confident enough), or the whole picture as one face; boxes in its own pixels.

        A picture wider than the keyframes is first scaled to their width (``detail_width``), so
        that its faces are embedded at the scale the library's faces were.
        """
        h, w = image.shape[:2]
        scale = min(1.0, self.config.detail_width / w)
        if scale < 1.0:
            size = (self.config.detail_width, max(2, round(h * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        found = detect_at_widths(self.detector, image, PICTURE_WIDTHS, border=BORDER)
        boxes = [f for f in found if f.score >= self.config.min_score]
        whole = not boxes and whole_if_none
        if whole:
            x, y, bw, bh = WHOLE_FACE
            boxes = [FaceBox(x * image.shape[1], y * image.shape[0], bw * image.shape[1], bh * image.shape[0], 0.0)]
        vectors = self.embedder.embed(image, boxes)
        return [PictureFace(b.scaled(1 / scale), vectors[i], thumbnail(image, b), whole) for i, b in enumerate(boxes)]


def load_picture(path: str | Path) -> np.ndarray:
    """A picture file as (h, w, 3) uint8 RGB (refused from its header when over 64 megapixels).

    Raises:
        CharacterError: The file is missing, not a picture, or too large.
    """
    kinds = "a PNG, JPEG, WebP or BMP file"
    return read_picture(path, CharacterError, kinds=kinds, wanted=kinds.replace("file", "picture"))


@dataclass
class EnrollResult:
    """What ``characters enroll`` did."""

    name: str
    faces: int = 0
    """Faces the character has in the gallery now."""
    named: dict[str, int] = field(default_factory=dict)
    """Library faces per name after renaming (``None``: unknown)."""
    notes: list[str] = field(default_factory=list)
    """One line per picture: the face found, or that the whole picture was taken."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "faces": self.faces, "named": self.named, "notes": self.notes}


def enroll(library: str | Path, name: str, pictures: Sequence[str | Path], config: CharactersConfig) -> EnrollResult:
    """Add a character from pictures (whole frames or face crops), then name the library's faces again.

    Each picture gives one face: the largest one a detector finds, else the picture itself
    (taken as a head cut by hand, and said so).

    Raises:
        CharacterError: No picture given, a picture unreadable, the name unusable, or the gallery
            enrolled with another embedder.
    """
    if not pictures:
        raise CharacterError(f"enroll {name!r}: give at least one picture of the character")
    reader = FaceReader(config)
    result = EnrollResult(name)
    chosen: list[PictureFace] = []
    for picture in pictures:
        faces = reader.read(load_picture(picture), whole_if_none=True)
        face = max(faces, key=lambda f: f.box.w * f.box.h)
        chosen.append(face)
        result.notes.append(_enroll_note(Path(picture), face, len(faces)))
    vectors = np.stack([f.vector for f in chosen])
    crops = np.stack([f.crop for f in chosen])
    folder = Path(library)
    result.faces = Gallery(folder).enroll(Library(folder), name, vectors, crops, reader.embedder.signature)
    result.named = rename_library(folder, naming=Naming.of(config))
    return result


def _enroll_note(picture: Path, face: PictureFace, found: int) -> str:
    if face.whole:
        return f"{picture.name}: no face found; the whole picture was taken as the face"
    box = ", ".join(str(round(v)) for v in (face.box.x, face.box.y, face.box.w, face.box.h))
    more = f" (the largest of {found})" if found > 1 else ""
    return f"{picture.name}: face at [{box}]{more}"


def identify(library: str | Path, picture: str | Path, config: CharactersConfig) -> dict[str, Any]:
    """``{"faces": [{"box": [x, y, w, h], "name", "score", "distance", "whole_image"}]}`` for a picture.

    ``name`` is None for faces no enrolled character is near; ``score`` is 1 - distance. Where no
    face is found, the picture itself is taken as one (``whole_image``: true).
    """
    gallery = Gallery(library)
    reader = FaceReader(config)
    faces = reader.read(load_picture(picture), whole_if_none=True)
    if len(gallery) and gallery.signature != reader.embedder.signature:
        raise CharacterError(
            f"the gallery of {library} was enrolled with embedder {gallery.signature}, characters.embedder gives "
            f"{reader.embedder.signature}; use the embedder the gallery was made with"
        )
    vectors = np.stack([f.vector for f in faces]) if faces else np.zeros((0, 1), np.float32)
    matches = gallery.match(vectors, naming=Naming.of(config))
    return {
        "faces": [
            {
                "box": [round(f.box.x), round(f.box.y), round(f.box.w), round(f.box.h)],
                "name": m.name,
                "score": round(max(0.0, 1.0 - m.distance), 4),
                "distance": round(m.distance, 4),
                "whole_image": f.whole,
            }
            for f, m in zip(faces, matches, strict=True)
        ]
    }


def list_characters(library: str | Path) -> list[dict[str, Any]]:
    """The enrolled characters: enrolled faces, named library faces, shots and screen seconds."""
    with _catalog(library) as catalog:
        enrolled = catalog.characters()
        named = catalog.faces()
        screen = catalog.screen_time()
    out = []
    for row in enrolled.itertuples():
        faces = named[named["character"] == row.name]
        time = screen[screen["character"] == row.name]
        out.append(
            {
                "name": row.name,
                "enrolled_faces": int(row.images),
                "library_faces": len(faces),
                "episodes": int(faces["episode_id"].nunique()),
                "shots": int(time["shots"].sum()),
                "screen_seconds": round(float(time["seconds"].sum()), 3),
            }
        )
    return out


def search_character(library: str | Path, name: str) -> list[dict[str, Any]]:
    """The shots where ``name`` was recognised, by episode and time.

    Raises:
        CharacterError: No character of that name is enrolled (the message lists those that are).
    """
    with _catalog(library) as catalog:
        known = list(catalog.characters()["name"])
        if name not in known:
            listed = ", ".join(known) if known else "none yet (animevid characters enroll NAME PICTURE...)"
            raise CharacterError(f"no character {name!r} in the gallery of {library}; enrolled: {listed}")
        return [
            {**hit, "start_seconds": round(hit["start_seconds"], 3), "end_seconds": round(hit["end_seconds"], 3)}
            for hit in catalog.character_shots(name)
        ]


def _catalog(library: str | Path) -> Catalog:
    folder = Path(library)
    if not (folder / CATALOG_FILENAME).is_file():
        raise CharacterError(f"{folder} is not an animevid library (no {CATALOG_FILENAME}); run animevid index first")
    return Catalog.in_library(folder)
