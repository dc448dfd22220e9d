"""Phone photos of a screen: the screen's corners are found and the picture is warped back upright.

The photos are composed here by a seeded recipe that knows the true corners: a frame on a 16:9
screen in a dark bezel, tilted and rotated in 3-D, on a room-like background, then glare, colour
cast, moire stripes, blur, sensor noise and JPEG. The search bench's own recipe
(``animevid.search._distort.screen_photo``: 16:9, 4:3 and vertical pictures, one bezel width all round)
is checked too, its true corners rebuilt from the same seeded draws.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from animevid.config import DecodeConfig
from animevid.decode import open_video
from animevid.search import _distort
from animevid.search._screen import find_screen, rectify
from tests.helpers import REAL_DIR

REAL_CLIPS = (
    "digimon_kizuna_clip_720p.mp4",
    "naruto_shippuden_forest_fight_720p25.mp4",
    "video2x_sample_output_sakurasou.mp4",
    "girl_doll_walk_1440p_hevc.mp4",
    "anime4k_web_input_popteamepic.mp4",
)
"""16:9 real clips whose frames are shown on the photographed screen."""

OTHER_CLIPS = ("onepiece_gear5_action_engsubs.mp4", "realesrgan_onepiece_demo.mp4", "devil_parttimer_fades.mp4")
"""Real clips of other shapes (letterboxed, 4:3), used only as ordinary pictures that are no screen photo."""

SHAPED_CLIPS = (
    "onepiece_gear5_action_engsubs.mp4",
    "devil_parttimer_fades.mp4",
    "dialogue_crossdissolve_vertical_406x720.mp4",
)
"""Real clips whose frames are not 16:9 (640x474, 640x552 and vertical 640x1135 at 640 px wide), as the library has."""

SCREEN_SIZE = (640, 360)
"""Width and height in pixels of the picture on the photographed screen."""


def _first_frames(path: Path, picks: tuple[int, ...], batches: int = 1) -> list[np.ndarray]:
    """Frames ``picks`` (indices into each of the first ``batches`` decoded batches) at 640 px wide."""
    found = []
    source = open_video(path, config=DecodeConfig(analysis_width=640, prefetch_batches=0))
    for number, batch in enumerate(source.batches()):
        frames = batch.frames.numpy()
        found += [frames[i] for i in picks if i < len(frames)]
        if number + 1 >= batches:
            break
    return found


def _detailed(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Frames with something to see (a black fade shows nothing on a screen)."""
    return [f for f in frames if cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).std() >= 20]


