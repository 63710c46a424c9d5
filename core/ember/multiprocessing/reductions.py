"""CPU tensors in shared memory, and how they cross process boundaries.

``Tensor.share_memory_()`` moves a CPU tensor's storage into a shared mapping: an anonymous
in-memory file (``memfd_create``, or an unlinked temporary file where that is missing) under the
``"file_descriptor"`` strategy (PyTorch's default on Linux), or a named file in ``/dev/shm``
under ``"file_system"``. A forked child inherits the mapping; a spawned child (or any process at
the other end of a ``multiprocessing`` queue or pipe) receives the tensor through the reducer
registered with ``multiprocessing.reduction.ForkingPickler``, which sends the file (the
descriptor itself, duplicated by the sender's resource sharer, or the file's name) instead of the
data, so both processes read and write the same memory: Hogwild training works as in PyTorch.

A tensor that is not in shared memory is sent by value, as a plain pickle does (PyTorch moves
it into shared memory first; ember leaves the sender's tensor where it is, so a DataLoader's
batches are not turned into one mapping each). Autograd does not cross processes: a non-leaf
tensor that requires grad is refused, as in PyTorch.

Example:
    >>> import ember
    >>> t = ember.zeros(3)
    >>> t.share_memory_().is_shared()
    True
"""

from __future__ import annotations

import mmap
import os
import pickle
import tempfile
import threading
import weakref
from multiprocessing import reduction
from typing import Any

import numpy as np

__all__ = ["share_cpu_array", "rebase_view", "any_shared", "is_shared_array", "init_reductions", "get_sharing_strategy",
           "set_sharing_strategy", "get_all_sharing_strategies"]

_STRATEGIES = frozenset({"file_descriptor", "file_system"})
_state = {"strategy": "file_descriptor"}
_lock = threading.Lock()


class _Block:
    """One shared mapping: its start address and size, and how another process opens it."""

    __slots__ = ("start", "size", "fd", "name", "owner")

    def __init__(self, start: int, size: int, fd: int | None, name: str | None, owner: bool) -> None:
        self.start, self.size, self.fd, self.name, self.owner = start, size, fd, name, owner


_blocks: dict[int, _Block] = {}  # start address -> block, for every live mapping of this process


def get_all_sharing_strategies() -> set[str]:
    """The strategies this platform supports (PyTorch's names)."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    """The strategy used for tensors moved into shared memory from now on."""
    return _state["strategy"]


def set_sharing_strategy(new_strategy: str) -> None:
    """``"file_descriptor"`` (the default) or ``"file_system"`` (named files in ``/dev/shm``:
    no descriptor per tensor stays open, but a killed process can leave files behind)."""
    assert new_strategy in _STRATEGIES, (
        f"invalid sharing strategy {new_strategy!r}, expected one of {set(_STRATEGIES)!r}")
    _state["strategy"] = new_strategy


def _shm_dir() -> str:
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def _new_file(size: int, strategy: str) -> tuple[int, str | None]:
    """An open, ``size``-byte file to map: anonymous (fd strategy) or named (file_system)."""
    if strategy == "file_descriptor":
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("ember_shared", getattr(os, "MFD_CLOEXEC", 0))
        else:  # no memfd (macOS): a temporary file, unlinked at once, lives while it is open
            fd, path = tempfile.mkstemp(prefix="ember_shared_", dir=_shm_dir())
            os.unlink(path)
        name = None
    else:
        fd, name = tempfile.mkstemp(prefix=f"ember_{os.getpid()}_", dir=_shm_dir())
    try:
        os.ftruncate(fd, size)
    except OSError:
        os.close(fd)
        if name is not None:
            os.unlink(name)
        raise
    return fd, name


def _release(start: int) -> None:
    """The mapping at ``start`` was collected: close its file and, if this process created a
    named one, remove the name."""
    with _lock:
        block = _blocks.pop(start, None)
    if block is None:
        return
    if block.fd is not None:
        os.close(block.fd)
    if block.name is not None and block.owner:
        try:
            os.unlink(block.name)
        except FileNotFoundError:  # another process already removed it
            pass


def _map(fd: int, size: int, name: str | None, owner: bool) -> np.ndarray:
    """Map ``size`` bytes of the open file ``fd`` shared, register the mapping, and return it as a
    uint8 array (the mapping lives while any array made from it does)."""
    mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    raw = np.frombuffer(mm, np.uint8)
    start = raw.__array_interface__["data"][0]
    if name is not None:  # a named file needs no open descriptor: it is reopened by name
        os.close(fd)
        fd = None
    with _lock:
        _blocks[start] = _Block(start, size, fd, name, owner)
    weakref.finalize(mm, _release, start)
    return raw


def _block_of(arr: np.ndarray) -> _Block | None:
    addr = arr.__array_interface__["data"][0]
    with _lock:
        for block in _blocks.values():
            if block.start <= addr < block.start + block.size:
                return block
    return None


def any_shared() -> bool:
    """Whether this process holds any shared mapping (a cheap test before :func:`is_shared_array`)."""
    return bool(_blocks)


def is_shared_array(arr: np.ndarray) -> bool:
    """Whether ``arr``'s memory lies in a shared mapping made by this module."""
    return _block_of(arr) is not None


