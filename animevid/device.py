"""Resolve ``device="auto"`` once, where the pipeline is wired (STYLE.md rule 5)."""

from __future__ import annotations

from typing import Literal

from animevid.errors import BackendUnavailableError, ConfigError

ResolvedDevice = Literal["cpu", "cuda"]


def resolve_device(device: str) -> ResolvedDevice:
    """Turn ``auto|cpu|cuda`` into the device torch work will use.

    Args:
        device: ``auto`` picks CUDA when torch sees a GPU, else the CPU.

    Returns:
        ``"cpu"`` or ``"cuda"``.

    Raises:
        BackendUnavailableError: ``cuda`` was asked for and torch sees no GPU.
        ConfigError: ``device`` is none of the three.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not one animevid knows; use --device auto, cpu or cuda")
    if device == "cpu":
        return "cpu"
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise BackendUnavailableError(
            "device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto"
        )
    return "cuda" if has_cuda else "cpu"
