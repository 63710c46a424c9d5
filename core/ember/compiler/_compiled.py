"""``CompiledFunction``: capture a function's kernels, check the capture is stable, then replay it.

Per call: the guard key (input shapes, dtypes, devices, layouts, requires_grad and aliasing, grad
mode, autocast, default dtype, training flags, submodules and hooks of the modules it reaches, which
parameters have a ``.grad`` and which require grad, the Python values it reads, optimizer
hyperparameters) picks a cache entry. An entry goes through three states:

1. *capturing*: the call runs eagerly under a :class:`~ember.compiler._capture.Recorder` (so its
   results are eager results) and the kernels it ran become a graph;
2. once two consecutive captures have the same signature (same kernels, constants, externals,
   effects), the graph is *stable*: it is optimized (dead code, fusion) and turned into a replay;
3. *replaying*: later calls run only the replay, then redo the effects (new arrays of buffers,
   new gradients) and build the returned tensors.

A capture that saw something a replay cannot redo (a host read such as ``.item()``, a
data-dependent shape, a tensor made inside and kept outside) makes that entry run eagerly from
then on; the reason is counted in ``stats.graph_breaks`` (``fullgraph=True`` raises it instead).
"""

from __future__ import annotations

import copy
import gc
import os
import threading
import time
import weakref
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ember import dtypes as _dtypes
from ember.amp.autocast_mode import _STATE as AMP
from ember.autograd.function import Node
from ember.autograd.grad_mode import STATE as GRAD
from ember.compiler._capture import Recorder
from ember.compiler._graph import Builder, Graph, Ref, Unreplayable, const_key, refs_in, result_refs
from ember.compiler._replay import make_call, make_fast, make_runner
from ember.compiler._sources import Sources, discover

#: how many consecutive captures may differ before an entry gives up and stays eager
UNSTABLE_LIMIT = 4


#: every CompiledFunction alive, for ``ember.compiler.reset``
LIVE: weakref.WeakSet = weakref.WeakSet()


class _Global(threading.local):
    recorder: Recorder | None = None


_GLOBAL = _Global()


def is_compiling() -> bool:
    """True while ``ember.compile`` is capturing a function (``torch.compiler.is_compiling``)."""
    return _GLOBAL.recorder is not None


def disabled_by_env() -> bool:
    return os.environ.get("EMBER_COMPILE_DISABLE", "") not in ("", "0")


class GraphBreak(RuntimeError):
    """Raised with ``fullgraph=True`` when the function cannot be captured as one graph."""


@dataclass
class CompileStats:
    """What a compiled function did: counts, reasons and the kernels per call before/after."""

    captures: int = 0
    replays: int = 0
    eager_calls: int = 0
    capture_seconds: float = 0.0
    graph_breaks: Counter = field(default_factory=Counter)
    recaptures: Counter = field(default_factory=Counter)
    kernels_captured: int = 0  # kernels one eager call ran (last stable graph)
    kernels_replayed: int = 0  # launches one replay makes (after dead code and fusion)
    fused_groups: int = 0

    def summary(self) -> str:
        lines = [f"captures {self.captures} ({self.capture_seconds * 1e3:.1f} ms), replays {self.replays}, "
                 f"eager calls {self.eager_calls}",
                 f"kernels per call: {self.kernels_captured} eager -> {self.kernels_replayed} replayed "
                 f"({self.fused_groups} fused groups)"]
        for reason, n in self.graph_breaks.most_common():
            lines.append(f"graph break x{n}: {reason}")
        for reason, n in self.recaptures.most_common():
            lines.append(f"recapture x{n}: {reason}")
        return "\n".join(lines)


class _Entry:
    """One guard key's state: the last capture's signature, then its plan (or why it stays eager)."""

    __slots__ = ("signature", "unstable", "broken", "plan")

    def __init__(self) -> None:
        self.signature: tuple | None = None
        self.unstable = 0
        self.broken: str | None = None
        self.plan: _Plan | None = None


