"""OpenCL devices, their contexts/queues/memory pools, and the compiled-program cache.

Nothing here runs at import time: :func:`devices` enumerates platforms on first call and a
device's context is created the first time a kernel needs it.
"""

from __future__ import annotations

import atexit
import importlib
import math
import os
import threading
from typing import Any

import numpy as np

__all__ = ["DeviceState", "devices", "device", "discovery_error", "select_devices", "kernel", "started",
           "NP_DTYPES", "CTYPES", "to_np", "to_ember", "ctype"]

try:  # pyopencl may be missing or broken (no ICD loader): the backend then reports unavailable.
    import pyopencl as cl
    import pyopencl.tools as cl_tools
    _IMPORT_ERROR: str | None = None
except Exception as exc:  # pragma: no cover - depends on the machine
    cl = None  # type: ignore[assignment]
    cl_tools = None  # type: ignore[assignment]
    _IMPORT_ERROR = f"pyopencl could not be imported ({exc}); pip install pyopencl"

# importlib, not ``from ember import dtype``: the package may re-export a ``dtype`` class.
edt = importlib.import_module("ember.dtype")

# ember dtype <-> NumPy dtype (ember's one map, ember.numpy_dtypes) <-> OpenCL C type. bool is
# stored as one byte (uchar); bfloat16 is 16-bit storage computed in float32 (ember_opencl.lowp).
# No complex dtypes: the backend does not declare them (plugin.supported_dtypes).
NP_DTYPES: dict[Any, np.dtype] = importlib.import_module("ember.numpy_dtypes").numpy_map(exclude=edt.COMPLEX_DTYPES)
_EMBER_BY_NP = {v: k for k, v in NP_DTYPES.items()}
CTYPES: dict[np.dtype, str] = {
    np.dtype(np.float32): "float", np.dtype(np.float64): "double", np.dtype(np.float16): "half",
    np.dtype(np.int64): "long", np.dtype(np.int32): "int", np.dtype(np.int16): "short",
    np.dtype(np.int8): "char", np.dtype(np.uint8): "uchar", np.dtype(np.bool_): "uchar",
    np.dtype(np.uint16): "ushort",  # the bits of a bfloat16/float16 array (ember_opencl.lowp)
}


#: Launches of at most this many work-items are "small": on a CPU device they are held back
#: behind a user event and released together (see ``DeviceState.launch``).
SMALL_LAUNCH = 1 << 14


#: How many small launches a CPU device holds back at most, by default. Large on purpose: a burst
#: that runs while the Python thread queues the next one makes PoCL's worker threads and the Python
#: thread take turns on the same cores, and on the 2-core benchmark VM every overlap cost more than
#: it hid (16x16 chains, per op: 12.6 us held back 64 at a time, 11.1 at 256, 10.8 at 1024, 9.7 at
#: 4096, 7.6 at 16384). A held launch costs PoCL about 1 KB until it runs (16 MB for 16,384).
DEFAULT_BATCH = 16384


def _batch_size() -> int:
    """How many small launches a CPU device holds back at most (``EMBER_OPENCL_BATCH``; 0 = off)."""
    try:
        return max(0, int(os.environ.get("EMBER_OPENCL_BATCH", str(DEFAULT_BATCH))))
    except ValueError:
        return DEFAULT_BATCH


def to_np(d: Any) -> np.dtype:
    """NumPy dtype of an ember dtype (NumPy dtypes pass through)."""
    if isinstance(d, edt.dtype):
        try:
            return NP_DTYPES[d]
        except KeyError:  # a complex result of an op on real tensors (x * 1j) lands here
            raise TypeError(f"the opencl backend has no {d.name} support") from None
    return np.dtype(d)


def to_ember(d: np.dtype) -> Any:
    """ember dtype of a NumPy dtype."""
    return _EMBER_BY_NP[np.dtype(d)]


def ctype(d: np.dtype) -> str:
    """OpenCL C type name that stores dtype ``d``."""
    return CTYPES[np.dtype(d)]


