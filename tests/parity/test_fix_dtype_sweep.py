"""A dtype trust sweep: ops that gave silently wrong results for one dtype (complex cov/corrcoef,
gradient, vander, pow, ldexp, dist; bool clamp; uint8 any/all; int hinge_embedding_loss; kl_div with
negative targets; bfloat16 copysign/nextafter/signbit) and inputs PyTorch refuses that ember used to
compute (bool matmul/argmax/floor..., integer activations, complex isin/nansum/unique...).

Every check runs the same expression on PyTorch and on ember: values, dtypes and gradients through
``check``, and for refusals the error type and its exact message."""

from __future__ import annotations

import math

import ember
import ml_dtypes
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

C = np.array([0.5 + 0.25j, -1.5 + 2j, 0.3 - 0.1j, 2 - 1j], np.complex64)
C2 = np.array([[0.5 + 0.25j, -1.5 + 2j, 0.3 - 0.1j, 2 - 1j], [1 - 1j, 0.25j, -2 + 0.5j, 1.5 + 0j]], np.complex64)
B = np.array([True, False, True, True])
U8 = np.array([1, 0, 3, 2], np.uint8)
I64 = np.array([1, -2, 3, 0], np.int64)
R = np.random.default_rng(3)


def _skip_complex(device):
    try:
        ember.zeros(1, dtype=ember.complex64, device=device)
    except TypeError:
        pytest.skip(f"{device} stores no complex numbers")


# ---- silently wrong results ----------------------------------------------------------------------
COMPLEX_VALUES = {
    "cov": lambda L, x: L.cov(x),
    "cov 1-d": lambda L, x: L.cov(x[0]),
    "cov correction": lambda L, x: L.cov(x, correction=0),
    "cov fweights": lambda L, x: L.cov(x, fweights=L.tensor([1, 2, 1, 3], device=x.device)),
    "cov aweights": lambda L, x: L.cov(x, aweights=L.tensor([0.5, 1.0, 2.0, 1.0], device=x.device)),
    "corrcoef": lambda L, x: L.corrcoef(x),
    "corrcoef 1-d": lambda L, x: L.corrcoef(x[1]),
    "gradient": lambda L, x: L.gradient(x),
    "gradient spacing": lambda L, x: L.gradient(x, spacing=2.0, dim=1),
    "gradient coordinates": lambda L, x: L.gradient(x, spacing=(L.tensor([0.0, 1.0, 3.0, 3.5], device=x.device),), dim=1),
    "gradient edge_order 2": lambda L, x: L.gradient(x, dim=1, edge_order=2),
    "vander": lambda L, x: L.vander(x[0]),
    "vander N increasing": lambda L, x: L.vander(x[1], N=3, increasing=True),
    "pow tensor": lambda L, x: L.pow(x[0], x[1]),
    "pow int exponent tensor": lambda L, x: L.pow(x, L.tensor([1, 2, 0, 3], device=x.device)),
    "pow real base": lambda L, x: L.pow(L.tensor([1.0, 2.0, 0.5, 3.0], device=x.device), x),
    "pow negative int": lambda L, x: x[0] ** -2,
    "float_power": lambda L, x: L.float_power(x[0], x[1]),
    "ldexp": lambda L, x: L.ldexp(x[0], x[1]),
    "ldexp int exponent": lambda L, x: L.ldexp(x, L.tensor([1, 2, -1, 0], device=x.device)),
    "dist": lambda L, x: L.dist(x[0], x[1]),
    "dist p=1": lambda L, x: L.dist(x[0], x[1], 1),
    "dist p=inf": lambda L, x: L.dist(x[0], x[1], math.inf),
    "dist p=3.5": lambda L, x: L.dist(x[0], x[1], 3.5),
}


def _as_real(fn):
    """``fn`` with complex results seen as their float parts (compared with float tolerances)."""
    def one(L, r):
        return L.view_as_real(r) if r.dtype.is_complex else r

    def wrapped(L, *args):
        out = fn(L, *args)
        return tuple(one(L, r) for r in out) if isinstance(out, tuple) else one(L, out)

    return wrapped


