"""The three differentiable FFT primitives behind ``ember.fft``, as PyTorch's aten ``_fft_c2c``,
``_fft_r2c`` and ``_fft_c2r`` with their backward formulas, and the on-device composite used where
a backend lacks the optional ``fft_*`` kernels (DFT matrices through ``matmul``).

``norm`` here is the kernel's mode ("none", "by_root_n", "by_n"), already chosen from the user's
``norm=`` and the direction (:func:`norm_mode`).
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.tensor import Tensor

__all__ = ["norm_mode", "c2c", "r2c", "c2r", "check_device"]

_NORMS = (None, "backward", "forward", "ortho")


def norm_mode(norm: str | None, forward: bool) -> str:
    """The kernel's scale for ``norm=`` in this direction, with PyTorch's error for a bad name."""
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    if norm == "ortho":
        return "by_root_n"
    if norm in (None, "backward"):
        return "none" if forward else "by_n"
    return "by_n" if forward else "none"


def check_device(x: Tensor, cdt: _dt.dtype) -> None:
    """A device without complex storage refuses, naming the device and dtype (no CPU fallback:
    the result could not live there)."""
    if x._device.type == "cpu":
        return
    from ember.functions.creation import _check_dtype_supported

    _check_dtype_supported(x._kt, x._device, cdt)


def _kernel(x: Tensor, name: str) -> Any:
    kt = x._kt
    return kt[name] if kt.has(name) else None


# ---- the primitives ----------------------------------------------------------------------------
class FftC2C(Function):
    _backward_name = "FftC2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, forward, norm):
        ctx.args = (dims, forward, norm)
        fn = _kernel(x, "fft_c2c")
        if fn is None:
            return _c2c_composite(x, dims, forward, norm)
        return x._new(fn(x._data, dims, forward, norm))

    @staticmethod
    def backward(ctx, g):
        dims, forward, norm = ctx.args
        # the adjoint of a DFT is the DFT of the other direction, same scale (aten's _fft_c2c_backward)
        return FftC2C.apply(g, dims, not forward, norm), None, None, None


class FftR2C(Function):
    _backward_name = "FftR2CBackward0"

    @staticmethod
    def forward(ctx, x, dims, norm, onesided):
        ctx.args = (dims, norm, onesided, x.shape[dims[-1]])
        fn = _kernel(x, "fft_r2c")
        if fn is None:
            return _r2c_composite(x, dims, norm, onesided)
        return x._new(fn(x._data, dims, norm, onesided), _dt.to_complex(x._dtype))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import zeros
        from ember.functions.shape import cat

        dims, norm, onesided, n = ctx.args
        if onesided:  # the dropped negative frequencies had no gradient: zero-pad them back
            last = dims[-1]
            missing = n - g.shape[last]
            if missing > 0:
                shape = list(g.shape)
                shape[last] = missing
                g = cat([g, zeros(shape, dtype=g.dtype, device=g.device)], last)
        return FftC2C.apply(g, dims, False, norm).real.contiguous(), None, None, None


class FftC2R(Function):
    _backward_name = "FftC2RBackward0"

    @staticmethod
    def forward(ctx, x, dims, norm, last_dim_size):
        ctx.args = (dims, norm)
        fn = _kernel(x, "fft_c2r")
        if fn is None:
            return _c2r_composite(x, dims, norm, last_dim_size)
        return x._new(fn(x._data, dims, norm, last_dim_size), _dt.to_real(x._dtype))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import ones

        dims, norm = ctx.args
        gi = FftR2C.apply(g, dims, norm, True)
        last = dims[-1]
        double = g.shape[last] - gi.shape[last]
        if double > 0:  # the frequencies that stood for their conjugate twins count twice (aten)
            w = ones(gi.shape[last], dtype=g.dtype, device=g.device)
            w[1:1 + double] = 2.0
            gi = gi * w.reshape([-1 if d == last else 1 for d in range(gi.dim())])
        return gi, None, None, None


def c2c(x: Tensor, dims: tuple, forward: bool, norm: str) -> Tensor:
    return FftC2C.apply(x, tuple(dims), forward, norm)


def r2c(x: Tensor, dims: tuple, norm: str, onesided: bool) -> Tensor:
    return FftR2C.apply(x, tuple(dims), norm, onesided)


def c2r(x: Tensor, dims: tuple, norm: str, last_dim_size: int) -> Tensor:
    return FftC2R.apply(x, tuple(dims), norm, last_dim_size)


# ---- the composite: DFT matrices on the device --------------------------------------------------
def _twiddles(x: Tensor, n_in: int, n_out: int, period: int, sign: float, cdt: _dt.dtype) -> Tensor:
    """W[j, k] = exp(sign * 2 pi i (j k mod period) / period), (n_in, n_out), in ``cdt``."""
    from ember.functions import complex_ops
    from ember.functions.creation import arange

    j = arange(n_in, dtype=_dt.int64, device=x.device).reshape(-1, 1)
    k = arange(n_out, dtype=_dt.int64, device=x.device).reshape(1, -1)
    # the product mod period keeps the angles small and exact in int64, so float32 loses nothing
    angle = ((j * k) % period).to(_dt.float64 if cdt is _dt.complex128 else _dt.float32) * (
        sign * 2 * math.pi / period)
    return complex_ops.complex(angle.cos(), angle.sin()).to(cdt)


def _scale(x: Tensor, norm: str, n: int) -> Tensor:
    if norm == "none" or n == 0:
        return x
    return x * (1.0 / (math.sqrt(n) if norm == "by_root_n" else n))


def _along(x: Tensor, d: int, w: Tensor) -> Tensor:
    """``x`` times ``w`` along axis ``d`` (axis d of size w.shape[0] becomes w.shape[1])."""
    return (x.movedim(d, -1) @ w).movedim(-1, d)


def _c2c_composite(x: Tensor, dims: tuple, forward: bool, norm: str) -> Tensor:
    out = x
    for d in dims:
        n = x.shape[d]
        out = _along(out, d, _twiddles(x, n, n, max(n, 1), -1.0 if forward else 1.0, x._dtype))
    return _scale(out.contiguous(), norm, math.prod(x.shape[d] for d in dims))


def _r2c_composite(x: Tensor, dims: tuple, norm: str, onesided: bool) -> Tensor:
    from ember.functions import complex_ops
    from ember.functions.creation import zeros_like

    z = complex_ops.complex(x, zeros_like(x))
    out = _c2c_composite(z, dims, True, norm)
    if onesided:
        out = out.narrow(dims[-1], 0, x.shape[dims[-1]] // 2 + 1).contiguous()
    return out


def _c2r_composite(x: Tensor, dims: tuple, norm: str, last_dim_size: int) -> Tensor:
    from ember.functions.creation import ones

    last, m = dims[-1], x.shape[dims[-1]]
    z = _c2c_composite(x, dims[:-1], False, "none") if len(dims) > 1 else x
    # a half-spectrum entry j stands for j and n - j: weight 2, except 0 and the Nyquist entry
    c = ones(m, dtype=_dt.to_real(x._dtype), device=x.device)
    twins = (last_dim_size - 1) // 2
    if twins >= 1:
        c[1:1 + twins] = 2.0
    z = z * c.reshape([-1 if d == last else 1 for d in range(x.dim())])
    out = _along(z, last, _twiddles(x, m, last_dim_size, last_dim_size, 1.0, x._dtype)).real.contiguous()
    n = math.prod(x.shape[d] for d in dims[:-1]) * last_dim_size
    return _scale(out, norm, n)
