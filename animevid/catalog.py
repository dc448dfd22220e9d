"""The catalog: one SQLite file, ``catalog.sqlite``, in a library folder.

Tables (children are keyed by ``(episode_id, <index>)`` and deleted with their episode)::

    episodes        one row per episode file, identified by its content hash
    shots           the episode's shots in order (shot_index 0, 1, ...)
    scenes          the episode's scenes in order
    subtitle_lines  the episode's subtitle lines in order
    shot_analyses   how each shot is animated; tags and loops are JSON text
    characters      characters enrolled in the library's gallery (their faces live in ``gallery/``)
    faces           faces found on the episode's keyframes: shot, box, track, name or cluster
    shot_cast       (view) the characters named in each shot
    screen_time     (view) each character's shots and seconds per episode
    failures        files a batch could not index (absolute path, error, when), so the batch goes on

An episode row's ``state`` says how far its indexing got: ``pending`` while (or when a kill left
it) being written, ``indexed`` once every store it owns was written (the one commit point, see
:mod:`animevid.library`), ``damaged`` when ``animevid check`` found a store of it missing. Only
``indexed`` episodes count as done and are searched.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` holds one step per
version and :class:`Catalog` applies the missing ones, in one transaction, when it opens a file.
Only stdlib :mod:`sqlite3` is used, with parameterised queries; the readers return pandas
DataFrames with typed columns.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from animevid.errors import CatalogError
from animevid.library import path_text
from animevid.model import Character, Episode, Loop, Scene, Shot, ShotAnalysis, SubtitleLine

if TYPE_CHECKING:  # pandas takes half a second to import: only the DataFrame readers need it
    import pandas as pd

__all__ = ["CATALOG_FILENAME", "MIGRATIONS", "Catalog", "EpisodeStateName", "StoredEpisode", "TableRows"]

CATALOG_FILENAME = "catalog.sqlite"
"""Name of the catalog file inside a library folder."""

BUSY_TIMEOUT_SECONDS = 30.0
"""How long a connection waits for another process's lock (a batch writing) before failing."""

# Version 1: the core tables of an indexed episode.
_V1 = (
    """CREATE TABLE episodes (
        episode_id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),
        container TEXT NOT NULL,
        codec TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        fps REAL NOT NULL,
        frames INTEGER NOT NULL,
        duration_seconds REAL NOT NULL,
        indexed_at TEXT NOT NULL
    )""",
    """CREATE TABLE shots (
        episode_id INTEGER NOT NULL REFERENCES episodes (episode_id) ON DELETE CASCADE,
        shot_index INTEGER NOT NULL,
        start_frame INTEGER NOT NULL,
        end_frame INTEGER NOT NULL,
        start_seconds REAL NOT NULL,
        end_seconds REAL NOT NULL,
        transition TEXT NOT NULL CHECK (transition IN ('start', 'cut', 'fade', 'dissolve')),
        PRIMARY KEY (episode_id, shot_index),
        CHECK (0 <= start_frame AND start_frame < end_frame)
    )""",
    "CREATE INDEX shots_by_frame ON shots (episode_id, start_frame)",
    """CREATE TABLE scenes (
        episode_id INTEGER NOT NULL REFERENCES episodes (episode_id) ON DELETE CASCADE,
        scene_index INTEGER NOT NULL,
        start_frame INTEGER NOT NULL,
        end_frame INTEGER NOT NULL,
        start_seconds REAL NOT NULL,
        end_seconds REAL NOT NULL,
        first_shot INTEGER NOT NULL,
        last_shot INTEGER NOT NULL,
        PRIMARY KEY (episode_id, scene_index),
        CHECK (0 <= start_frame AND start_frame < end_frame),
        CHECK (0 <= first_shot AND first_shot <= last_shot)
    )""",
    "CREATE INDEX scenes_by_frame ON scenes (episode_id, start_frame)",
    """CREATE TABLE subtitle_lines (
        episode_id INTEGER NOT NULL REFERENCES episodes (episode_id) ON DELETE CASCADE,
        line_index INTEGER NOT NULL,
        start_seconds REAL NOT NULL,
        end_seconds REAL NOT NULL,
        text TEXT NOT NULL,
        style TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('dialogue', 'sign', 'song', 'comment')),
        line_number INTEGER NOT NULL,
        PRIMARY KEY (episode_id, line_index)
    )""",
    "CREATE INDEX subtitle_lines_by_time ON subtitle_lines (episode_id, start_seconds)",
    """CREATE TABLE shot_analyses (
        episode_id INTEGER NOT NULL REFERENCES episodes (episode_id) ON DELETE CASCADE,
        shot_index INTEGER NOT NULL,
        drawings INTEGER NOT NULL,
        drawings_per_second REAL NOT NULL,
        cadence TEXT NOT NULL CHECK (cadence IN ('ones', 'twos', 'threes', 'mixed', 'still')),
        camera TEXT NOT NULL CHECK (camera IN ('static', 'pan', 'zoom', 'shake')),
        motion REAL NOT NULL,
        sakuga_score REAL NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (episode_id, shot_index)
    )""",
    """CREATE TABLE characters (
        character_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        images INTEGER NOT NULL DEFAULT 0
    )""",
)

