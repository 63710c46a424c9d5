"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian on ember's reverse-mode autograd.

Each transform is one *level*: it makes its inputs differentiable (a detached leaf, or a view of
the input when the input already takes part in an outer level's graph, so the outer level still sees
through), runs the function, and differentiates with ``ember.autograd.grad``. A level records the
backward (``create_graph=True``) only when the function's graph reaches a tensor it did not create
(an outer transform's input, a parameter requiring grad): that keeps ``grad(grad(f))``,
``jacrev(grad(f))`` and ``hessian`` exact, and the results of a plain call free of graph history, as
in PyTorch.

Forward mode does not exist in ember: ``jvp`` is computed exactly with the double-vjp trick (for
``u`` a dummy cotangent, ``g(u) = J^T u`` is linear in ``u``, and the vjp of ``g`` at ``v`` is
``J v``), and ``jacfwd`` returns the same values as ``jacrev`` (reverse mode, one backward per output
element).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from ember.autograd import engine as _engine
from ember.autograd.function import AccumulateGrad
from ember.autograd.grad_mode import enable_grad, is_grad_enabled
from ember.utils._pytree import TreeSpec, tree_flatten, tree_unflatten, treespec_pprint

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]

argnums_t = int | tuple[int, ...]


def _tensor_cls() -> type:
    from ember.tensor import Tensor

    return Tensor


def _spec_str(spec: TreeSpec) -> str:
    """PyTorch's ``treespec_pprint``: ``*`` for a leaf, containers as Python literals."""
    return treespec_pprint(spec)


def _spec_repr(spec: TreeSpec) -> str:
    """PyTorch's ``repr(TreeSpec)`` (what ``jvp`` and ``vmap`` print in their structure errors)."""
    return repr(spec)


class _Level:
    """The tensors one transform made differentiable, and what decides whether results keep a graph."""

    def __init__(self) -> None:
        self.own: set[int] = set()
        self._keep: list = []  # the leaves stay alive while their ids are in ``own``

    def wrap(self, t: Any) -> Any:
        Tensor = _tensor_cls()
        if not isinstance(t, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
        if t.requires_grad:
            return t.view_as(t)  # still connected to the outer level's graph
        if not (t.is_floating_point() or t.is_complex()):
            # PyTorch calls ``requires_grad_()``, whose wording differs from the setter's
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        leaf = t.detach().requires_grad_()
        self.own.add(id(leaf))
        self._keep.append(leaf)
        return leaf

    def leaf(self, t: Any) -> Any:
        """Register a tensor this level created as a leaf (jvp's dummy cotangents)."""
        self.own.add(id(t))
        self._keep.append(t)
        return t

    def reaches_outside(self, tensors: Sequence) -> bool:
        """Whether any of ``tensors`` depends on a leaf requiring grad that this level did not create."""
        Tensor = _tensor_cls()
        seen: set = set()
        stack = []
        for t in tensors:
            if not isinstance(t, Tensor) or not t.requires_grad:
                continue
            if t.grad_fn is None:
                if id(t) not in self.own:
                    return True
                continue
            stack.append(t.grad_fn)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if isinstance(node, AccumulateGrad):
                if id(node.variable) not in self.own:
                    return True
                continue
            for edge in node._edges:
                if edge[0] is not None and edge[0] not in seen:
                    stack.append(edge[0])
        return False

    def finish(self, t: Any) -> Any:
        """A result handed back to the caller: detached unless an outer level (or a parameter) needs it."""
        Tensor = _tensor_cls()
        if isinstance(t, Tensor) and t.requires_grad and not self.reaches_outside([t]):
            return t.detach()
        return t


def _grads(outputs: Sequence, inputs: Sequence, cotangents: Sequence, create_graph: bool) -> list:
    """d(sum <outputs, cotangents>)/d(inputs); zeros where an input is not used."""
    from ember import zeros_like

    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    found: Sequence = [None] * len(inputs)
    if pairs:
        found = _engine.grad([o for o, _ in pairs], list(inputs), [c for _, c in pairs], retain_graph=True,
                             create_graph=create_graph, allow_unused=True)
    return [zeros_like(x) if g is None else g for g, x in zip(found, inputs)]


def _check_argnums(argnums: Any, nargs: int) -> tuple[int, ...]:
    """The argnums as a tuple of non-negative positions, with PyTorch's errors in PyTorch's order:
    the type, then each entry's range (``bool`` counts as an int, as there), then uniqueness of the
    wrapped positions (so ``(0, -2)`` of two arguments is a repeat)."""
    if isinstance(argnums, int):
        items: tuple = (argnums,)
    elif isinstance(argnums, tuple):
        items = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    out = []
    for a in items:
        if not isinstance(a, int):
            raise RuntimeError(f"argnum must be int, got: {type(a)}")
        if not -nargs <= a < nargs:
            raise RuntimeError(f"Got argnum={a}, but only {nargs} positional inputs")
        out.append(int(a) % nargs)
    if isinstance(argnums, tuple):
        if not out:
            raise RuntimeError("argnums must be non-empty")
        if len(set(out)) != len(out):
            raise RuntimeError(f"argnums elements must be unique, got {tuple(out)}")
    return tuple(out)


def _differentiable_outputs(leaves: list) -> None:
    """PyTorch's vjp (and jacrev, built on it) rejects integer and bool outputs up front."""
    for x in leaves:
        if not (x.is_floating_point() or x.is_complex()):
            raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got Tensor "
                               f"with dtype {x.dtype}")


