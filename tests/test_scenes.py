"""Scenes: the shot-look stage, each cue of the segmentation on its own, truth scenes, config, CLI."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from animevid.config import Config, ScenesConfig, load_config
from animevid.decode import FrameBatch, open_video
from animevid.engine import STAGES, run_pass
from animevid.errors import ConfigError
from animevid.model import Scene, Shot, SubtitleLine
from animevid.pipeline import find_scenes
from animevid.scenes import ShotLook, ShotLookStage, look_distance, segment_scenes
from animevid.scenes._look import PALETTE_BINS, THUMB
from animevid.scenes.evaluate import (
    boundaries,
    fade_baseline,
    lines_from_truth,
    score_scenes,
    shots_from_truth,
    truth_boundaries,
)
from animevid.shots import make_detector
from animevid.synth import SynthEpisode, generate_episode

FPS = 24.0
SEED = 31
"""Test seed: none of bench/scenes.py's seeds (101-106), so the defaults are checked on unseen data."""


@dataclass(frozen=True)
class Pass:
    """One decode pass over the test episode: detected shots and the look stage."""

    episode: SynthEpisode
    shots: list[Shot]
    looks: ShotLookStage


@pytest.fixture(scope="module")
def decoded(tmp_path_factory: pytest.TempPathFactory) -> Pass:
    episode = generate_episode(tmp_path_factory.mktemp("scenes"), seed=SEED, seconds=40.0)
    config = Config()
    looks = ShotLookStage()
    detector = make_detector(config, "cpu")
    records = run_pass(open_video(episode.mp4, config=config.decode), [detector, looks])
    return Pass(episode, records.records(detector), looks)


# ---- hand-built cases: one cue at a time ----------------------------------------------------------


def _palette(*weights: float) -> np.ndarray:
    palette = np.zeros(PALETTE_BINS, np.float32)
    palette[: len(weights)] = weights
    return palette / palette.sum()


def _look(index: int, palette: np.ndarray, *, head: float = 120.0, tail: float = 120.0) -> ShotLook:
    layout = np.full((THUMB[1], THUMB[0], 3), 128.0, np.float32)
    return ShotLook(
        index, 24 * index, 24 * index + 24, palette, layout, mean_luma=120.0, head_luma=head, tail_luma=tail
    )


def _shots(transitions: list[str], frames: int = 24) -> list[Shot]:
    return [
        Shot(k * frames, (k + 1) * frames, k * frames / FPS, (k + 1) * frames / FPS, t)  # type: ignore[arg-type]
        for k, t in enumerate(transitions)
    ]


def _starts(scenes: list[Scene]) -> list[int]:
    return [s.first_shot for s in scenes]


RED, BLUE = _palette(1.0), _palette(0.15, 0.85)
"""Two looks that differ clearly (a new place) but not beyond any doubt."""
SIMILAR = _palette(0.9, 0.0, 0.1)
"""A look close to RED (the same place from another angle)."""
DOUBTFUL = _palette(0.27, 0.73)
"""A look almost, not quite, different enough from RED to start a scene on its own."""


def test_hand_built_looks_sit_where_the_cues_need_them() -> None:
    cfg = ScenesConfig()
    assert (
        cfg.split_distance
        < look_distance(_look(0, RED), _look(1, BLUE))
        < cfg.same_distance + 2 * (cfg.split_distance - cfg.same_distance)
    )
    assert look_distance(_look(0, RED), _look(1, SIMILAR)) < cfg.same_distance


def test_a_change_of_look_alone_starts_a_scene() -> None:
    shots = _shots(["start", "cut", "cut", "cut"])
    looks = [_look(0, RED), _look(1, SIMILAR), _look(2, BLUE), _look(3, BLUE)]
    assert _starts(segment_scenes(shots, looks)) == [0, 2]


