"""The shared frame tests of :mod:`animevid.signals` on small synthetic arrays, with exact answers,
and the rule that each threshold and each set of names is written once."""

from __future__ import annotations

import io
import itertools
import re
import tokenize
from pathlib import Path

import numpy as np
import pytest

from animevid import signals
from animevid.drawings import CADENCES
from animevid.model import CADENCE_NAMES, CAMERA_NAMES

PACKAGE = Path(signals.__file__).parent


def picture(seed: int, shape: tuple[int, ...] = (9, 16)) -> np.ndarray:
    """A structured float32 luma grid of whole levels 20..235 (a spread of about 60)."""
    return np.round(np.random.default_rng(seed).uniform(20.0, 235.0, shape)).astype(np.float32)


# -- blank -------------------------------------------------------------------------------------------


def test_blank_is_near_uniform_black_or_white() -> None:
    std = np.array([0.0, 0.0, 0.0, 30.0, 7.9, 8.0, 0.0, 0.0], np.float32)
    mean = np.array([10.0, 128.0, 250.0, 10.0, 47.9, 20.0, 48.0, 208.0], np.float32)
    assert signals.blank(std, mean).tolist() == [True, False, True, False, True, False, False, False]
    assert signals.flat(std).tolist() == [True, True, True, False, True, False, True, True]
    assert signals.dark_or_bright(mean).tolist() == [True, False, True, True, True, True, False, False]


def test_blank_of_one_frame_is_a_bool() -> None:
    assert signals.blank(0.0, 250.0) is True
    assert signals.blank(0.0, 128.0) is False
    # numpy scalars (OpenCV's statistics) answer alike
    assert bool(signals.blank(np.float64(3.0), np.float64(20.0)))


# -- flash -------------------------------------------------------------------------------------------


def ycc(luma: np.ndarray) -> np.ndarray:
    """A 9x16x3 grid row with ``luma`` in channel 0 and flat chroma, as the shot detector stores it."""
    grid = np.zeros((*luma.shape, 3), np.float32)
    grid[..., 0] = luma
    return grid.reshape(-1)


def test_photometric_finds_inverted_and_tinted_frames_but_not_a_new_shot() -> None:
    p = picture(1)
    frames = [
        p,  # frame 0: nothing before it
        255.0 - p,  # inverted: a = -1
        p,  # back
        0.4 * p + 150.0,  # washed toward white: a = 0.4
        p,  # back
        picture(2),  # a new shot: no line fits
        picture(2) + 1.0,  # the same picture, one level brighter: not moved
        0.8 * picture(2),  # dimmed by 20 %: a = 0.8, a flash
        0.8 * picture(2) * 0.9 + 0.8,  # a fade's step of 10 %: under FLASH_GAIN_STEP
    ]
    grid = np.stack([ycc(f.astype(np.float32)) for f in frames])
    assert signals.photometric(grid).tolist() == [False, True, True, True, True, False, False, True, False]
    # batch by batch equals all at once (each frame is tested against the one before it)
    halves = np.concatenate([signals.photometric(grid[:4]), signals.photometric(grid[3:])[1:]])
    assert halves.tolist() == signals.photometric(grid).tolist()


def test_altered_is_blank_or_a_transform_of_the_reference() -> None:
    ref = picture(3)
    assert signals.altered(ref, 255.0 - ref) is True  # inverted
    assert signals.altered(ref, (0.5 * ref + 100.0).astype(np.float32)) is True  # tinted toward white
    assert signals.altered(ref, np.full_like(ref, 4.0)) is True  # black
    assert signals.altered(ref, picture(4)) is False  # another picture
    assert signals.altered(ref, ref + 2.0) is False  # the same picture
    assert signals.altered(np.full_like(ref, 90.0), picture(4)) is False  # nothing to fit against


def test_affine_fit_recovers_the_line() -> None:
    ref = picture(5).ravel().astype(np.float64)
    slope, fit = signals.affine_fit(ref, -0.5 * ref + 200.0)
    assert slope == pytest.approx(-0.5) and fit == pytest.approx(1.0)
    assert signals.affine_fit(np.full(10, 3.0), ref[:10]) == (1.0, 0.0)


def test_palette_flash_needs_a_jump_that_comes_back() -> None:
    ref = np.tile(np.linspace(20, 200, 16, dtype=np.float32)[:, None], (1, 3))
    flash = 255.0 - ref
    assert signals.palette_flash(ref, flash, [ref + 1.0]) is True  # inverted, then back
    assert signals.palette_flash(ref, flash, [flash, flash]) is False  # a cut: it stays
    assert signals.palette_flash(ref, ref + 10.0, [ref]) is False  # under PALETTE_JUMP
    assert signals.palette_flash(ref, flash, []) is False  # nothing seen after it yet


