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
import re
import warnings
from collections.abc import Callable
from typing import Any

from ember.compiler._graph import Graph, Ref, live_nodes

# A replay calls a backend's fused callable directly, and that may be a NumPy ufunc, whose
# floating-point warnings (overflow, 0/0) then name the generated code's module, this one. PyTorch
# computes inf and NaN without a word and the eager kernels filter these warnings, so a replay does too.
warnings.filterwarnings("ignore", message=r"(overflow|invalid value|divide by zero|underflow) encountered",
                        category=RuntimeWarning, module=re.escape(__name__) + "$")


def _literal(v: Any) -> str | None:
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    return None


#: A replay with at least this many kernel calls gets its own chunk of CPython's frame stack (see
#: :func:`_frame_padding`). Below it, the chunk's allocation would cost more than the lottery it avoids.
PAD_MIN_CALLS = 100
_PAD_LOCALS = 2100  # words: more than a 16 KiB chunk (2048 words) holds


def _frame_padding(body: list[str]) -> list[str]:
    """Lines that make a long replay's frame larger than a chunk of CPython's frame stack.

    CPython 3.11+ keeps frames on a per-thread stack of 16 KiB chunks; a call that does not fit in
    the current chunk gets a new one, and the chunk is unmapped as soon as that call returns. A
    replay makes hundreds of kernel calls from one frame: when that frame happens to end just short
    of a chunk's end, every kernel call (or a call inside it) maps a fresh chunk and unmaps it again,
    two system calls and page faults per kernel. Measured on the compiled OpenCL LSTM step: 9,000
    mmap/munmap pairs per run and 31-34 ms a step against 23-26 ms, decided by nothing but how deep
    the caller's stack was (``python -m`` against an import). A frame larger than a chunk always
    gets a fresh one, sized with at least 1,000 words to spare, so the kernels it calls start with
    room: one mmap per replay instead of one per kernel. The padding is locals that are never
    assigned (``if False``: compiled to nothing), which only size the frame.
    """
    calls = sum(1 for line in body if "(" in line and line.startswith("    ") and not line.startswith("     "))
    if calls < PAD_MIN_CALLS:
        return []
    return ["    if False:", "        " + " = ".join(f"_pad{i}" for i in range(_PAD_LOCALS)) + " = None"]


#: how a replay names its inputs: as a function's list arguments (``run(I, E, G, S)``), or as the
#: local variables of a call the forward is written into (``x0`` input 0's array, ``e0`` external 0's)
_LISTS = {"in": "I[{}]", "ext": "E[{}]", "gin": "G[{}]"}
_LOCALS = {"in": "x{}", "ext": "e{}"}


class _Writer:
    def __init__(self, g: Graph, start: int, saved: list[Ref], names: dict[str, str] = _LISTS,
                 ns: dict[str, Any] | None = None) -> None:
        self.g = g
        self.ns: dict[str, Any] = {"__name__": __name__} if ns is None else ns
        self.start = start
        self.saved = {r: k for k, r in enumerate(saved)}
        self.names = names

    def ref(self, r: Ref) -> str:
        if r.kind == "node" and r.index < self.start:
            return f"S[{self.saved[r]}]"
        name = self.names.get(r.kind)
        s = name.format(r.index) if name else f"v{r.index}"
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
    body = _runner_lines(w, g, want, fused or {}, start, len(g.nodes) if stop is None else stop)
    outs = ", ".join(w.ref(r) for r in want)
    src = "\n".join(["def run(I, E, G, S=()):", *_frame_padding(body), *body,
                     f"    return ({outs}{',' if len(want) == 1 else ''})"]) + "\n"
    exec(compile(src, "<ember.compile replay>", "exec"), w.ns)  # noqa: S102 - our own generated code
    return w.ns["run"], src


def _runner_lines(w: _Writer, g: Graph, want: list[Ref], fused: dict[int, Any], start: int, stop: int) -> list[str]:
    """One line per live node (indented for a function body), each calling its kernel or fused group."""
    live = live_nodes(g, want, start, stop)
    lines: list[str] = []
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
    return lines