class DeviceState:
    """One OpenCL device plus (lazily) its context, in-order queue, memory pool and caches."""

    def __init__(self, cl_device: Any, platform_index: int, device_index: int) -> None:
        self.cl_device = cl_device
        self.platform_index = platform_index
        self.device_index = device_index
        self.name = cl_device.name.strip()
        exts = cl_device.extensions.split()
        self.fp64 = "cl_khr_fp64" in exts
        self.fp16 = "cl_khr_fp16" in exts
        self.int64_atomics = "cl_khr_int64_base_atomics" in exts
        self.is_gpu = bool(cl_device.type & cl.device_type.GPU)
        self.max_wg = int(cl_device.max_work_group_size)
        self._ctx = None
        self._queue = None
        self._pool = None
        # Small launches on a CPU device are gated (see launch); GPUs run everything at once.
        self.batch = 0 if self.is_gpu else _batch_size()
        self._gate: Any = None
        self._gated = 0
        # One lock per device around set_args + enqueue (and the gate): a cached cl.Kernel holds
        # its arguments, so two threads launching it at once would run one thread's arguments twice.
        self._lock = threading.RLock()
        self._programs: dict[str, Any] = {}
        self._kernels: dict[Any, Any] = {}
        #: launch plans keyed by operation and operand layouts (codegen.py, reduction.py)
        self.plans: dict[Any, Any] = {}
        self.reduce_plans: dict[Any, Any] = {}
        #: small cache of uploaded per-batch offset tables (see gemm.py)
        self.boff_cache: dict[Any, Any] = {}
        #: high-water marks of the pool's live bytes (see alloc) and held bytes (see empty_cache)
        self.peak_allocated = 0
        self.peak_reserved = 0

    def _init(self) -> None:
        with self._lock:  # once: two threads' first ops must not make two contexts
            if self._pool is not None:
                return
            ctx = cl.Context([self.cl_device])
            queue = cl.CommandQueue(ctx)
            # A pool avoids a clCreateBuffer per op; freed blocks are reused immediately.
            pool = cl_tools.MemoryPool(cl_tools.ImmediateAllocator(queue))
            self._ctx, self._queue = ctx, queue
            self._pool = pool  # last: the properties test _ctx/_queue/_pool against None

    @property
    def ctx(self) -> Any:
        if self._ctx is None:
            self._init()
        return self._ctx

    @property
    def queue(self) -> Any:
        if self._queue is None:
            self._init()
        return self._queue

    def alloc(self, nbytes: int) -> Any:
        """A pooled device buffer of at least ``nbytes`` (never zero: OpenCL forbids it)."""
        if self._pool is None:
            self._init()
        pool = self._pool
        buf = pool.allocate(max(int(nbytes), 8))
        # Only an allocation raises the live bytes, so sampling them here sees every peak. A block
        # goes back to the pool when its last CLArray is collected (PooledBuffer's destructor).
        used = pool.active_bytes
        if used > self.peak_allocated:
            self.peak_allocated = used
        return buf

    def memory_allocated(self) -> int:
        """Bytes of the live buffers (each counted at its requested size, at least 8)."""
        return 0 if self._pool is None else int(self._pool.active_bytes)

    def memory_reserved(self) -> int:
        """Bytes the pool holds from OpenCL: live buffers plus freed blocks kept for reuse."""
        return 0 if self._pool is None else int(self._pool.managed_bytes)

    def max_memory_reserved(self) -> int:
        # The pool's held bytes only fall in empty_cache, which records them first.
        return max(self.peak_reserved, self.memory_reserved())

    def reset_peak_memory_stats(self) -> None:
        self.peak_allocated = self.memory_allocated()
        self.peak_reserved = self.memory_reserved()

    def empty_cache(self) -> None:
        """Give the pool's unused blocks back to OpenCL (live buffers are untouched)."""
        if self._pool is not None:
            self.peak_reserved = self.max_memory_reserved()
            self._pool.free_held()

    def program(self, source: str) -> Any:
        """Build ``source`` once per device; later calls return the cached program."""
        prg = self._programs.get(source)
        if prg is None:
            prg = cl.Program(self.ctx, source).build(options=["-cl-std=CL1.2"])
            self._programs[source] = prg
        return prg

    def kernel(self, key: Any, make_source: Any, name: str, arg_dtypes: list | None = None) -> Any:
        """The cached ``cl.Kernel`` for ``key``; ``make_source()`` is only called on a miss."""
        k = self._kernels.get(key)
        if k is None:
            k = cl.Kernel(self.program(make_source()), name)
            if arg_dtypes is not None:
                k.set_scalar_arg_dtypes(arg_dtypes)
            self._kernels[key] = k
        return k

    def launch(self, k: Any, gsize: tuple[int, ...], lsize: tuple[int, ...] | None,
               args: Any = None) -> None:
        """Set kernel ``k``'s arguments to ``args`` and enqueue it on ``gsize`` work-items.

        Both happen under the device's lock: kernels are cached and shared by every thread, and
        their arguments live in the kernel object until the enqueue reads them (an uncontended
        lock costs well under a microsecond; a launch costs several).

        On a CPU device (PoCL) every enqueue into an idle queue wakes the runtime's worker
        threads, which then compete with the Python thread for the same cores: a chain of small
        ops paid that wake-up once per op. So a small launch that finds no gate opens one: it
        waits on a user event, and the launches after it queue up behind it (the queue is in
        order) until ``batch`` small launches are held, a large launch comes, or the host needs
        results (``flush``: ``to_host``, ``finish``, ``synchronize``). They then run as one burst.
        """
        n = gsize[0] if len(gsize) == 1 else math.prod(gsize)
        with self._lock:
            if args is not None:
                k.set_args(*args)
            if self.batch and n <= SMALL_LAUNCH:
                if self._gate is None:
                    self._gate = cl.UserEvent(self.ctx)
                    self._gated = 0
                    _enqueue(self._queue, k, gsize, lsize, wait_for=(self._gate,))
                else:
                    _enqueue(self._queue, k, gsize, lsize)
                self._gated += 1
                if self._gated >= self.batch:
                    self.flush()
                return
            self.flush()
            _enqueue(self.queue, k, gsize, lsize)

    def flush(self) -> None:
        """Release the launches held back by ``launch`` (they start running now)."""
        if self._gate is not None:
            with self._lock:
                gate, self._gate = self._gate, None
            if gate is not None:
                gate.set_status(_COMPLETE)

    def finish(self) -> None:
        if self._queue is not None:
            check_not_forked()
            with self._lock:  # no other thread may open a gate between the flush and the marker
                self.flush()
                marker = cl.enqueue_marker(self._queue)
            marker.wait()

    def copy(self, dst: Any, src: Any, **kwargs: Any) -> None:
        """``cl.enqueue_copy`` and wait for it. The flush and the enqueue happen under the lock,
        so another thread cannot open a gate in between: the copy would wait behind launches
        that only that thread releases. The wait happens outside the lock."""
        check_not_forked()
        with self._lock:
            self.flush()
            event = cl.enqueue_copy(self.queue, dst, src, is_blocking=False, **kwargs)
        event.wait()


