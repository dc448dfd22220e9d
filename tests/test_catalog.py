"""Tests of animevid.catalog: round trips, replacement, atomicity, cascades, failures, migrations."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pandas as pd
import pytest

import animevid.catalog as catalog_module
from animevid.catalog import CATALOG_FILENAME, MIGRATIONS, Catalog, EpisodeStateName
from animevid.errors import CatalogError
from animevid.model import (
    CADENCE_NAMES,
    CAMERA_NAMES,
    Character,
    Episode,
    Loop,
    Scene,
    SegmentKind,
    Shot,
    ShotAnalysis,
    SubtitleKind,
    SubtitleLine,
    Transition,
)

CHILD_TABLES = ("shots", "scenes", "subtitle_lines", "shot_analyses")


def make_episode(name: str = "ep01.mkv", digest: str = "a" * 64) -> Episode:
    return Episode(
        path=f"/anime/{name}",
        content_hash=digest,
        size_bytes=123_456,
        container="matroska,webm",
        codec="h264",
        width=640,
        height=360,
        fps=23.976,
        frames=240,
        duration_seconds=10.01,
    )


SHOTS = [
    Shot(0, 48, 0.0, 2.002, "start"),
    Shot(48, 120, 2.002, 5.005, "cut"),
    Shot(120, 240, 5.005, 10.01, "dissolve"),
]
SCENES = [Scene(0, 120, 0.0, 5.005, 0, 1), Scene(120, 240, 5.005, 10.01, 2, 2)]
LINES = [
    SubtitleLine(0.5, 1.9, "Where are you going?", "Default", "dialogue", 12),
    SubtitleLine(6.0, 8.0, "CLOSED", "Sign", "sign", 13),
]
ANALYSES = [
    ShotAnalysis(0, 24, 12.0, "twos", "pan", 0.25, 1.5, ("on-twos", "pan")),
    ShotAnalysis(2, 1, 0.2, "still", "static", 0.0, 0.0, ()),
]


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    with Catalog.in_library(tmp_path / "library") as opened:
        yield opened


def put_full(catalog: Catalog, episode: Episode | None = None, **kwargs: object) -> int:
    return catalog.put_episode(
        episode or make_episode(),
        shots=SHOTS,
        scenes=SCENES,
        subtitle_lines=LINES,
        analyses=ANALYSES,
        **kwargs,  # type: ignore[arg-type]
    )


def count_rows(path: Path, table: str, episode_id: int | None = None) -> int:
    """Count rows with a separate plain connection, so the check does not trust the code under test."""
    conn = sqlite3.connect(path)
    try:
        if episode_id is None:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        sql = f"SELECT COUNT(*) FROM {table} WHERE episode_id = ?"
        return int(conn.execute(sql, (episode_id,)).fetchone()[0])
    finally:
        conn.close()


# -- opening -------------------------------------------------------------------------------------


def test_in_library_creates_the_folder_and_a_current_file(tmp_path: Path) -> None:
    library = tmp_path / "deep" / "library"
    with Catalog.in_library(library) as catalog:
        assert catalog.path == library / CATALOG_FILENAME
        assert catalog.path.is_file()
        assert catalog.schema_version == Catalog.SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_reopening_keeps_the_rows(tmp_path: Path) -> None:
    with Catalog.in_library(tmp_path) as catalog:
        episode_id = put_full(catalog)
    with Catalog.in_library(tmp_path) as catalog:
        assert catalog.get_episode(episode_id) == make_episode()
        assert catalog.schema_version == Catalog.SCHEMA_VERSION


def test_connection_has_foreign_keys_wal_and_a_busy_timeout(catalog: Catalog) -> None:
    conn = catalog._conn
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_a_reader_is_not_blocked_by_a_writer(catalog: Catalog) -> None:
    writer = sqlite3.connect(catalog.path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO characters (name, images) VALUES (?, ?)", ("Frieren", 3))
        with Catalog(catalog.path) as reader:
            assert reader.characters().empty  # sees the last committed state, without waiting
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert catalog.characters()["name"].tolist() == ["Frieren"]


# -- round trips -----------------------------------------------------------------------------------


def test_the_schema_checks_the_names_the_model_defines(catalog: Catalog) -> None:
    """The CHECK lists are frozen in their migrations; the model's Literals are the one vocabulary."""
    schema = " ".join(
        row[0] for row in sqlite3.connect(catalog.path).execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
    )
    checks: dict[str, list[set[str]]] = {}
    for column, names in re.findall(r"CHECK \((\w+) IN \(([^)]*)\)\)", schema):
        checks.setdefault(column, []).append(set(re.findall(r"'([^']+)'", names)))
    checks = {column: found[0] if len(found) == 1 else sorted(found, key=sorted) for column, found in checks.items()}
    assert checks == {
        "transition": set(get_args(Transition)),
        "kind": sorted([set(get_args(SubtitleKind)), set(get_args(SegmentKind))], key=sorted),
        "cadence": set(CADENCE_NAMES),
        "camera": set(CAMERA_NAMES),
        "state": set(get_args(EpisodeStateName)),
    }


