"""``ember.backends``: the switches PyTorch programs set (``ember.backends.cudnn.benchmark = True``).

Every flag exists with PyTorch's default and can be read and set, so programs written for PyTorch run
unchanged. None of them changes what ember computes today: ember has no cuDNN, no TF32 matmul and no
autotuner, and its kernels are deterministic for a given backend and seed. ``is_available()`` answers
for ember's own backends (``opencl.is_available()``, ``cuda.is_available()``); ``mps`` has no backend.
Setting an attribute a namespace does not have raises ``AttributeError``, as PyTorch does for
``cuda.matmul``, so a misspelt flag is not silently accepted.

Example:
    >>> import ember
    >>> ember.backends.cudnn.benchmark = True
    >>> ember.backends.cuda.matmul.allow_tf32
    False
    >>> ember.backends.cudnn.benchmark = False  # (back to the default)
"""

from __future__ import annotations

import contextlib
import enum
import sys
import types
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum", "opencl", "flags_frozen"]


class _Flags(types.ModuleType):
    """A namespace of flags: only the declared names can be set."""

    def __init__(self, name: str, doc: str, **flags: Any) -> None:
        super().__init__(f"ember.backends.{name}", doc)
        for k, v in flags.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_flags", frozenset(flags))

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._flags and not callable(value) and not isinstance(value, types.ModuleType):
            raise AttributeError(f"Unknown attribute {name}")
        object.__setattr__(self, name, value)

    @contextlib.contextmanager
    def flags(self, **values: Any) -> Iterator[None]:
        """Set these flags inside the ``with`` block (``cudnn.flags(enabled=False)``)."""
        before = {k: getattr(self, k) for k in values}
        for k, v in values.items():
            setattr(self, k, v)
        try:
            yield
        finally:
            for k, v in before.items():
                setattr(self, k, v)


def _available(kind: str) -> bool:
    from ember._device_module import DeviceModule

    return DeviceModule(kind).is_available()


def _ns(name: str, doc: str, **flags: Any) -> _Flags:
    mod = _Flags(name, doc, **flags)
    sys.modules[mod.__name__] = mod
    return mod


def flags_frozen() -> bool:
    return False


cudnn = _ns("cudnn", "cuDNN switches: accepted, no effect (ember has no cuDNN).", enabled=True, benchmark=False,
            deterministic=False, allow_tf32=True, benchmark_limit=10)
cudnn.is_available = lambda: False
cudnn.version = lambda: None

cuda = _ns("cuda", "CUDA switches: accepted, no effect on ember's cuda backend.")
cuda.matmul = _Flags("cuda.matmul", "cuBLAS switches: accepted, no effect.", allow_tf32=False,
                     allow_fp16_reduced_precision_reduction=True, allow_bf16_reduced_precision_reduction=True,
                     fp32_precision="none")
cuda.is_built = lambda: _available("cuda")
cuda.is_available = lambda: _available("cuda")
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp(kind: str) -> tuple:
    def enabled() -> bool:
        return _SDP[kind]

    def enable(value: bool) -> None:
        _SDP[kind] = bool(value)

    return enabled, enable


for _k in _SDP:
    _enabled, _enable = _sdp(_k)
    setattr(cuda, f"{_k}_sdp_enabled", _enabled)
    setattr(cuda, f"enable_{_k}_sdp", _enable)


class SDPBackend(enum.Enum):
    """The attention implementations PyTorch's dispatcher chooses among (``torch.nn.attention``).
    ember computes every one the same way; the switches only decide whether SDPA may run at all.
    As PyTorch's (a pybind11 enum), ``int()`` gives the value but a member does not equal an int."""

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


# which _SDP switch each backend is
_SDP_OF = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash", SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
           SDPBackend.CUDNN_ATTENTION: "cudnn"}


@contextlib.contextmanager
def _sdp_switches(**values: bool) -> Iterator[None]:
    saved = dict(_SDP)
    _SDP.update(values)
    try:
        yield
    finally:
        _SDP.clear()
        _SDP.update(saved)


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True) -> Any:
    """PyTorch's deprecated ``torch.backends.cuda.sdp_kernel``: the SDPA switches inside a block."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with updated "
                  "signature.", FutureWarning, stacklevel=2)
    return _sdp_switches(flash=bool(enable_flash), math=bool(enable_math), mem_efficient=bool(enable_mem_efficient),
                         cudnn=bool(enable_cudnn))


def sdpa_viable(device_type: str) -> bool:
    """Whether an enabled SDPA backend exists for ``device_type`` (PyTorch's CPU has math and flash)."""
    if device_type == "cpu":
        return _SDP["math"] or _SDP["flash"]
    return any(_SDP.values())


cuda.SDPBackend = SDPBackend
cuda.sdp_kernel = sdp_kernel

mps = _ns("mps", "Apple MPS: ember has no MPS backend.")
mps.is_available = lambda: False
mps.is_built = lambda: False
opencl = _ns("opencl", "ember's OpenCL backend.")
opencl.is_available = lambda: _available("opencl")
mkldnn = _ns("mkldnn", "oneDNN switches: accepted, no effect.", enabled=True, deterministic=False)
mkldnn.is_available = lambda: False
mkl = _ns("mkl", "MKL: not used by ember.")
mkl.is_available = lambda: False
openmp = _ns("openmp", "OpenMP: not used by ember.")
openmp.is_available = lambda: False
opt_einsum = _ns("opt_einsum", "einsum contraction order: accepted, no effect (opt_einsum is not used).",
                 enabled=False, strategy=None)
opt_einsum.is_available = lambda: False
cpu = _ns("cpu", "CPU queries.")
cpu.get_cpu_capability = lambda: "DEFAULT"
