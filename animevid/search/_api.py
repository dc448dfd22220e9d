"""Public entry points: search a library by image, short video or GIF."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from animevid.catalog import CATALOG_FILENAME, Catalog
from animevid.config import DecodeConfig, SearchConfig
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.errors import CatalogError, SearchError
from animevid.search._query import SearchHit, SearchResult, merge_hits, rank_picture
from animevid.search._store import INDEX_DIRNAME, SearchIndex


def open_search_index(library: str | Path, *, config: SearchConfig | None = None, device: str = "cpu") -> SearchIndex:
    """The search index of an indexed library.

    Raises:
        SearchError: The library has no index yet (says how to build one).
    """
    index = SearchIndex.in_library(library, config=config, device=device)
    if not index.episode_ids():
        raise SearchError(
            f"library {library} has no indexed episodes (looked in {Path(library) / INDEX_DIRNAME}); "
            f"build it with `animevid index EPISODE... --library {library}`"
        )
    return index


def load_image(path: str | Path) -> np.ndarray:
    """Read a picture file as (h, w, 3) uint8 RGB.

    Raises:
        SearchError: The file is missing or not a picture OpenCV can read.
    """
    data = np.fromfile(str(path), np.uint8) if Path(path).is_file() else None
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None and data.size else None
    if image is None:
        raise SearchError(f"{path}: not a readable picture; pass a PNG, JPEG, WebP or BMP file (or a video/GIF)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _hits(index: SearchIndex, library: Path, ranked: list[tuple[int, float]]) -> tuple[SearchHit, ...]:
    names: dict[int, str] = {}
    catalog_path = library / CATALOG_FILENAME
    hits = []
    for vid, score in ranked:
        ref = index.ref(vid)
        if ref.episode_id not in names:
            names[ref.episode_id] = str(ref.episode_id)
            if catalog_path.is_file():
                try:
                    with Catalog(catalog_path) as catalog:
                        names[ref.episode_id] = catalog.get_episode(ref.episode_id).path
                except CatalogError:
                    pass  # the index outlived its catalog row: the id still names the episode
        hits.append(
            SearchHit(ref.episode_id, names[ref.episode_id], ref.frame_index, ref.pts_seconds, ref.until_seconds, score)
        )
    return tuple(hits)


def search_image(
    image: str | Path | np.ndarray,
    *,
    library: str | Path,
    top: int = 5,
    config: SearchConfig | None = None,
    device: str = "cpu",
    index: SearchIndex | None = None,
) -> SearchResult:
    """Find where a screenshot comes from: episode, time and frame.

    Args:
        image: A picture file or an (h, w, 3) uint8 RGB array; a video or GIF file is searched
            with :func:`search_video`.
        library: The library folder.
        top: At most this many hits (one per episode and ``merge_seconds`` window).
        config: Search options.
        device: Resolved device (picks the FAISS backend when ``config.backend`` is auto).
        index: An already open index (saves re-opening it for many queries).

    Returns:
        Hits best first; ``confident`` says whether the best clears the threshold.

    Raises:
        SearchError: No index, or the picture cannot be read.
    """
    if not isinstance(image, np.ndarray) and Path(image).suffix.lower() in VIDEO_SUFFIXES:
        return search_video(image, library=library, top=top, config=config, device=device, index=index)
    config = config or SearchConfig()
    index = index or open_search_index(library, config=config, device=device)
    rgb = image if isinstance(image, np.ndarray) else load_image(image)
    ranked = merge_hits(index, rank_picture(index, rgb, config), top=top, merge_seconds=config.merge_seconds)
    return SearchResult(_hits(index, Path(library), ranked), config.threshold)


def search_video(
    video: str | Path,
    *,
    library: str | Path,
    top: int = 5,
    config: SearchConfig | None = None,
    device: str = "cpu",
    index: SearchIndex | None = None,
    samples: int = 8,
) -> SearchResult:
    """Find where a short clip or GIF comes from: each of ``samples`` frames votes for a start time.

    A frame at ``t`` seconds into the clip that matches episode time ``T`` votes for the clip
    starting at ``T - t`` (rounded to the second); each frame's best vote per start counts once.
    A start's hit is its best-matching indexed frame, scored by the mean of the frames' votes
    (a frame that found nothing there adds 0), so one lucky frame cannot outvote a consistent clip.

    Args:
        video: A short clip or GIF file.
        library: The library folder.
        top: At most this many hits.
        config: Search options.
        device: Resolved device (picks the FAISS backend when ``config.backend`` is auto).
        index: An already open index.
        samples: Frames taken from the clip, evenly spaced.

    Returns:
        Hits best first.

    Raises:
        SearchError: No index, or the clip has no decodable frame.
    """
    config = config or SearchConfig()
    index = index or open_search_index(library, config=config, device=device)
    frames = _sample_frames(video, samples)
    votes: dict[tuple[int, int], list[tuple[float, int, float]]] = defaultdict(list)
    for seconds, rgb in frames:
        for vid, score in rank_picture(index, rgb, config).items():
            ref = index.ref(vid)
            votes[(ref.episode_id, round(ref.pts_seconds - seconds))].append((score, vid, seconds))
    pooled = {}
    for entries in votes.values():
        best = max(entries)
        total = sum(max(s for s, _, t in entries if t == seconds) for seconds in {t for _, _, t in entries})
        pooled[best[1]] = min(1.0, total / len(frames))
    ranked = merge_hits(index, pooled, top=top, merge_seconds=config.merge_seconds)
    return SearchResult(_hits(index, Path(library), ranked), config.threshold)


def _sample_frames(video: str | Path, samples: int) -> list[tuple[float, np.ndarray]]:
    from animevid.decode import open_video

    source = open_video(video, config=DecodeConfig(analysis_width=320, prefetch_batches=0))
    every = max(1, source.info.frames_estimate // samples)
    frames: list[tuple[float, np.ndarray]] = []
    for batch in source.batches():
        for i in range(len(batch)):
            if int(batch.frame_indices[i]) % every == 0 and len(frames) < samples:
                frames.append((float(batch.pts_seconds[i]), batch.frames[i].cpu().numpy()))
    if not frames:
        raise SearchError(f"{video}: no frame could be decoded to search with")
    return frames
