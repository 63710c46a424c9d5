"""DLPack hooks of the CPU backend: NumPy arrays already speak the protocol.

``from_dlpack`` accepts any producer whose memory the CPU can read (NumPy, PyTorch CPU tensors,
JAX CPU arrays...) without copying; ``to_dlpack`` hands out the array's own capsule.

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy.dlpack import DLPACK_KERNELS
    >>> arr, dt = DLPACK_KERNELS["from_dlpack"](np.arange(3.0))
    >>> arr, str(dt)
    (array([0., 1., 2.]), 'ember.float64')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember_cpu_numpy.dtypes import EMBER_DTYPE

__all__ = ["DLPACK_KERNELS"]


def from_dlpack(obj: Any) -> tuple[np.ndarray, Any]:
    arr = np.from_dlpack(obj)
    try:
        return arr, EMBER_DTYPE[arr.dtype]
    except KeyError:
        raise TypeError(f"can't import a DLPack tensor of dtype {arr.dtype}: ember supports "
                        f"{', '.join(sorted(str(d) for d in EMBER_DTYPE))}") from None


def to_dlpack(x: np.ndarray, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
              copy: Any = None) -> Any:
    if stream is not None:
        # The array API: a CPU producer must be given stream=None.
        raise BufferError(f"stream must be None for a CPU tensor, got {stream!r}")
    # Only pass what was asked for: NumPy before 2.1 knows no max_version/dl_device/copy.
    kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
              if v is not None}
    return x.__dlpack__(**kwargs)


def dlpack_device(x: np.ndarray) -> tuple[int, int]:
    return 1, 0  # kDLCPU


DLPACK_KERNELS = {"from_dlpack": from_dlpack, "to_dlpack": to_dlpack, "dlpack_device": dlpack_device}
