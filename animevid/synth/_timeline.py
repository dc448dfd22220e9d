"""The episode timeline: which shots, how long, how they join, and one recipe per frame.

Blocks, in order: OP (depends only on series_seed), recap (shots of episode seed-1, copied
frame for frame), content (depends on seed), ED (series_seed only). OP and recap and content
join by hard cuts; content joins the ED by a fade through white; the OP fades in from black and
the ED fades out to black. Because no gradual transition mixes two blocks' pixels, OP/ED frames
are identical across seeds and recap frames identical to their source.

Camera set-ups: every shot draws its own :class:`~animevid.synth._shots.Setup` from its seeded
generator, redrawn until its first frame is clearly another set-up than the previous shot's last
frame (and, for the content's last shot, than the ED's first frame). The OP and ED are planned
first and alone; the content only avoids their edges; the recap skips copies whose framing
would repeat its neighbour's at the same location (its eyecatch avoids both neighbours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from animevid.config import SynthConfig
from animevid.errors import SynthError
from animevid.synth import _shots as S
from animevid.synth._shots import Ctx, Layer, Setup, ShotPlan, framing

MIN_FLEX = 24
"""Fewest frames of a stretchable shot (1 s): room for a transition half and a speech line."""
FADE_HALF = 7
"""Frames of a fade-out or fade-in half."""
DISSOLVE = 10
"""Frames of a cross-dissolve."""
SETUP_TRIES = 200
"""Redraws of a shot before giving up on finding a set-up unlike its neighbours'."""

# Scene templates: (generator, weight); weight None marks a fixed-length shot (loop, short),
# which must be joined by cuts, so every template starts and ends with a stretchable shot.
TEMPLATES: dict[str, list[tuple[str, float | None]]] = {
    "talk": [("still", 0.8), ("dialogue_early_tail", 1.5), ("dialogue_carry", 1.5), ("duet", 1.0)],
    "fight": [
        ("action", 2.0),
        ("short", None),
        ("short", None),
        ("short", None),
        ("short", None),
        ("shake", 0.7),
        ("threes", 1.0),
    ],
    "travel": [("pan", 1.5), ("walk", None), ("zoom", 1.2)],
    "quiet": [("dialogue_late", 1.4), ("hair", None), ("ones", 0.8), ("still", 0.6)],
}
OP_SHOTS: list[tuple[str, float | None]] = [
    ("pan", 0.4),
    ("short", None),
    ("short", None),
    ("short", None),
    ("twos", 0.3),
    ("still", 0.3),
]
ED_SHOTS: list[tuple[str, float | None]] = [("still", 1.0), ("zoom", 1.0)]


@dataclass
class Entry:
    """One shot placed on the timeline."""

    plan: ShotPlan
    """Its layers and facts."""
    frames: int
    """Length in frames."""
    transition: str
    """How it begins: start, cut, fade_black, fade_white, dissolve."""
    scene: int
    """Scene index within the episode."""
    block: str
    """op, recap, content or ed."""
    origin_ns: int
    """Namespace of its frames' origin (seed, or -1 OP / -2 ED): keys the grain."""
    origin_base: int
    """Origin index of its local frame 0."""
    source_start: int = -1
    """For recap shots: first frame in the source episode."""
    start: int = 0
    """First frame in the episode (set by placement)."""


@dataclass(frozen=True)
class Recipe:
    """How to render one frame."""

    layer: Layer
    """Main layer."""
    flash: str | None = None
    """Impact frame kind, or None."""
    other: Layer | None = None
    """Incoming layer of a dissolve."""
    mix: float = 0.0
    """Weight of ``other``."""
    fade: float = 0.0
    """Weight of the fade colour."""
    fade_colour: int = 0
    """0 black, 255 white."""
    origin: tuple[int, int] = (0, 0)
    """(namespace, index): where the frame first came from; keys the grain."""
    grade: str | None = None
    """A colour grade over the whole frame (the same drawing, re-graded), or None."""

    @property
    def pure(self) -> bool:
        """A plain drawing through the camera (no flash, fade or dissolve)."""
        return self.flash is None and self.other is None and self.fade == 0.0


@dataclass
class Timeline:
    """The assembled episode: entries, recipes and transitions."""

    entries: list[Entry]
    """Shots in order."""
    recipes: list[Recipe]
    """One per frame."""
    transitions: list[dict[str, object]] = field(default_factory=list)
    """Gradual transitions (truth format)."""
    recap_source: int | None = None
    """Seed of the recap's source episode."""


