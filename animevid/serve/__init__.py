"""A self-hosted scene-search server that trace.moe clients use unchanged, and a search page.

:func:`create_app` builds the Starlette application for a library folder; :func:`run_server`
serves it with uvicorn. The API follows trace.moe's public one (``/search``, ``/me``, preview
``image``/``video`` URLs, its error codes and messages, its rate-limit headers), so a client
changes only its base URL. Searches run in a bounded pool of worker threads against a consistent
view of the library (see :mod:`animevid.serve._view`); limits are in :class:`~animevid.config.ServeConfig`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from animevid.config import Config
from animevid.releases import episode_number
from animevid.serve._app import Server, create_app
from animevid.serve._limits import ClientLimits, Gate, Preview, Tokens
from animevid.serve._view import anilist_of

__all__ = [
    "ClientLimits",
    "Gate",
    "Preview",
    "Server",
    "Tokens",
    "anilist_of",
    "create_app",
    "episode_number",
    "exposure_warning",
    "run_server",
]


def exposure_warning(host: str, config: Config) -> str | None:
    """What to warn about before listening on ``host``: None on loopback or with API keys."""
    if config.serve.key_set:
        return None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return None
    return (
        f"listening on {host} without an API key: anyone who can reach this address can search the library "
        "and watch its previews; set serve.keys (and serve.require_key) in a --config file"
    )


def run_server(folder: str | Path, config: Config, *, host: str, port: int) -> None:
    """Serve a library until interrupted (uvicorn, one process; searches run in worker threads)."""
    import uvicorn

    cfg = config.serve
    uvicorn.run(
        create_app(folder, config),
        host=host,
        port=port,
        log_level="warning",
        # connections beyond the searches that may run or wait, plus page and preview requests, get 503
        limit_concurrency=cfg.workers + cfg.queue + 64,
        timeout_keep_alive=5,
        server_header=False,
    )
