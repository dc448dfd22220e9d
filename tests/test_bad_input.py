"""Every kind of bad input gives one clear, typed error naming the file, or frames plus a warning."""

from __future__ import annotations

import shutil
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from animevid.decode import open_video, probe
from animevid.errors import (
    CorruptVideoError,
    EmptyVideoError,
    NotAVideoError,
    NoVideoStreamError,
    TruncatedVideoWarning,
    UnsupportedCodecError,
    VideoError,
    VideoNotFoundError,
)
from tests.helpers import real_file


def count_frames(path: Path) -> int:
    return sum(len(b) for b in open_video(path).batches())


def cut_in_half(source: Path, target: Path) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target


def assert_names_file(error: VideoError, path: Path) -> None:
    assert str(path) in str(error) and error.path == path


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.mkv"
    with pytest.raises(VideoNotFoundError, match="no such file") as caught:
        probe(path)
    assert_names_file(caught.value, path)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFoundError, match="not a regular file"):
        open_video(tmp_path)


def test_zero_length_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(EmptyVideoError, match="0 bytes") as caught:
        open_video(path)
    assert_names_file(caught.value, path)


def test_text_file_is_not_a_video(tmp_path: Path) -> None:
    # FFmpeg's tty demuxer would happily "decode" this as ANSI art.
    path = tmp_path / "notes.txt"
    path.write_text("these are my episode notes, not a video\n" * 50)
    with pytest.raises(NotAVideoError, match="it is text") as caught:
        open_video(path)
    assert_names_file(caught.value, path)


def test_random_bytes_are_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(NotAVideoError, match="not a video file"):
        open_video(path)


def test_still_image_is_not_an_episode(tmp_path: Path) -> None:
    path = tmp_path / "screenshot.png"
    Image.fromarray(np.full((90, 160, 3), 200, dtype=np.uint8)).save(path)
    with pytest.raises(NotAVideoError, match="still image"):
        open_video(path)


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "song.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "stereo"
        samples = np.zeros((2, 1024), dtype=np.float32)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48000, i * 1024, Fraction(1, 48000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    with pytest.raises(NoVideoStreamError, match="1 audio stream") as caught:
        open_video(path)
    assert_names_file(caught.value, path)


def test_subtitle_file_given_as_episode(synth_episode) -> None:
    with pytest.raises(NoVideoStreamError, match="subtitle stream"):
        open_video(synth_episode.ass)


def test_unsupported_codec(tmp_path: Path, synth_episode) -> None:
    # Rename the Matroska codec id to one no decoder claims: the demuxer still finds a video track.
    data = synth_episode.mkv.read_bytes()
    assert data.count(b"V_MPEG4/ISO/AVC") == 1
    path = tmp_path / "odd_codec.mkv"
    path.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_XUNKNOWN/CODX"))
    with pytest.raises(UnsupportedCodecError, match="no decoder") as caught:
        open_video(path)
    assert_names_file(caught.value, path)


def test_real_mp4_cut_in_half_names_the_damage(tmp_path: Path) -> None:
    # This mp4 keeps its index (moov) at the end: the first half cannot be opened at all.
    path = cut_in_half(real_file("video", "realesrgan_onepiece_demo.mp4"), tmp_path / "half.mp4")
    with pytest.raises(CorruptVideoError, match="damaged or incomplete") as caught:
        open_video(path)
    assert_names_file(caught.value, path)


def test_real_webm_cut_in_half_keeps_decoded_frames(tmp_path: Path) -> None:
    path = cut_in_half(real_file("video", "moviepy_big_buck_bunny_0_30.webm"), tmp_path / "half.webm")
    with pytest.warns(TruncatedVideoWarning, match="looks truncated"):
        frames = count_frames(path)
    assert 200 < frames < 720  # about half of the 720 frames


def test_real_mkv_cut_before_any_video_data(tmp_path: Path) -> None:
    # The first half of this release is mostly attached fonts: no frame survives.
    path = cut_in_half(real_file("video", "pyscenedetect_issue-236-split-copy.mkv"), tmp_path / "half.mkv")
    with pytest.raises(CorruptVideoError, match="looks truncated"):
        count_frames(path)


def test_synthetic_mkv_cut_in_half_keeps_decoded_frames(tmp_path: Path, synth_episode) -> None:
    path = cut_in_half(synth_episode.mkv, tmp_path / "half.mkv")
    total = synth_episode.truth["frames"]
    with pytest.warns(TruncatedVideoWarning):
        frames = count_frames(path)
    assert total * 0.3 < frames < total


def test_corrupted_middle_still_decodes(tmp_path: Path, synth_episode) -> None:
    path = tmp_path / "damaged.mp4"
    shutil.copy(synth_episode.mp4, path)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    middle = len(data) // 2
    data[middle : middle + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    source = open_video(path)
    # FFmpeg conceals damage inside frames; it may be reported as a warning, but never raised.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncatedVideoWarning)
        frames = sum(len(b) for b in source.batches())
    assert frames >= synth_episode.truth["frames"] * 0.9
