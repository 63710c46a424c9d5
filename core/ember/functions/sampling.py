"""Sampling from distributions given as tensors: ``multinomial`` and ``poisson``.

Both are composed from existing ops (uniform draws, ``cumsum``, ``topk``, comparisons), so every
backend runs them on the device, with PyTorch's argument checks done once here. The streams differ
from PyTorch's (another generator), the distributions are the same.

Example:
    >>> import ember
    >>> _ = ember.manual_seed(0)
    >>> ember.multinomial(ember.tensor([0.0, 1.0]), 3, replacement=True)
    tensor([1, 1, 1])
"""

from __future__ import annotations

import math

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.functions.indexing import _scalar_type
from ember.tensor import Tensor

_POISSON_CHUNK = 16.0  # rates above this are sums of Poisson(<= 16) draws: exp(-16) is well within float32


_FLOAT32_MAX_CONSECUTIVE_INT = 1 << 24  # PyTorch's limit on the categories (it draws indices in float)


def _check_multinomial(input: Tensor, num_samples: int, replacement: bool, out: Tensor | None) -> int:
    """PyTorch's checks, in its order; returns ``num_samples`` as an int."""
    if isinstance(num_samples, bool) or not hasattr(num_samples, "__index__"):
        raise TypeError(f"multinomial(): argument 'num_samples' (position 2) must be int, not "
                        f"{type(num_samples).__name__}")
    num_samples = int(num_samples)  # NumPy integers too, as PyTorch's parser
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_scalar_type(input.dtype)}")
    if out is not None and out.dtype is not _dt.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: {_scalar_type(out.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > input.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if input.shape[-1] > _FLOAT32_MAX_CONSECUTIVE_INT:
        raise RuntimeError("number of categories cannot exceed 2^24")
    if not input.numel():
        if input.dim() == 2 and input.shape[0] == 0:  # no rows: nothing to check nor draw
            return num_samples
        if num_samples == 1:  # no categories: PyTorch's fast path reduces an empty tensor
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                               "identity.")
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rows = input.detach() if input.dim() == 2 else input.detach().unsqueeze(0)
    valid, sums = (rows >= 0) & rows.isfinite(), rows.sum(-1)
    if bool(valid.all()) and bool((sums > 0).all()):
        return num_samples
    if not replacement or num_samples == 1:  # PyTorch's fast path checks the whole tensor at once
        if not bool(((rows >= 0) & (rows < math.inf)).all()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    # the sampling kernel checks row by row, each element in turn, then the row's sum
    row = int((~valid.all(-1) | ~(sums > 0)).long().argmax())
    bad = ~valid[row]
    if bool(bad.any()):
        first = rows[row][int(bad.long().argmax())].item()
        if not first >= 0:  # NaN counts as negative there
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or NaN)")
    raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None,
                out: Tensor | None = None) -> Tensor:
    """Category indices drawn with the (unnormalised) weights in each row of ``input`` (int64)."""
    from ember.functions.creation import rand

    num_samples = _check_multinomial(input, num_samples, replacement, out)
    p = input.detach().float() if input.dtype is not _dt.float64 else input.detach()
    rows = p if p.dim() == 2 else p.unsqueeze(0)
    if not rows.numel():  # no rows (or no categories): nothing to draw
        idx = rows.new_zeros((rows.shape[0], num_samples), dtype=_dt.int64)
    elif replacement:  # inverse CDF: the number of cumulative weights at or below each uniform draw
        cdf = rows.cumsum(-1)
        u = rand((rows.shape[0], num_samples), generator=generator, dtype=rows.dtype, device=rows.device)
        u = u * cdf[:, -1:]
        idx = (cdf.unsqueeze(1) <= u.unsqueeze(2)).sum(-1)
        # a draw past the last positive weight (rounding) goes to the last category that can occur
        last = (rows > 0).long().cumsum(-1).argmax(-1, keepdim=True)
        idx = idx.minimum(last.expand(idx.shape))
    else:  # exponential races: the k smallest E_i / p_i are a weighted draw without replacement
        u = rand(tuple(rows.shape), generator=generator, dtype=rows.dtype, device=rows.device)
        keys = rows / (-(1 - u).log())  # p / Exp(1); zero weights give 0, drawn only when the others are gone
        idx = keys.topk(num_samples, dim=-1).indices
    idx = idx.long() if p.dim() == 2 else idx.long().squeeze(0)
    if out is not None:
        from ember._ops.out import store

        return store(idx, out)  # resized to the result's shape, as PyTorch's multinomial_out
    return idx


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with the rates in ``input``, in ``input``'s dtype."""
    from ember.functions.creation import rand

    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"poisson_{input.device.type}\" not implemented for '{_scalar_type(input.dtype)}'")
    rate = input.detach()
    if not (rate >= 0).all().item():  # NaN too, as PyTorch
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    top = rate.max().item() if rate.numel() else 0.0
    if not math.isfinite(top):
        raise RuntimeError("invalid Poisson rate, expected rate to be finite")
    chunks = max(1, math.ceil(top / _POISSON_CHUNK))  # Poisson(a + b) = Poisson(a) + Poisson(b), exactly
    lam = rate / chunks
    total = rate * 0
    for _ in range(chunks):
        total = total + _poisson_small(lam, generator, rand)
    if input.requires_grad:  # PyTorch's poisson is differentiable with a zero gradient (rates are finite here)
        total = total + input * 0
    return total


