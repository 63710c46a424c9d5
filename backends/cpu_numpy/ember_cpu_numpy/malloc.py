"""glibc malloc settings that stop NumPy temporaries from page-faulting on every training step.

NumPy takes array memory from ``malloc``. glibc serves large blocks with ``mmap`` and hands
freed memory at the top of its heap back to the kernel once more than ``M_TRIM_THRESHOLD`` bytes
are free there. A training step allocates and frees tens of MiB of activations and gradients,
so without tuning the same memory is returned to the kernel and faulted back in, zero-filled,
4 KiB at a time, on every step: in a LeNet step that was ~1,600 page faults and a third of the
time on the benchmark machine (a VM, where a fault costs several microseconds). PyTorch users
get the same effect by preloading jemalloc or tcmalloc.

:func:`tune` (called when the backend loads) keeps blocks below 32 MiB on the heap and keeps up
to 256 MiB of free heap for reuse. It only runs on Linux with glibc, and does nothing when the
environment already sets ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, or
``GLIBC_TUNABLES`` (the user chose), or when ``EMBER_CPU_MALLOC_TUNING=0``.

Example:
    >>> from ember_cpu_numpy import malloc
    >>> malloc.STATE in ("tuned", "skipped", "unavailable")
    True
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune", "STATE", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

MMAP_THRESHOLD = 32 << 20  # glibc's own upper bound for its dynamic threshold on 64-bit
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: "tuned", "skipped" (disabled or the user configured malloc) or "unavailable" (not glibc)
STATE = "unavailable"


def tune() -> str:
    """Apply the settings once per process; returns :data:`STATE`."""
    global STATE
    if STATE == "tuned":
        return STATE
    env = os.environ
    if env.get("EMBER_CPU_MALLOC_TUNING", "1") == "0" or any(
            k in env for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")):
        STATE = "skipped"
        return STATE
    if not sys.platform.startswith("linux"):
        return STATE
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # glibc only: musl's mallopt is a no-op stub
            return STATE
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return STATE
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # Setting either value turns off glibc's dynamic threshold, so both are set.
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD):
        STATE = "tuned"
    return STATE