def test_dialogue_across_the_cut_joins_two_different_looking_shots() -> None:
    shots = _shots(["start", "cut", "cut", "cut"], frames=48)  # 2 s shots: no montage
    looks = [_look(0, RED), _look(1, RED), _look(2, BLUE), _look(3, BLUE)]
    cut = shots[2].start_seconds
    spanning = [SubtitleLine(cut - 1.0, cut + 1.0, "I'll wait for you at the station.")]
    close = [SubtitleLine(cut - 1.5, cut - 0.3, "Come on!"), SubtitleLine(cut + 0.2, cut + 1.5, "Coming!")]
    assert _starts(segment_scenes(shots, looks)) == [0, 2]
    assert _starts(segment_scenes(shots, looks, spanning)) == [0]
    assert _starts(segment_scenes(shots, looks, close)) == [0]
    sign = [SubtitleLine(cut - 1.0, cut + 1.0, "Station", kind="sign")]
    assert _starts(segment_scenes(shots, looks, sign)) == [0, 2], "only dialogue binds shots"


def test_shot_reverse_shot_stays_one_scene() -> None:
    # A-B-A-B-A: two set-ups of a conversation whose backgrounds differ; one line binds the first cut,
    # the later cuts fall in pauses. Each new shot matches one of the scene's last shots.
    shots = _shots(["start", "cut", "cut", "cut", "cut"], frames=48)
    looks = [_look(k, RED if k % 2 == 0 else BLUE) for k in range(5)]
    cut = shots[1].start_seconds
    lines = [SubtitleLine(cut - 1.0, cut + 1.0, "You knew all along?")]
    assert _starts(segment_scenes(shots, looks, lines)) == [0]
    only_last = ScenesConfig(compare_shots=1)
    assert _starts(segment_scenes(shots, looks, lines, config=only_last)) == [0, 2, 3, 4]


def test_a_fade_splits_even_the_same_place() -> None:
    looks = [_look(0, RED), _look(1, SIMILAR), _look(2, RED)]
    assert _starts(segment_scenes(_shots(["start", "cut", "cut"]), looks)) == [0]
    assert _starts(segment_scenes(_shots(["start", "cut", "fade"]), looks)) == [0, 2]
    black_at_cut = [_look(0, RED), _look(1, SIMILAR, tail=6.0), _look(2, RED)]  # detector said cut; frames say fade
    assert _starts(segment_scenes(_shots(["start", "cut", "cut"]), black_at_cut)) == [0, 2]


def test_a_dark_shot_is_not_a_fade() -> None:
    dark = [_look(k, RED, head=10.0, tail=10.0) for k in range(3)]
    dark = [ShotLook(k.shot_index, k.start_frame, k.end_frame, k.palette, k.layout, 12.0, 10.0, 10.0) for k in dark]
    assert _starts(segment_scenes(_shots(["start", "cut", "cut"]), dark)) == [0]


def test_a_dissolve_splits_only_with_a_change_of_look() -> None:
    looks = [_look(0, RED), _look(1, RED), _look(2, DOUBTFUL)]
    cfg = ScenesConfig()
    assert cfg.same_distance < look_distance(looks[1], looks[2]) < cfg.split_distance
    assert _starts(segment_scenes(_shots(["start", "cut", "cut"], 48), looks)) == [0]
    assert _starts(segment_scenes(_shots(["start", "cut", "dissolve"], 48), looks)) == [0, 2]
    same = [_look(0, RED), _look(1, RED), _look(2, SIMILAR)]
    assert _starts(segment_scenes(_shots(["start", "cut", "dissolve"], 48), same)) == [0]


def test_a_long_silence_tips_a_doubtful_cut() -> None:
    shots = _shots(["start", "cut", "cut"], frames=240)  # 10 s shots
    looks = [_look(0, RED), _look(1, RED), _look(2, DOUBTFUL)]
    cfg = ScenesConfig()
    distance = look_distance(looks[1], looks[2])
    evidence = (distance - cfg.same_distance) / (cfg.split_distance - cfg.same_distance)
    assert 1.0 - cfg.silence_weight <= evidence < 1.0
    far = [SubtitleLine(0.5, 2.0, "Good morning.")]  # 18 s before the cut at 20 s
    near = [SubtitleLine(0.5, 2.0, "Good morning."), SubtitleLine(17.0, 18.5, "Is anyone here?")]
    assert _starts(segment_scenes(shots, looks)) == [0]
    assert _starts(segment_scenes(shots, looks, far)) == [0, 2]
    assert _starts(segment_scenes(shots, looks, near)) == [0]


