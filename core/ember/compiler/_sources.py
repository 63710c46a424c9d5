"""Where a compiled function's state lives, so each replay reads it afresh and guards on it.

A replay runs no Python, so it cannot look a tensor up the way the function does
(``self.fc.weight``, ``optimizer.state[p]["exp_avg"]``, a global ``x``). At capture time the
function's reachable objects are walked once (its arguments, ``self``, closure cells and the
globals its code names; modules, optimizers and tensors found there) and every tensor found gets
a :class:`Path`: how to find it again. A tensor read during the run is then an *external* of the
graph, re-resolved from its path on every call, so rebinding a global or a parameter is seen.
Modules and optimizers found give the guards their training flags and hyperparameters.
"""

from __future__ import annotations

import functools
import operator
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


class Path:
    """How to find a tensor again: ``resolve()`` returns it (or None), ``key`` names it."""

    __slots__ = ("key", "_get")

    def __init__(self, key: tuple, get: Any) -> None:
        self.key = key
        self._get = get

    def resolve(self) -> Any:
        return self._get()

    def __repr__(self) -> str:
        return f"Path{self.key[0]}:{self.key[-1]!r}"


def item_path(container: dict, name: Any, label: str) -> Path:
    return Path(("item", id(container), name, label), lambda: container.get(name))


def cell_path(cell: types.CellType, label: str) -> Path:
    def get() -> Any:
        try:
            return cell.cell_contents
        except ValueError:
            return None

    return Path(("cell", id(cell), label), get)


def grad_path(leaf: Any, label: str) -> Path:
    return Path(("grad", id(leaf), label), lambda: leaf.grad)


def state_path(optimizer: Any, param: Any, key: str, label: str) -> Path:
    """``optimizer.state[param][key]`` looked up afresh: ``load_state_dict`` gives the optimizer new
    state dicts (and new tensors), which a replay must then read and update."""
    def get() -> Any:
        st = optimizer.state.get(param)
        return None if st is None else st.get(key)

    return Path(("state", id(optimizer), id(param), key, label), get)


def index_path(seq: Any, i: int, label: str) -> Path:
    return Path(("index", id(seq), i, label), lambda: seq[i] if i < len(seq) else None)


def tensor_path(t: Any) -> Path:
    return Path(("tensor", id(t), "tensor"), lambda: t)