def test_episode_round_trip(catalog: Catalog) -> None:
    episode_id = put_full(catalog, config_fingerprint="cfg-1", extra={"series": "Frieren", "number": 1})
    assert catalog.episode_id("a" * 64) == episode_id
    assert catalog.episode_id("b" * 64) is None
    assert catalog.get_episode(episode_id) == make_episode()
    row = catalog.episodes().iloc[0]
    assert row["config_fingerprint"] == "cfg-1"
    assert row["extra"] == {"series": "Frieren", "number": 1}
    assert row["indexed_at"].tzinfo is not None
    assert abs(pd.Timestamp.now(tz="UTC") - row["indexed_at"]) < pd.Timedelta(minutes=5)


def test_child_rows_round_trip_through_dataclasses(catalog: Catalog) -> None:
    episode_id = put_full(catalog)
    assert catalog.get_shots(episode_id) == SHOTS
    assert catalog.get_scenes(episode_id) == SCENES
    assert catalog.get_subtitle_lines(episode_id) == LINES
    assert catalog.get_shot_analyses(episode_id) == ANALYSES


def test_child_rows_round_trip_through_dataframes(catalog: Catalog) -> None:
    episode_id = put_full(catalog)
    shots = catalog.shots(episode_id)
    assert shots["shot_index"].tolist() == [0, 1, 2]
    assert shots["start_frame"].tolist() == [0, 48, 120]
    assert shots["transition"].tolist() == ["start", "cut", "dissolve"]
    assert catalog.scenes(episode_id)[["first_shot", "last_shot"]].values.tolist() == [[0, 1], [2, 2]]
    lines = catalog.subtitle_lines(episode_id)
    assert lines["text"].tolist() == ["Where are you going?", "CLOSED"]
    assert lines["kind"].tolist() == ["dialogue", "sign"]
    assert lines["line_number"].tolist() == [12, 13]
    analyses = catalog.shot_analyses(episode_id)
    assert analyses["tags"].tolist() == [["on-twos", "pan"], []]
    assert analyses["loops"].tolist() == [[], []]
    assert analyses["drawings_per_second"].tolist() == [12.0, 0.2]


def test_loops_are_stored_as_json(catalog: Catalog) -> None:
    analysis = ShotAnalysis(
        0, 8, 8.0, "mixed", loops=(Loop(0, 24, 8, 3),), cadence_mix=("threes", "twos"),
        camera_detail={"direction": "left", "speed": 0.1}, flash_frames=(5, 6),
    )  # fmt: skip
    episode_id = catalog.put_episode(make_episode(), shots=SHOTS[:1], analyses=[analysis])
    loops = catalog.shot_analyses(episode_id)["loops"].iloc[0]
    assert loops == [{"start_frame": 0, "end_frame": 24, "period_frames": 8, "repeats": 3}]
    assert catalog.get_shot_analyses(episode_id) == [analysis]


