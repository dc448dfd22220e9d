"""animevid: turn anime episodes into a searchable, summarised library."""

from animevid.errors import AnimevidError

__version__ = "0.1.0"

__all__ = ["AnimevidError", "__version__"]