def test_a_quick_montage_of_places_is_one_scene() -> None:
    looks = [_look(0, RED), _look(1, BLUE), _look(2, _palette(0, 0, 1.0)), _look(3, _palette(0, 0, 0, 1.0))]
    shots = [
        Shot(0, 96, 0.0, 4.0, "start"),
        Shot(96, 120, 4.0, 5.0),
        Shot(120, 144, 5.0, 6.0),
        Shot(144, 240, 6.0, 10.0),
    ]
    assert _starts(segment_scenes(shots, looks)) == [0, 1, 3]
    assert _starts(segment_scenes(shots, looks, config=ScenesConfig(montage_seconds=0))) == [0, 1, 2, 3]


def test_segment_scenes_checks_its_input() -> None:
    assert segment_scenes([], []) == []
    with pytest.raises(ValueError, match="one look per shot"):
        segment_scenes(_shots(["start", "cut"]), [_look(0, RED)])
    scenes = segment_scenes(_shots(["start", "cut", "fade"]), [_look(0, RED), _look(1, RED), _look(2, RED)])
    assert [(s.first_shot, s.last_shot, s.start_frame, s.end_frame) for s in scenes] == [(0, 1, 0, 48), (2, 2, 48, 72)]


# ---- the stage ------------------------------------------------------------------------------------


def test_stage_is_registered_and_measures_each_frame() -> None:
    stage = STAGES.get("shot-look").build(Config(), "cpu")
    assert isinstance(stage, ShotLookStage) and stage.name == "shot-look"
    red, black = np.zeros((3, 72, 128, 3), np.uint8), np.zeros((2, 72, 128, 3), np.uint8)
    red[..., 0] = 200
    frames = torch.from_numpy(np.concatenate([red, black]))
    batch = FrameBatch(frames, torch.arange(5), torch.arange(5, dtype=torch.float64) / FPS)
    assert stage.process(batch) == []
    measured = stage.frames
    assert measured.palettes.shape == (5, PALETTE_BINS) and measured.thumbs.shape == (5, THUMB[1], THUMB[0], 3)
    assert np.allclose(measured.palettes.astype(np.float32).sum(axis=1), 1.0, atol=1e-2)
    assert measured.luma[0] == pytest.approx(0.299 * 200, abs=1) and measured.luma[4] == 0
    looks = stage.looks([Shot(0, 3, 0.0, 3 / FPS, "start"), Shot(3, 5, 3 / FPS, 5 / FPS, "cut")])
    assert looks[1].faded_in and not looks[0].faded_in
    assert look_distance(looks[0], looks[1]) > 0.9 and look_distance(looks[0], looks[0]) == pytest.approx(0, abs=1e-3)


def test_stage_memory_per_frame_is_bounded(decoded: Pass) -> None:
    measured = decoded.looks.frames
    frames = len(measured.luma)
    assert frames == decoded.episode.truth["frames"]
    per_frame = (measured.palettes.nbytes + measured.thumbs.nbytes + measured.luma.nbytes) / frames
    assert per_frame < 1024, "a 24-minute episode (34k frames) must stay far under 100 MB"


# ---- against the generator's truth ----------------------------------------------------------------


def test_truth_shots_and_truth_lines_give_the_truth_scenes(decoded: Pass) -> None:
    truth = decoded.episode.truth
    shots = shots_from_truth(truth)
    scenes = segment_scenes(shots, decoded.looks.looks(shots), lines_from_truth(truth))
    score = score_scenes(scenes, truth)
    assert len(truth_boundaries(truth)) >= 4
    assert score.f1 >= 0.9, (boundaries(scenes), truth_boundaries(truth))


def test_detected_shots_without_subtitles_give_the_truth_scenes(decoded: Pass) -> None:
    truth = decoded.episode.truth
    scenes = segment_scenes(decoded.shots, decoded.looks.looks(decoded.shots))
    score = score_scenes(scenes, truth)
    assert score.f1 >= 0.9, (boundaries(scenes), truth_boundaries(truth))
    assert score.f1 > score_scenes(fade_baseline(decoded.shots), truth).f1


