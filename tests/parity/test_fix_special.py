"""Issue #14 sections 3/4, the special functions, beyond the parity table (tests/parity/cases_special.py):
the composites a backend without the optional kernels runs, in-place forms and aliases, ``out=``,
the ``ember.special`` namespace, and values at the poles and domain edges. Each case runs on real
PyTorch and on ember (every device) and compares values, dtypes, shapes, exception types and gradients.
"""

from __future__ import annotations

import inspect
import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN, INF = math.nan, math.inf
KERNELS = ("asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "erfc", "lgamma", "digamma")
EDGES = [NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 2.0, -2.0, -2.5, 0.5, 1e-30, 1e-8, 0.999, -0.999, 1.001, 1e10, -1e10,
         30.0, -30.0, 300.0, 1e200, -1e200, 3.7, -7.3]


def A(values, dtype=F64, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def _rand(shape=(4, 5), scale=3.0, dtype=F64) -> Arg:
    return Arg((np.random.default_rng(7).standard_normal(shape) * scale).astype(dtype))


# ---- the composites: what a backend without the optional kernels runs, on its own device ------------
@pytest.mark.parametrize("name", KERNELS)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_composite_matches_pytorch(device, hide_kernels, name, dtype):
    hide_kernels(KERNELS)
    with np.errstate(over="ignore"):
        x = np.array(EDGES, dtype=dtype)  # (1e200 is inf in float32)
    if name in ("sinh", "cosh"):  # (PyTorch's sinh of 710 is finite, exp(x) / 2 of it overflows)
        x = x[np.abs(x) < 700]
    # (grads: the composites differentiate through PyTorch's formulas, not through themselves)
    check(lambda lib, t: getattr(lib, name)(t), [Arg(x)], {}, device, tol=4 if dtype is F32 else 1)


@pytest.mark.parametrize("name", KERNELS)
def test_composite_random_values(device, hide_kernels, name):
    hide_kernels(KERNELS)
    x = _rand(scale=0.9 if name in ("asin", "acos", "atanh") else 3.0)
    if name == "acosh":
        x = Arg(np.abs(x.array) + 1)
    check(lambda lib, t: getattr(lib, name)(t), [x], {}, device)


def test_composite_lgamma_digamma_float32_random(device, hide_kernels):
    hide_kernels(KERNELS)
    x = _rand((50,), scale=8.0, dtype=F32)
    check(lambda lib, t: (lib.lgamma(t), lib.digamma(t)), [x], {}, device, tol=2)


@pytest.mark.parametrize("name", [*KERNELS, "erfinv", "sinc", "i0"])
def test_composite_in_float16(device, hide_kernels, name):
    """Half inputs compute in float32 (sinh's expm1 would overflow first) and keep their dtype."""
    try:
        ember.zeros(1, dtype=ember.float16, device=device)
    except TypeError:
        pytest.skip(f"{device} has no float16")
    hide_kernels(KERNELS)
    x = np.array([-11.0, -3.0, -0.5, 0.0, 0.3, 0.9, 1.0, 2.5, 11.0, NAN, INF], np.float16)
    check(lambda lib, t: getattr(lib, name)(t), [Arg(x, grad=False)], {}, device)


def test_kernels_are_native(device):
    table = ember.dispatch.table(ember.device(device).type)
    assert [n for n in KERNELS if not table.has(n)] == []


# ---- values at the poles and domain edges, with their gradients -------------------------------------
@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "erfc",
                                  "erfinv", "lgamma", "digamma", "sinc", "deg2rad", "rad2deg", "logit", "i0"])
def test_edges(device, name):
    x = [v for v in EDGES if not (name in ("sinh", "cosh", "exp2") and abs(v) > 700)]
    if name == "logit":  # (-0.0: see cases_special.py)
        x = x[:15]
    check(lambda lib, t: getattr(lib, name)(t), [A(x)], {}, device)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_polygamma_edges(device, n):
    x = [v for v in EDGES if v > -1e9] + [-3.0, -0.5, 0.25, 12.5]
    check(lambda lib, t: lib.polygamma(n, t), [A(x)], {}, device, tol=2)


def test_lgamma_near_its_zeros_and_far_out(device):
    x = [1.0 - 1e-9, 1.0 + 1e-9, 2.0 - 1e-9, 2.0 + 1e-7, 1e-300, 5e-324, 171.7, 1e15, 1e300, 2.6e305, -1e-300,
         -170.5, -1e15 - 0.5, 1.4616321449683622]
    check(lambda lib, t: lib.lgamma(t), [A(x, grad=False)], {}, device)


def test_digamma_signed_zero_and_higher_order_grads(device):
    check(lambda lib, t: lib.digamma(t), [A([0.0, -0.0, 1e-300, -1e-300])], {}, device)
    check(lambda lib, t: lib.autograd.grad(lib.digamma(t).sum(), t, create_graph=True)[0],
          [A([0.3, 1.5, 4.0, -2.5])], {}, device)


