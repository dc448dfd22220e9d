"""Case clips: one hard case of real footage between two plain shots, with the episode's exact truth.

A case clip is ``still | case | still``, joined by cuts, at one location of the series, each shot from
its own camera set-up. Its truth has the episode's schema (``op``, ``ed`` and ``recap`` are null and
there are no subtitles), so everything that scores an episode scores a case clip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np

from animevid.config import SynthConfig
from animevid.errors import SynthError
from animevid.synth import _shots as S
from animevid.synth._draw import Painter, make_cast, make_locations
from animevid.synth._render import Renderer
from animevid.synth._shots import Ctx, Setup, ShotPlan
from animevid.synth._timeline import Entry, Timeline, assemble, place
from animevid.synth._truth import build_truth

Plan = Callable[[np.random.Generator, Ctx, int, int, tuple[int, ...], Setup], ShotPlan]

CASES: dict[str, tuple[str, Plan, int]] = {
    "follow": (
        "the camera follows a held character: the background slides behind its cel (one drawing, a pan)",
        S.follow,
        72,
    ),
    "follow_walk": (
        "a walk cycle in place on twos while the background slides behind it (4 drawings, a loop of 8 frames)",
        partial(S.follow, walk=True),
        72,
    ),
}
"""Case name -> (what it shows, its shot's plan, the shot's frames)."""
PLAIN_FRAMES = 36
"""Frames of the still shot before and after the case."""


def render_case(
    name: str, *, seed: int = 0, config: SynthConfig | None = None
) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
    """Plan a case clip and return its frames (lazily rendered) and its truth.

    Raises:
        SynthError: No case of that name, or a negative seed.
    """
    if name not in CASES:
        raise SynthError(f"no synthetic case {name!r}; the cases are: {', '.join(CASES)}")
    if seed < 0:
        raise SynthError(f"seed must be >= 0, got {seed}")
    cfg = config or SynthConfig()
    series_rng = np.random.default_rng([0, 11])
    cast, locations = make_cast(series_rng), make_locations(series_rng)
    ctx = Ctx(cfg.width, cfg.height, len(cast))
    rng = np.random.default_rng([seed, 71, len(name)])
    loc, chars = int(rng.integers(0, len(locations))), (int(rng.integers(0, len(cast))),)
    _, plan, frames = CASES[name]
    setups = _setups(rng, ctx, 3)
    plans = [S.still(rng, ctx, loc, PLAIN_FRAMES, chars, setups[0]), plan(rng, ctx, loc, frames, chars, setups[1])]
    plans.append(S.still(rng, ctx, loc, PLAIN_FRAMES, chars, setups[2]))
    entries = [
        Entry(
            plan=p,
            frames=len(p.layers),
            transition="start" if i == 0 else "cut",
            scene=0,
            block="content",
            origin_ns=seed,
            origin_base=sum(len(q.layers) for q in plans[:i]),
        )
        for i, p in enumerate(plans)
    ]
    place(entries)
    recipes, transitions = assemble(entries, fade_in=False, fade_out=False)
    total = len(recipes)
    seconds = total * cfg.fps_den / cfg.fps_num
    truth = build_truth(
        seed=seed,
        series_seed=0,
        seconds=seconds,
        cfg=cfg,
        timeline=Timeline(entries, recipes, transitions),
        cast=cast,
        locations=locations,
        subtitles=[],
    )
    truth["case"] = name
    renderer = Renderer(Painter(cast, locations, (cfg.width, cfg.height)), cfg.grain, 0)
    return renderer.frames(recipes), truth


def _setups(rng: np.random.Generator, ctx: Ctx, count: int) -> list[Setup]:
    """``count`` set-ups, each unlike the one before (no jump cut between the clip's shots)."""
    out = [S.draw_setup(rng)]
    while len(out) < count:
        setup = S.draw_setup(rng)
        if setup.differs(out[-1], ctx):
            out.append(setup)
    return out
