"""Every command's output on fixed inputs equals what was recorded before the memory and engine refactors.

The recording (tests/data/reference_outputs.json.gz, made by ``python -m tests.reference record``
on commit be321d1) holds, for the bundled sample and each real clip, what ``animevid index``
stores and the JSON of ``shots``, ``analyze``, ``scenes`` and ``subs align``. A change that means
to change an output re-records it, and says so in its commit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.reference import SAMPLE, canonical, inputs, load_recorded, outputs

RECORDED = load_recorded()


@pytest.mark.parametrize("path", inputs(), ids=lambda p: p.name)
def test_outputs_equal_the_recorded_ones(path: Path) -> None:
    if path.name not in RECORDED:
        pytest.skip(f"nothing recorded for {path.name}")
    found = canonical(outputs(path))
    expected = RECORDED[path.name]
    for what in expected:
        assert _differences(found[what], expected[what]) == [], f"{path.name}: {what} changed"


def test_the_sample_is_recorded() -> None:
    assert SAMPLE.name in RECORDED and set(RECORDED[SAMPLE.name]) == {
        "index",
        "shots",
        "analyze",
        "scenes",
        "subs align",
    }


def _differences(found: Any, expected: Any, where: str = "") -> list[str]:
    """Where two JSON values differ (the first few), for a readable failure."""
    if isinstance(expected, dict) and isinstance(found, dict) and expected.get("approx"):
        return _approx_differences(found, expected, where)
    if isinstance(expected, dict) and isinstance(found, dict):
        keys = sorted(set(expected) | set(found))
        return [d for k in keys for d in _differences(found.get(k), expected.get(k), f"{where}.{k}")][:10]
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [
            d for i, (f, e) in enumerate(zip(found, expected, strict=True)) for d in _differences(f, e, f"{where}[{i}]")
        ][:10]
    return [] if found == expected else [f"{where}: {found!r} != {expected!r}"]


def _approx_differences(found: dict[str, Any], expected: dict[str, Any], where: str) -> list[str]:
    """A float array's shape exactly, its sum and sampled values to within CPU-to-CPU rounding."""
    if found.get("shape") != expected["shape"] or len(found.get("sample", [])) != len(expected["sample"]):
        return [f"{where}: shape {found.get('shape')} != {expected['shape']}"]
    pairs = [("sum", found["sum"], expected["sum"])]
    pairs += [(f"sample[{i}]", f, e) for i, (f, e) in enumerate(zip(found["sample"], expected["sample"], strict=True))]
    wrong = [(name, f, e) for name, f, e in pairs if not math.isclose(f, e, rel_tol=1e-5, abs_tol=1e-6)]
    return [f"{where}.{name}: {f!r} != {e!r}" for name, f, e in wrong][:10]
