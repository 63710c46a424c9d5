"""Keep CPython's freed frame-stack chunks for reuse instead of unmapping them at once.

CPython 3.11+ keeps each thread's Python frames on a stack of 16 KiB chunks. A call that does not
fit in the current chunk gets a new one from the *arena allocator* (``mmap``), and the chunk is
unmapped again as soon as that call returns. ember's ops are Python several frames deep, so when
the frame that calls them (a module's ``forward``, a training loop) happens to end near a chunk's
end, every op maps a chunk, touches it and unmaps it, several times over: measured on the 2-core VM
with 150 small matrix products called from each of 160 stack depths, 11 of the 160 depths ran 10x
slower (12.6 against 1.3 ms, 14 page faults per op), decided by nothing but how deep the caller's
stack was (running a benchmark with ``python -m`` instead of importing it moved a compiled
LSTM step by 30%).
PyTorch's ops are C++ and do not meet this.

:func:`install` replaces the arena allocator (``PyObject_SetArenaAllocator``, public C API) by one
that keeps up to :data:`SLOTS` freed blocks of at most :data:`MAX_CACHED` bytes (frame-stack chunks;
pymalloc's 1 MiB arenas are left alone) and hands them out again before asking ``mmap``. Blocks
are mapped and unmapped exactly as CPython's own allocator does on Linux (``mmap`` of anonymous
private memory), so blocks from before the switch, and after :func:`uninstall`, mix freely. The
allocator runs with the GIL held, as CPython calls it, and is two compiled numba functions
(numba: the ``fusion`` extra, part of ``ember[dev]``). It is installed when numba is loaded anyway
(the cpu backend's first numba kernel) and when a device other than the cpu builds its kernel
table (its first op), not at ``import ember``: importing numba takes ~0.3 s.
``EMBER_FRAME_STACK_CACHE=0`` turns it off. Only on Linux, CPython 3.11+ with the GIL, and while
nobody else replaced the arena allocator. (An interpreter matter, not a device one: it lives in the
frontend so that every backend's Python gets it.)

Example:
    >>> from ember import _frame_stack
    >>> _frame_stack.STATE in ("installed", "off", "unavailable")
    True
"""

from __future__ import annotations

import atexit
import ctypes
import os
import sys
from typing import Any

import numpy as np

__all__ = ["install", "uninstall", "STATE", "SLOTS", "MAX_CACHED"]

#: freed blocks kept at most, and the largest size kept (frame-stack chunks are 16 KiB, or a power
#: of two above for a very large frame)
SLOTS = 8
MAX_CACHED = 1 << 16

#: "installed", "off" (disabled, or not installed yet) or "unavailable" (wrong platform, no numba)
STATE = "off"


class _ArenaAllocator(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("alloc", ctypes.c_void_p), ("free", ctypes.c_void_p)]


_KEEP: dict[str, Any] = {}  # the table and the compiled functions, alive while installed


def _supported() -> bool:
    if os.environ.get("EMBER_FRAME_STACK_CACHE", "1") == "0":
        return False
    if sys.implementation.name != "cpython" or sys.version_info < (3, 11) or not sys.platform.startswith("linux"):
        return False
    gil = getattr(sys, "_is_gil_enabled", None)
    return gil is None or bool(gil())


def _compile(numba: Any) -> tuple[Any, Any]:
    """The allocator's two functions, compiled (and cached on disk) by numba."""
    import mmap

    from numba import carray, types

    mmap_fn = types.ExternalFunction("mmap", types.uintp(types.uintp, types.uintp, types.intc, types.intc,
                                                         types.intc, types.int64))
    munmap_fn = types.ExternalFunction("munmap", types.intc(types.uintp, types.uintp))
    prot = mmap.PROT_READ | mmap.PROT_WRITE
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    failed = (1 << 64) - 1  # MAP_FAILED, (void *) -1
    width = 1 + 2 * SLOTS  # [count, (address, size) * SLOTS]
    limit = MAX_CACHED
    slots = SLOTS

    # Pointers travel as uintp (the same register as a void * on every 64-bit ABI).
    @numba.cfunc(types.uintp(types.voidptr, types.uintp), nopython=True, cache=True)
    def alloc(ctx, size):  # pragma: no cover - runs as C, called by CPython
        t = carray(ctx, (width,), np.uint64)
        n = t[0]
        for i in range(n):
            if t[2 + 2 * i] == size:
                p = t[1 + 2 * i]
                t[1 + 2 * i] = t[2 * n - 1]
                t[2 + 2 * i] = t[2 * n]
                t[0] = n - 1
                return p
        p = mmap_fn(0, size, prot, flags, -1, 0)
        return 0 if p == failed else p

    @numba.cfunc(types.void(types.voidptr, types.uintp, types.uintp), nopython=True, cache=True)
    def free(ctx, ptr, size):  # pragma: no cover - runs as C, called by CPython
        t = carray(ctx, (width,), np.uint64)
        n = t[0]
        if size <= limit and n < slots:
            t[1 + 2 * n] = ptr
            t[2 + 2 * n] = size
            t[0] = n + 1
            return
        munmap_fn(ptr, size)

    return alloc, free


def install(numba: Any = None) -> str:
    """Switch to the caching arena allocator once per process; returns :data:`STATE`."""
    global STATE
    if STATE == "installed" or not _supported():
        return STATE
    if numba is None:
        try:
            import numba
        except Exception:  # noqa: BLE001 - missing, or broken against this NumPy: CPython's allocator stays
            STATE = "unavailable"
            return STATE
    api = ctypes.pythonapi  # a PyDLL: its calls keep the GIL, so no Python frame runs in between
    current = _ArenaAllocator()
    api.PyObject_GetArenaAllocator(ctypes.byref(current))
    if current.ctx is not None:  # CPython's own allocator has no context: somebody else's is in place
        STATE = "unavailable"
        return STATE
    try:
        alloc, free = _compile(numba)
    except Exception:  # noqa: BLE001 - a numba that cannot build these leaves CPython's allocator
        STATE = "unavailable"
        return STATE
    table = np.zeros(1 + 2 * SLOTS, np.uint64)
    mine = _ArenaAllocator(table.ctypes.data, alloc.address, free.address)
    _KEEP.update(table=table, alloc=alloc, free=free, previous=current)
    api.PyObject_SetArenaAllocator(ctypes.byref(mine))  # CPython copies the struct
    # (again: atexit runs the newest first, so CPython's allocator is back before numba's handlers)
    atexit.unregister(uninstall)
    atexit.register(uninstall)
    STATE = "installed"
    return STATE


@atexit.register
def uninstall() -> None:
    """Put CPython's allocator back and unmap the kept blocks (at exit too: the compiled functions
    must not be called once numba's memory is gone)."""
    global STATE
    if STATE != "installed":
        return
    previous, table = _KEEP["previous"], _KEEP["table"]
    ctypes.pythonapi.PyObject_SetArenaAllocator(ctypes.byref(previous))
    munmap = ctypes.CDLL(None).munmap
    munmap.argtypes, munmap.restype = (ctypes.c_void_p, ctypes.c_size_t), ctypes.c_int
    for i in range(int(table[0])):
        munmap(int(table[1 + 2 * i]), int(table[2 + 2 * i]))
    table[0] = 0
    _KEEP.clear()
    STATE = "off"
