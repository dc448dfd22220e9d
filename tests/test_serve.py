"""animevid serve: trace.moe's clients work against it unchanged; every safety rule holds.

The server runs in a thread of the test process on a free loopback port; clients are the real
PyPI packages (aiotracemoeapi 4.x, PicImageSearch), pointed at it by their documented base-URL
arguments. Truth comes from the seeded generator: the screenshot's frame, time and shot.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
import uvicorn

from animevid.config import Config, ServeConfig
from animevid.pipeline import index_episodes
from animevid.serve import ClientLimits, Preview, Tokens, create_app, episode_number, exposure_warning
from tests.helpers import chromium_browser, frame_of, run_cli, tiny_episode, wait_until
from tests.test_cli_errors import bomb_png

EPISODE_NAME = "[Test] Synthetic Show - 03 [180p].mp4"
ANILIST = {"id": 4242, "idMal": 77, "title": {"romaji": "Synthetic Show", "native": "合成"}, "synonyms": ["SynShow"]}
FRAME = 250
"""The screenshot's frame: inside a held shot of the seed-7 episode, away from cuts."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(library: Path, **serve: Any) -> Iterator[str]:
    """A server on a free loopback port with these serve options; yields its base URL."""
    config = Config(device="cpu")
    config = replace(config, serve=replace(ServeConfig(), **serve))
    app = create_app(library, config)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, seconds=20), "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture(scope="module")
