"""``nn.CrossMapLRN2d``: Torch7's cross-channel local response normalisation, as PyTorch keeps it.

PyTorch's ``CrossMapLRN2d`` is a port of Lua Torch's ``SpatialCrossMapLRN`` and keeps two of its
quirks, which this module reproduces so that loaded legacy models give PyTorch's numbers:

- the forward's sliding window over channels never drops channel 0: from channel
  ``pre_pad + 1`` on (``pre_pad = int((size - 1) / 2 + 1)``) the sum is channel 0 plus the window
  ``[c - pre_pad + 1, c + pre_pad - 1]``, instead of the symmetric window alone;
- the backward is the legacy hand-written one (the symmetric window's gradient formula), not the
  derivative of that forward, and it fails for ``size == 1`` with PyTorch's ``RuntimeError``.

Both window sums are one product with a 0/1 band matrix over the channel axis (exact sums, no
running-sum cancellation), in ember ops, so it runs on every backend.

Example:
    >>> import ember
    >>> lrn = ember.nn.CrossMapLRN2d(3, alpha=1e-4, beta=0.75, k=1)
    >>> tuple(lrn(ember.ones(1, 4, 2, 2)).shape)
    (1, 4, 2, 2)
"""

from __future__ import annotations

from ember.autograd.function import Function
from ember.functions import creation as _c
from ember.tensor import Tensor

__all__ = ["cross_map_lrn2d"]


def _band(rows: list[tuple[int, int]], channels: int, extra_first: list[bool], like: Tensor) -> Tensor:
    """(C, C) matrix with ones at ``[c, lo..hi]`` (and at ``[c, 0]`` where ``extra_first[c]``)."""
    m = [[1.0 if lo <= j <= hi or (j == 0 and extra) else 0.0 for j in range(channels)]
         for (lo, hi), extra in zip(rows, extra_first)]
    return _c.tensor(m, dtype=like.dtype, device=like.device)


def _channel_sums(band: Tensor, x: Tensor) -> Tensor:
    n, c, h, w = x.shape
    return (band @ x.reshape(n, c, h * w)).reshape(n, c, h, w)


class _CrossMapLRN2d(Function):
    _backward_name = "CrossMapLRN2dBackward"

    @staticmethod
    def forward(ctx, x: Tensor, size: int, alpha: float, beta: float, k: float) -> Tensor:
        channels = x.shape[1]
        pre_pad = int((size - 1) / 2 + 1)
        rows = [(max(0, c - pre_pad + 1) if c > pre_pad else 0, min(c + pre_pad - 1, channels - 1))
                for c in range(channels)]
        band = _band(rows, channels, [c > pre_pad for c in range(channels)], x)
        scale = _channel_sums(band, x * x) * (alpha / size) + k
        out = scale.pow(-beta) * x
        ctx.save_for_backward(x, out)
        ctx.scale, ctx.size, ctx.alpha, ctx.beta = scale, size, alpha, beta
        return out

    @staticmethod
    def backward(ctx, grad_output: Tensor):
        x, out = ctx.saved_tensors
        size, scale = ctx.size, ctx.scale
        channels = x.shape[1]
        inverse_pre_pad = int(size - (size - 1) / 2)
        if inverse_pre_pad + channels > channels + size - 1:  # the legacy padded buffer is too short
            raise RuntimeError(f"start ({inverse_pre_pad}) + length ({channels}) exceeds dimension size "
                               f"({channels + size - 1}).")
        ratio = grad_output * out / scale
        # legacy accumulator: channel c sums the ratios of channels c - inverse_pre_pad .. c + size - 1 - inverse_pre_pad
        rows = [(max(0, c - inverse_pre_pad), min(channels - 1, c + size - 1 - inverse_pre_pad)) for c in range(channels)]
        accum = _channel_sums(_band(rows, channels, [False] * channels, x), ratio)
        cache = 2 * ctx.alpha * ctx.beta / size
        return scale.pow(-ctx.beta) * grad_output - cache * x * accum, None, None, None, None


def cross_map_lrn2d(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> Tensor:
    """PyTorch's ``CrossMapLRN2d`` function on a 4-D ``input`` (see the module docstring)."""
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    return _CrossMapLRN2d.apply(input, size, alpha, beta, k)