def test_erfinv_at_and_past_one(device):
    check(lambda lib, t: lib.erfinv(t), [A([1.0, -1.0, 1.5, -1.5, 0.9999, -0.9999, 0.0, -0.0, 0.7, 0.71])], {},
          device)
    # (the gradient, exp(erfinv(x)^2), turns the float32 rounding of erfinv(0.999) into 2e-6)
    check(lambda lib, t: lib.erfinv(t), [A([1.0, -1.0, 0.999, -0.5, 0.7, 0.71], F32)], {}, device, grad_tol=4)


def test_logit_eps(device):
    x = A([-0.5, 0.0, 1e-7, 0.1, 0.5, 0.9, 1.0, 1.5, NAN])
    for eps in (None, 0.0, 1e-6, 0.2):
        check(lambda lib, t, eps=eps: lib.logit(t, eps), [x], {}, device)
        check(lambda lib, t, eps=eps: lib.logit(t, eps=eps), [x], {}, device)


# ---- dtypes: integers and bool promote to the default float dtype ----------------------------------
@pytest.mark.parametrize("name", ["asin", "atan", "sinh", "asinh", "acosh", "exp2", "erfc", "erfinv", "lgamma",
                                  "digamma", "sinc", "deg2rad", "rad2deg", "logit", "log2", "log10", "tan"])
def test_int_and_bool_inputs(device, name):
    for values, dtype in (([-2, -1, 0, 1, 2, 3], np.int64), ([0, 1, 2], np.int32), ([True, False], np.bool_)):
        check(lambda lib, t: getattr(lib, name)(t), [Arg(np.array(values, dtype=dtype))], {}, device)


def test_default_dtype_float64_promotes_to_it(device):
    old = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.lgamma(ember.tensor([1, 2], device=device)).dtype is ember.float64
        assert ember.asin(ember.tensor([True], device=device)).dtype is ember.float64
    finally:
        ember.set_default_dtype(old)


# ---- Tensor methods, aliases, in-place forms and out= ----------------------------------------------
ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
           "arctanh": "atanh"}
INPLACE = ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "erfc", "erfinv", "lgamma",
           "digamma", "sinc", "deg2rad", "rad2deg", "logit", "i0", "tan", "log2", "log10", *ALIASES]


def test_aliases_are_the_same_functions():
    def op(f):
        return inspect.unwrap(f)  # (ember.amp's autocast may wrap each name on its own)

    for alias, name in ALIASES.items():
        assert op(getattr(ember, alias)) is op(getattr(ember, name))
        assert op(getattr(ember.Tensor, alias)) is op(getattr(ember.Tensor, name))


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_forms(device, name):
    x = np.array([[0.3, 0.6, 0.9], [0.2, 0.5, 0.7]]) + (1.0 if name in ("acosh", "arccosh") else 0.0)

    def fn(lib, t):
        y = t * 1  # a non-leaf, so the in-place op is recorded
        out = getattr(y, name + "_")()
        assert out is y
        return y

    check(fn, [A(x)], {}, device)
    check(lambda lib, t: getattr(t.clone(), name + "_")(), [A(x, F32, grad=False)], {}, device)


@pytest.mark.parametrize("name", ["asin", "lgamma", "exp2", "logit", "deg2rad"])
def test_inplace_on_integers_raises(device, name):
    check(lambda lib, t: getattr(t, name + "_")(), [Arg(np.array([1, 2], np.int64))], {}, device)


def test_inplace_on_a_view_updates_the_base(device):
    def fn(lib, t):
        y = t * 1
        y[0].lgamma_()
        y[:, 1].asin_()
        return y

    check(fn, [A([[0.5, 0.2], [2.5, 0.4]])], {}, device)


def test_polygamma_method_and_inplace(device):
    check(lambda lib, t: t.polygamma(1), [A([0.5, 2.0, -1.5])], {}, device)
    check(lambda lib, t: t.clone().polygamma_(2), [A([0.5, 2.0, -1.5], grad=False)], {}, device)
    check(lambda lib, t: lib.polygamma(-1, t), [A([0.5])], {}, device)


@pytest.mark.parametrize("name", ["asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2", "erfc",
                                  "erfinv", "lgamma", "digamma", "sinc", "deg2rad", "rad2deg", "logit", "i0"])
