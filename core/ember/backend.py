"""What a backend package provides: one :class:`Backend` per device type it owns.

A backend package subclasses :class:`Backend`, fills in the device facts, and returns an
instance from the ``ember_backend`` hook; its kernels come from the ``ember_kernels`` hook.

This class *is* the protocol: every attribute ember's core reads from a backend is declared here
with a working default, and core calls it directly (no ``getattr`` probing). A backend overrides
what differs. From these answers ember generates ``ember.<device_type>`` (``ember.opencl``, a
third-party ``ember.toy``: ``is_available``, ``device_count``, ``synchronize``, the memory
statistics... as ``torch.cuda`` has them), ``Tensor.<device_type>()`` / ``Tensor.is_<device_type>`` and
``Module.<device_type>()``.

==========================================  =================================================
attribute                                   default
==========================================  =================================================
``device_type``                             "" (required: the name users write)
``install_hint``                            "" (no hint in "not available" errors)
``unsupported``                             {} (every op is meant to be native)
``array_types``                             () (``isinstance`` checks on device arrays)
``dlpack_device_types``                     () (imports no DLPack producer)
``is_available()``                          ``device_count() > 0``
``unavailable_reason()``                    "no device found"
``device_count()``                          0
``device_name(index)``                      "<type>:<index>"
``supported_dtypes(index)``                 every dtype of ``ember.dtypes.ALL_DTYPES``
``emulated_dtypes(index)``                  ()
``dtype_unsupported_reason(index, dt)``     ""
``is_accelerator(index)``                   False
``synchronize(index)``                      returns at once (nothing queued)
``memory_allocated(index)``                 0 (the backend does not count bytes)
``max_memory_allocated(index)``             ``memory_allocated(index)``
``memory_reserved(index)``                  ``memory_allocated(index)``
``max_memory_reserved(index)``              ``memory_reserved(index)``
``reset_peak_memory_stats(index)``          nothing to reset
``empty_cache()``                           nothing cached
``dtype_of(array)``, ``from_object(...)``   raise ``TypeError`` (only the host backend, the
                                            ``cpu`` one, turns Python objects into arrays)
``has_collectives()``                       False
``collective_communicator(rank, size, s)``  None (host-staged collectives)
``fork_safe()``                             True
``compile_elementwise(program)``            None (``ember.compile`` leaves chains unfused)
==========================================  =================================================

Example (a complete minimal backend lives in ``examples/third_party_backend``):
    >>> from ember.backend import Backend
    >>> class MyBackend(Backend):
    ...     device_type = "mydev"
    ...     def device_count(self): return 1
    >>> MyBackend().is_available()
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ember.dtypes import ALL_DTYPES, dtype

__all__ = ["Backend"]


class Backend:
    """Facts about one device type. Override what differs from these defaults."""

    #: the device type users write: ``"opencl"`` in ``"opencl:0"``; also names ``ember.opencl``
    device_type: str = ""
    #: the command that installs this backend (``"pip install 'ember[opencl]'"``), shown when a
    #: device of this type is asked for but not available
    install_hint: str = ""
    #: ops this backend deliberately does not implement, with the reason (shown in fallback errors
    #: and in the conformance report)
    unsupported: Mapping[str, str] = {}
    #: the classes of this backend's device arrays. The host (``cpu``) backend's are what the
    #: fallback path and ``ember.as_tensor`` recognise as host arrays (``(numpy.ndarray,)``).
    array_types: tuple[type, ...] = ()
    #: the DLPack device type codes (``DLDeviceType``: 1 CPU, 2 CUDA, 4 OpenCL, 13 CUDA managed...)
    #: of producers whose memory this backend's ``from_dlpack`` hook imports; ``ember.from_dlpack``
    #: picks the backend by the producer's ``__dlpack_device__()[0]``.
    dlpack_device_types: tuple[int, ...] = ()

    def is_available(self) -> bool:
        """True when at least one device of this type can be used now."""
        return self.device_count() > 0

    def unavailable_reason(self) -> str:
        """Why :meth:`is_available` is False, in words a user can act on."""
        return "no device found"

    def device_count(self) -> int:
        return 0

    def device_name(self, index: int) -> str:
        return f"{self.device_type}:{index}"

    def supported_dtypes(self, index: int) -> tuple[dtype, ...]:
        """The dtypes device ``index`` can hold (float64 may be missing on some devices)."""
        return ALL_DTYPES

    def emulated_dtypes(self, index: int) -> tuple[dtype, ...]:
        """The supported dtypes device ``index`` stores as they are but computes in a wider dtype
        (bfloat16 computed in float32, say); ``ember devices`` marks them."""
        return ()

    def dtype_unsupported_reason(self, index: int, dt: dtype) -> str:
        """Why device ``index`` cannot hold ``dt`` (shown in the error), or ""."""
        return ""

    def is_accelerator(self, index: int) -> bool:
        """True for a device worth choosing over the CPU by default (a GPU, say)."""
        return False

    def synchronize(self, index: int | None = None) -> None:
        """Wait for all queued work on device ``index`` (None: every device of this type).
        The default returns at once: right for a backend whose kernels finish before they return."""

    # ---- memory statistics (``ember.<type>.memory_allocated()`` and friends) -----------------------
    # ``index`` is always an int here: ember resolves None / "opencl:1" / a device first.
    def memory_allocated(self, index: int) -> int:
        """Bytes held by the tensors alive on device ``index``; 0 where the backend does not count."""
        return 0

    def max_memory_allocated(self, index: int) -> int:
        """The highest :meth:`memory_allocated` since the start or :meth:`reset_peak_memory_stats`."""
        return self.memory_allocated(index)

    def memory_reserved(self, index: int) -> int:
        """Bytes the backend's allocator holds on device ``index``: live tensors plus cached blocks."""
        return self.memory_allocated(index)

    def max_memory_reserved(self, index: int) -> int:
        """The highest :meth:`memory_reserved` since the start or :meth:`reset_peak_memory_stats`."""
        return self.memory_reserved(index)

    def reset_peak_memory_stats(self, index: int) -> None:
        """Start the peaks (``max_memory_*``) again from the current values."""

    def empty_cache(self) -> None:
        """Give the allocator's cached free blocks back to the device (every device of this type)."""

    # ---- host conversion: only the host backend (device type ``cpu``) overrides these ------------
    def dtype_of(self, array: Any) -> dtype:
        """The ember dtype of one of this backend's arrays (``ember.from_numpy`` on the host)."""
        raise TypeError(f"the {self.device_type} backend does not convert host arrays (only the cpu backend does)")

    def from_object(self, obj: Any, dtype: dtype | None, copy: bool = True) -> tuple[Any, dtype]:
        """``(array, ember dtype)`` from nested lists, numbers or host arrays (``ember.tensor`` on
        the host). ``dtype`` None means infer it as PyTorch does; ``copy=False`` may share memory."""
        raise TypeError(f"the {self.device_type} backend does not convert Python objects (only the cpu backend does)")

    def has_collectives(self) -> bool:
        """True when :meth:`collective_communicator` can make one here (its library is installed)."""
        return False

    def collective_communicator(self, rank: int, size: int, share: Any) -> Any:
        """A device-native communicator for a process group of ``size`` ranks (NCCL on CUDA), or
        None: ``ember.distributed`` then stages this device's tensors through host memory over MPI.
        ``share(buf)`` broadcasts a uint8 host array in place from group rank 0 (to hand out an id).
        The communicator has ``run(name, tensor, arg)`` for ``"all_reduce"`` (arg: the ReduceOp)
        and ``"broadcast"`` (arg: the root), in place, finished when it returns."""
        return None

    def fork_safe(self) -> bool:
        """False once this process has started a device runtime that a child made by ``fork()``
        could not use (it would hang or crash there). ember then makes every kernel of this
        device type raise a clear error in such a child, and worker processes should start with
        'spawn' or 'forkserver'. Answer from state already in memory: it is asked in the child."""
        return True

    def compile_elementwise(self, program: Any) -> Any:
        """One callable for a chain of elementwise kernels (an ``ember.compiler.FusedElementwise``),
        or None to leave the chain unfused: how ``ember.compile`` fuses on this backend. The callable
        takes the chain's input arrays positionally and returns a new result array equal to running
        the chain's kernels one by one. Default None: compiled code still replays without the
        frontend's bookkeeping, kernel by kernel."""
        return None
