"""Outputs of every command on fixed inputs, to compare a refactor's outputs with those recorded before it.

Usage (recording, before a change that must not change any output)::

    python -m tests.reference record

The inputs are files that do not change: the bundled sample ``data_samples/ep1.mkv`` with its
subtitles, and the real clips of ``../shared/data/real/video`` (left out when absent). For each:
what ``animevid index`` stores (the catalog's rows and the search frames, the latter as a hash of
their arrays), and for the sample and two real clips the JSON of ``shots``, ``analyze``, ``scenes``
and ``subs align``. Floats are kept exactly (JSON's repr), file paths as names, times of day dropped.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tests.helpers import REAL_DIR

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "ep1.mkv"
RECORDED = ROOT / "tests" / "data" / "reference_outputs.json.gz"
"""Recorded on commit be321d1's code (before the memory and engine refactors), 2-core VM, pinned
dependencies. Re-recorded the same way once float arrays were kept as sampled values (a hash of the
search descriptors differed between two CPUs); the held_* fields carry the held-frame count of
``Measures.held()``, which replaced the frame-diff stage's on purpose. Re-recorded on purpose since:
ep1.mkv and onepiece_gear5_action_engsubs.mp4, when impact frames became transparent to holds (the
sample gained a flash inside a hold; the meter is more tolerant of encoder noise just after a flash);
naruto and One Piece when trains of drawn cuts were dropped; and seven real clips when a faint change
spread over the picture got a camera estimate (slow push-ins over held cels); and every input when the shot
scorer was refitted on synthetic and real labels (the config fingerprint holds the scorer's weights; only
besides it, the outputs of the three clips whose cuts the refit changed); and when the meter learnt layered
motion (a background sliding behind a cel): the first shot of pyscenedetect_issue-236-split-copy.mkv became a
pan of 5 drawings (was static, 15, sakuga-candidate), single frames changed on six other inputs; and every
input when the scorer was refitted with the synthetic case clips (the fingerprint; shots moved on One Piece); and
six real clips when a faint change got a camera estimate up to 1.65x the held levels (dialogue's push-ins); and
every input when the scorer was refitted after the blended case changed (the fingerprint; one more false cut in
dialogue); and every input when the characters stage joined ``index`` (its options are in the fingerprint; the
faces it stores are recorded too), and again when it came to look for faces at 480 px; and
devil_parttimer_fades.mp4 when a colour change that stays (a re-grade, a light dimmed) became the same drawing:
frames 122-127 after a fade-in, and 248-252, are one re-lit drawing (12 more held frames; shot 57-120 counts 13
drawings, was 14; fewer new-drawing events in three shots). Its eye-label count is unchanged (bench/drawings.py);
and moviepy_big_buck_bunny_0_30.webm when a tint (each colour channel scaled on its own) became a photometric
change: its first shot (0-45, a still sky fading in from black, looked at by eye) is 1 drawing, still (was 3);
and onepiece_gear5_action_engsubs.mp4 (that input alone) when drawings came to be recognised over a sliding
background (analysis/_slide.py): in shot 21, frame 508 is frame 507's drawing moved by a shake (-4.4, 4.3 px,
0.82 phase correlation; the shifted difference is ink-line aliasing only, the burned-in subtitle being
the layer that stays), so the shot counts 12 drawings (was 13); and every input when the search stage came to
keep part descriptors (issue 24): each episode's search vectors count its parts too (ep1.mkv 298 -> 3210), the
stage's settings gained part_gap_seconds (the fingerprint); nothing else changed."""
COMMAND_CLIPS = ("video2x_sample_output_sakurasou.mp4", "pyscenedetect_issue-236-split-copy.mkv")
"""Real clips whose per-command JSON is recorded too (besides the sample)."""
VIDEO_ENDINGS = (".mp4", ".mkv", ".webm", ".gif")
FLOAT_SAMPLE = 256
"""Values of a float array kept in the recording (evenly spaced), besides its shape and sum."""


def inputs() -> list[Path]:
    """The sample, then every real clip present."""
    real = sorted(p for p in (REAL_DIR / "video").glob("*") if p.suffix in VIDEO_ENDINGS) if REAL_DIR.is_dir() else []
    return [SAMPLE, *real]


