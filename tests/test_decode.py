"""Decoding: one conformance suite over every available backend, on synthetic and real clips."""

from __future__ import annotations

import json
import time
import warnings

import av
import numpy as np
import pytest
import torch

from animevid.config import DecodeConfig
from animevid.decode import DECODERS, FrameBatch, open_video, probe
from animevid.decode._pyav import NvdecSource, PyAVSource
from animevid.decode._threads import background
from animevid.decode._timestamps import TimestampRepair
from animevid.errors import BackendUnavailableError, TruncatedVideoWarning
from animevid.stages import FrameDiffStage
from tests.helpers import real_file

BACKENDS = DECODERS.names()

# Frame counts FFmpeg decodes from the real clips (../shared/data/real/SOURCES.md lists the same).
REAL_CLIPS = {
    "realesrgan_onepiece_demo.mp4": 181,
    "anime4k_web_input_popteamepic.mp4": 319,
    "video2x_sample_output_sakurasou.mp4": 456,
    "pyscenedetect_issue-236-split-copy.mkv": 48,
    "moviepy_big_buck_bunny_0_30.webm": 720,
    "moviepy_pigs_in_a_polka.gif": 30,
}


def decode_all(
    path, backend: str = "pyav", device: str = "cpu", **options
) -> tuple[torch.Tensor, torch.Tensor, list[FrameBatch]]:
    """All frames (on the CPU) and times of ``path`` plus the batches as they came."""
    source = open_video(path, config=DecodeConfig(backend=backend, **options), device=device)
    batches = list(source.batches())
    frames = torch.cat([b.frames.cpu() for b in batches])
    pts = torch.cat([b.pts_seconds for b in batches])
    return frames, pts, batches


def check_batch_contract(batches: list[FrameBatch], batch_frames: int, width: int) -> None:
    expected_index = 0
    for batch in batches:
        assert 1 <= len(batch) <= batch_frames
        assert batch.frames.dtype == torch.uint8 and batch.frames.shape[2] == width and batch.frames.shape[3] == 3
        assert batch.frames.shape[1] % 2 == 0
        assert batch.frame_indices.tolist() == list(range(expected_index, expected_index + len(batch)))
        expected_index += len(batch)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("clip", sorted(REAL_CLIPS))
def test_backend_conformance_on_real_clips(backend: str, clip: str) -> None:
    path = real_file("video", clip)
    frames, pts, batches = decode_all(path, backend, batch_frames=32)
    assert len(frames) == REAL_CLIPS[clip]
    check_batch_contract(batches, 32, 256)
    assert pts[0] == 0.0
    assert bool((pts.diff() > 0).all()), "times must be strictly increasing"
    info = probe(path)
    assert float(pts[-1]) == pytest.approx(info.duration_seconds - 1 / info.fps_float, abs=0.15)
    if backend != "pyav":
        reference, reference_pts, _ = decode_all(path, "pyav", batch_frames=32)
        assert torch.allclose(pts, reference_pts, atol=1e-3)
        assert_same_frames_in_order(frames, reference)


def assert_same_frames_in_order(frames: torch.Tensor, reference: torch.Tensor) -> None:
    """Backends scale differently, so compare loosely, but frame i must match reference frame i best."""
    diff = (frames.float() - reference.float()).abs().mean(dim=(1, 2, 3))
    assert float(diff.mean()) < 16, "frames differ from PyAV's more than scaling can explain"
    for i in range(1, len(frames) - 1):
        neighbours = [float((frames[i].float() - reference[j].float()).abs().mean()) for j in (i - 1, i + 1)]
        if min(neighbours) > float(diff[i]) + 4:  # only where the neighbours really differ
            continue
        own = float(diff[i])
        assert own <= min(neighbours) + 4, f"frame {i} looks like a neighbour of PyAV's frame {i}: out of order"


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_conformance_on_synthetic(backend: str, synth_episode) -> None:
    truth = synth_episode.truth
    for path in (synth_episode.mp4, synth_episode.mkv):
        frames, pts, batches = decode_all(path, backend, batch_frames=50)
        assert len(frames) == truth["frames"]
        check_batch_contract(batches, 50, 256)
        # mkv stores milliseconds; the repair snaps them back onto the nominal frame grid.
        np.testing.assert_allclose(pts.numpy(), truth["pts_seconds"], atol=1e-6)


def test_duplicated_timestamps_become_the_nominal_60fps_timeline() -> None:
    # Frames come in pairs with one pts (a 30 fps timeline re-muxed at 60 fps).
    _, pts, _ = decode_all(real_file("video", "anime4k_web_input_popteamepic.mp4"))
    np.testing.assert_allclose(pts.numpy(), np.arange(319) / 60, atol=1e-9)


@pytest.fixture(scope="module")
def lossless_episode(tmp_path_factory: pytest.TempPathFactory):
    """A short episode encoded losslessly (crf 0): held drawings stay bit-identical."""
    from animevid.config import SynthConfig
    from animevid.synth import generate_episode, minimum_seconds

    config = SynthConfig(crf=0)
    return generate_episode(tmp_path_factory.mktemp("lossless"), seed=3, seconds=minimum_seconds(config), config=config)


