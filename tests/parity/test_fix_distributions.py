"""Issue #14 section 4: ``ember.distributions`` against ``torch.distributions``.

Values and gradients of log_prob, entropy, mean/variance/mode, cdf/icdf and kl_divergence for the
same parameters (every device); sample shapes and dtypes; sample statistics (20k draws, fixed seed,
a few standard errors); the Gamma sampler's reparameterised gradient against PyTorch's
``_standard_gamma_grad``; validation errors (type and message).
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
R = np.random.default_rng(14)


def A(values, dtype=F64, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def POS(*shape, dtype=F64, lo=0.5, hi=3.0) -> Arg:
    return Arg(R.uniform(lo, hi, shape).astype(dtype))


def RND(*shape, dtype=F64) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype))


def UNIT(*shape, dtype=F64) -> Arg:
    return Arg(R.uniform(0.05, 0.95, shape).astype(dtype))


def SIMPLEX(*shape, dtype=F64) -> Arg:
    x = R.uniform(0.2, 1.0, shape)
    return Arg((x / x.sum(-1, keepdims=True)).astype(dtype))


def D(lib):
    return lib.distributions


def _spd(n: int, batch: tuple = (), dtype=F64) -> Arg:
    m = R.standard_normal(batch + (n, n))
    return Arg((m @ np.swapaxes(m, -1, -2) + n * np.eye(n)).astype(dtype), grad=False)


def _tril(n: int, batch: tuple = (), dtype=F64) -> Arg:
    m = np.tril(R.standard_normal(batch + (n, n)))
    idx = np.arange(n)
    m[..., idx, idx] = np.abs(m[..., idx, idx]) + 0.5
    return Arg(m.astype(dtype))


def _ids(cases):
    return [c[0] for c in cases]


TOL = {F32: 20.0, F64: 1.0}


# ---- values and gradients ---------------------------------------------------------------------
# (id, fn(lib, *tensors), args); each runs through parity_compare.check (values, dtypes, shapes, grads)
def _cases(dt):
    return [
        # Normal
        ("normal.log_prob", lambda L, m, s, x: D(L).Normal(m, s).log_prob(x), (RND(3, dtype=dt), POS(3, dtype=dt),
                                                                               RND(2, 3, dtype=dt))),
        ("normal.log_prob.scalar", lambda L, x: D(L).Normal(0.5, 2.0).log_prob(x), (RND(4, dtype=dt),)),
        ("normal.entropy", lambda L, m, s: D(L).Normal(m, s).entropy(), (RND(3, dtype=dt), POS(3, dtype=dt))),
        ("normal.moments", lambda L, m, s: (lambda d: (d.mean, d.variance, d.stddev, d.mode))(D(L).Normal(m, s)),
         (RND(2, 1, dtype=dt), POS(3, dtype=dt))),
        ("normal.cdf", lambda L, m, s, x: D(L).Normal(m, s).cdf(x), (RND(3, dtype=dt), POS(3, dtype=dt),
                                                                     RND(3, dtype=dt))),
        ("normal.icdf", lambda L, m, s, u: D(L).Normal(m, s).icdf(u), (RND(3, dtype=dt), POS(3, dtype=dt),
                                                                       UNIT(3, dtype=dt))),
        ("normal.perplexity", lambda L, s: D(L).Normal(0.0, s).perplexity(), (POS(3, dtype=dt),)),
        # Bernoulli
        ("bernoulli.probs.log_prob", lambda L, p, x: D(L).Bernoulli(probs=p).log_prob(x),
         (UNIT(4, dtype=dt), A([0, 1, 1, 0], dt, grad=False))),
        ("bernoulli.logits.log_prob", lambda L, lg, x: D(L).Bernoulli(logits=lg).log_prob(x),
         (RND(4, dtype=dt), A([0, 1, 1, 0], dt, grad=False))),
        ("bernoulli.entropy", lambda L, p: D(L).Bernoulli(probs=p).entropy(), (UNIT(4, dtype=dt),)),
        ("bernoulli.logits.entropy", lambda L, lg: D(L).Bernoulli(logits=lg).entropy(), (RND(4, dtype=dt),)),
        ("bernoulli.moments", lambda L, p: (lambda d: (d.mean, d.variance, d.logits))(D(L).Bernoulli(probs=p)),
         (UNIT(4, dtype=dt),)),
        ("bernoulli.mode", lambda L, p: D(L).Bernoulli(probs=p).mode, (A([0.2, 0.5, 0.7], dt),)),
        ("bernoulli.enumerate", lambda L, p: D(L).Bernoulli(probs=p).enumerate_support(), (UNIT(2, 3, dtype=dt),)),
        # Categorical
        ("categorical.probs.normalised", lambda L, p: D(L).Categorical(probs=p).probs, (POS(2, 4, dtype=dt),)),
        ("categorical.logits.normalised", lambda L, lg: D(L).Categorical(logits=lg).logits, (RND(2, 4, dtype=dt),)),
        ("categorical.log_prob", lambda L, p, x: D(L).Categorical(probs=p).log_prob(x),
         (POS(2, 4, dtype=dt), A([[0, 3], [2, 1], [1, 1]], np.int64))),
        ("categorical.logits.log_prob", lambda L, lg, x: D(L).Categorical(logits=lg).log_prob(x),
         (RND(4, dtype=dt), A([0, 3, 2], np.int64))),
        ("categorical.entropy", lambda L, lg: D(L).Categorical(logits=lg).entropy(), (RND(3, 5, dtype=dt),)),
        ("categorical.entropy.zero_prob", lambda L, p: D(L).Categorical(probs=p).entropy(),
         (A([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]], dt),)),
        ("categorical.mode", lambda L, p: D(L).Categorical(probs=p).mode, (POS(3, 4, dtype=dt),)),
        ("categorical.mean", lambda L, p: D(L).Categorical(probs=p).mean, (POS(3, 4, dtype=dt),)),
        ("categorical.enumerate", lambda L, p: D(L).Categorical(probs=p).enumerate_support(), (POS(3, 4, dtype=dt),)),
        # OneHotCategorical
        ("onehot.log_prob", lambda L, p, x: D(L).OneHotCategorical(probs=p).log_prob(x),
         (POS(2, 3, dtype=dt), A([[0, 1, 0], [0, 0, 1]], dt, grad=False))),
        ("onehot.entropy_mode", lambda L, p: (lambda d: (d.entropy(), d.mode, d.variance))(D(L).OneHotCategorical(p)),
         (POS(2, 3, dtype=dt),)),
        # Uniform
        ("uniform.log_prob", lambda L, lo, x: D(L).Uniform(lo, lo + 2).log_prob(x),
         (RND(3, dtype=dt), Arg(np.array([-5.0, 0.1, 8.0], dtype=dt), grad=False))),
        ("uniform.cdf_icdf", lambda L, lo, hi, u: (D(L).Uniform(lo, hi, validate_args=False).cdf(u),
                                                   D(L).Uniform(lo, hi).icdf(u)),
         (A([0.0, -1.0, 1.0], dt), A([1.0, 2.0, 4.0], dt), UNIT(3, dtype=dt))),
        ("uniform.entropy_moments", lambda L, lo, hi: (lambda d: (d.entropy(), d.mean, d.variance, d.stddev))(
            D(L).Uniform(lo, hi)), (A([0.0, -1.0], dt), A([1.0, 3.0], dt))),
        # Exponential
        ("exponential.log_prob", lambda L, r, x: D(L).Exponential(r).log_prob(x), (POS(3, dtype=dt),
                                                                                   POS(2, 3, dtype=dt))),
        ("exponential.cdf_icdf", lambda L, r, x, u: (D(L).Exponential(r).cdf(x), D(L).Exponential(r).icdf(u)),
         (POS(3, dtype=dt), POS(3, dtype=dt), UNIT(3, dtype=dt))),
        ("exponential.entropy_moments", lambda L, r: (lambda d: (d.entropy(), d.mean, d.variance, d.mode))(
            D(L).Exponential(r)), (POS(3, dtype=dt),)),
        # Laplace
        ("laplace.log_prob", lambda L, m, s, x: D(L).Laplace(m, s).log_prob(x), (RND(3, dtype=dt), POS(3, dtype=dt),
                                                                                 RND(3, dtype=dt))),
        ("laplace.cdf_icdf", lambda L, m, s, x, u: (D(L).Laplace(m, s).cdf(x), D(L).Laplace(m, s).icdf(u)),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt), UNIT(3, dtype=dt))),
        ("laplace.entropy_moments", lambda L, m, s: (lambda d: (d.entropy(), d.variance, d.stddev))(
            D(L).Laplace(m, s)), (RND(3, dtype=dt), POS(3, dtype=dt))),
        # Independent
        ("independent.log_prob", lambda L, m, s, x: D(L).Independent(D(L).Normal(m, s), 1).log_prob(x),
         (RND(2, 3, dtype=dt), POS(2, 3, dtype=dt), RND(2, 3, dtype=dt))),
        ("independent.entropy", lambda L, m, s: D(L).Independent(D(L).Normal(m, s), 2).entropy(),
         (RND(2, 3, dtype=dt), POS(2, 3, dtype=dt))),
        # the generic exponential-family entropy and KL (Bregman divergence through autograd)
        ("expfamily.entropy", lambda L, m, s: D(L).ExponentialFamily.entropy(D(L).Normal(m, s)),
         (RND(3, dtype=dt), POS(3, dtype=dt))),
        ("expfamily.kl", lambda L, a, b: D(L).kl._kl_expfamily_expfamily(D(L).Exponential(a), D(L).Exponential(b)),
         (POS(3, dtype=dt), POS(3, dtype=dt))),
        # expand
        ("normal.expand", lambda L, m, s, x: D(L).Normal(m, s).expand((2, 3)).log_prob(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(2, 3, dtype=dt))),
        ("categorical.expand", lambda L, lg: D(L).Categorical(logits=lg).expand((2,)).entropy(), (RND(4, dtype=dt),)),
    ]


def _special_cases(dt):
    """The cases that need lgamma / digamma / xlogy / erfinv-free special functions."""
    return [
        ("poisson.log_prob", lambda L, r, x: D(L).Poisson(r).log_prob(x),
         (POS(3, dtype=dt), A([0.0, 2.0, 5.0], dt, grad=False))),
        ("poisson.moments", lambda L, r: (lambda d: (d.mean, d.variance, d.mode))(D(L).Poisson(r)), (POS(3, dtype=dt),)),
        ("binomial.log_prob", lambda L, p, x: D(L).Binomial(10, probs=p).log_prob(x),
         (UNIT(3, dtype=dt), A([0.0, 3.0, 10.0], dt, grad=False))),
        ("binomial.logits.log_prob", lambda L, lg, n, x: D(L).Binomial(n, logits=lg).log_prob(x),
         (RND(3, dtype=dt), A([5.0, 7.0, 2.0], dt, grad=False), A([1.0, 7.0, 0.0], dt, grad=False))),
        ("binomial.entropy", lambda L, p: D(L).Binomial(6, probs=p).entropy(), (UNIT(3, dtype=dt),)),
        ("binomial.moments", lambda L, p: (lambda d: (d.mean, d.variance, d.mode))(D(L).Binomial(6, probs=p)),
         (UNIT(3, dtype=dt),)),
        ("gamma.log_prob", lambda L, a, b, x: D(L).Gamma(a, b).log_prob(x), (POS(3, dtype=dt), POS(3, dtype=dt),
                                                                             POS(2, 3, dtype=dt))),
        ("gamma.entropy", lambda L, a, b: D(L).Gamma(a, b).entropy(), (POS(3, dtype=dt), POS(3, dtype=dt))),
        ("gamma.moments", lambda L, a, b: (lambda d: (d.mean, d.variance, d.mode))(D(L).Gamma(a, b)),
         (POS(3, dtype=dt), POS(3, dtype=dt))),
        ("beta.log_prob", lambda L, a, b, x: D(L).Beta(a, b).log_prob(x), (POS(3, dtype=dt), POS(3, dtype=dt),
                                                                           UNIT(3, dtype=dt))),
        ("beta.entropy", lambda L, a, b: D(L).Beta(a, b).entropy(), (POS(3, dtype=dt), POS(3, dtype=dt))),
        ("beta.moments", lambda L, a, b: (lambda d: (d.mean, d.variance, d.mode))(D(L).Beta(a, b)),
         (POS(3, dtype=dt, lo=1.2), POS(3, dtype=dt, lo=1.2))),
        # number parameters make CPU tensors, as in PyTorch (whose CUDA would refuse a CUDA value too)
        ("beta.scalar", lambda L, x: D(L).Beta(2.0, 3.0).log_prob(x.cpu()).to(x.device), (UNIT(3, dtype=dt),)),
        ("dirichlet.log_prob", lambda L, c, x: D(L).Dirichlet(c).log_prob(x), (POS(2, 3, dtype=dt),
                                                                               SIMPLEX(2, 3, dtype=dt))),
        ("dirichlet.entropy", lambda L, c: D(L).Dirichlet(c).entropy(), (POS(2, 3, dtype=dt),)),
        ("dirichlet.moments", lambda L, c: (lambda d: (d.mean, d.variance, d.mode))(D(L).Dirichlet(c)),
         (A([[2.0, 3.0, 1.5], [0.5, 0.7, 0.2]], dt),)),
        ("lognormal.log_prob", lambda L, m, s, x: D(L).LogNormal(m, s).log_prob(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), POS(3, dtype=dt))),
        ("lognormal.entropy_moments", lambda L, m, s: (lambda d: (d.entropy(), d.mean, d.variance, d.mode))(
            D(L).LogNormal(m, s)), (RND(3, dtype=dt), POS(3, dtype=dt, hi=1.5))),
        ("lognormal.cdf", lambda L, m, s, x: D(L).LogNormal(m, s).cdf(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), POS(3, dtype=dt))),
    ]


def _transform_cases(dt):
    def T(L):  # noqa: N802
        return L.distributions.transforms

    def logistic(L, a, b):
        return D(L).TransformedDistribution(D(L).Uniform(L.zeros_like(a), L.ones_like(a)),
                                            [T(L).SigmoidTransform().inv, T(L).AffineTransform(a, b)])

    return [
        ("td.logistic.log_prob", lambda L, a, b, x: logistic(L, a, b).log_prob(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt))),
        ("td.logistic.cdf_icdf", lambda L, a, b, x, u: (logistic(L, a, b).cdf(x), logistic(L, a, b).icdf(u)),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt), UNIT(3, dtype=dt))),
        ("td.decreasing.cdf", lambda L, m, s, x: D(L).TransformedDistribution(
            D(L).Normal(m, s), T(L).AffineTransform(1.0, -2.0)).cdf(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt))),
        ("td.tanh_normal", lambda L, m, s, x: D(L).TransformedDistribution(
            D(L).Normal(m, s), [T(L).TanhTransform()]).log_prob(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), Arg(R.uniform(-0.9, 0.9, 3).astype(dt)))),
        ("td.vector_affine", lambda L, m, s, sc, x: D(L).TransformedDistribution(
            D(L).Normal(m, s), T(L).AffineTransform(0.5, sc, event_dim=1)).log_prob(x),
         (RND(2, 3, dtype=dt), POS(2, 3, dtype=dt), POS(3, dtype=dt), RND(2, 3, dtype=dt))),
        ("td.power_softplus", lambda L, a, x: D(L).TransformedDistribution(
            D(L).Exponential(a), [T(L).PowerTransform(0.5), T(L).SoftplusTransform()]).log_prob(x),
         (POS(3, dtype=dt), POS(3, dtype=dt, lo=0.7, hi=2.0))),
        ("transforms.jacobians", lambda L, x: tuple(t.log_abs_det_jacobian(x, t(x)) for t in (
            T(L).ExpTransform(), T(L).SigmoidTransform(), T(L).TanhTransform(), T(L).SoftplusTransform(),
            T(L).AffineTransform(1.0, -3.0), T(L).ComposeTransform([T(L).ExpTransform(), T(L).PowerTransform(2.0)]))),
         (RND(4, dtype=dt),)),
        ("transforms.inverses", lambda L, y: tuple(t.inv(y) for t in (
            T(L).ExpTransform(), T(L).SigmoidTransform(), T(L).TanhTransform(), T(L).SoftplusTransform(),
            T(L).AffineTransform(1.0, -3.0), T(L).SoftmaxTransform())), (UNIT(4, dtype=dt),)),
        ("transforms.softmax_reshape", lambda L, x: (T(L).SoftmaxTransform()(x), T(L).ReshapeTransform((4,), (2, 2))(x),
                                                     T(L).IndependentTransform(T(L).ExpTransform(), 1)
                                                     .log_abs_det_jacobian(x, x.exp())), (RND(3, 4, dtype=dt),)),
        ("lognormal.icdf", lambda L, m, s, u: D(L).LogNormal(m, s).icdf(u),
         (RND(3, dtype=dt), POS(3, dtype=dt), UNIT(3, dtype=dt))),
        ("lognormal.expand", lambda L, m, s, x: D(L).LogNormal(m, s).expand((2, 3)).log_prob(x),
         (RND(3, dtype=dt), POS(3, dtype=dt), POS(2, 3, dtype=dt))),
    ]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_transform_cases(F64))), ids=_ids(_transform_cases(F64)))
def test_values_and_grads_transforms(device, dt, idx):
    _, fn, args = _transform_cases(dt)[idx]
    check(fn, args, {}, device, tol=TOL[dt] * 5)


def test_transformed_distribution_structure(device):
    for lib in (torch, ember):
        T = lib.distributions.transforms  # noqa: N806
        d = D(lib).LogNormal(lib.zeros(2), lib.ones(2))
        assert isinstance(d, D(lib).TransformedDistribution)
        assert T.ExpTransform().inv.inv == T.ExpTransform()
        assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
        assert T.ComposeTransform([T.ExpTransform()]).inv.inv.parts == [T.ExpTransform()]
        assert repr(T.ExpTransform().inv) == "_InverseTransform(ExpTransform())"
        t = T.ExpTransform().with_cache(1)
        x = lib.tensor([0.5])
        assert t.inv(t(x)) is x  # cached
        with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
            T.ExpTransform(cache_size=2)
        with pytest.raises(ValueError, match="transforms must be a Transform or list, but was 3"):
            D(lib).TransformedDistribution(D(lib).Normal(0.0, 1.0), 3)
        td = D(lib).TransformedDistribution(D(lib).Normal(lib.zeros(3), 1.0), T.AffineTransform(0.0, 2.0,
                                                                                               event_dim=1))
        assert (tuple(td.batch_shape), tuple(td.event_shape)) == ((), (3,))
        assert tuple(td.sample((4,)).shape) == (4, 3)
        assert repr(td.support) == "IndependentConstraint(Real(), 1)"


def _more_cases(dt):
    return [
        ("cauchy.all", lambda L, m, s, x, u: (lambda d: (d.log_prob(x), d.cdf(x), d.icdf(u), d.entropy(), d.mean,
                                                        d.variance, d.mode))(D(L).Cauchy(m, s)),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt), UNIT(3, dtype=dt))),
        ("halfnormal.all", lambda L, s, x, u: (lambda d: (d.log_prob(x), d.cdf(x), d.icdf(u), d.entropy(), d.mean,
                                                         d.variance, d.mode))(D(L).HalfNormal(s)),
         (POS(3, dtype=dt), POS(3, dtype=dt), UNIT(3, dtype=dt))),
        ("chi2.all", lambda L, df, x: (lambda d: (d.log_prob(x), d.entropy(), d.mean, d.variance, d.df))(
            D(L).Chi2(df)), (POS(3, dtype=dt, lo=1.0, hi=6.0), POS(3, dtype=dt))),
        ("studentt.all", lambda L, df, m, s, x: (lambda d: (d.log_prob(x), d.entropy(), d.mode))(
            D(L).StudentT(df, m, s)), (POS(3, dtype=dt), RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt))),
        ("studentt.moments", lambda L, df, m, s: (lambda d: (d.mean, d.variance))(D(L).StudentT(df, m, s)),
         (A([0.5, 1.5, 3.0, 5.0], dt), RND(4, dtype=dt), POS(4, dtype=dt))),
        ("geometric.all", lambda L, p, x: (lambda d: (d.log_prob(x), d.entropy(), d.mean, d.variance, d.mode))(
            D(L).Geometric(probs=p)), (UNIT(3, dtype=dt), A([0.0, 2.0, 5.0], dt, grad=False))),
        ("geometric.logits", lambda L, lg, x: D(L).Geometric(logits=lg).log_prob(x),
         (RND(3, dtype=dt), A([0.0, 2.0, 5.0], dt, grad=False))),
        ("geometric.p1", lambda L, p, x: D(L).Geometric(probs=p).log_prob(x),
         (A([1.0, 1.0, 0.5], dt), A([0.0, 0.0, 1.0], dt, grad=False))),
        ("gumbel.all", lambda L, m, s, x: (lambda d: (d.log_prob(x), d.entropy(), d.mean, d.variance, d.stddev,
                                                      d.mode, d.cdf(x)))(D(L).Gumbel(m, s)),
         (RND(3, dtype=dt), POS(3, dtype=dt), RND(3, dtype=dt))),
        ("multinomial.log_prob", lambda L, p, x: D(L).Multinomial(5, probs=p).log_prob(x),
         (POS(2, 3, dtype=dt), A([[1.0, 2.0, 2.0], [5.0, 0.0, 0.0]], dt, grad=False))),
        ("multinomial.logits", lambda L, lg, x: D(L).Multinomial(logits=lg).log_prob(x),
         (RND(3, dtype=dt), A([0.0, 1.0, 0.0], dt, grad=False))),
        ("multinomial.entropy_moments", lambda L, p: (lambda d: (d.entropy(), d.mean, d.variance))(
            D(L).Multinomial(4, probs=p)), (POS(2, 3, dtype=dt),)),
    ]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_more_cases(F64))), ids=_ids(_more_cases(F64)))
def test_values_and_grads_more(device, dt, idx):
    _, fn, args = _more_cases(dt)[idx]
    check(fn, args, {}, device, tol=TOL[dt] * 5)


def _mvn_cases(dt):
    return [
        ("mvn.cov.log_prob", lambda L, m, c, x: D(L).MultivariateNormal(m, covariance_matrix=c).log_prob(x),
         (RND(3, dtype=dt), _spd(3, dtype=dt), RND(4, 3, dtype=dt))),
        ("mvn.tril.log_prob", lambda L, m, t, x: D(L).MultivariateNormal(m, scale_tril=t).log_prob(x),
         (RND(2, 3, dtype=dt), _tril(3, dtype=dt), RND(5, 2, 3, dtype=dt))),
        ("mvn.prec.log_prob", lambda L, m, p, x: D(L).MultivariateNormal(m, precision_matrix=p).log_prob(x),
         (RND(3, dtype=dt), _spd(3, dtype=dt), RND(3, dtype=dt))),
        ("mvn.batched.log_prob", lambda L, m, t, x: D(L).MultivariateNormal(m, scale_tril=t).log_prob(x),
         (RND(3, dtype=dt), _tril(3, (2,), dtype=dt), RND(4, 2, 3, dtype=dt))),
        ("mvn.entropy", lambda L, m, t: D(L).MultivariateNormal(m, scale_tril=t).entropy(),
         (RND(2, 3, dtype=dt), _tril(3, dtype=dt))),
        ("mvn.matrices", lambda L, m, t: (lambda d: (d.covariance_matrix, d.precision_matrix, d.variance, d.mean))(
            D(L).MultivariateNormal(m, scale_tril=t)), (RND(3, dtype=dt), _tril(3, dtype=dt))),
        ("mvn.cov.scale_tril", lambda L, c: D(L).MultivariateNormal(L.zeros(3, dtype=c.dtype),
                                                                     covariance_matrix=c).scale_tril,
         (_spd(3, dtype=dt),)),
    ]


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_cases(F64))), ids=_ids(_cases(F64)))
def test_values_and_grads(device, dt, idx):
    _, fn, args = _cases(dt)[idx]
    check(fn, args, {}, device, tol=TOL[dt])


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_special_cases(F64))), ids=_ids(_special_cases(F64)))
def test_values_and_grads_special(device, dt, idx):
    _, fn, args = _special_cases(dt)[idx]
    check(fn, args, {}, device, tol=TOL[dt] * 5)


@pytest.mark.parametrize("dt", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("idx", range(len(_mvn_cases(F64))), ids=_ids(_mvn_cases(F64)))
def test_values_and_grads_mvn(device, dt, idx):
    _, fn, args = _mvn_cases(dt)[idx]
    check(fn, args, {}, device, tol=TOL[dt] * 10)


# ---- kl_divergence ----------------------------------------------------------------------------
def _kl(make_p, make_q):
    return lambda L, *a: D(L).kl_divergence(make_p(L, *a), make_q(L, *a))


KL = [
    ("normal_normal", _kl(lambda L, a, b, c, d: D(L).Normal(a, b), lambda L, a, b, c, d: D(L).Normal(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("bernoulli_bernoulli", _kl(lambda L, a, b: D(L).Bernoulli(probs=a), lambda L, a, b: D(L).Bernoulli(logits=b)),
     (UNIT(3), RND(3))),
    ("bernoulli_edges", _kl(lambda L, a, b: D(L).Bernoulli(probs=a), lambda L, a, b: D(L).Bernoulli(probs=b)),
     (A([0.0, 1.0, 0.3, 0.3, 0.0]), A([0.5, 0.5, 0.0, 1.0, 0.0]))),
    ("categorical_categorical", _kl(lambda L, a, b: D(L).Categorical(probs=a), lambda L, a, b: D(L).Categorical(
        logits=b)), (POS(2, 4), RND(2, 4))),
    ("categorical_zero", _kl(lambda L, a, b: D(L).Categorical(probs=a), lambda L, a, b: D(L).Categorical(probs=b)),
     (A([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]), A([[0.2, 0.3, 0.5], [0.5, 0.0, 0.5]]))),
    ("onehot_onehot", _kl(lambda L, a, b: D(L).OneHotCategorical(a), lambda L, a, b: D(L).OneHotCategorical(b)),
     (POS(2, 3), POS(2, 3))),
    ("uniform_uniform", _kl(lambda L, a, b, c, d: D(L).Uniform(a, a + b), lambda L, a, b, c, d: D(L).Uniform(c, c + d)),
     (A([0.0, 0.0, 1.0]), A([1.0, 1.0, 1.0]), A([-1.0, 0.5, 0.0]), A([3.0, 3.0, 3.0]))),
    ("exponential_exponential", _kl(lambda L, a, b: D(L).Exponential(a), lambda L, a, b: D(L).Exponential(b)),
     (POS(3), POS(3))),
    ("laplace_laplace", _kl(lambda L, a, b, c, d: D(L).Laplace(a, b), lambda L, a, b, c, d: D(L).Laplace(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("independent", _kl(lambda L, a, b, c, d: D(L).Independent(D(L).Normal(a, b), 1),
                        lambda L, a, b, c, d: D(L).Independent(D(L).Normal(c, d), 1)),
     (RND(2, 3), POS(2, 3), RND(2, 3), POS(2, 3))),
    ("normal_laplace", _kl(lambda L, a, b, c, d: D(L).Normal(a, b), lambda L, a, b, c, d: D(L).Laplace(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("laplace_normal", _kl(lambda L, a, b, c, d: D(L).Laplace(a, b), lambda L, a, b, c, d: D(L).Normal(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("uniform_normal", _kl(lambda L, a, b, c, d: D(L).Uniform(a, a + b), lambda L, a, b, c, d: D(L).Normal(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("exponential_normal", _kl(lambda L, a, c, d: D(L).Exponential(a), lambda L, a, c, d: D(L).Normal(c, d)),
     (POS(3), RND(3), POS(3))),
    ("normal_uniform_inf", _kl(lambda L, a, b: D(L).Normal(a, b), lambda L, a, b: D(L).Uniform(a - 1, a + 1)),
     (RND(3), POS(3))),
    ("uniform_exponential", _kl(lambda L, a, b, c: D(L).Uniform(a, a + b), lambda L, a, b, c: D(L).Exponential(c)),
     (A([-1.0, 0.5, 1.0]), POS(3), POS(3))),
]

KL_SPECIAL = [
    ("beta_beta", _kl(lambda L, a, b, c, d: D(L).Beta(a, b), lambda L, a, b, c, d: D(L).Beta(c, d)),
     (POS(3), POS(3), POS(3), POS(3))),
    ("gamma_gamma", _kl(lambda L, a, b, c, d: D(L).Gamma(a, b), lambda L, a, b, c, d: D(L).Gamma(c, d)),
     (POS(3), POS(3), POS(3), POS(3))),
    ("dirichlet_dirichlet", _kl(lambda L, a, b: D(L).Dirichlet(a), lambda L, a, b: D(L).Dirichlet(b)),
     (POS(2, 3), POS(2, 3))),
    ("poisson_poisson", _kl(lambda L, a, b: D(L).Poisson(a), lambda L, a, b: D(L).Poisson(b)), (POS(3), POS(3))),
    ("binomial_binomial", _kl(lambda L, a, b: D(L).Binomial(5, probs=a), lambda L, a, b: D(L).Binomial(5, probs=b)),
     (UNIT(3), UNIT(3))),
    ("exponential_gamma", _kl(lambda L, a, b, c: D(L).Exponential(a), lambda L, a, b, c: D(L).Gamma(b, c)),
     (POS(3), POS(3), POS(3))),
    ("gamma_exponential", _kl(lambda L, a, b, c: D(L).Gamma(a, b), lambda L, a, b, c: D(L).Exponential(c)),
     (POS(3), POS(3), POS(3))),
    ("gamma_normal", _kl(lambda L, a, b, c, d: D(L).Gamma(a, b), lambda L, a, b, c, d: D(L).Normal(c, d)),
     (POS(3), POS(3), RND(3), POS(3))),
    ("beta_normal", _kl(lambda L, a, b, c, d: D(L).Beta(a, b), lambda L, a, b, c, d: D(L).Normal(c, d)),
     (POS(3), POS(3), RND(3), POS(3))),
    ("beta_uniform", _kl(lambda L, a, b: D(L).Beta(a, b), lambda L, a, b: D(L).Uniform(a * 0 - 0.5, a * 0 + 1.0)),
     (POS(3), POS(3))),
    ("beta_gamma", _kl(lambda L, a, b, c, d: D(L).Beta(a, b), lambda L, a, b, c, d: D(L).Gamma(c, d)),
     (POS(3), POS(3), POS(3), POS(3))),
    ("uniform_beta", _kl(lambda L, a, b, c: D(L).Uniform(a * 0.5, a * 0.5 + 0.4), lambda L, a, b, c: D(L).Beta(b, c)),
     (UNIT(3), POS(3), POS(3))),
    ("uniform_gamma", _kl(lambda L, a, b, c: D(L).Uniform(a, a + 1), lambda L, a, b, c: D(L).Gamma(b, c)),
     (POS(3), POS(3), POS(3))),
    ("bernoulli_poisson", _kl(lambda L, a, b: D(L).Bernoulli(a), lambda L, a, b: D(L).Poisson(b)), (UNIT(3), POS(3))),
    ("lognormal_lognormal", _kl(lambda L, a, b, c, d: D(L).LogNormal(a, b), lambda L, a, b, c, d: D(L).LogNormal(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
]

KL_SPECIAL += [
    ("transformed_transformed", _kl(
        lambda L, a, b, c, d: D(L).TransformedDistribution(D(L).Normal(a, b), L.distributions.transforms.ExpTransform()),
        lambda L, a, b, c, d: D(L).TransformedDistribution(D(L).Normal(c, d), L.distributions.transforms.ExpTransform())),
     (RND(3), POS(3), RND(3), POS(3))),
]

KL_SPECIAL += [
    ("cauchy_cauchy", _kl(lambda L, a, b, c, d: D(L).Cauchy(a, b), lambda L, a, b, c, d: D(L).Cauchy(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("halfnormal_halfnormal", _kl(lambda L, a, b: D(L).HalfNormal(a), lambda L, a, b: D(L).HalfNormal(b)),
     (POS(3), POS(3))),
    ("geometric_geometric", _kl(lambda L, a, b: D(L).Geometric(a), lambda L, a, b: D(L).Geometric(b)),
     (UNIT(3), UNIT(3))),
    ("gumbel_gumbel", _kl(lambda L, a, b, c, d: D(L).Gumbel(a, b), lambda L, a, b, c, d: D(L).Gumbel(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("gumbel_normal", _kl(lambda L, a, b, c, d: D(L).Gumbel(a, b), lambda L, a, b, c, d: D(L).Normal(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("normal_gumbel", _kl(lambda L, a, b, c, d: D(L).Normal(a, b), lambda L, a, b, c, d: D(L).Gumbel(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("exponential_gumbel", _kl(lambda L, a, c, d: D(L).Exponential(a), lambda L, a, c, d: D(L).Gumbel(c, d)),
     (POS(3), RND(3), POS(3))),
    ("gamma_gumbel", _kl(lambda L, a, b, c, d: D(L).Gamma(a, b), lambda L, a, b, c, d: D(L).Gumbel(c, d)),
     (POS(3), POS(3), RND(3), POS(3))),
    ("uniform_gumbel", _kl(lambda L, a, b, c, d: D(L).Uniform(a, a + b), lambda L, a, b, c, d: D(L).Gumbel(c, d)),
     (RND(3), POS(3), RND(3), POS(3))),
    ("gumbel_exponential_inf", _kl(lambda L, a, b, c: D(L).Gumbel(a, b), lambda L, a, b, c: D(L).Exponential(c)),
     (RND(3), POS(3), POS(3))),
    ("chi2_chi2", _kl(lambda L, a, b: D(L).Chi2(a), lambda L, a, b: D(L).Chi2(b)), (POS(3), POS(3))),
]

KL_MVN = [
    ("mvn_mvn", _kl(lambda L, a, b, c, d: D(L).MultivariateNormal(a, scale_tril=b),
                    lambda L, a, b, c, d: D(L).MultivariateNormal(c, covariance_matrix=d)),
     (RND(2, 3), _tril(3), RND(3), _spd(3))),
    ("mvn_mvn_batched", _kl(lambda L, a, b, c, d: D(L).MultivariateNormal(a, scale_tril=b),
                            lambda L, a, b, c, d: D(L).MultivariateNormal(c, scale_tril=d)),
     (RND(3), _tril(3, (2,)), RND(2, 3), _tril(3))),
]


@pytest.mark.parametrize("idx", range(len(KL)), ids=_ids(KL))
def test_kl(device, idx):
    _, fn, args = KL[idx]
    check(fn, args, {}, device)


@pytest.mark.parametrize("idx", range(len(KL_SPECIAL)), ids=_ids(KL_SPECIAL))
def test_kl_special(device, idx):
    _, fn, args = KL_SPECIAL[idx]
    check(fn, args, {}, device, tol=5.0)


@pytest.mark.parametrize("idx", range(len(KL_MVN)), ids=_ids(KL_MVN))
def test_kl_mvn(device, idx):
    _, fn, args = KL_MVN[idx]
    check(fn, args, {}, device, tol=10.0)


def test_kl_missing_pair_and_register(device):
    for lib in (torch, ember):
        p = D(lib).Normal(lib.zeros(2), lib.ones(2))
        q = D(lib).Categorical(logits=lib.zeros(2))
        with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and "
                                                      "q type Categorical"):
            D(lib).kl_divergence(p, q)

    for lib in (torch, ember):  # the generic exponential-family pair refuses two different families
        with pytest.raises(NotImplementedError, match="The cross KL-divergence between different exponential"):
            D(lib).kl_divergence(D(lib).Dirichlet(lib.ones(2)), D(lib).Beta(1.0, 1.0))

    class MyNormal(ember.distributions.Normal):
        pass

    ember.distributions.register_kl(MyNormal, MyNormal)(lambda p, q: (p.loc - q.loc).abs())
    a = MyNormal(ember.tensor([1.0], device=device), 1.0)
    b = MyNormal(ember.tensor([3.0], device=device), 1.0)
    assert ember.distributions.kl_divergence(a, b).tolist() == [2.0]
    # a subclass with no own pair takes its parent's
    assert ember.distributions.kl_divergence(a, ember.distributions.Normal(3.0, 1.0)).tolist() == [2.0]


# ---- samples: shapes, dtypes, devices ---------------------------------------------------------
def _dists(lib, dev, dt):
    t = lambda v: lib.tensor(v, dtype=getattr(lib, dt), device=dev)  # noqa: E731
    return {
        "Normal": D(lib).Normal(t([0.0, 1.0]), t([1.0, 2.0])),
        "Bernoulli": D(lib).Bernoulli(probs=t([0.2, 0.7])),
        "Categorical": D(lib).Categorical(probs=t([[0.2, 0.8, 0.0], [0.3, 0.3, 0.4]])),
        "OneHotCategorical": D(lib).OneHotCategorical(probs=t([0.2, 0.3, 0.5])),
        "Uniform": D(lib).Uniform(t([0.0, 1.0]), t([1.0, 4.0])),
        "Exponential": D(lib).Exponential(t([0.5, 2.0])),
        "Laplace": D(lib).Laplace(t([0.0, 1.0]), t([1.0, 0.5])),
        "Poisson": D(lib).Poisson(t([0.5, 20.0])),
        "Binomial": D(lib).Binomial(t([3.0, 10.0]), probs=t([0.3, 0.6])),
        "Gamma": D(lib).Gamma(t([0.3, 4.0]), t([1.0, 2.0])),
        "Beta": D(lib).Beta(t([0.5, 2.0]), t([1.5, 3.0])),
        "Dirichlet": D(lib).Dirichlet(t([[0.5, 1.0, 2.0], [3.0, 1.0, 0.2]])),
        "LogNormal": D(lib).LogNormal(t([0.0, 0.5]), t([0.5, 0.25])),
        "MultivariateNormal": D(lib).MultivariateNormal(t([0.0, 1.0]), covariance_matrix=t([[2.0, 0.5], [0.5, 1.0]])),
        "Independent": D(lib).Independent(D(lib).Normal(t([[0.0, 1.0]]), t([[1.0, 2.0]])), 1),
        "Cauchy": D(lib).Cauchy(t([0.0, 1.0]), t([1.0, 0.5])),
        "HalfNormal": D(lib).HalfNormal(t([1.0, 0.5])),
        "Chi2": D(lib).Chi2(t([1.0, 5.0])),
        "StudentT": D(lib).StudentT(t([5.0, 9.0]), t([0.0, 1.0]), t([1.0, 2.0])),
        "Geometric": D(lib).Geometric(probs=t([0.3, 0.8])),
        "Gumbel": D(lib).Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
        "Multinomial": D(lib).Multinomial(6, probs=t([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])),
    }


NAMES = list(_dists(torch, "cpu", "float32"))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_sample_shapes_and_dtypes(device, name, dt):
    td, ed = _dists(torch, "cpu", dt)[name], _dists(ember, device, dt)[name]
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) and tuple(ed.event_shape) == tuple(td.event_shape)
    for shape in [(), (5,), (2, 3)]:
        ts, es = td.sample(shape), ed.sample(shape)
        assert tuple(es.shape) == tuple(ts.shape), (name, shape)
        assert str(es.dtype).split(".")[-1] == str(ts.dtype).split(".")[-1], (name, es.dtype, ts.dtype)
        assert es.device.type == device
        assert not es.requires_grad
        assert bool(ed.support.check(es).all()), name
    assert ed.has_rsample == td.has_rsample
    if td.has_rsample:
        assert tuple(ed.rsample((4,)).shape) == tuple(td.rsample((4,)).shape)


@pytest.mark.parametrize("name", NAMES)
def test_expand_and_log_prob_at_torch_samples(device, name):
    """``expand`` gives PyTorch's shapes, and log_prob / entropy of the expanded distribution agree
    with PyTorch's at PyTorch's own draws."""
    td, ed = _dists(torch, "cpu", "float64")[name], _dists(ember, device, "float64")[name]
    shape = (3,) + tuple(td.batch_shape)
    td, ed = td.expand(shape), ed.expand(shape)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape) and tuple(ed.event_shape) == tuple(td.event_shape)
    torch.manual_seed(0)
    x = td.sample((2,))
    expected = td.log_prob(x).numpy()
    got = ed.log_prob(ember.tensor(x.numpy(), device=device)).cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=name)
    try:
        t_entropy = td.entropy().numpy()
    except (NotImplementedError, AttributeError) as exc:  # an expanded Multinomial has no _binomial in PyTorch
        with pytest.raises(type(exc)):
            ed.entropy()
        return
    np.testing.assert_allclose(ed.entropy().cpu().numpy(), t_entropy, rtol=1e-6, atol=1e-9, err_msg=name)


# ---- samples: statistics ----------------------------------------------------------------------
N = 20000


@pytest.mark.parametrize("name", NAMES)
def test_sample_statistics(device, name):
    """The mean and variance of 20k draws agree with the distribution's (a few standard errors)."""
    ember.manual_seed(1234)
    ed = _dists(ember, device, "float64")[name]
    td = _dists(torch, "cpu", "float64")[name]
    x = ed.sample((N,)).double().cpu().numpy()
    if name == "Cauchy":  # no mean or variance: the quartiles are loc -+ scale
        loc, scale = td.loc.numpy(), td.scale.numpy()
        for q, z in ((0.25, -1.0), (0.5, 0.0), (0.75, 1.0)):
            np.testing.assert_allclose((x <= loc + z * scale).mean(0), q, atol=5 * math.sqrt(q * (1 - q) / N))
        return
    if name == "Categorical":  # mean/variance are NaN there: compare the frequencies with probs
        freq = np.stack([(x == k).mean(0) for k in range(3)], -1)
        p = td.probs.numpy()
        np.testing.assert_allclose(freq, p, atol=5 * np.sqrt(0.25 / N))
        return
    mean, var = td.mean.numpy(), td.variance.numpy()
    se_mean = np.sqrt(var / N)
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * se_mean.max() + 1e-12, err_msg=name)
    # the variance's standard error from the fourth moment of the draws themselves
    centred = x - x.mean(0)
    se_var = np.sqrt(np.maximum(((centred**2 - var) ** 2).mean(0), 1e-30) / N)
    np.testing.assert_allclose(centred.var(0) if name != "MultivariateNormal" else (centred**2).mean(0), var,
                               atol=6 * se_var.max() + 1e-12, err_msg=name)


