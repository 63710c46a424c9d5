"""``out=`` sharing memory with itself or an input, against PyTorch.

Each case is one expression run with ``t = torch`` and ``t = ember``: the values of the base tensor
afterwards (or of the result) must match, or both must raise the same exception type with the same
message. PyTorch's rules: a TensorIterator op (``exp``, ``add``, ``where``, ``clamp``...) refuses an
``out`` that overlaps an input partially (``out=x`` itself is fine) or whose elements repeat
(``expand``); index ops and ``cat`` refuse any overlap, ``out=x`` included; matrix products refuse a
repeating ``out`` only; reductions check nothing.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

A = "(A:=t.arange(16.).reshape(4,4)/17)"
I4 = "t.tensor([[1,0,2,3]]*4)"

# partial overlap (``out=A.t()``: the same elements in another order) is refused; ``out=A`` is not
PARTIAL_OPS = [
    "neg(A)", "abs(A)", "exp(A)", "sqrt(A)", "sin(A)", "sigmoid(A)", "floor(A)", "frac(A)", "nan_to_num(A)",
    "square(A)", "add(A,1)", "sub(A,1,alpha=2)", "mul(A,2)", "div(A,2)", "remainder(A,2)", "pow(A,2)",
    "maximum(A,A.t().contiguous())", "atan2(A,A.t().contiguous())", "clamp(A,0,0.5)", "clamp(A,min=0.2)",
    "clamp_min(A,0.1)", "where(A>0.5,A,A.t().contiguous())", "lerp(A,A.t().contiguous(),0.5)",
    "addcmul(A,A.t().contiguous(),A.t().contiguous())", "hardshrink(A)", "hypot(A,A.t().contiguous())",
    "logit(A)", "special.expit(A)", "special.erfcx(A)", "special.i0e(A)", "special.xlog1py(A,2.)",
    "cumsum(A,0)", "msort(A)", "logical_xor(A,A)", "addmm(A,A.t().contiguous(),A.t().contiguous())",
]
# any overlap is refused, ``out`` the input itself included
FULL_OPS = [
    "index_select(A,0,t.tensor([1,0,2,3]))", f"gather(A,0,{I4})", f"take_along_dim(A,{I4},1)",
    f"take(A,{I4})", "index_add(A,0,t.tensor([0]),A[:1])", "index_copy(A,0,t.tensor([0]),A[:1])",
    "scatter(A,0,t.tensor([[1,0,2,3]]),A[:1])", "scatter_add(A,0,t.tensor([[1,0,2,3]]),A[:1])",
    "cat([A[:2],A[2:]])", "stack([A[0],A[1],A[2],A[3]])", "vstack([A[:2],A[2:]])",
]
# only a repeating ``out`` is refused
INTERNAL_OPS = ["mm(A,A.t().contiguous())", "matmul(A,A.t().contiguous())", "softmax(A,0)", "kron(A[:2,:2],A[:2,:2])"]


def _call(op: str, out: str) -> str:
    return f"t.{op.replace('A', A, 1)[:-1]}, out={out})"


CASES = (
    [f"(lambda: ({_call(op, o)}, A)[1])()" for op in PARTIAL_OPS + FULL_OPS for o in ("A", "A.t()")]
    + [_call(op, "t.zeros(4).expand(4,4)") for op in PARTIAL_OPS + FULL_OPS + INTERNAL_OPS]
    + [f"(lambda: ({_call(op, 'A')}, A)[1])()" for op in ("cumsum(A,0)", "softmax(A,0)", "linalg.inv(A+t.eye(4))")]
    + [
        # the brief's examples
        "(lambda x: (t.add(x[1:], 1, out=x[:-1]), x)[1])(t.arange(6.))",
        "(lambda x: (t.add(x, 1, out=x), x)[1])(t.arange(6.))",
        "(lambda x: (t.exp(x.t(), out=x), x)[1])(t.ones(3,3))",
        "(lambda x: (t.neg(x[1:], out=x[:-1]), x)[1])(t.arange(6.))",
        "(lambda x: (t.gather(x, 0, t.tensor([0,1,0]), out=x), x)[1])(t.arange(3.))",
        "(lambda x: (t.index_select(x, 0, t.tensor([0,1,0]), out=x), x)[1])(t.arange(3.))",
        "(lambda x: (t.masked_select(x, x>-1, out=x), x)[1])(t.arange(3.))",
        "(lambda x: t.add(x[0], 1, out=x[0].expand(3,4)))(t.zeros(3,4))",
        # the same span in the other order, disjoint halves, a strided partner
        "(lambda x: (t.exp(x, out=x.view(2,2)), x)[1])(t.ones(4))",
        "(lambda x: (t.add(x[::2], 1, out=x[1::2]), x)[1])(t.ones(6))",
        "(lambda x: (t.add(x[::2], 1, out=x[:3]), x)[1])(t.ones(6))",
        "(lambda x: (t.add(x, x.flip(0), out=x), x)[1])(t.arange(4.))",
        "(lambda x: (t.mul(x[:2], 2, out=x[2:]), x)[1])(t.arange(4.))",
        "(lambda x: (t.gather(x[:4], 0, t.tensor([0,1,2,3]), out=x[4:]), x)[1])(t.arange(8.))",
        "(lambda x: (t.cat([x[:1], x[1:]], out=x), x)[1])(t.ones(3))",
        "(lambda x: (t.sort(x, out=(x, t.empty(3, dtype=t.long))), x)[1])(t.tensor([3.,1,2]))",
        "(lambda x: (t.clamp(x, 0, 1, out=x), x)[1])(t.arange(-2., 3))",
    ]
)


def _run(fw, src):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            r = eval(src, {"t": fw, "np": np})  # noqa: S307 - the probe expressions above
        except Exception as e:  # noqa: BLE001 - the exception is what is compared
            return ("ERR", type(e).__name__, str(e)), [str(x.message)[:40] for x in w]
    return r, [str(x.message)[:40] for x in w if "resized" in str(x.message)]


@pytest.mark.parametrize("src", CASES)
def test_out_overlap(src):
    expected, warned_t = _run(torch, src)
    got, warned_e = _run(ember, src)
    if isinstance(expected, tuple) and expected and expected[0] == "ERR":
        assert isinstance(got, tuple) and got and got[0] == "ERR", f"PyTorch raised {expected}, ember gave {got}"
        assert got[1] == expected[1] and got[2] == expected[2]
        return
    assert not (isinstance(got, tuple) and got and got[0] == "ERR"), f"ember raised {got}"
    np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert bool(warned_e) == bool(warned_t)
