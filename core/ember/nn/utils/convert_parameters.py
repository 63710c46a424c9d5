"""``parameters_to_vector`` / ``vector_to_parameters``.

Example:
    >>> import ember
    >>> from ember import nn
    >>> lin = nn.Linear(2, 3)
    >>> nn.utils.parameters_to_vector(lin.parameters()).shape
    ember.Size([9])
"""

from __future__ import annotations

from collections.abc import Iterable

from ember.autograd.grad_mode import no_grad
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    return _s.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for p in parameters:
        n = p.numel()
        with no_grad():
            p.data = vec[pointer:pointer + n].reshape(p.shape).clone()
        pointer += n