@dataclass
class Sources:
    """The tensors, modules and optimizers a function reaches, found once per capture."""

    paths: dict[int, Path] = field(default_factory=dict)  # id(tensor) -> where it is
    modules: list = field(default_factory=list)
    optimizers: list = field(default_factory=list)
    #: leaf tensors that require grad, and parameters that do not (yet): their .grad has a path, and
    #: whether each has a .grad and requires grad is guarded (freezing a layer recaptures)
    leaves: list = field(default_factory=list)
    #: (key, getter) of the Python numbers and strings, and small lists, tuples and dicts of them, that
    #: the function may read (module attributes such as ``dropout.p``, globals and closure cells its code
    #: names): a replay freezes them, so they are guarded
    scalars: list = field(default_factory=list)
    #: (key, getter, object) of the globals and closure cells that hold objects (see add_identity)
    identities: list = field(default_factory=list)
    #: ids of the tensors found from the function itself (before its arguments were walked)
    reached_by_fn: set = field(default_factory=set)
    _seen: set = field(default_factory=set)

    def add_scalar(self, key: tuple, getter: Any) -> None:
        self.scalars.append((key, getter))

    def add_identity(self, key: tuple, getter: Any, value: Any) -> None:
        """A global or closure cell holding an object (a model, an optimizer, a helper function):
        binding another object to it changes what the function runs, so its identity is guarded."""
        self.identities.append((("id", *key), getter, value))

    def path_of(self, t: Any) -> Path:
        """The path of a tensor found by the walk, or one that holds the tensor itself."""
        p = self.paths.get(id(t))
        if p is None:
            p = self.paths[id(t)] = tensor_path(t)
        return p

    # ---- walking -----------------------------------------------------------------------------
    def add_tensor(self, t: Any, path: Path) -> None:
        from ember.nn.parameter import Parameter

        self.paths.setdefault(id(t), path)
        if (t._requires_grad or isinstance(t, Parameter)) and t.grad_fn is None and id(t) not in self._seen:
            self._seen.add(id(t))
            self.leaves.append(t)
            g = t.grad
            if g is not None:
                self.paths.setdefault(id(g), grad_path(t, f"{path.key[-1]}.grad"))

    def walk(self, obj: Any, label: str, depth: int = 0) -> None:
        from ember.nn.modules.module import Module
        from ember.tensor import Tensor

        if id(obj) in self._seen or depth > 3:
            return
        if isinstance(obj, Tensor):
            return  # tensors are added with their path by the caller
        if isinstance(obj, Module):
            self._seen.add(id(obj))
            for name, mod in obj.named_modules(prefix=label):
                if id(mod) != id(obj):
                    self._seen.add(id(mod))
                self.modules.append(mod)
                self.walk_class(type(mod))
                for store in (mod._parameters, mod._buffers):
                    for key, t in store.items():
                        if t is not None:
                            self.add_tensor(t, item_path(store, key, f"{name}.{key}"))
                # (of other objects, only lists of tensors and configuration objects: a module's
                # attributes are mostly ember's own)
                self.walk_attributes(mod, name, depth, skip=_module_internals(), objects_only=True)
                # the globals and closure of the user's own forward (ember's modules read none that matter)
                forward = getattr(type(mod), "forward", None)
                if not type(mod).__module__.startswith("ember.") and isinstance(forward, types.FunctionType) \
                        and id(forward) not in self._seen:
                    self._seen.add(id(forward))
                    self.walk_function(forward, depth + 1)
            return
        if hasattr(obj, "param_groups") and hasattr(obj, "state") and isinstance(obj.state, dict):
            self._seen.add(id(obj))
            self.optimizers.append(obj)
            for group in obj.param_groups:
                for p in group["params"]:
                    if isinstance(p, Tensor):
                        self.add_tensor(p, tensor_path(p))
            for param, st in obj.state.items():
                if isinstance(st, dict):
                    for key, t in st.items():
                        if isinstance(t, Tensor):
                            self.add_tensor(t, state_path(obj, param, key, f"{label}.state[..][{key!r}]"))
            return
        if isinstance(obj, (types.FunctionType, types.MethodType)):
            self._seen.add(id(obj))
            self.walk_function(obj, depth + 1)
            return
        if isinstance(obj, functools.partial):  # a helper bound to its arguments: they are read as a closure's
            self._seen.add(id(obj))
            self.walk(obj.func, label, depth + 1)
            self.add_scalar(("partial", id(obj)), functools.partial(_partial_plain, obj))
            for i, v in enumerate(obj.args):
                if isinstance(v, Tensor):
                    self.add_tensor(v, index_path(obj.args, i, f"{label}.args[{i}]"))
                elif not _plain(v):
                    self.walk(v, f"{label}.args[{i}]", depth + 1)
            self.walk(obj.keywords, f"{label}.keywords", depth + 1)
            return
        if isinstance(obj, type):  # a class of the user's: its class attributes (``C.scale``)
            self.walk_class(obj)
            return
        # A list's length and a dict's keys are guarded: a loop over them runs as many times as at the
        # capture in every replay, so one that grew or shrank must recapture. Their Python values are
        # guarded one by one (``[weight, 2.0]``: a replay computes with the 2.0 of its capture).
        if isinstance(obj, (list, tuple)) and len(obj) <= 64:
            self._seen.add(id(obj))
            if isinstance(obj, list):
                self.add_scalar(("len", id(obj)), obj.__len__)
            for i, v in enumerate(obj):
                if isinstance(v, Tensor):
                    self.add_tensor(v, index_path(obj, i, f"{label}[{i}]"))
                elif _plain(v):
                    if isinstance(obj, list) or not _scalar(v):  # (a tuple's numbers cannot change)
                        self.add_scalar(("index", id(obj), i), index_path(obj, i, label).resolve)
                else:
                    self.walk(v, f"{label}[{i}]", depth + 1)
        elif isinstance(obj, dict) and len(obj) <= 64:
            self._seen.add(id(obj))
            self.add_scalar(("keys", id(obj)), functools.partial(tuple, obj))
            for k, v in obj.items():
                if isinstance(v, Tensor):
                    self.add_tensor(v, item_path(obj, k, f"{label}[{k!r}]"))
                elif _plain(v):
                    self.add_scalar(("item", id(obj), k), functools.partial(obj.get, k))
                else:
                    self.walk(v, f"{label}[{k!r}]", depth + 1)
        elif isinstance(obj, (list, dict)) and len(obj) <= BIG_CONTAINER:
            # Too big to guard item by item: one guard on which objects it holds (identities, compared
            # in C), so an item changed or rebound recaptures. Past BIG_CONTAINER, it is not guarded.
            self._seen.add(id(obj))
            self.add_scalar(("contents", id(obj)), _Contents(obj))
        elif _plain_object(obj):
            # a configuration object of the user's (a dataclass, a SimpleNamespace): its numbers are
            # read into the computation (``self.cfg.dropout``) as a module's attributes are
            self._seen.add(id(obj))
            self.walk_class(type(obj))
            self.walk_attributes(obj, label, depth)

    def walk_class(self, cls: type) -> None:
        """Guard the Python values among the class attributes of ``cls`` and its bases that are the
        user's own (``scale = 2.0`` in a class body, read as ``self.scale`` or ``C.scale``)."""
        for klass in cls.__mro__:
            if id(klass) in self._seen or klass.__module__ in ("builtins", "types") \
                    or klass.__module__.startswith(("ember.", "typing", "abc", "collections", "enum")):
                continue
            self._seen.add(id(klass))
            for key, v in list(vars(klass).items()):
                if not key.startswith("__") and _plain(v):
                    self.add_scalar(("class", id(klass), key), functools.partial(_class_attr, klass, key))

    def walk_attributes(self, obj: Any, label: str, depth: int, skip: frozenset = frozenset(),
                        objects_only: bool = False) -> None:
        """The instance attributes of ``obj`` but those in ``skip``: tensors get their path, Python
        values a guard, other objects are walked (with ``objects_only``, only containers and
        configuration objects)."""
        from ember.tensor import Tensor

        attrs = vars(obj)
        for key, v in attrs.items():
            if key in skip:
                continue
            if isinstance(v, Tensor):
                self.add_tensor(v, item_path(attrs, key, f"{label}.{key}"))
            elif _plain(v):
                self.add_scalar(("attr", id(obj), key), functools.partial(attrs.get, key))
            elif not objects_only or isinstance(v, (list, tuple, dict)) or _plain_object(v):
                self.walk(v, f"{label}.{key}", depth + 1)

    def walk_function(self, fn: Any, depth: int = 0) -> None:
        from ember.tensor import Tensor

        if isinstance(fn, types.MethodType):
            self.walk(fn.__self__, "self", depth)
            fn = fn.__func__
        code = getattr(fn, "__code__", None)
        if code is None:
            return
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, Tensor):
                self.add_tensor(value, cell_path(cell, name))
            elif _plain(value):
                self.add_scalar(("cell", id(cell)), cell_path(cell, name).resolve)
            else:
                self.add_identity(("cell", id(cell)), cell_path(cell, name).resolve, value)
                self.walk(value, name, depth)
        # default arguments are read as closure cells are: a mutable default (``cfg={"s": 2.0}``)
        # changed in place, or ``__defaults__`` rebound, changes what the next call computes
        for attr in ("__defaults__", "__kwdefaults__"):
            values = getattr(fn, attr, None)
            for k, value in (values.items() if isinstance(values, dict) else enumerate(values or ())):
                path = Path((attr, id(fn), k), functools.partial(_default_of, fn, attr, k))
                if isinstance(value, Tensor):
                    self.add_tensor(value, path)
                elif _plain(value):
                    self.add_scalar(path.key, path.resolve)
                else:
                    self.add_identity(path.key, path.resolve, value)
                    self.walk(value, f"{fn.__name__}.{attr}[{k!r}]", depth)
        g = fn.__globals__
        for name in _names(code):
            value = g.get(name, _MISSING)
            if value is _MISSING:
                continue
            if isinstance(value, Tensor):
                self.add_tensor(value, item_path(g, name, name))
            elif _plain(value):
                self.add_scalar(("global", id(g), name), functools.partial(g.get, name))
            elif not isinstance(value, types.ModuleType):
                self.add_identity(("global", id(g), name), functools.partial(g.get, name), value)
                self.walk(value, name, depth)


