"""``jit.script``, ``jit.trace``, ``trace_module`` and the classes they return.

PyTorch compiles a module's code into TorchScript; ember keeps running the Python and compiles the
kernels it dispatches instead (:func:`ember.compile`). So a scripted or traced callable is the
Python one, run through a compiled call with the jit mode set (``is_scripting()`` or
``is_tracing()`` True inside, so the branch PyTorch compiled is the branch that runs), and data-
dependent control flow stays live where ``torch.jit.trace`` would freeze the example's path.

``script(module)`` returns a copy of the module tree that shares the parameters and buffers, as
PyTorch's ``RecursiveScriptModule`` does: every module of the copy is an instance of a class made
from its own class and :class:`RecursiveScriptModule` (or :class:`TracedModule`), so its methods,
``state_dict`` names and attributes are the original's, ``train``/``eval`` on the copy leave the
original alone, and ``isinstance(m, ember.jit.ScriptModule)`` holds.

Example:
    >>> import ember, warnings
    >>> warnings.simplefilter("ignore", DeprecationWarning)
    >>> lin = ember.nn.Linear(3, 2)
    >>> s = ember.jit.script(lin)
    >>> isinstance(s, ember.jit.ScriptModule), s.weight is lin.weight, list(s.state_dict())
    (True, True, ['weight', 'bias'])
"""

from __future__ import annotations

import copy
import inspect
import sys
import textwrap
import typing
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ember.jit import _state
from ember.jit._markers import Attribute, FunctionModifiers
from ember.nn.modules.module import Module

__all__ = ["ScriptModule", "RecursiveScriptModule", "TracedModule", "TopLevelTracedModule", "ScriptFunction",
           "CompilationUnit", "script", "script_method", "trace", "trace_module", "freeze",
           "optimize_for_inference", "TracerWarning", "ScriptWarning", "TracingCheckError"]

_MODE = _state._MODE  # read and set inline on every call (a context manager costs a frame)


class TracerWarning(Warning):
    """PyTorch's category for trace-time warnings (``torch.jit.TracerWarning``), for code that filters it."""


class ScriptWarning(Warning):
    """PyTorch's category for scripting warnings (``torch.jit.ScriptWarning``)."""


class TracingCheckError(Exception):
    """PyTorch's error for a trace that differs when re-run (``torch.jit.TracingCheckError``)."""


for _cls in (TracerWarning, ScriptWarning, TracingCheckError):
    _cls.__module__ = "ember.jit"


def _compile(fn: Callable) -> Any:
    from ember.compiler import compile

    return compile(fn)


def _no_graph(self: Any) -> Any:
    raise AttributeError(f"'{type(self).__name__}' object has no attribute 'graph': ember runs the Python code of "
                         "a scripted or traced callable (compiled by ember.compile), not a TorchScript graph; "
                         "see .code for the source")


def _source_of(fn: Any) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as exc:
        raise AttributeError(f"the source of {getattr(fn, '__qualname__', fn)!r} is not available ({exc})") from exc


