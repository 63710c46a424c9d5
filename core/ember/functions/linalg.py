"""Matrix products: ``matmul`` (every PyTorch broadcasting case), ``mm``, ``bmm``, ``mv``, ``dot``,
``outer``, ``einsum``.

Example:
    >>> import ember
    >>> a = ember.ones(2, 3, 4)
    >>> (a @ ember.ones(4)).shape
    ember.Size([2, 3])
    >>> ember.einsum("bij,bjk->bik", a, ember.ones(2, 4, 5)).shape
    ember.Size([2, 3, 5])
"""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.tensor import Tensor


def _type_word(d: _dt.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int"}.get(d.name, d.name)


class Matmul(Function):
    """Batched product of operands with ndim >= 2; batch axes broadcast."""

    _backward_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if b.requires_grad else None, b if a.requires_grad else None)
        ctx.ashape, ctx.bshape = a._data.shape, b._data.shape
        return a._new(a._kt["matmul"](a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import unbroadcast

        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(Matmul.apply(g, b.mT), ctx.ashape)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(Matmul.apply(a.mT, g), ctx.bshape)
        return ga, gb


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """PyTorch's matmul: 1-D operands gain and then lose an axis; batch axes broadcast."""
    a, b = input, other
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(b).__name__}")
    if a._device is not b._device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a._device} and {b._device}!")
    if a._dtype is not b._dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_type_word(a._dtype)} != "
                           f"{_type_word(b._dtype)}")
    if a.dim() == 0 or b.dim() == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.dim()}D and {b.dim()}D")
    squeeze_a, squeeze_b = a.dim() == 1, b.dim() == 1
    if squeeze_a:
        a = a.unsqueeze(0)
    if squeeze_b:
        b = b.unsqueeze(1)
    if a.shape[-1] != b.shape[-2]:
        sa = tuple(input.shape)
        sb = tuple(other.shape)
        if len(sa) <= 2 and len(sb) <= 2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[-2]}x{a.shape[-1]} and "
                               f"{b.shape[-2]}x{b.shape[-1]})")
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[-1]}] but got: "
                           f"[{b.shape[-2]}] (shapes {list(sa)} @ {list(sb)}).")
    from ember.functions.elementwise import broadcast_shapes

    broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    result = Matmul.apply(a, b)
    if squeeze_a:
        result = result.squeeze(-2)
    if squeeze_b:
        result = result.squeeze(-1)
    if out is not None:
        from ember.functions.elementwise import _out

        return _out(result, out)
    return result


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.dim() != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.dim() != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {vec.dim()}")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{other.shape[0]}] "
                           "to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


vdot = dot


def inner(input: Tensor, other: Tensor) -> Tensor:
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    return matmul(input, other.mT if other.dim() > 1 else other) if other.dim() <= 2 else tensordot(input, other, ([-1], [-1]))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    for name, t in (("self", input), ("vec2", vec2)):
        if t.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.dim()}-D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    prod = mm(mat1, mat2)
    return (input * beta if beta != 1 else input) + (prod * alpha if alpha != 1 else prod)


