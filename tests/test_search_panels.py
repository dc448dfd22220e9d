"""Screenshots made of several frames: side by side, stacked, 2x2 grids, with and without gutters."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from animevid.config import DecodeConfig
from animevid.decode import open_video
from animevid.search._normalize import Box
from animevid.search._panels import split_panels
from tests.helpers import REAL_DIR

Colour = tuple[int, int, int]

WHITE, BLACK, RED, GREY = (255, 255, 255), (0, 0, 0), (200, 40, 40), (128, 128, 128)
TOLERANCE = 0.02
"""A found box side may be off by this fraction of the picture's size."""

REAL_FRAMES_PER_CLIP = 4
"""Frames decoded from each real clip, spread over it (the whole file stays well under 20 s)."""


DECODE_AT_MOST = 240
"""Frames decoded from the start of a clip at most (the frames are spread over these)."""


def decode_frames(path: Path, count: int, *, width: int = 640) -> list[np.ndarray]:
    """``count`` frames spread over a video, decoded at ``width`` pixels wide."""
    frames: list[np.ndarray] = []
    for batch in open_video(path, config=DecodeConfig(analysis_width=width, prefetch_batches=0)).batches():
        frames.append(batch.frames.numpy())
        if sum(len(f) for f in frames) >= DECODE_AT_MOST:  # the start of a long clip is enough, and fast
            break
    every = np.concatenate(frames)
    picks = np.linspace(0, len(every) - 1, count + 2).astype(int)[1:-1]
    return [every[i].copy() for i in picks]


def compose(
    rows: list[list[np.ndarray]], *, gutter: int, colour: Colour, border: int = 0
) -> tuple[np.ndarray, list[Box]]:
    """Paste panels row by row (panels of a row share a height, rows share a width) with gutters between.

    Returns:
        The picture and the true panel boxes in reading order.
    """
    widths = {sum(p.shape[1] for p in row) + gutter * (len(row) - 1) for row in rows}
    assert len(widths) == 1, f"rows of different widths: {widths}"
    height = sum(row[0].shape[0] for row in rows) + gutter * (len(rows) - 1) + 2 * border
    canvas = np.empty((height, widths.pop() + 2 * border, 3), np.uint8)
    canvas[:] = colour
    boxes: list[Box] = []
    y = border
    for row in rows:
        x = border
        for panel in row:
            h, w = panel.shape[:2]
            canvas[y : y + h, x : x + w] = panel
            boxes.append((x, y, x + w, y + h))
            x += w + gutter
        y += row[0].shape[0] + gutter
    return canvas, boxes


