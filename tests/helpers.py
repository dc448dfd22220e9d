"""What tests share: the real test data (skipped when absent), small media they make, process helpers.

Tests import these from here; ``conftest.py`` holds only fixtures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

REAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
"""The real clips, subtitle files and pictures (../shared/data/real); never copied into the repository."""


def real_file(*parts: str) -> Path:
    """Path of a file under ../shared/data/real, skipping the test when it is absent."""
    path = REAL_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found: {path}")
    return path


def tiny_episode(path: Path, seed: int, *, frames: int = 48, size: tuple[int, int] = (192, 108)) -> Path:
    """A short H.264 episode whose pictures no other seed shares: three shots of coloured blocks.

    Each shot holds a random block layout (a drawing) and moves one block a little every other
    frame, so that the search stage keeps a few frames per shot and a frame of it finds it again.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        picture = np.zeros((height, width, 3), np.uint8)
        for i in range(frames):
            if i % 16 == 0:
                picture = _layout(rng, width, height)
            shown = picture.copy()
            x = 8 + (i % 16) // 2 * 4
            shown[8:28, x : x + 20] = 255 - shown[8:28, x : x + 20]
            for packet in stream.encode(av.VideoFrame.from_ndarray(shown, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _layout(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    picture = np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, width - 16)), int(rng.integers(0, height - 16))
        w, h = int(rng.integers(12, width // 2)), int(rng.integers(12, height // 2))
        picture[y : y + h, x : x + w] = rng.integers(0, 256, 3)
    return picture


def frame_of(path: Path, number: int) -> np.ndarray:
    """Frame ``number`` (decode order) of a video at full size, RGB."""
    with av.open(str(path)) as container:
        for k, frame in enumerate(container.decode(video=0)):
            if k == number:
                return frame.to_ndarray(format="rgb24")
    raise IndexError(f"{path} has no frame {number}")


def cli(*args: str | Path, env: dict[str, str] | None = None, prefix: list[str] | None = None) -> list[str]:
    """The command line of ``animevid ARGS`` in this interpreter (``prefix`` runs it under another program)."""
    return [*(prefix or []), sys.executable, "-m", "animevid", *map(str, args)]


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``animevid ARGS`` to the end, output captured."""
    full = {**os.environ, "COLUMNS": "200", "ANIMEVID_LIBRARY": "", **(env or {})}
    return subprocess.run(cli(*args), capture_output=True, text=True, env=full, timeout=600)


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            members.append(int(entry.name))
    return members


def wait_until(condition: object, *, seconds: float, step: float = 0.1) -> bool:
    """Poll ``condition()`` until it is true or ``seconds`` pass (a bounded wait, not a timing test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(step)
    return bool(condition())  # type: ignore[operator]


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's headless chromium driven by playwright (``executable_path``: no browser is downloaded);
    the test skips when either is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()
