"""Episode digests (animevid.digest): the page, contact sheet and JSON against the catalog and the generator's truth.

Two seeded synthetic episodes of one series are indexed (the second recaps the first and both share the
OP, so the season pass marks OP and recap ranges); the library digest is written once per module.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from animevid.catalog import Catalog
from animevid.clips import EpisodeNotFound, open_episode
from animevid.config import Config
from animevid.digest import DigestError, DigestFiles, write_digest, write_library_digest
from animevid.digest._pictures import Still, feature, pick_keyframes
from animevid.digest._plan import keyframes_wanted
from animevid.model import Scene
from animevid.pipeline import index_episodes
from animevid.synth import generate_episode
from tests.helpers import chromium_browser, tiny_episode

SECONDS = 20.0
SEEDS = (2, 3)
"""Episode 3 recaps episode 2; each has a dialogue line, and the shot detector finds every shot of both."""
SECTIONS = ("timeline", "scenes", "highlights", "loops", "plots", "contact")
PAGE_BYTES = 500_000
"""Bound on a 20 s episode's page: pictures are sized for the page, not the video."""


@pytest.fixture(scope="module")
def digested(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("digest")
    episodes, truths = [], {}
    for seed in SEEDS:
        made = generate_episode(root / "made", seed=seed, seconds=SECONDS)
        path = root / "Test Show" / f"Test Show - {seed:02d}.mkv"
        path.parent.mkdir(exist_ok=True)
        shutil.copy(made.mkv, path)
        shutil.copy(made.ass, path.with_suffix(".ass"))  # beside the video: the subtitles are aligned
        episodes.append(path)
        truths[path.stem] = made.truth
    library = root / "library"
    results = index_episodes(episodes, library=library, config=Config(device="cpu"))
    assert [r.status for r in results] == ["indexed"] * len(episodes)
    out = root / "digest"
    index = write_library_digest(library, out)
    return {"library": library, "out": out, "index": index, "episodes": episodes, "truths": truths}


def _report(digested: dict[str, Any], episode: Path) -> dict[str, Any]:
    return json.loads((digested["out"] / f"{episode.stem}.json").read_text(encoding="utf-8"))


def _page(digested: dict[str, Any], episode: Path) -> str:
    return (digested["out"] / f"{episode.stem}.html").read_text(encoding="utf-8")


def _pictures(fragment: str) -> list[np.ndarray]:
    """The RGB pictures of the <img> data URIs in a piece of the page, in order."""
    found = re.findall(r'src="data:image/\w+;base64,([A-Za-z0-9+/=]+)"', fragment)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")) for data in found]


def _scene_html(page: str, index: int) -> str:
    start = page.index(f"<article class=scene id=scene-{index}>")
    return page[start : page.index("</article>", start)]


def _frames(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """Frames of a video by decode-order number, decoded independently of animevid."""
    found = {}
    with av.open(str(path)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number in wanted:
                found[number] = frame.to_ndarray(format="rgb24")
            if number >= max(wanted):
                break
    return found


def test_shots_and_scenes_are_the_catalogs_and_the_truths(digested: dict[str, Any]) -> None:
    for episode in digested["episodes"]:
        report, truth = _report(digested, episode), digested["truths"][episode.stem]
        facts = open_episode(digested["library"], episode)
        shots = [(s["start_frame"], s["end_frame"], s["transition"]) for s in report["shots"]]
        assert shots == [(s.start_frame, s.end_frame, s.transition) for s in facts.shots]
        assert len(report["shots"]) == len(truth["shots"]) == report["summary"]["shots"]
        scenes = [(s["first_shot"], s["last_shot"], s["start_frame"], s["end_frame"]) for s in report["scenes"]]
        assert scenes == [(s.first_shot, s.last_shot, s.start_frame, s.end_frame) for s in facts.scenes]
        assert report["episode"]["series"] == "Test Show" and report["episode"]["number"] == int(episode.stem[-2:])
        for shot in report["shots"]:
            scene = report["scenes"][shot["scene"]]
            assert scene["first_shot"] <= shot["index"] <= scene["last_shot"]


def test_every_scene_shows_a_few_keyframes_of_its_own_frames_and_they_differ(digested: dict[str, Any]) -> None:
    several = 0
    for episode in digested["episodes"]:
        report, page = _report(digested, episode), _page(digested, episode)
        wanted = {k["frame"] for s in report["scenes"] for k in s["keyframes"]}
        truth_frames = _frames(episode, wanted)
        for scene in report["scenes"]:
            frames = [k["frame"] for k in scene["keyframes"]]
            fields = ("start_frame", "end_frame", "start_seconds", "end_seconds", "first_shot", "last_shot")
            assert 1 <= len(frames) <= keyframes_wanted(Scene(**{k: scene[k] for k in fields})) <= 4, scene["index"]
            assert frames == sorted(set(frames))
            assert all(scene["start_frame"] <= f < scene["end_frame"] for f in frames)
            pictures = _pictures(_scene_html(page, scene["index"]))
            assert len(pictures) == len(frames)
            for frame, picture in zip(frames, pictures, strict=True):  # the picture is that very frame
                height, width = picture.shape[:2]
                expected = cv2.resize(truth_frames[frame], (width, height), interpolation=cv2.INTER_AREA)
                assert np.abs(picture.astype(int) - expected).mean() < 4, (episode.name, frame)
            for a in range(len(pictures)):
                for b in range(a + 1, len(pictures)):
                    assert np.abs(pictures[a].astype(int) - pictures[b]).mean() > 6, (episode.name, frames)
            several += len(frames) > 1
    assert several >= 2, "some scene should show more than one keyframe"


def test_the_dialogue_lines_are_the_ass_files_and_sit_in_their_scenes(digested: dict[str, Any]) -> None:
    for episode in digested["episodes"]:
        report, truth = _report(digested, episode), digested["truths"][episode.stem]
        shown = [line["text"] for scene in report["scenes"] for line in scene["lines"]]
        wanted = [line["plain"] for line in truth["subtitles"] if line["kind"] == "dialogue"]
        assert wanted and shown == wanted
        assert report["summary"]["dialogue_lines"] == len(wanted)
        for scene in report["scenes"][1:]:
            assert all(scene["start_seconds"] - 1e-6 <= line["start_seconds"] for line in scene["lines"])
        page = _page(digested, episode)
        assert all(text.replace("\n", "<br>") in page for text in wanted)


def test_the_timeline_has_a_mark_per_cut_and_bands_for_op_and_recap(digested: dict[str, Any]) -> None:
    for episode in digested["episodes"]:
        page, report = _page(digested, episode), _report(digested, episode)
        transitions = [s["transition"] for s in report["shots"]]
        timeline = page[page.index("<section id=timeline>") : page.index("</section>", page.index("id=timeline"))]
        assert timeline.count("<a class=shot ") == len(transitions)
        assert timeline.count("<i class=cut ") == transitions.count("cut") > 5
        assert timeline.count("<i class=soft ") == transitions.count("fade") + transitions.count("dissolve")
        with Catalog.in_library(digested["library"]) as catalog:
            kinds = sorted(catalog.segments(report["episode"]["episode_id"]).kind)
        assert kinds and sorted(re.findall(r'class="band (\w+)"', timeline)) == kinds
    second = _report(digested, digested["episodes"][1])
    truth = digested["truths"][digested["episodes"][1].stem]
    op = next(s for s in second["segments"] if s["kind"] == "op")
    assert abs(op["start_frame"] - truth["op"]["start_frame"]) <= 2
    assert abs(op["end_frame"] - truth["op"]["end_frame"]) <= 2
    assert "recap" in {s["kind"] for s in second["segments"]}


def test_highlights_and_loops(digested: dict[str, Any]) -> None:
    for episode in digested["episodes"]:
        report, page = _report(digested, episode), _page(digested, episode)
        scores = [h["sakuga_score"] for h in report["highlights"]]
        assert scores and scores == sorted(scores, reverse=True)
        assert all(report["shots"][h["shot"]]["segment"] not in ("op", "ed", "recap") for h in report["highlights"])
        section = page[page.index("<section id=highlights>") : page.index("<section id=loops>")]
        assert len(_pictures(section)) == len(report["highlights"])
        truth_loops = {(t["start_frame"], t["period_frames"]) for t in digested["truths"][episode.stem]["loops"]}
        assert report["loops"] and all(loop["animated"] for loop in report["loops"])
        assert any((loop["start_frame"], loop["period_frames"]) in truth_loops for loop in report["loops"])
        animations = re.findall(r"id=loops>.*?</section>", page, flags=re.S)[0]
        found = re.findall(r'src="data:image/webp;base64,([A-Za-z0-9+/=]+)"', animations)
        fps = report["episode"]["fps"]
        for data, loop in zip(found, report["loops"], strict=True):
            with Image.open(io.BytesIO(base64.b64decode(data))) as picture:
                assert picture.is_animated and 2 <= picture.n_frames <= loop["period_frames"]  # holds merge
                played = 0
                for k in range(picture.n_frames):
                    picture.seek(k)
                    picture.load()
                    played += picture.info["duration"]
            assert abs(played - loop["period_frames"] * 1000 / fps) <= 1, "one period, at the episode's pace"


def test_the_page_is_offline_small_and_its_contact_sheet_has_a_tile_per_shot(digested: dict[str, Any]) -> None:
    for episode in digested["episodes"]:
        page, report = _page(digested, episode), _report(digested, episode)
        assert "http://" not in page and "https://" not in page
        assert not re.search(r'(src|href)="(?!data:|#)[^"]*//', page), "no remote resource"
        assert len(page.encode()) < PAGE_BYTES
        assert all(f"<section id={s}>" in page for s in SECTIONS)
        with Image.open(digested["out"] / f"{episode.stem}.contact.png") as sheet:
            rows = -(-len(report["shots"]) // 10)
            assert sheet.format == "PNG" and sheet.width > 10 * 128 and sheet.height > rows * 72
        assert report["files"] == {
            "html": f"{episode.stem}.html",
            "json": f"{episode.stem}.json",
            "contact": f"{episode.stem}.contact.png",
        }
        plot = _pictures(page[page.index("<section id=plots>") :])[0]
        assert plot.shape[1] == 960 and plot.std() > 5


def test_the_library_index_links_every_episode(digested: dict[str, Any]) -> None:
    index = digested["index"].read_text(encoding="utf-8")
    assert digested["index"] == digested["out"] / "index.html"
    for episode in digested["episodes"]:
        report = _report(digested, episode)
        link = f'href="{episode.stem.replace(" ", "%20")}.html"'
        assert link in index
        row = index[index.index(link) : index.index("</tr>", index.index(link))]
        summary = report["summary"]
        assert f"<td>{summary['shots']}</td><td>{summary['scenes']}</td>" in row
        assert all(tag in row for tag in summary["top_tags"])
    assert "http://" not in index and "https://" not in index


def test_keyframes_are_the_most_typical_frame_then_the_most_different() -> None:
    def still(frame: int, colour: tuple[int, int, int]) -> Still:
        picture = np.zeros((36, 64, 3), np.uint8)
        picture[:] = colour
        picture[10:26, 20:44] = (255 - colour[0], 128, colour[2] // 2)
        return Still(frame, b"", feature(picture), flat=False)

    reds = [still(f, (200, 30 + f, 30)) for f in range(3)]
    blue, green = still(10, (20, 40, 220)), still(20, (30, 200, 40))
    # the reds fill most of the scene: one of them is the typical frame; blue and green are the different ones
    candidates = [(s, 4.0) for s in reds] + [(blue, 1.0), (green, 1.0)]
    first, *others = pick_keyframes(candidates, most=3)
    assert first in (0, 1, 2) and others == [10, 20]
    assert pick_keyframes(candidates, most=1) == [first]
    assert pick_keyframes([(s, 1.0) for s in reds]) == [1], "alike frames: one keyframe, the middle one"
    flat = Still(30, b"", feature(np.zeros((36, 64, 3), np.uint8)), flat=True)
    assert pick_keyframes([(flat, 50.0), (reds[0], 1.0)]) == [0], "a black fade is never picked over a picture"


def test_a_moved_episode_still_gets_a_page_without_pictures(tmp_path: Path) -> None:
    episode = tiny_episode(tmp_path / "Moved Show - 03.mp4", seed=5)
    library = tmp_path / "library"
    [result] = index_episodes([episode], library=library, config=Config(device="cpu"))
    assert result.status == "indexed"
    told: list[tuple[str, int]] = []
    done: list[int] = []

    def progress(path: Path, total: int) -> Callable[[int], None]:
        told.append((path.name, total))
        return done.append

    kept = write_digest(library, episode, tmp_path / "before", progress=progress)
    assert kept.contact is not None and not kept.notes
    assert told and told[0][0] == "Moved Show - 03.mp4" and 0 < told[0][1] <= 48 and sum(done) == told[0][1]
    facts = open_episode(library, episode)
    episode.rename(tmp_path / "elsewhere.mp4")
    files = write_digest(library, str(facts.episode_id), tmp_path / "after")
    assert isinstance(files, DigestFiles) and files.contact is None
    assert len(files.notes) == 1 and "no longer at" in files.notes[0] and "Moved Show - 03.mp4" in files.notes[0]
    page = files.html.read_text(encoding="utf-8")
    assert "no longer at" in page and "<section id=scenes>" in page
    assert json.loads(files.json.read_text())["summary"]["shots"] == len(facts.shots)
    assert "<img" not in page.split("<section id=plots>")[0], "no picture but the plot"


def test_clear_errors(tmp_path: Path, digested: dict[str, Any]) -> None:
    with pytest.raises(DigestError, match=r"no such library .*animevid index"):
        write_digest(tmp_path / "nowhere", "x.mkv", tmp_path / "out")
    assert not (tmp_path / "nowhere").exists()
    stray = tiny_episode(tmp_path / "stray.mp4", seed=9)
    with pytest.raises(EpisodeNotFound, match=r"stray\.mp4: not indexed"):
        write_digest(digested["library"], stray, tmp_path / "out")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DigestError, match="pass -o"):
        write_digest(digested["library"], digested["episodes"][0], blocker / "out")


def _render(page_file: Path, screenshot: Path) -> dict[str, Any]:
    """Open a page in Debian's headless chromium (skip without it): requests, section heights, pictures."""
    requested: list[str] = []
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requested.append(r.url))
        page.goto(page_file.as_uri())
        page.screenshot(path=str(screenshot), full_page=True)
        heights = {s: page.eval_on_selector(f"#{s}", "e => e.getBoundingClientRect().height") for s in SECTIONS}
        images = page.eval_on_selector_all("img", "all => all.map(i => [i.complete, i.naturalWidth])")
        strip = page.eval_on_selector(".strip", "e => e.getBoundingClientRect().width")
    return {"requested": requested, "heights": heights, "images": images, "strip": strip}


def test_the_page_renders_in_headless_chromium_without_a_request(digested: dict[str, Any], tmp_path: Path) -> None:
    page_file = digested["out"] / f"{digested['episodes'][1].stem}.html"
    shown = _render(page_file, tmp_path / "digest.png")
    requested, heights, images = shown["requested"], shown["heights"], shown["images"]
    assert requested and all(not u.startswith(("http://", "https://")) for u in requested), requested
    assert all(height > 50 for height in heights.values()), heights
    assert len(images) > 10 and all(done and width > 0 for done, width in images), images
    assert shown["strip"] > 1000
    with Image.open(tmp_path / "digest.png") as shot:
        assert shot.width == 1280 and shot.height > 2000


def test_a_real_clip(real_dir: Path, tmp_path: Path) -> None:
    clip = real_dir / "video" / "naruto_shippuden_forest_fight_720p25.mp4"
    if not clip.exists():
        pytest.skip(f"real test data not found: {clip}")
    library = tmp_path / "library"
    [result] = index_episodes([clip], library=library, config=Config(device="cpu"))
    assert result.status == "indexed", result.error
    files = write_digest(library, clip, tmp_path / "out")
    report = json.loads(files.json.read_text())
    page = files.html.read_text(encoding="utf-8")
    facts = open_episode(library, clip)
    assert [(s["start_frame"], s["end_frame"]) for s in report["shots"]] == [
        (s.start_frame, s.end_frame) for s in facts.shots
    ]
    assert report["summary"]["shots"] >= 4, "cuts at about 2.3, 3.3, 3.8 and 4.8 s"
    assert all(scene["keyframes"] for scene in report["scenes"]) and not files.notes
    keyframes = _pictures(page[page.index("<section id=scenes>") : page.index("<section id=highlights>")])
    assert keyframes and all(p.shape[1] == 320 for p in keyframes), "stills sized for the page, not 1280 px"
    assert "http://" not in page and "https://" not in page and len(page.encode()) < 600_000
    shown = _render(files.html, tmp_path / "real.png")
    assert all(not u.startswith(("http://", "https://")) for u in shown["requested"]), shown["requested"]
    assert all(height > 50 for height in shown["heights"].values()), shown["heights"]
    assert len(shown["images"]) >= len(keyframes) and all(done and width > 0 for done, width in shown["images"])
