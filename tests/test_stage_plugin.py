"""A new stage is one class and one registration: no other stage, no command, no store code changes.

``Brightness`` below is the smallest complete example (10 lines of code and a registration): it
measures every frame, summarises per shot once the shots are known, and stores an array per
episode; ``animevid index`` and ``animevid analyze`` pick it up from the registry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from animevid.config import CharactersConfig, Config
from animevid.decode import FrameBatch
from animevid.engine import STAGES, EpisodeContext, Stage, Stored
from animevid.pipeline import episode_pass, index_episodes
from animevid.search import SearchIndex
from tests.helpers import tiny_episode


class Brightness(Stage[float, np.ndarray]):
    """Mean brightness of every frame; per shot, the mean of its frames."""

    name = "brightness"

    def process(self, batch: FrameBatch) -> Sequence[float]:
        return batch.frames.float().mean(dim=(1, 2, 3)).tolist()

    def summarise(self, records: list[float], episode: EpisodeContext) -> np.ndarray:
        per_frame = np.asarray(records)
        return np.array([per_frame[s.start_frame : s.end_frame].mean() for s in episode.shots])

    def stored(self, output: np.ndarray) -> Stored:
        return Stored(arrays={"brightness": {"per_shot": output}})


def test_a_registered_stage_joins_the_commands_that_name_it(tmp_path) -> None:
    episode = tiny_episode(tmp_path / "ep.mp4", 3)
    config = Config(device="cpu")
    with STAGES.registered("brightness", Brightness, commands=("index", "analyze"), order=40):
        assert [s.name for s in STAGES.for_command("analyze")] == ["shots", "animation", "brightness"]
        found = episode_pass(episode, "analyze", config, "cpu")
        per_shot = found.output(Brightness)
        assert len(per_shot) == len(found.shots) >= 2 and np.all((per_shot > 0) & (per_shot < 255))
        [result] = index_episodes([episode], library=tmp_path / "lib", config=config)
        stored = np.load(tmp_path / "lib" / "index" / "brightness" / f"{result.episode_id}.npz")
        np.testing.assert_array_equal(stored["per_shot"], per_shot)
        assert SearchIndex.in_library(tmp_path / "lib").episode_ids() == [result.episode_id]
    assert "brightness" not in STAGES and [s.name for s in STAGES.for_command("shots")] == ["shots"]


def test_the_registry_says_which_stages_each_command_runs() -> None:
    runs = {command: [s.name for s in STAGES.for_command(command)] for command in ("index", "analyze", "scenes")}
    assert runs == {
        "index": ["shots", "animation", "shot-look", "frame-descriptors", "characters"],
        "analyze": ["shots", "animation"],
        "scenes": ["shots", "shot-look"],
    }
    off = Config(characters=CharactersConfig(enabled=False))
    assert [s.name for s in STAGES.for_command("index") if s.wanted(off)][-1] == "frame-descriptors"
    assert [s.name for s in STAGES.for_command("subs align")] == ["shots"]