_enqueue: Any = cl.enqueue_nd_range_kernel if cl is not None else None
_COMPLETE: Any = cl.command_execution_status.COMPLETE if cl is not None else None


@atexit.register
def _flush_all() -> None:
    """Run what is still held back, so no command is left behind a gate at exit."""
    if _FORKED:  # the gates belong to the parent's runtime
        return
    for state in _ALL or ():
        try:
            state.flush()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            pass


_ALL: list[DeviceState] | None = None
_SELECTED: list[DeviceState] | None = None
_ERROR: str | None = None
#: True in a child forked after this process started the OpenCL runtime: the runtime's threads
#: did not survive the fork, so any wait on a device there would hang forever.
_FORKED = False


def started() -> bool:
    """True once this process has started the OpenCL runtime (enumerated the platforms)."""
    return cl is not None and _ALL is not None


def check_not_forked() -> None:
    """Raise instead of hanging when the runtime was inherited through fork()."""
    if _FORKED:
        raise RuntimeError("the OpenCL runtime was started before this process was forked, and a forked child "
                           "cannot use it (it would hang). Start worker processes with 'spawn' or 'forkserver', "
                           "e.g. DataLoader(..., multiprocessing_context='spawn')")


def _after_fork_in_child() -> None:
    global _FORKED
    _FORKED = _FORKED or started()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _discover() -> list[DeviceState]:
    """Every device of every platform, GPUs first (stable order otherwise)."""
    global _ALL, _ERROR
    if _ALL is not None:
        return _ALL
    found: list[DeviceState] = []
    if cl is None:
        _ERROR = _IMPORT_ERROR
    else:
        try:
            platforms = cl.get_platforms()
        except Exception as exc:  # no ICD / no platform raises here
            platforms = []
            _ERROR = (f"no OpenCL platform found ({exc}); install an OpenCL runtime, e.g. "
                      "`apt-get install pocl-opencl-icd`")
        for pi, plat in enumerate(platforms):
            try:
                devs = plat.get_devices()
            except Exception:
                continue
            for di, d in enumerate(devs):
                found.append(DeviceState(d, pi, di))
        if not found and _ERROR is None:
            _ERROR = ("no OpenCL platform found; install an OpenCL runtime, e.g. "
                      "`apt-get install pocl-opencl-icd`")
    found.sort(key=lambda s: (not s.is_gpu,))
    _ALL = found
    return found


