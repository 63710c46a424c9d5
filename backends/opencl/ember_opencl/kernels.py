"""The kernel table: contract name -> callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["all_kernels"]


def all_kernels() -> dict[str, Callable[..., Any]]:
    """Every kernel this backend implements, keyed by its name in ``ember.kernels``."""
    from ember_opencl import creation, elementwise, movement

    ks: dict[str, Callable[..., Any]] = {
        "from_host": creation.from_host, "to_host": creation.to_host,
        "device_index": creation.device_index, "empty": creation.empty, "full": creation.full,
        "arange": creation.arange, "astype": creation.astype, "clone": creation.clone,
        "is_contiguous": creation.is_contiguous, "strides": creation.strides,
        "storage_offset": creation.storage_offset, "storage_size": creation.storage_size,
        "as_strided": creation.as_strided, "bitcast": movement.bitcast, "copy_": creation.copy_,
        "reshape": movement.reshape, "permute": movement.permute, "expand": movement.expand,
        "slice": movement.slice_, "flip": movement.flip, "pad": movement.pad, "cat": movement.cat,
    }
    ks.update(elementwise.make_kernels())
    for mod in ("reduction", "scan", "random", "indexing", "gemm", "nn", "loss", "norm", "optim", "rnn", "special"):
        try:
            m = __import__(f"ember_opencl.{mod}", fromlist=["KERNELS"])
        except ImportError:
            continue
        ks.update(m.KERNELS)
    from ember_opencl import lowp
    return lowp.wrap(ks)  # bfloat16 (and float16 without cl_khr_fp16): 16-bit storage, float32 compute
