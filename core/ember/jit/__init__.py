"""``ember.jit``: PyTorch's ``torch.jit`` surface, for programs written for TorchScript.

ember does not compile TorchScript: ``script`` and ``trace`` return objects of PyTorch's classes
(:class:`ScriptModule`, :class:`ScriptFunction`...) that run the Python code through
:func:`ember.compile` (kernels captured, replayed and fused), with ``is_scripting()`` or
``is_tracing()`` True inside so the branch PyTorch would have compiled is the one that runs. Data-
dependent control flow stays live instead of being frozen by ``trace``. ``save``/``load`` write
ember's own checkpoint format and load it without running code from the file; a TorchScript
archive from PyTorch is refused with :class:`TorchScriptArchiveError`. See docs/compile.md.

Example:
    >>> import ember, warnings
    >>> warnings.simplefilter("ignore", DeprecationWarning)
    >>> double = ember.jit.trace(lambda x: x * 2, (ember.ones(2),))
    >>> double(ember.ones(2)).tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from ember.jit._future import Future, fork, wait
from ember.jit._isinstance import jit_isinstance as isinstance
from ember.jit._markers import (
    Attribute,
    Error,
    FunctionModifiers,
    annotate,
    export,
    ignore,
    interface,
    script_if_tracing,
    unused,
)
from ember.jit._markers import (
    _drop as _drop,
)
from ember.jit._script import (
    CompilationUnit,
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    ScriptWarning,
    TopLevelTracedModule,
    TracedModule,
    TracerWarning,
    TracingCheckError,
    freeze,
    optimize_for_inference,
    script,
    script_method,
    trace,
    trace_module,
)
from ember.jit._serialization import TorchScriptArchiveError, load, save
from ember.jit._state import is_scripting, is_tracing

__all__ = ["Attribute", "CompilationUnit", "Error", "Final", "Future", "ScriptFunction", "ScriptModule", "annotate",
           "enable_onednn_fusion", "export", "export_opnames", "fork", "freeze", "interface", "ignore", "isinstance",
           "is_scripting", "is_tracing", "load", "onednn_fusion_enabled", "optimize_for_inference", "save",
           "script", "script_if_tracing", "set_fusion_strategy", "strict_fusion", "trace", "trace_module",
           "unused", "wait", "RecursiveScriptModule", "TracedModule", "TopLevelTracedModule", "TracerWarning",
           "ScriptWarning", "TracingCheckError", "TorchScriptArchiveError", "FunctionModifiers", "script_method",
           "fuser", "optimized_execution"]

_script_if_tracing = script_if_tracing
_fork = fork
_wait = wait
_overload = _overload_method = lambda fn: fn  # noqa: E731 - PyTorch's overload stubs: the later def wins


def _unwrap_optional(x: Any) -> Any:
    """``x``, which must not be None (``torch.jit._unwrap_optional``)."""
    if x is None:
        raise AssertionError("Unwrapping null optional")
    return x


# ---- fusion settings: kept and reported as PyTorch does; ember.compile fuses by its own rules ----
_FUSION_STRATEGY: list[tuple[str, int]] = [("STATIC", 2), ("DYNAMIC", 10)]
_ONEDNN = [False]


def set_fusion_strategy(strategy: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Set the TorchScript fuser's specialization strategy and return the previous one
    (``torch.jit.set_fusion_strategy``). Validated and kept; ember.compile's fusion does not read it.

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> old = ember.jit.set_fusion_strategy([("DYNAMIC", 3)])
        >>> ember.jit.set_fusion_strategy(old)
        [('DYNAMIC', 3)]
    """
    warnings.warn("`torch.jit.set_fusion_strategy` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=2)
    if builtins.isinstance(strategy, (str, bytes)) or not builtins.isinstance(strategy, Sequence):
        raise TypeError("_jit_set_fusion_strategy(): incompatible function arguments. The following argument types "
                        "are supported:\n    1. (arg0: collections.abc.Sequence[tuple[str, typing.SupportsInt | "
                        f"typing.SupportsIndex]]) -> list[tuple[str, int]]\n\nInvoked with: {strategy!r}")
    new = []
    for item in strategy:
        if not (builtins.isinstance(item, tuple) and len(item) == 2 and builtins.isinstance(item[0], str)):
            raise TypeError(f"_jit_set_fusion_strategy(): incompatible function arguments: {item!r} is not a "
                            "(str, int) pair")
        kind, depth = item
        if kind not in ("STATIC", "DYNAMIC"):
            raise ValueError(f"FusionBehavior only supported 'STATIC' or 'DYNAMIC', got: {kind}")
        new.append((kind, int(depth)))
    old = list(_FUSION_STRATEGY)
    _FUSION_STRATEGY[:] = new
    return old


def enable_onednn_fusion(enabled: bool) -> None:
    """Turn oneDNN JIT fusion on or off (``torch.jit.enable_onednn_fusion``): a flag ember keeps
    and reports; its CPU kernels are not oneDNN's.

    Example:
        >>> import ember
        >>> ember.jit.enable_onednn_fusion(False); ember.jit.onednn_fusion_enabled()
        False
    """
    if not builtins.isinstance(enabled, bool):
        raise TypeError(f"_jit_set_llga_enabled(): incompatible function arguments: expected a bool, got {enabled!r}")
    _ONEDNN[0] = enabled


def onednn_fusion_enabled() -> bool:
    """Whether ``enable_onednn_fusion(True)`` was called (False by default, as in PyTorch)."""
    return _ONEDNN[0]


class strict_fusion:  # noqa: N801 - PyTorch's name
    """``torch.jit.strict_fusion``: a no-op context manager; warns outside scripted code, as PyTorch.

    Example:
        >>> import ember, warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     with ember.jit.strict_fusion():
        ...         pass
    """

    def __init__(self) -> None:
        if not is_scripting():
            warnings.warn("Only works in script mode", stacklevel=2)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        pass


@contextmanager
def optimized_execution(should_optimize: bool) -> Iterator[None]:
    """``torch.jit.optimized_execution``: accepted, no effect (ember.compile always optimizes)."""
    yield


@contextmanager
def fuser(name: str) -> Iterator[None]:
    """``torch.jit.fuser("fuser0"|"fuser1"|"fuser2"|"fuser3"|"none")``: validated, no effect
    (ember.compile's fusion is the backend's)."""
    if name not in ("fuser0", "fuser1", "fuser2", "fuser3", "none"):
        raise Exception(f"unrecognized fuser option (name: {name})")  # noqa: TRY002 - PyTorch raises Exception
    yield


def export_opnames(m: Any) -> list[str]:
    """``torch.jit.export_opnames``: PyTorch lists the operators of a module's TorchScript bytecode
    (for selective mobile builds); ember has no bytecode, so it raises NotImplementedError."""
    raise NotImplementedError("torch.jit.export_opnames lists the operators of TorchScript bytecode for mobile "
                              "builds; ember runs Python, not TorchScript, so it has no operator list to export")

