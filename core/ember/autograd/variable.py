"""``Variable``: the pre-0.4 PyTorch wrapper, kept so older tutorials run unchanged.

Example:
    >>> import ember
    >>> from ember.autograd import Variable
    >>> Variable(ember.ones(2), requires_grad=True).requires_grad
    True
"""

from __future__ import annotations


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802 - legacy name
    """Return ``data`` itself (a Tensor), with ``requires_grad`` set, as PyTorch >= 0.4 does."""
    from ember.tensor import Tensor

    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    if requires_grad:
        data.requires_grad_(True)
    return data
