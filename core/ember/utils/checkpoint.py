"""Activation checkpointing, as PyTorch's ``torch.utils.checkpoint``: keep a segment's inputs, drop
its intermediate activations, and run the segment's forward again during backward to get them
back. Gradients are the same as without checkpointing; with ``preserve_rng_state`` (the default)
the generator state is replayed, so dropout inside the segment draws the same mask again.

The two variants PyTorch has:

* ``use_reentrant=True`` (what ``None`` means, with PyTorch's warning): the forward runs without
  recording; backward reruns it and calls ``ember.autograd.backward`` on the rerun, accumulating
  straight into the ``.grad`` of the parameters the segment uses. Gradients flow only when an input
  tensor requires grad, and keyword arguments are refused, as in PyTorch.
* ``use_reentrant=False``: the forward is recorded once to find the tensors requiring grad that the
  segment reads (its parameters), then that graph and its activations are dropped; backward reruns
  the segment and differentiates it with ``ember.autograd.grad``, so parameters get gradients even
  when no input requires grad, and ``autograd.grad`` and double backward work through it. The peak
  memory is one segment's activations (PyTorch's saved-tensor hooks free them one by one).

Example:
    >>> import ember
    >>> from ember.utils.checkpoint import checkpoint
    >>> lin = ember.nn.Linear(3, 3)
    >>> x = ember.randn(2, 3, requires_grad=True)
    >>> checkpoint(lambda t: lin(t).relu(), x, use_reentrant=False).sum().backward()
    >>> x.grad.shape, lin.weight.grad.shape
    (ember.Size([2, 3]), ember.Size([3, 3]))
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

from ember import random as _random
from ember.autograd import engine as _engine
from ember.autograd.function import _FREED_MSG, AccumulateGrad, Function
from ember.autograd.grad_mode import enable_grad, is_grad_enabled
from ember.utils._pytree import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Recompute:
    """What backward needs to run the segment again: the function, the arguments with their tensor
    positions, and the generator state the forward started from."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, preserve: bool) -> None:
        from ember.tensor import Tensor

        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.rng_state = _random.get_rng_state() if preserve else None
        self.values: Any = None  # the non-reentrant forward's outputs, already computed
        self.flatten = False  # non-reentrant: outputs may be any pytree (dicts, nested tuples)

    def detached_inputs(self, tensors: tuple) -> list:
        """The arguments for the rerun: each tensor a fresh leaf, requiring grad as the original does."""
        args = list(self.args)
        for pos, t in zip(self.tensor_pos, tensors):
            leaf = t.detach()
            leaf.requires_grad_(t.requires_grad)
            args[pos] = leaf
        return args

    def aliased_inputs(self, tensors: tuple) -> list:
        """The arguments for a rerun that is itself differentiated: aliases on the inputs' graph."""
        args = list(self.args)
        for pos, t in zip(self.tensor_pos, tensors):
            args[pos] = t.view_as(t) if t.requires_grad else t
        return args

    def rerun(self, args: list) -> tuple:
        """The segment's outputs again, recorded, under the forward's generator state."""
        saved = None
        if self.rng_state is not None:
            saved = _random.get_rng_state()
            _random.set_rng_state(self.rng_state)
        try:
            with enable_grad():
                out = self.function(*args, **self.kwargs)
        finally:
            if saved is not None:
                _random.set_rng_state(saved)
        if self.flatten:
            return tuple(tree_flatten(out)[0])
        return out if isinstance(out, tuple) else (out,)


def _differentiable(outputs: tuple, grads: tuple) -> tuple[list, list]:
    from ember.tensor import Tensor

    pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad and g is not None]
    if not pairs:
        raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
    return [o for o, _ in pairs], [g for _, g in pairs]


def _check_not_freed(ctx: Any) -> None:
    """PyTorch frees a checkpoint's saved inputs after a backward without ``retain_graph``: a second
    backward through it raises (the engine marks a released node by ``_saved = None``)."""
    if ctx._saved is None:
        raise RuntimeError(_FREED_MSG)


