"""Layer normalisation as one autograd node (PyTorch's ``NativeLayerNormBackward0``).

The forward and the backward each run one optional kernel where the device has it
(``layer_norm``, ``layer_norm_backward``: one pass over the rows instead of ~10 kernels forward and
~25 backward), and the same formulas in ember ops where it does not. The composite backward
recomputes the statistics from the input, so a gradient taken with ``create_graph=True`` can be
differentiated again.

Example:
    >>> import ember
    >>> x = ember.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    >>> out, mean, rstd = NativeLayerNorm.apply(x, None, None, (4,), 1e-5)
    >>> out.grad_fn.name(), round(mean.item(), 4), round(rstd.item(), 4)
    ('NativeLayerNormBackward0', 2.5, 0.8944)
"""

from __future__ import annotations

from collections.abc import Sequence

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.autograd.grad_mode import STATE
from ember.functions.complex_ops import type_word
from ember.tensor import Tensor

__all__ = ["NativeLayerNorm", "check_layer_norm_args", "check_shape_arg", "check_norm_dtypes", "native_layer_norm"]


def check_shape_arg(normalized_shape: object, function: str) -> None:
    """PyTorch's argument parser: ``F.layer_norm``/``F.rms_norm`` take a sequence of ints, not an int
    (the modules accept an int and store a tuple)."""
    if not isinstance(normalized_shape, (list, tuple)):
        raise TypeError(f"{function}(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                        f"{type(normalized_shape).__name__}")
    for i, s in enumerate(normalized_shape):
        if not hasattr(s, "__index__"):
            raise TypeError(f"{function}(): argument 'normalized_shape' (position 2) must be tuple of ints, but "
                            f"found element of type {type(s).__name__} at pos {i}")


def check_trailing_shape(input: Tensor, normalized_shape: int | Sequence[int], star: str) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple, checked against the input's last dims as PyTorch's norms check
    it. ``star`` opens the expected shape in the message: ``"[*, "`` for layer_norm, ``"[*"`` for
    PyTorch 2.13's rms_norm (no ", " after the "*")."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    if tuple(input.shape[input.dim() - k:]) != shape or input.dim() < k:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"{star}{', '.join(str(s) for s in shape)}], but got input of size{list(input.shape)}")
    return shape


def check_layer_norm_args(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None,
                          bias: Tensor | None) -> tuple[int, ...]:
    """PyTorch's checks of ``layer_norm``'s arguments; returns ``normalized_shape`` as a tuple."""
    shape = check_trailing_shape(input, normalized_shape, "[*, ")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
                               f"{list(p.shape)} and normalized_shape = {list(shape)}")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"LayerNormKernelImpl" not implemented for \'{type_word(input._dtype)}\'')
    check_norm_dtypes(input, weight, bias)
    return shape


def check_norm_dtypes(input: Tensor, *params: Tensor | None) -> bool:
    """PyTorch's mixed-dtype rule of its normalization kernels (layer, group, batch and instance
    norm): the given parameters share one dtype; one other than the input's is allowed only as
    float32 parameters of a float16/bfloat16 input (mixed precision). True in that mixed case.

    >>> import ember
    >>> check_norm_dtypes(ember.ones(2, dtype=ember.bfloat16), ember.ones(2), None)
    True
    """
    kind = None
    where = input.device.type.upper()
    for p in params:
        if p is not None:
            if kind is None:
                kind = p._dtype
            elif p._dtype is not kind:
                raise RuntimeError(f"mixed dtype ({where}): all inputs must share same datatype.")
    if kind is None or kind is input._dtype:
        return False
    if kind is not _dt.float32:
        raise RuntimeError(f"mixed dtype ({where}): expect parameter to have scalar type of Float")
    if input._dtype is not _dt.float16 and input._dtype is not _dt.bfloat16:
        raise RuntimeError(f"mixed dtype ({where}): all inputs must share same datatype.")
    return True


