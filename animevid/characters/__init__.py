"""Who is on screen: faces on a few keyframes per shot, in the one decode pass, recognised from a gallery.

- :class:`CharacterStage` (registered for ``index``): the decoder hands it larger copies of the
  keyframes :class:`KeyframePicker` chooses; it finds faces (:data:`DETECTORS`: ``animeface``,
  ``lbp``, ``onnx``), embeds them (:data:`EMBEDDERS`: ``colour``, ``onnx``) and follows them
  through each shot.
- :class:`Gallery`: characters enrolled from a few pictures (:func:`enroll`); faces are named
  after the nearest enrolled face, or stay unknown (:func:`name_faces`, :func:`rename_library`).
- :func:`discover` clusters the unknown faces of a library and writes a page of them;
  :func:`name_cluster` names a whole cluster at once.
"""

from __future__ import annotations

import importlib.util

from animevid.characters._api import FaceReader, enroll, identify, list_characters, load_picture, search_character
from animevid.characters._detect import DETECTORS, AnimeFaceDetector, CascadeDetector, FaceBox, FaceDetector
from animevid.characters._discover import Discovery, discover, name_cluster
from animevid.characters._embed import EMBEDDERS, ColourEmbedder, Embedder, OnnxEmbedder
from animevid.characters._gallery import Gallery, Match, Naming, name_faces, rename_library
from animevid.characters._keyframes import MEMORY_FRAMES, KeyframePicker
from animevid.characters._stage import (
    FACES_STORE,
    CharacterStage,
    EpisodeFaces,
    FaceRow,
    FoundFace,
    Keyframe,
    episode_faces,
    faces_file,
)

if importlib.util.find_spec("onnxruntime") is None:  # not imported here: it takes a while, and few runs use it
    _why = "install the 'onnx' extra (pip install 'animevid[onnx]'; onnxruntime-gpu for CUDA)"
    DETECTORS.mark_unavailable("onnx", _why)
    EMBEDDERS.mark_unavailable("onnx", _why)
else:
    from animevid.characters._onnx import OnnxFaceDetector

    DETECTORS.register("onnx")(OnnxFaceDetector)
    EMBEDDERS.register("onnx")(OnnxEmbedder)

__all__ = [
    "DETECTORS",
    "EMBEDDERS",
    "FACES_STORE",
    "MEMORY_FRAMES",
    "AnimeFaceDetector",
    "CascadeDetector",
    "CharacterStage",
    "ColourEmbedder",
    "Discovery",
    "Embedder",
    "EpisodeFaces",
    "FaceBox",
    "FaceDetector",
    "FaceReader",
    "FaceRow",
    "FoundFace",
    "Gallery",
    "Keyframe",
    "KeyframePicker",
    "Match",
    "Naming",
    "discover",
    "enroll",
    "episode_faces",
    "faces_file",
    "identify",
    "list_characters",
    "load_picture",
    "name_cluster",
    "name_faces",
    "rename_library",
    "search_character",
]