def test_covers_needs_most_of_the_picture() -> None:
    ref = picture(6)
    brighter = ref + 20.0
    assert signals.covers(ref, brighter) is True
    half = ref.copy()
    half[:, :8] += 20.0
    assert signals.covers(ref, half) is False


def test_palette_is_quantiles_per_channel() -> None:
    rgb = np.zeros((36, 64, 3), np.uint8)
    rgb[:18] = (255, 0, 100)
    pal = signals.palette(rgb)
    assert pal.shape == (signals.PALETTE_QUANTILES, 3)
    assert pal[:, 0].tolist() == [0.0] * 8 + [255.0] * 8
    assert pal[:, 1].tolist() == [0.0] * 16
    assert pal[:, 2].tolist() == [0.0] * 8 + [100.0] * 8


def test_transient_is_a_change_that_comes_back() -> None:
    # one level per frame: picture A, a one-frame flash at 5, A again, a cut to B at 10
    level = np.array([0.0] * 5 + [30.0] + [0.0] * 4 + [30.0] * 6, np.float32)
    n, reach = len(level), signals.MAX_FLASH_RUN + 1
    # distance of each frame to the 1..4 frames before it (the first frame stands in before it)
    changes = np.array([[abs(level[i] - level[max(i - k - 1, 0)]) for k in range(reach)] for i in range(n)])
    assert np.flatnonzero(signals.transient(changes)).tolist() == [5]


# -- held --------------------------------------------------------------------------------------------


def test_held_takes_noise_under_the_threshold_but_not_a_lip_flap() -> None:
    rng = np.random.default_rng(7)
    ref = picture(8, (144, 256))
    noisy = (ref + rng.uniform(-2.0, 2.0, ref.shape)).astype(np.float32)
    blocks = signals.block_means(np.abs(noisy - ref), signals.DRAWING_BLOCK_PX)
    assert blocks.shape == (36, 64)
    assert signals.held(blocks, signals.DRAWING_HELD_LEVELS) is True
    assert not signals.changed_blocks(blocks, signals.DRAWING_HELD_LEVELS).any()

    # a mouth: one 4x4 block moves by 20 levels
    flap = ref.copy()
    flap[72:76, 128:132] += 20.0
    diff = np.abs(flap - ref)
    fine = signals.block_means(diff, signals.DRAWING_BLOCK_PX)
    assert signals.held(fine, signals.DRAWING_HELD_LEVELS) is False
    assert np.argwhere(signals.changed_blocks(fine, signals.DRAWING_HELD_LEVELS)).tolist() == [[18, 32]]
    # the same flap spread over an 8x8 block is 5 levels: under the frame-diff stage's threshold,
    # which is why drawings are tested on 4x4 blocks
    coarse = signals.block_means(diff, signals.FRAME_BLOCK_PX)
    assert float(coarse.max()) == 5.0  # 16 pixels of 64 changed by 20
    assert signals.held(coarse, signals.FRAME_HELD_LEVELS) is True
    assert signals.held(float(coarse.max()), signals.FRAME_HELD_LEVELS) is True  # the stage passes the largest
    assert signals.held(signals.FRAME_HELD_LEVELS, signals.FRAME_HELD_LEVELS) is False  # at the threshold: changed


def test_block_means_drops_partial_edge_blocks() -> None:
    x = np.arange(10 * 9, dtype=np.float32).reshape(10, 9)
    expected = [[float(x[r : r + 4, c : c + 4].mean()) for c in (0, 4)] for r in (0, 4)]
    assert signals.block_means(x, 4).tolist() == expected


# -- fade --------------------------------------------------------------------------------------------


def test_fade_run_is_longer_than_a_flash() -> None:
    assert [signals.fade_run(k) for k in range(1, 7)] == [False, False, False, True, True, True]


def test_contrast_ramp_into_or_out_of_a_blank_run() -> None:
    dims = np.array([40, 40, 35, 25, 20, 1, 1, 40, 40, 40, 40], np.float32)
    assert signals.contrast_ramp(dims, 5, 7) is True  # 20 < 0.7 * 40 before the run
    steady = np.array([40, 40, 40, 40, 40, 1, 1, 40, 40, 40, 40], np.float32)
    assert signals.contrast_ramp(steady, 5, 7) is False  # a flash
    rises = np.array([40, 40, 40, 40, 40, 1, 1, 10, 20, 30, 40], np.float32)
    assert signals.contrast_ramp(rises, 5, 7) is True  # 10 < 0.7 * 40 after it
    assert signals.contrast_ramp(dims, 1, 2) is False  # too close to the start to tell


