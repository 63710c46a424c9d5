"""PyTorch's ``torch.autograd.functional``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

Higher-level derivatives of a function of tensors, built on ``ember.autograd.grad``. Arguments,
defaults, the Tensor/tuple structure of the results, the ``strict`` checks and the error messages
are PyTorch's. ``jvp`` and ``hvp`` use the double-backward trick (as PyTorch does);
``vectorize=True`` computes the same rows one backward at a time; ``strategy="forward-mode"``
uses ``ember.autograd.forward_ad``. See docs/func.md.

Example:
    >>> import ember
    >>> from ember.autograd.functional import jacobian
    >>> jacobian(lambda x: x ** 2, ember.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.autograd import forward_ad as _fw
from ember.autograd.engine import grad as _grad
from ember.autograd.grad_mode import enable_grad, is_grad_enabled, set_grad_enabled

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

_STRATEGIES = ("forward-mode", "reverse-mode")


def _tensor_cls() -> type:
    from ember.tensor import Tensor

    return Tensor


# --- structure -------------------------------------------------------------------------------------


def _as_tuple(value: Any, arg_name: str, fn_name: str | None) -> tuple[bool, tuple]:
    """``(was_tuple, tuple_of_tensors)``; PyTorch's TypeError for anything that is not a Tensor."""
    was_tuple = isinstance(value, tuple)
    items = value if was_tuple else (value,)
    tensor = _tensor_cls()
    for i, el in enumerate(items):
        if not isinstance(el, tensor):
            where = f"the value at index {i}" if was_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but "
                            f"{where} has type {type(el)}.")
    return was_tuple, items


def _unpack(res: Any, was_tuple: bool | tuple[bool, bool]) -> Any:
    """Undo ``_as_tuple``: a flat tuple for one flag, a tuple of tuples for ``(outer, inner)``."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            res = tuple(row[0] for row in res)
        return res if outer else res[0]
    return res if was_tuple else res[0]


def _prepare(tensors: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """New tensor objects for ``tensors``: differentiable views when the user wants a graph back to them
    (``create_graph``), detached leaves otherwise. A new object is needed even then, so the function's own
    use of a captured input is not mistaken for the argument."""
    return tuple(t.view_as(t) if create_graph and t.requires_grad else _leaf(t, need_graph) for t in tensors)


def _leaf(t: Any, requires_grad: bool) -> Any:
    """``t.detach().requires_grad_(requires_grad)`` with the error PyTorch's ``requires_grad_`` raises
    for an integer or bool input (its wording differs from the ``requires_grad=`` setter's)."""
    if requires_grad and not (t.is_floating_point() or t.is_complex()):
        raise RuntimeError("only Tensors of floating point dtype can require gradients")
    return t.detach().requires_grad_(requires_grad)


def _finish(tensors: tuple, create_graph: bool) -> tuple:
    """Detach results (recursively through nested tuples) unless the caller asked for a graph."""
    if isinstance(tensors[0], _tensor_cls()):
        return tensors if create_graph else tuple(t.detach() for t in tensors)
    return tuple(_finish(t, create_graph) for t in tensors)


def _check_v(v: tuple, ref: tuple, ref_is_tuple: bool) -> None:
    if len(v) != len(ref):
        if ref_is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(ref)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, ref)):
        if a.size() != b.size():
            prefix = f"Entry {i} in " if ref_is_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.size()} but got {a.size()}.")


def _take_v(v: Any, ref: tuple, ref_is_tuple: bool, create_graph: bool, fn_name: str, none_msg: str) -> Any:
    """Validate ``v`` against ``ref`` (the tensors it multiplies); ``v=None`` needs one single-element ref."""
    if v is None:
        if len(ref) != 1 or ref[0].nelement() != 1:
            raise RuntimeError(none_msg)
        return None
    _, v = _as_tuple(v, "v", fn_name)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, ref, ref_is_tuple)
    return v


