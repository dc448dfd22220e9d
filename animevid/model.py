"""The data model: plain frozen dataclasses whose field names carry their units.

Frame numbers are 0-based decode-order indices; an ``end_frame`` is exclusive;
times are seconds from the stream's first frame.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

Transition = Literal["start", "cut", "fade", "dissolve"]
SubtitleKind = Literal["dialogue", "sign", "song", "comment"]
SegmentKind = Literal["op", "ed", "eyecatch", "recap", "preview", "reused"]
"""What a stretch of footage that recurs across a season's episodes is (animevid.season)."""
Cadence = Literal["ones", "twos", "threes", "mixed", "still"]
"""How often a shot's drawings change: every 1, 2 or 3 frames (in this order: a hold's length is its index plus 1),
in holds of varying length, or never (one drawing). Defined by :func:`animevid.drawings.cadence_of`."""
CADENCE_NAMES: tuple[Cadence, ...] = get_args(Cadence)
"""Every cadence, in the order of :data:`Cadence`."""
Camera = Literal["static", "pan", "zoom", "shake"]
"""Motion of the whole picture over a shot (:func:`animevid.analysis._shots.camera_of`)."""
CAMERA_NAMES: tuple[Camera, ...] = get_args(Camera)
"""Every camera motion, in the order of :data:`Camera`."""


@dataclass(frozen=True)
class Episode:
    """One video file as the catalog knows it."""

    path: str
    """Absolute path of the file when it was indexed."""
    content_hash: str
    """sha256 of the file's bytes (hex); identifies the episode across moves and renames."""
    size_bytes: int
    """File size in bytes."""
    container: str
    """Container format name as FFmpeg reports it (e.g. ``matroska,webm``)."""
    codec: str
    """Video codec name (e.g. ``h264``)."""
    width: int
    """Coded frame width in pixels."""
    height: int
    """Coded frame height in pixels."""
    fps: float
    """Nominal frame rate in frames per second."""
    frames: int
    """Number of decoded frames."""
    duration_seconds: float
    """Time from the first frame to the end of the last frame."""

    def __post_init__(self) -> None:
        if self.frames < 0 or self.width < 0 or self.height < 0 or self.size_bytes < 0:
            raise ValueError(f"Episode {self.path}: counts and sizes must be >= 0")
        if self.fps < 0 or self.duration_seconds < 0:
            raise ValueError(f"Episode {self.path}: fps and duration must be >= 0")


@dataclass(frozen=True)
class Shot:
    """A run of frames shown as one continuous take."""

    start_frame: int
    """First frame of the shot."""
    end_frame: int
    """One past the last frame of the shot (exclusive)."""
    start_seconds: float
    """Time of the first frame."""
    end_seconds: float
    """Time just after the last frame (its pts plus one frame duration)."""
    transition: Transition = "cut"
    """How the shot begins: start, cut, fade or dissolve."""

    def __post_init__(self) -> None:
        if not 0 <= self.start_frame < self.end_frame:
            raise ValueError(f"Shot needs 0 <= start_frame < end_frame, got {self.start_frame}..{self.end_frame}")
        if self.end_seconds < self.start_seconds:
            raise ValueError(f"Shot ends ({self.end_seconds}) before it starts ({self.start_seconds})")

    @property
    def frames(self) -> int:
        """Number of frames in the shot."""
        return self.end_frame - self.start_frame


@dataclass(frozen=True)
class Scene:
    """Consecutive shots that belong together (same place and moment)."""

    start_frame: int
    """First frame of the scene's first shot."""
    end_frame: int
    """One past the last frame of the scene's last shot."""
    start_seconds: float
    """Time of the first frame."""
    end_seconds: float
    """Time just after the last frame."""
    first_shot: int
    """Index of the scene's first shot within the episode."""
    last_shot: int
    """Index of the scene's last shot (inclusive)."""

    def __post_init__(self) -> None:
        if not 0 <= self.start_frame < self.end_frame:
            raise ValueError(f"Scene needs 0 <= start_frame < end_frame, got {self.start_frame}..{self.end_frame}")
        if not 0 <= self.first_shot <= self.last_shot:
            raise ValueError(f"Scene needs 0 <= first_shot <= last_shot, got {self.first_shot}..{self.last_shot}")


