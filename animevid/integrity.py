"""``animevid check``: does the library's catalog agree with its search index, and mend what is derived.

The catalog is the truth of what is indexed; each episode's search files
(``index/episodes/<id>.npz|.npy``) are its own store; ``vectors.faiss`` is derived from those
files. What a kill, a full disk or a damaged file can leave, and what a repair does:

- an episode left ``pending`` (its commit was interrupted) and no live process working on it:
  its search files and vectors are removed and it is marked ``damaged``: index it again;
- an ``indexed`` episode whose search files are missing or unreadable: the same;
- ``vectors.faiss`` missing, damaged, stale or holding other vectors than the catalog's
  episodes own: rebuilt from the per-episode files;
- search files of no catalog episode, temporary files of no live process: removed.

``animevid index`` runs the quick form (files are only looked for, not read) before each batch,
so a re-run repairs what an interrupted one left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from animevid.catalog import CATALOG_FILENAME, Catalog, StoredEpisode
from animevid.characters import FACES_STORE, faces_file
from animevid.config import SearchConfig
from animevid.errors import SearchError
from animevid.library import Library, WaitCallback, episode_array_files, remove_episode_arrays
from animevid.search import SearchIndex
from animevid.search._store import INDEX_DIRNAME

__all__ = ["CheckReport", "Finding", "check_library", "repair_before_batch"]


@dataclass
class Finding:
    """One thing wrong with a library."""

    problem: str
    """What is wrong."""
    action: str
    """What the repair does (or did); for an episode to index again, the command."""
    repaired: bool = False
    """The repair was made."""
    episode_id: int | None = None
    """The episode concerned, if one is."""


@dataclass
class CheckReport:
    """What ``animevid check`` found (and, with ``--repair``, mended)."""

    library: Path
    """The library folder."""
    episodes: int = 0
    """Episode rows in the catalog."""
    indexed: int = 0
    """Episodes whose every store is committed."""
    vectors: int = 0
    """Vectors in the FAISS index (after a repair)."""
    failures: int = 0
    """Files recorded as failed by a batch (``animevid info --library`` lists them)."""
    findings: list[Finding] = field(default_factory=list)
    """What is wrong, in the order found."""

    @property
    def ok(self) -> bool:
        """Nothing is wrong, or everything found was repaired."""
        return all(f.repaired for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["library"] = str(self.library)
        data["ok"] = self.ok
        return data


def check_library(
    folder: str | Path,
    *,
    config: SearchConfig | None = None,
    repair: bool = False,
    thorough: bool = True,
    on_wait: WaitCallback | None = None,
) -> CheckReport:
    """Check that the catalog and the search index agree; with ``repair``, mend what can be.

    Args:
        folder: The library folder.
        config: Search options (index kinds, when FAISS is rebuilt).
        repair: Rebuild what is derived, remove leftovers, mark episodes whose stores are lost.
        thorough: Read every episode's search files (False: only look for them, as each
            ``animevid index`` batch does before it starts).
        on_wait: Told when another process holds the library's lock.

    Raises:
        CatalogError: The catalog cannot be opened (not SQLite, newer version).
    """
    library = Library(folder)
    report = CheckReport(library=library.folder)
    if not (library.folder / CATALOG_FILENAME).is_file():
        if (library.folder / INDEX_DIRNAME).is_dir():
            report.findings.append(Finding("the search index has no catalog beside it", "index the episodes again"))
        return report
    lock = library.writing if repair else library.reading
    with lock(on_wait=on_wait), Catalog.in_library(library.folder) as catalog:
        _check(library, catalog, SearchIndex.in_library(library.folder, config=config), report, repair, thorough)
    return report


def _check(
    library: Library, catalog: Catalog, index: SearchIndex, report: CheckReport, repair: bool, thorough: bool
) -> None:
    health = catalog.check_integrity()
    if health != "ok":
        hint = f"copy the library aside and run `sqlite3 {catalog.path} .recover`, or index the episodes again"
        report.findings.append(Finding(f"the catalog file is damaged: {health}", hint))
        return
    stored = catalog.stored_episodes()
    report.episodes = len(stored)
    report.failures = len(catalog.failures())
    lost = _lost_episodes(library, catalog, index, stored, thorough)
    lost += _lost_faces(library, catalog, stored, {e.episode_id for e, _ in lost})
    for episode, problem in lost:
        report.findings.append(_lost_finding(library, episode, problem, repair))
    if repair and lost:
        index.remove_episodes(episode.episode_id for episode, _ in lost)
        for episode, _ in lost:
            remove_episode_arrays(index.folder, episode.episode_id)
            catalog.set_state(episode.episode_id, "damaged")
    gone = {episode.episode_id for episode, _ in lost}
    indexed = [e for e in stored if e.state == "indexed" and e.episode_id not in gone]
    report.indexed = len(indexed)
    _check_vectors(index, indexed, report, repair)
    _check_leftovers(library, index, stored, report, repair)


def _lost_episodes(
    library: Library, catalog: Catalog, index: SearchIndex, stored: list[StoredEpisode], thorough: bool
) -> list[tuple[StoredEpisode, str]]:
    """Episodes whose indexing cannot count: interrupted, or indexed with a store missing or damaged."""
    lost = []
    for episode in stored:
        if episode.state == "pending" and not library.claimed_elsewhere(episode.content_hash):
            lost.append((episode, "its indexing was interrupted before every store was written"))
        elif episode.state == "indexed":
            problem = _episode_files_problem(index, episode, thorough)
            if problem:
                lost.append((episode, problem))
    return lost


def _lost_faces(
    library: Library, catalog: Catalog, stored: list[StoredEpisode], already: set[int]
) -> list[tuple[StoredEpisode, str]]:
    """Indexed episodes with faces in the catalog whose vectors file (``index/faces/<id>.npz``) is gone."""
    counts = catalog.face_counts()
    lost = []
    for episode in stored:
        if episode.state != "indexed" or episode.episode_id in already or not counts.get(episode.episode_id):
            continue
        if not faces_file(library.folder, episode.episode_id).is_file():
            problem = f"its face file {FACES_STORE}/{episode.episode_id}.npz is missing"
            lost.append((episode, problem))
    return lost


def _episode_files_problem(index: SearchIndex, episode: StoredEpisode, thorough: bool) -> str:
    missing = index.missing_files(episode.episode_id)
    if missing:
        return f"its search file {' and '.join(missing)} is missing"
    if not thorough:
        return ""
    try:
        frames = index.episode(episode.episode_id)
    except SearchError as exc:
        return str(exc).split("; run `")[0].split(": ", 1)[-1]
    if episode.search_vectors >= 0 and frames.vector_count != episode.search_vectors:
        return f"its search files hold {frames.vector_count} vectors, the catalog says {episode.search_vectors}"
    return ""


def _lost_finding(library: Library, episode: StoredEpisode, problem: str, repair: bool) -> Finding:
    again = f"animevid index {_quoted(episode.path)} --library {_quoted(str(library.folder))}"
    action = f"its search files are removed and it is marked damaged; index it again: {again}"
    return Finding(f"episode {episode.episode_id} ({episode.path}): {problem}", action, repair, episode.episode_id)


def _check_vectors(index: SearchIndex, indexed: list[StoredEpisode], report: CheckReport, repair: bool) -> None:
    """The FAISS index must hold exactly the vectors of the indexed episodes."""
    expected = {e.episode_id: e.search_vectors for e in indexed}
    problem = _vectors_problem(index, expected)
    if problem:
        report.findings.append(
            Finding(f"the search index: {problem}", "vectors.faiss is rebuilt from the episodes' files", repair)
        )
        if repair:
            index.rebuild(episode_ids=sorted(expected))
    if not problem or repair:
        report.vectors = index.count


def _vectors_problem(index: SearchIndex, expected: dict[int, int]) -> str:
    reader = SearchIndex(index.folder, config=index.config, indexed=expected)
    try:
        counts = reader.vector_counts()
    except SearchError as exc:
        return str(exc).split("; run `")[0].split(": ", 1)[-1]
    for episode_id in expected:
        if expected[episode_id] < 0:  # indexed before the catalog counted vectors: its file tells
            expected[episode_id] = len(index.episode(episode_id))
    if counts == {e: n for e, n in expected.items() if n}:
        return ""
    foreign = sorted(set(counts) - set(expected))
    if foreign:
        return f"it holds vectors of {len(foreign)} episode(s) the catalog does not count as indexed ({foreign[0]}...)"
    short = next(e for e in expected if counts.get(e, 0) != expected[e])
    return f"episode {short} has {counts.get(short, 0)} vectors there, its files hold {expected[short]}"


def _check_leftovers(
    library: Library, index: SearchIndex, stored: list[StoredEpisode], report: CheckReport, repair: bool
) -> None:
    """Search files of no catalog episode, and temporary files no live process is writing."""
    known = {str(e.episode_id) for e in stored}
    folder = index.folder / "episodes"
    orphans = [p for p in folder.glob("*.np[yz]") if p.stem not in known] if folder.is_dir() else []
    orphans += [p for p in episode_array_files(index.folder) if p.stem not in known]  # the stages' array stores
    partial = [*index.folder.rglob("*.partial")] if index.folder.is_dir() else []
    if library.tmp.is_dir():
        partial += [p for p in library.tmp.glob("*.partial") if not library.claimed_elsewhere(p.name.split(".")[0])]
    for paths, what in ((orphans, "search files of no catalog episode"), (partial, "unfinished temporary files")):
        if paths:
            names = ", ".join(p.name for p in paths[:3]) + (" ..." if len(paths) > 3 else "")
            report.findings.append(Finding(f"{len(paths)} {what} ({names})", "they are removed", repair))
            if repair:
                for path in paths:
                    path.unlink(missing_ok=True)


def _quoted(text: str) -> str:
    return f"'{text}'" if any(c in text for c in " '\"$`\\") else text


def repair_before_batch(folder: Path, *, config: SearchConfig, on_wait: WaitCallback | None) -> list[str]:
    """The quick check with repair that ``animevid index`` runs before a batch: what it mended, as notes."""
    report = check_library(folder, config=config, repair=True, thorough=False, on_wait=on_wait)
    return [f"{f.problem}; {f.action}" for f in report.findings]
