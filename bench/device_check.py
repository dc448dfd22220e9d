"""One run on a machine with a CUDA GPU: what works there and how fast, in one summary file, in under 8 minutes.

Usage: python bench/device_check.py [--out device-check.json] [--budget 460]
(``make device-check`` runs it with the machine's own Python and this checkout on the path, so no
virtual environment has to be built on a machine that cannot download anything.)

Each check runs on its own, with the time it may take; one that cannot run here (no GPU, a
package missing) is recorded as skipped with the reason, one that fails with its error, and the
run goes on. Checks, in order (cheap and decisive first):

1. ``torch`` sees CUDA: device name, memory, a matrix product on the GPU against the CPU's;
2. NVDEC decode (``decode.backend: pyav-nvdec``) of the real 1080p clip: frames per second beside
   the CPU decoder's, and the mean difference of the analysis frames;
3. ``faiss-gpu``: an exact index of 1M vectors searched on the GPU and on the CPU, same neighbours;
4. ``onnxruntime``'s CUDA provider: a tiny model built here, run on CUDA and on the CPU;
5. the GPU tests (``pytest -m gpu``);
6. the split pass on every core: ``bench/analysis.py --rounds 1`` on the long clip (its split row
   against decode-only is the 16-core number the animation issue still owes).

The summary (JSON) holds each check's status, seconds and numbers; a line per check is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REAL_1080P = ROOT.parent / "shared" / "data" / "real" / "video" / "video2x_sample_output_sakurasou.mp4"


class Skip(Exception):
    """The check cannot run on this machine (the reason is recorded, not a failure)."""


def check_torch() -> dict[str, Any]:
    """torch sees a CUDA GPU and computes on it as on the CPU."""
    import torch

    if not torch.cuda.is_available():
        raise Skip("torch sees no CUDA device")
    a = torch.randn(2048, 2048)
    on_gpu = (a.cuda() @ a.cuda()).cpu()
    props = torch.cuda.get_device_properties(0)
    return {
        "device": props.name,
        "memory_gb": round(props.total_memory / 2**30, 1),
        "max_abs_difference_to_cpu": float((on_gpu - a @ a).abs().max()),
        "torch": torch.__version__,
    }


def check_nvdec() -> dict[str, Any]:
    """NVDEC decode of the real 1080p clip beside the CPU decoder: speed and frame difference."""
    import numpy as np

    from animevid.config import DecodeConfig
    from animevid.decode import DECODERS, open_video

    if "pyav-nvdec" not in DECODERS or not REAL_1080P.exists():
        raise Skip("pyav-nvdec is not registered (no CUDA) or the real clip is absent")
    found: dict[str, Any] = {}
    frames: dict[str, np.ndarray] = {}
    for backend in ("pyav", "pyav-nvdec"):
        source = open_video(REAL_1080P, config=DecodeConfig(backend=backend))
        started = time.perf_counter()
        frames[backend] = np.concatenate([b.frames.cpu().numpy() for b in source.batches()])
        found[f"{backend}_fps"] = round(len(frames[backend]) / (time.perf_counter() - started), 1)
    found["decoded_on_gpu"] = bool(getattr(source, "decoded_on_gpu", False))
    difference = np.abs(frames["pyav"].astype(np.int16) - frames["pyav-nvdec"].astype(np.int16))
    found["mean_abs_difference"] = round(float(difference.mean()), 3)
    return found


def check_faiss_gpu() -> dict[str, Any]:
    """faiss-gpu finds the same nearest neighbours as faiss-cpu on 1M vectors, and how fast."""
    import faiss
    import numpy as np

    if not hasattr(faiss, "StandardGpuResources") or faiss.get_num_gpus() < 1:
        raise Skip("faiss has no GPU support here (install the gpu extra: faiss-gpu-cu12)")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(1_000_000, 64)).astype(np.float32)
    queries = vectors[rng.integers(0, len(vectors), 1000)] + 0.01
    cpu = faiss.IndexFlatIP(64)
    cpu.add(vectors)
    gpu = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, cpu)
    timings = {}
    for name, index in (("cpu", cpu), ("gpu", gpu)):
        started = time.perf_counter()
        _, ids = index.search(queries, 8)
        timings[name] = (time.perf_counter() - started, ids)
    same = float((timings["cpu"][1][:, 0] == timings["gpu"][1][:, 0]).mean())
    return {"cpu_ms_per_query": 1000 * timings["cpu"][0] / 1000, "gpu_ms_per_query": 1000 * timings["gpu"][0] / 1000,
            "same_nearest": same}  # fmt: skip


def check_onnx_cuda() -> dict[str, Any]:
    """onnxruntime's CUDA provider runs a tiny model as the CPU does."""
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError as exc:
        raise Skip(f"onnx/onnxruntime not installed ({exc})") from None
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise Skip(f"onnxruntime has no CUDA provider here (providers: {ort.get_available_providers()})")
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4, 3], list(np.arange(12, dtype=np.float32)))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [weight],
    )  # fmt: skip
    model = helper.make_model(graph).SerializeToString()
    x = np.ones((1, 4), np.float32)
    outputs = {}
    for provider in ("CUDAExecutionProvider", "CPUExecutionProvider"):
        session = ort.InferenceSession(model, providers=[provider])
        outputs[provider] = session.run(None, {"x": x})[0]
    diff = float(abs(outputs["CUDAExecutionProvider"] - outputs["CPUExecutionProvider"]).max())
    return {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "max_abs_difference": diff}


