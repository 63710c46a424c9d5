"""Connectionist Temporal Classification loss (``F.ctc_loss``, ``nn.CTCLoss``) in ember ops.

The forward (alpha) recursion runs in log space over the extended label sequence (a blank before,
between and after the targets), all samples at once, one step per time frame; autograd
differentiates it. Unreachable states hold -inf, so the log-sum-exp used here is guarded to give
zero (not NaN) gradients there.

PyTorch's own kernel returns, for ``log_probs``, the gradient with respect to the logits of a
log_softmax (``exp(log_probs) - posterior``) rather than the exact ``-posterior``; both give the same
gradient once propagated through ``log_softmax``, which is how CTC is used. ember returns the same
values as PyTorch by adding a term whose value is exactly zero and whose gradient is
``exp(log_probs)`` over each sample's valid frames.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> lp = ember.zeros(3, 1, 2).log_softmax(2)      # 3 frames, uniform over {blank, a}
    >>> round(F.ctc_loss(lp, ember.tensor([[1]]), [3], [1], reduction="sum").item(), 4)
    0.2877
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ember import dtypes as _dt
from ember.functions import creation as _c
from ember.functions import elementwise as _e
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["ctc_loss"]

_NEG_INF = -math.inf


def _lengths(lengths: Any, name: str) -> list[int]:
    if isinstance(lengths, Tensor):
        return [int(v) for v in lengths.reshape(-1).tolist()]
    if isinstance(lengths, int):
        return [lengths]
    if isinstance(lengths, Sequence):
        return [int(v) for v in lengths]
    raise TypeError(f"ctc_loss(): {name} must be a tensor or a sequence of ints, got {type(lengths).__name__}")


def _logsumexp(*terms: Tensor) -> Tensor:
    """log(sum(exp(terms))) elementwise, -inf (with zero gradients) where every term is -inf."""
    m = terms[0]
    for t in terms[1:]:
        m = _e.maximum(m, t)
    dead = m == _NEG_INF
    shift = _e.where(dead, 0.0, m)
    total = None
    for t in terms:
        e = (t - shift).exp()
        total = e if total is None else total + e
    return _e.where(dead, _NEG_INF, shift + _e.where(dead, 1.0, total).log())


def _shift_right(alpha: Tensor, by: int) -> Tensor:
    """alpha[:, s - by] at position s (-inf where s < by)."""
    n, length = alpha.shape
    if by >= length:
        return _c.full((n, length), _NEG_INF, dtype=alpha.dtype, device=alpha.device)
    pad = _c.full((n, by), _NEG_INF, dtype=alpha.dtype, device=alpha.device)
    return _s.cat([pad, alpha[:, :length - by]], 1)


def _padded_targets(targets: Tensor, target_lengths: list[int], n: int) -> Tensor:
    """(N, S_max) int64 targets from the padded (N, S) form or the concatenated 1-D form."""
    s_max = max(target_lengths, default=0)
    if targets.dim() == 2:
        if targets.shape[1] < s_max:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, but got size "
                               f"{targets.shape[1]} for argument #2 'targets' (while checking arguments for ctc_loss_cpu)")
        return targets[:, :s_max].long()
    if sum(target_lengths) > targets.shape[0]:
        raise RuntimeError(f"Expected tensor to have size at least {sum(target_lengths)} at dimension 0, but got size "
                           f"{targets.shape[0]} for argument #2 'targets' (while checking arguments for ctc_loss_cpu)")
    starts = [0]
    for length in target_lengths[:-1]:
        starts.append(starts[-1] + length)
    last = targets.shape[0] - 1  # (a padding slot of an empty target points anywhere valid; it is never read)
    positions = [[min(starts[i] + min(j, max(target_lengths[i] - 1, 0)), last) for j in range(s_max)]
                 for i in range(n)]
    if s_max == 0 or targets.shape[0] == 0:
        return _c.zeros(n, s_max, dtype=_dt.int64, device=targets.device)
    index = _c.tensor(positions, dtype=_dt.int64, device=targets.device)
    return targets.long().reshape(-1).gather(0, index.reshape(-1)).reshape(n, s_max)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC negative log-likelihood of ``targets`` given per-frame ``log_probs`` (T, N, C) (or
    (T, C) for one sample), reduced as PyTorch: ``mean`` divides each sample's loss by its target
    length, then averages over the batch."""
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.dim() == 1 else targets
    if log_probs.dim() != 3:
        raise RuntimeError(f"ctc_loss(): expected log_probs to be 2-D or 3-D, got {log_probs.dim()}-D")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    frames, n, classes = log_probs.shape
    il, tl = _lengths(input_lengths, "input_lengths"), _lengths(target_lengths, "target_lengths")
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if len(il) != n:
        raise RuntimeError(f"input_lengths must be of size batch_size, but got {len(il)} and batch size {n}")
    if len(tl) != n:
        raise RuntimeError(f"target_lengths must be of size batch_size, but got {len(tl)} and batch size {n}")
    for length in il:
        if length > frames:
            raise RuntimeError(f"Expected input_lengths to have value at most {frames}, but got value {length} "
                               "(while checking arguments for ctc_loss_cpu)")
    labels = _padded_targets(targets, tl, n)                         # (N, S)
    s_max = labels.shape[1]
    width = 2 * s_max + 1
    dev, dt = log_probs.device, log_probs.dtype
    blanks = _c.full((n, s_max), blank, dtype=_dt.int64, device=dev)
    ext = _s.cat([_s.stack([blanks, labels], 2).reshape(n, 2 * s_max),
                  _c.full((n, 1), blank, dtype=_dt.int64, device=dev)], 1)  # (N, 2S + 1)
    skip = _c.zeros((n, width), dtype=_dt.bool_, device=dev)
    if s_max > 1:  # a label may be reached from two back unless it repeats the one before
        odd = _c.arange(width, device=dev) % 2 == 1
        skip = odd & (ext != _shift_right_int(ext, 2)) & (_c.arange(width, device=dev) >= 2)
    emit = log_probs.gather(2, ext.unsqueeze(0).expand(frames, n, width))  # (T, N, 2S + 1)
    first = _c.arange(width, device=dev) <= 1
    alpha = _e.where(first, emit[0], _NEG_INF) if frames else _c.full((n, width), _NEG_INF, dtype=dt, device=dev)
    lengths = _c.tensor(il, dtype=_dt.int64, device=dev).unsqueeze(1)
    for t in range(1, frames):
        step = _logsumexp(alpha, _shift_right(alpha, 1), _e.where(skip, _shift_right(alpha, 2), _NEG_INF))
        alpha = _e.where(lengths > t, step + emit[t], alpha)
    ends = _c.tensor([2 * v for v in tl], dtype=_dt.int64, device=dev).unsqueeze(1)
    last = alpha.gather(1, ends)
    before = _e.where(ends > 0, alpha.gather(1, (ends - 1).clamp(min=0)), _NEG_INF)
    nll = -_logsumexp(last, before).reshape(n)
    # PyTorch's gradient convention (see the module docstring): + exp(log_probs) on valid frames
    valid = (_c.arange(frames, device=dev).unsqueeze(1) < lengths.reshape(1, n)).unsqueeze(2)
    mass = _e.where(valid, log_probs.exp(), 0.0).sum((0, 2))
    loss = nll + (mass - mass.detach())
    if zero_infinity:
        loss = _e.where(nll == math.inf, 0.0, loss)
    if reduction == "mean":
        target_len = _c.tensor(tl, dtype=dt, device=dev).clamp(min=1)
        return (loss / target_len).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.reshape(()) if unbatched else loss


def _shift_right_int(x: Tensor, by: int) -> Tensor:
    n, length = x.shape
    pad = _c.full((n, min(by, length)), -1, dtype=x.dtype, device=x.device)
    return _s.cat([pad, x[:, :max(length - by, 0)]], 1)
