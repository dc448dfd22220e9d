"""The ``animevid`` command line: parse flags, call the library, render the result.

Every command takes ``--config FILE``; ``--json`` outputs are one JSON object on
stdout. Library errors are caught here, at the edge: the message goes to stderr
and the exit status is 1.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from animevid import __version__
from animevid.config import Config, load_config
from animevid.errors import AnimevidError, ConfigError

app = typer.Typer(
    name="animevid",
    help=(
        "Turn anime episodes into a searchable, summarised library.\n\n"
        "Examples:\n\n"
        "  animevid demo                          # synthetic sample -> ./demo-output\n\n"
        "  animevid index ep01.mkv ep02.mkv       # into ./animevid-library\n\n"
        "  animevid info ep01.mkv --json          # streams, fps, frames\n\n"
        "  animevid shots ep01.mkv --json         # cuts, fades, dissolves\n\n"
        "  animevid analyze ep01.mkv              # drawings, cadence, loops, camera per shot\n\n"
        "  animevid characters enroll Luffy a.png # then: animevid search --character Luffy\n\n"
        "  animevid serve                         # trace.moe-compatible API + page on 127.0.0.1:8765\n\n"
        "  animevid segments --json               # OP, ED, recaps, reused footage of each season\n\n"
        "  animevid digest ep01.mkv -o digest/    # an HTML page of the episode (and its JSON)\n\n"
        "  animevid reel ep01.mkv --seconds 60 -o reel.mp4   # highlights under a time budget\n\n"
        "  animevid export --out ds --format webdataset      # clip datasets for training\n\n"
        "  animevid synth out/ --seed 3 --seconds 60"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="YAML file overriding configs/default.yaml values.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=0,
        help="Processes for the episode, each decoding and analysing a segment (same results; for many "
        "cores). 0: one per core from 4 cores up. Default: the config's decode.workers.",
        show_default=False,
    ),
]


def _with_workers(cfg: Config, workers: int | None) -> Config:
    return cfg if workers is None else replace(cfg, decode=replace(cfg.decode, workers=workers))


def _handles_errors(command: F) -> F:
    """Turn every error into one line on stderr and exit status 1: never a traceback.

    animevid's own errors say what was wrong and what to do; an OS error names the file and
    the reason; anything else is a bug, whose traceback goes to a log file named in the line.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):  # typer's own exits and usage errors
            raise
        except AnimevidError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except OSError as exc:
            where = f"{os.fsdecode(exc.filename)}: " if isinstance(exc.filename, str | bytes) else ""
            _fail(f"{where}{exc.strerror or exc}; check the path and its permissions")
        except MemoryError:
            _fail("out of memory; close other programs, or lower decode.batch_frames / decode.workers in --config")
        except Exception as exc:
            log = _log_bug(exc)
            _fail(f"unexpected {type(exc).__name__}: {_first_line(exc)} (a bug in animevid; details in {log})")

    return wrapper  # type: ignore[return-value]


def _fail(message: str) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "no message"


def _log_bug(exc: BaseException) -> str:
    """Append the traceback of an unexpected error to ``~/.cache/animevid/errors.log``; its path."""
    import traceback
    from datetime import UTC, datetime

    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "animevid"
    log = folder / "errors.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8", errors="backslashreplace") as handle:
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            handle.write(f"--- {stamp} animevid {' '.join(sys.argv[1:])}\n{''.join(traceback.format_exception(exc))}\n")
    except OSError:
        return "no log: it could not be written"
    return str(log)


def _check_output_file(path: Path | None, what: str) -> None:
    """Refuse an output file that cannot be written, before any work (a folder, a missing or read-only folder)."""
    if path is None:
        return
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder; give a file name inside it")
    parent = path.parent
    if not parent.is_dir():
        raise ConfigError(f"{what} {path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"{what} {path} cannot be written (permission denied); choose another place")


def _check_output_folder(path: Path | None, what: str) -> None:
    """Refuse an output folder that cannot be used, before any work (a file, or a read-only place)."""
    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder; give a folder (it is created if missing)")
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not os.access(existing, os.W_OK):
        raise ConfigError(f"{what} {path} cannot be written ({existing} is read-only); choose another place")


def _version(value: bool) -> None:
    if value:
        out.print(f"animevid {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Turn anime episodes into a searchable, summarised library."""


def _emit_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


@contextmanager
def _progress(json_mode: bool) -> Iterator[Progress]:
    """A progress bar on stderr (so --json stdout stays clean)."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeRemainingColumn(),
        console=err,
        transient=json_mode,
        disable=not err.is_terminal and json_mode,
    )
    with progress:
        yield progress


def _frame_bar(progress: Progress) -> Callable[[Path, int], Callable[[int], None]]:
    def start(path: Path, total: int) -> Callable[[int], None]:
        from animevid.library import display_name

        task = progress.add_task(f"decoding {escape(display_name(path))}", total=total or None, unit="frames")

        def advance(frames: int) -> None:
            progress.advance(task, frames)

        return advance

    return start


SubsEncodingOption = Annotated[
    str | None,
    typer.Option(
        "--subs-encoding",
        help="Text encoding of subtitle files (shift_jis, gbk, big5, utf-8...; default: detected).",
        show_default=False,
    ),
]
DeviceOption = Annotated[str | None, typer.Option(help="auto, cpu or cuda (default: the config's, auto).")]
EpisodesArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Episode files (mkv, mp4, webm, gif) or folders of them.",
        show_default=False,
        readable=False,  # an unreadable file is a failure of its own in the batch, not a usage error
    ),
]
BackendOption = Annotated[
    str | None, typer.Option(help="Decoder: pyav, pyav-nvdec (GPU), decord, torchcodec (default: pyav).")
]
IndexSubsOption = Annotated[
    Path | None,
    typer.Option(
        help="Subtitle file for the one episode given (default: a same-named .ass/.ssa/.srt/.vtt "
        "beside each episode, else its own subtitle track).",
        show_default=False,
    ),
]
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs", min=1, help="Episodes indexed at once, each in its own process (within 1 GB of memory each)."
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        help="local, or ray: each episode's pass is a Ray task (a local Ray, or the cluster at $RAY_ADDRESS; "
        "install the cluster extra). Commits stay in this process either way."
    ),
]
LibraryOption = Annotated[
    Path | None, typer.Option(help="Library folder (default: $ANIMEVID_LIBRARY or ./animevid-library).")
]


@app.command()
@_handles_errors
def index(
    episodes: EpisodesArgument,
    library: LibraryOption = None,
    device: DeviceOption = None,
    backend: BackendOption = None,
    force: Annotated[bool, typer.Option(help="Re-index episodes already in the library.")] = False,
    subs: IndexSubsOption = None,
    subs_encoding: SubsEncodingOption = None,
    workers: WorkersOption = None,
    jobs: JobsOption = 1,
    engine: EngineOption = "local",
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Decode each episode once and store what was found in the library's catalog.

    Shots, animation, scenes and search descriptors come from the one pass; subtitles
    (beside the episode, inside it, or --subs) are aligned to the cuts and stored with
    the scenes. An episode counts as indexed only once all it stores is written, so a
    kill loses nothing: re-running the same command resumes the batch and repairs what
    was half-written. A bad file is recorded as failed and the batch goes on; episodes
    already indexed with the same options are skipped (--force after adding subtitles).
    Two processes may index into one library at once. --jobs N runs N episodes' passes at
    once (this process writes the library); --engine ray runs them on a Ray cluster.

    Example: animevid index season1/ --library ~/anime-lib --jobs 2
    """
    from animevid.pipeline import find_episodes, index_episodes, resolve_library

    cfg = _with_workers(load_config(config, overrides={"device": device, "decode": {"backend": backend}}), workers)
    if engine not in ("local", "ray"):
        raise typer.BadParameter(f"--engine {engine!r}: use local or ray")
    folder = resolve_library(library, cfg)
    paths = find_episodes(episodes)
    _stop_on_sigterm()
    try:
        with _progress(json_output) as progress:
            results = index_episodes(
                paths, library=folder, config=cfg, force=force, progress=_frame_bar(progress),
                on_result=_batch_reporter(progress, len(paths), json_output), subs=subs, subs_encoding=subs_encoding,
                on_note=lambda note: progress.console.print(f"[yellow]note:[/] {escape(note)}", highlight=False),
                jobs=jobs, engine=engine,  # type: ignore[arg-type]
            )  # fmt: skip
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] episodes finished so far are kept; run the same command again to resume")
        raise typer.Exit(130) from None
    if json_output:
        _emit_json({"library": str(folder), "episodes": [r.as_dict() for r in results]})
    else:
        _print_index_table(results, folder)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, ``kill``) stops a batch as Ctrl-C does: finished episodes are kept."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _batch_reporter(progress: Progress, episodes: int, json_mode: bool) -> Callable[[Any], None]:
    """Advances the batch bar; prints each failure at once and, once, where unexpected errors are logged."""
    batch = progress.add_task("batch", total=episodes, visible=episodes > 1, unit="episodes")
    logs: set[Path] = set()

    def done(result: Any) -> None:
        progress.advance(batch)
        if result.status == "failed" and not json_mode:
            progress.console.print(f"[red]failed:[/] {escape(result.error)}", highlight=False, soft_wrap=True)
        if result.log is not None and result.log not in logs:
            logs.add(result.log)
            progress.console.print(f"[yellow]note:[/] tracebacks of unexpected errors are in {escape(str(result.log))}")

    return done