@pytest.mark.parametrize("name", sorted(COMPLEX_VALUES))
def test_complex_values(device, name):
    _skip_complex(device)
    check(_as_real(COMPLEX_VALUES[name]), (Arg(C2),), {}, device, tol=10.0)
    # the result dtype too (complex stays complex; dist is real)
    t = COMPLEX_VALUES[name](torch, torch.from_numpy(C2))
    e = COMPLEX_VALUES[name](ember, ember.tensor(C2, device=device))
    for tt, ee in zip(t if isinstance(t, tuple) else (t,), e if isinstance(e, tuple) else (e,)):
        assert str(ee.dtype).split(".")[-1] == str(tt.dtype).split(".")[-1]


def test_complex_dist_gradient(device):
    _skip_complex(device)

    def dist_grad(L, re, im, other):
        z = L.complex(re, im)
        (g,) = L.autograd.grad(L.dist(z, other), re)
        return g

    re, im = C.real.copy(), C.imag.copy()
    check(dist_grad, (Arg(re), Arg(im), Arg(C[::-1].copy())), {}, device)


BOOL_CLAMP = {
    "min tensor": lambda L, b: L.clamp(b, b.logical_not()),
    "max tensor": lambda L, b: L.clamp(b, max=b.logical_not()),
    "clamp_min tensor": lambda L, b: L.clamp_min(b, b.logical_not()),
    "clamp_max tensor": lambda L, b: L.clamp_max(b, b.logical_not()),
    "int scalar promotes": lambda L, b: L.clamp(b, 0, 1),
    "float scalar promotes": lambda L, b: L.clamp(b, 0.5),
    "int tensor promotes": lambda L, b: L.clamp(b, L.tensor([0, 1, 2, 0], device=b.device)),
    "in place": lambda L, b: b.clone().clamp_(b.logical_not()),
    "both tensors": lambda L, b: L.clamp(b, b, b),
    "clip both tensors": lambda L, b: L.clip(b, b, b),
    "bool scalar min": lambda L, b: L.clamp(b, True),
    "bool scalar max": lambda L, b: L.clamp(b, max=True),
    "bool scalars": lambda L, b: L.clamp(b, False, True),
    "clamp_min bool scalar": lambda L, b: L.clamp_min(b, True),
}


@pytest.mark.parametrize("name", sorted(BOOL_CLAMP))
def test_bool_clamp(device, name):
    check(BOOL_CLAMP[name], (Arg(B),), {}, device)
    _same_error(BOOL_CLAMP[name], (B,), device)


@pytest.mark.parametrize("op", ["any", "all"])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.bool_])
def test_any_all_result_dtype(device, op, dim, dtype):
    x = np.array([[1, 0, 3], [2, 5, 0]]).astype(dtype)
    kw = {} if dim is None else {"dim": dim}
    check(lambda L, t: getattr(L, op)(t, **kw), (Arg(x),), {}, device)
    check(lambda L, t: getattr(t, op)(**kw, **({"keepdim": True} if dim is not None else {})), (Arg(x),), {}, device)
    check(lambda L, t: getattr(L, op)(t), (Arg(np.zeros((0, 2), dtype)),), {}, device)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.float16, np.float32, np.float64])
@pytest.mark.parametrize("margin", [1.0, 0.5, 2.7])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_hinge_embedding_loss_keeps_input_dtype(device, dtype, margin, reduction):
    x = np.array([1, -2, 3, 0, 4]).astype(dtype)
    t = np.array([1, -1, -1, 1, 3])
    check(lambda L, a, b: L.nn.functional.hinge_embedding_loss(a, b, margin=margin, reduction=reduction),
          (Arg(x), Arg(t)), {}, device)


def test_hinge_embedding_loss_bool(device):
    _same_error(lambda L, a: L.nn.functional.hinge_embedding_loss(a, a), (B,), device)


KL_INPUT = np.array([0.5, -1.5, 2.0, 0.3, -0.2, 1.0, np.nan, 0.5, np.inf, -0.7], np.float32)
KL_TARGET = np.array([0.5, -1.5, 2.0, 0.0, -0.0, np.nan, 0.2, np.inf, 0.0, 1e-30], np.float32)


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kl_div_negative_and_zero_targets(device, log_target, reduction, dtype):
    """PyTorch's pointwise term is xlogy(target, target) - target * input: NaN for a negative target,
    0 only at target == 0, and the target's gradient is xlogy's (NaN at 0)."""
    check(lambda L, x, t: L.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target),
          (Arg(KL_INPUT.astype(dtype)), Arg(KL_TARGET.astype(dtype))), {}, device)