def _check_reentrant_valid() -> None:
    """PyTorch's reentrant checkpoint refuses ``autograd.grad`` and ``backward(inputs=...)``: its
    inner backward would accumulate into ``.grad`` instead of returning the gradients asked for.
    The engine has no flag for that here, so the nearest engine run that called this backward is
    asked whether it captures gradients (what those two calls do)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code is not _engine._run.__code__:
        frame = frame.f_back
    if frame is not None and frame.f_locals.get("capture") is not None:
        raise RuntimeError("When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing "
                           "an `inputs` parameter to .backward(). To resolve this error, you can either set "
                           "use_reentrant=False, or call .backward() without passing the `inputs` argument.")


class _ReentrantCheckpoint(Function):
    @staticmethod
    def forward(ctx: Any, rec: _Recompute, *tensors: Any) -> Any:
        ctx.rec = rec
        ctx.tensors = tensors
        return rec.function(*rec.args, **rec.kwargs)

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        _check_not_freed(ctx)
        _check_reentrant_valid()
        rec = ctx.rec
        args = rec.detached_inputs(ctx.tensors)
        outs, gs = _differentiable(rec.rerun(args), grads)
        with enable_grad():
            _engine.backward(outs, gs)
        return (None, *(args[p].grad for p in rec.tensor_pos))


class _Checkpoint(Function):
    """Inputs: the segment's tensor arguments, then the tensors requiring grad it reads."""

    @staticmethod
    def forward(ctx: Any, rec: _Recompute, *tensors: Any) -> Any:
        ctx.rec = rec
        ctx.tensors = tensors
        values, rec.values = rec.values, None
        return values

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        _check_not_freed(ctx)
        rec = ctx.rec
        n_args = len(rec.tensor_pos)
        create_graph = is_grad_enabled()
        # For a double backward the rerun must stay on the inputs' graph (aliases of them); otherwise
        # fresh leaves keep the rerun's backward from walking into the graph before the segment.
        args = rec.aliased_inputs(ctx.tensors[:n_args]) if create_graph else rec.detached_inputs(ctx.tensors[:n_args])
        outs, gs = _differentiable(rec.rerun(args), grads)
        wrt = [args[p] for p in rec.tensor_pos] + list(ctx.tensors[n_args:])
        needs = ctx.needs_input_grad[1:]
        chosen = [i for i, t in enumerate(wrt) if needs[i] and t.requires_grad]
        found = _engine.grad(outs, [wrt[i] for i in chosen], gs, create_graph=create_graph, allow_unused=True) \
            if chosen else ()
        result: list = [None] * len(wrt)
        for i, g in zip(chosen, found):
            result[i] = g
        return (None, *result)


def _leaves_read(outputs: tuple, inputs: list) -> list:
    """The leaf tensors requiring grad that ``outputs`` were computed from, other than ``inputs``."""
    from ember.tensor import Tensor

    skip = {id(t) for t in inputs}
    found: dict[int, Any] = {}
    seen: set = set()
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    for o in outputs:
        if isinstance(o, Tensor) and o.requires_grad and o.grad_fn is None and id(o) not in skip:
            found[id(o)] = o
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in skip:
                found.setdefault(id(node.variable), node.variable)
            continue
        stack.extend(e[0] for e in node._edges if e[0] is not None and e[0] not in seen)
    return list(found.values())


def _checkpoint_non_reentrant(rec: _Recompute) -> Any:
    from ember.tensor import Tensor

    originals = [rec.args[p] for p in rec.tensor_pos]
    if not is_grad_enabled():
        return rec.function(*rec.args, **rec.kwargs)
    args = rec.detached_inputs(tuple(originals))
    outs, spec = tree_flatten(rec.function(*args, **rec.kwargs))
    leaves = _leaves_read(outs, [args[p] for p in rec.tensor_pos])
    rec.values = tuple(o.detach() if isinstance(o, Tensor) else o for o in outs)
    rec.flatten = True
    del outs  # the recorded graph and its activations go now; backward reruns the segment
    return tree_unflatten(list(_Checkpoint.apply(rec, *originals, *leaves)), spec)


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None, context_fn: Any = None,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True,
               **kwargs: Any) -> Any:
    """``torch.utils.checkpoint.checkpoint``: ``function(*args, **kwargs)`` without keeping its
    activations; backward runs it again. ``preserve_rng_state=True`` (a keyword, as in PyTorch)
    replays the generator so random ops (dropout) match. ``use_reentrant=None`` warns as PyTorch
    2.13 does and means True. ``context_fn``/``debug`` are accepted for ``use_reentrant=False``
    only, and have no effect; ``determinism_check`` and ``early_stop`` are accepted.

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
        >>> checkpoint(lambda t: (t * t).sum(), x, use_reentrant=True).backward()
        >>> x.grad
        tensor([2., 4.])
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch "
            "2.9, calling checkpoint without use_reentrant will raise an exception. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
            "Refer to docs for more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not None or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        rec = _Recompute(function, args, {}, preserve)
        if not any(args[p].requires_grad for p in rec.tensor_pos):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=2)
        return _ReentrantCheckpoint.apply(rec, *(args[p] for p in rec.tensor_pos))
    return _checkpoint_non_reentrant(_Recompute(function, args, kwargs, preserve))


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """``torch.utils.checkpoint.checkpoint_sequential``: run ``functions`` (a list of callables or an
    ``nn.Sequential``) in ``segments`` chunks, checkpointing every chunk but the last.

    Example:
        >>> import ember
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 4), ember.nn.ReLU(), ember.nn.Linear(4, 1))
        >>> checkpoint_sequential(model, 2, ember.randn(3, 4), use_reentrant=False).shape
        ember.Size([3, 1])
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed explicitly. "
            "In version 2.9 we will raise an exception if use_reentrant is not passed. use_reentrant=False is "
            "recommended, but if you need to preserve the current default behavior, you can pass use_reentrant=True. "
            "Refer to docs for more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    from ember.nn import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def run(start: int, end: int) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
