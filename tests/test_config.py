"""Configuration: every shipped file loads, defaults live in the dataclasses, bad values are named."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

import animevid.config as config_module
from animevid.config import CONFIG_DIR, Config, config_as_dict, load_config
from animevid.errors import ConfigError


@pytest.mark.parametrize("name", ["default.yaml", "cpu.yaml", "gpu.yaml"])
def test_each_shipped_config_loads(name: str) -> None:
    config = load_config(CONFIG_DIR / name)
    assert isinstance(config, Config)


def test_default_yaml_lists_every_option_with_its_default() -> None:
    written = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text())
    assert written == config_as_dict(Config()), "configs/default.yaml drifted from the dataclass defaults"


def test_default_yaml_has_a_comment_per_option() -> None:
    lines = (CONFIG_DIR / "default.yaml").read_text().splitlines()
    option_lines = [ln for ln in lines if ":" in ln and not ln.strip().startswith("#") and not ln.endswith(":")]
    assert option_lines and all("#" in ln for ln in option_lines)


def test_every_option_has_a_docstring() -> None:
    tree = ast.parse(Path(config_module.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.endswith("Config"):
            body = node.body
            for k, item in enumerate(body):
                if isinstance(item, ast.AnnAssign):
                    doc = body[k + 1] if k + 1 < len(body) else None
                    assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant), (
                        f"{node.name}.{item.target.id} has no docstring"  # type: ignore[union-attr]
                    )


def test_overrides_apply_and_none_keeps_the_file_value(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("decode:\n  batch_frames: 16\n")
    config = load_config(path, overrides={"device": "cpu", "decode": {"batch_frames": None, "backend": "pyav"}})
    assert config.decode.batch_frames == 16 and config.device == "cpu"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("decode:\n  batch_framez: 1\n", "unknown option 'decode.batch_framez'"),
        ("decode:\n  batch_frames: many\n", "decode.batch_frames must be int"),
        ("decode:\n  batch_frames: 0\n", "batch_frames must be > 0"),
        ("device: tpu\n", "device is 'tpu'; allowed: auto, cpu, cuda"),
        ("decode: 3\n", "decode must be a mapping"),
        ("- a\n- b\n", "must hold a mapping"),
        ("decode: [\n", "not valid YAML"),
    ],
)
def test_bad_values_are_named_with_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
