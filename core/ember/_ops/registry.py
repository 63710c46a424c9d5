"""The op registry: every public op is declared once, and everything else is generated from it.

Each op family (``ember/functions/<family>.py``) ends with a declaration table::

    _ops = Family(__name__)
    _ops.op(add, inplace=True, out=True, kernels=("add",), operators=("__add__", "__radd__"),
            ioperators=("__iadd__",))
    __all__ = _ops.names()

An op whose function has no ``out=`` of its own may declare the rule its ``out`` dtype follows
instead (``_ops.op(exp, out=CAST)``, see ``ember._ops.out``): ``ember.<name>`` is then generated with
``out=`` (the op's own signature plus ``out=None``), while ``Tensor.<name>`` stays the op itself.

From those declarations ``ember/__init__`` generates, once every family is loaded, the Tensor
methods, operators and in-place forms (``bind_tensor``), the ``ember.*`` exports and their part of
``ember.__all__`` (``exports``); each family's ``__all__`` comes from ``Family.names`` and
``docs/pytorch-coverage.md`` from ``ember._ops.coverage``. ``tests/core/test_op_registry.py``
fails when any of them drift.

This module imports nothing from ember, so any family can declare its ops at import time without
an import cycle; binding happens later, in one place, after all families exist.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["OpDecl", "Family", "OPS", "EXTRAS", "op_names", "exports", "bind_tensor", "bound_names", "wrap_ops"]


@dataclass(frozen=True)
class OpDecl:
    """One op: its function and every name and form it is reachable under."""

    name: str
    fn: Callable
    family: str
    #: one line of documentation (defaults to the first line of the function's docstring)
    doc: str = ""
    #: ``ember.<name>`` (and ``ember.<alias>``) exist
    export: bool = True
    #: ``Tensor.<name>`` (and ``Tensor.<alias>``): True binds ``fn`` itself; a callable binds that
    #: Tensor-specific form instead (``x.where(cond, y)`` vs ``where(cond, x, y)``); False: none
    method: bool | Callable = True
    #: other names of the same op (``subtract`` for ``sub``): exported and bound like ``name``
    aliases: tuple[str, ...] = ()
    #: ``Tensor.<name>_`` (and ``<alias>_``): True generates it from the method; a callable is it
    inplace: bool | Callable = False
    #: the function accepts ``out=`` (declared as a rule of ``ember._ops.out``, the registry generated it)
    out: bool = False
    #: the dtype rule of a generated ``out=`` (``ember._ops.out.CAST``...); "" where none was generated
    out_rule: str = ""
    #: the op without its generated ``out=``: the family module's name and the Tensor method
    impl: Callable | None = None
    #: names in ``ember.kernels.KERNELS`` the op runs (a composite op lists none)
    kernels: tuple[str, ...] = ()
    #: Python operators bound to the method as is (``__add__``, ``__radd__`` for a commutative op)
    operators: tuple[str, ...] = ()
    #: reflected operators: ``x.__rsub__(y)`` calls ``fn(y, x)``
    reflected: tuple[str, ...] = ()
    #: what the reflected operators call instead, as ``reflected_fn(x, y)``, where PyTorch's is not
    #: ``fn(y, x)`` (its ``__rdiv__`` is ``x.reciprocal() * y``)
    reflected_fn: Callable | None = None
    #: augmented assignments bound to the in-place form (``__iadd__``)
    ioperators: tuple[str, ...] = ()
    #: ``ember.<name>_`` exists too, as the Tensor in-place form (``torch.exp_``): True for every
    #: name, or the names that have it (PyTorch has ``torch.abs_`` but no ``torch.absolute_``)
    export_inplace: bool | tuple[str, ...] = False

    @property
    def plain(self) -> Callable:
        """The op itself, without a generated ``out=`` (``fn`` where it has none)."""
        return self.impl or self.fn

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def method_fn(self) -> Callable | None:
        if self.method is True:
            return self.fn
        return self.method or None

    @property
    def method_names(self) -> tuple[str, ...]:
        return self.names if self.method_fn is not None else ()

    @property
    def inplace_names(self) -> tuple[str, ...]:
        return tuple(n + "_" for n in self.names) if self.inplace else ()

    @property
    def exported_inplace_names(self) -> tuple[str, ...]:
        """``ember.<name>_`` forms (``export_inplace``)."""
        if not (self.inplace and self.export_inplace):
            return ()
        names = self.names if self.export_inplace is True else self.export_inplace
        return tuple(n + "_" for n in names)


#: every declared op by name, in declaration order
OPS: dict[str, OpDecl] = {}
#: Tensor attributes that are not ops of their own (the ``__and__`` family, ``T``, ``__hash__``...):
#: name -> (value, family)
EXTRAS: dict[str, tuple[Any, str]] = {}


def _first_line(fn: Callable) -> str:
    return (getattr(fn, "__doc__", None) or "").strip().split("\n")[0].strip()


def wrap_ops(names: Any, wrap: Callable[[str, Callable], Callable]) -> None:
    """Replace the function (and Tensor-specific method) of each declared op in ``names`` by
    ``wrap(name, fn)``, before :func:`bind_tensor` and :func:`exports` run, so the exports, methods
    and operators are the wrapped ones and still the declared ones (the family module's names are
    rebound too, so its ``__all__`` still resolves to them). Used by ``ember.amp`` to hook autocast
    into the ops of PyTorch's autocast lists only (every other op stays unwrapped)."""
    import dataclasses

    for name in names:
        d = OPS.get(name)
        if d is None:
            continue
        new: dict[str, Any] = {"fn": wrap(name, d.fn)}
        if d.impl is not None:  # a generated out=: the op itself (the module's name) is wrapped too
            new["impl"] = wrap(name, d.impl)
        if callable(d.method):
            new["method"] = new["impl"] if d.method is d.impl else wrap(name, d.method)
        mod = sys.modules.get(d.family)
        for n in d.names:
            if mod is not None and getattr(mod, n, None) is d.plain:
                setattr(mod, n, new.get("impl", new["fn"]))
        OPS[name] = dataclasses.replace(d, **new)


