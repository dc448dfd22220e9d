"""Highlight reels against known truth: the budget, OP/ED/recap never shown, frame-exact cuts, sound in sync.

Truth comes from construction: a seeded synthetic episode whose OP, recap and ED ranges the generator
knows, with a stepped tone muxed in whose pitch tells the second of the episode it was taken from
(300 Hz + 100 Hz per second), hand-made facts for the importance formula and the novelty penalty, and
brute force for the knapsack.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import av
import h5py
import numpy as np
import pytest

from animevid.clips import EpisodeFacts, Segment, open_episode
from animevid.config import Config
from animevid.model import Episode, Scene, Shot, ShotAnalysis, SubtitleLine
from animevid.pipeline import index_episodes
from animevid.reel import (
    PICK_STEP,
    ReelError,
    budget_frames,
    choose_shots,
    knapsack,
    shot_importance,
    write_reel,
    write_tvsum,
)
from animevid.synth import generate_episode
from tests.helpers import real_file

SECONDS = 20
RATE = 44100
"""Sample rate of the tone."""
NOISE = 4.0
"""Largest mean absolute difference (0..255) between a reel frame and its source frame (H.264 twice)."""


def _pitch(tone: int) -> float:
    return 300.0 + 100.0 * tone


def _add_tone(video: Path, out: Path) -> None:
    """Copy ``video``'s pictures into ``out`` with a tone whose pitch steps up 100 Hz each second (AAC): the
    pitch heard says which second it was cut from. PyAV muxes it, interleaved in time as ffmpeg would (a
    container seek lands among both streams' packets), so no ffmpeg program is needed."""
    t = np.arange(SECONDS * RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * (300 + 100 * np.floor(t)) * t)).astype(np.float32)
    with av.open(str(video)) as source, av.open(str(out), "w") as target:
        pictures = target.add_stream_from_template(source.streams.video[0])
        sound = target.add_stream("aac", rate=RATE, layout="mono")
        sound.bit_rate = 192_000
        timed = []
        for start in [*range(0, len(tone), 1024), None]:
            frame = None
            if start is not None:
                frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="flt", layout="mono")
                frame.sample_rate, frame.pts = RATE, start
            timed += [(float(p.pts * p.time_base), 1, p) for p in sound.encode(frame)]
        for packet in source.demux(source.streams.video[0]):
            if packet.size:  # not the demuxer's empty packet at the end
                packet.stream = pictures
                at = packet.dts if packet.dts is not None else packet.pts  # Matroska stores no dts on some
                timed.append((float(at * packet.time_base), 0, packet))
        for _, _, packet in sorted(timed, key=lambda item: item[:2]):
            target.mux(packet)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 20 s synthetic episode indexed twice: with the stepped tone and without sound."""
    root = tmp_path_factory.mktemp("reel")
    clip = generate_episode(root, seed=3, seconds=SECONDS)
    sound = root / "with-sound.mkv"
    _add_tone(clip.mkv, sound)
    library, silent_library = root / "library", root / "silent-library"  # one library would hold the same
    for episode, folder in ((sound, library), (clip.mkv, silent_library)):  # footage twice: a recurring "op"
        results = index_episodes([episode], library=folder, config=Config(device="cpu"))
        assert [r.status for r in results] == ["indexed"]
    truth = clip.truth
    segments = [
        Segment(kind, truth[kind]["start_frame"], truth[kind]["end_frame"], 0.0, 0.0) for kind in ("op", "recap", "ed")
    ]
    return {
        "facts": open_episode(library, sound),
        "silent": open_episode(silent_library, clip.mkv),
        "segments": segments,
        "root": root,
    }


@pytest.fixture(scope="module")
def marked(synthetic: dict) -> EpisodeFacts:
    """The episode with its OP, recap and ED marked as the season pass would."""
    return replace(synthetic["facts"], segments=synthetic["segments"])


def _in_segments(shot_start: int, shot_end: int, segments: list[Segment]) -> bool:
    return any(s.start_frame < shot_end and shot_start < s.end_frame for s in segments)


def _rgb_frames(path: Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    width, height = size or (None, None)
    with av.open(str(path)) as container:
        return [
            f.to_ndarray(format="rgb24", width=width, height=height).astype(np.int16) for f in container.decode(video=0)
        ]


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


# --- the knapsack -----------------------------------------------------------------------------------------


def _brute_force(values: list[float], weights: list[int], capacity: int) -> float:
    best = 0.0
    for picks in itertools.product((0, 1), repeat=len(values)):
        if sum(w for w, p in zip(weights, picks, strict=True) if p) <= capacity:
            best = max(best, sum(v for v, p in zip(values, picks, strict=True) if p))
    return best


def test_the_knapsack_is_optimal_on_small_cases() -> None:
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(1, 10))
        values = [float(v) for v in rng.uniform(0, 10, n)]
        weights = [int(w) for w in rng.integers(1, 30, n)]
        capacity = int(rng.integers(0, 80))
        chosen = knapsack(values, weights, capacity)
        assert chosen == sorted(set(chosen))
        assert sum(weights[i] for i in chosen) <= capacity
        assert sum(values[i] for i in chosen) == pytest.approx(_brute_force(values, weights, capacity), abs=1e-9)
    # a case where taking by value density goes wrong: the two 5s beat the 6 and 3
    assert knapsack([6.0, 5.0, 5.0], [6, 5, 5], 10) == [1, 2]


def test_a_coarse_knapsack_still_keeps_the_cap() -> None:
    rng = np.random.default_rng(5)
    values = [float(v) for v in rng.uniform(0, 1, 40)]
    weights = [int(w) for w in rng.integers(1, 50, 40)]
    for capacity in (37, 100, 333):
        chosen = knapsack(values, weights, capacity, max_cells=200)  # groups frames: 40 x 334 cells > 200
        assert chosen and sum(weights[i] for i in chosen) <= capacity


# --- the importance formula and novelty, on hand-made facts ---------------------------------------------------


def _hand_made(analyses: list[ShotAnalysis], scenes: list[tuple[int, int]], frames: int = 24) -> EpisodeFacts:
    """An episode of shots ``frames`` long each at 24 fps (no file: choosing needs none)."""
    shots = [Shot(i * frames, (i + 1) * frames, i * frames / 24, (i + 1) * frames / 24) for i in range(len(analyses))]
    episode = Episode("/nowhere/hand-made.mkv", "0" * 64, 1, "matroska,webm", "h264", 320, 180, 24.0,
                      frames * len(shots), frames * len(shots) / 24)  # fmt: skip
    scene_list = [
        Scene(shots[a].start_frame, shots[b].end_frame, shots[a].start_seconds, shots[b].end_seconds, a, b)
        for a, b in scenes
    ]
    return EpisodeFacts(1, episode, shots, {a.shot_index: a for a in analyses}, scene_list, [])


def _analysis(index: int, sakuga: float, tags: tuple[str, ...] = ("on-twos",), motion: float = 0.0) -> ShotAnalysis:
    return ShotAnalysis(index, 10, 12.0, "twos", "static", motion, sakuga, tags)


def test_the_importance_is_the_documented_weighted_sum() -> None:
    facts = _hand_made([_analysis(0, 0.5, motion=0.25), _analysis(1, 0.0)], [(0, 1)])
    line = SubtitleLine(0.25, 0.75, "half the shot", kind="dialogue")  # 0.5 s of the 1 s shot
    sign = SubtitleLine(0.0, 1.0, "a sign is not dialogue", kind="sign")
    facts = replace(facts, lines=[line, sign], cast={0: ("Aoi", "Mika", "Sora")})
    # 0.40 * 0.5 (sakuga) + 0.20 * 0.25 / 0.5 (motion) + 0.25 * 0.5 (dialogue) + 0.15 * 1 (3 characters >= 2)
    assert shot_importance(facts, 0) == pytest.approx(0.2 + 0.1 + 0.125 + 0.15)
    assert shot_importance(facts, 1) == 0.0


def test_a_look_alike_of_a_chosen_shot_makes_room_for_something_new() -> None:
    # shots 0 and 1: same scene, same look, 0.8; shot 2: another scene and look, 0.6. Room for two shots.
    analyses = [_analysis(0, 0.8), _analysis(1, 0.8), _analysis(2, 0.6, tags=("on-ones", "high-motion"))]
    facts = _hand_made(analyses, [(0, 1), (2, 2)])
    chosen = choose_shots(facts, 2.0)
    assert [s.shot_index for s in chosen] == [0, 2]
    assert chosen[0].score == pytest.approx(chosen[0].importance)
    assert choose_shots(facts, 2.0) == chosen  # deterministic
    # without the look-alike (another scene, another look), the two best shots win
    apart = _hand_made([analyses[0], _analysis(1, 0.8, tags=("on-threes",)), analyses[2]], [(0, 0), (1, 1), (2, 2)])
    assert [s.shot_index for s in choose_shots(apart, 2.0)] == [0, 1]


# --- the budget and the segments never shown ---------------------------------------------------------------


def test_the_reel_never_exceeds_its_budget(marked: EpisodeFacts) -> None:
    fps = marked.episode.fps
    for seconds in (1.4, 2.5, 5.0, 8.0, 12.0, 30.0):
        shots = choose_shots(marked, seconds)
        assert sum(s.frames for s in shots) <= math.floor(seconds * fps) == budget_frames(marked, seconds)
        starts = [s.start_frame for s in shots]
        assert starts == sorted(starts) and all(a.end_frame <= b.start_frame for a, b in itertools.pairwise(shots))
        assert all((s.start_frame, s.end_frame) == (marked.shots[s.shot_index].start_frame,
                                                    marked.shots[s.shot_index].end_frame) for s in shots)  # fmt: skip
    # with room for every candidate, every candidate is in
    candidates = [s for s in marked.shots if not _in_segments(s.start_frame, s.end_frame, marked.segments)]
    assert sum(s.frames for s in choose_shots(marked, 30.0)) == sum(s.frames for s in candidates)


def test_op_ed_and_recap_shots_are_never_chosen(synthetic: dict, marked: EpisodeFacts) -> None:
    facts, segments = synthetic["facts"], synthetic["segments"]
    assert facts.segments == []  # one episode alone: no season pass marks its OP
    unmarked = choose_shots(facts, 2.5)
    assert any(_in_segments(s.start_frame, s.end_frame, segments) for s in unmarked), "the OP's shots score highest"
    for seconds in (1.4, 2.5, 5.0, 8.0, 12.0):
        assert not any(_in_segments(s.start_frame, s.end_frame, segments) for s in choose_shots(marked, seconds))
    # a segment touching a shot by a few frames keeps the whole shot out; reused footage is allowed
    best = max(choose_shots(marked, 2.5), key=lambda s: s.importance)
    touched = replace(marked, segments=[*segments, Segment("eyecatch", best.end_frame - 3, best.end_frame + 20, 0, 0)])
    assert best.shot_index not in [s.shot_index for s in choose_shots(touched, 2.5)]
    reused = replace(marked, segments=[*segments, Segment("reused", best.start_frame, best.end_frame, 0, 0)])
    assert best.shot_index in [s.shot_index for s in choose_shots(reused, 2.5)]


# --- the written reel ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reel(marked: EpisodeFacts, synthetic: dict):
    calls: list[tuple[int, int]] = []
    report = write_reel(marked, 6.0, synthetic["root"] / "out" / "reel.mp4", progress=lambda d, t: calls.append((d, t)))
    return report, calls


def _assert_frame_exact(report, source_path: Path, *, size: tuple[int, int] | None = None) -> None:
    """Every reel frame is its shot's source frame, in order: closer to it than to any visibly different
    neighbour within 3 frames, and each shot's first frame is its own, not the one across the cut."""
    expected = [i for shot in report.shots for i in range(shot.start_frame, shot.end_frame)]
    source, got = _rgb_frames(source_path, size), _rgb_frames(report.path, size)
    assert report.frames == len(got) == len(expected)
    for k, index in enumerate(expected):
        exact = _mad(got[k], source[index])
        assert exact < NOISE, (k, index, exact)
        for near in range(max(0, index - 3), min(len(source), index + 4)):
            if _mad(source[near], source[index]) > 3 * NOISE:  # a frame that looks different: it must be farther
                assert _mad(got[k], source[near]) > exact, (k, index, near)
    at = 0
    for shot in report.shots:
        assert _mad(got[at], source[shot.start_frame]) < NOISE
        at += shot.frames


