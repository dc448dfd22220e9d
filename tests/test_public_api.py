"""The curated public surface and the small shared pieces behind it."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import animevid
from animevid.decode import DECODERS
from animevid.device import resolve_device
from animevid.errors import AnimevidError, BackendUnavailableError, ConfigError, UnknownNameError
from animevid.registry import Registry


def test_all_matches_the_lazy_export_table() -> None:
    assert set(animevid.__all__) == {"__version__", *animevid._EXPORTS}


def test_every_exported_name_resolves() -> None:
    for name in animevid.__all__:
        assert getattr(animevid, name) is not None, name
    assert animevid.__all__[1:] == sorted(animevid.__all__[1:])


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        animevid.no_such_thing  # noqa: B018


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, animevid; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_registry_lists_valid_names_and_missing_backends() -> None:
    registry: Registry[object] = Registry("widget")
    registry.register("a")(object)
    registry.mark_unavailable("b", "install extra b")
    with pytest.raises(UnknownNameError, match="unknown widget 'zz'; valid widgets are: a"):
        registry.create("zz")
    with pytest.raises(BackendUnavailableError, match="install extra b"):
        registry.create("b")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a")(object)


def test_every_error_is_an_animevid_error() -> None:
    assert issubclass(UnknownNameError, AnimevidError) and issubclass(BackendUnavailableError, AnimevidError)


def test_pyav_is_always_registered() -> None:
    assert "pyav" in DECODERS.names()


def test_device_resolution() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="--device cpu"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="auto, cpu or cuda"):  # a user's option: a one-line error, not a bug
        resolve_device("tpu")