@dataclass
class _Plan:
    """A stable graph made runnable: the replays and how to rebuild results and effects."""

    graph: Graph
    want: list[Ref]
    forward: Any  # the forward's replay on its own (ember.compiler._replay.make_runner)
    source: str = ""  # its source, for reading
    n_inputs: int = 0  # tensors among the arguments
    fused: dict = field(default_factory=dict)  # node index -> fused group (ember.compiler._fusion.fuse)
    split: int = 0  # where the forward's nodes end and the captured backward's begin
    saved: list = field(default_factory=list)  # the forward's results the backward reads
    backward: Any = None  # (runner, grad refs, target metas) when outputs need gradients
    grad_outputs: list = field(default_factory=list)  # indexes of outputs that require grad
    targets: list = field(default_factory=list)  # ("in", k) or ("path", Path)
    attach: Any = None  # what hangs the backward on a replay's outputs (_attach_backward)
    call: Any = None  # the generated call: externals, forward nodes, effects, results (make_call)
    call_source: str = ""
    fast: Any = False  # the class whose __call__ is this plan's inline cache; False: not built yet
    #: the tensors the backward reads, ("out", k), ("in", k) or ("ext", k): modified in place after
    #: the forward, they make its backward raise, as eager mode's saved tensors do
    version_checks: tuple = ()
    fast_source: str = ""


def _flatten(obj: Any, out: list) -> Any:
    """The tensors of an argument structure, and a hashable key of everything else."""
    from ember.tensor import Tensor

    if isinstance(obj, Tensor):
        out.append(obj)
        return "T"
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, *[_flatten(x, out) for x in obj])
    if isinstance(obj, dict):
        return ("dict", *[(k, _flatten(v, out)) for k, v in obj.items()])
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return const_key(obj)
    return ("obj", id(obj))


