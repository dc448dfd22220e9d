"""The truth JSON: derived from the timeline alone, before any pixel is painted."""

from __future__ import annotations

import itertools
from typing import Any

from animevid.config import SynthConfig
from animevid.drawings import cadence_of, find_cycles
from animevid.synth._draw import Character, Figure, Location
from animevid.synth._shots import Crop, Ctx, Setup, framing
from animevid.synth._timeline import Entry, Recipe, Timeline


def drawing_ids(recipes: list[Recipe]) -> list[int]:
    """Id per frame: one per distinct drawing; each flash or transition frame gets its own."""
    ids: dict[object, int] = {}
    out = []
    for t, r in enumerate(recipes):
        key: object = r.layer.picture if r.pure else ("frame", t)
        out.append(ids.setdefault(key, len(ids)))
    return out


def same_as_previous(recipes: list[Recipe], grain: float) -> list[bool]:
    """Whether each frame renders pixel-identical to the previous one (never with grain)."""
    out = [False]
    for prev, cur in itertools.pairwise(recipes):
        out.append(grain == 0 and prev.pure and cur.pure and prev.layer == cur.layer and prev.grade == cur.grade)
    return out


def build_truth(
    *,
    seed: int,
    series_seed: int,
    seconds: float,
    cfg: SynthConfig,
    timeline: Timeline,
    cast: tuple[Character, ...],
    locations: tuple[Location, ...],
    subtitles: list[dict[str, Any]],
) -> dict[str, Any]:
    """Assemble the truth dict (schema 1; see the package docstring for every key)."""
    recipes = timeline.recipes
    n = len(recipes)
    ids = drawing_ids(recipes)
    in_transition = {f for t in timeline.transitions for f in range(int(t["start_frame"]), int(t["end_frame"]))}  # type: ignore[call-overload]
    shots = [_shot(e, ids, recipes, in_transition, cfg, cast) for e in timeline.entries]
    fps = cfg.fps_num / cfg.fps_den
    return {
        "schema": 1,
        "generator": "animevid.synth",
        "seed": seed,
        "series_seed": series_seed,
        "seconds": seconds,
        "width": cfg.width,
        "height": cfg.height,
        "fps_num": cfg.fps_num,
        "fps_den": cfg.fps_den,
        "fps": cfg.fps_num / cfg.fps_den,
        "frames": n,
        "pts_seconds": [i * cfg.fps_den / cfg.fps_num for i in range(n)],
        "drawing_id": ids,
        "same_image_as_previous": same_as_previous(recipes, cfg.grain),
        "shots": shots,
        "transitions": timeline.transitions,
        "flash_frames": [{"frame": t, "kind": r.flash} for t, r in enumerate(recipes) if r.flash],
        "loops": [loop for e in timeline.entries for loop in _loops(e, ids, recipes, in_transition, fps)],
        **_blocks(timeline),
        "scenes": _scenes(timeline.entries, shots, locations),
        "characters": [
            {"name": c.name, "hair": c.hair, "eyes": c.eyes, "face": c.face, "long_hair": c.long_hair} for c in cast
        ],
        "subtitles": subtitles,
        "faces": _faces(recipes, cast, cfg),
    }


FACE_EXTENT = {"round": (1.0, 1.02), "oval": (0.86, 1.14), "pointed": (0.92, 1.28)}
"""Half width and chin depth of each face shape, in head radii (as :func:`animevid.synth._draw._face_outline` draws)."""
FACE_TOP = 0.35
"""The face box's top, in head radii above the head's centre: the lower edge of the bangs."""
MIN_VISIBLE = 0.6
"""Share of a face box inside the frame from which the face counts as on screen."""


def _faces(recipes: list[Recipe], cast: tuple[Character, ...], cfg: SynthConfig) -> list[list[Any]]:
    """``[frame, name, x, y, w, h]`` per face on screen in each plain frame (no flash, fade or dissolve).

    The box runs cheek to cheek and from the bangs' lower edge to the chin, in frame pixels; a face
    whose centre a figure in front of it covers, or mostly outside the frame, is left out.
    """
    out: list[list[Any]] = []
    for t, r in enumerate(recipes):
        if not r.pure:
            continue
        boxes = [(fig, _face_box(fig, cast, r.layer.crop, cfg)) for fig in r.layer.drawing.figures]
        boxes += [(fig, _face_box(fig, cast, None, cfg)) for fig in r.layer.cels]
        for k, (fig, (x, y, w, h, cx, cy, _)) in enumerate(boxes):
            covered = any((cx - o[4]) ** 2 + (cy - o[5]) ** 2 < (1.2 * o[6]) ** 2 for _, o in boxes[k + 1 :])
            inside = max(0.0, min(x + w, cfg.width) - max(x, 0.0)) * max(0.0, min(y + h, cfg.height) - max(y, 0.0))
            if not covered and inside >= MIN_VISIBLE * w * h:
                out.append([t, cast[fig.who].name, round(x, 1), round(y, 1), round(w, 1), round(h, 1)])
    return out