def test_readers_filter_by_episode(catalog: Catalog) -> None:
    first = put_full(catalog)
    second = catalog.put_episode(make_episode("ep02.mkv", "b" * 64), shots=SHOTS[:1])
    assert len(catalog.shots()) == 4
    assert len(catalog.shots(first)) == 3
    assert catalog.shots(second)["episode_id"].tolist() == [second]
    assert catalog.get_shots(second) == SHOTS[:1]
    assert catalog.get_shots(999) == []


def test_characters_round_trip_and_update_by_name(catalog: Catalog) -> None:
    fern = catalog.add_character(Character("Fern", images=2))
    stark = catalog.add_character(Character("Stark"))
    assert fern != stark
    assert catalog.add_character(Character("Fern", images=5)) == fern
    frame = catalog.characters()
    assert frame["name"].tolist() == ["Fern", "Stark"]
    assert frame["images"].tolist() == [5, 0]
    assert frame["character_id"].tolist() == [fern, stark]


def test_get_episode_of_an_unknown_id_raises(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="no episode with episode_id 42"):
        catalog.get_episode(42)


# -- re-indexing and atomicity ---------------------------------------------------------------------


def test_reindexing_replaces_the_rows(catalog: Catalog) -> None:
    episode_id = put_full(catalog, config_fingerprint="old")
    new_shots = [Shot(0, 100, 0.0, 4.17, "start"), Shot(100, 240, 4.17, 10.01, "fade")]
    moved = make_episode("renamed.mkv")
    again = catalog.put_episode(moved, shots=new_shots, config_fingerprint="new")
    assert again == episode_id  # same content hash keeps its id
    assert len(catalog.episodes()) == 1
    assert catalog.get_episode(episode_id).path == "/anime/renamed.mkv"
    assert catalog.get_shots(episode_id) == new_shots
    for table in CHILD_TABLES[1:]:
        assert count_rows(catalog.path, table) == 0, table
    assert catalog.is_indexed("a" * 64, "new")
    assert not catalog.is_indexed("a" * 64, "old")


def test_an_integrity_error_midway_changes_nothing(catalog: Catalog) -> None:
    episode_id = put_full(catalog, config_fingerprint="old")
    twice = [*ANALYSES, ShotAnalysis(0, 3, 1.0, "mixed")]  # shot 0 analysed twice: primary key clash
    with pytest.raises(CatalogError, match=r"ep01\.mkv.*nothing was changed"):
        catalog.put_episode(make_episode(), shots=SHOTS[:1], analyses=twice, config_fingerprint="new")
    assert catalog.get_shots(episode_id) == SHOTS
    assert catalog.get_shot_analyses(episode_id) == ANALYSES
    assert catalog.get_scenes(episode_id) == SCENES
    assert catalog.is_indexed("a" * 64, "old")


def test_a_failed_first_put_leaves_no_episode(catalog: Catalog) -> None:
    bad = ShotAnalysis(0, 3, 1.0, "sideways")  # type: ignore[arg-type]  # violates the CHECK constraint
    with pytest.raises(CatalogError):
        catalog.put_episode(make_episode(), shots=SHOTS, analyses=[bad])
    assert catalog.episode_id("a" * 64) is None
    for table in ("episodes", *CHILD_TABLES):
        assert count_rows(catalog.path, table) == 0, table