def test_mvn_sample_covariance(device):
    ember.manual_seed(7)
    cov = [[2.0, 0.5], [0.5, 1.0]]
    d = ember.distributions.MultivariateNormal(ember.zeros(2, dtype=ember.float64, device=device),
                                               covariance_matrix=ember.tensor(cov, dtype=ember.float64, device=device))
    x = d.sample((N,)).cpu().numpy()
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.06)


@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0, 2.5, 9.0, 50.0])
def test_gamma_sampler_moments(device, alpha):
    """Marsaglia-Tsang (and the alpha < 1 boost): mean alpha, variance alpha, and P(X <= median)."""
    ember.manual_seed(int(alpha * 100))
    x = ember.distributions.Gamma(ember.full((N,), alpha, dtype=ember.float64, device=device), 1.0).sample()
    x = x.cpu().numpy()
    assert (x > 0).all()
    np.testing.assert_allclose(x.mean(), alpha, atol=5 * math.sqrt(alpha / N))
    np.testing.assert_allclose(x.var(), alpha, rtol=0.1 if alpha > 0.1 else 0.25)
    # the CDF at torch's quantiles: a Kolmogorov-Smirnov-style check at a few points
    tg = torch.distributions.Gamma(torch.tensor(alpha, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    for q in (0.1, 0.5, 0.9):
        lo, hi = 0.0, max(10.0, alpha * 4)
        for _ in range(80):  # bisection on torch's CDF
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if tg.cdf(torch.tensor(mid, dtype=torch.float64)).item() < q else (lo, mid)
        assert abs((x <= lo).mean() - q) < 5 * math.sqrt(q * (1 - q) / N)


# ---- the Gamma reparameterised gradient -------------------------------------------------------
def test_standard_gamma_grad_matches_torch(device):
    """ember's d(sample)/d(alpha) formula against torch._standard_gamma_grad at the same (alpha, x),
    over every branch (x < 0.8, alpha > 8 near and far from the mode, the rational fit)."""
    from ember.distributions._gamma import standard_gamma_grad

    alpha = np.array([0.1, 0.5, 1.0, 3.0, 7.0, 9.0, 9.0, 20.0, 20.0, 100.0, 2.0, 0.3, 12.0, 5.0])
    x = np.array([0.05, 0.7, 2.0, 3.5, 6.0, 9.5, 3.0, 30.0, 19.0, 104.0, 0.2, 1.5, 10.0, 0.79])
    expected = torch._standard_gamma_grad(torch.from_numpy(alpha), torch.from_numpy(x)).numpy()
    got = standard_gamma_grad(ember.tensor(alpha, device=device), ember.tensor(x, device=device)).cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)
    got32 = standard_gamma_grad(ember.tensor(alpha, dtype=ember.float32, device=device),
                                ember.tensor(x, dtype=ember.float32, device=device)).cpu().numpy()
    np.testing.assert_allclose(got32, expected, rtol=5e-4)  # PyTorch's float32 kernel computes in double


@pytest.mark.parametrize("alpha", [0.4, 3.0, 15.0])
def test_gamma_rsample_gradient(device, alpha):
    """E[d x / d alpha] = d E[x] / d alpha = 1 / rate and E[d x / d rate] = -alpha / rate^2."""
    ember.manual_seed(3)
    conc = ember.tensor(alpha, dtype=ember.float64, device=device, requires_grad=True)
    rate = ember.tensor(2.0, dtype=ember.float64, device=device, requires_grad=True)
    x = ember.distributions.Gamma(conc, rate).rsample((N,))
    x.mean().backward()
    # the per-sample gradient's spread bounds the standard error
    np.testing.assert_allclose(conc.grad.item(), 0.5, rtol=0.06)
    np.testing.assert_allclose(rate.grad.item(), -alpha / 4, rtol=0.06)


def test_dirichlet_and_beta_rsample_gradient(device):
    """E[x_0] = a_0 / sum(a): the mean of rsample's gradients matches that of the mean."""
    ember.manual_seed(5)
    a = ember.tensor([1.5, 2.0, 0.5], dtype=ember.float64, device=device, requires_grad=True)
    ember.distributions.Dirichlet(a).rsample((N,))[:, 0].mean().backward()
    total = 4.0
    expected = np.array([1 / total - 1.5 / total**2, -1.5 / total**2, -1.5 / total**2])
    np.testing.assert_allclose(a.grad.cpu().numpy(), expected, atol=0.01)
    c1 = ember.tensor(2.0, dtype=ember.float64, device=device, requires_grad=True)
    c0 = ember.tensor(3.0, dtype=ember.float64, device=device, requires_grad=True)
    ember.distributions.Beta(c1, c0).rsample((N,)).mean().backward()
    np.testing.assert_allclose([c1.grad.item(), c0.grad.item()], [3 / 25, -2 / 25], atol=0.01)


def test_straight_through_rsample_gradient(device):
    logits = ember.tensor([0.0, 1.0, -1.0], device=device, requires_grad=True)
    d = ember.distributions.OneHotCategoricalStraightThrough(logits=logits)
    x = d.rsample((4,))
    assert bool((x.detach().sum(-1) == 1).all())
    (x * ember.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    t_logits = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    t = torch.distributions.OneHotCategoricalStraightThrough(logits=t_logits).rsample((4,))
    (t * torch.tensor([1.0, 2.0, 3.0])).sum().backward()  # the gradient does not depend on the draw
    np.testing.assert_allclose(logits.grad.cpu().numpy(), t_logits.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_normal_rsample_gradient(device):
    loc = ember.tensor([1.0], device=device, requires_grad=True)
    scale = ember.tensor([2.0], device=device, requires_grad=True)
    ember.manual_seed(0)
    x = ember.distributions.Normal(loc, scale).rsample((5,))
    x.sum().backward()
    assert loc.grad.tolist() == [5.0]
    ember.manual_seed(0)
    eps = ember.randn((5, 1), device=device)
    np.testing.assert_allclose(scale.grad.cpu().numpy(), eps.sum(0).cpu().numpy(), rtol=1e-5)


# ---- validation -------------------------------------------------------------------------------
def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - compared
        return type(exc), str(exc)
    return None


VALIDATION = [
    ("normal.scale", lambda L, d: D(L).Normal(L.tensor([0.0], device=d), L.tensor([-1.0], device=d))),
    ("normal.scalar", lambda L, d: D(L).Normal(0.0, -1.0)),
    ("normal.grad_fn", lambda L, d: D(L).Normal(L.tensor([0.0], device=d),
                                                L.tensor([-1.0], device=d, requires_grad=True) * 1)),
    ("normal.nan_loc", lambda L, d: D(L).Normal(L.tensor(float("nan"), device=d), 1.0)),
    ("normal.value", lambda L, d: D(L).Normal(0.0, 1.0).log_prob(1.0)),
    ("normal.value_shape", lambda L, d: D(L).Normal(L.zeros(3, device=d), 1.0).log_prob(L.zeros(2, device=d))),
    ("bernoulli.both", lambda L, d: D(L).Bernoulli(probs=0.5, logits=0.0)),
    ("bernoulli.none", lambda L, d: D(L).Bernoulli()),
    ("bernoulli.probs", lambda L, d: D(L).Bernoulli(probs=L.tensor([1.5], device=d))),
    ("bernoulli.support", lambda L, d: D(L).Bernoulli(probs=L.tensor([0.5], device=d)).log_prob(
        L.tensor([0.5], device=d))),
    ("categorical.0d", lambda L, d: D(L).Categorical(probs=L.tensor(1.0, device=d))),
    ("categorical.logits0d", lambda L, d: D(L).Categorical(logits=L.tensor(1.0, device=d))),
    ("categorical.negative", lambda L, d: D(L).Categorical(probs=L.tensor([0.5, -0.1], device=d))),
    ("categorical.support", lambda L, d: D(L).Categorical(probs=L.tensor([0.5, 0.5], device=d)).log_prob(
        L.tensor([2], device=d))),
    ("uniform.order", lambda L, d: D(L).Uniform(L.tensor([2.0], device=d), L.tensor([1.0], device=d))),
    ("uniform.support", lambda L, d: D(L).Uniform(0.0, 1.0).log_prob(L.tensor(2.0, device=d))),
    ("exponential.rate", lambda L, d: D(L).Exponential(L.tensor([0.0], device=d))),
    ("exponential.support", lambda L, d: D(L).Exponential(1.0).log_prob(L.tensor(-1.0, device=d))),
    ("laplace.scale", lambda L, d: D(L).Laplace(0.0, L.tensor([-2.0], device=d))),
    ("independent.ndims", lambda L, d: D(L).Independent(D(L).Normal(L.zeros(3, device=d), 1.0), 2)),
    ("gamma.conc", lambda L, d: D(L).Gamma(L.tensor([-1.0], device=d), 1.0)),
    ("beta.conc", lambda L, d: D(L).Beta(L.tensor([1.0], device=d), L.tensor([0.0], device=d))),
    ("dirichlet.0d", lambda L, d: D(L).Dirichlet(L.tensor(1.0, device=d))),
    ("dirichlet.conc", lambda L, d: D(L).Dirichlet(L.tensor([1.0, -1.0], device=d))),
    ("dirichlet.support", lambda L, d: D(L).Dirichlet(L.tensor([1.0, 1.0], device=d)).log_prob(
        L.tensor([0.3, 0.3], device=d))),
    ("poisson.rate", lambda L, d: D(L).Poisson(L.tensor([-1.0], device=d))),
    ("poisson.support", lambda L, d: D(L).Poisson(L.tensor([1.0], device=d)).log_prob(L.tensor([0.5], device=d))),
    ("binomial.count", lambda L, d: D(L).Binomial(L.tensor([2.5], device=d), probs=L.tensor([0.5], device=d))),
    ("binomial.both", lambda L, d: D(L).Binomial(3, probs=L.tensor([0.5], device=d), logits=L.tensor([0.5], device=d))),
    ("mvn.none", lambda L, d: D(L).MultivariateNormal(L.zeros(2, device=d))),
    ("mvn.loc0d", lambda L, d: D(L).MultivariateNormal(L.tensor(0.0, device=d), L.eye(2, device=d))),
    ("mvn.tril", lambda L, d: D(L).MultivariateNormal(L.zeros(2, device=d),
                                                      scale_tril=L.tensor([[1.0, 1.0], [0.0, 1.0]], device=d))),
    ("mvn.cov_1d", lambda L, d: D(L).MultivariateNormal(L.zeros(2, device=d), covariance_matrix=L.ones(2, device=d))),
    ("mvn.not_pd", lambda L, d: D(L).MultivariateNormal(L.zeros(2, device=d), covariance_matrix=L.tensor(
        [[1.0, 2.0], [2.0, 1.0]], device=d))),
    ("geometric.zero", lambda L, d: D(L).Geometric(probs=L.tensor([0.0, 0.5], device=d))),
    ("geometric.support", lambda L, d: D(L).Geometric(probs=L.tensor([0.5], device=d)).log_prob(
        L.tensor([1.5], device=d))),
    ("multinomial.count", lambda L, d: D(L).Multinomial(L.tensor(3), probs=L.tensor([0.5, 0.5], device=d))),
    ("multinomial.support", lambda L, d: D(L).Multinomial(2, probs=L.tensor([0.5, 0.5], device=d)).log_prob(
        L.tensor([2.0, 1.0], device=d))),
    ("studentt.df", lambda L, d: D(L).StudentT(L.tensor([-1.0], device=d))),
    ("halfnormal.support", lambda L, d: D(L).HalfNormal(1.0).log_prob(L.tensor(-1.0, device=d))),
    ("gumbel.scale", lambda L, d: D(L).Gumbel(0.0, L.tensor([-1.0], device=d))),
    ("chi2.df", lambda L, d: D(L).Chi2(L.tensor([0.0], device=d))),
    ("lognormal.scale", lambda L, d: D(L).LogNormal(0.0, -1.0)),
    ("lognormal.support", lambda L, d: D(L).LogNormal(0.0, 1.0).log_prob(L.tensor(-1.0, device=d))),
    ("set_default_validate_args", lambda L, d: D(L).Distribution.set_default_validate_args(2)),
    ("broadcast_all", lambda L, d: D(L).Normal("a", 1.0)),
]


@pytest.mark.parametrize("idx", range(len(VALIDATION)), ids=_ids(VALIDATION))
def test_validation_errors(device, idx):
    _, fn = VALIDATION[idx]
    t_err = _error(lambda: fn(torch, "cpu"))
    e_err = _error(lambda: fn(ember, device))
    assert t_err is not None
    assert e_err is not None, f"ember raised nothing; torch raised {t_err}"
    assert e_err[0] is t_err[0] or issubclass(e_err[0], t_err[0]), (e_err, t_err)
    # the messages match, up to each framework's tensor repr (device suffix, 'torch.'/'ember.')
    strip = lambda s: s.replace("torch.Size", "Size").replace("ember.Size", "Size").replace(  # noqa: E731
        f", device='{device}:0'", "").replace(f", device='{device}'", "")
    assert strip(e_err[1]) == strip(t_err[1])


def test_validate_args_off_and_default(device):
    for lib in (torch, ember):
        d = D(lib).Normal(lib.tensor([0.0]), lib.tensor([-1.0]), validate_args=False)
        assert d.log_prob(lib.tensor([0.0])).isnan().all()
        D(lib).Distribution.set_default_validate_args(False)
        try:
            D(lib).Normal(0.0, -1.0)
            D(lib).Uniform(0.0, 1.0).log_prob(lib.tensor(2.0))
        finally:
            D(lib).Distribution.set_default_validate_args(True)
        with pytest.raises(ValueError):
            D(lib).Normal(0.0, -1.0)


def test_constraints_match_torch(device):
    x = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0, np.nan]])
    names = ["real", "positive", "nonnegative", "unit_interval", "boolean", "nonnegative_integer", "positive_integer"]
    for name in names:
        t = getattr(torch.distributions.constraints, name).check(torch.from_numpy(x)).numpy()
        e = getattr(ember.distributions.constraints, name).check(ember.tensor(x, device=device)).cpu().numpy()
        np.testing.assert_array_equal(e, t, err_msg=name)
        assert repr(getattr(ember.distributions.constraints, name)) == repr(getattr(torch.distributions.constraints,
                                                                                     name))
    for make in [lambda c: c.interval(0.0, 1.0), lambda c: c.half_open_interval(0.0, 1.0),
                 lambda c: c.greater_than(0.5), lambda c: c.less_than(0.5), lambda c: c.integer_interval(0, 1),
                 lambda c: c.independent(c.positive, 1), lambda c: c.greater_than_eq(0.5)]:
        tc, ec = make(torch.distributions.constraints), make(ember.distributions.constraints)
        assert repr(ec) == repr(tc)
        np.testing.assert_array_equal(ec.check(ember.tensor(x, device=device)).cpu().numpy(),
                                      tc.check(torch.from_numpy(x)).numpy())
    s = np.array([[0.2, 0.8], [0.5, 0.6], [1.0, 0.0]])
    for name in ["simplex", "one_hot"]:
        t = getattr(torch.distributions.constraints, name).check(torch.from_numpy(s)).numpy()
        e = getattr(ember.distributions.constraints, name).check(ember.tensor(s, device=device)).cpu().numpy()
        np.testing.assert_array_equal(e, t, err_msg=name)
    m = np.array([[[1.0, 0.0], [0.5, 2.0]], [[1.0, 0.1], [0.5, 2.0]], [[-1.0, 0.0], [0.5, 2.0]]])
    for name in ["lower_triangular", "lower_cholesky", "square", "symmetric", "positive_definite",
                 "positive_semidefinite"]:
        t = getattr(torch.distributions.constraints, name).check(torch.from_numpy(m)).numpy()
        e = getattr(ember.distributions.constraints, name).check(ember.tensor(m, device=device)).cpu().numpy()
        np.testing.assert_array_equal(e, t, err_msg=name)