def test_the_reel_holds_exactly_the_chosen_frames_in_order(reel, marked: EpisodeFacts) -> None:
    report, calls = reel
    assert report.frames == sum(s.frames for s in report.shots) <= report.budget_frames == budget_frames(marked, 6.0)
    assert calls[-1] == (report.frames, report.frames) and len(calls) == report.frames
    assert (report.width, report.height) == (marked.episode.width, marked.episode.height)
    _assert_frame_exact(report, marked.path)


def _halved(facts: EpisodeFacts) -> EpisodeFacts:
    """The episode with every shot cut in two: the second halves start between I-frames (the encoder puts
    those at cuts), so reaching them needs a seek to the I-frame before and decoding forward."""
    shots, analyses = [], {}
    for index, shot in enumerate(facts.shots):
        middle = (shot.start_frame + shot.end_frame) // 2
        at = shot.start_seconds + (middle - shot.start_frame) / facts.episode.fps
        for part in (
            Shot(shot.start_frame, middle, shot.start_seconds, at),
            Shot(middle, shot.end_frame, at, shot.end_seconds),
        ):
            if index in facts.analyses:
                analyses[len(shots)] = replace(facts.analyses[index], shot_index=len(shots))
            shots.append(part)
    scenes = [replace(s, first_shot=2 * s.first_shot, last_shot=2 * s.last_shot + 1) for s in facts.scenes]
    return replace(facts, shots=shots, analyses=analyses, scenes=scenes, cast={})


