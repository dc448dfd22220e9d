"""A library folder: where each store lives, who may write, and where errors are logged.

::

    <library>/catalog.sqlite   the catalog (animevid.catalog): the truth of what is indexed
    <library>/index/           the search index (animevid.search): per-episode files and FAISS
    <library>/logs/errors.log  tracebacks of unexpected errors (the terminal gets one line)
    <library>/tmp/             work in progress: a pass's thumbnails, episode claims
    <library>/.lock            the writer lock

An episode is indexed once every store it owns is durably written: writers put each file
under a temporary name, flush it to disk and rename it, and mark the episode ``indexed`` in the
catalog last, in one transaction (:func:`animevid.pipeline.index_episodes`). Whatever a kill
leaves half-done is either invisible (a pending episode, an orphan file) or repaired by the next
``animevid index`` or by ``animevid check --repair``.

Two processes may index into one library at once: each claims the episodes it works on
(:meth:`Library.claim`), so they share a batch instead of decoding an episode twice, and the
short commit of an episode's stores happens under the library's exclusive lock
(:meth:`Library.writing`), so no vector is lost. Readers take the lock shared
(:meth:`Library.reading`) and never see a half-written index.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np

try:  # POSIX; elsewhere the library is not locked (one writer at a time is then the user's job)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from animevid.errors import CatalogError

LOCK_FILENAME = ".lock"
"""The writer lock inside a library folder."""
LOG_DIRNAME = "logs"
"""Folder of the error log inside a library folder."""
ERROR_LOG = "errors.log"
"""Tracebacks of unexpected errors, appended."""
INDEX_DIRNAME = "index"
"""Folder of the search index and the per-episode array stores inside a library."""
TMP_DIRNAME = "tmp"
"""Work in progress inside a library folder (same file system as the stores, so renames are atomic)."""
FAULT_ENV = "ANIMEVID_FAULT_AT"
"""Test hook: the name of a commit step at which the process kills itself (SIGKILL), as a crash would."""

WaitCallback = Callable[[str], None]
"""Told once, with a message, when a lock is held by another process and the caller waits for it."""


class Library:
    """The paths of a library folder, its locks and its error log.

    Args:
        folder: The library folder (created on first write).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @property
    def tmp(self) -> Path:
        """Work in progress (created on demand)."""
        return self.folder / TMP_DIRNAME

    @property
    def error_log(self) -> Path:
        """Where tracebacks of unexpected errors go."""
        return self.folder / LOG_DIRNAME / ERROR_LOG

    @contextlib.contextmanager
    def writing(self, *, on_wait: WaitCallback | None = None) -> Iterator[None]:
        """Hold the library's exclusive lock: no other writer or reader in between.

        Raises:
            CatalogError: The folder cannot be created or the lock file cannot be opened.
        """
        handle = self._lock_file(create=True)
        assert handle is not None  # created, or CatalogError
        with _locked(handle, exclusive=True, on_wait=on_wait, what="the library"):
            yield

    @contextlib.contextmanager
    def reading(self, *, on_wait: WaitCallback | None = None) -> Iterator[None]:
        """Hold the library's lock shared: writers wait until the stores have been read.

        A library on a read-only file system (no lock file, none can be made) is read unlocked:
        nobody can be writing to it.
        """
        handle = self._lock_file(create=False)
        if handle is None:
            yield
            return
        with _locked(handle, exclusive=False, on_wait=on_wait, what="the library"):
            yield

    def claim(self, key: str) -> Claim | None:
        """Claim one episode (by content hash) for this process, without waiting.

        Returns:
            The claim (release it, or use it as a context manager), or None when another live
            process holds it.
        """
        folder = self.tmp / "claims"
        _make_folder(folder)
        handle = open(folder / f"{key}.lock", "a+b")  # noqa: SIM115 - held until released
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                return None
        return Claim(handle)

    def wait_for_claim(self, key: str, *, on_wait: WaitCallback | None = None) -> Claim:
        """Claim one episode, waiting for another process that holds it."""
        claim = self.claim(key)
        if claim is not None:
            return claim
        if on_wait is not None:
            on_wait("another animevid process is indexing it; waiting for it to finish")
        folder = self.tmp / "claims"
        handle = open(folder / f"{key}.lock", "a+b")  # noqa: SIM115 - held until released
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        return Claim(handle)

    def claimed_elsewhere(self, key: str) -> bool:
        """Whether a live process holds the claim of this episode."""
        claim = self.claim(key)
        if claim is None:
            return True
        claim.release()
        return False

    def log_error(self, where: str, exc: BaseException) -> Path | None:
        """Append ``exc``'s traceback to the error log; the log's path, or None when it cannot be written."""
        text = "".join(traceback.format_exception(exc, limit=12))
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        try:
            _make_folder(self.error_log.parent)
            with open(self.error_log, "a", encoding="utf-8", errors="backslashreplace") as log:
                log.write(f"--- {stamp} {where}\n{text}\n")
        except (OSError, CatalogError):
            return None
        return self.error_log

    def _lock_file(self, *, create: bool) -> IO[bytes] | None:
        path = self.folder / LOCK_FILENAME
        if create:
            _make_folder(self.folder)
        try:
            return open(path, "a+b" if create else "rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            if not create and exc.errno in (errno.EACCES, errno.EROFS):
                return None
            raise CatalogError(f"library {self.folder}: cannot open its lock file {path} ({exc.strerror})") from exc


class Claim:
    """An episode claimed by this process (see :meth:`Library.claim`); the kernel drops it if the process dies."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def release(self) -> None:
        """Give the claim up (the lock file stays: removing it could race another claimant)."""
        self._handle.close()

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def _locked(handle: IO[bytes], *, exclusive: bool, on_wait: WaitCallback | None, what: str) -> Iterator[None]:
    try:
        if fcntl is not None:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait(f"another animevid process is writing to {what}; waiting for it")
                fcntl.flock(handle, mode)
        yield
    finally:
        handle.close()  # closing drops the lock


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"library folder {folder} cannot be created ({exc.strerror}); check the path") from exc


def fault_point(name: str) -> None:
    """Kill this process here when the test hook asks for it (:data:`FAULT_ENV`); otherwise nothing.

    Tests put a kill between every two store writes of an episode and check that a re-run leaves
    every episode searchable.
    """
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file under a temporary name, flush it to disk and rename it over ``path``.

    Readers see the old file or the new one, never a part; a crash leaves at most a
    ``.partial`` file beside it, which ``animevid check --repair`` removes.

    Args:
        path: The file to (re)place.
        write: Writes the whole content to the path it is given (the temporary name).

    Raises:
        OSError: The write failed (full disk, read-only folder); ``path`` is unchanged.
    """
    partial = path.with_name(path.name + ".partial")
    try:
        write(partial)
        flush_file(partial)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    sync_folder(path.parent)


def flush_file(path: Path) -> None:
    """Make a written file's content durable (before a rename publishes it)."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def path_text(path: str | Path) -> str:
    """The absolute path of a file as text SQLite and JSON accept.

    A file name that is not valid UTF-8 (``caf\\xe9.mkv`` from an old Latin-1 disk) keeps those
    bytes as ``\\xNN`` escapes, so it can be stored, printed and compared.
    """
    absolute = Path(path).expanduser().resolve()
    return os.fsencode(absolute).decode("utf-8", "backslashreplace")


def display_name(path: str | Path) -> str:
    """A file's name as text any terminal can print (bytes that are not UTF-8 as ``\\xNN``)."""
    return os.fsencode(Path(path).name).decode("utf-8", "backslashreplace")


SEARCH_FILES = "episodes"
"""The search index's own per-episode folder inside ``index/`` (written by :class:`~animevid.search.SearchIndex`)."""


def write_episode_arrays(index: Path, episode_id: int, stores: Mapping[str, Mapping[str, np.ndarray]]) -> None:
    """Write each store's arrays of one episode to ``index/<store>/<episode_id>.npz``, atomically.

    What a stage's :meth:`~animevid.engine.Stage.stored` names as per-episode arrays; written
    before the catalog's commit, so that an episode counted as indexed has them.
    """
    for store, arrays in stores.items():
        if store == SEARCH_FILES or not store.isidentifier():
            raise ValueError(f"array store {store!r}: use a name of letters, digits and _ other than {SEARCH_FILES!r}")
        folder = index / store
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(folder / f"{episode_id}.npz", partial(_savez, arrays=arrays))


def remove_episode_arrays(index: Path, episode_id: int) -> None:
    """Delete an episode's arrays from every store (the episode was replaced or lost)."""
    for path in episode_array_files(index, episode_id):
        path.unlink(missing_ok=True)


def episode_array_files(index: Path, episode_id: int | None = None) -> list[Path]:
    """The per-episode array files of every store (of one episode, or all)."""
    if not index.is_dir():
        return []
    name = f"{episode_id}.npz" if episode_id is not None else "*.npz"
    return sorted(p for p in index.glob(f"*/{name}") if p.parent.name != SEARCH_FILES)


def _savez(path: Path, arrays: Mapping[str, Any]) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
