"""Tests of the synthetic episode generator: determinism, truth consistency, rendered facts, files."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pysubs2
import pytest

from animevid.config import SynthConfig
from animevid.errors import SynthError
from animevid.synth import SynthEpisode, generate_episode, load_truth, render_episode

SEED = 2  # recaps episode 1
SECONDS = 60.0


def _digests(frames: Iterator[np.ndarray], limit: int | None = None) -> list[bytes]:
    out = []
    for i, frame in enumerate(frames):
        if limit is not None and i >= limit:
            break
        out.append(hashlib.blake2b(frame.tobytes(), digest_size=16).digest())
    return out


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> SynthEpisode:
    calls: list[tuple[int, int]] = []
    started = time.perf_counter()
    ep = generate_episode(
        tmp_path_factory.mktemp("ep"), seed=SEED, seconds=SECONDS, progress=lambda d, t: calls.append((d, t))
    )
    print(f"\n60 s 320x180 episode generated in {time.perf_counter() - started:.2f} s")
    assert calls[-1] == (ep.truth["frames"], ep.truth["frames"])
    return ep


@pytest.fixture(scope="module")
def truth(episode: SynthEpisode) -> dict[str, Any]:
    return episode.truth


@pytest.fixture(scope="module")
def digests(truth: dict[str, Any]) -> list[bytes]:
    frames, _ = render_episode(SEED, seconds=SECONDS)
    out = _digests(frames)
    assert len(out) == truth["frames"]
    return out


def _own_frames(truth: dict[str, Any], shot: dict[str, Any]) -> list[int]:
    busy = {f for t in truth["transitions"] for f in range(t["start_frame"], t["end_frame"])}
    return [f for f in range(shot["start_frame"], shot["end_frame"]) if f not in busy]


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_truth_and_frames(truth: dict[str, Any], digests: list[bytes]) -> None:
    frames, again = render_episode(SEED, seconds=SECONDS)
    assert json.dumps(again, ensure_ascii=False) == json.dumps(truth, ensure_ascii=False)
    assert _digests(frames) == digests


def test_truth_file_matches_and_loads(episode: SynthEpisode) -> None:
    assert load_truth(episode.truth_json) == episode.truth
    assert (
        episode.truth_json.read_text(encoding="utf-8") == json.dumps(episode.truth, ensure_ascii=False, indent=1) + "\n"
    )


def test_load_truth_rejects_other_json(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"schema": 1}', encoding="utf-8")
    with pytest.raises(SynthError, match=r"not an animevid\.synth truth"):
        load_truth(bad)
    with pytest.raises(SynthError, match="cannot read"):
        load_truth(tmp_path / "missing.json")


def test_other_seed_differs_but_shares_op_and_ed(truth: dict[str, Any], digests: list[bytes]) -> None:
    frames, other = render_episode(5, seconds=20.0)
    other_digests = _digests(frames)
    op, ed = truth["op"], truth["ed"]
    assert other["op"]["end_frame"] - other["op"]["start_frame"] == op["end_frame"] - op["start_frame"]
    assert other_digests[: op["end_frame"]] == digests[: op["end_frame"]]
    ed_len = ed["end_frame"] - ed["start_frame"]
    assert other_digests[-ed_len:] == digests[-ed_len:]
    content = set(digests[op["end_frame"] : ed["start_frame"]])
    shared = content & set(other_digests[other["op"]["end_frame"] : other["ed"]["start_frame"]])
    assert len(shared) <= 6  # only plain white/black frames (flashes, fades at full colour) may coincide


def test_recap_frames_equal_previous_episode(truth: dict[str, Any], digests: list[bytes]) -> None:
    recap = truth["recap"]
    assert recap["source_seed"] == SEED - 1
    assert recap["start_frame"] == truth["op"]["end_frame"]
    assert recap["segments"]
    last = max(s["source_start_frame"] + s["end_frame"] - s["start_frame"] for s in recap["segments"])
    frames, source = render_episode(SEED - 1, seconds=SECONDS)
    source_digests = _digests(frames, limit=last)
    for seg in recap["segments"]:
        n = seg["end_frame"] - seg["start_frame"]
        src = seg["source_start_frame"]
        assert digests[seg["start_frame"] : seg["end_frame"]] == source_digests[src : src + n]
        assert source["op"]["end_frame"] <= src < source["ed"]["start_frame"]


def test_episode_zero_has_no_recap() -> None:
    _, truth = render_episode(0, seconds=20.0)
    assert truth["recap"] is None
    assert all(s["kind"] != "recap" for s in truth["shots"])


# --- truth self-consistency ----------------------------------------------------------------------


def test_shots_tile_the_episode(truth: dict[str, Any]) -> None:
    n, shots = truth["frames"], truth["shots"]
    assert n == round(SECONDS * 24000 / 1001) == len(truth["pts_seconds"]) == len(truth["drawing_id"])
    assert shots[0]["start_frame"] == 0 and shots[0]["transition"] == "start"
    assert shots[-1]["end_frame"] == n
    for a, b in itertools.pairwise(shots):
        assert a["end_frame"] == b["start_frame"] and b["transition"] in ("cut", "fade", "dissolve")
    assert truth["pts_seconds"][100] == 100 * 1001 / 24000
    for shot in shots:
        assert shot["start_seconds"] == shot["start_frame"] * 1001 / 24000


def test_every_feature_is_present(truth: dict[str, Any]) -> None:
    shots = truth["shots"]
    kinds = {(t["type"], t.get("color"), t.get("direction")) for t in truth["transitions"]}
    assert {
        ("fade", "black", "through"),
        ("fade", "white", "through"),
        ("fade", "black", "in"),
        ("fade", "black", "out"),
    } <= kinds
    assert any(t["type"] == "dissolve" for t in truth["transitions"])
    assert any(3 <= s["end_frame"] - s["start_frame"] <= 6 for s in shots)
    assert {"ones", "twos", "threes", "still", "mixed"} <= {s["cadence"] for s in shots}
    assert {"static", "pan", "zoom", "shake"} <= {s["camera"] for s in shots}
    assert {"op", "ed", "recap", "dialogue", "action", "pan", "zoom", "still", "loop", "short"} <= {
        s["kind"] for s in shots
    }
    assert len({c["name"] for c in truth["characters"]}) >= 4
    assert len({c["face"] for c in truth["characters"]}) == 3
    assert truth["ed"]["end_frame"] == truth["frames"] and truth["op"]["start_frame"] == 0


def test_transitions_place_shot_boundaries(truth: dict[str, Any]) -> None:
    starts = {s["start_frame"]: s for s in truth["shots"]}
    for t in truth["transitions"]:
        if "boundary_frame" in t:
            shot = starts[t["boundary_frame"]]
            assert shot["transition"] == t["type"]
            assert t["start_frame"] < t["boundary_frame"] < t["end_frame"]
        for f in range(t["start_frame"] + 1, t["end_frame"]):
            assert truth["drawing_id"][f] != truth["drawing_id"][f - 1]


def test_flash_frames_are_inside_shots(truth: dict[str, Any]) -> None:
    flashes = truth["flash_frames"]
    assert {"white", "black", "inverted", "tint"} <= {f["kind"] for f in flashes}
    by_frame = {f["frame"]: f for f in flashes}
    for shot in truth["shots"]:
        for f in shot["flash_frames"]:
            assert shot["start_frame"] + 2 <= f < shot["end_frame"] - 2
            assert f in by_frame
    ids = truth["drawing_id"]
    for f in by_frame:
        assert ids.count(ids[f]) == 1  # its own drawing id
    assert sum(len(s["flash_frames"]) for s in truth["shots"]) == len(flashes)


def test_same_image_flags_match_rendered_frames(truth: dict[str, Any], digests: list[bytes]) -> None:
    rendered = [False] + [digests[i] == digests[i - 1] for i in range(1, len(digests))]
    assert truth["same_image_as_previous"] == rendered
    ids = truth["drawing_id"]
    assert all(ids[i] == ids[i - 1] for i, same in enumerate(rendered) if same)


def test_camera_moves_keep_the_drawing(truth: dict[str, Any]) -> None:
    for camera in ("pan", "zoom", "shake"):
        shots = [s for s in truth["shots"] if s["camera"] == camera]
        assert shots, camera
        for shot in shots:
            own = _own_frames(truth, shot)
            assert len({truth["drawing_id"][f] for f in own}) == 1
            assert not any(truth["same_image_as_previous"][f] for f in own[1:])


def test_cadence_from_rendered_frames(truth: dict[str, Any], digests: list[bytes]) -> None:
    step = {"ones": 1, "twos": 2, "threes": 3}
    checked = set()
    for shot in truth["shots"]:
        if shot["cadence"] not in step or shot["flash_frames"]:
            continue
        own = _own_frames(truth, shot)
        changes = [f for f in own[1:] if digests[f] != digests[f - 1]]
        if len(changes) < 3:
            continue
        gaps = {b - a for a, b in itertools.pairwise(changes)}
        assert gaps == {step[shot["cadence"]]}, shot
        checked.add(shot["cadence"])
    assert checked == {"ones", "twos", "threes"}


def test_still_shot_never_changes(truth: dict[str, Any], digests: list[bytes]) -> None:
    stills = [s for s in truth["shots"] if s["cadence"] == "still" and s["camera"] == "static" and s["kind"] != "op"]
    assert stills
    for shot in stills:
        own = _own_frames(truth, shot)
        assert len({digests[f] for f in own}) == 1
        assert len(shot["drawings"]) == 1


def test_loops_repeat_exactly(truth: dict[str, Any], digests: list[bytes]) -> None:
    loops = truth["loops"]
    loop_shots = [s for s in truth["shots"] if s["kind"] == "loop"]
    assert len(loop_shots) >= 2
    for loop in loops:
        period, repeats = loop["period_frames"], loop["repeats"]
        start, end = loop["start_frame"], loop["end_frame"]
        assert end - start == period * repeats and repeats >= 2
        assert loop["drawings"] == len(set(loop["cycle_drawings"])) >= 2
        for f in range(start, end - period):
            assert digests[f] == digests[f + period]
            assert truth["drawing_id"][f] == truth["drawing_id"][f + period]
        assert len({digests[f] for f in range(start, start + period)}) == loop["drawings"]
        assert any(s["start_frame"] <= start and end <= s["end_frame"] for s in truth["shots"]), "a loop crosses a cut"
    for shot in [s for s in loop_shots if s["source_start_frame"] is None]:  # not recap excerpts: whole cycles
        (loop,) = [lp for lp in loops if shot["start_frame"] <= lp["start_frame"] < shot["end_frame"]]
        assert (loop["start_frame"], loop["end_frame"]) == (shot["start_frame"], shot["end_frame"])
        assert loop["period_frames"] in (8, 9) and loop["repeats"] == 4


def test_duet_characters_keep_their_own_cadence(truth: dict[str, Any]) -> None:
    duets = [s for s in truth["shots"] if s["animation"] == "duet"]
    assert duets
    for shot in duets:
        assert shot["cadence"] == "mixed" and shot["cadence_mix"] == ["threes", "twos"]
    assert all(not s["cadence_mix"] for s in truth["shots"] if s["animation"] != "duet")


def test_lip_flaps_change_only_the_mouth(truth: dict[str, Any]) -> None:
    frames, _ = render_episode(SEED, seconds=SECONDS)
    shot = next(s for s in truth["shots"] if s["kind"] == "dialogue" and len(s["drawings"]) >= 3)
    own = _own_frames(truth, shot)
    prev = None
    small = 0
    for i, frame in enumerate(frames):
        if i > own[-1]:
            break
        if i in own and prev is not None and i - 1 in own and truth["drawing_id"][i] != truth["drawing_id"][i - 1]:
            changed = np.any(frame != prev, axis=2)
            # a mouth or an eye blink: a small part of the picture (a close set-up at scale 0.7
            # shows the face up to 1/0.7^2 = 2x larger)
            assert 0 < changed.mean() < 0.04
            small += 1
        prev = frame
    assert small >= 2


def _differs(a: dict[str, float], b: dict[str, float]) -> bool:
    dy = (a["y"] - b["y"]) * 180 / 320
    return abs(a["scale"] - b["scale"]) >= 0.12 - 1e-3 or ((a["x"] - b["x"]) ** 2 + dy**2) ** 0.5 >= 0.15 - 1e-3


def test_consecutive_shots_never_share_a_camera_setup(truth: dict[str, Any]) -> None:
    for shot in truth["shots"]:
        setup = shot["setup"]
        assert 0.7 - 1e-3 <= setup["scale"] <= 1.0 and set(setup) == {"scale", "x", "y"}
        if shot["camera"] == "static":
            assert shot["setup_end"] == setup
    for prev, cur in itertools.pairwise(truth["shots"]):
        if prev["location"] == cur["location"]:
            assert _differs(prev["setup_end"], cur["setup"]), (prev["start_frame"], cur["start_frame"])


def test_a_cut_changes_most_of_the_picture(truth: dict[str, Any]) -> None:
    """No jump cuts: across a hard cut at most a third of 4x4 blocks of a 64x36 thumbnail stay put."""
    cuts = {s["start_frame"] for s in truth["shots"] if s["transition"] == "cut"}
    frames, _ = render_episode(SEED, seconds=SECONDS)
    prev = None
    for i, frame in enumerate(frames):
        small = cv2.resize(frame, (64, 36), interpolation=cv2.INTER_AREA).astype(np.float32)
        if i in cuts and prev is not None:
            blocks = np.abs(small - prev).mean(axis=2).reshape(9, 4, 16, 4).mean(axis=(1, 3))
            assert (blocks < 3).mean() <= 0.35, i
        prev = small


def test_scenes_group_consecutive_shots(truth: dict[str, Any]) -> None:
    scenes, shots = truth["scenes"], truth["shots"]
    assert scenes[0]["start_frame"] == 0 and scenes[-1]["end_frame"] == truth["frames"]
    for a, b in itertools.pairwise(scenes):
        assert a["end_frame"] == b["start_frame"] and a["last_shot"] + 1 == b["first_shot"]
    for scene in scenes:
        members = shots[scene["first_shot"] : scene["last_shot"] + 1]
        assert {s["scene"] for s in members} == {scene["scene"]}
    assert any(s["last_shot"] > s["first_shot"] for s in scenes)


# --- subtitles and files ---------------------------------------------------------------------


def test_subtitle_timing_snaps_to_cuts(truth: dict[str, Any]) -> None:
    cut_frames = {s["start_frame"] for s in truth["shots"] if s["transition"] == "cut"}
    dialogue = [s for s in truth["subtitles"] if s["kind"] == "dialogue"]
    assert any(s["snapped_start"] for s in dialogue) and any(not s["snapped_start"] for s in dialogue)
    assert any(s["snapped_end"] for s in dialogue)
    for line in truth["subtitles"]:
        for edge in ("start", "end"):
            if line[f"snapped_{edge}"]:
                frame = line[f"{edge}_frame"]
                assert frame in cut_frames
                assert line[f"{edge}_seconds"] == int(frame * 1001 * 100 // 24000) / 100
    for line in dialogue:
        speech_start = truth["pts_seconds"][line["speech_start_frame"]]
        if not line["snapped_start"]:
            assert 0.09 <= speech_start - line["start_seconds"] <= 0.21  # lead-in
        assert line["start_frame"] <= line["speech_start_frame"] and line["end_frame"] >= line["speech_end_frame"] - 1
    scene_of = {f: s["scene"] for s in truth["shots"] for f in range(s["start_frame"], s["end_frame"])}
    across = [s for s in dialogue if s["crosses_cut"]]
    assert any(scene_of[s["start_frame"]] == scene_of[s["end_frame"] - 1] for s in across)


def test_ass_file_has_styles_and_lines(episode: SynthEpisode) -> None:
    subs = pysubs2.load(str(episode.ass), encoding="utf-8")
    assert {"Default", "Sign", "OP", "ED"} <= set(subs.styles)
    assert len(subs.events) == len(episode.truth["subtitles"])
    for event, line in zip(subs.events, episode.truth["subtitles"], strict=True):
        assert (event.start, event.end, event.text, event.style) == (
            round(line["start_seconds"] * 1000),
            round(line["end_seconds"] * 1000),
            line["text"],
            line["style"],
        )
        assert event.is_comment == (line["kind"] == "comment")
    texts = [e.text for e in subs.events]
    assert any("\\k" in e.text for e in subs.events if e.style == "OP")
    assert any("\\k" in e.text for e in subs.events if e.style == "ED")
    assert any("\\an8" in t for t in texts) and any("\\pos(" in t for t in texts)
    assert any(e.is_comment for e in subs.events)


def test_mkv_carries_the_ass_track(episode: SynthEpisode) -> None:
    with av.open(str(episode.mkv)) as container:
        assert len(container.streams.video) == 1 and len(container.streams.subtitles) == 1
        sub = container.streams.subtitles[0]
        assert "ASS" in (sub.codec_context.codec.long_name or "")
        assert sub.metadata.get("language") == "eng" and sub.metadata.get("title")
        payloads = [bytes(p).decode("utf-8") for p in container.demux(sub) if p.size]
    for line in episode.truth["subtitles"]:
        if line["kind"] == "dialogue":
            assert any(p.endswith(line["text"]) for p in payloads), line["text"]


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_video_has_exact_pts_and_frame_count(episode: SynthEpisode, suffix: str) -> None:
    truth = episode.truth
    with av.open(str(getattr(episode, suffix))) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        times = [float(f.pts * f.time_base) for f in container.decode(stream)]
        assert (stream.codec_context.width, stream.codec_context.height) == (truth["width"], truth["height"])
    assert len(times) == truth["frames"]
    tolerance = 1e-9 if suffix == "mp4" else 0.0006  # matroska stores milliseconds
    assert all(abs(t - p) <= tolerance for t, p in zip(times, truth["pts_seconds"], strict=True))


# --- options ------------------------------------------------------------------------------------


def test_too_short_episode_names_the_minimum() -> None:
    with pytest.raises(SynthError, match=r"too short.*seconds >= \d"):
        render_episode(1, seconds=5.0)
    with pytest.raises(SynthError, match="seed"):
        render_episode(-1, seconds=20.0)


def test_grain_is_shared_by_op_and_changes_every_frame() -> None:
    cfg = SynthConfig(grain=3.0)
    frames_a, truth_a = render_episode(1, seconds=20.0, config=cfg)
    frames_b, _ = render_episode(4, seconds=20.0, config=cfg)
    op_end = truth_a["op"]["end_frame"]
    a, b = _digests(frames_a, limit=op_end), _digests(frames_b, limit=op_end)
    assert a == b
    assert not any(truth_a["same_image_as_previous"])
    assert len(set(a)) == len(a)


def test_renders_at_720p() -> None:
    frames, truth = render_episode(3, seconds=20.0, config=SynthConfig(width=1280, height=720))
    first = next(frames)
    assert first.shape == (720, 1280, 3) and first.dtype == np.uint8
    assert truth["width"] == 1280 and len(truth["shots"]) > 5


def test_bundled_sample_is_what_its_recorded_command_makes() -> None:
    """data_samples/ must not drift from the generator: its truth and subtitles are regenerated exactly."""
    from animevid.synth import render_episode

    sample = Path(__file__).resolve().parents[1] / "data_samples"
    assert "animevid synth data_samples --seed 1 --seconds 20" in (sample / "README.md").read_text()
    _, truth = render_episode(1, seconds=20)
    assert load_truth(sample / "ep1.truth.json") == json.loads(json.dumps(truth))
    assert (sample / "ep1.mp4").stat().st_size + (sample / "ep1.mkv").stat().st_size < 2_000_000


@pytest.mark.parametrize(
    ("case", "drawings", "cadence", "period"), [("follow", 1, "still", None), ("follow_walk", 4, "twos", 8)]
)
def test_a_case_clip_slides_the_background_behind_a_cel(
    case: str, drawings: int, cadence: str, period: int | None
) -> None:
    """The follow cases: the camera pans (every background pixel moves) while the cel stays where it is on
    screen; the truth counts the cel's drawings, not the camera's positions."""
    from animevid.synth import CASES, render_case

    frames, truth = render_case(case, seed=4)
    pictures = list(frames)
    assert truth["case"] == case and truth["op"] is None and truth["frames"] == len(pictures)
    plain, shot, after = truth["shots"]
    assert (plain["transition"], shot["transition"], after["transition"]) == ("start", "cut", "cut")
    assert shot["animation"] == "follow" and shot["camera"] == "pan"
    assert len(shot["drawings"]) == drawings and shot["cadence"] == cadence
    assert [loop["period_frames"] for loop in truth["loops"]] == ([period] if period else [])
    inner = range(shot["start_frame"] + 1, shot["end_frame"])
    assert not any(truth["same_image_as_previous"][i] for i in inner)  # the background moves every frame
    held = shot["start_frame"] + 2  # a frame and the next with the same drawing id: only the background differs
    while truth["drawing_id"][held] != truth["drawing_id"][held + 1]:
        held += 1
    a, b = (pictures[k].astype(int) for k in (held, held + 1))
    changed = np.abs(a - b).max(axis=2) > 24
    assert changed.mean() > 0.01  # the slide shows
    assert changed.mean() < 0.9  # not everything: the cel and flat colours stay put
    assert case in CASES


def test_an_unknown_case_is_a_clear_error() -> None:
    from animevid.synth import render_case

    with pytest.raises(SynthError, match="no synthetic case 'nope'; the cases are: follow, follow_walk, long_hair"):
        render_case("nope")


CASE_FACTS = {
    # case: (shots in the case, [(frames, drawings, cadence, camera) of its first shot], flash frames in the case)
    "long_hair": (1, (72, 4, "threes", "static"), 0),
    "drawn_pan": (1, (48, 16, "threes", "pan"), 0),
    "zoom_pulse": (1, (72, 1, "still", "static"), 16),
    "strobe": (8, (2, 1, "still", "static"), 0),
    "blended_cut": (2, (10, 9, "ones", "static"), 0),  # its first frame is the blend: no drawing of its own
}


@pytest.mark.parametrize("case", sorted(CASE_FACTS))
def test_every_case_clip_has_the_truth_it_describes(case: str) -> None:
    """Shot count and lengths, drawings, cadence and camera of each case, and its frames as the truth says:
    identical where ``same_image_as_previous`` is set, different elsewhere (no grain)."""
    from animevid.synth import render_case

    frames, truth = render_case(case, seed=2)
    pictures = [hashlib.sha256(f.tobytes()).digest() for f in frames]
    assert len(pictures) == truth["frames"]
    for i in range(1, len(pictures)):
        assert (pictures[i] == pictures[i - 1]) == truth["same_image_as_previous"][i], i
    count, facts, flashes = CASE_FACTS[case]
    middle = truth["shots"][1:-1]
    assert len(middle) == count and all(s["transition"] == "cut" for s in truth["shots"][1:])
    shot = middle[0]
    assert (shot["end_frame"] - shot["start_frame"], len(shot["drawings"]), shot["cadence"], shot["camera"]) == facts
    assert len(truth["flash_frames"]) == flashes
    if case == "strobe":
        assert sorted({s["end_frame"] - s["start_frame"] for s in middle}) == [1, 2]
    if case == "blended_cut":  # the second shot starts on a frame half of each shot, which is no drawing of either
        blend = middle[1]["start_frame"]
        assert {"type": "blend", "start_frame": blend, "end_frame": blend + 1} in truth["transitions"]
        assert (
            truth["drawing_id"][blend] not in truth["drawing_id"][blend - 3 : blend] + truth["drawing_id"][blend + 1 :]
        )
    if case == "long_hair":
        assert [(loop["period_frames"], loop["drawings"]) for loop in truth["loops"]] == [(12, 4)]