class CompiledFunction:
    """A function (or a module's call) run through capture and replay; see :func:`ember.compile`."""

    def __init__(self, fn: Any, *, fullgraph: bool = False, backend: str = "inductor",
                 cache_size_limit: int = 8, fuse: bool = True) -> None:
        self._fn = fn
        self.fullgraph = fullgraph
        self.backend = backend
        self.cache_size_limit = cache_size_limit
        self.fuse = fuse and backend == "inductor"
        self.stats = CompileStats()
        self._cache: OrderedDict[tuple, _Entry] = OrderedDict()
        self._modules: list = []
        self._leaves: list = []
        self._optimizers: list = []
        self._scalars: list = []  # getters of the Python numbers the function reads (see _sources)
        self._scalar_keys: set = set()
        self._kept: dict = {}  # objects guards name by id (submodules, identity guards), kept alive: no other takes an id
        self._eager = backend == "eager" or disabled_by_env()
        if _TensorType[0] is None:
            from ember.tensor import Tensor

            _TensorType[0] = Tensor
        LIVE.add(self)

    def _fresh_copy(self, fn: Any) -> CompiledFunction:
        """A CompiledFunction of ``fn`` with this one's options and wrapper attributes, no captures."""
        attrs = {k: v for k, v in self.__dict__.items() if k in _WRAPPER_ATTRS}
        if "__wrapped__" in attrs:
            attrs["__wrapped__"] = fn
        return _compiled_again(fn, self.fullgraph, self.backend, self.cache_size_limit, self.fuse, attrs)

    def __reduce__(self) -> tuple:
        """Pickled as the function and the options (``ember.save`` of a compiled module): captures
        are generated code and arrays of this process, and the loaded one captures afresh."""
        return (_compiled_again, (self._fn, self.fullgraph, self.backend, self.cache_size_limit, self.fuse,
                                  {k: v for k, v in self.__dict__.items() if k in _WRAPPER_ATTRS}))

    def __copy__(self) -> CompiledFunction:
        """A compiled function of the same function, with no captures (they are per instance)."""
        return self._fresh_copy(self._fn)

    def __deepcopy__(self, memo: dict) -> CompiledFunction:
        """A compiled function of a deep copy of the function (a module's copy, when it is an
        ``OptimizedModule``'s), with no captures: a capture's guards, externals and replays name
        the original's modules and tensors, so reusing them would run the original's weights."""
        return self._fresh_copy(copy.deepcopy(self._fn, memo))

    def reset(self) -> None:
        """Forget every capture (the next calls capture again)."""
        self._cache.clear()
        self._drop_fast()
        self._modules, self._leaves, self._optimizers, self._scalars = [], [], [], []
        self._scalar_keys = set()
        self._kept = {}

    # ---- the call -----------------------------------------------------------------------------
    _recording = _GLOBAL  # read by the inline cache (make_fast)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict) -> Any:
        """The general path: key the call, then capture, replay or run eagerly. After a replay the
        plan's inline cache becomes this instance's ``__call__`` (see :meth:`_set_fast`)."""
        if self._eager or _GLOBAL.recorder is not None:
            return self._fn(*args, **kwargs)  # inside another capture: inlined into it
        tensors: list = []
        try:
            key = self._key(args, kwargs, tensors)
            entry = self._cache.get(key)
        except TypeError:  # an unhashable argument: nothing to key a capture on
            self.stats.eager_calls += 1
            return self._fn(*args, **kwargs)
        if entry is None:
            if len(self._cache) >= self.cache_size_limit:
                # As torch.compile's recompile limit: a function whose guards change on every call (a
                # per-step learning rate, ever new shapes) would otherwise pay a capture per call.
                self.stats.eager_calls += 1
                self.stats.graph_breaks[f"cache_size_limit ({self.cache_size_limit}) reached: a call with new "
                                        "guards (input shapes or dtypes, Python numbers such as a learning "
                                        "rate, training flags) runs eagerly"] += 1
                return self._fn(*args, **kwargs)
            entry = self._cache[key] = _Entry()
        if entry.broken is not None:
            self.stats.eager_calls += 1
            return self._fn(*args, **kwargs)
        plan = entry.plan
        if plan is not None:
            out, failed = plan.call(tensors)
            if out is not _GUARD_FAILED:
                self.stats.replays += 1
                if not kwargs:
                    self._set_fast(plan, args)
                return out
            path = plan.graph.externals[failed][0]
            self.stats.recaptures[f"{path} changed since the capture"] += 1
            entry.plan, entry.signature = None, None
        return self._capture(entry, key, args, kwargs, tensors)

    def _key(self, args: tuple, kwargs: dict, tensors: list) -> tuple:
        """The guard key of a call (see the module docstring). Hot: one pass, identities for the
        interned dtypes and devices, the array's strides for its layout."""
        parts: list = [GRAD.enabled, id(_dtypes._default_float)]
        if AMP.on:
            parts.append((tuple(sorted(AMP.enabled.items())), tuple(sorted((k, str(v)) for k, v in AMP.dtypes.items()))))
        tensor_type = _TensorType[0]
        for a in args:
            if isinstance(a, tensor_type):
                tensors.append(a)
                parts.append(_meta(a))
            else:
                n = len(tensors)
                parts.append(_flatten(a, tensors))
                parts += [_meta(t) for t in tensors[n:]]
        if kwargs:
            n = len(tensors)
            parts.append(_flatten(kwargs, tensors))
            parts += [_meta(t) for t in tensors[n:]]
        if len(tensors) > 1:
            # which arguments are one array: a capture maps arrays to inputs, so (a, a) and (a, b)
            # are different graphs
            parts.append(alias_pattern(tensors))
        if self._modules:
            parts.append(tuple([module_guard(m) for m in self._modules]))
        if self._scalars:
            parts.append(tuple([const_key(get()) for get in self._scalars]))
        if self._leaves:
            parts.append(tuple([(p._grad is None, p._requires_grad) for p in self._leaves]))
        for opt in self._optimizers:
            parts.append(tuple(tuple((k, const_key(v)) for k, v in g.items() if k != "params")
                               for g in opt.param_groups))
        return tuple(parts)

    # ---- capture ------------------------------------------------------------------------------
    def _capture(self, entry: _Entry, key: tuple, args: tuple, kwargs: dict, tensors: list) -> Any:
        t0 = time.perf_counter()
        sources = discover(self._fn, args, kwargs)
        self._drop_fast()
        if self._learn(sources):  # new guards: key this call again, before it changes any state
            fresh = entry.signature is None and entry.unstable == 0
            if fresh and self._cache.get(key) is entry:
                del self._cache[key]
            entry = self._cache.setdefault(self._key(args, kwargs, []), entry if fresh else _Entry())
        recorder = Recorder()
        recorder.install()
        _GLOBAL.recorder = recorder
        try:
            result = self._fn(*args, **kwargs)
            try:
                graph, plan_parts = self._build(recorder, sources, tensors, result)
            except Unreplayable as why:
                graph, plan_parts = None, why
        finally:
            _GLOBAL.recorder = None
            recorder.uninstall()
        self.stats.captures += 1
        self.stats.capture_seconds += time.perf_counter() - t0
        if graph is None:
            if not plan_parts.retry:
                self._break(entry, str(plan_parts))
                return result
            entry.signature = None
            self._unstable(entry, str(plan_parts))
        elif entry.signature == graph.signature:
            entry.plan = self._plan(graph, plan_parts)
        else:
            if entry.signature is not None:
                self._unstable(entry, "the function ran different kernels or constants on every call "
                                      "(a Python value that changes per call flows into the computation)")
            entry.signature = graph.signature
        return result

    def _unstable(self, entry: _Entry, reason: str) -> None:
        entry.unstable += 1
        if entry.unstable >= UNSTABLE_LIMIT:
            self._break(entry, reason)

    def _set_fast(self, plan: _Plan, args: tuple) -> None:
        """Make ``plan``'s inline cache this instance's ``__call__``.

        Python looks ``__call__`` up on the type, so the cache is the ``__call__`` of a subclass
        made once per plan, and this instance's class becomes it: a call that passes the guards is
        then one generated frame (no general path, no key built), while a call that fails them
        reaches :meth:`_call`. Capturing again or ``reset`` puts the plain class back."""
        fast = plan.fast
        if fast is False:  # built once per plan, from the call that first replayed it
            made = make_fast(self, args, plan, CompiledFunction._call)
            fast = None
            if made is not None:
                fast = type(CompiledFunction.__name__, (CompiledFunction,), {"__call__": made[0], "__slots__": ()})
                plan.fast_source = made[1]
            plan.fast = fast
        self.__class__ = fast or CompiledFunction

    def _drop_fast(self) -> None:
        self.__class__ = CompiledFunction

    def _learn(self, sources: Sources) -> bool:
        """Guards grow with what captures found (modules, leaves, optimizers); True when they grew
        (a key only ever gains parts then, so older keys simply stop matching)."""
        grew = False
        for attr, found in (("_modules", sources.modules), ("_leaves", sources.leaves),
                            ("_optimizers", sources.optimizers)):
            known = getattr(self, attr)
            ids = {id(x) for x in known}
            new = [x for x in found if id(x) not in ids]
            if new:
                setattr(self, attr, known + new)
                grew = True
        for key, getter in sources.scalars:
            if key not in self._scalar_keys:
                self._scalar_keys.add(key)
                self._scalars = self._scalars + [getter]
                grew = True
        for key, getter, value in sources.identities:
            self._kept[id(value)] = value
            if key not in self._scalar_keys:
                self._scalar_keys.add(key)
                self._scalars = self._scalars + [_identity_of(getter)]
                grew = True
        return grew

    def _break(self, entry: _Entry, reason: str) -> None:
        entry.broken = reason
        self.stats.graph_breaks[reason] += 1
        if self.fullgraph:
            raise GraphBreak(f"ember.compile(fullgraph=True): {reason}")

    def _build(self, recorder: Recorder, sources: Sources, tensors: list, result: Any) -> tuple[Graph, Any]:
        rec = recorder.rec
        if rec.breaks:
            raise Unreplayable(rec.breaks[0])
        if recorder._pending_rng:
            raise Unreplayable("random counters were drawn without a random kernel")
        for i, t in enumerate(tensors):
            if id(t) in sources.reached_by_fn:
                # Its reads through the module or global and through the argument are one array in
                # the capture: a replay given another argument could not tell which read is which.
                raise Unreplayable(f"argument tensor {i} is also reachable by the function itself (a parameter, a "
                                   "buffer or a global it reads); pass it one way only")
        b = Builder(rec, sources, [t._data for t in tensors])
        b.add_calls(rec.calls)
        b.g.outputs = b.outputs(result, tensors)
        b.effects(tensors)
        _check_escapes(rec, result)
        aot = None
        if GRAD.enabled and not rec.backward_ran:
            aot = self._capture_backward(recorder, b, sources, tensors, result)
        graph = b.finish()
        if aot is not None:
            graph.signature += (("backward", aot[0]),)
        return graph, aot

    def _capture_backward(self, recorder: Recorder, b: Builder, sources: Sources, tensors: list,
                          result: Any) -> tuple | None:
        """AOT autograd: run the backward of the outputs that need gradients once, recording it too."""
        from ember.autograd import engine
        from ember.functions.creation import ones_like

        outs = [o for o in _tensors_of(result) if o.requires_grad and o.grad_fn is not None]
        if not outs:
            return None
        targets, where = [], []
        for i, t in enumerate(tensors):
            if t.requires_grad:
                targets.append(t)
                where.append(("in", i))
        seen = {id(t) for t in targets}
        for owner in list(b.rec.read_from.values()):
            if owner.requires_grad and id(owner) not in seen and id(owner) not in b.rec.created:
                if owner.grad_fn is not None:
                    raise Unreplayable("the function reads a tensor with an autograd history made outside "
                                       "it (not an argument); pass it as an argument")
                seen.add(id(owner))
                targets.append(owner)
                where.append(("path", sources.path_of(owner)))
        if not targets:
            return None
        with recorder.pause():
            gouts = [ones_like(o) for o in outs]
        for k, g in enumerate(gouts):
            b.refs[id(g._data)] = Ref("gin", k)
        split = len(b.g.nodes)
        start_calls = len(b.rec.calls)
        try:
            grads = engine.grad(outs, targets, grad_outputs=gouts, retain_graph=True, allow_unused=True)
        except RuntimeError as e:
            raise Unreplayable(f"its backward could not be captured ({e})") from e
        b.add_calls(b.rec.calls[start_calls:])
        grad_refs = [None if g is None else b.ref_of(g._data) for g in grads]
        out_index = [i for i, o in enumerate(_tensors_of(result)) if any(o is x for x in outs)]
        metas = [(t._dtype, t._device) for t in targets]
        return (tuple(grad_refs), tuple(out_index), tuple(w if w[0] == "in" else ("path", w[1].key) for w in where)), \
            (split, grad_refs, out_index, where, metas)

    # ---- plan and replay ----------------------------------------------------------------------
    def _plan(self, graph: Graph, aot: Any) -> _Plan:
        from ember.compiler._fusion import fuse

        if aot is not None:
            aot = aot[1]
        want = result_refs(graph)
        split = aot[0] if aot else len(graph.nodes)
        saved: list[Ref] = []
        if aot:
            for node in graph.nodes[split:]:
                for r in refs_in(node.args):
                    if r.kind == "node" and r.index < split and r not in saved:
                        saved.append(r)
        fused = fuse(graph, want + saved, split) if self.fuse else {}
        forward, src = make_runner(graph, want + saved, fused, stop=split)
        plan = _Plan(graph, want, forward, src, n_inputs=graph.n_inputs, fused=fused, split=split, saved=saved,
                     attach=_attach_backward)
        self._kept.update((id(c), c) for m in self._modules for c in m._modules.values())
        self.stats.kernels_captured = graph.kernels_captured
        self.stats.kernels_replayed = src.count("\n    v") + src.count("\n    T_") + src.count("\n    F")
        self.stats.fused_groups = sum(1 for f in fused.values() if f is not None)
        if aot:
            _, grad_refs, out_index, where, metas = aot
            bwant = [r for r in grad_refs if r is not None]
            backward, _ = make_runner(graph, bwant, {}, start=split, saved=saved)
            plan.backward = (backward, grad_refs, metas)
            plan.grad_outputs = list(out_index)
            plan.targets = list(where)
            plan.version_checks = _version_checks(graph, split, saved)
        plan.call, plan.call_source = make_call(plan, _GUARD_FAILED)
        return plan