def _error_if_complex(name: str, tree: Any, is_input: bool) -> None:
    """jacrev and jacfwd do not support complex functions (PyTorch's ``error_if_complex``)."""
    Tensor = _tensor_cls()
    for idx, x in enumerate(tree_flatten(tree)[0]):
        if isinstance(x, Tensor) and x.is_complex():
            kind = "inputs" if is_input else "outputs"
            raise RuntimeError(f"{name}: Expected all {kind} to be real but received complex tensor at flattened "
                               f"input idx: {idx}")


def _check_dual_dtypes(primal: Any, tangent: Any) -> None:
    """``forward_ad.make_dual``'s checks, which PyTorch's jvp and jacfwd run on every primal."""
    if not (primal.is_floating_point() or primal.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {primal.dtype}")
    if tangent is not None and not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")


def _wrap_args(level: _Level, args: tuple, argnums: Any) -> tuple[tuple, list, TreeSpec]:
    """``args`` with the arguments at ``argnums`` made differentiable; their leaves and structure
    (one argument's tree for an int ``argnums``, the tuple of them for a tuple)."""
    positions = _check_argnums(argnums, len(args))
    new_args = list(args)
    picked = []
    for p in positions:
        leaves, spec = tree_flatten(args[p])
        new_args[p] = tree_unflatten([level.wrap(x) for x in leaves], spec)
        picked.append(new_args[p])
    diff = picked[0] if isinstance(argnums, int) else tuple(picked)
    flat_in, in_spec = tree_flatten(diff)
    return tuple(new_args), flat_in, in_spec


def _split_aux(out: Any, has_aux: bool, where: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{where}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return out


def _finish_aux(level: _Level, aux: Any) -> Any:
    """``aux`` handed back: PyTorch unwraps it leaf by leaf and accepts only tensors there."""
    Tensor = _tensor_cls()
    for x in tree_flatten(aux)[0]:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(x)}")
    return _finish_tree(level, aux)


def _finish_tree(level: _Level, tree: Any) -> Any:
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([level.finish(x) for x in leaves], spec)


def _only_tensors(leaves: list, where: str) -> None:
    """PyTorch's ``assert_non_empty_tensor_output``: at least one output, and only tensors."""
    Tensor = _tensor_cls()
    if not leaves or (len(leaves) == 1 and leaves[0] is None):
        raise RuntimeError(f"{where}: Expected f to be a function that has non-empty output (got output = {leaves})")
    for x in leaves:
        if not isinstance(x, Tensor):
            raise RuntimeError(f"{where}: expected f(*primals) to return only tensors, got unsupported type {type(x)}")


def grad_and_value(func: Callable[..., Any], argnums: argnums_t = 0, has_aux: bool = False) -> Callable[..., Any]:
    """Like :func:`grad`, but the function returns ``(gradient, value)`` (``(gradient, (value, aux))``
    with ``has_aux``).

    Example:
        >>> import ember
        >>> g, v = ember.func.grad_and_value(lambda x: (x ** 2).sum())(ember.tensor([1.0, 2.0]))
        >>> g, v
        (tensor([2., 4.]), tensor(5.))
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        Tensor = _tensor_cls()
        level = _Level()
        with enable_grad():
            new_args, flat_in, in_spec = _wrap_args(level, args, argnums)
            out, aux = _split_aux(func(*new_args, **kwargs), has_aux, "grad_and_value(f)(*args)")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got {type(out)}")
            if out.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs "
                                   "instead?")
            nested = is_grad_enabled() and level.reaches_outside([out])
            grads = _grads([out], flat_in, [None], create_graph=nested)
        grads = tree_unflatten([level.finish(g) for g in grads], in_spec)
        value = level.finish(out)
        if has_aux:
            return grads, (value, _finish_aux(level, aux))
        return grads, value

    return wrapper


def grad(func: Callable[..., Any], argnums: argnums_t = 0, has_aux: bool = False) -> Callable[..., Any]:
    """``torch.func.grad``: a function returning the gradient of ``func``'s scalar output with respect
    to the arguments at ``argnums`` (an int, or a tuple of ints giving a tuple of gradients); with
    ``has_aux``, ``func`` returns ``(output, aux)`` and the new function ``(gradient, aux)``.
    Composes with itself and the other transforms (``grad(grad(f))``, ``vmap(grad(f))``).

    Example:
        >>> import ember
        >>> ember.func.grad(lambda x: x.sin())(ember.tensor(0.0))
        tensor(1.)
        >>> ember.func.grad(ember.func.grad(lambda x: x ** 3))(ember.tensor(2.0))
        tensor(12.)
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = grad_and_value(func, argnums, has_aux)(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple:
    """``torch.func.vjp``: ``(func(*primals), vjp_fn)`` (and ``aux`` with ``has_aux``), where
    ``vjp_fn(cotangents)`` returns the vector-Jacobian products, one per primal, as a tuple.
    ``vjp_fn`` may be called several times.

    Example:
        >>> import ember
        >>> out, vjp_fn = ember.func.vjp(lambda x: x * 3, ember.tensor([1.0, 2.0]))
        >>> vjp_fn(ember.tensor([1.0, 10.0]))
        (tensor([ 3., 30.]),)
    """
    level = _Level()
    with enable_grad():
        leaves, primals_spec = tree_flatten(primals)
        flat_in = [level.wrap(x) for x in leaves]
        out, aux = _split_aux(func(*tree_unflatten(flat_in, primals_spec)), has_aux, "vjp(f, *primals)")
        flat_out, out_spec = tree_flatten(out)
        _only_tensors(flat_out, "vjp(f, *primals)")
        _differentiable_outputs(flat_out)
        nested = is_grad_enabled() and level.reaches_outside(flat_out)

    def vjp_fn(cotangents: Any, retain_graph: bool = True, create_graph: bool | None = None) -> tuple:
        # the graph is always retained (vjp_fn may be called again); create_graph=True forces a graph
        flat_ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of outputs "
                               f"to the function. cotangents: {_spec_str(ct_spec)}, primal output: "
                               f"{_spec_str(out_spec)}")
        create = bool(create_graph) or (is_grad_enabled() and (nested or level.reaches_outside(flat_ct)))
        with enable_grad():
            grads = _grads(flat_out, flat_in, flat_ct, create_graph=create)
        return tree_unflatten([level.finish(g) for g in grads], primals_spec)

    result = (_finish_tree(level, out), vjp_fn)
    return result + (_finish_aux(level, aux),) if has_aux else result


def jvp(func: Callable[..., Any], primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (and ``aux`` with ``has_aux``).

    ember has no forward mode: the Jacobian-vector product is computed exactly by differentiating
    a vector-Jacobian product with respect to its (dummy) cotangent, i.e. two backward passes.

    Example:
        >>> import ember
        >>> x = ember.tensor([0.0, 1.0])
        >>> ember.func.jvp(lambda x: x * x, (x,), (ember.tensor([1.0, 1.0]),))
        (tensor([0., 1.]), tensor([0., 2.]))
    """
    from ember import ones_like, zeros_like

    where = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{where}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{where}: Expected primals and tangents to have the same python structure. For example, "
                           "if primals is a tuple of 3 tensors, tangents also must be. Got primals with structure "
                           f"{_spec_repr(p_spec)} and tangents with structure {_spec_repr(t_spec)}")
    Tensor = _tensor_cls()
    for name, leaves in (("primals", flat_p), ("tangents", flat_t)):
        if not leaves:
            raise RuntimeError(f"{where}: Expected {name} to contain at least one Tensor.")
        for x in leaves:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{where}: Expected {name} to only contain Tensors, got {type(x)}")
    for p, t in zip(flat_p, flat_t):
        _check_dual_dtypes(p, t)
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                               f"Tensor, this is not supported. Tensor is of size {list(p.shape)} while the given "
                               f"forward gradient is of size {list(t.shape)}.")
    level = _Level()
    with enable_grad():
        flat_in = [level.wrap(x) for x in flat_p]
        out, aux = _split_aux(func(*tree_unflatten(flat_in, p_spec)), has_aux, where)
        flat_out, out_spec = tree_flatten(out)
        _only_tensors(flat_out, where)
        create = is_grad_enabled() and (level.reaches_outside(flat_out) or level.reaches_outside(flat_t))
        diff = [o for o in flat_out if o.requires_grad]
        # the VJP is linear in its cotangent, so any value gives the same JVP; ones, because a zero
        # cotangent makes some backward formulas take log(0) or 0/0 (logcumsumexp, logit)
        dummies = [level.leaf(ones_like(o).requires_grad_()) for o in diff]
        tangent_outs: dict[int, Any] = {}
        if diff:
            vjps = _engine.grad(diff, flat_in, dummies, retain_graph=True, create_graph=True, allow_unused=True)
            used = [(g, t) for g, t in zip(vjps, flat_t) if g is not None and g.requires_grad]
            if used:
                jv = _engine.grad([g for g, _ in used], dummies, [t for _, t in used], retain_graph=True,
                                  create_graph=create, allow_unused=True)
                tangent_outs = {id(o): j for o, j in zip(diff, jv) if j is not None}
        jvp_out = [tangent_outs.get(id(o)) for o in flat_out]
        jvp_out = [zeros_like(o) if j is None else level.finish(j) for j, o in zip(jvp_out, flat_out)]
    result = (_finish_tree(level, out), tree_unflatten(jvp_out, out_spec))
    return result + (_finish_aux(level, aux),) if has_aux else result


def _rows(o: Any, flat_in: list, nested: bool) -> list[list]:
    """For each input, the gradients of the elements of ``o`` (one backward per element)."""
    import ember

    n = o.numel()
    rows: list[list] = [[] for _ in flat_in]
    for k in range(n):
        basis = ember.zeros(n, dtype=o.dtype, device=o.device)
        basis[k] = 1
        for row, g in zip(rows, _grads([o], flat_in, [basis.reshape(o.shape)], create_graph=nested)):
            row.append(g)
    return rows


def _block(o: Any, x: Any, rows: list) -> Any:
    import ember

    shape = tuple(o.shape) + tuple(x.shape)
    return ember.stack(rows).reshape(shape) if rows else ember.zeros(shape, dtype=x.dtype, device=x.device)


def _prod(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _share(blocks: list[list], out_shapes: list[tuple], in_shapes: list[tuple], by_input: bool) -> list[list]:
    """Join the blocks of each input (jacrev) or each output (jacfwd) into one tensor and split it again."""
    import ember

    if by_input and len(out_shapes) > 1:
        for j, xs in enumerate(in_shapes):
            flat = ember.cat([blocks[i][j].reshape((_prod(os_), *xs)) for i, os_ in enumerate(out_shapes)], dim=0)
            start = 0
            for i, os_ in enumerate(out_shapes):
                blocks[i][j] = flat[start:start + _prod(os_)].reshape(os_ + xs)
                start += _prod(os_)
    elif not by_input and len(in_shapes) > 1:
        for i, os_ in enumerate(out_shapes):
            flat = ember.cat([blocks[i][j].reshape((*os_, _prod(xs))) for j, xs in enumerate(in_shapes)], dim=-1)
            start = 0
            for j, xs in enumerate(in_shapes):
                blocks[i][j] = flat.narrow(-1, start, _prod(xs)).reshape(os_ + xs)
                start += _prod(xs)
    return blocks


def _jacobian(func: Callable[..., Any], argnums: argnums_t, has_aux: bool, name: str,
              randomness: str | None = None) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any) -> Any:
        from ember.func._vmap import _Randomness

        _error_if_complex(name, args, is_input=True)
        if name == "jacfwd":
            for p in tree_flatten(tuple(args[i] for i in _check_argnums(argnums, len(args))))[0]:
                if isinstance(p, _tensor_cls()):
                    _check_dual_dtypes(p, None)
        level = _Level()
        with enable_grad():
            new_args, flat_in, in_spec = _wrap_args(level, args, argnums)
            # PyTorch's jacfwd runs f under vmap(randomness=...): "error" rejects a random draw
            # (one call here, so "same" and "different" both draw once)
            rng = _Randomness(randomness) if randomness == "error" else None
            if rng is not None:
                rng.before()
            result = func(*new_args)
            if rng is not None:
                rng.after()
            # PyTorch builds jacrev on vjp and jacfwd on jvp, and reports through them
            where = "vjp(f, *primals)" if name == "jacrev" else "jvp(f, primals, tangents)"
            out, aux = _split_aux(result, has_aux, where)
            flat_out, out_spec = tree_flatten(out)
            _only_tensors(flat_out, where)
            if name == "jacrev":
                _differentiable_outputs(flat_out)
            _error_if_complex(name, flat_out, is_input=False)
            nested = is_grad_enabled() and level.reaches_outside(flat_out)
            # One backward per output element. blocks[i][j] is d output i / d input j. PyTorch computes
            # jacrev as one vmapped vjp per input and jacfwd as one vmapped jvp per output, so a block
            # that is zero shares requires_grad with its input's (jacrev) or output's (jacfwd) blocks.
            blocks = [[_block(o, x, rows) for x, rows in zip(flat_in, _rows(o, flat_in, nested))] for o in flat_out]
            if name == "jacfwd":  # forward mode's blocks are tangents of the outputs: the output's dtype
                blocks = [[b if b.dtype == o.dtype else b.to(o.dtype) for b in row] for o, row in zip(flat_out, blocks)]
            blocks = _share(blocks, [tuple(o.shape) for o in flat_out], [tuple(x.shape) for x in flat_in],
                            by_input=name == "jacrev")
            per_output = [tree_unflatten([level.finish(b) for b in row], in_spec) for row in blocks]
        result = tree_unflatten(per_output, out_spec)
        return (result, _finish_aux(level, aux)) if has_aux else result

    return wrapper


def jacrev(func: Callable[..., Any], argnums: argnums_t = 0, *, has_aux: bool = False, chunk_size: int | None = None,
           _preallocate_and_copy: bool = False) -> Callable[..., Any]:
    """``torch.func.jacrev``: the Jacobian of ``func`` with respect to the arguments at ``argnums``, by
    reverse mode, one backward pass per output element (``chunk_size`` is accepted; there is no
    batching to chunk). For an output of shape ``O`` and an input of shape ``I`` the Jacobian has
    shape ``O + I``; pytrees of outputs and inputs nest as in PyTorch.

    Example:
        >>> import ember
        >>> ember.func.jacrev(lambda x: x * x)(ember.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func: Callable[..., Any], argnums: argnums_t = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable[..., Any]:
    """``torch.func.jacfwd``: the same Jacobian as :func:`jacrev`. ember has no forward mode, so it is
    computed in reverse mode too (the values are PyTorch's; only the cost profile differs).

    Example:
        >>> import ember
        >>> ember.func.jacfwd(lambda x: x.sum())(ember.tensor([1.0, 2.0]))
        tensor([1., 1.])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    return _jacobian(func, argnums, has_aux, "jacfwd", randomness)


def hessian(func: Callable[..., Any], argnums: argnums_t = 0) -> Callable[..., Any]:
    """``torch.func.hessian``: ``jacfwd(jacrev(func, argnums), argnums)``.

    Example:
        >>> import ember
        >>> ember.func.hessian(lambda x: (x ** 3).sum())(ember.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
