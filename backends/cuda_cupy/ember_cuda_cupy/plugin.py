"""Registers the CuPy backend as the ``cuda`` device (entry point ``ember.backends: cuda``).

CuPy is imported lazily and defensively: ember must import, and ``ember devices`` must explain
the situation, on machines without CuPy or without an NVIDIA GPU. ``import cupy`` succeeds
without a GPU; the first CUDA call is what fails, so availability is probed with
``cupy.is_available()`` inside a ``try``.

Example:
    >>> import ember
    >>> be = ember.plugins.backend("cuda")
    >>> be.device_type, be.install_hint
    ('cuda', "pip install 'ember[cuda]'")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.backend import Backend
from ember.dtypes import ALL_DTYPES, COMPLEX_DTYPES, dtype
from ember.hookspecs import hookimpl

from ember_cuda_cupy import arraymod as am

__all__ = ["CudaBackend", "ember_backend", "ember_kernels"]

_NO_CUPY = "CuPy is not installed: pip install 'ember[cuda]' (CUDA 12) or 'ember[cuda13]' (CUDA 13)"


class CudaBackend(Backend):
    """NVIDIA GPUs through CuPy: cuBLAS matmul, atomic scatter-add, im2col convolution."""

    device_type = "cuda"
    install_hint = "pip install 'ember[cuda]'"
    unsupported: dict[str, str] = {}
    dlpack_device_types = (2, 13)  # kDLCUDA, kDLCUDAManaged: CuPy imports both in place

    def __init__(self) -> None:
        self._probed = False
        self._reason = ""
        self._count = 0
        self._peak: dict[int, int] = {}

    # ---- discovery ----------------------------------------------------------------------------
    def _probe(self) -> None:
        """Import CuPy and count devices once; remember exactly why when that fails."""
        if self._probed:
            return
        self._probed = True
        try:
            cupy = am.load_cupy()
        except ImportError:
            self._reason = _NO_CUPY
            return
        except Exception as exc:  # a broken CuPy install (wrong CUDA major, missing libs)
            self._reason = f"CuPy failed to import: {type(exc).__name__}: {exc}"
            return
        try:
            ok = bool(cupy.is_available())
            count = cupy.cuda.runtime.getDeviceCount() if ok else 0
        except Exception as exc:
            ok, count, self._reason = False, 0, f"CuPy found no CUDA device: {_error_text(exc)}"
        if not ok and not self._reason:
            self._reason = f"CuPy found no CUDA device: {_cuda_error_text(cupy)}"
        self._count = count if ok else 0

    def is_available(self) -> bool:
        self._probe()
        return self._count > 0

    def unavailable_reason(self) -> str:
        self._probe()
        return "available" if self._count else self._reason

    def device_count(self) -> int:
        self._probe()
        return self._count

    def is_accelerator(self, index: int) -> bool:
        return True

    def fork_safe(self) -> bool:
        # Counting the devices initialised the CUDA driver, which a forked child cannot use
        # (PyTorch: "Cannot re-initialize CUDA in forked subprocess").
        return not (self._probed and self._count > 0)

    def device_name(self, index: int) -> str:
        props = am.xp.cuda.runtime.getDeviceProperties(index)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)

    def has_collectives(self) -> bool:
        """NCCL is there for ``ember.distributed``'s "nccl" backend."""
        from ember_cuda_cupy.nccl import nccl_available

        return nccl_available()

    def collective_communicator(self, rank: int, size: int, share: Any) -> Any:
        from ember_cuda_cupy.nccl import NcclComm

        return NcclComm(rank, size, share)

    def supported_dtypes(self, index: int) -> tuple[dtype, ...]:
        # float16 is native on every CUDA GPU; CuPy arrays have no bfloat16 dtype (NumPy has none);
        # complex64/complex128 are native in CuPy (cuFFT runs ember.fft's kernels).
        return tuple(d for d in ALL_DTYPES if d.name != "bfloat16") + COMPLEX_DTYPES

    def dtype_unsupported_reason(self, index: int, dt: dtype) -> str:
        if dt.name == "bfloat16":
            return "CuPy arrays have no bfloat16 dtype; use float16 (or autocast to float16) on CUDA"
        return ""

    def synchronize(self, index: int | None = None) -> None:
        if not self.is_available():
            return
        indices = range(self._count) if index is None else [index]
        for i in indices:
            am.xp.cuda.Device(i).synchronize()  # cudaDeviceSynchronize on device i
            self.memory_allocated(i)  # sample the pool, so max_memory_allocated sees step peaks

    # ---- memory: CuPy's default pool keeps one sub-pool per device; used_bytes() is the current one's.
    # The peak is the largest value seen when memory or synchronize() is queried (CuPy keeps no
    # high-water mark, and an allocator hook would slow every allocation).
    def memory_allocated(self, device: Any = None) -> int:
        index = _index_of(device)
        with am.xp.cuda.Device(index):
            used = int(am.xp.get_default_memory_pool().used_bytes())
        self._peak[index] = max(self._peak.get(index, 0), used)
        return used

    def max_memory_allocated(self, device: Any = None) -> int:
        index = _index_of(device)
        used = self.memory_allocated(index)
        return max(self._peak.get(index, 0), used)

    def reset_peak_memory_stats(self, device: Any = None) -> None:
        self._peak.pop(_index_of(device), None)

    def empty_cache(self) -> None:
        am.xp.get_default_memory_pool().free_all_blocks()
        am.xp.get_default_pinned_memory_pool().free_all_blocks()


def _index_of(device: Any) -> int:
    """An int from None (current device), an int, "cuda:1" or an ember.device."""
    if device is None:
        return int(am.xp.cuda.runtime.getDevice())
    if isinstance(device, int):
        return device
    index = getattr(device, "index", None)
    if index is None and isinstance(device, str):
        _, _, tail = device.partition(":")
        index = int(tail) if tail else None
    return int(am.xp.cuda.runtime.getDevice()) if index is None else int(index)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _cuda_error_text(cupy) -> str:
    """cupy.is_available() swallows the reason; ask the runtime for it."""
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return _error_text(exc)
    return "cudaGetDeviceCount() reported 0 devices"


_BACKEND = CudaBackend()


@hookimpl
def ember_backend() -> CudaBackend:
    return _BACKEND


@hookimpl
def ember_kernels(device_type: str) -> dict[str, Callable[..., Any]] | None:
    if device_type != "cuda":
        return None
    from ember_cuda_cupy.fft_kernels import FFT_KERNELS
    from ember_cuda_cupy.kernels import CREATION, KERNELS, device_guarded
    from ember_cuda_cupy.linalg_kernels import LINALG_KERNELS
    from ember_cuda_cupy.loss_kernels import LOSS_KERNELS
    from ember_cuda_cupy.nn_kernels import NN_KERNELS
    from ember_cuda_cupy.optim_kernels import OPTIM_KERNELS
    from ember_cuda_cupy.rnn_kernels import RNN_KERNELS

    table = {**KERNELS, **NN_KERNELS, **LOSS_KERNELS, **OPTIM_KERNELS, **RNN_KERNELS, **LINALG_KERNELS,
             **FFT_KERNELS}
    if _BACKEND.device_count() > 1:
        # CuPy launches on the current device: switch to the inputs' GPU when it differs.
        table = {name: fn if name in CREATION else device_guarded(fn) for name, fn in table.items()}
    return table
