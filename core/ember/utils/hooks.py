"""``ember.utils.hooks`` (``torch.utils.hooks``): the handle every ``register_*_hook`` returns.

``RemovableHandle`` is the one handle class of ``nn.Module`` and optimizer hooks (ember's
``nn.modules.module`` imports it from here). ``BackwardHook`` is the helper that runs a module's
full backward hooks (:mod:`ember.nn.modules._backward_hook`).

Example:
    >>> from collections import OrderedDict
    >>> from ember.utils.hooks import RemovableHandle
    >>> hooks = OrderedDict()
    >>> h = RemovableHandle(hooks)
    >>> hooks[h.id] = print
    >>> with h:
    ...     len(hooks)
    1
    >>> len(hooks)
    0
"""

from __future__ import annotations

import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["RemovableHandle", "unserializable_hook", "warn_if_has_hooks", "BackwardHook"]  # noqa: F822 - __getattr__


def _ref(d: Any) -> Callable[[], Any]:
    """A weak reference to ``d`` as PyTorch keeps, so a handle does not keep a dead module's hook
    dicts alive. A plain ``dict`` cannot be weakly referenced (PyTorch's own dicts are all
    ``OrderedDict``s; a few of ember's bookkeeping dicts are plain), so that one is held strongly."""
    try:
        return weakref.ref(d)
    except TypeError:
        return lambda: d


class RemovableHandle:
    """A handle which removes a hook: ``remove()`` deletes key ``id`` from ``hooks_dict`` and from
    every dict of ``extra_dict`` (a dict or a list of dicts). Also a context manager that removes
    the hook on exit, and picklable (the dicts travel with it), as PyTorch's.

    Example:
        >>> import ember
        >>> lin = ember.nn.Linear(2, 2)
        >>> h = lin.register_forward_hook(lambda m, i, o: None)
        >>> isinstance(h, ember.utils.hooks.RemovableHandle), len(lin._forward_hooks)
        (True, 1)
        >>> h.remove(); len(lin._forward_hooks)
        0
    """

    id: int
    next_id: int = 0

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = _ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        self.extra_dict_ref: tuple = ()
        if isinstance(extra_dict, dict):
            self.extra_dict_ref = (_ref(extra_dict),)
        elif isinstance(extra_dict, list):
            self.extra_dict_ref = tuple(_ref(d) for d in extra_dict)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None and self.id in d:
                del d[self.id]

    def __getstate__(self) -> tuple:
        return (self.hooks_dict_ref(), self.id, tuple(ref() for ref in self.extra_dict_ref))

    def __setstate__(self, state: tuple) -> None:
        # a handle whose dict was gone when pickled comes back dead (removing it does nothing)
        self.hooks_dict_ref = _ref(OrderedDict()) if state[0] is None else _ref(state[0])
        self.id = state[1]
        # ids stay unique in this process: later handles take ids past every unpickled one
        RemovableHandle.next_id = max(RemovableHandle.next_id, self.id + 1)
        extra = state[2] if len(state) >= 3 else None
        self.extra_dict_ref = () if extra is None else tuple(_ref(d) for d in extra)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, type: Any, value: Any, tb: Any) -> None:  # noqa: A002 - PyTorch's names
        self.remove()


def unserializable_hook(f: Callable) -> Callable:
    """Mark ``f`` as a hook that is not saved with its tensor, which silences
    :func:`warn_if_has_hooks`.

    Example:
        >>> from ember.utils.hooks import unserializable_hook
        >>> @unserializable_hook
        ... def hook(grad):
        ...     return grad
        >>> hook.__torch_unserializable__
        True
    """
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor: Any) -> None:
    """Warn once per backward hook of ``tensor`` (its ``_backward_hooks`` dict) that is not marked
    :func:`unserializable_hook`: saving the tensor drops its hooks.

    Example:
        >>> from ember.utils.hooks import warn_if_has_hooks
        >>> class T:
        ...     _backward_hooks = None
        >>> warn_if_has_hooks(T())  # no hooks: nothing to say
    """
    hooks = getattr(tensor, "_backward_hooks", None)
    if not hooks:
        return
    for hook in hooks.values():
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook!r} on tensor will not be serialized.  If this is expected, you can "
                          "decorate the function with @torch.utils.hooks.unserializable_hook to suppress this "
                          "warning", stacklevel=2)


def __getattr__(name: str) -> Any:
    # BackwardHook lives with the module code that uses it; imported on first use because this
    # module is imported by ember.nn.modules.module itself, before autograd's Function is ready
    if name == "BackwardHook":
        from ember.nn.modules._backward_hook import BackwardHook

        return BackwardHook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
