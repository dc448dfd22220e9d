"""Case clips: hard cases of real footage between two plain shots, with the episode's exact truth.

A case clip is ``still | case shots | still``, joined by cuts, at one location of the series, each shot
from a camera set-up unlike the one before. Its truth has the episode's schema (``op``, ``ed`` and
``recap`` are null and there are no subtitles; ``case`` names the case), so everything that scores an
episode scores a case clip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from animevid.config import SynthConfig
from animevid.errors import SynthError
from animevid.synth import _shots as S
from animevid.synth._draw import Character, Painter, make_cast, make_locations
from animevid.synth._render import Renderer
from animevid.synth._shots import Ctx, Setup, ShotPlan
from animevid.synth._timeline import Entry, Recipe, Timeline, assemble, place
from animevid.synth._truth import build_truth

PLAIN_FRAMES = 36
"""Frames of the still shot before and after the case."""


@dataclass(frozen=True)
class Case:
    """One hard case: what it shows and how its shots are planned."""

    what: str
    """What the clip shows, and its truth in words."""
    shots: Callable[[np.random.Generator, Ctx, int, int, Callable[[], Setup]], list[ShotPlan]]
    """(rng, ctx, location, character, next set-up) -> the case's shots, in order."""
    blended: bool = False
    """Every cut after the first shot lands on a frame blended half and half from both shots."""
    long_hair: bool = False
    """The character has long hair."""


def _one(plan: Callable[..., ShotPlan], frames: int, **kw: Any) -> Callable[..., list[ShotPlan]]:
    def shots(rng: np.random.Generator, ctx: Ctx, loc: int, who: int, setup: Callable[[], Setup]) -> list[ShotPlan]:
        return [plan(rng, ctx, loc, frames, (who,), setup(), **kw)]

    return shots


def _strobe(rng: np.random.Generator, ctx: Ctx, loc: int, who: int, setup: Callable[[], Setup]) -> list[ShotPlan]:
    other = (who + 1) % ctx.cast
    return [
        S.flicker(rng, ctx, loc, n, (who,), setup(), who=(who, other)[i % 2])
        for i, n in enumerate((2, 1, 2, 1, 1, 2, 1, 2))
    ]


def _cutout(rng: np.random.Generator, ctx: Ctx, loc: int, who: int, setup: Callable[[], Setup]) -> list[ShotPlan]:
    first = S.still(rng, ctx, loc, 24, (who,), setup())
    return [first, S.cutout(rng, ctx, loc, 36, ((who + 1) % ctx.cast,), setup(), over=first.layers[-1], lead=4)]


def _two_motions(rng: np.random.Generator, ctx: Ctx, loc: int, who: int, setup: Callable[[], Setup]) -> list[ShotPlan]:
    return [
        S.motion(rng, ctx, loc, 10, (who,), setup(), every=1),
        S.motion(rng, ctx, loc, 10, (who,), setup(), every=1),
    ]


CASES: dict[str, Case] = {
    "follow": Case(
        "the camera follows a held character: a painted background slides behind its cel (one drawing, a pan)",
        _one(S.follow, 72),
    ),
    "follow_walk": Case(
        "a walk cycle in place on twos while the background slides behind it (4 drawings, a loop of 8 frames)",
        _one(S.follow, 72, walk=True),
    ),
    "long_hair": Case(
        "a close-up whose long hair blows over a third of the frame, on threes (4 drawings, a loop of 12 frames)",
        _one(S.long_hair, 72),
        long_hair=True,
    ),
    "drawn_pan": Case(
        "a camera move drawn by hand on threes: the whole picture redrawn a step along every third frame (one shot)",
        _one(S.drawn_pan, 48),
    ),
    "zoom_pulse": Case(
        "zoom pulses washed with a glow every 8 frames over a held drawing (one shot, one drawing, glow flashes)",
        _one(S.zoom_pulse, 72),
    ),
    "parallax": Case(
        "the camera follows a held character past two background layers, the near one (lower 40 %) sliding 2.5 "
        "times as fast as the far one (one drawing, a pan)",
        _one(S.parallax, 72),
    ),
    "regrade": Case(
        "a held drawing hit by a tinted impact frame, then re-graded darker and bluer to the end (one shot, one "
        "drawing, the tint a flash)",
        _one(S.regrade, 48),
    ),
    "cutout": Case(
        "a shot that opens as a cut-out: another character laid over the last picture of the shot before for 4 "
        "frames, then its own background appears (the cut is where the cut-out appears)",
        _cutout,
    ),
    "strobe": Case("a strobe edit: eight shots of 1 and 2 frames, two characters in turn (every one a cut)", _strobe),
    "blended_cut": Case(
        "two 10-frame shots on ones; every cut lands on a frame blended from both shots, as 24->25 fps "
        "conversion by blending makes them (the blended frame starts the new shot)",
        _two_motions,
        blended=True,
    ),
}
"""Case name -> its case."""


