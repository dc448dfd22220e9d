"""Vector index backends: faiss-cpu (always) and faiss-gpu (when faiss has GPU support and sees a GPU).

A backend builds the two kinds of index the library uses and moves an index to where it is
searched. The master copy always lives on the CPU (saving, adding, removing); a GPU backend
searches a copy of it.
"""

from __future__ import annotations

from typing import Literal

import faiss
import numpy as np

from animevid.errors import BackendUnavailableError
from animevid.registry import Registry

IndexKind = Literal["exact", "ivfpq"]


class FaissBackend:
    """FAISS on the CPU: exact inner product, or IVF-PQ for large libraries.

    Args:
        device: Resolved device; "cpu" for this backend.
        threads: FAISS threads (0 keeps FAISS's default).
    """

    name = "faiss-cpu"

    def __init__(self, *, device: str = "cpu", threads: int = 0) -> None:
        self.device = device
        if threads:
            faiss.omp_set_num_threads(threads)

    def build(self, kind: IndexKind, dim: int, train: np.ndarray, *, lists: int, pq_bytes: int) -> faiss.Index:
        """An empty index with ids; ``train`` vectors fit the IVF-PQ quantisers.

        Args:
            kind: ``exact`` (flat inner product) or ``ivfpq`` (compressed, approximate).
            dim: Vector dimension.
            train: (n, dim) float32 sample for training (ignored for ``exact``).
            lists: IVF lists (coarse clusters).
            pq_bytes: Bytes per compressed vector.

        Returns:
            The index (an ``IndexIDMap2`` for exact, an ``IndexIVFPQ`` for ivfpq).
        """
        if kind == "exact":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, lists, pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(train, dtype=np.float32))
        return index

    def searchable(self, index: faiss.Index, *, nprobe: int) -> faiss.Index:
        """The index to search (the same object on the CPU), with ``nprobe`` set for IVF."""
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is not None:
            ivf.nprobe = nprobe
        return index


class FaissGpuBackend(FaissBackend):
    """FAISS on a CUDA GPU: builds on the CPU, searches a GPU copy.

    Raises:
        BackendUnavailableError: FAISS sees no GPU.
    """

    name = "faiss-gpu"

    def __init__(self, *, device: str = "cuda", threads: int = 0) -> None:
        super().__init__(device=device, threads=threads)
        if faiss.get_num_gpus() < 1:
            raise BackendUnavailableError("index backend 'faiss-gpu': FAISS sees no GPU; use faiss-cpu")
        self._resources = faiss.StandardGpuResources()

    def searchable(self, index: faiss.Index, *, nprobe: int) -> faiss.Index:
        """A GPU copy of ``index`` with ``nprobe`` set."""
        gpu = faiss.index_cpu_to_gpu(self._resources, 0, index)
        ivf = faiss.try_extract_index_ivf(gpu)
        if ivf is not None:
            ivf.nprobe = nprobe
        return gpu


INDEX_BACKENDS: Registry[FaissBackend] = Registry("index backend")
"""Vector index backends by name."""

INDEX_BACKENDS.register("faiss-cpu")(FaissBackend)
if hasattr(faiss, "StandardGpuResources"):
    INDEX_BACKENDS.register("faiss-gpu")(FaissGpuBackend)
else:
    INDEX_BACKENDS.mark_unavailable("faiss-gpu", "install the 'gpu' extra (faiss-gpu-cu12) on a machine with CUDA")


def default_backend(device: str) -> str:
    """faiss-gpu when it is installed and the device is CUDA, else faiss-cpu."""
    return "faiss-gpu" if device == "cuda" and "faiss-gpu" in INDEX_BACKENDS else "faiss-cpu"
