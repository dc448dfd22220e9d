"""What a release's file name says: the episode number and the anime's title (anitopy)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["episode_number", "series_title"]


def episode_number(path: str) -> int | float | str | None:
    """The episode number in a release's file name (``[Group] Show - 03 [1080p].mkv`` -> 3), None without one."""
    import anitopy

    try:
        number = anitopy.parse(Path(path).name).get("episode_number")
    except Exception:
        return None
    if isinstance(number, list):
        number = number[0] if number else None
    if not isinstance(number, str):
        return None
    if re.search(rf"\d{{3,4}}p{re.escape(number)}(?!\d)", Path(path).name, flags=re.IGNORECASE):
        return None  # the frame rate of a resolution ("720p25", "480p30"), which anitopy reads as the episode
    try:
        value = float(number)
    except ValueError:
        return number
    return int(value) if value.is_integer() else value


def series_title(path: str) -> str:
    """The anime's title read from a release's file name (anitopy), else the file's stem."""
    import anitopy

    try:
        title = anitopy.parse(Path(path).name).get("anime_title")
    except Exception:
        title = None
    return title if isinstance(title, str) and title else Path(path).stem
