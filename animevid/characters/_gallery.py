"""The gallery: characters enrolled from a few pictures, and the faces of the library named after them.

A library's ``gallery/`` holds one file per character (``<character_id>.npz``: its face vectors,
head thumbnails and the embedder's signature); the catalog's ``characters`` table names them.
A face is named after the character of its nearest enrolled vector (FAISS, inner product of unit
vectors) when the cosine distance is at most ``characters.unknown_distance``, else it stays
unknown. A face is decided with its whole track: the mean of the track's vectors is looked up,
so one blurred keyframe does not rename a character mid-shot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from animevid.catalog import CATALOG_FILENAME, Catalog
from animevid.characters._stage import EpisodeFaces, FaceRow, episode_faces
from animevid.config import CharactersConfig
from animevid.errors import CharacterError
from animevid.library import Library, write_atomically
from animevid.model import Character

GALLERY_DIRNAME = "gallery"
"""The gallery's folder inside a library."""
NAME_PATTERN = re.compile(r"^[^\x00-\x1f/\\]{1,80}$")
"""A character's name: 1-80 characters, no control characters or slashes."""


@dataclass(frozen=True)
class Match:
    """What the gallery says of one face."""

    name: str | None
    """The character, None when unknown."""
    distance: float
    """Cosine distance to the nearest enrolled vector (2.0 when the gallery is empty)."""
    runner_up: float = 2.0
    """Cosine distance to the nearest vector of any other enrolled character (2.0: none)."""


@dataclass(frozen=True)
class Naming:
    """When a face gets the name of its nearest enrolled character (cosine distances).

    Named when the nearest enrolled face is within :attr:`near`; or within :attr:`distinct` when
    every other enrolled character is at least :attr:`margin` farther (the nearest-neighbour
    margin test: a face far from everyone but one character is that character, a face about as
    near to two is neither).
    """

    near: float = 0.1
    distinct: float = 0.3
    margin: float = 0.15

    @classmethod
    def of(cls, config: CharactersConfig) -> Naming:
        """The rule of ``characters.unknown_distance``, ``distinct_distance`` and ``distinct_margin``."""
        return cls(config.unknown_distance, config.distinct_distance, config.distinct_margin)

    def names(self, distance: float, runner_up: float) -> bool:
        """Whether a face this near its nearest character (and this near the next) is named after it."""
        return distance <= self.near or (distance <= self.distinct and runner_up - distance >= self.margin)


NEAREST = Naming(near=2.0)
"""Names every face after its nearest character, however far (for measuring distances)."""


class Gallery:
    """The enrolled characters of a library (read at construction; :meth:`enroll` writes).

    Args:
        library: The library folder.
    """

    def __init__(self, library: str | Path) -> None:
        self.folder = Path(library) / GALLERY_DIRNAME
        self.names: list[str] = []
        self.vectors = np.zeros((0, 0), np.float32)
        self.signature = ""
        self._owner: list[int] = []
        self._index: faiss.IndexFlatIP | None = None
        self._load(Path(library))

    def _load(self, library: Path) -> None:
        if not (library / CATALOG_FILENAME).is_file():
            return
        with Catalog.in_library(library) as catalog:
            enrolled = catalog.characters()
        blocks = []
        for row in enrolled.itertuples():
            path = self.folder / f"{row.character_id}.npz"
            if not path.is_file():
                continue
            with np.load(path) as data:
                self._check_signature(str(data["signature"]), str(row.name))
                blocks.append(data["vectors"].astype(np.float32))
            self._owner += [len(self.names)] * len(blocks[-1])
            self.names.append(str(row.name))
        if blocks:
            self.vectors = np.concatenate(blocks)

    def _check_signature(self, signature: str, name: str) -> None:
        if self.signature and signature != self.signature:
            raise CharacterError(
                f"gallery {self.folder}: {name!r} was enrolled with embedder {signature}, others with "
                f"{self.signature}; enroll every character again with one embedder"
            )
        self.signature = signature

    def __len__(self) -> int:
        return len(self.names)

    def match(self, vectors: np.ndarray, *, naming: Naming) -> list[Match]:
        """The nearest enrolled character of each (unit) vector, or unknown where ``naming`` says so."""
        if not len(self.vectors) or not len(vectors):
            return [Match(None, 2.0) for _ in range(len(vectors))]
        if self._index is None:  # built once: a library is renamed episode by episode against one gallery
            self._index = faiss.IndexFlatIP(self.vectors.shape[1])
            self._index.add(np.ascontiguousarray(self.vectors))
        similarity, nearest = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), len(self.vectors))
        out = []
        for sims, rows in zip(similarity, nearest, strict=True):
            owners = [self._owner[j] for j in rows]
            distance = float(1.0 - sims[0])
            others = [float(1.0 - s) for s, o in zip(sims, owners, strict=True) if o != owners[0]]
            runner_up = others[0] if others else 2.0
            named = naming.names(distance, runner_up)
            out.append(Match(self.names[owners[0]] if named else None, distance, runner_up))
        return out

    def enroll(self, library: Library, name: str, vectors: np.ndarray, crops: np.ndarray, signature: str) -> int:
        """Add faces to ``name`` (created when new); returns how many faces it now has.

        Raises:
            CharacterError: The name is not usable, or the gallery holds another embedder's vectors.
        """
        if not NAME_PATTERN.match(name) or name.strip() != name:
            raise CharacterError(
                f"{name!r} is not a usable character name: 1-80 characters, no slashes or control codes"
            )
        if self.signature and signature != self.signature:
            raise CharacterError(
                f"gallery {self.folder}: its characters were enrolled with embedder {self.signature}, these faces "
                f"come from {signature}; use the same characters.embedder (or a new library)"
            )
        with library.writing(), Catalog.in_library(library.folder) as catalog:
            character_id = catalog.add_character(Character(name), embedder=signature)
            path = self.folder / f"{character_id}.npz"
            old_vectors, old_crops = _stored(path, vectors.shape[1], crops.shape[1:])
            all_vectors = np.concatenate([old_vectors, vectors.astype(np.float32)])
            all_crops = np.concatenate([old_crops, crops.astype(np.uint8)])
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomically(path, partial(_save, vectors=all_vectors, crops=all_crops, signature=signature))
            catalog.add_character(Character(name, images=len(all_vectors)), embedder=signature)
        return len(all_vectors)


