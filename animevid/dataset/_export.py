"""export_clips: a library's shots, loops or scenes as a clip dataset, filtered, de-duplicated, resumable."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from animevid.catalog import CATALOG_FILENAME
from animevid.clips import EpisodeFacts, library_episodes
from animevid.dataset import _media
from animevid.dataset._journal import Journal
from animevid.dataset._media import ClipJob, ClipMedia, cut_clips
from animevid.dataset._options import (
    FORMATS,
    UNITS,
    ClipFilter,
    EpisodeFailure,
    ExportError,
    ExportReport,
    ExportStats,
)
from animevid.dataset._select import Candidate, candidates, skip_reason
from animevid.dataset._sidecar import Sidecar
from animevid.dataset._sinks import SINKS, Sink, WebDatasetSink, _write_json, member_names

DUPLICATE_MAX_DIFFERENCE = 2.0
"""Two clips are near-duplicates when their signatures (4 grey 16x16 thumbnails, see animevid.dataset._media)
differ by less than this mean absolute grey level (0..255) and their lengths by at most DUPLICATE_FRAME_SLACK.
Measured on the test's two synthetic episodes and the real 1080p Sakurasou clip: the same
OP/ED shots encoded in two episodes differ by 0.00-0.12; the closest two different synthetic shots of
similar length by 21.6; on the real clip, a shot and its reverse shot of one set-up (frames 29-51, 118-152)
by 2.9 (and their lengths, 23 and 35 frames, differ too); its other shots by 30 or more."""
DUPLICATE_FRAME_SLACK = 0.05
"""Frame counts may differ by this share (at least 2 frames): reused footage is often cut a frame apart."""
WORK_NAME = ".animevid-export-work"
MANIFEST_NAME = "manifest.json"
DEFAULT_SHARD_SIZE = 1000
"""Clips per shard (video2dataset's default)."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each candidate clip is handled (kept, skipped or failed)."""


def parse_sizes(sizes: Sequence[str | int]) -> tuple[str, ...]:
    """Normalise sizes (``full`` or short sides in pixels, e.g. ``("256", 512, "full")``).

    Raises:
        ExportError: A size is neither ``full`` nor a positive even number, or repeats.
    """
    out: list[str] = []
    for size in sizes:
        text = str(size).strip().lower()
        if text != "full" and not (text.isdigit() and int(text) >= 16 and int(text) % 2 == 0):
            raise ExportError(f"size {size!r} is not allowed; give 'full' or an even short side in pixels >= 16")
        if text in out:
            raise ExportError(f"size {text} is asked for twice; give each size once")
        out.append(text)
    if not out:
        raise ExportError("no size given; give --sizes full (or e.g. 256,full)")
    return tuple(out)


@dataclass
class _Dedupe:
    """Signatures of the clips exported so far."""

    frames: list[int] = field(default_factory=list)
    signatures: list[np.ndarray] = field(default_factory=list)

    def is_duplicate(self, frames: int, signature: np.ndarray) -> bool:
        if not self.signatures:
            return False
        counts = np.asarray(self.frames)
        close = np.abs(counts - frames) <= max(2.0, DUPLICATE_FRAME_SLACK * frames)
        if not close.any():
            return False
        stack = np.stack([self.signatures[i] for i in np.flatnonzero(close)]).astype(np.int16)
        differences = np.abs(stack - signature.astype(np.int16)).mean(axis=(1, 2))
        return bool(differences.min() < DUPLICATE_MAX_DIFFERENCE)

    def add(self, frames: int, signature: np.ndarray) -> None:
        self.frames.append(frames)
        self.signatures.append(signature)


@dataclass
class _Run:
    """The state of one export run: the shard being filled and what is already finished."""

    out: Path
    journal: Journal
    sink: Sink
    rules: ClipFilter
    sizes: tuple[str, ...]
    shard_size: int
    sidecar: Sidecar
    unit: str
    progress: ProgressCallback | None
    total: int
    done: int = 0
    stats: ExportStats = field(default_factory=ExportStats)
    """Counts since the last finished shard."""
    clips: list[dict[str, Any]] = field(default_factory=list)
    """Clips of the open shard: key, frames, signature."""
    shard_open: bool = False
    failures: list[dict[str, str]] = field(default_factory=list)
    finished_episodes: list[int] = field(default_factory=list)
    dedupe: _Dedupe = field(default_factory=_Dedupe)

    def tick(self) -> None:
        self.done += 1
        self.stats.considered += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _settings(
    library: Path, fmt: str, unit: str, rules: ClipFilter, sizes: tuple[str, ...], shard_size: int, sidecar: Sidecar
) -> dict[str, Any]:
    return {
        "library": str(library.resolve()),
        "format": fmt,
        "unit": unit,
        "filters": asdict(rules),
        "sizes": list(sizes),
        "shard_size": shard_size,
        "metadata_sha256": sidecar.digest,
        "encoder": {"codec": "libx264", "crf": _media.CRF, "preset": _media.PRESET},
        "duplicate_max_difference": DUPLICATE_MAX_DIFFERENCE,
    }


def _restore(run: _Run) -> tuple[int | None, int]:
    """Take back what earlier runs finished; returns the cursor (episode id, last ordinal done)."""
    for record in run.journal.shards:
        for clip in record["clips"]:
            signature = clip.get("signature")
            if signature:
                array = np.frombuffer(bytes.fromhex(signature), dtype=np.uint8)
                run.dedupe.add(int(clip["frames"]), array.reshape(_media.SIGNATURE_FRAMES, -1))
        run.finished_episodes = list(record["finished_episodes"])
        run.failures = list(record["failures"])
    if run.journal.tail is not None:
        run.failures = list(run.journal.tail["failures"])
    if not run.journal.shards:
        return None, -1
    cursor = run.journal.shards[-1]["cursor"]
    return int(cursor["episode_id"]), int(cursor["ordinal"])


def _meta(facts: EpisodeFacts, clip: Candidate, media: ClipMedia, run: _Run) -> dict[str, Any]:
    credits = run.sidecar.credits(facts.series, facts.name)
    names = member_names(clip.key, run.sizes)
    info = clip.analysis
    return {
        "key": clip.key,
        "status": "success",
        "unit": run.unit,
        "episode": facts.name,
        "episode_path": facts.episode.path,
        "content_hash": facts.episode.content_hash,
        "series": facts.series,
        "episode_number": facts.number,
        "index": clip.index,
        "start_frame": clip.start_frame,
        "end_frame": clip.end_frame,
        "frames": clip.frames,
        "start_seconds": round(clip.start_seconds, 6),
        "end_seconds": round(clip.end_seconds, 6),
        "duration_seconds": round(clip.seconds, 6),
        "fps": facts.episode.fps,
        "width": facts.episode.width,
        "height": facts.episode.height,
        "encoding": media.files[0].encoding,
        "files": [
            {
                "name": names[f.size],
                "size": f.size,
                "width": f.width,
                "height": f.height,
                "frames": f.frames,
                "encoding": f.encoding,
                "bytes": f.bytes,
            }
            for f in media.files
        ],
        "cadence": info.get("cadence"),
        "drawings_per_second": info.get("drawings_per_second"),
        "camera": info.get("camera"),
        "motion": info.get("motion"),
        "tags": list(info.get("tags", []) or []),  # type: ignore[call-overload]
        "sakuga_score": info.get("sakuga_score"),
        "characters": list(clip.characters),
        "dialogue": "\n".join(text for _, _, text in clip.dialogue),
        "lines": [{"start_seconds": s, "end_seconds": e, "text": t} for s, e, t in clip.dialogue],
        "segment": clip.segment,
        "repeated": clip.repeated,
        "loop": clip.loop,
        "studio": credits.get("studio"),
        "staff": credits.get("staff"),
        "credits": credits or None,
    }


def _close_shard(run: _Run, cursor: dict[str, int]) -> None:
    shard = len(run.journal.shards)
    files = run.sink.close_shard(run.stats)
    run.journal.shards.append(
        {
            "shard": shard,
            "files": files,
            "clips": run.clips,
            "stats": run.stats.as_dict(),
            "cursor": cursor,
            "finished_episodes": list(run.finished_episodes),
            "failures": list(run.failures),
        }
    )
    run.journal.save()
    run.stats, run.clips, run.shard_open = ExportStats(), [], False


def _take(run: _Run, facts: EpisodeFacts, clip: Candidate, media: ClipMedia) -> None:
    """Handle one cut clip: a failure, a duplicate, or a clip for the shard."""
    if media.error is not None:
        run.stats.failed += 1
        _fail_episode(run, facts, f"{facts.name}: clip {clip.key} could not be cut: {media.error}")
        return
    signature = media.signature
    if signature is not None and run.dedupe.is_duplicate(clip.frames, signature):
        run.stats.duplicates += 1
        for file in media.files:
            file.path.unlink(missing_ok=True)
        return
    if not run.shard_open:
        run.sink.open_shard(len(run.journal.shards))
        run.shard_open = True
    meta = _meta(facts, clip, media, run)
    run.sink.add(clip.key, {f.size: f.path for f in media.files}, meta, meta["dialogue"])
    if signature is not None:
        run.dedupe.add(clip.frames, signature)
    run.clips.append(
        {
            "key": clip.key,
            "frames": clip.frames,
            "signature": signature.tobytes().hex() if signature is not None else "",
        }
    )
    run.stats.clips += 1
    run.stats.seconds = round(run.stats.seconds + clip.seconds, 6)
    run.stats.bytes += sum(f.bytes for f in media.files)
    run.stats.copied += sum(f.encoding == "copy" for f in media.files)
    run.stats.reencoded += sum(f.encoding == "reencode" for f in media.files)


def _episode_problem(facts: EpisodeFacts) -> str | None:
    problem = facts.file_problem()
    return None if problem is None else f"{problem}; re-run the export once it is back to add its clips"


def _fail_episode(run: _Run, facts: EpisodeFacts, error: str) -> None:
    run.failures.append({"episode": facts.name, "path": facts.episode.path, "error": error})


def _account(run: _Run, facts: EpisodeFacts, clips: list[Candidate], reasons: dict[int, str], upto: int) -> None:
    """Count the skipped candidates before ordinal ``upto`` that were not counted yet."""
    while clips and clips[0].ordinal < upto:
        clip = clips.pop(0)
        if clip.ordinal in reasons:
            run.stats.skipped[reasons[clip.ordinal]] = run.stats.skipped.get(reasons[clip.ordinal], 0) + 1
            run.tick()


def _cut_episode(run: _Run, facts: EpisodeFacts, queue: list[Candidate], reasons: dict[int, str]) -> None:
    kept = [clip for clip in queue if clip.ordinal not in reasons]
    media = cut_clips(
        facts.path,
        [ClipJob(c.key, c.start_frame, c.end_frame) for c in kept],
        sizes=run.sizes,
        expected_frames=facts.episode.frames,
        work=run.out / WORK_NAME,
        signatures=run.rules.dedupe,
        stream_copy=bool(run.journal.settings["stream_copy"]),
    )
    done = 0
    try:
        for clip, cut in zip(kept, media, strict=False):
            _account(run, facts, queue, reasons, clip.ordinal)
            queue.pop(0)
            _take(run, facts, clip, cut)
            done += 1
            run.tick()
            if run.stats.clips >= run.shard_size:
                _close_shard(run, {"episode_id": facts.episode_id, "ordinal": clip.ordinal})
    except (av.FFmpegError, OSError) as exc:
        _fail_episode(run, facts, f"{facts.name}: cannot be cut after {done} clips ({exc}); check the file")
        for clip in [c for c in queue if c.ordinal not in reasons]:
            queue.remove(clip)
            run.stats.failed += 1
            run.tick()


def _export_episode(run: _Run, facts: EpisodeFacts, after: int) -> None:
    queue = [clip for clip in candidates(facts, run.unit) if clip.ordinal > after]
    reasons = {c.ordinal: r for c in queue if (r := skip_reason(c, run.rules)) is not None}
    problem = _episode_problem(facts)
    if problem is not None:
        _fail_episode(run, facts, problem)
        for _ in queue:
            run.tick()
    else:
        _cut_episode(run, facts, queue, reasons)
        _account(run, facts, queue, reasons, 1 << 62)
    run.finished_episodes.append(facts.episode_id)


def _manifest(run: _Run, fmt: str, finish_files: list[str]) -> Path:
    journal = run.journal
    data = {
        "format": fmt,
        "unit": run.unit,
        "settings": journal.settings,
        "stats": journal.totals().as_dict(),
        "shards": [
            {"shard": r["shard"], "files": r["files"], "clips": len(r["clips"]), "stats": r["stats"]}
            for r in journal.shards
        ],
        "files": finish_files,
        "failures": run.failures,
    }
    path = run.out / MANIFEST_NAME
    _write_json(path, data)
    return path


def _check_options(fmt: str, unit: str, shard_size: int) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if unit not in UNITS:
        raise ExportError(f"unknown clip unit {unit!r}; use one of {', '.join(UNITS)}")
    if shard_size < 1:
        raise ExportError(f"shard size {shard_size} is not allowed; give 1 or more clips per shard")


def _library_facts(library: Path) -> list[EpisodeFacts]:
    if not (library / CATALOG_FILENAME).is_file():
        raise ExportError(
            f"{library}: no {CATALOG_FILENAME} there; index episodes first (`animevid index ... --library DIR`)"
        )
    return list(library_episodes(library))


def export_clips(
    library: str | Path,
    out: str | Path,
    *,
    format: str = "files",
    unit: str = "shot",
    filters: ClipFilter | None = None,
    sizes: Sequence[str | int] = ("full",),
    shard_size: int = DEFAULT_SHARD_SIZE,
    metadata: str | Path | None = None,
    progress: ProgressCallback | None = None,
    stream_copy: bool = True,
) -> ExportReport:
    """Export a library's shots, loops or scenes as a clip dataset; resume an interrupted export of ``out``.

    Args:
        library: The library folder (its indexed episodes, by path).
        out: The export folder: new or empty, or holding an export made with the same settings (resumed).
        format: files, parquet or webdataset (see :mod:`animevid.dataset`).
        unit: shot, loop or scene.
        filters: Which clips to keep; None keeps every clip, near-duplicates left out.
        sizes: ``full`` and/or short sides in pixels; each clip is written at each size from one decode.
        shard_size: Clips per shard (tar shard of the webdataset format; journal step of all formats).
        metadata: A sidecar JSON/YAML file with studio and staff fields (see :mod:`animevid.dataset._sidecar`).
        progress: Called as ``progress(done, total)`` after each candidate clip.
        stream_copy: Copy packets where that is frame-exact; False re-encodes every clip (uniform encodes).

    Returns:
        The counts, shards and failed episodes; the same are in ``out/manifest.json``.

    Raises:
        ExportError: Bad options, no library there, an unreadable sidecar, or ``out`` holding another export.
    """
    _check_options(format, unit, shard_size)
    rules = filters or ClipFilter()
    size_names = parse_sizes(sizes)
    sidecar = Sidecar.load(metadata)
    folder, target = Path(library), Path(out)
    episodes = _library_facts(folder)
    target.mkdir(parents=True, exist_ok=True)
    settings = _settings(folder, format, unit, rules, size_names, shard_size, sidecar)
    settings["stream_copy"] = stream_copy
    journal = Journal.open(target, settings)
    run = _Run(
        target,
        journal,
        SINKS[format](target, size_names),
        rules,
        size_names,
        shard_size,
        sidecar,
        unit,
        progress,
        sum(len(candidates(f, unit)) for f in episodes),
    )
    return _execute(run, episodes, format)


def _execute(run: _Run, episodes: list[EpisodeFacts], fmt: str) -> ExportReport:
    """Run (or resume) the export, then write what covers every shard and the manifest."""
    journal, target = run.journal, run.out
    resumed = len(journal.shards)
    shutil.rmtree(target / WORK_NAME, ignore_errors=True)
    (target / WORK_NAME).mkdir()
    cursor = _restore(run)
    try:
        if not journal.complete:
            _run_episodes(run, episodes, cursor)
    finally:
        if run.shard_open and isinstance(run.sink, WebDatasetSink):
            run.sink.abandon()
        shutil.rmtree(target / WORK_NAME, ignore_errors=True)
    finish_files = run.sink.finish([r["shard"] for r in journal.shards])
    manifest = _manifest(run, fmt, finish_files)
    return ExportReport(
        out=target,
        format=fmt,
        unit=run.unit,
        stats=journal.totals(),
        shards=len(journal.shards),
        resumed_shards=resumed,
        failures=tuple(EpisodeFailure(**f) for f in run.failures),
        manifest=manifest,
    )


def _run_episodes(run: _Run, episodes: list[EpisodeFacts], cursor: tuple[int | None, int]) -> None:
    cursor_episode, cursor_ordinal = cursor
    run.done = run.journal.totals().considered
    for facts in episodes:
        if facts.episode_id in run.finished_episodes:
            continue
        _export_episode(run, facts, cursor_ordinal if facts.episode_id == cursor_episode else -1)
    if run.shard_open:
        last = episodes[-1]
        _close_shard(run, {"episode_id": last.episode_id, "ordinal": 1 << 62})
    if run.stats.considered or run.failures:
        run.journal.tail = {"stats": run.stats.as_dict(), "failures": list(run.failures)}
    run.journal.complete = True
    run.journal.save()
