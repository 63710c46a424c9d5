"""The backward engine: walks the graph from the outputs in dependency order.

Example:
    >>> import ember
    >>> x = ember.tensor([1.0, 2.0], requires_grad=True)
    >>> (gx,) = ember.autograd.grad((x * x).sum(), x)
    >>> gx
    tensor([2., 4.])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

from ember.autograd.anomaly import STATE as ANOMALY
from ember.autograd.anomaly import check_outputs
from ember.autograd.function import (
    _FW,
    NODE_POST,
    NODE_PRE,
    RETAIN,
    AccumulateGrad,
    GradientEdge,
    Node,
    _refresh_view,
    _stale_view,
)
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
        for edge in node._edges:
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
        node, nr = _edge_of(t)
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * _n_outputs(node)
            root_nodes.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    deps = _collect_dependencies(root_nodes)
    # autograd.grad runs only the nodes between the outputs and the inputs, as PyTorch does: a
    # captured input's own node (and what lies below it) neither runs nor calls its node hooks
    run = _nodes_to_run(root_nodes, {key[0] for key in capture}) if capture is not None else None
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    prev = STATE.enabled
    STATE.enabled = create_graph
    TASKS.append((deps, root_nodes, run, capture))  # what register_multi_grad_hook asks about
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * _n_outputs(node)
            hooks = node._pre_hooks
            post = None
            if hooks:
                if run is None or node in run:
                    post = _call_pre_hooks(node, hooks, grads)
                elif any((node, nr) in capture for nr in range(len(grads))):  # a captured input: only
                    _call_pre_hooks(node, hooks, grads, False)  # its tensors' hooks (PyTorch's exec_info)
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
                    if post:
                        _call_post_hooks(node, post, (), grads)
                continue
            edges = node._edges
            if (grads[0] is None if len(grads) == 1 else all(g is None for g in grads)) or (
                    run is not None and node not in run):
                results = (None,) * len(edges)
            else:
                results = node.apply(grads)
                if ANOMALY.enabled:
                    check_outputs(node, results)
                if post:
                    results = _call_post_hooks(node, post, results, grads)
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
        TASKS.pop()
    return captured


# The backward calls running now, innermost last: (dependencies, roots, nodes to run or None,
# captured edges or None) each. Hooks ask it which graph task they run in and what it reaches.
TASKS: list = []


def will_execute(node: Node) -> bool:
    """Whether the innermost running backward reaches ``node`` (PyTorch's
    ``_will_engine_execute_node``): a node of its graph that it runs, or an input it captures."""
    deps, roots, run, capture = TASKS[-1]
    if not (node in deps or node in roots):
        return False
    return run is None or node in run or any(node is key[0] for key in capture)


def _hook_name(hook: object) -> str:
    name = getattr(hook, "__name__", None)
    return name if isinstance(name, str) else "<unknown>"


def _check_hook_value(hook: object, old: object, new: object) -> None:
    """A hook's replacement gradient must be a tensor like the one it replaces (PyTorch's checks)."""
    from ember.tensor import Tensor

    if new is None:
        return
    if old is None:
        raise RuntimeError("can't replace a None gradient with a non-None value")
    if not isinstance(new, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
    if new._dtype is not old._dtype or new._device != old._device:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the type of value (was {old.type()} got "
                           f"{new.type()})")
    if new._data.shape != old._data.shape:
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")


def _check_hook_tuple(hook: object, old: tuple, new: object) -> tuple | None:
    """A node hook returns None or a tuple of as many gradients as it was given."""
    if new is None:
        return None
    if not isinstance(new, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(new).__name__}'")
    if len(new) != len(old):
        raise RuntimeError(f"hook '{_hook_name(hook)}' has returned an incorrect number of values (got {len(new)}, "
                           f"but expected {len(old)})")
    for o, n in zip(old, new):
        _check_hook_value(hook, o, n)
    return new


def _nodes_to_run(roots: list[Node], targets: set) -> set:
    """The nodes some node of ``targets`` lies below (through ``next_functions``): those that
    autograd.grad must run. One iterative post-order walk (graphs can be deep)."""
    below: dict = {}  # node -> whether it is a target or some target lies below it
    run: set = set()
    seen: set = set()
    stack = [(n, False) for n in roots]
    while stack:
        node, finished = stack.pop()
        if finished:
            hit = any(nxt is not None and below.get(nxt) for nxt, _ in node._edges)
            if hit:
                run.add(node)
            below[node] = hit or node in targets
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((nxt, False) for nxt, _ in node._edges if nxt is not None and nxt not in seen)
    return run


def _call_pre_hooks(node: Node, hooks: dict, grads: list, runs: bool = True) -> list | None:
    """Run a node's hooks in PyTorch's order, replacing entries of ``grads`` in place: each
    output's tensor hooks, then ``retain_grad`` (so it sees what the tensor hooks returned), then
    the node's pre-hooks (on all its gradients). Returns the node's post-hooks (or None)."""
    for nr, fns in list(hooks.items()):
        if type(nr) is int:
            for fn in list(fns):
                if grads[nr] is not None:
                    new = fn(grads[nr])
                    if new is not None:
                        _check_hook_value(fn, grads[nr], new)
                        grads[nr] = new
    retained = hooks.get(RETAIN)
    if retained:
        for nr, fn in retained.items():
            if grads[nr] is not None:
                fn(grads[nr])
    if not runs:  # (autograd.grad stops at this node: its own hooks are not called)
        return None
    for fn in list(hooks.get(NODE_PRE) or ()):
        new = _check_hook_tuple(fn, tuple(grads), fn(tuple(grads)))
        if new is not None:
            grads[:] = new
    return hooks.get(NODE_POST)


def _call_post_hooks(node: Node, hooks: list, results: tuple, grads: list) -> tuple:
    """``Node.register_hook`` hooks: ``fn(grad_inputs, grad_outputs)``; a tuple replaces the
    gradients the node passes on."""
    results = tuple(results)
    for fn in list(hooks):
        new = _check_hook_tuple(fn, results, fn(results, tuple(grads)))
        if new is not None:
            results = new
    return results


def _edge_of(t) -> tuple:
    """The (node, output_nr) a tensor's gradient enters the graph through (a GradientEdge's own)."""
    if type(t) is GradientEdge:
        return t.node, t.output_nr
    if t._base is not None and _stale_view(t):
        _refresh_view(t)
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._grad_accumulator(), 0)


def _edge_meta(edge: GradientEdge) -> tuple:
    """(shape, dtype, device) of the tensor that flows through ``edge`` (PyTorch's input metadata)."""
    node = edge.node
    if isinstance(node, AccumulateGrad):
        v = node.variable
        return tuple(v.shape), v.dtype, v.device
    return node._output_meta[edge.output_nr]


def _as_tuple(x, what: str) -> tuple:
    """PyTorch's reading of ``outputs``/``inputs``: one tensor (or GradientEdge), a dict's values,
    or any iterable; ``what`` names the function in the dict error."""
    from ember.tensor import Tensor

    if isinstance(x, (Tensor, GradientEdge)):
        return (x,)
    if type(x) is dict:
        return tuple(x.values())
    if isinstance(x, Mapping):
        raise TypeError(f"`inputs` argument to `{what}()` must be a dict, not {type(x).__name__}. Other Mapping "
                        "types are not supported.")
    return tuple(x)


def _make_grads(outputs: Sequence, grad_outputs: Sequence | None, batched: bool = False) -> list:
    from ember.functions.creation import ones, ones_like
    from ember.tensor import Tensor

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif len(grad_outputs) < len(outputs):  # (extra gradients are ignored, as PyTorch's zip does)
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients")
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        edge = type(out) is GradientEdge
        if edge:
            shape, dtype, device = _edge_meta(out)
        else:  # (read off the tensor: the common path stays as cheap as it was)
            shape, dtype, device = out._data.shape, out._dtype, None
        if g is None:
            if not (edge or out._requires_grad):
                raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
            if (any(n != 1 for n in shape) if edge else out.numel() != 1):
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not dtype.is_floating_point:  # complex: no implicit gradient (PyTorch)
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {dtype}")
            g = ones(shape, dtype=dtype, device=device) if edge else ones_like(out)
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        else:
            first = g[0] if batched and g.dim() else g
            if tuple(first._data.shape) != tuple(shape):
                from ember.tensor import Size

                if batched:
                    raise RuntimeError(
                        "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the "
                        "batch dimension. The sizes of the remaining dimensions are expected to match the shape of "
                        f"corresponding output, but a mismatch was detected: grad_output[{i}] has a shape of "
                        f"{Size(first.shape[1:])} and output[{i}] has a shape of {Size(tuple(shape))}. If you only want "
                        "some tensors in `grad_output` to be considered batched, consider using vmap.")
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                                   f"output[{i}] has a shape of {Size(tuple(shape))}.")
            if dtype.is_complex != g.dtype.is_complex:
                raise RuntimeError("For complex Tensors, both grad_output and output are required to have the same "
                                   f"dtype. Mismatch in dtype: grad_output[{i}] has a dtype of {g.dtype} and "
                                   f"output[{i}] has a dtype of {dtype}.")
        grads.append(g)
    return grads