def check_gpu_tests() -> dict[str, Any]:
    """The tests marked gpu (skipped on machines without CUDA)."""
    command = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", str(ROOT / "tests")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90)
    tail = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
    if done.returncode not in (0, 5):  # 5: no test collected
        raise RuntimeError(f"exit {done.returncode}: {tail[0]}")
    return {"summary": tail[0]}


def check_split() -> dict[str, Any]:
    """The split pass on every core against decode-only (bench/analysis.py, one round, the long clip)."""
    if not REAL_1080P.exists():
        raise Skip("the real 1080p clip is absent")
    command = [sys.executable, str(HERE / "analysis.py"), "--rounds", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    return {"cores": len(os.sched_getaffinity(0)), "report": done.stdout.strip().splitlines()}


CHECKS: list[tuple[str, Callable[[], dict[str, Any]], float]] = [
    ("torch-cuda", check_torch, 20),
    ("nvdec", check_nvdec, 40),
    ("faiss-gpu", check_faiss_gpu, 40),
    ("onnxruntime-cuda", check_onnx_cuda, 20),
    ("gpu-tests", check_gpu_tests, 90),
    ("split-pass", check_split, 240),
]
"""Name, check and the seconds it is expected to take at most (checks are skipped once the budget is spent)."""


def run_checks(budget: float) -> dict[str, Any]:
    """Every check that fits in ``budget`` seconds, each recorded ok, skipped or failed."""
    summary: dict[str, Any] = {"machine": {"cores": len(os.sched_getaffinity(0)), "python": sys.version.split()[0]}}
    deadline = time.monotonic() + budget
    for name, check, expected in CHECKS:
        if time.monotonic() + expected > deadline:
            summary[name] = {"status": "skipped", "reason": "not enough of the time budget left"}
        else:
            summary[name] = _run_one(check)
        print(f"{name:18s} {summary[name]['status']:8s} {_short(summary[name])}", flush=True)
    return summary


def _run_one(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        found = {"status": "ok", **check()}
    except Skip as why:
        found = {"status": "skipped", "reason": str(why)}
    except Exception as exc:  # one failing check must not hide the others
        found = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    found["seconds"] = round(time.perf_counter() - started, 1)
    return found


def _short(result: dict[str, Any]) -> str:
    shown = {k: v for k, v in result.items() if k not in ("status", "report")}
    return json.dumps(shown)[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")) / "device-check.json")
    parser.add_argument("--budget", type=float, default=460.0, help="seconds for all checks (default: under 8 minutes)")
    args = parser.parse_args()
    summary = run_checks(args.budget)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"summary written to {args.out}")


if __name__ == "__main__":
    main()
