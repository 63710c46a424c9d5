"""A small pytree utility, as PyTorch's ``torch.utils._pytree``: nested tuples, lists, dicts and
namedtuples are containers; everything else is a leaf.

Used by :mod:`ember.func` to find the tensors in a function's (nested) inputs and outputs.

Example:
    >>> from ember.utils._pytree import tree_flatten, tree_unflatten
    >>> leaves, spec = tree_flatten({"a": (1, 2), "b": [3]})
    >>> leaves
    [1, 2, 3]
    >>> tree_unflatten([x * 10 for x in leaves], spec)
    {'a': (10, 20), 'b': [30]}
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TreeSpec", "LeafSpec", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_map", "tree_structure"]


def _is_namedtuple(obj: object) -> bool:
    return isinstance(obj, tuple) and hasattr(type(obj), "_fields")


@dataclass(frozen=True)
class TreeSpec:
    """The structure of a pytree: the container type, its context (dict keys, namedtuple class) and
    the specs of its children. A leaf has ``type`` None."""

    type: Any
    context: Any = None
    children_specs: tuple = field(default_factory=tuple)

    @property
    def num_leaves(self) -> int:
        return 1 if self.type is None else sum(c.num_leaves for c in self.children_specs)

    def is_leaf(self) -> bool:
        return self.type is None


def LeafSpec() -> TreeSpec:  # noqa: N802 - PyTorch's name
    return TreeSpec(None)


def _children(tree: Any) -> tuple[Any, Any, list] | None:
    """(type, context, children) for a container; None for a leaf."""
    if _is_namedtuple(tree):
        return type(tree), type(tree), list(tree)
    if type(tree) in (tuple, list):  # exact types, as PyTorch's registry: a Size is a leaf
        return type(tree), None, list(tree)
    if isinstance(tree, dict):
        keys = list(tree.keys())
        return type(tree), tuple(keys), [tree[k] for k in keys]
    return None


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeSpec]:
    """The leaves of ``tree`` in order, and its structure."""
    leaves: list = []

    def walk(node: Any) -> TreeSpec:
        found = None if is_leaf is not None and is_leaf(node) else _children(node)
        if found is None:
            leaves.append(node)
            return TreeSpec(None)
        typ, ctx, kids = found
        return TreeSpec(typ, ctx, tuple(walk(k) for k in kids))

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(leaves: Any, spec: TreeSpec) -> Any:
    """Rebuild the structure ``spec`` with ``leaves`` in order."""
    leaves = list(leaves)
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers "
                         f"to a pytree that holds {spec.num_leaves} items ({spec}).")
    it = iter(leaves)

    def build(s: TreeSpec) -> Any:
        if s.type is None:
            return next(it)
        kids = [build(c) for c in s.children_specs]
        if _is_namedtuple_type(s.type):
            return s.type(*kids)
        if issubclass(s.type, dict):
            d = OrderedDict(zip(s.context, kids)) if s.type is OrderedDict else dict(zip(s.context, kids))
            return d if type(d) is s.type else s.type(d)
        return s.type(kids)

    return build(spec)


def _is_namedtuple_type(typ: Any) -> bool:
    return isinstance(typ, type) and issubclass(typ, tuple) and hasattr(typ, "_fields")


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> TreeSpec:
    return tree_flatten(tree, is_leaf)[1]


def tree_map(fn: Callable[..., Any], tree: Any, *rests: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``fn`` applied to every leaf (and the matching leaves of ``rests``, which share the structure)."""
    leaves, spec = tree_flatten(tree, is_leaf)
    others = [_flatten_up_to(spec, r) for r in rests]
    return tree_unflatten([fn(x, *xs) for x, *xs in zip(leaves, *others)], spec)


def _flatten_up_to(spec: TreeSpec, tree: Any) -> list:
    """The subtrees of ``tree`` at the leaf positions of ``spec`` (``tree`` may be deeper there)."""
    if spec.type is None:
        return [tree]
    found = _children(tree)
    if found is None or found[0] is not spec.type or (spec.context is not None and found[1] != spec.context) \
            or len(found[2]) != len(spec.children_specs):
        raise ValueError(f"Tree structures do not match: expected {spec}, got {type(tree).__name__}")
    out: list = []
    for child_spec, child in zip(spec.children_specs, found[2]):
        out.extend(_flatten_up_to(child_spec, child))
    return out