def _call_lines(plan: Any, ns: dict[str, Any], tensors: list[str], fail: str) -> tuple[list[str], str]:
    """The body of one replayed call, once ``x0, x1, ...`` hold the input tensors' arrays: re-read and
    check the externals (a changed one runs ``fail``, formatted with its index: capture again), run the
    forward's nodes inline, redo the effects, build the results. ``tensors`` names the input tensors.
    Returns the lines and the expression of the call's result."""
    from ember import dispatch
    from ember.compiler._graph import OutTensor
    from ember.tensor import Tensor

    g = plan.graph
    ns.update(MAKE=Tensor._make, ATTACH=plan.attach, PLAN=plan)
    lines: list[str] = []
    for k, (path, shape, dtype, device) in enumerate(g.externals):
        ns[f"P{k}"], ns[f"D{k}"], ns[f"S{k}"], ns[f"DV{k}"] = path.resolve, dtype, shape, device
        lines += [f"    t = P{k}()",
                  f"    if t is None or t._dtype is not D{k} or t._data.shape != S{k} or t._device is not DV{k}:",
                  f"        {fail.format(k)}",
                  f"    e{k} = t._data"]
    w = _Writer(g, 0, [], _LOCALS, ns)
    lines += _runner_lines(w, g, plan.want + plan.saved, plan.fused, 0, plan.split)
    value = {r: w.ref(r) for r in plan.want + plan.saved}

    def fresh(o: OutTensor, name: str) -> str:
        ns[f"{name}_d"], ns[f"{name}_v"] = o.dtype, o.device
        ns[f"{name}_k"] = dispatch.table(o.device.type)
        return f"MAKE({value[o.ref]}, {name}_d, {name}_v, {name}_k)"

    for k, (target, ref) in enumerate(g.rebinds):
        if target[0] == "in":
            lines.append(f"    t = {tensors[target[1]]}")
        else:
            ns[f"B{k}"] = target[1].resolve
            lines.append(f"    t = B{k}()")
        lines.append(f"    t._data = {value[ref]}")
    for k, (target, n) in enumerate(g.bumps):  # the version counters eager mode's in-place writes raise
        if target[0] == "in":
            lines.append(f"    {tensors[target[1]]}._version[0] += {n}")
        else:
            ns[f"VB{k}"] = target[1].resolve
            lines.append(f"    VB{k}()._version[0] += {n}")
    for k, (path, o) in enumerate(g.grads):
        ns[f"L{k}"] = path.resolve
        lines.append(f"    L{k}().grad = {'None' if o is None else fresh(o, f'g{k}')}")
        if o is not None and o.requires_grad:
            lines.append(f"    L{k}().grad._requires_grad = True")
    outs: list[str] = []  # every tensor of the result in order, repeats included (as _tensors_of lists them)
    names: dict[int, str] = {}  # id(OutTensor) -> its variable: a tensor returned twice is built once

    def build(o: Any) -> str:
        if isinstance(o, OutTensor):
            if id(o) in names:
                outs.append(names[id(o)])
                return names[id(o)]
            name = names[id(o)] = f"o{len(names)}"
            outs.append(name)
            if o.same is not None:
                if o.same[0] == "in":
                    lines.append(f"    {name} = {tensors[o.same[1]]}")
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
        inputs = ", ".join(f"x{k}" for k in range(len(tensors)))
        ext = ", ".join(f"e{k}" for k in range(len(g.externals)))
        saved = "".join(f"{value[r]}, " for r in plan.saved)
        lines.append(f"    ATTACH(PLAN, [{', '.join(outs)}], [{', '.join(tensors)}], [{inputs}], [{ext}], ({saved}))")
    return lines, result


def make_call(plan: Any, fail: Any) -> tuple[Callable, str]:
    """The whole replayed call as one generated function ``call(tensors)`` returning
    ``(result, None)``, or ``(fail, k)`` when external ``k`` changed since the capture. Generated,
    with the forward's nodes written into it, because this glue runs per call."""
    n = plan.n_inputs
    ns: dict[str, Any] = {"FAIL": fail, "__name__": __name__}
    body, result = _call_lines(plan, ns, [f"tensors[{k}]" for k in range(n)], "return FAIL, {}")
    lines = ["def call(tensors):", *_frame_padding(body), *(f"    x{k} = tensors[{k}]._data" for k in range(n)), *body,
             f"    return {result}, None"]
    src = "\n".join(lines) + "\n"
    exec(compile(src, "<ember.compile call>", "exec"), ns)  # noqa: S102 - our own generated code
    return ns["call"], src


_NO_ARG = object()  # an inline cache's parameter that the call did not give


