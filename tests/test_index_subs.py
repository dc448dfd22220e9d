"""`animevid index` finds an episode's subtitles by itself, aligns them and stores them with its scenes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from animevid.catalog import Catalog
from animevid.cli import app
from animevid.config import Config
from animevid.errors import ConfigError
from animevid.pipeline import index_episodes
from animevid.scenes.evaluate import score_scenes
from animevid.synth import SynthEpisode, generate_episode

SEED = 31
SECONDS = 40.0


@pytest.fixture(scope="module")
def episode(tmp_path_factory: pytest.TempPathFactory) -> SynthEpisode:
    return generate_episode(tmp_path_factory.mktemp("index-subs"), seed=SEED, seconds=SECONDS)


def _index(path: Path, library: Path, **options: Any) -> tuple[Any, dict[str, Any], Catalog]:
    (result,) = index_episodes([path], library=library, config=Config(device="cpu"), **options)
    assert result.status == "indexed", result.error
    catalog = Catalog.in_library(library)
    row = catalog.episodes().set_index("episode_id").loc[result.episode_id]
    return result, row["extra"], catalog


def test_a_same_named_file_beside_the_episode_is_used(episode: SynthEpisode, tmp_path: Path) -> None:
    result, extra, catalog = _index(episode.mp4, tmp_path / "lib")
    with catalog:
        lines = catalog.get_subtitle_lines(result.episode_id)
        scenes = catalog.get_scenes(result.episode_id)
    truth = episode.truth["subtitles"]
    assert extra["subtitles"]["source"] == f"file {episode.ass.name}"
    assert [line.kind for line in lines] == [t["kind"] for t in truth]
    # the file is timed to the video: its times come back as written (snapping agrees with them)
    assert all(abs(line.start_seconds - t["start_seconds"]) < 0.011 for line, t in zip(lines, truth, strict=True))
    score = score_scenes(scenes, episode.truth)
    assert score.f1 >= 0.9, (score, [s.start_frame for s in scenes])
    assert scenes[0].start_frame == 0 and scenes[-1].end_frame == result.frames


def test_the_mkv_track_is_used_when_no_file_is_beside_it(episode: SynthEpisode, tmp_path: Path) -> None:
    alone = tmp_path / "alone" / episode.mkv.name
    alone.parent.mkdir()
    shutil.copy(episode.mkv, alone)
    result, extra, catalog = _index(alone, tmp_path / "lib")
    with catalog:
        lines = catalog.get_subtitle_lines(result.episode_id)
    assert extra["subtitles"]["source"].startswith("track ")
    spoken = [t["text"].replace("\\N", "\n") for t in episode.truth["subtitles"] if t["kind"] == "dialogue"]
    assert [line.text for line in lines if line.kind == "dialogue"] == spoken


def test_subs_option_names_the_file(episode: SynthEpisode, tmp_path: Path) -> None:
    other = tmp_path / "renamed.ass"
    shutil.copy(episode.ass, other)
    _, extra, catalog = _index(episode.mp4, tmp_path / "lib", subs=other)
    catalog.close()
    assert extra["subtitles"]["source"] == "file renamed.ass"
    assert extra["subtitles"]["lines"] == len(episode.truth["subtitles"])


def test_subs_option_is_for_one_episode(episode: SynthEpisode, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="one subtitle file but 2 episodes"):
        index_episodes([episode.mp4, episode.mkv], library=tmp_path, config=Config(), subs=episode.ass)
    run = CliRunner().invoke(app, ["index", str(episode.mp4), "--library", str(tmp_path), "--subs", "nope.ass"])
    assert run.exit_code == 1 and "no such file" in run.output


def test_unreadable_subtitles_are_a_warning_not_a_failure(episode: SynthEpisode, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    video = folder / episode.mp4.name
    shutil.copy(episode.mp4, video)
    video.with_suffix(".ass").write_bytes(b"\x00\x01 this is not a subtitle file \xff" * 50)
    result, extra, catalog = _index(video, tmp_path / "lib")
    with catalog:
        assert catalog.get_subtitle_lines(result.episode_id) == []
        assert catalog.get_scenes(result.episode_id)  # scenes from the picture alone
    assert any("subtitles not used" in w and "bad" in w for w in result.warnings), result.warnings
    assert "error" in extra["subtitles"]
