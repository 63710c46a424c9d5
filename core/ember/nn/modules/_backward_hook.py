"""Module backward hooks as PyTorch runs them (``register_full_backward_hook``,
``register_full_backward_pre_hook``).

The module's tensor arguments and its output tensors each pass through one identity autograd node.
In backward the output node runs first: it receives every output's gradient at once (``grad_output``),
runs the pre-hooks (which may replace it) and lets the gradient flow into the module. The input node
runs last, with the gradients of the arguments (``grad_input``), and calls the full hooks with both;
a hook's returned tuple replaces ``grad_input``. So each hook runs once per backward through the
module, however many outputs it has. When no argument requires grad there is no input node, and the
full hooks run at the output node with ``grad_input`` all None (they may then only return None).

Example:
    >>> import ember
    >>> lin = ember.nn.Linear(2, 1)
    >>> seen = []
    >>> _ = lin.register_full_backward_hook(lambda m, gi, go: seen.append((len(gi), tuple(go[0].shape))))
    >>> lin(ember.ones(3, 2, requires_grad=True)).sum().backward()
    >>> seen
    [(1, (3, 1))]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ember.autograd.function import Function
from ember.autograd.grad_mode import STATE
from ember.tensor import Tensor

__all__ = ["BackwardHook"]


class _HookIdentity(Function):
    """The tensors unchanged; backward hands every incoming gradient to ``callback`` at once."""

    _backward_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, callback: Callable, materialize: bool, *tensors: Tensor) -> tuple:
        ctx.callback = callback
        out = tuple(t._new(t._data) for t in tensors)
        # as PyTorch's: an argument that takes no gradient stays out of the graph, and its entry
        # reaches the hooks as zeros; an unused output's reaches them as None (PyTorch's output
        # hooks are pre-hooks of the node, which see the gradients before they are materialised)
        ctx.mark_non_differentiable(*(o for o, t in zip(out, tensors) if not t.requires_grad))
        ctx.set_materialize_grads(materialize)
        return out

    @staticmethod
    def backward(ctx, *grads: Any) -> tuple:
        return (None, None, *ctx.callback(grads))


def _compile_break() -> None:
    """Under ``ember.compile`` capture, the call runs eagerly (a counted graph break): a replayed
    graph runs kernels only, and these hooks are Python that must run in every backward."""
    from ember.compiler._compiled import _GLOBAL

    rec = _GLOBAL.recorder
    if rec is not None and rec.active() and not rec.rec.breaks:
        rec.rec.breaks.append("a module has backward hooks (Python that runs during backward)")


def _as_hook_result(res: Any, old: tuple, what: str) -> tuple:
    """A hook's replacement for ``old``, checked as PyTorch checks it: any sequence of the same
    length (a bare tensor counts as the sequence of its rows), each gradient keeping its size and
    tensor type."""
    res = tuple(res)
    if len(res) != len(old):
        raise RuntimeError(f"Backward {what}, got {len(res)}, but expected {len(old)}")
    for new, was in zip(res, old):
        if isinstance(new, Tensor) and isinstance(was, Tensor):
            if tuple(new.shape) != tuple(was.shape):
                raise RuntimeError("hook 'hook' has changed the size of value")
            if new.dtype != was.dtype:
                raise RuntimeError(f"hook 'hook' has changed the type of value (was {was._type_name()} got "
                                   f"{new._type_name()})")
    return res


def _pack_with_none(indices: Sequence[int], values: Sequence, size: int) -> tuple:
    out: list = [None] * size
    for i, v in zip(indices, values):
        out[i] = v
    return tuple(out)


class BackwardHook:
    """One forward call's hooks: wraps its arguments and outputs, remembers what backward needs."""

    def __init__(self, module: Any, hooks: list, pre_hooks: list) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = self.n_outputs = 0
        self.input_index: list | None = None
        self.output_index: list | None = None
        self.watched: list = []

    @staticmethod
    def _wrap(callback: Callable, values: tuple, materialize: bool) -> tuple[tuple, list | None]:
        index = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        if not (STATE.enabled and any(values[i].requires_grad for i in index)):
            return values, None
        _compile_break()
        new = _HookIdentity.apply(callback, materialize, *(values[i] for i in index))
        new = new if isinstance(new, tuple) else (new,)
        out = list(values)
        for i, t in zip(index, new):
            out[i] = t
        return tuple(out), index

    def _run_hooks(self, grad_input: tuple) -> tuple:
        grad_output = self.grad_outputs if self.grad_outputs is not None else (None,) * self.n_outputs
        for hook in self.hooks:
            res = hook(self.module, grad_input, grad_output)
            if res is None:
                continue
            grad_input = _as_hook_result(res, grad_input, "hook returned an invalid number of grad_input")
        self.grad_outputs = None
        return grad_input

    def setup_input_hook(self, args: tuple) -> tuple:
        """The arguments, their tensors routed through the node that runs the full hooks."""
        self.n_inputs = len(args)
        if self.hooks:
            def on_grad_input(grads: tuple) -> tuple:
                index = self.input_index or []
                grad_input = self._run_hooks(_pack_with_none(index, grads, self.n_inputs))
                return tuple(grad_input[i] for i in index)

            args, self.input_index = self._wrap(on_grad_input, args, True)
        # the tensors PyTorch's hook node (made for pre-hooks alone too) would return, with their
        # versions: see check_inplace
        tensors = [a for a in args if isinstance(a, Tensor)]
        if STATE.enabled and any(t.requires_grad for t in tensors):
            self.watched = [(n, t, t._version[0]) for n, t in enumerate(tensors) if t.requires_grad]
        return args

    def check_inplace(self) -> None:
        """PyTorch's hook node returns its inputs as views, which autograd forbids modifying in place:
        a forward that writes into its (hooked) argument raises there. ember's node makes new
        tensors, so the write is caught here, after forward, by its version bump."""
        for n, t, version in self.watched:
            if t._version[0] != version:
                raise RuntimeError(
                    f"Output {n} of BackwardHookFunction is a view and is being modified inplace. This view was "
                    "created inside a custom Function (or because an input was returned as-is) and the autograd "
                    "logic to handle view+inplace would override the custom backward associated with the custom "
                    "Function, leading to incorrect gradients. This behavior is forbidden. You can fix this by "
                    "cloning the output of the custom Function.")

    def setup_output_hook(self, result: Any) -> Any:
        """The result, its tensors routed through the node that sees ``grad_output``."""
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        self.n_outputs = len(outs)

        def on_grad_output(grads: tuple) -> tuple:
            index = self.output_index or []
            self.grad_outputs = _pack_with_none(index, grads, self.n_outputs)
            for hook in self.pre_hooks:
                res = hook(self.module, self.grad_outputs)
                if res is None:
                    continue
                self.grad_outputs = _as_hook_result(res, self.grad_outputs,
                                                    "pre hook returned an invalid number of grad_output")
            grads_out = tuple(self.grad_outputs[i] for i in index)
            if self.hooks and self.input_index is None:  # no argument takes a gradient: the hooks run now
                res = self._run_hooks((None,) * self.n_inputs)
                if any(r is not None for r in res):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            return grads_out

        wrapped, self.output_index = self._wrap(on_grad_output, outs, False)
        return wrapped[0] if single else wrapped