#: the largest list or dict guarded as a whole (see ``_Contents``); bigger ones are not guarded
BIG_CONTAINER = 4096


class _Contents:
    """A guard getter for a big list or dict: a number that changes when it holds other objects
    (an item rebound, added or removed), compared by identity in C (about 1 ns an item)."""

    __slots__ = ("obj", "items", "version")

    def __init__(self, obj: list | dict) -> None:
        self.obj, self.version = obj, 0
        self.items = self._items()

    def _items(self) -> list:
        o = self.obj
        return [*o, *o.values()] if type(o) is dict else list(o)

    def __call__(self) -> int:
        now = self._items()
        if len(now) != len(self.items) or not all(map(operator.is_, now, self.items)):
            self.items = now
            self.version += 1
        return self.version


def _partial_plain(p: functools.partial) -> Any:
    """The Python values a ``functools.partial`` binds (its tensors and objects have paths)."""
    return (tuple(v for v in p.args if _plain(v)), {k: v for k, v in p.keywords.items() if _plain(v)})


def _class_attr(klass: type, key: str) -> Any:
    return vars(klass).get(key)


def _default_of(fn: Any, attr: str, k: Any) -> Any:
    """``fn``'s default argument ``k`` as it is now (None when there is none any more)."""
    values = getattr(fn, attr, None)
    if isinstance(values, dict):
        return values.get(k)
    return values[k] if values is not None and k < len(values) else None


