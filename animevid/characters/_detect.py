"""Face detectors by name: ``animeface`` (default, weights in the wheel), ``lbp`` (OpenCV cascade), ``onnx`` (YOLO)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

from animevid.errors import BackendUnavailableError, ConfigError
from animevid.registry import Registry

if TYPE_CHECKING:
    from animevid.config import CharactersConfig

Colour = tuple[int, int, int]

SELF_TEST_IMAGE = "selftest_face.png"
"""A 150x180 frame of the project's own synthetic generator (seed 3) with one face, shipped in the package."""
SELF_TEST_BOX = (30, 61, 61, 61)
"""Where the face of the self-test image is (x, y, w, h), as animeface found it with Pillow 11.3."""


@dataclass(frozen=True)
class FaceBox:
    """One face found in an image."""

    x: float
    """Left edge, in the image's pixels."""
    y: float
    """Top edge."""
    w: float
    """Width."""
    h: float
    """Height."""
    score: float
    """The detector's confidence, 0..1."""
    colours: tuple[Colour, ...] = ()
    """What the detector measured (animeface: hair, skin, left eye, right eye), else empty."""

    def scaled(self, factor: float) -> FaceBox:
        """The same face in an image ``factor`` times as large."""
        return FaceBox(self.x * factor, self.y * factor, self.w * factor, self.h * factor, self.score, self.colours)

    def iou(self, other: FaceBox) -> float:
        """Intersection over union of two boxes."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


class FaceDetector(ABC):
    """Finds anime faces in an RGB image."""

    name: ClassVar[str] = ""

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """The faces in ``image`` ((h, w, 3) uint8 RGB), best first."""


DETECTORS: Registry[FaceDetector] = Registry("face detector")
"""Face detectors by name; each factory takes the :class:`~animevid.config.CharactersConfig`."""


@DETECTORS.register("animeface")
class AnimeFaceDetector(FaceDetector):
    """nvxs AnimeFace through the ``animeface`` wheel (Apache-2.0; its weights are compiled in: works offline).

    It reads Pillow's internal image struct; with Pillow 12 or newer it returns no face at all,
    silently. Loading it runs it on a face it must find (:data:`SELF_TEST_IMAGE`) and fails loudly
    when it does not, instead of indexing an archive with no faces.
    """

    name = "animeface"

    def __init__(self, config: CharactersConfig | None = None) -> None:
        try:
            import animeface
            import PIL
            from PIL import Image
        except ImportError as exc:
            raise BackendUnavailableError(
                f"face detector 'animeface' needs the animeface package ({exc}); pip install 'animeface==2.0.3' "
                "or set characters.detector: lbp"
            ) from None
        self._detect, self._image = animeface.detect, Image
        self._self_test(PIL.__version__)

    def _self_test(self, pillow: str) -> None:
        with resources.files(__package__).joinpath(SELF_TEST_IMAGE).open("rb") as handle:
            image = np.asarray(self._image.open(handle).convert("RGB"))
        found = self.detect(image)
        if not any(face.iou(FaceBox(*SELF_TEST_BOX, score=1.0)) > 0.5 for face in found):
            raise BackendUnavailableError(
                f"face detector 'animeface' failed its self-test: it found {len(found)} face(s) where one is drawn. "
                f"It reads Pillow's internal image layout, which changed in Pillow 12 (installed: {pillow}); "
                "install pillow<12 (animevid pins 11.3.0) or set characters.detector: lbp"
            )

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces with the hair, skin and eye colours AnimeFace measured."""
        found = self._detect(self._image.fromarray(np.ascontiguousarray(image)))
        faces = [
            FaceBox(
                float(f.face.pos.x), float(f.face.pos.y), float(f.face.pos.width), float(f.face.pos.height),
                float(f.likelihood),
                tuple(_rgb(c) for c in (f.hair.color, f.skin.color, f.left_eye.color, f.right_eye.color)),
            )
            for f in found
        ]  # fmt: skip
        return sorted(faces, key=lambda face: -face.score)


def _rgb(colour: Any) -> Colour:
    return int(colour.r), int(colour.g), int(colour.b)