def test_an_exception_midway_rolls_back(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    episode_id = put_full(catalog)
    catalog.record_failure("/anime/ep01.mkv", "old failure")

    row = catalog_module._child_row

    def explode(episode_id: int, item: object) -> dict[str, object]:
        if isinstance(item, ShotAnalysis):
            raise RuntimeError("disk on fire")
        return row(episode_id, item)

    # Analyses are written last, after the episode row, shots, scenes and lines were replaced.
    monkeypatch.setattr(catalog_module, "_child_row", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        catalog.put_episode(make_episode("other.mkv"), shots=SHOTS[:1], analyses=ANALYSES)
    assert catalog.get_episode(episode_id).path == "/anime/ep01.mkv"
    assert catalog.get_shots(episode_id) == SHOTS
    assert catalog.get_subtitle_lines(episode_id) == LINES
    assert len(catalog.failures()) == 1
    monkeypatch.undo()
    put_full(catalog)  # the connection is usable again: no transaction was left open
    assert catalog.failures().empty


def test_extra_that_is_not_json_raises_and_changes_nothing(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="JSON"):
        put_full(catalog, extra={"when": object()})
    assert catalog.episodes().empty


def test_remove_episode_cascades(catalog: Catalog) -> None:
    first = put_full(catalog)
    second = put_full(catalog, make_episode("ep02.mkv", "b" * 64))
    assert catalog.remove_episode("a" * 64)
    assert not catalog.remove_episode("a" * 64)
    for table in CHILD_TABLES:
        assert count_rows(catalog.path, table, first) == 0, table
        assert count_rows(catalog.path, table, second) > 0, table
    assert catalog.episodes()["episode_id"].tolist() == [second]


# -- batch support ---------------------------------------------------------------------------------


def test_failures_are_recorded_and_cleared_on_success(catalog: Catalog) -> None:
    catalog.record_failure(Path("/anime/ep01.mkv"), "first try")
    catalog.record_failure("/anime/ep01.mkv", "moov atom not found")
    catalog.record_failure("/anime/ep02.mkv", "no video stream")
    failures = catalog.failures().set_index("path")
    assert failures.loc["/anime/ep01.mkv", "error"] == "moov atom not found"
    assert failures.loc["/anime/ep01.mkv", "attempts"] == 2
    assert failures.loc["/anime/ep02.mkv", "attempts"] == 1
    assert str(failures["failed_at"].dtype) == "datetime64[us, UTC]"
    put_full(catalog)  # ep01 now indexes
    assert catalog.failures()["path"].tolist() == ["/anime/ep02.mkv"]


def test_is_indexed_needs_the_same_hash_and_fingerprint(catalog: Catalog) -> None:
    assert not catalog.is_indexed("a" * 64, "cfg")
    put_full(catalog, config_fingerprint="cfg")
    assert catalog.is_indexed("a" * 64, "cfg")
    assert not catalog.is_indexed("a" * 64, "other-cfg")
    assert not catalog.is_indexed("b" * 64, "cfg")


# -- migrations and bad files ----------------------------------------------------------------------


def make_v1_file(path: Path) -> None:
    """A catalog as the first release wrote it: only migration 1, with one episode in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO episodes (content_hash, path, size_bytes, container, codec, width, height, fps, "
            "frames, duration_seconds, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("c" * 64, "/old/ep.mkv", 10, "mp4", "h264", 320, 240, 24.0, 48, 2.0, "2024-01-02T03:04:05+00:00"),
        )
        conn.execute("INSERT INTO shots VALUES (1, 0, 0, 48, 0.0, 2.0, 'start')")
        conn.execute("INSERT INTO shot_analyses VALUES (1, 0, 24, 12.0, 'twos', 'static', 0.1, 0.5, '[\"on-twos\"]')")
    finally:
        conn.close()


def test_a_v1_file_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / CATALOG_FILENAME
    make_v1_file(path)
    with Catalog(path) as catalog:
        assert catalog.schema_version == Catalog.SCHEMA_VERSION
        episode = catalog.episodes().iloc[0]
        assert episode["path"] == "/old/ep.mkv"
        assert episode["config_fingerprint"] == ""
        assert episode["extra"] == {}
        assert episode["indexed_at"] == pd.Timestamp("2024-01-02T03:04:05", tz="UTC")
        assert catalog.get_shots(1) == [Shot(0, 48, 0.0, 2.0, "start")]
        analyses = catalog.shot_analyses(1)
        assert analyses["tags"].tolist() == [["on-twos"]] and analyses["loops"].tolist() == [[]]
        assert catalog.is_indexed("c" * 64, "")  # old rows count as indexed with an empty fingerprint
        catalog.record_failure("/old/bad.mkv", "oops")  # the v2 table exists
        assert len(catalog.failures()) == 1
    assert count_rows(path, "shots") == 1


def test_a_failing_migration_leaves_the_file_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / CATALOG_FILENAME
    make_v1_file(path)
    broken = (MIGRATIONS[0], (*MIGRATIONS[1], "CREATE TABLE episodes (x)"))  # last statement fails
    monkeypatch.setattr(catalog_module, "MIGRATIONS", broken)
    with pytest.raises(CatalogError, match="version 1 to 2"):
        Catalog(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "config_fingerprint" not in [row[1] for row in conn.execute("PRAGMA table_info(episodes)")]
    finally:
        conn.close()


def test_a_file_from_a_newer_version_raises(tmp_path: Path) -> None:
    path = tmp_path / CATALOG_FILENAME
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(CatalogError) as info:
        Catalog(path)
    message = str(info.value)
    assert str(path) in message
    assert "99" in message and str(Catalog.SCHEMA_VERSION) in message
    assert "upgrade animevid" in message


def test_a_garbage_file_raises_naming_it(tmp_path: Path) -> None:
    path = tmp_path / CATALOG_FILENAME
    path.write_bytes(b"this is not sqlite, just some bytes " * 200)
    with pytest.raises(CatalogError, match="not a readable SQLite database") as info:
        Catalog(path)
    assert str(path) in str(info.value)


# -- pandas dtypes ---------------------------------------------------------------------------------

READERS = ("episodes", "shots", "scenes", "subtitle_lines", "shot_analyses", "characters", "failures")


@pytest.mark.parametrize("reader", READERS)
def test_empty_and_full_frames_have_the_same_typed_columns(tmp_path: Path, reader: str) -> None:
    with Catalog.in_library(tmp_path) as catalog:
        empty = getattr(catalog, reader)()
        put_full(catalog)
        catalog.add_character(Character("Himmel", images=1))
        catalog.record_failure("/anime/bad.mkv", "broken")
        full = getattr(catalog, reader)()
    assert empty.empty and not full.empty
    assert list(empty.columns) == list(full.columns)
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()


def test_numeric_columns_are_int64_and_float64(catalog: Catalog) -> None:
    put_full(catalog)
    episodes = catalog.episodes()
    for name in ("episode_id", "size_bytes", "width", "height", "frames"):
        assert episodes[name].dtype == "int64", name
    for name in ("fps", "duration_seconds"):
        assert episodes[name].dtype == "float64", name
    shots = catalog.shots()
    assert shots["start_frame"].dtype == "int64" and shots["start_seconds"].dtype == "float64"
    analyses = catalog.shot_analyses()
    assert analyses["drawings"].dtype == "int64" and analyses["sakuga_score"].dtype == "float64"
    # A whole-number float must stay float, not be inferred as an int.
    assert catalog.scenes()["start_seconds"].dtype == "float64"
    assert catalog.episodes()["path"].dtype == "str"


def test_opening_waits_for_another_process_creating_the_catalog(tmp_path: Path) -> None:
    # Two `animevid index` runs on a new library: the switch to write-ahead logging got
    # "database is locked" at once while the other one held the new file (a CatalogError).
    import sqlite3
    import threading

    path = tmp_path / "catalog.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE creating (a)")
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    try:
        with Catalog(path) as catalog:
            assert catalog.schema_version == Catalog.SCHEMA_VERSION
    finally:
        other.close()