def test_repr_shapes_and_lazy_params(device):
    for lib in (torch, ember):
        loc, scale = lib.zeros(3), lib.ones(3)
        d = D(lib).Normal(loc, scale)
        assert d.loc is loc and d.scale is scale  # already broadcast: the same tensors
        assert tuple(D(lib).Normal(loc, lib.ones(2, 1)).loc.shape) == (2, 3)
        b = D(lib).Bernoulli(logits=lib.tensor([0.0, 1.0]))
        assert "probs" not in b.__dict__
        _ = b.probs
        assert "probs" in b.__dict__
    e = ember.distributions.Normal(ember.zeros(2, device=device), 1.0)
    t = torch.distributions.Normal(torch.zeros(2), 1.0)
    assert repr(e).replace("ember.", "torch.") == repr(t)
    assert repr(ember.distributions.Normal(0.0, 1.0)) == repr(torch.distributions.Normal(0.0, 1.0))
    ei = ember.distributions.Independent(ember.distributions.Normal(ember.zeros(2, 3), 1.0), 1).expand((4, 2))
    ti = torch.distributions.Independent(torch.distributions.Normal(torch.zeros(2, 3), 1.0), 1).expand((4, 2))
    assert tuple(ei.batch_shape) == tuple(ti.batch_shape) and tuple(ei.event_shape) == tuple(ti.event_shape)
    assert tuple(ei.sample((5,)).shape) == tuple(ti.sample((5,)).shape)
