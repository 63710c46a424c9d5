"""``ember.ops.<namespace>.<name>``: the operators made with ``ember.library`` (``torch.ops``'s spelling).

Each is the operator itself, with ``.default`` (its one overload) and ``.overloads()``, as
``torch.ops.mylib.foo`` and ``torch.ops.mylib.foo.default`` in PyTorch. ember's built-in ops are the
functions of ``ember`` itself; ``ember.ops.aten`` is not provided.

Example:
    >>> import ember
    >>> lib = ember.library.Library("demo_ops", "DEF")
    >>> lib.define("twice(Tensor x) -> Tensor")
    'twice'
    >>> lib.impl("twice", lambda x: x * 2, "CompositeImplicitAutograd")
    >>> ember.ops.demo_ops.twice.default(ember.ones(2))
    tensor([2., 2.])
"""

from __future__ import annotations

from typing import Any


class OpOverload:
    """``ember.ops.ns.name.default``: the operator's one overload (``torch._ops.OpOverload``)."""

    def __init__(self, op: Any) -> None:
        self._op = op

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._op(*args, **kwargs)

    def name(self) -> str:
        return self._op._qualname

    @property
    def _schema(self) -> str:
        return self._op._schema

    def __repr__(self) -> str:
        return f"<OpOverload(op='{self._op._namespace}.{self._op._name}', overload='default')>"

    def __str__(self) -> str:
        return f"{self._op._namespace}.{self._op._name}.default"


class OpOverloadPacket:
    """``ember.ops.ns.name``: calls the operator; ``.default`` is its one overload."""

    def __init__(self, op: Any) -> None:
        self._op = op
        self.default = OpOverload(op)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._op(*args, **kwargs)

    def overloads(self) -> list[str]:
        return ["default"]

    def name(self) -> str:
        return self._op._qualname

    @property
    def _schema(self) -> str:
        return self._op._schema

    def __repr__(self) -> str:  # PyTorch's spelling: <OpOverloadPacket(op='ns.name')>, str() ns.name
        return f"<OpOverloadPacket(op='{self._op._namespace}.{self._op._name}')>"

    def __str__(self) -> str:
        return f"{self._op._namespace}.{self._op._name}"


class _Namespace:
    def __init__(self, ns: str) -> None:
        self.name = ns

    def __getattr__(self, name: str) -> OpOverloadPacket:
        from ember.library import OPERATORS

        op = OPERATORS.get(f"{self.name}::{name}")
        if op is None:
            raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute '{name}'")
        return OpOverloadPacket(op)

    def __repr__(self) -> str:
        return f"ember.ops.{self.name}"


def __getattr__(ns: str) -> _Namespace:
    if ns.startswith("__"):
        raise AttributeError(ns)
    return _Namespace(ns)
