"""animevid: turn anime episodes into a searchable, summarised library.

The public API is listed in ``__all__``; names are imported on first use so that
``animevid --version`` does not pay for importing torch and FFmpeg.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AnimevidError": "animevid.errors",
    "Catalog": "animevid.catalog",
    "Config": "animevid.config",
    "DecodeConfig": "animevid.config",
    "Episode": "animevid.model",
    "FrameBatch": "animevid.decode",
    "FrameSource": "animevid.decode",
    "IndexResult": "animevid.pipeline",
    "Scene": "animevid.model",
    "Shot": "animevid.model",
    "ShotAnalysis": "animevid.model",
    "Stage": "animevid.stages",
    "SubtitleLine": "animevid.model",
    "SynthConfig": "animevid.config",
    "TruncatedVideoWarning": "animevid.errors",
    "VideoError": "animevid.errors",
    "VideoInfo": "animevid.decode",
    "generate_episode": "animevid.synth",
    "index_episodes": "animevid.pipeline",
    "load_config": "animevid.config",
    "open_video": "animevid.decode",
    "probe": "animevid.decode",
    "run_pass": "animevid.pipeline",
}

__all__ = [
    "AnimevidError",
    "Catalog",
    "Config",
    "DecodeConfig",
    "Episode",
    "FrameBatch",
    "FrameSource",
    "IndexResult",
    "Scene",
    "Shot",
    "ShotAnalysis",
    "Stage",
    "SubtitleLine",
    "SynthConfig",
    "TruncatedVideoWarning",
    "VideoError",
    "VideoInfo",
    "__version__",
    "generate_episode",
    "index_episodes",
    "load_config",
    "open_video",
    "probe",
    "run_pass",
]

if TYPE_CHECKING:
    from animevid.catalog import Catalog
    from animevid.config import Config, DecodeConfig, SynthConfig, load_config
    from animevid.decode import FrameBatch, FrameSource, VideoInfo, open_video, probe
    from animevid.errors import AnimevidError, TruncatedVideoWarning, VideoError
    from animevid.model import Episode, Scene, Shot, ShotAnalysis, SubtitleLine
    from animevid.pipeline import IndexResult, index_episodes, run_pass
    from animevid.stages import Stage
    from animevid.synth import generate_episode


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'animevid' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