def frame_diffs(path):
    stage = FrameDiffStage()
    return [record for batch in open_video(path).batches() for record in stage.process(batch)]


def test_decoder_keeps_held_frames_bit_identical(lossless_episode) -> None:
    """Lossless input: a frame repeats the previous one exactly when, and only when, the truth says so."""
    same = np.array(lossless_episode.truth["same_image_as_previous"])
    identical = np.array(
        [d.changed_fraction == 0.0 and d.mean_abs_diff == 0.0 for d in frame_diffs(lossless_episode.mp4)]
    )
    mismatches = np.flatnonzero(identical[1:] != same[1:]) + 1
    assert len(mismatches) == 0, f"frames {mismatches[:20].tolist()} disagree with the truth"


def test_held_frames_read_back_as_the_truth_says(synth_episode) -> None:
    """Lossy input (crf 16, as real releases): held frames are told apart from new images through encoder noise."""
    diffs = frame_diffs(synth_episode.mp4)
    held = np.array([d.held for d in diffs])
    same = np.array(synth_episode.truth["same_image_as_previous"])
    mismatches = np.flatnonzero(held != same)
    assert len(mismatches) == 0, f"held-frame readback differs from truth at frames {mismatches[:20].tolist()}"
    assert same.sum() > 0.3 * len(same), "the episode should be mostly held frames, as TV anime is"


def test_analysis_size_keeps_display_aspect() -> None:
    info = probe(real_file("video", "realesrgan_onepiece_demo.mp4"))  # 640x480
    assert info.analysis_size(256) == (256, 192)


def test_batches_are_bounded_whatever_the_length(synth_episode) -> None:
    source = open_video(synth_episode.mp4, config=DecodeConfig(batch_frames=16, prefetch_batches=1))
    sizes = [len(b) for b in source.batches()]
    assert max(sizes) == 16 and sum(sizes) == synth_episode.truth["frames"]


def test_inline_and_prefetched_decoding_agree(synth_episode) -> None:
    inline, pts_inline, _ = decode_all(synth_episode.mp4, prefetch_batches=0)
    ahead, pts_ahead, _ = decode_all(synth_episode.mp4, prefetch_batches=3)
    assert torch.equal(inline, ahead) and torch.equal(pts_inline, pts_ahead)


def test_closing_early_stops_the_decoder(synth_episode) -> None:
    source = open_video(synth_episode.mp4, config=DecodeConfig(batch_frames=8))
    stream = source.batches()
    first = next(stream)
    stream.close()
    assert len(first) == 8 and source.frames_decoded == 8


# --- timestamp repair and the background thread -------------------------------------------


def test_timestamp_repair_handles_pairs_gaps_and_backward_jumps() -> None:
    clock = TimestampRepair(1 / 60)
    raw = [10.0, 10.0, 10 + 2 / 60, 10 + 2 / 60 + 1e-5, None, 9.0, 10 + 10 / 60]
    times = [clock(t) for t in raw]
    expected = [0, 1 / 60, 2 / 60, 3 / 60, 4 / 60, 5 / 60, 10 / 60]
    np.testing.assert_allclose(times, expected, atol=1e-9)
    assert clock.repaired == 4


def test_timestamp_repair_keeps_real_variable_frame_rates() -> None:
    clock = TimestampRepair(1 / 24)
    raw = [0.0, 1 / 24, 2 / 24, 2 / 24 + 1 / 30, 2 / 24 + 2 / 30]  # 24 fps then 30 fps
    assert [clock(t) for t in raw] == pytest.approx(raw)
    assert clock.repaired == 0


def test_background_reraises_producer_errors_in_order() -> None:
    def produce():
        yield 1
        yield 2
        raise OSError("disk went away")

    got = []
    with pytest.raises(OSError, match="disk went away"):
        for item in background(produce(), maxsize=1):
            got.append(item)
    assert got == [1, 2]


def test_frame_diff_stage_sees_across_batch_edges() -> None:
    frames = torch.zeros((4, 8, 8, 3), dtype=torch.uint8)
    frames[2:] = 200  # a change between frame 1 and 2, which lands on a batch edge
    stage = FrameDiffStage()
    records = []
    for start in (0, 2):
        batch = FrameBatch(
            frames=frames[start : start + 2],
            frame_indices=torch.arange(start, start + 2),
            pts_seconds=torch.arange(start, start + 2, dtype=torch.float64) / 24,
        )
        records.extend(stage.process(batch))
    assert [r.changed_fraction for r in records] == [0.0, 0.0, 1.0, 0.0]
    assert [r.held for r in records] == [False, True, False, True]
    assert records[2].mean_abs_diff == pytest.approx(200, abs=1)


