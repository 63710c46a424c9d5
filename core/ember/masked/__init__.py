"""``ember.masked``: PyTorch's ``torch.masked`` reductions and normalizations over strided tensors.

Each function takes ``mask=`` (a bool tensor broadcastable to ``input``, of no more dimensions):
masked-out elements are replaced by the operation's identity (0 for ``sum``, 1 for ``prod``, -inf
for ``amax``/``softmax``/``logsumexp``...) before the ordinary ember op runs, exactly as
``torch.masked._ops`` does, so results, dtypes, keepdim and errors follow PyTorch and gradients
flow through ``ember.where``. ``mean``, ``var``, ``std`` and ``median`` give NaN where every
element is masked out. Everything is composed of ember ops, so every backend runs them.

Not here: PyTorch's prototype ``MaskedTensor`` class (``masked_tensor``, ``as_masked_tensor``,
``is_masked_tensor``) and sparse inputs.

Example:
    >>> import ember
    >>> x = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> ember.masked.sum(x, 1, mask=ember.tensor([[True, False], [True, True]]))
    tensor([1., 7.])
"""

from ember.masked._ops import (
    amax,
    amin,
    argmax,
    argmin,
    cumprod,
    cumsum,
    log_softmax,
    logaddexp,
    logsumexp,
    mean,
    median,
    norm,
    normalize,
    prod,
    softmax,
    softmin,
    std,
    sum,  # noqa: A004 - PyTorch's name
    var,
)

__all__ = ["amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax", "logaddexp", "logsumexp", "mean",
           "median", "norm", "normalize", "prod", "softmax", "softmin", "std", "sum", "var"]
