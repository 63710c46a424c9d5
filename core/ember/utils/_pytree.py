"""Pytrees, as PyTorch's ``torch.utils._pytree``: nested containers whose leaves are everything the
registry does not know. tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque and
``ember.Size`` are nodes (PyTorch registers ``torch.Size`` too, and rebuilds it as a tuple);
:func:`register_pytree_node` adds more. Specs serialize to PyTorch's JSON format
(:func:`treespec_dumps` / :func:`treespec_loads`), so a spec dumped by torch loads here and back.

Used by :mod:`ember.func` and :mod:`ember.utils.checkpoint` on every call, so flattening tuple,
list and dict nodes takes a fast path that skips the registry's flatten functions.

Example:
    >>> from ember.utils._pytree import tree_flatten, tree_unflatten, tree_leaves_with_path, keystr
    >>> leaves, spec = tree_flatten({"a": (1, 2), "b": [3]})
    >>> leaves
    [1, 2, 3]
    >>> tree_unflatten([x * 10 for x in leaves], spec)
    {'a': (10, 20), 'b': [30]}
    >>> [keystr(path) for path, _ in tree_leaves_with_path({"a": (1, 2)})]
    ["['a'][0]", "['a'][1]"]
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import threading
import types
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Hashable, Iterable, Iterator
from enum import Enum
from typing import Any, NamedTuple

__all__ = ["PyTree", "Context", "FlattenFn", "UnflattenFn", "DumpableContext", "ToDumpableContextFn",
           "FromDumpableContextFn", "PyTreeSpec", "TreeSpec", "LeafSpec", "keystr", "key_get",
           "register_pytree_node", "tree_is_leaf", "tree_flatten", "tree_flatten_with_path", "tree_unflatten",
           "tree_iter", "tree_leaves", "tree_leaves_with_path", "tree_structure", "tree_map", "tree_map_with_path",
           "tree_map_", "tree_map_only", "tree_map_only_", "tree_all", "tree_any", "tree_all_only", "tree_any_only",
           "treespec_dumps", "treespec_loads", "treespec_pprint", "is_namedtuple", "is_namedtuple_class",
           "is_namedtuple_instance", "is_structseq", "is_structseq_class", "is_structseq_instance"]

DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL = 1
NO_SERIALIZED_TYPE_NAME_FOUND = "NO_SERIALIZED_TYPE_NAME_FOUND"

Context = Any
PyTree = Any
FlattenFn = Callable[[PyTree], tuple[list, Context]]
UnflattenFn = Callable[[Iterable, Context], PyTree]
DumpableContext = Any  # anything json.dumps accepts
ToDumpableContextFn = Callable[[Context], DumpableContext]
FromDumpableContextFn = Callable[[DumpableContext], Context]
KeyEntry = Any  # SequenceKey, MappingKey, GetAttrKey or a user's: hashable, str(), .get(parent)
KeyPath = tuple
FlattenWithKeysFn = Callable[[PyTree], tuple[list[tuple[KeyEntry, Any]], Any]]


class NodeDef(NamedTuple):
    type: type
    flatten_fn: FlattenFn
    unflatten_fn: UnflattenFn
    flatten_with_keys_fn: FlattenWithKeysFn | None


class _SerializeNodeDef(NamedTuple):
    typ: type
    serialized_type_name: str
    to_dumpable_context: ToDumpableContextFn | None
    from_dumpable_context: FromDumpableContextFn | None


_NODE_REGISTRY_LOCK = threading.RLock()
SUPPORTED_NODES: dict[Any, NodeDef] = {}
SUPPORTED_SERIALIZED_TYPES: dict[Any, _SerializeNodeDef] = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE: dict[str, Any] = {}


def register_pytree_node(cls: type, flatten_fn: FlattenFn, unflatten_fn: UnflattenFn, *,
                         serialized_type_name: str | None = None,
                         to_dumpable_context: ToDumpableContextFn | None = None,
                         from_dumpable_context: FromDumpableContextFn | None = None,
                         flatten_with_keys_fn: FlattenWithKeysFn | None = None) -> None:
    """Make ``cls`` a container: ``flatten_fn(obj) -> (children, context)`` and
    ``unflatten_fn(children, context) -> obj``. ``flatten_with_keys_fn(obj) -> ([(key, child)...],
    context)`` serves the ``*_with_path`` functions; ``serialized_type_name`` (and, for a context
    JSON cannot hold, ``to_dumpable_context``/``from_dumpable_context``) serve :func:`treespec_dumps`.
    Registering a type twice raises ValueError, as in PyTorch.

    Example:
        >>> class Pair:
        ...     def __init__(self, a, b):
        ...         self.a, self.b = a, b
        >>> register_pytree_node(Pair, lambda p: ([p.a, p.b], None), lambda xs, _: Pair(*xs))
        >>> tree_leaves([Pair(1, 2), 3])
        [1, 2, 3]
    """
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            raise ValueError(f"{cls} is already registered as pytree node.")
    _private_register_pytree_node(cls, flatten_fn, unflatten_fn, serialized_type_name=serialized_type_name,
                                  to_dumpable_context=to_dumpable_context,
                                  from_dumpable_context=from_dumpable_context,
                                  flatten_with_keys_fn=flatten_with_keys_fn)


def _private_register_pytree_node(cls: Any, flatten_fn: FlattenFn, unflatten_fn: UnflattenFn, *,
                                  serialized_type_name: str | None = None,
                                  to_dumpable_context: ToDumpableContextFn | None = None,
                                  from_dumpable_context: FromDumpableContextFn | None = None,
                                  flatten_with_keys_fn: FlattenWithKeysFn | None = None) -> None:
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            warnings.warn(f"{cls} is already registered as pytree node. Overwriting the previous registration.",
                          stacklevel=2)
        if (to_dumpable_context is None) ^ (from_dumpable_context is None):
            raise ValueError(f"Both to_dumpable_context and from_dumpable_context for {cls} must be None or "
                             "registered.")
        SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
        name = NO_SERIALIZED_TYPE_NAME_FOUND if serialized_type_name is None else serialized_type_name
        SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(cls, name, to_dumpable_context, from_dumpable_context)
        SERIALIZED_TYPE_TO_PYTHON_TYPE[name] = cls


def _deregister_pytree_node(cls: Any) -> None:
    """Undo a registration (PyTorch's private helper; tests use it to clean up)."""
    with _NODE_REGISTRY_LOCK:
        del SUPPORTED_NODES[cls]
        node_def = SUPPORTED_SERIALIZED_TYPES.pop(cls)
        SERIALIZED_TYPE_TO_PYTHON_TYPE.pop(node_def.serialized_type_name, None)


def register_dataclass(cls: type, *, field_names: list[str] | None = None, drop_field_names: list[str] | None = None,
                       serialized_type_name: str | None = None) -> None:
    """Register a dataclass (or a class built from keyword fields) as a node whose children are its
    fields; ``None`` fields are kept in the context, not as leaves (as PyTorch does).

    Example:
        >>> @dataclasses.dataclass
        ... class Point:
        ...     x: int
        ...     y: int
        >>> register_dataclass(Point)
        >>> tree_map(lambda v: v + 1, Point(1, 2))
        Point(x=2, y=3)
    """
    drop = set(drop_field_names or [])
    if not dataclasses.is_dataclass(cls):
        if field_names is None:
            raise ValueError("field_names must be specified with a list of all fields used to initialize "
                             f"{cls}, as it is not a dataclass.")
    elif field_names is None:
        field_names = [f.name for f in dataclasses.fields(cls) if f.init]
    else:
        init_fields = {f.name for f in dataclasses.fields(cls) if f.init} - drop
        if init_fields != set(field_names):
            msg = "field_names does not include all dataclass fields.\n"
            if missing := init_fields - set(field_names):
                msg += (f"Missing fields in `field_names`: {missing}. If you want to include these fields in the "
                        "pytree, please add them to `field_names`, otherwise please add them to `drop_field_names`.\n")
            if unexpected := set(field_names) - init_fields:
                msg += (f"Unexpected fields in `field_names`: {unexpected}. Please remove these fields, or add them "
                        "to `drop_field_names`.\n")
            raise ValueError(msg)
    names = list(field_names)

    def flatten(obj: Any) -> tuple[list, Context]:
        flat, flat_names, none_names = [], [], []
        for name in names:
            val = getattr(obj, name)
            if val is None:
                none_names.append(name)
            else:
                flat.append(val)
                flat_names.append(name)
        return flat, [flat_names, none_names]

    def unflatten(values: Iterable, context: Context) -> Any:
        flat_names, none_names = context
        return cls(**dict(zip(flat_names, values, strict=True)), **dict.fromkeys(none_names))

    def flatten_with_keys(obj: Any) -> tuple[list, Context]:
        flat, (flat_names, _) = flatten(obj)
        return [(GetAttrKey(k), v) for k, v in zip(flat_names, flat)], flat_names

    _private_register_pytree_node(cls, flatten, unflatten, serialized_type_name=serialized_type_name,
                                  flatten_with_keys_fn=flatten_with_keys)


# ---------------------------------------------------------------------------------------------- keys


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """A position in a sequence; prints as ``[0]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

    def get(self, sequence: Any) -> Any:
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True, slots=True)
class MappingKey:
    """A key of a mapping; prints as ``['a']``."""

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"

    def get(self, mapping: Any) -> Any:
        return mapping[self.key]


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """An attribute (namedtuple field, dataclass field); prints as ``.name``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"

    def get(self, obj: Any) -> Any:
        return getattr(obj, self.name)


def keystr(kp: KeyPath) -> str:
    """A key path as text: ``keystr((MappingKey('a'), SequenceKey(0)))`` is ``"['a'][0]"``."""
    return "".join(str(k) for k in kp)


def key_get(obj: Any, kp: KeyPath) -> Any:
    """The value at key path ``kp`` inside ``obj``."""
    for k in kp:
        obj = k.get(obj)
    return obj


# --------------------------------------------------------------------------- namedtuple / structseq


def is_namedtuple(obj: object) -> bool:
    """Whether ``obj`` is a namedtuple instance or class."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_class(cls: object) -> bool:
    """Whether ``cls`` is a namedtuple class (a tuple subclass with ``_fields``, ``_make``, ``_asdict``)."""
    return (isinstance(cls, type) and issubclass(cls, tuple)
            and isinstance(getattr(cls, "_fields", None), tuple)
            and all(type(f) is str for f in cls._fields)  # type: ignore[attr-defined]
            and callable(getattr(cls, "_make", None)) and callable(getattr(cls, "_asdict", None)))


def is_namedtuple_instance(obj: object) -> bool:
    return is_namedtuple_class(type(obj))


_Py_TPFLAGS_BASETYPE = 1 << 10


def is_structseq(obj: object) -> bool:
    """Whether ``obj`` is a C struct sequence (``os.stat_result``, ``time.struct_time``) or its class."""
    return is_structseq_class(obj if isinstance(obj, type) else type(obj))


def is_structseq_class(cls: object) -> bool:
    return (isinstance(cls, type) and cls.__bases__ == (tuple,)
            and all(isinstance(getattr(cls, a, None), int) for a in ("n_fields", "n_sequence_fields",
                                                                      "n_unnamed_fields"))
            and not bool(cls.__flags__ & _Py_TPFLAGS_BASETYPE))


def is_structseq_instance(obj: object) -> bool:
    return is_structseq_class(type(obj))


# --------------------------------------------------------------------------- builtin node types


def _seq_with_keys(values: list, context: Context) -> tuple[list, Context]:
    return [(SequenceKey(i), v) for i, v in enumerate(values)], context


def _dict_flatten(d: dict) -> tuple[list, Context]:
    return list(d.values()), list(d.keys())


def _dict_with_keys(d: dict) -> tuple[list, Context]:
    return [(MappingKey(k), v) for k, v in d.items()], list(d.keys())


def _namedtuple_flatten(d: tuple) -> tuple[list, Context]:
    return list(d), type(d)


def _namedtuple_with_keys(d: tuple) -> tuple[list, Context]:
    return [(GetAttrKey(f), v) for f, v in zip(type(d)._fields, d)], type(d)  # type: ignore[attr-defined]


def _namedtuple_serialize(context: Context) -> DumpableContext:
    if context not in SUPPORTED_SERIALIZED_TYPES:
        raise NotImplementedError(f"Can't serialize TreeSpec of namedtuple class {context} because we didn't "
                                  "register a serializated_type_name. Please register using `_register_namedtuple`.")
    name = SUPPORTED_SERIALIZED_TYPES[context].serialized_type_name
    if name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(f"Can't serialize TreeSpec of namedtuple class {context} because we couldn't "
                                  "find a serializated_type_name. Please register using `_register_namedtuple`.")
    return name


def _namedtuple_deserialize(dumpable: DumpableContext) -> Context:
    if dumpable not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Can't deserialize TreeSpec of namedtuple class {dumpable} because we couldn't "
                                  "find a serializated name.")
    return SERIALIZED_TYPE_TO_PYTHON_TYPE[dumpable]


def _register_namedtuple(cls: type, *, serialized_type_name: str) -> None:
    """Give a namedtuple class a name so specs holding it serialize (PyTorch's private helper)."""
    _private_register_pytree_node(cls, _namedtuple_flatten, lambda values, ctx: ctx(*values),
                                  serialized_type_name=serialized_type_name,
                                  to_dumpable_context=_namedtuple_serialize,
                                  from_dumpable_context=_namedtuple_deserialize,
                                  flatten_with_keys_fn=_namedtuple_with_keys)


def _defaultdict_flatten(d: defaultdict) -> tuple[list, Context]:
    return list(d.values()), [d.default_factory, list(d.keys())]


def _defaultdict_with_keys(d: defaultdict) -> tuple[list, Context]:
    return [(MappingKey(k), v) for k, v in d.items()], [d.default_factory, list(d.keys())]


def _defaultdict_unflatten(values: Iterable, context: Context) -> defaultdict:
    factory, keys = context
    return defaultdict(factory, zip(keys, values, strict=True))


def _defaultdict_serialize(context: Context) -> DumpableContext:
    factory, keys = context
    return {"default_factory_module": factory.__module__, "default_factory_name": factory.__qualname__,
            "dict_context": keys}


def _defaultdict_deserialize(dumpable: DumpableContext) -> Context:
    if not isinstance(dumpable, dict):
        raise AssertionError("dumpable_context must be a dict")
    module = importlib.import_module(dumpable["default_factory_module"])
    return [getattr(module, dumpable["default_factory_name"]), dumpable["dict_context"]]


_private_register_pytree_node(tuple, lambda d: (list(d), None), lambda values, _: tuple(values),
                              serialized_type_name="builtins.tuple",
                              flatten_with_keys_fn=lambda d: _seq_with_keys(list(d), None))
_private_register_pytree_node(list, lambda d: (d, None), lambda values, _: list(values),
                              serialized_type_name="builtins.list",
                              flatten_with_keys_fn=lambda d: _seq_with_keys(d, None))
_private_register_pytree_node(dict, _dict_flatten, lambda values, ctx: dict(zip(ctx, values, strict=True)),
                              serialized_type_name="builtins.dict", flatten_with_keys_fn=_dict_with_keys)
_private_register_pytree_node(namedtuple, _namedtuple_flatten, lambda values, ctx: ctx(*values),  # type: ignore[arg-type]
                              serialized_type_name="collections.namedtuple",
                              to_dumpable_context=_namedtuple_serialize,
                              from_dumpable_context=_namedtuple_deserialize,
                              flatten_with_keys_fn=_namedtuple_with_keys)
_private_register_pytree_node(OrderedDict, _dict_flatten,
                              lambda values, ctx: OrderedDict(zip(ctx, values, strict=True)),
                              serialized_type_name="collections.OrderedDict", flatten_with_keys_fn=_dict_with_keys)
_private_register_pytree_node(defaultdict, _defaultdict_flatten, _defaultdict_unflatten,
                              serialized_type_name="collections.defaultdict",
                              to_dumpable_context=_defaultdict_serialize,
                              from_dumpable_context=_defaultdict_deserialize,
                              flatten_with_keys_fn=_defaultdict_with_keys)
_private_register_pytree_node(deque, lambda d: (list(d), d.maxlen), lambda values, ctx: deque(values, maxlen=ctx),
                              serialized_type_name="collections.deque",
                              flatten_with_keys_fn=lambda d: _seq_with_keys(list(d), d.maxlen))


def _register_size() -> None:
    """``ember.Size`` is a node as ``torch.Size`` is in PyTorch (registered at ``import torch``), and
    unflattens to a plain tuple as there; its serialized name is torch's, so specs cross over."""
    from ember.size import Size

    _private_register_pytree_node(Size, lambda xs: (list(xs), None), lambda xs, _: tuple(xs),
                                  serialized_type_name="torch.Size",
                                  flatten_with_keys_fn=lambda xs: _seq_with_keys(list(xs), None))


_register_size()

STANDARD_DICT_TYPES: frozenset = frozenset({dict, OrderedDict, defaultdict})
BUILTIN_TYPES: frozenset = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})