@dataclass(frozen=True)
class SubtitleLine:
    """One timed text entry of a subtitle file or track."""

    start_seconds: float
    """When the line appears."""
    end_seconds: float
    """When the line disappears."""
    text: str
    """Plain text, override tags removed, line breaks as newlines."""
    style: str = "Default"
    """Style name in the subtitle file."""
    kind: SubtitleKind = "dialogue"
    """dialogue, sign (typeset on-screen text), song (OP/ED lyrics) or comment."""
    line_number: int = 0
    """1-based line of the event in its source file, 0 when unknown (e.g. an mkv track)."""

    def __post_init__(self) -> None:
        if self.end_seconds < self.start_seconds:
            raise ValueError(f"subtitle line {self.line_number}: ends before it starts")


@dataclass(frozen=True)
class Loop:
    """Drawings that repeat within a shot: ``repeats`` copies of ``period_frames`` frames."""

    start_frame: int
    """First frame of the loop."""
    end_frame: int
    """One past its last frame (``start_frame + period_frames * repeats``): it ends where it began."""
    period_frames: int
    """Frames in one period."""
    repeats: int
    """Whole periods (>= 2)."""


@dataclass(frozen=True)
class ShotAnalysis:
    """How one shot is animated (filled by the analysis stage)."""

    shot_index: int
    """Index of the shot within the episode."""
    drawings: int
    """Distinct drawings shown in the shot (a drawing that comes back counts once)."""
    drawings_per_second: float
    """Drawings shown per second: each change of drawing counts (24 on ones at 24 fps)."""
    cadence: Cadence
    """How often drawings change."""
    camera: Camera = "static"
    """Motion of the whole picture."""
    motion: float = 0.0
    """Share of the frame whose drawing changes, averaged over the shot (0..1)."""
    sakuga_score: float = 0.0
    """Ranking score from measured signals (0..1); higher is more animated."""
    tags: tuple[str, ...] = field(default_factory=tuple)
    """Tags such as on-twos, pan, loop, impact-frames."""
    start_frame: int = 0
    """First frame of the shot."""
    end_frame: int = 0
    """One past the shot's last frame."""
    cadence_mix: tuple[Cadence, ...] = ()
    """Steady cadences of screen regions that differ (e.g. twos and threes), when ``cadence`` is mixed."""
    camera_detail: dict[str, float | str] = field(default_factory=dict)
    """Direction and speed of a pan or zoom (frame widths or scale per second), amplitude of a shake."""
    motion_level: float = 0.0
    """How strongly the changed part changes: mean luma change (0..255) of the changed blocks."""
    flash_frames: tuple[int, ...] = ()
    """Impact frames (white, black, inverted, tinted) inside the shot."""
    loops: tuple[Loop, ...] = ()
    """Repeated cycles, never across the shot's edges."""

    def with_tags(self, tags: tuple[str, ...]) -> ShotAnalysis:
        """A copy with ``tags`` set."""
        return replace(self, tags=tags)

    def as_dict(self) -> dict[str, object]:
        """The ``animevid analyze --json`` form of the shot (DESIGN.md)."""
        return {
            "shot_index": self.shot_index,
            "start_frame": self.start_frame,
            "end_frame": self.end_frame,
            "drawings": self.drawings,
            "drawings_per_second": self.drawings_per_second,
            "cadence": self.cadence,
            "cadence_mix": list(self.cadence_mix),
            "camera": self.camera,
            "camera_detail": dict(self.camera_detail),
            "motion": self.motion,
            "motion_level": self.motion_level,
            "flash_frames": list(self.flash_frames),
            "loops": [asdict(loop) for loop in self.loops],
            "tags": list(self.tags),
            "sakuga_score": self.sakuga_score,
        }


@dataclass(frozen=True)
class Character:
    """A character enrolled in the library's gallery."""

    name: str
    """Display name, unique within the library."""
    images: int = 0
    """Number of enrolled face images."""


def content_hash(path: str | Path, *, chunk_bytes: int = 4 << 20) -> str:
    """sha256 of a file's bytes, read in chunks (constant memory).

    Args:
        path: The file to hash.
        chunk_bytes: Read size; 4 MiB keeps syscalls few on large episodes.

    Returns:
        The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
