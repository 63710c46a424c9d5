"""The rest of ``torch.distributions`` against PyTorch: the transforms (StickBreaking, Cholesky,
Cat/Stack, CDF), ``biject_to``/``transform_to`` and the distributions HalfCauchy, Pareto, Weibull,
InverseGamma, Kumaraswamy, LogisticNormal, FisherSnedecor, ContinuousBernoulli, NegativeBinomial,
MixtureSameFamily, LowRankMultivariateNormal, RelaxedBernoulli, RelaxedOneHotCategorical, VonMises,
Wishart, LKJCholesky and GeneralizedPareto.

Values and gradients (log_prob, cdf/icdf, entropy, moments, log-det-Jacobians, KL) for the same
parameters on every device; sample shapes, dtypes and supports; sample moments (seeded, a few
standard errors); gradients through ``rsample``; validation errors (type and message).
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, builtin_base, check  # noqa: E402

F32, F64 = np.float32, np.float64
R = np.random.default_rng(2613)
TOL = {F32: 20.0, F64: 1.0}


def A(values, dtype=F64, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def POS(*shape, dtype=F64, lo=0.5, hi=3.0, grad=True) -> Arg:
    return Arg(np.asarray(R.uniform(lo, hi, shape)).astype(dtype), grad=grad)


def RND(*shape, dtype=F64, grad=True) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype), grad=grad)


def UNIT(*shape, dtype=F64, grad=True) -> Arg:
    return Arg(R.uniform(0.05, 0.95, shape).astype(dtype), grad=grad)


def SIMPLEX(*shape, dtype=F64, grad=True) -> Arg:
    x = R.uniform(0.2, 1.0, shape)
    return Arg((x / x.sum(-1, keepdims=True)).astype(dtype), grad=grad)


def SPD(n: int, batch: tuple = (), dtype=F64, grad=False) -> Arg:
    m = R.standard_normal(batch + (n, n))
    return Arg((m @ np.swapaxes(m, -1, -2) + n * np.eye(n)).astype(dtype), grad=grad)


def TRIL(n: int, batch: tuple = (), dtype=F64) -> Arg:
    m = np.tril(R.standard_normal(batch + (n, n)))
    idx = np.arange(n)
    m[..., idx, idx] = np.abs(m[..., idx, idx]) + 0.5
    return Arg(m.astype(dtype))


def CORR_CHOL(n: int, batch: tuple = (), dtype=F64, grad=False) -> Arg:
    """A Cholesky factor of a correlation matrix (unit rows, positive diagonal)."""
    m = R.standard_normal(batch + (n, n))
    low = np.linalg.cholesky(m @ np.swapaxes(m, -1, -2) + n * np.eye(n))
    return Arg((low / np.linalg.norm(low, axis=-1, keepdims=True)).astype(dtype), grad=grad)


def D(lib):
    return lib.distributions


def T(lib):  # noqa: N802
    return lib.distributions.transforms


def _ids(cases):
    return [c[0] for c in cases]


def _all(*names):
    """``fn(d, *values)`` returning the named properties / methods of ``d`` as a tuple."""
    def get(d, *values):
        out = []
        it = iter(values)
        for name in names:
            if name in ("log_prob", "cdf", "icdf"):
                out.append(getattr(d, name)(next(it)))
            elif name == "entropy":
                out.append(d.entropy())
            else:
                out.append(getattr(d, name))
        return tuple(out)
    return get


# ---- values and gradients of the distributions ------------------------------------------------
def _reseed(seed: int) -> None:
    """The case builders run at collection and again in each test: reseeding makes each test's
    parameters independent of which tests ran before it."""
    global R
    R = np.random.default_rng(seed)


def _cases(dt):
    _reseed(1)
    moments = ("mean", "variance", "stddev", "mode")
    return [
        ("halfcauchy", lambda L, s, x, y, u: _all("log_prob", "cdf", "icdf", "entropy", *moments)(
            D(L).HalfCauchy(s), x, y, u), (POS(3, dtype=dt), POS(3, dtype=dt), POS(3, dtype=dt), UNIT(3, dtype=dt))),
        ("halfcauchy.scalar", lambda L, x: D(L).HalfCauchy(2.0).log_prob(x), (POS(2, 3, dtype=dt),)),
        ("pareto", lambda L, s, a, x, y, u: _all("log_prob", "cdf", "icdf", "entropy", *moments)(
            D(L).Pareto(s, a), x, y, u),
         (POS(3, dtype=dt, lo=0.2, hi=0.5), A([0.7, 1.5, 3.0], dt), POS(3, dtype=dt, lo=0.6), POS(3, dtype=dt, lo=0.6),
          UNIT(3, dtype=dt))),
        ("weibull", lambda L, s, c, x, y, u: _all("log_prob", "cdf", "icdf", "entropy", *moments)(
            D(L).Weibull(s, c), x, y, u),
         (POS(3, dtype=dt), A([0.7, 1.5, 3.0], dt), POS(3, dtype=dt), POS(3, dtype=dt), UNIT(3, dtype=dt))),
        ("inversegamma", lambda L, c, r, x: _all("log_prob", "entropy", *moments)(D(L).InverseGamma(c, r), x),
         (A([0.7, 1.5, 3.0], dt), POS(3, dtype=dt), POS(2, 3, dtype=dt))),
        ("kumaraswamy", lambda L, a, b, x, y, u: _all("log_prob", "cdf", "icdf", "entropy", "mean", "variance",
                                                      "mode")(D(L).Kumaraswamy(a, b), x, y, u),
         (A([0.7, 1.5, 3.0, 2.0], dt), A([2.0, 0.5, 4.0, 1.5], dt), UNIT(4, dtype=dt), UNIT(4, dtype=dt),
          UNIT(4, dtype=dt))),
        ("logisticnormal", lambda L, m, s, x: D(L).LogisticNormal(m, s).log_prob(x),
         (RND(2, 3, dtype=dt), POS(2, 3, dtype=dt), SIMPLEX(2, 4, dtype=dt))),
        ("logisticnormal.scalar", lambda L, x: D(L).LogisticNormal(0.5, 2.0).log_prob(x), (SIMPLEX(3, 2, dtype=dt),)),
        ("fishersnedecor", lambda L, a, b, x: _all("log_prob", "mean", "variance", "mode")(
            D(L).FisherSnedecor(a, b), x), (A([1.0, 3.0, 5.0, 8.0], dt), A([1.5, 3.0, 4.5, 9.0], dt),
                                             POS(4, dtype=dt))),
        ("generalizedpareto", lambda L, m, s, c, x, u: _all("log_prob", "cdf", "icdf", "entropy", "mean", "variance",
                                                            "mode")(D(L).GeneralizedPareto(m, s, c), x, x, u),
         (A([0.0, 0.1, -0.2, 0.3], dt), POS(4, dtype=dt), A([0.0, 0.3, 0.7, -0.2], dt),
          A([0.4, 1.2, 2.5, 0.5], dt, grad=False), UNIT(4, dtype=dt))),
        ("generalizedpareto.survival", lambda L, m, s, c, x: D(L).GeneralizedPareto(m, s, c).log_survival_function(x),
         (A([0.0, 0.1], dt), POS(2, dtype=dt), A([0.0, 0.3], dt), A([0.5, 2.0], dt))),
        ("contbernoulli.probs", lambda L, p, x, u: _all("log_prob", "cdf", "icdf", "entropy", *moments)(
            D(L).ContinuousBernoulli(probs=p), x, x, u),
         (A([0.1, 0.3, 0.4995, 0.5005, 0.8], dt), UNIT(5, dtype=dt), UNIT(5, dtype=dt))),
        ("contbernoulli.logits", lambda L, lg, x: _all("log_prob", "entropy", "mean", "variance", "probs")(
            D(L).ContinuousBernoulli(logits=lg), x),
         # logits near (not at) 0 put probs just outside ``lims``, where the closed forms cancel
         # catastrophically in float32 (in PyTorch as here): kept clear of it
         (A([[-1.5, 0.8, 2.0], [0.3, -0.7, -2.5]], dt), UNIT(2, 3, dtype=dt))),
        ("contbernoulli.edges", lambda L, p, x: D(L).ContinuousBernoulli(probs=p).cdf(x),
         (A([0.3, 0.3, 0.7], dt), A([0.0, 1.0, 0.5], dt, grad=False))),
        ("negbinomial.probs", lambda L, n, p, x: _all("log_prob", "mean", "variance", "mode")(
            D(L).NegativeBinomial(n, probs=p), x),
         (A([1.0, 2.5, 5.0], dt), A([0.2, 0.5, 0.7], dt), A([[0.0, 3.0, 7.0], [2.0, 0.0, 1.0]], dt, grad=False))),
        ("negbinomial.logits", lambda L, n, lg, x: D(L).NegativeBinomial(n, logits=lg).log_prob(x),
         (POS(3, dtype=dt), RND(3, dtype=dt), A([0.0, 4.0, 1.0], dt, grad=False))),
        ("negbinomial.zero", lambda L, p, x: D(L).NegativeBinomial(0.0, probs=p).log_prob(x),
         (A([0.2, 0.5], dt), A([0.0, 0.0], dt, grad=False))),
        ("mixture.normal", lambda L, lg, m, s, x: _all("log_prob", "cdf", "mean", "variance")(
            D(L).MixtureSameFamily(D(L).Categorical(logits=lg), D(L).Normal(m, s)), x, x),
         (RND(2, 3, dtype=dt), RND(2, 3, dtype=dt), POS(2, 3, dtype=dt), RND(4, 2, dtype=dt))),
        ("mixture.independent", lambda L, p, m, s, x: _all("log_prob", "mean", "variance")(
            D(L).MixtureSameFamily(D(L).Categorical(probs=p), D(L).Independent(D(L).Normal(m, s), 1)), x),
         (POS(3, dtype=dt), RND(2, 3, 2, dtype=dt), POS(2, 3, 2, dtype=dt), RND(5, 2, 2, dtype=dt))),
        ("lowrankmvn", lambda L, m, w, dg, x: _all("log_prob", "entropy", "mean", "variance", "covariance_matrix",
                                                   "precision_matrix", "scale_tril")(
            D(L).LowRankMultivariateNormal(m, w, dg), x),
         (RND(2, 3, dtype=dt), RND(3, 2, dtype=dt), POS(3, dtype=dt), RND(4, 2, 3, dtype=dt))),
        ("relaxedbernoulli", lambda L, t, p, x: D(L).RelaxedBernoulli(t, probs=p).log_prob(x),
         (POS(dtype=dt), UNIT(3, dtype=dt), UNIT(2, 3, dtype=dt))),
        ("relaxedbernoulli.logits", lambda L, t, lg, x: D(L).RelaxedBernoulli(t, logits=lg).log_prob(x),
         (POS(dtype=dt), RND(3, dtype=dt), UNIT(3, dtype=dt))),
        ("relaxedonehot", lambda L, t, p, x: D(L).RelaxedOneHotCategorical(t, probs=p).log_prob(x),
         (POS(dtype=dt), SIMPLEX(2, 4, dtype=dt), SIMPLEX(3, 2, 4, dtype=dt))),
        ("relaxedonehot.logits", lambda L, t, lg, x: D(L).RelaxedOneHotCategorical(t, logits=lg).log_prob(x),
         (POS(dtype=dt), RND(3, dtype=dt), SIMPLEX(3, dtype=dt))),
        ("vonmises", lambda L, m, k, x: _all("log_prob", "mean", "mode", "variance")(D(L).VonMises(m, k), x),
         (RND(5, dtype=dt), A([0.1, 1.0, 3.0, 3.75, 20.0], dt), RND(2, 5, dtype=dt))),
        ("wishart.tril", lambda L, df, lt, x: _all("log_prob", "entropy", "mean", "variance", "mode")(
            D(L).Wishart(df, scale_tril=lt), x), (A([4.0, 2.5], dt), TRIL(3, (2,), dtype=dt), SPD(3, dtype=dt))),
        ("wishart.cov", lambda L, c, x: _all("log_prob", "entropy", "scale_tril", "precision_matrix")(
            D(L).Wishart(5.0, covariance_matrix=c), x), (SPD(2, dtype=dt, grad=True), SPD(2, (3,), dtype=dt))),
        ("wishart.precision", lambda L, c, x: _all("log_prob", "covariance_matrix")(
            D(L).Wishart(3.0, precision_matrix=c), x), (SPD(2, dtype=dt, grad=True), SPD(2, dtype=dt))),
        ("lkjcholesky", lambda L, c, x: D(L).LKJCholesky(3, c).log_prob(x),
         (A([0.5, 1.0, 2.5], dt), CORR_CHOL(3, (3,), dtype=dt))),
        ("lkjcholesky.dim2", lambda L, x: D(L).LKJCholesky(2, 1.5).log_prob(x), (CORR_CHOL(2, (2,), dtype=dt),)),
    ]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_cases(F64))), ids=_ids(_cases(F64)))
def test_values_and_grads(device, dt, idx):
    name, fn, args = _cases(dt)[idx]
    if name.startswith("generalizedpareto") and dt is F64:
        pytest.skip("PyTorch's GeneralizedPareto raises in float64 (isclose against a float32 zero); ember does not")
    if name in ("logisticnormal.scalar", "lkjcholesky.dim2") and device != "cpu":
        pytest.skip("number parameters become 1-d CPU tensors: a device mismatch with device values, as in PyTorch")
    check(fn, args, {}, device, tol=TOL[dt] * 10)


# ---- transforms and the constraint registry ---------------------------------------------------
def _fwd_inv_ladj(make):
    """``(y, inv(y), ladj(x, y))`` of the transform ``make(L)`` at ``x``."""
    def fn(L, x):
        t = make(L)
        y = t(x)
        return y, t.inv(y), t.log_abs_det_jacobian(x, y)
    return fn


def _transform_cases(dt):
    _reseed(2)
    def cat(L):
        return T(L).CatTransform([T(L).ExpTransform(), T(L).identity_transform, T(L).SigmoidTransform()], dim=-1,
                                 lengths=[2, 1, 1])

    def cdf(L):
        return T(L).CumulativeDistributionTransform(D(L).Normal(0.5, 2.0))

    return [
        ("stickbreaking", _fwd_inv_ladj(lambda L: T(L).StickBreakingTransform()), (RND(2, 3, dtype=dt),)),
        ("stickbreaking.inv", lambda L, y: (T(L).StickBreakingTransform().inv(y),), (SIMPLEX(2, 4, dtype=dt),)),
        ("lowercholesky", lambda L, x: (lambda t: (t(x), t.inv(t(x))))(T(L).LowerCholeskyTransform()),
         (RND(2, 3, 3, dtype=dt),)),
        ("positivedefinite", lambda L, x: (lambda t: (t(x), t.inv(t(x))))(T(L).PositiveDefiniteTransform()),
         (RND(3, 3, dtype=dt),)),
        ("corrcholesky", _fwd_inv_ladj(lambda L: T(L).CorrCholeskyTransform()), (RND(2, 6, dtype=dt),)),
        ("corrcholesky.2x2", _fwd_inv_ladj(lambda L: T(L).CorrCholeskyTransform()), (RND(4, 1, dtype=dt),)),
        ("cat", _fwd_inv_ladj(cat), (RND(3, 4, dtype=dt),)),
        ("cat.batchdim", _fwd_inv_ladj(lambda L: T(L).CatTransform([T(L).ExpTransform(), T(L).AffineTransform(
            1.0, 2.0)], dim=0, lengths=[1, 2])), (RND(3, 2, dtype=dt),)),
        ("cat.eventdim", _fwd_inv_ladj(lambda L: T(L).CatTransform([T(L).StickBreakingTransform(),
                                                                   T(L).StickBreakingTransform()], dim=0,
                                                                  lengths=[2, 2])), (RND(4, 3, dtype=dt),)),
        ("stack", _fwd_inv_ladj(lambda L: T(L).StackTransform([T(L).ExpTransform(), T(L).TanhTransform(),
                                                               T(L).identity_transform], dim=1)),
         (RND(2, 3, 4, dtype=dt),)),
        ("cdf", _fwd_inv_ladj(cdf), (RND(5, dtype=dt),)),
        ("cdf.td", lambda L, x: D(L).TransformedDistribution(D(L).Normal(0.5, 2.0), [cdf(L)]).log_prob(x),
         (UNIT(4, dtype=dt),)),
        ("logistic_normal_via_td", lambda L, m, s, x: D(L).TransformedDistribution(
            D(L).Independent(D(L).Normal(m, s), 1), T(L).StickBreakingTransform()).log_prob(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), SIMPLEX(2, 4, dtype=dt))),
    ]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_transform_cases(F64))), ids=_ids(_transform_cases(F64)))
def test_transform_values_and_grads(device, dt, idx):
    _, fn, args = _transform_cases(dt)[idx]
    check(fn, args, {}, device, tol=TOL[dt] * 10)


def _registry_constraints(C):  # noqa: N803
    return [C.real, C.positive, C.nonnegative, C.greater_than(1.5), C.greater_than_eq(-1.0), C.less_than(2.0),
            C.unit_interval, C.interval(-2.0, 3.0), C.half_open_interval(0.0, 4.0), C.simplex, C.corr_cholesky,
            C.independent(C.positive, 1), C.lower_cholesky, C.positive_definite, C.positive_semidefinite,
            C.cat([C.positive, C.real], 0, [1, 2]), C.stack([C.positive, C.unit_interval, C.real], 0)]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("idx", range(17))
def test_constraint_registry(device, registry, idx):
    """Which transform each constraint maps to, its values, inverse and log-det-Jacobian, and that
    the result satisfies the constraint."""
    def fn(L, x):
        c = _registry_constraints(L.distributions.constraints)[idx]
        t = getattr(L.distributions, registry)(c)
        shape = {10: (3, 6), 12: (3, 3, 3), 13: (3, 3, 3), 14: (3, 3, 3), 16: (3, 4)}.get(idx, (3, 4))
        x = x[: math.prod(shape)].reshape(shape) if idx != 15 else x[:6].reshape(3, 2)
        y = t(x)
        ok = c.check(y) if idx not in (13, 14) else y.new_ones(1).bool()
        ladj = t.log_abs_det_jacobian(x, y) if t.bijective else None
        return (type(t).__name__, y, ok, ladj) if ladj is not None else (type(t).__name__, y, ok)
    x = np.random.default_rng(idx).standard_normal(27)
    t_err = ember_err = None
    try:
        t_out = fn(torch, torch.from_numpy(x))
    except NotImplementedError as exc:
        t_err = exc
    try:
        fn(ember, ember.zeros(27, device=device))
    except NotImplementedError as exc:
        ember_err = exc
    if t_err is not None or ember_err is not None:
        assert t_err is not None and ember_err is not None and str(t_err) == str(ember_err), (t_err, ember_err)
        return
    assert t_out[0]
    check(fn, (Arg(x),), {}, device, tol=10.0)


def test_transform_structure(device):
    """Domains, codomains, signs, event dims, equality, caching, shape maps, errors: as PyTorch."""
    for lib in (torch, ember):
        Tm = T(lib)  # noqa: N806
        C = lib.distributions.constraints  # noqa: N806
        sb = Tm.StickBreakingTransform()
        assert sb == Tm.StickBreakingTransform() and sb != Tm.SoftmaxTransform() and sb.bijective
        assert (sb.domain.event_dim, sb.codomain.event_dim) == (1, 1)
        assert tuple(sb.forward_shape((2, 3))) == (2, 4) and tuple(sb.inverse_shape((2, 4))) == (2, 3)
        cc = Tm.CorrCholeskyTransform()
        assert tuple(cc.forward_shape((5, 6))) == (5, 4, 4) and tuple(cc.inverse_shape((4, 4))) == (6,)
        with pytest.raises(ValueError, match="Input is not a flattened lower-diagonal number"):
            cc.forward_shape((5,))
        with pytest.raises(ValueError, match="Input is not square"):
            cc.inverse_shape((3, 4))
        lc = Tm.LowerCholeskyTransform()
        assert lc.codomain is C.lower_cholesky and lc.domain.event_dim == 2 and not lc.bijective
        assert Tm.PositiveDefiniteTransform().codomain is C.positive_definite
        cat = Tm.CatTransform([Tm.ExpTransform(), Tm.StickBreakingTransform()], dim=-1, lengths=[1, 2])
        assert cat.event_dim == 1 and cat.length == 3 and cat.bijective is not False
        assert repr(cat.domain).startswith("_Cat") or type(cat.domain).__name__ == "_Cat"
        with pytest.raises(AssertionError, match="must equal length 3"):
            cat(lib.zeros(2, 4))
        with pytest.raises(AssertionError, match="All elements of tseq must be Transform instances"):
            Tm.CatTransform([1])
        with pytest.raises(AssertionError, match=r"lengths \(1\) must match transforms \(2\)"):
            Tm.CatTransform([Tm.ExpTransform(), Tm.ExpTransform()], lengths=[1])
        st = Tm.StackTransform([Tm.ExpTransform(), Tm.SigmoidTransform()], dim=0)
        assert type(st.codomain).__name__ == "_Stack" and st.bijective
        with pytest.raises(AssertionError, match=r"must equal len\(transforms\) 2"):
            st(lib.zeros(3))
        cached = st.with_cache(1)
        x = lib.zeros(2)
        assert cached.inv(cached(x)) is x
        cdf = Tm.CumulativeDistributionTransform(D(lib).Normal(0.0, 1.0))
        assert cdf.sign == 1 and cdf.domain is C.real and cdf.codomain is C.unit_interval
        assert cdf.with_cache(1)._cache_size == 1
        with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
            lib.distributions.biject_to(C.boolean)
        with pytest.raises(NotImplementedError, match="Cannot transform _LowerCholesky constraints"):
            lib.distributions.biject_to(C.lower_cholesky)
        with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
            lib.distributions.constraint_registry.ConstraintRegistry().register(3, lambda c: None)
        reg = lib.distributions.constraint_registry.ConstraintRegistry()
        exp = Tm.ExpTransform()
        reg.register(C.positive)(lambda c, exp=exp: exp)
        assert reg(C.positive) is exp
        assert lib.distributions.biject_to(C.unit_interval) == Tm.SigmoidTransform()
        interval = lib.distributions.transform_to(C.interval(1.0, 3.0))
        assert interval.parts[0] == Tm.SigmoidTransform() and interval.parts[1] == Tm.AffineTransform(1.0, 2.0)


# ---- samples: shapes, dtypes, supports --------------------------------------------------------
def _dists(lib, dev, dt):
    t = lambda v: lib.tensor(v, dtype=getattr(lib, dt), device=dev)  # noqa: E731
    eye = lib.eye(2, dtype=getattr(lib, dt), device=dev)
    return {
        "HalfCauchy": D(lib).HalfCauchy(t([1.0, 2.0])),
        "Pareto": D(lib).Pareto(t([1.0, 0.5]), t([5.0, 6.0])),
        "Weibull": D(lib).Weibull(t([1.0, 2.0]), t([0.8, 3.0])),
        "InverseGamma": D(lib).InverseGamma(t([5.0, 8.0]), t([2.0, 1.0])),
        "Kumaraswamy": D(lib).Kumaraswamy(t([0.5, 2.0]), t([2.0, 3.0])),
        "LogisticNormal": D(lib).LogisticNormal(t([0.0, 1.0]), t([1.0, 0.5])),
        "FisherSnedecor": D(lib).FisherSnedecor(t([5.0, 10.0]), t([12.0, 20.0])),
        "ContinuousBernoulli": D(lib).ContinuousBernoulli(probs=t([0.2, 0.5, 0.9])),
        "NegativeBinomial": D(lib).NegativeBinomial(t([3.0, 10.0]), probs=t([0.3, 0.6])),
        "MixtureSameFamily": D(lib).MixtureSameFamily(D(lib).Categorical(probs=t([[0.3, 0.7], [0.5, 0.5]])),
                                                      D(lib).Normal(t([[-1.0, 2.0], [0.0, 1.0]]),
                                                                    t([[0.5, 1.0], [1.0, 2.0]]))),
        "LowRankMultivariateNormal": D(lib).LowRankMultivariateNormal(t([0.0, 1.0]), t([[1.0], [0.5]]),
                                                                      t([0.5, 1.0])),
        "RelaxedBernoulli": D(lib).RelaxedBernoulli(t(0.5), probs=t([0.2, 0.7])),
        "RelaxedOneHotCategorical": D(lib).RelaxedOneHotCategorical(t(0.5), probs=t([[0.2, 0.3, 0.5]])),
        "VonMises": D(lib).VonMises(t([0.0, 2.0, -3.0]), t([0.5, 4.0, 50.0])),
        "Wishart": D(lib).Wishart(t([4.0, 6.0]), covariance_matrix=eye + 0.5 * eye.flip(0)),
        "LKJCholesky": D(lib).LKJCholesky(3, t([0.5, 2.0])),
        "GeneralizedPareto": D(lib).GeneralizedPareto(t([0.0, 1.0]), t([1.0, 2.0]), t([0.1, -0.3])),
    }


NAMES = list(_dists(torch, "cpu", "float32"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_sample_shapes_and_dtypes(device, name, dt):
    td, ed = _dists(torch, "cpu", dt)[name], _dists(ember, device, dt)[name]
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) and tuple(ed.event_shape) == tuple(td.event_shape)
    assert ed.has_rsample == td.has_rsample
    ember.manual_seed(3)
    for shape in [(), (5,), (2, 3)]:
        ts, es = td.sample(shape), ed.sample(shape)
        assert tuple(es.shape) == tuple(ts.shape), (name, shape)
        assert str(es.dtype).split(".")[-1] == str(ts.dtype).split(".")[-1], (name, es.dtype, ts.dtype)
        assert es.device.type == device and not es.requires_grad
        assert bool(ed.support.check(es).all()), name
    if td.has_rsample:
        assert tuple(ed.rsample((4,)).shape) == tuple(td.rsample((4,)).shape)


@pytest.mark.parametrize("name", NAMES)
def test_expand_and_log_prob_at_torch_samples(device, name):
    """``expand`` gives PyTorch's shapes; log_prob (and entropy where PyTorch has one) of the
    expanded distribution agree with PyTorch's at PyTorch's own draws."""
    # PyTorch's GeneralizedPareto raises in float64 (isclose against a float32 zero)
    dt, rtol = ("float32", 1e-5) if name == "GeneralizedPareto" else ("float64", 1e-6)
    td, ed = _dists(torch, "cpu", dt)[name], _dists(ember, device, dt)[name]
    shape = (3,) + tuple(td.batch_shape)
    td, ed = td.expand(shape), ed.expand(shape)
    assert type(ed).__name__ == type(td).__name__
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) and tuple(ed.event_shape) == tuple(td.event_shape)
    torch.manual_seed(0)
    x = td.sample((2,))
    expected = td.log_prob(x).numpy()
    got = ed.log_prob(ember.tensor(x.numpy(), device=device)).cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-9, err_msg=name)
    try:
        t_entropy = td.entropy().numpy()
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ed.entropy()
        return
    np.testing.assert_allclose(ed.entropy().cpu().numpy(), t_entropy, rtol=rtol, atol=1e-9, err_msg=name)


# ---- samples: statistics ----------------------------------------------------------------------
N = 20000


def _torch_stats(td, name):
    """The mean and variance to compare with, from PyTorch (its own draws where it has no closed
    form)."""
    if name in ("LogisticNormal", "RelaxedBernoulli", "RelaxedOneHotCategorical", "LKJCholesky"):
        torch.manual_seed(0)
        x = td.sample((4 * N,)).double().numpy()
        return x.mean(0), x.var(0), True
    return td.mean.numpy(), td.variance.numpy(), False


@pytest.mark.parametrize("name", NAMES)
def test_sample_statistics(device, name):
    ember.manual_seed(1234)
    td, ed = _dists(torch, "cpu", "float64")[name], _dists(ember, device, "float64")[name]
    x = ed.sample((N,)).double().cpu().numpy()
    if name == "HalfCauchy":  # no moments: the quartiles are scale * tan(pi/8), scale, scale * tan(3pi/8)
        scale = td.scale.numpy()
        for q in (0.25, 0.5, 0.75):
            np.testing.assert_allclose((x <= scale * math.tan(math.pi * q / 2)).mean(0), q,
                                       atol=5 * math.sqrt(q * (1 - q) / N))
        return
    if name == "VonMises":  # circular mean direction and resultant length 1 - variance
        c, s = np.cos(x).mean(0), np.sin(x).mean(0)
        np.testing.assert_allclose(np.arctan2(s, c), td.loc.numpy(), atol=0.1)
        np.testing.assert_allclose(1 - np.hypot(c, s), td.variance.numpy(), atol=0.02)
        return
    mean, var, sampled = _torch_stats(td, name)
    n_ref = 4 * N if sampled else None
    se_mean = np.sqrt(var / N + (var / n_ref if n_ref else 0))
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * se_mean.max() + 1e-12, err_msg=name)
    centred = x - x.mean(0)
    se_var = np.sqrt(np.maximum(((centred**2 - var) ** 2).mean(0), 1e-30) / N)
    np.testing.assert_allclose(centred.var(0), var, atol=8 * se_var.max() + 1e-12, err_msg=name)


# ---- gradients through rsample ----------------------------------------------------------------
RSAMPLE = [
    # (name, make(lib, params...), params, d E[f(X)] / d params from PyTorch's closed-form mean)
    ("Weibull", lambda L, s, c: D(L).Weibull(s, c), ([1.5, 0.7], [2.0, 3.0])),
    ("Pareto", lambda L, s, a: D(L).Pareto(s, a), ([1.0, 2.0], [4.0, 6.0])),
    ("InverseGamma", lambda L, c, r: D(L).InverseGamma(c, r), ([6.0, 9.0], [2.0, 1.0])),
    ("Kumaraswamy", lambda L, a, b: D(L).Kumaraswamy(a, b), ([0.8, 2.0], [2.0, 3.0])),
    ("FisherSnedecor", lambda L, a, b: D(L).FisherSnedecor(a, b), ([5.0, 10.0], [12.0, 20.0])),
    ("GeneralizedPareto", lambda L, m, s: D(L).GeneralizedPareto(m, s, 0.1), ([0.0, 1.0], [1.0, 2.0])),
    ("ContinuousBernoulli", lambda L, p: D(L).ContinuousBernoulli(probs=p), ([0.2, 0.8],)),
    ("LowRankMultivariateNormal", lambda L, m, w: D(L).LowRankMultivariateNormal(m, w.unsqueeze(-1), L.ones_like(m)),
     ([0.0, 1.0], [1.0, 0.5])),
    ("Wishart", lambda L, df, lt: D(L).Wishart(df, scale_tril=lt), ([5.0], [[1.0, 0.0], [0.3, 1.2]])),
]


@pytest.mark.parametrize("idx", range(len(RSAMPLE)), ids=_ids(RSAMPLE))
def test_rsample_gradient(device, idx):
    """The gradient of the sample mean of ``rsample`` draws matches the gradient of PyTorch's
    closed-form mean (reparameterisation gradients flow to every parameter)."""
    name, make, params = RSAMPLE[idx]
    ember.manual_seed(7)
    e_params = [ember.tensor(p, dtype=ember.float64, device=device, requires_grad=True) for p in params]
    t_params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    x = make(ember, *e_params).rsample((N,))
    x.mean(0).sum().backward()
    make(torch, *t_params).mean.sum().backward()
    ember.manual_seed(8)
    spread = make(ember, *e_params).rsample((N,)).detach().std(0).max().item()
    for ep, tp in zip(e_params, t_params, strict=True):
        got = ep.grad.cpu().numpy()
        want = tp.grad.numpy() if tp.grad is not None else np.zeros_like(got)  # the mean does not depend on it
        assert np.isfinite(got).all(), name
        np.testing.assert_allclose(got, want, rtol=0.1, atol=0.05 * max(1.0, spread), err_msg=name)


def test_relaxed_rsample_gradient(device):
    """Relaxed samples are differentiable in probs/logits and temperature."""
    for make in (lambda L, p, t: D(L).RelaxedBernoulli(t, probs=p),
                 lambda L, p, t: D(L).RelaxedOneHotCategorical(t, logits=p)):
        p = ember.tensor([0.3, 0.6], dtype=ember.float64, device=device, requires_grad=True)
        t = ember.tensor(0.5, dtype=ember.float64, device=device, requires_grad=True)
        x = make(ember, p, t).rsample((100,))
        (x * ember.tensor([1.0, 2.0], dtype=ember.float64, device=device)).sum().backward()
        assert p.grad is not None and np.isfinite(p.grad.cpu().numpy()).all() and p.grad.abs().sum().item() > 0
        assert t.grad is not None and math.isfinite(t.grad.item())


def test_wishart_and_lkj_sample_moments(device):
    """Wishart draws average to df * Sigma; the correlations ``L @ L.mT`` of LKJ draws have unit
    diagonals and the off-diagonal mean and variance of PyTorch's own draws."""
    ember.manual_seed(11)
    cov = ember.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=ember.float64, device=device)
    w = ember.distributions.Wishart(ember.tensor(5.0, dtype=ember.float64, device=device), covariance_matrix=cov)
    x = w.rsample((N,)).cpu().numpy()
    expected = 5.0 * cov.cpu().numpy()
    var = w.variance.cpu().numpy()
    np.testing.assert_allclose(x.mean(0), expected, atol=5 * np.sqrt(var / N).max())
    lkj = ember.distributions.LKJCholesky(3, ember.tensor(2.0, dtype=ember.float64, device=device))
    low = lkj.sample((N,)).cpu().numpy()
    corr = low @ np.swapaxes(low, -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, atol=1e-9)
    off = corr[:, [1, 2, 2], [0, 0, 1]]
    np.testing.assert_allclose(off.mean(0), 0.0, atol=0.02)
    torch.manual_seed(0)
    t_low = torch.distributions.LKJCholesky(3, torch.tensor(2.0, dtype=torch.float64)).sample((2 * N,)).numpy()
    t_off = (t_low @ np.swapaxes(t_low, -1, -2))[:, [1, 2, 2], [0, 0, 1]]
    np.testing.assert_allclose(off.var(0), t_off.var(0), atol=0.01)


