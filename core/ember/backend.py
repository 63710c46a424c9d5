"""What a backend package provides: one :class:`Backend` per device type it owns.

A backend package subclasses :class:`Backend`, fills in the device facts, and returns an
instance from the ``ember_backend`` hook; its kernels come from the ``ember_kernels`` hook.

Example (a complete minimal backend lives in ``examples/third_party_backend``):
    >>> from ember.backend import Backend
    >>> class MyBackend(Backend):
    ...     device_type = "mydev"
    ...     def device_count(self): return 1
    >>> MyBackend().is_available()
    True
"""

from __future__ import annotations

from typing import Any

from ember.dtypes import ALL_DTYPES, dtype

__all__ = ["Backend"]


class Backend:
    """Facts about one device type. Override what differs from these defaults."""

    #: the device type users write: ``"opencl"`` in ``"opencl:0"``
    device_type: str = ""
    #: the pip extra or package that installs this backend, shown in error messages
    install_hint: str = ""
    #: ops this backend deliberately does not implement, with the reason (shown in reports)
    unsupported: dict[str, str] = {}

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
        """Wait for all queued work on the device."""

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