def _stored(path: Path, dim: int, crop_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        return np.zeros((0, dim), np.float32), np.zeros((0, *crop_shape), np.uint8)
    with np.load(path) as data:
        return data["vectors"], data["crops"]


def _save(path: Path, *, vectors: np.ndarray, crops: np.ndarray, signature: str) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, vectors=vectors, crops=crops, signature=np.array(signature))


def track_matches(rows: Sequence[FaceRow], vectors: np.ndarray, gallery: Gallery, *, naming: Naming) -> list[Match]:
    """Each face's match, decided once per track from the mean of the track's vectors."""
    tracks: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        tracks.setdefault(row.track, []).append(i)
    order = list(tracks)
    means = np.stack([vectors[tracks[t]].mean(axis=0) for t in order]) if order else np.zeros((0, 1), np.float32)
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-6)
    found = gallery.match(means, naming=naming)
    out: list[Match] = [Match(None, 2.0)] * len(rows)
    for track, match in zip(order, found, strict=True):
        for i in tracks[track]:
            out[i] = match
    return out


def name_faces(faces: EpisodeFaces, gallery: Gallery, *, naming: Naming) -> EpisodeFaces:
    """``faces`` with each row named after the gallery (unchanged when the embedders differ)."""
    if not len(gallery) or gallery.signature != faces.signature:
        return faces
    matches = track_matches(faces.rows, faces.embeddings, gallery, naming=naming)
    rows = [
        FaceRow(**{**row.__dict__, "character": m.name, "distance": round(m.distance, 6) if m.name else None})
        for row, m in zip(faces.rows, matches, strict=True)
    ]
    return EpisodeFaces(faces.keyframes, rows, faces.embeddings, faces.crops, faces.signature)


def rename_library(library: str | Path, *, naming: Naming) -> dict[str, int]:
    """Name every indexed face of the library after the gallery as it is now; faces per name (``None``: unknown)."""
    folder = Path(library)
    gallery = Gallery(folder)
    counts: dict[str, int] = {}
    with Library(folder).writing(), Catalog.in_library(folder) as catalog:
        faces = catalog.faces()
        names: list[tuple[int, int, str | None, float | None]] = []
        for episode_id, rows in faces.groupby("episode_id"):
            stored = episode_faces(folder, int(episode_id))
            if stored is None or stored["signature"] != gallery.signature or len(stored["embeddings"]) != len(rows):
                continue
            face_rows = [_face_row(r) for r in rows.to_dict("records")]
            matches = track_matches(face_rows, stored["embeddings"], gallery, naming=naming)
            for row, m in zip(face_rows, matches, strict=True):
                names.append((int(episode_id), row.face_index, m.name, round(m.distance, 6) if m.name else None))
                counts[str(m.name)] = counts.get(str(m.name), 0) + 1
        catalog.set_face_names(names)
    return counts


def _face_row(record: dict[str, Any]) -> FaceRow:
    keep = FaceRow.__dataclass_fields__
    values: dict[str, Any] = {k: (None if _missing(v) else v) for k, v in record.items() if k in keep}
    return FaceRow(**values)


def _missing(value: object) -> bool:
    try:
        return bool(value is None or value != value)  # NaN, pandas NA
    except TypeError:  # pandas.NA refuses a truth value
        return True