# ---- kl_divergence ----------------------------------------------------------------------------
def _kl(make_p, make_q):
    return lambda L, *a: D(L).kl_divergence(make_p(L, *a), make_q(L, *a))


def _lr(L, m, w, dg):  # noqa: N803
    return D(L).LowRankMultivariateNormal(m, w, dg)


KL = [
    ("cb_cb", _kl(lambda L, a, b: D(L).ContinuousBernoulli(probs=a), lambda L, a, b: D(L).ContinuousBernoulli(
        logits=b)), (A([0.2, 0.4995, 0.8]), RND(3))),
    ("cb_normal", _kl(lambda L, a, m, s: D(L).ContinuousBernoulli(probs=a), lambda L, a, m, s: D(L).Normal(m, s)),
     (UNIT(3), RND(3), POS(3))),
    ("cb_exponential", _kl(lambda L, a, r: D(L).ContinuousBernoulli(probs=a), lambda L, a, r: D(L).Exponential(r)),
     (UNIT(3), POS(3))),
    ("cb_uniform", _kl(lambda L, a, lo, hi: D(L).ContinuousBernoulli(probs=a),
                       lambda L, a, lo, hi: D(L).Uniform(lo, hi)),
     (UNIT(3), A([-1.0, 0.5, -0.5]), A([2.0, 2.0, 0.8]))),
    ("beta_cb", _kl(lambda L, a, b, p: D(L).Beta(a, b), lambda L, a, b, p: D(L).ContinuousBernoulli(probs=p)),
     (POS(3), POS(3), UNIT(3))),
    ("uniform_cb", _kl(lambda L, lo, hi, p: D(L).Uniform(lo, hi), lambda L, lo, hi, p: D(L).ContinuousBernoulli(p)),
     (A([0.1, 0.2, -0.5]), A([0.9, 0.4, 0.5]), UNIT(3))),
    ("pareto_pareto", _kl(lambda L, s1, a1, s2, a2: D(L).Pareto(s1, a1), lambda L, s1, a1, s2, a2: D(L).Pareto(s2,
                                                                                                              a2)),
     (A([1.0, 2.0, 0.5]), POS(3), A([0.5, 1.0, 1.0]), POS(3))),
    ("pareto_exponential", _kl(lambda L, s, a, r: D(L).Pareto(s, a), lambda L, s, a, r: D(L).Exponential(r)),
     (POS(3), A([0.5, 2.0, 3.0]), POS(3))),
    ("pareto_gamma", _kl(lambda L, s, a, c, r: D(L).Pareto(s, a), lambda L, s, a, c, r: D(L).Gamma(c, r)),
     (POS(3), A([0.5, 2.0, 3.0]), POS(3), POS(3))),
    ("pareto_normal", _kl(lambda L, s, a, m, sd: D(L).Pareto(s, a), lambda L, s, a, m, sd: D(L).Normal(m, sd)),
     (POS(3), A([1.5, 2.5, 3.0]), RND(3), POS(3))),
    ("uniform_pareto", _kl(lambda L, lo, hi, s, a: D(L).Uniform(lo, hi), lambda L, lo, hi, s, a: D(L).Pareto(s, a)),
     (A([1.0, 0.2, 2.0]), A([2.0, 3.0, 4.0]), A([0.5, 0.5, 1.0]), POS(3))),
    ("infinite", lambda L, s, a: (D(L).kl_divergence(D(L).Pareto(s, a), D(L).Beta(a, a)),
                                  D(L).kl_divergence(D(L).Normal(s, a), D(L).Pareto(s, a)),
                                  D(L).kl_divergence(D(L).Beta(a, a), D(L).Pareto(s, a))), (POS(3), POS(3))),
    ("halfcauchy_halfcauchy", _kl(lambda L, a, b: D(L).HalfCauchy(a), lambda L, a, b: D(L).HalfCauchy(b)),
     (POS(3), POS(3))),
    ("weibull_weibull", _kl(lambda L, s, c: D(L).Weibull(s, c), lambda L, s, c: D(L).Weibull(s, c)),
     (POS(3), POS(3))),
    ("weibull_mismatch", _kl(lambda L, s, c: D(L).Weibull(s, c), lambda L, s, c: D(L).Weibull(s * 2, c)),
     (POS(3), POS(3))),
    ("lowrank_lowrank", _kl(lambda L, m, w, dg, m2, w2, dg2: _lr(L, m, w, dg),
                            lambda L, m, w, dg, m2, w2, dg2: _lr(L, m2, w2, dg2)),
     (RND(2, 3), RND(3, 2), POS(3), RND(3), RND(2, 3, 1), POS(3))),
    ("mvn_lowrank", _kl(lambda L, m, lt, m2, w2, dg2: D(L).MultivariateNormal(m, scale_tril=lt),
                        lambda L, m, lt, m2, w2, dg2: _lr(L, m2, w2, dg2)),
     (RND(3), TRIL(3), RND(2, 3), RND(3, 2), POS(3))),
    ("lowrank_mvn", _kl(lambda L, m, w, dg, m2, lt: _lr(L, m, w, dg),
                        lambda L, m, w, dg, m2, lt: D(L).MultivariateNormal(m2, scale_tril=lt)),
     (RND(2, 3), RND(3, 2), POS(3), RND(3), TRIL(3))),
]