def test_scoring_matches_within_the_tolerance() -> None:
    truth: dict[str, Any] = {"scenes": [{"start_frame": 0}, {"start_frame": 100}, {"start_frame": 200}]}
    scenes = [Scene(0, 102, 0.0, 4.0, 0, 1), Scene(102, 197, 4.0, 8.0, 2, 3), Scene(197, 300, 8.0, 12.0, 4, 5)]
    score = score_scenes(scenes, truth)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 1, 1)


# ---- config ---------------------------------------------------------------------------------------


def test_scenes_config_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scenes\.same_distance"):
        ScenesConfig(same_distance=0.6, split_distance=0.5)
    with pytest.raises(ConfigError, match=r"scenes\.compare_shots must be > 0"):
        ScenesConfig(compare_shots=0)
    with pytest.raises(ConfigError, match=r"scenes\.palette_weight"):
        ScenesConfig(palette_weight=1.5)
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenes:\n  silence_seconds: -1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.*scenes.silence_seconds must be >= 0"):
        load_config(bad)
    bad.write_text("scenes:\n  cut_weight: 1\n")
    with pytest.raises(ConfigError, match=r"unknown option 'scenes\.cut_weight'"):
        load_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("scenes:\n  compare_shots: 6\n  dialogue_gap_seconds: 2\n")
    assert load_config(good).scenes == ScenesConfig(compare_shots=6, dialogue_gap_seconds=2.0)


# ---- one pass and the command line ----------------------------------------------------------------


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "animevid", *map(str, args)], capture_output=True, text=True, env=env)


def test_find_scenes_is_one_pass_over_the_file(decoded: Pass) -> None:
    truth = decoded.episode.truth
    result = find_scenes(decoded.episode.mp4, lines=lines_from_truth(truth))
    assert [s.start_frame for s in result.shots] == [s.start_frame for s in decoded.shots]
    assert score_scenes(result.scenes, truth).f1 >= 0.9
    spoken = [ln["plain"] for ln in truth["subtitles"] if ln["kind"] == "dialogue"]
    listed = [line["text"] for scene in result.as_dict()["scenes"] for line in scene["lines"]]
    assert sorted(listed) == sorted(spoken)


def test_cli_scenes_json(decoded: Pass) -> None:
    result = _cli("scenes", decoded.episode.mp4, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["video"] == str(decoded.episode.mp4) and data["fps"] == pytest.approx(24000 / 1001)
    scenes = data["scenes"]
    assert set(scenes[0]) >= {"start_frame", "end_frame", "start_seconds", "end_seconds", "first_shot", "last_shot"}
    assert scenes[0]["start_frame"] == 0 and scenes[-1]["end_frame"] == decoded.episode.truth["frames"]
    assert all(a["end_frame"] == b["start_frame"] for a, b in itertools.pairwise(scenes))
    found = [s["start_frame"] for s in scenes[1:]]
    truth = truth_boundaries(decoded.episode.truth)
    assert sum(any(abs(f - t) <= 2 for f in found) for t in truth) >= len(truth) - 1
    assert all(s["lines"] == [] for s in scenes)


def test_cli_scenes_with_subs(decoded: Pass) -> None:
    subs = pytest.importorskip("animevid.subs", reason="animevid.subs (subtitle loading) is not in this checkout yet")
    if not hasattr(subs, "read_lines"):
        pytest.skip("animevid.subs.read_lines is not written yet")
    result = _cli("scenes", decoded.episode.mp4, "--subs", decoded.episode.ass, "--json")
    assert result.returncode == 0, result.stderr
    listed = [line["text"] for scene in json.loads(result.stdout)["scenes"] for line in scene["lines"]]
    spoken = [ln["plain"] for ln in decoded.episode.truth["subtitles"] if ln["kind"] == "dialogue"]
    assert len(listed) == len(spoken) > 0


def test_cli_scenes_table_and_missing_file(decoded: Pass, tmp_path: Path) -> None:
    table = _cli("scenes", decoded.episode.mp4)
    assert table.returncode == 0 and "scenes" in table.stdout and "shots" in table.stdout
    missing = _cli("scenes", tmp_path / "nope.mkv")
    assert missing.returncode == 1 and "error:" in missing.stderr and "Traceback" not in missing.stderr
