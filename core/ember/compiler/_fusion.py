"""Fusion: chains of elementwise kernels become one kernel, compiled by the backend.

A *chain* is a run of elementwise nodes (``FUSIBLE``) where each node's result is used only by the
next one; the other operands are arrays from outside the chain or Python numbers, and every array
has the chain's floating dtype. The chain is handed to the backend as a :class:`FusedElementwise`
program through ``Backend.compile_elementwise``; the backend returns one callable (one launch, no
intermediate arrays) or None to leave it unfused. The fused call runs where the chain's last node
ran; a chain never spans a kernel that writes into its arguments (``copy_``, optimizer steps), so
moving the earlier nodes down to it cannot change what they read.

The chain in ``(a * b + b).relu()`` becomes ``mul -> add -> relu``: one launch on OpenCL (a
generated OpenCL C kernel), one output buffer updated in place by NumPy's ufuncs on the cpu.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ember.compiler._graph import WRITES, Graph, Ref, refs_in

__all__ = ["FusedElementwise", "FUSIBLE_UNARY", "FUSIBLE_BINARY", "fuse"]

FUSIBLE_UNARY = frozenset({"neg", "abs", "relu", "exp", "log", "sqrt", "sin", "cos", "tanh"})
FUSIBLE_BINARY = frozenset({"add", "sub", "mul", "div", "maximum", "minimum"})
FUSIBLE = FUSIBLE_UNARY | FUSIBLE_BINARY


@dataclass(frozen=True)
class FusedElementwise:
    """A chain of elementwise kernels for ``Backend.compile_elementwise``.

    ``ops``: ``((kernel, operands), ...)`` in order; an operand is ``("in", k)`` (array input k),
    ``("prev",)`` (the previous op's result) or ``("scalar", number)``. ``inputs``: ``(shape, dtype)``
    of each array input, in the backend's own dtypes; the result has ``out_shape`` (the inputs
    broadcast) and ``dtype``, the one dtype of every input. The compiled callable takes the input
    arrays positionally and returns a new result array, equal to running the kernels one by one.
    A replay calls it directly, so it may be a C-level callable such as a NumPy ufunc; the
    floating-point warnings NumPy raises for inf and NaN results are filtered there.
    """

    ops: tuple
    inputs: tuple
    out_shape: tuple
    dtype: Any


def _uses(g: Graph, want: list[Ref], stop: int) -> Counter:
    uses: Counter = Counter(want)
    for node in g.nodes:  # backward nodes read forward results too
        for r in refs_in(node.args):
            uses[r] += 1
    return uses


def _float_dtype(dt: Any) -> bool:
    kind = getattr(dt, "kind", None)
    return kind == "f" and getattr(dt, "itemsize", 0) in (4, 8)


def fuse(g: Graph, want: list[Ref], stop: int) -> dict[int, Any]:
    """``{node index: (callable, arg templates)}`` for each fused chain's last node, ``None`` for the
    chain's other nodes; nodes left out run as captured."""
    from ember import dispatch

    uses = _uses(g, want, stop)
    consumer: dict[int, int] = {}
    for i, node in enumerate(g.nodes[:stop]):
        for r in refs_in(node.args):
            if r.kind == "node" and r.item is None:
                consumer.setdefault(r.index, i)
    out: dict[int, Any] = {}
    taken: set[int] = set()
    for start in range(stop):
        if start in taken or not _fusible(g, start):
            continue
        chain = [start]
        cur = start
        while True:
            nxt = consumer.get(cur)
            ref = Ref("node", cur)
            if (nxt is None or uses[ref] != 1 or nxt in taken or not _fusible(g, nxt)
                    or g.nodes[nxt].device_type != g.nodes[start].device_type
                    or g.meta[Ref("node", nxt)][1] != g.meta[Ref("node", start)][1]
                    or any(g.nodes[k].kernel in WRITES or g.nodes[k].check is not None for k in range(cur + 1, nxt))):
                break
            chain.append(nxt)
            cur = nxt
        if len(chain) < 2:
            continue
        compiled = _compile_chain(g, chain, dispatch.table(g.nodes[start].device_type).backend)
        if compiled is None:
            continue
        for k in chain[:-1]:
            out[k] = None
        out[chain[-1]] = compiled
        taken.update(chain)
    return out


def _fusible(g: Graph, i: int) -> bool:
    node = g.nodes[i]
    if node.kernel not in FUSIBLE or node.outs is not None or node.rng is not None:
        return False
    meta = g.meta.get(Ref("node", i))
    if meta is None or not _float_dtype(meta[1]):
        return False
    for a in node.args:
        if isinstance(a, Ref):
            m = g.meta.get(a)
            if m is None or m[1] != meta[1]:
                return False
        elif not isinstance(a, (int, float)) or isinstance(a, bool):
            return False
    return True


def _compile_chain(g: Graph, chain: list[int], backend: Any) -> tuple | None:
    inputs: list[Ref] = []
    ops = []
    prev = None
    for i in chain:
        node = g.nodes[i]
        operands = []
        for a in node.args:
            if isinstance(a, Ref):
                if prev is not None and a == prev:
                    operands.append(("prev",))
                    continue
                if a not in inputs:
                    inputs.append(a)
                operands.append(("in", inputs.index(a)))
            else:
                operands.append(("scalar", a))
        ops.append((node.kernel, tuple(operands)))
        prev = Ref("node", i)
    last = g.meta[Ref("node", chain[-1])]
    program = FusedElementwise(tuple(ops), tuple(g.meta[r] for r in inputs), last[0], last[1])
    try:
        fn = backend.compile_elementwise(program)
    except Exception:  # noqa: BLE001 - a backend that cannot compile this chain leaves it unfused
        return None
    if fn is None:
        return None
    return fn, tuple(inputs)
