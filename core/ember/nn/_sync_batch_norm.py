"""Batch normalisation over the whole batch of every rank of a process group (``nn.SyncBatchNorm``).

Forward: each rank computes its per-channel count, mean and biased variance; one ``all_gather``
brings every rank's three rows to all of them, and each rank combines them exactly (Chan et
al.'s pairwise formula: the variance of the union is the count-weighted variances plus the
spread of the means), so every rank normalises with the global statistics and updates its
running statistics identically (unbiased variance over the global count, as PyTorch). A rank
with an empty batch still takes part, with a count of zero.

Backward: the two per-channel sums the input gradient needs (``sum(dy)`` and
``sum(dy * (x - mean))``) are summed over the ranks with one ``all_reduce``; the weight and
bias gradients stay local, as in PyTorch, because data-parallel training averages them anyway.

Unlike PyTorch, which runs this only on GPUs and raises ``ValueError`` for CPU tensors, ember
synchronises tensors of every device (ember's process groups run on MPI for all of them).

Example (one process: no group, so it is plain batch norm):
    >>> import ember
    >>> bn = ember.nn.SyncBatchNorm(3)
    >>> tuple(bn(ember.ones(4, 3, 2)).shape)
    (4, 3, 2)
"""

from __future__ import annotations

from ember.autograd.function import Function
from ember.functions import creation as _c
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["SyncBatchNormFunction"]


def _reduce_dims(x: Tensor) -> tuple:
    return (0, *range(2, x.dim()))


def _per_channel(v: Tensor, x: Tensor) -> Tensor:
    """A (C,) vector shaped to broadcast against ``x`` (N, C, ...)."""
    return v.reshape((1, -1) + (1,) * (x.dim() - 2))


class SyncBatchNormFunction(Function):
    _backward_name = "SyncBatchNormBackward"

    @staticmethod
    def forward(ctx, x: Tensor, weight, bias, running_mean, running_var, eps: float, momentum: float,
                process_group, world_size: int) -> Tensor:
        import ember.distributed as dist

        channels = x.shape[1]
        local_count = x.numel() // channels
        if local_count == 1 and world_size < 2:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {local_count}")
        dims = _reduce_dims(x)
        if local_count:
            mean = x.mean(dims)
            var = ((x - _per_channel(mean, x)) ** 2).mean(dims)
        else:  # an empty batch joins the collective with a count of zero
            mean = var = _c.zeros(channels, dtype=x.dtype, device=x.device)
        row = _s.cat([mean, var, _c.full((channels,), float(local_count), dtype=x.dtype, device=x.device)])
        rows = [_c.empty_like(row) for _ in range(world_size)]
        dist.all_gather(rows, row, process_group)
        means, vars_, counts = _s.stack(rows).reshape(world_size, 3, channels).unbind(1)
        total = counts.sum(0)
        g_mean = (counts * means).sum(0) / total
        g_var = (counts * (vars_ + (means - g_mean) ** 2)).sum(0) / total
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(momentum * g_mean.to(running_mean.dtype))
        if running_var is not None:
            unbiased = g_var * total / (total - 1)
            running_var.mul_(1 - momentum).add_(momentum * unbiased.to(running_var.dtype))
        invstd = (g_var + eps).rsqrt()
        ctx.save_for_backward(x, weight, g_mean, invstd, total)
        ctx.process_group = process_group
        out = (x - _per_channel(g_mean, x)) * _per_channel(invstd, x)
        if weight is not None:
            out = out * _per_channel(weight, x)
        if bias is not None:
            out = out + _per_channel(bias, x)
        return out

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        import ember.distributed as dist

        x, weight, mean, invstd, total = ctx.saved_tensors
        dims = _reduce_dims(x)
        xhat = (x - _per_channel(mean, x)) * _per_channel(invstd, x)
        sum_dy = grad_output.sum(dims)
        sum_dy_xhat = (grad_output * xhat).sum(dims)
        needs = ctx.needs_input_grad
        grad_input = grad_weight = grad_bias = None
        if needs[0]:
            both = _s.cat([sum_dy, sum_dy_xhat])
            dist.all_reduce(both, group=ctx.process_group)  # every rank's sums: the gradient of the global mean/var
            g_sum_dy, g_sum_dy_xhat = both.chunk(2)
            scale = invstd if weight is None else invstd * weight
            grad_input = (grad_output - _per_channel(g_sum_dy / total, x)
                          - xhat * _per_channel(g_sum_dy_xhat / total, x)) * _per_channel(scale, x)
        if weight is not None and needs[1]:
            grad_weight = sum_dy_xhat
        if needs[2]:
            grad_bias = sum_dy
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None
