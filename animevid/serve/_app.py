"""The trace.moe-compatible HTTP API and the search page, as a Starlette application."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from animevid.config import Config
from animevid.errors import AnimevidError, SearchError
from animevid.library import Library
from animevid.search import SearchHit, search_image, search_video
from animevid.serve._limits import ClientLimits, Gate, Preview, Tokens
from animevid.serve._upload import HttpError, Query
from animevid.serve._view import EpisodeInfo, LibraryState, LibraryView

log = logging.getLogger("animevid.serve")

TOP = 10
"""Hits per search, as trace.moe."""
PREVIEW_CACHE_BYTES = 64_000_000
"""Previews kept in memory (a page shows the same ones again)."""

Handler = Callable[[Request], Awaitable[Response]]


class Server:
    """What the routes share: the library view, limits, worker pools and the preview cache.

    Args:
        folder: The library folder.
        config: Options (``serve`` and ``search``).
    """

    def __init__(self, folder: Path, config: Config) -> None:
        self.folder = folder
        self.cfg = config.serve
        self.search_config = replace(config.search, merge_seconds=self.cfg.merge_seconds)
        self.view = LibraryView(folder, config.search)
        self.tokens = Tokens()
        self.limits = ClientLimits(self.cfg.rate_limit, self.cfg.quota, self.cfg.concurrency)
        self.gate = Gate(self.cfg.workers, self.cfg.queue)
        self.media_gate = Gate(2, 8)
        self.searches = ThreadPoolExecutor(self.cfg.workers, thread_name_prefix="animevid-search")
        self.media = ThreadPoolExecutor(2, thread_name_prefix="animevid-preview")
        self._cache: OrderedDict[tuple[str, str, bool], bytes] = OrderedDict()
        self._cache_lock = threading.Lock()

    def close(self) -> None:
        """Stop the worker pools (running work finishes)."""
        self.searches.shutdown(wait=False, cancel_futures=True)
        self.media.shutdown(wait=False, cancel_futures=True)

    # -- who is asking ----------------------------------------------------------------------------

    def admit(self, request: Request, *, needs_key: bool) -> tuple[str, dict[str, str]]:
        """The client's id and rate-limit headers; raises 403 for a wrong key and 429 past the rate limit."""
        key = request.query_params.get("key") or request.headers.get("x-trace-key") or ""
        keys = self.cfg.key_set
        if key and key not in keys:
            raise HttpError(403, "Invalid API key")
        if needs_key and self.cfg.require_key and not key:
            raise HttpError(403, "Invalid API key: this server needs one (?key= or the x-trace-key header)")
        client = f"key:{key[:4]}…" if key else (request.client.host if request.client else "unknown")
        allowed, headers = self.limits.hit(client)
        if not allowed:
            raise HttpError(429, "Too many requests, please try again later", headers)
        return client, headers

    # -- work in the pools ------------------------------------------------------------------------

    async def run_search(self, client: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one search in the bounded pool: 402 past the client's quota or concurrency, 503 when full, 504 late."""
        why = self.limits.begin_search(client)
        if why is not None:
            raise HttpError(402, why)
        if not self.gate.enter():
            self.limits.end_search(client)
            raise HttpError(503, "Error: Search queue is full, please try again later")
        try:
            future = self.searches.submit(work)
        except RuntimeError:  # the pool is shutting down
            self.gate.leave()
            self.limits.end_search(client)
            raise HttpError(503, "Search queue is full: the server is stopping") from None

        def done(_: Future[dict[str, Any]]) -> None:  # a late search keeps its place until it ends
            self.gate.leave()
            self.limits.end_search(client)

        future.add_done_callback(done)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.cfg.search_timeout_seconds)
        except TimeoutError:
            raise HttpError(504, f"Search timed out after {self.cfg.search_timeout_seconds:g} s") from None

    async def run_media(self, key: tuple[str, str, bool], make: Callable[[], bytes]) -> bytes:
        """A preview from the cache, else made in the preview pool (503 when it is busy)."""
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if not self.media_gate.enter():
            raise HttpError(503, "Preview queue is full, please try again later")
        try:
            future = self.media.submit(make)
            data = await asyncio.wait_for(asyncio.wrap_future(future), self.cfg.search_timeout_seconds)
        except TimeoutError:
            raise HttpError(504, "Preview timed out") from None
        finally:
            self.media_gate.leave()
        with self._cache_lock:
            self._cache[key] = data
            while sum(len(v) for v in self._cache.values()) > PREVIEW_CACHE_BYTES and len(self._cache) > 1:
                self._cache.popitem(last=False)
        return data

    # -- searching --------------------------------------------------------------------------------

    def search(self, query: Query, base_url: str, anilist_id: int | None, info: bool) -> dict[str, Any]:
        """trace.moe's search response for a query (runs in a worker thread)."""
        try:
            with self.view.reading() as state:
                return self._search_in(state, query, base_url, anilist_id, info)
        except SearchError as exc:
            raise HttpError(503, f"The library cannot be searched now: {exc}") from None

    def _search_in(
        self, state: LibraryState, query: Query, base_url: str, anilist_id: int | None, info: bool
    ) -> dict[str, Any]:
        if state.index is None:
            return {"frameCount": 0, "error": "", "result": []}
        top = TOP * 5 if anilist_id else TOP
        options: dict[str, Any] = {"library": self.folder, "top": top, "config": self.search_config}
        if query.picture is not None:
            result = search_image(query.picture, index=state.index, **options)
        else:
            assert query.video is not None
            with tempfile.TemporaryDirectory(prefix="animevid-query-") as folder:
                path = Path(folder) / f"query{query.suffix}"
                path.write_bytes(query.video)
                try:
                    result = search_video(path, index=state.index, **options)
                except AnimevidError as exc:  # a video that probes but has no decodable frame
                    raise HttpError(400, f"Failed to process image: {exc}".replace(str(path), "the upload")) from None
        hits = [
            self.hit_dict(state, hit, base_url, info)
            for hit in result.hits
            if not anilist_id or state.episodes[hit.episode_id].anilist["id"] == anilist_id
        ]
        return {"frameCount": state.frames, "error": "", "result": hits[:TOP]}

    def hit_dict(self, state: LibraryState, hit: SearchHit, base_url: str, info: bool) -> dict[str, Any]:
        """One trace.moe result: the hit's shot as from/to, signed preview URLs; beyond trace.moe, ``box``:
        the part of the frame the query showed (x0, y0, x1, y1 in shares of its width and height)."""
        episode = state.episodes[hit.episode_id]
        start, end = state.shot_around(self.folder, hit.episode_id, hit.seconds) or (hit.seconds, hit.end_seconds)
        preview = self.preview_of(episode, hit.seconds, start, end)
        found = {"box": [round(v, 3) for v in hit.box]} if hit.box is not None else {}
        return found | {
            "anilist": episode.anilist if info else episode.anilist["id"],
            "filename": episode.filename,
            "episode": episode.number,
            "duration": round(episode.duration, 3),
            "from": round(start, 3),
            "to": round(end, 3),
            "at": round(hit.seconds, 3),
            "similarity": round(min(1.0, max(0.0, hit.score)), 4),
            "video": f"{base_url}video/{self.tokens.make(preview)}?t={hit.seconds:.2f}",
            "image": f"{base_url}image/{self.tokens.make(preview)}?t={hit.seconds:.2f}",
        }

    def preview_of(self, episode: EpisodeInfo, at: float, start: float, end: float) -> Preview:
        """The preview of a hit: its shot, cut to ``preview_seconds`` around the hit when longer."""
        longest = self.cfg.preview_seconds
        if end - start > longest:
            start = min(max(start, at - longest / 2), end - longest)
            end = start + longest
        return Preview(episode.episode_id, at, start, end)


def create_app(folder: str | Path, config: Config | None = None) -> Starlette:
    """The server's ASGI application for a library folder (run it with uvicorn, or :func:`run_server`)."""
    from animevid.serve._routes import routes

    server = Server(Path(folder), config or Config())
    app = Starlette(
        routes=[Route(path, endpoint, methods=methods) for path, endpoint, methods in routes(server)],
        exception_handlers={HTTPException: _http_error, Exception: _crash(server)},  # type: ignore[dict-item]
        lifespan=_lifespan(server),
    )
    app.state.server = server
    return app


def _lifespan(server: Server) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        server.close()

    return lifespan


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _crash(server: Server) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        logged = Library(server.folder).log_error(f"serve {request.url.path}", exc)
        where = f"; details in {logged}" if logged else ""
        return JSONResponse({"error": f"Internal error: {type(exc).__name__}{where}"}, status_code=500)

    return handler


def json_response(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    """JSON as trace.moe sends it (UTF-8, no ASCII escaping)."""
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def page_html() -> str:
    """The search page (one self-contained file, no network request but to this server)."""
    return resources.files("animevid.serve").joinpath("page.html").read_text(encoding="utf-8")
