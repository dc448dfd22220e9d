"""Wiring: the one place where stages are put together into commands.

:func:`episode_pass` decodes one episode through the stages the registry
(:data:`animevid.engine.STAGES`) names for a command and summarises each; the per-file commands
(:func:`detect_shots`, :func:`analyze_episode`, :func:`find_scenes`, :func:`align_subtitles`)
render what they need of it, and :func:`index_episodes` stores it all in a library.
"""

from __future__ import annotations

from animevid.pipeline._batch import (
    DEFAULT_LIBRARY,
    IndexResult,
    ProgressFactory,
    Unreadable,
    config_fingerprint,
    find_episodes,
    index_episodes,
    resolve_library,
)
from animevid.pipeline._episode import (
    EpisodePass,
    align_subtitles,
    analyze_episode,
    detect_shots,
    episode_lines,
    episode_pass,
    find_scenes,
)

__all__ = [
    "DEFAULT_LIBRARY",
    "EpisodePass",
    "IndexResult",
    "ProgressFactory",
    "Unreadable",
    "align_subtitles",
    "analyze_episode",
    "config_fingerprint",
    "detect_shots",
    "episode_lines",
    "episode_pass",
    "find_episodes",
    "find_scenes",
    "index_episodes",
    "resolve_library",
]