# Version 2: batch runs. Resume needs to know which config indexed an episode; a bad file
# becomes a failures row instead of a dead run; loops and free-form extras get a home.
_V2 = (
    "ALTER TABLE episodes ADD COLUMN config_fingerprint TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE episodes ADD COLUMN extra TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE shot_analyses ADD COLUMN loops TEXT NOT NULL DEFAULT '[]'",
    """CREATE TABLE failures (
        path TEXT PRIMARY KEY,
        error TEXT NOT NULL,
        failed_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1
    )""",
)

# Version 3: the animation analysis. Each shot analysis carries its frame range, the region
# cadences, the camera move's direction and speed, how strong the motion is and its impact frames.
_V3 = (
    "ALTER TABLE shot_analyses ADD COLUMN start_frame INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE shot_analyses ADD COLUMN end_frame INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE shot_analyses ADD COLUMN cadence_mix TEXT NOT NULL DEFAULT '[]'",
    "ALTER TABLE shot_analyses ADD COLUMN camera_detail TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE shot_analyses ADD COLUMN motion_level REAL NOT NULL DEFAULT 0",
    "ALTER TABLE shot_analyses ADD COLUMN flash_frames TEXT NOT NULL DEFAULT '[]'",
)

# Version 4: one commit point per episode. A row is written ``pending`` before the episode's other
# stores and turned ``indexed`` after them; how many search vectors it owns lets a reader check the
# FAISS index against the catalog; a failure keeps its exception's type.
_V4 = (
    "ALTER TABLE episodes ADD COLUMN state TEXT NOT NULL DEFAULT 'indexed' "
    "CHECK (state IN ('pending', 'indexed', 'damaged'))",
    "ALTER TABLE episodes ADD COLUMN search_vectors INTEGER NOT NULL DEFAULT -1",
    "ALTER TABLE failures ADD COLUMN error_type TEXT NOT NULL DEFAULT ''",
)

# Version 5: who is on screen. Faces found on keyframes (named when they match the gallery, else
# grouped into clusters); the cast of each shot and each character's screen time are views over
# them, so naming a face updates both at once.
_V5 = (
    """CREATE TABLE faces (
        episode_id INTEGER NOT NULL REFERENCES episodes (episode_id) ON DELETE CASCADE,
        face_index INTEGER NOT NULL,
        shot_index INTEGER NOT NULL,
        frame INTEGER NOT NULL,
        seconds REAL NOT NULL,
        x REAL NOT NULL,
        y REAL NOT NULL,
        w REAL NOT NULL,
        h REAL NOT NULL,
        score REAL NOT NULL,
        track INTEGER NOT NULL,
        character TEXT,
        distance REAL,
        cluster INTEGER,
        PRIMARY KEY (episode_id, face_index)
    )""",
    "CREATE INDEX faces_by_character ON faces (character)",
    """CREATE VIEW shot_cast AS
        SELECT f.episode_id, f.shot_index, f.character, COUNT(*) AS faces, s.start_seconds, s.end_seconds
        FROM faces f JOIN shots s ON s.episode_id = f.episode_id AND s.shot_index = f.shot_index
        WHERE f.character IS NOT NULL
        GROUP BY f.episode_id, f.shot_index, f.character""",
    """CREATE VIEW screen_time AS
        SELECT episode_id, character, COUNT(*) AS shots, SUM(end_seconds - start_seconds) AS seconds
        FROM shot_cast GROUP BY episode_id, character""",
    "ALTER TABLE characters ADD COLUMN embedder TEXT NOT NULL DEFAULT ''",
)