def index_outputs(path: Path) -> dict[str, Any]:
    """What ``animevid index`` stores for one episode, in a fresh library."""
    from animevid.catalog import Catalog
    from animevid.config import Config, DecodeConfig
    from animevid.pipeline import index_episodes
    from animevid.search import SearchIndex

    with tempfile.TemporaryDirectory() as folder:
        library = Path(folder)
        config = Config(device="cpu", decode=DecodeConfig(workers=1))
        [result] = index_episodes([path], library=library, config=config)
        assert result.status == "indexed", result.error
        with Catalog.in_library(library) as catalog:
            tables = {
                "episode": _episode_row(catalog.episodes().iloc[0].to_dict()),
                "shots": _rows(catalog.shots()),
                "scenes": _rows(catalog.scenes()),
                "subtitle_lines": _rows(catalog.subtitle_lines()),
                "shot_analyses": _rows(catalog.shot_analyses()),
                "faces": _rows(catalog.faces()),
            }
        frames = SearchIndex.in_library(library).episode(result.episode_id or 0)
        arrays = {name: np.asarray(getattr(frames, name)) for name in frames.__dataclass_fields__}
        tables["search_frames"] = {name: _digest(a) for name, a in arrays.items()}
        tables["search_frame_count"] = len(frames)
    return tables


def command_outputs(path: Path) -> dict[str, Any]:
    """The ``--json`` objects of shots, analyze, scenes (and subs align, with subtitles beside)."""
    from animevid.config import Config, DecodeConfig
    from animevid.pipeline import align_subtitles, analyze_episode, detect_shots, find_scenes
    from animevid.subs import read_lines

    config = Config(device="cpu", decode=DecodeConfig(workers=1))
    subs = path.with_suffix(".ass")
    lines = read_lines(subs) if subs.is_file() else []
    found: dict[str, Any] = {
        "shots": detect_shots(path, config=config).as_dict(),
        "analyze": analyze_episode(path, config=config).as_dict(),
        "scenes": find_scenes(path, lines=lines, config=config).as_dict(),
    }
    if subs.is_file():
        found["subs align"] = align_subtitles(path, subs, config=config).as_dict()
    return _names_only(found)


def outputs(path: Path) -> dict[str, Any]:
    """Everything recorded for one input."""
    found = {"index": index_outputs(path)}
    if path == SAMPLE or path.name in COMMAND_CLIPS:
        found.update(command_outputs(path))
    return found


def load_recorded() -> dict[str, Any]:
    """The recorded outputs, by input file name."""
    with gzip.open(RECORDED, "rt", encoding="utf-8") as handle:
        recorded: dict[str, Any] = json.load(handle)
    return recorded


def canonical(data: Any) -> Any:
    """``data`` as JSON would give it back (tuples as lists, numpy scalars as numbers)."""
    return json.loads(json.dumps(data, default=_plain))


def _plain(value: Any) -> Any:
    if type(value).__name__ == "NAType":  # pandas' missing value (a face with no name)
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _rows(frame: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = canonical(frame.drop(columns=["episode_id"]).to_dict(orient="records"))
    return rows


def _episode_row(row: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in row.items() if k not in ("episode_id", "path", "indexed_at", "extra")}
    extra = dict(row["extra"])
    extra.pop("warnings", None)  # they name the file's full path
    kept["extra"] = extra
    return dict(canonical(kept))


def _names_only(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: (Path(v).name if k in ("video", "episode", "subtitles", "output") and v else _names_only(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_names_only(v) for v in data]
    return data


def _digest(array: np.ndarray) -> Any:
    """An array as a hash (exact types) or, for floats, its shape and a sample of its values.

    Float arrays made with BLAS or SIMD (the search descriptors) differ in the last bits from one
    CPU to another, so they are kept as values that the test compares with a tolerance.
    """
    contiguous = np.ascontiguousarray(array)
    if contiguous.dtype.kind == "f":
        flat = contiguous.ravel().astype(np.float64)
        picked = np.linspace(0, flat.size - 1, num=min(flat.size, FLOAT_SAMPLE)).astype(np.int64) if flat.size else []
        return {
            "approx": True,
            "shape": list(contiguous.shape),
            "sum": float(flat.sum()),
            "sample": [float(flat[i]) for i in picked],
        }
    head = f"{contiguous.dtype.str}{contiguous.shape}".encode()
    return hashlib.sha256(head + contiguous.tobytes()).hexdigest()[:32]


def record() -> None:
    """Write :data:`RECORDED` from this checkout's code."""
    found = {}
    for path in inputs():
        print(f"recording {path.name}", file=sys.stderr, flush=True)
        found[path.name] = canonical(outputs(path))
    RECORDED.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(RECORDED, "wt", encoding="utf-8") as handle:
        json.dump(found, handle, sort_keys=True)
    print(f"wrote {RECORDED} ({RECORDED.stat().st_size} bytes, {len(found)} inputs)", file=sys.stderr)


if __name__ == "__main__" and sys.argv[1:] == ["record"]:
    record()
