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
    """Frame source by name: pyav (default), decord, torchcodec (CUDA)."""
    analysis_width: int = 256
    """Width in pixels of analysis frames; height keeps the aspect ratio (even)."""
    batch_frames: int = 64
    """Frames per batch handed to the stages; bounds memory."""
    threads: int = 0
    """Decoder threads; 0 lets FFmpeg use every core."""
    prefetch_batches: int = 2
    """Batches decoded ahead in a background thread; 0 decodes inline."""
    interpolation: Interpolation = "fast_bilinear"
    """Scaler to analysis size; fast_bilinear keeps decode+scale >= 0.8x decode-only (bench/decode.py)."""
    skip_loop_filter: bool = True
    """Skip the codec's deblocking filter (H.264/HEVC; pyav backend). Analysis frames are scaled
    down 5-8x, which averages the block edges away; decoding gets 20-40 % faster (bench/analysis.py)."""

    def __post_init__(self) -> None:
        _check_positive(self, "analysis_width", "batch_frames")
        _check_non_negative(self, "threads", "prefetch_batches")
        if self.analysis_width % 2:
            raise ConfigError(f"decode.analysis_width must be even, got {self.analysis_width}")


@dataclass(frozen=True)
class ShotsConfig:
    """How shot boundaries are found."""

    detector: str = "classic"
    """Shot detector by name: classic (fast, default) or transnetv2 (neural, needs the 'neural' extra)."""
    threshold: float = 0.5
    """Cut probability (0..1) above which a frame starts a new shot."""
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
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
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
