"""Who may ask what: preview tokens, per-client rate limit, quota and concurrency, the bounded search queue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import os
import struct
import threading
import time
from dataclasses import dataclass

_TOKEN = struct.Struct("<Iddd")
"""episode id, hit time, preview start, preview end."""


@dataclass(frozen=True)
class Preview:
    """What a preview URL stands for: a time of an episode and the shot around it."""

    episode_id: int
    at: float
    start: float
    end: float


class Tokens:
    """Opaque, signed preview ids: a preview URL names an episode id and times, never a path.

    The signing key is drawn when the server starts, so ids cannot be forged or edited (a changed
    byte fails the signature) and stop working when the server restarts, as trace.moe's expire.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or os.urandom(32)

    def make(self, preview: Preview) -> str:
        """The id of a preview."""
        body = _TOKEN.pack(preview.episode_id, preview.at, preview.start, preview.end)
        return _b64(body) + "." + _b64(self._sign(body))

    def read(self, token: str) -> Preview | None:
        """The preview an id stands for; None for anything this server did not sign."""
        if len(token) > 200 or token.count(".") != 1:
            return None
        body_text, signature = token.split(".")
        try:
            body, sig = _unb64(body_text), _unb64(signature)
        except ValueError:
            return None
        if len(body) != _TOKEN.size or not hmac.compare_digest(sig, self._sign(body)):
            return None
        episode_id, at, start, end = _TOKEN.unpack(body)
        if not all(math.isfinite(v) for v in (at, start, end)):
            return None
        return Preview(episode_id, at, start, end)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:18]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Window:
    """A client's requests in the current minute."""

    start: float
    count: int = 0


class ClientLimits:
    """Per-client rate limit (requests a minute), 24-hour search quota and searches in flight.

    Args:
        rate_limit: Requests per minute per client; 0: none.
        quota: Searches per client per 24 hours; 0: none.
        concurrency: Searches one client may have running or waiting at once.
        clock: Seconds (tests pass their own).
    """

    MINUTE = 60.0
    DAY = 86400.0

    def __init__(self, rate_limit: int, quota: int, concurrency: int, clock: object = time.time) -> None:
        self.rate_limit, self.quota, self.concurrency = rate_limit, quota, concurrency
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, Window] = {}
        self._days: dict[str, Window] = {}
        self._running: dict[str, int] = {}

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def hit(self, client: str) -> tuple[bool, dict[str, str]]:
        """Count one request; whether it is within the rate limit, and the rate-limit headers to send."""
        now = self._now()
        with self._lock:
            if len(self._windows) > 100_000:  # a flood of addresses cannot grow this without bound
                self._windows = {k: w for k, w in self._windows.items() if now - w.start < self.MINUTE}
            window = self._windows.get(client)
            if window is None or now - window.start >= self.MINUTE:
                window = self._windows[client] = Window(now)
            window.count += 1
            reset = int(window.start + self.MINUTE)
            if not self.rate_limit:
                return True, {}
            headers = {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(0, self.rate_limit - window.count)),
                "x-ratelimit-reset": str(reset),
            }
            allowed = window.count <= self.rate_limit
            if not allowed:
                headers["retry-after"] = str(max(1, math.ceil(window.start + self.MINUTE - now)))
            return allowed, headers

    def used(self, client: str) -> int:
        """Searches the client made in its current 24-hour window."""
        with self._lock:
            day = self._days.get(client)
            return 0 if day is None or self._now() - day.start >= self.DAY else day.count

    def begin_search(self, client: str) -> str | None:
        """Start one search for a client: None when allowed (counted), else why not (a trace.moe message)."""
        now = self._now()
        with self._lock:
            day = self._days.get(client)
            if day is None or now - day.start >= self.DAY:
                day = self._days[client] = Window(now)
            if self.quota and day.count >= self.quota:
                return f"Search quota depleted (quota per 24 hours: {self.quota}, used: {day.count})"
            if self._running.get(client, 0) >= self.concurrency:
                return f"Concurrency limit exceeded (at most {self.concurrency} searches at once per client)"
            day.count += 1
            self._running[client] = self._running.get(client, 0) + 1
            return None

    def end_search(self, client: str) -> None:
        """One search of the client finished."""
        with self._lock:
            left = self._running.get(client, 1) - 1
            if left > 0:
                self._running[client] = left
            else:
                self._running.pop(client, None)


class Gate:
    """The bounded search queue: at most ``workers + queue`` searches running or waiting."""

    def __init__(self, workers: int, queue: int) -> None:
        self.capacity = workers + queue
        self._lock = threading.Lock()
        self._inside = 0

    def enter(self) -> bool:
        """Take a place; False when the queue is full."""
        with self._lock:
            if self._inside >= self.capacity:
                return False
            self._inside += 1
            return True

    def leave(self) -> None:
        """Give a place back."""
        with self._lock:
            self._inside -= 1