def make_fast(fn: Any, args: tuple, plan: Any, slow: Callable) -> tuple[Callable, str] | None:
    """The inline cache of the most recent plan: a ``__call__`` that checks the plan's guards for
    calls shaped like ``args`` field by field (instead of building and hashing the key) and then
    replays the call inline, so a replayed call is one Python frame besides its kernels. Anything
    else, a failed guard included, goes to ``slow(self, args, kwargs)``, the general path.

    Returns None where the key has parts only the general path handles (containers, autocast).
    ``fn`` is the CompiledFunction, whose learned guards are written in."""
    from ember import dtypes
    from ember.amp.autocast_mode import _STATE as AMP
    from ember.autograd.grad_mode import STATE as GRAD
    from ember.compiler._compiled import alias_pattern, module_guard
    from ember.compiler._graph import const_key
    from ember.tensor import Tensor

    if AMP.on:
        return None
    # The guards' names start with g_ so that they cannot meet the call's and the replay's.
    ns: dict[str, Any] = {"g_GRAD": GRAD, "g_DTM": dtypes, "g_DF": dtypes._default_float, "g_AMP": AMP,
                          "g_REC": fn._recording, "g_SLOW": slow, "g_T": Tensor, "g_CK": const_key,
                          "g_STATS": fn.stats, "__name__": __name__}
    # Positional-only parameters with a default (a missing one is g_NO) take a call as it comes,
    # without packing it into a tuple as ``*args`` would: the call's arguments rebuilt for the general
    # path are then the parameters given, then ``rest``.
    names = [f"a{i}" for i in range(len(args))]
    ns["g_NO"] = _NO_ARG
    every = f"({''.join(f'{a}, ' for a in names)}*rest)"
    given = f"tuple(a for a in {every} if a is not g_NO)" if args else "rest"
    miss = f"return g_SLOW(self, {given}, kwargs)"
    lines = [f"def __call__(self, {''.join(f'{a}=g_NO, ' for a in names)}/, *rest, **kwargs):",
             f"    if (rest or kwargs{''.join(f' or {a} is g_NO' for a in names[-1:])} or g_REC.recorder is not None "
             f"or g_GRAD.enabled is not {GRAD.enabled!r} or g_AMP.on or g_DTM._default_float is not g_DF):",
             f"        {miss}"]
    tensors = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            if type(a) is not Tensor:
                return None
            d = a._data
            strides = getattr(d, "strides", None)
            if strides is None:
                return None
            k = len(tensors)
            ns[f"g_S{i}"], ns[f"g_ST{i}"], ns[f"g_D{i}"], ns[f"g_V{i}"] = d.shape, strides, a._dtype, a._device
            lines += [f"    x{k} = a{i}._data",
                      f"    if (type(a{i}) is not g_T or x{k}.shape != g_S{i} or x{k}.strides != g_ST{i} or a{i}._dtype "
                      f"is not g_D{i} or a{i}._device is not g_V{i} or a{i}._requires_grad is not "
                      f"{a._requires_grad!r}):",
                      f"        {miss}"]
            tensors.append(f"a{i}")
        elif a is None or type(a) in (bool, int, str):
            ns[f"g_C{i}"] = a
            lines += [f"    if type(a{i}) is not type(g_C{i}) or a{i} != g_C{i}:", f"        {miss}"]
        else:
            return None
    ns["g_MG"] = module_guard
    if len(tensors) > 1:  # which arguments are one array (the capture's inputs were these)
        pattern = alias_pattern([a for a in args if isinstance(a, Tensor)])
        ns["g_AP"], ns["g_AK"] = alias_pattern, pattern
        if len(tensors) <= 4:  # the pairs spelled out: a miss when one that was the same is not, or the reverse
            check = " or ".join(f"x{k} is not x{j}" if pattern[k] == j else f"x{k} is x{j}"
                                for k in range(len(tensors)) for j in range(k) if pattern[k] in (j, k))
        else:
            check = f"g_AP([{', '.join(tensors)}]) != g_AK"
        if check:
            lines += [f"    if {check}:", f"        {miss}"]
    for k, m in enumerate(fn._modules):
        ns[f"g_M{k}"], ns[f"g_MK{k}"] = m, module_guard(m)  # (fn._kept keeps the submodules it names alive)
        lines += [f"    if g_MG(g_M{k}) != g_MK{k}:", f"        {miss}"]
    for k, p in enumerate(fn._leaves):
        ns[f"g_L{k}"] = p
        lines += [f"    if (g_L{k}._grad is None) is not {p._grad is None!r} or g_L{k}._requires_grad is not "
                  f"{p._requires_grad!r}:", f"        {miss}"]
    for k, get in enumerate(fn._scalars):
        value = get()
        ns[f"g_G{k}"], ns[f"g_K{k}"], ns[f"g_V{k}"] = get, const_key(value), value
        if value is None or type(value) in (bool, int, float, str):  # immutable: the same object is the same value
            lines += [f"    v = g_G{k}()", f"    if v is not g_V{k} and g_CK(v) != g_K{k}:", f"        {miss}"]
        else:
            lines += [f"    if g_CK(g_G{k}()) != g_K{k}:", f"        {miss}"]
    for k, opt in enumerate(fn._optimizers):
        ns[f"g_O{k}"] = opt
        ns[f"g_H{k}"] = tuple(tuple((name, const_key(v)) for name, v in g.items() if name != "params")
                              for g in opt.param_groups)
        lines += [f"    if tuple(tuple((name, g_CK(v)) for name, v in g.items() if name != 'params') "
                  f"for g in g_O{k}.param_groups) != g_H{k}:", f"        {miss}"]
    body, result = _call_lines(plan, ns, tensors, miss)
    lines[1:1] = _frame_padding(body)
    lines += [*body, "    g_STATS.replays += 1", f"    return {result}"]
    src = "\n".join(lines) + "\n"
    exec(compile(src, "<ember.compile guard>", "exec"), ns)  # noqa: S102 - our own generated code
    return ns["__call__"], src