_NONE_V_OUT = "The vector v can only be None if the user-provided function returns a single Tensor with a single element."
_NONE_V_IN = ("The vector v can only be None if the input to the user-provided function is a single Tensor with a "
              "single element.")


# --- strict checks ----------------------------------------------------------------------------------

_NOT_REQUIRING = {
    "outputs": ("Output {i} of the user-provided function does not require gradients. The outputs must be computed "
                "in a differentiable manner from the input when running in strict mode."),
    "grad_inputs": ("The gradient with respect to input {i} is independent of the inputs of the user-provided "
                    "function. This is not allowed in strict mode."),
    "jacobian": ("While computing the hessian, found that the jacobian of the user-provided function with respect "
                 "to input {i} is independent of the input. This is not allowed in strict mode. You should ensure "
                 "that your function is twice differentiable and that the jacobian depends on the inputs (this would "
                 "be violated by a linear function for example)."),
    "hessian": ("The hessian of the user-provided function with respect to input {i} is independent of the input. "
                "This is not allowed in strict mode. You should ensure that your function is thrice differentiable "
                "and that the hessian depends on the inputs."),
}


def _require_grad(tensors: tuple, kind: str, strict: bool) -> None:
    """In strict mode, every tensor must exist and require grad; PyTorch's message for each ``kind``."""
    if not strict:
        return
    for i, t in enumerate(tensors):
        if t is None:  # only gradients can be missing
            raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_NOT_REQUIRING[kind].format(i=i))


_MISSING = {
    "back": "The output of the user-provided function is independent of input {i}. This is not allowed in strict mode.",
    "back_trick": ("The gradient with respect to the input is independent of entry {i} in the grad_outputs when using "
                   "the double backward trick to compute forward mode gradients. This is not allowed in strict mode."),
    "double_back": ("The jacobian of the user-provided function is independent of input {i}. This is not allowed in "
                    "strict mode."),
    "double_back_trick": ("The hessian of the user-provided function is independent of entry {i} in the "
                          "grad_jacobian. This is not allowed in strict mode as it prevents from using the double "
                          "backward trick to replace forward mode AD."),
}


def _zeros_for_none(grads: tuple, refs: tuple, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Missing gradients become zeros shaped like ``refs`` (strict mode raises instead); with
    ``create_graph`` strict mode also refuses gradients that are constants."""
    from ember.functions.creation import zeros_like

    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_MISSING[stage].format(i=i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of input {i}. This is not "
                               "allowed in strict mode when create_graph=True.")
        res.append(g)
    return tuple(res)


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple | None = None, create_graph: bool = False,
           retain_graph: bool | None = None) -> tuple:
    """``autograd.grad`` that skips outputs which are None or do not require grad (all skipped: all None)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    keep = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not keep:
        return (None,) * len(inputs)
    outs, gos = zip(*keep)
    return _grad(list(outs), list(inputs), list(gos), retain_graph=retain_graph, create_graph=create_graph,
                 allow_unused=True)


# --- products ---------------------------------------------------------------------------------------


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀ J)``: the vector-Jacobian product, shaped like ``inputs``.

    ``v`` is shaped like the output and may be omitted for a single-element output. Inputs the output
    does not depend on get zeros (``strict=True`` raises instead). Results are detached unless
    ``create_graph=True``.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import vjp
        >>> out, g = vjp(lambda x, y: 2 * x + 3 * y, (ember.ones(2), ember.ones(2)), ember.ones(2))
        >>> g
        (tensor([2., 2.]), tensor([3., 3.]))
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "vjp")
        _require_grad(outputs, "outputs", strict)
        v = _take_v(v, outputs, outputs_tuple, create_graph, "vjp", _NONE_V_OUT)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grads(outputs, inputs, v, create_graph=create_graph)
        res = _zeros_for_none(res, inputs, strict, create_graph, "back")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(res, create_graph), inputs_tuple))


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), J v)``: the Jacobian-vector product, shaped like the output.

    ``v`` is shaped like ``inputs`` and may be omitted for a single-element input. Computed as PyTorch
    does, by the double-backward trick: ``u -> Jᵀu`` is linear, and its vjp with ``v`` is ``J v``.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import jvp
        >>> jvp(lambda x: x.exp().sum(dim=1), ember.zeros(2, 2), ember.ones(2, 2))
        (tensor([2., 2.]), tensor([2., 2.]))
    """
    from ember.functions.creation import zeros_like

    with enable_grad():
        inputs_tuple, inputs, v = _inputs_and_v(inputs, v, create_graph, "jvp")
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jvp")
        _require_grad(outputs, "outputs", strict)
        # Jᵀu is linear in u, so u's value never reaches the second backward; zeros cannot add inf or nan.
        dummies = tuple(zeros_like(o, requires_grad=True) for o in outputs)
        grad_inputs = _grads(outputs, inputs, dummies, create_graph=True)
        _require_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grads(grad_inputs, dummies, v, create_graph=create_graph)
        res = _zeros_for_none(res, outputs, strict, create_graph, "back_trick")
    return (_unpack(_finish(outputs, create_graph), outputs_tuple),
            _unpack(_finish(res, create_graph), outputs_tuple))


def _inputs_and_v(inputs: Any, v: Any, create_graph: bool, fn_name: str) -> tuple:
    """jvp/vhp/hvp's start: the inputs as a tuple ready for a graph (and whether they came as one),
    and ``v`` checked against them."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _prepare(inputs, create_graph, need_graph=True)
    return inputs_tuple, inputs, _take_v(v, inputs, inputs_tuple, create_graph, fn_name, _NONE_V_IN)