@pytest.mark.parametrize("low", ["float16", "bfloat16"])
def test_kl_div_half_precision(device, low):
    conv = (lambda a: a.astype(ml_dtypes.bfloat16)) if low == "bfloat16" else (lambda a: a.astype(np.float16))
    check(lambda L, x, t: L.nn.functional.kl_div(x, t, reduction="none"),
          (Arg(conv(KL_INPUT[:6]), grad=False), Arg(conv(KL_TARGET[:6]), grad=False)), {}, device)


BF = np.array([0.5, -1.5, 2.0, -0.0, 0.0, np.nan, np.inf, -np.inf, 1e-38], np.float32)
BF_OTHER = np.array([-1.0, 1.0, 2.0, 0.0, -0.0, 1.0, 0.0, 0.0, 0.0], np.float32)
BFLOAT16 = {
    "copysign": lambda L, a, b: L.copysign(a, b),
    "copysign scalar": lambda L, a, b: L.copysign(a, -2.0),
    "nextafter": lambda L, a, b: L.nextafter(a, b),
    # (no NaN: PyTorch's float32 -> bfloat16 conversion, used to build its input, sets NaN's sign bit)
    "signbit": lambda L, a, b: L.signbit(a[L.isnan(a).logical_not()]),
}


@pytest.mark.parametrize("name", sorted(BFLOAT16))
def test_bfloat16_sign_ops(device, name):
    check(BFLOAT16[name], (Arg(BF.astype(ml_dtypes.bfloat16), grad=False),
                           Arg(BF_OTHER.astype(ml_dtypes.bfloat16), grad=False)), {}, device)


def test_bfloat16_copysign_gradient(device):
    check(lambda L, a, b: L.copysign(a, b), (Arg(BF[:5].astype(ml_dtypes.bfloat16)),
                                             Arg(BF_OTHER[:5].astype(ml_dtypes.bfloat16), grad=False)), {}, device)


def test_empty_trapezoid_keeps_dtype(device):
    for dt in (np.int64, np.float32, np.bool_):
        check(lambda L, y: L.trapezoid(y), (Arg(np.zeros(0, dt)),), {}, device)
        check(lambda L, y, x: L.trapezoid(y, x), (Arg(np.zeros((2, 0), dt)), Arg(np.zeros(0, np.float32))), {}, device)


def test_repeat_interleave_int32_counts(device):
    check(lambda L, c: L.repeat_interleave(c), (Arg(np.array([1, 0, 2], np.int32)),), {}, device)
    check(lambda L, x, c: L.repeat_interleave(x, c, dim=1),
          (Arg(np.arange(6.0).reshape(2, 3)), Arg(np.array([1, 0, 2], np.int32))), {}, device)


def test_hardtanh_integer_keeps_dtype(device):
    x = np.array([-3, -1, 0, 2, 7])
    check(lambda L, t: L.nn.functional.hardtanh(t), (Arg(x),), {}, device)
    check(lambda L, t: L.nn.functional.hardtanh(t, -0.5, 2.5), (Arg(x),), {}, device)
    check(lambda L, t: L.nn.functional.relu6(t), (Arg(x.astype(np.uint8)),), {}, device)
    check(lambda L, t: L.nn.functional.hardtanh(t, -0.5, 2.0), (Arg(x.astype(np.uint8)),), {}, device)


# ---- refusals: PyTorch's error type and exact message -----------------------------------------------
def _expected(message: str, device: str) -> str:
    """PyTorch's CPU message as it reads for ``device`` (its kernel names carry the device)."""
    if device == "cpu":
        return message
    return message.replace("_vml_cpu", f"_{device}").replace("_cpu", f"_{device}").replace(
        "on CPU", f"on {device.upper()}")


