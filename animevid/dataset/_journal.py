"""The export's journal: its settings and the shards already finished, so a killed export resumes.

``{out}/.animevid-export.json`` holds the settings and their digest, and one record per finished
shard: its files, its clips (with their near-duplicate signatures), its counts, and the cursor
(the episode and candidate it ended on). It is rewritten atomically after each shard, after the
shard's own files, so it never names a shard that is not complete.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from animevid.dataset._options import ExportError, ExportStats
from animevid.library import write_atomically

JOURNAL_NAME = ".animevid-export.json"
VERSION = 1


def settings_digest(settings: dict[str, Any]) -> str:
    """sha256 of the settings' canonical JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


@dataclass
class Journal:
    """What earlier runs of this export finished."""

    path: Path
    settings: dict[str, Any]
    shards: list[dict[str, Any]] = field(default_factory=list)
    tail: dict[str, Any] | None = None
    """Counts after the last shard (candidates that gave no clip), written when the export completes."""
    complete: bool = False

    @classmethod
    def open(cls, out: Path, settings: dict[str, Any]) -> Journal:
        """The journal of ``out``, new when there is none.

        Raises:
            ExportError: ``out`` holds an export made with other settings, or an unreadable journal.
        """
        path = out / JOURNAL_NAME
        if not path.is_file():
            if any(p.name not in (".animevid-export-work",) for p in out.iterdir()):
                raise ExportError(
                    f"{out}: the folder is not empty and holds no animevid export; give an empty or new --out folder"
                )
            journal = cls(path, settings)
            journal.save()  # at once: a run killed before its first shard still leaves a folder to resume
            return journal
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ExportError(
                f"{path}: the export journal cannot be read ({exc}); delete {out} and export again"
            ) from None
        if data.get("digest") != settings_digest(settings):
            raise ExportError(
                f"{out}: holds an export made with other settings ({_difference(data.get('settings', {}), settings)}); "
                "re-run with the same options to resume it, or give another --out folder"
            )
        return cls(path, settings, list(data.get("shards", [])), data.get("tail"), bool(data.get("complete")))

    def save(self) -> None:
        """Write the journal atomically."""
        data = {
            "version": VERSION,
            "digest": settings_digest(self.settings),
            "settings": self.settings,
            "shards": self.shards,
            "tail": self.tail,
            "complete": self.complete,
        }
        text = json.dumps(data, indent=1, sort_keys=True) + "\n"
        write_atomically(self.path, lambda p: _write_text(p, text))

    def totals(self) -> ExportStats:
        """Counts of every finished shard (and the tail)."""
        total = ExportStats()
        for record in [*self.shards, *([self.tail] if self.tail else [])]:
            total.add(ExportStats.from_dict(record["stats"]))
        return total


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in json.loads(json.dumps(settings)).items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = value
    return out


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The first settings that differ, as ``name: old there, new now``."""
    before, after = _flat(old), _flat(new)
    names = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    return "; ".join(f"{n}: {before.get(n)!r} there, {after.get(n)!r} now" for n in names[:3]) or "another version"
