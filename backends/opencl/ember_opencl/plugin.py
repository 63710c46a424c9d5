"""pluggy entry point: the ``opencl`` device type and its kernels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.backend import Backend
from ember.dtype import ALL_DTYPES, bfloat16, dtype, float16, float64
from ember.hookspecs import hookimpl

from ember_opencl import runtime

__all__ = ["OpenCLBackend", "ember_backend", "ember_kernels"]


class OpenCLBackend(Backend):
    """Every OpenCL device of every platform (GPUs first), optionally filtered by
    ``EMBER_OPENCL_DEVICES`` or :func:`ember_opencl.select_devices`."""

    device_type = "opencl"
    install_hint = "pip install 'ember[opencl]'"
    unsupported: dict[str, str] = {}

    def is_available(self) -> bool:
        return self.device_count() > 0

    def unavailable_reason(self) -> str:
        return runtime.discovery_error() or "available"

    def device_count(self) -> int:
        try:
            return len(runtime.devices())
        except Exception:  # a broken ICD must not break ember's import
            return 0

    def device_name(self, index: int) -> str:
        return runtime.device(index).name

    def supported_dtypes(self, index: int) -> tuple[dtype, ...]:
        dev = runtime.device(index)
        # float16 without cl_khr_fp16, and bfloat16 always, are 16-bit storage computed in float32
        # (ember_opencl.lowp), so only float64 depends on the device.
        return tuple(d for d in ALL_DTYPES if not (d is float64 and not dev.fp64))

    def emulated_dtypes(self, index: int) -> tuple[dtype, ...]:
        # 16-bit storage computed in float32 on the device (ember_opencl.lowp)
        return (bfloat16,) if runtime.device(index).fp16 else (float16, bfloat16)

    def dtype_unsupported_reason(self, index: int, dt: dtype) -> str:
        if dt is float64:
            return "it lacks the cl_khr_fp64 extension"
        if dt.is_complex:
            return f"the opencl backend has no {dt.name} support"
        return ""

    def is_accelerator(self, index: int) -> bool:
        return runtime.device(index).is_gpu

    def synchronize(self, index: int | None = None) -> None:
        devs = runtime.devices() if index is None else [runtime.device(index)]
        for d in devs:
            d.finish()

    def fork_safe(self) -> bool:
        # Once PoCL (or any ICD) is loaded, its threads do not survive fork(): a child that
        # touches a device waits forever. Enumerating the platforms is enough to start it.
        return not runtime.started()

    # ---- memory (``ember.opencl.memory_allocated()`` and friends; ``index`` is an int) ----------
    def memory_allocated(self, index: int) -> int:
        return runtime.device(index).memory_allocated()

    def max_memory_allocated(self, index: int) -> int:
        return runtime.device(index).peak_allocated

    def memory_reserved(self, index: int) -> int:
        return runtime.device(index).memory_reserved()

    def max_memory_reserved(self, index: int) -> int:
        return runtime.device(index).max_memory_reserved()

    def reset_peak_memory_stats(self, index: int) -> None:
        runtime.device(index).reset_peak_memory_stats()

    def empty_cache(self) -> None:
        for d in runtime.devices():
            d.empty_cache()

    def compile_elementwise(self, program: Any) -> Callable[..., Any] | None:
        from ember_opencl.fusion import compile_elementwise

        return compile_elementwise(program)


@hookimpl
def ember_backend() -> OpenCLBackend:
    return OpenCLBackend()


@hookimpl
def ember_kernels(device_type: str) -> dict[str, Callable[..., Any]] | None:
    if device_type != "opencl":
        return None
    from ember_opencl.kernels import all_kernels
    return all_kernels()
