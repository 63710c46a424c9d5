"""Parity rows for ``ember.linalg`` and the top-level linear-algebra ops (``inverse``, ``det``,
``svd``...; issue #14 section 4).

Inputs are random arrays made well-conditioned inside the expression, the same way on both sides
(``a @ a.mT + n I`` for positive-definite, ``a + 4 I`` for invertible, ``a + a.mT`` for symmetric),
so the gradient flows back to the random storage through those constructions too. Outputs whose
sign or phase is not unique (singular vectors, eigenvectors) are compared through invariants:
``U diag(S) Vh``, ``|U|``, ``V diag(w) V^T``. QR is compared directly: the backends and PyTorch all
follow LAPACK's Householder sign convention. On the CPU the rows run the NumPy kernels; on OpenCL
the on-device composites (test_fix_linalg.py also runs the composites on the CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_cases import F32, F64, I64, In, OpSpec, S, listed

FLOAT = (F64, F32)
N = 3


def _eye(lib: Any, x: Any) -> Any:
    return lib.eye(x.shape[-1], dtype=x.dtype, device=x.device)


def spd(lib: Any, a: Any) -> Any:
    """A symmetric positive-definite matrix built from any square ``a``."""
    return a @ a.mT + a.shape[-1] * _eye(lib, a)


def wc(lib: Any, a: Any) -> Any:
    """An invertible, well-conditioned matrix built from any square ``a``."""
    return a + 4 * _eye(lib, a)


def la(name: str, pre: Callable[..., Any] | None = None, **kw: Any) -> Callable[..., Any]:
    """``lib.linalg.<name>(pre(a), *rest, **kw)``."""
    def fn(lib: Any, a: Any, *rest: Any, **k: Any) -> Any:
        return getattr(lib.linalg, name)(pre(lib, a) if pre else a, *rest, **kw, **k)
    return fn


def square(n: int = N, extra: tuple = ()) -> Callable[[str], list]:
    """Square inputs: one matrix, a batch, a batch of batches, an empty batch, transposed, expanded."""
    return listed(
        S("mat", (In((n, n)), *extra)),
        S("batch", (In((2, n, n)), *extra)),
        S("batch2", (In((2, 1, n, n)), *extra)),
        S("empty_batch", (In((0, n, n)), *extra)),
        S("T", (In((n, n), layout="T"), *extra)),
        S("expand", (In((2, n, n), layout="expand"), *extra)),
    )


def rect() -> Callable[[str], list]:
    return listed(S("tall", (In((5, 3)),)), S("wide", (In((3, 5)),)), S("square", (In((4, 4)),)),
                  S("batch_tall", (In((2, 4, 2)),)), S("T", (In((4, 3), layout="T"),)),
                  S("empty", (In((0, 3, 2)),)))


def _errors(name: str) -> list[OpSpec]:
    """What PyTorch refuses for every square-matrix function: 1-d, non-square, integer and float16 inputs."""
    fn = la(name)
    return [OpSpec(f"linalg.{name}.errors", fn, listed(S("vector", (In((3,)),)), S("nonsquare", (In((2, 3)),)),
                                                         S("int", (In((3, 3), dtype=I64),)),
                                                         S("half", (In((3, 3), dtype="float16"),))), (F32,))]


def _factorizations() -> list[OpSpec]:
    tri = {"lower": lambda lib, a: a.tril() + 3 * _eye(lib, a), "upper": lambda lib, a: a.triu() + 3 * _eye(lib, a)}
    rows = [
        OpSpec("linalg.cholesky", la("cholesky", spd), square(), FLOAT, tol=10),
        OpSpec("linalg.cholesky.upper", la("cholesky", spd, upper=True), square(), FLOAT, tol=10),
        # the strict upper triangle is ignored: its gradient shows PyTorch's (symmetric) gA as it is
        OpSpec("linalg.cholesky.nonsym", lambda lib, a: lib.linalg.cholesky(spd(lib, a) + a.triu(1)),
               listed(S("mat", (In((4, 4)),))), FLOAT, tol=10),
        OpSpec("linalg.cholesky_ex", la("cholesky_ex", spd), square(), FLOAT, tol=10),
        OpSpec("linalg.cholesky.not_pd", lambda lib, a: lib.linalg.cholesky(-spd(lib, a)), square(), (F64,)),
        OpSpec("linalg.cholesky_ex.not_pd", lambda lib, a: lib.linalg.cholesky_ex(-spd(lib, a)).info, square(),
               (F64,)),
    ]
    for side in ("lower", "upper"):
        for left in (True, False):
            for unit in (False, True):
                pre = tri[side]
                b = In((2, N, 2)) if left else In((2, 2, N))
                rows.append(OpSpec(
                    f"linalg.solve_triangular.{side}.{'left' if left else 'right'}{'.unit' if unit else ''}",
                    lambda lib, a, b, pre=pre, side=side, left=left, unit=unit: lib.linalg.solve_triangular(
                        pre(lib, a), b, upper=side == "upper", left=left, unitriangular=unit),
                    listed(S("batch", (In((2, N, N)), b)), S("broadcast", (In((N, N)), b)),
                           S("T", (In((N, N), layout="T"), In((N, 2) if left else (2, N), layout="T"))),
                           S("empty", (In((0, N, N)), In((0,) + tuple(b.shape[1:]))))),
                    FLOAT, tol=10))
    rows += [
        OpSpec("linalg.solve_triangular.full_a", lambda lib, a, b: lib.linalg.solve_triangular(
            wc(lib, a), b, upper=True), listed(S("mat", (In((N, N)), In((N, 4))))), FLOAT, tol=10),
        OpSpec("linalg.solve_triangular.errors", lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
               listed(S("shapes", (In((3, 3)), In((2, 2)))), S("vector_b", (In((3, 3)), In((3,)))),
                      S("nonsquare", (In((2, 3)), In((2, 2))))), (F32,)),
    ]
    rows += _errors("cholesky")
    return rows


def _lu_rows() -> list[OpSpec]:
    rows = [
        OpSpec("linalg.inv", la("inv", wc), square(), FLOAT, tol=10),
        OpSpec("linalg.inv_ex", la("inv_ex", wc), square(), FLOAT, tol=10),
        OpSpec("linalg.inv.singular", lambda lib, a: lib.linalg.inv(a * 0), square(), (F64,)),
        OpSpec("linalg.inv_ex.singular", lambda lib, a: lib.linalg.inv_ex(a * 0).info, square(), (F64,)),
        OpSpec("linalg.solve", la("solve", wc), listed(
            S("mat", (In((N, N)), In((N, 2)))), S("vector", (In((N, N)), In((N,)))),
            S("batch_vector", (In((2, N, N)), In((2, N)))), S("broadcast", (In((2, N, N)), In((N, 4)))),
            S("broadcast_a", (In((N, N)), In((2, N, 1)))), S("T", (In((N, N), layout="T"), In((N, 2), layout="T"))),
            S("empty", (In((0, N, N)), In((0, N, 2)))), S("shapes", (In((N, N)), In((N + 1,)))),
            S("dtypes", (In((N, N)), In((N,), dtype=I64)))), FLOAT, tol=10),
        OpSpec("linalg.solve.right", la("solve", wc, left=False), listed(
            S("mat", (In((N, N)), In((2, N)))), S("batch", (In((2, N, N)), In((2, 4, N)))),
            S("shapes", (In((N, N)), In((N, 2))))), FLOAT, tol=10),
        OpSpec("linalg.solve.singular", lambda lib, a, b: lib.linalg.solve(a * 0, b),
               listed(S("mat", (In((N, N)), In((N,)))), S("batch", (In((2, N, N)), In((2, N, 1))))), (F64,)),
        OpSpec("linalg.solve_ex", lambda lib, a, b: lib.linalg.solve_ex(wc(lib, a), b),
               listed(S("mat", (In((N, N)), In((N, 2))))), FLOAT, tol=10),
        OpSpec("linalg.det", la("det"), square(), FLOAT, tol=10),
        OpSpec("linalg.det.zero_size", la("det"), listed(S("0x0", (In((0, 0)),)), S("batch", (In((2, 0, 0)),))),
               FLOAT),
        OpSpec("linalg.slogdet", la("slogdet"), square(), FLOAT, tol=10),
        OpSpec("linalg.slogdet.singular", lambda lib, a: lib.linalg.slogdet(a * 0).sign, square(), (F64,)),
        OpSpec("logdet", lambda lib, a: lib.logdet(spd(lib, a)), square(), FLOAT, tol=10),
        OpSpec("logdet.negative", lambda lib, a: lib.logdet(-spd(lib, a[..., :1, :1])), square(), (F64,)),
        OpSpec("det.method", lambda lib, a: wc(lib, a).det(), square(), FLOAT, tol=10),
        OpSpec("inverse", lambda lib, a: lib.inverse(wc(lib, a)), square(), FLOAT, tol=10),
        OpSpec("inverse.method", lambda lib, a: wc(lib, a).inverse(), square(), (F64,), tol=10),
        OpSpec("slogdet.top", lambda lib, a: lib.slogdet(wc(lib, a)), square(), FLOAT, tol=10),
        OpSpec("logdet.method", lambda lib, a: spd(lib, a).logdet(), square(), (F64,), tol=10),
        OpSpec("cholesky_solve", lambda lib, b, a: lib.cholesky_solve(b, lib.linalg.cholesky(spd(lib, a))),
               listed(S("mat", (In((N, 2)), In((N, N)))), S("batch", (In((2, N, 2)), In((2, N, N))))), FLOAT, tol=10),
        OpSpec("cholesky_solve.upper", lambda lib, b, a: lib.cholesky_solve(
            b, lib.linalg.cholesky(spd(lib, a), upper=True), upper=True), listed(S("mat", (In((N, 2)), In((N, N))))),
               FLOAT, tol=10),
        OpSpec("cholesky_inverse", lambda lib, a: lib.cholesky_inverse(lib.linalg.cholesky(spd(lib, a))),
               listed(S("mat", (In((N, N)),))), FLOAT, tol=10),
    ]
    lu_b = {"left": In((2, N, 2)), "right": In((2, 2, N))}
    for side in ("left", "right"):
        for adjoint in (False, True):
            rows.append(OpSpec(
                f"linalg.lu_solve.{side}{'.adjoint' if adjoint else ''}",
                lambda lib, a, b, side=side, adjoint=adjoint: lib.linalg.lu_solve(
                    *lib.linalg.lu_factor(a), b, left=side == "left", adjoint=adjoint),
                listed(S("batch", (In((2, N, N)), lu_b[side])), S("broadcast", (In((N, N)), lu_b[side])),
                       S("vector_b", (In((N, N)), In((N,))))), FLOAT, tol=20))
    rows += [
        OpSpec("linalg.lu_factor", la("lu_factor"), square(), FLOAT, tol=10),
        OpSpec("linalg.lu_factor_ex", la("lu_factor_ex"), square(), FLOAT, tol=10),
        OpSpec("linalg.lu", la("lu"), square(), FLOAT, tol=10),
        OpSpec("linalg.lu_factor.singular", lambda lib, a: lib.linalg.lu_factor(a * 0), square(), (F64,)),
        OpSpec("linalg.lu_factor_ex.singular", lambda lib, a: lib.linalg.lu_factor_ex(a * 0).info, square(), (F64,)),
        OpSpec("linalg.lu_factor.errors", lambda lib, a, **k: lib.linalg.lu_factor(a, **k), listed(
            S("vector", (In((3,)),)), S("int", (In((3, 3), dtype=I64),)), S("no_pivot", (In((3, 3)),), {"pivot": False}),
            S("half", (In((3, 3), dtype="float16"),))), (F32,)),
    ]
    for name in ("inv", "det", "slogdet"):
        rows += _errors(name)
    return rows


def _qr_svd_eigh_out(name: str) -> Callable[..., Any]:
    def svd_inv(lib: Any, a: Any, **kw: Any) -> Any:
        U, S_, Vh = lib.linalg.svd(a, **kw)
        k = S_.shape[-1]
        U, Vh = U[..., :, :k], Vh[..., :k, :]
        return S_, (U * S_.unsqueeze(-2)) @ Vh, U.abs(), Vh.abs()

    def eigh_inv(lib: Any, a: Any, **kw: Any) -> Any:
        w, V = lib.linalg.eigh(a + a.mT, **kw)
        return w, V.abs(), (V * w.unsqueeze(-2)) @ V.mT

    return {"svd": svd_inv, "eigh": eigh_inv}[name]


def _decompositions() -> list[OpSpec]:
    rows = []
    for mode in ("reduced", "complete", "r"):
        rows.append(OpSpec(f"linalg.qr.{mode}", la("qr", mode=mode), rect(), FLOAT, tol=20))
    svd_fn = _qr_svd_eigh_out("svd")
    rows += [
        OpSpec("linalg.svd", svd_fn, rect(), FLOAT, tol=50),
        OpSpec("linalg.svd.reduced", lambda lib, a: svd_fn(lib, a, full_matrices=False), rect(), FLOAT, tol=50),
        OpSpec("linalg.svdvals", la("svdvals"), rect(), FLOAT, tol=20),
        OpSpec("linalg.eigh", _qr_svd_eigh_out("eigh"), square(4), FLOAT, tol=50),
        OpSpec("linalg.eigh.U", lambda lib, a: _qr_svd_eigh_out("eigh")(lib, a.triu(), UPLO="U"),
               listed(S("mat", (In((4, 4)),))), FLOAT, tol=50),
        OpSpec("linalg.eigh.lower_only", lambda lib, a: lib.linalg.eigh(a).eigenvalues, square(4), FLOAT, tol=50),
        OpSpec("linalg.eigvalsh", lambda lib, a: lib.linalg.eigvalsh(a + a.mT), square(4), FLOAT, tol=20),
        OpSpec("linalg.eigh.errors", lambda lib, a, **k: lib.linalg.eigh(a, **k), listed(
            S("uplo", (In((3, 3)),), {"UPLO": "X"}), S("nonsquare", (In((3, 2)),)), S("int", (In((3, 3), dtype=I64),))),
               (F32,)),
        OpSpec("linalg.qr.errors", lambda lib, a, **k: lib.linalg.qr(a, **k), listed(
            S("mode", (In((3, 2)),), {"mode": "x"}), S("vector", (In((3,)),)), S("int", (In((3, 3), dtype=I64),))),
               (F32,)),
        OpSpec("linalg.svd.errors", la("svd"), listed(S("vector", (In((3,)),)), S("int", (In((3, 3), dtype=I64),))),
               (F32,)),
        OpSpec("svd.top", lambda lib, a, **k: (lambda r: (r.S, (r.U * r.S.unsqueeze(-2)) @ r.V.mT, r.V.abs()))(
            lib.svd(a, **k)), listed(S("tall", (In((5, 3)),)), S("square", (In((3, 3)),))), FLOAT, tol=50),
        OpSpec("svd.top.no_uv", lambda lib, a: lib.svd(a, compute_uv=False), listed(S("tall", (In((5, 3)),))), FLOAT,
               tol=20),
        OpSpec("qr.top", lambda lib, a, **k: lib.qr(a, **k), listed(S("tall", (In((5, 3)),)),
                                                                     S("complete", (In((3, 3)),), {"some": False})),
               FLOAT, tol=20),
        OpSpec("linalg.householder_product", lambda lib, a, t: lib.linalg.householder_product(a, t), listed(
            S("tall", (In((5, 3)), In((3,)))), S("fewer_tau", (In((4, 3)), In((2,)))),
            S("batch", (In((2, 4, 4)), In((2, 4)))), S("T", (In((4, 3), layout="T"), In((2,)))),
            S("no_tau", (In((3, 2)), In((0,)))), S("wide", (In((2, 3)), In((1,)))),
            S("too_many_tau", (In((3, 2)), In((3,)))), S("batch_mismatch", (In((2, 3, 2)), In((3, 1)))),
            S("tau_dtype", (In((3, 2)), In((1,), dtype=I64)))), FLOAT, tol=10),
        OpSpec("geqrf", lambda lib, a: tuple(t.detach() for t in lib.geqrf(a)), rect(), FLOAT, tol=20),
        OpSpec("geqrf.roundtrip", lambda lib, a: lib.linalg.householder_product(*(t.detach() for t in lib.geqrf(a))),
               listed(S("tall", (In((5, 3)),)), S("square", (In((4, 4)),))), FLOAT, tol=20),
        OpSpec("orgqr", lambda lib, a, t: lib.orgqr(a, t), listed(S("tall", (In((5, 3)), In((3,))))), FLOAT, tol=10),
        OpSpec("qr.method", lambda lib, a: a.qr(), listed(S("tall", (In((5, 3)),))), (F64,), tol=20),
    ]
    return rows


VECTOR_ORDS = (2, 1, float("inf"), float("-inf"), 0, 3, 0.5, -1)


def _norms() -> list[OpSpec]:
    rows = []
    for ord_ in VECTOR_ORDS:
        rows.append(OpSpec(f"linalg.vector_norm.{ord_}", la("vector_norm", ord=ord_), listed(
            S("all", (In((3, 4)),)), S("dim", (In((3, 4)),), {"dim": 1}), S("dims_keep", (In((2, 3, 4)),),
                                                                           {"dim": (0, 2), "keepdim": True}),
            S("zeros", (In((2, 5), kind="zeros_some"),), {"dim": -1}), S("0d", (In(()),)),
            S("T", (In((3, 4), layout="T"),), {"dim": 0}), S("ties", (In((4, 4), kind="ties"),), {"dim": 0})),
            FLOAT, tol=5))
    rows += [
        OpSpec("linalg.vector_norm.zero_vector", lambda lib, a: lib.linalg.vector_norm(a * 0, dim=-1),
               listed(S("mat", (In((2, 3)),))), FLOAT),
        OpSpec("linalg.vector_norm.dtype", lambda lib, a: lib.linalg.vector_norm(a, dtype=lib.float64),
               listed(S("vec", (In((5,)),))), (F32,)),
        OpSpec("linalg.vector_norm.empty", lambda lib, a, **k: lib.linalg.vector_norm(a, **k), listed(
            S("two", (In((0, 3)),)), S("inf", (In((0, 3)),), {"ord": float("inf")}),
            S("inf_dim", (In((0, 3)),), {"ord": float("inf"), "dim": 0}),
            S("inf_other_dim", (In((0, 3)),), {"ord": float("inf"), "dim": 1})), FLOAT),
        OpSpec("linalg.vector_norm.errors", lambda lib, a, **k: lib.linalg.vector_norm(a, **k), listed(
            S("int", (In((3,), dtype=I64),)), S("str_ord", (In((3,)),), {"ord": "fro"}),
            S("narrowing", (In((3,)),), {"dtype": "dtype:float32"}), S("int_dtype", (In((3,)),), {"dtype": "dtype:int64"})),
               (F64,)),
    ]
    for ord_ in ("fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")):
        rows.append(OpSpec(f"linalg.matrix_norm.{ord_}", la("matrix_norm", ord=ord_), listed(
            S("mat", (In((3, 4)),)), S("batch", (In((2, 4, 3)),)), S("dims", (In((3, 2, 4)),), {"dim": (2, 0)}),
            S("keepdim", (In((2, 3, 3)),), {"keepdim": True}), S("keepdim_dims", (In((3, 2, 4)),),
                                                                  {"dim": (0, 2), "keepdim": True}),
            S("T", (In((3, 4), layout="T"),)), S("empty", (In((0, 3)),))), FLOAT, tol=20))
    rows += [
        OpSpec("linalg.matrix_norm.errors", lambda lib, a, **k: lib.linalg.matrix_norm(a, **k), listed(
            S("ord", (In((3, 3)),), {"ord": 3}), S("vector", (In((3,)),)), S("same_dims", (In((3, 3)),), {"dim": (0, 0)}),
            S("three_dims", (In((3, 3, 3)),), {"dim": (0, 1, 2)}), S("int", (In((3, 3), dtype=I64),))), (F32,)),
        OpSpec("linalg.norm", lambda lib, a, *r, **k: lib.linalg.norm(a, *r, **k), listed(
            S("default", (In((2, 3, 4)),)), S("vector_ord", (In((5,)), 3)), S("matrix_ord", (In((3, 4)), "nuc")),
            S("matrix_inf", (In((3, 4)), float("inf"))), S("dim_int", (In((3, 4)),), {"dim": 1}),
            S("dim_pair", (In((2, 3, 4)),), {"dim": (1, 2), "ord": 1}),
            S("keepdim", (In((3, 4)),), {"keepdim": True}),
            S("ord_3d", (In((2, 2, 2)), 2)), S("str_vector", (In((3,)), "fro")),
            S("str_dim", (In((3, 3)), "fro"), {"dim": 0})), FLOAT, tol=20),
        # PyTorch's backward of cond in a norm other than 2 raises (its inv_ex output is modified in
        # place), so those samples compare values only (detached inputs)
        OpSpec("linalg.cond", lambda lib, a, *r: lib.linalg.cond(wc(lib, a if r in ((), (-2,)) else a.detach()), *r),
               listed(
            S("default", (In((3, 3)),)), S("batch", (In((2, 3, 3)),)), S("fro", (In((3, 3)), "fro")),
            S("nuc", (In((3, 3)), "nuc")), S("one", (In((3, 3)), 1)), S("inf", (In((3, 3)), float("inf"))),
            S("minus_two", (In((3, 3)), -2)), S("minus_one", (In((3, 3)), -1))), FLOAT, tol=50),
        OpSpec("linalg.cond.rect", lambda lib, a, *r: lib.linalg.cond(a, *r), listed(
            S("default", (In((3, 5)),)), S("one", (In((2, 3)), 1)), S("bad", (In((3, 3)), 3)),
            S("int", (In((3, 3), dtype=I64),))), FLOAT, tol=50),
        OpSpec("linalg.cond.singular", lambda lib, a, *r: lib.linalg.cond(a.detach() * 0, *r),
               listed(S("one", (In((3, 3)), 1)), S("fro", (In((3, 3)), "fro"))), (F64,)),
        OpSpec("linalg.matrix_rank", lambda lib, a, **k: lib.linalg.matrix_rank(a[..., :2] @ a[..., :2].mT, **k),
               listed(S("rank2", (In((4, 4)),)), S("batch", (In((2, 4, 3)),)), S("hermitian", (In((4, 4)),),
                                                                                 {"hermitian": True}),
                      S("atol", (In((4, 4)),), {"atol": 1e-3}), S("rtol", (In((4, 4)),), {"rtol": 0.5}),
                      S("tol", (In((4, 4)),), {"tol": 0.5})), FLOAT),
        OpSpec("linalg.matrix_rank.full", lambda lib, a: lib.linalg.matrix_rank(a), rect(), FLOAT),
    ]
    return rows


def _pinv_lstsq() -> list[OpSpec]:
    return [
        OpSpec("linalg.pinv", la("pinv"), rect(), FLOAT, tol=50),
        OpSpec("linalg.pinv.hermitian", lambda lib, a: lib.linalg.pinv(spd(lib, a), hermitian=True), square(),
               FLOAT, tol=50),
        OpSpec("linalg.pinv.rank_deficient", lambda lib, a: lib.linalg.pinv(a[..., :2] @ a[..., :2].mT, rtol=1e-4),
               listed(S("mat", (In((4, 4)),))), (F64,), tol=50),
        OpSpec("linalg.pinv.errors", la("pinv"), listed(S("int", (In((3, 3), dtype=I64),)),
                                                        S("vector", (In((3,)),))), (F32,)),
        OpSpec("pinverse", lambda lib, a: lib.pinverse(a), rect(), FLOAT, tol=50),
        OpSpec("linalg.lstsq", lambda lib, a, b, **k: lib.linalg.lstsq(a, b, **k), listed(
            S("tall", (In((5, 3)), In((5, 2)))), S("vector", (In((5, 3)), In((5,)))),
            S("wide", (In((3, 5)), In((3, 2)))), S("batch", (In((2, 4, 3)), In((2, 4, 2)))),
            S("gelsd", (In((5, 3)), In((5, 2))), {"driver": "gelsd"}),
            S("gelss_wide", (In((3, 5)), In((3, 2))), {"driver": "gelss"}),
            S("gels", (In((5, 3)), In((5, 2))), {"driver": "gels"}),
            S("bad_driver", (In((5, 3)), In((5, 2))), {"driver": "x"}),
            S("shapes", (In((5, 3)), In((4, 2)))), S("dtypes", (In((5, 3)), In((5, 2), dtype=I64)))),
               FLOAT, tol=50),
    ]


def _misc() -> list[OpSpec]:
    rows = []
    for n in (0, 1, 2, 3, 5, -2):
        pre = wc if n < 0 else (lambda lib, a: a * 0.5)
        rows.append(OpSpec(f"linalg.matrix_power.{n}", la("matrix_power", pre, n=n), square(), FLOAT, tol=10))
    rows += [
        OpSpec("linalg.matrix_power.int", lambda lib, a, n: lib.linalg.matrix_power(a, n),
               listed(S("cube", (In((3, 3), dtype=I64), 3)), S("zero", (In((3, 3), dtype=I64), 0)),
                      S("negative", (In((3, 3), dtype=I64), -1)), S("float_n", (In((3, 3)), 2.0)),
                      S("nonsquare", (In((2, 3)), 2))), (F32,)),
        OpSpec("matrix_power", lambda lib, a: lib.matrix_power(a, 4), square(), FLOAT, tol=10),
        OpSpec("matrix_power.method", lambda lib, a: a.matrix_power(2), square(), (F64,), tol=10),
        OpSpec("linalg.matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a * 0.3), square(), FLOAT, tol=20),
        OpSpec("linalg.matrix_exp.large", lambda lib, a: lib.linalg.matrix_exp(a * 3), listed(
            S("mat", (In((3, 3)),)), S("batch", (In((2, 4, 4)),)), S("1x1", (In((2, 1, 1)),))), FLOAT, tol=100),
        OpSpec("linalg.low_precision", lambda lib, a, name, *r: getattr(lib.linalg, name)(a, *r), listed(*(
            S(sample, (In((3, 3), dtype="float16"), name, *rest)) for sample, name, *rest in (
                ("det", "det"), ("solve", "solve", In((3, 3), dtype="float16")), ("norm2", "matrix_norm", 2),
                ("cond", "cond"), ("cond1", "cond", 1), ("qr", "qr"), ("svd", "svd"), ("eigvalsh", "eigvalsh"),
                ("pinv", "pinv"), ("inv_ex", "inv_ex"), ("cholesky_ex", "cholesky_ex"),
                ("matrix_rank", "matrix_rank")))), (F32,)),
        # float16 is accepted; PyTorch's own float16 values are wrong (e.g. -21072 on the diagonal of
        # exp(0.1 A)), so only dtype and shape are compared
        OpSpec("linalg.matrix_exp.half", lambda lib, a: lib.linalg.matrix_exp(a * 0.1),
               listed(S("mat", (In((3, 3), dtype="float16"),))), (F32,), random=True),
        OpSpec("linalg.matrix_exp.errors", la("matrix_exp"), listed(S("int", (In((3, 3), dtype=I64),)),
                                                                    S("nonsquare", (In((2, 3)),))), (F32,)),
        OpSpec("matrix_exp", lambda lib, a: lib.matrix_exp(a), square(), FLOAT, tol=20),
        OpSpec("matrix_exp.method", lambda lib, a: a.matrix_exp(), square(), (F64,), tol=20),
        OpSpec("linalg.cross", lambda lib, a, b, **k: lib.linalg.cross(a, b, **k), listed(
            S("vec", (In((3,)), In((3,)))), S("batch", (In((4, 3)), In((4, 3)))),
            S("broadcast", (In((1, 3)), In((4, 3)))), S("dim0", (In((3, 2)), In((3, 2))), {"dim": 0}),
            S("T", (In((3, 4), layout="T"), In((4, 3)))), S("bad_len", (In((2, 2)), In((2, 2)))),
            S("ndim", (In((2, 3)), In((3,))))), FLOAT + (I64,)),
        OpSpec("linalg.multi_dot", lambda lib, *ts: lib.linalg.multi_dot(list(ts)), listed(
            S("mats", (In((2, 3)), In((3, 4)), In((4, 2)))), S("vec_ends", (In((3,)), In((3, 4)), In((4, 2)), In((2,)))),
            S("two", (In((2, 3)), In((3, 2)))), S("vecs", (In((3,)), In((3,)))),
            S("one", (In((2, 2)),)), S("mismatch", (In((2, 2)), In((3, 3)))), S("batched", (In((2, 2, 2)), In((2, 2)))),
            S("mid_vector", (In((2, 2)), In((2,)), In((2, 2))))), FLOAT, tol=5),
        OpSpec("linalg.vecdot", lambda lib, a, b, **k: lib.linalg.vecdot(a, b, **k), listed(
            S("vec", (In((4,)), In((4,)))), S("broadcast", (In((3, 4)), In((4,)))),
            S("dim0", (In((4, 3)), In((4, 3))), {"dim": 0}), S("int", (In((3,), dtype=I64), In((3,), dtype=I64))),
            S("dtypes", (In((3,)), In((3,), dtype=I64)))), FLOAT, tol=5),
        OpSpec("linalg.vander", lambda lib, x, **k: lib.linalg.vander(x, **k), listed(
            S("vec", (In((4,)),)), S("N", (In((2, 3)),), {"N": 5}), S("int", (In((3,), dtype=I64),)),
            S("bool", (In((3,), dtype="bool"),)), S("N1", (In((3,)),), {"N": 1}), S("0d", (In(()),))), FLOAT, tol=5),
        OpSpec("linalg.tensorinv", lambda lib, a, **k: lib.linalg.tensorinv(wc(lib, a).reshape(*k.pop("shape")), **k),
               listed(S("ind1", (In((4, 4)),), {"shape": (4, 2, 2), "ind": 1}),
                      S("ind2", (In((6, 6)),), {"shape": (2, 3, 6)}), S("bad", (In((6, 6)),), {"shape": (6, 6, 1)}),
                      S("ind0", (In((4, 4)),), {"shape": (4, 4), "ind": 0})), FLOAT, tol=10),
        OpSpec("linalg.tensorsolve", lambda lib, a, b, **k: lib.linalg.tensorsolve(
            wc(lib, a).reshape(*k.pop("shape")), b, **k), listed(
            S("plain", (In((6, 6)), In((2, 3))), {"shape": (2, 3, 6)}),
            S("dims", (In((6, 6)), In((2, 3))), {"shape": (6, 2, 3), "dims": (0,)}),
            S("bad", (In((6, 6)), In((2, 3))), {"shape": (2, 3, 3, 2, 1)})), FLOAT, tol=10),
        OpSpec("linalg.diagonal", lambda lib, a, **k: lib.linalg.diagonal(a, **k), listed(
            S("mat", (In((3, 4)),)), S("offset", (In((2, 3, 4)),), {"offset": 1}),
            S("dims", (In((2, 3, 4)),), {"dim1": 0, "dim2": 2})), FLOAT),
        OpSpec("linalg.matmul", lambda lib, a, b: lib.linalg.matmul(a, b), listed(S("mat", (In((2, 3)), In((3, 4))))),
               FLOAT, tol=5),
    ]
    return rows


def rows() -> list[OpSpec]:
    return _factorizations() + _lu_rows() + _decompositions() + _norms() + _pinv_lstsq() + _misc()
