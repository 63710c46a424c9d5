"""``ember.cuda.amp`` and ``ember.cpu.amp``: PyTorch's deprecated spellings, with its FutureWarnings.

``torch.cuda.amp.autocast(...)`` is ``torch.amp.autocast("cuda", ...)`` (and the cpu one likewise);
``torch.cuda.amp.GradScaler(...)`` is ``torch.amp.GradScaler("cuda", ...)``.
"""

from __future__ import annotations

import types
import warnings
from typing import Any

from ember import dtypes as _dt
from ember.amp.autocast_mode import autocast as _autocast
from ember.amp.autocast_mode import custom_bwd as _custom_bwd
from ember.amp.autocast_mode import custom_fwd as _custom_fwd
from ember.amp.grad_scaler import GradScaler as _GradScaler

__all__ = ["device_amp_module"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"`{old}(args...)` is deprecated. Please use `{new} args...)` instead.", FutureWarning,
                  stacklevel=3)


def device_amp_module(device_type: str) -> types.ModuleType:
    """The ``ember.<device_type>.amp`` namespace (``autocast``; ``GradScaler`` for cuda)."""
    mod = types.ModuleType(f"ember.{device_type}.amp", __doc__)

    class autocast(_autocast):  # noqa: N801 - PyTorch's name
        # PyTorch's deprecated classes fix the default dtype (not the current autocast dtype)
        def __init__(self, enabled: bool = True, dtype: _dt.dtype = _dt.bfloat16 if device_type == "cpu" else _dt.float16,
                     cache_enabled: bool = True) -> None:
            _deprecated(f"torch.{device_type}.amp.autocast", f"torch.amp.autocast('{device_type}',")
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    mod.autocast = autocast
    if device_type in ("cuda", "cpu"):  # torch.cuda.amp.GradScaler and torch.cpu.amp.GradScaler
        class GradScaler(_GradScaler):
            def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                         growth_interval: int = 2000, enabled: bool = True) -> None:
                _deprecated(f"torch.{device_type}.amp.GradScaler", f"torch.amp.GradScaler('{device_type}',")
                super().__init__(device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

            def __reduce__(self) -> Any:  # pickles as the non-deprecated class
                return (_GradScaler.__new__, (_GradScaler,), self.__getstate__())

        mod.GradScaler = GradScaler
    if device_type == "cuda":

        def custom_fwd(fwd: Any = None, *, cast_inputs: _dt.dtype | None = None) -> Any:
            """``torch.amp.custom_fwd(..., device_type="cuda")`` under its deprecated name."""
            warnings.warn("`torch.cuda.amp.custom_fwd(args...)` is deprecated. Please use "
                          "`torch.amp.custom_fwd(args..., device_type='cuda')` instead.", FutureWarning, stacklevel=2)
            return _custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)

        def custom_bwd(bwd: Any = None) -> Any:
            """``torch.amp.custom_bwd(..., device_type="cuda")`` under its deprecated name."""
            warnings.warn("`torch.cuda.amp.custom_bwd(args...)` is deprecated. Please use "
                          "`torch.amp.custom_bwd(args..., device_type='cuda')` instead.", FutureWarning, stacklevel=2)
            return _custom_bwd(bwd, device_type="cuda")

        def amp_definitely_not_available() -> bool:
            """True when CUDA can't run here (PyTorch's test before it enables CUDA autocast)."""
            from ember import cuda

            return not cuda.is_available()

        mod.custom_fwd, mod.custom_bwd = custom_fwd, custom_bwd
        mod.amp_definitely_not_available = amp_definitely_not_available
    mod.__all__ = [n for n in ("autocast", "GradScaler", "custom_fwd", "custom_bwd", "amp_definitely_not_available")
                   if hasattr(mod, n)]
    return mod