def render_case(
    name: str, *, seed: int = 0, config: SynthConfig | None = None
) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
    """Plan a case clip and return its frames (lazily rendered) and its truth.

    Raises:
        SynthError: No case of that name, or a negative seed.
    """
    case = CASES.get(name)
    if case is None:
        raise SynthError(f"no synthetic case {name!r}; the cases are: {', '.join(CASES)}")
    if seed < 0:
        raise SynthError(f"seed must be >= 0, got {seed}")
    cfg = config or SynthConfig()
    series_rng = np.random.default_rng([0, 11])
    cast, locations = make_cast(series_rng), make_locations(series_rng)
    ctx = Ctx(cfg.width, cfg.height, len(cast))
    rng = np.random.default_rng([seed, 71, len(name)])
    loc, who = int(rng.integers(0, len(locations))), _character(rng, cast, case.long_hair)
    setup = _setups(rng, ctx)
    middle = case.shots(rng, ctx, loc, who, setup)
    plans = [
        S.still(rng, ctx, loc, PLAIN_FRAMES, (who,), setup()),
        *middle,
        S.still(rng, ctx, loc, PLAIN_FRAMES, (who,), setup()),
    ]
    entries, base = [], 0
    for i, plan in enumerate(plans):
        kind = "start" if i == 0 else "cut"
        entries.append(
            Entry(
                plan=plan,
                frames=len(plan.layers),
                transition=kind,
                scene=0,
                block="content",
                origin_ns=seed,
                origin_base=base,
            )
        )
        base += len(plan.layers)
    place(entries)
    recipes, transitions = assemble(entries, fade_in=False, fade_out=False)
    if case.blended:
        transitions += [_blend(recipes, e.start) for e in entries[1:]]
    seconds = len(recipes) * cfg.fps_den / cfg.fps_num
    timeline = Timeline(entries, recipes, transitions)
    truth = build_truth(
        seed=seed,
        series_seed=0,
        seconds=seconds,
        cfg=cfg,
        timeline=timeline,
        cast=cast,
        locations=locations,
        subtitles=[],
    )
    truth["case"] = name
    renderer = Renderer(Painter(cast, locations, (cfg.width, cfg.height)), cfg.grain, 0)
    return renderer.frames(recipes), truth


def _blend(recipes: list[Recipe], at: int) -> dict[str, object]:
    """The first frame of a shot, blended half and half with the last frame of the one before."""
    recipes[at] = replace(recipes[at], other=recipes[at - 1].layer, mix=0.5)
    return {"type": "blend", "start_frame": at, "end_frame": at + 1}


def _character(rng: np.random.Generator, cast: tuple[Character, ...], long_hair: bool) -> int:
    choices = [i for i, c in enumerate(cast) if c.long_hair or not long_hair]
    return int(choices[int(rng.integers(0, len(choices)))])


def _setups(rng: np.random.Generator, ctx: Ctx) -> Callable[[], Setup]:
    """A source of set-ups, each unlike the one before (no jump cut between the clip's shots)."""
    last: list[Setup] = []

    def following() -> Setup:
        setup = S.draw_setup(rng)
        while last and not setup.differs(last[-1], ctx):
            setup = S.draw_setup(rng)
        last[:] = [setup]
        return setup

    return following