@pytest.fixture(scope="module")
def synth_frames(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    """Eight frames spread over a 12 s seeded synthetic episode."""
    from animevid.synth import generate_episode

    episode = generate_episode(tmp_path_factory.mktemp("screen-synth"), seed=1, seconds=12)
    return _detailed(_first_frames(episode.mp4, (5, 40), batches=4))


@pytest.fixture(scope="module")
def real_frames() -> list[np.ndarray]:
    """Three 16:9 frames from each real clip, or a skip when the real data is absent."""
    folder = REAL_DIR / "video"
    if not folder.is_dir():
        pytest.skip(f"real test data folder not found: {folder}")
    return _detailed([f for name in REAL_CLIPS for f in _first_frames(folder / name, (5, 30, 60))])


@pytest.fixture(scope="module")
def other_real_frames() -> list[np.ndarray]:
    """Frames of the real clips of other shapes, or a skip when the real data is absent."""
    folder = REAL_DIR / "video"
    if not folder.is_dir():
        pytest.skip(f"real test data folder not found: {folder}")
    return [f for name in OTHER_CLIPS for f in _first_frames(folder / name, (10, 50))]


@pytest.fixture(scope="module")
def shaped_frames() -> dict[str, list[np.ndarray]]:
    """Frames of the real clips that are not 16:9, by clip name, or a skip when the real data is absent."""
    folder = REAL_DIR / "video"
    if not folder.is_dir():
        pytest.skip(f"real test data folder not found: {folder}")
    return {name: _detailed(_first_frames(folder / name, (5, 30, 60), batches=2)) for name in SHAPED_CLIPS}


# ---------------------------------------------------------------------------------------------------------------------
# The photo recipe


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A room-like background: a tinted gradient wall, blurred noise and a few blurred objects."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(40, 200, 3)
    slope = rng.uniform(-60, 60, 3)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height)[..., None]
    picture = (base + slope * ramp).astype(np.float32)
    noise = cv2.GaussianBlur(25 * rng.standard_normal((height, width, 3), np.float32), (0, 0), rng.uniform(3, 12))
    picture = picture + noise
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(20, width // 3)), y0 + int(rng.integers(20, height // 3))
        picture[y0:y1, x0:x1] = rng.uniform(0, 255, 3)
    return cv2.GaussianBlur(picture, (0, 0), rng.uniform(1.0, 4.0))


def _bezelled(rng: np.random.Generator, frame: np.ndarray) -> tuple[np.ndarray, float]:
    """The frame on a 16:9 screen inside a dark (sometimes glossy) bezel, and the bezel's width in pixels."""
    width, height = SCREEN_SIZE
    screen = cv2.resize(frame, SCREEN_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    bezel = round(rng.uniform(0.02, 0.06) * width)
    bottom = bezel + round(rng.uniform(0, 0.03) * width)
    canvas = np.empty((height + bezel + bottom, width + 2 * bezel, 3), np.float32)
    canvas[:] = rng.uniform(5, 50)
    if rng.random() < 0.5:  # glossy: a soft diagonal reflection across the bezel
        y, x = np.mgrid[0 : canvas.shape[0], 0 : canvas.shape[1]].astype(np.float32)
        band = np.exp(-(((x - y * rng.uniform(0.5, 2) - rng.uniform(0, width)) / 80) ** 2))
        canvas += rng.uniform(15, 50) * band[..., None]
    canvas[bezel : bezel + height, bezel : bezel + width] = screen
    return canvas, float(bezel)


def _projected(rng: np.random.Generator, corners: np.ndarray) -> np.ndarray:
    """Corners of a rectangle in the plane z=0, tilted (up to 20 degrees), rotated (up to 10) and seen by a camera."""
    pitch, yaw, roll = (
        np.radians(rng.uniform(-20, 20)),
        np.radians(rng.uniform(-20, 20)),
        np.radians(rng.uniform(-10, 10)),
    )
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    points = np.c_[corners, np.zeros(len(corners))] @ (rz @ ry @ rx).T
    distance = rng.uniform(1.2, 2.5) * np.ptp(corners[:, 0])  # a phone's wide lens: ~0.8-1.6 widths away
    return points[:, :2] / (points[:, 2:] + distance)


def _placed(
    rng: np.random.Generator, inner: np.ndarray, outer: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Scale and shift so the screen fills 40-95 % of the photo's area (as far as it fits in the photo).

    In one of five photos, one corner is pushed past the nearest photo edge.
    """
    limit = np.array(size, np.float64)
    cut = rng.random() < 0.2
    fits = 0.97 / max(np.ptp(inner[:, 0]) / limit[0], np.ptp(inner[:, 1]) / limit[1])
    while True:
        scale = min(fits, np.sqrt(rng.uniform(0.4, 0.95) * limit.prod() / cv2.contourArea(np.float32(inner))))
        low, high = inner.min(axis=0) * scale, inner.max(axis=0) * scale
        shift = -low + (limit - (high - low)) * rng.uniform(0.1, 0.9, 2)
        if cut:  # push one corner 0.5-3 % of the width past the nearest photo edge
            corner = inner[int(rng.integers(4))] * scale + shift
            gaps = np.r_[corner, limit - corner]
            side = int(np.argmin(gaps))
            beyond = gaps[side] + rng.uniform(0.005, 0.03) * limit[0]
            shift[side % 2] += -beyond if side < 2 else beyond
        placed = inner * scale + shift
        outside = np.sum(np.any((placed < 0) | (placed > limit), axis=1))
        if outside == int(cut):
            return np.float32(placed), np.float32(outer * scale + shift)


def screen_photo(
    rng: np.random.Generator, frame: np.ndarray, *, glare: bool = True, size: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A phone photo of ``frame`` on a screen, and the screen's true corners (TL, TR, BR, BL) in it."""
    width, height = size or [(960, 720), (960, 540), (900, 600)][int(rng.integers(3))]
    canvas, bezel = _bezelled(rng, frame)
    ch, cw = canvas.shape[:2]
    sw, sh = SCREEN_SIZE
    flat_outer = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    flat_inner = np.float32([[bezel, bezel], [bezel + sw, bezel], [bezel + sw, bezel + sh], [bezel, bezel + sh]])
    centre = np.float32([cw / 2, ch / 2])
    seen = _projected(rng, np.r_[flat_inner, flat_outer] - centre)  # one pose for the screen and its bezel
    inner, outer = seen[:4], seen[4:]
    inner, outer = _placed(rng, inner, outer, (width, height))
    warp = cv2.getPerspectiveTransform(flat_outer, outer)
    truth = cv2.perspectiveTransform(flat_inner[None], warp)[0]
    shown = cv2.warpPerspective(canvas, warp, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((ch, cw), np.float32), warp, (width, height))[..., None]
    photo = _background(rng, width, height) * (1 - mask) + shown * mask
    photo = _photographed(rng, photo, truth, glare)
    return photo, truth


def _photographed(rng: np.random.Generator, photo: np.ndarray, corners: np.ndarray, glare: bool) -> np.ndarray:
    """What the camera adds: glare, moire, colour cast, blur, sensor noise and JPEG."""
    height, width = photo.shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    screen = np.zeros((height, width), np.float32)
    cv2.fillConvexPoly(screen, np.int32(corners), 1.0)
    if glare:
        cx, cy = corners.mean(axis=0) + rng.uniform(-0.3, 0.3, 2) * np.ptp(corners, axis=0)
        rx, ry = rng.uniform(0.08, 0.25) * width, rng.uniform(0.05, 0.2) * height
        photo = photo + rng.uniform(60, 140) * np.exp(-(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2))[..., None]
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 12)
    stripes = np.sin((np.cos(angle) * x + np.sin(angle) * y) * 2 * np.pi / period)
    photo = photo + (rng.uniform(2, 6) * stripes * screen)[..., None]
    photo = photo * rng.uniform(0.85, 1.15, 3)
    photo = cv2.GaussianBlur(photo.astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
    photo = photo + rng.uniform(2, 6) * rng.standard_normal(photo.shape, np.float32)
    picture = np.clip(photo, 0, 255).astype(np.uint8)
    quality = int(rng.integers(60, 92))
    _, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


# ---------------------------------------------------------------------------------------------------------------------
# The checks

FOUND_SHARE = 0.675
"""Least share of photos whose corners are found within 2.5 % of the diagonal: a floor under what the finder does
today (28 of these 40 seeds, 0.70; 26 before the bezel's inner edge was inferred), not the goal of 1.0. Most misses
are screens whose whole outline vanishes (a dark picture in a dark room, or glare over a glossy bezel); this recipe's
thicker bottom bezel (a chin) and room objects touching the bezel account for the rest."""

BENCH_FOUND_SHARE = 0.9
"""Least share of the search bench's screen photos (``_distort.screen_photo``: one bezel width all round, a plain
room) whose corners are found within 2.5 % of the diagonal: 39 of these 40 today (20 before the bezel's inner edge was
inferred and vertical screens allowed); the bench's own 80 queries (seeds 0 and 1): all 80."""


def _grey_thumb(rgb: np.ndarray) -> np.ndarray:
    """A 128 x 72 grey thumbnail, zero mean and unit norm, for normalised cross-correlation."""
    small = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (128, 72), interpolation=cv2.INTER_AREA)
    centred = small.astype(np.float64) - small.mean()
    return centred / (np.linalg.norm(centred) + 1e-9)


def _corner_error(found: np.ndarray | None, truth: np.ndarray) -> float:
    """The largest corner distance as a share of the screen's diagonal (inf when nothing was found)."""
    if found is None:
        return float("inf")
    assert found.shape == (4, 2) and found.dtype == np.float32
    return float(np.linalg.norm(found - truth, axis=1).max() / np.linalg.norm(truth[2] - truth[0]))


def test_screen_corners_are_found_in_phone_photos(synth_frames, real_frames) -> None:
    frames = synth_frames + real_frames
    errors = []
    for seed in range(40):
        photo, truth = screen_photo(np.random.default_rng(seed), frames[seed % len(frames)])
        errors.append(_corner_error(find_screen(photo), truth))
    found = np.array(errors) <= 0.025
    report = (
        f"found {found.mean():.0%} of {len(errors)}; error mean {np.mean(np.array(errors)[found]):.4f}, "
        f"max {np.max(np.array(errors)[found]):.4f} of the diagonal; missed seeds {np.flatnonzero(~found).tolist()}"
    )
    assert found.mean() >= FOUND_SHARE, report


def test_a_rectified_screen_matches_its_frame(synth_frames, real_frames) -> None:
    frames = synth_frames + real_frames
    scores, against_other = [], []
    for seed in range(16):
        frame = frames[seed % len(frames)]
        photo, truth = screen_photo(np.random.default_rng(100 + seed), frame, glare=False)
        corners = find_screen(photo)
        if _corner_error(corners, truth) > 0.025:
            continue
        assert corners is not None
        flat = rectify(photo, corners)
        assert flat.shape == (360, 640, 3)
        thumb = _grey_thumb(flat)
        scores.append(float(np.sum(thumb * _grey_thumb(frame))))
        against_other.append(float(np.sum(thumb * _grey_thumb(frames[(seed + 7) % len(frames)]))))
    assert len(scores) >= 10, f"only {len(scores)} of 16 screens found"
    assert min(scores) >= 0.9, f"NCC with the shown frame: {np.round(scores, 3).tolist()}"
    assert min(scores) > max(against_other) + 0.1, f"NCC with another frame: {np.round(against_other, 3).tolist()}"


def test_the_true_corners_rectify_to_the_frame(synth_frames) -> None:
    """The recipe and rectify() agree: the known corners give back the frame (NCC >= 0.95)."""
    for seed in range(4):
        photo, truth = screen_photo(np.random.default_rng(200 + seed), synth_frames[seed], glare=False)
        assert np.sum(_grey_thumb(rectify(photo, truth)) * _grey_thumb(synth_frames[seed])) >= 0.95


def _letterboxed(frame: np.ndarray) -> np.ndarray:
    """The frame squeezed between black bars (2.39:1 inside 16:9)."""
    h, w = frame.shape[:2]
    inner = round(w / 2.39)
    boxed = np.zeros_like(frame)
    top = (h - inner) // 2
    boxed[top : top + inner] = cv2.resize(frame, (w, inner), interpolation=cv2.INTER_AREA)
    return boxed


def test_ordinary_pictures_are_no_screen_photo(synth_frames, real_frames, other_real_frames, shaped_frames) -> None:
    pictures = synth_frames + real_frames + other_real_frames + [f for clip in shaped_frames.values() for f in clip]
    pictures += [_letterboxed(f) for f in synth_frames[:4] + real_frames[::3]]
    wrong = [i for i, picture in enumerate(pictures) if find_screen(picture) is not None]
    assert wrong == [], f"{len(wrong)} of {len(pictures)} ordinary pictures taken for a screen photo"


def test_a_frame_pasted_on_a_plain_background_gives_its_rectangle(synth_frames) -> None:
    """Harmless: a pasted frame on a dark plain page is its own screen; the rectangle comes back."""
    page = np.full((720, 1280, 3), 30, np.uint8)
    page[180:540, 320:960] = synth_frames[0]
    corners = find_screen(page)
    truth = np.float32([[320, 180], [960, 180], [960, 540], [320, 540]])
    assert corners is not None and _corner_error(corners, truth) <= 0.025


# ---------------------------------------------------------------------------------------------------------------------
# The search bench's photo recipe (animevid.search._distort.screen_photo), whose true corners are rebuilt here


def _distort_truth(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The true screen corners of ``_distort.screen_photo(frame, rng)``: its draws, in its order, up to the pose.

    Pass a copy of the generator handed to ``screen_photo``; :func:`test_the_bench_recipe_truth_rectifies` checks
    that this stays in step with the recipe.
    """
    height, width = frame.shape[:2]
    bezel = max(2, round(width * rng.uniform(0.02, 0.05)))
    rng.integers(5, 50)
    sw, sh = width + 2 * bezel, height + 2 * bezel
    out_w, out_h = round(sw * 1.15), round(sh * 1.25)
    rng.normal(0, 40, (out_h // 8, out_w // 8, 3))
    rng.uniform(60, 200, 3)
    fill = float(rng.uniform(0.7, 0.9))
    cx, cy = out_w / 2 + rng.uniform(-0.05, 0.05) * out_w, out_h / 2 + rng.uniform(-0.05, 0.05) * out_h
    half = np.array([sw, sh], np.float32) * fill / 2
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * half
    corners += rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * half * 2
    turn = np.radians(rng.uniform(-6, 6))
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
    corners = corners @ rot.T + np.array([cx, cy], np.float32)
    whole = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    warp = cv2.getPerspectiveTransform(whole, corners.astype(np.float32))
    inner = np.float32(
        [[bezel, bezel], [bezel + width, bezel], [bezel + width, bezel + height], [bezel, bezel + height]]
    )
    return cv2.perspectiveTransform(inner[None], warp)[0]


def _bench_photo(frame: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The search bench's screen photo of ``frame`` and its true corners."""
    rng = np.random.default_rng(seed)
    truth = _distort_truth(frame, np.random.default_rng(seed))
    return _distort.screen_photo(frame, rng), truth


def _pillarboxed(frame: np.ndarray) -> np.ndarray:
    """A 4:3 picture between black bars in a 16:9 frame, with a dark top: three edges as dark as a dark bezel."""
    h, w = frame.shape[:2]
    inner = round(h * 4 / 3)
    boxed = np.zeros_like(frame)
    left = (w - inner) // 2
    boxed[:, left : left + inner] = cv2.resize(frame, (inner, h), interpolation=cv2.INTER_AREA)
    fade = np.clip(np.linspace(0, 2.5, h, dtype=np.float32), 0, 1)[:, None, None]  # the top 40 % fades to black
    return (boxed * fade).astype(np.uint8)


def _found_share(frames: list[np.ndarray], seeds: range) -> tuple[float, str]:
    """Share of the bench's photos of ``frames`` (in turn) whose corners are found within 2.5 %, and a report."""
    errors = []
    for seed in seeds:
        photo, truth = _bench_photo(frames[seed % len(frames)], seed)
        errors.append(_corner_error(find_screen(photo), truth))
    found = np.array(errors) <= 0.025
    missed = [(seed, round(e, 3)) for seed, e in zip(seeds, errors, strict=True) if e > 0.025]
    return float(found.mean()), f"found {found.sum()} of {len(errors)}; missed (seed, error): {missed}"


def test_the_bench_recipe_truth_rectifies(synth_frames, shaped_frames) -> None:
    """The rebuilt corners are the recipe's: they rectify the photo back to the frame (NCC >= 0.9 through the
    recipe's glare and blur) better than corners pulled 3 % towards the middle do."""
    frames = synth_frames[:3] + [f[0] for f in shaped_frames.values()]
    for seed, frame in enumerate(frames):
        photo, truth = _bench_photo(frame, 300 + seed)
        pulled = truth + 0.03 * (truth.mean(axis=0) - truth)
        score = np.sum(_grey_thumb(rectify(photo, truth)) * _grey_thumb(frame))
        assert score >= 0.9, (seed, score)
        assert score > np.sum(_grey_thumb(rectify(photo, pulled)) * _grey_thumb(frame)), seed


def test_bench_screen_photos_are_found(synth_frames, real_frames, shaped_frames) -> None:
    frames = synth_frames + real_frames + [f for clip in shaped_frames.values() for f in clip]
    share, report = _found_share(frames, range(40))
    assert share >= BENCH_FOUND_SHARE, report


def test_a_picture_dark_at_its_edges_is_found_from_the_bezel(synth_frames, real_frames) -> None:
    """Black bars left and right and a black top: those sides melt into the bezel and are inferred from its width."""
    frames = [_pillarboxed(f) for f in synth_frames[:3] + real_frames[::3]]
    share, report = _found_share(frames, range(500, 512))
    assert share >= 11 / 12, report


def test_a_vertical_screen_is_found(shaped_frames) -> None:
    """A 9:16 picture (a vertical video shown full screen on a phone or a portrait monitor)."""
    share, report = _found_share(shaped_frames["dialogue_crossdissolve_vertical_406x720.mp4"], range(600, 610))
    assert share >= 0.9, report
