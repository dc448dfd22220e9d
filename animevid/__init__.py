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
    "FrameDescriptorStage": "animevid.search",
    "FrameSource": "animevid.decode",
    "IndexResult": "animevid.pipeline",
    "Scene": "animevid.model",
    "SceneResult": "animevid.scenes",
    "ScenesConfig": "animevid.config",
    "SearchConfig": "animevid.config",
    "SearchError": "animevid.errors",
    "SearchHit": "animevid.search",
    "SearchIndex": "animevid.search",
    "SearchResult": "animevid.search",
    "Shot": "animevid.model",
    "ShotAnalysis": "animevid.model",
    "ShotLook": "animevid.scenes",
    "ShotLookStage": "animevid.scenes",
    "Stage": "animevid.engine",
    "SubsConfig": "animevid.config",
    "SubtitleAlignment": "animevid.subs",
    "SubtitleError": "animevid.errors",
    "SubtitleFile": "animevid.subs",
    "SubtitleLine": "animevid.model",
    "SubtitleLineWarning": "animevid.errors",
    "SynthConfig": "animevid.config",
    "TextHit": "animevid.search",
    "TruncatedVideoWarning": "animevid.errors",
    "VideoError": "animevid.errors",
    "VideoInfo": "animevid.decode",
    "align_subtitles": "animevid.pipeline",
    "find_scenes": "animevid.pipeline",
    "generate_episode": "animevid.synth",
    "index_episodes": "animevid.pipeline",
    "load_config": "animevid.config",
    "load_subtitles": "animevid.subs",
    "open_video": "animevid.decode",
    "probe": "animevid.decode",
    "read_lines": "animevid.subs",
    "run_pass": "animevid.engine",
    "search_image": "animevid.search",
    "search_text": "animevid.search",
    "search_video": "animevid.search",
    "segment_scenes": "animevid.scenes",
}

__all__ = [
    "AnimevidError",
    "Catalog",
    "Config",
    "DecodeConfig",
    "Episode",
    "FrameBatch",
    "FrameDescriptorStage",
    "FrameSource",
    "IndexResult",
    "Scene",
    "SceneResult",
    "ScenesConfig",
    "SearchConfig",
    "SearchError",
    "SearchHit",
    "SearchIndex",
    "SearchResult",
    "Shot",
    "ShotAnalysis",
    "ShotLook",
    "ShotLookStage",
    "Stage",
    "SubsConfig",
    "SubtitleAlignment",
    "SubtitleError",
    "SubtitleFile",
    "SubtitleLine",
    "SubtitleLineWarning",
    "SynthConfig",
    "TextHit",
    "TruncatedVideoWarning",
    "VideoError",
    "VideoInfo",
    "__version__",
    "align_subtitles",
    "find_scenes",
    "generate_episode",
    "index_episodes",
    "load_config",
    "load_subtitles",
    "open_video",
    "probe",
    "read_lines",
    "run_pass",
    "search_image",
    "search_text",
    "search_video",
    "segment_scenes",
]

if TYPE_CHECKING:
    from animevid.catalog import Catalog
    from animevid.config import Config, DecodeConfig, ScenesConfig, SearchConfig, SubsConfig, SynthConfig, load_config
    from animevid.decode import FrameBatch, FrameSource, VideoInfo, open_video, probe
    from animevid.engine import Stage, run_pass
    from animevid.errors import (
        AnimevidError,
        SearchError,
        SubtitleError,
        SubtitleLineWarning,
        TruncatedVideoWarning,
        VideoError,
    )
    from animevid.model import Episode, Scene, Shot, ShotAnalysis, SubtitleLine
    from animevid.pipeline import IndexResult, align_subtitles, find_scenes, index_episodes
    from animevid.scenes import SceneResult, ShotLook, ShotLookStage, segment_scenes
    from animevid.search import (
        FrameDescriptorStage,
        SearchHit,
        SearchIndex,
        SearchResult,
        TextHit,
        search_image,
        search_text,
        search_video,
    )
    from animevid.subs import SubtitleAlignment, SubtitleFile, load_subtitles, read_lines
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
