"""Write an episode's digest (page, contact sheet, JSON) and a library's index of digests."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from animevid.catalog import CATALOG_FILENAME
from animevid.clips import EpisodeFacts, library_episodes, open_episode
from animevid.digest import _html, _pictures
from animevid.digest._pictures import DigestProgress, Pictures, data_uri
from animevid.digest._plan import (
    CANDIDATES,
    HIGHLIGHTS,
    LOOPS,
    cut_rate,
    highlight_shots,
    keyframes_wanted,
    scene_candidates,
    shot_picture,
    shown_loops,
)
from animevid.digest._plots import plot_png
from animevid.digest._report import build_report
from animevid.errors import AnimevidError, VideoError
from animevid.library import write_atomically

SHEET_QUALITY = 50
"""Quality of the contact sheet the page embeds, WebP (JPEG past WebP's 16383 px): a 24-minute episode's
456 shots weigh 470 kB at 50 against 880 kB as a JPEG at 72. The PNG beside the page is lossless."""
_WEBP_MAX_SIDE = 16383


class DigestError(AnimevidError):
    """A digest cannot be written (no such library, an output folder that cannot be written)."""


@dataclass(frozen=True)
class DigestFiles:
    """The files one episode's digest wrote."""

    html: Path
    """The page: one self-contained HTML file."""
    json: Path
    """Everything on the page as JSON."""
    contact: Path | None
    """The contact-sheet PNG (one tile per shot); None when no picture could be taken."""
    notes: tuple[str, ...] = ()
    """What went wrong without stopping the digest (the episode file moved, pictures missing), one line each."""


def _library(library: str | Path) -> Path:
    folder = Path(library)
    if not (folder / CATALOG_FILENAME).is_file():
        raise DigestError(
            f"{folder}: no such library (no {CATALOG_FILENAME}); index episodes first "
            f"(animevid index EPISODE --library {folder})"
        )
    return folder


def _out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DigestError(
            f"{out}: cannot create the digest folder ({exc.strerror}); pass -o a writable folder"
        ) from None
    return out


def _file_note(facts: EpisodeFacts) -> str | None:
    """Why the episode file cannot give the pictures, None when it is where and what it was when indexed."""
    problem = facts.file_problem()
    return None if problem is None else f"{problem}; this digest has no pictures until it is back"


def _take(facts: EpisodeFacts, progress: DigestProgress | None) -> Pictures:
    """The pictures of an episode (an empty set with a note when the file cannot give them)."""
    stills = {frame for scene in facts.scenes for frame, _ in scene_candidates(facts, scene)}
    stills |= {shot_picture(facts, i) for i in highlight_shots(facts, CANDIDATES * HIGHLIGHTS)}
    stills |= {shown.loop.start_frame for shown in shown_loops(facts, CANDIDATES * LOOPS)}
    tiles = {shot_picture(facts, index): index for index in range(len(facts.shots))}
    note = _file_note(facts)
    if note is not None:
        return Pictures(note=note)
    try:
        pictures = _pictures.take_pictures(
            facts.path,
            stills=stills,
            tiles=tiles,
            loops=shown_loops(facts, CANDIDATES * LOOPS),
            fps=facts.episode.fps or 24.0,
            progress=progress,
        )
    except VideoError as exc:
        return Pictures(note=f"{exc}; this digest has no pictures")
    missing = len(stills - set(pictures.stills))
    if missing:
        pictures.note = (
            f"{facts.name}: {missing} of the {len(stills)} frames this digest shows did not decode (the file ends "
            "early or is damaged); their pictures are left out"
        )
    return pictures


def _distinct(pictures: Pictures, frames: dict[int, int], count: int = HIGHLIGHTS) -> list[int]:
    """The first ``count`` keys of ``frames`` (key -> frame pictured, best first) whose pictures differ from those
    of the keys kept before: reused footage (bank footage, a repeated attack) is one highlight, not eight."""
    kept: list[int] = []
    seen: list[np.ndarray] = []
    for key, frame in frames.items():
        still = pictures.stills.get(frame)
        if still is not None:  # without a picture there is nothing to compare: kept
            if any(_pictures.distance(still.feature, other) < _pictures.MIN_DIFFERENCE for other in seen):
                continue
            seen.append(still.feature)
        kept.append(key)
        if len(kept) == count:
            break
    return kept


def _keyframes(facts: EpisodeFacts, pictures: Pictures) -> dict[int, list[int]]:
    picked = {}
    for index, scene in enumerate(facts.scenes):
        candidates = [
            (pictures.stills[frame], seconds)
            for frame, seconds in scene_candidates(facts, scene)
            if frame in pictures.stills
        ]
        picked[index] = _pictures.pick_keyframes(candidates, most=keyframes_wanted(scene))
    return picked


def _sheet(facts: EpisodeFacts, pictures: Pictures) -> Image.Image | None:
    if not pictures.tiles:
        return None
    tiles = [pictures.tiles.get(index) for index in range(len(facts.shots))]
    labels = [f"{index} · {_html.clock(shot.start_seconds)}" for index, shot in enumerate(facts.shots)]
    return _pictures.contact_sheet(tiles, labels)


def _encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _images(facts: EpisodeFacts, pictures: Pictures, shown: set[int], sheet: Image.Image | None) -> _html.PageImages:
    images = _html.PageImages()
    for frame in shown:
        still = pictures.stills.get(frame)
        if still is not None:
            with Image.open(io.BytesIO(still.webp)) as opened:
                size = opened.size
            images.stills[frame] = (data_uri(still.webp, "image/webp"), *size)
    for start, webp in pictures.loops.items():
        with Image.open(io.BytesIO(webp)) as opened:
            images.loops[start] = (data_uri(webp, "image/webp"), *opened.size)
    if facts.shots:
        plot = plot_png(facts, cut_rate(facts))
        with Image.open(io.BytesIO(plot)) as opened:
            images.plot = (data_uri(plot, "image/png"), *opened.size)
    if sheet is not None:
        if max(sheet.size) <= _WEBP_MAX_SIDE:
            uri = data_uri(_encoded(sheet, "WEBP", quality=SHEET_QUALITY, method=4), "image/webp")
        else:
            uri = data_uri(_encoded(sheet, "JPEG", quality=SHEET_QUALITY + 10, optimize=True), "image/jpeg")
        images.contact = (uri, *sheet.size)
    return images


def _write_text(path: Path, text: str) -> None:
    def write(temporary: Path) -> None:
        temporary.write_text(text, encoding="utf-8")

    write_atomically(path, write)


def _write_episode(
    facts: EpisodeFacts, out: Path, stem: str, progress: DigestProgress | None
) -> tuple[DigestFiles, dict[str, Any], str | None]:
    """Write the three files; returns them, the JSON and a cover picture for the library index (a data URI)."""
    pictures = _take(facts, progress)
    keyframes = _keyframes(facts, pictures)
    highlights = _distinct(
        pictures, {i: shot_picture(facts, i) for i in highlight_shots(facts, CANDIDATES * HIGHLIGHTS)}
    )
    highlight_frames = {i: shot_picture(facts, i) for i in highlights}
    loops = shown_loops(facts, CANDIDATES * LOOPS)
    kept = set(_distinct(pictures, {shown.loop.start_frame: shown.loop.start_frame for shown in loops}, LOOPS))
    loops = [shown for shown in loops if shown.loop.start_frame in kept]
    sheet = _sheet(facts, pictures)
    paths = {"html": out / f"{stem}.html", "json": out / f"{stem}.json", "contact": out / f"{stem}.contact.png"}
    notes = (pictures.note,) if pictures.note else ()
    report = build_report(
        facts,
        keyframes=keyframes,
        highlights=highlights,
        highlight_frames={i: f for i, f in highlight_frames.items() if f in pictures.stills},
        loops=loops,
        animated=set(pictures.loops),
        files={k: p.name if k != "contact" or sheet is not None else None for k, p in paths.items()},
        notes=notes,
    )
    shown = {f for frames in keyframes.values() for f in frames} | set(highlight_frames.values())
    images = _images(facts, pictures, shown, sheet)
    page = _html.render_page(report, images)
    try:
        if sheet is not None:
            write_atomically(paths["contact"], lambda temporary: sheet.save(temporary, "PNG", optimize=True))
        _write_text(paths["json"], json.dumps(report, ensure_ascii=False, indent=1))
        _write_text(paths["html"], page)
    except OSError as exc:
        raise DigestError(f"{out}: cannot write the digest there ({exc.strerror}); pass -o a writable folder") from None
    files = DigestFiles(paths["html"], paths["json"], paths["contact"] if sheet is not None else None, notes)
    cover = next(
        (images.stills[f][0] for f in [*highlight_frames.values(), *sorted(shown)] if f in images.stills), None
    )
    return files, report, cover


def write_digest(
    library: str | Path, episode: str | Path, out_dir: str | Path, *, progress: DigestProgress | None = None
) -> DigestFiles:
    """Write one indexed episode's digest: ``<out>/<stem>.html``, ``<stem>.json`` and ``<stem>.contact.png``.

    The page is one self-contained HTML file (pictures inline, no network request): a timeline of
    shots coloured by scene with cut marks and OP/ED/recap bands, each scene's keyframes, dialogue
    and cast, sakuga highlights, loops as animations, plots over the episode and a contact sheet.
    The episode is decoded once, from its start to the last frame the page shows.

    Args:
        library: The library folder the episode is indexed in.
        episode: The episode file (by path, else by content) or its catalog id.
        out_dir: Folder for the files (created).
        progress: ``progress(episode, total_frames)`` returns ``advance(frames)``, called as frames decode.

    Returns:
        The files written; ``notes`` says when the page has no pictures (the episode file moved).

    Raises:
        DigestError: No such library, or the output folder cannot be written.
        EpisodeNotFound: The episode is not indexed in the library.
    """
    folder = _library(library)
    out = _out_dir(out_dir)
    facts = open_episode(folder, episode)
    return _write_episode(facts, out, Path(facts.episode.path).stem, progress)[0]


def _stem(facts: EpisodeFacts, used: set[str]) -> str:
    stem = Path(facts.episode.path).stem
    if stem in used:  # the same file name in two season folders
        stem = f"{stem}-{facts.episode_id}"
    used.add(stem)
    return stem


def write_library_digest(
    library: str | Path,
    out_dir: str | Path,
    *,
    progress: DigestProgress | None = None,
    on_episode: Callable[[DigestFiles], None] | None = None,
) -> Path:
    """Write a digest of every indexed episode of a library and ``<out>/index.html`` linking them.

    An episode whose digest fails is a line of the index saying why, not a dead run.

    Args:
        library: The library folder.
        out_dir: Folder for the pages (created).
        progress: As for :func:`write_digest`, for each episode in turn.
        on_episode: Called with each episode's files as they are written.

    Returns:
        The index page's path.

    Raises:
        DigestError: No such library, or the output folder cannot be written.
    """
    folder = _library(library)
    out = _out_dir(out_dir)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for facts in library_episodes(folder):
        try:
            files, report, cover = _write_episode(facts, out, _stem(facts, used), progress)
        except DigestError:
            raise
        except AnimevidError as exc:
            rows.append({"name": facts.name, "error": str(exc)})
            continue
        if on_episode is not None:
            on_episode(files)
        rows.append({"name": facts.name, "page": files.html.name, "report": report, "cover": cover})
    index = out / "index.html"
    try:
        _write_text(index, _html.render_index(folder, rows))
    except OSError as exc:
        raise DigestError(f"{out}: cannot write the digest there ({exc.strerror}); pass -o a writable folder") from None
    return index
