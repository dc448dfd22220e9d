"""The endpoints: trace.moe's ``/search``, ``/me``, previews and ``/anilist``; the page and its small JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from animevid.errors import AnimevidError
from animevid.serve._app import Server, json_response, page_html
from animevid.serve._media import SIZES, PreviewError, preview_image, preview_video
from animevid.serve._upload import HttpError, fetch_url, parse_query, read_body, upload_bytes

Endpoint = Callable[[Request], Awaitable[Response]]
Work = Callable[[Request, str, dict[str, str]], Awaitable[Response]]


def _guarded(server: Server, work: Work, *, needs_key: bool = True, limited: bool = True) -> Endpoint:
    """Admit the client (key, rate limit), run the work, and answer every failure as trace.moe does."""

    async def endpoint(request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            client = "preview"
            if limited:
                client, headers = server.admit(request, needs_key=needs_key)
            response = await work(request, client, headers)
        except HttpError as exc:
            return json_response({"error": exc.message}, {**headers, **exc.headers}, exc.status)
        response.headers.update(headers)
        return response

    return endpoint


def routes(server: Server) -> list[tuple[str, Endpoint, list[str]]]:
    """(path, endpoint, methods) of every route."""
    return [
        ("/", _page, ["GET"]),
        ("/search", _guarded(server, _search(server)), ["GET", "POST"]),
        ("/me", _guarded(server, _me(server)), ["GET"]),
        ("/anilist", _guarded(server, _anilist(server), needs_key=False), ["POST"]),
        ("/anilist/", _guarded(server, _anilist(server), needs_key=False), ["POST"]),
        ("/image/{token}", _guarded(server, _preview(server, video=False), limited=False), ["GET"]),
        ("/video/{token}", _guarded(server, _preview(server, video=True), limited=False), ["GET"]),
        ("/api/text", _guarded(server, _text(server)), ["GET"]),
        ("/api/character", _guarded(server, _character(server)), ["GET"]),
        ("/api/library", _guarded(server, _library(server), needs_key=False), ["GET"]),
    ]


async def _page(request: Request) -> Response:
    return HTMLResponse(page_html(), headers={"cache-control": "no-cache"})


def _search(server: Server) -> Work:
    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        cfg = server.cfg
        limit = int(cfg.max_upload_mb * 1_000_000)
        url = request.query_params.get("url")
        if url is not None:
            if not cfg.fetch_urls:
                raise HttpError(400, "Invalid image url: this server does not fetch URLs (serve.fetch_urls); upload it")
            data = await asyncio.to_thread(fetch_url, url, limit, cfg.fetch_timeout_seconds)
        elif request.method == "GET":
            raise HttpError(400, "Invalid image url: GET /search needs ?url=; or POST the image")
        elif request.headers.get("content-type", "").startswith("application/json"):
            raise HttpError(400, "Invalid vector format: this server searches pictures, not colour-layout vectors")
        else:
            data = await upload_bytes(request, await read_body(request, limit, cfg.body_timeout_seconds), limit)
        anilist_id = _int_param(request, "anilistID")
        info = "anilistInfo" in request.query_params
        base = str(request.base_url)

        def run() -> dict[str, Any]:
            return server.search(parse_query(data, cfg.max_video_seconds), base, anilist_id, info)

        return json_response(await server.run_search(client, run))

    return work


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise HttpError(400, f"Invalid {name}: {value!r} is not a number")
    return int(value)


def _me(server: Server) -> Work:
    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        if "period" in request.query_params:
            return json_response([])  # no usage history is kept
        cfg = server.cfg
        return json_response(
            {
                "id": client,
                "priority": 1 if client.startswith("key:") else 0,
                "concurrency": cfg.concurrency,
                "quota": cfg.quota,
                "quotaUsed": server.limits.used(client),
            }
        )

    return work


def _anilist(server: Server) -> Work:
    """trace.moe's AniList proxy, answered from the sidecars (clients such as PicImageSearch ask it for titles)."""

    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        try:
            body = await request.json()
            wanted = int(body["variables"]["id"])
        except (ValueError, KeyError, TypeError):
            raise HttpError(400, "Invalid AniList query: send {query, variables: {id}}") from None
        with server.view.reading() as state:
            known = [e.anilist for e in state.episodes.values() if e.anilist["id"] == wanted]
        media: dict[str, Any] = {
            "id": wanted,
            "idMal": None,
            "title": {"native": None, "romaji": None, "english": None},
        }
        media = {**media, "synonyms": [], "isAdult": False, **(known[0] if known else {})}
        for key, value in (("type", "ANIME"), ("format", None), ("coverImage", {"large": None})):
            media.setdefault(key, value)
        for key in ("startDate", "endDate"):
            media.setdefault(key, {"year": None, "month": None, "day": None})
        return json_response({"data": {"Media": media}})

    return work


