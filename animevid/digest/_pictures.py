"""The digest's pictures, taken in one forward pass over the episode file.

The pass is the project's own decoder (:func:`animevid.decode.open_video`), so frames are numbered
exactly as the catalog numbers them (0-based, decode order, damaged packets skipped alike). It hands
out every frame at a tiny analysis size, which costs next to nothing, and asks for the wanted frames
larger (:class:`~animevid.decode.DetailRequest`, area-scaled to :data:`STILL_WIDTH`); it stops after
the last wanted frame. Each wanted frame is encoded on arrival (WebP) and reduced to a small colour
feature, so memory holds a few kilobytes per frame, not the frames.

Keyframes of a scene (:func:`pick_keyframes`), the rule:

1. The candidates are the frames :func:`animevid.digest._plan.scene_candidates` offers (shot middles,
   and quarter points in scenes of few shots), each weighted by the screen time it stands for.
   Nearly flat frames (black or white fades, grey standard deviation under :data:`FLAT_STD`) are
   only used when the scene has nothing else.
2. Each candidate's feature is a joint colour histogram (4 levels per channel, 64 bins) and a 4x4
   grid of mean colours (the layout); the distance of two frames is the mean of half the histograms'
   L1 distance and the grids' mean absolute difference, both 0..1.
3. The first keyframe is the candidate nearest the scene's time-weighted mean feature: the most
   representative picture.
4. Then farthest-point picks: each next keyframe is the candidate farthest from every keyframe
   picked so far, until as many as the scene's length allows are picked
   (:func:`~animevid.digest._plan.keyframes_wanted`: 2 under 8 s, 3 under 20 s, else 4) or the
   farthest is nearer than :data:`MIN_DIFFERENCE` (the rest look like what is shown already).
5. The keyframes are shown in time order.
"""

from __future__ import annotations

import base64
import io
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from animevid.analysis.export import write_animation
from animevid.config import DecodeConfig
from animevid.decode import DetailRequest, open_video, probe
from animevid.digest._plan import KEYFRAMES_PER_SCENE, ShownLoop

DigestProgress = Callable[[Path, int], Callable[[int], None]]
"""``progress(episode, total_frames)`` returns ``advance(frames)`` (the shape ``animevid index`` uses)."""

STILL_WIDTH = 320
"""Width of keyframes and highlight pictures (the page shows them at this size)."""
LOOP_WIDTH = 240
"""Width of the animated loops."""
TILE_WIDTH = 128
"""Width of a contact-sheet tile."""
SHEET_COLUMNS = 10
"""Tiles per contact-sheet row."""
STILL_QUALITY = 70
"""WebP quality of stills: at 320 px an anime frame weighs 5-15 kB."""
FLAT_STD = 6.0
"""Grey standard deviation (0..255) under which a frame is nearly flat (a fade's black or white)."""
MIN_DIFFERENCE = 0.08
"""Feature distance under which a further keyframe would show nothing new (see the module docstring)."""
_ANALYSIS_WIDTH = 32
"""Width of the frames every decoded frame is scaled to (unused but for counting: the cheapest size)."""
_HIST_BINS = 64


@dataclass(frozen=True)
class Still:
    """One wanted frame, encoded for the page, with its colour feature."""

    frame: int
    webp: bytes
    feature: np.ndarray
    flat: bool


@dataclass
class Pictures:
    """What the pass took: stills by frame, loop animations by loop start, contact tiles by shot."""

    stills: dict[int, Still] = field(default_factory=dict)
    loops: dict[int, bytes] = field(default_factory=dict)
    tiles: dict[int, np.ndarray] = field(default_factory=dict)
    note: str | None = None
    """Why pictures are missing (file moved, changed or undecodable), None when all were taken."""


def data_uri(data: bytes, mime: str) -> str:
    """``data:`` URI of an encoded picture."""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def encode_webp(rgb: np.ndarray, quality: int = STILL_QUALITY) -> bytes:
    """A still as WebP bytes."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def feature(rgb: np.ndarray) -> np.ndarray:
    """64-bin joint colour histogram and 4x4 mean-colour layout of a frame (see the module docstring)."""
    small = cv2.resize(rgb, (64, 36), interpolation=cv2.INTER_AREA)
    levels = (small // 64).reshape(-1, 3).astype(np.int64)
    hist = np.bincount(levels[:, 0] * 16 + levels[:, 1] * 4 + levels[:, 2], minlength=_HIST_BINS)
    layout = cv2.resize(small, (4, 4), interpolation=cv2.INTER_AREA).reshape(-1) / 255.0
    return np.concatenate([hist / hist.sum(), layout]).astype(np.float32)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance of two features, 0 (alike) .. 1."""
    colours = 0.5 * float(np.abs(a[:_HIST_BINS] - b[:_HIST_BINS]).sum())
    layout = float(np.abs(a[_HIST_BINS:] - b[_HIST_BINS:]).mean())
    return (colours + layout) / 2


def pick_keyframes(
    candidates: Sequence[tuple[Still, float]],
    *,
    most: int = KEYFRAMES_PER_SCENE,
    min_difference: float = MIN_DIFFERENCE,
) -> list[int]:
    """The frames of a scene's keyframes, in time order, from its (still, seconds it stands for) candidates."""
    usable = [(s, w) for s, w in candidates if not s.flat] or list(candidates)
    if not usable or most < 1:
        return []
    weights = np.array([max(w, 1e-6) for _, w in usable])
    features = np.stack([s.feature for s, _ in usable])
    mean = (features * weights[:, None]).sum(axis=0) / weights.sum()
    picked = [min(range(len(usable)), key=lambda i: (distance(features[i], mean), i))]
    nearest = np.array([distance(f, features[picked[0]]) for f in features])
    while len(picked) < most:
        far = int(np.argmax(nearest))
        if nearest[far] < min_difference:
            break
        picked.append(far)
        nearest = np.minimum(nearest, [distance(f, features[far]) for f in features])
    return sorted(usable[i][0].frame for i in picked)


