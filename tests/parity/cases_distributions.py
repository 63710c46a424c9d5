"""Parity rows for ``ember.distributions`` (issue #14 section 4): log_prob, cdf/icdf, entropy and
kl_divergence of the elementwise distributions over the table's layouts (0-d, empty, broadcasting,
transposed, strided, expanded inputs), values and gradients. Sampling, validation and the
multivariate distributions are in test_fix_distributions.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_cases import FLOAT, In, OpSpec, Sample, listed

S = Sample


def D(lib: Any) -> Any:  # noqa: N802
    return lib.distributions


def _elementwise(*kinds: str, value: str | None = None) -> Callable[[str], list[Sample]]:
    """Samples for a distribution with one parameter per entry of ``kinds`` and, when ``value`` is
    given, a value of that kind: same shape, broadcasting, 0-d, empty and non-contiguous layouts."""

    def make(shape_p: tuple, shape_v: tuple | None = None, layout: str = "contiguous") -> tuple:
        params = tuple(In(shape_p, kind=k, layout=layout) for k in kinds)
        return params + ((In(shape_v if shape_v is not None else shape_p, kind=value, layout=layout),)
                         if value else ())

    return listed(S("vec", make((4,))), S("broadcast", make((3,), (2, 3)) if value else make((2, 3))),
                  S("scalar", make(())), S("empty", make((0, 3))), S("transposed", make((3, 4), layout="T")),
                  S("strided", make((3, 4), layout="step")), S("expanded", make((3, 4), layout="expand")))


def _kl(make_p: Callable, make_q: Callable) -> Callable:
    return lambda lib, *a: D(lib).kl_divergence(make_p(lib, *a), make_q(lib, *a))


def rows() -> list[OpSpec]:
    normal = lambda lib, m, s: D(lib).Normal(m, s)  # noqa: E731
    laplace = lambda lib, m, s: D(lib).Laplace(m, s)  # noqa: E731
    return [
        OpSpec("distributions.Normal.log_prob", lambda lib, m, s, x: normal(lib, m, s).log_prob(x),
               _elementwise("any", "positive", value="any"), FLOAT),
        OpSpec("distributions.Normal.cdf", lambda lib, m, s, x: normal(lib, m, s).cdf(x),
               _elementwise("any", "positive", value="any"), FLOAT),
        OpSpec("distributions.Normal.icdf", lambda lib, m, s, u: normal(lib, m, s).icdf(u),
               _elementwise("any", "positive", value="unit"), FLOAT, tol=5.0),
        OpSpec("distributions.Normal.entropy", lambda lib, m, s: normal(lib, m, s).entropy(),
               _elementwise("any", "positive"), FLOAT),
        OpSpec("distributions.Laplace.log_prob", lambda lib, m, s, x: laplace(lib, m, s).log_prob(x),
               _elementwise("any", "positive", value="any"), FLOAT),
        OpSpec("distributions.Laplace.cdf", lambda lib, m, s, x: laplace(lib, m, s).cdf(x),
               _elementwise("any", "positive", value="any"), FLOAT),
        OpSpec("distributions.Exponential.log_prob", lambda lib, r, x: D(lib).Exponential(r).log_prob(x),
               _elementwise("positive", value="positive"), FLOAT),
        OpSpec("distributions.Exponential.icdf", lambda lib, r, u: D(lib).Exponential(r).icdf(u),
               _elementwise("positive", value="unit"), FLOAT),
        OpSpec("distributions.Bernoulli.logits.log_prob",
               lambda lib, lg, x: D(lib).Bernoulli(logits=lg).log_prob((x > 0).to(lg.dtype)),
               _elementwise("any", value="any"), FLOAT),
        OpSpec("distributions.Bernoulli.probs.entropy", lambda lib, p: D(lib).Bernoulli(probs=p).entropy(),
               _elementwise("unit"), FLOAT),
        OpSpec("distributions.Uniform.entropy", lambda lib, lo, w: D(lib).Uniform(lo, lo + w).entropy(),
               _elementwise("any", "positive"), FLOAT),
        OpSpec("distributions.Gamma.log_prob", lambda lib, a, b, x: D(lib).Gamma(a, b).log_prob(x),
               _elementwise("positive", "positive", value="positive"), FLOAT, tol=5.0),
        OpSpec("distributions.Gamma.entropy", lambda lib, a, b: D(lib).Gamma(a, b).entropy(),
               _elementwise("positive", "positive"), FLOAT, tol=5.0),
        OpSpec("distributions.Beta.log_prob", lambda lib, a, b, x: D(lib).Beta(a, b).log_prob(x),
               _elementwise("positive", "positive", value="unit"), FLOAT, tol=5.0),
        OpSpec("distributions.Poisson.log_prob", lambda lib, r, x: D(lib).Poisson(r).log_prob(x.floor()),
               _elementwise("positive", value="positive"), FLOAT, tol=5.0),
        OpSpec("distributions.LogNormal.log_prob", lambda lib, m, s, x: D(lib).LogNormal(m, s).log_prob(x),
               _elementwise("any", "positive", value="positive"), FLOAT, tol=5.0),
        OpSpec("distributions.kl.Normal.Normal", _kl(lambda lib, a, b, c, d: D(lib).Normal(a, b),
                                                     lambda lib, a, b, c, d: D(lib).Normal(c, d)),
               _elementwise("any", "positive", "any", "positive"), FLOAT),
        OpSpec("distributions.kl.Gamma.Gamma", _kl(lambda lib, a, b, c, d: D(lib).Gamma(a, b),
                                                   lambda lib, a, b, c, d: D(lib).Gamma(c, d)),
               _elementwise("positive", "positive", "positive", "positive"), FLOAT, tol=5.0),
        OpSpec("distributions.Categorical.log_prob", lambda lib, lg, i: D(lib).Categorical(logits=lg).log_prob(i),
               listed(S("vec", (In((4,)), In((3,), kind="index", high=4))),
                      S("batch", (In((2, 5)), In((3, 2), kind="index", high=5))),
                      S("transposed", (In((4, 3), layout="T"), In((4,), kind="index", high=4))),
                      S("expanded", (In((3, 4), layout="expand"), In((3,), kind="index", high=4)))), FLOAT),
        OpSpec("distributions.Categorical.entropy", lambda lib, p: D(lib).Categorical(probs=p).entropy(),
               listed(S("vec", (In((4,), kind="positive"),)), S("batch", (In((2, 5), kind="positive"),)),
                      S("strided", (In((3, 4), kind="positive", layout="step"),))), FLOAT),
        OpSpec("distributions.Dirichlet.log_prob",
               lambda lib, c, x: D(lib).Dirichlet(c).log_prob(x / x.sum(-1, keepdim=True)),
               listed(S("vec", (In((3,), kind="positive"), In((3,), kind="positive"))),
                      S("batch", (In((2, 4), kind="positive"), In((5, 2, 4), kind="positive"))),
                      S("transposed", (In((4, 3), kind="positive", layout="T"), In((3, 4), kind="positive")))),
               FLOAT, tol=5.0),
    ]