def frame_count(seconds: float, cfg: SynthConfig) -> int:
    """Frames in ``seconds`` at the configured rate."""
    return round(seconds * cfg.fps_num / cfg.fps_den)


def block_frames(cfg: SynthConfig, seed: int) -> tuple[int, int, int]:
    """(op, recap, ed) frame counts; episode 0 has no previous episode, so no recap."""
    recap = frame_count(cfg.recap_seconds, cfg) if seed >= 1 else 0
    return frame_count(cfg.op_seconds, cfg), recap, frame_count(cfg.ed_seconds, cfg)


def minimum_seconds(cfg: SynthConfig) -> float:
    """The shortest episode that holds OP, recap, ED and one scene."""
    op, recap, ed = block_frames(cfg, 1)
    return math.ceil((op + recap + ed + 2 * MIN_FLEX) * cfg.fps_den / cfg.fps_num * 100) / 100


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng([k + 3 for k in key])  # +3: namespaces -1/-2 stay non-negative


def _cast_for(rng: np.random.Generator, ctx: Ctx, n: int) -> tuple[int, ...]:
    return tuple(int(c) for c in rng.permutation(ctx.cast)[:n])


def _fixed_length(name: str, rng: np.random.Generator) -> int:
    if name == "short":
        return int(rng.integers(3, 7))
    return {"walk": 32, "hair": 36}[name]


def _lengths(items: list[tuple[str, float | None]], total: int, fixed: list[int | None]) -> list[int]:
    """Stretch the shots with a weight to fill ``total`` frames; fixed ones keep their length."""
    flex = [w for (_, w) in items if w is not None]
    spare = total - sum(f for f in fixed if f is not None) - MIN_FLEX * len(flex)
    if spare < 0:
        raise SynthError(f"internal: {total} frames cannot hold shots {[n for n, _ in items]}")
    out, given = [], 0
    for (_, weight), f in zip(items, fixed, strict=True):
        if weight is None:
            out.append(int(f or 0))
            continue
        extra = math.floor(spare * weight / sum(flex))
        given += extra
        out.append(MIN_FLEX + extra)
    for i, (_, weight) in enumerate(items):  # hand out the rounding remainder, one frame each
        if given < spare and weight is not None:
            out[i] += 1
            given += 1
    return out


def _need(items: list[tuple[str, float | None]], fixed: list[int | None]) -> int:
    return sum(f if f is not None else MIN_FLEX for f in fixed)


def _choose_scenes(
    rng: np.random.Generator, total: int
) -> list[tuple[list[tuple[str, float | None]], list[int | None]]]:
    """Scene templates in a seeded order, as many as fit (a tiny episode gets a two-shot scene)."""
    chosen, used = [], 0
    for name in rng.permutation(list(TEMPLATES)):
        items = TEMPLATES[str(name)]
        fixed: list[int | None] = [_fixed_length(n, rng) if w is None else None for n, w in items]
        if used + _need(items, fixed) <= total:
            chosen.append((items, fixed))
            used += _need(items, fixed)
    if not chosen:
        chosen.append(([("dialogue_early", 1.0), ("still", 1.0)], [None, None]))
    return chosen


def plan_content(
    seed: int, series_seed: int, cfg: SynthConfig, ctx: Ctx, total: int, edges: tuple[Setup, Setup]
) -> list[Entry]:
    """The episode's own shots (before placement), filling exactly ``total`` frames.

    ``edges`` are the OP's last and the ED's first framing: the first shot's set-up differs from
    the former, the last shot's from the latter (the recap, planned later, fits in between).
    """
    rng = _rng(series_seed, seed, 1)
    scenes = _choose_scenes(rng, total)
    used = sum(_need(items, fixed) for items, fixed in scenes)
    spare = total - used
    boundaries = [str(t) for t in rng.permutation(["fade_black", "fade_white", "dissolve"])]
    locations = rng.permutation(8)
    items_all: list[tuple[str, float | None]] = []
    fixed_all: list[int | None] = []
    meta: list[tuple[int, str]] = []  # (scene, transition)
    for s, (items, fixed) in enumerate(scenes):
        items_all += items
        fixed_all += fixed
        for i in range(len(items)):
            meta.append((s, "cut" if i or not s else boundaries[(s - 1) % len(boundaries)]))
    lengths = _lengths(items_all, used + spare, fixed_all)
    cast_by_scene = [_cast_for(rng, ctx, 3) for _ in scenes]
    entries = []
    prev: Setup | None = edges[0]
    for i, (name, _) in enumerate(items_all):
        scene, transition = meta[i]
        last = i + 1 == len(meta)
        nxt = "fade_white" if last else meta[i + 1][1]
        post = DISSOLVE if nxt == "dissolve" else 0
        rng_i = _rng(series_seed, seed, 100 + i)
        loc, chars = int(locations[scene]), cast_by_scene[scene]
        plan = make_plan(
            name,
            rng_i,
            ctx,
            loc,
            lengths[i] + post,
            chars,
            after=prev,
            before=edges[1] if last else None,
            frames=lengths[i],
        )
        prev = framing(plan.layer(lengths[i] - 1), ctx)
        entries.append(Entry(plan, lengths[i], transition, scene, "content", seed, 0))
    base = 0
    for e in entries:
        e.origin_base, base = base, base + e.frames
    return entries