def _same_error(fn, arrays, device):
    """When PyTorch raises, ember raises the same type with the same message."""
    try:
        fn(torch, *(torch.from_numpy(np.asarray(a).copy()) for a in arrays))
    except Exception as want:  # noqa: BLE001 - the exception is what we compare
        with pytest.raises(type(want)) as got:
            fn(ember, *(ember.tensor(np.asarray(a), device=device) for a in arrays))
        assert str(got.value) == _expected(str(want), device)
        return
    fn(ember, *(ember.tensor(np.asarray(a), device=device) for a in arrays))


COMPLEX_REFUSED = {
    "isposinf": lambda L, c: L.isposinf(c),
    "isneginf": lambda L, c: L.isneginf(c),
    "nansum": lambda L, c: L.nansum(c),
    "nansum dim": lambda L, c: L.nansum(c, 0),
    "nanmean": lambda L, c: L.nanmean(c),
    "nansum complex dtype": lambda L, c: L.nansum(c.real, dtype=L.complex64),
    "isin": lambda L, c: L.isin(c, c),
    "isin real elements": lambda L, c: L.isin(L.tensor([1, 2], device=c.device), c),
    "isin complex scalar": lambda L, c: L.isin(L.tensor([1, 2], device=c.device), 1j),
    "unique_consecutive": lambda L, c: L.unique_consecutive(c),
    "unique_consecutive dim": lambda L, c: L.unique_consecutive(c, dim=0),
    "unique": lambda L, c: L.unique(c),
    "unique dim": lambda L, c: L.unique(c, dim=0),
    "bitwise_not": lambda L, c: L.bitwise_not(c),
    "invert": lambda L, c: ~c,
    "gcd": lambda L, c: L.gcd(c, c),
    "lcm": lambda L, c: L.lcm(c, c),
    "gcd mixed": lambda L, c: L.gcd(L.tensor([1, 2, 3, 4], device=c.device), c),
    "median": lambda L, c: L.median(c),
    "median dim": lambda L, c: L.median(c, 0),
    "nanmedian": lambda L, c: L.nanmedian(c),
    "kthvalue": lambda L, c: L.kthvalue(c, 1),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_REFUSED))
def test_complex_refused_as_pytorch(device, name):
    _skip_complex(device)
    _same_error(COMPLEX_REFUSED[name], (C,), device)


BOOL_REFUSED = {
    "argmax": lambda L, b: L.argmax(b),
    "argmax dim": lambda L, b: L.argmax(b, 0, keepdim=True),
    "argmin": lambda L, b: L.argmin(b),
    "floor": lambda L, b: L.floor(b),
    "ceil": lambda L, b: L.ceil(b),
    "round": lambda L, b: L.round(b),
    "round decimals": lambda L, b: L.round(b, decimals=1),
    "trunc": lambda L, b: L.trunc(b),
    "fix": lambda L, b: L.fix(b),
    "dot": lambda L, b: L.dot(b, b),
    "dot empty": lambda L, b: L.dot(b[:0], b[:0]),
    "vdot": lambda L, b: L.vdot(b, b),
    "inner": lambda L, b: L.inner(b, b),
    "inner 2-d": lambda L, b: L.inner(b.reshape(2, 2), b.reshape(2, 2)),
    "matmul 1@1": lambda L, b: L.matmul(b, b),
    "matmul 2@2": lambda L, b: b.reshape(2, 2) @ b.reshape(2, 2),
    "matmul 1@2": lambda L, b: b[:2] @ b.reshape(2, 2),
    "matmul 2@1": lambda L, b: b.reshape(2, 2) @ b[:2],
    "matmul 3@3": lambda L, b: b.reshape(1, 2, 2) @ b.reshape(1, 2, 2),
    "matmul 3@1": lambda L, b: b.reshape(1, 2, 2) @ b[:2],
    "matmul 1@3": lambda L, b: b[:2] @ b.reshape(1, 2, 2),
    "mm": lambda L, b: L.mm(b.reshape(2, 2), b.reshape(2, 2)),
    "mm empty": lambda L, b: L.mm(b[:0].reshape(0, 2), b.reshape(2, 2)),
    "mv": lambda L, b: L.mv(b.reshape(2, 2), b[:2]),
    "bmm": lambda L, b: L.bmm(b.reshape(1, 2, 2), b.reshape(1, 2, 2)),
    "median": lambda L, b: L.median(b),
    "median dim": lambda L, b: L.median(b, 0),
    "pow": lambda L, b: L.pow(b, b),
    "pow 0-d exponent": lambda L, b: L.pow(b, b[0]),
    "pow scalar base": lambda L, b: L.pow(True, b),
    "pow operator": lambda L, b: b ** b,
    "cov": lambda L, b: L.cov(b),
    "corrcoef": lambda L, b: L.corrcoef(b),
    "trapezoid": lambda L, b: L.trapezoid(b),
    "trapezoid dx": lambda L, b: L.trapezoid(b, dx=2),
    "trapezoid x": lambda L, b: L.trapezoid(b, L.tensor([1, 2, 3, 4], device=b.device)),
    "trapezoid bool x": lambda L, b: L.trapezoid(L.tensor([1.0, 2.0, 3.0, 4.0], device=b.device), b),
    "trapz": lambda L, b: L.trapz(b),
    "cumulative_trapezoid": lambda L, b: L.cumulative_trapezoid(b),
    "cumulative_trapezoid x": lambda L, b: L.cumulative_trapezoid(b, L.tensor([1, 2, 3, 4], device=b.device)),
    "cumulative_trapezoid empty": lambda L, b: L.cumulative_trapezoid(b[:0]),
    "gradient": lambda L, b: L.gradient(b),
    "isin": lambda L, b: L.isin(b, b),
    "isin scalar": lambda L, b: L.isin(L.tensor([1, 2], device=b.device), True),
    "threshold": lambda L, b: L.nn.functional.threshold(b, 0, 1),
    "hardtanh": lambda L, b: L.nn.functional.hardtanh(b),
    "relu6": lambda L, b: L.nn.functional.relu6(b),
}


