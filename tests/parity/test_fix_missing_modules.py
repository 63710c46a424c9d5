"""Public PyTorch APIs that ember lacked entirely (the OpInfo runner reported them "missing"):
``torch.masked`` (strided reductions with ``mask=``), ``torch.signal.windows`` and ``torch.ormqr``.

The OpInfo rows of tests/parity/test_opinfo_suite.py run PyTorch's own samples; these rows add what
those samples do not reach: broadcast and non-bool masks, fully masked-out rows (identities, NaN),
integer inputs and ``dtype=``, ``unbiased``/``correction``, argument errors, windows of 0 and 1
points, ``requires_grad`` windows, and ormqr's shape and dtype checks. Every case runs on PyTorch and
on ember (every device) and compares values, dtypes, errors and gradients.
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

INF, NAN = math.inf, math.nan
_RNG = np.random.default_rng(7)
X = _RNG.standard_normal((3, 4)).astype(np.float32)
X3 = _RNG.standard_normal((2, 3, 4)).astype(np.float32)
MASK = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
ROWMASK = np.array([True, False, True, True])  # broadcast over the rows


def F(a=X, grad=True) -> Arg:  # noqa: N802
    return Arg(np.array(a, dtype=np.float32), grad=grad)


def M(a=MASK, dtype=bool) -> Arg:  # noqa: N802
    return Arg(np.array(a, dtype=dtype), grad=False)


# ---- torch.masked -----------------------------------------------------------------------------
REDUCTIONS = ["sum", "prod", "amax", "amin", "mean", "logsumexp", "var", "std"]
MASKS = {"full": M(), "row": M(ROWMASK), "int": M(MASK, np.int64), "none": None}


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("mask", list(MASKS), ids=str)
@pytest.mark.parametrize("dim", [None, 1, -2, (0, 1), ()], ids=str)
@pytest.mark.parametrize("keepdim", [False, True], ids=["", "keepdim"])
def test_masked_reductions(device, name, mask, dim, keepdim):
    check(lambda L, x, m: getattr(L.masked, name)(x, dim, keepdim=keepdim, mask=m), (F(), MASKS[mask]), {}, device,
          tol=2.0)


@pytest.mark.parametrize("name", ["argmax", "argmin", "median"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_masked_index_reductions(device, name, dim):
    # rows that are partly masked (fully masked-out rows give implementation-defined indices)
    mask = np.array([[True, False, True, True], [False, True, False, True], [True, True, False, True]])
    check(lambda L, x, m: getattr(L.masked, name)(x, dim, keepdim=True, mask=m), (F(), M(mask)), {}, device)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "cumsum", "cumprod"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_masked_normalizations(device, name, dim):
    check(lambda L, x, m: getattr(L.masked, name)(x, dim, mask=m), (F(), M()), {}, device)


@pytest.mark.parametrize("ord", [2.0, 1.0, INF, -INF, 0.0, 3.5])
def test_masked_norm_and_normalize(device, ord):
    check(lambda L, x, m: L.masked.norm(x, ord, 1, mask=m), (F(), M()), {}, device)
    check(lambda L, x, m: L.masked.normalize(x, ord, 1, mask=m), (F(), M(MASK[0])), {}, device)


def test_masked_out_infinities_do_not_leak(device):
    # masked-out elements never reach the result, whatever they hold (the gradient there is 0)
    x = np.array([[1.0, INF, 2.0], [NAN, 3.0, -INF]], dtype=np.float32)
    m = M([[True, False, True], [False, True, False]])
    for name in ("sum", "amax", "amin", "mean", "logsumexp"):
        check(lambda L, a, b, n=name: getattr(L.masked, n)(a, 1, mask=b), (F(x), m), {}, device)
    check(lambda L, a, b: L.masked.softmax(a, 1, mask=b), (F(x), m), {}, device)


@pytest.mark.parametrize("kw", [{"unbiased": False}, {"unbiased": True}, {"correction": 0}, {"correction": 2},
                                {"correction": 5}], ids=str)
def test_masked_var_std_correction(device, kw):
    for name in ("var", "std"):
        check(lambda L, x, m, n=name: getattr(L.masked, n)(x, 1, mask=m, **kw), (F(), M()), {}, device)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_], ids=lambda d: np.dtype(d).name)
def test_masked_integer_inputs(device, dtype):
    x = Arg((np.abs(X) * 5).astype(dtype))
    m = M()
    for name in ("sum", "prod"):  # small ints accumulate in int64
        check(lambda L, a, b, n=name: getattr(L.masked, n)(a, 1, mask=b), (x, m), {}, device)
    check(lambda L, a, b: L.masked.cumsum(a, 1, mask=b), (x, m), {}, device)
    if dtype is not np.bool_:  # bool has no amax identity: both raise
        check(lambda L, a, b: L.masked.amax(a, 1, mask=b), (x, m), {}, device)
        check(lambda L, a, b: L.masked.amin(a, 1, mask=b), (x, m), {}, device)
    else:
        check(lambda L, a, b: L.masked.amax(a, 1, mask=b), (x, m), {}, device)
    check(lambda L, a, b: L.masked.mean(a, 1, mask=b), (x, m), {}, device)  # ValueError
    check(lambda L, a, b: L.masked.mean(a, 1, mask=b, dtype=L.float32), (x, m), {}, device)
    check(lambda L, a, b: L.masked.var(a, 1, mask=b), (x, m), {}, device)  # float32 result
    check(lambda L, a, b: L.masked.median(a, 1, mask=b), (x, m), {}, device)  # a fully masked row: ValueError
    check(lambda L, a, b: L.masked.median(a, 0, mask=b), (x, m), {}, device)


def test_masked_dtype_argument(device):
    check(lambda L, x, m: L.masked.sum(x, 1, mask=m, dtype=L.float32), (F(), M()), {}, device)
    check(lambda L, x, m: L.masked.amax(x, 1, mask=m, dtype=L.int64), (F(), M()), {}, device)
    check(lambda L, x, m: L.masked.softmax(x, 1, mask=m, dtype=L.float32), (F(), M()), {}, device)
    check(lambda L, x, m: L.masked.argmax(x, 1, mask=m), (F(), M()), {}, device)  # indices in float32


@pytest.mark.parametrize("case", ["mask_more_dims", "dim_out_of_range", "dim_twice", "mask_not_broadcastable",
                                  "var_both", "norm_ninf_int"])
def test_masked_errors(device, case):
    fns = {
        "mask_more_dims": (lambda L, x, m: L.masked.sum(x, mask=m), (F(X[0]), M())),
        "dim_out_of_range": (lambda L, x, m: L.masked.sum(x, 2, mask=m), (F(), M())),
        "dim_twice": (lambda L, x, m: L.masked.sum(x, (1, -1), mask=m), (F(), M())),
        "mask_not_broadcastable": (lambda L, x, m: L.masked.amax(x, mask=m), (F(), M(MASK[:2, :3]))),
        "var_both": (lambda L, x, m: L.masked.var(x, 1, True, correction=1, mask=m), (F(), M())),
        "norm_ninf_int": (lambda L, x, m: L.masked.norm(x, -INF, mask=m), (Arg(MASK.astype(np.int64)), M())),
    }
    fn, args = fns[case]
    check(fn, args, {}, device)


def test_masked_zero_dim_and_empty(device):
    check(lambda L, x, m: L.masked.sum(x, 0, mask=m), (F(np.float32(2.0)), M(np.bool_(False))), {}, device)
    check(lambda L, x, m: L.masked.amax(x, mask=m), (F(np.float32(2.0)), M(np.bool_(True))), {}, device)
    check(lambda L, x, m: L.masked.mean(x, 1, mask=m), (F(np.zeros((2, 0))), M(np.zeros((2, 0), bool))), {}, device)
    check(lambda L, x, m: L.masked.sum(x, 1, mask=m), (F(np.zeros((0, 3))), M(np.zeros((0, 3), bool))), {}, device)


def test_masked_logaddexp(device):
    a, b = F(X[0]), F(X[1])
    check(lambda L, x, y, m: L.masked.logaddexp(x, y, input_mask=m, other_mask=m), (a, b, M(ROWMASK)), {}, device)
    check(lambda L, x, y, m: L.masked.logaddexp(x, y, input_mask=m), (a, b, M(ROWMASK)), {}, device)
    check(lambda L, x, y: L.masked.logaddexp(x, y), (a, b), {}, device)


def test_masked_module_surface():
    assert set(torch.masked.__all__) - set(ember.masked.__all__) == {
        "MaskedTensor", "masked_tensor", "as_masked_tensor", "is_masked_tensor"}  # the prototype class


# ---- torch.signal.windows ---------------------------------------------------------------------
WINDOWS = {
    "bartlett": {}, "blackman": {}, "cosine": {}, "hamming": {}, "hann": {}, "nuttall": {},
    "exponential": {"tau": 0.7}, "gaussian": {"std": 1.7}, "kaiser": {"beta": 4.5},
    "general_cosine": {"a": [0.46, 0.23, 0.31]}, "general_hamming": {"alpha": 0.6},
}


@pytest.mark.parametrize("name", list(WINDOWS))
@pytest.mark.parametrize("M_", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("sym", [True, False])
def test_windows(device, name, M_, sym):
    check(lambda L: getattr(L.signal.windows, name)(M_, sym=sym, device=DEVICE_OF(L, device), **WINDOWS[name]), (),
          {}, device)


def DEVICE_OF(L, device):  # noqa: ANN001, ANN201, N802
    return "cpu" if L is torch else device


@pytest.mark.parametrize("name", list(WINDOWS))
def test_windows_dtype_and_grad(name):
    for dtype in ("float32", "float64"):
        t = getattr(torch.signal.windows, name)(6, dtype=getattr(torch, dtype), requires_grad=True, **WINDOWS[name])
        e = getattr(ember.signal.windows, name)(6, dtype=getattr(ember, dtype), requires_grad=True, **WINDOWS[name])
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert (e.requires_grad, e.is_leaf) == (t.requires_grad, t.is_leaf)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    ember.set_default_dtype(ember.float64)
    try:
        t = getattr(torch.signal.windows, name)(5, **WINDOWS[name])
        e = getattr(ember.signal.windows, name)(5, **WINDOWS[name])
        assert e.dtype is ember.float64 and t.dtype is torch.float64
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=1e-14)
    finally:
        torch.set_default_dtype(prev)
        ember.set_default_dtype(getattr(ember, str(prev).split(".")[-1]))


WINDOW_ERRORS = {
    "negative_M": lambda L: L.signal.windows.hann(-1),
    "int_dtype": lambda L: L.signal.windows.hann(4, dtype=L.int64),
    "half_dtype": lambda L: L.signal.windows.kaiser(4, dtype=L.float16),
    "sparse_layout": lambda L: L.signal.windows.bartlett(4, layout=L.sparse_coo),
    "tau": lambda L: L.signal.windows.exponential(4, tau=0.0),
    "center_sym": lambda L: L.signal.windows.exponential(4, center=1.0),
    "center_periodic": lambda L: L.signal.windows.exponential(4, center=1.0, sym=False),
    "std": lambda L: L.signal.windows.gaussian(4, std=-1.0),
    "beta": lambda L: L.signal.windows.kaiser(4, beta=-1.0),
    "empty_a": lambda L: L.signal.windows.general_cosine(4, a=[]),
    "scalar_a": lambda L: L.signal.windows.general_cosine(4, a=0.5),
    "blackman_int": lambda L: L.signal.windows.blackman(3, dtype=L.int32),
}


@pytest.mark.parametrize("case", list(WINDOW_ERRORS))
def test_window_errors(case):
    check(lambda L: WINDOW_ERRORS[case](L), (), {}, "cpu")
    try:
        WINDOW_ERRORS[case](torch)
    except Exception as exc:  # noqa: BLE001 - the wording must be PyTorch's too
        with pytest.raises(type(exc)) as info:
            WINDOW_ERRORS[case](ember)
        assert str(info.value).replace("ember.", "torch.") == str(exc)


# ---- torch.ormqr ------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 3, 2), (3, 5, 3), (4, 4, 4), (2, 5, 3, 2)], ids=str)
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
def test_ormqr(device, shape, left, transpose):
    *batch, m, n, p = shape
    a = _RNG.standard_normal((*batch, m, n)).astype(np.float32)
    c = _RNG.standard_normal((*batch, m, p) if left else (*batch, p, m)).astype(np.float32)
    ta, tau = torch.geqrf(torch.from_numpy(a))  # geqrf's output is the input ormqr expects

    check(lambda L, x, t, o: L.ormqr(x, t, o, left=left, transpose=transpose),
          (Arg(ta.numpy()), Arg(tau.numpy()), Arg(c)), {}, device, tol=4.0)
    check(lambda L, x, t, o: x.ormqr(t, o, left, transpose), (Arg(ta.numpy()), Arg(tau.numpy()), Arg(c)), {},
          device, tol=4.0)


def test_ormqr_complex():
    # the parity harness compares complex values exactly: this row compares them with a tolerance
    a = (_RNG.standard_normal((4, 3)) + 1j * _RNG.standard_normal((4, 3))).astype(np.complex128)
    c = (_RNG.standard_normal((4, 2)) + 1j * _RNG.standard_normal((4, 2))).astype(np.complex128)
    ta, tau = torch.geqrf(torch.from_numpy(a))
    for left, transpose in ((True, False), (True, True)):
        other = c if left else c.T.copy()
        t = torch.ormqr(ta, tau, torch.from_numpy(other), left=left, transpose=transpose)
        e = ember.ormqr(ember.tensor(ta.numpy()), ember.tensor(tau.numpy()), ember.tensor(other), left=left,
                        transpose=transpose)
        assert e.dtype is ember.complex128
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


ORMQR_ERRORS = {
    "input_1d": ((5,), (3,), (5, 2), {}),
    "other_1d": ((5, 3), (3,), (5,), {}),
    "other_rows": ((5, 3), (3,), (4, 2), {}),
    "other_cols_right": ((5, 3), (3,), (4, 3), {"left": False}),
    "tau_length": ((5, 3), (2,), (5, 2), {}),
    "tau_ndim": ((2, 5, 3), (3,), (2, 5, 2), {}),
    "other_ndim": ((5, 3), (3,), (2, 5, 2), {}),
    "tau_batch": ((2, 5, 3), (3, 3), (2, 5, 2), {}),
    "other_batch": ((2, 5, 3), (2, 3), (3, 5, 2), {}),
}


@pytest.mark.parametrize("case", list(ORMQR_ERRORS))
def test_ormqr_errors(case):
    sa, st, so, kw = ORMQR_ERRORS[case]

    def run(L):  # noqa: ANN001, ANN202
        return L.ormqr(L.ones(*sa), L.ones(*st), L.ones(*so), **kw)

    with pytest.raises(RuntimeError) as t_info:
        run(torch)
    with pytest.raises(RuntimeError) as e_info:
        run(ember)
    assert str(e_info.value) == str(t_info.value)


@pytest.mark.parametrize("dt", ["int64", "float16", "mixed_tau", "mixed_other"])
def test_ormqr_dtype_errors(dt):
    def run(L):  # noqa: ANN001, ANN202
        d = {"int64": (L.int64,) * 3, "float16": (L.float16,) * 3, "mixed_tau": (L.float32, L.float64, L.float32),
             "mixed_other": (L.float32, L.float32, L.float64)}[dt]
        return L.ormqr(L.ones(4, 3, dtype=d[0]), L.ones(3, dtype=d[1]), L.ones(4, 2, dtype=d[2]))

    try:
        run(torch)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)) as info:
            run(ember)
        assert str(info.value) == str(exc)


# ---- torch.linalg.ldl_factor / ldl_factor_ex / ldl_solve ---------------------------------------
def _sym(n: int, seed: int, zero_diag: bool = False) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((n, n))
    a = a + a.T
    if zero_diag:  # forces 2x2 pivot blocks and interchanges
        np.fill_diagonal(a, 0.0)
    return a


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("zero_diag", [False, True])
def test_ldl_pivots_and_solve_match_lapack(device, n, seed, zero_diag):
    a = _sym(n, seed, zero_diag).astype(np.float32)
    LD, piv, info = torch.linalg.ldl_factor_ex(torch.from_numpy(a))
    e = ember.linalg.ldl_factor_ex(ember.tensor(a, device=device))
    np.testing.assert_array_equal(e.pivots.cpu().numpy(), piv.numpy())  # LAPACK's pivots, exactly
    assert e.pivots.dtype is ember.int32 and int(e.info) == int(info)
    np.testing.assert_allclose(e.LD.cpu().numpy(), LD.numpy(), rtol=1e-4, atol=1e-4)
    b = np.random.default_rng(seed).standard_normal((n, 3)).astype(np.float32)
    check(lambda L, f, p, x: L.linalg.ldl_solve(f, p, x), (Arg(LD.numpy()), Arg(piv.numpy()), Arg(b)), {},
          device, tol=20.0)


@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl_complex(hermitian):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 5, 5)) + 1j * rng.standard_normal((2, 5, 5))
    a = a + (np.conj(a.transpose(0, 2, 1)) if hermitian else a.transpose(0, 2, 1))
    t = torch.linalg.ldl_factor(torch.from_numpy(a), hermitian=hermitian)
    e = ember.linalg.ldl_factor(ember.tensor(a), hermitian=hermitian)
    np.testing.assert_array_equal(e.pivots.numpy(), t.pivots.numpy())
    np.testing.assert_allclose(e.LD.numpy(), t.LD.numpy(), rtol=1e-10, atol=1e-10)
    b = rng.standard_normal((5, 2)) + 0j
    x_t = torch.linalg.ldl_solve(t.LD, t.pivots, torch.from_numpy(b), hermitian=hermitian)
    x_e = ember.linalg.ldl_solve(e.LD, e.pivots, ember.tensor(b), hermitian=hermitian)
    np.testing.assert_allclose(x_e.numpy(), x_t.numpy(), rtol=1e-10, atol=1e-10)


LDL_ERRORS = {
    "not_square": lambda L: L.linalg.ldl_factor(L.ones(3, 2)),
    "one_dim": lambda L: L.linalg.ldl_factor(L.ones(3)),
    "int": lambda L: L.linalg.ldl_factor(L.ones(3, 3, dtype=L.int64)),
    "half": lambda L: L.linalg.ldl_factor(L.ones(3, 3, dtype=L.float16)),
    "singular": lambda L: L.linalg.ldl_factor(L.zeros(3, 3)),
    "singular_ex_checked": lambda L: L.linalg.ldl_factor_ex(L.zeros(2, 3, 3), check_errors=True),
    "singular_ex": lambda L: L.linalg.ldl_factor_ex(L.zeros(3, 3)).info,
    "solve_rows": lambda L: L.linalg.ldl_solve(L.eye(3), L.arange(1, 4, dtype=L.int32), L.ones(2, 2)),
    "solve_1d": lambda L: L.linalg.ldl_solve(L.eye(3), L.arange(1, 4, dtype=L.int32), L.ones(3)),
    "solve_dtype": lambda L: L.linalg.ldl_solve(L.eye(3), L.arange(1, 4, dtype=L.int32), L.ones(3, 1, dtype=L.float64)),
    "solve_pivots": lambda L: L.linalg.ldl_solve(L.eye(3), L.arange(1, 3, dtype=L.int32), L.ones(3, 1)),
    "backward": lambda L: L.linalg.ldl_factor(L.eye(2).requires_grad_()).LD.sum().backward(),
}


@pytest.mark.parametrize("case", list(LDL_ERRORS))
def test_ldl_errors(case):
    check(lambda L: LDL_ERRORS[case](L), (), {}, "cpu")
