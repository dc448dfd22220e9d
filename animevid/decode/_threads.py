"""Run an iterator in a background thread behind a bounded queue.

FFmpeg releases the GIL while it decodes and scales, so a producer thread lets
decoding, scaling and the analysis stages overlap on separate cores while the
bounded queue caps how many frames are held in memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def background(items: Iterator[T], *, maxsize: int, name: str = "animevid-prefetch") -> Iterator[T]:
    """Yield what ``items`` yields, produced ahead by a daemon thread.

    Exceptions raised by the producer are re-raised here, in order. Closing the
    returned generator early stops the producer at its next item.

    Args:
        items: The iterator to drain in the background.
        maxsize: Items produced ahead at most (>= 1).
        name: Thread name, shown by debuggers and py-spy.
    """
    if maxsize < 1:
        raise ValueError(f"maxsize must be >= 1, got {maxsize}")
    slots: queue.Queue[object] = queue.Queue(maxsize=maxsize)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(timeout=5)