@pytest.mark.parametrize("idx", range(len(KL)), ids=_ids(KL))
def test_kl(device, idx):
    _, fn, args = KL[idx]
    check(fn, args, {}, device, tol=10.0)


def test_kl_lowrank_event_mismatch(device):
    for lib in (torch, ember):
        p = D(lib).LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1), lib.ones(2))
        q = D(lib).LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), lib.ones(3))
        with pytest.raises(ValueError, match="different event shapes cannot be computed"):
            D(lib).kl_divergence(p, q)


# ---- validation -------------------------------------------------------------------------------
def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001
        return type(exc), str(exc)
    return None


VALIDATION = [
    ("halfcauchy.scale", lambda L, d: D(L).HalfCauchy(L.tensor([-1.0], device=d))),
    ("halfcauchy.support", lambda L, d: D(L).HalfCauchy(1.0).log_prob(L.tensor([-1.0], device=d))),
    ("pareto.alpha", lambda L, d: D(L).Pareto(L.tensor([1.0], device=d), L.tensor([0.0], device=d))),
    ("pareto.support", lambda L, d: D(L).Pareto(L.tensor([1.0], device=d), L.tensor([1.0], device=d)).log_prob(
        L.tensor([0.5], device=d))),
    ("weibull.conc", lambda L, d: D(L).Weibull(L.tensor([1.0], device=d), L.tensor([-1.0], device=d))),
    ("weibull.support", lambda L, d: D(L).Weibull(1.0, 1.0).log_prob(L.tensor(-1.0, device=d))),
    ("inversegamma.rate", lambda L, d: D(L).InverseGamma(L.tensor([1.0], device=d), L.tensor([-1.0], device=d))),
    ("kumaraswamy.conc", lambda L, d: D(L).Kumaraswamy(L.tensor([1.0], device=d), L.tensor([0.0], device=d))),
    ("kumaraswamy.support", lambda L, d: D(L).Kumaraswamy(1.0, 1.0).log_prob(L.tensor(1.5, device=d))),
    ("logisticnormal.scale", lambda L, d: D(L).LogisticNormal(L.zeros(2, device=d), -L.ones(2, device=d))),
    ("logisticnormal.support", lambda L, d: D(L).LogisticNormal(L.zeros(2, device=d), L.ones(2, device=d)).log_prob(
        L.tensor([0.5, 0.5, 0.5], device=d))),
    ("fisher.df", lambda L, d: D(L).FisherSnedecor(L.tensor([0.0], device=d), L.tensor([1.0], device=d))),
    ("fisher.support", lambda L, d: D(L).FisherSnedecor(1.0, 1.0).log_prob(L.tensor(-1.0, device=d))),
    ("gpareto.scale", lambda L, d: D(L).GeneralizedPareto(0.0, L.tensor([-1.0], device=d), 0.0)),
    ("gpareto.support", lambda L, d: D(L).GeneralizedPareto(L.tensor(0.0, device=d), L.tensor(1.0, device=d),
                                                            L.tensor(-0.5, device=d)).log_prob(L.tensor(3.0,
                                                                                                        device=d))),
    ("cb.both", lambda L, d: D(L).ContinuousBernoulli(probs=0.5, logits=0.0)),
    ("cb.none", lambda L, d: D(L).ContinuousBernoulli()),
    ("cb.probs_explicit", lambda L, d: D(L).ContinuousBernoulli(probs=L.tensor([1.5], device=d), validate_args=True)),
    ("cb.support", lambda L, d: D(L).ContinuousBernoulli(probs=L.tensor([0.3], device=d)).log_prob(
        L.tensor([1.5], device=d))),
    ("negbin.both", lambda L, d: D(L).NegativeBinomial(3.0, probs=L.tensor([0.5], device=d),
                                                       logits=L.tensor([0.5], device=d))),
    ("negbin.probs", lambda L, d: D(L).NegativeBinomial(3.0, probs=L.tensor([1.0], device=d))),
    ("negbin.count", lambda L, d: D(L).NegativeBinomial(L.tensor([-1.0], device=d), probs=L.tensor([0.5], device=d))),
    ("negbin.support", lambda L, d: D(L).NegativeBinomial(3.0, probs=L.tensor([0.5], device=d)).log_prob(
        L.tensor([1.5], device=d))),
    ("mixture.notcat", lambda L, d: D(L).MixtureSameFamily(D(L).Normal(0.0, 1.0), D(L).Normal(L.zeros(2), 1.0))),
    ("mixture.notdist", lambda L, d: D(L).MixtureSameFamily(D(L).Categorical(L.ones(2, device=d)), 3)),
    ("mixture.batch", lambda L, d: D(L).MixtureSameFamily(D(L).Categorical(L.ones(3, 2, device=d)),
                                                          D(L).Normal(L.zeros(4, 2, device=d), 1.0))),
    ("mixture.k", lambda L, d: D(L).MixtureSameFamily(D(L).Categorical(L.ones(3, device=d)),
                                                      D(L).Normal(L.zeros(2, device=d), 1.0))),
    ("lowrank.loc0d", lambda L, d: D(L).LowRankMultivariateNormal(L.tensor(0.0, device=d), L.ones(2, 1, device=d),
                                                                  L.ones(2, device=d))),
    ("lowrank.factor1d", lambda L, d: D(L).LowRankMultivariateNormal(L.zeros(2, device=d), L.ones(2, device=d),
                                                                     L.ones(2, device=d))),
    ("lowrank.factor_rows", lambda L, d: D(L).LowRankMultivariateNormal(L.zeros(2, device=d), L.ones(3, 1, device=d),
                                                                        L.ones(2, device=d))),
    ("lowrank.diag", lambda L, d: D(L).LowRankMultivariateNormal(L.zeros(2, device=d), L.ones(2, 1, device=d),
                                                                 L.ones(3, device=d))),
    ("lowrank.batch", lambda L, d: D(L).LowRankMultivariateNormal(L.zeros(3, 2, device=d),
                                                                  L.ones(4, 2, 1, device=d), L.ones(2, device=d))),
    ("lowrank.diag_neg", lambda L, d: D(L).LowRankMultivariateNormal(L.zeros(2, device=d), L.ones(2, 1, device=d),
                                                                     -L.ones(2, device=d))),
    ("relaxedb.both", lambda L, d: D(L).RelaxedBernoulli(L.tensor(1.0, device=d), probs=0.5, logits=0.0)),
    ("relaxedb.probs", lambda L, d: D(L).RelaxedBernoulli(L.tensor(1.0, device=d), probs=L.tensor([2.0],
                                                                                                  device=d))),
    ("relaxedoh.simplex", lambda L, d: D(L).RelaxedOneHotCategorical(L.tensor(1.0, device=d),
                                                                     probs=L.tensor([0.5, -0.5], device=d))),
    ("vonmises.conc", lambda L, d: D(L).VonMises(L.tensor([0.0], device=d), L.tensor([-1.0], device=d))),
    ("wishart.none", lambda L, d: D(L).Wishart(3.0)),
    ("wishart.two", lambda L, d: D(L).Wishart(3.0, covariance_matrix=L.eye(2, device=d),
                                              scale_tril=L.eye(2, device=d))),
    ("wishart.1d", lambda L, d: D(L).Wishart(3.0, covariance_matrix=L.ones(2, device=d))),
    ("wishart.df", lambda L, d: D(L).Wishart(0.5, covariance_matrix=L.eye(2, device=d))),
    ("wishart.tril", lambda L, d: D(L).Wishart(3.0, scale_tril=L.tensor([[1.0, 1.0], [0.0, 1.0]], device=d))),
    ("lkj.dim", lambda L, d: D(L).LKJCholesky(1)),
    ("lkj.conc", lambda L, d: D(L).LKJCholesky(3, L.tensor([-1.0], device=d))),
    ("lkj.support", lambda L, d: D(L).LKJCholesky(2).log_prob(L.tensor([[1.0, 0.0], [0.5, 0.5]], device=d))),
]