# Version 6: footage that recurs across a season's episodes (OP, ED, eyecatch, recap, preview,
# reused), found by animevid.season after indexing; an episode's rows go when it is re-indexed.
_V6 = (
    """CREATE TABLE segments (
        episode_id INTEGER NOT NULL REFERENCES episodes (episode_id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('op', 'ed', 'eyecatch', 'recap', 'preview', 'reused')),
        start_frame INTEGER NOT NULL,
        end_frame INTEGER NOT NULL,
        start_seconds REAL NOT NULL,
        end_seconds REAL NOT NULL,
        family INTEGER NOT NULL,
        episodes INTEGER NOT NULL,
        CHECK (start_frame < end_frame)
    )""",
    "CREATE INDEX segments_by_episode ON segments (episode_id, start_frame)",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
"""``MIGRATIONS[k]`` holds the SQL statements that take a catalog from version k to k + 1."""


TableRows = Mapping[str, Sequence[Any]]
"""An episode's child rows by table name, in order: dataclasses or mappings whose fields are the table's
columns (``episode_id`` is added); list, tuple and dict values are stored as JSON text."""

EpisodeStateName = Literal["pending", "indexed", "damaged"]
"""How far an episode's indexing got (see the module docstring)."""


@dataclass(frozen=True)
class StoredEpisode:
    """An episode row as the library's integrity checks see it."""

    episode_id: int
    """Catalog id."""
    content_hash: str
    """sha256 of the file's bytes."""
    path: str
    """Absolute path of the file when it was last indexed or seen."""
    state: EpisodeStateName
    """pending, indexed or damaged."""
    config_fingerprint: str
    """The settings it was indexed with ('' while pending)."""
    search_vectors: int
    """Search vectors it owns (-1: unknown, for rows older than catalog version 4)."""


@dataclass(frozen=True)
class _Table:
    """How one table reads back into pandas."""

    name: str
    dtypes: Mapping[str, str]
    """Column name -> pandas dtype, in DataFrame order; ``json`` and ``utc`` are decoded specially."""
    order_by: str

    @property
    def columns(self) -> list[str]:
        return list(self.dtypes)


_I, _F, _S, _J, _T = "int64", "float64", "str", "json", "utc"
_EPISODES = _Table(
    "episodes",
    {
        "episode_id": _I, "content_hash": _S, "path": _S, "size_bytes": _I, "container": _S, "codec": _S,
        "width": _I, "height": _I, "fps": _F, "frames": _I, "duration_seconds": _F,
        "config_fingerprint": _S, "indexed_at": _T, "extra": _J, "state": _S, "search_vectors": _I,
    },
    "episode_id",
)  # fmt: skip
_SHOTS = _Table(
    "shots",
    {
        "episode_id": _I, "shot_index": _I, "start_frame": _I, "end_frame": _I,
        "start_seconds": _F, "end_seconds": _F, "transition": _S,
    },
    "episode_id, shot_index",
)  # fmt: skip
_SCENES = _Table(
    "scenes",
    {
        "episode_id": _I, "scene_index": _I, "start_frame": _I, "end_frame": _I,
        "start_seconds": _F, "end_seconds": _F, "first_shot": _I, "last_shot": _I,
    },
    "episode_id, scene_index",
)  # fmt: skip
_SUBTITLE_LINES = _Table(
    "subtitle_lines",
    {
        "episode_id": _I, "line_index": _I, "start_seconds": _F, "end_seconds": _F,
        "text": _S, "style": _S, "kind": _S, "line_number": _I,
    },
    "episode_id, line_index",
)  # fmt: skip
_SHOT_ANALYSES = _Table(
    "shot_analyses",
    {
        "episode_id": _I, "shot_index": _I, "drawings": _I, "drawings_per_second": _F, "cadence": _S,
        "camera": _S, "motion": _F, "sakuga_score": _F, "tags": _J, "loops": _J,
        "start_frame": _I, "end_frame": _I, "cadence_mix": _J, "camera_detail": _J, "motion_level": _F,
        "flash_frames": _J,
    },
    "episode_id, shot_index",
)  # fmt: skip
_CHARACTERS = _Table("characters", {"character_id": _I, "name": _S, "images": _I, "embedder": _S}, "name")
_FACES = _Table(
    "faces",
    {
        "episode_id": _I, "face_index": _I, "shot_index": _I, "frame": _I, "seconds": _F, "x": _F, "y": _F,
        "w": _F, "h": _F, "score": _F, "track": _I, "character": "string", "distance": "Float64", "cluster": "Int64",
    },
    "episode_id, face_index",
)  # fmt: skip
_SHOT_CAST = _Table(
    "shot_cast",
    {"episode_id": _I, "shot_index": _I, "character": _S, "faces": _I, "start_seconds": _F, "end_seconds": _F},
    "episode_id, shot_index, character",
)
_SCREEN_TIME = _Table(
    "screen_time", {"episode_id": _I, "character": _S, "shots": _I, "seconds": _F}, "episode_id, seconds DESC"
)
_FAILURES = _Table(
    "failures", {"path": _S, "error": _S, "error_type": _S, "failed_at": _T, "attempts": _I}, "failed_at, path"
)

_D = TypeVar("_D")


class Catalog:
    """Open (creating and migrating as needed) a library's ``catalog.sqlite``.

    One process writes at a time; readers in other processes wait up to
    :data:`BUSY_TIMEOUT_SECONDS` for its lock instead of failing at once.

    Args:
        path: Path of the SQLite file; its parent folder is created.

    Raises:
        CatalogError: The file is not an SQLite database, was written by a newer animevid,
            or cannot be migrated.
    """

    SCHEMA_VERSION: int = len(MIGRATIONS)
    """The schema version this code writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"catalog {self.path}: cannot create its folder ({exc})") from exc
        self._conn = _open(self.path)

    @classmethod
    def in_library(cls, library: str | Path) -> Catalog:
        """Open the catalog of a library folder (``<library>/catalog.sqlite``).

        Args:
            library: The library folder; created when missing.

        Returns:
            The open catalog.
        """
        return cls(Path(library) / CATALOG_FILENAME)

    @property
    def schema_version(self) -> int:
        """The schema version stored in the file (``PRAGMA user_version``)."""
        return _user_version(self._conn)

    def close(self) -> None:
        """Close the connection; calling it twice is harmless."""
        self._conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r})"

    # -- writing ---------------------------------------------------------------------------------

    def put_episode(
        self,
        episode: Episode,
        *,
        shots: Sequence[Shot] = (),
        scenes: Sequence[Scene] = (),
        subtitle_lines: Sequence[SubtitleLine] = (),
        analyses: Sequence[ShotAnalysis] = (),
        config_fingerprint: str = "",
        extra: Mapping[str, object] | None = None,
        search_vectors: int = -1,
    ) -> int:
        """Insert an episode, or replace it and all its child rows, in one transaction, as ``indexed``.

        For an episode whose only store is the catalog. The pipeline, which also writes the search
        index, uses :meth:`reserve_episode` and :meth:`commit_episode` around that write instead.
        The episode is matched by ``content_hash`` and keeps its ``episode_id`` when replaced
        (other stores, such as the vector index, may refer to it). A failure row for the same
        path is cleared. If anything fails, the catalog is left as it was.

        Args:
            episode: The episode.
            shots: Its shots, in order; their position is ``shot_index``.
            scenes: Its scenes, in order.
            subtitle_lines: Its subtitle lines, in order.
            analyses: One analysis per analysed shot (keyed by ``ShotAnalysis.shot_index``).
            config_fingerprint: Identifies the settings that produced the rows (for resume).
            extra: Free-form JSON-serialisable metadata stored with the episode.
            search_vectors: How many search vectors the episode owns (-1: unknown).

        Returns:
            The episode's ``episode_id``.

        Raises:
            CatalogError: A row is invalid (e.g. two analyses of one shot) or the write failed;
                nothing was changed.
        """
        rows: TableRows = {
            "shots": [{"shot_index": i, **asdict(s)} for i, s in enumerate(shots)],
            "scenes": [{"scene_index": i, **asdict(s)} for i, s in enumerate(scenes)],
            "subtitle_lines": [{"line_index": i, **asdict(s)} for i, s in enumerate(subtitle_lines)],
            "shot_analyses": analyses,
        }
        with self._writing(f"could not store episode {episode.path}; nothing was changed"):
            episode_id = self._reserve(episode)
            self._commit(episode_id, episode, rows, config_fingerprint, extra, search_vectors)
        return episode_id

    def reserve_episode(self, episode: Episode) -> int:
        """Mark an episode ``pending`` before its other stores are written: its id, new or kept.

        A new episode gets a row (not searched, not counted as done until :meth:`commit_episode`);
        an episode indexed before keeps its rows and id but is hidden until the commit, because
        its other stores are about to be replaced.

        Raises:
            CatalogError: The write failed; nothing was changed.
        """
        with self._writing(f"could not reserve episode {episode.path}; nothing was changed"):
            return self._reserve(episode)

    def commit_episode(
        self,
        episode_id: int,
        episode: Episode,
        rows: TableRows,
        *,
        config_fingerprint: str,
        extra: Mapping[str, object] | None = None,
        search_vectors: int = -1,
    ) -> list[StoredEpisode]:
        """The one commit point of an episode: its rows in, ``indexed``, in one transaction.

        Call it once every other store of the episode is durably written. Other episodes stored
        under the same path (the file there was replaced by one with other content) are deleted
        with their rows; a failure recorded for the path is cleared.

        Returns:
            The episodes deleted because this one replaced them at their path (their other stores
            are the caller's to remove).

        Raises:
            CatalogError: A row is invalid or the write failed; nothing was changed.
        """
        with self._writing(f"could not store episode {episode.path}; nothing was changed"):
            replaced = self._at_path(_path_key(episode.path), except_id=episode_id)
            for old in replaced:
                self._conn.execute("DELETE FROM episodes WHERE episode_id = ?", (old.episode_id,))
            self._commit(episode_id, episode, rows, config_fingerprint, extra, search_vectors)
        return replaced

    @contextmanager
    def _writing(self, failure: str) -> Iterator[None]:
        try:
            with _transaction(self._conn):
                yield
        except (sqlite3.Error, CatalogError) as exc:
            raise CatalogError(f"catalog {self.path}: {failure} ({exc})") from exc

    def _reserve(self, episode: Episode) -> int:
        found = self._conn.execute(
            "SELECT episode_id FROM episodes WHERE content_hash = ?", (episode.content_hash,)
        ).fetchone()
        if found is not None:
            self._conn.execute("UPDATE episodes SET state = 'pending' WHERE episode_id = ?", (found[0],))
            return int(found[0])
        row = asdict(episode) | {
            "path": _path_key(episode.path),
            "config_fingerprint": "",
            "extra": "{}",
            "indexed_at": _utc_now(),
            "state": "pending",
            "search_vectors": -1,
        }
        names = [name for name in _EPISODES.columns if name != "episode_id"]
        sql = f"INSERT INTO episodes ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
        return int(self._conn.execute(sql + " RETURNING episode_id", row).fetchall()[0][0])

    def _commit(
        self,
        episode_id: int,
        episode: Episode,
        rows: TableRows,
        config_fingerprint: str,
        extra: Mapping[str, object] | None,
        search_vectors: int,
    ) -> None:
        values = asdict(episode) | {
            "path": _path_key(episode.path),
            "config_fingerprint": config_fingerprint,
            "extra": _dumps(extra or {}, "extra"),
            "indexed_at": _utc_now(),
            "state": "indexed",
            "search_vectors": search_vectors,
            "episode_id": episode_id,
        }
        names = [name for name in _EPISODES.columns if name not in ("episode_id", "content_hash")]
        sql = f"UPDATE episodes SET {', '.join(f'{n} = :{n}' for n in names)} WHERE episode_id = :episode_id"
        self._conn.execute(sql, values)
        self._insert_children(episode_id, rows)
        self._conn.execute("DELETE FROM failures WHERE path = ?", (_path_key(episode.path),))

    def abandon_episode(self, episode_id: int, *, new: bool) -> None:
        """Undo :meth:`reserve_episode` after a store could not be written.

        A new episode's row goes; one indexed before is marked ``damaged`` (some of its files may
        already be the new ones): ``animevid check`` lists it, the next ``index`` redoes it.
        """
        with self._writing(f"could not give up episode {episode_id}"):
            if new:
                self._conn.execute("DELETE FROM episodes WHERE episode_id = ?", (episode_id,))
            else:
                self._conn.execute("UPDATE episodes SET state = 'damaged' WHERE episode_id = ?", (episode_id,))

    def set_state(self, episode_id: int, state: EpisodeStateName) -> None:
        """Set an episode's state (``animevid check --repair`` marks one whose stores are lost ``damaged``)."""
        with self._writing(f"could not mark episode {episode_id} {state}"):
            self._conn.execute("UPDATE episodes SET state = ? WHERE episode_id = ?", (state, episode_id))

    def set_path(self, episode_id: int, path: str | Path) -> None:
        """Record where an episode's file now is (it was moved or renamed; its content is the same)."""
        with self._writing(f"could not update the path of episode {episode_id}"):
            self._conn.execute("UPDATE episodes SET path = ? WHERE episode_id = ?", (_path_key(path), episode_id))
            self._conn.execute("DELETE FROM failures WHERE path = ?", (_path_key(path),))

    def clear_failure(self, path: str | Path) -> None:
        """Forget a failure recorded for ``path`` (the file indexed, or was found indexed already)."""
        with self._writing(f"could not clear the failure of {path}"):
            self._conn.execute("DELETE FROM failures WHERE path = ?", (_path_key(path),))

    def _insert_children(self, episode_id: int, tables: TableRows) -> None:
        """Replace every child row of the episode with ``tables`` (tables not named end up empty)."""
        children = self._child_tables()
        unknown = sorted(set(tables) - set(children))
        if unknown:
            raise CatalogError(f"no table {unknown[0]!r} holds an episode's rows; those that do: {', '.join(children)}")
        for name in children:
            self._conn.execute(f"DELETE FROM {name} WHERE episode_id = ?", (episode_id,))
        for name, rows in tables.items():
            self._insert(name, children[name], [_child_row(episode_id, row) for row in rows])

    def _child_tables(self) -> dict[str, list[str]]:
        """The tables whose rows belong to one episode (they have an ``episode_id`` column), with their columns."""
        found: dict[str, list[str]] = {}
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'episodes' ORDER BY name"
        for (name,) in self._conn.execute(sql).fetchall():
            columns = [row[1] for row in self._conn.execute(f"PRAGMA table_info({name})")]
            if "episode_id" in columns:
                found[name] = columns
        return found

    def _insert(self, table: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        names = [name for name in columns if name in rows[0]]
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
        self._conn.executemany(sql, rows)

    def remove_episode(self, content_hash: str) -> bool:
        """Delete an episode and, by cascade, all its child rows.

        Args:
            content_hash: The episode's content hash.

        Returns:
            True when an episode was removed, False when none had that hash.
        """
        with _transaction(self._conn):
            cursor = self._conn.execute("DELETE FROM episodes WHERE content_hash = ?", (content_hash,))
        return cursor.rowcount > 0

    def record_failure(self, path: str | Path, error: str, *, error_type: str = "") -> None:
        """Record that a file could not be indexed, so a batch can go on; repeats count attempts.

        Args:
            path: The file that failed (stored as its absolute path, so a later success clears it
                whatever folder the batch ran from).
            error: The error message.
            error_type: The exception's class name (``VideoError``, ``PermissionError``...).
        """
        with self._writing(f"could not record the failure of {path}"):
            self._conn.execute(
                "INSERT INTO failures (path, error, error_type, failed_at) VALUES (?, ?, ?, ?) ON CONFLICT (path) "
                "DO UPDATE SET error = excluded.error, error_type = excluded.error_type, "
                "failed_at = excluded.failed_at, attempts = attempts + 1",
                (_path_key(path), error, error_type, _utc_now()),
            )

    def add_character(self, character: Character, *, embedder: str = "") -> int:
        """Add a character to the gallery, or update the one with the same name.

        Args:
            character: The character.
            embedder: Signature of the embedder its gallery vectors come from.

        Returns:
            Its ``character_id``.
        """
        with _transaction(self._conn):
            rows = self._conn.execute(
                "INSERT INTO characters (name, images, embedder) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET images = excluded.images, embedder = excluded.embedder "
                "RETURNING character_id",
                (character.name, character.images, embedder),
            ).fetchall()
        character_id: int = rows[0][0]
        return character_id

    def set_face_names(self, names: Sequence[tuple[int, int, str | None, float | None]]) -> None:
        """Name faces: ``(episode_id, face_index, character or None, distance or None)`` each, in one transaction."""
        with self._writing("could not store the faces' names"):
            self._conn.executemany(
                "UPDATE faces SET character = ?, distance = ? WHERE episode_id = ? AND face_index = ?",
                [(name, distance, episode, face) for episode, face, name, distance in names],
            )

    def set_face_clusters(self, clusters: Sequence[tuple[int, int, int]]) -> None:
        """Replace every face's cluster: ``(episode_id, face_index, cluster)`` each; faces not named get none."""
        with self._writing("could not store the face clusters"):
            self._conn.execute("UPDATE faces SET cluster = NULL")
            self._conn.executemany(
                "UPDATE faces SET cluster = ? WHERE episode_id = ? AND face_index = ?",
                [(cluster, episode, face) for episode, face, cluster in clusters],
            )

    def set_segments(self, episode_ids: Sequence[int], rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace the recurring-footage segments of these episodes with ``rows`` (one transaction)."""
        columns = [
            "episode_id",
            "kind",
            "start_frame",
            "end_frame",
            "start_seconds",
            "end_seconds",
            "family",
            "episodes",
        ]
        with self._writing("could not store the season's segments; nothing was changed"):
            self._conn.executemany("DELETE FROM segments WHERE episode_id = ?", [(e,) for e in episode_ids])
            self._insert("segments", columns, [{c: row[c] for c in columns} for row in rows])

    def segments(self, episode_id: int | None = None) -> pd.DataFrame:
        """Recurring footage (OP, ED, eyecatch, recap, preview, reused) by episode and start, with its path."""
        import pandas as pd

        sql = (
            "SELECT s.*, e.path FROM segments s JOIN episodes e ON e.episode_id = s.episode_id "
            + ("WHERE s.episode_id = ? " if episode_id is not None else "")
            + "ORDER BY e.path, s.start_frame"
        )
        return pd.read_sql_query(sql, self._conn, params=(episode_id,) if episode_id is not None else ())

    def face_counts(self) -> dict[int, int]:
        """Faces stored per episode (episodes with none are left out)."""
        rows = self._conn.execute("SELECT episode_id, COUNT(*) FROM faces GROUP BY episode_id").fetchall()
        return {int(episode): int(count) for episode, count in rows}

    def character_shots(self, name: str) -> list[dict[str, Any]]:
        """The indexed shots where ``name`` was recognised, by episode and time: path, shot, times, faces."""
        sql = (
            "SELECT c.episode_id, e.path, c.shot_index, c.start_seconds, c.end_seconds, c.faces "
            "FROM shot_cast c JOIN episodes e ON e.episode_id = c.episode_id "
            "WHERE c.character = ? AND e.state = 'indexed' ORDER BY e.path, c.start_seconds"
        )
        names = ("episode_id", "path", "shot_index", "start_seconds", "end_seconds", "faces")
        return [dict(zip(names, row, strict=True)) for row in self._conn.execute(sql, (name,))]

    # -- lookups ---------------------------------------------------------------------------------

    def episode_id(self, content_hash: str) -> int | None:
        """The ``episode_id`` of the episode with this content hash, or None."""
        row = self._conn.execute("SELECT episode_id FROM episodes WHERE content_hash = ?", (content_hash,)).fetchone()
        return None if row is None else int(row[0])

    def is_indexed(self, content_hash: str, config_fingerprint: str) -> bool:
        """Whether the episode is indexed with the same settings (so a resumed batch skips it).

        Args:
            content_hash: The episode's content hash.
            config_fingerprint: The fingerprint of the settings the batch runs with.

        Returns:
            True when its row has both, and every store was committed (state ``indexed``).
        """
        row = self._conn.execute(
            "SELECT 1 FROM episodes WHERE content_hash = ? AND config_fingerprint = ? AND state = 'indexed'",
            (content_hash, config_fingerprint),
        ).fetchone()
        return row is not None

    def stored(self, content_hash: str) -> StoredEpisode | None:
        """What the catalog holds of the episode with this content hash (any state), or None."""
        found = self._stored("content_hash = ?", (content_hash,))
        return found[0] if found else None

    def stored_episodes(self, state: EpisodeStateName | None = None) -> list[StoredEpisode]:
        """Every episode (or those in ``state``), by id: what a reader or ``check`` needs of each."""
        return self._stored("state = ?", (state,)) if state else self._stored("1", ())

    def _at_path(self, path: str, *, except_id: int) -> list[StoredEpisode]:
        return self._stored("path = ? AND episode_id != ?", (path, except_id))

    def _stored(self, where: str, params: tuple[object, ...]) -> list[StoredEpisode]:
        sql = (
            "SELECT episode_id, content_hash, path, state, config_fingerprint, search_vectors "
            f"FROM episodes WHERE {where} ORDER BY episode_id"
        )
        return [StoredEpisode(*row) for row in self._conn.execute(sql, params)]

    def check_integrity(self) -> str:
        """SQLite's own check of the file (``PRAGMA quick_check``): ``ok``, or what is wrong."""
        rows = self._conn.execute("PRAGMA quick_check").fetchall()
        return "; ".join(str(r[0]) for r in rows[:5])

    def get_episode(self, episode_id: int) -> Episode:
        """The episode with this id, as an :class:`~animevid.model.Episode`.

        Raises:
            CatalogError: No episode has this id.
        """
        found = self._dataclasses(Episode, _EPISODES, "episode_id = ?", (episode_id,))
        if not found:
            raise CatalogError(f"catalog {self.path}: no episode with episode_id {episode_id}; see Catalog.episodes()")
        return found[0]

    def get_shots(self, episode_id: int) -> list[Shot]:
        """The episode's shots in order (empty when it has none)."""
        return self._dataclasses(Shot, _SHOTS, "episode_id = ?", (episode_id,))

    def get_scenes(self, episode_id: int) -> list[Scene]:
        """The episode's scenes in order (empty when it has none)."""
        return self._dataclasses(Scene, _SCENES, "episode_id = ?", (episode_id,))

    def get_subtitle_lines(self, episode_id: int) -> list[SubtitleLine]:
        """The episode's subtitle lines in order (empty when it has none)."""
        return self._dataclasses(SubtitleLine, _SUBTITLE_LINES, "episode_id = ?", (episode_id,))

    def get_shot_analyses(self, episode_id: int) -> list[ShotAnalysis]:
        """The episode's shot analyses by shot index."""
        return self._dataclasses(ShotAnalysis, _SHOT_ANALYSES, "episode_id = ?", (episode_id,))

    def _dataclasses(self, cls: type[_D], table: _Table, where: str, params: tuple[object, ...]) -> list[_D]:
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        sql = f"SELECT {', '.join(names)} FROM {table.name} WHERE {where} ORDER BY {table.order_by}"
        cursor = self._conn.cursor()
        cursor.row_factory = sqlite3.Row
        result = []
        for row in cursor.execute(sql, params):
            values = {name: row[name] for name in names}
            for name in _JSON_TUPLES & values.keys():
                values[name] = tuple(json.loads(values[name]))
            if "camera_detail" in values:
                values["camera_detail"] = json.loads(values["camera_detail"])
            if "loops" in values:
                values["loops"] = tuple(Loop(**loop) for loop in values["loops"])
            result.append(cls(**values))
        return result

    # -- pandas readers --------------------------------------------------------------------------

    def episodes(self) -> pd.DataFrame:
        """All episodes; ``extra`` decoded to dicts, ``indexed_at`` as UTC datetimes."""
        return self._frame(_EPISODES, None)

    def shots(self, episode_id: int | None = None) -> pd.DataFrame:
        """Shots of one episode, or of all episodes when ``episode_id`` is None."""
        return self._frame(_SHOTS, episode_id)

    def scenes(self, episode_id: int | None = None) -> pd.DataFrame:
        """Scenes of one episode, or of all episodes when ``episode_id`` is None."""
        return self._frame(_SCENES, episode_id)

    def subtitle_lines(self, episode_id: int | None = None) -> pd.DataFrame:
        """Subtitle lines of one episode, or of all episodes when ``episode_id`` is None."""
        return self._frame(_SUBTITLE_LINES, episode_id)

    def shot_analyses(self, episode_id: int | None = None) -> pd.DataFrame:
        """Shot analyses of one episode, or of all; ``tags`` and ``loops`` decoded to lists."""
        return self._frame(_SHOT_ANALYSES, episode_id)

    def characters(self) -> pd.DataFrame:
        """The characters enrolled in the gallery, by name."""
        return self._frame(_CHARACTERS, None)

    def faces(self, episode_id: int | None = None) -> pd.DataFrame:
        """Faces of one episode, or of all; ``character``, ``distance`` and ``cluster`` are nullable."""
        return self._frame(_FACES, episode_id)

    def shot_cast(self, episode_id: int | None = None) -> pd.DataFrame:
        """The characters named in each shot (with their faces and the shot's times)."""
        return self._frame(_SHOT_CAST, episode_id)

    def screen_time(self, episode_id: int | None = None) -> pd.DataFrame:
        """Per episode and character: shots it is named in and their seconds, most first."""
        return self._frame(_SCREEN_TIME, episode_id)

    def failures(self) -> pd.DataFrame:
        """Files a batch could not index: ``path``, ``error``, ``failed_at`` (UTC) and ``attempts``."""
        return self._frame(_FAILURES, None)

    def _frame(self, table: _Table, episode_id: int | None) -> pd.DataFrame:
        import pandas as pd

        sql = f"SELECT {', '.join(table.columns)} FROM {table.name}"
        params: tuple[object, ...] = ()
        if episode_id is not None:
            sql, params = sql + " WHERE episode_id = ?", (episode_id,)
        frame = pd.read_sql_query(sql + f" ORDER BY {table.order_by}", self._conn, params=params)
        return _typed(frame, table)


def _typed(frame: pd.DataFrame, table: _Table) -> pd.DataFrame:
    """Give every column its declared dtype, so empty tables and full ones look alike."""
    import pandas as pd

    for name, dtype in table.dtypes.items():
        if dtype == _J:
            frame[name] = pd.Series([json.loads(v) for v in frame[name]], index=frame.index, dtype=object)
        elif dtype == _T:
            frame[name] = pd.to_datetime(frame[name].astype(_S), utc=True, format="ISO8601").astype(
                "datetime64[us, UTC]"
            )
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


_JSON_TUPLES = {"tags", "loops", "cadence_mix", "flash_frames"}
"""ShotAnalysis fields stored as JSON lists and read back as tuples."""


def _child_row(episode_id: int, item: Any) -> dict[str, Any]:
    """A child row's column values: a dataclass's fields (nested ones too) or a mapping, lists and dicts as JSON."""
    values = asdict(item) if is_dataclass(item) and not isinstance(item, type) else dict(item)
    columns = {k: _dumps(v, k) if isinstance(v, list | tuple | dict) else v for k, v in values.items()}
    return {"episode_id": episode_id, **columns}


def _dumps(value: object, what: str) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise CatalogError(
            f"{what} is not JSON-serialisable ({exc}); pass plain dicts, lists, str and numbers"
        ) from exc


def _json_default(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _path_key(path: str | Path) -> str:
    # One spelling per path (absolute, links resolved, undecodable bytes escaped), so a success
    # clears the failure recorded under the same file whatever folder each batch ran from.
    return path_text(path)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


# -- opening and migrating -----------------------------------------------------------------------


def _open(path: Path) -> sqlite3.Connection:
    """Connect, refuse newer or non-SQLite files, switch to WAL and migrate."""
    try:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly what we say.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise CatalogError(f"catalog {path}: cannot open it ({exc}); check the path and its permissions") from exc
    try:
        conn.execute("PRAGMA foreign_keys = ON")  # per connection, and needed for ON DELETE CASCADE
        _check_not_newer(_user_version(conn), path)  # before WAL: do not touch a file we cannot read
        _set_wal(conn)  # readers do not block the batch writer
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CatalogError(
            f"catalog {path} is not a readable SQLite database ({exc}); "
            "move it aside and re-run `animevid index` to rebuild the catalog"
        ) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def _set_wal(conn: sqlite3.Connection) -> None:
    """Switch to write-ahead logging, waiting for another process that holds the file.

    The switch needs the file to itself, and SQLite answers "database is locked" at once instead
    of waiting as other statements do: two processes opening a new library together collided here.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _user_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def _check_not_newer(version: int, path: Path) -> None:
    if version > len(MIGRATIONS):
        raise CatalogError(
            f"catalog {path} has schema version {version}, but this animevid knows versions up to "
            f"{len(MIGRATIONS)}; upgrade animevid (pip install -U animevid) to open it"
        )


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the missing migration steps in one transaction; a failure leaves the file as it was."""
    if _user_version(conn) == len(MIGRATIONS):
        return
    with _transaction(conn):
        # Read again under the write lock: another process may have migrated in the meantime.
        current = _user_version(conn)
        _check_not_newer(current, path)
        for version in range(current, len(MIGRATIONS)):
            try:
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
            except sqlite3.Error as exc:
                raise CatalogError(
                    f"catalog {path}: migration from schema version {version} to {version + 1} failed ({exc}); "
                    "the file is unchanged; move it aside to rebuild the catalog"
                ) from exc
            # PRAGMA takes no parameters; the value is an int we computed.
            conn.execute(f"PRAGMA user_version = {version + 1:d}")


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    IMMEDIATE takes the write lock up front, so a second writer waits (busy timeout) at BEGIN
    instead of failing when a read transaction tries to upgrade.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # some errors (e.g. SQLITE_FULL) already rolled back
            conn.execute("ROLLBACK")
        raise
