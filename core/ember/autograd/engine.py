"""The backward engine: walks the graph from the outputs in dependency order.

Example:
    >>> import ember
    >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
    >>> (gx,) = ember.autograd.grad((x * x).sum(), x)
    >>> gx
    tensor([2., 4.])
"""

from __future__ import annotations

from collections.abc import Sequence

from ember.autograd.anomaly import STATE as ANOMALY
from ember.autograd.anomaly import check_outputs
from ember.autograd.function import _FW, AccumulateGrad, Node, _refresh_view, _stale_view
from ember.autograd.grad_mode import STATE

__all__ = ["backward", "grad"]


def _collect_dependencies(roots: list[Node]) -> dict[Node, int]:
    deps: dict[Node, int] = {}
    seen = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node.next_functions:
            nxt = edge[0]
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                stack.append(nxt)
    return deps


def _n_outputs(node: Node) -> int:
    meta = getattr(node, "_output_meta", None)
    return len(meta) if meta else 1


def _own_grad(grads: list, leaf: object, taken: dict) -> None:
    """Give a leaf's first ``.grad`` a buffer of its own. A backward may hand one gradient tensor to
    several leaves (``a + b`` gives both the same one), or hand over a tensor the caller holds
    (``backward(gradient=g)``); stored as it is, one leaf's accumulation would then change the
    other's ``.grad`` (or ``g``). PyTorch takes a gradient's buffer only when nothing else refers
    to it and copies it otherwise; here the first leaf takes it and any later holder gets a copy."""
    g = grads[0]
    if g is None or leaf._grad is not None:  # (accumulating adds into the leaf's own .grad)
        return
    data = g._data
    if id(data) in taken:
        grads[0] = g.clone()
    else:
        taken[id(data)] = data  # (kept alive: an id is only unique while its object lives)


def _run(roots, grad_roots, retain_graph: bool, create_graph: bool, capture=None, held=()) -> dict:
    """Propagate ``grad_roots`` back from ``roots``.

    ``capture`` maps (node, output_nr) -> slot for autograd.grad: gradients reaching those
    edges are recorded, and AccumulateGrad nodes among them do not write ``.grad``. ``held``:
    gradient tensors the caller keeps (they never become a ``.grad`` as they are).
    """
    root_nodes = []
    buffers: dict[Node, list] = {}
    captured: dict = {}
    taken = {id(g._data): g._data for g in held}
    for t, g in zip(roots, grad_roots):
        if t._base is not None and _stale_view(t):
            _refresh_view(t)
        node, nr = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0)
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _n_outputs(node)
            root_nodes.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    deps = _collect_dependencies(root_nodes)
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    prev = STATE.enabled
    STATE.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * _n_outputs(node)
            hooks = node._pre_hooks
            if hooks:
                for nr, fns in hooks.items():
                    for fn in fns:
                        if grads[nr] is not None:
                            new = fn(grads[nr])
                            if new is not None:
                                grads[nr] = new
            if capture is not None:
                hit = False
                for nr in range(len(grads)):
                    key = (node, nr)
                    if key in capture:
                        captured[key] = grads[nr]
                        hit = True
                if hit and isinstance(node, AccumulateGrad):
                    continue
            if type(node) is AccumulateGrad:
                if capture is None:
                    _own_grad(grads, node.variable, taken)
                    node.apply(grads)
                continue
            edges = node.next_functions
            if (grads[0] is None if len(grads) == 1 else all(g is None for g in grads)):
                results = (None,) * len(edges)
            else:
                results = node.apply(grads)
                if ANOMALY.enabled:
                    check_outputs(node, results)
            if not retain_graph:
                node.release()
            for edge, g in zip(edges, results):
                nxt, nr = edge
                if nxt is None:
                    continue
                if g is not None:
                    buf = buffers.get(nxt)
                    if buf is None:
                        buf = buffers[nxt] = [None] * _n_outputs(nxt)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                left = deps[nxt] - 1
                deps[nxt] = left
                if left == 0:
                    ready.append(nxt)
    finally:
        STATE.enabled = prev
    return captured


def _make_grads(outputs: Sequence, grad_outputs: Sequence | None) -> list:
    from ember.functions.creation import ones_like

    grads = []
    for i, out in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out.requires_grad and not out.dtype.is_floating_point:  # complex: no implicit gradient (PyTorch)
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {out.dtype}")
            g = ones_like(out)
        elif tuple(g.shape) != tuple(out.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                               f"output[{i}] has a shape of {out.shape}.")
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    from ember.tensor import Tensor

    if isinstance(tensors, Tensor):
        tensors = [tensors]
    if isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    for t in tensors:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(tensors, grad_tensors)
    held = [g for g in grad_tensors if g is not None] if grad_tensors is not None else []
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        found = grad(tensors, inputs, grads, retain_graph=retain_graph, create_graph=create_graph,
                     allow_unused=True)
        taken = {id(g._data): g._data for g in held}
        for t, g in zip(inputs, found):
            if g is not None:
                box = [g]
                _own_grad(box, t, taken)
                t._accumulate_grad(box[0], create_graph)
        return
    _run(list(tensors), grads, retain_graph, create_graph, held=held)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated.

    ``is_grads_batched``: the first dim of every ``grad_outputs`` entry is a batch of cotangents, and
    each result gains that dim (PyTorch vmaps the backward; ember runs it once per cotangent).
    """
    from ember.functions.creation import zeros_like
    from ember.tensor import Tensor

    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)

    if isinstance(outputs, Tensor):
        outputs = [outputs]
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    inputs = list(inputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in outputs:
        if not t.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    keys = []
    for t in inputs:
        if t._base is not None and _stale_view(t):
            _refresh_view(t)
        keys.append((t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0))
    captured = _run(list(outputs), _make_grads(outputs, grad_outputs), retain_graph, create_graph,
                    capture=set(keys))
    result = []
    for t, key in zip(inputs, keys):
        g = captured.get(key)
        if g is None:
            if materialize_grads:
                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph:
            detached = g.detach()
            if _FW[0] is not None:  # forward AD: the gradient keeps its tangent (forward-over-reverse)
                _FW[0].carry(g, detached)
            g = detached
        result.append(g)
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads) -> tuple:
    """``grad(..., is_grads_batched=True)``: one backward per cotangent along dim 0, stacked."""
    from ember.functions.shape import stack
    from ember.tensor import Tensor

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    gouts = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs or [])
    if len(gouts) != len(outs) or any(g is None for g in gouts):
        raise RuntimeError("is_grads_batched=True needs one batched grad_output per output")
    n = gouts[0].shape[0] if gouts[0].dim() else 0
    for g, o in zip(gouts, outs):
        if g.dim() == 0 or g.shape[0] != n or tuple(g.shape[1:]) != tuple(o.shape):
            raise RuntimeError(f"If `is_grads_batched=True`, we interpret the first dimension of each grad_output as "
                               f"the batch dimension. The sizes of the remaining dimensions are expected to match the "
                               f"shape of corresponding output, but a mismatch was detected: grad_output has a shape "
                               f"of {g.shape} and output has a shape of {o.shape}.")
    rows = [grad(outs, inputs, [g[i] for g in gouts], retain_graph=True if i < n - 1 else retain_graph,
                 create_graph=create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads)
            for i in range(n)]
    return tuple(None if rows and rows[0][k] is None else stack([r[k] for r in rows]) for k in range(len(rows[0])))
