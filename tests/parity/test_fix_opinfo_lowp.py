"""float16/bfloat16 values that differed from PyTorch 2.13's CPU kernels (found with PyTorch's own
OpInfo samples, scripts/opinfo_suite.py).

Fixed: ``ember.functions.elementwise.in_opmath``, a decorator running a composite in float32 for
16-bit inputs and rounding its results once (PyTorch's opmath kernels), on linear, addmm, baddbmm,
group_norm, layer_norm, batch_norm's normalisation, adaptive_avg_pool2d and bilinear/area
interpolation; lerp as PyTorch's two-sided fused multiply-add formula (float32 too); addbmm rounding
once per batch (PyTorch loops addmm_) and integer addbmm keeping its dtype; addr in the 16-bit type
itself (PyTorch's scalar_t kernel); bilinear contracting its second operand with a matmul. Compared
exactly with torch at runtime.
"""

from __future__ import annotations

import ember
import ember.nn.functional as EF
import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

LOW = ("float16", "bfloat16")


def _pair(*shapes: tuple, dtype: str, seed: int = 0, positive: tuple = ()) -> tuple[list, list]:
    g = np.random.default_rng(seed)
    ts = []
    for i, s in enumerate(shapes):
        a = g.standard_normal(s).astype(np.float32)
        if i in positive:
            a = np.abs(a) + 0.1
        ts.append(torch.tensor(a).to(getattr(torch, dtype)))
    es = [ember.tensor(t.float().numpy()).to(getattr(ember, dtype)) for t in ts]
    return ts, es


def _same(e: ember.Tensor, t: torch.Tensor, ulp: bool = False) -> None:
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    if ulp:  # within one 16-bit ulp (a window's float32 mean can differ from PyTorch's in its last bit)
        rtol = 2.0**-10 if t.dtype == torch.float16 else 2.0**-7
        np.testing.assert_allclose(e.float().detach().numpy(), t.float().detach().numpy(), rtol=rtol, atol=0)
        return
    np.testing.assert_array_equal(e.float().detach().numpy(), t.float().detach().numpy())


CASES = {
    "linear": (((6, 7), (5, 7), (5,)), lambda L, F, x, w, b: F.linear(x, w, b)),
    "linear3d": (((2, 6, 7), (5, 7), (5,)), lambda L, F, x, w, b: F.linear(x, w, b)),
    "addmm": (((5, 6), (5, 7), (7, 6)), lambda L, F, a, b, c: L.addmm(a, b, c, beta=0.3, alpha=1.7)),
    "baddbmm": (((3, 5, 6), (3, 5, 7), (3, 7, 6)), lambda L, F, a, b, c: L.baddbmm(a, b, c, beta=0.3, alpha=1.7)),
    "addbmm": (((5, 6), (4, 5, 7), (4, 7, 6)), lambda L, F, a, b, c: L.addbmm(a, b, c, beta=0.3, alpha=1.7)),
    "addbmm_bcast": (((6,), (4, 5, 7), (4, 7, 6)), lambda L, F, a, b, c: L.addbmm(a, b, c)),
    "addr": (((5, 10), (5,), (10,)), lambda L, F, a, b, c: L.addr(a, b, c, beta=0.3, alpha=1.7)),
    "addr_beta0": (((5, 10), (5,), (10,)), lambda L, F, a, b, c: L.addr(a, b, c, beta=0, alpha=0.7)),
    "addr_0d": (((), (5,), (10,)), lambda L, F, a, b, c: L.addr(a, b, c)),
    "bilinear": (((8, 3), (8, 4), (5, 3, 4), (5,)), lambda L, F, a, b, w, c: F.bilinear(a, b, w, c)),
    "lerp_scalar_small": (((40,), (40,)), lambda L, F, a, b: L.lerp(a, b, 0.3)),
    "lerp_scalar_large": (((40,), (40,)), lambda L, F, a, b: L.lerp(a, b, 0.7)),
    "lerp_tensor": (((40,), (40,), (40,)), lambda L, F, a, b, w: L.lerp(a, b, w)),
    "group_norm": (((2, 4, 5), (4,), (4,)), lambda L, F, x, w, b: F.group_norm(x, 2, w, b)),
    "layer_norm": (((2, 4, 5), (5,), (5,)), lambda L, F, x, w, b: F.layer_norm(x, (5,), w, b)),
    "batch_norm_eval": (((2, 4, 5), (4,), (4,), (4,), (4,)),
                        lambda L, F, x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False)),
    "interp_bilinear": (((1, 2, 5, 5),), lambda L, F, x: F.interpolate(x, scale_factor=1.7, mode="bilinear")),
    "interp_area": (((1, 2, 5, 7),), lambda L, F, x: F.interpolate(x, size=(3, 4), mode="area")),
    "adaptive_avg_pool2d": (((1, 2, 5, 7),), lambda L, F, x: F.adaptive_avg_pool2d(x, (3, 4))),
}


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("name", list(CASES))
def test_lowp_values_match_torch_exactly(name: str, dtype: str) -> None:
    shapes, fn = CASES[name]
    positive = (2,) if name == "batch_norm_eval" else ()
    ts, es = _pair(*shapes, dtype=dtype, seed=len(name), positive=positive)
    _same(fn(ember, EF, *es), fn(torch, TF, *ts), ulp=name in ("interp_area", "adaptive_avg_pool2d"))