def _get_node_type(tree: Any) -> Any:
    """The registry key of ``tree``: its type, but ``namedtuple`` for every namedtuple class."""
    t = type(tree)
    if t is tuple or t is list or t is dict:  # the hot path: no namedtuple check needed
        return t
    if is_namedtuple_class(t):
        return namedtuple
    return t


def tree_is_leaf(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    """Whether ``tree`` is a leaf: ``is_leaf`` says so, or its type is not a registered node.

    Example:
        >>> tree_is_leaf(1), tree_is_leaf([1]), tree_is_leaf((1,), is_leaf=lambda x: isinstance(x, tuple))
        (True, False, True)
    """
    if is_leaf is not None and is_leaf(tree):
        return True
    return _get_node_type(tree) not in SUPPORTED_NODES


def _children(tree: Any) -> tuple[Any, Any, list] | None:
    """``(node type, context, children)`` for a node, None for a leaf (what ember.func walks)."""
    node_type = _get_node_type(tree)
    node = SUPPORTED_NODES.get(node_type)
    if node is None:
        return None
    kids, ctx = node.flatten_fn(tree)
    return node_type, ctx, list(kids)


# ------------------------------------------------------------------------------------------- TreeSpec


class TreeSpec:
    """The structure of a pytree: the node ``type`` (``None`` for a leaf, ``namedtuple`` for every
    namedtuple), its ``context`` (dict keys as a list, the namedtuple class...) and the specs of
    its children, with ``num_nodes``, ``num_leaves`` and ``num_children``.

    Example:
        >>> spec = tree_structure({"a": [1, 2], "b": 3})
        >>> spec.num_leaves, spec.num_nodes, spec.num_children
        (3, 5, 2)
        >>> spec.unflatten([7, 8, 9])
        {'a': [7, 8], 'b': 9}
    """

    __slots__ = ("type", "_context", "_children", "num_nodes", "num_leaves", "num_children")

    def __init__(self, type: Any, context: Context, children_specs: list) -> None:  # noqa: A002 - PyTorch's name
        self.type = type
        self._context = context
        self._children = children_specs
        if type is None:
            if context is not None:
                raise AssertionError("leaf node should not have a context")
            if len(children_specs) != 0:
                raise AssertionError("leaf node should not have children")
            self.num_nodes = self.num_leaves = 1
            self.num_children = 0
            return
        nodes, leaves = 1, 0
        for child in children_specs:
            nodes += child.num_nodes
            leaves += child.num_leaves
        self.num_nodes, self.num_leaves, self.num_children = nodes, leaves, len(children_specs)

    def __repr__(self, indent: int = 0) -> str:
        if self.type is None:
            return "*"
        body = ""
        if self.num_children > 0:
            indent += 2
            body = self._children[0].__repr__(indent) + ("," if self.num_children > 1 else "")
            body += ",".join("\n" + " " * indent + child.__repr__(indent) for child in self._children[1:])
        return f"TreeSpec({self.type.__name__}, {self._context}, [{body}])"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if isinstance(other, TreeSpec):
            return (str(self.type) == str(other.type) and self._context == other._context
                    and self._children == other._children)
        return NotImplemented

    def __hash__(self) -> int:
        node_type = self.type
        if node_type is defaultdict:
            factory, keys = self._context
            ctx: Any = (factory, tuple(keys))
        elif node_type in (dict, OrderedDict):
            ctx = tuple(self._context)
        elif node_type is None or node_type in BUILTIN_TYPES:
            ctx = self._context
        else:  # a user's context need not be hashable: equal specs still hash equal without it
            ctx = None
        return hash((node_type, ctx, tuple(self._children)))

    def __reduce__(self) -> tuple:
        return TreeSpec, (self.type, self._context, self._children)

    @property
    def context(self) -> Context:
        return self._context

    @property
    def children_specs(self) -> list:
        warnings.warn("`treespec.children_specs` is deprecated. Use `treespec.child(index)` to access a single "
                      "child, or `treespec.children()` to get all children.", FutureWarning, stacklevel=2)
        return self._children

    def is_leaf(self) -> bool:
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self) -> list:
        return self._children.copy()

    def child(self, index: int) -> TreeSpec:
        return self._children[index]

    def flatten_up_to(self, tree: PyTree) -> list:
        """The subtrees of ``tree`` at this spec's leaves; ``tree`` must have this spec as a prefix."""
        out: list = []
        _flatten_up_to(self, tree, out)
        return out

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        """The pytree of this structure holding ``leaves`` in order."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec refers "
                             f"to a pytree that holds {self.num_leaves} items ({self}).")
        return _build(self, iter(leaves))


def _build(spec: TreeSpec, it: Iterator) -> Any:
    t = spec.type
    if t is None:
        return next(it)
    kids = [_build(c, it) for c in spec._children]
    if t is tuple:
        return tuple(kids)
    if t is list:
        return kids
    if t is dict:
        return dict(zip(spec._context, kids))
    return SUPPORTED_NODES[t].unflatten_fn(kids, spec._context)


def _flatten_up_to(spec: TreeSpec, node: Any, out: list) -> None:
    if spec.type is None:
        out.append(node)
        return
    node_type = _get_node_type(node)
    if spec.type not in BUILTIN_TYPES:  # a custom node must match exactly
        if node_type != spec.type:
            raise ValueError(f"Type mismatch; expected {spec.type!r}, but got {node_type!r}.")
        kids, context = SUPPORTED_NODES[node_type].flatten_fn(node)
        if len(kids) != spec.num_children:
            raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got {len(kids)}.")
        if context != spec._context:
            raise ValueError(f"Node context mismatch for custom node type {spec.type!r}.")
    else:
        both_dicts = spec.type in STANDARD_DICT_TYPES and node_type in STANDARD_DICT_TYPES
        if not both_dicts and node_type != spec.type:
            raise ValueError(f"Node type mismatch; expected {spec.type!r}, but got {node_type!r}.")
        if len(node) != spec.num_children:
            raise ValueError(f"Node arity mismatch; expected {spec.num_children}, but got {len(node)}.")
        if both_dicts:  # the standard dicts are interchangeable; their keys must agree
            keys = spec._context if spec.type is not defaultdict else spec._context[1]
            got, want = set(node), set(keys)
            if got != want:
                message = ""
                if missing := want - got:
                    message += f"; missing key(s): {missing}"
                if extra := got - want:
                    message += f"; extra key(s): {extra}"
                raise ValueError(f"Node keys mismatch{message}.")
            kids = [node[k] for k in keys]
        else:
            kids, context = SUPPORTED_NODES[node_type].flatten_fn(node)
            if node_type is not deque and context != spec._context:  # a deque's maxlen may differ
                raise ValueError(f"Node context mismatch for node type {spec.type!r}; expected {spec._context!r}, "
                                 f"but got {context!r}.")
    for child, child_spec in zip(kids, spec._children):
        _flatten_up_to(child_spec, child, out)


PyTreeSpec = TreeSpec


class LeafSpec(TreeSpec):
    """The spec of a leaf (deprecated in PyTorch: use ``spec.is_leaf()``); ``tree_flatten`` gives
    every leaf the one shared instance."""

    __slots__ = ()

    def __init__(self) -> None:
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use `isinstance(treespec, TreeSpec) and "
                      "treespec.is_leaf()` instead.", FutureWarning, stacklevel=2)
        super().__init__(None, None, [])

    def __reduce__(self) -> tuple:
        return treespec_leaf, ()


_LEAF_SPEC = LeafSpec.__new__(LeafSpec)
TreeSpec.__init__(_LEAF_SPEC, None, None, [])


def treespec_leaf() -> TreeSpec:
    """The spec of a leaf."""
    return _LEAF_SPEC


def treespec_tuple(iterable: Iterable[TreeSpec] = (), /) -> TreeSpec:
    children = list(iterable)
    if any(not isinstance(c, TreeSpec) for c in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(mapping: Any = (), /, **kwargs: TreeSpec) -> TreeSpec:
    dct = dict(mapping, **kwargs)
    if any(not isinstance(c, TreeSpec) for c in dct.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {dct!r}.")
    return TreeSpec(dict, list(dct.keys()), list(dct.values()))


# -------------------------------------------------------------------------------- flatten and friends


def tree_flatten(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> tuple[list, TreeSpec]:
    """The leaves of ``tree`` in order, and its :class:`TreeSpec`.

    Example:
        >>> tree_flatten([1, (2, {"k": 3})])[0]
        [1, 2, 3]
    """
    leaves: list = []
    append = leaves.append
    nodes = SUPPORTED_NODES
    leaf = _LEAF_SPEC

    def walk(node: Any) -> TreeSpec:
        if is_leaf is not None and is_leaf(node):
            append(node)
            return leaf
        t = type(node)
        # tuple/list/dict skip the registry (ember.func flattens every call's arguments)
        if t is tuple or t is list:
            return TreeSpec(t, None, [walk(c) for c in node])
        if t is dict:
            return TreeSpec(dict, list(node), [walk(c) for c in node.values()])
        if is_namedtuple_class(t):
            t = namedtuple
        found = nodes.get(t)
        if found is None:
            append(node)
            return leaf
        kids, context = found.flatten_fn(node)
        return TreeSpec(t, context, [walk(c) for c in kids])

    return leaves, walk(tree)


def tree_unflatten(leaves: Iterable[Any], treespec: TreeSpec) -> PyTree:
    """The pytree of structure ``treespec`` holding ``leaves``: the inverse of :func:`tree_flatten`."""
    if not isinstance(treespec, TreeSpec):
        if not isinstance(leaves, TreeSpec):
            raise TypeError(f"Expected `treespec` to be an instance of PyTreeSpec but got item of type "
                            f"{type(treespec)}.")
        leaves, treespec = treespec, leaves  # PyTorch accepts the spec first too
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> Iterator[Any]:
    """An iterator over the leaves of ``tree``, left to right."""
    if tree_is_leaf(tree, is_leaf=is_leaf):
        yield tree
        return
    kids, _ = SUPPORTED_NODES[_get_node_type(tree)].flatten_fn(tree)
    for child in kids:
        yield from tree_iter(child, is_leaf=is_leaf)


def tree_leaves(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> list:
    """The leaves of ``tree`` in order."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> TreeSpec:
    """The :class:`TreeSpec` of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(func: Callable[..., Any], tree: PyTree, *rests: PyTree,
             is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    """``func`` applied to every leaf of ``tree`` (with the matching subtrees of ``rests``, which must
    have ``tree``'s structure as a prefix); a new tree of the same structure.

    Example:
        >>> tree_map(lambda a, b: a + b, {"x": 1, "y": (2, 3)}, {"x": 10, "y": (20, 30)})
        {'x': 11, 'y': (22, 33)}
    """
    leaves, treespec = tree_flatten(tree, is_leaf)
    if not rests:
        return treespec.unflatten([func(x) for x in leaves])
    flat_args = [leaves] + [treespec.flatten_up_to(r) for r in rests]
    return treespec.unflatten(list(map(func, *flat_args)))


def tree_map_(func: Callable[..., Any], tree: PyTree, *rests: PyTree,
              is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    """Call ``func`` on every leaf for its side effect; returns ``tree`` itself."""
    leaves, treespec = tree_flatten(tree, is_leaf)
    flat_args = [leaves] + [treespec.flatten_up_to(r) for r in rests]
    deque(map(func, *flat_args), maxlen=0)
    return tree


def map_only(type_or_types_or_pred: Any, /) -> Callable[[Callable], Callable]:
    """Decorator: the function applies to values of the given type(s) (or passing the predicate);
    other values pass through unchanged."""
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        def pred(x: Any) -> bool:
            return isinstance(x, type_or_types_or_pred)
    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapped(x: Any) -> Any:
            return func(x) if pred(x) else x
        return wrapped

    return wrapper


def tree_map_only(type_or_types_or_pred: Any, /, func: Callable[[Any], Any], tree: PyTree,
                  is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    """:func:`tree_map` on the leaves of the given type(s) (or passing a predicate); others unchanged.

    Example:
        >>> tree_map_only(int, lambda v: v * 2, [1, "a", (3.0, 4)])
        [2, 'a', (3.0, 8)]
    """
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(type_or_types_or_pred: Any, /, func: Callable[[Any], Any], tree: PyTree,
                   is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    return all(map(pred, tree_iter(tree, is_leaf=is_leaf)))


def tree_any(pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    return any(map(pred, tree_iter(tree, is_leaf=is_leaf)))


def tree_all_only(type_or_types: Any, /, pred: Callable[[Any], bool], tree: PyTree,
                  is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    return all(pred(x) for x in tree_iter(tree, is_leaf=is_leaf) if isinstance(x, type_or_types))


def tree_any_only(type_or_types: Any, /, pred: Callable[[Any], bool], tree: PyTree,
                  is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    return any(pred(x) for x in tree_iter(tree, is_leaf=is_leaf) if isinstance(x, type_or_types))


def arg_tree_leaves(*args: PyTree, **kwargs: PyTree) -> list:
    """``tree_leaves((args, kwargs))``, faster."""
    leaves: list = []
    for a in args:
        leaves.extend(tree_iter(a))
    for a in kwargs.values():
        leaves.extend(tree_iter(a))
    return leaves


def _broadcast_to_and_flatten(tree: PyTree, treespec: TreeSpec,
                              is_leaf: Callable[[PyTree], bool] | None = None) -> list | None:
    """``tree`` (a prefix of ``treespec``'s structure) repeated to one entry per leaf; None if not a prefix."""
    full = treespec.unflatten([0] * treespec.num_leaves)
    result: list = []
    try:
        tree_map_(lambda x, sub: result.extend([x] * tree_structure(sub, is_leaf).num_leaves), tree, full,
                  is_leaf=is_leaf)
    except ValueError:
        return None
    return result


# ------------------------------------------------------------------------------------------ key paths


def _generate_key_paths(key_path: KeyPath, tree: PyTree, is_leaf: Callable[[PyTree], bool] | None) -> Iterator:
    if is_leaf is not None and is_leaf(tree):
        yield key_path, tree
        return
    node_type = _get_node_type(tree)
    handler = SUPPORTED_NODES.get(node_type)
    if handler is None:
        yield key_path, tree
        return
    if handler.flatten_with_keys_fn is None:
        raise ValueError(f"Did not find a flatten_with_keys_fn for type: {node_type}. Please pass a "
                         "flatten_with_keys_fn argument to register_pytree_node.")
    key_children, _ = handler.flatten_with_keys_fn(tree)
    for k, c in key_children:
        yield from _generate_key_paths((*key_path, k), c, is_leaf)


def tree_flatten_with_path(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
                           ) -> tuple[list[tuple[KeyPath, Any]], TreeSpec]:
    """Like :func:`tree_flatten`, with each leaf's key path: ``([(path, leaf)...], spec)``."""
    _, treespec = tree_flatten(tree, is_leaf)
    return list(_generate_key_paths((), tree, is_leaf)), treespec


def tree_leaves_with_path(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
                          ) -> list[tuple[KeyPath, Any]]:
    """``[(key path, leaf)...]`` of ``tree``.

    Example:
        >>> tree_leaves_with_path({"a": [5]})
        [((MappingKey(key='a'), SequenceKey(idx=0)), 5)]
    """
    return list(_generate_key_paths((), tree, is_leaf))


def tree_map_with_path(func: Callable[..., Any], tree: PyTree, *rests: PyTree,
                       is_leaf: Callable[[PyTree], bool] | None = None) -> PyTree:
    """Like :func:`tree_map`, with the leaf's key path as ``func``'s first argument.

    Example:
        >>> tree_map_with_path(lambda p, v: keystr(p), {"a": (1, 2)})
        {'a': ("['a'][0]", "['a'][1]")}
    """
    keypath_leaves, treespec = tree_flatten_with_path(tree, is_leaf)
    paths = [p for p, _ in keypath_leaves]
    values = [v for _, v in keypath_leaves]
    columns = [paths, values] + [treespec.flatten_up_to(r) for r in rests]
    return treespec.unflatten([func(*xs) for xs in zip(*columns)])


# ----------------------------------------------------------------------------------- serialization


class EnumEncoder(json.JSONEncoder):
    """JSON for enum members in a context, as PyTorch writes them."""

    def default(self, obj: object) -> Any:
        if isinstance(obj, Enum):
            return {"__enum__": True, "fqn": f"{obj.__class__.__module__}:{obj.__class__.__qualname__}",
                    "name": obj.name}
        return super().default(obj)


def enum_object_hook(obj: dict) -> Any:
    if "__enum__" in obj:
        modname, _, classname = obj["fqn"].partition(":")
        enum_cls: Any = importlib.import_module(modname)
        for attr in classname.split("."):
            enum_cls = getattr(enum_cls, attr)
        # an Enum only: PyTorch indexes whatever the name finds ("os:environ" would read a variable)
        if not (isinstance(enum_cls, type) and issubclass(enum_cls, Enum)):
            raise TypeError(f"treespec_loads: {obj['fqn']} is not an Enum class")
        return enum_cls[obj["name"]]
    return obj


def _treespec_to_json(treespec: TreeSpec) -> dict:
    if treespec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    if treespec.type not in SUPPORTED_SERIALIZED_TYPES:
        raise NotImplementedError(f"Serializing {treespec.type} in pytree is not registered.")
    node_def = SUPPORTED_SERIALIZED_TYPES[treespec.type]
    if node_def.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(f"No registered serialization name for {treespec.type} found. Please update your "
                                  "_register_pytree_node call with a `serialized_type_name` kwarg.")
    if node_def.to_dumpable_context is None:
        try:
            context = json.dumps(treespec._context, cls=EnumEncoder)
        except TypeError as e:
            raise TypeError("Unable to serialize context. Please make the context json dump-able, or register a "
                            "custom serializer using _register_pytree_node.") from e
    else:
        context = node_def.to_dumpable_context(treespec._context)
    return {"type": node_def.serialized_type_name, "context": context,
            "children_spec": [_treespec_to_json(c) for c in treespec._children]}


def _json_to_treespec(schema: dict) -> TreeSpec:
    if schema["type"] is None and schema["context"] is None and len(schema["children_spec"]) == 0:
        return _LEAF_SPEC
    if schema["type"] not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Deserializing {schema['type']} in pytree is not registered.")
    typ = SERIALIZED_TYPE_TO_PYTHON_TYPE[schema["type"]]
    node_def = SUPPORTED_SERIALIZED_TYPES[typ]
    if node_def.from_dumpable_context is None:
        try:
            context = json.loads(schema["context"], object_hook=enum_object_hook)
        except TypeError as e:
            raise TypeError("Unable to deserialize context. Please make the context json load-able, or register a "
                            "custom serializer using _register_pytree_node.") from e
    else:
        context = node_def.from_dumpable_context(schema["context"])
    return TreeSpec(typ, context, [_json_to_treespec(c) for c in schema["children_spec"]])


_SUPPORTED_PROTOCOLS = {1: (_treespec_to_json, _json_to_treespec)}


def treespec_dumps(treespec: TreeSpec, protocol: int | None = None) -> str:
    """``treespec`` as PyTorch's JSON text: ``[protocol, {"type", "context", "children_spec"}]``.

    Example:
        >>> treespec_dumps(tree_structure([1]))
        '[1, {"type": "builtins.list", "context": "null", "children_spec": [{"type": null, "context": null, "children_spec": []}]}]'
    """
    if not isinstance(treespec, TreeSpec):
        raise TypeError(f"Expected `treespec` to be an instance of PyTreeSpec but got item of type {type(treespec)}.")
    if protocol is None:
        protocol = DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL
    if protocol not in _SUPPORTED_PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol}. Available protocols: {list(_SUPPORTED_PROTOCOLS.keys())}")
    return json.dumps((protocol, _SUPPORTED_PROTOCOLS[protocol][0](treespec)), cls=EnumEncoder)


@functools.lru_cache
def treespec_loads(serialized: str) -> TreeSpec:
    """The :class:`TreeSpec` that :func:`treespec_dumps` (here or in PyTorch) wrote."""
    protocol, schema = json.loads(serialized)
    if protocol in _SUPPORTED_PROTOCOLS:
        return _SUPPORTED_PROTOCOLS[protocol][1](schema)
    raise ValueError(f"Unknown protocol {protocol}. Available protocols: {list(_SUPPORTED_PROTOCOLS.keys())}")


class _Asterisk(str):
    __slots__ = ()

    def __new__(cls) -> _Asterisk:
        return super().__new__(cls, "*")

    def __repr__(self) -> str:
        return "*"


_asterisk = _Asterisk()


def treespec_pprint(treespec: TreeSpec) -> str:
    """The structure as a Python literal with ``*`` for leaves.

    Example:
        >>> treespec_pprint(tree_structure({"a": (1, 2), "b": [3]}))
        "{'a': (*, *), 'b': [*]}"
    """
    return repr(tree_unflatten([_asterisk] * treespec.num_leaves, treespec))