@pytest.mark.parametrize("name", sorted(BOOL_REFUSED))
def test_bool_refused_as_pytorch(device, name):
    _same_error(BOOL_REFUSED[name], (B,), device)


ACTIVATIONS = {
    "celu": lambda L, x: L.nn.functional.celu(x),
    "torch.celu": lambda L, x: L.celu(x),
    "selu": lambda L, x: L.nn.functional.selu(x),
    "torch.selu": lambda L, x: L.selu(x),
    "elu": lambda L, x: L.nn.functional.elu(x),
    "elu_": lambda L, x: L.nn.functional.elu_(x.clone()),
    "leaky_relu": lambda L, x: L.nn.functional.leaky_relu(x),
    "leaky_relu_": lambda L, x: L.nn.functional.leaky_relu_(x.clone()),
    "rrelu": lambda L, x: L.nn.functional.rrelu(x),
    "rrelu training": lambda L, x: L.nn.functional.rrelu(x, training=True),
    "torch.rrelu": lambda L, x: L.rrelu(x),
    "hardshrink": lambda L, x: L.nn.functional.hardshrink(x),
    "softshrink": lambda L, x: L.nn.functional.softshrink(x),
    "hardsigmoid": lambda L, x: L.nn.functional.hardsigmoid(x),
    "hardswish": lambda L, x: L.nn.functional.hardswish(x),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "mish": lambda L, x: L.nn.functional.mish(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "glu": lambda L, x: L.nn.functional.glu(x),
    "binary_cross_entropy_with_logits": lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(x, x),
    "torch.binary_cross_entropy_with_logits": lambda L, x: L.binary_cross_entropy_with_logits(x, x),
    "binary_cross_entropy": lambda L, x: L.nn.functional.binary_cross_entropy(x, x),
    "kl_div": lambda L, x: L.nn.functional.kl_div(x, x, reduction="sum"),
    "kl_div float input": lambda L, x: L.nn.functional.kl_div(x.float(), x, reduction="sum"),
    "kl_div float target": lambda L, x: L.nn.functional.kl_div(x, x.float(), reduction="sum"),
    "torch.kl_div": lambda L, x: L.kl_div(x, x),
    "hinge_embedding_loss mean": lambda L, x: L.nn.functional.hinge_embedding_loss(x, x),
}


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_integer_activations_refused_as_pytorch(device, name, dtype):
    _same_error(ACTIVATIONS[name], (np.array([1, 0, 3, 2]).astype(dtype),), device)


OTHER_REFUSED = {
    "uint8 gradient": (lambda L, x: L.gradient(x), U8),
    "uint8 gradient edge_order": (lambda L, x: L.gradient(x, edge_order=3), U8),
    "uint8 repeat_interleave": (lambda L, x: L.repeat_interleave(x), U8),
    "uint8 repeats": (lambda L, x: L.repeat_interleave(L.tensor([1, 2, 3, 4], device=x.device), x), U8),
    "uint8 0-d repeats": (lambda L, x: L.repeat_interleave(L.tensor([1, 2], device=x.device), x[0]), U8),
    "int8 repeat_interleave": (lambda L, x: L.repeat_interleave(x.to(L.int8)), U8),
    "float repeat_interleave": (lambda L, x: L.repeat_interleave(x.float()), U8),
    "uint8 2-d repeat_interleave": (lambda L, x: L.repeat_interleave(x.reshape(2, 2)), U8),
    "uint8 hardtanh negative limits": (lambda L, x: L.nn.functional.hardtanh(x), U8),
    "float16 histogram": (lambda L, x: L.histogram(x.half()), I64),
    "bfloat16 histogram": (lambda L, x: L.histogram(x.bfloat16(), 3), I64),
    "float16 histogram range": (lambda L, x: L.histogram(x.half(), 3, range=(-1.0, 1.0))[0], I64),
    "int histogram": (lambda L, x: L.histogram(x), I64),
    "int histogram range": (lambda L, x: L.histogram(x, 3, range=(0.0, 1.0)), I64),
    "int histogram float edges": (lambda L, x: L.histogram(x, L.tensor([0.0, 1.0, 2.0], device=x.device)), I64),
}


@pytest.mark.parametrize("name", sorted(OTHER_REFUSED))
def test_other_refusals_as_pytorch(device, name):
    fn, arr = OTHER_REFUSED[name]
    _same_error(fn, (arr,), device)


# ---- complex forms PyTorch has (composites of the complex sin/cos/exp/log1p) -------------------------
_PLANE = [0.0, -0.0, 1e-30, -1e-20, 0.3, -0.7, 1.0, -1.5, 3.0, -20.0, 50.0, 90.0, -100.0, 1e10, math.inf,
          -math.inf, math.nan]
PLANE = np.array([complex(a, b) for a in _PLANE for b in _PLANE])


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    """Part by part: NaN where PyTorch has NaN, the same infinities, else close relative to the
    modulus (a part far below the other is rounding noise)."""
    parts = [np.where(np.isfinite(part(want)), np.abs(part(want)), 0) for part in (np.real, np.imag)]
    scale = np.hypot(*parts)
    for part in (np.real, np.imag):
        g, w = part(got), part(want)
        assert np.array_equal(np.isnan(g), np.isnan(w))
        ok = ~np.isnan(w)
        assert np.array_equal(g[ok & np.isinf(w)], w[ok & np.isinf(w)])
        fin = ok & ~np.isinf(w)
        assert np.all(np.abs(g[fin] - w[fin]) <= rtol * scale[fin] + 1e-300), (g[fin], w[fin])


@pytest.mark.parametrize("name", ["sinh", "cosh", "exp2", "sinc"])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_unary_across_the_plane(device, name, dtype):
    _skip_complex(device)
    z = PLANE.astype(dtype)
    want = getattr(torch, name)(torch.from_numpy(z)).numpy()
    got = getattr(ember, name)(ember.tensor(z, device=device)).cpu().numpy()
    assert got.dtype == want.dtype
    _close(got, want, 2e-6 if dtype == np.complex64 else 1e-13)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_logaddexp_across_the_plane(device, dtype):
    _skip_complex(device)
    plane = PLANE
    if dtype == np.complex64:  # (no huge imaginary parts nor subnormal exps: float32 sin/exp round there)
        plane = np.array([complex(a, b) for a in _PLANE for b in _PLANE if abs(b) < 1e3 and a != -100.0])
    a, b = np.meshgrid(plane[::2], plane[1::2])
    a, b = a.ravel().astype(dtype), b.ravel().astype(dtype)
    # PyTorch at the same dtype: its complex64 log1p turns a subnormal exp(min - max) into NaN (e.g.
    # logaddexp(90-0.7j, -0j) is NaN in complex64, 90-0.7j in complex128), and ember's complex log1p
    # is PyTorch's formula (test_fix_probe_complex.py), so logaddexp gives the same NaN
    want = torch.logaddexp(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    got = ember.logaddexp(ember.tensor(a, device=device), ember.tensor(b, device=device)).cpu().numpy()
    _close(got, want, 1e-5 if dtype == np.complex64 else 1e-13)  # (float32 angles like 90.7 round)


COMPLEX_GRADS = {
    "sinh": lambda L, z, w: L.sinh(z),
    "cosh": lambda L, z, w: L.cosh(z),
    "exp2": lambda L, z, w: L.exp2(z),
    "sinc": lambda L, z, w: L.sinc(z),
    "logaddexp": lambda L, z, w: L.logaddexp(z, w),
    "sinh out": lambda L, z, w: L.sinh(z.detach(), out=L.empty(4, dtype=L.complex128, device=z.device)),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_GRADS))
def test_complex_forms_values_and_gradients(device, name):
    """Gradients through the parts: PyTorch's conjugate Wirtinger convention."""
    _skip_complex(device)
    fn = COMPLEX_GRADS[name]

    def through_parts(L, re, im, re2, im2):
        return L.view_as_real(fn(L, L.complex(re, im), L.complex(re2, im2)))

    x = np.array([0.5, -1.5, 0.0, 2.0])
    y = np.array([0.25, 2.0, 0.0, -1.0])
    check(through_parts, (Arg(x), Arg(y), Arg(y[::-1].copy()), Arg(x[::-1].copy())), {}, device)


def test_complex_logaddexp_with_a_real_operand(device):
    _skip_complex(device)
    check(lambda L, z, r: L.view_as_real(L.logaddexp(z, r)),
          (Arg(C), Arg(np.array([0.5, -3.0, 2.0, 0.0], np.float32), grad=False)), {}, device)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_log1p_accurate_near_zero(device, dtype):
    """log(1 + z) loses a tiny z entirely; PyTorch's complex log1p keeps it (logaddexp relies on it)."""
    _skip_complex(device)
    vals = [0.0, -0.0, 1e-30, -1e-20, 1e-8, 0.3, -0.7, 1.0, -1.0, -1.5, 3.0, -20.0, 50.0, 1e10, 1e30]
    # (PyTorch's log1p of x + inf*j is NaN for some small x > 0 and inf + pi/2 j otherwise: left out)
    z = np.array([complex(a, b) for a in vals + [math.nan, -math.inf, math.inf] for b in vals + [math.nan]], dtype)
    want = torch.log1p(torch.from_numpy(z)).numpy()
    got = ember.log1p(ember.tensor(z, device=device)).cpu().numpy()
    _close(got, want, 2e-6 if dtype == np.complex64 else 1e-13)


def test_complex_log1p_gradient(device):
    _skip_complex(device)
    check(lambda L, re, im: L.view_as_real(L.log1p(L.complex(re, im))),
          (Arg(np.array([1e-3, -0.2, 0.4, 2.0, -3.0])), Arg(np.array([0.1, 1e-4, -0.3, 1.0, 0.5]))), {}, device)


# ---- argument forms the probe found ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_nd_take_several_tensors(device, name):
    x, s = np.array([1.0, 2.0, 3.0]), np.array(1.5)
    check(lambda L, a, b: getattr(L, name)(a, b), (Arg(x), Arg(s)), {}, device)
    check(lambda L, a, b: getattr(L, name)([a, b]), (Arg(x), Arg(s)), {}, device)
    check(lambda L, a: getattr(L, name)(a), (Arg(s),), {}, device)


CHAIN = {
    "two vectors": lambda L, m, v: L.chain_matmul(v, v),
    "matrix and vector": lambda L, m, v: L.chain_matmul(m, v),
    "one vector": lambda L, m, v: L.chain_matmul(v),
    "matrices": lambda L, m, v: L.chain_matmul(m, m.mT, m),
}


@pytest.mark.parametrize("name", sorted(CHAIN))
def test_chain_matmul_takes_matrices_only(device, name):
    m, v = R.standard_normal((2, 3)), R.standard_normal(3)
    check(CHAIN[name], (Arg(m), Arg(v)), {}, device)
    _same_error(CHAIN[name], (m, v), device)


PRELU = {
    "one slope per element of 1-d": lambda L, x, w: L.nn.functional.prelu(x[0], w),
    "slopes vs channels": lambda L, x, w: L.nn.functional.prelu(x, w[:2]),
    "channels": lambda L, x, w: L.nn.functional.prelu(x, w),
    "one slope 0-d": lambda L, x, w: L.nn.functional.prelu(x[0, 0], w[:1]),
    "slopes 0-d": lambda L, x, w: L.nn.functional.prelu(x[0, 0], w),
    "2-d weight": lambda L, x, w: L.nn.functional.prelu(x, w.reshape(1, 3)),
}


@pytest.mark.parametrize("name", sorted(PRELU))
def test_prelu_weight_checks(device, name):
    x, w = R.standard_normal((2, 3, 4)), np.array([0.25, 0.5, 0.1])
    check(PRELU[name], (Arg(x), Arg(w)), {}, device)
    _same_error(PRELU[name], (x, w), device)


COMPLEX_ACTIVATIONS = {
    **{name: fn for name, fn in ACTIVATIONS.items() if "hinge" not in name and "float" not in name},
    "threshold": lambda L, x: L.nn.functional.threshold(x, 0.5, 1.0),
    "silu (PyTorch computes it)": lambda L, x: L.view_as_real(L.nn.functional.silu(x)),
    "hardtanh": lambda L, x: L.nn.functional.hardtanh(x),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_ACTIVATIONS))
