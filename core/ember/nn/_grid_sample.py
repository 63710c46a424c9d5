"""``affine_grid`` and ``grid_sample`` (spatial transformer networks), written in ember ops.

The sampler gathers the taps each output point needs from the flattened input and blends them with
weights computed from the grid, so autograd gives the gradients for both the input (through the
gather) and the grid (through the weights) on every backend. Coordinates follow PyTorch's
``grid_sampler`` exactly: unnormalisation with and without ``align_corners``, border clipping,
reflection, nearest rounding half to even, bicubic with A = -0.75 and padding applied per tap.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> theta = ember.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> img = ember.arange(4.0).reshape(1, 1, 2, 2)
    >>> F.grid_sample(img, F.affine_grid(theta, (1, 1, 2, 2), align_corners=False), align_corners=False)
    tensor([[[[0., 1.],
              [2., 3.]]]])
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ember import dtypes as _dt
from ember.functions import creation as _c
from ember.functions import elementwise as _e
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                  "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                  "grid_sample for details.")


def _sizes(t: Any) -> str:
    return "[" + ", ".join(str(s) for s in t) + "]"


# ---- affine_grid -------------------------------------------------------------------------------
def _linspace_from_neg_one(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    if steps <= 1:
        return _c.zeros(steps, dtype=like.dtype, device=like.device)
    r = _c.linspace(-1.0, 1.0, steps, dtype=like.dtype, device=like.device)
    return r if align_corners else r * (steps - 1) / steps  # two roundings, as PyTorch


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of affine maps: (N, H, W, 2) for a (N, 2, 3) ``theta`` and a 4-D
    ``size``, (N, D, H, W, 3) for (N, 3, 4) and a 5-D one."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {_torch_size(size)}. "
                             f"Got {theta.shape}.")
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {_torch_size(size)}. "
                             f"Got {theta.shape}.")
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {_torch_size(size)}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation of "
                      "affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {_torch_size(size)}")
    n = size[0]
    if theta.shape[0] != n:  # PyTorch's bmm of the base grid by theta refuses another batch
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {len(spatial) + 1}] "
                           f"but got: [{theta.shape[0]}, {len(spatial) + 1}].")
    # base coordinates [x, y, (z,) 1] for every output point, x varying fastest (the last spatial dim)
    axes = [_linspace_from_neg_one(s, align_corners, theta) for s in reversed(spatial)]  # x, y, (z)
    points = math.prod(spatial)
    cols = []
    for k, axis in enumerate(axes):
        shape = [1] * len(spatial)
        shape[len(spatial) - 1 - k] = spatial[len(spatial) - 1 - k]
        cols.append(axis.reshape(shape).expand(*spatial).reshape(points))
    cols.append(_c.ones(points, dtype=theta.dtype, device=theta.device))
    base = _s.stack(cols, 1)                                           # (P, d + 1)
    grid = base.unsqueeze(0).expand(n, points, len(cols)) @ theta.transpose(1, 2)
    return grid.reshape(n, *spatial, len(spatial))


def _torch_size(size: list) -> str:
    return f"torch.Size({size})"


# ---- grid_sample -------------------------------------------------------------------------------
def _unnormalize(coord: Tensor, size: int, align_corners: bool, planar: bool = False) -> Tensor:
    """Grid coordinate in [-1, 1] to pixel index. ``planar`` (4-D input) uses the arithmetic of
    PyTorch's 2-D CPU kernel, whose roundings differ from its 3-D formula: a sample that lands exactly
    on a pixel then lands there in both frameworks, and the bilinear gradient (one-sided there) agrees."""
    if planar:
        return (coord + 1) * ((size - 1) / 2) if align_corners else (coord + 1) * (size / 2) - 0.5
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _clip(coord: Tensor, size: int, planar: bool) -> Tensor:
    """``coord`` clamped to [0, size - 1]; PyTorch's clip_coordinates_set_grad counts the borders as
    outside, so the gradient is 0 there too (a plain clamp would pass it on). A NaN coordinate goes
    where PyTorch's CPU kernels put it: to 0 in the 2-D one (its vector max), to size - 1 in the 3-D
    one (std::min(size - 1, std::max(NaN, 0))), not to an index NaN would make."""
    inside = (coord > 0) & (coord < size - 1)
    c = coord.detach()
    low = _e.where(c > 0, c, 0.0) if planar else _e.where(c < 0, 0.0, c)
    return _e.where(inside, coord, _e.where(low < size - 1, low, float(size - 1)))


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Mirror ``coord`` into [twice_low / 2, twice_high / 2] (PyTorch's reflect_coordinates)."""
    if twice_low == twice_high:  # PyTorch: 0, a NaN or infinite coordinate included
        return _e.where(coord.isfinite(), coord * 0, 0.0)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    c = (coord - low).abs()
    extra = c.fmod(span)
    flips = (c / span).floor()
    return _e.where(flips.remainder(2) == 0, extra + low, span - extra + low)


