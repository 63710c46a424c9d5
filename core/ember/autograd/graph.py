"""``ember.autograd.graph``: hooks on the tensors autograd saves for backward (PyTorch's
``torch.autograd.graph``): ``saved_tensors_hooks``, ``save_on_cpu`` and
``disable_saved_tensors_hooks``; ``Node`` is the class of every ``grad_fn``.

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

from collections.abc import Callable
from typing import Any

from ember.autograd.function import SAVED_TENSORS_HOOKS, Node

__all__ = ["Node", "disable_saved_tensors_hooks", "save_on_cpu", "saved_tensors_hooks"]

_DISABLED: list[str] = []  # error messages of the active disable_saved_tensors_hooks blocks


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within the block, each tensor an op saves for backward is stored as ``pack_hook(tensor)``
    and read back as ``unpack_hook(packed)``. Nested blocks: the innermost pair applies."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _DISABLED:
            raise RuntimeError(_DISABLED[-1])
        SAVED_TENSORS_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

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
