"""Helpers shared by the distributions (PyTorch's ``torch.distributions.utils``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any

import ember
from ember.size import Size
from ember.tensor import Tensor

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant
_Number = (int, float, bool)


def finfo(dtype: ember.dtype):
    """``ember.finfo`` (looked up at call time: the distributions load before it in ``ember``)."""
    return ember.finfo(dtype)


def broadcast_all(*values: Tensor | int | float) -> tuple[Tensor, ...]:
    """Broadcast tensors and Python numbers together; numbers become tensors of the first tensor's
    dtype and device (the default dtype when all are numbers).

    Example:
        >>> import ember
        >>> [tuple(t.shape) for t in broadcast_all(ember.zeros(2, 1), 1.0, ember.ones(3))]
        [(2, 3), (2, 3), (2, 3)]
    """
    if not all(isinstance(v, (Tensor, *_Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        options: dict[str, Any] = {"dtype": ember.get_default_dtype()}
        for value in values:
            if isinstance(value, Tensor):
                options = {"dtype": value.dtype, "device": value.device}
                break
        values = tuple(v if isinstance(v, Tensor) else ember.tensor(v, **options) for v in values)
    # a tensor already of the broadcast shape is returned itself, as PyTorch's broadcast_tensors does
    try:
        shape = tuple(ember.broadcast_shapes(*(v.shape for v in values)))
    except RuntimeError:
        # PyTorch's error is broadcast_tensors' ("The size of tensor a (2) must match the size of
        # tensor b (3) at non-singleton dimension 0"), not broadcast_shapes'
        ember.broadcast_tensors(*values)
        raise
    return tuple(v if tuple(v.shape) == shape else v.expand(shape) for v in values)


def _standard_normal(shape: Sequence[int], dtype: ember.dtype, device: Any) -> Tensor:
    return ember.randn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def _logsigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x))`` as ``-softplus(-x)``, whose gradient is exact at 0 (the composite
    ``nn.functional.logsigmoid`` gives 1 there instead of 0.5)."""
    return -ember.nn.functional.softplus(-x)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Log-odds (binary) or unnormalised log-probabilities (last dim) to probabilities."""
    if is_binary:
        return ember.sigmoid(logits)
    return ember.softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into ``[eps, 1 - eps]`` of their dtype.

    Example:
        >>> import ember
        >>> clamp_probs(ember.tensor([0.0, 0.5, 1.0]))
        tensor([1.1921e-07, 5.0000e-01, 1.0000e+00])
    """
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities to log-odds (binary) or log-probabilities."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ember.log(ps_clamped) - ember.log1p(-ps_clamped)
    return ember.log(ps_clamped)


class lazy_property:  # noqa: N801 - PyTorch's name
    """A property computed on first access (with grad enabled) and then stored on the instance."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):  # noqa: N801
    """Looks like a property to documentation tools and like a lazy_property to validation."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        property.__init__(self, wrapped)


def _tril_mask(n: int, diag: int, device: Any) -> Tensor:
    arange = ember.arange(n, device=device)
    return arange < arange.view(-1, 1) + (diag + 1)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower-triangular entries of a (batched) square matrix, in row order."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    return mat[..., _tril_mask(n, diag, mat.device)]


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of :func:`tril_matrix_to_vec`."""
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * vec.shape[-1] + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {vec.shape[-1]} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    mat = ember.zeros(tuple(vec.shape[:-1]) + (n, n), dtype=vec.dtype, device=vec.device)
    mat[..., _tril_mask(n, diag, vec.device)] = vec
    return mat


def _size(shape: Any) -> Size:
    return shape if isinstance(shape, Size) else Size(tuple(shape))