def _pad_coordinate(coord: Tensor, size: int, padding_mode: str, align_corners: bool, planar: bool,
                    lost: list | None = None) -> Tensor:
    """The padded coordinate; ``lost`` collects, per axis, where PyTorch's 3-D backward finds no
    valid tap (a NaN coordinate before the clip; outside any padding, an infinite one)."""
    if padding_mode == "reflection":  # (an infinite coordinate reflects to NaN, as in PyTorch)
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
    if padding_mode == "zeros":
        if lost is None:
            return coord
        lost.append(~coord.detach().isfinite())
        return _e.where(lost[-1], -2.0, coord)  # every tap outside, and finite weights: no NaN gradient
    if lost is not None:
        lost.append(coord.detach().isnan())
    return _clip(coord, size, planar)


class _Taps:
    """Gathers values of the flattened input (N, C, S) at integer tap coordinates (N, P) per dim."""

    def __init__(self, input: Tensor, spatial: list[int]) -> None:
        n, c = input.shape[0], input.shape[1]
        self.flat = input.reshape(n, c, -1)
        self.spatial = spatial

    def value(self, taps: list[Tensor], weight: Tensor | None = None) -> Tensor:
        """Input values at the taps (x, y[, z] order), 0 where a tap lies outside the input; with
        ``weight`` (N, P), the weighted values, 0 outside even where the weight is NaN."""
        valid = None
        linear = None
        for k, tap in enumerate(taps):  # x indexes the last spatial dim
            size = self.spatial[len(self.spatial) - 1 - k]
            inside = (tap >= 0) & (tap <= size - 1)
            valid = inside if valid is None else valid & inside
            stride = math.prod(self.spatial[len(self.spatial) - k:])
            term = _e.where(inside, tap, 0.0).long() * stride  # a NaN tap would make an invalid index
            linear = term if linear is None else linear + term
        n, c, _ = self.flat.shape
        got = self.flat.gather(2, linear.unsqueeze(1).expand(n, c, linear.shape[1]))
        valid = valid.unsqueeze(1)
        if weight is None:
            return _e.where(valid, got, 0.0)
        # (the weight zeroed outside too, so a NaN one gives the gathered value a 0 gradient, not NaN)
        return _e.where(valid, got * _e.where(valid, weight.unsqueeze(1), 0.0), 0.0)