def make_plan(
    name: str,
    rng: np.random.Generator,
    ctx: Ctx,
    loc: int,
    n: int,
    chars: tuple[int, ...],
    *,
    after: Setup | None = None,
    before: Setup | None = None,
    frames: int | None = None,
) -> ShotPlan:
    """Build one shot by generator name, from a seeded set-up unlike its neighbours'.

    Args:
        after: The previous shot's last framing: the first frame's set-up must differ from it.
        before: The next shot's first framing: the last frame's (``frames - 1``) must differ from it.
        frames: The shot's own length (``n`` may add frames a dissolve borrows); None = ``n``.

    Raises:
        SynthError: No such set-up found (internal; the odds are astronomically small).
    """
    last = (n if frames is None else frames) - 1
    for _ in range(SETUP_TRIES):
        plan = _generate(name, rng, ctx, loc, n, chars, S.draw_setup(rng))
        if after is not None and not framing(plan.layer(0), ctx).differs(after, ctx):
            continue
        if before is not None and not framing(plan.layer(last), ctx).differs(before, ctx):
            continue
        return plan
    raise SynthError(f"internal: no camera set-up for a {name} shot differs from its neighbours'")


def _generate(
    name: str, rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup
) -> ShotPlan:
    if name in ("ones", "twos", "threes"):
        return S.motion(rng, ctx, loc, n, chars, setup, every={"ones": 1, "twos": 2, "threes": 3}[name])
    if name == "walk":
        return S.walk_loop(rng, ctx, loc, chars, setup, repeats=4)
    if name == "hair":
        return S.hair_loop(rng, ctx, loc, chars, setup, repeats=4)
    if name.startswith("dialogue"):
        carry = 18 if name == "dialogue_carry" else 0
        speakers = chars[1:] + chars[:1] if carry else chars
        early, tail = name in ("dialogue_early", "dialogue_early_tail"), name.endswith("_tail")
        return S.dialogue(rng, ctx, loc, n, speakers, setup, early=early, tail=tail, carry=carry)
    simple = {
        "duet": S.duet,
        "still": S.still,
        "action": S.action,
        "short": S.short,
        "shake": S.shake,
        "pan": S.pan,
        "zoom": S.zoom,
    }
    return simple[name](rng, ctx, loc, n, chars, setup)


def plan_block(
    items: list[tuple[str, float | None]], total: int, series_seed: int, ctx: Ctx, *, block: str, ns: int
) -> list[Entry]:
    """The OP or ED: shots seeded only by series_seed, so every episode of a series shares them."""
    rng = _rng(series_seed, ns, 5)
    fixed: list[int | None] = [_fixed_length(n, rng) if w is None else None for n, w in items]
    if total < _need(items, fixed) + 6:
        raise SynthError(
            f"the {block.upper()} has {total} frames at this frame rate but its shots need {_need(items, fixed) + 6}; "
            f"raise synth.{block}_seconds"
        )
    lengths = _lengths(items, total, fixed)
    chars = tuple(range(ctx.cast))
    loc = int(rng.integers(0, 8))
    entries, base = [], 0
    prev: Setup | None = None
    for i, (name, _) in enumerate(items):
        last = i == len(items) - 1
        transition = ("start" if block == "op" else "fade_white") if i == 0 else ("dissolve" if last else "cut")
        post = DISSOLVE if i == len(items) - 2 else 0
        rng_i = _rng(series_seed, ns, 200 + i)
        plan = make_plan(name, rng_i, ctx, loc, lengths[i] + post, chars, after=prev, frames=lengths[i])
        prev = framing(plan.layer(lengths[i] - 1), ctx)
        entries.append(Entry(plan, lengths[i], transition, 0, block, ns, base))
        base += lengths[i]
    return entries


