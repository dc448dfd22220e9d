"""Public entry points: search a library by image, short video or GIF."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from animevid.catalog import CATALOG_FILENAME, Catalog
from animevid.config import DecodeConfig, SearchConfig
from animevid.decode._probe import VIDEO_SUFFIXES
from animevid.errors import CatalogError, SearchError
from animevid.library import Library
from animevid.pictures import MAX_PICTURE_PIXELS, read_picture
from animevid.search._panels import split_panels
from animevid.search._query import Box, Panel, SearchHit, SearchResult, merge_hits, rank_picture
from animevid.search._store import INDEX_DIRNAME, SearchIndex


def open_search_index(library: str | Path, *, config: SearchConfig | None = None, device: str = "cpu") -> SearchIndex:
    """The search index of an indexed library, opened to read: only episodes the catalog counts as indexed.

    Raises:
        SearchError: The library has no indexed episode yet (says how to build one), or its index
            is damaged or disagrees with the catalog (says how to repair it).
    """
    folder = Path(library)
    with Library(folder).reading():
        indexed = indexed_episodes(folder)
        index = SearchIndex.in_library(folder, config=config, device=device, indexed=indexed)
        if not indexed:
            raise SearchError(
                f"library {library} has no indexed episodes (looked in {folder / INDEX_DIRNAME}); "
                f"build it with `animevid index EPISODE... --library {library}`"
            )
        index.count  # noqa: B018 - loads and checks vectors.faiss under the lock
    return index


def indexed_episodes(folder: Path) -> dict[int, int]:
    """Episode id -> search vectors (-1: unknown) of the catalog's indexed episodes (empty: no catalog yet).

    Raises:
        SearchError: The catalog cannot be read (says how to check the library).
    """
    if not (folder / CATALOG_FILENAME).is_file():
        return {}
    try:
        with Catalog.in_library(folder) as catalog:
            return {e.episode_id: e.search_vectors for e in catalog.stored_episodes("indexed")}
    except CatalogError as exc:
        raise SearchError(f"{exc}; `animevid check --library {folder}` tells what else is wrong") from None


PANEL_MARGIN = 0.05
"""A query split into panels is taken as one frame when the whole fits better than the panels do on average by
more than this (a 16:9 box of a side-by-side already fits its first panel as well as the panel does)."""

MAX_QUERY_PIXELS = MAX_PICTURE_PIXELS
"""Largest query picture read (8K UHD is 33 megapixels); larger ones are refused from their header,
before any pixel is decoded: a 1 MB PNG can claim 32000x32000 pixels and take 6 GB to decode."""


def load_image(path: str | Path) -> np.ndarray:
    """Read a picture file as (h, w, 3) uint8 RGB.

    Raises:
        SearchError: The file is missing, not a picture, or larger than :data:`MAX_QUERY_PIXELS`
            (checked from its header, before decoding).
    """
    return read_picture(
        path,
        SearchError,
        kinds="a PNG, JPEG, WebP or BMP file (or a video/GIF)",
        wanted="a PNG, JPEG, WebP or BMP screenshot (or a video/GIF)",
    )


def _hits(
    index: SearchIndex, library: Path, ranked: list[tuple[int, float]], boxes: Mapping[int, Box] | None = None
) -> tuple[SearchHit, ...]:
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
        box = boxes.get(vid) if boxes is not None else None
        hits.append(
            SearchHit(
                ref.episode_id, names[ref.episode_id], ref.frame_index, ref.pts_seconds, ref.end_seconds, score, box
            )
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
    rgb = image if isinstance(image, np.ndarray) else load_image(image)  # a bad picture fails before the index
    with Library(library).reading():  # a writer's commit waits until the query has read what it needs
        index = index or open_search_index(library, config=config, device=device)

        def hits_of(picture: np.ndarray) -> tuple[SearchHit, ...]:
            ranking = rank_picture(index, picture, config)
            ranked = merge_hits(index, ranking.scores, top=top, merge_seconds=config.merge_seconds)
            return _hits(index, Path(library), ranked, ranking.boxes)

        whole = SearchResult(hits_of(rgb), config.threshold)
        boxes = split_panels(rgb)
        if len(boxes) < 2:
            return whole
        panels = [Panel((x0, y0, x1, y1), hits_of(np.ascontiguousarray(rgb[y0:y1, x0:x1]))) for x0, y0, x1, y1 in boxes]
        tops = [p.hits[0].score if p.hits else 0.0 for p in panels]
        if whole.hits and whole.hits[0].score > sum(tops) / len(tops) + PANEL_MARGIN:  # one frame after all
            return whole
        hits = sorted((h for p in panels for h in p.hits[:1]), key=lambda h: -h.score)
        return SearchResult(tuple(hits), config.threshold, tuple(panels))


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
    frames = _sample_frames(video, samples)
    with Library(library).reading():
        index = index or open_search_index(library, config=config, device=device)
        votes: dict[tuple[int, int], list[tuple[float, int, float]]] = defaultdict(list)
        for seconds, rgb in frames:
            for vid, score in rank_picture(index, rgb, config).scores.items():
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