def _cubic_weights(t: Tensor) -> list[Tensor]:
    a = -0.75

    def near(x: Tensor) -> Tensor:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str, padding_mode: str) -> None:
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but "
                         f"got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if input.device != grid.device:
        raise RuntimeError(f"grid_sampler(): expected input and grid to be on same device, but input is on "
                           f"{input.device} and grid is on {grid.device}")
    if input.dtype is not grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but input has "
                           f"{input.dtype} and grid has {grid.dtype}")
    if input.dim() not in (4, 5) or input.dim() != grid.dim():
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got input with sizes {_sizes(input.shape)} and grid with sizes {_sizes(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {_sizes(input.shape)} and grid with sizes {_sizes(grid.shape)}")
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.dim() - 2} in last dimension, but got "
                           f"grid with sizes {_sizes(grid.shape)}")
    if any(s == 0 for s in input.shape[2:]):
        raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                           f"sizes {_sizes(input.shape)} with dimension {2 + list(input.shape[2:]).index(0)} being "
                           "empty")
    if mode == "bicubic" and input.dim() != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) or (N, C, D, H, W) at the normalised ``grid`` locations
    (N, H_out, W_out, 2) or (N, D_out, H_out, W_out, 3), x first; -1 and 1 are the input's edges (or
    its corner pixels' centres with ``align_corners``)."""
    _check_grid_sample(input, grid, mode, padding_mode)
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"grid_sampler\" not implemented for '{str(input.dtype).split('.')[-1].capitalize()}'")
    n, c = input.shape[0], input.shape[1]
    spatial = list(input.shape[2:])
    out_spatial = list(grid.shape[1:-1])
    d = len(spatial)
    coords = grid.reshape(n, -1, d)
    taps = _Taps(input, spatial)
    sizes = [spatial[d - 1 - k] for k in range(d)]  # size along x, y(, z)
    if mode == "bicubic":
        out = _bicubic(taps, coords, sizes, padding_mode, align_corners)
    else:
        lost: list = []
        pos = [_pad_coordinate(_unnormalize(coords[..., k], sizes[k], align_corners, d == 2), sizes[k],
                               padding_mode, align_corners, d == 2, lost if d == 3 else None) for k in range(d)]
        if mode == "nearest":
            out = taps.value([p.round() for p in pos])
            if grid.requires_grad:  # PyTorch gives the grid a zero gradient here, not none
                never = _c.zeros(1, dtype=_dt.bool_, device=grid.device)
                out = out + _e.where(never, coords[..., 0], 0.0).unsqueeze(1)
        else:
            out = _linear(taps, pos)
        if d == 3:  # PyTorch's 3-D backward skips those points: no gradient to the input or the grid
            gone = (lost[0] | lost[1] | lost[2]).unsqueeze(1)
            out = _e.where(gone, out.detach(), out)
    return out.reshape(n, c, *out_spatial)


def _linear(taps: _Taps, pos: list[Tensor]) -> Tensor:
    """Bi-/trilinear: every corner of the cell around each point, weighted by the opposite volume."""
    lows = [p.floor() for p in pos]
    fracs = [p - lo for p, lo in zip(pos, lows, strict=True)]
    out = None
    for corner in range(2 ** len(pos)):
        weight, where = None, []
        for k in range(len(pos)):
            high = (corner >> k) & 1
            w = fracs[k] if high else 1 - fracs[k]
            weight = w if weight is None else weight * w
            where.append(lows[k] + high)
        # PyTorch's 3-D kernel adds only the taps inside the input (a NaN weight of one outside is
        # skipped); its 2-D one multiplies the zero it gathered there (NaN stays NaN)
        term = taps.value(where, weight) if len(pos) == 3 else taps.value(where) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _bicubic(taps: _Taps, coords: Tensor, sizes: list[int], padding_mode: str, align_corners: bool) -> Tensor:
    """4 x 4 taps around each point; padding is applied to each tap's coordinate, as PyTorch does."""
    x = _unnormalize(coords[..., 0], sizes[0], align_corners, True)
    y = _unnormalize(coords[..., 1], sizes[1], align_corners, True)
    x0, y0 = x.floor(), y.floor()
    wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
    out = None
    for j in range(4):
        ty = _pad_coordinate(y0 + (j - 1), sizes[1], padding_mode, align_corners, True)
        row = None
        for i in range(4):
            tx = _pad_coordinate(x0 + (i - 1), sizes[0], padding_mode, align_corners, True)
            term = taps.value([tx, ty]) * wx[i].unsqueeze(1)
            row = term if row is None else row + term
        term = row * wy[j].unsqueeze(1)
        out = term if out is None else out + term
    return out

