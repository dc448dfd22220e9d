"""ONNX models through onnxruntime: a YOLO-style face detector and a character embedder, each from a local file.

Neither ships with animevid: ``characters.detector_model`` / ``characters.embedder_model`` name a
``.onnx`` file or a folder holding one (e.g. deepghs' ``face_detect_v1.4_s`` or a CCIP-style
character-similarity model, downloaded once). ``hf:OWNER/REPO/FILE.onnx`` fetches one from the
Hugging Face hub when ``huggingface_hub`` is installed and the machine is online. The CUDA
provider is used when onnxruntime has it, else the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from animevid.characters._detect import FaceBox, FaceDetector
from animevid.errors import BackendUnavailableError, ConfigError

if TYPE_CHECKING:
    from animevid.config import CharactersConfig

LETTERBOX_GREY = 114
"""Padding value of a letterboxed input (what YOLO models are trained with)."""
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
"""CLIP's per-channel mean (RGB, 0..1), which CCIP-style embedders expect."""
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
"""CLIP's per-channel standard deviation."""


def model_file(spec: str, option: str) -> Path:
    """The ``.onnx`` file that ``spec`` names: a file, a folder holding one, or ``hf:OWNER/REPO/FILE`` (online).

    Raises:
        ConfigError: Nothing is named, the path does not exist, the folder holds no or several
            ``.onnx`` files, or the hub cannot be reached.
    """
    if not spec:
        raise ConfigError(f"characters.{option} is empty; set it to a .onnx file or a folder holding one")
    if spec.startswith("hf:"):
        return _from_hub(spec[3:], option)
    path = Path(spec).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if len(found) != 1:
            raise ConfigError(f"characters.{option}: {path} holds {len(found)} .onnx files; name the one to use")
        return found[0]
    if not path.is_file():
        raise ConfigError(f"characters.{option}: {path} does not exist; set it to a .onnx file or a folder holding one")
    return path


def _from_hub(name: str, option: str) -> Path:
    owner, _, rest = name.partition("/")
    repo, _, filename = rest.partition("/")
    if not (owner and repo and filename):
        raise ConfigError(f"characters.{option}: hf:{name} is not hf:OWNER/REPO/FILE.onnx")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise ConfigError(
            f"characters.{option}: hf:{name} needs huggingface_hub (pip install huggingface_hub), or download the "
            "file and name its path"
        ) from None
    try:
        return Path(hf_hub_download(f"{owner}/{repo}", filename))
    except Exception as exc:  # offline, no such repo or file: the hub's own errors vary by version
        raise ConfigError(
            f"characters.{option}: could not fetch hf:{name} ({type(exc).__name__}); download it and name its path"
        ) from None


def open_session(path: Path) -> Any:
    """An onnxruntime session on ``path``, on CUDA when the installed onnxruntime offers it.

    Raises:
        BackendUnavailableError: onnxruntime is not installed.
        ConfigError: The file is not a model onnxruntime can load.
    """
    try:
        import onnxruntime
    except ImportError:
        raise BackendUnavailableError(
            "ONNX models need onnxruntime: pip install 'animevid[onnx]' (onnxruntime-gpu for CUDA)"
        ) from None
    providers = [
        p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in onnxruntime.get_available_providers()
    ]
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... classes
        raise ConfigError(f"{path}: onnxruntime cannot load it as a model ({exc})") from None


def _square_side(session: Any, default: int) -> tuple[int, int]:
    """(height, width) of the model's image input; ``default`` where the model leaves it dynamic."""
    shape = session.get_inputs()[0].shape
    height, width = (shape[2], shape[3]) if len(shape) == 4 else (default, default)
    return (height if isinstance(height, int) else default), (width if isinstance(width, int) else default)