def _matches(state: DeviceState, spec: str) -> bool:
    spec = spec.strip()
    if ":" in spec and all(p.strip().isdigit() for p in spec.split(":", 1)):
        p, d = (int(x) for x in spec.split(":", 1))
        return state.platform_index == p and state.device_index == d
    return spec.lower() in state.name.lower()


def select_devices(*specs: str) -> list[str]:
    """Restrict ember's ``opencl:N`` devices to those matching ``specs``.

    Each spec is ``"platform:device"`` (e.g. ``"0:1"``) or a substring of the device name.
    With no spec, every device is used again. Returns the selected device names.
    Call this before creating tensors: indices are renumbered.
    """
    global _SELECTED
    all_devs = _discover()
    if not specs:
        _SELECTED = list(all_devs)
    else:
        _SELECTED = [s for s in all_devs if any(_matches(s, sp) for sp in specs)]
    return [s.name for s in _SELECTED]


def devices() -> list[DeviceState]:
    """The selected devices (``EMBER_OPENCL_DEVICES``, comma-separated specs, filters them)."""
    global _SELECTED
    if _SELECTED is None:
        env = os.environ.get("EMBER_OPENCL_DEVICES", "").strip()
        select_devices(*[s for s in env.split(",") if s.strip()])
    return _SELECTED  # type: ignore[return-value]


def device(index: int) -> DeviceState:
    devs = _SELECTED if _SELECTED is not None else devices()
    if not 0 <= index < len(devs):
        raise RuntimeError(f"opencl:{index} does not exist ({len(devs)} OpenCL device(s))")
    return devs[index]


def discovery_error() -> str | None:
    """Why no device was found, or None."""
    devs = devices()
    if devs:
        return None
    if _ERROR:
        return _ERROR
    return ("no OpenCL device matches EMBER_OPENCL_DEVICES="
            f"{os.environ.get('EMBER_OPENCL_DEVICES', '')!r}")


def kernel(index: int, key: Any, make_source: Any, name: str, arg_dtypes: list | None = None) -> Any:
    """Shortcut for ``device(index).kernel(...)``."""
    return device(index).kernel(key, make_source, name, arg_dtypes)
