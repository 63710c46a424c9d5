"""Record every kernel call of one forward pass: the tracing half of ``ember.onnx.export``.

The kernel tables are plain dicts (``ember.dispatch``), so, as ``ember.profiler`` does, the entries
are wrapped in place for the duration of the trace and restored afterwards. Only the outermost
kernel call is recorded (a CPU fallback calls CPU kernels inside a device kernel), and every
argument and result is kept alive until the graph is built, so ``id()`` of an array names it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: kernels that only read layouts or move data to/from the host: not part of the computation
UNTRACED = frozenset({"to_host", "device_index", "is_contiguous", "strides", "storage_offset"})


@dataclass
class Call:
    """One kernel call: its name, arguments, result and the module that was running."""

    kernel: str
    args: tuple
    out: Any
    module: str
    kwargs: dict


class Tracer:
    """Wraps the kernel tables while active and appends a :class:`Call` per outermost kernel call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.modules: list[str] = [""]
        self._local = threading.local()
        self._thread = threading.get_ident()
        self._restore: Callable[[], None] | None = None

    def install(self) -> None:
        from ember import dispatch

        self._restore = dispatch.wrap_kernels(lambda tbl, name, fn: self._recording(name, fn), with_fallbacks=True)

    def uninstall(self) -> None:
        restore, self._restore = self._restore, None
        if restore is not None:
            restore()

    def _recording(self, name: str, fn: Callable) -> Callable:
        tracer, local = self, self._local

        @functools.wraps(fn)
        def kernel(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != tracer._thread or getattr(local, "depth", 0):
                return fn(*args, **kwargs)
            local.depth = 1
            try:
                out = fn(*args, **kwargs)
            finally:
                local.depth = 0
            if name not in UNTRACED:
                tracer.calls.append(Call(name, args, out, tracer.modules[-1], kwargs))
            return out

        return kernel


@contextlib.contextmanager
def tracing(model: Any) -> Iterator[Tracer]:
    """Trace the kernels run inside the block; module hooks keep the name of the running module."""
    tracer = Tracer()
    handles = []
    for name, mod in getattr(model, "named_modules", lambda: [])():
        label = f"{name} ({type(mod).__name__})" if name else type(mod).__name__
        handles.append(mod.register_forward_pre_hook(functools.partial(_enter, tracer, label)))
        handles.append(mod.register_forward_hook(functools.partial(_leave, tracer)))
    tracer.install()
    try:
        yield tracer
    finally:
        tracer.uninstall()
        for h in handles:
            h.remove()


def _enter(tracer: Tracer, label: str, module: Any, args: Any) -> None:
    tracer.modules.append(label)


def _leave(tracer: Tracer, module: Any, args: Any, out: Any) -> None:
    if len(tracer.modules) > 1:
        tracer.modules.pop()