def place(entries: list[Entry], first: int = 0) -> None:
    """Set each entry's start frame, back to back from ``first``."""
    for e in entries:
        e.start, first = first, first + e.frames


def assemble(entries: list[Entry], *, fade_in: bool, fade_out: bool) -> tuple[list[Recipe], list[dict[str, object]]]:
    """One recipe per frame of the placed entries, with their transitions applied.

    Returns:
        The recipes (index 0 = ``entries[0].start``) and the gradual transitions (truth format).
    """
    offset = entries[0].start
    recipes = [
        Recipe(
            e.plan.layer(j),
            flash=e.plan.flashes.get(j),
            origin=(e.origin_ns, e.origin_base + j),
            grade=e.plan.grades.get(j),
        )
        for e in entries
        for j in range(e.frames)
    ]
    transitions: list[dict[str, object]] = []
    for i, e in enumerate(entries):
        if i and e.transition.startswith("fade"):
            transitions.append(_fade_through(recipes, e.start - offset, e.transition, e.start))
        elif i and e.transition == "dissolve":
            transitions.append(_dissolve(recipes, entries[i - 1], e, offset))
    if fade_in:
        transitions.insert(0, _fade_edge(recipes, 0, "in"))
    if fade_out:
        transitions.append(_fade_edge(recipes, len(recipes) - FADE_HALF, "out"))
    for t in transitions:
        for key in ("start_frame", "end_frame"):
            t[key] = int(t[key]) + offset  # type: ignore[call-overload]
    return recipes, transitions


def _fade_through(recipes: list[Recipe], at: int, kind: str, absolute: int) -> dict[str, object]:
    """Fade the previous shot out to a colour and this one in from it; the shot starts at the first fade-in frame."""
    colour = 255 if kind == "fade_white" else 0
    k = FADE_HALF
    for m in range(k):
        recipes[at - k + m] = _with(recipes[at - k + m], fade=(m + 1) / k, fade_colour=colour)  # ends fully coloured
        recipes[at + m] = _with(recipes[at + m], fade=(k - m) / (k + 1), fade_colour=colour)
    return {
        "type": "fade",
        "start_frame": at - k,
        "end_frame": at + k,
        "color": "white" if colour else "black",
        "direction": "through",
        "boundary_frame": absolute,
    }


def _fade_edge(recipes: list[Recipe], at: int, direction: str) -> dict[str, object]:
    k = FADE_HALF
    for m in range(k):
        weight = (k - m) / (k + 1) if direction == "in" else (m + 1) / k
        recipes[at + m] = _with(recipes[at + m], fade=weight, fade_colour=0)
    return {"type": "fade", "start_frame": at, "end_frame": at + k, "color": "black", "direction": direction}


def _dissolve(recipes: list[Recipe], prev: Entry, cur: Entry, offset: int) -> dict[str, object]:
    """Cross-dissolve; the new shot starts at the first frame whose incoming weight is >= 0.5."""
    d = DISSOLVE
    j0 = math.ceil((d + 1) / 2) - 1
    for j in range(d):
        t = cur.start - offset - j0 + j
        a, b = prev.plan.layer(prev.frames - j0 + j), cur.plan.layer(j - j0)
        recipes[t] = Recipe(a, other=b, mix=(j + 1) / (d + 1), origin=recipes[t].origin)
    start = cur.start - offset - j0
    return {"type": "dissolve", "start_frame": start, "end_frame": start + d, "boundary_frame": cur.start}


def _with(r: Recipe, *, fade: float, fade_colour: int) -> Recipe:
    return Recipe(r.layer, r.flash, r.other, r.mix, fade=fade, fade_colour=fade_colour, origin=r.origin, grade=r.grade)


def content_frames(cfg: SynthConfig, seed: int, total: int) -> int:
    """Frames of the episode's own shots: what OP, recap and ED leave."""
    return total - sum(block_frames(cfg, seed))


