"""Parity rows for the special functions of ``ember.functions.special`` and ``ember.special``: the
inverse trigonometric and hyperbolic functions, exp2, lgamma/digamma/polygamma, erfc/erfinv, logit,
sinc, xlogy, deg2rad/rad2deg, and torch.special's names (issue #14 sections 3/4).

Every op runs on the float dtypes with every sample and on int64/bool (which promote to float32)
with the core ones; domain edges (NaN, +-inf, +-0, 1; the poles of lgamma/digamma at the integers;
inputs outside the domain, which give NaN) have rows of their own, gradients included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_cases import BOOL, F32, F64, I64, In, OpSpec, S, binary, listed, method, ns, unary

FLOAT = (F32, F64)
PROMOTING = (F32, F64, I64, BOOL)


def sp(name: str) -> Callable[..., Any]:
    """``lib.special.<name>(*args)``."""
    return lambda lib, *a, **k: getattr(lib.special, name)(*a, **k)


def _edges(*kinds: str, shape: tuple = (4, 5)) -> Callable[[str], list]:
    """One sample per value domain (special: NaN, +-inf, +-0, 1; ties: the integers -2..2)."""
    return listed(*(S(kind, (In(shape, kind=kind),)) for kind in kinds))


# name: (the domain of the main row, the domains of the edge row)
UNARY: dict[str, tuple[str, tuple[str, ...]]] = {
    "asin": ("unit", ("any", "special")), "acos": ("unit", ("any", "special")),
    "atan": ("any", ("special", "large")), "sinh": ("any", ("special", "ties")),
    "cosh": ("any", ("special", "ties")), "asinh": ("any", ("special", "large")),
    "acosh": ("positive", ("special", "large", "ties")), "atanh": ("unit", ("any", "special", "ties")),
    "exp2": ("any", ("special", "ties")), "erfc": ("any", ("special", "large")),
    "erfinv": ("unit", ("any", "special", "ties")), "lgamma": ("any", ("special", "ties", "positive", "large")),
    "digamma": ("any", ("special", "ties", "positive", "large")), "sinc": ("any", ("special", "ties", "zeros_some")),
    "deg2rad": ("any", ("special",)), "rad2deg": ("any", ("special",)),
    "i0": ("any", ("special", "large", "ties")),
}
ALIASES = {"arcsin": "unit", "arccos": "unit", "arctan": "any", "arcsinh": "any", "arccosh": "positive",
           "arctanh": "unit"}


def _unary_rows() -> list[OpSpec]:
    rows = []
    for name, (kind, edges) in UNARY.items():
        rows += [
            OpSpec(name, ns(name), unary(kind), PROMOTING),
            OpSpec(f"{name}.edges", ns(name), _edges(*edges), FLOAT),
            OpSpec(f"{name}.method", method(name), listed(S("matrix", (In((3, 4), kind=kind),))), (F32,)),
        ]
    rows += [OpSpec(name, ns(name), unary(kind), (F32, I64)) for name, kind in ALIASES.items()]
    return rows


def _gamma_rows() -> list[OpSpec]:
    def poly(n: int) -> Callable[..., Any]:
        return lambda lib, x: lib.polygamma(n, x)

    rows = [OpSpec(f"polygamma.n{n}", poly(n), unary("any"), PROMOTING) for n in (0, 1, 2, 3)]
    rows += [
        OpSpec(f"polygamma.n{n}.edges", poly(n), _edges("special", "positive", "large"), FLOAT)
        for n in (0, 1, 2, 3)
    ]
    rows += [
        # trigamma is PyTorch's own reflection formula, also at the poles (a huge finite value)
        OpSpec("polygamma.n1.poles", poly(1), _edges("ties"), FLOAT),
        OpSpec("polygamma.method", lambda lib, x: x.polygamma(2), listed(S("matrix", (In((3, 4)),))), (F32,)),
        OpSpec("polygamma.negative_n", lambda lib, x: lib.polygamma(-1, x), listed(S("bad", (In((3,)),))), (F32,)),
        # the backward of digamma is trigamma, whose backward is polygamma(2): twice differentiable
        OpSpec("lgamma.double_grad", lambda lib, x: lib.autograd.grad(lib.lgamma(x).sum(), x, create_graph=True)[0],
               listed(S("positive", (In((3, 4), kind="positive"),)), S("any", (In((5,)),))), FLOAT),
    ]
    return rows


def _logit_rows() -> list[OpSpec]:
    return [
        OpSpec("logit", ns("logit"), unary("unit"), PROMOTING),
        OpSpec("logit.eps", ns("logit"), unary("unit", eps=0.2), FLOAT),
        # (15 elements: PyTorch's gradient at -0.0 differs between its scalar and its vectorised loop, which
        # takes whole chunks of 16 or 32 elements; ember gives the scalar loop's)
        OpSpec("logit.edges", ns("logit"), _edges("any", "special", "zeros_some", shape=(3, 5)), FLOAT),
        OpSpec("logit.eps_edges", lambda lib, x: lib.logit(x, 1e-6),
               _edges("any", "special", "zeros_some", "ties", shape=(3, 5)), FLOAT),
        OpSpec("logit.method", lambda lib, x: x.logit(0.25), listed(S("matrix", (In((3, 4), kind="unit"),))), (F32,)),
    ]


def _xlogy_rows() -> list[OpSpec]:
    edges = listed(
        S("zeros", (In((4, 5), kind="zeros_some"), In((4, 5), kind="zeros_some"))),
        S("special", (In((4, 5), kind="special"), In((4, 5), kind="special"))),
        S("zero_x_nan_y", (In((4, 5), kind="zeros_some"), In((4, 5), kind="special"))),
        S("int_float", (In((3, 4), dtype=I64), In((4,), dtype=F32, kind="positive"))),
        S("bool_bool", (In((3,), dtype=BOOL), In((3,), dtype=BOOL))),
        S("number_x", (2, In((3, 4), kind="positive"))),
        S("zero_number_x", (0.0, In((3, 4), kind="zeros_some"))),
        S("f64_zerod", (In((3,), dtype=F32, kind="positive"), In((), dtype=F64, kind="positive"))),
    )
    return [
        OpSpec("xlogy", ns("xlogy"), binary("any", "positive"), (F32, F64, I64)),
        OpSpec("xlogy.edges", ns("xlogy"), edges, FLOAT),
        OpSpec("xlogy.method", method("xlogy"), listed(S("same", (In((3, 4)), In((3, 4), kind="positive"))),
                                                       S("scalar", (In((3, 4)), 3.0))), (F32,)),
        OpSpec("special.xlogy", sp("xlogy"), binary("any", "positive"), FLOAT),
        OpSpec("special.xlog1py", sp("xlog1py"), binary("any", "positive"), (F32, F64, I64)),
        OpSpec("special.xlog1py.edges", sp("xlog1py"), edges, FLOAT),
    ]


# torch.special name -> (domain, dtypes)
SPECIAL = {
    "expit": ("any", PROMOTING), "logit": ("unit", FLOAT), "erf": ("any", FLOAT), "erfc": ("any", PROMOTING),
    "erfinv": ("unit", FLOAT), "gammaln": ("any", PROMOTING), "digamma": ("any", FLOAT), "psi": ("any", FLOAT),
    "exp2": ("any", FLOAT), "expm1": ("any", FLOAT), "log1p": ("positive", FLOAT), "sinc": ("any", FLOAT),
    "entr": ("any", PROMOTING), "ndtr": ("any", PROMOTING), "log_ndtr": ("any", PROMOTING), "round": ("any", FLOAT),
    "i0": ("any", FLOAT), "i0e": ("any", PROMOTING), "i1": ("any", PROMOTING), "i1e": ("any", PROMOTING),
    "ndtri": ("unit", PROMOTING),
}


def _special_rows() -> list[OpSpec]:
    rows = [OpSpec(f"special.{name}", sp(name), unary(kind), dtypes) for name, (kind, dtypes) in SPECIAL.items()]
    rows += [
        OpSpec("special.entr.edges", sp("entr"), _edges("special", "zeros_some", "ties"), FLOAT),
        OpSpec("special.ndtr.edges", sp("ndtr"), _edges("special", "large"), FLOAT),
        OpSpec("special.ndtri.edges", sp("ndtri"), _edges("special", "any", "zeros_some"), FLOAT),
        # down to 1e-11, the z = 1 / sqrt(-2 log y) branches; the gradient exp(x^2 / 2) scales PyTorch's
        # float32 rounding of ndtri (computed in float, ember's in double)
        OpSpec("special.ndtri.tails", lambda lib, x: lib.special.ndtri(x ** 8), _edges("unit"), FLOAT, grad_tol=4),
        *(OpSpec(f"special.{name}.edges", sp(name), _edges("special", "large", "ties", "zeros_some"), FLOAT)
          for name in ("i0e", "i1", "i1e")),
        OpSpec("special.log_ndtr.edges", sp("log_ndtr"), _edges("special", "ties"), FLOAT),
        # far in the lower tail PyTorch's own float32 gradient, exp(-(result + x^2 / 2)), cancels (x^2 / 2
        # ~ 1e5): compared in float64, where both are exact
        OpSpec("special.log_ndtr.tail", lambda lib, x: lib.special.log_ndtr(x * 10), _edges("any", "large"), (F64,)),
        OpSpec("special.zeta", lambda lib, x, q: lib.special.zeta(x + 1, q), binary("positive", "positive"), FLOAT),
        OpSpec("special.zeta.edges", sp("zeta"),
               listed(S("integers", (In((4, 5), kind="ties"), In((4, 5), kind="special"))),
                      S("negative_q", (In((4, 5), kind="ties", grad=False), In((4, 5)))),
                      S("special_x", (In((4, 5), kind="special", grad=False), In((4, 5), kind="positive"))),
                      S("number_x", (3, In((3, 4)))), S("number_q", (In((3, 4), kind="positive"), 2.5)),
                      S("ints", (In((3,), dtype=I64, kind="positive"), In((3,), dtype=I64, kind="positive")))),
               FLOAT),
        OpSpec("special.polygamma", sp("polygamma"), listed(S("n1", (1, In((3, 4)))), S("n0", (0, In((5,))))),
               FLOAT),
        OpSpec("special.multigammaln", sp("multigammaln"),
               listed(S("p1", (In((3, 4), kind="positive"), 1)), S("p3", (In((3, 4), kind="positive"), 3)),
                      S("below", (In((5,), kind="unit"), 4)), S("p0", (In((3,), kind="positive"), 0))), FLOAT),
        OpSpec("special.logsumexp", sp("logsumexp"), listed(S("dim1", (In((3, 4)), 1)),
                                                           S("keepdim", (In((3, 4)), 0, True))), FLOAT),
        OpSpec("special.softmax", sp("softmax"), listed(S("dim1", (In((3, 4)), 1)),
                                                       S("dtype", (In((3, 4)), 0), {"dtype": "dtype:float64"})),
               FLOAT),
        OpSpec("special.log_softmax", sp("log_softmax"), listed(S("dim1", (In((3, 4)), 1))), FLOAT),
        OpSpec("special.round.decimals", lambda lib, x: lib.special.round(x * 100, decimals=1),
               listed(S("matrix", (In((3, 4)),))), FLOAT),
    ]
    return rows


def rows() -> list[OpSpec]:
    return _unary_rows() + _gamma_rows() + _logit_rows() + _xlogy_rows() + _special_rows()
