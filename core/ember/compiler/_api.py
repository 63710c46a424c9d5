"""The public entry points: ``ember.compile``, ``OptimizedModule``, ``disable`` and ``reset``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ember.compiler._compiled import _GLOBAL, LIVE, CompiledFunction, disabled_by_env
from ember.nn.modules.module import Module

#: PyTorch's backend names, and what each means here (``inductor`` fuses, ``aot_eager`` only replays)
BACKENDS = ("inductor", "aot_eager", "eager")
MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class OptimizedModule(Module):
    """What ``ember.compile(module)`` returns: calls go through the compiled module, every other
    attribute reaches the original (``_orig_mod``), as ``torch._dynamo.OptimizedModule``."""

    def __init__(self, mod: Module, compiled: CompiledFunction) -> None:
        super().__init__()
        self._orig_mod = mod
        self.__dict__["_compiled"] = compiled

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["_compiled"](*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)

    @property
    def stats(self) -> Any:
        return self.__dict__["_compiled"].stats


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False) -> Any:
    """Compile a function or a module (PyTorch 2's ``torch.compile``); usable as a decorator.

    ``backend``: ``"inductor"`` (replay with fused elementwise kernels), ``"aot_eager"`` (replay
    without fusion) or ``"eager"`` (no compilation). ``fullgraph=True`` raises
    :class:`~ember.compiler.GraphBreak` where the default runs that call eagerly. ``dynamic`` and
    ``mode`` are accepted for compatibility: a new input shape is always a new capture.
    ``options={"cache_size_limit": n}`` bounds the captures kept per function (8).
    The environment variable ``EMBER_COMPILE_DISABLE=1`` turns every compilation off.

    Example:
        >>> import ember
        >>> model = ember.compile(ember.nn.Linear(3, 2))
        >>> x = ember.ones(4, 3)
        >>> [tuple(model(x).shape) for _ in range(3)]
        [(4, 2), (4, 2), (4, 2)]
    """
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if not isinstance(backend, str):
        raise TypeError(f"ember.compile: backend must be one of {BACKENDS}, got {type(backend).__name__} "
                        "(ember captures kernels, not FX graphs, so a callable backend cannot be given one)")
    if backend not in BACKENDS:
        raise RuntimeError(f"Invalid backend: {backend!r}, see ember.compiler.BACKENDS for available backends: "
                           f"{', '.join(BACKENDS)}")
    if mode not in MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(m for m in MODES if m)}")
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if not callable(model):
        raise RuntimeError(f"ember.compile expects a callable or a Module, got {type(model).__name__}")
    options = dict(options or {})
    limit = int(options.pop("cache_size_limit", 8))
    fuse = bool(options.pop("fuse", True))
    if options:
        raise RuntimeError(f"Unexpected optimization option {sorted(options)[0]}, known options: "
                           "cache_size_limit, fuse")
    if disable or disabled_by_env():
        backend = "eager"
    compiled = CompiledFunction(model, fullgraph=fullgraph, backend=backend, cache_size_limit=limit, fuse=fuse)
    if isinstance(model, Module):
        return OptimizedModule(model, compiled)
    functools.update_wrapper(compiled, model, updated=())
    return compiled


def reset() -> None:
    """Forget every capture of every compiled function (``torch.compiler.reset``)."""
    for c in list(LIVE):
        c.reset()


def disable(fn: Callable | None = None, recursive: bool = True) -> Any:
    """Mark ``fn`` as not compilable: a compiled function that calls it runs eagerly for that call
    (a graph break, counted in its stats), as ``torch.compiler.disable``."""
    if fn is None:
        return functools.partial(disable, recursive=recursive)

    @functools.wraps(fn)
    def eager_only(*args: Any, **kwargs: Any) -> Any:
        rec = _GLOBAL.recorder
        if rec is not None and rec.active() and not rec.rec.breaks:
            rec.rec.breaks.append(f"{getattr(fn, '__qualname__', fn)!s} is marked ember.compiler.disable")
        return fn(*args, **kwargs)

    return eager_only