def test_a_seek_into_the_middle_of_a_group_of_pictures_cuts_the_right_frames(
    marked: EpisodeFacts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reel above mostly decodes on from one shot to the next; here every shot is reached by a seek."""
    monkeypatch.setattr("animevid.reel._media.CONTINUE_SECONDS", -1.0)
    halves = _halved(marked)
    report = write_reel(halves, 6.0, tmp_path / "sought.mp4")
    with av.open(str(marked.path)) as container:
        keyframes = {
            i
            for i, packet in enumerate(
                sorted((p for p in container.demux(video=0) if p.pts is not None), key=lambda p: p.pts)
            )
            if packet.is_keyframe
        }
    assert sum(shot.start_frame not in keyframes for shot in report.shots) >= 2
    _assert_frame_exact(report, marked.path)


@pytest.mark.real
def test_a_reel_of_a_real_clip_is_frame_exact_with_its_sound(tmp_path: Path) -> None:
    clip = real_file("video", "naruto_shippuden_forest_fight_720p25.mp4")  # H.264 with B-frames, AAC sound
    library = tmp_path / "library"
    assert [r.status for r in index_episodes([clip], library=library, config=Config(device="cpu"))] == ["indexed"]
    facts = open_episode(library, clip)
    report = write_reel(facts, 5.0, tmp_path / "real.mp4")
    assert report.audio and 0 < report.frames <= budget_frames(facts, 5.0) == 125
    _assert_frame_exact(report, clip, size=(320, 180))
    with av.open(str(report.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        lengths = [float(s.duration * s.time_base) for s in (video, audio)]
    assert abs(lengths[0] - lengths[1]) <= 1024 / audio.rate + 1e-3


def _pitch_change(samples: np.ndarray, at: float, rate: int, before: float, after: float) -> float:
    """Where, within 60 ms of ``at`` seconds, the tone's pitch turns from ``before`` to ``after`` (1/3 ms steps)."""
    size, times = 256, np.arange(256) / rate
    for center in range(round((at - 0.06) * rate), round((at + 0.06) * rate), 16):
        window = samples[center - size // 2 : center + size // 2] * np.hanning(size)
        if abs(np.sum(window * np.exp(-2j * np.pi * after * times))) > abs(
            np.sum(window * np.exp(-2j * np.pi * before * times))
        ):
            return center / rate
    return math.inf


def _tone_windows(report) -> list[tuple[float, float]]:
    """(reel second, source second) of 0.1 s windows that stay within one second of the tone."""
    windows, reel_at = [], 0.0
    for shot in report.shots:
        for offset in np.arange(0.05, shot.frames / float(report.fps) - 0.15, 0.1):
            source_at = shot.start_seconds + offset
            if math.floor(source_at) == math.floor(source_at + 0.1):
                windows.append((reel_at + offset, source_at))
        reel_at += shot.frames / float(report.fps)
    return windows


def test_the_reel_sound_follows_its_pictures(reel) -> None:
    report, _ = reel
    assert report.audio and not report.notes
    with av.open(str(report.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.average_rate == report.fps
        video_seconds = float(video.duration * video.time_base)
        audio_seconds = float(audio.duration * audio.time_base)
        rate = audio.rate
        samples = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    assert video_seconds == pytest.approx(report.frames / float(report.fps), abs=1e-3)
    assert abs(audio_seconds - video_seconds) <= 1024 / rate + 1e-3
    # in each shot the tone is the one of the episode second the pictures come from
    windows = _tone_windows(report)
    assert len(windows) >= 20
    for reel_at, source_at in windows:
        lo, size = round(reel_at * rate), round(0.1 * rate)
        heard = np.argmax(np.abs(np.fft.rfft(samples[lo : lo + size] * np.hanning(size)))) * rate / size
        assert heard == pytest.approx(_pitch(math.floor(source_at)), abs=15), (reel_at, source_at)
    # and where a shot holds a change of pitch, it comes within 3 ms of where the pictures say (sync)
    changes, reel_at = 0, 0.0
    for shot in report.shots:
        for second in range(math.ceil(shot.start_seconds + 0.08), math.floor(shot.end_seconds - 0.08) + 1):
            expected = reel_at + second - shot.start_seconds
            found = _pitch_change(samples, expected, rate, _pitch(second - 1), _pitch(second))
            assert found == pytest.approx(expected, abs=0.003), (shot.shot_index, second)
            changes += 1
        reel_at += shot.frames / float(report.fps)
    assert changes >= 3


def test_an_episode_without_sound_gives_a_silent_reel_and_says_so(synthetic: dict, tmp_path: Path) -> None:
    silent = replace(synthetic["silent"], segments=synthetic["segments"])
    report = write_reel(silent, 3.0, tmp_path / "silent.mp4")
    assert not report.audio and "silent" in report.notes[0]
    with av.open(str(report.path)) as container:
        assert not container.streams.audio and container.streams.video[0].frames == report.frames


# --- errors ------------------------------------------------------------------------------------------------------


def test_bad_requests_fail_with_one_line_that_says_what_to_do(marked: EpisodeFacts, tmp_path: Path) -> None:
    # a shot the catalog has but the file does not (as if the file were cut short since), worth the most
    beyond = replace(
        marked,
        shots=[*marked.shots, Shot(480, 525, 20.02, 21.9)],
        analyses={**marked.analyses, 17: ShotAnalysis(17, 45, 24.0, "ones", "static", 1.0, 1.0)},
    )
    cases = {
        "above 0": lambda: choose_shots(marked, 0),
        "--seconds": lambda: choose_shots(marked, float("nan")),
        "no shot fits": lambda: choose_shots(marked, 1.0),  # the shortest shot outside OP/recap/ED is 1.33 s
        "no shot analyses": lambda: choose_shots(replace(marked, analyses={}), 5.0),
        "no longer at": lambda: write_reel(
            replace(marked, episode=replace(marked.episode, path=str(tmp_path / "moved.mkv"))), 5.0, tmp_path / "r.mp4"
        ),
        "OP, ED, recap": lambda: choose_shots(replace(marked, segments=[Segment("op", 0, 480, 0, 20)]), 5.0),
        "ends inside shot 17": lambda: write_reel(beyond, 2.0, tmp_path / "r.mp4"),
    }
    for words, call in cases.items():
        with pytest.raises(ReelError) as error:
            call()
        message = str(error.value)
        named = "moved.mkv" if words == "no longer at" else "with-sound.mkv"
        assert words in message and named in message and "\n" not in message, message
    assert not (tmp_path / "r.mp4").exists() and not list(tmp_path.glob("*.partial"))


# --- the TVSum layout ------------------------------------------------------------------------------------------------


def test_the_tvsum_file_has_the_benchmark_layout(marked: EpisodeFacts, tmp_path: Path) -> None:
    path = write_tvsum(marked, tmp_path / "ep.h5", seconds=5.0)
    frames = marked.episode.frames
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["video_1"]
        video = h5["video_1"]
        data = {key: video[key][()] for key in video}
    assert set(data) >= {"n_frames", "picks", "n_steps", "change_points", "n_frame_per_seg", "gtscore",
                         "user_summary", "gtsummary", "video_name"}  # fmt: skip
    assert int(data["n_frames"]) == frames and data["n_frames"].dtype == np.int32
    picks = data["picks"]
    assert picks.dtype == np.int32 and picks[0] == 0 and set(np.diff(picks)) == {PICK_STEP} and picks[-1] < frames
    assert int(data["n_steps"]) == len(picks) == math.ceil(frames / PICK_STEP)
    cps, nfps = data["change_points"], data["n_frame_per_seg"]
    assert cps.shape == (len(marked.shots), 2) and cps.dtype == np.int32 and nfps.dtype == np.int32
    covered = np.concatenate([np.arange(a, b + 1) for a, b in cps])
    assert np.array_equal(covered, np.arange(frames)), "every frame in exactly one segment, in order"
    assert np.array_equal(nfps, cps[:, 1] - cps[:, 0] + 1) and nfps.sum() == frames
    assert [tuple(c) for c in cps] == [(s.start_frame, s.end_frame - 1) for s in marked.shots]
    score = data["gtscore"]
    assert score.dtype == np.float32 and score.shape == picks.shape and score.min() >= 0 and score.max() <= 1
    for pick, value in zip(picks, score, strict=True):
        shot = next(i for i, s in enumerate(marked.shots) if s.start_frame <= pick < s.end_frame)
        edges = marked.shots[shot].start_frame, marked.shots[shot].end_frame
        known = 0.0 if _in_segments(*edges, marked.segments) else shot_importance(marked, shot)
        assert value == pytest.approx(known, abs=1e-6)
    summary = data["user_summary"]
    assert summary.shape == (1, frames) and summary.dtype == np.float32 and set(np.unique(summary)) <= {0.0, 1.0}
    reel_frames = {i for s in choose_shots(marked, 5.0) for i in range(s.start_frame, s.end_frame)}
    assert set(np.flatnonzero(summary[0])) == reel_frames
    assert np.array_equal(data["gtsummary"], summary[0, picks])
    assert data["video_name"].decode() == "with-sound.mkv"
    beside = json.loads(path.with_suffix(".json").read_text())["video_1"]
    assert beside["change_points"] == cps.tolist() and beside["picks"] == picks.tolist()
    assert beside["gtscore"] == pytest.approx(score.tolist())


def test_without_a_budget_the_summary_is_the_benchmarks_15_percent(marked: EpisodeFacts, tmp_path: Path) -> None:
    path = write_tvsum(marked, tmp_path / "ep.h5")
    with h5py.File(path, "r") as h5:
        chosen = int(h5["video_1/user_summary"][()].sum())
    assert 0 < chosen <= math.floor(0.15 * marked.episode.frames)