def resized(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame scaled to exactly (width, height)."""
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def crop(frame: np.ndarray, aspect: float) -> np.ndarray:
    """The centre crop of a frame with the given width/height."""
    h, w = frame.shape[:2]
    if w / h > aspect:
        keep = round(h * aspect)
        return frame[:, (w - keep) // 2 : (w - keep) // 2 + keep]
    keep = round(w / aspect)
    return frame[(h - keep) // 2 : (h - keep) // 2 + keep]


def jpeg(picture: np.ndarray, quality: int) -> np.ndarray:
    """The picture after a JPEG round trip."""
    ok, data = cv2.imencode(".jpg", picture[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def side_by_side(frames: list[np.ndarray], height: int, gutter: int, colour: Colour, border: int = 0):
    """Frames (any aspect) scaled to one height, left to right."""
    row = [resized(f, round(f.shape[1] * height / f.shape[0]), height) for f in frames]
    return compose([row], gutter=gutter, colour=colour, border=border)


def stacked(frames: list[np.ndarray], width: int, gutter: int, colour: Colour, border: int = 0):
    """Frames (any aspect) scaled to one width, top to bottom."""
    rows = [[resized(f, width, round(f.shape[0] * width / f.shape[1]))] for f in frames]
    return compose(rows, gutter=gutter, colour=colour, border=border)


def grid(frames: list[np.ndarray], width: int, gutter: int, colour: Colour, border: int = 0):
    """Four frames in a 2x2 grid, each ``width`` x 9/16 of it."""
    panels = [resized(f, width, round(width * 9 / 16)) for f in frames]
    return compose([panels[:2], panels[2:]], gutter=gutter, colour=colour, border=border)


def letterboxed(frame: np.ndarray, bars: int) -> np.ndarray:
    """Black bars of ``bars`` pixels above and below."""
    return cv2.copyMakeBorder(frame, bars, bars, 0, 0, cv2.BORDER_CONSTANT, value=BLACK)


def pillarboxed(frame: np.ndarray, bars: int) -> np.ndarray:
    """Black bars of ``bars`` pixels left and right."""
    return cv2.copyMakeBorder(frame, 0, 0, bars, bars, cv2.BORDER_CONSTANT, value=BLACK)


def pasted(frame: np.ndarray, colour: Colour) -> np.ndarray:
    """The frame at 60 % size on a plain canvas of its size, a little off centre."""
    h, w = frame.shape[:2]
    canvas = np.empty_like(frame)
    canvas[:] = colour
    small = resized(frame, round(w * 0.6), round(h * 0.6))
    y, x = h // 6, w // 4
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def misses(found: list[Box], truth: list[Box], shape: tuple[int, ...]) -> str:
    """'' when the boxes match the truth one for one, in order, each side within :data:`TOLERANCE`."""
    h, w = shape[:2]
    if len(found) != len(truth):
        return f"{len(found)} panels found, {len(truth)} true: {found} vs {truth}"
    for f, t in zip(found, truth, strict=True):
        off = max(abs(f[0] - t[0]) / w, abs(f[2] - t[2]) / w, abs(f[1] - t[1]) / h, abs(f[3] - t[3]) / h)
        if off > TOLERANCE:
            return f"box {f} vs true {t}: off by {off:.1%}"
    return ""


@pytest.fixture(scope="module")
def synth_frames(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Detailed frames (grey std >= 20) of a seeded 12 s synthetic episode, 640 px wide."""
    from animevid.synth import generate_episode

    episode = generate_episode(tmp_path_factory.mktemp("panels"), seed=1, seconds=12.0)
    frames = decode_frames(episode.mp4, 24)
    return [f for f in frames if f.std() >= 20]


KNOWN_MISS = pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 24, stop 31): a cut lands on one edge of a wide gutter or a crop's seam is missed; "
    "the box is 2-9 % off. Strict: fixing it turns this into a failure to remove the mark",
)

CASES = [
    # (layout, panel width, gutter fraction of the picture's size, colour, border, JPEG quality or None)
    ("side", 480, 0.0, WHITE, 0, None),
    ("side", 480, 0.01, WHITE, 0, 85),
    ("side", 320, 0.03, BLACK, 0, 75),
    ("side", 640, 0.05, RED, 12, None),
    pytest.param(("side_crop", 320, 0.0, BLACK, 0, 90), marks=KNOWN_MISS),
    ("side_crop", 480, 0.02, GREY, 4, 80),
    ("same_side", 480, 0.0, WHITE, 0, 85),
    ("same_side", 320, 0.02, BLACK, 0, None),
    ("stack2", 480, 0.0, WHITE, 0, 80),
    ("stack2", 640, 0.02, WHITE, 12, 70),
    ("stack2", 320, 0.05, BLACK, 0, None),
    ("same_stack", 480, 0.0, WHITE, 0, None),
    ("stack3", 480, 0.0, BLACK, 0, 85),
    ("stack3", 320, 0.02, WHITE, 0, 75),
    ("stack3", 480, 0.04, RED, 8, None),
    ("grid", 320, 0.0, WHITE, 0, 90),
    ("grid", 320, 0.02, WHITE, 8, 80),
    ("grid", 480, 0.04, BLACK, 0, None),
]


