"""The stage interface and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from animevid.decode import FrameBatch
from animevid.registry import Registry


class Stage(ABC):
    """One analysis step fed every batch of the single decode pass.

    Args:
        device: Resolved torch device the batches arrive on.
    """

    name: ClassVar[str] = ""

    def __init__(self, *, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)

    @abstractmethod
    def process(self, batch: FrameBatch) -> Sequence[Any]:
        """Consume the next batch (in frame order) and return records ready now."""

    def finish(self) -> Sequence[Any]:
        """Return records held back until the stream ended (none by default)."""
        return []


STAGES: Registry[Stage] = Registry("stage")
"""Stages by name."""
