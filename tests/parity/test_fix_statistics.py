"""Issue #14 sections 3/4, reductions and statistics: what the parity table cannot express.

- NumPy's ``axis=``/``keepdims=`` on every reduction, scan and statistic whose PyTorch form accepts
  them (functions and Tensor methods), found from the op registry, not from a hand-kept list;
- every dim-taking op of the reduction and statistics families on 0-d inputs with dim 0, -1, 1, -2;
- ``out=`` for the new ops, named-tuple results, introspectable signatures, stable sort on long rows.
"""

from __future__ import annotations

import inspect
import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ember._ops.registry import OPS  # noqa: E402
from parity_compare import DEVICE, Arg, check  # noqa: E402

FAMILIES = ("ember.functions.reduction", "ember.functions.statistics")
#: values for the required arguments some ops take besides the tensor
REQUIRED = {"k": 1, "q": 0.5}
R = np.random.default_rng(14)


def _ops_with(param: str) -> list[str]:
    """The exported ops of the two families whose signature has ``param``."""
    return sorted(d.name for d in OPS.values()
                  if d.family in FAMILIES and d.export and param in inspect.signature(d.fn).parameters)


def _call(name: str, as_method: bool, **kwargs) -> callable:
    """``lib.<name>(x, <required>, **kwargs)`` (or the Tensor method) on a float tensor."""
    params = inspect.signature(OPS[name].fn).parameters
    extra = [REQUIRED[p] for p in list(params)[1:] if p in REQUIRED]

    def fn(lib, x):
        if as_method:
            return getattr(x, name)(*extra, **kwargs)
        return getattr(lib, name)(x, *extra, **kwargs)

    return fn


def _x(shape=(3, 4)) -> Arg:
    return Arg(R.standard_normal(shape).astype(np.float32))


# ---- axis= / keepdims= --------------------------------------------------------------------------
DIM_OPS = _ops_with("dim")
KEEPDIM_OPS = _ops_with("keepdim")


def test_the_families_have_dim_ops():
    assert {"sum", "mean", "amax", "std", "cumsum", "cummax", "quantile", "norm"} <= set(DIM_OPS)


@pytest.mark.parametrize("as_method", [False, True], ids=["function", "method"])
@pytest.mark.parametrize("name", DIM_OPS)
def test_axis_alias(device, name, as_method):
    """axis= for dim=: accepted exactly where PyTorch accepts it (not by torch.norm, written in Python)."""
    if as_method and OPS[name].method_fn is None:
        pytest.skip("no Tensor method")
    check(_call(name, as_method, axis=0), [_x()], {}, device, tol=4)


@pytest.mark.parametrize("as_method", [False, True], ids=["function", "method"])
@pytest.mark.parametrize("name", KEEPDIM_OPS)
def test_keepdims_alias(device, name, as_method):
    if as_method and OPS[name].method_fn is None:
        pytest.skip("no Tensor method")
    check(_call(name, as_method, dim=1, keepdims=True), [_x()], {}, device, tol=4)
    check(_call(name, as_method, axis=1, keepdims=True), [_x()], {}, device, tol=4)


@pytest.mark.parametrize("name", ["sum", "amax", "max", "var", "cumsum", "quantile", "kthvalue", "aminmax"])
def test_alias_with_its_own_name_is_a_type_error(device, name):
    """axis= together with dim= (or keepdims= with keepdim=) is PyTorch's TypeError."""
    check(_call(name, False, dim=0, axis=0), [_x()], {}, device)
    if "keepdim" in inspect.signature(OPS[name].fn).parameters:
        check(_call(name, False, dim=0, keepdim=True, keepdims=True), [_x()], {}, device)


def test_positional_dim_and_axis_is_a_type_error(device):
    check(lambda lib, x: lib.sum(x, 0, axis=0), [_x()], {}, device)


def test_tuple_axis(device):
    check(lambda lib, x: x.sum(axis=(0, 2), keepdims=True), [_x((2, 3, 4))], {}, device)
    check(lambda lib, x: lib.amax(x, axis=(0, 1)), [_x((2, 3, 4))], {}, device)
    check(lambda lib, x: lib.var_mean(x, axis=1, keepdims=True, correction=0), [_x()], {}, device)


def test_in_place_scan_takes_axis(device):
    check(lambda lib, x: x.clone().cumsum_(axis=0), [_x()], {}, device)


def test_signatures_stay_introspectable():
    for name in DIM_OPS:
        fn = getattr(ember, name)
        params = inspect.signature(fn).parameters
        assert "axis" not in params and "keepdims" not in params, name
        assert fn.__name__ == name
    assert inspect.signature(ember.sum).parameters["keepdim"].default is False
    from ember._ops.registry import OPS

    # the method is the op itself, not another wrapper; ``ember.sum`` adds only PyTorch's ``out=``
    assert ember.Tensor.sum is OPS["sum"].plain and "out" in inspect.signature(ember.sum).parameters


# ---- 0-d inputs: dim 0 and -1 are valid, 1 and -2 are not ----------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
@pytest.mark.parametrize("dim", [0, -1, 1, -2])
@pytest.mark.parametrize("name", DIM_OPS)
def test_zero_dim_input(device, name, dim, dtype):
    check(_call(name, False, dim=dim), [Arg(np.array(3, dtype=dtype))], {}, device)


@pytest.mark.parametrize("dim", [0, -1, 1])
@pytest.mark.parametrize("name", ["prod", "sum", "mean", "amax", "argmax", "max", "min", "cumsum", "cumprod",
                                  "softmax", "log_softmax", "sort", "argsort", "nansum", "cummax", "kthvalue"])