def _preview(server: Server, *, video: bool) -> Work:
    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        preview = server.tokens.read(request.path_params["token"])
        size = request.query_params.get("size", "m")
        if preview is None or size not in SIZES:
            raise HttpError(404, "Not found: this preview id was not made by this server (or it restarted)")
        with server.view.reading() as state:
            episode = state.episodes.get(preview.episode_id)
        if episode is None:
            raise HttpError(404, "Not found: the episode is no longer in the library")
        mute = "mute" in request.query_params
        width = SIZES[size]

        def make() -> bytes:
            if video:
                return preview_video(episode.path, preview.start, preview.end, width, mute=mute)
            return preview_image(episode.path, preview.at, width)

        try:
            data = await server.run_media((request.path_params["token"], size + "v" * video, mute), make)
        except PreviewError as exc:
            raise HttpError(404, f"Not found: {exc}") from None
        kind = "video/mp4" if video else "image/jpeg"
        return Response(data, media_type=kind, headers={"cache-control": "private, max-age=300"})

    return work


def _text(server: Server) -> Work:
    """Dialogue search for the page: hits with the same preview URLs as screenshot hits."""

    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        from animevid.search import search_text

        text = request.query_params.get("q", "").strip()
        if not text:
            raise HttpError(400, "Give the dialogue to find as ?q=")
        base = str(request.base_url)

        def run() -> dict[str, Any]:
            with server.view.reading() as state:
                hits = search_text(text, library=server.folder, top=20) if state.index is not None else []
                return {
                    "result": [_placed(server, state, h.episode_id, h.seconds, base, {"text": h.text}) for h in hits]
                }

        try:
            return json_response(await server.run_search(client, run))
        except AnimevidError as exc:
            raise HttpError(400, str(exc)) from None

    return work


def _character(server: Server) -> Work:
    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        from animevid.characters import search_character

        name = request.query_params.get("name", "").strip()
        base = str(request.base_url)

        def run() -> dict[str, Any]:
            with server.view.reading() as state:
                hits = search_character(server.folder, name)
                return {
                    "result": [
                        _placed(server, state, h["episode_id"], h["start_seconds"], base, {"faces": h["faces"]})
                        for h in hits
                        if h["episode_id"] in state.episodes
                    ][:50]
                }

        try:
            return json_response(await server.run_search(client, run))
        except AnimevidError as exc:
            raise HttpError(400, str(exc)) from None

    return work


def _placed(server: Server, state: Any, episode_id: int, seconds: float, base: str, extra: dict[str, Any]) -> dict:
    from animevid.search import SearchHit

    episode = state.episodes[episode_id]
    return {
        **server.hit_dict(state, SearchHit(episode_id, episode.path, 0, seconds, seconds, 1.0), base, False),
        **extra,
    }


def _library(server: Server) -> Work:
    async def work(request: Request, client: str, headers: dict[str, str]) -> Response:
        from animevid.catalog import CATALOG_FILENAME, Catalog

        def run() -> dict[str, Any]:
            with server.view.reading() as state:
                names: list[str] = []
                if (server.folder / CATALOG_FILENAME).is_file() and state.index is not None:
                    with Catalog.in_library(server.folder) as catalog:
                        names = sorted(catalog.characters()["name"])
                return {"episodes": len(state.episodes), "frameCount": state.frames, "characters": names}

        return json_response(await asyncio.to_thread(run))

    return work
