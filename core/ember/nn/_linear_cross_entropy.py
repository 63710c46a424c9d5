"""``linear_cross_entropy``: a linear projection fused with cross entropy (PyTorch 2.13's
``torch.nn.functional.linear_cross_entropy`` and ``torch.nn.LinearCrossEntropyOptions``).

``options=None`` is PyTorch's reference path, ``cross_entropy(linear(input, W, b), target)``.
An options object selects the chunked path: the batch is processed ``batch_chunk_size`` rows at a
time, so the full ``(N, C)`` logits are never materialised (the point when ``C`` is an LLM's
vocabulary). As in PyTorch, the mean/sum reductions compute the gradients of input, weight and bias
inside the forward pass (backward only scales them by the upstream gradient, and a second backward
raises unless ``allow_retain_graph``), while ``reduction="none"`` recomputes them chunk by chunk in
backward with the per-sample upstream gradient folded in.

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> x, w = ember.ones(4, 3), ember.zeros(5, 3)
    >>> F.linear_cross_entropy(x, w, ember.tensor([0, 1, 2, 3]))
    tensor(1.6094)
    >>> opts = ember.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
    >>> F.linear_cross_entropy(x, w, ember.tensor([0, 1, 2, 3]), options=opts)
    tensor(1.6094)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Literal

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.autograd.grad_mode import STATE
from ember.tensor import Tensor

__all__ = ["linear_cross_entropy", "LinearCrossEntropyOptions"]

_ACC_POLICIES = {"auto", "accurate", "balanced", "compact"}
_SUPPORTED_ACC_DTYPES = (_dt.float16, _dt.bfloat16, _dt.float32, _dt.float64)
_LOW_PRECISION = (_dt.float16, _dt.bfloat16)
# PyTorch's ``_AUTO_DEFAULTS``: (acc_policy, chunking_method) per (device type, input dtype); the
# rest (float32/float64, and 16-bit types on devices PyTorch does not list) take ``_AUTO_FALLBACK``.
_AUTO_DEFAULTS = {
    ("cpu", _dt.bfloat16): ("accurate", "aspect_ratio"),
    ("cpu", _dt.float16): ("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = ("compact", "aspect_ratio:2")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Configuration of the chunked path of :func:`linear_cross_entropy` (PyTorch's fields,
    defaults and checks). ``batch_chunk_size`` rows per chunk, or a ``chunking_method``
    (``"auto"``, ``"aspect_ratio"`` or ``"aspect_ratio:N"``) that derives it from the shapes;
    ``acc_dtype`` (float32 for float16/bfloat16 inputs) is the accumulation dtype; a second
    backward needs ``allow_retain_graph=True``."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: _dt.dtype | None = None

    def __post_init__(self) -> None:
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (
            self.batch_chunk_size is None or (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)
        ):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in _SUPPORTED_ACC_DTYPES:
            names = ", ".join(str(d) for d in _SUPPORTED_ACC_DTYPES)
            raise ValueError(
                f"acc_dtype must be one of {{None, {names}}}, got {self.acc_dtype!r}. Pass "
                "acc_dtype=None to let the op pick automatically."
            )

    @staticmethod
    def _compute_batch_chunk_size(num_batches: int, in_features: int, num_classes: int, method: str) -> int:
        # "aspect_ratio[:N]": a chunk's (B, C) logits about as large as the (N, F) input, over N
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = _ceil_div(num_batches, _ceil_div(num_classes, in_features))
        return min((1 << (target - 1).bit_length()) // factor, num_batches)

    def _adjust(
        self, num_batches: int, in_features: int, num_classes: int, dtype: Any, device: Any = None
    ) -> LinearCrossEntropyOptions:
        """The options with ``"auto"`` and ``None`` resolved for one call (PyTorch's ``_adjust``)."""
        acc_policy, chunking_method = self.acc_policy, self.chunking_method
        if chunking_method == "auto" and self.batch_chunk_size is not None:
            chunking_method = None  # an explicit size wins over the automatic one
        if acc_policy == "auto" or chunking_method == "auto":
            # every ember device gets PyTorch's CPU pick: the parity target is PyTorch's CPU numerics
            ap, cm = _AUTO_DEFAULTS.get(("cpu", dtype), _AUTO_FALLBACK) if device is not None else _AUTO_FALLBACK
            acc_policy = ap if acc_policy == "auto" else acc_policy
            chunking_method = cm if chunking_method == "auto" else chunking_method
        size = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size, num_batches)
        if chunking_method is not None:
            size = self._compute_batch_chunk_size(num_batches, in_features, num_classes, chunking_method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != size:
                raise ValueError(
                    f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                    f"('{chunking_method}') give different chunk sizes ({self.batch_chunk_size} vs "
                    f"{size}); pass only one."
                )
        acc_dtype = self.acc_dtype
        if acc_dtype is None:
            # float32 for 16-bit inputs, PyTorch's CPU choice (on every ember device, as above)
            auto = self.acc_policy == "auto" and dtype in _LOW_PRECISION and device is not None
            acc_dtype = _dt.float32 if auto else dtype
        return dataclasses.replace(
            self,
            acc_policy=acc_policy,
            chunking_method=chunking_method,
            batch_chunk_size=max(1, size),
            acc_dtype=acc_dtype,
        )


def _as_options(options: Any) -> LinearCrossEntropyOptions:
    """ember's options from any object with the same fields (PyTorch's own options object, say,
    whose ``acc_dtype`` is read by name)."""
    if isinstance(options, LinearCrossEntropyOptions):
        return options
    acc_dtype = getattr(options, "acc_dtype", None)
    if acc_dtype is not None and not isinstance(acc_dtype, _dt.dtype):
        acc_dtype = getattr(_dt, str(acc_dtype).rsplit(".", 1)[-1], acc_dtype)
    return LinearCrossEntropyOptions(
        allow_retain_graph=getattr(options, "allow_retain_graph", False),
        batch_chunk_size=getattr(options, "batch_chunk_size", None),
        chunking_method=getattr(options, "chunking_method", "auto"),
        acc_policy=getattr(options, "acc_policy", "auto"),
        acc_dtype=acc_dtype,
    )


def _chunked(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    linear_bias: Tensor | None,
    weight: Tensor | None,
    reduction: str,
    ignore_index: int,
    chunk: int,
    acc_dtype: Any,
    grads: tuple[bool, bool, bool],
    grad_output: Tensor | None = None,
) -> tuple:
    """PyTorch's chunked accumulator: ``(loss, grad_input, grad_linear_weight, grad_linear_bias)``.

    Per chunk: ``z = x W^T + b`` shifted by its row max, the loss from ``log sum exp z - z[t]``,
    and with ``p = softmax(z) * s`` (``s`` the signed per-row scale below) the gradient of the
    logits is ``s * onehot(t) - p``, so ``dx = s W[t] - p W``, ``dW = -p^T x + index_add(t, s x)``
    and ``db = -sum p + index_add(t, s)``. ``reduction="none"`` without ``grad_output`` computes
    the per-sample loss only (its backward calls this again with ``grad_output``).
    """
    dtype = input.dtype
    num_batches, in_features = input.shape
    num_classes = linear_weight.shape[0]
    mixed = acc_dtype is not dtype
    if mixed and not (dtype in _LOW_PRECISION and acc_dtype is _dt.float32):
        raise RuntimeError(
            "linear_cross_entropy supports float32 acc_dtype with float16/bfloat16 inputs, but got "
            f"{acc_dtype} acc_dtype and {dtype} inputs."
        )
    want_input, want_weight, want_bias = grads
    want_bias = want_bias and linear_bias is not None
    loss_only = reduction == "none" and grad_output is None

    mask = target == ignore_index
    if ignore_index < 0 or ignore_index >= num_classes:
        target = target.masked_fill(mask, 0)  # keeps the gathers in range; masked rows weigh 0
    if weight is None:
        scale = (~mask).to(acc_dtype)
    else:
        scale = weight.index_select(0, target).to(acc_dtype).masked_fill(mask, 0)
    if reduction == "mean":  # -w[t]/sum(w[t]); NaN everywhere when every target is ignored (0/0)
        total = scale.sum()
        scale = scale / (-total).masked_fill(total == 0, math.nan)  # no host sync
    elif reduction == "sum":
        scale = -scale
    elif grad_output is not None:  # "none"'s backward: the per-sample upstream gradient folded in
        scale = -scale * grad_output.to(acc_dtype)

    # the mixed-precision path computes in acc_dtype; a weight/input dtype mismatch otherwise
    # reaches mm, which raises PyTorch's error
    w_c = linear_weight.to(acc_dtype) if mixed else linear_weight
    b_c = linear_bias.to(acc_dtype) if linear_bias is not None else None
    # PyTorch accumulates the scalar loss in float32 for float16 but in bfloat16 for bfloat16
    out_dtype = acc_dtype if dtype is _dt.float16 else dtype
    loss = input.new_zeros((), dtype=out_dtype)
    losses, grad_input = [], []
    grad_w = input.new_zeros(tuple(linear_weight.shape), dtype=dtype) if want_weight else None
    grad_b = input.new_zeros((num_classes,), dtype=dtype) if want_bias else None
    any_grad = want_input or want_weight or want_bias
    for start in range(0, num_batches, chunk):
        rows = min(chunk, num_batches - start)
        x = input.narrow(0, start, rows)
        x_c = x.to(acc_dtype) if mixed else x
        t = target.narrow(0, start, rows)
        s = scale.narrow(0, start, rows)
        z = x_c.mm(w_c.T)
        if b_c is not None:
            z = z + b_c
        z = z - z.amax(1, keepdim=True)  # softmax stability
        z_t = z.gather(1, t.unsqueeze(1)).squeeze(1)
        e = z.exp()
        denom = e.sum(1, dtype=acc_dtype)  # in acc_dtype: a float16 sum of exps can underflow
        log_denom = denom.log()
        if loss_only:
            losses.append(((log_denom - z_t.to(acc_dtype)) * s).to(dtype))
            continue
        # two roundings to out_dtype, as PyTorch's two in-place updates of its accumulator
        loss = (loss + s.dot(z_t.to(s.dtype))).to(out_dtype)
        loss = (loss - s.dot(log_denom)).to(out_dtype)
        if not any_grad:
            continue
        p = e * (s / denom).unsqueeze(1)  # softmax(z) * s
        s_col = s.unsqueeze(1)
        if want_bias:  # each chunk rounded to the gradient's dtype once, as PyTorch commits it
            grad_b = grad_b + (-p.sum(0, dtype=acc_dtype)).index_add(0, t, s).to(dtype)
        if want_input:
            grad_input.append((w_c.index_select(0, t) * s_col - p.mm(w_c)).to(dtype))
        if want_weight:
            grad_w = (grad_w + (-(p.T.mm(x_c))).index_add(0, t, x_c * s_col)).to(dtype)
    if loss_only:
        return _cat(losses, (0,), input), None, None, None
    if reduction == "mean" and num_batches == 0:
        loss = input.new_full((), math.nan, dtype=out_dtype)
    gi = _cat(grad_input, (0, in_features), input) if want_input else None
    return loss.to(dtype), gi, grad_w, grad_b


def _cat(parts: list, empty_shape: tuple, like: Tensor) -> Tensor:
    from ember.functions.shape import cat

    return cat(parts) if parts else like.new_zeros(empty_shape)


class _ChunkedScalar(Function):
    """mean/sum: gradients computed in forward, scaled by the upstream gradient in backward."""

    _backward_name = "GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_defaultBackward"

    @staticmethod
    def forward(
        ctx: Any,
        input: Tensor,
        linear_weight: Tensor,
        target: Tensor,
        linear_bias: Tensor | None,
        weight: Tensor | None,
        reduction: str,
        ignore_index: int,
        chunk: int,
        acc_dtype: Any,
        allow_retain_graph: bool,
        grads: tuple[bool, bool, bool],
    ) -> Tensor:
        loss, gi, gw, gb = _chunked(
            input, linear_weight, target, linear_bias, weight, reduction, ignore_index, chunk, acc_dtype, grads
        )
        ctx.allow_retain_graph, ctx.grads = allow_retain_graph, [gi, gw, gb]
        return loss

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple:
        stored = ctx.grads
        if not ctx.allow_retain_graph:  # the buffers are consumed (PyTorch scales them in place)
            if stored is None:
                raise RuntimeError(
                    "linear_cross_entropy chunked backward called twice; retain_graph=True / "
                    "double backward are not supported."
                )
            ctx.grads = None
        gi, gw, gb = (None if g is None else g * grad_output for g in stored)
        return gi, gw, None, gb, None, None, None, None, None, None, None


class _ChunkedNone(Function):
    """reduction="none": per-sample losses; backward recomputes the gradients chunk by chunk."""

    _backward_name = "GeneratedBackwardFor_torch_nn__linear_cross_entropy_batch_chunked_no_reduction_defaultBackward"

    @staticmethod
    def forward(
        ctx: Any,
        input: Tensor,
        linear_weight: Tensor,
        target: Tensor,
        linear_bias: Tensor | None,
        weight: Tensor | None,
        ignore_index: int,
        chunk: int,
        acc_dtype: Any,
    ) -> Tensor:
        ctx.save_for_backward(input, linear_weight, target, linear_bias, weight)
        ctx.ignore_index, ctx.chunk, ctx.acc_dtype = ignore_index, chunk, acc_dtype
        return _chunked(
            input,
            linear_weight,
            target,
            linear_bias,
            weight,
            "none",
            ignore_index,
            chunk,
            acc_dtype,
            (False, False, False),
        )[0]

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple:
        input, linear_weight, target, linear_bias, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grads = (needs[0], needs[1], linear_bias is not None and needs[3])
        if not any(grads):
            return (None,) * 8
        _, gi, gw, gb = _chunked(
            input.detach(),
            linear_weight.detach(),
            target,
            None if linear_bias is None else linear_bias.detach(),
            None if weight is None else weight.detach(),
            "none",
            ctx.ignore_index,
            ctx.chunk,
            ctx.acc_dtype,
            grads,
            grad_output=grad_output,
        )
        return gi, gw, None, gb, None, None, None, None


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: LinearCrossEntropyOptions | None = None,
) -> Tensor:
    """Cross entropy of ``linear(input, linear_weight, linear_bias)`` against ``target``.

    ``linear_weight`` is ``(C, in_features)``, or ``(C, d_1, ..., d_K, in_features)`` for a
    K-dimensional loss over batched input; ``ignore_index=None`` means -100 (and must stay None for
    class-probability targets). ``options`` (a :class:`LinearCrossEntropyOptions`) computes it in
    batch chunks; configurations the chunked path lacks (K-dimensional weights, label smoothing,
    non-int64 targets) warn and use the reference path.
    """
    from ember.nn import functional as F

    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    num_batches = tuple(input.shape[:-1])
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively"
        )
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and not num_batches:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires"
            f" batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}"
        )
    logits_shape = (*num_batches, num_classes, *out_features)
    # cross_entropy reads a target shaped like the logits as class probabilities
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = ignore_index if ignore_index is not None else -100

    if options is not None:
        chunkable = (
            reduction in ("mean", "sum", "none")
            and label_smoothing == 0.0
            and target.dtype is _dt.int64
            and not out_features
        )
        if not chunkable:
            bias_shape = tuple(linear_bias.shape) if linear_bias is not None else None
            warnings.warn(
                "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). "
                f"Got reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}"
                f", out_features={out_features}, tracing=False, linear_bias.shape={bias_shape}.",
                stacklevel=2,
            )
        else:
            batched = input.dim() == 2
            if not batched:
                input, target = input.unsqueeze(0), target.unsqueeze(0)
            opts = _as_options(options)._adjust(input.shape[0], in_features, num_classes, input.dtype, input.device)
            if reduction == "none":
                result = _ChunkedNone.apply(
                    input,
                    linear_weight,
                    target,
                    linear_bias,
                    weight,
                    ignore_index,
                    opts.batch_chunk_size,
                    opts.acc_dtype,
                )
            else:
                on = STATE.enabled
                grads = (
                    on and input.requires_grad,
                    on and linear_weight.requires_grad,
                    on and linear_bias is not None and linear_bias.requires_grad,
                )
                result = _ChunkedScalar.apply(
                    input,
                    linear_weight,
                    target,
                    linear_bias,
                    weight,
                    reduction,
                    ignore_index,
                    opts.batch_chunk_size,
                    opts.acc_dtype,
                    opts.allow_retain_graph,
                    grads,
                )
            return result if batched else result.squeeze(0)

    if out_features:  # the K-dimensional loss: one flat projection, logits reshaped after it
        linear_weight = linear_weight.reshape((math.prod(out_features, start=num_classes), in_features))
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(math.prod(out_features, start=num_classes))
    logits = F.linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return F.cross_entropy(
        logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index, label_smoothing=label_smoothing
    )
