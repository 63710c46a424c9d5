"""DropBlock (Ghiasi et al. 2018, https://arxiv.org/abs/1810.12890): dropout of whole square (or cubic)
blocks of a feature map, then rescaling by the share of what is kept.

Example:
    >>> import ember
    >>> x = ember.ones(1, 1, 5, 5)
    >>> bool((drop_block2d(x, p=0.0, block_size=3) == x).all())
    True
"""

from __future__ import annotations

import ember
import ember.nn.functional as F
from ember import nn

__all__ = ["drop_block2d", "drop_block3d", "DropBlock2d", "DropBlock3d"]


def _drop_block(input: ember.Tensor, p: float, block_size: int, inplace: bool, eps: float, training: bool,
                spatial: int) -> ember.Tensor:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}.")
    if input.ndim != spatial + 2:
        raise ValueError(f"input should be {spatial + 2} dimensional. Got {input.ndim} dimensions.")
    if not training or p == 0.0:
        return input
    n, c, *sizes = input.size()
    block_size = min(block_size, *sizes)
    if block_size % 2 == 0:
        raise ValueError(f"block size should be odd. Got {block_size} which is even.")
    # the rate of block centres that drops a share p of the elements (eq. 1 of the paper)
    valid, whole = 1, 1
    for s in sizes:
        valid *= s - block_size + 1
        whole *= s
    gamma = (p * whole) / ((block_size**spatial) * valid)
    noise = ember.empty((n, c, *(s - block_size + 1 for s in sizes)), dtype=input.dtype, device=input.device)
    noise.bernoulli_(gamma)
    half = block_size // 2
    noise = F.pad(noise, [half] * (2 * spatial), value=0)
    # each centre grows into a block: a max filter of the block's size
    pool = F.max_pool2d if spatial == 2 else F.max_pool3d
    noise = pool(noise, stride=(1,) * spatial, kernel_size=(block_size,) * spatial, padding=half)
    noise = 1 - noise
    normalize_scale = noise.numel() / (eps + noise.sum())
    if inplace:
        return input.mul_(noise).mul_(normalize_scale)
    return input * noise * normalize_scale


def drop_block2d(input: ember.Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True) -> ember.Tensor:
    """DropBlock on ``[N, C, H, W]``: zeroes ``block_size x block_size`` blocks (odd size, at most the
    map's) so that a share ``p`` of the elements drops on average, and scales the rest by
    ``numel / (eps + kept)``. Identity when ``training`` is False or ``p == 0``.

    Example:
        >>> import ember
        >>> _ = ember.manual_seed(0)
        >>> y = drop_block2d(ember.ones(2, 3, 8, 8), p=0.2, block_size=3)
        >>> tuple(y.shape)
        (2, 3, 8, 8)
    """
    return _drop_block(input, p, block_size, inplace, eps, training, spatial=2)


def drop_block3d(input: ember.Tensor, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06,
                 training: bool = True) -> ember.Tensor:
    """DropBlock on ``[N, C, D, H, W]`` with cubic blocks; see :func:`drop_block2d`.

    Example:
        >>> import ember
        >>> tuple(drop_block3d(ember.ones(1, 2, 4, 4, 4), p=0.1, block_size=3).shape)
        (1, 2, 4, 4, 4)
    """
    return _drop_block(input, p, block_size, inplace, eps, training, spatial=3)


class DropBlock2d(nn.Module):
    """See :func:`drop_block2d`.

    Example:
        >>> DropBlock2d(p=0.1, block_size=7)
        DropBlock2d(p=0.1, block_size=7, inplace=False)
    """

    def __init__(self, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06) -> None:
        super().__init__()
        self.p = p
        self.block_size = block_size
        self.inplace = inplace
        self.eps = eps

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        return drop_block2d(input, self.p, self.block_size, self.inplace, self.eps, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, block_size={self.block_size}, inplace={self.inplace})"


class DropBlock3d(DropBlock2d):
    """See :func:`drop_block3d`.

    Example:
        >>> DropBlock3d(p=0.1, block_size=3)
        DropBlock3d(p=0.1, block_size=3, inplace=False)
    """

    def __init__(self, p: float, block_size: int, inplace: bool = False, eps: float = 1e-06) -> None:
        super().__init__(p, block_size, inplace, eps)

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        return drop_block3d(input, self.p, self.block_size, self.inplace, self.eps, self.training)
