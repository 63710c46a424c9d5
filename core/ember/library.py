"""``ember.library``: user-defined operators, as ``torch.library`` defines them.

``@custom_op("mylib::name", mutates_args=...)`` turns a function written with ember ops into an
operator: callable directly and as ``ember.ops.mylib.name`` (with ``.default``), with a schema
inferred from its type hints (``infer_schema``), kernels per device type (``register_kernel``), a
fake kernel for the meta device (``register_fake``) and a gradient formula (``register_autograd``).
As in PyTorch the operator is opaque to autograd: its kernels run without recording, so backward
through it needs ``register_autograd`` (without one, the backward raises PyTorch's error). The
older ``Library(ns, "DEF").define(schema)`` / ``.impl(name, fn, key)`` API reaches the same
operators. ``opcheck`` runs PyTorch's checks of a custom op on sample inputs.

Example:
    >>> import ember
    >>> from ember import Tensor
    >>> @ember.library.custom_op("demo::scaled_sin", mutates_args=())
    ... def scaled_sin(x: Tensor, scale: float = 1.0) -> Tensor:
    ...     return x.sin() * scale
    >>> def setup_context(ctx, inputs, output):
    ...     ctx.save_for_backward(inputs[0]); ctx.scale = inputs[1]
    >>> def backward(ctx, grad):
    ...     (x,) = ctx.saved_tensors
    ...     return grad * x.cos() * ctx.scale, None
    >>> scaled_sin.register_autograd(backward, setup_context=setup_context)
    >>> x = ember.zeros(2, requires_grad=True)
    >>> ember.ops.demo.scaled_sin(x, 3.0).sum().backward()
    >>> x.grad
    tensor([3., 3.])
    >>> scaled_sin._schema
    '(Tensor x, float scale=1.0) -> Tensor'
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any

from ember._ops.out import tensor_args
from ember.device import check_device_type

__all__ = ["CustomOpDef", "Library", "custom_op", "define", "impl", "infer_schema", "opcheck", "register_autograd",
           "register_fake", "register_kernel"]

#: every operator by qualified name ("mylib::foo"): what ``ember.ops.<ns>.<name>`` finds
OPERATORS: dict[str, CustomOpDef] = {}


# ---- schemas -----------------------------------------------------------------------------------------
def _type_name(tp: Any, where: str) -> str:
    """The schema spelling of one annotation (PyTorch's: int is SymInt, lists are T[], Optional is T?)."""
    from ember import device as _device
    from ember import dtype as _dtype
    from ember.tensor import Tensor

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union or (origin is not None and getattr(origin, "__name__", "") == "UnionType"):
        rest = [a for a in args if a is not type(None)]
        optional = "?" if len(rest) < len(args) else ""
        if set(rest) == {int, float, bool}:  # ember.types.Number (PyTorch's types.Number): a Scalar
            return "Scalar" + optional
        if len(rest) == 1 and optional:
            return _type_name(rest[0], where) + "?"
    if origin in (list, Sequence, typing.List) and len(args) == 1:  # noqa: UP006 - typing.List in user hints
        return _type_name(args[0], where) + "[]"
    simple = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool", str: "str", _dtype: "ScalarType",
              _device: "Device"}
    if tp in simple:
        return simple[tp]
    raise ValueError(f"infer_schema(func): {where} has unsupported type {tp}.")


def _default_text(value: Any, name: str, error: Callable[[str], Any]) -> str:
    """A default value as a schema writes it (PyTorch's ``infer_schema``): numbers, bools and None
    as Python prints them, strings and devices quoted, dtypes by their bare name (``float32``)."""
    from ember import device as _device
    from ember import dtype as _dtype

    if value is None or isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, (str, _device)):
        return f'"{value}"'
    if isinstance(value, _dtype):
        return str(value).rsplit(".", 1)[-1]
    return error(f"Parameter {name} has an unsupported default value type {type(value)}. Please file an issue on "
                 "GitHub so we can prioritize this.")