class ScriptModule(Module):
    """A scripted or traced module (``torch.jit.ScriptModule``); also the base class of the old
    API (``class M(torch.jit.ScriptModule)`` with ``@torch.jit.script_method``).

    A call runs the module's Python through :func:`ember.compile` with ``is_scripting()`` True
    (``is_tracing()`` for traced modules). ``torch.jit.Attribute(value, type)`` assigned to it
    stores ``value``, as PyTorch's does.

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> class Twice(ember.jit.ScriptModule):
        ...     @ember.jit.script_method
        ...     def forward(self, x):
        ...         return x * 2 if ember.jit.is_scripting() else x
        >>> Twice()(ember.ones(2)).tolist()
        [2.0, 2.0]
    """

    _jit_mode: str | None = _state.SCRIPT

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Attribute):
            value = value.value
        super().__setattr__(name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        compiled = d.get("_jit_call")
        if compiled is None:
            compiled = d["_jit_call"] = _compile(self._call_impl)
        old = _MODE.value
        _MODE.value = self._jit_mode
        try:
            return compiled(*args, **kwargs)
        finally:
            _MODE.value = old

    def __getstate__(self) -> dict:
        # the compiled call names this instance's bound method: a copy compiles its own
        state = super().__getstate__()
        state.pop("_jit_call", None)
        return state

    def __deepcopy__(self, memo: dict) -> ScriptModule:
        # copy.deepcopy works on a script module in PyTorch; pickle does not (see __reduce_ex__)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

    def __reduce_ex__(self, protocol: Any) -> Any:
        # PyTorch's error (a scripted module is saved with jit.save, not pickled); without it pickle
        # fails on the per-class copy's name instead
        raise RuntimeError(f"Tried to serialize object __torch__.{self.original_name} which does not have a "
                           "__getstate__ method defined!")

    @property
    def original_name(self) -> str:
        """The name of the class that was scripted (``Net`` for a scripted ``Net``)."""
        return getattr(type(self), "_orig_class", type(self)).__name__

    @property
    def code(self) -> str:
        """The Python source of ``forward`` (PyTorch shows the TorchScript it compiled from it)."""
        return _source_of(type(self).forward)

    graph = property(_no_graph)
    inlined_graph = property(_no_graph)

    def save(self, f: Any, _extra_files: dict | None = None) -> None:
        """Write this module with :func:`ember.jit.save`."""
        from ember.jit._serialization import save

        save(self, f, _extra_files=_extra_files)

    def save_to_buffer(self, _extra_files: dict | None = None) -> bytes:
        """The bytes :func:`ember.jit.save` writes for this module."""
        import io

        buf = io.BytesIO()
        self.save(buf, _extra_files=_extra_files)
        return buf.getvalue()


class RecursiveScriptModule(ScriptModule):
    """What ``jit.script(module)`` returns and what each of its submodules is (PyTorch's class of
    that name); its repr names the original class, as PyTorch's does."""

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"

    def _get_name(self) -> str:
        return "RecursiveScriptModule"


class TracedModule(ScriptModule):
    """What each submodule of a traced module is (``torch.jit.TracedModule``): calls run with
    ``is_tracing()`` True."""

    _jit_mode = _state.TRACE

    def extra_repr(self) -> str:
        return f"original_name={self.original_name}"

    def _get_name(self) -> str:
        return self.original_name


class TopLevelTracedModule(TracedModule):
    """What ``jit.trace(module, inputs)`` returns (``torch.jit.TopLevelTracedModule``)."""


#: What each jit class defines over the original class: found first even when the original
#: defines a method of that name (a user's own ``save``), as on PyTorch's separate classes.
_OVERRIDES = ("__call__", "__getstate__", "__deepcopy__", "__reduce_ex__", "__setattr__", "original_name", "code", "graph", "inlined_graph",
              "save", "save_to_buffer", "extra_repr", "_get_name", "_jit_mode")
_CLASSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _jit_class(orig: type, base: type) -> type:
    """The class of ``orig``'s scripted (``base``) copies: made once per pair."""
    per = _CLASSES.setdefault(orig, {})
    cls = per.get(base)
    if cls is None:
        ns: dict[str, Any] = {name: _lookup(base, name) for name in _OVERRIDES}
        ns.update({"__module__": base.__module__, "__qualname__": base.__qualname__, "_orig_class": orig,
                   "__doc__": orig.__doc__})
        cls = per[base] = type(base.__name__, (orig, base), ns)
    return cls


def _lookup(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(name)


class _Method:
    """A method of a scripted module run as ``forward`` is: compiled, in the module's jit mode
    (an ``@export``ed method, or a method traced by ``trace_module``)."""

    def __init__(self, bound: Callable, mode: str | None) -> None:
        self._compiled = _compile(bound)
        self._mode = mode
        self.__name__ = getattr(bound, "__name__", "method")
        self.__doc__ = getattr(bound, "__doc__", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        old = _MODE.value
        _MODE.value = self._mode
        try:
            return self._compiled(*args, **kwargs)
        finally:
            _MODE.value = old


def _exported_names(cls: type) -> list[str]:
    names: dict[str, None] = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            fn = getattr(value, "__func__", value)
            if getattr(fn, "_torchscript_modifier", None) is FunctionModifiers.EXPORT and name != "forward":
                names.setdefault(name)
    return list(names)


def _copy_tree(mod: Module, top: type, sub: type, memo: dict[int, Module]) -> Module:
    """A copy of ``mod`` whose modules are ``top``/``sub`` jit classes; parameters, buffers and
    other attribute values are shared, the dicts holding them are the copy's own."""
    if id(mod) in memo:
        return memo[id(mod)]
    if isinstance(mod, ScriptModule):
        return mod
    cls = _jit_class(type(mod), top)
    new = object.__new__(cls)
    state = {}
    for key, value in mod.__dict__.items():
        if key in ("_compiled_call_impl", "_jit_call"):
            continue
        if isinstance(value, Attribute):
            value = value.value
        elif type(value) in (dict, OrderedDict, set):
            value = copy.copy(value)
        state[key] = value
    new.__dict__.update(state)
    memo[id(mod)] = new
    for name, child in list(new._modules.items()):
        if child is not None:
            new._modules[name] = _copy_tree(child, sub, sub, memo)
    for name in _exported_names(type(mod)):
        new.__dict__[name] = _Method(getattr(new, name), cls._jit_mode)
    return new


class ScriptFunction:
    """A scripted or traced function (``torch.jit.ScriptFunction``): the Python function, run
    through :func:`ember.compile` with ``is_scripting()`` (or ``is_tracing()``) True.

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> f = ember.jit.script(lambda x: x + 1)
        >>> isinstance(f, ember.jit.ScriptFunction), f(ember.zeros(2)).tolist()
        (True, [1.0, 1.0])
    """

    def __init__(self, fn: Callable, mode: str | None = _state.SCRIPT) -> None:
        self._fn = fn
        self._mode = mode
        self._compiled = _compile(fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        old = _MODE.value
        _MODE.value = self._mode
        try:
            return self._compiled(*args, **kwargs)
        finally:
            _MODE.value = old

    @property
    def name(self) -> str:
        """The function's name."""
        return getattr(self._fn, "__name__", type(self._fn).__name__)

    @property
    def qualified_name(self) -> str:
        """``__torch__.<qualified name>``, as PyTorch spells it."""
        return "__torch__." + getattr(self._fn, "__qualname__", self.name)

    @property
    def code(self) -> str:
        """The function's Python source."""
        return _source_of(self._fn)

    graph = property(_no_graph)
    inlined_graph = property(_no_graph)

    def save(self, f: Any, _extra_files: dict | None = None) -> None:
        """Write this function with :func:`ember.jit.save` (a reference to it: see there)."""
        from ember.jit._serialization import save

        save(self, f, _extra_files=_extra_files)

    def save_to_buffer(self, _extra_files: dict | None = None) -> bytes:
        import io

        buf = io.BytesIO()
        self.save(buf, _extra_files=_extra_files)
        return buf.getvalue()

    def __repr__(self) -> str:
        return f"<ember.jit.ScriptFunction {self.name} at {id(self):#x}>"


for _cls in (ScriptModule, RecursiveScriptModule, TracedModule, TopLevelTracedModule, ScriptFunction):
    _cls.__module__ = "ember.jit"


# ---- script ---------------------------------------------------------------------------------------
def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """Script a module or a function (``torch.jit.script``).

    A module becomes a :class:`RecursiveScriptModule` copy sharing its parameters and buffers; a
    function becomes a :class:`ScriptFunction`. Both run their Python compiled by
    :func:`ember.compile`, with ``is_scripting()`` True. An ``@export``ed method runs so too; an
    ``@unused`` one raises :class:`ember.jit.Error` when the scripted code calls it. A class that is
    not a module (a TorchScript class), a list or a dict comes back as is; a ScriptModule or
    ScriptFunction too.

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> ember.jit.script(ember.nn.ReLU())
        RecursiveScriptModule(original_name=ReLU)
    """
    warnings.warn("`torch.jit.script` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                  DeprecationWarning, stacklevel=2)
    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if isinstance(obj, Module):
        return _copy_tree(obj, RecursiveScriptModule, RecursiveScriptModule, {})
    if inspect.isclass(obj):
        if issubclass(obj, Module):
            raise RuntimeError(f"Type '{obj}' cannot be compiled since it inherits from nn.Module, pass an "
                               "instance instead")
        if obj.__module__ == "builtins":
            raise TypeError(f"{obj} is a built-in class")
        return obj  # a TorchScript class: its instances are Python objects here
    if isinstance(obj, (list, dict)):
        return obj  # PyTorch's ScriptList/ScriptDict: a Python list/dict already is that
    if not callable(obj):
        raise TypeError(f"{type(obj)} is a built-in class" if type(obj).__module__ == "builtins" else
                        f"torch.jit.script expects a module, a function or a class, got {type(obj).__name__}")
    return ScriptFunction(obj, _state.SCRIPT)


def script_method(fn: Callable) -> Callable:
    """Mark ``forward`` (or another method) of a ``ScriptModule`` subclass (``torch.jit.script_method``):
    the method itself, since every call of a ScriptModule already runs scripted.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     script_method(len)([1, 2])
        2
    """
    warnings.warn("`torch.jit.script_method` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                  DeprecationWarning, stacklevel=2)
    return fn


# ---- trace ----------------------------------------------------------------------------------------
def _make_tuple(example_inputs: Any) -> tuple:
    from ember.tensor import Tensor

    if isinstance(example_inputs, (Tensor, dict)):
        return (example_inputs,)
    if not isinstance(example_inputs, tuple):
        return tuple(example_inputs)
    return example_inputs


def _check_traced_output(out: Any) -> None:
    """PyTorch's tracer records tensors only: anything else as an output is its error."""
    from ember.tensor import Tensor

    def ok(v: Any) -> bool:
        if isinstance(v, Tensor):
            return True
        if isinstance(v, (list, tuple)):
            return all(ok(x) for x in v)
        if isinstance(v, dict):
            return all(ok(x) for x in v.values())
        return False

    if not ok(out):
        raise RuntimeError("Only tensors, lists, tuples of tensors, or dictionary of tensors can be output from "
                           "traced functions")


def _run_example(fn: Callable, example_inputs: Any, as_kwargs: bool) -> None:
    out = fn(**example_inputs) if as_kwargs else fn(*_make_tuple(example_inputs))
    _check_traced_output(out)


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class: Any = None, _compilation_unit: Any = None,
          example_kwarg_inputs: dict | None = None, _store_inputs: bool = True) -> Any:
    """Trace a function or a module on example inputs (``torch.jit.trace``).

    A module becomes a :class:`TopLevelTracedModule` (as :func:`trace_module` with ``forward``), a
    function a :class:`ScriptFunction`; the example call runs once, with ``is_tracing()`` True, as
    every later call does. Unlike PyTorch's trace, control flow that depends on the data is not
    frozen into the example's path: each call runs the Python (compiled by ember.compile).

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> double = ember.jit.trace(lambda x: x * 2, (ember.ones(2),))
        >>> double(ember.ones(2)).tolist()
        [2.0, 2.0]
    """
    warnings.warn("`torch.jit.trace` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                  DeprecationWarning, stacklevel=2)
    if isinstance(func, ScriptModule):
        warnings.warn("The input to trace is already a ScriptModule, tracing it is a no-op. Returning the object as "
                      "is.", stacklevel=2)
        return func
    is_forward = getattr(func, "__name__", None) == "forward" and isinstance(getattr(func, "__self__", None), Module)
    if isinstance(func, Module) or is_forward:
        if example_inputs is None:
            if not isinstance(example_kwarg_inputs, dict):
                raise RuntimeError("example_kwarg_inputs should be a dict")
            example_inputs = example_kwarg_inputs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return trace_module(func.__self__ if is_forward else func, {"forward": example_inputs},
                                example_inputs_is_kwarg=isinstance(example_kwarg_inputs, dict))
    if isinstance(getattr(func, "__self__", None), Module):
        raise AttributeError("trace doesn't support compiling individual module's functions.\nPlease use trace_module")
    if isinstance(func, ScriptFunction):
        return func
    as_kwargs = isinstance(example_kwarg_inputs, dict)
    if example_inputs is None and not as_kwargs:
        raise RuntimeError("example_kwarg_inputs should be a dict")
    traced = ScriptFunction(func, _state.TRACE)
    _run_example(traced, example_kwarg_inputs if as_kwargs else example_inputs, as_kwargs)
    return traced


def trace_module(mod: Module, inputs: dict[str, Any], optimize: Any = None, check_trace: bool = True,
                 check_inputs: Any = None, check_tolerance: float = 1e-5, strict: bool = True,
                 _force_outplace: bool = False, _module_class: Any = None, _compilation_unit: Any = None,
                 example_inputs_is_kwarg: bool = False, _store_inputs: bool = True) -> TopLevelTracedModule:
    """Trace ``forward`` and other methods of ``mod``, each on its example inputs
    (``torch.jit.trace_module(mod, {"forward": x, "encode": y})``).

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> t = ember.jit.trace_module(ember.nn.Linear(2, 1), {"forward": ember.ones(1, 2)})
        >>> type(t).__name__
        'TopLevelTracedModule'
    """
    warnings.warn("`torch.jit.trace_method` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                  DeprecationWarning, stacklevel=2)
    if optimize is not None:
        warnings.warn("`optimize` is deprecated and has no effect. Use `with torch.jit.optimized_execution()` instead",
                      FutureWarning, stacklevel=2)
    if not isinstance(mod, Module):
        raise AttributeError("expected torch.nn.Module as the first argument")
    if not isinstance(inputs, dict):
        raise AttributeError("expected a dictionary of (method_name, input) pairs")
    traced = _copy_tree(mod, TopLevelTracedModule, TracedModule, {})
    if traced is mod:  # a ScriptModule already
        return traced
    for method_name, example in inputs.items():
        if method_name == "forward":
            fn: Callable = traced
            arg_names = list(inspect.signature(type(mod).forward).parameters)[1:]
        else:
            bound = getattr(traced, method_name)
            arg_names = list(inspect.signature(bound).parameters)
            fn = traced.__dict__[method_name] = _Method(bound, _state.TRACE)
        as_kwargs = isinstance(example, dict) and example_inputs_is_kwarg
        if as_kwargs:
            for key in example:
                if key not in arg_names:
                    raise NameError(f"'{key}' is not in forward() arguments, valid arguments name are "
                                    f"[{','.join(arg_names)}]")
        _run_example(fn, example, as_kwargs)
    return traced


# ---- freeze ---------------------------------------------------------------------------------------
class _FrozenModule(RecursiveScriptModule):
    """What ``freeze`` returns: a module with no parameters, buffers, submodules or attributes of
    its own (they are constants of its code, as in PyTorch), computing as the module frozen then;
    only ``preserved_attrs`` stay reachable."""

    def __init__(self, inner: ScriptModule, preserved: list[str]) -> None:
        super().__init__()
        d = self.__dict__
        d["training"] = False
        d["_frozen"] = inner
        d["_preserved"] = tuple(preserved)
        d["_frozen_name"] = inner.original_name

    @property
    def original_name(self) -> str:  # type: ignore[override]
        return self.__dict__["_frozen_name"]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.__dict__["_frozen"].forward(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if name in d.get("_preserved", ()):
            return getattr(d["_frozen"], name)
        raise AttributeError(f"'RecursiveScriptModule' object has no attribute '{name}'")

    @property
    def code(self) -> str:  # type: ignore[override]
        return self.__dict__["_frozen"].code


def freeze(mod: ScriptModule, preserved_attrs: list[str] | None = None,
           optimize_numerics: bool = True) -> ScriptModule:
    """Freeze a scripted module in eval mode (``torch.jit.freeze``): a new module whose weights are
    constants (copied now, not requiring grad), with no state dict and no attributes but
    ``preserved_attrs``.

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> frozen = ember.jit.freeze(ember.jit.script(ember.nn.Linear(2, 1)).eval())
        >>> list(frozen.state_dict()), frozen(ember.ones(1, 2)).requires_grad
        ([], False)
    """
    warnings.warn("`torch.jit.freeze` is deprecated. Please use `torch.compile` instead.", DeprecationWarning,
                  stacklevel=2)
    if not isinstance(mod, ScriptModule):
        raise RuntimeError("Freezing expects a ScriptModule as input. "
                           "Please use torch.jit.script or torch.jit.trace to script your 'nn.Module'.")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. "
                           "Please call .eval() on your module before freezing.")
    if isinstance(mod, _FrozenModule):
        inner = mod.__dict__["_frozen"]
    else:
        inner = copy.deepcopy(mod)
        for p in inner.parameters():
            p.requires_grad_(False)
    return _FrozenModule(inner, list(preserved_attrs or []))


def optimize_for_inference(mod: ScriptModule, other_methods: list[str] | None = None) -> ScriptModule:
    """Freeze ``mod`` for inference (``torch.jit.optimize_for_inference``): ``mod`` is put in eval
    mode and frozen, keeping ``other_methods``; ember's compiled replay is the optimization.

    Example:
        >>> import ember, warnings
        >>> warnings.simplefilter("ignore", DeprecationWarning)
        >>> m = ember.jit.optimize_for_inference(ember.jit.script(ember.nn.ReLU()))
        >>> m(ember.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    warnings.warn("`torch.jit.optimize_for_inference` is deprecated. Please use `torch.compile` instead.",
                  DeprecationWarning, stacklevel=2)
    if not isinstance(mod, ScriptModule):
        raise RuntimeError("optimize_for_inference expects a ScriptModule as input. "
                           "Please use torch.jit.script or torch.jit.trace to script your 'nn.Module'.")
    if isinstance(mod, _FrozenModule):
        return mod
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return freeze(mod.eval(), preserved_attrs=list(other_methods or []))


# ---- CompilationUnit ------------------------------------------------------------------------------
class CompilationUnit:
    """Functions defined from TorchScript source (``torch.jit.CompilationUnit``).

    TorchScript is a subset of Python, so ember runs the source as Python, with ``torch`` (ember),
    ``Tensor``, ``List``, ``Dict``, ``Optional``, ``Tuple``, ``Union``, ``Any`` and ``math``
    available besides the caller's globals, and each function defined becomes a
    :class:`ScriptFunction`. The source is the caller's own code, run as such (like ``exec``).

    Example:
        >>> import ember
        >>> cu = ember.jit.CompilationUnit("def add_one(x: Tensor) -> Tensor:\\n    return x + 1\\n")
        >>> cu.add_one(ember.zeros(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, lang: str | None = None, _frames_up: int = 0) -> None:
        self._functions: dict[str, ScriptFunction] = {}
        if lang is not None:
            self.define(lang, _frames_up=_frames_up + 1)

    def define(self, src: str, rcb: Any = None, _frames_up: int = 0) -> None:
        """Run ``src`` (function definitions) and keep each function it defines."""
        import math

        import ember

        if not isinstance(src, str):
            raise TypeError(f"define(): incompatible function arguments: expected a str of TorchScript source, got "
                            f"{type(src).__name__}")
        frame = sys._getframe(1 + _frames_up)
        namespace = dict(frame.f_globals)
        # ``torch`` and ``Tensor`` are TorchScript's builtins whatever the caller named so; the
        # typing names and ``math`` only where the caller has none of its own
        namespace.update({"torch": ember, "Tensor": ember.Tensor})
        defaults = {"List": typing.List, "Dict": typing.Dict, "Optional": typing.Optional,  # noqa: UP006
                    "Tuple": typing.Tuple, "Union": typing.Union, "Any": typing.Any, "math": math}  # noqa: UP006
        for key, value in defaults.items():
            namespace.setdefault(key, value)
        before = set(namespace)
        exec(compile(textwrap.dedent(src), "<torch.jit.CompilationUnit>", "exec"), namespace)  # noqa: S102 - the caller's own source
        for key, value in namespace.items():
            if (key not in before or key in self._functions) and inspect.isfunction(value):
                self._functions[key] = ScriptFunction(value, _state.SCRIPT)

    def find_function(self, name: str) -> ScriptFunction | None:
        """The function of that name, or None."""
        return self._functions.get(name)

    def get_functions(self) -> list[ScriptFunction]:
        """Every function defined so far."""
        return list(self._functions.values())

    def __getattr__(self, name: str) -> ScriptFunction:
        functions = self.__dict__.get("_functions", {})
        if name in functions:
            return functions[name]
        raise AttributeError(f"'CompilationUnit' has no attribute '{name}'")


CompilationUnit.__module__ = "ember.jit"
