"""Turn a :class:`~ember.compiler._capture.Recording` into a replayable :class:`Graph`.

Every array a kernel call received is one of:

* an *input*: the array of a tensor passed to the compiled function (bound per call);
* a *node* result: made by an earlier kernel call of the same run;
* an *external*: read from a tensor that existed before the run (a parameter, a buffer, optimizer
  state, a gradient, a global), re-read from its :class:`~ember.compiler._sources.Path` per call;
* a *constant*: anything else (host arrays built from Python data, cached arrays), kept as is.

The graph also keeps what the run changed outside itself (*effects*: tensors given a new array,
leaves given a new ``.grad``) and what it returned, and a ``signature``: two runs with equal
signatures did the same work, which is what makes a replay safe.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from ember.compiler._capture import Recording
from ember.compiler._sources import Path, Sources
from ember.kernels import KERNELS

#: kernels that write into their arguments: never dead code
WRITES = frozenset(name for name, spec in KERNELS.items() if "writes into its arguments" in spec.native_only)


class Unreplayable(Exception):
    """A run that a replay could not reproduce; the message says why. ``retry``: the next run may
    well be replayable (state made on a first call, such as an optimizer's buffers)."""

    def __init__(self, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Ref:
    """A value of the graph: ``kind`` is ``in``/``ext``/``node``/``gin``; ``item`` picks a tuple item."""

    kind: str
    index: int
    item: int | None = None


@dataclass
class Node:
    kernel: str
    device_type: str
    args: tuple  # templates: Ref, ("const", k), literals, nested tuples/lists
    outs: int | None  # None: one result; k: a tuple of k results; -1: no result
    rng: tuple | None = None  # (generator, count, key position, offset position)
    host_copy: bool = False  # from_host of a constant host array: copy it on every replay
    check: Any = None  # a "__check__" node's error builder (ember._device_checks)


@dataclass
class OutTensor:
    """A tensor in the returned structure."""

    ref: Ref | None
    dtype: Any
    device: Any
    requires_grad: bool
    same: tuple | None = None  # ("in", k) or ("path", Path): the very tensor eager returned


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    n_inputs: int = 0
    externals: list[tuple[Path, tuple, Any, Any]] = field(default_factory=list)  # (path, shape, dtype, device)
    consts: list[Any] = field(default_factory=list)
    outputs: Any = None  # the returned structure, tensors as OutTensor
    rebinds: list[tuple[tuple, Ref]] = field(default_factory=list)  # ("in", k) or ("path", Path) gets the array
    grads: list[tuple[Path, Any]] = field(default_factory=list)  # leaf path, OutTensor or None
    #: ("in", k) or ("path", Path), and how much the run raised that tensor's version counter
    bumps: list[tuple[tuple, int]] = field(default_factory=list)
    signature: tuple = ()
    kernels_captured: int = 0
    meta: dict = field(default_factory=dict)  # Ref -> (shape, backend dtype) of every array value


def _is_array(a: Any) -> bool:
    # The kernel contract promises only ``.shape`` (and ``.ndim``) on a backend's arrays.
    return hasattr(a, "shape") and not isinstance(a, (numbers.Number, str, tuple, list))


def _meta(a: Any) -> tuple:
    """(shape, the backend's own dtype or None): what fusion needs to know of an array."""
    return tuple(a.shape), getattr(a, "dtype", None)


def const_key(v: Any) -> Any:
    """A hashable stand-in for a constant, equal for equal values (NaN included)."""
    if isinstance(v, float):
        return ("f", repr(v))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, *[const_key(x) for x in v])
    if type(v) is dict:
        return ("dict", *[(const_key(k), const_key(x)) for k, x in v.items()])
    if _is_array(v):
        try:
            import numpy as np

            if isinstance(v, np.ndarray):
                return ("nd", v.dtype.str, v.shape, v.tobytes())
        except ImportError:  # pragma: no cover - numpy comes with the cpu backend
            pass
        return ("id", id(v))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return (type(v).__name__, v)


def _signature_of(template: Any, consts: list) -> Any:
    if isinstance(template, Ref):
        return template
    if isinstance(template, tuple) and len(template) == 2 and template[0] == "const":
        return ("C", const_key(consts[template[1]]))
    if isinstance(template, (list, tuple)):
        return (type(template).__name__, *[_signature_of(x, consts) for x in template])
    return const_key(template)


def _param_positions(kernel: str) -> list[str]:
    spec = KERNELS.get(kernel)
    if spec is None:
        return []
    return [p.strip() for p in spec.signature.split("(", 1)[1].split(")", 1)[0].split(",")]


class Builder:
    """Builds a :class:`Graph` from one recording; ``refs`` maps ``id(array)`` to its :class:`Ref`."""

    def __init__(self, rec: Recording, sources: Sources, input_arrays: list) -> None:
        self.rec, self.sources = rec, sources
        self.g = Graph(n_inputs=len(input_arrays))
        self.refs: dict[int, Ref] = {id(a): Ref("in", i) for i, a in enumerate(input_arrays)}
        self._ext: dict[int, Ref] = {}
        for i, a in enumerate(input_arrays):
            self.g.meta[Ref("in", i)] = _meta(a)

    # ---- arguments ---------------------------------------------------------------------------
    def const(self, v: Any) -> tuple:
        self.g.consts.append(v)
        return ("const", len(self.g.consts) - 1)

    def template(self, a: Any) -> Any:
        if isinstance(a, (list, tuple)) and not _is_array(a):
            return type(a)(self.template(x) for x in a)
        if _is_array(a):
            ref = self.refs.get(id(a))
            if ref is not None:
                return ref
            owner = self.rec.read_from.get(id(a))
            if owner is not None:
                return self.external(a, owner)
            return self.const(a)
        if a is None or isinstance(a, (bool, int, str)) or (isinstance(a, float) and math.isfinite(a)):
            return a
        return self.const(a)

    def external(self, a: Any, owner: Any) -> Ref:
        ref = self._ext.get(id(a))
        if ref is None:
            path = self.sources.path_of(owner)
            self.g.externals.append((path, tuple(a.shape), owner._dtype, owner._device))
            ref = self._ext[id(a)] = Ref("ext", len(self.g.externals) - 1)
            self.g.meta[ref] = _meta(a)
        return ref

    def ref_of(self, a: Any) -> Ref:
        t = self.template(a)
        if not isinstance(t, Ref):
            raise Unreplayable("a result of the function is an array no kernel of the run made")
        return t

    # ---- calls -------------------------------------------------------------------------------
    def add_calls(self, calls: list) -> None:
        for call in calls:
            args = tuple(self.template(a) for a in call.args)
            out = call.out
            if out is None:
                outs = -1
            elif isinstance(out, tuple):
                outs = len(out)
            elif _is_array(out):
                outs = None
            else:
                raise Unreplayable(f"kernel {call.kernel} returned a {type(out).__name__}, not an array")
            rng = None
            if call.rng is not None:
                params = _param_positions(call.kernel)
                rng = (call.rng[0], call.rng[1], params.index("key"), params.index("offset"))
                args = tuple(None if i in (rng[2], rng[3]) else a for i, a in enumerate(args))
            host_copy = call.kernel == "from_host" and isinstance(args[0], tuple) and args[0][:1] == ("const",)
            index = len(self.g.nodes)
            self.g.nodes.append(Node(call.kernel, call.device_type, args, outs, rng, host_copy, call.check))
            if outs is None:
                ref = self.refs[id(out)] = Ref("node", index)
                self.g.meta[ref] = _meta(out)
            elif outs > 0:
                for j, o in enumerate(out):
                    if _is_array(o):
                        ref = self.refs[id(o)] = Ref("node", index, j)
                        self.g.meta[ref] = _meta(o)
        self.g.kernels_captured += len(calls)

    # ---- results and effects -----------------------------------------------------------------
    def out_tensor(self, t: Any, inputs: list) -> OutTensor:
        for i, x in enumerate(inputs):
            if x is t:
                return OutTensor(None, t._dtype, t._device, t.requires_grad, ("in", i))
        if id(t) not in self.rec.created:
            return OutTensor(None, t._dtype, t._device, t.requires_grad, ("path", self.sources.path_of(t)))
        return OutTensor(self.ref_of(t._data), t._dtype, t._device, t.requires_grad)

    def outputs(self, result: Any, inputs: list, seen: dict | None = None) -> Any:
        """The result's structure with an :class:`OutTensor` per tensor; a tensor returned twice is
        one OutTensor twice, so a replay returns one tensor twice, as eager mode did."""
        from ember.tensor import Tensor

        seen = {} if seen is None else seen
        if isinstance(result, Tensor):
            if id(result) not in seen:
                seen[id(result)] = (result, self.out_tensor(result, inputs))
            return seen[id(result)][1]
        if isinstance(result, (list, tuple)):
            items = [self.outputs(r, inputs, seen) for r in result]
            return tuple(items) if isinstance(result, tuple) and not hasattr(result, "_fields") else (
                type(result)(*items) if hasattr(result, "_fields") else items)
        if isinstance(result, dict):
            return {k: self.outputs(v, inputs, seen) for k, v in result.items()}
        if result is None or isinstance(result, (bool, int, float, str)):
            return result
        raise Unreplayable(f"the function returned a {type(result).__name__}; a replay can return "
                           "tensors, numbers, strings and lists, tuples or dicts of them")

    def effects(self, inputs: list) -> None:
        rec = self.rec
        for t in rec.rebound.values():
            ref = self.template(t._data)
            if not isinstance(ref, Ref) or ref == self._ext.get(id(t._data)):
                continue
            at = next((i for i, x in enumerate(inputs) if x is t), None)
            self.g.rebinds.append((("path", self.sources.path_of(t)) if at is None else ("in", at), ref))
        for t, before in rec.versions.values():
            if id(t) in rec.created or t._version[0] == before:
                continue
            at = next((i for i, x in enumerate(inputs) if x is t), None)
            self.g.bumps.append((("path", self.sources.path_of(t)) if at is None else ("in", at), t._version[0] - before))
        for leaf, before in rec.grad_set.values():
            after = leaf.grad
            if after is before:
                continue
            path = self.sources.path_of(leaf)
            if after is None:
                self.g.grads.append((path, None))
            elif id(after) in rec.created:
                self.g.grads.append((path, OutTensor(self.ref_of(after._data), after._dtype, after._device,
                                                     after.requires_grad)))
            else:
                raise Unreplayable("a .grad was set to a tensor made before the call")

    def finish(self) -> Graph:
        g = self.g
        sig_nodes = tuple((n.kernel, n.device_type, _signature_of(n.args, g.consts), n.outs,
                           None if n.rng is None else (id(n.rng[0]), n.rng[1]),
                           None if n.check is None else id(getattr(n.check, "__code__", n.check)))
                          for n in g.nodes)
        g.signature = (sig_nodes, tuple((p.key, s, d, str(v)) for p, s, d, v in g.externals),
                       _out_signature(g.outputs),
                       tuple((w if w[0] == "in" else w[1].key, r) for w, r in g.rebinds),
                       tuple((w if w[0] == "in" else w[1].key, n) for w, n in g.bumps),
                       tuple((p.key, None if o is None else (o.ref, o.dtype, o.requires_grad)) for p, o in g.grads))
        return g


def _out_signature(o: Any) -> Any:
    if isinstance(o, OutTensor):
        same = o.same if o.same is None or o.same[0] == "in" else ("path", o.same[1].key)
        return ("T", o.ref, o.dtype, o.device, o.requires_grad, same)
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, *[_out_signature(x) for x in o])
    if isinstance(o, dict):
        return ("dict", *[(k, _out_signature(v)) for k, v in o.items()])
    return const_key(o)


