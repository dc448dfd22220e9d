"""The README's digest screenshot (docs/digest.png), and what a digest costs on a 24-minute episode.

Usage: python bench/digest_screenshot.py [--clip NAME] [--out docs/digest.png] [--minutes 24] [--keep DIR]

Screenshot: a real clip from ../shared/data/real/video (default onepiece_gear5_action_engsubs.mp4: 40 shots
in 34 s) is indexed into a temporary library, its digest written, and the top of the page shot in Debian's
headless chromium (/usr/bin/chromium through playwright) at 1000 px wide; the PNG is quantized to a
256-colour palette when that keeps it under 200 kB. The clip itself never enters the repository: only the
screenshot does.

--minutes N: a 1080p real clip (video2x_sample_output_sakurasou.mp4, 19 s) is joined to itself with
`ffmpeg -f concat -c copy` until it lasts N minutes, indexed with index_episodes, and then timed:
write_digest (wall time, peak RSS of this process), the page's, contact sheet's and JSON's sizes, and
the time headless chromium takes to load the page (navigation to load event).
Anchor in the same run: `ffmpeg -i EP -f null -` (decoding alone, every thread), since the digest
decodes the episode once from its start to the last frame it shows.
"""

from __future__ import annotations

import argparse
import io
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animevid.config import Config  # noqa: E402
from animevid.digest import write_digest  # noqa: E402
from animevid.pipeline import index_episodes  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real" / "video"
LONG_SOURCE = "video2x_sample_output_sakurasou.mp4"
MAX_BYTES = 200_000


def _index(episode: Path, library: Path) -> float:
    started = time.perf_counter()
    [result] = index_episodes([episode], library=library, config=Config(device="cpu"))
    if result.status != "indexed":
        raise SystemExit(f"{episode}: indexing failed: {result.error}")
    return time.perf_counter() - started


def screenshot(page: Path, out: Path, *, width: int = 1000, height: int = 900) -> int:
    """Shoot the top of ``page`` into ``out`` (PNG, quantized when that keeps it under 200 kB); its size."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": width, "height": height})
            tab.goto(page.as_uri())
            data = tab.screenshot()
        finally:
            browser.close()
    with Image.open(io.BytesIO(data)) as image:
        picture = image.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    if buffer.tell() > MAX_BYTES:
        buffer = io.BytesIO()
        picture.quantize(256, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return buffer.tell()


def load_seconds(page: Path) -> float:
    """Seconds headless chromium takes from navigation to the page's load event (every picture decoded)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.goto(page.as_uri())
            timing = tab.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
        finally:
            browser.close()
    return float(timing["loadEventEnd"] - timing["startTime"]) / 1000


def _long_episode(folder: Path, minutes: float) -> Path:
    source = REAL / LONG_SOURCE
    copies = max(1, round(minutes * 60 / 19.019))
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{source}'\n" for _ in range(copies)))
    episode = folder / "Sakurasou no Pet na Kanojo - 01.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", listing, "-c", "copy", "-y", episode],
        check=True,
    )
    return episode


def measure(minutes: float, keep: Path | None) -> None:
    """Time the digest of a long 1080p episode against decoding it with ffmpeg."""
    with tempfile.TemporaryDirectory(prefix="animevid-digest-bench-") as temporary:
        folder = keep or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        episode = _long_episode(folder, minutes)
        indexed = _index(episode, folder / "library")
        started = time.perf_counter()
        subprocess.run(["ffmpeg", "-v", "error", "-i", episode, "-f", "null", "-"], check=True)
        anchor = time.perf_counter() - started
        started = time.perf_counter()
        files = write_digest(folder / "library", episode, folder / "digest")
        took = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sizes = {p.name: p.stat().st_size for p in (files.html, files.json, files.contact) if p is not None}
        print(f"episode: {episode.name}, {minutes:.0f} min 1080p, indexed in {indexed:.1f} s")
        print(f"digest: {took:.1f} s; ffmpeg decode anchor {anchor:.1f} s; ratio {took / anchor:.2f}")
        print(f"peak RSS of this process (index + digest): {peak:.0f} MB")
        for name, size in sizes.items():
            print(f"  {name}: {size / 1e6:.2f} MB")
        print(f"page load in headless chromium: {load_seconds(files.html):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clip", default="onepiece_gear5_action_engsubs.mp4", help="a clip in ../shared/data/real/video"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "digest.png")
    parser.add_argument("--minutes", type=float, default=0.0, help="also time a digest of an episode this long")
    parser.add_argument("--keep", type=Path, default=None, help="keep the long episode, library and digest here")
    args = parser.parse_args()
    clip = REAL / args.clip
    if not clip.is_file():
        raise SystemExit(f"{clip}: not found (the real clips live in ../shared/data/real/video)")
    with tempfile.TemporaryDirectory(prefix="animevid-digest-shot-") as temporary:
        folder = Path(temporary)
        _index(clip, folder / "library")
        started = time.perf_counter()
        files = write_digest(folder / "library", clip, folder / "digest")
        took = time.perf_counter() - started
        size = screenshot(files.html, args.out)
        print(f"{clip.name}: digest {took:.2f} s, page {files.html.stat().st_size / 1e3:.0f} kB")
        print(f"screenshot {args.out}: {size / 1e3:.0f} kB")
    if args.minutes > 0:
        measure(args.minutes, args.keep)


if __name__ == "__main__":
    main()