def build(case: tuple, frames: list[np.ndarray]) -> tuple[np.ndarray, list[Box]]:
    """The composed picture of one case and its true panel boxes."""
    layout, width, fraction, colour, border, quality = case
    height = round(width * 9 / 16)
    if layout in ("side", "same_side", "side_crop"):
        panels = [frames[0], frames[0 if layout == "same_side" else 1]]
        if layout == "side_crop":
            panels = [crop(panels[0], 1.4), crop(panels[1], 2.2)]
        picture, truth = side_by_side(panels, height, round(fraction * 2 * width), colour, border)
    elif layout == "grid":
        picture, truth = grid(frames[:4], width, round(fraction * 2 * width), colour, border)
    else:
        count = 3 if layout == "stack3" else 2
        panels = [frames[0]] * 2 if layout == "same_stack" else frames[:count]
        picture, truth = stacked(panels, width, round(fraction * width), colour, border)
    return (jpeg(picture, quality) if quality else picture), truth


def _case_id(case: object) -> str:
    c = case.values[0] if hasattr(case, "values") else case  # type: ignore[attr-defined]
    return f"{c[0]}-{c[1]}-g{c[2]}-b{c[4]}-q{c[5]}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_composed_pictures_split_into_their_true_panels(synth_frames: list[np.ndarray], case: tuple) -> None:
    for start in (0, 4):
        picture, truth = build(case, synth_frames[start:] + synth_frames[:start])
        assert misses(split_panels(picture), truth, picture.shape) == ""


def test_single_synthetic_frames_are_not_split(synth_frames: list[np.ndarray]) -> None:
    wrong = []
    for i, frame in enumerate(synth_frames):
        for name, picture in variants(frame):
            if split_panels(picture):
                wrong.append(f"frame {i} {name}")
    assert wrong == []


def variants(frame: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """A single frame as posted: plain, letterboxed, pillarboxed, pasted on a plain background."""
    h, w = frame.shape[:2]
    return [
        ("plain", frame),
        ("letterboxed", letterboxed(frame, h // 6)),
        ("pillarboxed", pillarboxed(frame, w // 8)),
        ("pasted", pasted(frame, (30, 90, 200))),
    ]


@pytest.fixture(scope="module")
def real_frames() -> dict[str, list[np.ndarray]]:
    """A few frames spread over each real clip (skipped without the real test data)."""
    folder = REAL_DIR / "video"
    if not folder.is_dir():
        pytest.skip(f"real test data not found: {folder}")
    clips = sorted(p for p in folder.iterdir() if p.suffix in {".mp4", ".mkv", ".webm", ".gif"})
    return {p.name: decode_frames(p, REAL_FRAMES_PER_CLIP) for p in clips}


@pytest.mark.xfail(
    strict=True, reason="known gap (issue 24, stop 31): a One Piece glow-streak frame is split as a 2x2 grid"
)
def test_real_single_frames_are_not_split(real_frames: dict[str, list[np.ndarray]]) -> None:
    wrong, total = [], 0
    for name, frames in real_frames.items():
        for i, frame in enumerate(frames):
            for kind, picture in variants(frame):
                total += 1
                if split_panels(picture):
                    wrong.append(f"{name} frame {i} {kind}: {split_panels(picture)}")
    assert wrong == [], f"{len(wrong)} of {total} real single frames split"


@pytest.mark.xfail(
    strict=True, reason="known gap (issue 24, stop 31): a gutterless pair 3.5 % off two 16:9 frames is not split"
)
def test_real_frames_side_by_side_and_stacked_split(real_frames: dict[str, list[np.ndarray]]) -> None:
    wide = [f for frames in real_frames.values() for f in frames if 1.7 < f.shape[1] / f.shape[0] < 1.85]
    for a, b in zip(wide[::2], wide[1::2], strict=False):
        for picture, truth in (side_by_side([a, b], 270, 0, WHITE), stacked([a, b], 480, 8, BLACK)):
            assert misses(split_panels(jpeg(picture, 85)), truth, picture.shape) == ""


def test_degenerate_pictures_give_no_panels() -> None:
    assert split_panels(np.zeros((360, 640, 3), np.uint8)) == []
    assert split_panels(np.full((20, 30, 3), 200, np.uint8)) == []