def test_info_json_round_trip(synth_episode) -> None:
    info = probe(synth_episode.mkv)
    assert info.codec == "h264" and info.width == synth_episode.truth["width"]
    assert [t.codec for t in info.subtitle_tracks] == ["ass"]
    json.dumps([t.__dict__ for t in info.subtitle_tracks])


def test_no_warnings_on_clean_files(synth_episode) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode_all(synth_episode.mkv)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.gpu
@needs_cuda
def test_batches_on_cuda_match_the_cpu(synth_episode) -> None:
    """The same torch code on both devices: batches land on the GPU and the stage agrees with the CPU."""
    on_gpu = open_video(synth_episode.mp4, device="cuda")
    gpu_stage, cpu_stage = FrameDiffStage(device="cuda"), FrameDiffStage()
    for batch in on_gpu.batches():
        assert batch.frames.is_cuda
        cpu_batch = FrameBatch(batch.frames.cpu(), batch.frame_indices, batch.pts_seconds)
        for g, c in zip(gpu_stage.process(batch), cpu_stage.process(cpu_batch), strict=True):
            assert g.held == c.held and g.mean_abs_diff == pytest.approx(c.mean_abs_diff, abs=1e-3)


@pytest.mark.gpu
@needs_cuda
def test_torchcodec_decodes_on_the_gpu(synth_episode) -> None:
    if "torchcodec" not in DECODERS:
        pytest.skip("torchcodec is not installed (extra 'gpu')")
    frames, pts, batches = decode_all(synth_episode.mp4, "torchcodec", device="cuda")
    assert batches[0].frames.is_cuda
    assert len(frames) == synth_episode.truth["frames"]
    np.testing.assert_allclose(pts.numpy(), synth_episode.truth["pts_seconds"], atol=1e-6)


@pytest.mark.gpu
@needs_cuda
def test_nvdec_decodes_the_same_frames_as_the_cpu(synth_episode) -> None:
    """NVDEC through PyAV's FFmpeg: same frames and times as FFmpeg's CPU decoder (which deblocks too)."""
    assert NvdecSource(synth_episode.mp4).decoded_on_gpu
    frames, pts, _ = decode_all(synth_episode.mp4, "pyav-nvdec")
    reference, reference_pts, _ = decode_all(synth_episode.mp4, skip_loop_filter=False)
    assert len(frames) == synth_episode.truth["frames"] and torch.equal(pts, reference_pts)
    assert float((frames.float() - reference.float()).abs().mean()) < 0.5


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_nvdec_without_a_gpu_says_what_to_use(synth_episode) -> None:
    with pytest.raises(BackendUnavailableError, match="NVIDIA GPU"):
        open_video(synth_episode.mp4, config=DecodeConfig(backend="pyav-nvdec"))
    with pytest.raises(BackendUnavailableError, match=r"NVDEC .*use decode\.backend: pyav"):
        NvdecSource(synth_episode.mp4)


class _BreaksAfterOneChunk(PyAVSource):
    """PyAV, but the stream breaks after the first chunk with ``error``."""

    error: Exception = av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    def _chunks(self):
        chunks = super()._chunks()
        yield next(chunks)
        raise self.error


def test_damage_mid_stream_keeps_the_frames_before(synth_episode) -> None:
    source = _BreaksAfterOneChunk(synth_episode.mp4, batch_frames=10)
    with pytest.warns(TruncatedVideoWarning, match="decoding stopped at frame 10"):
        frames = sum(len(b) for b in source.batches())
    assert frames == 10 and source.report.truncated


def test_a_bug_is_not_mistaken_for_damage(synth_episode) -> None:
    source = _BreaksAfterOneChunk(synth_episode.mp4, batch_frames=10)
    source.error = TypeError("a bug in a stage or backend")
    with pytest.raises(TypeError, match="a bug"):
        list(source.batches())


def test_unknown_interpolation_is_refused(synth_episode) -> None:
    with pytest.raises(ValueError, match="interpolation must be one of"):
        PyAVSource(synth_episode.mp4, interpolation="lanczos9")


def test_prefetch_runs_at_most_its_depth_ahead() -> None:
    """Bounded memory: the producer never holds more than the queue depth plus the item in hand."""
    produced: list[int] = []

    def chunks():
        for i in range(40):
            produced.append(i)
            yield i

    for consumed, _ in enumerate(background(chunks(), maxsize=2), start=1):
        time.sleep(0.002)  # a slow consumer: the producer would run away if unbounded
        assert len(produced) - consumed <= 3


@pytest.mark.parametrize(
    ("clip", "images"),
    [("realesrgan_onepiece_demo.mp4", 53), ("anime4k_web_input_popteamepic.mp4", 128)],
)
def test_new_images_on_real_clips_match_the_counts_in_sources(clip: str, images: int) -> None:
    """SOURCES.md counts the distinct images of these clips (drawn on twos/threes, with holds); within 5 %."""
    diffs = frame_diffs(real_file("video", clip))
    new_images = sum(not d.held for d in diffs)
    assert abs(new_images - images) <= 0.05 * images, f"{new_images} new images, SOURCES.md says about {images}"