_WRAPPER_ATTRS = ("__module__", "__name__", "__qualname__", "__doc__", "__wrapped__")  # functools.update_wrapper's


def _compiled_again(fn: Any, fullgraph: bool, backend: str, cache_size_limit: int, fuse: bool,
                    attrs: dict) -> CompiledFunction:
    """What an unpickled CompiledFunction is: the same function and options, no captures."""
    new = CompiledFunction(fn, fullgraph=fullgraph, backend=backend, cache_size_limit=cache_size_limit, fuse=fuse)
    new.__dict__.update(attrs)
    return new


def _identity_of(getter: Any) -> Any:
    """A guard getter giving the id of what ``getter`` returns (the objects are kept alive in
    ``CompiledFunction._kept``, so an id is never another object's)."""
    return lambda: id(getter())


def alias_pattern(tensors: list) -> tuple:
    """For each tensor, the index of the first tensor holding the same array (its own when none)."""
    first: dict[int, int] = {}
    return tuple([first.setdefault(id(t._data), k) for k, t in enumerate(tensors)])


def module_guard(m: Any) -> tuple:
    """What a replay assumes of a module it reaches: its training flag, its submodules (by identity:
    a replaced one would be replayed with the old one's kernels and weights), its hooks (a hook
    added after the capture must run, one removed must not) and a ``forward`` set on the instance."""
    d = m.__dict__
    return (m.training, tuple(map(id, d["_modules"].values())),
            tuple(d["_forward_pre_hooks"]), tuple(d["_forward_hooks"]), tuple(d["_backward_hooks"]),
            tuple(d.get("_backward_pre_hooks", ())), d.get("forward"))


