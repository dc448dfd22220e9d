"""Dialogue search over the catalog's ``subtitle_lines``: substring, case- and accent-insensitive.

Text is folded with NFKC (full-width and half-width forms become one), casefold, and combining
marks removed (é -> e), except the kana voicing marks U+3099/U+309A, which change the word
(か is not が). No word splitting is needed, so Japanese and Chinese work as any language.
"""

from __future__ import annotations

import contextlib
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from animevid.catalog import CATALOG_FILENAME, Catalog
from animevid.errors import SearchError

_KANA_VOICING = {"\u3099", "\u309a"}


def fold_text(text: str) -> str:
    """The form both the query and the dialogue are compared in."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(
        c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c) or c in _KANA_VOICING
    )
    return " ".join(unicodedata.normalize("NFC", kept).split())


@dataclass(frozen=True)
class TextHit:
    """A subtitle line that contains the searched text."""

    episode_id: int
    """The episode's catalog id."""
    episode: str
    """The episode file."""
    line_index: int
    """The line's position in the episode's subtitles."""
    seconds: float
    """When the line appears."""
    end_seconds: float
    """When it disappears."""
    frame: int
    """First frame the line is shown on (from the episode's frame rate)."""
    text: str
    """The line as stored."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (score is 1: a substring either matches or not)."""
        return {
            "episode": self.episode,
            "episode_id": self.episode_id,
            "seconds": round(self.seconds, 3),
            "end_seconds": round(self.end_seconds, 3),
            "frame": self.frame,
            "score": 1.0,
            "text": self.text,
        }


def search_text(text: str, *, library: str | Path, top: int = 20) -> list[TextHit]:
    """Subtitle lines of the library's episodes that contain ``text``, in episode and time order.

    Args:
        text: What to look for (any language; case, accents and width are ignored).
        library: The library folder.
        top: At most this many hits.

    Returns:
        The matching lines.

    Raises:
        SearchError: The text is empty or the library has no catalog.
    """
    needle = fold_text(text)
    if not needle:
        raise SearchError("search --text needs some text to look for, got an empty string")
    path = Path(library) / CATALOG_FILENAME
    if not path.is_file():
        raise SearchError(
            f"library {library} has no catalog; build one with `animevid index EPISODE --library {library}`"
        )
    rows = _lines(path, library)
    hits = []
    for episode_id, episode, line, start, end, fps, line_text in rows:
        if needle in fold_text(line_text):
            hits.append(TextHit(episode_id, episode, line, start, end, int(start * fps + 1e-6), line_text))
            if len(hits) == top:
                break
    return hits


def _lines(path: Path, library: str | Path) -> list[tuple[Any, ...]]:
    """Every shown line of the library's indexed episodes, in episode and time order."""
    with Catalog(path) as catalog:  # brings an older catalog up to date (the state column)
        catalog.check_integrity()
    sql = (
        "SELECT l.episode_id, e.path, l.line_index, l.start_seconds, l.end_seconds, e.fps, l.text "
        "FROM subtitle_lines l JOIN episodes e USING (episode_id) WHERE l.kind != 'comment' AND e.state = 'indexed' "
        "ORDER BY l.episode_id, l.start_seconds"
    )
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.Error as exc:
        raise SearchError(
            f"catalog {path} cannot be read ({exc}); `animevid check --library {library}` tells what is wrong"
        ) from None