def _scalar_output(fn_name: str, func: Callable[..., Any], inputs: tuple, strict: bool) -> tuple:
    """Run ``func`` for vhp/hvp and check it returns one single-element Tensor."""
    outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _require_grad(outputs, "outputs", strict)
    if outputs_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")
    return outputs


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀ H)`` for a function with a single-element output; shaped like ``inputs``.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import vhp
        >>> vhp(lambda x: x.pow(3).sum(), ember.tensor([1.0, 2.0]), ember.ones(2))
        (tensor(9.), tensor([ 6., 12.]))
    """
    with enable_grad():
        inputs_tuple, inputs, v = _inputs_and_v(inputs, v, create_graph, "vhp")
        outputs = _scalar_output("vhp", func, inputs, strict)
        jac = _grads(outputs, inputs, create_graph=True)
        _require_grad(jac, "jacobian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grads(jac, inputs, v, create_graph=create_graph)
        res = _zeros_for_none(res, inputs, strict, create_graph, "double_back")
    return _unpack(_finish(outputs, create_graph), False), _unpack(_finish(res, create_graph), inputs_tuple)


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """``(func(*inputs), H v)`` for a function with a single-element output; shaped like ``inputs``.

    Computed as in PyTorch with the double-backward trick on top of the gradient (three backward
    passes); equal to ``vhp`` for twice continuously differentiable functions, which is cheaper.

    Example:
        >>> import ember
        >>> from ember.autograd.functional import hvp
        >>> hvp(lambda x, y: (2 * x.pow(2) + 3 * y.pow(2)).sum(), (ember.ones(2), ember.ones(2)),
        ...     (ember.zeros(2), ember.ones(2)))
        (tensor(10.), (tensor([0., 0.]), tensor([6., 6.])))
    """
    from ember.functions.creation import zeros_like

    with enable_grad():
        inputs_tuple, inputs, v = _inputs_and_v(inputs, v, create_graph, "hvp")
        outputs = _scalar_output("hvp", func, inputs, strict)
        jac = _grads(outputs, inputs, create_graph=True)
        _require_grad(jac, "jacobian", strict)
        dummies = tuple(zeros_like(x, requires_grad=True) for x in inputs)
        double_back = _grads(jac, inputs, dummies, create_graph=True)
        # PyTorch checks ``jac`` (not ``double_back``) here, which the check above already passed.
        _require_grad(jac, "hessian", strict)
    with set_grad_enabled(create_graph or is_grad_enabled()):
        res = _grads(double_back, dummies, v, create_graph=create_graph)
        res = _zeros_for_none(res, inputs, strict, create_graph, "double_back_trick")
    return _unpack(_finish(outputs, create_graph), False), _unpack(_finish(res, create_graph), inputs_tuple)


# --- Jacobian and Hessian ---------------------------------------------------------------------------


def _basis_column(inputs: tuple, k: int) -> tuple:
    """The k-th vector of the standard basis of the concatenated (flattened) inputs, split per input."""
    from ember.functions.creation import zeros_like

    cols = []
    for x in inputs:
        col = zeros_like(x)
        if 0 <= k < x.numel():
            col.view(-1)[k] = 1
        k -= x.numel()
        cols.append(col)
    return tuple(cols)


def _jacobian_forward(func: Callable[..., Any], inputs: Any, strict: bool, vectorize: bool) -> Any:
    """Columns of the Jacobian by forward AD, one dual evaluation per input element."""
    from ember.functions.creation import zeros_like
    from ember.functions.shape import stack

    if strict:
        raise RuntimeError('torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` are not '
                           'supported together (yet). Please either set `strict=False` or `strategy="reverse-mode"`.')
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    if not vectorize:
        # PyTorch's message, missing space included.
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
                                  "only implemented for `vectorize=True`.")
    columns = []  # columns[k][i]: J_i e_k, shaped like output i
    total = sum(x.numel() for x in inputs)
    for k in range(total) if total else [-1]:  # no input element: one pass with zero tangents, for the shapes
        with _fw.dual_level():
            duals = tuple(_fw.make_dual(x, t) for x, t in zip(inputs, _basis_column(inputs, k)))
            outputs_tuple, outputs = _as_tuple(func(*duals), "outputs", None)
            unpacked = [_fw.unpack_dual(o) for o in outputs]
            columns.append([p.tangent if p.tangent is not None else zeros_like(p.primal) for p in unpacked])
    refs = columns[0]
    jac, start = [[] for _ in refs], 0
    for x in inputs:
        block = columns[start:start + x.numel()]
        start += x.numel()
        for i, ref in enumerate(refs):
            shape = tuple(ref.shape) + tuple(x.shape)
            # stack(dim=-1) of the columns is out.shape + (numel,): the transposed layout of reverse mode.
            jac[i].append(stack([col[i] for col in block], dim=-1).reshape(shape) if block
                          else ref.new_zeros(shape))
    # Lists, not tuples, where PyTorch's forward mode returns lists (tuple outputs and tuple inputs).
    return _unpack(jac, (outputs_tuple, inputs_tuple))


def _row_grads(out: Any, inputs: tuple, create_graph: bool, basis: bool = False) -> list[tuple]:
    """``d out.flatten()[k] / d inputs`` for every k, one backward each (None where independent).
    ``basis``: pass the one-hot cotangent explicitly, as PyTorch's vectorized backward does, which
    (unlike an implicit one) a complex output accepts."""
    from ember.functions.creation import ones_like

    flat = out.reshape(-1)
    return [_grads((flat[k],), inputs, (ones_like(flat[k]),) if basis else None, retain_graph=True,
                   create_graph=create_graph) for k in range(out.nelement())]


def _jacobian_rows(outputs: tuple, inputs: tuple, create_graph: bool, strict: bool) -> tuple:
    """Rows of the Jacobian by reverse mode, one block per (output, input) pair."""
    from ember.functions.creation import zeros_like
    from ember.functions.shape import stack

    jac = []
    for i, out in enumerate(outputs):
        rows: list[list] = [[] for _ in inputs]
        for grads in _row_grads(out, inputs, create_graph):
            for j, (g, x) in enumerate(zip(grads, inputs)):
                if g is None:
                    if strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is independent of input {j}. "
                                           "This is not allowed in strict mode.")
                    g = zeros_like(x)
                elif strict and create_graph and not g.requires_grad:
                    # PyTorch names the output index here.
                    raise RuntimeError(f"The jacobian of the user-provided function is independent of input {i}. "
                                       "This is not allowed in strict mode when create_graph=True.")
                rows[j].append(g)
        jac.append(tuple(stack(r, dim=0).view(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, inputs)))
    return tuple(jac)


def _jacobian_vectorized(outputs: tuple, inputs: tuple, create_graph: bool) -> tuple:
    """PyTorch's ``vectorize=True`` layout: per input, one tensor of the rows of all outputs together, then
    split per output. Same values as ``_jacobian_rows``; with ``create_graph`` every block of an input
    requires grad as soon as one does (they are slices of one tensor), as in PyTorch's batched backward."""
    from ember.functions.creation import zeros_like
    from ember.functions.shape import stack

    rows = [g for out in outputs for g in _row_grads(out, inputs, create_graph, basis=True)]
    numels = [out.nelement() for out in outputs]
    per_input = []
    for j, x in enumerate(inputs):
        col = [r[j] for r in rows]
        if all(g is None for g in col):
            whole = zeros_like(x).expand((sum(numels),) + tuple(x.shape))
        else:
            whole = stack([zeros_like(x) if g is None else g for g in col], dim=0)
        per_input.append([blk.view(tuple(out.shape) + tuple(x.shape))
                          for blk, out in zip(whole.split(numels, dim=0), outputs)])
    return tuple(zip(*per_input))


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``; block ``[i][j]`` has shape ``outputs[i].shape + inputs[j].shape``.

    A Tensor for one input and one output, a tuple when one side is a tuple, a tuple of tuples when
    both are. ``vectorize=True`` gives the same values (ember computes the rows one backward at a
    time either way); ``strategy="forward-mode"`` needs ``vectorize=True`` and uses
    ``ember.autograd.forward_ad`` (blocks then have the output's dtype and, as in PyTorch, nested
    results are lists rather than tuples).

    Example:
        >>> import ember
        >>> from ember.autograd.functional import jacobian
        >>> jacobian(lambda x, y: 2 * x + 3 * y, (ember.ones(2), ember.ones(2)))
        (tensor([[2., 0.],
                [0., 2.]]), tensor([[3., 0.],
                [0., 3.]]))
    """
    if strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                             'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                             'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError('torch.autograd.functional.jacobian: `create_graph=True` and '
                                      '`strategy="forward-mode"` are not supported together (yet). Please either '
                                      'set `create_graph=False` or `strategy="reverse-mode"`.')
        return _jacobian_forward(func, inputs, strict, vectorize)
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", "jacobian")
        _require_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
                               "supported together. Please either set `strict=False` or `vectorize=False`.")
        jac = (_jacobian_vectorized(outputs, inputs, create_graph) if vectorize
               else _jacobian_rows(outputs, inputs, create_graph, strict))
    return _unpack(_finish(jac, create_graph), (outputs_tuple, inputs_tuple))


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of a function with a single-element output: the Jacobian of its gradient.

    A Tensor of shape ``x.shape + x.shape`` for one input, a tuple of tuples (block ``[i][j]`` of
    shape ``inputs[i].shape + inputs[j].shape``) for a tuple of inputs. The outer Jacobian uses
    ``outer_jacobian_strategy`` (``"forward-mode"`` needs ``vectorize=True``).

    Example:
        >>> import ember
        >>> from ember.autograd.functional import hessian
        >>> hessian(lambda x: x.pow(3).sum(), ember.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in _STRATEGIES:
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*args: Any) -> Any:
        out = func(*args)
        out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _require_grad(outs, "outputs", strict)
        if out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should contain a single element")
        return out.squeeze()

    def gradient(*args: Any) -> tuple:
        if outer_jacobian_strategy == "forward-mode":
            # the inner reverse-mode Jacobian must see inputs that require grad, or it would detach them
            args = tuple(a.requires_grad_(True) for a in args)
        jac = jacobian(single_output, args, create_graph=True)
        _require_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _unpack(res, (inputs_tuple, inputs_tuple))