def test_complex_activations_as_pytorch(device, name):
    _skip_complex(device)
    _same_error(COMPLEX_ACTIVATIONS[name], (C,), device)


@pytest.mark.parametrize("pair", ["float16,int64", "bfloat16,int64", "float16,float32", "int64,float16",
                                  "int32,int64", "float32,float64", "float64,int32"])
def test_ldexp_result_dtype(device, pair):
    a, b = pair.split(",")
    x = np.array([1.5, -2.0, 0.25, 3.0]).astype(np.float32)

    def arr(dt, v):
        return v.astype(ml_dtypes.bfloat16) if dt == "bfloat16" else v.astype(dt)

    check(lambda L, m, e: L.ldexp(m, e), (Arg(arr(a, x), grad=False), Arg(arr(b, np.array([1, -2, 3, 0])), grad=False)),
          {}, device)


# ---- found by the sweep, fixed by the lead -------------------------------------------------------
def test_where_on_large_complex128(device):
    """The cpu backend's branch-free ``where`` (4,096+ elements) had no 16-byte integer to select
    complex128 bits with: a KeyError."""
    try:
        ember.zeros(1, dtype=ember.complex128, device=device)
    except TypeError:
        pytest.skip(f"{device} stores no complex numbers")
    z = (np.random.default_rng(3).standard_normal(5000) * (1 + 0.5j)).astype(np.complex128)
    check(lambda L, t: L.where(t.real > 0, t, t * 2j), (Arg(z, grad=False),), {}, device)


@pytest.mark.parametrize("ord", [2, 1, float("inf"), -float("inf"), 0, 0.5, 3])
def test_vector_norm_of_complex_is_the_norm_of_the_moduli(device, ord):
    try:
        ember.zeros(1, dtype=ember.complex64, device=device)
    except TypeError:
        pytest.skip(f"{device} stores no complex numbers")
    z = (np.random.default_rng(4).standard_normal((3, 4)) + 1j * np.random.default_rng(5).standard_normal((3, 4)))
    z = z.astype(np.complex64)
    check(lambda L, t: L.linalg.vector_norm(t, ord), (Arg(z),), {}, device)
    check(lambda L, t: L.linalg.vector_norm(t, ord, dim=1, dtype=L.complex128), (Arg(z),), {}, device)
    check(lambda L, t: L.linalg.vector_norm(t, ord, dtype=L.float64), (Arg(z),), {}, device)