def contact_sheet(tiles: Sequence[np.ndarray | None], labels: Sequence[str]) -> Image.Image:
    """One tile per shot in rows of :data:`SHEET_COLUMNS`, each labelled (a blank tile where none was taken)."""
    known = next((t for t in tiles if t is not None), None)
    height = known.shape[0] if known is not None else TILE_WIDTH * 9 // 16
    label, gap = 14, 4
    rows = max(1, -(-len(tiles) // SHEET_COLUMNS))
    columns = min(SHEET_COLUMNS, max(1, len(tiles)))
    sheet = Image.new("RGB", (columns * (TILE_WIDTH + gap) + gap, rows * (height + label + gap) + gap), "#14161b")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=11)
    for k, (tile, text) in enumerate(zip(tiles, labels, strict=True)):
        x = gap + (k % SHEET_COLUMNS) * (TILE_WIDTH + gap)
        y = gap + (k // SHEET_COLUMNS) * (height + label + gap)
        if tile is not None:
            sheet.paste(Image.fromarray(tile[:height, :TILE_WIDTH]), (x, y))
        else:
            draw.rectangle((x, y, x + TILE_WIDTH - 1, y + height - 1), fill="#262a33")
        draw.text((x + 1, y + height + 1), text, fill="#c9ccd4", font=font)
    return sheet


def _resized(rgb: np.ndarray, width: int) -> np.ndarray:
    if rgb.shape[1] <= width:
        return rgb
    height = max(2, round(rgb.shape[0] * width / rgb.shape[1]))
    return np.ascontiguousarray(cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA))


class _Taker:
    """Takes what each wanted frame is for as it arrives: a still, a contact tile, a loop frame."""

    def __init__(self, stills: set[int], tiles: dict[int, int], loops: Sequence[ShownLoop], fps: float) -> None:
        self.still_frames, self.tile_frames, self.fps = stills, tiles, fps
        self.loop_of: dict[int, list[ShownLoop]] = {}
        for shown in loops:
            for frame in shown.frames:
                self.loop_of.setdefault(frame, []).append(shown)
        self.wanted = set(stills) | set(tiles) | set(self.loop_of)
        self.last = max(self.wanted, default=-1)
        self.pictures = Pictures()
        self._clips: dict[int, list[np.ndarray]] = {}

    def take(self, frame: int, rgb: np.ndarray) -> None:
        if frame in self.still_frames:
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            flat = float(grey.std()) < FLAT_STD
            self.pictures.stills[frame] = Still(frame, encode_webp(rgb), feature(rgb), flat)
        if frame in self.tile_frames:
            self.pictures.tiles[self.tile_frames[frame]] = _resized(rgb, TILE_WIDTH)
        for shown in self.loop_of.get(frame, []):
            clip = self._clips.setdefault(shown.loop.start_frame, [])
            clip.append(_resized(rgb, LOOP_WIDTH))
            if frame == shown.frames[-1]:
                self.pictures.loops[shown.loop.start_frame] = self._animate(clip)
                del self._clips[shown.loop.start_frame]

    def _animate(self, clip: list[np.ndarray]) -> bytes:
        with tempfile.TemporaryDirectory(prefix="animevid-digest-") as folder:
            path = Path(folder) / "loop.webp"
            write_animation(path, clip, self.fps, "webp")
            return path.read_bytes()


def take_pictures(
    path: Path,
    *,
    stills: set[int],
    tiles: dict[int, int],
    loops: Sequence[ShownLoop],
    fps: float,
    progress: DigestProgress | None = None,
) -> Pictures:
    """Decode ``path`` once, from its start to the last wanted frame, and take the pictures wanted.

    Args:
        path: The episode file (already checked to be the one indexed).
        stills: Frames to encode as stills (keyframe candidates, highlights).
        tiles: Contact-sheet tiles wanted: frame -> shot index.
        loops: Loops to animate (one period each).
        fps: The episode's frame rate (for the loops' timing).
        progress: Told how many frames are decoded, as the pass goes.

    Returns:
        The pictures; frames the file ended before are simply missing.

    Raises:
        VideoError: The file cannot be opened or decodes to nothing.
    """
    taker = _Taker(stills, tiles, loops, fps)
    if not taker.wanted:
        return taker.pictures
    # The deblocking filter's artefacts vanish when frames are scaled well down, not at 1:1.
    sharp = probe(path).width < 3 * STILL_WIDTH
    config = DecodeConfig(analysis_width=_ANALYSIS_WIDTH, batch_frames=128, skip_loop_filter=not sharp)
    source = open_video(path, config=config)
    source.request_detail(DetailRequest(width=STILL_WIDTH, wants=lambda number, _: number in taker.wanted))
    advance = progress(path, taker.last + 1) if progress is not None else None
    batches = source.batches()
    try:
        for batch in batches:
            for frame, rgb in sorted(batch.details.items()):
                taker.take(frame, rgb)
            if advance is not None:  # the frames up to the last wanted one, which is the total announced
                advance(min(int(batch.frame_indices[-1]), taker.last) + 1 - int(batch.frame_indices[0]))
            if int(batch.frame_indices[-1]) >= taker.last:
                break
    finally:
        batches.close()
    return taker.pictures
