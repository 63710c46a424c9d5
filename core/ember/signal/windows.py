"""``ember.signal.windows``: PyTorch's ``torch.signal.windows`` window functions.

Each returns a 1-d window of ``M`` points (``sym=False``: the periodic window, for spectral
analysis), built from ``linspace`` and elementwise ember ops on the requested device, so every
backend makes it; ``requires_grad=True`` starts the graph at that ``linspace`` as PyTorch does.
Arguments and errors follow PyTorch: ``M`` must be non-negative, the layout strided and the dtype
float32 or float64 (default: the default dtype).

Example:
    >>> import ember
    >>> ember.signal.windows.hann(5)
    tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000])
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import ember
from ember import dtypes as _dt
from ember.tensor import Tensor

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checks(name: str, M: int, dtype: _dt.dtype | None, layout: Any) -> _dt.dtype:
    """PyTorch's ``_window_function_checks``; returns the dtype (the default one for None)."""
    if dtype is None:
        dtype = _dt.get_default_dtype()
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not ember.strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (_dt.float32, _dt.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _trivial(M: int, dtype: _dt.dtype, device: Any, requires_grad: bool) -> Tensor | None:
    """The windows of 0 points (empty) and of 1 point (``[1.]``), as leaves; None otherwise."""
    if M == 0:
        return ember.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    if M == 1:
        return ember.ones((1,), dtype=dtype, device=device, requires_grad=requires_grad)
    return None


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype: _dt.dtype | None = None, layout: Any = ember.strided, device: Any = None,
                requires_grad: bool = False) -> Tensor:
    """The exponential (Poisson) window ``exp(-|n - center| / tau)``."""
    dtype = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return ember.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / tau
    k = ember.linspace(-center * constant, (-center + (M - 1)) * constant, M, dtype=dtype, device=device,
                       requires_grad=requires_grad)
    return ember.exp(-ember.abs(k))


def cosine(M: int, *, sym: bool = True, dtype: _dt.dtype | None = None, layout: Any = ember.strided,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """The cosine (sine) window ``sin(pi (n + 1/2) / M)``."""
    dtype = _checks("cosine", M, dtype, layout)
    if M == 0:
        return ember.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    constant = math.pi / (M + 1 if not sym and M > 1 else M)
    k = ember.linspace(0.5 * constant, (0.5 + (M - 1)) * constant, M, dtype=dtype, device=device,
                       requires_grad=requires_grad)
    return ember.sin(k)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: _dt.dtype | None = None,
             layout: Any = ember.strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Gaussian window ``exp(-(n - c)^2 / (2 std^2))``."""
    dtype = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return ember.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / (std * math.sqrt(2))
    k = ember.linspace(start * constant, (start + (M - 1)) * constant, M, dtype=dtype, device=device,
                       requires_grad=requires_grad)
    return ember.exp(-(k**2))


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: _dt.dtype | None = None,
           layout: Any = ember.strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Kaiser window ``I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)``."""
    dtype = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    # the ends in the window's dtype, as PyTorch computes them on a 0-d tensor of it
    b = ember.tensor(beta, dtype=dtype, device=device)
    start = -b
    constant = 2.0 * b / (M if not sym else M - 1)
    end = ember.minimum(b, start + (M - 1) * constant)
    k = ember.linspace(start.item(), end.item(), M, dtype=dtype, device=device, requires_grad=requires_grad)
    return ember.i0(ember.sqrt(b * b - ember.pow(k, 2))) / ember.i0(b)


def hamming(M: int, *, sym: bool = True, dtype: _dt.dtype | None = None, layout: Any = ember.strided,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Hamming window: ``general_hamming`` with alpha 0.54."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype: _dt.dtype | None = None, layout: Any = ember.strided,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Hann window: ``general_hamming`` with alpha 0.5."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype: _dt.dtype | None = None, layout: Any = ember.strided,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Blackman window: ``general_cosine`` with a = [0.42, 0.5, 0.08]."""
    dtype = _checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: _dt.dtype | None = None, layout: Any = ember.strided,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window ``1 - |2n / (M - 1) - 1|``."""
    dtype = _checks("bartlett", M, dtype, layout)
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    constant = 2 / (M if not sym else M - 1)
    k = ember.linspace(-1, -1 + (M - 1) * constant, M, dtype=dtype, device=device, requires_grad=requires_grad)
    return 1 - ember.abs(k)


def general_cosine(M: int, *, a: Iterable[float], sym: bool = True, dtype: _dt.dtype | None = None,
                   layout: Any = ember.strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The generalized cosine window ``sum_i (-1)^i a_i cos(2 pi i n / (M - 1))``."""
    dtype = _checks("general_cosine", M, dtype, layout)
    trivial = _trivial(M, dtype, device, requires_grad)
    if trivial is not None:
        return trivial
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    constant = 2 * math.pi / (M if not sym else M - 1)
    k = ember.linspace(0, (M - 1) * constant, M, dtype=dtype, device=device, requires_grad=requires_grad)
    a_i = ember.tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dtype, device=device,
                       requires_grad=requires_grad)
    i = ember.arange(a_i.shape[0], dtype=dtype, device=device, requires_grad=requires_grad)
    return (a_i.unsqueeze(-1) * ember.cos(i.unsqueeze(-1) * k)).sum(0)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype: _dt.dtype | None = None,
                    layout: Any = ember.strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The generalized Hamming window: ``general_cosine`` with a = [alpha, 1 - alpha]."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype: _dt.dtype | None = None, layout: Any = ember.strided,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """The minimum 4-term Blackman-Harris window of Nuttall."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype,
                          layout=layout, device=device, requires_grad=requires_grad)
