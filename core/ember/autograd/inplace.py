"""Autograd for in-place ops: checks before the write, history rewriting after it.

An in-place op computes its result out of place, writes it into the tensor's storage, then calls
``rebase_history`` so autograd sees the new value. When the tensor is a view, the write changed
its base too, so the base's history is rewritten as PyTorch's ``CopySlices`` does: the base is now
"the old base with this region replaced by the result", and the view is redone on that new base.
Every other view of the same base notices the base's new history the next time it is used
(``refresh_view``), so no view can keep feeding gradients through values that were overwritten.

Example:
    >>> import ember
    >>> x = ember.ones(3, requires_grad=True)
    >>> y = x * 1
    >>> y[1:].mul_(5)
    tensor([5., 5.], grad_fn=<AsStridedBackward0>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([1., 5., 5.])
"""

from __future__ import annotations

from typing import Any

from ember.autograd.function import RETAIN, Function, name_grad_fn
from ember.autograd.grad_mode import STATE, enable_grad, no_grad

__all__ = ["check_inplace", "needs_rebase", "rebase_history", "refresh_view",
           "snapshot_saved_inputs"]

_INFERENCE_MSG = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to "
                  "get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for "
                  "more details.")
_NO_GRAD_VIEW_ADVICE = (" with grad mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. "
                        "You can clarify your code by moving both the view and the inplace either both inside the "
                        "no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the "
                        "inplace to be tracked).")
NO_GRAD_VIEW_BASE_MSG = ("A view was created in no_grad mode and its base or another view of its base has been "
                         "modified inplace" + _NO_GRAD_VIEW_ADVICE)

_OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
                "location. Please clone() the tensor before performing the operation.")


def check_inplace(t: Any, overlap_ok: bool = False) -> None:
    """Raise PyTorch's errors for an in-place write into ``t`` that must not happen. ``overlap_ok``:
    the write puts one value everywhere (``fill_`` of a number, ``zero_``), which PyTorch allows into
    an expanded tensor whose elements alias one another."""
    if t._inference and not STATE.inference:
        raise RuntimeError(_INFERENCE_MSG)
    if STATE.enabled and t._no_grad_view and not STATE.inference:
        if t._no_grad_view != 2:
            raise RuntimeError("A view was created in no_grad mode and is being modified inplace" + _NO_GRAD_VIEW_ADVICE)
        op = t.grad_fn.name().removesuffix("0").removesuffix("Backward") if t.grad_fn is not None else "a view op"
        raise RuntimeError(f"Output {t._output_nr} of {op} is a view of a view which was created in no_grad mode and "
                           "is being modified inplace" + _NO_GRAD_VIEW_ADVICE)
    if STATE.enabled and not STATE.inference:
        if t._requires_grad and t.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        base = t._base
        if base is not None and t._view_fn is not None and base._requires_grad:
            if base.grad_fn is None:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
            if t._multi_view and t._requires_grad:
                raise RuntimeError(
                    f"Output {t._output_nr} of {t.grad_fn.name() if t.grad_fn is not None else 'a view op'} is a "
                    "view and is being modified inplace. This view is the output of a function that returns "
                    "multiple views. Such functions do not allow the output views to be modified inplace. You "
                    "should replace the inplace operation by an out-of-place one.")
    if not overlap_ok and t._base is not None and _has_internal_overlap(t):
        raise RuntimeError(_OVERLAP_MSG)


def needs_rebase(t: Any) -> bool:
    """Whether overwriting ``t`` in grad mode changes some history: ``t``'s own, or its base's.
    Never in inference mode, where ``enable_grad`` records nothing (PyTorch)."""
    if STATE.inference:
        return False
    if t._requires_grad:
        return True
    base = t._base
    return base is not None and t._view_fn is not None and base._requires_grad


def _has_internal_overlap(t: Any) -> bool:
    """Whether two elements of ``t`` share memory (an expanded view: a stride of 0 on an axis > 1)."""
    kt = t._kt
    if not kt.has("strides"):
        return False
    shape = t._data.shape
    return any(stride == 0 and n > 1 for stride, n in zip(kt["strides"](t._data), shape))


def refresh_view(t: Any) -> None:
    """Give a stale view the history of its base's current value (PyTorch regenerates it likewise)."""
    base = t._base
    if t._no_grad_view & 1:  # a leaf of its own, requiring grad while its base does (PyTorch)
        if not base._requires_grad:
            t._requires_grad = False
            t._view_src = base.grad_fn
        return
    if base._requires_grad:
        with enable_grad():
            fresh = t._view_fn(base)
            if fresh._dtype is base._dtype:  # PyTorch regenerates a strided view with as_strided
                name_grad_fn(fresh, "AsStridedBackward0", base)  # (and replays dtype views: view_as_real)
        _set_history(t, fresh.grad_fn, fresh._output_nr)
    t._view_src = base.grad_fn


def _set_history(t: Any, grad_fn: Any, output_nr: int) -> None:
    """``t`` now comes from ``grad_fn``; a ``retain_grad`` hook follows it there, as in PyTorch
    (``.grad`` is then the gradient of the new value, not of the overwritten one)."""
    old, old_nr = t.grad_fn, t._output_nr
    t.grad_fn, t._output_nr, t._requires_grad = grad_fn, output_nr, True
    keep = t.__dict__.get("_retain_hook") if t._retains_grad else None
    if keep is not None and old is not grad_fn:
        retained = (old._pre_hooks or {}).get(RETAIN) if old is not None else None
        if retained and retained.get(old_nr) is keep:
            del retained[old_nr]
        grad_fn._retain_hook(output_nr, keep)


