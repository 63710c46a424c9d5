"""The CUDA backend's device-native collectives (``Backend.collective_communicator``): CuPy's NCCL
bindings, used by ``ember.distributed``'s "nccl" backend.

Group rank 0 makes the NCCL unique id and the caller's ``share`` (MPI) broadcasts it; then ``all_reduce`` and ``broadcast``
of CUDA tensors run as NCCL calls on the tensor's device memory (no host copy). The other
collectives, and every non-CUDA tensor, go through MPI as on the other backends. NCCL calls are
issued on the current stream and synchronised before returning (no NCCL-side timeout: a dead peer
is found by MPI's timed waits on the next MPI operation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NcclComm", "nccl_available"]

_DTYPES = {"float16": 6, "float32": 7, "float64": 8, "int8": 0, "uint8": 1, "int32": 2, "uint32": 3,
           "int64": 4, "uint64": 5, "bfloat16": 9}
_OPS = {"SUM": 0, "PRODUCT": 1, "MAX": 2, "MIN": 3, "AVG": 4}


def nccl_available() -> bool:
    """True when CuPy with its NCCL bindings imports."""
    try:
        from cupy.cuda import nccl  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means no NCCL
        return False
    return True


class NcclComm:
    """One NCCL communicator per process group (made when the group is)."""

    def __init__(self, rank: int, size: int, share: Any) -> None:
        from cupy.cuda import nccl

        self.nccl = nccl
        uid = np.zeros(128, np.uint8)
        if rank == 0:
            uid[:] = np.frombuffer(bytes(b & 0xFF for b in nccl.get_unique_id()), np.uint8)
        share(uid)
        ident = tuple(int(b) - 256 if b > 127 else int(b) for b in uid)
        self.comm = nccl.NcclCommunicator(size, ident, rank)

    def run(self, name: str, tensor: Any, arg: Any) -> None:
        import cupy

        arr = tensor._data
        if not arr.flags.c_contiguous:
            raise ValueError(f"{name}: the nccl backend needs a contiguous CUDA tensor")
        dtype = _DTYPES[str(tensor.dtype).replace("ember.", "")]
        stream = cupy.cuda.get_current_stream().ptr
        ptr, count = arr.data.ptr, arr.size
        if name == "all_reduce":
            self.comm.allReduce(ptr, ptr, count, dtype, _OPS[arg.name], stream)
        elif name == "broadcast":
            self.comm.bcast(ptr, count, dtype, int(arg), stream)
        else:  # pragma: no cover - the dispatcher only routes the two above
            raise NotImplementedError(name)
        cupy.cuda.get_current_stream().synchronize()
        tensor._bump_version()