def test_fade_ramp_finds_the_dimming_frames_beside_a_fade_to_black() -> None:
    p, q = picture(9), picture(10)
    black = np.full_like(p, 3.0)
    frames = [p] * 5 + [0.8 * p, 0.6 * p, 0.4 * p, 0.2 * p] + [black] * 3 + [0.25 * q, 0.5 * q, 0.75 * q] + [q] * 4
    grid = [f.astype(np.float32) for f in frames]
    assert signals.fade_ramp(grid, 12, -1) == slice(5, 12)  # four dimming frames and the three black ones
    assert signals.fade_ramp(grid, 12, +1) == slice(12, 15)  # three brightening frames
    # a cut between two clean pictures has no ramp
    assert signals.fade_ramp([p] * 4 + [q] * 4, 4, -1) == slice(0, 0)


# -- each threshold and each set of names once -------------------------------------------------------


def code_tokens(path: Path) -> list[tokenize.TokenInfo]:
    """The tokens of a module that are code (no strings, docstrings or comments)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [t for t in tokens if t.type not in (tokenize.STRING, tokenize.COMMENT)]


STAGE_PACKAGES = ("shots", "analysis", "stages", "scenes")
"""The packages that test frames: none may restate a threshold of :mod:`animevid.signals`."""
DISTINCT = {
    "FLAT_STD": signals.FLAT_STD,
    "DARK_MEAN": signals.DARK_MEAN,
    "BRIGHT_MEAN": signals.BRIGHT_MEAN,
    "FLASH_MIN_VARIANCE": signals.FLASH_MIN_VARIANCE,
    "PALETTE_JUMP": signals.PALETTE_JUMP,
    "COVER_LEVELS": signals.COVER_LEVELS,
    "DRAWING_HELD_LEVELS": signals.DRAWING_HELD_LEVELS,
    "FRAME_HELD_LEVELS": signals.FRAME_HELD_LEVELS,
    "RAMP_CONTRAST": signals.RAMP_CONTRAST,
}
"""Thresholds whose value no other test of those packages uses by chance."""


def test_thresholds_are_written_only_in_signals() -> None:
    values = set(DISTINCT.values())
    found = []
    for package in STAGE_PACKAGES:
        for path in sorted((PACKAGE / package).rglob("*.py")):
            for t in code_tokens(path):
                if t.type == tokenize.NUMBER and "." in t.string and float(t.string) in values:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{t.start[0]}: {t.line.strip()}")
    assert found == []
    own = [t.string for t in code_tokens(PACKAGE / "signals.py") if t.type == tokenize.NUMBER]
    for name, value in DISTINCT.items():
        assert own.count(repr(value)) >= 1, name


def test_the_flash_run_is_defined_once() -> None:
    """``MAX_FLASH`` (per-shot summary) and ``MAX_FLASH_RUN`` (meter) were one number under two names."""
    defined = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tokens = code_tokens(path)
        for a, b in itertools.pairwise(tokens):
            if a.type == tokenize.NAME and a.string.startswith("MAX_FLASH") and b.string == "=" and a.start[1] == 0:
                defined.append(f"{path.name}:{a.string}")
    assert defined == ["signals.py:MAX_FLASH_RUN"]


def test_thresholds_are_python_floats() -> None:
    """A NumPy float64 threshold would turn the float32 comparisons of the stages into float64 ones."""
    for name in dir(signals):
        if name.isupper():
            assert type(getattr(signals, name)) in (int, float), name


def test_cadence_and_camera_names_are_written_once() -> None:
    assert CADENCE_NAMES == ("ones", "twos", "threes", "mixed", "still")
    assert CAMERA_NAMES == ("static", "pan", "zoom", "shake")
    assert CADENCES == {1: "ones", 2: "twos", 3: "threes"}
    restated = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("model.py", "catalog.py") or path.match("synth/_timeline.py"):
            # the definitions; the catalog's frozen migrations; the generator's shot kinds, some named
            # after the cadence they are drawn on
            continue
        text = path.read_text(encoding="utf-8")
        for names in (CADENCE_NAMES, CAMERA_NAMES):
            # two names of a set side by side in code: a restated set
            for a, b in itertools.pairwise(names):
                if re.search(rf"[\"']{a}[\"'],\s*[\"']{b}[\"']", text):
                    restated.append(f"{path.name}: {a}, {b}")
    assert restated == []
