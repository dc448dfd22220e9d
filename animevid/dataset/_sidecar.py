"""Studio and staff fields a user gives in a sidecar file (JSON or YAML), per series or per episode file.

Shape (every part optional; any field may appear, ``studio`` and ``staff`` get their own columns)::

    series:                       # by the title animevid reads from the file name (EpisodeFacts.series)
      "Sousou no Frieren":
        studio: Madhouse
        staff: {director: Keiichiro Saito, character_design: Reiko Nagasawa}
    episodes:                     # by file name (no folder); overrides the series' fields
      "[Group] Sousou no Frieren - 05 [1080p].mkv":
        staff: {episode_director: ..., key_animation: [..., ...]}

An episode's fields are its series' fields updated by its own (``staff`` merged key by key).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from animevid.dataset._options import ExportError


class Sidecar:
    """A loaded sidecar file (or none): the credits of each episode."""

    def __init__(self, data: dict[str, Any] | None = None, digest: str = "") -> None:
        self.data = data or {}
        self.digest = digest
        """sha256 of the file's bytes ("" without a file): part of the export's settings."""

    @classmethod
    def load(cls, path: str | Path | None) -> Sidecar:
        """Read a JSON or YAML sidecar.

        Raises:
            ExportError: The file is missing, does not parse, or has another shape than documented.
        """
        if path is None:
            return cls()
        file = Path(path)
        try:
            raw = file.read_bytes()
            data = json.loads(raw) if file.suffix.lower() == ".json" else yaml.safe_load(raw)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExportError(f"metadata file {file}: cannot be read ({reason}); give a JSON or YAML file") from None
        data = data or {}
        bad = _shape_problem(data)
        if bad:
            raise ExportError(
                f"metadata file {file}: {bad}; expected {{series: {{TITLE: {{studio, staff, ...}}}}, "
                "episodes: {FILE NAME: {...}}}"
            )
        return cls(data, hashlib.sha256(raw).hexdigest())

    def credits(self, series: str, file_name: str) -> dict[str, Any]:
        """The fields of one episode: its series' updated by its own."""
        merged: dict[str, Any] = dict(self.data.get("series", {}).get(series) or {})
        own = dict(self.data.get("episodes", {}).get(file_name) or {})
        staff = {**(merged.get("staff") or {}), **(own.pop("staff", None) or {})}
        merged.update(own)
        if staff:
            merged["staff"] = staff
        return merged


def _shape_problem(data: object) -> str:
    if not isinstance(data, dict):
        return "the top level is not a mapping"
    unknown = sorted(set(data) - {"series", "episodes"})
    if unknown:
        return f"unknown top-level key {unknown[0]!r} (use series and episodes)"
    for part in ("series", "episodes"):
        entries = data.get(part) or {}
        if not isinstance(entries, dict):
            return f"{part} is not a mapping of names to fields"
        for name, fields in entries.items():
            if not isinstance(fields, dict):
                return f"{part}[{name!r}] is not a mapping of fields"
            if "staff" in fields and not isinstance(fields["staff"], dict):
                return f"{part}[{name!r}].staff is not a mapping of roles to names"
    return ""