def rebase_history(t: Any, result: Any) -> None:
    """``t``'s storage now holds ``result`` (written in place): make autograd see that.

    Call it in grad mode only, after the write and the version bump, when ``t`` or ``result``
    requires grad.
    """
    base = t._base
    if base is not None and t._view_fn is not None:
        new_base = CopySlices.apply(base, result, t._view_fn, tuple(t._data.shape))
        _set_history(base, new_base.grad_fn, 0)
        refresh_view(t)
        return
    if not result._requires_grad:  # overwritten by values that depend on nothing: zero gradient
        result = Overwritten.apply(t)
    elif result._data.shape != t._data.shape:  # broadcast into ``t`` (``copy_``): expand's backward sums back
        result = result.expand(tuple(t._data.shape))
    elif result.grad_fn is None:  # a leaf's values (``copy_(leaf)``): a node of its own, not the leaf's identity
        result = CopyFrom.apply(result)
    _set_history(t, result.grad_fn, result._output_nr)


def snapshot_saved_inputs(result: Any, t: Any, limit: int = 16) -> None:
    """Before ``result`` is written into ``t``: nodes of ``result``'s graph that saved ``t`` (or a
    view of it) for their backward get a copy of those values instead, as PyTorch saves
    ``original_self`` for an in-place op whose derivative needs it (``x.mul_(w)``'s gradient for
    ``w`` is ``x`` before the write). The walk stops at ``t``'s own history and after ``limit``
    nodes, but it is not limited to this op's nodes: an older node of another operand's history
    that saved ``t`` at its current version (``z = y * x; y.mul_(z)``) gets the copy too, and so
    does ``y.mul_(y)``'s ``other``, where PyTorch raises the version error at backward instead
    (the gradients ember computes are those of the values actually used). An entry whose version
    already differs keeps it, so backward still raises for values changed before this op."""
    stop = t.grad_fn
    version = t._version
    seen: set = set()
    todo = [result.grad_fn]
    snaps: dict = {}
    while todo and len(seen) < limit:
        node = todo.pop()
        if node is None or node is stop or id(node) in seen:
            continue
        seen.add(id(node))
        saved = getattr(node, "_saved", None)
        if saved:
            node._saved = tuple(_snapshot(item, version, snaps) for item in saved)
        todo.extend(edge[0] for edge in node._edges if edge[0] is not None)


def _snapshot(item: Any, version: list, snaps: dict) -> Any:
    if item is None:
        return None
    tensor, saved_version, is_output = item
    if is_output or tensor._version is not version or saved_version != version[0]:
        return item
    snap = snaps.get(id(tensor))
    if snap is None:
        snap = tensor._new(tensor._kt["clone"](tensor._data))
        snap.grad_fn, snap._output_nr, snap._requires_grad = tensor.grad_fn, tensor._output_nr, tensor._requires_grad
        snaps[id(tensor)] = snap
    return (snap, 0, False)


class CopySlices(Function):
    """The base after an in-place op on one of its views: the old base with the view's region
    replaced by ``result``. Gradient: the base's, with that region zeroed, to the old base; the
    region's (summed to ``result``'s shape) to ``result``."""

    _backward_name = "CopySlices"

    @staticmethod
    def forward(ctx, base, result, view_fn, view_shape):
        ctx.view_fn, ctx.base_shape = view_fn, tuple(base._data.shape)
        ctx.result_meta = (tuple(result.shape), result._dtype) if result._requires_grad else None
        return base._new(base._data)  # the data was written already; this only carries the node

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import unbroadcast

        g_base = g_result = None
        if ctx.needs_input_grad[0] and g._dtype.is_complex:
            # a view across dtypes (x.real: view_as_real then select) has no element-number region:
            # zero the region by writing through the same view of a copy of the gradient
            g_base = g.clone()
            with no_grad():
                ctx.view_fn(g_base).zero_()
        elif ctx.needs_input_grad[0]:
            g_base = g.reshape(-1).index_put((_region(ctx, g),), g.new_zeros(())).reshape(ctx.base_shape)
        if ctx.needs_input_grad[1]:
            shape, dtype = ctx.result_meta
            g_result = unbroadcast(ctx.view_fn(g), shape)
            if g_result._dtype is not dtype:
                g_result = g_result.to(dtype)
        return g_base, g_result, None, None


def _region(ctx: Any, like: Any) -> Any:
    """Flat indices, into the base, of the elements the view covers (found by redoing the view
    on the base's element numbers, so any chain of view ops works)."""
    from ember.functions.creation import arange

    n = 1
    for s in ctx.base_shape:
        n *= s
    with no_grad():
        numbers = arange(n, device=like.device).reshape(ctx.base_shape)
        return ctx.view_fn(numbers).reshape(-1)


class CopyFrom(Function):
    """``t.copy_(leaf)``: ``t`` now holds the leaf's values; the gradient passes through."""

    _backward_name = "CopyBackwards"

    @staticmethod
    def forward(ctx, src):
        return src._new(src._data)

    @staticmethod
    def backward(ctx, g):
        return g


class Overwritten(Function):
    """A tensor overwritten in place by values that do not depend on anything that requires grad
    (``fill_``, ``zero_``, ``copy_`` of a constant): its old value gets a zero gradient."""

    _backward_name = "FillBackward0"

    @staticmethod
    def forward(ctx, t):
        return t._new(t._data)

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import zeros_like

        return zeros_like(g)