@pytest.mark.parametrize("w", [0.3, 0.7, -0.6, 2.0])
def test_lerp_float32_fma_formula(w: float) -> None:
    ts, es = _pair((500,), (500,), dtype="float32", seed=3)
    _same(ember.lerp(*es, w), torch.lerp(*ts, w))
    wt, we = _pair((500,), dtype="float32", seed=4)
    _same(ember.lerp(*es, we[0]), torch.lerp(*ts, wt[0]))


@pytest.mark.parametrize("name", ["linear", "addmm", "lerp_scalar_large", "group_norm", "addbmm", "addr"])
def test_lowp_grad_dtype_and_node_name(name: str) -> None:
    shapes, fn = CASES[name]
    ts, es = _pair(*shapes, dtype="float16", seed=1)
    for t in ts:
        t.requires_grad_(True)
    for e in es:
        e.requires_grad_(True)
    rt, re = fn(torch, TF, *ts), fn(ember, EF, *es)
    assert re.grad_fn.name() == rt.grad_fn.name()
    rt.float().sum().backward()
    re.float().sum().backward()
    for e, t in zip(es, ts):
        assert str(e.grad.dtype).split(".")[-1] == "float16"
        np.testing.assert_allclose(e.grad.float().numpy(), t.grad.float().numpy(), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint8"])
def test_integer_addbmm_keeps_dtype_and_wraps(dtype: str) -> None:
    g = np.random.default_rng(0)
    arrs = [g.integers(0, 100, s) for s in ((5, 6), (4, 5, 7), (4, 7, 6))]
    ts = [torch.tensor(a).to(getattr(torch, dtype)) for a in arrs]
    es = [ember.tensor(a).to(getattr(ember, dtype)) for a in arrs]
    r, e = torch.addbmm(*ts), ember.addbmm(*es)
    assert str(e.dtype).split(".")[-1] == dtype
    np.testing.assert_array_equal(e.numpy(), r.numpy())


def test_lowp_out_and_mixed_dtypes_unchanged() -> None:
    ts, es = _pair((5, 6), (5, 7), (7, 6), dtype="float16")
    out_t, out_e = torch.empty(5, 6, dtype=torch.float16), ember.empty(5, 6, dtype=ember.float16)
    torch.addmm(*ts, out=out_t)
    ember.addmm(*es, out=out_e)
    _same(out_e, out_t)
    with pytest.raises(RuntimeError):
        torch.addmm(ts[0], ts[1].float(), ts[2])
    with pytest.raises(RuntimeError):
        ember.addmm(es[0], es[1].float(), es[2])