def _print_index_table(results: list[Any], folder: Path) -> None:
    from animevid.library import display_name

    table = Table(title=escape(f"library {folder}"))
    for column in ("episode", "status", "frames", "seconds", "notes"):
        table.add_column(column)
    colours = {"indexed": "green", "skipped": "cyan", "failed": "red"}
    for r in results:
        notes = r.error or "; ".join([*r.warnings, *r.notes])
        status = f"[{colours[r.status]}]{r.status}[/]"
        table.add_row(escape(display_name(r.path)), status, str(r.frames), f"{r.seconds:.1f}", escape(notes))
    out.print(table)
    counts = {status: sum(r.status == status for r in results) for status in colours}
    out.print(", ".join(f"{n} {status}" for status, n in counts.items()))


@app.command()
@_handles_errors
def check(
    library: LibraryOption = None,
    repair: Annotated[
        bool, typer.Option(help="Mend what can be: rebuild the FAISS index, remove leftovers, mark lost episodes.")
    ] = False,
    quick: Annotated[bool, typer.Option(help="Only look for each episode's search files, do not read them.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check that the library's catalog and search index agree; --repair mends what is derived.

    Looks for episodes whose indexing was interrupted, episodes whose search files are missing
    or damaged, a FAISS index that is missing, damaged or disagrees with the catalog, and
    leftover files. Exit status 0 when all is well (or was repaired), 1 when something is wrong.

    Example: animevid check --repair --library ~/anime-lib
    """
    from animevid.integrity import check_library
    from animevid.pipeline import resolve_library

    cfg = load_config(config)
    folder = resolve_library(library, cfg)
    if not folder.is_dir():
        raise ConfigError(f"library {folder} does not exist; give --library DIR (or set $ANIMEVID_LIBRARY)")
    report = check_library(
        folder, config=cfg.search, repair=repair, thorough=not quick,
        on_wait=lambda note: err.print(f"[yellow]note:[/] {escape(note)}"),
    )  # fmt: skip
    if json_output:
        _emit_json(report.as_dict())
    else:
        _print_check(report, repair)
    if not report.ok:
        raise typer.Exit(1)


def _print_check(report: Any, repair: bool) -> None:
    out.print(
        f"library {escape(str(report.library))}: {report.episodes} episodes, {report.indexed} indexed, "
        f"{report.vectors} search vectors, {report.failures} failed files"
    )
    for finding in report.findings:
        mark = "[green]repaired:[/]" if finding.repaired else "[red]problem:[/]"
        out.print(f"{mark} {escape(finding.problem)}", highlight=False, soft_wrap=True)
        out.print(f"  {'done' if finding.repaired else 'repair'}: {escape(finding.action)}", soft_wrap=True)
    if not report.findings:
        out.print("[green]all well[/]")
    elif not report.ok and not repair:
        out.print(f"run `animevid check --repair --library {escape(str(report.library))}` to mend it")


@app.command()
@_handles_errors
def info(
    episode: Annotated[Path | None, typer.Argument(help="An episode file.", show_default=False)] = None,
    library: Annotated[
        Path | None,
        typer.Option(help="Show a library instead: its episodes (state, warnings) and the files that failed."),
    ] = None,
    count: Annotated[bool, typer.Option(help="Decode the whole stream to count frames exactly.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show what an episode file holds (container, codec, fps, frames, tracks), or what a library holds.

    Examples: animevid info ep01.mkv --json; animevid info --library ~/anime-lib --json
    """
    cfg = load_config(config)
    if (episode is None) == (library is None):
        raise ConfigError("give either an EPISODE file or --library DIR")
    data = _library_info(library) if library is not None else _episode_info(episode, cfg, count, json_output)
    if json_output:
        _emit_json(data)
    elif library is not None:
        _print_library_info(data)
    else:
        table = Table(show_header=False, title=escape(str(episode)))
        for key, value in data.items():
            text = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
            table.add_row(key, escape(text))
        out.print(table)


def _episode_info(episode: Path | None, cfg: Config, count: bool, json_output: bool) -> dict[str, Any]:
    from animevid.decode import open_video, probe

    assert episode is not None
    data = _info_dict(probe(episode))
    if count:
        source = open_video(episode, config=cfg.decode)
        with _progress(json_output) as progress:
            advance = _frame_bar(progress)(episode, source.info.frames_estimate)
            for batch in source.batches():
                advance(len(batch))
        assert source.report is not None  # the pass above ran to its end
        data.update(frames=source.report.frames, repaired_timestamps=source.report.repaired_timestamps)
    return data


def _library_info(folder: Path) -> dict[str, Any]:
    from animevid.catalog import CATALOG_FILENAME, Catalog

    if not (folder / CATALOG_FILENAME).is_file():
        raise ConfigError(f"library {folder} has no catalog ({CATALOG_FILENAME}); index an episode into it first")
    with Catalog.in_library(folder) as catalog:
        episodes = catalog.episodes()
        failures = catalog.failures()
        faces = catalog.face_counts()
    rows = [
        {
            "episode_id": int(e.episode_id),
            "path": e.path,
            "state": e.state,
            "frames": int(e.frames),
            "duration_seconds": round(float(e.duration_seconds), 3),
            "search_vectors": int(e.search_vectors),
            "faces": faces.get(int(e.episode_id), 0),
            "indexed_at": e.indexed_at.isoformat(),
            "warnings": list(e.extra.get("warnings", [])),
        }
        for e in episodes.itertuples()
    ]
    failed = [
        {"path": f.path, "error": f.error, "error_type": f.error_type, "attempts": int(f.attempts),
         "failed_at": f.failed_at.isoformat()}
        for f in failures.itertuples()
    ]  # fmt: skip
    states = {state: sum(r["state"] == state for r in rows) for state in ("indexed", "pending", "damaged")}
    return {"library": str(folder), "episodes": rows, "failures": failed, "counts": states}


def _print_library_info(data: dict[str, Any]) -> None:
    from animevid.library import display_name

    table = Table(
        title=escape(f"library {data['library']}: " + ", ".join(f"{n} {s}" for s, n in data["counts"].items()))
    )
    for column in ("id", "episode", "state", "frames", "seconds", "faces", "warnings"):
        table.add_column(column, justify="right" if column in ("id", "frames", "seconds", "faces") else "left")
    for e in data["episodes"]:
        state = e["state"] if e["state"] == "indexed" else f"[red]{e['state']}[/]"
        name = escape(display_name(e["path"]))
        warned = escape("; ".join(e["warnings"]))
        seconds = f"{e['duration_seconds']:.1f}"
        table.add_row(str(e["episode_id"]), name, state, str(e["frames"]), seconds, str(e["faces"]), warned)
    out.print(table)
    for f in data["failures"]:
        out.print(f"[red]failed[/] ({f['attempts']}x, {escape(f['error_type'])}): {escape(f['error'])}", soft_wrap=True)
    if any(e["state"] != "indexed" for e in data["episodes"]):
        out.print(f"run `animevid check --repair --library {escape(data['library'])}`, then index those episodes again")


@app.command()
@_handles_errors
def shots(
    episode: Annotated[Path, typer.Argument(help="An episode file.", show_default=False)],
    detector: Annotated[
        str | None,
        typer.Option(help="Shot detector: classic (default, fast) or transnetv2 (neural extra).", show_default=False),
    ] = None,
    device: DeviceOption = None,
    workers: WorkersOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find the shots of an episode: hard cuts, fades and dissolves (flashes are not cuts).

    Frame numbers are 0-based; a shot's end_frame is exclusive; transition says how it begins.

    Example: animevid shots ep01.mkv --json
    """
    from animevid.decode import probe
    from animevid.pipeline import detect_shots

    cfg = _with_workers(load_config(config), workers)
    with _progress(json_output) as progress:
        advance = _frame_bar(progress)(episode, probe(episode).frames_estimate)
        result = detect_shots(episode, config=cfg, detector=detector, device=device, progress=advance)
    if json_output:
        _emit_json(result.as_dict())
        return
    table = Table(title=f"{escape(str(episode))}: {len(result.shots)} shots, {result.frames} frames")
    for column in ("#", "start", "end", "frames", "seconds", "transition"):
        table.add_column(column, justify="left" if column == "transition" else "right")
    for number, shot in enumerate(result.shots):
        table.add_row(
            str(number),
            str(shot.start_frame),
            str(shot.end_frame),
            str(shot.frames),
            f"{shot.start_seconds:.3f}-{shot.end_seconds:.3f}",
            shot.transition,
        )
    out.print(table)


@app.command()
@_handles_errors
def analyze(
    episode: Annotated[Path, typer.Argument(help="An episode file.", show_default=False)],
    export_loops: Annotated[
        Path | None,
        typer.Option(
            "--export-loops",
            help="Write every loop found into this folder as a seamless clip (see --loop-format).",
            show_default=False,
        ),
    ] = None,
    loop_format: Annotated[
        str, typer.Option(help="Loop clip format: gif, webp or mp4 (mp4 plays every repeat).")
    ] = "gif",
    device: DeviceOption = None,
    workers: WorkersOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Measure how each shot is animated, in one decode pass with the shot detector.

    Per shot: distinct drawings, drawings shown per second, cadence (ones, twos, threes, mixed,
    still; with the region cadences when characters move on different ones), repeated cycles
    (loops), camera (static, pan, zoom, shake), impact frames, motion, tags and a sakuga score.

    Example: animevid analyze ep01.mkv --json
    """
    from animevid.analysis.export import FORMATS
    from animevid.decode import probe
    from animevid.pipeline import analyze_episode

    cfg = _with_workers(load_config(config), workers)
    if loop_format not in FORMATS:
        raise ConfigError(f"--loop-format {loop_format!r} is not one animevid writes; use {', '.join(FORMATS)}")
    _check_output_folder(export_loops, "--export-loops")
    with _progress(json_output) as progress:
        advance = _frame_bar(progress)(episode, probe(episode).frames_estimate)
        result = analyze_episode(episode, config=cfg, device=device, progress=advance)
    exported: list[str] = []
    if export_loops is not None:
        from animevid.analysis.export import export_loops as write_loops

        loops = [loop for a in result.analyses for loop in a.loops]
        exported = [str(p) for p in write_loops(episode, loops, export_loops, fmt=loop_format, config=cfg.decode)]
    if json_output:
        data = result.as_dict()
        if export_loops is not None:
            data["exported_loops"] = exported
        _emit_json(data)
        return
    _print_analysis(result, episode)
    for path in exported:
        out.print(f"loop written: {escape(path)}")


_ANALYSIS_COLUMNS = (
    "#",
    "frames",
    "drawings",
    "per s",
    "cadence",
    "camera",
    "motion",
    "loops",
    "flashes",
    "score",
    "tags",
)


def _print_analysis(result: Any, episode: Path) -> None:
    title = f"{escape(str(episode))}: {len(result.shots)} shots, {result.frames} frames at {result.fps:.3f} fps"
    table = Table(title=title)
    for column in _ANALYSIS_COLUMNS:
        table.add_column(column, justify="left" if column in ("cadence", "camera", "tags") else "right")
    for a in result.analyses:
        cadence = a.cadence + (f" ({'+'.join(a.cadence_mix)})" if a.cadence_mix else "")
        camera = a.camera + (f" {a.camera_detail['direction']}" if "direction" in a.camera_detail else "")
        table.add_row(
            str(a.shot_index),
            f"{a.start_frame}-{a.end_frame}",
            str(a.drawings),
            f"{a.drawings_per_second:.1f}",
            cadence,
            camera,
            f"{a.motion:.2f}",
            ", ".join(f"{lp.period_frames}x{lp.repeats}" for lp in a.loops),
            str(len(a.flash_frames)),
            f"{a.sakuga_score:.2f}",
            escape(" ".join(a.tags)),
        )
    out.print(table)


@app.command()
@_handles_errors
def scenes(
    episode: Annotated[Path, typer.Argument(help="An episode file.", show_default=False)],
    subs: Annotated[
        Path | None,
        typer.Option(
            help="Subtitle file (ass, ssa, srt...): dialogue across cuts holds scenes together.", show_default=False
        ),
    ] = None,
    subs_encoding: SubsEncodingOption = None,
    device: DeviceOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Group the shots of an episode into scenes, in one decode pass with the shot detector.

    Cues: how shots look (palette, background layout), fades and dissolves, and with --subs the
    dialogue running across cuts and the silences between lines.

    Example: animevid scenes ep01.mkv --subs ep01.ass --json
    """
    from animevid.decode import probe
    from animevid.pipeline import find_scenes

    cfg = load_config(config)
    lines: list[Any] = []
    if subs is not None:
        from animevid.subs import read_lines

        lines = read_lines(subs, encoding=subs_encoding)
    with _progress(json_output) as progress:
        advance = _frame_bar(progress)(episode, probe(episode).frames_estimate)
        result = find_scenes(episode, lines=lines, config=cfg, device=device, progress=advance)
    if json_output:
        _emit_json(result.as_dict())
    else:
        _print_scenes_table(result, episode)


def _print_scenes_table(result: Any, episode: Path) -> None:
    from animevid.scenes import lines_in

    title = f"{escape(str(episode))}: {len(result.scenes)} scenes, {len(result.shots)} shots, {result.frames} frames"
    table = Table(title=title)
    for column in ("#", "frames", "seconds", "shots", "dialogue"):
        table.add_column(column, justify="left" if column == "dialogue" else "right")
    for number, scene in enumerate(result.scenes):
        spoken = " / ".join(line.text.replace("\n", " ") for line in lines_in(scene, result.lines))
        table.add_row(
            str(number),
            f"{scene.start_frame}-{scene.end_frame}",
            f"{scene.start_seconds:.2f}-{scene.end_seconds:.2f}",
            f"{scene.first_shot}-{scene.last_shot}",
            escape(spoken),
        )
    out.print(table)


def _info_dict(info: Any) -> dict[str, Any]:
    return {
        "video": str(info.path),
        "container": info.container,
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps_float, 6),
        "fps_fraction": f"{info.fps.numerator}/{info.fps.denominator}",
        "frames": info.frames_estimate,
        "frames_exact": info.frames_stated,
        "duration_seconds": round(info.duration_seconds, 3),
        "pixel_format": info.pixel_format,
        "audio_streams": info.audio_streams,
        "subtitle_tracks": [
            {"index": t.index, "codec": t.codec, "language": t.language, "title": t.title} for t in info.subtitle_tracks
        ],
        "attachments": list(info.attachments),
    }


@app.command()
@_handles_errors
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the episode into.", show_default=False)],
    seed: Annotated[int, typer.Option(help="Episode seed; OP and ED are shared by all seeds.")] = 1,
    seconds: Annotated[float | None, typer.Option(help="Length (default: from config, 60).")] = None,
    width: Annotated[int | None, typer.Option(help="Frame width (default: from config, 320).")] = None,
    height: Annotated[int | None, typer.Option(help="Frame height (default: from config, 180).")] = None,
    grain: Annotated[float | None, typer.Option(help="Film grain strength (default: from config, 0).")] = None,
    case: Annotated[
        str | None,
        typer.Option(
            help="Write a short case clip instead of an episode: follow (a background sliding behind a held "
            "character), follow_walk (behind a walk cycle), long_hair (on threes), drawn_pan (a camera move drawn "
            "on threes), zoom_pulse (zoom and glow pulses), strobe (1-2 frame shots), blended_cut (cuts on "
            "blended frames).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Generate a synthetic anime episode with exact ground truth (mp4, mkv, ass, truth.json).

    With --case NAME, a short clip of one hard case of real footage between two still shots instead.

    Examples: animevid synth out/ --seed 3 --seconds 60 --width 1280 --height 720;
    animevid synth out/ --case follow --seed 2
    """
    from animevid.synth import generate_case, generate_episode

    cfg = load_config(config, overrides={"synth": {"width": width, "height": height, "grain": grain}})
    with _progress(json_output) as progress:
        task = progress.add_task(f"rendering {case or f'ep{seed}'}", total=None, unit="frames")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if case is not None:
            episode = generate_case(out_dir, case, seed=seed, config=cfg.synth)
        else:
            episode = generate_episode(out_dir, seed=seed, seconds=seconds, config=cfg.synth, progress=advance)
    files = {"mp4": episode.mp4, "mkv": episode.mkv, "ass": episode.ass, "truth": episode.truth_json}
    summary: dict[str, Any] = {name: str(path) for name, path in files.items()}
    summary.update(frames=episode.truth["frames"], shots=len(episode.truth["shots"]))
    if json_output:
        _emit_json(summary)
    else:
        for name, path in files.items():
            out.print(f"{name:>6}: {escape(str(path))}")
        out.print(f"{episode.truth['frames']} frames, {len(episode.truth['shots'])} shots")


@app.command()
@_handles_errors
def segments(
    library: LibraryOption = None,
    html_out: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Also write the season page: timelines, screen time, sakuga highlights.", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find footage that recurs across each season's episodes: OP, ED, eyecatch, recap, preview, reused.

    A season is the indexed episodes of one folder, in episode order. Every pair of episodes is
    compared through the frames the search index keeps (no decoding), and the ranges found are
    stored in the catalog's segments table (search, exports and digests can leave them out).
    `animevid index` runs this for the seasons it adds episodes to; run it to see the ranges.
    --html writes the season page: each season's timelines, screen time and sakuga highlights.

    Example: animevid segments --library ~/anime-lib --html seasons.html
    """
    from animevid.catalog import CATALOG_FILENAME
    from animevid.pipeline import resolve_library
    from animevid.season import find_segments, write_season_page

    folder = resolve_library(library, load_config(config))
    if not (folder / CATALOG_FILENAME).is_file():
        _fail(f"{folder}: no such library; index episodes first (animevid index SEASON/ --library {folder})")
    _check_output_file(html_out, "--html")
    found = find_segments(folder)
    page = write_season_page(folder, html_out) if html_out is not None else None
    paths = {e["episode_id"]: e["path"] for e in _library_info(folder)["episodes"]}
    rows = [{**s.as_dict(), "episode": paths.get(s.episode_id, "")} for s in found]
    if json_output:
        _emit_json({"library": str(folder), "segments": rows, **({"html": str(page)} if page else {})})
        return
    if page is not None:
        err.print(f"season page written: {escape(str(page))}")
    table = Table(title=f"{len(rows)} stretch(es) of recurring footage")
    for column in ("episode", "kind", "from", "to", "frames", "shown in"):
        table.add_column(column, justify="left" if column in ("episode", "kind") else "right")
    for r in rows:
        table.add_row(
            escape(Path(r["episode"]).name),
            r["kind"],
            f"{r['start_seconds']:.2f}",
            f"{r['end_seconds']:.2f}",
            f"{r['start_frame']}-{r['end_frame']}",
            f"{r['episodes']} episodes",
        )
    out.print(table)


@app.command()
@_handles_errors
def serve(
    library: LibraryOption = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: the config's serve.host, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: the config's serve.port, 8765).")] = None,
    config: ConfigOption = None,
) -> None:
    """Serve the library over HTTP: trace.moe's search API, preview clips and a search page.

    Existing trace.moe clients (bots, extensions, aiotracemoeapi, PicImageSearch) work unchanged
    once their base URL points here. Open http://127.0.0.1:8765/ for the page: drop or paste a
    screenshot, find dialogue or a character. Limits (upload size, rate, quota, keys, workers) are
    the serve section of the config. Ctrl+C stops it.

    Example: animevid serve --library ~/anime-lib --port 8765
    """
    from animevid.pipeline import resolve_library
    from animevid.serve import exposure_warning, run_server

    cfg = load_config(config, overrides={"serve": {"host": host, "port": port}})
    folder = resolve_library(library, cfg)
    if not folder.is_dir():
        _fail(f"{folder}: no such library; index episodes first (animevid index EPISODE... --library {folder})")
    warning = exposure_warning(cfg.serve.host, cfg)
    if warning:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    shown = f"[{cfg.serve.host}]" if ":" in cfg.serve.host else cfg.serve.host
    err.print(f"serving {escape(str(folder))} at http://{shown}:{cfg.serve.port}/ (Ctrl+C stops)")
    run_server(folder, cfg, host=cfg.serve.host, port=cfg.serve.port)


def _indexed_facts(episode: Path, folder: Path, cfg: Config, json_output: bool) -> Any:
    """The episode's facts from the library; a file not indexed there yet is indexed first (said on stderr)."""
    from animevid.clips import EpisodeNotFound, open_episode
    from animevid.library import display_name
    from animevid.pipeline import index_episodes

    try:
        return open_episode(folder, episode)
    except EpisodeNotFound:
        if not episode.is_file():
            raise
    err.print(f"note: {escape(display_name(episode))} is not in {escape(str(folder))} yet; indexing it first")
    with _progress(json_output) as progress:
        [result] = index_episodes([episode], library=folder, config=cfg, progress=_frame_bar(progress))
    if result.status == "failed":
        _fail(result.error)
    return open_episode(folder, episode)


def _print_written(files: dict[str, str], json_output: bool) -> None:
    if json_output:
        _emit_json(files)
    else:
        out.print("written: " + ", ".join(escape(path) for path in files.values()))


EpisodeInLibrary = Annotated[
    Path,
    typer.Argument(
        help="An episode file (indexed into the library first when it is not there yet) or its catalog id.",
        show_default=False,
    ),
]


@app.command()
@_handles_errors
def digest(
    episode: Annotated[
        Path | None,
        typer.Argument(
            help="An episode file (indexed into the library first when it is not there yet) or its catalog id; "
            "without it, every indexed episode and an index page.",
            show_default=False,
        ),
    ] = None,
    library: LibraryOption = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the pages.")] = Path("digest"),
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write episode digests: a self-contained HTML page per episode, its contact sheet (PNG) and a JSON.

    A page shows a timeline of shots coloured by scene with cut marks and OP/ED/recap bands, each
    scene's keyframes, dialogue and cast, the sakuga highlights, loops as animations, plots of
    drawings per second, motion and cut rate, and a contact sheet. Pictures are inline: the page
    opens offline, needs no script and can be mailed as one file. Each episode is decoded once.
    Without EPISODE, every indexed episode gets its page and OUT/index.html links them.

    Example: animevid digest "Show - 01.mkv" --library ~/anime-lib -o digest/
    """
    from animevid.digest import DigestFiles, write_digest, write_library_digest
    from animevid.pipeline import resolve_library

    cfg = load_config(config)
    folder = resolve_library(library, cfg)
    _check_output_folder(out_dir, "--out")
    pages: list[DigestFiles] = []
    index: Path | None = None
    if episode is not None:
        facts = _indexed_facts(episode, folder, cfg, json_output)
        with _progress(json_output) as progress:
            pages.append(write_digest(folder, str(facts.episode_id), out_dir, progress=_frame_bar(progress)))
    else:  # a folder without a catalog is refused there, before any work
        with _progress(json_output) as progress:
            index = write_library_digest(folder, out_dir, progress=_frame_bar(progress), on_episode=pages.append)
    _print_digests(folder, pages, index, json_output)


def _print_digests(folder: Path, pages: list[Any], index: Path | None, json_output: bool) -> None:
    for files in pages:
        for note in files.notes:
            err.print(f"[yellow]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if json_output:
        rows = [{"html": str(f.html), "json": str(f.json), "contact": str(f.contact) if f.contact else None,
                 "notes": list(f.notes)} for f in pages]  # fmt: skip
        _emit_json({"library": str(folder), "pages": rows, "index": str(index) if index else None})
        return
    for files in pages:
        out.print(escape(str(files.html)), highlight=False)
    if index is not None:
        out.print(f"index page: {escape(str(index))}")


@app.command()
@_handles_errors
def reel(
    episode: EpisodeInLibrary,
    seconds: Annotated[float, typer.Option("--seconds", help="Length budget; the reel never exceeds it.")],
    output: Annotated[
        Path,
        typer.Option(
            "-o", "--output", help="The mp4 to write (--format tvsum: the .h5, a .json beside it).", show_default=False
        ),
    ],
    reel_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="mp4: the reel with its sound; tvsum: per-frame importance and shots "
            "in the SumMe/TVSum h5 layout (user_summary: the reel).",
        ),
    ] = "mp4",
    library: LibraryOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Cut a highlight reel: the episode's most important shots under a time budget, never OP/ED/recap.

    Shots are scored by sakuga score, motion, dialogue and characters, look-alikes marked down, and
    chosen by knapsack under --seconds; they are cut frame-exact and encoded H.264 with AAC sound.

    Examples: animevid reel ep01.mkv --seconds 60 -o ep01-reel.mp4;
    animevid reel ep01.mkv --seconds 90 --format tvsum -o ep01.h5
    """
    from animevid.pipeline import resolve_library
    from animevid.reel import budget_frames, write_reel, write_tvsum

    if reel_format not in ("mp4", "tvsum"):
        raise ConfigError(f"--format {reel_format}: unknown; use mp4 or tvsum")
    if not seconds > 0:
        raise ConfigError(f"--seconds {seconds:g}: the budget must be a positive number of seconds")
    cfg = load_config(config)
    folder = resolve_library(library, cfg)
    _check_output_file(output, "-o")
    facts = _indexed_facts(episode, folder, cfg, json_output)
    budget_frames(facts, seconds)  # a bad budget fails before the progress bar shows
    if reel_format == "tvsum":
        path = write_tvsum(facts, output, seconds=seconds)
        _print_written({"h5": str(path), "json": str(path.with_suffix(".json"))}, json_output)
        return
    with _progress(json_output) as progress:
        task = progress.add_task(f"cutting {escape(facts.name)}", total=None, unit="frames")

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = write_reel(facts, seconds, output, progress=advance)
    _print_reel(report, seconds, json_output)


def _print_reel(report: Any, seconds: float, json_output: bool) -> None:
    if json_output:
        _emit_json(report.as_dict())
        return
    for note in report.notes:
        err.print(escape(note))
    out.print(
        f"{escape(str(report.path))}: {len(report.shots)} shots, {report.frames} frames "
        f"({report.seconds:.2f} s of {seconds:g} s), {report.elapsed_seconds:.1f} s to write"
    )


ExportOutOption = Annotated[
    Path, typer.Option("--out", help="Export folder: new, empty, or an export to resume.", show_default=False)
]
ExportFormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        help="files (clips/KEY.mp4 + .json + .txt), parquet (clips/ + clips.parquet) or webdataset "
        "(video2dataset's layout: NNNNN.tar + NNNNN.parquet + NNNNN_stats.json).",
    ),
]
ExportUnitOption = Annotated[str, typer.Option("--unit", help="One clip per shot, loop or scene.")]
ExportSizesOption = Annotated[
    str, typer.Option(help="Comma-separated: full and/or short sides in pixels (e.g. 256,512,full), one decode.")
]
CadenceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cadence", help="Keep this cadence (repeatable): ones, twos, threes, mixed, still.", show_default=False
    ),
]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", help="Keep clips with any of these tags (repeatable).", show_default=False)
]
DialogueOption = Annotated[
    bool | None,
    typer.Option("--has-dialogue/--no-dialogue", help="Only clips with (or without) dialogue.", show_default=False),
]
SidecarOption = Annotated[
    Path | None,
    typer.Option(
        "--metadata",
        help="JSON/YAML sidecar: studio and staff per series or per episode file "
        "({series: {TITLE: {...}}, episodes: {FILE: {...}}}).",
        show_default=False,
    ),
]


@app.command("export")
@_handles_errors
def export(
    out_dir: ExportOutOption,
    library: LibraryOption = None,
    fmt: ExportFormatOption = "files",
    unit: ExportUnitOption = "shot",
    sizes: ExportSizesOption = "full",
    min_seconds: Annotated[float, typer.Option(help="Shortest clip kept (seconds).")] = 0.0,
    max_seconds: Annotated[float | None, typer.Option(help="Longest clip kept (seconds).", show_default=False)] = None,
    cadence: CadenceOption = None,
    min_sakuga: Annotated[float, typer.Option(help="Lowest sakuga score kept (0..1).")] = 0.0,
    tag: TagOption = None,
    all_tags: Annotated[bool, typer.Option("--all-tags", help="Keep clips with every --tag, not any.")] = False,
    character: Annotated[
        str | None, typer.Option(help="Keep clips showing this character.", show_default=False)
    ] = None,
    has_dialogue: DialogueOption = None,
    exclude_repeated: Annotated[bool, typer.Option(help="Leave out OP, ED, recap, preview, eyecatch.")] = False,
    dedupe: Annotated[bool, typer.Option(help="Leave out near-duplicates of clips already exported.")] = True,
    copy: Annotated[bool, typer.Option(help="Stream-copy clips where that is frame-exact.")] = True,
    shard_size: Annotated[int, typer.Option(help="Clips per shard.", min=1)] = 1000,
    metadata: SidecarOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Export the library's shots (or loops, or scenes) as a clip dataset: mp4 clips with their metadata.

    Clips are frame-exact: stream-copied where that gives exactly the shot's frames, re-encoded elsewhere
    (each clip's metadata says which); each episode is decoded once for every size. A killed export
    resumes: run the same command again. A manifest and stats are written at the end.

    Example: animevid export --library ~/anime-lib --out ds --format webdataset --sizes 256,full --min-sakuga 0.5
    """
    from animevid.dataset import ClipFilter, export_clips
    from animevid.pipeline import resolve_library

    folder = resolve_library(library, load_config(config))
    rules = ClipFilter(
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        cadences=tuple(cadence or ()),
        min_sakuga=min_sakuga,
        tags_any=() if all_tags else tuple(tag or ()),
        tags_all=tuple(tag or ()) if all_tags else (),
        character=character,
        has_dialogue=has_dialogue,
        exclude_repeated=exclude_repeated,
        dedupe=dedupe,
    )
    with _progress(json_output) as progress:
        task = progress.add_task("exporting clips", total=None, unit="clips")
        report = export_clips(
            folder, out_dir, format=fmt, unit=unit, filters=rules, sizes=[s for s in sizes.split(",") if s],
            shard_size=shard_size, metadata=metadata, stream_copy=copy,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip
    _print_export(report, json_output)


def _print_export(report: Any, json_output: bool) -> None:
    stats = report.stats.as_dict()
    failures = [{"episode": f.episode, "path": f.path, "error": f.error} for f in report.failures]
    if json_output:
        _emit_json(
            {
                "out": str(report.out),
                "manifest": str(report.manifest),
                "shards": report.shards,
                "resumed_shards": report.resumed_shards,
                "stats": stats,
                "failures": failures,
            }
        )
        return
    for failure in failures:
        err.print(f"[yellow]left out:[/] {escape(failure['error'])}")
    skipped = ", ".join(f"{n} {reason}" for reason, n in stats["skipped"].items()) or "none"
    out.print(
        f"{stats['clips']} clips ({stats['seconds']:.1f} s, {stats['bytes'] / 1e6:.1f} MB; {stats['copied']} files "
        f"stream-copied, {stats['reencoded']} re-encoded) in {report.shards} shard(s) -> {escape(str(report.out))}\n"
        f"left out: {stats['duplicates']} near-duplicates, {stats['failed']} failed; by filter: {skipped}\n"
        f"manifest: {escape(str(report.manifest))}"
    )


@app.command()
@_handles_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Where the demo writes its outputs.")] = Path("demo-output"),
    config: ConfigOption = None,
) -> None:
    """Run the main job on a synthetic sample: generate an episode, index it, report.

    Example: animevid demo --out /tmp/animevid-demo
    """
    from animevid.demo import run_demo

    cfg = load_config(config)
    _check_output_folder(out_dir, "--out")
    with _progress(False) as progress:
        report = run_demo(out_dir, config=cfg, progress=_frame_bar(progress))
    _print_demo(report)


def _print_demo(report: dict[str, Any]) -> None:
    table = Table(title="animevid demo")
    table.add_column("check")
    table.add_column("truth", justify="right")
    table.add_column("measured", justify="right")
    for row in report["checks"]:
        table.add_row(row["name"], str(row["truth"]), str(row["measured"]))
    out.print(table)
    speed = report["decode"]["frames"] / max(report["decode"]["seconds"], 1e-9)
    out.print(
        f"indexed {report['decode']['frames']} frames in {report['decode']['seconds']:.2f} s ({speed:.0f} frames/s)"
    )
    out.print("outputs:")
    for name, path in report["outputs"].items():
        out.print(f"  {name:>8}: {escape(str(path))}")


subs_app = typer.Typer(
    help="Subtitle files and tracks: list an episode's tracks, align a file to the episode's cuts.",
    no_args_is_help=True,
)
app.add_typer(subs_app, name="subs")

TrackOption = Annotated[
    int | None, typer.Option("--track", help="Stream index of the subtitle track to read.", show_default=False)
]
LanguageOption = Annotated[
    str | None, typer.Option("--language", help="Language of the subtitle track to read (eng, en).", show_default=False)
]


@subs_app.command("align")
@_handles_errors
def subs_align(
    episode: Annotated[Path, typer.Argument(help="The episode to align to (its cuts).", show_default=False)],
    subs: Annotated[
        Path | None,
        typer.Argument(help="Subtitle file (.ass .ssa .srt .vtt) or a video (default: EPISODE).", show_default=False),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the re-timed file here (.ass .ssa .srt .vtt).", show_default=False),
    ] = None,
    track: TrackOption = None,
    language: LanguageOption = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            "--subs-encoding",
            help="Text encoding of SUBS (shift_jis, gbk, big5, utf-8...; default: detected).",
            show_default=False,
        ),
    ] = None,
    device: DeviceOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Align subtitles to an episode: find the offset and frame-rate drift, snap lines to cuts.

    Lines timed by fansubbers start and end on cuts; the offset and ratio that put most of them
    back on the episode's cuts are applied, then dialogue and signs are snapped to cuts within a
    few frames (Aegisub's timing post-processor; thresholds in the config's subs section).

    Example: animevid subs align ep01.mkv ep01.ass -o ep01.aligned.ass --json
    """
    from animevid.decode import probe
    from animevid.pipeline import align_subtitles

    cfg = load_config(config)
    _check_output_file(output, "-o")
    with _progress(json_output) as progress:
        advance = _frame_bar(progress)(episode, probe(episode).frames_estimate)
        result = align_subtitles(
            episode, subs, config=cfg, output=output, encoding=encoding, track=track, language=language,
            device=device, progress=advance,
        )  # fmt: skip
    data = result.as_dict()
    if json_output:
        _emit_json(data)
        return
    table = Table(show_header=False, title=escape(f"{data['subtitles']} -> {episode}"))
    for key in ("offset_seconds", "ratio", "reliable", "lines", "snapped", "snapped_starts", "snapped_ends"):
        table.add_row(key, str(data[key]))
    for key in ("retimed", "matched_boundaries", "boundaries", "cuts", "output"):
        table.add_row(key, escape(str(data[key])))
    table.add_row("kinds", ", ".join(f"{n} {kind}" for kind, n in data["kinds"].items()))
    out.print(table)
    if not data["reliable"]:
        out.print("[yellow]note:[/] few line boundaries sit on cuts, so the offset and ratio are a best guess")


@subs_app.command("tracks")
@_handles_errors
def subs_tracks(
    episode: Annotated[Path, typer.Argument(help="A video (mkv, mp4, mks).", show_default=False)],
    json_output: JsonOption = False,
) -> None:
    """List the subtitle tracks of a video (pass an index to `subs align --track`).

    Example: animevid subs tracks ep01.mkv --json
    """
    from dataclasses import asdict

    from animevid.subs import subtitle_tracks

    tracks = subtitle_tracks(episode)
    if json_output:
        _emit_json({"video": str(episode), "tracks": [asdict(t) for t in tracks]})
        return
    table = Table(title=escape(f"{episode}: {len(tracks)} subtitle tracks"))
    for column in ("index", "codec", "language", "title"):
        table.add_column(column, justify="right" if column == "index" else "left")
    for t in tracks:
        table.add_row(str(t.index), t.codec, t.language, escape(t.title))
    out.print(table)


@app.command()
@_handles_errors
def search(
    image: Annotated[
        Path | None, typer.Argument(help="Screenshot (png, jpg, webp), short clip or GIF.", show_default=False)
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Search subtitle dialogue instead (any language).", show_default=False)
    ] = None,
    character: Annotated[
        str | None,
        typer.Option("--character", help="List the shots where an enrolled character appears.", show_default=False),
    ] = None,
    library: Annotated[
        Path | None, typer.Option(help="Library folder (default: $ANIMEVID_LIBRARY or ./animevid-library).")
    ] = None,
    top: Annotated[int, typer.Option(help="At most this many hits.")] = 5,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write a page with the query and each hit.", show_default=False)
    ] = None,
    device: DeviceOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find which episode and time a screenshot, clip or line of dialogue comes from.

    Screenshots may be re-compressed, resized, cropped, letterboxed, mirrored, carry burned-in
    subtitles or be pasted inside a larger picture. A best score below the threshold is reported
    as no confident match.

    --character NAME lists the shots where an enrolled character was recognised, by episode and time.

    Example: animevid search shot.png --library ~/anime-lib --top 3 --json
    """
    from animevid.device import resolve_device
    from animevid.pipeline import resolve_library
    from animevid.search import search_image, search_text

    cfg = load_config(config, overrides={"device": device})
    folder = resolve_library(library, cfg)
    if sum(x is not None for x in (image, text, character)) != 1:
        raise typer.BadParameter("give one of an IMAGE, --text or --character")
    if character is not None:
        _search_character(folder, character, json_output)
        return
    _check_output_file(html_out, "--html")
    if text is not None:
        hits = search_text(text, library=folder, top=top)
        data: dict[str, Any] = {"results": [h.as_dict() for h in hits]}
        result = None
    else:
        assert image is not None
        result = search_image(image, library=folder, top=top, config=cfg.search, device=resolve_device(cfg.device))
        data = result.as_dict()
        if not result.confident:
            data["message"] = f"no confident match: best score below {result.threshold:.2f}"
    if html_out is not None:
        data["html"] = str(_search_page(html_out, data, result, folder, image, text, cfg))
    if json_output:
        _emit_json(data)
        return
    _print_search(data, text is not None)


def _search_page(
    out_path: Path, data: dict[str, Any], result: Any, folder: Path, image: Path | None, text: str | None, cfg: Any
) -> Path:
    from animevid.search import SearchResult, load_image, open_search_index
    from animevid.search._html import write_html
    from animevid.search._query import SearchHit

    if result is None:  # text hits shown as hits with a full score
        hits = tuple(
            SearchHit(r["episode_id"], r["episode"], r["frame"], r["seconds"], r["end_seconds"], 1.0)
            for r in data["results"]
        )
        result = SearchResult(hits, cfg.search.threshold)
    query = (
        load_image(image)
        if image is not None and image.suffix.lower() not in {".gif", ".mp4", ".mkv", ".webm"}
        else None
    )
    index = open_search_index(folder, config=cfg.search)
    return write_html(out_path, result, index, query=query, title=f"search: {text if text is not None else image}")


def _print_search(data: dict[str, Any], is_text: bool) -> None:
    table = Table()
    for column in ("#", "episode", "seconds", "frame", "text" if is_text else "score"):
        table.add_column(column, justify="left" if column in ("episode", "text") else "right")
    for rank, r in enumerate(data["results"], 1):
        last = escape(r["text"]) if is_text else f"{r['score']:.3f}"
        table.add_row(str(rank), escape(Path(r["episode"]).name), f"{r['seconds']:.3f}", str(r["frame"]), last)
    out.print(table)
    if "message" in data:
        out.print(f"[yellow]{escape(data['message'])}[/]")
    if not data["results"]:
        out.print("no hits")
    if "html" in data:
        out.print(f"page written: {escape(data['html'])}")


def _search_character(folder: Path, name: str, json_output: bool) -> None:
    from animevid.characters import search_character

    hits = search_character(folder, name)
    if json_output:
        _emit_json({"character": name, "results": hits})
        return
    table = Table(title=f"{escape(name)}: {len(hits)} shot(s)")
    for column in ("episode", "shot", "from", "to", "faces"):
        table.add_column(column, justify="left" if column == "episode" else "right")
    for hit in hits:
        table.add_row(
            escape(Path(hit["path"]).name), str(hit["shot_index"]), f"{hit['start_seconds']:.2f}",
            f"{hit['end_seconds']:.2f}", str(hit["faces"]),
        )  # fmt: skip
    out.print(table)


characters_app = typer.Typer(
    help=(
        "Who is on screen: enroll characters from a few pictures, identify faces, group the unknown ones.\n\n"
        "Faces are found when episodes are indexed (characters.* in --config); enrolling or naming a cluster "
        "names every matching face of the library at once.\n\n"
        "Examples:\n\n"
        "  animevid characters enroll Luffy luffy1.png luffy2.png\n\n"
        "  animevid characters identify frame.png --json\n\n"
        "  animevid characters discover --html faces.html   # then: animevid characters name 3 Coby"
    ),
    no_args_is_help=True,
)
app.add_typer(characters_app, name="characters")
PicturesArgument = Annotated[
    list[Path], typer.Argument(help="Whole frames or face crops (png, jpg, webp).", show_default=False)
]


@characters_app.command("enroll")
@_handles_errors
def characters_enroll(
    name: Annotated[str, typer.Argument(help="The character's name.", show_default=False)],
    pictures: PicturesArgument,
    library: LibraryOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a character to the library's gallery from pictures, and name its faces across the library.

    Each picture gives one face: the largest a detector finds, else the whole picture (said so).
    """
    from animevid.characters import enroll
    from animevid.pipeline import resolve_library

    cfg = load_config(config)
    result = enroll(resolve_library(library, cfg), name, pictures, cfg.characters)
    if json_output:
        _emit_json(result.as_dict())
        return
    for note in result.notes:
        out.print(escape(note))
    named = result.named.get(name, 0)
    out.print(f"{escape(name)}: {result.faces} enrolled face(s); {named} face(s) in the library named so")


@characters_app.command("identify")
@_handles_errors
def characters_identify(
    picture: Annotated[Path, typer.Argument(help="A frame or a face crop.", show_default=False)],
    library: LibraryOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Name the faces of a picture after the gallery (unknown when no enrolled character is near)."""
    from animevid.characters import identify
    from animevid.pipeline import resolve_library

    cfg = load_config(config)
    data = identify(resolve_library(library, cfg), picture, cfg.characters)
    if json_output:
        _emit_json(data)
        return
    table = Table()
    for column in ("box", "name", "score"):
        table.add_column(column)
    for face in data["faces"]:
        who = escape(face["name"]) if face["name"] else "[dim]unknown[/]"
        box = ", ".join(map(str, face["box"])) + (" (whole picture)" if face["whole_image"] else "")
        table.add_row(box, who, f"{face['score']:.3f}")
    out.print(table)


@characters_app.command("list")
@_handles_errors
def characters_list(
    library: LibraryOption = None, config: ConfigOption = None, json_output: JsonOption = False
) -> None:
    """The enrolled characters with their faces, shots and screen time in the library."""
    from animevid.characters import list_characters
    from animevid.pipeline import resolve_library

    rows = list_characters(resolve_library(library, load_config(config)))
    if json_output:
        _emit_json({"characters": rows})
        return
    table = Table()
    for column in ("name", "enrolled", "faces", "episodes", "shots", "screen s"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for r in rows:
        table.add_row(
            escape(r["name"]), str(r["enrolled_faces"]), str(r["library_faces"]), str(r["episodes"]),
            str(r["shots"]), f"{r['screen_seconds']:.1f}",
        )  # fmt: skip
    out.print(table if rows else "no character enrolled yet: animevid characters enroll NAME PICTURE...")


@characters_app.command("discover")
@_handles_errors
def characters_discover(
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write a page of each cluster's faces.", show_default=False)
    ] = None,
    library: LibraryOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Group the library's unknown faces into clusters (one per character, ideally) and number them."""
    from animevid.characters import discover
    from animevid.pipeline import resolve_library

    cfg = load_config(config)
    _check_output_file(html_out, "--html")
    result = discover(resolve_library(library, cfg), max_distance=cfg.characters.cluster_distance, page=html_out)
    if json_output:
        _emit_json(result.as_dict())
        return
    out.print(f"{result.unknown_faces} unknown face(s), {len(result.clusters)} cluster(s)")
    for c in result.clusters:
        out.print(f"  cluster {c['cluster']}: {c['faces']} faces, {c['tracks']} tracks, {c['episodes']} episode(s)")
    if result.page:
        out.print(f"page written: {escape(result.page)}")


@characters_app.command("name")
@_handles_errors
def characters_name(
    cluster: Annotated[int, typer.Argument(help="A cluster number from `characters discover`.", show_default=False)],
    name: Annotated[str, typer.Argument(help="The character's name.", show_default=False)],
    library: LibraryOption = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Name a cluster of unknown faces: its faces join the gallery, and the library is named again."""
    from animevid.characters import Naming, name_cluster
    from animevid.pipeline import resolve_library

    cfg = load_config(config)
    data = name_cluster(resolve_library(library, cfg), cluster, name, naming=Naming.of(cfg.characters))
    if json_output:
        _emit_json(data)
        return
    out.print(
        f"{escape(name)}: {data['cluster_faces']} face(s) of cluster {cluster}; {data['enrolled_faces']} enrolled; "
        f"{data['named'].get(name, 0)} face(s) in the library named so"
    )


def main() -> None:
    """Entry point of the ``animevid`` script."""
    app()
