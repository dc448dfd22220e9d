"""Configuration: every default lives in the dataclasses below.

YAML files (``configs/default.yaml``, ``cpu.yaml``, ``gpu.yaml`` or a user's own)
and command-line flags only override these values, and every value is checked on
load: an unknown key, a wrong type or a value outside its allowed set raises
:class:`~animevid.errors.ConfigError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from animevid.errors import ConfigError

Device = Literal["auto", "cpu", "cuda"]
Interpolation = Literal["fast_bilinear", "bilinear", "area", "bicubic"]


@dataclass(frozen=True)
class DecodeConfig:
    """How episodes are decoded into analysis frames."""

    backend: str = "pyav"
    """Frame source by name: pyav (default), pyav-nvdec (NVDEC, CUDA), decord, torchcodec (CUDA)."""
    analysis_width: int = 256
    """Width in pixels of analysis frames; height keeps the aspect ratio (even)."""
    batch_frames: int = 64
    """Frames per batch handed to the stages; bounds memory."""
    threads: int = 0
    """Decoder threads; 0 lets FFmpeg use every core."""
    workers: int = 0
    """Processes for one episode's pass, each decoding and analysing a segment (animevid.engine._split);
    0: one per core from 4 cores up, else 1 (on 2 cores, one process with FFmpeg's threads is as fast)."""
    prefetch_batches: int = 2
    """Batches decoded ahead in a background thread; 0 decodes inline."""
    interpolation: Interpolation = "fast_bilinear"
    """Scaler to analysis size; fast_bilinear keeps decode+scale >= 0.8x decode-only (bench/decode.py)."""
    skip_loop_filter: bool = True
    """Skip the codec's deblocking filter (H.264/HEVC; pyav backend). Analysis frames are scaled
    down 5-8x, which averages the block edges away; decoding gets 20-40 % faster (bench/analysis.py)."""

    def __post_init__(self) -> None:
        _check_positive(self, "analysis_width", "batch_frames")
        _check_non_negative(self, "threads", "prefetch_batches", "workers")
        if self.analysis_width % 2:
            raise ConfigError(f"decode.analysis_width must be even, got {self.analysis_width}")
        # each batch is held (times prefetch_batches) in memory: 4096 frames at 1920 px is 14 GB already
        _check_at_most(self, analysis_width=1920, batch_frames=4096, threads=256, prefetch_batches=64, workers=256)


@dataclass(frozen=True)
class ShotsConfig:
    """How shot boundaries are found."""

    detector: str = "classic"
    """Shot detector by name: classic (fast, default) or transnetv2 (neural, needs the 'neural' extra)."""
    threshold: float = 0.5
    """Cut probability (0..1) above which a frame starts a new shot."""
    model: str = ""
    """Scorer of the classic detector: a JSON file written by bench/fit_shots.py; empty uses the shipped one."""
    tolerance_frames: int = 2
    """Evaluation tolerance: a detected cut within this many frames of a true one counts as found."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"shots.threshold must be within 0..1 (exclusive), got {self.threshold}")
        _check_non_negative(self, "tolerance_frames")


@dataclass(frozen=True)
class LibraryConfig:
    """Where the library folder (catalog, index, gallery) lives."""

    path: str = ""
    """Library folder; empty means $ANIMEVID_LIBRARY, else ./animevid-library."""


@dataclass(frozen=True)
class SynthConfig:
    """Defaults of the synthetic anime episode generator."""

    width: int = 320
    """Frame width in pixels."""
    height: int = 180
    """Frame height in pixels."""
    fps_num: int = 24000
    """Frame-rate numerator (24000/1001 = 23.976 fps, as on TV)."""
    fps_den: int = 1001
    """Frame-rate denominator."""
    seconds: float = 60.0
    """Episode length in seconds."""
    grain: float = 0.0
    """Film-grain strength (standard deviation in 8-bit levels); 0 turns it off."""
    crf: int = 16
    """x264 constant rate factor; low keeps held drawings near-identical after encoding."""
    op_seconds: float = 4.0
    """Length of the OP (shared by every episode of a series_seed)."""
    ed_seconds: float = 3.0
    """Length of the ED (shared by every episode of a series_seed)."""
    recap_seconds: float = 2.0
    """Length of the recap of episode seed-1 (episode 0 has none); 0 turns it off."""
    preset: str = "veryfast"
    """x264 preset (speed/size trade-off of the encode)."""

    def __post_init__(self) -> None:
        _check_positive(self, "width", "height", "fps_num", "fps_den", "seconds")
        _check_non_negative(self, "recap_seconds")
        if self.op_seconds < 2.0 or self.ed_seconds < 1.5:
            raise ConfigError(
                f"synth.op_seconds must be >= 2 and synth.ed_seconds >= 1.5 (room for their shots), "
                f"got {self.op_seconds} and {self.ed_seconds}"
            )
        presets = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
        if self.preset not in presets:
            raise ConfigError(f"synth.preset is {self.preset!r}; allowed: {', '.join(presets)}")
        if self.recap_seconds and self.recap_seconds < 1.0:
            raise ConfigError(f"synth.recap_seconds must be 0 (no recap) or >= 1, got {self.recap_seconds}")
        if self.width % 2 or self.height % 2:
            raise ConfigError(f"synth.width and synth.height must be even, got {self.width}x{self.height}")
        if self.grain < 0:
            raise ConfigError(f"synth.grain must be >= 0, got {self.grain}")
        if not 0 <= self.crf <= 51:
            raise ConfigError(f"synth.crf must be within 0..51, got {self.crf}")


@dataclass(frozen=True)
class ScenesConfig:
    """How shots are grouped into scenes (see :func:`animevid.scenes.segment_scenes`)."""

    compare_shots: int = 4
    """Last shots of the current scene a new shot is compared with (shot/reverse-shot alternates A-B-A-B)."""
    palette_weight: float = 0.7
    """Share of the palette (colour histogram) in the look distance; the rest is the background layout."""
    same_distance: float = 0.35
    """Look distance (0..1) up to which two shots count as the same place: no visual evidence of a new scene."""
    split_distance: float = 0.5
    """Look distance (0..1) at which the visual change alone starts a new scene (evidence 1)."""
    fade_weight: float = 1.0
    """Evidence of a fade through black or white (a fade alone starts a new scene)."""
    dissolve_weight: float = 0.25
    """Evidence of a dissolve (it starts a new scene when the picture also changes)."""
    dialogue_weight: float = 1.0
    """Evidence against a new scene when dialogue runs across the cut."""
    dialogue_gap_seconds: float = 1.0
    """Dialogue lines closer than this across a cut bind its shots, as does a line spanning it."""
    silence_seconds: float = 6.0
    """No dialogue or song line this long on both sides of a cut is a pause between scenes (with subtitles only)."""
    silence_weight: float = 0.2
    """Evidence of such a silence."""
    montage_seconds: float = 1.5
    """Consecutive would-be scenes each shorter than this merge into one (recaps, montages)."""
    tolerance_frames: int = 2
    """Evaluation tolerance: a scene boundary within this many frames of a true one counts as found."""

    def __post_init__(self) -> None:
        _check_positive(self, "compare_shots", "split_distance")
        _check_non_negative(
            self,
            "same_distance",
            "fade_weight",
            "dissolve_weight",
            "dialogue_weight",
            "dialogue_gap_seconds",
            "silence_seconds",
            "silence_weight",
            "montage_seconds",
            "tolerance_frames",
        )
        if not 0.0 <= self.palette_weight <= 1.0:
            raise ConfigError(f"scenes.palette_weight must be within 0..1, got {self.palette_weight}")
        if not self.same_distance < self.split_distance <= 1.0:
            raise ConfigError(
                f"scenes.same_distance ({self.same_distance}) must be below scenes.split_distance "
                f"({self.split_distance}), which must be <= 1"
            )


@dataclass(frozen=True)
class SearchConfig:
    """How frames are indexed for search and how a screenshot is looked up (``animevid search``)."""

    backend: str = "auto"
    """Vector index backend: auto (faiss-gpu on CUDA when installed, else faiss-cpu), faiss-cpu, faiss-gpu."""
    exact_max_vectors: int = 200000
    """Up to this many indexed frames the search is exact; above, a compressed IVF-PQ index is built."""
    ivf_lists: int = 0
    """IVF-PQ coarse clusters; 0 picks 4 x sqrt(vectors)."""
    pq_bytes: int = 32
    """IVF-PQ bytes per compressed descriptor (64 numbers)."""
    nprobe: int = 24
    """IVF-PQ clusters visited per query."""
    min_gap_seconds: float = 0.03
    """Least time between two kept frames (bounds vectors per second: 0.03 keeps every new picture up to
    33 fps). bench/search.py: at 0.1 s (with max_gap 0.5 s) a screenshot between two kept frames of a lip
    flap or an action shot on ones matched a look-alike a second away (jpeg top-1 95 %; every new
    picture: 100 %), for 3 times the vectors."""
    max_gap_seconds: float = 0.03
    """Most time between two kept frames while anything beyond noise changes."""
    part_gap_seconds: float = 0.5
    """Kept frames get part descriptors (for queries that show part of a frame) at each shot's start and at
    most once per slot of this many seconds; each adds up to 32 vectors (bench/search.py prints
    the index's size with and without them)."""
    neighbours: int = 8
    """Nearest descriptors fetched per query hypothesis (crop, mirror, region)."""
    rerank: int = 64
    """Candidates given the finer check (template correlation against stored thumbnails)."""
    threshold: float = 0.9
    """Score (0..1) below which the best hit is not a confident match (calibrated in bench/search.py;
    at 0.85 3.5 % of out-of-library queries passed once the finer check aligned to a fraction of a pixel)."""
    merge_seconds: float = 2.0
    """Hits of one episode closer than this are one hit (the best kept)."""

    def __post_init__(self) -> None:
        _check_positive(
            self, "pq_bytes", "nprobe", "neighbours", "rerank", "min_gap_seconds", "max_gap_seconds", "part_gap_seconds"
        )
        _check_non_negative(self, "ivf_lists", "merge_seconds")
        if self.exact_max_vectors < 10240:
            raise ConfigError(
                f"search.exact_max_vectors must be >= 10240 (IVF-PQ needs that many to train), "
                f"got {self.exact_max_vectors}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"search.threshold must be within 0..1 (exclusive), got {self.threshold}")


@dataclass(frozen=True)
class CharactersConfig:
    """Who is on screen: faces found on a few keyframes per shot, embedded and named from the gallery."""

    enabled: bool = True
    """Run the characters stage in ``animevid index`` (faces, casts, screen time)."""
    detector: str = "animeface"
    """Face detector by name: animeface (default, offline), lbp (OpenCV cascade, needs cascade), onnx (YOLO model)."""
    cascade: str = ""
    """Path of lbpcascade_animeface.xml for the lbp detector (not shipped: MIT, nagadomi/lbpcascade_animeface)."""
    detector_model: str = ""
    """The onnx detector's model: a .onnx file, a folder holding one, or hf:OWNER/REPO/FILE (online)."""
    detector_min_score: float = 0.35
    """Score below which the onnx detector's boxes are dropped."""
    detector_iou: float = 0.5
    """Overlap above which the onnx detector's boxes of one face are merged (non-maximum suppression)."""
    embedder: str = "colour"
    """Face embedder by name: colour (built in, no weights) or onnx (a character-similarity model)."""
    embedder_model: str = ""
    """The onnx embedder's model: a .onnx file, a folder holding one, or hf:OWNER/REPO/FILE (online)."""
    embedder_crop_scale: float = 1.6
    """The onnx embedder's crop: the face box widened this many times around its centre (head and hair)."""
    detail_width: int = 640
    """Width of the keyframes faces are embedded from (the video's own when narrower); decoded in the same pass."""
    detect_width: int = 480
    """Width the keyframes are scaled to for the detector (and 2/3 of it when it finds nothing there)."""
    min_face: float = 0.06
    """Smallest face kept, as a fraction of the frame's height (smaller ones are background people or noise)."""
    min_score: float = 0.5
    """Detector score below which a face is dropped."""
    unknown_distance: float = 0.1
    """Cosine distance to the nearest enrolled face within which a face is named after it. bench/characters.py:
    on real faces the colour embedder's own and other characters overlap (0.25 named 10 of 12 never-enrolled
    faces, 0.1 three): a wrong name is worse than none."""
    distinct_distance: float = 0.3
    """A face up to this far from its nearest character is named too when every other is distinct_margin farther."""
    distinct_margin: float = 0.15
    """How much farther every other enrolled character must be for a face within distinct_distance to be named."""
    cluster_distance: float = 0.2
    """Average cosine distance under which unknown faces are grouped into one cluster (characters discover)."""

    def __post_init__(self) -> None:
        _check_positive(self, "detail_width", "detect_width", "embedder_crop_scale")
        distances = ("unknown_distance", "distinct_distance", "distinct_margin", "cluster_distance")
        for name in ("detector_min_score", "detector_iou", "min_face", "min_score", *distances):
            value = getattr(self, name)
            if not 0.0 <= value <= 2.0 or (name not in distances and value > 1.0):
                raise ConfigError(f"characters.{name} must be within 0..1 (distances 0..2), got {value!r}")
        if self.detail_width % 2 or self.detail_width < 64:
            raise ConfigError(f"characters.detail_width must be even and >= 64, got {self.detail_width}")


@dataclass(frozen=True)
class ServeConfig:
    """The trace.moe-compatible search server (``animevid serve``): where it listens and what it allows."""

    host: str = "127.0.0.1"
    """Address to listen on; anything but loopback without keys is warned about (anyone who reaches it can search)."""
    port: int = 8765
    """Port to listen on."""
    keys: str = ""
    """API keys accepted (comma-separated), sent as ?key= or the x-trace-key header; a wrong key gets 403."""
    require_key: bool = False
    """Refuse searches without a key (403); otherwise keyless clients are counted by their address."""
    max_upload_mb: float = 25.0
    """Largest upload (image or video, raw body or multipart) in MB; larger ones get 413 before they are read."""
    max_video_seconds: float = 60.0
    """Longest video or GIF accepted as a query."""
    body_timeout_seconds: float = 30.0
    """An upload that has not arrived whole within this many seconds is dropped (408)."""
    search_timeout_seconds: float = 30.0
    """A search still running after this many seconds is answered 504 (its worker finishes and is reused)."""
    workers: int = 2
    """Searches run at once (threads; FAISS and OpenCV use the cores themselves)."""
    queue: int = 16
    """Searches that may wait for a worker; more get 503 (queue full)."""
    concurrency: int = 4
    """Searches one client (key or address) may have running or waiting at once; more get 402."""
    rate_limit: int = 60
    """Requests per minute per client on every endpoint; more get 429 with Retry-After. 0: no limit."""
    quota: int = 10000
    """Searches per client per 24 hours (reported by /me); more get 402. 0: no quota."""
    fetch_urls: bool = False
    """Allow ?url= queries (http/https only, fetch_max_mb and fetch_timeout_seconds apply): off, since the
    server would then fetch any address a client names."""
    fetch_timeout_seconds: float = 10.0
    """Longest a ?url= fetch may take."""
    preview_seconds: float = 10.0
    """Longest preview video: the hit's shot, cut to this many seconds around the hit when longer."""
    merge_seconds: float = 5.0
    """Hits of one file closer than this are one hit (trace.moe merges within 5 s)."""

    def __post_init__(self) -> None:
        _check_positive(
            self,
            "max_upload_mb",
            "max_video_seconds",
            "body_timeout_seconds",
            "search_timeout_seconds",
            "workers",
            "concurrency",
            "fetch_timeout_seconds",
            "preview_seconds",
        )
        _check_non_negative(self, "queue", "rate_limit", "quota", "merge_seconds")
        if not 0 < self.port < 65536:
            raise ConfigError(f"serve.port must be within 1..65535, got {self.port}")

    @property
    def key_set(self) -> frozenset[str]:
        """The accepted API keys."""
        return frozenset(k.strip() for k in self.keys.split(",") if k.strip())


@dataclass(frozen=True)
class SubsConfig:
    """How subtitles are aligned to an episode's cuts (``animevid subs align``).

    The snapping thresholds follow Aegisub's timing post-processor ("keyframe snapping"): its
    defaults are 200/150/200/250 ms (start before/after, end before/after), i.e. 5/4/5/6 frames
    at 23.976 fps, the frame counts Aegisub 2.x used.
    """

    snap_start_before_frames: int = 5
    """A line that starts up to this many frames before a cut has its start moved onto the cut."""
    snap_start_after_frames: int = 4
    """A line that starts up to this many frames after a cut has its start moved back onto it."""
    snap_end_before_frames: int = 5
    """A line that ends up to this many frames before a cut has its end moved onto the cut."""
    snap_end_after_frames: int = 6
    """A line that ends up to this many frames after a cut has its end moved back onto it."""
    snap_signs: bool = True
    """Snap signs (typeset text) as well as dialogue; songs and comments are never snapped."""
    max_offset_seconds: float = 60.0
    """Largest offset between the subtitles and the video that the search considers."""
    drift_ratios: str = "25/23.976, 23.976/25, 24/23.976, 23.976/24"
    """Frame-rate ratios tried besides 1 (a/b, comma-separated; 24/23.976 = 30/29.97); empty: no drift search."""
    match_tolerance_seconds: float = 0.02
    """A line boundary this close to a cut (after the offset) counts as timed to it."""
    min_matches: int = 3
    """Boundaries on cuts needed to apply an estimated offset; below, times are only snapped."""
    min_lead: int = 2
    """Boundaries on cuts the best offset needs beyond any rival offset to be reported reliable."""

    def __post_init__(self) -> None:
        _check_non_negative(self, "snap_start_before_frames", "snap_start_after_frames")
        _check_non_negative(self, "snap_end_before_frames", "snap_end_after_frames")
        _check_positive(self, "max_offset_seconds", "match_tolerance_seconds", "min_matches", "min_lead")
        parse_ratios(self.drift_ratios)


def parse_ratios(text: str) -> list[float]:
    """The ratios of a comma-separated ``a/b`` list (NTSC rates such as 23.976 read as 24000/1001).

    Raises:
        ConfigError: An entry is not ``a/b`` with positive numbers.
    """
    ratios = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        parts = item.split("/")
        try:
            num, den = (_ntsc(float(x)) for x in parts) if len(parts) == 2 else (0.0, 0.0)
        except ValueError:
            num = den = 0.0
        if num <= 0 or den <= 0:
            raise ConfigError(f"subs.drift_ratios entry {item!r} is not a/b with positive numbers (e.g. 25/23.976)")
        ratios.append(num / den)
    return ratios


def _ntsc(rate: float) -> float:
    """23.976 -> 24000/1001 (the rate it stands for); other numbers unchanged."""
    whole = round(rate * 1.001)
    return whole / 1.001 if whole and abs(rate - whole / 1.001) < 5e-4 and rate != whole else rate


@dataclass(frozen=True)
class Config:
    """Every option of animevid, one section per part of the pipeline."""

    device: Device = "auto"
    """Where torch work runs: auto picks cuda when available, else cpu."""
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    """Decoding options."""
    shots: ShotsConfig = field(default_factory=ShotsConfig)
    """Shot-boundary options."""
    library: LibraryConfig = field(default_factory=LibraryConfig)
    """Library folder options."""
    synth: SynthConfig = field(default_factory=SynthConfig)
    """Synthetic episode generator options."""
    subs: SubsConfig = field(default_factory=SubsConfig)
    """Subtitle alignment options."""
    search: SearchConfig = field(default_factory=SearchConfig)
    """Screenshot and dialogue search options."""
    scenes: ScenesConfig = field(default_factory=ScenesConfig)
    """Scene segmentation options."""
    characters: CharactersConfig = field(default_factory=CharactersConfig)
    """Face detection and character recognition options."""
    serve: ServeConfig = field(default_factory=ServeConfig)
    """Search server options (``animevid serve``)."""


def _check_positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value <= 0:
            raise ConfigError(f"{_section_of(obj)}.{name} must be > 0, got {value!r}")


def _check_non_negative(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value < 0:
            raise ConfigError(f"{_section_of(obj)}.{name} must be >= 0, got {value!r}")


def _check_at_most(obj: object, **limits: int) -> None:
    for name, limit in limits.items():
        value = getattr(obj, name)
        if value > limit:
            raise ConfigError(f"{_section_of(obj)}.{name} must be at most {limit}, got {value!r}")


def _section_of(obj: object) -> str:
    return type(obj).__name__.removesuffix("Config").lower()


CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
"""The repository's configs/ folder (present in a source checkout)."""


def load_config(path: str | Path | None = None, *, overrides: dict[str, Any] | None = None) -> Config:
    """Build a :class:`Config` from the defaults, a YAML file and overrides.

    Args:
        path: A YAML file whose keys mirror :class:`Config`; ``None`` uses the defaults.
        overrides: Nested mapping applied after the file (e.g. from CLI flags);
            ``None`` values are ignored so unset flags keep the file's value.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: The file is missing or not YAML, or a key or value is invalid.
    """
    config = Config()
    if path is not None:
        config = merge_config(config, _read_yaml(Path(path)), source=str(path))
    if overrides:
        config = merge_config(config, _drop_none(overrides), source="command-line options")
    return config


def merge_config(config: Any, data: dict[str, Any], *, source: str, prefix: str = "") -> Any:
    """Return ``config`` with the values of ``data`` applied, each one checked.

    Raises:
        ConfigError: ``data`` has an unknown key or a value of the wrong type.
    """
    if not isinstance(data, dict):
        where = prefix.rstrip(".") or "the top level"
        raise ConfigError(f"{source}: {where} must be a mapping, got {type(data).__name__}")
    hints = get_type_hints(type(config))
    known = {f.name for f in fields(config)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{source}: unknown option {dotted!r}; valid options here: {', '.join(sorted(known))}")
        current = getattr(config, key)
        if dataclasses.is_dataclass(current):
            changes[key] = merge_config(current, value, source=source, prefix=f"{dotted}.")
        else:
            changes[key] = _coerce(value, hints[key], dotted, source)
    try:
        return replace(config, **changes)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _coerce(value: Any, hint: Any, dotted: str, source: str) -> Any:
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{source}: {dotted} is {value!r}; allowed: {', '.join(map(str, allowed))}")
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{source}: {dotted} must be {getattr(hint, '__name__', hint)}, got {value!r}")
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass an existing YAML file to --config")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not text (byte {exc.start} is not UTF-8); pass a YAML file such as configs/cpu.yaml"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror}); check its permissions") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(data).__name__}")
    return data


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if value:
                out[key] = value
        elif value is not None:
            out[key] = value
    return out


def config_as_dict(config: Any) -> dict[str, Any]:
    """The configuration as plain nested dicts (for YAML, JSON and the catalog)."""
    return dataclasses.asdict(config)