_GUARD_FAILED = object()
_TensorType: list = [None]


def _meta(t: Any) -> tuple:
    """A tensor argument's part of the key: the interned dtype and device by identity, the layout
    by the array's own strides (every array library here has them) or the strides kernel."""
    d = t._data
    strides = getattr(d, "strides", None)
    return (d.shape, _strides(t) if strides is None else strides, id(t._dtype), id(t._device), t._requires_grad)


def _strides(t: Any) -> tuple:
    try:
        return tuple(t._kt["strides"](t._data))
    except Exception:  # noqa: BLE001 - a backend without strides: a non-contiguous input is one layout
        return (False,)


def _tensors_of(result: Any) -> list:
    from ember.tensor import Tensor

    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _tensors_of(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _tensors_of(r)]
    return []


def _check_escapes(rec: Any, result: Any) -> None:
    """A tensor made during the run and still alive must be reachable from the results (or be a
    new ``.grad``): one kept elsewhere (an attribute, a list) would not be updated by a replay."""
    alive = {k: r() for k, r in rec.created.items()}
    alive = {k: t for k, t in alive.items() if t is not None}
    if not alive:
        return
    accounted: set[int] = set()
    tensor_type = _TensorType[0]
    stack = list(_tensors_of(result)) + [leaf.grad for leaf, _ in rec.grad_set.values() if leaf.grad is not None]
    nodes_seen: set[int] = set()
    while stack:
        obj = stack.pop()
        if isinstance(obj, Node):
            if id(obj) in nodes_seen:
                continue
            nodes_seen.add(id(obj))
            for item in getattr(obj, "_saved", None) or ():
                if item is not None:
                    stack.append(item[0])
            stack += [e[0] for e in obj._edges if e[0] is not None]
            # what a Function's forward kept on ctx besides save_for_backward (indices, masks...)
            for value in getattr(obj, "__dict__", {}).values():
                if isinstance(value, (list, tuple)):
                    stack += [v for v in value if isinstance(v, (tensor_type, Node))]
                elif isinstance(value, tensor_type):
                    stack.append(value)
            continue
        if id(obj) in accounted:
            continue
        accounted.add(id(obj))
        if obj._base is not None:
            stack.append(obj._base)
        if obj.grad_fn is not None:
            stack.append(obj.grad_fn)
        if obj._grad is not None:  # (the slot: reading .grad of a non-leaf warns)
            stack.append(obj._grad)
    left = [k for k in alive if k not in accounted]
    if left:
        del alive
        gc.collect()
        left = [k for k in left if rec.created[k]() is not None]
    if left:
        t = rec.created[left[0]]()
        raise Unreplayable(f"a tensor made inside the function (shape {list(t.shape)}, {t.dtype}) is kept "
                           "outside it (in an attribute or a container), which a replay would not update",
                           retry=True)


