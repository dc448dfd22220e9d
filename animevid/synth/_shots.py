"""Shot generators: each returns a :class:`ShotPlan`, the per-frame layers of one shot.

A generator is handed the number of frames to produce (the shot plus any frames a dissolve
borrows after its end) and a seeded generator; it never paints, it only describes drawings.
Consecutive drawings always differ by whole pixels (moves of >= 2 px, mouth or eye changes),
so "same drawing spec" and "pixel-identical frame" agree, which the truth relies on.

Every shot is filmed from a camera :class:`Setup` handed in by the timeline: a window onto the
canvas of 0.7 (close) to 1.0 (wide) of the frame, placed anywhere on it. Figures are placed in
window coordinates (so they stay on screen) at canvas sizes (so a close set-up shows them
bigger), and every frame of a static shot uses the same window, so held drawings stay
pixel-identical after scaling. Pans, zooms and shakes start from their set-up and move from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from animevid.drawings import CADENCES
from animevid.model import Cadence
from animevid.model import Camera as CameraMotion
from animevid.synth._draw import DrawingSpec, Figure

Crop = tuple[float, float, float, float]


@dataclass(frozen=True)
class Layer:
    """One drawing seen through the camera: ``crop`` is (x, y, w, h) on the canvas, None = whole."""

    drawing: DrawingSpec
    """The drawing shown."""
    crop: Crop | None = None
    """Camera window on the canvas, scaled to the frame; None when canvas == frame."""
    cels: tuple[Figure, ...] = ()
    """Figures on a cel over the camera view, in frame pixels: the camera does not move them (a character the
    camera follows while the background slides behind)."""
    near: tuple[DrawingSpec, Crop, float] | None = None
    """A nearer background layer (drawing, its own camera window, top of its band as a share of the frame
    height): pasted over the frame from that height down, under the cels. Moving its window faster than the
    main one is parallax."""

    @property
    def picture(self) -> tuple[object, ...]:
        """What is drawn, not where the camera looks: two frames with the same picture show the same drawings."""
        return self.drawing, self.cels, None if self.near is None else self.near[0]


@dataclass(frozen=True)
class Ctx:
    """What generators need to know about the frame."""

    width: int
    """Frame width."""
    height: int
    """Frame height."""
    cast: int
    """Number of characters."""


@dataclass
class ShotPlan:
    """The layers of one shot and the facts the truth reports about it."""

    kind: str
    """Shot kind (dialogue, action, pan, loop...)."""
    camera: CameraMotion
    """static, pan, zoom or shake."""
    location: int
    """Location index."""
    characters: tuple[int, ...]
    """Cast indices of the characters on screen."""
    layers: list[Layer]
    """Layer per local frame (may run past the shot end for a dissolve)."""
    flashes: dict[int, str] = field(default_factory=dict)
    """Local frame -> flash kind (white, black, inverted, tint)."""
    grades: dict[int, str] = field(default_factory=dict)
    """Local frame -> colour grade over the same drawing (``dusk``): a re-grade, not a new drawing."""
    speech: list[tuple[int, int, int]] = field(default_factory=list)
    """(start, end, speaker) local frame ranges of speech; end may equal the shot length."""
    loop: tuple[int, int] | None = None
    """(period_frames, repeats) when the whole shot is one loop."""
    cadence_mix: tuple[Cadence, ...] = ()
    """Cadences of characters that move on different ones in the same shot (empty otherwise)."""

    def layer(self, j: int) -> Layer:
        """Layer of local frame j; frames before 0 hold the first drawing (dissolve pre-roll)."""
        return self.layers[min(max(j, 0), len(self.layers) - 1)]


MIN_SCALE = 0.7
"""Closest set-up: the window is 70% of the frame."""
SCALE_STEP = 0.12
"""Two set-ups differ when their scales differ by at least this much..."""
CENTRE_STEP = 0.15
"""...or their window centres lie at least this many frame widths apart."""


@dataclass(frozen=True)
class Setup:
    """A camera set-up: the window onto the canvas, in frame units.

    ``scale`` is the window size over the frame size (1.0 wide, 0.7 close); ``x`` and ``y`` are the
    window centre in frame widths / heights from the canvas' top-left corner.
    """

    scale: float
    """Window size / frame size."""
    x: float
    """Window centre x, in frame widths."""
    y: float
    """Window centre y, in frame heights."""

    def differs(self, other: Setup, ctx: Ctx) -> bool:
        """Clearly another set-up (the 30-degree rule): scale or window centre moved enough."""
        dy = (self.y - other.y) * ctx.height / ctx.width
        return abs(self.scale - other.scale) >= SCALE_STEP or math.hypot(self.x - other.x, dy) >= CENTRE_STEP


def draw_setup(rng: np.random.Generator) -> Setup:
    """A random set-up on a frame-sized canvas: scale in [0.7, 1], window anywhere inside."""
    scale = float(rng.uniform(MIN_SCALE, 1.0))
    x, y = (scale / 2 + float(rng.uniform()) * (1.0 - scale) for _ in range(2))
    return Setup(scale, x, y)


def framing(layer: Layer, ctx: Ctx) -> Setup:
    """The set-up a layer is seen from (its camera window in frame units)."""
    if layer.crop is None:
        cw, ch = layer.drawing.canvas
        return Setup(1.0, cw / 2 / ctx.width, ch / 2 / ctx.height)
    x, y, w, h = layer.crop
    return Setup(w / ctx.width, (x + w / 2) / ctx.width, (y + h / 2) / ctx.height)


@dataclass(frozen=True)
class Camera:
    """A camera window on the canvas, in canvas pixels; figures are placed through it."""

    x: float
    """Window left."""
    y: float
    """Window top."""
    w: float
    """Window width."""
    h: float
    """Window height."""

    @staticmethod
    def of(setup: Setup, ctx: Ctx, dx: float = 0.0, dy: float = 0.0) -> Camera:
        """The setup's window on a frame-sized canvas (clamped inside it), shifted by (dx, dy)."""
        w, h = setup.scale * ctx.width, setup.scale * ctx.height
        x = min(max(setup.x * ctx.width - w / 2, 0.0), ctx.width - w)
        y = min(max(setup.y * ctx.height - h / 2, 0.0), ctx.height - h)
        return Camera(x + dx, y + dy, w, h)

    def at(self, fx: float, fy: float) -> tuple[int, int]:
        """Canvas pixel of the point at (fx, fy) fractions of the screen."""
        return round(self.x + fx * self.w), round(self.y + fy * self.h)

    def crop(self) -> Crop:
        """The window as a layer crop."""
        return (float(self.x), float(self.y), float(self.w), float(self.h))


