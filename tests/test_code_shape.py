"""The code's shape, checked: layers a tool enforces, no long function, one version, an installable wheel."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import animevid

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_FUNCTION_LINES = 60


def test_no_function_is_over_60_lines() -> None:
    long = []
    for folder in ("animevid", "bench", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def copy_of_the_package(tmp_path: Path) -> Path:
    """The package's source and the import contract, in a folder of their own."""
    shutil.copytree(ROOT / "animevid", tmp_path / "animevid", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.skip("import-linter is not installed (the dev extra)")
    env = {**os.environ, "PYTHONPATH": str(folder)}  # the copy, not the checkout, is the package found
    return subprocess.run([str(LINT_IMPORTS)], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_the_layers_hold_and_an_upward_import_or_a_cycle_breaks_them(tmp_path: Path) -> None:
    assert lint_imports(copy_of_the_package(tmp_path / "as-is")).returncode == 0
    upward = copy_of_the_package(tmp_path / "upward")
    engine = upward / "animevid" / "engine" / "_pass.py"
    engine.write_text(engine.read_text() + "\nfrom animevid.pipeline import episode_pass  # noqa\n")
    broken = lint_imports(upward)
    assert broken.returncode == 1 and "animevid.engine._pass -> animevid.pipeline" in broken.stdout
    cycle = copy_of_the_package(tmp_path / "cycle")  # the cycle of old: shots reaching back into the wiring
    shots = cycle / "animevid" / "shots" / "__init__.py"
    shots.write_text(
        shots.read_text() + "\n\ndef _late() -> None:\n    from animevid.pipeline import detect_shots  # noqa\n"
    )
    broken = lint_imports(cycle)
    assert broken.returncode == 1 and "animevid.shots -> animevid.pipeline" in broken.stdout


def test_the_version_is_written_once_and_the_package_is_typed() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject and 'version = { attr = "animevid.__version__" }' in pyproject
    assert "\nversion =" not in pyproject.split("[tool.")[0]  # no second, static version in [project]
    assert (ROOT / "animevid" / "py.typed").is_file()


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_runs_the_demo(tmp_path: Path) -> None:
    """The demo needs nothing of the checkout: the sample is generated where it is absent."""
    build = [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*build, "-w", str(tmp_path / "dist")], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("animevid-*.whl")
    assert wheel.name.startswith(f"animevid-{animevid.__version__}-")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = [p for p in sys.path if p.endswith("site-packages")]  # the dependencies, not this checkout
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # the dependencies' folder also holds this checkout's editable install: pip must not take it for the wheel
    install = [str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q", str(wheel)]
    subprocess.run(install, check=True, env=env, capture_output=True, timeout=300)
    where = subprocess.run(
        [str(python), "-c", "import animevid; print(animevid.__file__)"], cwd=tmp_path, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert where.returncode == 0 and where.stdout.startswith(str(venv)), where.stderr
    demo = subprocess.run(
        [str(python), "-m", "animevid", "demo", "--out", "out"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    checks = json.loads((tmp_path / "out" / "report.json").read_text())["checks"]
    exact = [c for c in checks if c["name"] in ("frames", "shots", "scenes")]
    assert len(exact) == 3 and all(c["truth"] == c["measured"] for c in exact)