def infer_schema(prototype_function: Callable, /, *, mutates_args: Any, op_name: str | None = None) -> str:
    """The operator schema of ``prototype_function``'s type hints, e.g. ``(Tensor x, float s=1.0) -> Tensor``;
    arguments named in ``mutates_args`` are written ``Tensor(a0!)``."""
    sig = inspect.signature(prototype_function)

    def error(what: str) -> Any:
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    if type(mutates_args) is str and mutates_args != "unknown":
        raise ValueError("mutates_args must either be a sequence of the names of the arguments that are mutated or "
                         "the string 'unknown'. ")
    try:
        hints = typing.get_type_hints(prototype_function)
    except Exception:  # noqa: BLE001 - unresolvable names: fall back to the raw annotations
        hints = {k: p.annotation for k, p in sig.parameters.items()}
    names = list(sig.parameters)
    if mutates_args != "unknown":
        unknown = set(mutates_args) - set(names)
        if unknown:
            raise ValueError(f"infer_schema(func): {unknown} in mutates_args were not found in the custom op's "
                             "signature. mutates_args should contain the names of all args that the custom op "
                             f"mutates, or just the string 'unknown' if you don't know. Got func with signature {sig})")
    params = []
    for idx, (name, p) in enumerate(sig.parameters.items()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY):
            raise ValueError(f"infer_schema(func): We do not support positional-only args, varargs, or varkwargs. "
                             f"Got func with signature {sig})")
        if p.annotation is inspect.Parameter.empty:
            raise ValueError(f"infer_schema(func): Parameter {name} must have a type annotation. Got func with "
                             f"signature {sig})")
        text = _type_name(hints.get(name, p.annotation), f"Parameter {name}")
        # the alias set is numbered by the argument's position, as PyTorch writes it (a1 for the 2nd)
        if mutates_args == "unknown" or name in mutates_args:
            if text.startswith("Tensor"):
                text = f"Tensor(a{idx}!)" + text[len("Tensor"):]
            elif mutates_args != "unknown":
                error(f"Parameter {name} is in mutable_args but only Tensors or collections of Tensors can be "
                      "mutated")
        text = f"{text} {name}"
        if p.default is not inspect.Parameter.empty:
            text += f"={_default_text(p.default, name, error)}"
        if p.kind is p.KEYWORD_ONLY and not any(q.startswith("*") for q in params):
            params.append("*")
        params.append(text)
    ret = hints.get("return", sig.return_annotation)
    if ret is inspect.Signature.empty:
        raise ValueError(f"infer_schema(func): No return type annotation was provided. Please add one. Got func with signature {sig})")
    if ret is None or ret is type(None):
        out = "()"
    elif typing.get_origin(ret) is tuple:
        if Ellipsis in typing.get_args(ret):
            error(f"Return has unsupported type {ret}.")
        out = ", ".join(_type_name(a, "the return") for a in typing.get_args(ret))
        # a one-element tuple is written ((T)), as PyTorch does, to tell it from a plain T
        out = f"(({out}))" if len(typing.get_args(ret)) == 1 else f"({out})"
    else:
        out = _type_name(ret, "the return")
    return f"({', '.join(params)}) -> {out}"


def _split_qualname(qualname: str) -> tuple[str, str]:
    if not isinstance(qualname, str) or "::" not in qualname:
        raise ValueError(f"Expected there to be a namespace in {qualname}, i.e. The operator name should look "
                         "something like ns::foo")
    ns, name = qualname.split("::", 1)
    if "." in name:
        raise ValueError(f"The torch.custom_ops APIs do not handle overloads, i.e. operator names with '.' in "
                         f"them. Please name your operator something like {ns}::{name.replace('.', '_')}. "
                         f"Got: {qualname}")
    return ns, name