def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None,
                      bias: Tensor | None, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """Checked ``(out, mean, rstd)``. A float16/bfloat16 input with float32 parameters (mixed
    precision) is normalised in float32, as PyTorch's kernel computes it, and rounded back once."""
    shape = check_layer_norm_args(input, normalized_shape, weight, bias)
    low = input._dtype
    if any(p is not None and p._dtype is not low for p in (weight, bias)):
        out, mean, rstd = NativeLayerNorm.apply(input.float(), weight, bias, shape, eps)
        return out.to(low), mean, rstd
    return NativeLayerNorm.apply(input, weight, bias, shape, eps)


def _dims(x: Tensor, k: int) -> tuple[int, ...]:
    return tuple(range(x.dim() - k, x.dim()))


def _statistics(x: Tensor, k: int, eps: float) -> tuple[Tensor, Tensor]:
    """(mean, 1 / sqrt(var + eps)) over the last ``k`` dims, kept as size-1 dims (ember ops)."""
    dims = _dims(x, k)
    mean = x.mean(dims, keepdim=True)
    return mean, (x.var(dims, correction=0, keepdim=True) + eps).rsqrt()


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None, dtype: _dt.dtype) -> Tensor:
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out if out._dtype is dtype else out.to(dtype)


def _same(x: Tensor, p: Tensor | None) -> bool:
    return p is None or (p._dtype is x._dtype and p._device is x._device)


class NativeLayerNorm(Function):
    """``(out, mean, rstd)`` of layer norm over the trailing ``normalized_shape`` dims; ``mean`` and
    ``rstd`` keep those dims as size 1 and carry no gradient, as PyTorch's ``native_layer_norm``."""

    _backward_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_shape, eps):
        k = len(normalized_shape)
        kt = x._kt
        ctx.one_dtype = _same(x, weight) and _same(x, bias)
        if ctx.one_dtype and kt.has("layer_norm"):
            out, mean, rstd = kt["layer_norm"](x._data, k, None if weight is None else weight._data,
                                                None if bias is None else bias._data, eps)
            out, mean, rstd = x._new(out), x._new(mean), x._new(rstd)
        else:
            mean, rstd = _statistics(x, k, eps)
            out = _affine((x - mean) * rstd, weight, bias, x._dtype)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.k, ctx.eps, ctx.bias_dtype = k, eps, None if bias is None else bias._dtype
        ctx.mark_non_differentiable(mean, rstd)
        ctx.set_materialize_grads(False)  # mean and rstd never carry a gradient: no zeros made for them
        return out, mean, rstd

    @staticmethod
    def backward(ctx, g, _g_mean, _g_rstd):
        x, weight, mean, rstd = ctx.saved_tensors
        if g is None:
            from ember.functions.creation import zeros_like

            g = zeros_like(x)
        k = ctx.k
        needs = (ctx.needs_input_grad[0], ctx.needs_input_grad[1] and weight is not None,
                 ctx.needs_input_grad[2] and ctx.bias_dtype is not None)
        kt = x._kt
        if (not STATE.enabled and ctx.one_dtype and kt.has("layer_norm_backward") and g._dtype is x._dtype
                and g.shape == x.shape):
            gx, gw, gb = kt["layer_norm_backward"](g._data, x._data, mean._data, rstd._data,
                                                   None if weight is None else weight._data, k, needs)
            return tuple(None if v is None else x._new(v) for v in (gx, gw, gb)) + (None, None)
        # ember ops; the statistics are recomputed from x so that double backward sees them depend on it
        dims, lead = _dims(x, k), tuple(range(x.dim() - k))
        mean, rstd = _statistics(x, k, ctx.eps)
        xhat = (x - mean) * rstd
        gx = gw = gb = None
        if needs[1]:
            gw = (g * xhat).sum(lead) if lead else g * xhat
            gw = gw.to(weight._dtype)
        if needs[2]:
            gb = g.sum(lead) if lead else g
            gb = gb.to(ctx.bias_dtype)
        if needs[0]:
            dxhat = g * weight if weight is not None else g
            gx = rstd * (dxhat - dxhat.mean(dims, keepdim=True) - xhat * (dxhat * xhat).mean(dims, keepdim=True))
            gx = gx.to(x._dtype)
        return gx, gw, gb, None, None
