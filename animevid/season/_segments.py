"""What recurring footage is (op, ed, eyecatch, recap, preview, reused), and finding it in a library.

Seasons are the indexed episodes of one folder, in episode order (the number in the release name,
else the file name). Rules, from a family's episodes and where it sits in each:

- in 3 or more episodes: ``op`` when it starts in the first 40 % of most of them, ``ed`` when it ends
  in the last 40 %, else ``eyecatch`` (under 10 s) or ``reused``;
- in 2 episodes, both early, neither with an OP yet (a second OP used by two episodes): ``op``;
- in 2 consecutive episodes, early in the later one: ``recap`` there (its source is ordinary content);
- in 2 consecutive episodes, late in the earlier one and after its ED: ``preview`` there;
- otherwise ``reused`` wherever it is shown (bank footage).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from animevid.catalog import Catalog
from animevid.library import Library, write_atomically
from animevid.model import SegmentKind
from animevid.releases import episode_number
from animevid.search import SearchIndex
from animevid.season._repeats import Family, Kept, Run, families, pair_runs

EARLY = 0.4
"""A family starting within this share of an episode is early (OP, recap)."""
LATE = 0.6
"""A family ending after this share of an episode is late (ED, preview)."""
EYECATCH_SECONDS = 10.0
"""Recurring footage in the middle of episodes shorter than this is an eyecatch."""
SAME_EPISODE_SHARE = 0.8
"""Two files showing each other over this share of both are two releases of one episode (a v2, another
group's encode, a copy with other sound), not a season's recurring footage: that pair marks nothing."""


@dataclass(frozen=True)
class Segment:
    """A range of an episode that other episodes of its season show too."""

    episode_id: int
    kind: SegmentKind
    start_frame: int
    end_frame: int
    start_seconds: float
    end_seconds: float
    family: int
    """Segments showing the same footage share this number (within one run of the finder)."""
    episodes: int
    """How many episodes of the season show it."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class EpisodeFacts:
    episode_id: int
    path: str
    frames: int
    fps: float
    key: str = ""
    """Content hash and settings fingerprint: what a pair's cached runs depend on."""


def _order_key(path: str) -> tuple[float, str]:
    number = episode_number(path)
    if isinstance(number, (int, float)):
        return float(number), path
    digits = re.findall(r"\d+", Path(path).stem)
    return (float(digits[-1]) if digits else 1e9), path


def classify(found: list[Family], season: list[EpisodeFacts]) -> list[Segment]:
    """Name every family's ranges (see the module's rules)."""
    facts = {e.episode_id: e for e in season}
    order = {e.episode_id: k for k, e in enumerate(season)}
    segments: list[Segment] = []
    has_op: set[int] = set()
    wide = [f for f in found if len(f.members) >= 3]
    pairs = sorted((f for f in found if len(f.members) == 2), key=lambda f: _earliness(f, facts))
    for number, family in enumerate(wide + pairs):
        kinds = _kinds(family, facts, order, has_op)
        for episode_id, kind in kinds.items():
            if kind == "op":
                has_op.add(episode_id)
            fps = facts[episode_id].fps
            for start, end in family.members[episode_id]:
                segments.append(
                    Segment(episode_id, kind, start, end, start / fps, end / fps, number, len(family.members))
                )
    return _joined(segments)


def _where(family: Family, facts: dict[int, EpisodeFacts], episode_id: int) -> tuple[float, float]:
    start, end = family.span(episode_id)
    frames = max(1, facts[episode_id].frames)
    return start / frames, end / frames


def _earliness(family: Family, facts: dict[int, EpisodeFacts]) -> float:
    return sum(_where(family, facts, e)[0] for e in family.members)


def _kinds(
    family: Family, facts: dict[int, EpisodeFacts], order: dict[int, int], has_op: set[int]
) -> dict[int, SegmentKind]:
    """Episode id -> kind for one family (episodes left out are its unmarked sources)."""
    places = {e: _where(family, facts, e) for e in family.members}
    if len(family.members) >= 3:
        if np.median([s for s, _ in places.values()]) < EARLY:
            return dict.fromkeys(family.members, "op")
        if np.median([t for _, t in places.values()]) > LATE:
            return dict.fromkeys(family.members, "ed")
        start, end = family.span(next(iter(family.members)))
        short = (end - start) / facts[next(iter(family.members))].fps < EYECATCH_SECONDS
        return dict.fromkeys(family.members, "eyecatch" if short else "reused")
    first, second = sorted(family.members, key=order.__getitem__)
    if all(places[e][0] < EARLY for e in (first, second)) and not {first, second} & has_op:
        return {first: "op", second: "op"}
    if order[second] == order[first] + 1 and places[second][0] < EARLY:
        return {second: "recap"}
    if order[second] == order[first] + 1 and places[first][0] > LATE:
        return {first: "preview"}
    return {first: "reused", second: "reused"}


def _joined(segments: list[Segment]) -> list[Segment]:
    """Adjacent segments of one kind in one episode (a recap's pieces) become one."""
    out: list[Segment] = []
    for segment in sorted(segments, key=lambda s: (s.episode_id, s.start_frame)):
        last = out[-1] if out else None
        if (
            last is not None
            and last.episode_id == segment.episode_id
            and last.kind == segment.kind
            and segment.start_frame <= last.end_frame + 2
        ):
            out[-1] = replace(
                last,
                end_frame=max(last.end_frame, segment.end_frame),
                end_seconds=max(last.end_seconds, segment.end_seconds),
                episodes=max(last.episodes, segment.episodes),
            )
        else:
            out.append(segment)
    return out


def seasons(library: str | Path) -> list[list[EpisodeFacts]]:
    """The library's indexed episodes grouped by folder, each group in episode order."""
    grouped: dict[str, list[EpisodeFacts]] = {}
    with Catalog.in_library(library) as catalog:
        for stored in catalog.stored_episodes("indexed"):
            episode = catalog.get_episode(stored.episode_id)
            key = f"{stored.content_hash}:{stored.config_fingerprint}"
            facts = EpisodeFacts(stored.episode_id, episode.path, episode.frames, episode.fps or 24.0, key)
            grouped.setdefault(str(Path(episode.path).parent), []).append(facts)
    return [sorted(group, key=lambda e: _order_key(e.path)) for _, group in sorted(grouped.items())]


def _one_episode(runs: list[Run], a: EpisodeFacts, b: EpisodeFacts) -> bool:
    """Whether the pair's runs cover most of both files: two releases of one episode (:data:`SAME_EPISODE_SHARE`)."""

    def share(ranges: list[tuple[int, int]], frames: int) -> float:
        covered, reach = 0, 0
        for start, end in sorted(ranges):
            covered += max(0, end - max(start, reach))
            reach = max(reach, end)
        return covered / max(1, frames)

    return (
        share([(r.a_start, r.a_end) for r in runs], a.frames) >= SAME_EPISODE_SHARE
        and share([(r.b_start, r.b_end) for r in runs], b.frames) >= SAME_EPISODE_SHARE
    )


def _kept(index: SearchIndex, facts: EpisodeFacts) -> Kept:
    frames = index.episode(facts.episode_id)
    starts = np.asarray(frames.frames, np.int64)
    until = np.append(starts[1:], max(facts.frames, int(starts[-1]) + 1 if len(starts) else 0))
    return Kept(facts.episode_id, starts, until, facts.fps, frames.descriptors, frames.thumbnails)


def find_segments(library: str | Path, *, store: bool = True, episodes: Collection[int] | None = None) -> list[Segment]:
    """Find the recurring footage of the seasons in a library; ``store`` writes the catalog's ``segments``.

    Args:
        library: The library folder.
        store: Replace the catalog's segments of the seasons looked at with what was found.
        episodes: Only the seasons holding one of these episode ids (None: every season).

    Raises:
        SearchError: The search index is missing or damaged (``animevid check --repair``).
    """
    folder = Path(library)
    found: list[Segment] = []
    with Library(folder).reading():
        groups = [g for g in seasons(folder) if episodes is None or {e.episode_id for e in g} & set(episodes)]
        index = SearchIndex.in_library(folder, indexed={e.episode_id: -1 for g in groups for e in g})
        for season in groups:
            if len(season) < 2:
                continue
            runs = _PairCache(folder, index).runs(season)
            offset = len({s.family for s in found})
            found += [replace(s, family=s.family + offset) for s in classify(families(runs), season)]
    if store:
        with Library(folder).writing(), Catalog.in_library(folder) as catalog:
            catalog.set_segments([e.episode_id for g in groups for e in g], [s.as_dict() for s in found])
    return found


PAIRS_DIRNAME = "season-pairs"
"""``<library>/index/season-pairs/``: each compared pair's runs, so adding an episode compares only its pairs."""
RUNS_VERSION = 1
"""Bumped when what a pair's runs are changes (thresholds, rules); older cached runs are then recomputed."""


class _PairCache:
    """Runs of every pair of a season, read from the cache when both episodes are unchanged."""

    def __init__(self, folder: Path, index: SearchIndex) -> None:
        self.folder = folder / "index" / PAIRS_DIRNAME
        self.index = index
        self._kept: dict[int, Kept] = {}

    def runs(self, season: list[EpisodeFacts]) -> list[Run]:
        found: list[Run] = []
        for a, b in combinations(season, 2):
            pair = self._pair(a, b)
            if not _one_episode(pair, a, b):
                found += pair
        return found

    def _pair(self, a: EpisodeFacts, b: EpisodeFacts) -> list[Run]:
        name = hashlib.sha256(f"{RUNS_VERSION}|{a.key}|{b.key}".encode()).hexdigest()[:32] + ".json"
        path = self.folder / name
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            return [Run(**{**r, "a": a.episode_id, "b": b.episode_id}) for r in cached]
        except (OSError, ValueError, TypeError):
            pass  # not compared yet (or unreadable): compare again
        found = pair_runs(self._of(a), self._of(b))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps([asdict(r) for r in found])

            def write(temporary: Path) -> None:
                temporary.write_text(text, encoding="utf-8")

            write_atomically(path, write)
        except OSError:
            pass  # a read-only library: the runs are simply not kept
        return found

    def _of(self, facts: EpisodeFacts) -> Kept:
        if facts.episode_id not in self._kept:
            self._kept[facts.episode_id] = _kept(self.index, facts)
        return self._kept[facts.episode_id]