def share_cpu_array(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``arr`` in a new shared mapping (at least one byte is mapped)."""
    init_reductions()
    size = max(arr.nbytes, 1)
    fd, name = _new_file(size, _state["strategy"])
    raw = _map(fd, size, name, owner=True)
    out = raw[:arr.nbytes].view(arr.dtype).reshape(arr.shape)
    np.copyto(out, arr)
    return out


def rebase_view(view: np.ndarray, old_base: np.ndarray, new_base: np.ndarray) -> np.ndarray:
    """``view`` of C-contiguous ``old_base``, made again at the same place in ``new_base`` (its copy)."""
    offset = view.__array_interface__["data"][0] - old_base.__array_interface__["data"][0]
    return np.ndarray(view.shape, view.dtype, buffer=new_base, offset=offset, strides=view.strides)


# ---- crossing a process boundary ----------------------------------------------------------------
def _rebuild_shared(handle: Any, name: str | None, size: int, offset: int, shape: tuple, strides: tuple,
                    dtype_name: str, requires_grad: bool, parameter: bool) -> Any:
    """Map the sender's file and wrap ``shape``/``strides`` at ``offset`` of it as a CPU tensor."""
    from ember.functions.creation import from_numpy
    from ember.numpy_dtypes import to_numpy

    if name is not None:
        fd = os.open(name, os.O_RDWR)
    else:
        fd = handle.detach()  # a descriptor of our own, duplicated from the sender's
    raw = _map(fd, size, name, owner=False)
    arr = np.ndarray(shape, to_numpy(dtype_name), buffer=raw, offset=offset, strides=strides)
    t = from_numpy(arr)
    if parameter:
        from ember.nn.parameter import Parameter

        return Parameter(t, requires_grad=requires_grad)
    t.requires_grad_(requires_grad)
    return t


def _reduce_tensor(t: Any) -> Any:
    if t.requires_grad and not t.is_leaf:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, "
                           "since autograd does not support crossing process boundaries.  "
                           "If you just want to transfer the data, call detach() on the tensor "
                           "before serializing (e.g., putting it on the queue).")
    block = _block_of(t._data) if t.device.type == "cpu" else None
    if block is None:  # not shared: by value, as a plain pickle
        return t.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    arr = t._data
    offset = arr.__array_interface__["data"][0] - block.start
    handle = None if block.name is not None else reduction.DupFd(block.fd)
    from ember.nn.parameter import Parameter

    return _rebuild_shared, (handle, block.name, block.size, offset, tuple(arr.shape), tuple(arr.strides),
                             str(t.dtype).rpartition(".")[2], bool(t.requires_grad), isinstance(t, Parameter))


def init_reductions() -> None:
    """Register the tensor reducer with ``ForkingPickler`` (idempotent): ``multiprocessing``'s
    queues, pipes and spawned processes then send shared tensors by handle."""
    from ember.nn.parameter import Parameter
    from ember.tensor import Tensor

    for cls in (Tensor, Parameter):
        reduction.ForkingPickler.register(cls, _reduce_tensor)