def _check_outputs_require_grad(outputs: Sequence) -> None:
    for i, t in enumerate(outputs):
        if type(t) is not GradientEdge and not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             grad_variables=None, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    ``tensors`` and ``inputs`` may hold ``GradientEdge``s; ``inputs`` may be a dict (its values)."""
    from ember.tensor import Tensor

    if grad_variables is not None:
        if grad_tensors is not None:
            raise RuntimeError("`grad_tensors` and `grad_variables` (deprecated) arguments both passed to "
                               "`backward()`. Please only use `grad_tensors`.")
        warnings.warn("`grad_variables` is deprecated. Use `grad_tensors` instead.", FutureWarning, stacklevel=2)
        grad_tensors = grad_variables
    if inputs is not None:
        inputs = list(_as_tuple(inputs, "backward"))
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    tensors = _as_tuple(tensors, "backward")
    if grad_tensors is not None:
        grad_tensors = (grad_tensors,) if isinstance(grad_tensors, Tensor) else tuple(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(tensors, grad_tensors)
    _check_outputs_require_grad(tensors)
    held = [g for g in grad_tensors if g is not None] if grad_tensors is not None else []
    if inputs is not None:
        for t in inputs:
            if type(t) is not GradientEdge and not t.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        found = grad(tensors, inputs, grads, retain_graph=retain_graph, create_graph=create_graph,
                     allow_unused=True)
        taken = {id(g._data): g._data for g in held}
        for t, g in zip(inputs, found):
            if type(t) is GradientEdge:  # a leaf's edge accumulates into that leaf; others hold no .grad
                if not isinstance(t.node, AccumulateGrad):
                    continue
                t = t.node.variable
            if g is not None:
                box = [g]
                _own_grad(box, t, taken)
                t._accumulate_grad(box[0], create_graph)
        return
    _run(list(tensors), grads, retain_graph, create_graph, held=held)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple | dict:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated.

    ``outputs``/``inputs`` may hold ``GradientEdge``s; ``inputs`` may be a dict (the result is then
    a dict with its keys). ``is_grads_batched``: the first dim of every ``grad_outputs`` entry is a
    batch of cotangents, and each result gains that dim (PyTorch vmaps the backward; ember runs it
    once per cotangent).
    """
    from ember.functions.creation import zeros_like
    from ember.tensor import Tensor

    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    keys = list(inputs.keys()) if type(inputs) is dict else None
    outputs = _as_tuple(outputs, "grad")
    inputs = list(_as_tuple(inputs, "grad"))
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if materialize_grads and any(type(t) is GradientEdge for t in inputs):
        raise RuntimeError("materialize_grads cannot be used when the given input is a GradientEdge")
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.", FutureWarning,
                      stacklevel=2)
    if grad_outputs is not None:
        grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    if is_grads_batched:
        if any(type(t) is GradientEdge for t in outputs):
            raise RuntimeError("Batched grads are not supported with GradientEdge")
        _make_grads(outputs, grad_outputs, batched=True)
        result = _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                               materialize_grads)
        return dict(zip(keys, result)) if keys is not None else result
    grads = _make_grads(outputs, grad_outputs)
    _check_outputs_require_grad(outputs)
    for t in inputs:
        if type(t) is not GradientEdge and not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    edges = [_edge_of(t) for t in inputs]
    captured = _run(list(outputs), grads, retain_graph, create_graph, capture=set(edges))
    result = []
    for i, (t, key) in enumerate(zip(inputs, edges)):
        g = captured.get(key)
        if g is None:
            if materialize_grads:
                g = zeros_like(t)
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        elif not create_graph:
            detached = g.detach()
            if _FW[0] is not None:  # forward AD: the gradient keeps its tangent (forward-over-reverse)
                _FW[0].carry(g, detached)
            g = detached
        result.append(g)
    return dict(zip(keys, result)) if keys is not None else tuple(result)


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
