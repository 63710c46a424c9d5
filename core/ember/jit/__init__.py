"""``ember.jit``: ``trace`` and ``script`` for tutorial code written for ``torch.jit``.

Both return an :func:`ember.compile`'d callable: ember captures the kernels a call dispatches, so a
"script" is traced too, and data-dependent control flow runs eagerly (counted as a graph break)
instead of being frozen into the trace, which is safer than ``torch.jit.trace``'s silent freezing.

Example:
    >>> import ember
    >>> double = ember.jit.trace(lambda x: x * 2, (ember.ones(2),))
    >>> double(ember.ones(2)).tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["trace", "script", "ignore", "unused"]


def trace(func: Callable, example_inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Compile ``func``; when ``example_inputs`` are given, run it on them once (the first capture)."""
    from ember.compiler import compile

    compiled = compile(func)
    if example_inputs is not None:
        inputs = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
        compiled(*inputs)
    return compiled


def script(obj: Callable, *args: Any, **kwargs: Any) -> Any:
    """Compile ``obj`` (a function or a module): captured on its first calls, as :func:`trace`."""
    from ember.compiler import compile

    return compile(obj)


def ignore(fn: Callable | None = None, **kwargs: Any) -> Any:
    """Leave ``fn`` out of compilation (it runs eagerly; a compiled caller runs eagerly for that call)."""
    from ember.compiler import disable

    return disable(fn)


def unused(fn: Callable) -> Callable:
    return fn