def _scalar(v: Any) -> bool:
    return v is None or type(v) in (bool, int, float, str)


def _plain(v: Any, depth: int = 0) -> bool:
    """A Python number or string, or a small list, tuple or dict of them (nested once): a value the
    function may read into its computation (``self.scales[1]``, ``CONFIG["mult"]``), which a replay
    freezes, so its contents are guarded."""
    if _scalar(v):
        return True
    if type(v) not in (list, tuple, dict) or depth >= 2 or len(v) > 64:
        return False
    if type(v) is dict:
        return all(_scalar(k) and _plain(x, depth + 1) for k, x in v.items())
    return all(_plain(x, depth + 1) for x in v)


def _plain_object(obj: Any) -> bool:
    """An instance of a user's class with a small ``__dict__`` (not a class, module or function)."""
    attrs = getattr(obj, "__dict__", None)
    return (type(attrs) is dict and len(attrs) <= 64 and not isinstance(obj, type)
            and not isinstance(obj, (types.ModuleType, types.FunctionType, types.MethodType, functools.partial))
            and not type(obj).__module__.startswith("ember."))


_INTERNALS: list = []


def _module_internals() -> frozenset:
    """The attributes every Module has from ``Module.__init__`` (hooks, stores): its own, not the
    user's, and guarded elsewhere or not read by a forward."""
    if not _INTERNALS:
        from ember.nn.modules.module import Module

        _INTERNALS.append(frozenset(vars(Module())))
    return _INTERNALS[0]


def _names(code: types.CodeType) -> Iterable[str]:
    """The global names a code object and the functions nested in it use."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def discover(fn: Any, args: tuple, kwargs: dict) -> Sources:
    """Walk what ``fn`` can reach (see the module docstring)."""
    src = Sources()
    src.walk(fn, getattr(fn, "__name__", type(fn).__name__))
    src.reached_by_fn = set(src.paths)
    for i, a in enumerate(args):
        src.walk(a, f"arg{i}")
    for k, a in kwargs.items():
        src.walk(a, k)
    return src