def recap_entries(
    seed: int,
    series_seed: int,
    cfg: SynthConfig,
    ctx: Ctx,
    total: int,
    frames: int,
    *,
    edges: tuple[Setup, Setup],
    after: tuple[int, Setup],
    before: tuple[int, Setup],
) -> list[Entry]:
    """Shots of episode ``seed - 1`` (same length and config) copied frame for frame.

    Only runs of plain frames are copied (no flash, fade or dissolve), so each copied frame
    renders pixel-identical to its source. If the source has too little such footage, an
    eyecatch still fills the rest. ``edges`` are the OP/ED framings (see :func:`plan_content`);
    ``after`` and ``before`` are the (location, framing) of the OP's last and the content's first
    shot: a copy that would show the same location from (nearly) the same set-up as its
    neighbour is skipped.
    """
    source = seed - 1
    src = plan_content(source, series_seed, cfg, ctx, content_frames(cfg, source, total), edges)
    op, src_recap, _ = block_frames(cfg, source)
    place(src, op + src_recap)
    recipes, _ = assemble(src, fade_in=False, fade_out=False)
    runs = _plain_runs(src, recipes)
    rng = _rng(series_seed, seed, 2)
    chosen: list[Entry] = []
    left, prev = frames, after
    for k in rng.permutation(len(runs)):
        entry, start, length = runs[int(k)]
        take = min(length, left, max(frames // 2, 12))
        if left - take < 6 and left != take:
            continue
        layers = [recipes[start - src[0].start + j].layer for j in range(take)]
        loc = entry.plan.location
        first, last = framing(layers[0], ctx), framing(layers[-1], ctx)
        if _clash(prev, (loc, first), ctx) or (take == left and _clash((loc, last), before, ctx)):
            continue
        plan = ShotPlan(
            entry.plan.kind, entry.plan.camera, loc, entry.plan.characters, layers, cadence_mix=entry.plan.cadence_mix
        )
        origin = recipes[start - src[0].start].origin
        chosen.append(Entry(plan, take, "cut", 1, "recap", origin[0], origin[1], source_start=start))
        left, prev = left - take, (loc, last)
        if not left:
            break
    if left:
        plan = make_plan("still", rng, ctx, 0, left, (0, 1), after=prev[1], before=before[1])
        chosen.append(Entry(plan, left, "cut", 1, "eyecatch", -3, 0))
    return chosen


def _clash(a: tuple[int, Setup], b: tuple[int, Setup], ctx: Ctx) -> bool:
    """Same location seen from (nearly) the same set-up: a jump cut."""
    return a[0] == b[0] and not a[1].differs(b[1], ctx)


def _plain_runs(entries: list[Entry], recipes: list[Recipe]) -> list[tuple[Entry, int, int]]:
    """(entry, first absolute frame, length) of the longest plain run in each shot, if >= 12 frames."""
    out = []
    base = entries[0].start
    for e in entries:
        best, run_start, best_start = 0, -1, 0
        for t in range(e.start, e.start + e.frames + 1):
            plain = t < e.start + e.frames and recipes[t - base].pure
            if plain and run_start < 0:
                run_start = t
            if not plain and run_start >= 0:
                if t - run_start > best:
                    best, best_start = t - run_start, run_start
                run_start = -1
        if best >= 12:
            out.append((e, best_start, best))
    return out


def build_timeline(seed: int, series_seed: int, cfg: SynthConfig, ctx: Ctx, total: int) -> Timeline:
    """Plan and assemble the whole episode."""
    op_n, recap_n, ed_n = block_frames(cfg, seed)
    entries = plan_block(OP_SHOTS, op_n, series_seed, ctx, block="op", ns=-1)
    ed = plan_block(ED_SHOTS, ed_n, series_seed, ctx, block="ed", ns=-2)
    op_last = entries[-1].plan.layer(entries[-1].frames - 1)
    edges = (framing(op_last, ctx), framing(ed[0].plan.layer(0), ctx))
    content = plan_content(seed, series_seed, cfg, ctx, content_frames(cfg, seed, total), edges)
    if recap_n:
        after = (entries[-1].plan.location, edges[0])
        before = (content[0].plan.location, framing(content[0].plan.layer(0), ctx))
        entries += recap_entries(seed, series_seed, cfg, ctx, total, recap_n, edges=edges, after=after, before=before)
    offset = 2 if recap_n else 1
    for e in content:
        e.scene += offset
    entries += content
    for e in ed:
        e.scene = content[-1].scene + 1
    entries += ed
    place(entries)
    recipes, transitions = assemble(entries, fade_in=True, fade_out=True)
    return Timeline(entries, recipes, transitions, seed - 1 if recap_n else None)
