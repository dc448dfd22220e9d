"""What an export is asked for (filters, sizes, format) and what it reports, with its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from animevid.errors import AnimevidError
from animevid.model import CADENCE_NAMES

ExportFormat = Literal["files", "parquet", "webdataset"]
"""files: clips/{key}.mp4 + .json + .txt; parquet: clips/{key}.mp4 + clips.parquet; webdataset: tar shards."""
FORMATS: tuple[str, ...] = get_args(ExportFormat)
ClipUnit = Literal["shot", "loop", "scene"]
"""What one clip is: a shot, a loop found in a shot (every repeat), or a scene (its shots together)."""
UNITS: tuple[str, ...] = get_args(ClipUnit)
Encoding = Literal["copy", "reencode"]
"""How a clip file was made: packets copied from the episode, or frames decoded and encoded again."""

SKIP_REASONS: tuple[str, ...] = ("duration", "cadence", "sakuga", "tags", "character", "dialogue", "repeated")
"""Filters in the order they are tried; a clip counts as skipped by the first that rejects it."""


class ExportError(AnimevidError):
    """A clip export cannot run as asked (bad options, a folder holding another export, an unreadable sidecar)."""


class ClipCutError(AnimevidError):
    """One clip could not be cut from its episode (recorded as a failure; the export goes on)."""


@dataclass(frozen=True)
class ClipFilter:
    """Which clips to keep. Every filter left at its default keeps everything.

    A clip without a shot analysis is dropped by the cadence, sakuga and tag filters when they are set.
    """

    min_seconds: float = 0.0
    """Shortest clip kept (seconds)."""
    max_seconds: float | None = None
    """Longest clip kept (seconds); None: no limit."""
    cadences: tuple[str, ...] = ()
    """Keep clips on one of these cadences (ones, twos, threes, mixed, still); empty: any."""
    min_sakuga: float = 0.0
    """Lowest sakuga score kept (0..1)."""
    tags_any: tuple[str, ...] = ()
    """Keep clips with at least one of these tags; empty: any."""
    tags_all: tuple[str, ...] = ()
    """Keep clips with every one of these tags."""
    character: str | None = None
    """Keep clips where this character was recognised (case-insensitive)."""
    has_dialogue: bool | None = None
    """True: only clips with a dialogue line; False: only clips without; None: both."""
    exclude_repeated: bool = False
    """Drop clips touching an OP, ED, recap, preview or eyecatch segment."""
    dedupe: bool = True
    """Drop clips that look like a clip already exported (reused footage), see :data:`DUPLICATE_MAX_DIFFERENCE`."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.cadences) - set(CADENCE_NAMES))
        if unknown:
            raise ExportError(f"unknown cadence {', '.join(unknown)}; use one of {', '.join(CADENCE_NAMES)}")
        if self.min_seconds < 0 or (self.max_seconds is not None and self.max_seconds < self.min_seconds):
            raise ExportError(
                f"clip length filter {self.min_seconds}..{self.max_seconds} s is empty; "
                "give --min-seconds >= 0 and --max-seconds >= --min-seconds"
            )
        if not 0.0 <= self.min_sakuga <= 1.0:
            raise ExportError(f"--min-sakuga is {self.min_sakuga}; sakuga scores lie in 0..1")


@dataclass(frozen=True)
class EpisodeFailure:
    """An episode whose clips could not be exported (recorded in the manifest; the export went on)."""

    episode: str
    """The episode's file name."""
    path: str
    """Where the catalog says the file is."""
    error: str
    """One line: what went wrong and what to do."""


@dataclass
class ExportStats:
    """Counts of one shard or of a whole export."""

    considered: int = 0
    """Candidate clips looked at (kept or not)."""
    clips: int = 0
    """Clips written."""
    seconds: float = 0.0
    """Length of the clips written."""
    bytes: int = 0
    """Bytes of the clip files written (every size)."""
    copied: int = 0
    """Clip files made by copying packets."""
    reencoded: int = 0
    """Clip files made by decoding and encoding again."""
    duplicates: int = 0
    """Clips left out as near-duplicates of a clip exported before."""
    failed: int = 0
    """Clips that could not be cut."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Clips left out, by the filter that rejected them (see :data:`SKIP_REASONS`)."""

    def add(self, other: ExportStats) -> None:
        """Add ``other``'s counts to these."""
        for name in ("considered", "clips", "copied", "reencoded", "duplicates", "failed", "bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds = round(self.seconds + other.seconds, 6)
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy."""
        return {
            "considered": self.considered,
            "clips": self.clips,
            "seconds": round(self.seconds, 6),
            "bytes": self.bytes,
            "copied": self.copied,
            "reencoded": self.reencoded,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "skipped": dict(sorted(self.skipped.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ExportStats:
        """The counts written by :meth:`as_dict`."""
        skipped = data.get("skipped") or {}
        assert isinstance(skipped, dict)
        return cls(
            considered=int(str(data["considered"])),
            clips=int(str(data["clips"])),
            seconds=float(str(data["seconds"])),
            bytes=int(str(data["bytes"])),
            copied=int(str(data["copied"])),
            reencoded=int(str(data["reencoded"])),
            duplicates=int(str(data["duplicates"])),
            failed=int(str(data["failed"])),
            skipped={str(k): int(v) for k, v in skipped.items()},
        )


@dataclass(frozen=True)
class ExportReport:
    """What :func:`animevid.dataset.export_clips` did."""

    out: Path
    """The export folder."""
    format: str
    """files, parquet or webdataset."""
    unit: str
    """shot, loop or scene."""
    stats: ExportStats
    """Counts over the whole export (resumed shards included)."""
    shards: int
    """Shards finished (a shard of the files and parquet formats is a group of clips in the journal)."""
    resumed_shards: int
    """Shards found finished by an earlier run and kept."""
    failures: tuple[EpisodeFailure, ...]
    """Episodes that could not be exported."""
    manifest: Path
    """The manifest written at the end."""