def letterbox(image: np.ndarray, height: int, width: int) -> tuple[np.ndarray, float, tuple[float, float]]:
    """``image`` scaled to fit (height, width) with its aspect kept and centred on grey.

    Returns:
        The (height, width, 3) uint8 picture, the scale applied and the (x, y) padding before it.
    """
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.full((height, width, 3), LETTERBOX_GREY, np.uint8)
    left, top = (width - new_w) // 2, (height - new_h) // 2
    out[top : top + new_h, left : left + new_w] = resized
    return out, scale, (float(left), float(top))


def yolo_boxes(output: np.ndarray, *, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x, y, w, h, model input pixels) and scores of a YOLOv8 output ``(1, 4 + classes, anchors)``."""
    rows = output[0].T if output.ndim == 3 else output.T
    if rows.shape[1] < 5:
        raise ValueError(f"a YOLOv8 output has 4 box numbers and a score per class per anchor, got {output.shape}")
    scores = rows[:, 4:].max(axis=1)
    keep = scores >= min_score
    cx, cy, bw, bh = rows[keep, :4].T
    boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1) if keep.any() else np.zeros((0, 4), np.float32)
    return boxes.astype(np.float32), scores[keep].astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best first."""
    order = list(np.argsort(-scores, kind="stable"))
    kept: list[int] = []
    while order:
        best = order.pop(0)
        kept.append(int(best))
        order = [i for i in order if _iou(boxes[best], boxes[i]) <= iou]
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


class OnnxFaceDetector(FaceDetector):
    """A YOLOv8-layout face or head detector: letterboxed input (640 px unless the model says), boxes + NMS.

    Args:
        config: ``detector_model`` names the model; ``detector_min_score`` and ``detector_iou`` filter.
    """

    name = "onnx"

    def __init__(self, config: CharactersConfig) -> None:
        self.session = open_session(model_file(config.detector_model, "detector_model"))
        self.input_name = self.session.get_inputs()[0].name
        self.size = _square_side(self.session, 640)
        self.min_score, self.iou = config.detector_min_score, config.detector_iou

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces above the score threshold after NMS, best first, in ``image``'s pixels."""
        boxed, scale, (left, top) = letterbox(image, *self.size)
        tensor = boxed.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
        output = np.asarray(self.session.run(None, {self.input_name: tensor})[0])
        boxes, scores = yolo_boxes(output, min_score=self.min_score)
        h, w = image.shape[:2]
        faces = []
        for i in nms(boxes, scores, self.iou):
            x, y, bw, bh = boxes[i]
            x0, y0 = max(0.0, (x - left) / scale), max(0.0, (y - top) / scale)
            x1, y1 = min(float(w), (x + bw - left) / scale), min(float(h), (y + bh - top) / scale)
            if x1 > x0 and y1 > y0:
                faces.append(FaceBox(x0, y0, x1 - x0, y1 - y0, float(scores[i])))
        return faces


def clip_input(crop: np.ndarray, height: int, width: int) -> np.ndarray:
    """A crop as a (1, 3, height, width) float32 tensor normalised with CLIP's mean and std."""
    resized = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    scaled = resized.astype(np.float32) / np.float32(255.0)
    normed = (scaled - np.array(CLIP_MEAN, np.float32)) / np.array(CLIP_STD, np.float32)
    return np.ascontiguousarray(normed.transpose(2, 0, 1)[None], dtype=np.float32)


class OnnxEmbedderModel:
    """A character-similarity model: one crop in (CLIP-normalised, 384 px unless the model says), one vector out."""

    def __init__(self, spec: str) -> None:
        self.session = open_session(model_file(spec, "embedder_model"))
        self.input_name = self.session.get_inputs()[0].name
        self.size = _square_side(self.session, 384)
        probe = self.session.run(None, {self.input_name: np.zeros((1, 3, *self.size), np.float32)})[0]
        self.dim = int(np.asarray(probe).reshape(1, -1).shape[1])

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """The crop's vector, (dim,) float32 (not normalised)."""
        out = self.session.run(None, {self.input_name: clip_input(crop, *self.size)})[0]
        return np.asarray(out, np.float32).reshape(-1)
