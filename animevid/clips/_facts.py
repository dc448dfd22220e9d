"""Everything the catalog knows about one indexed episode, read once, for the pages and files made from it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from animevid.catalog import Catalog
from animevid.errors import AnimevidError
from animevid.library import Library, display_name
from animevid.model import Episode, Scene, Shot, ShotAnalysis, SubtitleLine, content_hash
from animevid.releases import episode_number, series_title

REPEATED_KINDS: frozenset[str] = frozenset({"op", "ed", "recap", "preview", "eyecatch"})
"""Segment kinds whose footage a viewer has seen elsewhere: never in a reel, left out of exports on request."""
SEGMENT_COLOURS: dict[str, str] = {
    "op": "#ff8a3d",
    "ed": "#5b8cff",
    "recap": "#9a7bff",
    "preview": "#2fc2b0",
    "eyecatch": "#f2c94c",
    "reused": "#ef5b9c",
}
"""One colour per segment kind, the same on the season page, the digest's timeline and its plots."""


class EpisodeNotFound(AnimevidError):
    """The episode asked for is not indexed in the library."""


@dataclass(frozen=True)
class Segment:
    """A stretch of recurring footage found by the season pass (``animevid segments``)."""

    kind: str
    """op, ed, eyecatch, recap, preview or reused."""
    start_frame: int
    end_frame: int
    """One past the last frame."""
    start_seconds: float
    end_seconds: float


@dataclass(frozen=True)
class EpisodeFacts:
    """One indexed episode as the catalog holds it: shots, their analyses, scenes, dialogue, cast, segments."""

    episode_id: int
    episode: Episode
    shots: list[Shot]
    analyses: dict[int, ShotAnalysis]
    """Shot analyses by shot index (a shot without one is missing)."""
    scenes: list[Scene]
    lines: list[SubtitleLine]
    cast: dict[int, tuple[str, ...]] = field(default_factory=dict)
    """Characters recognised in each shot, by shot index (most faces first)."""
    segments: list[Segment] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return Path(self.episode.path)

    @property
    def name(self) -> str:
        """The file name as any terminal can print it."""
        return display_name(self.episode.path)

    @property
    def series(self) -> str:
        """The anime's title from the release name (anitopy), else the file's stem."""
        return series_title(self.episode.path)

    @property
    def number(self) -> int | float | str | None:
        """The episode number from the release name, None without one."""
        return episode_number(self.episode.path)

    def file_problem(self) -> str | None:
        """Why the episode file cannot give its frames (moved, deleted or changed since indexing), else None.

        The text names the episode and the place and ends without a full stop, so a caller adds what it
        does about it ("; this digest has no pictures").
        """
        path = self.path
        if not path.is_file():
            return f"{self.name}: the episode file is no longer at {path}, where it was indexed (moved or deleted)"
        if path.stat().st_size != self.episode.size_bytes:
            return (
                f"{self.name}: the file at {path} changed since it was indexed (its size differs); "
                f"index it again with `animevid index --force`"
            )
        return None

    def segment_kind(self, start_frame: int, end_frame: int) -> str | None:
        """The kind of the recurring segment that covers most of ``start_frame .. end_frame``, if it covers half."""
        best, kind = 0, None
        for segment in self.segments:
            overlap = min(end_frame, segment.end_frame) - max(start_frame, segment.start_frame)
            if overlap > best:
                best, kind = overlap, segment.kind
        return kind if best * 2 >= end_frame - start_frame else None

    def repeated(self, start_frame: int, end_frame: int) -> bool:
        """Whether any frame of the range lies in an OP, ED, recap, preview or eyecatch."""
        return any(
            s.kind in REPEATED_KINDS and s.start_frame < end_frame and start_frame < s.end_frame for s in self.segments
        )

    def shot_lines(self, shot: Shot) -> list[SubtitleLine]:
        """Dialogue lines shown during the shot (any overlap), in order."""
        return [
            line
            for line in self.lines
            if line.kind == "dialogue"
            and line.start_seconds < shot.end_seconds
            and shot.start_seconds < line.end_seconds
        ]


def read_episode(catalog: Catalog, episode_id: int) -> EpisodeFacts:
    """Read one episode's facts from an open catalog."""
    episode = catalog.get_episode(episode_id)
    cast: dict[int, list[tuple[int, str]]] = {}
    frame = catalog.shot_cast(episode_id)
    for row in frame.itertuples(index=False):
        cast.setdefault(int(row.shot_index), []).append((int(row.faces), str(row.character)))
    segments = [
        Segment(str(r.kind), int(r.start_frame), int(r.end_frame), float(r.start_seconds), float(r.end_seconds))
        for r in catalog.segments(episode_id).itertuples(index=False)
    ]
    return EpisodeFacts(
        episode_id=episode_id,
        episode=episode,
        shots=catalog.get_shots(episode_id),
        analyses={a.shot_index: a for a in catalog.get_shot_analyses(episode_id)},
        scenes=catalog.get_scenes(episode_id),
        lines=catalog.get_subtitle_lines(episode_id),
        cast={
            shot: tuple(name for _, name in sorted(names, key=lambda n: (-n[0], n[1]))) for shot, names in cast.items()
        },
        segments=segments,
    )


def indexed_ids(catalog: Catalog) -> list[int]:
    """The ids of the library's indexed episodes, by path."""
    frame = catalog.episodes()
    frame = frame[frame.state == "indexed"].sort_values("path")
    return [int(i) for i in frame.episode_id]


def find_episode(catalog: Catalog, episode: str | Path) -> int:
    """The id of an indexed episode given as a file (by path, else by content) or as a catalog id.

    Raises:
        EpisodeNotFound: No indexed episode is that file; the message says how to index it.
    """
    frame = catalog.episodes()
    indexed = frame[frame.state == "indexed"]
    text = str(episode)
    if text.isdigit() and not Path(text).exists():
        if int(text) in set(indexed.episode_id):
            return int(text)
        raise EpisodeNotFound(f"{text}: no indexed episode has this id; `animevid info --library DIR` lists them")
    path = Path(episode)
    wanted = str(path.resolve()) if path.exists() else text
    for row in indexed.itertuples(index=False):
        if str(row.path) == wanted or str(Path(row.path).resolve()) == wanted:
            return int(row.episode_id)
    if path.is_file():
        found = catalog.episode_id(content_hash(path))
        if found is not None and found in set(indexed.episode_id):
            return found
    if not path.exists():
        raise EpisodeNotFound(
            f"{display_name(path)}: no such file, and no episode indexed in {catalog.path.parent} has that path"
        )
    raise EpisodeNotFound(
        f"{display_name(path)}: not indexed in {catalog.path.parent}; run `animevid index {text}` first "
        "(with the same --library)"
    )


def library_episodes(library: str | Path) -> Iterator[EpisodeFacts]:
    """Every indexed episode of a library, by path, each read under the library's shared lock."""
    folder = Path(library)
    with Library(folder).reading(), Catalog.in_library(folder) as catalog:
        ids = indexed_ids(catalog)
    for episode_id in ids:
        with Library(folder).reading(), Catalog.in_library(folder) as catalog:
            yield read_episode(catalog, episode_id)


def open_episode(library: str | Path, episode: str | Path) -> EpisodeFacts:
    """One indexed episode of a library, given as a file or a catalog id (see :func:`find_episode`)."""
    folder = Path(library)
    with Library(folder).reading(), Catalog.in_library(folder) as catalog:
        return read_episode(catalog, find_episode(catalog, episode))
