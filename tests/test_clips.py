"""The one reader of an indexed episode's facts (animevid.clips) that digests, reels and exports share."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from animevid.clips import EpisodeNotFound, Segment, library_episodes, open_episode
from animevid.config import Config
from animevid.pipeline import index_episodes

SAMPLE = Path(__file__).resolve().parents[1] / "data_samples"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("clips")
    episode = root / "[Group] Sample Show - 07 [1080p].mkv"
    shutil.copy(SAMPLE / "ep1.mkv", episode)
    shutil.copy(SAMPLE / "ep1.ass", episode.with_suffix(".ass"))
    library = root / "library"
    [result] = index_episodes([episode], library=library, config=Config(device="cpu"))
    assert result.status == "indexed", result.error
    return library, episode


def test_an_episode_is_found_by_path_by_id_and_by_content(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    library, episode = indexed
    facts = open_episode(library, episode)
    truth = json.loads((SAMPLE / "ep1.truth.json").read_text())
    assert len(facts.shots) == len(truth["shots"]) and facts.shots[-1].end_frame == truth["frames"]
    assert sorted(facts.analyses) == list(range(len(facts.shots)))
    assert facts.series == "Sample Show" and facts.number == 7
    assert open_episode(library, str(facts.episode_id)).episode_id == facts.episode_id
    moved = tmp_path / "renamed.mkv"
    shutil.copy(episode, moved)
    assert open_episode(library, moved).episode_id == facts.episode_id  # same bytes: found by content
    assert [f.episode_id for f in library_episodes(library)] == [facts.episode_id]


def test_an_episode_not_in_the_library_gets_a_line_saying_what_to_do(indexed: tuple[Path, Path]) -> None:
    library, _ = indexed
    with pytest.raises(EpisodeNotFound, match=r"ep9\.mkv: no such file, and no episode indexed in .* has that path"):
        open_episode(library, "ep9.mkv")
    with pytest.raises(EpisodeNotFound, match=r"ep1\.mp4: not indexed in .*run `animevid index"):
        open_episode(library, SAMPLE / "ep1.mp4")  # a file, but another one than the indexed mkv
    with pytest.raises(EpisodeNotFound, match="no indexed episode has this id"):
        open_episode(library, "99")


def test_segments_say_which_shots_are_repeated_footage(indexed: tuple[Path, Path]) -> None:
    library, episode = indexed
    facts = replace(open_episode(library, episode), segments=[Segment("op", 0, 40, 0.0, 40 / 23.976)])
    assert facts.repeated(39, 50) and not facts.repeated(40, 50)
    assert facts.segment_kind(0, 60) == "op"  # 40 of 60 frames
    assert facts.segment_kind(20, 100) is None  # 20 of 80
    sign = next(line for line in facts.lines if line.kind == "sign")
    shot = next(s for s in facts.shots if s.start_seconds <= sign.start_seconds < s.end_seconds)
    assert facts.shot_lines(shot) == []  # signs and songs are not dialogue
