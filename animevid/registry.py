"""Register implementations by name and build them through a factory.

Decoders, detectors, embedders and indexes are created by name from config; an
unknown name raises :class:`~animevid.errors.UnknownNameError` listing the valid
ones. A backend whose library does not import is simply never registered, and
asking for it by a known-but-missing name says what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from animevid.errors import BackendUnavailableError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> factory table for one kind of component.

    Args:
        kind: What the registry holds, used in messages ("decoder", "index").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        self._missing: dict[str, str] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` under ``name``."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def mark_unavailable(self, name: str, reason: str) -> None:
        """Record a known backend that cannot load here, and why (shown on request)."""
        self._missing[name] = reason

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._factories)

    def unavailable(self) -> dict[str, str]:
        """Known names that did not register, with the reason."""
        return dict(self._missing)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered under ``name``.

        Raises:
            BackendUnavailableError: ``name`` is known but its library is missing.
            UnknownNameError: ``name`` is not known at all.
        """
        if name in self._factories:
            return self._factories[name]
        if name in self._missing:
            raise BackendUnavailableError(f"{self.kind} {name!r} is not available here: {self._missing[name]}")
        raise UnknownNameError(self.kind, name, self.names())

    def create(self, name: str, *args: object, **kwargs: object) -> T:
        """Build the component registered under ``name``."""
        return self.get(name)(*args, **kwargs)