def live_nodes(g: Graph, roots: list[Ref], start: int = 0, stop: int | None = None) -> list[bool]:
    """Dead-code elimination: which nodes of ``start:stop`` a result, an effect or a write needs."""
    stop = len(g.nodes) if stop is None else stop
    live = [False] * len(g.nodes)
    stack = [r.index for r in roots if r.kind == "node" and start <= r.index < stop]
    stack += [i for i in range(start, stop) if g.nodes[i].kernel in WRITES or g.nodes[i].check is not None]
    while stack:
        i = stack.pop()
        if live[i] or not start <= i < stop:
            continue
        live[i] = True
        for r in refs_in(g.nodes[i].args):
            if r.kind == "node" and not live[r.index]:
                stack.append(r.index)
    return live


def refs_in(template: Any) -> list[Ref]:
    """The graph values an argument template reads (nested tuples and lists included)."""
    if isinstance(template, Ref):
        return [template]
    if isinstance(template, (list, tuple)):
        return [r for x in template for r in refs_in(x)]
    return []


def result_refs(g: Graph) -> list[Ref]:
    out: list[Ref] = []

    def visit(o: Any) -> None:
        if isinstance(o, OutTensor):
            if o.ref is not None:
                out.append(o.ref)
        elif isinstance(o, (list, tuple)):
            for x in o:
                visit(x)
        elif isinstance(o, dict):
            for x in o.values():
                visit(x)

    visit(g.outputs)
    out += [r for _, r in g.rebinds]
    out += [o.ref for _, o in g.grads if o is not None]
    return out
