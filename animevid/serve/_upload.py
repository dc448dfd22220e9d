"""Reading a query from a request: the raw body or any multipart file field, or a URL, within limits.

Sizes are checked while the bytes arrive (and from Content-Length before), pictures' pixel counts
from their header before decoding, videos' size and length from their container before decoding.
Nothing a client sends names a file here: a video query is written to a temporary file this
module names.
"""

from __future__ import annotations

import asyncio
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from starlette.datastructures import UploadFile
from starlette.requests import Request

from animevid.errors import AnimevidError
from animevid.pictures import MAX_PICTURE_PIXELS, decode_picture, picture_format

PICTURE_KINDS = "a PNG, JPEG, WebP or BMP screenshot, or a short video or GIF"


class HttpError(Exception):
    """An answer other than 200: status and trace.moe's message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class _BadUpload(AnimevidError):
    """A picture that cannot be used (becomes a 400)."""


@dataclass(frozen=True)
class Query:
    """A query as searched: a picture, or a video's bytes (searched frame by frame)."""

    picture: np.ndarray | None
    video: bytes | None
    suffix: str = ".mp4"


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole request body, refused once it passes ``limit`` bytes or takes longer than ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, _too_large(int(declared), limit))
    chunks: list[bytes] = []
    size = 0

    async def collect() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HttpError(413, _too_large(size, limit))
            chunks.append(chunk)

    try:
        await asyncio.wait_for(collect(), timeout)
    except TimeoutError:
        raise HttpError(408, f"Failed to process image: the upload did not arrive within {timeout:g} s") from None
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"Payload too large: {size / 1e6:.1f} MB, this server takes at most {limit / 1e6:.0f} MB"


async def upload_bytes(request: Request, body: bytes, limit: int) -> bytes:
    """The uploaded file: the first file field of a multipart body (any name), else the raw body."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return body

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(request.scope, replay).form(max_files=4, max_fields=32, max_part_size=limit) as form:
            for value in form.values():
                if isinstance(value, UploadFile):
                    return await value.read()
    except HttpError:
        raise
    except Exception as exc:
        raise HttpError(400, f"Failed to process image: the multipart body cannot be read ({exc})") from None
    raise HttpError(400, "Failed to process image: the form holds no file; send the image as a file field")


def fetch_url(url: str, limit: int, timeout: float) -> bytes:
    """An image by URL (http/https only), at most ``limit`` bytes, within ``timeout`` seconds."""
    if not url.lower().startswith(("http://", "https://")):
        raise HttpError(400, "Invalid image url: only http:// and https:// addresses are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": "animevid-serve"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the answer's socket
        raise HttpError(400, f"Failed to fetch image {url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise HttpError(400, f"Failed to fetch image {url}: {exc}") from None
    if len(data) > limit:
        raise HttpError(413, _too_large(len(data), limit))
    return data


def parse_query(data: bytes, max_video_seconds: float) -> Query:
    """A picture (decoded after its header's pixel count is checked) or a short video/GIF (checked, kept as bytes)."""
    if not data:
        raise HttpError(400, f"Failed to process image: the upload is empty; send {PICTURE_KINDS}")
    kind = picture_format(data)
    if kind is not None and kind != "GIF":
        try:
            return Query(decode_picture(data, "the upload", _BadUpload, kinds=PICTURE_KINDS), None)
        except _BadUpload as exc:
            raise HttpError(400, f"Failed to process image: {exc}") from None
    suffix = ".gif" if kind == "GIF" else ".mp4"
    _check_video(data, suffix, max_video_seconds)
    return Query(None, data, suffix)


def _check_video(data: bytes, suffix: str, max_seconds: float) -> None:
    import av

    with tempfile.TemporaryDirectory(prefix="animevid-query-") as folder:
        path = Path(folder) / f"query{suffix}"
        path.write_bytes(data)
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise HttpError(400, f"Failed to process image: the upload has no picture; send {PICTURE_KINDS}")
                stream = container.streams.video[0]
                pixels = stream.codec_context.width * stream.codec_context.height
                seconds = container.duration / 1e6 if container.duration else 0.0
        except (av.FFmpegError, OSError, UnicodeDecodeError):
            raise HttpError(400, f"Failed to process image: not a picture or video; send {PICTURE_KINDS}") from None
    if pixels > MAX_PICTURE_PIXELS:
        raise HttpError(400, f"Failed to process image: the video's frames are {pixels / 1e6:.0f} megapixels")
    if seconds > max_seconds:
        raise HttpError(
            400, f"Failed to process image: the video lasts {seconds:.0f} s; send at most {max_seconds:g} s"
        )
