"""Face embedders behind one interface: ``colour`` (built in, no weights) and ``onnx`` (a model from a folder).

An embedder turns each face of an image into a unit vector; faces of one character lie close
(cosine similarity near 1). Vectors of different embedders cannot be compared: each embedder has
a :attr:`Embedder.signature`, stored beside every vector (library episodes, the gallery).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np

from animevid.characters._detect import FaceBox
from animevid.registry import Registry

if TYPE_CHECKING:
    from animevid.config import CharactersConfig

HUE_BINS = 12
"""Hue bins of a region's colour histogram (30 degrees each)."""
GREY_BINS = 4
"""Lightness bins for its unsaturated pixels (black, dark, light, white hair tell characters apart)."""
LAYOUT_GRID = 4
"""The face crop's colour layout: a LAYOUT_GRID x LAYOUT_GRID grid of mean Lab colours."""
REGION_WEIGHTS = {"hair": 0.55, "eyes": 0.3, "face": 0.1, "layout": 0.05}
"""Share of each part in the colour embedding (squared norm): the hair tells most characters apart, the eyes next."""


class Embedder(ABC):
    """Unit vectors for faces: close for one character, far for different ones."""

    name: ClassVar[str] = ""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of the vectors."""

    @property
    @abstractmethod
    def signature(self) -> str:
        """Names the embedder and its weights: vectors with different signatures cannot be compared."""

    @abstractmethod
    def embed(self, image: np.ndarray, faces: Sequence[FaceBox]) -> np.ndarray:
        """(len(faces), dim) float32 unit vectors of the faces of ``image`` ((h, w, 3) uint8 RGB)."""


EMBEDDERS: Registry[Embedder] = Registry("face embedder")
"""Face embedders by name; each factory takes the :class:`~animevid.config.CharactersConfig`."""


def region(image: np.ndarray, box: FaceBox, left: float, top: float, right: float, bottom: float) -> np.ndarray:
    """The part of ``image`` from (left, top) to (right, bottom), in units of the face box from its corner."""
    h, w = image.shape[:2]
    x0, x1 = int(max(0, box.x + left * box.w)), int(min(w, box.x + right * box.w))
    y0, y1 = int(max(0, box.y + top * box.h)), int(min(h, box.y + bottom * box.h))
    return image[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else np.zeros((1, 1, 3), np.uint8)


def colour_histogram(pixels: np.ndarray) -> np.ndarray:
    """(HUE_BINS + GREY_BINS,) histogram summing to 1: saturated pixels by hue, the rest by lightness."""
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3).astype(np.float32)
    hue, sat, val = hsv[:, 0] / 256.0, hsv[:, 1] / 255.0, hsv[:, 2] / 255.0
    colourful = np.clip((sat - 0.15) / 0.25, 0.0, 1.0) * np.clip((val - 0.12) / 0.2, 0.0, 1.0)
    hues = np.bincount((hue * HUE_BINS).astype(np.int64) % HUE_BINS, weights=colourful, minlength=HUE_BINS)
    greys = np.bincount(
        np.minimum((val * GREY_BINS).astype(np.int64), GREY_BINS - 1), weights=1 - colourful, minlength=GREY_BINS
    )
    out = np.concatenate([hues, greys]).astype(np.float32)
    return out / max(float(out.sum()), 1e-6)


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-6)).astype(np.float32)


@EMBEDDERS.register("colour")
class ColourEmbedder(Embedder):
    """Colours and layout of the face and hair, no weights: what tells apart flat-shaded anime characters.

    Per face: the hue/lightness histogram of the hair just above the face box (the band from the
    crown down into the bangs: further out it is often background), of the eye
    band and of the face's middle, and a 4x4 grid of the face crop's mean Lab colours, each
    normalised and weighted by :data:`REGION_WEIGHTS`. Characters with the same hair and eye
    colours (common in real anime) are beyond it: use an ONNX embedder for those.
    """

    name = "colour"
    signature_text = "colour-v1"

    def __init__(self, config: CharactersConfig | None = None) -> None:
        self._dim = 3 * (HUE_BINS + GREY_BINS) + LAYOUT_GRID * LAYOUT_GRID * 3

    @property
    def dim(self) -> int:
        """3 histograms and the layout grid."""
        return self._dim

    @property
    def signature(self) -> str:
        """Fixed: the built-in embedder has no weights."""
        return self.signature_text

    def embed(self, image: np.ndarray, faces: Sequence[FaceBox]) -> np.ndarray:
        """One unit vector per face."""
        return np.stack([self._one(image, f) for f in faces]) if faces else np.zeros((0, self.dim), np.float32)

    def _one(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        hair = region(image, box, 0.1, -0.3, 0.9, 0.15)
        parts = {
            "hair": colour_histogram(hair),
            "eyes": colour_histogram(region(image, box, 0.12, 0.3, 0.88, 0.62)),
            "face": colour_histogram(region(image, box, 0.25, 0.55, 0.75, 0.9)),
            "layout": self._layout(region(image, box, 0.0, 0.0, 1.0, 1.0)),
        }
        return _unit(np.concatenate([_unit(parts[k]) * np.sqrt(w) for k, w in REGION_WEIGHTS.items()]))

    @staticmethod
    def _layout(crop: np.ndarray) -> np.ndarray:
        small = cv2.resize(crop, (LAYOUT_GRID, LAYOUT_GRID), interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32) - 128.0
        return lab.reshape(-1)


class OnnxEmbedder(Embedder):
    """A CCIP-style character-similarity model (e.g. 384x384 in, CLIP mean/std, 768 out) on a crop around each face.

    The crop is the face box widened by ``characters.embedder_crop_scale`` around its centre (the
    whole head and hair: such models are trained on one character per crop), squared, clipped to
    the image.
    """

    name = "onnx"

    def __init__(self, config: CharactersConfig) -> None:
        from animevid.characters._onnx import OnnxEmbedderModel, model_file

        path = model_file(config.embedder_model, "embedder_model")
        self.model = OnnxEmbedderModel(str(path))
        self.crop_scale = config.embedder_crop_scale
        self._signature = f"onnx-{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"

    @property
    def dim(self) -> int:
        """The model's output length."""
        return self.model.dim

    @property
    def signature(self) -> str:
        """``onnx-`` and the model file's digest."""
        return self._signature

    def embed(self, image: np.ndarray, faces: Sequence[FaceBox]) -> np.ndarray:
        """One unit vector per face, from the widened crop."""
        vectors = [_unit(self.model(head_crop(image, face, self.crop_scale))) for face in faces]
        return np.stack(vectors) if vectors else np.zeros((0, self.dim), np.float32)


def head_crop(image: np.ndarray, face: FaceBox, scale: float) -> np.ndarray:
    """A square around the face box's centre, ``scale`` times its larger side, clipped to ``image``."""
    side = max(face.w, face.h) * scale
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    return region(image, FaceBox(cx - side / 2, cy - side / 2, side, side, face.score), 0.0, 0.0, 1.0, 1.0)


def create_embedder(config: CharactersConfig) -> Embedder:
    """The embedder ``config.embedder`` names, loaded.

    Raises:
        UnknownNameError: No embedder has that name.
        BackendUnavailableError: onnxruntime is missing (``onnx``).
        ConfigError: Its model file is missing or unreadable.
    """
    return EMBEDDERS.create(config.embedder, config)