def baddbmm(input: Tensor, b1: Tensor, b2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    prod = bmm(b1, b2)
    return (input * beta if beta != 1 else input) + (prod * alpha if alpha != 1 else prod)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    if isinstance(dims, int):
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = [d % a.dim() for d in dims[0]], [d % b.dim() for d in dims[1]]
    fa = [d for d in range(a.dim()) if d not in da]
    fb = [d for d in range(b.dim()) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    am = a.permute(fa + da).reshape(-1, k)
    bm = b.permute(db + fb).reshape(k, -1)
    return matmul(am, bm).reshape([a.shape[d] for d in fa] + [b.shape[d] for d in fb])


# ---- einsum -------------------------------------------------------------------------------------
def _parse_einsum(equation: str, operands: tuple) -> tuple:
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs, out = eq, None
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum(): {len(terms)} operand subscripts for {len(operands)} operands")
    # Expand '...' into fresh upper-case letters.
    ell_dims = 0
    for term, op in zip(terms, operands):
        if "..." in term:
            ell_dims = max(ell_dims, op.dim() - (len(term) - 3))
    ell = "".join(chr(ord("A") + i) for i in range(ell_dims))
    new_terms = []
    for term, op in zip(terms, operands):
        if "..." in term:
            n = op.dim() - (len(term) - 3)
            term = term.replace("...", ell[ell_dims - n:])
        if len(term) != op.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match the "
                               f"number of dimensions ({op.dim()}) for operand {len(new_terms)}")
        new_terms.append(term)
    if out is None:
        counts: dict = {}
        for term in new_terms:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return new_terms, out


def _diag_reduce(x: Tensor, term: str) -> tuple:
    """Take diagonals for repeated letters within one term ('ii->i')."""
    while len(set(term)) != len(term):
        for i, c in enumerate(term):
            j = term.find(c, i + 1)
            if j != -1:
                x = x.diagonal(0, i, j)  # moves the diagonal to the last axis
                term = term[:i] + term[i + 1:j] + term[j + 1:] + c
                break
    return x, term


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, contracted pairwise through ``matmul``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, out = _parse_einsum(equation, operands)
    items = []
    for x, term in zip(operands, terms):
        items.append(_diag_reduce(x, term))
    sizes: dict = {}
    for x, term in items:
        for c, s in zip(term, x.shape):
            if c in sizes and sizes[c] != s and 1 not in (s, sizes[c]):
                raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes: subscript {c!r} has "
                                   f"sizes {sizes[c]} and {s}")
            sizes[c] = max(s, sizes.get(c, 1))

    def needed_elsewhere(k: int, letters: str) -> set:
        keep = set(out)
        for j, (_, t) in enumerate(items):
            if j != k:
                keep |= set(t)
        return {c for c in letters if c in keep}

    # Sum out letters that appear in only one operand and not in the output.
    reduced = []
    for k, (x, term) in enumerate(items):
        keep = needed_elsewhere(k, term)
        drop = [i for i, c in enumerate(term) if c not in keep]
        if drop:
            x = x.sum(dim=tuple(drop))
            term = "".join(c for c in term if c in keep)
        reduced.append((x, term))
    items = reduced
    x, term = items[0]
    for k in range(1, len(items)):
        y, yterm = items[k]
        rest_letters = set(out)
        for _, t in items[k + 1:]:
            rest_letters |= set(t)
        batch = [c for c in term if c in yterm and c in rest_letters]
        contract = [c for c in term if c in yterm and c not in rest_letters]
        left = [c for c in term if c not in yterm]
        right = [c for c in yterm if c not in term]
        xp = x.permute([term.index(c) for c in batch + left + contract])
        yp = y.permute([yterm.index(c) for c in batch + contract + right])
        bshape = [max(xp.shape[i], yp.shape[i]) for i in range(len(batch))]
        nl = 1
        for c in left:
            nl *= sizes[c]
        nr = 1
        for c in right:
            nr *= sizes[c]
        nc = 1
        for c in contract:
            nc *= sizes[c]
        xm = xp.expand(bshape + list(xp.shape[len(batch):])) if batch else xp
        ym = yp.expand(bshape + list(yp.shape[len(batch):])) if batch else yp
        xm = xm.reshape(bshape + [nl, nc]) if (left or contract) else xm.reshape(bshape + [1, 1])
        ym = ym.reshape(bshape + [nc, nr])
        prod = matmul(xm, ym)
        x = prod.reshape(bshape + [sizes[c] for c in left] + [sizes[c] for c in right])
        term = "".join(batch + left + right)
    # Remaining letters not in the output get summed; then order as the output asks.
    drop = [i for i, c in enumerate(term) if c not in out]
    if drop:
        x = x.sum(dim=tuple(drop))
        term = "".join(c for c in term if c in out)
    if term != out:
        x = x.permute([term.index(c) for c in out])
    return x


# ---- declarations: Tensor methods, operators, ``ember.*`` and ``__all__`` come from these ----------
_ops = Family(__name__)
_op = _ops.op
_op(matmul, out=True, kernels=("matmul",), operators=("__matmul__",), reflected=("__rmatmul__",))
for _fn in (mm, bmm, mv, inner, addmm, baddbmm):
    _op(_fn)
_op(dot, aliases=("vdot",))
_op(outer, aliases=("ger",))
_op(einsum, method=False)
_op(tensordot, method=False)

__all__ = _ops.names()
