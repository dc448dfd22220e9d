"""Where clips go: plain files, files plus one parquet table, or WebDataset tar shards.

The WebDataset layout is video2dataset's: ``{shard:05d}.tar`` holding ``{key}.mp4``, ``{key}.json``
(the clip's metadata) and ``{key}.txt`` (its dialogue), with ``{shard:05d}.parquet`` (one metadata
row per clip) and ``{shard:05d}_stats.json`` (count, successes, failed_to_download,
failed_to_resize, duration, bytes_downloaded, start_time, end_time, status_dict) beside each shard.
Extra sizes are extra members ``{key}.{size}.mp4`` (the first size asked for is ``{key}.mp4``).

Every file appears under its final name only once complete (written under ``.partial`` and renamed);
tar members carry fixed owners and times, so an export run twice writes the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from animevid.dataset._options import ExportStats
from animevid.library import flush_file, sync_folder, write_atomically

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("status", pa.string()),
        ("unit", pa.string()),
        ("episode", pa.string()),
        ("episode_path", pa.string()),
        ("content_hash", pa.string()),
        ("series", pa.string()),
        ("episode_number", pa.string()),
        ("index", pa.int64()),
        ("start_frame", pa.int64()),
        ("end_frame", pa.int64()),
        ("frames", pa.int64()),
        ("start_seconds", pa.float64()),
        ("end_seconds", pa.float64()),
        ("duration_seconds", pa.float64()),
        ("fps", pa.float64()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        ("encoding", pa.string()),
        ("cadence", pa.string()),
        ("drawings_per_second", pa.float64()),
        ("camera", pa.string()),
        ("motion", pa.float64()),
        ("tags", pa.list_(pa.string())),
        ("sakuga_score", pa.float64()),
        ("characters", pa.list_(pa.string())),
        ("dialogue", pa.string()),
        ("segment", pa.string()),
        ("repeated", pa.bool_()),
        ("studio", pa.string()),
        ("files", pa.string()),
        ("lines", pa.string()),
        ("loop", pa.string()),
        ("staff", pa.string()),
        ("credits", pa.string()),
    ]
)
"""Columns of the parquet tables: nested fields (files, lines, loop, staff, credits) as JSON text."""

_JSON_COLUMNS = ("files", "lines", "loop", "staff", "credits")


def parquet_row(meta: dict[str, Any]) -> dict[str, Any]:
    """A clip's metadata as one row of :data:`SCHEMA`."""
    row = {name: meta.get(name) for name in SCHEMA.names}
    for name in _JSON_COLUMNS:
        row[name] = None if meta.get(name) is None else json.dumps(meta[name], sort_keys=True, ensure_ascii=False)
    number = meta.get("episode_number")
    row["episode_number"] = None if number is None else str(number)
    return row


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    write_atomically(path, lambda p: pq.write_table(table, p))


def _write_json(path: Path, data: object) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomically(path, lambda p: _write_text(p, text))


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def member_names(key: str, sizes: tuple[str, ...]) -> dict[str, str]:
    """File name of each size of a clip: the first size is ``{key}.mp4``, others ``{key}.{size}.mp4``."""
    return {size: f"{key}.mp4" if n == 0 else f"{key}.{size}.mp4" for n, size in enumerate(sizes)}


class Sink:
    """Receives the clips of one shard after another; subclasses write one format."""

    def __init__(self, out: Path, sizes: tuple[str, ...]) -> None:
        self.out, self.sizes = out, sizes
        self.rows: list[dict[str, Any]] = []
        self.files: list[str] = []
        self.started = time.time()

    def open_shard(self, shard: int) -> None:
        """Start shard ``shard`` (0-based)."""
        self.shard, self.rows, self.files, self.started = shard, [], [], time.time()

    def add(self, key: str, clips: dict[str, Path], meta: dict[str, Any], text: str) -> None:
        """Take one clip: its files by size (moved or copied away), metadata and dialogue."""
        raise NotImplementedError

    def close_shard(self, stats: ExportStats) -> list[str]:
        """Make the shard's files durable under their final names; returns them, relative to the output folder."""
        return self.files

    def finish(self, shards: list[int]) -> list[str]:
        """Write what covers every shard (after the last); returns the files written."""
        return []

    def _place(self, key: str, clips: dict[str, Path]) -> None:
        """Move the clip files to ``clips/`` under their member names."""
        folder = self.out / "clips"
        folder.mkdir(parents=True, exist_ok=True)
        names = member_names(key, self.sizes)
        for size, path in clips.items():
            target = folder / names[size]
            flush_file(path)
            os.replace(path, target)
            self.files.append(f"clips/{names[size]}")


