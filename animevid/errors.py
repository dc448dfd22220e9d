"""The one exception tree of animevid.

The library raises these and never prints or exits; the command line catches
:class:`AnimevidError` at its edge, prints the message and exits with status 1.
In a batch, one bad episode becomes a recorded failure, not a dead run.

::

    AnimevidError
    ├── ConfigError              a config file or option is invalid
    ├── UnknownNameError         a registry has no entry of that name (lists valid ones)
    ├── BackendUnavailableError  a known backend whose library or device is missing
    ├── VideoError               a video file cannot be used (always names the file)
    │   ├── VideoNotFoundError       the path does not exist or is not a file
    │   ├── EmptyVideoError          the file has zero bytes or no decodable frame
    │   ├── NotAVideoError           no container format recognises the file
    │   ├── NoVideoStreamError       a container with no video stream (audio only)
    │   ├── UnsupportedCodecError    the video codec has no decoder here
    │   └── CorruptVideoError        decoding failed before any frame came out
    ├── SubtitleError            a subtitle file or track cannot be read (names the file and line)
    ├── SynthError               the synthetic episode generator was misused
    ├── CatalogError             the catalog cannot be opened, migrated or written
    └── SearchError              the search index is missing, stale or cannot answer

Warnings (not errors):

    TruncatedVideoWarning        decoding stopped early; the frames before are kept
    SubtitleLineWarning          a bad subtitle line was skipped (names its line number)
"""

from __future__ import annotations

from pathlib import Path


class AnimevidError(Exception):
    """Base class of every error animevid raises on purpose."""


class ConfigError(AnimevidError):
    """A configuration file or option is invalid."""


class UnknownNameError(AnimevidError, KeyError):
    """A registry was asked for a name it does not have."""

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        self.kind, self.name, self.valid = kind, name, valid
        choices = ", ".join(valid) if valid else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s are: {choices}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class BackendUnavailableError(AnimevidError):
    """A known backend cannot be used here (library not installed, no GPU)."""


class VideoError(AnimevidError):
    """A video file cannot be used; the message names the file and what to do."""

    def __init__(self, path: str | Path, problem: str, *, hint: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        message = f"{self.path}: {problem}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class VideoNotFoundError(VideoError):
    """The path does not exist or is not a regular file."""


class EmptyVideoError(VideoError):
    """The file has zero bytes, or holds a video stream with no decodable frame."""


class NotAVideoError(VideoError):
    """No container format recognises the file."""


class NoVideoStreamError(VideoError):
    """The container has no video stream (an audio-only file, a subtitle file)."""


class UnsupportedCodecError(VideoError):
    """The video stream's codec has no decoder in this build."""


class CorruptVideoError(VideoError):
    """Decoding failed before any frame came out."""


class SubtitleError(AnimevidError):
    """A subtitle file or track cannot be read; the message names the file, the line and what to do."""

    def __init__(self, path: str | Path, problem: str, *, line: int = 0, hint: str = "") -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.hint = hint
        where = f"subtitle file {self.path}" + (f": line {line}" if line else "")
        message = f"{where}: {problem}"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class SynthError(AnimevidError):
    """The synthetic episode generator was given options it cannot honour."""


class CatalogError(AnimevidError):
    """The catalog database cannot be opened, migrated or written."""


class SearchError(AnimevidError):
    """The search index is missing, stale or cannot answer the query; the message says how to fix it."""


class TruncatedVideoWarning(UserWarning):
    """Decoding stopped before the container's end; the frames before were kept."""


class SubtitleLineWarning(UserWarning):
    """A subtitle line could not be read and was skipped; the message names the file and line number."""


class CharacterError(AnimevidError):
    """A character cannot be enrolled, named or looked up; the message says what to do."""
