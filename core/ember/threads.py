"""``set_num_threads``/``get_num_threads`` and the inter-op pair, as PyTorch's.

What the number controls in ember: the CPU backend's own worker threads (the random kernels split
large outputs over at most this many threads, and at most 8) and, when ``threadpoolctl`` is
installed, the BLAS/OpenMP thread pools NumPy uses (matmul, linalg). Other backends run on their
device and are not affected. ember has no inter-op thread pool: ``set_num_interop_threads`` is
validated and recorded as in PyTorch (once only), and changes nothing.

Example:
    >>> import ember
    >>> before = ember.get_num_threads()
    >>> ember.set_num_threads(2)
    >>> ember.get_num_threads()
    2
    >>> ember.set_num_threads(before)
"""

from __future__ import annotations

import os

__all__ = ["get_num_interop_threads", "get_num_threads", "set_num_interop_threads", "set_num_threads"]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


_STATE = {"threads": _cpus(), "interop": _cpus(), "interop_set": False}


def _check(name: str, n: object) -> int:
    if not isinstance(n, int) or isinstance(n, bool):
        raise RuntimeError(f"{name} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return n


def get_num_threads() -> int:
    """The number of threads used for intra-op parallelism on the CPU (see the module doc)."""
    return _STATE["threads"]


def set_num_threads(n: int) -> None:
    """Set the number of CPU threads for intra-op parallelism (see the module doc for what it covers)."""
    _STATE["threads"] = _check("set_num_threads", n)
    try:
        import threadpoolctl
    except ImportError:  # NumPy's BLAS keeps its own setting (OMP_NUM_THREADS & co.)
        return
    threadpoolctl.threadpool_limits(limits=n)


def get_num_interop_threads() -> int:
    """The number of inter-op threads (recorded only: ember has no inter-op pool)."""
    return _STATE["interop"]


def set_num_interop_threads(n: int) -> None:
    """Record the number of inter-op threads; as in PyTorch, only one call is allowed."""
    n = _check("set_num_interop_threads", n)
    if _STATE["interop_set"]:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has started or "
                           "set_num_interop_threads called")
    _STATE["interop"] = n
    _STATE["interop_set"] = True