def _bust(ctx: Ctx, cam: Camera, who: int, x: float, r: float = 0.2, y: float = 0.42, **kw: int | bool) -> Figure:
    """A figure at screen fractions (x, y) of the camera window; r is canvas size (frame heights)."""
    cx, cy = cam.at(x, y)
    return Figure(who=who, x=cx, y=cy, r=max(6, round(r * ctx.height)), **kw)  # type: ignore[arg-type]


def _spec(
    ctx: Ctx, loc: int, figures: tuple[Figure, ...], lines: int = -1, canvas: tuple[int, int] | None = None
) -> DrawingSpec:
    return DrawingSpec(location=loc, canvas=canvas or (ctx.width, ctx.height), figures=figures, lines=lines)


def _step(ctx: Ctx, frac: float) -> int:
    """A move of ``frac`` of the frame height, never under 2 px (keeps drawings distinct)."""
    return max(2, round(frac * ctx.height))


def still(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """One drawing held for the whole shot."""
    cam = Camera.of(setup, ctx)
    x = rng.uniform(0.2, 0.35)
    figs = tuple(
        _bust(ctx, cam, c, x + 0.4 * i, r=rng.uniform(0.14, 0.2), turn=int(rng.integers(-3, 4)))
        for i, c in enumerate(chars[:2])
    )
    spec = _spec(ctx, loc, figs)
    return ShotPlan("still", "static", loc, chars[:2], [Layer(spec, cam.crop())] * n)


def motion(
    rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup, every: int
) -> ShotPlan:
    """A character gesturing and drifting, a new drawing every ``every`` frames (1, 2 or 3); on twos and
    threes a white impact frame inside one hold."""
    cam = Camera.of(setup, ctx)
    step = _step(ctx, 0.02)
    x0 = rng.uniform(0.25, 0.4)
    r, arm0 = rng.uniform(0.16, 0.22), int(rng.integers(0, 40))  # seeded pose: no two episodes share drawings
    layers = []
    for j in range(n):
        k = j // every
        tri = k % 12 if k % 24 < 12 else 12 - k % 12  # back and forth so the figure stays on screen
        fig = _bust(ctx, cam, chars[0], x0, r=r, arm=arm0 + 12 * (k % 5), hair=k % 3)
        fig = Figure(**{**fig.__dict__, "x": fig.x + step * tri})
        layers.append(Layer(_spec(ctx, loc, (fig,)), cam.crop()))
    return ShotPlan("motion", "static", loc, chars[:1], layers, flashes=_flash_in_a_hold(n, every))


def _flash_in_a_hold(n: int, every: int) -> dict[int, str]:
    """On twos and threes, one white impact frame in the middle of a hold (past the shot's middle,
    10 frames clear of its edges): the hold goes on under it. Chosen without the random stream,
    so every other draw of the episode stays what it was."""
    if every < 2:
        return {}
    frame = next((j for j in range(n // 2, n - 10) if j % every == 1), None)
    return {} if frame is None or frame < 10 else {frame: "white"}


def duet(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """Two characters gesturing side by side on different cadences, one on twos, one on threes.

    Each bobs and moves an arm on its own beat, so the whole picture changes irregularly (its
    cadence is mixed) while each half of the screen keeps a steady one.
    """
    cam = Camera.of(setup, ctx)
    step = _step(ctx, 0.015)
    r, arm0 = rng.uniform(0.12, 0.15), int(rng.integers(0, 40))
    everies = (3, 2) if rng.integers(0, 2) else (2, 3)
    layers = []
    for j in range(n):
        figs = []
        for side, (x, every) in enumerate(zip((0.22, 0.75), everies, strict=True)):
            k = j // every
            bob = k % 6 if k % 12 < 6 else 6 - k % 6
            fig = _bust(ctx, cam, chars[side], x, r=r, arm=arm0 + 25 * side + 12 * (k % 5), hair=k % 3)
            figs.append(Figure(**{**fig.__dict__, "y": fig.y + step * bob}))
        layers.append(Layer(_spec(ctx, loc, tuple(figs)), cam.crop()))
    return ShotPlan("duet", "static", loc, chars[:2], layers, cadence_mix=tuple(CADENCES[e] for e in everies))


def action(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """Fast motion on ones with speed lines, plus impact frames of every flash kind."""
    cam = Camera.of(setup, ctx)
    big = max(4, round(0.07 * ctx.width))
    span = ctx.width + round(0.4 * ctx.height)
    base = int(rng.integers(0, 1 << 20))
    layers = []
    for j in range(n):
        x = ((j * big) % span - round(0.2 * ctx.height)) / ctx.width  # sweeps across the screen
        fig = _bust(ctx, cam, chars[0], x, r=0.18, arm=(j * 37) % 160, turn=(j % 3 - 1) * _step(ctx, 0.02))
        layers.append(Layer(_spec(ctx, loc, (fig,), lines=base + j), cam.crop()))
    return ShotPlan("action", "static", loc, chars[:1], layers, flashes=_flash_events(rng, n))


def _flash_events(rng: np.random.Generator, n: int) -> dict[int, str]:
    """1-2 frame impact frames, kept 10 frames clear of the shot edges (never near a transition)."""
    events = [("white",), ("inverted", "tint"), ("black",), ("tint",)]
    out: dict[int, str] = {}
    frame = 10 + int(rng.integers(0, 4))
    for kinds in events:
        if frame + len(kinds) > n - 10:
            break
        for i, kind in enumerate(kinds):
            out[frame + i] = kind
        frame += len(kinds) + 6 + int(rng.integers(0, 6))
    return out


def dialogue(
    rng: np.random.Generator,
    ctx: Ctx,
    loc: int,
    n: int,
    chars: tuple[int, ...],
    setup: Setup,
    *,
    early: bool,
    tail: bool,
    carry: int,
) -> ShotPlan:
    """A talking head: the body is held, only the mouth (lip flaps on threes) and a blink change.

    Args:
        early: Speech starts within a few frames of the cut (its subtitle snaps to it);
            otherwise it starts later and the subtitle gets a lead-in.
        tail: The last speech runs to the end of the shot (the line continues across the cut).
        carry: The shot opens with this many frames of off-screen speech from the previous shot.
    """
    cam = Camera.of(setup, ctx)
    speaker = chars[0]
    segments = _speech_segments(rng, n, early=early, tail=tail, carry=carry)
    blink = int(rng.integers(n // 3, max(n // 3 + 1, n - 4)))
    pattern = (1, 2, 1, 0, 2, 1)
    x = rng.uniform(0.3, 0.42)
    figs_fixed = tuple(_bust(ctx, cam, c, x + 0.36, r=0.13, y=0.5) for c in chars[1:2])
    layers = []
    for j in range(n):
        mouth = 0
        for start, end in segments:
            if start <= j < end:
                mouth = pattern[((j - start) // 3) % len(pattern)]
        fig = _bust(ctx, cam, speaker, x, r=0.2, mouth=mouth, eyes_closed=blink <= j < blink + 3)
        layers.append(Layer(_spec(ctx, loc, (*figs_fixed, fig)), cam.crop()))
    speech = [(s, e, speaker) for s, e in segments]
    if carry:
        speech.insert(0, (0, carry, -1))  # -1: the previous shot's speaker, off screen
    return ShotPlan("dialogue", "static", loc, chars[:2], layers, speech=speech)


def _speech_segments(rng: np.random.Generator, n: int, *, early: bool, tail: bool, carry: int) -> list[tuple[int, int]]:
    """Speech runs of 10+ frames separated by pauses of a second or more."""
    lo = carry + (int(rng.integers(2, 5)) if early else int(rng.integers(14, 22)))
    segments: list[tuple[int, int]] = []
    while lo + 12 < n:
        length = int(rng.integers(12, 40))
        gap_after = int(rng.integers(26, 34))
        if lo + length + gap_after + 22 >= n:  # the last one: pin its end relative to the cut
            near = early or carry > 0  # a reply ends right at the cut; a late line ends well before it
            end = n if tail else n - (int(rng.integers(3, 6)) if near else int(rng.integers(20, 28)))
            if end - lo >= 10:
                segments.append((lo, end))
            break
        segments.append((lo, lo + length))
        lo += length + gap_after
    return segments


def pan(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """A camera pan across a wide held drawing: every frame moves, the drawing does not change.

    The set-up gives the window's scale and height; the pan runs the whole canvas width.
    """
    extra = max(round(0.6 * ctx.width), 2 * n + 2)
    canvas = (ctx.width + extra, ctx.height)
    cam = Camera.of(setup, ctx)
    figs = tuple(
        Figure(
            c,
            round((0.2 + 0.6 * i / max(1, len(chars) - 1)) * canvas[0]),
            round(cam.y + 0.42 * cam.h),
            round(0.15 * ctx.height),
        )
        for i, c in enumerate(chars)
    )
    spec = _spec(ctx, loc, figs, canvas=canvas)
    forward = bool(rng.integers(0, 2))
    travel = canvas[0] - cam.w  # >= extra: moves of >= 2 canvas px per frame
    layers = []
    for j in range(n):
        x = travel * j / max(1, n - 1) if n > 1 else 0.0
        layers.append(Layer(spec, (float(x if forward else travel - x), cam.y, cam.w, cam.h)))
    return ShotPlan("pan", "pan", loc, chars, layers)


def follow(
    rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup, *, walk: bool = False
) -> ShotPlan:
    """The camera follows a character: the background slides behind a cel the camera does not move.

    The cel is held for the whole shot (one drawing; the camera pans), or with ``walk`` a walk cycle
    in place (4 drawings on twos, a loop of 8 frames). The background, painted with detail everywhere,
    moves 2 canvas pixels or more per frame.
    """
    speed = max(2, round(0.012 * ctx.height))  # canvas pixels per frame
    canvas = (ctx.width + speed * n + 2, ctx.height)
    cam = Camera.of(setup, ctx)
    whole = Camera(0.0, 0.0, float(ctx.width), float(ctx.height))  # cel figures sit in frame pixels
    x = rng.uniform(0.35, 0.65)
    if walk:
        cycle = [
            (_bust(ctx, whole, chars[0], x, r=0.13, y=0.33 - 0.015 * (p % 2), walk=p, arm=(-30, 0, 30, 0)[p]),)
            for p in range(4)
        ]
        cels = [cycle[(j // 2) % 4] for j in range(n)]
    else:
        held = (_bust(ctx, whole, chars[0], x, r=rng.uniform(0.18, 0.24), arm=int(rng.integers(0, 60))),)
        cels = [held] * n
    spec = DrawingSpec(location=loc, canvas=canvas, detail=int(rng.integers(0, 1 << 20)))
    forward = bool(rng.integers(0, 2))
    layers = []
    for j in range(n):
        left = float(speed * j if forward else speed * (n - 1 - j))
        layers.append(Layer(spec, (left, cam.y, cam.w, cam.h), cels=cels[j]))
    loop = (8, n // 8) if walk and n >= 16 else None
    return ShotPlan("follow", "pan", loc, chars[:1], layers, loop=loop)


def long_hair(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """A close-up whose long hair blows in the wind, redrawn on threes over a third of the frame: 4 sway drawings
    in a cycle of 12 frames (the character should have long hair)."""
    cam = Camera.of(setup, ctx)
    x = rng.uniform(0.4, 0.6)
    sways = (0, 1, 2, 5)  # the sway phases that differ from each other (see _draw._back_hair and _bangs)
    cycle = [Layer(_spec(ctx, loc, (_bust(ctx, cam, chars[0], x, r=0.3, y=0.3, hair=k),)), cam.crop()) for k in sways]
    return ShotPlan("long_hair", "static", loc, chars[:1], [cycle[(j // 3) % 4] for j in range(n)])


def drawn_pan(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """A camera move drawn by hand on threes: every third frame the whole picture is redrawn a step further
    along (the view and the character's pose), so each drawing changes most of the frame; one shot."""
    step = _step(ctx, 0.06)  # canvas pixels per drawing
    drawings = (n + 2) // 3
    canvas = (ctx.width + step * drawings + 2, ctx.height)
    cam = Camera.of(setup, ctx)
    x0, arm0 = rng.uniform(0.25, 0.45), int(rng.integers(0, 40))
    detail = int(rng.integers(0, 1 << 20))
    layers = []
    for j in range(n):
        k = j // 3
        fig = _bust(ctx, cam, chars[0], x0, r=0.2, arm=arm0 + 15 * (k % 4), hair=k % 3)
        fig = Figure(**{**fig.__dict__, "x": fig.x + step * k})  # the character runs with the view
        spec = DrawingSpec(location=loc, canvas=canvas, figures=(fig,), detail=detail)
        layers.append(Layer(spec, (float(step * k), cam.y, cam.w, cam.h)))
    return ShotPlan("drawn_pan", "pan", loc, chars[:1], layers)


def zoom_pulse(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """An editing effect over a held dialogue drawing: every 8 frames a 2-frame zoom pulse (the picture 15 %, then
    8 % closer) washed with a glow. One drawing; the pulse frames are effects (``glow`` flashes), not drawings."""
    cam = Camera.of(setup, ctx)
    fig = _bust(ctx, cam, chars[0], rng.uniform(0.35, 0.65), r=rng.uniform(0.18, 0.24))
    spec = _spec(ctx, loc, (fig,))

    def closer(factor: float) -> Crop:
        w, h = cam.w / factor, cam.h / factor
        return (cam.x + (cam.w - w) / 2, cam.y + (cam.h - h) / 2, w, h)

    layers, flashes = [], {}
    for j in range(n):
        pulse = 6 <= j < n - 6 and j % 8 in (6, 7)
        layers.append(Layer(spec, closer(1.15 if j % 8 == 6 else 1.08) if pulse else cam.crop()))
        if pulse:
            flashes[j] = "glow"
    return ShotPlan("zoom_pulse", "static", loc, chars[:1], layers, flashes=flashes)


def regrade(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """A held drawing hit by a tinted impact frame, then the same drawing re-graded (dusk blue) to the shot's end.

    One shot, one drawing; the tinted frame is a flash. Colours change everywhere at once after it, as at a
    cut, but every line and shape stays where it was."""
    cam = Camera.of(setup, ctx)
    fig = _bust(ctx, cam, chars[0], rng.uniform(0.35, 0.65), r=rng.uniform(0.18, 0.24), arm=int(rng.integers(0, 60)))
    layer = Layer(_spec(ctx, loc, (fig,)), cam.crop())
    hit = n // 2
    return ShotPlan(
        "regrade", "static", loc, chars[:1], [layer] * n, flashes={hit: "tint"},
        grades=dict.fromkeys(range(hit + 1, n), "dusk"),
    )  # fmt: skip


def cutout(
    rng: np.random.Generator,
    ctx: Ctx,
    loc: int,
    n: int,
    chars: tuple[int, ...],
    setup: Setup,
    *,
    over: Layer,
    lead: int,
) -> ShotPlan:
    """A shot that opens as a cut-out: its character laid over the previous shot's last picture for ``lead``
    frames, then over its own background. The shot (a cut) starts where the cut-out appears."""
    whole = Camera(0.0, 0.0, float(ctx.width), float(ctx.height))
    x, r = rng.uniform(0.55, 0.7), rng.uniform(0.24, 0.28)
    fig = _bust(ctx, whole, chars[0], x, r=r, arm=int(rng.integers(0, 60)))
    cam = Camera.of(setup, ctx)
    own = Layer(_spec(ctx, loc, ()), cam.crop(), cels=(fig,))
    laid = Layer(over.drawing, over.crop, cels=(*over.cels, fig))
    return ShotPlan("cutout", "static", loc, chars[:1], [laid] * lead + [own] * (n - lead))


def parallax(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """The camera follows a held character past two background layers: the far one slides ``speed`` canvas
    pixels a frame, the near one (the lower 40 % of the frame) 2.5 times as fast. One drawing, a pan."""
    speed = max(2, round(0.008 * ctx.height))
    near_speed = round(2.5 * speed)
    far = DrawingSpec(
        location=loc, canvas=(ctx.width + speed * n + 2, ctx.height), detail=int(rng.integers(0, 1 << 20))
    )
    near_loc = (loc + 1) % 5
    near = DrawingSpec(
        location=near_loc, canvas=(ctx.width + near_speed * n + 2, ctx.height), detail=int(rng.integers(0, 1 << 20))
    )
    whole = Camera(0.0, 0.0, float(ctx.width), float(ctx.height))
    held = (
        _bust(ctx, whole, chars[0], rng.uniform(0.35, 0.65), r=rng.uniform(0.18, 0.22), arm=int(rng.integers(0, 60))),
    )
    layers = [
        Layer(
            far, (float(speed * j), 0.0, float(ctx.width), float(ctx.height)), cels=held,
            near=(near, (float(near_speed * j), 0.0, float(ctx.width), float(ctx.height)), 0.6),
        )
        for j in range(n)
    ]  # fmt: skip
    return ShotPlan("parallax", "pan", loc, chars[:1], layers)


def flicker(
    rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup, *, who: int
) -> ShotPlan:
    """A shot of ``n`` frames (1 or 2 in a strobe edit): one held drawing of character ``who``."""
    cam = Camera.of(setup, ctx)
    fig = _bust(ctx, cam, who, rng.uniform(0.3, 0.7), r=rng.uniform(0.2, 0.3), arm=int(rng.integers(0, 90)), mouth=2)
    spec = _spec(ctx, loc, (fig,), lines=int(rng.integers(0, 1 << 20)))
    return ShotPlan("short", "static", loc, (who,), [Layer(spec, cam.crop())] * n)


def zoom(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """A push-in on a held drawing from the set-up toward the character's face."""
    cam = Camera.of(setup, ctx)
    fig = _bust(ctx, cam, chars[0], rng.uniform(0.35, 0.65), r=rng.uniform(0.17, 0.22), arm=int(rng.integers(0, 60)))
    spec = _spec(ctx, loc, (fig,))
    end = max(cam.w / 1.45, 0.5 * ctx.width)  # never closer than half the frame
    cx0, cy0 = cam.x + cam.w / 2, cam.y + cam.h / 2
    layers = []
    for j in range(n):
        t = j / max(1, n - 1)
        w = cam.w * (end / cam.w) ** t
        h = w * ctx.height / ctx.width
        cx, cy = cx0 + (fig.x - cx0) * t, cy0 + (fig.y - cy0) * t
        x = min(max(cx - w / 2, 0.0), ctx.width - w)
        y = min(max(cy - h / 2, 0.0), ctx.height - h)
        layers.append(Layer(spec, (x, y, w, h)))
    return ShotPlan("zoom", "zoom", loc, chars[:1], layers)


def shake(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """Camera shake over a held drawing (an impact): the window jumps every frame."""
    amp = _step(ctx, 0.03)
    canvas = (ctx.width + 2 * amp, ctx.height + 2 * amp)
    cam = Camera.of(setup, ctx, amp, amp)  # the set-up's window, centred in the shake margin
    fig = _bust(
        ctx,
        cam,
        chars[0],
        rng.uniform(0.35, 0.65),
        r=rng.uniform(0.17, 0.23),
        y=0.45,
        mouth=2,
        arm=int(rng.integers(0, 90)),
    )
    spec = _spec(ctx, loc, (fig,), canvas=canvas)
    layers, last = [], (-1, -1)
    for _ in range(n):
        off = last
        while off == last:  # consecutive frames must differ
            off = (int(rng.integers(0, 2 * amp + 1)), int(rng.integers(0, 2 * amp + 1)))
        last = off
        layers.append(Layer(spec, (cam.x - amp + off[0], cam.y - amp + off[1], cam.w, cam.h)))
    return ShotPlan("impact", "shake", loc, chars[:1], layers)


def walk_loop(
    rng: np.random.Generator, ctx: Ctx, loc: int, chars: tuple[int, ...], setup: Setup, repeats: int
) -> ShotPlan:
    """A walk cycle in place: 4 drawings on twos, repeated ``repeats`` times."""
    cam = Camera.of(setup, ctx)
    cycle, x = [], rng.uniform(0.3, 0.7)
    for phase in range(4):
        fig = _bust(ctx, cam, chars[0], x, r=0.09, y=0.2 - 0.012 * (phase % 2), walk=phase, arm=(-30, 0, 30, 0)[phase])
        cycle.append(Layer(_spec(ctx, loc, (fig,)), cam.crop()))
    layers = [cycle[(j // 2) % 4] for j in range(8 * repeats)]
    return ShotPlan("loop", "static", loc, chars[:1], layers, loop=(8, repeats))


def hair_loop(
    rng: np.random.Generator, ctx: Ctx, loc: int, chars: tuple[int, ...], setup: Setup, repeats: int
) -> ShotPlan:
    """Hair in the wind: 3 drawings on threes, repeated ``repeats`` times."""
    cam = Camera.of(setup, ctx)
    x = rng.uniform(0.35, 0.65)
    cycle = [
        Layer(_spec(ctx, loc, (_bust(ctx, cam, chars[0], x, r=0.22, hair=phase),)), cam.crop()) for phase in range(3)
    ]
    layers = [cycle[(j // 3) % 3] for j in range(9 * repeats)]
    return ShotPlan("loop", "static", loc, chars[:1], layers, loop=(9, repeats))


def short(rng: np.random.Generator, ctx: Ctx, loc: int, n: int, chars: tuple[int, ...], setup: Setup) -> ShotPlan:
    """A 3-6 frame action shot on ones (AMV-style rapid cutting)."""
    cam = Camera.of(setup, ctx)
    base = int(rng.integers(0, 1 << 20))
    who = chars[int(rng.integers(0, len(chars)))]
    layers = []
    for j in range(n):
        fig = _bust(ctx, cam, who, 0.3 + 0.08 * j, r=0.24, y=0.5, arm=20 * j, mouth=2)
        layers.append(Layer(_spec(ctx, loc, (fig,), lines=base + j), cam.crop()))
    return ShotPlan("short", "static", loc, (who,), layers)
