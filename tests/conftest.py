"""Shared fixtures: real clips (skipped when absent) and seeded synthetic episodes."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.helpers import REAL_DIR


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL_DIR.is_dir():
        pytest.skip(f"real test data folder not found: {REAL_DIR}")
    return REAL_DIR


@pytest.fixture(scope="session")
def synth_episode(tmp_path_factory: pytest.TempPathFactory):
    """A 20 s seeded synthetic episode (mp4, mkv, ass, truth), made once per run."""
    from animevid.synth import generate_episode

    return generate_episode(tmp_path_factory.mktemp("synth"), seed=7, seconds=20.0)


@pytest.fixture(autouse=True)
def _fail_on_error_logs(caplog: pytest.LogCaptureFixture):
    """A test that logs at ERROR fails (STYLE.md rule 11)."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("test logged at ERROR: " + "; ".join(r.getMessage() for r in errors))