@DETECTORS.register("lbp")
class CascadeDetector(FaceDetector):
    """OpenCV's LBP cascade ``lbpcascade_animeface.xml`` (MIT, nagadomi), from a path in the config.

    The repository does not carry the file: ``characters.cascade`` names it. Faces come with a
    score of 1 (a cascade does not rank its detections).

    Raises:
        ConfigError: No path is set, the file is missing, or OpenCV cannot read it as a cascade.
    """

    name = "lbp"
    scale_factor = 1.1
    neighbours = 5
    min_side = 24

    def __init__(self, config: CharactersConfig | None = None) -> None:
        path = Path(config.cascade).expanduser() if config is not None and config.cascade else None
        fetch = (
            "download lbpcascade_animeface.xml (MIT) from https://github.com/nagadomi/lbpcascade_animeface "
            "and set characters.cascade: PATH in your --config file"
        )
        if path is None:
            raise ConfigError(f"characters.detector is lbp but characters.cascade is empty; {fetch}")
        if not path.is_file():
            raise ConfigError(f"characters.cascade: {path} does not exist; {fetch}")
        try:
            self.cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # OpenCV raises (wrapped) on a file that is XML but not a cascade
            self.cascade = cv2.CascadeClassifier()
        if self.cascade.empty():
            raise ConfigError(f"characters.cascade: OpenCV cannot read {path} as a cascade; {fetch}")

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces at least ``min_side`` pixels wide, largest first."""
        grey = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        found = self.cascade.detectMultiScale(
            grey, scaleFactor=self.scale_factor, minNeighbors=self.neighbours, minSize=(self.min_side, self.min_side)
        )
        faces = [FaceBox(float(x), float(y), float(w), float(h), 1.0) for x, y, w, h in found]
        return sorted(faces, key=lambda face: -face.w * face.h)


def detect_at_widths(
    detector: FaceDetector, image: np.ndarray, widths: tuple[int, ...], *, border: float = 0.0
) -> list[FaceBox]:
    """Faces in ``image``, trying it scaled to each other width in turn (up to twice its own) until some are found.

    AnimeFace is fickle about scale: a close-up face that fills half a 1280-px frame is found at
    800 or 560 px and not at 640 (measured on the generator's close-ups). With ``border`` (a
    fraction of the width), the picture is first extended by its own edge pixels on every side:
    a face cut by the frame's edge is then found (the detector looks for whole faces). Boxes are
    in ``image``'s own pixels, clipped to it.
    """
    h, w = image.shape[:2]
    pad = round(border * w)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    found = detector.detect(image)
    full = image.shape[1]
    for width in widths:
        if found or width == w or width > 2 * w:
            continue
        scaled = round(width * full / w)
        small = cv2.resize(image, (scaled, max(2, round(image.shape[0] * scaled / full))), interpolation=cv2.INTER_AREA)
        found = [face.scaled(full / scaled) for face in detector.detect(small)]
    return [clipped for face in found if (clipped := _clip(face, pad, w, h)) is not None]


def _clip(face: FaceBox, pad: int, width: int, height: int) -> FaceBox | None:
    """A box found in a picture bordered by ``pad`` pixels, in the picture's own pixels, clipped to it."""
    x0, y0 = max(0.0, face.x - pad), max(0.0, face.y - pad)
    x1, y1 = min(float(width), face.x + face.w - pad), min(float(height), face.y + face.h - pad)
    if x1 - x0 < 0.5 * face.w or y1 - y0 < 0.5 * face.h:
        return None  # mostly in the border: nothing of it is in the picture
    return FaceBox(x0, y0, x1 - x0, y1 - y0, face.score, face.colours)


def create_detector(config: CharactersConfig) -> FaceDetector:
    """The detector ``config.detector`` names, loaded (and self-tested where it has a self-test).

    Raises:
        UnknownNameError: No detector has that name.
        BackendUnavailableError: Its package is missing, or it failed its self-test.
        ConfigError: Its file (cascade, model) is missing or unreadable.
    """
    return DETECTORS.create(config.detector, config)