class Family:
    """The declarations of one op family module; ``names()`` is that module's ``__all__``."""

    def __init__(self, module: str) -> None:
        self.module = module

    def op(self, fn: Callable, name: str | None = None, **fields: Any) -> Callable:
        """Declare ``fn`` as the op ``name`` (default ``fn.__name__``); returns ``fn`` unchanged."""
        name = name or fn.__name__
        if name in OPS and OPS[name].family != self.module:  # the same module again is a reload
            raise ValueError(f"op {name!r} declared twice ({OPS[name].family} and {self.module})")
        fields["doc"] = fields.get("doc") or _first_line(fn) or f"As ``torch.{name}``."  # ember follows PyTorch
        decl_fn = fn
        if isinstance(fields.get("out"), str):  # a rule: ``ember.<name>`` gets a generated out=
            from ember._ops.out import with_out

            fields.update(out=True, out_rule=fields["out"], impl=fn)
            if fields.get("method", True) is True:
                fields["method"] = fn
            decl_fn = with_out(name, fn, fields["out_rule"])
        OPS[name] = OpDecl(name=name, fn=decl_fn, family=self.module, **fields)
        return fn

    def attr(self, name: str, value: Any) -> None:
        """A Tensor attribute that is not an op of its own (an operator, a property, a helper)."""
        EXTRAS[name] = (value, self.module)

    def names(self) -> list[str]:
        """The family's public names: those of its declared ops and aliases the module defines.

        A Tensor-only op written as a private function (``_copy_`` declared as ``copy_``) is not one.
        """
        mod = sys.modules[self.module]
        return [n for d in OPS.values() if d.family == self.module for n in d.names if getattr(mod, n, None) is d.plain]


def op_names(*, exported: bool | None = None) -> list[str]:
    """Every op name and alias (only the exported ones, or only the others, when asked).

    The exported names include the in-place forms declared ``export_inplace`` (``exp_``).
    """
    names = [n for d in OPS.values() if exported is None or d.export == exported for n in d.names]
    if exported is not False:
        names += [n for d in OPS.values() for n in d.exported_inplace_names]
    return names


def exports() -> dict[str, Callable]:
    """``ember.<name>`` for every exported op and alias, and ``ember.<name>_`` where declared.

    The in-place forms are the very functions bound as ``Tensor.<name>_`` (``bind_tensor`` runs first).
    """
    fns = {n: d.fn for d in OPS.values() if d.export for n in d.names}
    fns.update({n: _BOUND_INPLACE[n] for d in OPS.values() for n in d.exported_inplace_names})
    return fns


def _reflect(fn: Callable, name: str) -> Callable:
    def method(self: Any, other: Any) -> Any:
        return fn(other, self)

    method.__name__ = method.__qualname__ = name
    return method


def _tensor_attrs(make_inplace: Callable[[Callable], Callable]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for d in OPS.values():
        method = d.method_fn
        for n in d.method_names:
            attrs[n] = method
        for n in d.operators:  # an operator may exist without a named method (``__getitem__``)
            attrs[n] = method or d.fn
        for n in d.reflected:
            attrs[n] = d.reflected_fn or _reflect(d.plain, n)
        if d.inplace:
            inplace = d.inplace if callable(d.inplace) else make_inplace(method)
            for n in d.inplace_names:
                attrs[n] = inplace
            for n in d.ioperators:
                attrs[n] = inplace
    for n, (value, _family) in EXTRAS.items():
        attrs[n] = value
    return attrs


def bind_tensor(tensor_cls: type, make_inplace: Callable[[Callable], Callable]) -> None:
    """Attach every declared method, operator and in-place form to ``tensor_cls``.

    The functions are bound directly (no wrapper per call), so ``a + b`` costs what ``add`` does.
    ``make_inplace(method)`` builds ``name_`` for ops declared ``inplace=True``.
    """
    attrs = _tensor_attrs(make_inplace)
    clashes = set(attrs) & _CLASS_BODY.setdefault(tensor_cls, set(vars(tensor_cls)))
    if clashes:  # a declaration would silently replace a method written in tensor.py
        raise RuntimeError(f"ops declared over Tensor's own attributes: {sorted(clashes)}")
    for n, value in attrs.items():
        setattr(tensor_cls, n, value)
    _BOUND_INPLACE.update({n: attrs[n] for d in OPS.values() for n in d.exported_inplace_names})


#: the in-place forms ``exports`` supplies as ``ember.<name>_``, as bound on Tensor
_BOUND_INPLACE: dict[str, Callable] = {}

#: the attributes each bound class had before binding: its own, written in its class body
_CLASS_BODY: dict[type, set[str]] = {}


def bound_names() -> set[str]:
    """Every Tensor attribute the registry attaches."""
    return set(_tensor_attrs(lambda m: m))