def test_zero_dim_tensor_methods(device, name, dim):
    """x.prod(0), x.prod(dim=0), ... on a 0-d tensor, positional and keyword."""
    check(_call(name, True, dim=dim), [Arg(np.array(2.5, dtype=np.float32))], {}, device)
    extra = [REQUIRED[p] for p in list(inspect.signature(OPS[name].fn).parameters)[1:] if p in REQUIRED]
    check(lambda lib, x: getattr(x, name)(*extra, dim) if extra else getattr(x, name)(dim),
          [Arg(np.array(2.5, dtype=np.float32))], {}, device)


# ---- out= ------------------------------------------------------------------------------------------
OUT_CASES = {
    "nansum": (lambda lib, x, o: lib.nansum(x, 1, out=o), 1),
    "nanmean": (lambda lib, x, o: lib.nanmean(x, 1, out=o), 1),
    "quantile": (lambda lib, x, o: lib.quantile(x, 0.25, dim=0, out=o), 1),
    "nanquantile": (lambda lib, x, o: lib.nanquantile(x, 0.25, out=o), 1),
    "logcumsumexp": (lambda lib, x, o: lib.logcumsumexp(x, 1, out=o), 1),
    "diff": (lambda lib, x, o: lib.diff(x, out=o), 1),
    "nanmedian": (lambda lib, x, o: lib.nanmedian(x, out=o), 1),
    "cummax": (lambda lib, x, o: lib.cummax(x, 0, out=o), 2),
    "cummin": (lambda lib, x, o: lib.cummin(x, 1, out=o), 2),
    "kthvalue": (lambda lib, x, o: lib.kthvalue(x, 2, 1, out=o), 2),
    "nanmedian.dim": (lambda lib, x, o: lib.nanmedian(x, 0, out=o), 2),
    "aminmax": (lambda lib, x, o: lib.aminmax(x, dim=1, out=o), 2),
}


@pytest.mark.parametrize("name", sorted(OUT_CASES))
def test_out(device, name):
    """out= (a tensor, or a pair for the ops returning two): resized, written, and returned."""
    fn, n = OUT_CASES[name]

    def run(lib, x, dev):
        first = lib.empty(0, device=dev)
        o = first if n == 1 else (first, lib.empty(0, dtype=lib.int64 if name != "aminmax" else x.dtype, device=dev))
        result = fn(lib, x, o)
        outs = (o,) if n == 1 else o
        got = (result,) if n == 1 else tuple(result)
        assert all(a is b for a, b in zip(outs, got)), "out= must return the out tensors themselves"
        return result

    values = R.standard_normal((3, 4)).astype(np.float32)
    values[0, 1] = math.nan
    check(run, [Arg(values, grad=False), DEVICE], {}, device)


def test_result_types():
    x = ember.tensor([[1.0, 3.0], [2.0, 0.0]])
    for name, fields in [("cummax", ("values", "indices")), ("cummin", ("values", "indices")),
                         ("kthvalue", ("values", "indices")), ("mode", ("values", "indices")),
                         ("nanmedian", ("values", "indices")), ("aminmax", ("min", "max"))]:
        args = {"kthvalue": (1, 0), "aminmax": ()}.get(name, (0,))
        kwargs = {"dim": 0} if name == "aminmax" else {}
        result = getattr(ember, name)(x, *args, **kwargs)
        reference = getattr(torch, name)(torch.tensor([[1.0, 3.0], [2.0, 0.0]]), *args, **kwargs)
        assert type(result).__name__ == type(reference).__name__ == name
        assert result._fields == fields and isinstance(result, tuple)
        assert repr(result).startswith(f"ember.return_types.{name}(\n{fields[0]}=")
        values, second = result
        assert getattr(result, fields[0]) is values and getattr(result, fields[1]) is second


# ---- stable sort: equal values keep their order, NaN last ascending / first descending ------------


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("fn", ["sort", "argsort"])
def test_stable_sort_long_rows(device, fn, descending):
    """Rows long enough for every merge level of the device kernel, full of ties and NaN."""
    values = R.integers(-3, 4, (5, 300)).astype(np.float32)
    values[R.random(values.shape) < 0.1] = math.nan
    values[R.random(values.shape) < 0.05] = -0.0
    check(lambda lib, x: getattr(lib, fn)(x, dim=1, descending=descending, stable=True), [Arg(values)], {}, device)
    check(lambda lib, x: getattr(lib, fn)(x.t(), dim=0, descending=descending, stable=True), [Arg(values)], {}, device)


def test_stable_is_keyword_only(device):
    check(lambda lib, x: lib.argsort(x, 0, True, True), [_x()], {}, device)
    check(lambda lib, x: lib.sort(x, 0, True, True), [_x()], {}, device)


# ---- gradients through the scans and selections at ties ---------------------------------------------


def test_cummax_gradient_goes_to_the_last_tie(device):
    check(lambda lib, x: lib.cummax(x, 0).values, [Arg(np.array([1.0, 3.0, 3.0, 2.0, 3.0, 5.0], np.float32))],
          {}, device)
    check(lambda lib, x: lib.cummin(x, 0).values, [Arg(np.array([3.0, 1.0, 1.0, math.nan, 0.0], np.float64))],
          {}, device)


def test_logcumsumexp_double_backward(device):
    def second(lib, x):
        y = lib.logcumsumexp(x, 1)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        return g

    check(second, [_x()], {}, device, tol=8)


def test_quantile_gradient_reaches_q(device):
    q = Arg(np.array([0.1, 0.5, 0.9], np.float64))
    check(lambda lib, x, q: lib.quantile(x, q, dim=1), [Arg(R.standard_normal((3, 5))), q], {}, device)
    check(lambda lib, x, q: lib.nanquantile(x, q, dim=0, interpolation="midpoint"), [Arg(R.standard_normal((3, 5))), q],
          {}, device)
