"""What the server reads from a library: one consistent view per catalog state, swapped when it changes.

Every request holds the library's shared lock while it reads (a writer's commit waits for it), and
under that lock checks whether the catalog's indexed episodes or ``vectors.faiss`` changed since
the view it holds was opened; if so it opens a new one. So a search that runs while ``animevid
index`` adds episodes sees the library before the commit or after it, never half of it.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from animevid.catalog import Catalog
from animevid.config import SearchConfig
from animevid.library import INDEX_DIRNAME, Library, display_name
from animevid.releases import episode_number, series_title
from animevid.search import SearchIndex, index_version, indexed_episodes, open_search_index

ANILIST_SIDECAR = "anilist.json"
"""A folder's AniList sidecar: applies to every episode in it (``<episode file>.anilist.json`` wins)."""


@dataclass(frozen=True)
class EpisodeInfo:
    """What a hit says about its episode."""

    episode_id: int
    path: str
    filename: str
    duration: float
    number: int | float | str | None
    """The episode number read from the file name (anitopy), None when it has none."""
    anilist: dict[str, Any]
    """AniList media object from a sidecar (``id`` 0 when none says which anime this is)."""


@dataclass
class LibraryState:
    """One consistent state of the library: its index and the catalog facts hits need."""

    indexed: dict[int, int]
    stamp: tuple[object, ...]
    index: SearchIndex | None
    """None while the library has no indexed episode (searches then find nothing)."""
    episodes: dict[int, EpisodeInfo] = field(default_factory=dict)
    shots: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)
    """Episode id -> (shot start times, shot end times), read on first use."""

    @property
    def frames(self) -> int:
        """Indexed frames (trace.moe's ``frameCount``)."""
        return 0 if self.index is None else int(self.index.count)

    def shot_around(self, folder: Path, episode_id: int, seconds: float) -> tuple[float, float] | None:
        """Start and end of the shot that shows ``seconds`` of an episode, None when the catalog has none."""
        if episode_id not in self.shots:
            with Catalog.in_library(folder) as catalog:
                shots = catalog.get_shots(episode_id)
            self.shots[episode_id] = ([s.start_seconds for s in shots], [s.end_seconds for s in shots])
        starts, ends = self.shots[episode_id]
        at = bisect.bisect_right(starts, seconds + 1e-6) - 1
        return (starts[at], ends[at]) if at >= 0 else None


class LibraryView:
    """The server's window on a library folder (thread-safe).

    Args:
        folder: The library.
        config: Search options (the index's backend and sizes).
    """

    def __init__(self, folder: Path, config: SearchConfig) -> None:
        self.folder = folder
        self.config = config
        self._lock = threading.Lock()
        self._state: LibraryState | None = None

    @contextmanager
    def reading(self) -> Iterator[LibraryState]:
        """Hold the library's shared lock and yield its current state (reopened when it changed)."""
        with Library(self.folder).reading():
            indexed = indexed_episodes(self.folder)
            stamp = index_version(self.folder / INDEX_DIRNAME)
            with self._lock:
                state = self._state
                if state is None or state.indexed != indexed or state.stamp != stamp:
                    state = self._state = self._open(indexed, stamp)
            yield state

    def _open(self, indexed: dict[int, int], stamp: tuple[object, ...]) -> LibraryState:
        if not indexed:
            return LibraryState(indexed, stamp, None)
        index = open_search_index(self.folder, config=self.config)
        state = LibraryState(indexed, stamp, index)
        with Catalog.in_library(self.folder) as catalog:
            for episode_id in indexed:
                episode = catalog.get_episode(episode_id)
                state.episodes[episode_id] = EpisodeInfo(
                    episode_id,
                    episode.path,
                    Path(episode.path).name,
                    episode.duration_seconds,
                    episode_number(episode.path),
                    anilist_of(Path(episode.path)),
                )
        return state

    def episode_names(self) -> list[str]:
        """Display names of the indexed episodes (for the page)."""
        with self.reading() as state:
            return sorted(display_name(e.path) for e in state.episodes.values())


def anilist_of(episode: Path) -> dict[str, Any]:
    """The AniList media object for an episode, from ``<episode>.anilist.json`` or its folder's ``anilist.json``.

    A sidecar holds an AniList id (``12345``) or a media object (``{"id": 12345, "title": {...}}``);
    without one the id is 0 and the title comes from the file name.
    """
    for sidecar in (episode.with_name(episode.name + ".anilist.json"), episode.with_name(ANILIST_SIDECAR)):
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, int) and not isinstance(data, bool):
            data = {"id": data}
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            return _media({**data, "sidecar": True}, str(episode))
    return _media({"id": 0}, str(episode))


def _media(data: dict[str, Any], path: str) -> dict[str, Any]:
    given = data.get("title")
    title: dict[str, Any] = given if isinstance(given, dict) else {}
    media = {
        "id": data["id"],
        "idMal": data.get("idMal"),
        "title": {
            "native": title.get("native"),
            "romaji": title.get("romaji") or series_title(path),
            "english": title.get("english"),
        },
        "synonyms": data.get("synonyms") if isinstance(data.get("synonyms"), list) else [],
        "isAdult": bool(data.get("isAdult", False)),
    }
    for key, value in data.items():  # the rest of a sidecar's AniList fields pass through unchanged
        if key not in media and key != "sidecar":
            media[key] = value
    return media