@pytest.mark.parametrize("idx", range(len(VALIDATION)), ids=_ids(VALIDATION))
def test_validation_errors(device, idx):
    _, fn = VALIDATION[idx]
    t_err = _error(lambda: fn(torch, "cpu"))
    e_err = _error(lambda: fn(ember, device))
    assert t_err is not None
    assert e_err is not None, f"ember raised nothing; torch raised {t_err}"
    assert issubclass(e_err[0], builtin_base(t_err[0])), (e_err, t_err)
    strip = lambda s: (s.replace("torch.Size", "Size").replace("ember.Size", "Size")  # noqa: E731
                       .replace(f", device='{device}:0'", "").replace(f", device='{device}'", "")
                       .replace("torch.distributions", "distributions").replace("ember.distributions",
                                                                                "distributions"))
    assert strip(e_err[1]) == strip(t_err[1])


def test_structure(device):
    """Supports, arg_constraints, has_rsample, repr and the relaxed/mixture accessors, as PyTorch."""
    for name in NAMES:
        td, ed = _dists(torch, "cpu", "float64")[name], _dists(ember, device, "float64")[name]
        assert type(ed.support).__name__ == type(td.support).__name__, name
        assert sorted(ed.arg_constraints) == sorted(td.arg_constraints), name
        assert [type(c).__name__ for c in ed.arg_constraints.values()] == \
               [type(c).__name__ for c in td.arg_constraints.values()], name
    for lib in (torch, ember):
        mix = D(lib).MixtureSameFamily(D(lib).Categorical(probs=lib.ones(2)), D(lib).Normal(lib.zeros(2), 1.0))
        assert isinstance(mix.mixture_distribution, D(lib).Categorical)
        assert repr(mix.support) == "MixtureSameFamilyConstraint(Real())"
        assert repr(mix).startswith("MixtureSameFamily(\n  Categorical(")
        rb = D(lib).RelaxedBernoulli(lib.tensor(0.5), logits=lib.tensor([0.0]))
        assert type(rb.base_dist).__name__ == "LogitRelaxedBernoulli" and rb.temperature.item() == 0.5
        ro = D(lib).RelaxedOneHotCategorical(lib.tensor(0.5), probs=lib.tensor([0.5, 0.5]))
        assert type(ro.base_dist).__name__ == "ExpRelaxedCategorical" and tuple(ro.event_shape) == (2,)
        # probs outside (0, 1) are clamped, not refused, unless validate_args is given explicitly
        D(lib).ContinuousBernoulli(probs=lib.tensor([1.5]))
        ln = D(lib).LogisticNormal(0.0, 1.0)
        assert (tuple(ln.batch_shape), tuple(ln.event_shape)) == ((), (2,))
        assert isinstance(D(lib).Pareto(1.0, 2.0), D(lib).TransformedDistribution)
        assert D(lib).Pareto(1.0, 2.0).support.lower_bound.item() == 1.0