def test_out(device, name):
    x = np.array([0.3, 0.6, 0.9]) + (1.0 if name == "acosh" else 0.0)

    def fn(lib, t):
        out = lib.empty(3, dtype=lib.float64, device=t.device)
        res = getattr(lib, name)(t, out=out)
        assert res is out
        return out

    check(fn, [A(x, grad=False)], {}, device)
    # an integer out cannot hold the float result: RuntimeError on both sides
    check(lambda lib, t: getattr(lib, name)(t, out=lib.empty(3, dtype=lib.int64, device=t.device)),
          [A(x, grad=False)], {}, device)
    # a resized out
    check(lambda lib, t: getattr(lib, name)(t, out=lib.empty(0, dtype=lib.float64, device=t.device)),
          [A(x, grad=False)], {}, device)


def test_xlogy_forms(device):
    x, y = A([0.0, 1.0, 2.0, 0.0]), A([0.0, 3.0, 0.5, NAN])
    check(lambda lib, a, b: lib.xlogy(a, b), [x, y], {}, device)
    check(lambda lib, a, b: a.xlogy(b), [x, y], {}, device)
    check(lambda lib, a, b: (a * 1).xlogy_(b), [x, y], {}, device)
    check(lambda lib, a, b: lib.xlogy(a, 2.5), [x, y], {}, device)
    check(lambda lib, a, b: lib.xlogy(3, b), [x, y], {}, device)
    check(lambda lib, a, b: lib.xlogy(0, b), [x, y], {}, device)
    check(lambda lib, a, b: lib.xlogy(a, b, out=lib.empty(4, dtype=lib.float64, device=a.device)),
          [A([0.0, 1.0, 2.0, 0.0], grad=False), A([0.0, 3.0, 0.5, NAN], grad=False)], {}, device)
    check(lambda lib, a, b: lib.xlogy(a, b), [Arg(np.array([0, 1, 2])), Arg(np.array([1, 2, 3]))], {}, device)
    check(lambda lib, a, b: lib.special.xlog1py(a, b), [x, A([-1.0, 3.0, -0.5, 0.0])], {}, device)
    check(lambda lib, a: lib.special.xlog1py(a, 1), [x], {}, device)


# ---- the ember.special namespace ---------------------------------------------------------------------
def test_special_names_exist_in_torch_special():
    missing = [n for n in ember.special.__all__ if not hasattr(torch.special, n)]
    assert missing == []
    for n in ember.special.__all__:
        assert callable(getattr(ember.special, n))


@pytest.mark.parametrize("name", ["expit", "erf", "erfc", "erfinv", "gammaln", "digamma", "psi", "exp2", "expm1",
                                  "log1p", "sinc", "entr", "ndtr", "log_ndtr", "round", "logit", "i0", "i0e", "i1",
                                  "i1e"])
def test_special_unary_with_out(device, name):
    x = np.array([0.1, 0.4, 0.8, 0.95])
    check(lambda lib, t: getattr(lib.special, name)(t), [A(x)], {}, device)
    check(lambda lib, t: getattr(lib.special, name)(t, out=lib.empty(4, dtype=lib.float64, device=t.device)),
          [A(x, grad=False)], {}, device)


def test_special_edges(device):
    x = A(EDGES)
    for name in ("entr", "ndtr", "log_ndtr", "expit", "erfc", "gammaln", "psi", "i0e", "i1", "i1e"):
        check(lambda lib, t, name=name: getattr(lib.special, name)(t), [x], {}, device)


def test_special_ndtri_tails(device):
    p = [0.0, 1.0, -0.1, 1.1, NAN, 0.5, 1e-20, 1e-300, 1 - 1e-10, 0.1352, 0.1354, 0.8646, 0.8648, 1e-14, 2e-14]
    check(lambda lib, t: lib.special.ndtri(t), [A(p)], {}, device)


def test_special_log_ndtr_lower_tail(device):
    x = A([-1.0, -1.0001, -5.0, -19.9, -20.1, -37.0, -40.0, -1e3, -1e10, -INF])
    check(lambda lib, t: lib.special.log_ndtr(t), [x], {}, device)


def test_special_reductions_and_polygamma(device):
    x = _rand((3, 4))
    check(lambda lib, t: lib.special.logsumexp(t, 1), [x], {}, device)
    check(lambda lib, t: lib.special.logsumexp(t, (0, 1), keepdim=True), [x], {}, device)
    check(lambda lib, t: lib.special.softmax(t, 0), [x], {}, device)
    # (the gradient comes back through a float32 log_softmax into float64)
    check(lambda lib, t: lib.special.log_softmax(t, -1, dtype=lib.float32), [x], {}, device, grad_tol=10)
    check(lambda lib, t: lib.special.softmax(t), [x], {}, device)  # dim is required: TypeError
    check(lambda lib, t: lib.special.polygamma(2, t), [x], {}, device)
    check(lambda lib, t: lib.special.multigammaln(t.abs() + 1, 3), [x], {}, device)
    check(lambda lib, t: lib.special.multigammaln(t, 0), [x], {}, device)