def episode(synth_episode, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed-7 synthetic episode under a release-style name, with an AniList sidecar in its folder."""
    folder = tmp_path_factory.mktemp("season")
    path = folder / EPISODE_NAME
    shutil.copy(synth_episode.mp4, path)
    (folder / "anilist.json").write_text(json.dumps(ANILIST), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def library(episode: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lib") / "library"
    [result] = index_episodes([episode], library=folder, config=Config(device="cpu"))
    assert result.status == "indexed", result
    return folder


@pytest.fixture(scope="module")
def screenshot(episode: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Frame 250, cropped 8 % on each side, mirrored, upscaled and saved as JPEG (as users post them)."""
    rgb = frame_of(episode, FRAME)
    h, w = rgb.shape[:2]
    crop = rgb[int(h * 0.08) : int(h * 0.92), int(w * 0.08) : int(w * 0.92)][:, ::-1]
    crop = cv2.resize(crop, (crop.shape[1] * 2, crop.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    path = tmp_path_factory.mktemp("query") / "screenshot.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return path


@pytest.fixture(scope="module")
def base(library: Path) -> Iterator[str]:
    with running(library, rate_limit=0) as url:
        yield url


def _truth(synth_episode) -> tuple[float, float, float]:
    truth = synth_episode.truth
    shot = next(s for s in truth["shots"] if s["start_frame"] <= FRAME < s["end_frame"])
    return truth["pts_seconds"][FRAME], shot["start_seconds"], shot["end_seconds"]


def _check_previews(hit_image: str, hit_video: str, start: float, end: float) -> None:
    picture = httpx.get(hit_image + "&size=s", timeout=30)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    pixels = cv2.imdecode(np.frombuffer(picture.content, np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None and pixels.shape[1] == 160
    clip = httpx.get(hit_video + "&size=s&mute", timeout=60)
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(clip.content)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        assert container.streams.video[0].codec_context.width == 160
    assert abs(frames - (end - start) * 24000 / 1001) <= 2, "the preview is the hit's shot, frame-exact"


# -- real clients -----------------------------------------------------------------------------------


def test_aiotracemoeapi_finds_a_cropped_mirrored_screenshot(base: str, screenshot: Path, synth_episode) -> None:
    from aiotracemoeapi import AniList, TraceMoe

    async def ask() -> Any:
        async with TraceMoe(base_url=base) as api:
            return await api.search(screenshot), await api.me()

    response, me = asyncio.run(ask())
    at, start, end = _truth(synth_episode)
    best = response.best_result
    assert best is not None and response.frame_count and response.frame_count > 100
    assert best.filename == EPISODE_NAME and best.episode == 3
    assert abs(best.at - at) <= 1.0 and best.similarity >= 0.9
    assert abs(best.anime_from - start) <= 2 / 24 and abs(best.anime_to - end) <= 2 / 24, "from/to are the shot"
    assert (
        isinstance(best.anilist, AniList) and best.anilist.id == 4242 and best.anilist.title.romaji == "Synthetic Show"
    )
    assert len(response.result) <= 10 and me.quota == 10000 and me.quota_used >= 1
    assert response.limits is not None
    _check_previews(best.image, best.video, best.anime_from, best.anime_to)


def test_picimagesearch_finds_it_and_reads_titles_from_the_server(base: str, screenshot: Path, synth_episode) -> None:
    from PicImageSearch import Network, TraceMoe

    async def ask() -> Any:
        async with Network() as client:
            engine = TraceMoe(base_url=base, base_url_api=base, client=client)
            return await engine.search(file=screenshot), await engine.me()

    response, me = asyncio.run(ask())
    _, start, _ = _truth(synth_episode)
    best = response.raw[0]
    assert best.filename == EPISODE_NAME and best.anilist == 4242 and best.episode == 3
    assert best.title_romaji == "Synthetic Show" and best.title_native == "合成" and best.idMal == 77
    assert abs(best.From - start) <= 2 / 24 and best.similarity >= 90.0
    assert me.quota == 10000 and response.frameCount > 100
    assert httpx.get(best.image, timeout=30).status_code == 200  # its size suffix (&size=) still reaches us


def test_raw_bodies_filters_and_trace_moe_errors(base: str, screenshot: Path, synth_episode) -> None:
    data = screenshot.read_bytes()
    at, _, _ = _truth(synth_episode)
    raw = httpx.post(f"{base}/search", content=data, headers={"content-type": "image/jpeg"}, timeout=60).json()
    assert raw["error"] == "" and raw["result"][0]["anilist"] == 4242 and abs(raw["result"][0]["at"] - at) <= 1.0
    # beyond trace.moe: the part of the frame the screenshot showed (8 % cut from every side)
    assert np.allclose(raw["result"][0]["box"], [0.08, 0.08, 0.92, 0.92], atol=0.03), raw["result"][0]["box"]
    form = httpx.post(f"{base}/search", files={"whatever": ("x.jpg", data)}, timeout=60).json()
    assert form["result"][0]["filename"] == EPISODE_NAME
    other = httpx.post(f"{base}/search?anilistID=999", content=data, timeout=60).json()
    assert other == {"frameCount": raw["frameCount"], "error": "", "result": []}
    same = httpx.post(f"{base}/search?anilistID=4242&cutBorders=1", content=data, timeout=60).json()
    assert same["result"][0]["filename"] == EPISODE_NAME
    no_url = httpx.get(f"{base}/search?url=http://127.0.0.1:1/x.png", timeout=30)
    assert no_url.status_code == 400 and no_url.json()["error"].startswith("Invalid image url")
    assert httpx.put(f"{base}/search", content=data, timeout=30).status_code == 405
    vector = httpx.post(f"{base}/search", json={"vector": [0] * 33}, timeout=30)
    assert vector.status_code == 400 and vector.json()["error"].startswith("Invalid vector format")
    garbage = httpx.post(f"{base}/search", content=b"\x00not a picture" * 50, timeout=30)
    assert garbage.status_code == 400 and garbage.json()["error"].startswith("Failed to process image")
    assert httpx.get(f"{base}/me", timeout=30).status_code == 200, "a bad upload leaves the server up"


def test_a_short_clip_is_searched_frame_by_frame(base: str, episode: Path, tmp_path: Path, synth_episode) -> None:
    clip = tmp_path / "clip.mp4"
    with av.open(str(episode)) as source, av.open(str(clip), "w") as sink:
        stream = sink.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for k, frame in enumerate(source.decode(video=0)):
            if 240 <= k < 264:
                sink.mux(stream.encode(frame.reformat(format="yuv420p")))
        sink.mux(stream.encode(None))
    reply = httpx.post(f"{base}/search", content=clip.read_bytes(), headers={"content-type": "video/mp4"}, timeout=60)
    hit = reply.json()["result"][0]
    assert hit["filename"] == EPISODE_NAME and abs(hit["at"] - synth_episode.truth["pts_seconds"][240]) <= 1.5


def test_urls_are_fetched_only_when_enabled_and_only_over_http(library: Path, screenshot: Path) -> None:
    import functools
    import http.server

    from aiotracemoeapi import InvalidImageUrl, TraceMoe

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(screenshot.parent))
    handler.log_message = lambda *args: None
    files = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=files.serve_forever, daemon=True).start()
    picture = f"http://127.0.0.1:{files.server_address[1]}/{screenshot.name}"

    async def ask(url: str, source: str) -> Any:
        async with TraceMoe(base_url=url) as api:
            return await api.search(source, is_url=True)

    try:
        with running(library, fetch_urls=True, fetch_timeout_seconds=5.0) as url:
            assert asyncio.run(ask(url, picture)).best_result.filename == EPISODE_NAME
            for bad in ("file:///etc/passwd", "ftp://127.0.0.1/x.png"):
                reply = httpx.get(f"{url}/search", params={"url": bad}, timeout=30)
                assert reply.status_code == 400 and reply.json()["error"].startswith("Invalid image url")
            missing = httpx.get(f"{url}/search", params={"url": picture + ".nope"}, timeout=30)
            assert missing.status_code == 400 and missing.json()["error"].startswith("Failed to fetch image")
        with running(library) as url, pytest.raises(InvalidImageUrl):
            asyncio.run(ask(url, picture))
    finally:
        files.shutdown()
        files.server_close()


# -- safety -------------------------------------------------------------------------------------------


def test_oversized_uploads_are_refused_before_they_are_read(library: Path) -> None:
    with running(library, max_upload_mb=0.05) as url:
        declared = httpx.post(f"{url}/search", content=b"\xff" * 80_000, timeout=30)
        assert declared.status_code == 413 and declared.json()["error"].startswith("Payload too large")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
            for _ in range(20):
                yield b"\xff" * 10_000

        streamed = httpx.post(f"{url}/search", content=chunks(), timeout=30)
        assert streamed.status_code == 413


def test_a_pixel_bomb_is_refused_from_its_header(base: str, tmp_path: Path) -> None:
    bomb = bomb_png(tmp_path / "bomb.png").read_bytes()
    assert len(bomb) < 200_000
    started = time.perf_counter()
    reply = httpx.post(f"{base}/search", content=bomb, headers={"content-type": "image/png"}, timeout=30)
    assert reply.status_code == 400 and "megapixels" in reply.json()["error"]
    assert time.perf_counter() - started < 10, "refused without decoding 3 GB of pixels"


@pytest.mark.parametrize(
    "path",
    [
        "/image/..%2F..%2Fcatalog.sqlite",
        "/video/..%2F..%2F..%2Fetc%2Fpasswd",
        "/image/%2e%2e%2f%2e%2e%2findex%2fvectors.faiss",
        "/image/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAA",
        "/video/catalog.sqlite",
    ],
)
def test_preview_ids_never_reach_the_filesystem(base: str, path: str) -> None:
    reply = httpx.get(base + path, timeout=30)
    assert reply.status_code == 404 and reply.headers["content-type"] == "application/json"
    assert "SQLite" not in reply.text and "root:" not in reply.text


def test_a_forged_or_edited_preview_id_is_refused(library: Path) -> None:
    tokens = Tokens(b"k" * 32)
    token = tokens.make(Preview(1, 10.0, 9.0, 12.0))
    assert tokens.read(token) == Preview(1, 10.0, 9.0, 12.0)
    body, sig = token.split(".")
    edited = ("B" if body[0] != "B" else "C") + body[1:] + "." + sig
    assert tokens.read(edited) is None and Tokens(b"x" * 32).read(token) is None
    assert tokens.read("../../etc/passwd") is None and tokens.read("a.b.c") is None


def test_rate_limit_headers_and_429(library: Path) -> None:
    from aiotracemoeapi import TooManyRequests, TraceMoe

    with running(library, rate_limit=3) as url:
        seen = [httpx.get(f"{url}/me", timeout=30) for _ in range(3)]
        assert [r.status_code for r in seen] == [200, 200, 200]
        assert [r.headers["x-ratelimit-remaining"] for r in seen] == ["2", "1", "0"]
        assert all(
            r.headers["x-ratelimit-limit"] == "3" and int(r.headers["x-ratelimit-reset"]) > time.time() for r in seen
        )
        refused = httpx.get(f"{url}/me", timeout=30)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1

        async def ask() -> None:
            async with TraceMoe(base_url=url) as api:
                await api.me()

        with pytest.raises(TooManyRequests):
            asyncio.run(ask())


def test_rate_window_and_quota_with_a_clock() -> None:
    now = [1000.0]
    limits = ClientLimits(rate_limit=2, quota=3, concurrency=1, clock=lambda: now[0])
    assert [limits.hit("a")[0] for _ in range(3)] == [True, True, False]
    assert limits.hit("b")[0], "clients are counted apart"
    now[0] += 61
    assert limits.hit("a")[0], "a new minute, a new window"
    assert limits.begin_search("a") is None
    assert limits.begin_search("a").startswith("Concurrency limit exceeded")
    limits.end_search("a")
    assert limits.begin_search("a") is None and limits.end_search("a") is None
    assert limits.begin_search("a") is None
    limits.end_search("a")
    assert limits.begin_search("a").startswith("Search quota depleted") and limits.used("a") == 3
    now[0] += 86401
    assert limits.used("a") == 0 and limits.begin_search("a") is None


def test_wrong_and_missing_keys(library: Path) -> None:
    from aiotracemoeapi import InvalidAPIKey, TraceMoe

    with running(library, keys="sesame, other", require_key=True) as url:
        assert httpx.get(f"{url}/me?key=wrong", timeout=30).status_code == 403
        assert httpx.get(f"{url}/me", timeout=30).json()["error"].startswith("Invalid API key")
        me = httpx.get(f"{url}/me", headers={"x-trace-key": "sesame"}, timeout=30).json()
        assert me["priority"] == 1 and me["id"].startswith("key:")
        assert httpx.get(f"{url}/", timeout=30).status_code == 200, "the page itself needs no key"

        async def ask(token: str) -> Any:
            async with TraceMoe(token, base_url=url) as api:
                return await api.me()

        with pytest.raises(InvalidAPIKey):
            asyncio.run(ask("wrong"))
        assert asyncio.run(ask("other")).priority == 1


def test_a_client_that_sends_half_a_body_and_stops(library: Path) -> None:
    with running(library, body_timeout_seconds=1.0) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
            head = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
            stalled.sendall(head.encode() + b"\x89PNG" + b"\x00" * 1000)
            started = time.perf_counter()
            assert httpx.get(f"{url}/me", timeout=5).status_code == 200, "others are served meanwhile"
            answer = b""
            for _ in range(20):  # bounded: headers and body may arrive apart
                chunk = stalled.recv(4096)
                answer += chunk
                if not chunk or b"did not arrive" in answer:
                    break
            waited = time.perf_counter() - started
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive" in answer
        assert waited < 8


def test_a_slow_search_gets_504_and_a_full_queue_503(library: Path, screenshot: Path, monkeypatch) -> None:
    from animevid.serve import Server

    slow, entered = threading.Event(), threading.Event()

    def stalled(self: Server, *args: Any) -> dict[str, Any]:
        entered.set()
        slow.wait(5)
        return {"frameCount": 0, "error": "", "result": []}

    monkeypatch.setattr(Server, "search", stalled)
    with running(library, workers=1, queue=0, concurrency=1, search_timeout_seconds=0.5) as url:
        data = screenshot.read_bytes()
        first: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: first.update(r=httpx.post(f"{url}/search", content=data, timeout=30)))
        thread.start()
        assert wait_until(entered.is_set, seconds=10), "the first search is running"
        busy = httpx.post(f"{url}/search", content=data, timeout=30)
        assert busy.status_code == 402 and busy.json()["error"].startswith("Concurrency limit exceeded")
        thread.join(10)
        assert first["r"].status_code == 504 and first["r"].json()["error"].startswith("Search timed out")
        # the timed-out search still holds the only worker: the queue is full until it ends
        full = httpx.post(f"{url}/search", content=data, headers={"x-forwarded-for": "x"}, timeout=30)
        assert full.status_code in (402, 503)
        slow.set()
        assert wait_until(lambda: httpx.post(f"{url}/search", content=data, timeout=30).status_code == 200, seconds=10)


def test_searches_while_an_episode_is_indexed_see_a_consistent_index(
    library: Path, screenshot: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "growing"
    shutil.copytree(library, folder)
    added = tiny_episode(tmp_path / "added.mp4", seed=91, frames=96)
    data = screenshot.read_bytes()
    seen: list[tuple[int, int]] = []
    done = threading.Event()
    with running(folder, rate_limit=0) as url:

        def ask() -> None:
            for _ in range(400):  # bounded: ends with the indexing
                reply = httpx.post(f"{url}/search", content=data, timeout=60)
                seen.append((reply.status_code, reply.json().get("frameCount", -1)))
                if done.is_set():
                    return

        searcher = threading.Thread(target=ask)
        searcher.start()
        before = httpx.post(f"{url}/search", content=data, timeout=60).json()["frameCount"]
        [result] = index_episodes([added], library=folder, config=Config(device="cpu"))
        done.set()
        searcher.join(60)
        after = httpx.post(f"{url}/search", content=data, timeout=60).json()
        probe = cv2.imencode(".png", cv2.cvtColor(frame_of(added, 40), cv2.COLOR_RGB2BGR))[1].tobytes()
        found = httpx.post(f"{url}/search", content=probe, timeout=60).json()["result"][0]
    assert result.status == "indexed" and after["frameCount"] > before
    assert seen and all(status == 200 for status, _ in seen), seen
    assert {count for _, count in seen} <= {before, after["frameCount"]}, "never half an episode"
    assert after["result"][0]["filename"] == EPISODE_NAME and found["filename"] == "added.mp4"


# -- the page -----------------------------------------------------------------------------------------


def test_the_page_finds_an_uploaded_screenshot_in_headless_chromium(
    base: str, screenshot: Path, tmp_path: Path
) -> None:
    requested: list[str] = []
    with chromium_browser() as browser:
        page = browser.new_page()
        page.on("request", lambda r: requested.append(r.url))
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('stats').textContent.includes('indexed frames')")
        page.set_input_files("#file", str(screenshot))
        page.wait_for_selector(".hit .file", timeout=30000)
        first = page.inner_text(".hit .file")
        when = page.inner_text(".hit .when")
        page.screenshot(path=str(tmp_path / "page.png"))
        poster = page.eval_on_selector(".hit video", "v => v.poster")
    assert first == EPISODE_NAME and "Synthetic Show" in when and "episode 3" in when
    assert httpx.get(poster, timeout=30).status_code == 200
    assert requested and all(u.startswith(base) or u.startswith("blob:") for u in requested), "offline: no CDN"


# -- the command line ---------------------------------------------------------------------------------


def test_serve_command_starts_and_warns_when_exposed(library: Path, tmp_path: Path) -> None:
    import subprocess

    from tests.helpers import cli

    port = _free_port()
    process = subprocess.Popen(
        cli("serve", "--library", library, "--port", str(port)), stderr=subprocess.PIPE, text=True
    )
    try:
        assert wait_until(lambda: _up(port), seconds=60), "animevid serve did not answer"
        assert "<title>animevid search</title>" in httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in stderr
    missing = run_cli("serve", "--library", tmp_path / "nope")
    assert missing.returncode == 1 and "no such library" in missing.stderr and "Traceback" not in missing.stderr
    config = Config()
    assert exposure_warning("127.0.0.1", config) is None and exposure_warning("::1", config) is None
    assert "without an API key" in (exposure_warning("0.0.0.0", config) or "")
    assert exposure_warning("0.0.0.0", replace(config, serve=ServeConfig(keys="k"))) is None


def _up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/me", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_episode_numbers_come_from_release_names() -> None:
    assert episode_number("[SubsPlease] Frieren - 03 (1080p) [ABCD1234].mkv") == 3
    assert episode_number("Cowboy Bebop S01E05.mkv") == 5
    assert episode_number("One Piece 1071.mkv") == 1071
    assert episode_number("synth_seed3.mp4") is None
    # a resolution's frame rate is not an episode (anitopy reads 25 here); a number after it still is
    assert episode_number("naruto_shippuden_forest_fight_720p25.mp4") is None
    assert episode_number("show_480p30.mkv") is None
    assert episode_number("Show 1080p60 - 05.mkv") == 5
