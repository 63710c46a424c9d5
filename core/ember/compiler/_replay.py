"""Generate the replay of a :class:`~ember.compiler._graph.Graph`: straight-line Python.

The replay is one generated function, ``run(I, E, G)``: ``I`` the input arrays, ``E`` the externals,
``G`` the incoming gradients of a backward graph. Each live node is one line calling its kernel
through the device's kernel table (so ``ember.profiler`` and the fallback policy still see every
call); nothing else runs: no Tensor objects, no autograd records, no shape or dtype checks, no
promotion, which is the frontend's per-op bookkeeping that a replay removes. Dead nodes are dropped
(a random node still draws its counters, so the generator advances exactly as in eager mode).

Example of a generated replay, for ``(a * b + b).relu()``::

    def run(I, E, G):
        v0 = T_cpu['mul'](I[0], I[1])
        v1 = T_cpu['add'](v0, I[1])
        v2 = T_cpu['relu'](v1)
        return (v2,)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ember.compiler._graph import Graph, Ref, live_nodes


def _literal(v: Any) -> str | None:
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    return None


class _Writer:
    def __init__(self, g: Graph, start: int, saved: list[Ref]) -> None:
        self.g = g
        self.ns: dict[str, Any] = {}
        self.start = start
        self.saved = {r: k for k, r in enumerate(saved)}

    def ref(self, r: Ref) -> str:
        if r.kind == "node" and r.index < self.start:
            return f"S[{self.saved[r]}]"
        base = {"in": "I", "ext": "E", "gin": "G"}.get(r.kind)
        s = f"{base}[{r.index}]" if base else f"v{r.index}"
        return s if r.item is None else f"{s}[{r.item}]"

    def arg(self, a: Any, host_copy: bool = False) -> str:
        if isinstance(a, Ref):
            return self.ref(a)
        if isinstance(a, tuple) and len(a) == 2 and a[0] == "const":
            name = f"C{a[1]}"
            self.ns[name] = self.g.consts[a[1]]
            return f"{name}.copy()" if host_copy else name
        if isinstance(a, (list, tuple)):
            inner = ", ".join(self.arg(x) for x in a)
            return f"[{inner}]" if isinstance(a, list) else f"({inner}{',' if len(a) == 1 else ''})"
        lit = _literal(a)
        if lit is not None:
            return lit
        raise TypeError(f"cannot write {a!r} into a replay")  # pragma: no cover - templates are closed

    def table(self, device_type: str) -> str:
        from ember import dispatch

        name = "T_" + "".join(c if c.isalnum() else "_" for c in device_type)
        self.ns[name] = dispatch.table(device_type)
        return name


def make_runner(g: Graph, want: list[Ref], fused: dict[int, Any] | None = None, *, start: int = 0,
                stop: int | None = None, saved: list[Ref] | None = None) -> tuple[Callable, str]:
    """The replay of nodes ``start:stop`` of ``g`` returning the arrays ``want``.

    ``fused`` maps a node index to a callable replacing its kernel (a fused group, see
    :mod:`ember.compiler._fusion`); a node it maps to None is part of a group and emits nothing.
    A backward replay (``start`` > 0) reads the forward's results it needs from ``S``, in the order
    of ``saved``.
    """
    w = _Writer(g, start, saved or [])
    fused = fused or {}
    stop = len(g.nodes) if stop is None else stop
    live = live_nodes(g, want, start, stop)
    lines = ["def run(I, E, G, S=()):"]
    for i in range(start, stop):
        node = g.nodes[i]
        rng_line = None
        if node.rng is not None:
            gen, count, _, _ = node.rng
            w.ns[f"R{i}"] = gen
            rng_line = f"    _k{i}, _o{i} = R{i}._take({count})"
        if not live[i]:
            if rng_line:
                lines.append(rng_line)
            continue
        if rng_line:
            lines.append(rng_line)
        args = []
        for pos, a in enumerate(node.args):
            if node.rng is not None and pos == node.rng[2]:
                args.append(f"_k{i}")
            elif node.rng is not None and pos == node.rng[3]:
                args.append(f"_o{i}")
            else:
                args.append(w.arg(a, host_copy=node.host_copy and pos == 0))
        if node.check is not None:
            t = w.table(node.device_type)
            w.ns[f"CK{i}"] = node.check
            flag, *rest = args
            host = ", ".join(f"{t}['to_host']({a})" for a in rest)
            lines.append(f"    if {t}['to_host']({flag}):")
            lines.append(f"        raise CK{i}({host})")
            continue
        if i in fused:
            if fused[i] is None:
                continue
            fn, inputs = fused[i]
            w.ns[f"F{i}"] = fn
            call = f"F{i}({', '.join(w.arg(a) for a in inputs)})"
        else:
            call = f"{w.table(node.device_type)}[{node.kernel!r}]({', '.join(args)})"
        lines.append(f"    v{i} = {call}" if node.outs != -1 else f"    {call}")
    outs = ", ".join(w.ref(r) for r in want)
    lines.append(f"    return ({outs}{',' if len(want) == 1 else ''})")
    src = "\n".join(lines) + "\n"
    exec(compile(src, "<ember.compile replay>", "exec"), w.ns)  # noqa: S102 - our own generated code
    return w.ns["run"], src


def make_call(plan: Any, fail: Any, attach: Any) -> tuple[Callable, str]:
    """The whole replayed call as one generated function ``call(tensors)``: read the inputs,
    re-read and check the externals (a changed one returns ``fail``: capture again), run the
    replay, redo the effects, build the results. Generated too, because this glue runs per call."""
    from ember import dispatch
    from ember.compiler._graph import OutTensor
    from ember.tensor import Tensor

    g = plan.graph
    ns: dict[str, Any] = {"RUN": plan.forward, "FAIL": fail, "MAKE": Tensor._make, "ATTACH": attach, "PLAN": plan}
    lines = ["def call(tensors):", "    I = [t._data for t in tensors]"]
    for k, (path, shape, dtype) in enumerate(g.externals):
        ns[f"P{k}"], ns[f"D{k}"], ns[f"S{k}"] = path.resolve, dtype, shape
        lines += [f"    t = P{k}()",
                  f"    if t is None or t._dtype is not D{k} or t._data.shape != S{k}:",
                  f"        return FAIL, {k}",
                  f"    e{k} = t._data"]
    ext = ", ".join(f"e{k}" for k in range(len(g.externals)))
    lines.append(f"    V = RUN(I, [{ext}], ())")
    pos = {r: i for i, r in enumerate(plan.want)}

    def fresh(o: OutTensor, name: str) -> str:
        ns[f"{name}_d"], ns[f"{name}_v"] = o.dtype, o.device
        ns[f"{name}_k"] = dispatch.table(o.device.type)
        return f"MAKE(V[{pos[o.ref]}], {name}_d, {name}_v, {name}_k)"

    for k, (target, ref) in enumerate(g.rebinds):
        if target[0] == "in":
            lines.append(f"    t = tensors[{target[1]}]")
        else:
            ns[f"B{k}"] = target[1].resolve
            lines.append(f"    t = B{k}()")
        lines += [f"    t._data = V[{pos[ref]}]", "    t._version[0] += 1"]
    for k, (path, o) in enumerate(g.grads):
        ns[f"L{k}"] = path.resolve
        lines.append(f"    L{k}().grad = {'None' if o is None else fresh(o, f'g{k}')}")
        if o is not None and o.requires_grad:
            lines.append(f"    L{k}().grad._requires_grad = True")
    outs: list[str] = []

    def build(o: Any) -> str:
        if isinstance(o, OutTensor):
            name = f"o{len(outs)}"
            outs.append(name)
            if o.same is not None:
                if o.same[0] == "in":
                    lines.append(f"    {name} = tensors[{o.same[1]}]")
                else:
                    ns[f"{name}_p"] = o.same[1].resolve
                    lines.append(f"    {name} = {name}_p()")
            else:
                lines.append(f"    {name} = {fresh(o, name)}")
            return name
        if isinstance(o, list):
            return "[" + ", ".join(build(x) for x in o) + "]"
        if isinstance(o, tuple):
            inner = ", ".join(build(x) for x in o)
            if hasattr(o, "_fields"):
                ns[f"NT{len(ns)}"] = type(o)
                return f"NT{len(ns) - 1}({inner})"
            return f"({inner}{',' if len(o) == 1 else ''})"
        if isinstance(o, dict):
            return "{" + ", ".join(f"{k!r}: {build(v)}" for k, v in o.items()) + "}"
        lit = _literal(o)
        if lit is None:
            ns[f"K{len(ns)}"] = o
            return f"K{len(ns) - 1}"
        return lit

    result = build(g.outputs)
    if plan.backward is not None:
        lines.append(f"    ATTACH(PLAN, [{', '.join(outs)}], tensors, I, [{ext}], V[{len(plan.want)}:])")
    lines.append(f"    return {result}, None")
    src = "\n".join(lines) + "\n"
    exec(compile(src, "<ember.compile call>", "exec"), ns)  # noqa: S102 - our own generated code
    return ns["call"], src


def make_fast(fn: Any, args: tuple, call: Callable, miss: Any) -> Callable | None:
    """A guard-and-replay function for calls shaped like ``args`` (the plan's own key, checked
    field by field instead of built and hashed: the inline cache of the most recent plan).

    Returns None where the key has parts only the general path handles (keyword arguments,
    containers, autocast). ``fn`` is the CompiledFunction, whose learned guards are written in."""
    from ember import dtypes
    from ember.amp.autocast_mode import _STATE as AMP
    from ember.autograd.grad_mode import STATE as GRAD
    from ember.compiler._graph import const_key
    from ember.tensor import Tensor

    if AMP.on:
        return None
    ns: dict[str, Any] = {"GRAD": GRAD, "DTM": dtypes, "DF": dtypes._default_float, "AMP": AMP, "MISS": miss,
                          "CALL": call, "T": Tensor, "CK": const_key}
    names = [f"a{i}" for i in range(len(args))]
    lines = [f"def fast({', '.join(names)}):",
             f"    if GRAD.enabled is not {GRAD.enabled!r} or AMP.on or DTM._default_float is not DF:",
             "        return MISS"]
    tensors = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            d = a._data
            strides = getattr(d, "strides", None)
            if strides is None:
                return None
            ns[f"S{i}"], ns[f"ST{i}"], ns[f"D{i}"], ns[f"V{i}"] = d.shape, strides, a._dtype, a._device
            lines += [f"    d{i} = a{i}._data",
                      f"    if (type(a{i}) is not T or d{i}.shape != S{i} or d{i}.strides != ST{i} or a{i}._dtype is not "
                      f"D{i} or a{i}._device is not V{i} or a{i}._requires_grad is not {a._requires_grad!r}):",
                      "        return MISS"]
            if type(a) is not Tensor:
                return None
            tensors.append(f"a{i}")
        elif a is None or type(a) in (bool, int, str):
            ns[f"C{i}"] = a
            lines += [f"    if type(a{i}) is not type(C{i}) or a{i} != C{i}:", "        return MISS"]
        else:
            return None
    for k, m in enumerate(fn._modules):
        ns[f"M{k}"] = m
        lines += [f"    if M{k}.training is not {m.training!r}:", "        return MISS"]
    for k, p in enumerate(fn._leaves):
        ns[f"L{k}"] = p
        lines += [f"    if (L{k}.grad is None) is not {p.grad is None!r}:", "        return MISS"]
    for k, get in enumerate(fn._scalars):
        ns[f"G{k}"], ns[f"K{k}"] = get, const_key(get())
        lines += [f"    if CK(G{k}()) != K{k}:", "        return MISS"]
    for k, opt in enumerate(fn._optimizers):
        ns[f"O{k}"] = opt
        ns[f"H{k}"] = tuple(tuple((name, const_key(v)) for name, v in g.items() if name != "params")
                            for g in opt.param_groups)
        lines += [f"    if tuple(tuple((name, CK(v)) for name, v in g.items() if name != 'params') "
                  f"for g in O{k}.param_groups) != H{k}:", "        return MISS"]
    lines.append(f"    return CALL([{', '.join(tensors)}])")
    src = "\n".join(lines) + "\n"
    exec(compile(src, "<ember.compile guard>", "exec"), ns)  # noqa: S102 - our own generated code
    return ns["fast"]
