"""The reel's one error: what was asked, why it cannot be made, and what to do."""

from __future__ import annotations

from animevid.errors import AnimevidError


class ReelError(AnimevidError):
    """A reel or a TVSum file cannot be made (bad budget, no analyses, no shot fits, the episode file moved)."""
