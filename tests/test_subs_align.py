"""Subtitle alignment: offset and drift recovery, keyframe snapping, write-back round trips, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from animevid.config import SubsConfig
from animevid.model import SubtitleLine
from animevid.subs import (
    TimingFit,
    align_lines,
    cut_seconds,
    estimate_timing,
    load_subtitles,
    read_lines,
    write_subtitles,
)
from tests.helpers import real_file

PAL = 25 / (24000 / 1001)  # a file timed to a 25 fps PAL speed-up of a 23.976 fps episode


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory):
    """A 40 s synthetic episode and the hard cuts the shot detector finds in it (decoded once)."""
    from animevid.pipeline import detect_shots
    from animevid.synth import generate_episode

    ep = generate_episode(tmp_path_factory.mktemp("subs_align"), seed=3, seconds=40.0)
    shots = detect_shots(ep.mp4)
    return ep, cut_seconds(shots.shots), shots.fps


def frame_seconds(ep) -> float:
    return ep.truth["fps_den"] / ep.truth["fps_num"]


def retimed(lines: list[SubtitleLine], scale: float, shift: float, *, centis: bool) -> list[SubtitleLine]:
    """Lines as a file timed to another release has them (ASS keeps centiseconds when ``centis``)."""

    def move(t: float) -> float:
        value = t * scale + shift
        return round(value * 100) / 100 if centis else value

    return [replace(x, start_seconds=move(x.start_seconds), end_seconds=move(x.end_seconds)) for x in lines]


def snapped_agreement(aligned: tuple[SubtitleLine, ...], truth: list[dict]) -> tuple[int, int]:
    """(equal, total) over the starts and ends the generator snapped to a cut, in whole centiseconds."""
    equal = total = 0
    for line, true in zip(aligned, truth, strict=True):
        for end in ("start", "end"):
            if true[f"snapped_{end}"]:
                total += 1
                equal += round(getattr(line, f"{end}_seconds") * 100) == round(true[f"{end}_seconds"] * 100)
    return equal, total


def test_detected_cuts_include_every_true_cut(episode) -> None:
    ep, cuts, fps = episode
    true_cuts = {s["start_frame"] for s in ep.truth["shots"] if s["transition"] == "cut"}
    found = {round(t * fps) for t in cuts}
    assert true_cuts <= found and abs(fps - ep.truth["fps"]) < 1e-6


@pytest.mark.parametrize(("scale", "shift"), [(1.0, 1.234), (1.0, -7.31), (1.0, 0.0)])
def test_a_known_offset_is_recovered_and_snapped_times_equal_truth(episode, scale: float, shift: float) -> None:
    ep, cuts, fps = episode
    truth = ep.truth["subtitles"]
    lines = retimed(read_lines(ep.ass), scale, shift, centis=False)
    result = align_lines(lines, cuts, fps=fps)
    assert result.fit.reliable and result.fit.ratio == 1.0
    assert abs(result.fit.offset_seconds + shift) < 0.001  # well within one frame (41.7 ms)
    equal, total = snapped_agreement(result.lines, truth)
    assert total >= 4 and equal == total
    for line, true in zip(result.lines, truth, strict=True):  # every line back where the generator put it
        assert abs(line.start_seconds - true["start_seconds"]) <= frame_seconds(ep)


@pytest.mark.parametrize("shift", [0.0, 2.5])
def test_a_pal_drift_is_recovered_within_one_frame(episode, shift: float) -> None:
    ep, cuts, fps = episode
    truth = ep.truth["subtitles"]
    lines = retimed(read_lines(ep.ass), 1 / PAL, shift, centis=True)
    result = align_lines(lines, cuts, fps=fps)
    assert result.fit.reliable and abs(result.fit.ratio - PAL) < 1e-9
    assert abs(result.fit.offset_seconds + shift * PAL) < frame_seconds(ep)
    errors = [abs(a.start_seconds - t["start_seconds"]) for a, t in zip(result.lines, truth, strict=True)]
    errors += [abs(a.end_seconds - t["end_seconds"]) for a, t in zip(result.lines, truth, strict=True)]
    assert max(errors) < frame_seconds(ep)
    equal, total = snapped_agreement(result.lines, truth)
    assert equal == total


def test_lines_unrelated_to_cuts_give_no_reliable_fit(episode) -> None:
    _, cuts, fps = episode
    lines = [SubtitleLine(3.333 + 2.71 * i, 4.444 + 2.71 * i, "x") for i in range(8)]
    fit = estimate_timing(lines, cuts)
    assert not fit.reliable and fit.matched < 4
    assert align_lines(lines, cuts, fps=fps, config=SubsConfig(snap_start_before_frames=0)).fit == fit
    strict = estimate_timing(lines, cuts, config=SubsConfig(min_matches=4))
    assert (strict.offset_seconds, strict.ratio, strict.reliable) == (0.0, 1.0, False)  # identity


def test_snapping_follows_the_before_and_after_thresholds() -> None:
    fps = 24000 / 1001
    frame = 1 / fps
    cut = 100 * frame  # 4.170833 s; snapped times are 4.17
    cfg = SubsConfig()  # start: 5 frames before, 4 after; end: 5 before, 6 after
    fit = TimingFit(0.0, 1.0, 0, 0, False)

    def snap(start: float, end: float) -> tuple[float, float]:
        [line] = align_lines([SubtitleLine(start, end, "x")], [cut], fps=fps, config=cfg, fit=fit).lines
        return line.start_seconds, line.end_seconds

    assert snap(cut - 4.5 * frame, cut + 3) == (4.17, round(cut + 3, 3))  # starts 4.5 frames before: moved on
    assert snap(cut - 5.5 * frame, cut + 3)[0] == round(cut - 5.5 * frame, 3)  # too far
    assert snap(cut + 3.5 * frame, cut + 3)[0] == 4.17  # starts 3.5 frames after: moved back
    assert snap(cut + 4.5 * frame, cut + 3)[0] == round(cut + 4.5 * frame, 3)
    assert snap(cut - 3, cut + 5.5 * frame) == (round(cut - 3, 3), 4.17)  # ends 5.5 frames after: cut back
    assert snap(cut - 3, cut - 4.5 * frame)[1] == 4.17  # ends 4.5 frames before: extended
    assert snap(cut - 3, cut + 6.5 * frame)[1] == round(cut + 6.5 * frame, 3)
    song = align_lines([SubtitleLine(cut - frame, cut + 2, "la", kind="song")], [cut], fps=fps, fit=fit).lines[0]
    assert song.start_seconds == round(cut - frame, 3)  # songs are never snapped


def _only_times_changed(before: list[str], after: list[str], timed: set[int]) -> None:
    assert len(before) == len(after)
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        if i not in timed:
            assert a == b, i
        else:
            fields_a, fields_b = a.split(",", 9), b.split(",", 9)
            assert fields_a[0] == fields_b[0] and fields_a[3:] == fields_b[3:], i


def test_align_save_reload_round_trip(episode, tmp_path: Path) -> None:
    ep, cuts, fps = episode
    shifted_lines = retimed(read_lines(ep.ass), 1.0, 1.234, centis=False)
    shifted = write_subtitles(load_subtitles(ep.ass), shifted_lines, tmp_path / "shifted.ass")
    original = load_subtitles(shifted)
    result = align_lines(original.lines, cuts, fps=fps)
    assert abs(result.fit.offset_seconds + 1.234) < frame_seconds(ep)  # the file holds +1.23 (centiseconds)
    out = write_subtitles(original, result.lines, tmp_path / "aligned.ass")
    again = load_subtitles(out)
    before, after = shifted.read_text().split("\n"), out.read_text().split("\n")
    _only_times_changed(before, after, {line.line_number - 1 for line in original.lines})
    assert [(x.text, x.kind, x.style, x.line_number) for x in again.lines] == [
        (x.text, x.kind, x.style, x.line_number) for x in original.lines
    ]
    assert again.document.styles == original.document.styles and again.document.info == original.document.info
    assert [(x.start_seconds, x.end_seconds) for x in again.lines] == [
        (x.start_seconds, x.end_seconds) for x in result.lines
    ]
    equal, total = snapped_agreement(again.lines, ep.truth["subtitles"])
    assert equal == total


@pytest.mark.real
@pytest.mark.parametrize(
    "name", ["pysubs2_attached_images_aegisub.ass", "okaeri_toradora_01.ass", "reu_dbz_007_utf16.ssa"]
)
def test_real_file_round_trip_keeps_every_other_byte(name: str, tmp_path: Path) -> None:
    path = real_file("subs", name)
    subs = load_subtitles(path)
    moved = align_lines(subs.lines, [], fps=23.976, fit=TimingFit(2.0, 1.0, 0, 0, True)).lines
    out = write_subtitles(subs, moved, tmp_path / f"out{path.suffix}")
    again = load_subtitles(out)
    assert (again.encoding, again.source.bom, again.source.breaks[:3]) == (
        subs.encoding,
        subs.source.bom,
        subs.source.breaks[:3],
    )
    _only_times_changed(subs.source.lines, again.source.lines, {x.line_number - 1 for x in subs.lines})
    assert [(round(x.start_seconds - 2, 2), x.text, x.kind) for x in again.lines] == [
        (round(x.start_seconds, 2), x.text, x.kind) for x in subs.lines
    ]
    assert again.document.graphics_opaque == subs.document.graphics_opaque
    assert again.document.fonts_opaque == subs.document.fonts_opaque


def test_changing_format_goes_through_pysubs2(episode, tmp_path: Path) -> None:
    ep, _, _ = episode
    subs = load_subtitles(ep.ass)
    out = write_subtitles(subs, list(subs.lines), tmp_path / "episode.srt")
    srt = read_lines(out)  # SRT has no comments: pysubs2 leaves them out
    visible = [x for x in subs.lines if x.kind != "comment"]
    assert [(x.start_seconds, x.end_seconds, x.text) for x in srt] == [
        (x.start_seconds, x.end_seconds, x.text) for x in visible
    ]


def animevid(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "ANIMEVID_LIBRARY": ""}
    return subprocess.run([sys.executable, "-m", "animevid", *map(str, args)], capture_output=True, text=True, env=env)


def test_cli_subs_align_json_and_tracks(episode, tmp_path: Path) -> None:
    ep, _, _ = episode
    lines = retimed(read_lines(ep.ass), 1.0, 1.234, centis=False)
    shifted = write_subtitles(load_subtitles(ep.ass), lines, tmp_path / "shifted.ass")
    result = animevid("subs", "align", ep.mp4, shifted, "-o", tmp_path / "out.ass", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert abs(data["offset_seconds"] + 1.234) < frame_seconds(ep) and data["ratio"] == 1.0 and data["reliable"]
    assert data["lines"] == len(lines) and data["snapped"] >= 3 and data["output"] == str(tmp_path / "out.ass")
    equal, total = snapped_agreement(tuple(read_lines(tmp_path / "out.ass")), ep.truth["subtitles"])
    assert equal == total
    tracks = json.loads(animevid("subs", "tracks", ep.mkv, "--json").stdout)["tracks"]
    assert [(t["codec"], t["language"]) for t in tracks] == [("ass", "eng")]
    missing = animevid("subs", "align", ep.mp4, tmp_path / "nope.ass")
    assert missing.returncode == 1 and "nope.ass" in missing.stderr and "Traceback" not in missing.stderr