def _poisson_small(lam: Tensor, generator, rand) -> Tensor:
    """Inversion: count how many CDF steps lie below a uniform draw (rates up to ``_POISSON_CHUNK``)."""
    u = rand(tuple(lam.shape), generator=generator, dtype=lam.dtype, device=lam.device)
    term = (-lam).exp()  # P(K = 0)
    cdf, k = term, lam * 0
    for i in range(1, 1000):  # P(K > 200 | rate 16) is far below float precision: the loop ends early
        more = u > cdf
        if not more.any().item():
            break
        k = k + more.to(k.dtype)
        term = term * lam / i
        cdf = cdf + term
        if not (term > 0).any().item():  # the CDF can no longer grow (rounding): stop
            break
    return k


def _check_gamma_input(alpha: Tensor, kernel: str) -> None:
    if not alpha.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_type(alpha.dtype)}'")


def _standard_gamma(input: Tensor, generator=None) -> Tensor:
    """Gamma(input, 1) draws (PyTorch's private ``torch._standard_gamma``), differentiable w.r.t. the
    concentrations through the implicit reparameterisation gradient."""
    from ember.distributions._gamma import StandardGamma, sample_standard_gamma

    _check_gamma_input(input, "gamma_cpu")
    if generator is None and input.requires_grad:
        return StandardGamma.apply(input)
    return sample_standard_gamma(input, generator)


def _sample_dirichlet(input: Tensor, generator=None) -> Tensor:
    """Dirichlet draws with the concentrations in ``input``'s last dim (PyTorch's private
    ``torch._sample_dirichlet``, which torchvision's mixup/cutmix references call): Gamma draws
    normalised over the last dim, floored at the dtype's smallest normal number as PyTorch's kernel.

    >>> import ember
    >>> _ = ember.manual_seed(0)
    >>> ember._sample_dirichlet(ember.tensor([1.0, 1.0])).sum().item()
    1.0
    """
    from ember.distributions._gamma import sample_standard_gamma
    from ember.typeinfo import finfo

    _check_gamma_input(input, "dirichlet")
    g = sample_standard_gamma(input.detach(), generator)
    return (g / g.sum(-1, keepdim=True)).clamp(min=finfo(input.dtype).tiny)


_ops = Family(__name__)
_ops.op(multinomial, out=True)
_ops.op(poisson, method=False)
_ops.op(_standard_gamma, name="_standard_gamma", method=False)
_ops.op(_sample_dirichlet, name="_sample_dirichlet", method=False)

__all__ = _ops.names()