class FilesSink(Sink):
    """``clips/{key}.mp4`` (+ ``{key}.{size}.mp4``), ``clips/{key}.json`` and ``clips/{key}.txt``."""

    def add(self, key: str, clips: dict[str, Path], meta: dict[str, Any], text: str) -> None:
        self._place(key, clips)
        _write_json(self.out / "clips" / f"{key}.json", meta)
        write_atomically(self.out / "clips" / f"{key}.txt", lambda p: _write_text(p, text))
        self.files += [f"clips/{key}.json", f"clips/{key}.txt"]

    def close_shard(self, stats: ExportStats) -> list[str]:
        sync_folder(self.out / "clips") if (self.out / "clips").is_dir() else None
        return self.files


class ParquetSink(Sink):
    """``clips/{key}.mp4`` and one ``clips.parquet`` (a part per shard while the export runs)."""

    def add(self, key: str, clips: dict[str, Path], meta: dict[str, Any], text: str) -> None:
        self._place(key, clips)
        self.rows.append(parquet_row(meta))

    def close_shard(self, stats: ExportStats) -> list[str]:
        parts = self.out / ".animevid-export-parts"
        parts.mkdir(exist_ok=True)
        _write_parquet(parts / f"{self.shard:05d}.parquet", self.rows)
        return self.files

    def finish(self, shards: list[int]) -> list[str]:
        parts = self.out / ".animevid-export-parts"
        tables = [pq.read_table(parts / f"{n:05d}.parquet") for n in shards]
        table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
        write_atomically(self.out / "clips.parquet", lambda p: pq.write_table(table, p))
        return ["clips.parquet"]


class WebDatasetSink(Sink):
    """video2dataset's layout: ``{shard}.tar`` + ``{shard}.parquet`` + ``{shard}_stats.json``."""

    def open_shard(self, shard: int) -> None:
        super().open_shard(shard)
        self.name = f"{shard:05d}"
        self.partial = self.out / f"{self.name}.tar.partial"
        self.tar = tarfile.open(self.partial, "w", format=tarfile.USTAR_FORMAT)  # noqa: SIM115 - open across add()s

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        self.tar.addfile(info, io.BytesIO(data))

    def add(self, key: str, clips: dict[str, Path], meta: dict[str, Any], text: str) -> None:
        names = member_names(key, self.sizes)
        for size, path in clips.items():
            self._member(names[size], path.read_bytes())
            path.unlink()
        self._member(f"{key}.json", json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False).encode())
        self._member(f"{key}.txt", text.encode("utf-8"))
        self.rows.append(parquet_row(meta))

    def close_shard(self, stats: ExportStats) -> list[str]:
        self.tar.close()
        tar = self.out / f"{self.name}.tar"
        flush_file(self.partial)
        os.replace(self.partial, tar)
        _write_parquet(self.out / f"{self.name}.parquet", self.rows)
        ended = time.time()
        status = {"success": stats.clips, "duplicate": stats.duplicates, "failed": stats.failed}
        status.update({f"skipped_{reason}": count for reason, count in stats.skipped.items()})
        _write_json(
            self.out / f"{self.name}_stats.json",
            {
                "count": stats.considered,
                "successes": stats.clips,
                "failed_to_download": stats.failed,
                "failed_to_resize": 0,
                "duration": round(ended - self.started, 3),
                "bytes_downloaded": stats.bytes,
                "start_time": self.started,
                "end_time": ended,
                "status_dict": status,
                "animevid": stats.as_dict(),
            },
        )
        sync_folder(self.out)
        return [f"{self.name}.tar", f"{self.name}.parquet", f"{self.name}_stats.json"]

    def abandon(self) -> None:
        """Drop the shard being written (an interrupted run)."""
        self.tar.close()
        self.partial.unlink(missing_ok=True)


SINKS: dict[str, type[Sink]] = {"files": FilesSink, "parquet": ParquetSink, "webdataset": WebDatasetSink}