def _face_box(fig: Figure, cast: tuple[Character, ...], crop: Crop | None, cfg: SynthConfig) -> tuple[float, ...]:
    """(x, y, w, h, centre x, centre y, head radius) of a figure's face in frame pixels."""
    x0, y0, scale = (0.0, 0.0, 1.0) if crop is None else (crop[0], crop[1], cfg.width / crop[2])
    cx, cy, r = (fig.x - x0) * scale, (fig.y - y0) * scale, fig.r * scale
    half, chin = FACE_EXTENT[cast[fig.who].face]
    return cx - half * r, cy - FACE_TOP * r, 2 * half * r, (FACE_TOP + chin) * r, cx, cy, r


def _shot(
    e: Entry,
    ids: list[int],
    recipes: list[Recipe],
    in_transition: set[int],
    cfg: SynthConfig,
    cast: tuple[Character, ...],
) -> dict[str, Any]:
    frames = range(e.start, e.start + e.frames)
    own = [t for t in frames if t not in in_transition]
    # Cadence follows the underlying drawings: a flash frame hides its drawing but does not replace it.
    underlying: list[object] = [recipes[t].layer.picture for t in own]
    sec = cfg.fps_den / cfg.fps_num
    ctx = Ctx(cfg.width, cfg.height, len(cast))
    return {
        "start_frame": e.start,
        "end_frame": e.start + e.frames,
        "start_seconds": e.start * sec,
        "end_seconds": (e.start + e.frames) * sec,
        "transition": "fade" if e.transition.startswith("fade") else e.transition,
        "kind": e.block if e.block in ("op", "ed", "recap", "eyecatch") else e.plan.kind,
        "animation": e.plan.kind,
        "cadence": cadence_of(underlying),
        "cadence_mix": sorted(e.plan.cadence_mix),
        "drawings": sorted({ids[t] for t in own if recipes[t].flash is None}),
        "camera": e.plan.camera,
        "scene": e.scene,
        "location": e.plan.location,
        "characters": [cast[c].name for c in e.plan.characters],
        "flash_frames": [t for t in frames if recipes[t].flash],
        "source_start_frame": e.source_start if e.block == "recap" else None,
        "setup": _setup(framing(e.plan.layer(0), ctx)),
        "setup_end": _setup(framing(e.plan.layer(e.frames - 1), ctx)),
    }


def _setup(s: Setup) -> dict[str, float]:
    return {"scale": round(s.scale, 4), "x": round(s.x, 4), "y": round(s.y, 4)}


def _loops(
    e: Entry, ids: list[int], recipes: list[Recipe], in_transition: set[int], fps: float
) -> list[dict[str, Any]]:
    """Every repeated cycle of the shot's drawings (:func:`animevid.drawings.find_cycles`)."""
    labels = [
        None if t in in_transition or recipes[t].flash else recipes[t].layer.picture
        for t in range(e.start, e.start + e.frames)
    ]
    out = []
    for c in find_cycles(labels, fps):
        cycle: list[int] = []
        for t in range(e.start + c.start_frame, e.start + c.start_frame + c.period_frames):
            if not cycle or cycle[-1] != ids[t]:
                cycle.append(ids[t])
        out.append(
            {
                "start_frame": e.start + c.start_frame,
                "end_frame": e.start + c.end_frame,
                "period_frames": c.period_frames,
                "repeats": c.repeats,
                "drawings": c.drawings,
                "cycle_drawings": cycle,
            }
        )
    return out


def _span(entries: list[Entry]) -> dict[str, int]:
    return {"start_frame": entries[0].start, "end_frame": entries[-1].start + entries[-1].frames}


def _blocks(timeline: Timeline) -> dict[str, Any]:
    by_block: dict[str, list[Entry]] = {}
    for e in timeline.entries:
        by_block.setdefault(e.block, []).append(e)
    recap = None
    if timeline.recap_source is not None:
        shots = by_block.get("recap", []) + by_block.get("eyecatch", [])
        recap = {
            **_span(sorted(shots, key=lambda e: e.start)),
            "source_seed": timeline.recap_source,
            "segments": [
                {"start_frame": e.start, "end_frame": e.start + e.frames, "source_start_frame": e.source_start}
                for e in by_block.get("recap", [])
            ],
        }
    op, ed = by_block.get("op"), by_block.get("ed")  # a case clip (animevid.synth.cases) has neither
    return {"op": _span(op) if op else None, "ed": _span(ed) if ed else None, "recap": recap}


def _scenes(entries: list[Entry], shots: list[dict[str, Any]], locations: tuple[Location, ...]) -> list[dict[str, Any]]:
    scenes: list[dict[str, Any]] = []
    for i, (e, shot) in enumerate(zip(entries, shots, strict=True)):
        if scenes and scenes[-1]["scene"] == e.scene:
            scenes[-1].update(end_frame=shot["end_frame"], last_shot=i)
            continue
        location = e.block if e.block in ("op", "ed", "recap") else locations[e.plan.location].name
        scenes.append(
            {
                "scene": e.scene,
                "start_frame": shot["start_frame"],
                "end_frame": shot["end_frame"],
                "first_shot": i,
                "last_shot": i,
                "location": location,
            }
        )
    return scenes