def _out_tensors(template: Any) -> list:
    """The OutTensors of a returned structure in the order ``_tensors_of`` lists the tensors."""
    from ember.compiler._graph import OutTensor

    if isinstance(template, OutTensor):
        return [template]
    if isinstance(template, (list, tuple)):
        return [o for x in template for o in _out_tensors(x)]
    if isinstance(template, dict):
        return [o for x in template.values() for o in _out_tensors(x)]
    return []


def _version_checks(graph: Graph, split: int, saved: list) -> tuple:
    """Which returned tensors, inputs and externals the captured backward reads (see ``_Plan``)."""
    reads = {r for node in graph.nodes[split:] for r in refs_in(node.args)}
    saved_set = set(saved)
    checks = [("out", k) for k, o in enumerate(_out_tensors(graph.outputs))
              if o.same is None and o.ref is not None and o.ref in saved_set]
    checks += sorted({(r.kind, r.index) for r in reads if r.kind in ("in", "ext")})
    return tuple(checks)


class CompiledBackward(Node):
    """The one backward node of a replayed forward: runs the captured backward graph."""

    def __init__(self, run: Any, grad_refs: list, metas: list, saved: tuple, edges: tuple,
                 out_meta: tuple, versions: tuple = ()) -> None:
        self._versions = versions  # (version counter, its value at the forward, tensor or weakref, is output)
        self._run = run
        self._grad_refs = grad_refs
        self._metas = metas
        self._saved = saved
        self.next_functions = edges
        self._output_meta = out_meta

    def name(self) -> str:
        return "CompiledFunctionBackward"

    def apply(self, grads: list) -> tuple:
        from ember import dispatch
        from ember.autograd.function import _FREED_MSG
        from ember.tensor import Tensor

        if GRAD.enabled:
            raise RuntimeError("double backward (create_graph=True) through an ember.compile'd function is "
                               "not supported; compile it with backend='eager' or call it uncompiled")
        if self._saved is None:
            raise RuntimeError(_FREED_MSG)
        for counter, version, t, is_output in self._versions:
            if counter[0] != version:
                self._version_mismatch(counter, version, t, is_output)
        inputs, ext, saved = self._saved
        g_arrays = []
        for g, (shape, dtype, dev) in zip(grads, self._output_meta):
            if g is None:
                g_arrays.append(dispatch.table(dev.type)["full"](shape, 0, dtype, dev.index or 0))
            else:
                g_arrays.append(g._data)
        vals = iter(self._run(inputs, ext, g_arrays, saved))
        out = []
        for ref, (dtype, dev) in zip(self._grad_refs, self._metas):
            out.append(None if ref is None else Tensor._make(next(vals), dtype, dev, dispatch.table(dev.type)))
        return tuple(out)

    def _version_mismatch(self, counter: list, version: int, t: Any, is_output: bool) -> None:
        from ember.autograd.function import _version_error

        tensor = t() if is_output else t
        if tensor is None:  # a returned tensor since freed, changed through a view of it
            raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                               f"inplace operation: an output of CompiledFunction is at version {counter[0]}; "
                               f"expected version {version} instead.")
        raise RuntimeError(_version_error(self, tensor, version, is_output))

    def release(self) -> None:
        self._saved = None


def _attach_backward(plan: _Plan, outs: list, tensors: list, inputs: list, ext: list, saved: tuple) -> None:
    run, grad_refs, metas = plan.backward
    edges = []
    for where in plan.targets:
        t = tensors[where[1]] if where[0] == "in" else where[1].resolve()
        edges.append((t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0))
    diff = [outs[i] for i in plan.grad_outputs]
    meta = tuple((tuple(o._data.shape), o._dtype, o._device) for o in diff)
    versions = []
    for kind, k in plan.version_checks:
        if kind == "out":
            o = outs[k]
            versions.append((o._version, o._version[0], weakref.ref(o), True))  # (no cycle through grad_fn)
        else:
            t = tensors[k] if kind == "in" else plan.graph.externals[k][0].resolve()
            versions.append((t._version, t._version[0], t, False))
    node = CompiledBackward(run, grad_refs, metas, (inputs, ext, tuple(saved)), tuple(edges), meta, tuple(versions))
    for k, o in enumerate(diff):
        o._requires_grad = True
        o.grad_fn = node
        o._output_nr = k
