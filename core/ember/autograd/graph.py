"""``ember.autograd.graph``: hooks on the tensors autograd saves for backward (PyTorch's
``torch.autograd.graph``): ``saved_tensors_hooks``, ``save_on_cpu``,
``disable_saved_tensors_hooks`` and ``allow_mutation_on_saved_tensors``; ``Node`` is the class of
every ``grad_fn``, ``GradientEdge``/``get_gradient_edge`` name one of its inputs, and
``register_multi_grad_hook``/``increment_version`` are PyTorch's helpers of the same names.

Every op saves through its ``Function``'s ``ctx.save_for_backward``, so a pack hook sees each tensor
an op keeps (ember's ops may save other tensors, or in another order, than PyTorch's kernels). The
pack hook may return any object; the unpack hook is called with it each time backward (or
``ctx.saved_tensors``) reads the tensor.

Example:
    >>> import ember
    >>> x = ember.ones(3, requires_grad=True)
    >>> with ember.autograd.graph.saved_tensors_hooks(lambda t: t * 4, lambda t: t / 4):
    ...     y = x.pow(2)
    >>> y.sum().backward()
    >>> x.grad
    tensor([2., 2., 2.])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Sequence
from typing import Any

from ember.autograd.function import SAVED_TENSORS_HOOKS, GradientEdge, Node

__all__ = ["GradientEdge", "Node", "allow_mutation_on_saved_tensors", "disable_saved_tensors_hooks",
           "get_gradient_edge", "increment_version", "register_multi_grad_hook", "save_on_cpu",
           "saved_tensors_hooks"]

_DISABLED: list[str] = []  # error messages of the active disable_saved_tensors_hooks blocks


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within the block, each tensor an op saves for backward is stored as ``pack_hook(tensor)``
    and read back as ``unpack_hook(packed)``. Nested blocks: the innermost pair applies."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:  # (``with ... as h`` gives None, as in PyTorch)
        if _DISABLED:
            raise RuntimeError(_DISABLED[-1])
        SAVED_TENSORS_HOOKS.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *exc: Any) -> None:
        SAVED_TENSORS_HOOKS.pop()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Saved tensors are moved to the CPU when saved and back to their device when backward reads
    them (``pin_memory`` is accepted; host memory here is ordinary memory)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t: Any) -> tuple:
            return t.device, t.detach().cpu() if t.device.type != "cpu" else t.detach().clone()

        def unpack(packed: tuple) -> Any:
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within the block, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)``;
    so does entering this block while saved-tensor hooks are active."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> disable_saved_tensors_hooks:
        if SAVED_TENSORS_HOOKS:
            raise RuntimeError(self.error_message)
        _DISABLED.append(self.error_message)
        return self

    def __exit__(self, *exc: Any) -> None:
        _DISABLED.pop()


def get_gradient_edge(tensor: Any) -> GradientEdge:
    """The edge through which ``tensor``'s gradient enters the graph: its ``grad_fn`` and output
    number, or its ``AccumulateGrad`` for a leaf. ``autograd.grad``/``backward`` take it in place of
    ``tensor`` (the edge stays valid when ``tensor`` is later modified in place)."""
    from ember.autograd.engine import _edge_of

    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require gradients")
    return GradientEdge(*_edge_of(tensor))


def increment_version(tensor: Any) -> None:
    """Mark ``tensor`` (or each tensor of an iterable) as modified in place, so a backward that
    saved it raises the version error (for writes autograd did not see). Inference tensors have no
    version counter and are left alone."""
    from ember.tensor import Tensor

    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        if not t._inference:
            t._version[0] += 1


class _MultiHandle:
    """The handle ``register_multi_grad_hook`` returns: ``remove()`` removes every tensor's hook."""

    def __init__(self, handles: tuple) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __enter__(self) -> _MultiHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def register_multi_grad_hook(tensors: Sequence[Any], fn: Callable[..., None], *, mode: str = "all") -> _MultiHandle:
    """``mode="all"``: ``fn(grads)`` once per backward, after the gradient of every tensor that
    backward reaches was computed (None for the others). ``mode="any"``: ``fn(grad)`` with the
    first gradient computed, once per backward. PyTorch's function, on ember's tensor hooks."""
    from ember.autograd import engine

    supported_modes = ("all", "any")
    if mode not in supported_modes:
        raise ValueError(f"Expects mode to be one of {supported_modes} but got {mode}")
    tensors = tuple(tensors)
    state: dict = {}  # id of the running backward's task -> (calls so far, expected calls, buffer)

    def task() -> Any:
        if not engine.TASKS:
            raise AssertionError("expected this hook to be called inside a backward call")
        return engine.TASKS[-1]

    if mode == "all":
        nodes = [engine._edge_of(t)[0] if t.requires_grad else None for t in tensors]

        def inner(idx: int) -> Callable:
            def hook(grad: Any) -> None:
                key = id(task())
                entry = state.get(key)
                if entry is None:
                    expected = sum(1 for n in nodes if n is not None and engine.will_execute(n))
                    entry = state[key] = [0, expected, [None] * len(tensors)]
                entry[0] += 1
                entry[2][idx] = grad
                if entry[0] == entry[1]:
                    del state[key]
                    fn(entry[2])

            return hook

        return _MultiHandle(tuple(t.register_hook(inner(i)) for i, t in enumerate(tensors)))

    def first(grad: Any) -> None:
        current = task()
        if state.get("task") is current:  # (the task tuple itself: an id could be reused later)
            return
        state["task"] = current
        fn(grad)

    return _MultiHandle(tuple(t.register_hook(first) for t in tensors if t.requires_grad))


_MUTATION_CONTEXT: list = []  # the active allow_mutation_on_saved_tensors context (at most one)


class _AllowMutationOnSavedContext:
    """What ``allow_mutation_on_saved_tensors`` yields; closed when its block ends."""

    def __init__(self) -> None:
        self.closed = False


@contextlib.contextmanager
def allow_mutation_on_saved_tensors() -> Generator[_AllowMutationOnSavedContext, None, None]:
    """Within the block, a tensor saved for backward may be modified in place afterwards: backward
    uses the value it had when saved. (PyTorch clones lazily, at the first in-place write; ember
    saves a copy up front: the same gradients, more memory.) Backward must run inside the block."""
    if _MUTATION_CONTEXT:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    ctx = _AllowMutationOnSavedContext()

    def pack(t: Any) -> Any:
        return t.detach().clone()

    def unpack(t: Any) -> Any:
        if ctx.closed:
            raise AssertionError("Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
                                 "in which the graph was originally recorded.")
        return t

    _MUTATION_CONTEXT.append(ctx)
    try:
        with saved_tensors_hooks(pack, unpack):
            yield ctx
    finally:
        ctx.closed = True
        _MUTATION_CONTEXT.pop()