# ---- the operator ------------------------------------------------------------------------------------------
def _check_device_type(device_type: str | None) -> None:
    """An unknown device type raises PyTorch's RuntimeError when the kernel is registered (a typo
    such as "cuda:0" or "gpu" would otherwise leave a kernel that never runs)."""
    if device_type is not None:
        check_device_type(device_type, allow_index=False)


class CustomOpDef:
    """A custom operator made by :func:`custom_op` (call it like the function it wraps)."""

    def __init__(self, namespace: str, name: str, schema: str, fn: Callable | None,
                 device_types: str | Sequence[str] | None) -> None:
        self._namespace, self._name, self._schema = namespace, name, schema
        self._qualname = f"{namespace}::{name}"
        self._init_fn = fn
        self._kernels: dict[str | None, Callable] = {}
        if fn is not None:
            for dt in ([device_types] if isinstance(device_types, str) else device_types or [None]):
                self._kernels[dt] = fn
        self._fake: Callable | None = None
        self._backward: Callable | None = None
        self._setup_context: Callable | None = None
        self._composite: Callable | None = None  # Library.impl(..., "CompositeImplicitAutograd")
        self._autograd_kernel: Callable | None = None  # Library.impl(..., "Autograd")
        self._signature = inspect.signature(fn) if fn is not None else None
        self.__name__ = name
        self.__doc__ = getattr(fn, "__doc__", None)
        OPERATORS[self._qualname] = self

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"

    # -- registration
    def register_kernel(self, device_types: str | Sequence[str] | None, fn: Callable | None = None) -> Any:
        """Use ``fn`` for inputs on ``device_types`` ("cpu", "cuda", "opencl"...; None: every device)."""
        types = [device_types] if isinstance(device_types, str) or device_types is None else list(device_types)
        for dt in types:
            _check_device_type(dt)

        def register(f: Callable) -> Callable:
            for dt in types:
                self._kernels[dt] = f
            return f

        return register if fn is None else register(fn)

    def register_fake(self, fn: Callable, /) -> Callable:
        """The kernel for meta tensors: it only describes the outputs (shapes, dtypes)."""
        self._fake = fn
        return fn

    def register_autograd(self, backward: Callable, /, *, setup_context: Callable | None = None) -> None:
        """``backward(ctx, *grads)`` gives one gradient per input (None for non-Tensors);
        ``setup_context(ctx, inputs, output)`` saves what it needs, as in ``Function.setup_context``."""
        if not callable(backward):
            raise TypeError(f"Expected backward to be callable, got {type(backward).__name__}")
        self._backward, self._setup_context = backward, setup_context

    # -- calling
    def _kernel_for(self, tensors: list) -> Callable:
        device = tensors[0].device.type if tensors else "cpu"
        if device == "meta":
            if self._fake is None:
                raise RuntimeError(f"There was no fake impl registered for {self!r}. This is necessary for "
                                   "torch.compile/export/fx tracing to work. Please use "
                                   f"`{self._name}.register_fake` to add an fake impl.")
            return self._fake
        kernel = self._kernels.get(device) or self._kernels.get(None)
        if kernel is None:
            raise NotImplementedError(f"{self._qualname}: no kernel registered for device type {device!r} "
                                      f"(registered: {sorted(k for k in self._kernels if k)}); use "
                                      f"{self._name}.register_kernel({device!r})")
        return kernel

    def _run(self, kernel: Callable, args: tuple, kwargs: dict, inputs: list) -> Any:
        from ember.autograd.grad_mode import no_grad
        from ember.functions.torch_surface import _same_storage
        from ember.tensor import Tensor

        with no_grad():  # opaque to autograd, as PyTorch runs a custom op's kernel below it
            out = kernel(*args, **kwargs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for o in outs:
            if isinstance(o, Tensor) and any(_same_storage(o, i) for i in inputs):
                raise RuntimeError(
                    f"{self._name} (with implementation in {inspect.getmodule(kernel)}): The output of this custom "
                    "operator (1) must not also be an input to this custom operator and (2) may not alias any "
                    "inputs to this custom operator or other returns. The most common way to trigger this error "
                    "is if we have y = custom_op(x) and y and x are the same Tensor. Please instead return a "
                    "clone of the offending output tensor(s) (e.g. return x.clone()) or refactor the custom "
                    "operator to not return y.")
        return out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ember.autograd.grad_mode import is_grad_enabled

        _check_arguments(self, args, kwargs)
        inputs = tensor_args([*args, *kwargs.values()])
        if self._composite is not None and not self._kernels:
            return self._composite(*args, **kwargs)  # made of ember ops: autograd records through them
        needs_grad = is_grad_enabled() and any(t.requires_grad for t in inputs)
        if needs_grad and self._autograd_kernel is not None:
            return self._autograd_kernel(*args, **kwargs)
        kernel = self._kernel_for(inputs)
        if not needs_grad:
            return self._run(kernel, args, kwargs, inputs)
        return _apply_with_autograd(self, kernel, args, kwargs, inputs)


def _check_arguments(op: CustomOpDef, args: tuple, kwargs: dict) -> None:
    """Refuse a call the schema does not accept with PyTorch's RuntimeError (the dispatcher's
    wording for too many positional arguments), before any kernel runs."""
    if op._signature is None:
        return
    try:
        op._signature.bind(*args, **kwargs)
    except TypeError as e:
        params = op._signature.parameters.values()
        positional = sum(p.kind is not p.KEYWORD_ONLY for p in params)
        declaration = f"{op._qualname}{op._schema}"
        if len(args) > positional:
            raise RuntimeError(f"{op._qualname}() takes {positional} positional argument(s) but {len(args)} "
                               f"was/were given.  Declaration: {declaration}") from None
        raise RuntimeError(f"{op._qualname}(): {e}.  Declaration: {declaration}") from None


def _apply_with_autograd(op: CustomOpDef, kernel: Callable, args: tuple, kwargs: dict, inputs: list) -> Any:
    """Run ``op`` as one autograd node: its registered formula, or a node whose backward raises."""
    from ember.autograd.function import Function
    from ember.tensor import Tensor

    # The kernel gets the arguments as the caller gave them (PyTorch does not fill in defaults for
    # it); setup_context gets the positional inputs with the defaults filled in, and the keyword-only
    # ones as keyword_only_inputs; backward gives one gradient per positional input.
    kw_only: dict[str, Any] = {}
    has_kw_only = bool(kwargs)
    index = {}  # caller's keyword -> position among the positional inputs
    if op._signature is not None:
        bound = op._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        params = op._signature.parameters
        positional = [k for k, p in params.items() if p.kind is not p.KEYWORD_ONLY]
        all_inputs = tuple(bound.arguments[k] for k in positional)
        kw_only = {k: v for k, v in bound.arguments.items() if params[k].kind is params[k].KEYWORD_ONLY}
        has_kw_only = len(positional) < len(params)
        index = {k: i for i, k in enumerate(positional)}
    else:
        all_inputs = args
    given = [*args, *kwargs.values()]
    names = [None] * len(args) + list(kwargs)
    # every tensor the caller passed, a Tensor[] argument's elements included (PyTorch's
    # supports_tensorlist): (argument, element or None)
    slots = [(i, None) for i, a in enumerate(given) if isinstance(a, Tensor)]
    slots += [(i, j) for i, a in enumerate(given) if isinstance(a, (list, tuple))
              for j, t in enumerate(a) if isinstance(t, Tensor)]
    # where each tensor slot sits among the positional inputs (None: a keyword-only tensor)
    where = [i if i < len(args) else index.get(names[i]) for i, _ in slots]

    def substitute(vals: list, tensors: tuple) -> list:
        vals = [list(v) if isinstance(v, (list, tuple)) else v for v in vals]
        for (i, j), t in zip(slots, tensors):
            if j is None:
                vals[i] = t
            else:
                vals[i][j] = t
        return vals

    class _CustomOp(Function):
        @staticmethod
        def forward(ctx: Any, *tensors: Any) -> Any:
            vals = substitute(list(given), tensors)
            call_kwargs = dict(zip(kwargs, vals[len(args):]))
            out = op._run(kernel, tuple(vals[:len(args)]), call_kwargs, list(tensors))
            if op._setup_context is not None:
                inputs = list(all_inputs)
                for pos, (i, _) in zip(where, slots):
                    if pos is not None:
                        inputs[pos] = vals[i]
                if has_kw_only:
                    kw = {k: call_kwargs.get(k, v) for k, v in (kw_only or call_kwargs).items()}
                    op._setup_context(ctx=ctx, inputs=tuple(inputs), keyword_only_inputs=kw, output=out)
                else:
                    op._setup_context(ctx=ctx, inputs=tuple(inputs), output=out)
            return out

        @staticmethod
        def backward(ctx: Any, *grads: Any) -> Any:
            if op._backward is None:
                raise RuntimeError(f"Trying to backward through {op._namespace}.{op._name}.default but no autograd "
                                   "formula was registered. Please use register_autograd to add one.")
            got = op._backward(ctx, *grads)
            got = got if isinstance(got, tuple) else (got,)
            if len(got) != len(all_inputs):
                raise RuntimeError(f"{op._qualname}: backward returned {len(got)} gradients but the operator has "
                                   f"{len(all_inputs)} inputs (return None for the inputs that are not Tensors)")
            out = []
            for pos, (_, j) in zip(where, slots):
                g = None if pos is None else got[pos]
                out.append(g if j is None or g is None else g[j])
            return tuple(out)

    _CustomOp.__name__ = f"GeneratedBackwardFor_{op._namespace}_{op._name}_default"
    return _CustomOp.apply(*(given[i] if j is None else given[i][j] for i, j in slots))


def custom_op(name: str, fn: Callable | None = None, /, *, mutates_args: Any,
              device_types: str | Sequence[str] | None = None, schema: str | None = None,
              tags: Any = None) -> Any:
    """Make ``fn`` the operator ``name`` ("namespace::op"); usable as a decorator. ``mutates_args``
    names the arguments the function writes to (``()`` for none, or "unknown")."""
    def make(f: Callable) -> CustomOpDef:
        ns, opname = _split_qualname(name)
        text = schema if schema is not None else infer_schema(f, mutates_args=mutates_args, op_name=name)
        if "*" in text:
            kw_only = text[text.index("*"):text.rindex(") ->")]
            if any(part.strip().startswith("Tensor") for part in kw_only.split(",")[1:]):
                raise NotImplementedError("custom_op with kwarg-only Tensor args. Please make your tensors not "
                                          f"kwarg-only. Got: {opname}{text}")
        return CustomOpDef(ns, opname, text, f, device_types)

    return make if fn is None else make(fn)


def _op(op: str | CustomOpDef) -> CustomOpDef:
    if isinstance(op, CustomOpDef):
        return op
    if op in OPERATORS:
        return OPERATORS[op]
    raise ValueError(f"register: there is no custom operator {op!r} (define it with ember.library.custom_op "
                     "or Library.define first)")


def register_kernel(op: str | CustomOpDef, device_types: str | Sequence[str] | None, func: Callable | None = None,
                    /, *, lib: Any = None) -> Any:
    """``op.register_kernel(device_types, func)`` for an operator given by name or object."""
    return _op(op).register_kernel(device_types, func)


def register_fake(op: str | CustomOpDef, func: Callable | None = None, /, *, lib: Any = None,
                  _stacklevel: int = 1, allow_override: bool = False) -> Any:
    """``op.register_fake(func)`` (a decorator when ``func`` is omitted)."""
    def register(f: Callable) -> Callable:
        return _op(op).register_fake(f)

    return register if func is None else register(func)


def register_autograd(op: str | CustomOpDef, backward: Callable, /, *, setup_context: Callable | None = None,
                      lib: Any = None) -> None:
    """``op.register_autograd(backward, setup_context=...)``."""
    _op(op).register_autograd(backward, setup_context=setup_context)


# ---- the older Library API ------------------------------------------------------------------------------
def _split_top_level(body: str) -> list[str]:
    """``body`` split at the commas outside brackets and quotes (``int[] d=[0, 1]`` is one part)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(body):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return [p.strip() for p in parts if p.strip()]


def _schema_default(text: str) -> Any:
    """A schema default as a Python value: numbers, bools, None, lists, strings, dtypes by name."""
    import ast

    import ember

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        found = getattr(ember, text, None)
        return found if isinstance(found, ember.dtype) else text.strip('"')
    return list(value) if isinstance(value, tuple) else value


def _schema_signature(schema: str) -> inspect.Signature:
    """A Python signature for a schema's arguments (names and defaults), to bind calls."""
    body = schema[schema.index("(") + 1:schema.rindex(") ->")] if ") ->" in schema else ""
    params, kw_only = [], False
    for part in _split_top_level(body):
        if part == "*":
            kw_only = True
            continue
        decl, _, default = part.partition("=")
        pname = decl.split()[-1]
        kind = inspect.Parameter.KEYWORD_ONLY if kw_only else inspect.Parameter.POSITIONAL_OR_KEYWORD
        dflt = _schema_default(default.strip()) if default.strip() else inspect.Parameter.empty
        params.append(inspect.Parameter(pname, kind, default=dflt))
    return inspect.Signature(params)


_KEY_TO_DEVICE = {"CPU": "cpu", "CUDA": "cuda", "Meta": "meta", "PrivateUse1": "privateuse1", "": None,
                  "CompositeImplicitAutograd": None, "CompositeExplicitAutograd": None}


class Library:
    """``Library("mylib", "DEF")``: ``define("foo(Tensor x) -> Tensor")`` then ``impl("foo", fn, "CPU")``."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = "") -> None:
        if kind not in ("IMPL", "DEF", "FRAGMENT"):
            raise ValueError(f"Unsupported kind: {kind}")
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"

    def define(self, schema: str, alias_analysis: str = "", *, tags: Any = ()) -> str:
        """Declare an operator from its schema ``name(args) -> returns``; returns its name."""
        if self.kind == "IMPL":
            raise ValueError("define is not supported for a Library of kind IMPL")
        name, rest = schema.split("(", 1)
        op = CustomOpDef(self.ns, name.strip(), "(" + rest, None, None)
        op._signature = _schema_signature("(" + rest)
        return name.strip()

    def impl(self, op_name: str | Callable, fn: Callable, dispatch_key: str = "", *,
             with_keyset: bool = False, allow_override: bool = False) -> None:
        """Register ``fn`` as ``op_name``'s kernel for ``dispatch_key`` ("CPU", "CUDA", "Meta",
        "CompositeImplicitAutograd" or "" for every device; "Autograd" for a kernel that records its own
        gradient)."""
        name = op_name if isinstance(op_name, str) else getattr(op_name, "__name__", str(op_name))
        op = _op(name if "::" in name else f"{self.ns}::{name}")
        key = dispatch_key or self.dispatch_key
        if key in ("Autograd", "AutogradCPU", "AutogradCUDA"):
            op._autograd_kernel = fn
            return
        if key not in _KEY_TO_DEVICE:
            raise ValueError(f"impl: unsupported dispatch key {key!r} (ember maps CPU, CUDA, Meta, PrivateUse1, "
                             "CompositeImplicitAutograd and CompositeExplicitAutograd)")
        if key == "Meta":
            op._fake = fn
        elif key == "CompositeImplicitAutograd":
            op._composite = fn  # ember ops inside: autograd flows through them (PyTorch's meaning of the key)
        else:
            op._kernels[_KEY_TO_DEVICE[key]] = fn


def define(qualname: str, schema: str, *, lib: Any = None, tags: Any = ()) -> None:
    """``torch.library.define("mylib::foo", "(Tensor x) -> Tensor")``."""
    ns, name = _split_qualname(qualname)
    Library(ns, "FRAGMENT").define(name + schema)


def impl(qualname: str, types: str | Sequence[str], func: Callable | None = None, *, lib: Any = None) -> Any:
    """``torch.library.impl("mylib::foo", "cpu")`` as a decorator (or with ``func``)."""
    def register(f: Callable) -> Callable:
        _op(qualname).register_kernel([types] if isinstance(types, str) else list(types), f)
        return f

    return register if func is None else register(func)


# ---- opcheck ---------------------------------------------------------------------------------------------
def opcheck(op: Any, args: tuple, kwargs: dict | None = None, *, test_utils: Any = None,
            raise_exception: bool = True, rtol: float | None = None, atol: float | None = None) -> dict[str, str]:
    """PyTorch's checks of a custom operator on one sample: the mutations it makes are the ones
    ``mutates_args`` declares (``test_schema``), inputs that require grad have a gradient formula
    (``test_autograd_registration``), the fake kernel agrees with the real one on shapes and dtypes
    (``test_faketensor``). Returns {test: "SUCCESS" or the error}."""
    from ember.tensor import Tensor

    custom = op if isinstance(op, CustomOpDef) else getattr(op, "_op", None)
    if not isinstance(custom, CustomOpDef):
        raise ValueError(f"opcheck(op, ...): op must be a custom operator, got {type(op)}")
    kwargs = kwargs or {}
    tests = test_utils or ("test_schema", "test_autograd_registration", "test_faketensor")
    tests = [tests] if isinstance(tests, str) else list(tests)
    results: dict[str, str] = {}

    def copy(v: Any) -> Any:
        return v.detach().clone() if isinstance(v, Tensor) else v

    for test in tests:
        try:
            if test == "test_schema":
                before = [copy(a) for a in args]
                custom(*[copy(a) if isinstance(a, Tensor) else a for a in args], **kwargs)
                clones = [copy(a) for a in args]
                custom(*clones, **kwargs)
                names = list(custom._signature.parameters) if custom._signature is not None else []
                for i, (b, c) in enumerate(zip(before, clones)):
                    if isinstance(b, Tensor) and not bool((b == c).all() | (b.isnan() & c.isnan()).all()):
                        arg = names[i] if i < len(names) else str(i)
                        if f"!) {arg}" not in custom._schema:
                            raise RuntimeError(f"{custom._qualname}: argument {arg} was mutated but is not in "
                                               "mutates_args")
            elif test == "test_autograd_registration":
                if any(isinstance(a, Tensor) and a.requires_grad for a in args) and custom._backward is None:
                    raise RuntimeError(f"{custom._qualname}: an input requires grad but no autograd formula was "
                                       "registered (register_autograd)")
            elif test == "test_faketensor":
                real = custom(*[copy(a) for a in args], **kwargs)
                metas = [a.detach().to("meta") if isinstance(a, Tensor) else a for a in args]
                fake = custom(*metas, **kwargs)
                pairs = zip(real if isinstance(real, (tuple, list)) else [real],
                            fake if isinstance(fake, (tuple, list)) else [fake])
                for r, f in pairs:
                    if isinstance(r, Tensor) and (tuple(r.shape) != tuple(f.shape) or r.dtype != f.dtype):
                        raise RuntimeError(f"{custom._qualname}: the fake kernel gives {f.dtype}{list(f.shape)} "
                                           f"where the real one gives {r.dtype}{list(r.shape)}")
            else:
                raise ValueError(f"opcheck: unknown test {test!r}")
            results[test] = "SUCCESS"
        except Exception as e:  # noqa: BLE001 - reported per test, raised below when asked
            if raise_exception:
                raise RuntimeError(f"opcheck(op, ...): {test} failed with {e}") from e
            results[test] = str(e)
    return results
