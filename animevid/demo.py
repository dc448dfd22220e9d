"""``animevid demo``: the main job on a sample whose truth is known, with the checks shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from animevid.catalog import Catalog
from animevid.config import Config
from animevid.decode import probe
from animevid.digest import write_digest
from animevid.pipeline import ProgressFactory, index_episodes

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data_samples"
"""The bundled sample (present in a source checkout)."""
SAMPLE_SEED = 1
"""Seed of the bundled sample; the demo regenerates it when the folder is absent."""
SAMPLE_SECONDS = 20.0
"""Length of a regenerated sample."""


def run_demo(out_dir: Path, *, config: Config, progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Index the sample episode into ``out_dir/library``, compare with its truth, write its digest page.

    Args:
        out_dir: Folder for the library and the report (created).
        config: Options (decode backend, device...).
        progress: Per-episode progress callback factory.

    Returns:
        The report also written to ``out_dir/report.json``: checks and output paths.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    episode, truth_path = _sample(out_dir)
    library = out_dir / "library"
    [result] = index_episodes([episode], library=library, config=config, force=True, progress=progress)
    if result.status == "failed":
        raise RuntimeError(f"demo episode failed to index: {result.error}")
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    with Catalog.in_library(library) as catalog:
        row = catalog.episodes().set_index("episode_id").loc[result.episode_id]
        stored = _stored(catalog, int(result.episode_id or 0))
    checks = _checks(truth, row, probe(episode)) + _content_checks(truth, stored)
    checks.append(_faces_check(truth, library, int(result.episode_id or 0), config))
    checks.append(_search_check(episode, truth, library, config))
    digest = write_digest(library, str(result.episode_id), out_dir / "digest")
    report = {
        "checks": checks,
        "decode": {"frames": result.frames, "seconds": round(result.seconds, 3)},
        "outputs": {**_outputs(episode, truth_path, library, out_dir), "digest": str(digest.html.resolve())},
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return report


def _sample(out_dir: Path) -> tuple[Path, Path]:
    bundled = SAMPLE_DIR / f"ep{SAMPLE_SEED}.mkv"
    if bundled.is_file():
        return bundled, SAMPLE_DIR / f"ep{SAMPLE_SEED}.truth.json"
    from animevid.synth import generate_episode

    made = generate_episode(out_dir / "sample", seed=SAMPLE_SEED, seconds=SAMPLE_SECONDS)
    return made.mkv, made.truth_json


def _checks(truth: dict[str, Any], row: Any, info: Any) -> list[dict[str, Any]]:
    decode = row["extra"]["decode"]
    held_truth = sum(truth["same_image_as_previous"])
    return [
        {"name": "frames", "truth": truth["frames"], "measured": int(row["frames"])},
        {"name": "fps", "truth": round(truth["fps"], 3), "measured": round(float(row["fps"]), 3)},
        {
            "name": "duration (s)",
            "truth": round(truth["frames"] / truth["fps"], 3),
            "measured": round(float(row["duration_seconds"]), 3),
        },
        {"name": "held frames (repeat the previous image)", "truth": held_truth, "measured": decode["held_frames"]},
        {"name": "subtitle tracks in the mkv", "truth": 1, "measured": len(info.subtitle_tracks)},
    ]


def _stored(catalog: Catalog, episode_id: int) -> dict[str, Any]:
    return {
        "shots": catalog.get_shots(episode_id),
        "analyses": catalog.get_shot_analyses(episode_id),
        "scenes": catalog.get_scenes(episode_id),
        "lines": catalog.get_subtitle_lines(episode_id),
    }


def _content_checks(truth: dict[str, Any], stored: dict[str, Any]) -> list[dict[str, Any]]:
    """What the one pass found (shots, drawings, scenes) and the subtitles stored beside it."""
    return [
        {"name": "shots", "truth": len(truth["shots"]), "measured": len(stored["shots"])},
        {
            "name": "distinct drawings (sum over shots)",
            "truth": sum(len(s["drawings"]) for s in truth["shots"]),
            "measured": sum(a.drawings for a in stored["analyses"]),
        },
        {"name": "scenes", "truth": len(truth["scenes"]), "measured": len(stored["scenes"])},
        {
            "name": "subtitle lines (ep1.ass beside the episode)",
            "truth": len(truth["subtitles"]),
            "measured": len(stored["lines"]),
        },
    ]


def _faces_check(truth: dict[str, Any], library: Path, episode_id: int, config: Config) -> dict[str, Any]:
    """The faces found on the keyframes the characters stage looked at, against the generator's boxes."""
    from animevid.characters import episode_faces
    from animevid.characters.evaluate import recognition

    stored = episode_faces(library, episode_id)
    if stored is None:  # characters.enabled: false
        return {"name": "faces on the keyframes", "truth": "-", "measured": "stage off"}
    keyframes = stored["keyframes"]
    with Catalog.in_library(library) as catalog:
        faces = catalog.faces(episode_id).to_dict("records")
    found = recognition(faces, keyframes, truth, set(), min_face=config.characters.min_face).detection
    return {
        "name": f"faces on the {len(keyframes)} keyframes (right + false)",
        "truth": found.true_positives + found.false_negatives,
        "measured": f"{found.true_positives} + {found.false_positives}",
    }


def _search_check(episode: Path, truth: dict[str, Any], library: Path, config: Config) -> dict[str, Any]:
    """A frame from the middle of the longest shot, mirrored and cropped, searched for in the library."""
    from animevid.decode import open_video
    from animevid.search import search_image

    shot = max(truth["shots"], key=lambda s: s["end_frame"] - s["start_frame"])
    frame = (shot["start_frame"] + shot["end_frame"]) // 2
    picture = next(
        batch.frames[batch.frame_indices.tolist().index(frame)].cpu().numpy()
        for batch in open_video(episode, config=config.decode).batches()
        if frame in batch.frame_indices.tolist()
    )
    h, w = picture.shape[:2]
    query = picture[h // 10 : h - h // 10, w // 10 : w - w // 10, :][:, ::-1].copy()  # 80 % crop, mirrored
    result = search_image(query, library=library, config=config.search, top=1)
    hit = result.hits[0] if result.hits and result.confident else None
    # a kept frame stands for its picture until the next one: a held drawing is found where it starts
    found = f"{hit.seconds:.2f}-{hit.end_seconds:.2f}" if hit else "no confident match"
    return {
        "name": "screenshot (cropped, mirrored) shown at (s)",
        "truth": f"{truth['pts_seconds'][frame]:.2f} +-1",
        "measured": found,
    }


def _outputs(episode: Path, truth: Path, library: Path, out_dir: Path) -> dict[str, str]:
    return {
        "episode": str(episode),
        "truth": str(truth),
        "catalog": str((library / "catalog.sqlite").resolve()),
        "report": str((out_dir / "report.json").resolve()),
    }
