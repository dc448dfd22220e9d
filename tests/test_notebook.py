"""The catalog tour notebook runs end to end (nbclient) on a fresh library and shows what the catalog holds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from animevid.config import Config
from animevid.pipeline import index_episodes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "catalog_tour.ipynb"
SAMPLE = ROOT / "data_samples"


def _text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_the_catalog_tour_runs_and_shows_the_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    episode = tmp_path / "ep1.mkv"
    for suffix in (".mkv", ".ass"):
        shutil.copy(SAMPLE / f"ep1{suffix}", tmp_path / f"ep1{suffix}")
    library = tmp_path / "library"
    [result] = index_episodes([episode], library=library, config=Config(device="cpu"))
    assert result.status == "indexed", result.error
    truth = json.loads((SAMPLE / "ep1.truth.json").read_text())

    monkeypatch.setenv("ANIMEVID_LIBRARY", str(library))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [o for cell in code for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    by_source = {cell.source.splitlines()[0]: cell for cell in code}
    # the cadence table has one row per shot: the sample's generator made 18
    table = by_source["episode_id = int(episodes.episode_id.iloc[0])"]
    html = next(o["data"]["text/html"] for o in table.outputs if "text/html" in o.get("data", {}))
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == len(truth["shots"]) == 18
    # the plot is an image
    plot = by_source["# Drawings per second over the episode, one step per shot, coloured by cadence"]
    assert any("image/png" in o.get("data", {}) for o in plot.outputs)
    # the search finds the word in as many lines as the subtitle file shows it (the OP's and the ED's line)
    search = next(cell for cell in code if "search_text" in cell.source)
    found = re.search(r"(\d+) line\(s\) with '(\w+)'", _text(search))
    assert found is not None
    word = found.group(2)
    shown = [line for line in (SAMPLE / "ep1.ass").read_text().splitlines() if line.startswith("Dialogue:")]
    plain = [re.sub(r"\{[^}]*\}", "", line.split(",", 9)[9]) for line in shown]
    assert int(found.group(1)) == sum(word.lower() in text.lower() for text in plain) >= 1
    # held frames agree with the truth on every frame
    assert _text(code[-1]).strip().endswith("(1.0)")
