"""Unary special and transcendental functions: inverse trigonometric and hyperbolic functions, exp2,
lgamma/digamma/polygamma, erfc/erfinv, logit, sinc, xlogy, deg2rad/rad2deg, the Bessel functions i0 (and
i0e/i1/i1e for ``ember.special``) (issue #14 section 3/4).

Integer and bool inputs promote to the default float dtype, as in PyTorch. The kernels these ops
use (``asin``... ``exp2``, ``erfc``, ``lgamma``, ``digamma``) are optional: a backend without one
runs the composite of required kernels written next to the op, on its own device. Gradients are
PyTorch's formulas, written in ember ops (so they are differentiable again), poles included.

Example:
    >>> import ember
    >>> ember.lgamma(ember.tensor([0.5, 1.0, 3.0]))
    tensor([0.5724, 0.0000, 0.6931])
    >>> ember.tensor([0.5]).asin()
    tensor([0.5236])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.functions import elementwise as _ew
from ember.functions.complex_ops import refuse_complex
from ember.functions.creation import full_like, tensor
from ember.functions.elementwise import (
    abs,
    atan2,
    cos,
    erf,
    exp,
    expm1,
    isinf,
    isnan,
    log,
    log1p,
    logical_and,
    logical_or,
    round,
    rsqrt,
    sin,
    sqrt,
    where,
)
from ember.tensor import Tensor
from ember.typeinfo import finfo

_LN2 = math.log(2.0)
_SQRT_PI = math.sqrt(math.pi)


# ---- helpers -----------------------------------------------------------------------------------
def _as_float(name: str, x: Any) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    if x._dtype.is_complex:  # not implemented for complex yet: refuse rather than drop the imaginary part
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f'"{name}_{x._device.type}" not implemented for \'{type_word(x._dtype)}\'')
    return x if x._dtype.is_floating_point else x.to(_dt.get_default_dtype())


def _refuse_half(kernel: str, x: Tensor) -> Tensor:
    """PyTorch's CPU kernels of ndtri, log_ndtr and zeta have no float16/bfloat16 instance."""
    if x._dtype in (_dt.float16, _dt.bfloat16):
        word = "Half" if x._dtype is _dt.float16 else "BFloat16"
        raise NotImplementedError(f'"{kernel}_{x._device.type}" not implemented for \'{word}\'')
    return x


def _kernel_or(name: str, x: Tensor, composite: Callable[[Tensor], Tensor]) -> Tensor:
    """The backend's optional kernel ``name`` on float ``x``, or the composite on the same device."""
    kt = x._kt
    if kt.has(name):
        return x._new(kt[name](x._data))
    return composite(x)


def _in_float64(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """Run a composite in float64 and round back (PyTorch accumulates these in double too)."""
    def run(x: Tensor, *args: Any) -> Tensor:
        return fn(x, *args) if x._dtype is _dt.float64 else fn(x.to(_dt.float64), *args).to(x._dtype)
    return run


def _half_in_float32(fn: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """Run a composite on float16/bfloat16 in float32 and round back, as PyTorch computes half ops:
    intermediates such as expm1(x) in sinh overflow the half range before the result does."""
    def run(x: Tensor) -> Tensor:
        return fn(x) if x._dtype.itemsize > 2 else fn(x.to(_dt.float32)).to(x._dtype)
    return run


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    """``out=``: PyTorch refuses to write a float result into an integer or bool tensor."""
    if out is not None and result._dtype.category > out._dtype.category:
        names = _ew._CAN_CAST_NAMES
        raise RuntimeError(f"result type {names[result._dtype]} can't be cast to the desired output type "
                           f"{names[out._dtype]}")
    return _ew._out(result, out)


class _Unary(Function):
    """A unary float op: optional kernel ``_kernel`` or ``composite``; ``derivative`` in ember ops."""

    _kernel = ""
    _saves = "input"  # or "output"
    complex_form: Callable | None = None  # the op on a complex tensor, where PyTorch has one

    @classmethod
    def forward(cls, ctx, x):
        if cls.complex_form is not None and isinstance(x, Tensor) and x._dtype.is_complex:
            out = cls.complex_form(x)
        else:
            x = _as_float(cls._name, x)
            composite = _half_in_float32(cls.composite)
            out = _kernel_or(cls._kernel, x, composite) if cls._kernel else composite(x)
        ctx.save_for_backward(out if cls._saves == "output" else x)
        return out

    @classmethod
    def backward(cls, ctx, g):
        (saved,) = ctx.saved_tensors
        return g * _ew._cj(cls.derivative(saved))  # conj(f'(z)) for complex z, PyTorch's convention


def _unary(name: str, composite: Callable, derivative: Callable, *, kernel: bool = True,
           saves: str = "input", complex_form: Callable | None = None) -> type:
    cls_name = name.capitalize()
    return type(cls_name, (_Unary,), {
        "_name": name, "_kernel": name if kernel else "", "_saves": saves, "_backward_name": cls_name + "Backward0",
        "composite": staticmethod(composite), "derivative": staticmethod(derivative),
        "complex_form": None if complex_form is None else staticmethod(complex_form)})


def _complex_kernel(name: str) -> Callable[[Tensor], Tensor]:
    """The backend's kernel ``name`` on complex data: NumPy's (and CuPy's) complex inverse
    trigonometric functions follow C99 Annex G, as PyTorch's (std::asin...) do, special values
    and branch cuts (signed zeros) included. A backend without the kernel refuses, as before."""
    def run(z: Tensor) -> Tensor:
        kt = z._kt
        if not kt.has(name):
            from ember.functions.complex_ops import type_word

            raise NotImplementedError(f'"{name}_{z._device.type}" not implemented for \'{type_word(z._dtype)}\'')
        return z._new(kt[name](z._data))
    return run


def _complex_kernel_or(name: str, z: Tensor, composite: Callable[[Tensor], Tensor]) -> Tensor:
    """The backend's complex kernel ``name`` (C's csinh/ccosh: their signed zeros and NaN cases),
    or the composite (C99's identities on complex sin/cos) where it has none."""
    return z._new(z._kt[name](z._data)) if z._kt.has(name) else composite(z)


def _acosh_derivative(x: Tensor) -> Tensor:
    """1 / sqrt(x^2 - 1); for complex x PyTorch's ``rsqrt(x + 1) * rsqrt(x - 1)``, the branch that
    agrees with acosh's cut (``rsqrt(x^2 - 1)`` flips sign in the left half-plane)."""
    if x._dtype.is_complex:
        return rsqrt(x + 1) * rsqrt(x - 1)
    return rsqrt(x * x - 1)


def _complex_acos(z: Tensor) -> Tensor:
    """PyTorch's vectorized CPU kernel (AVX2 and AVX-512) computes complex128 acos as pi/2 - asin(z),
    part by part; complex64 takes C's cacos."""
    if z._dtype is _dt.complex64:
        return _complex_kernel("acos")(z)
    re, im = _parts(_complex_kernel("asin")(z))
    return _complex_of(math.pi / 2 - re, 0.0 - im)


# ---- composites (used where a backend lacks the optional kernel) -------------------------------
def _asin(x: Tensor) -> Tensor:
    return atan2(x, sqrt((1 - x) * (1 + x)))  # NaN past |x| = 1, from the sqrt


def _acos(x: Tensor) -> Tensor:
    return atan2(sqrt((1 - x) * (1 + x)), x)


def _atan(x: Tensor) -> Tensor:
    return atan2(x, full_like(x, 1.0))


def _sinh(x: Tensor) -> Tensor:
    return (expm1(x) - expm1(-x)) * 0.5  # no cancellation near 0, where exp(x) - exp(-x) has it


def _cosh(x: Tensor) -> Tensor:
    return (exp(x) + exp(-x)) * 0.5


def _huge(x: Tensor) -> float:
    """Past it x * x overflows (or 1 is below rounding): asinh(x) = log(2|x|), acosh(x) = log(2x)."""
    return 1e150 if x._dtype is _dt.float64 else 1e18


def _asinh(x: Tensor) -> Tensor:
    a = abs(x)
    small = log1p(a + a * a / (1 + sqrt(1 + a * a)))  # = log(a + sqrt(a^2 + 1)) without cancellation
    r = where(a > _huge(x), log(a) + _LN2, small)
    return where(_sign_bit(x), -r, r)  # (-0 stays -0)


def _acosh(x: Tensor) -> Tensor:
    t = x - 1
    return where(x > _huge(x), log(x) + _LN2, log1p(t + sqrt(t) * sqrt(x + 1)))  # NaN below 1, from sqrt(t)


def _atanh(x: Tensor) -> Tensor:
    return log1p(2 * x / (1 - x)) * 0.5  # +-inf at +-1, NaN past them


def _exp2(x: Tensor) -> Tensor:
    return exp(x * _LN2)


def _erfc(x: Tensor) -> Tensor:
    return 1 - erf(x)


# lgamma: the Lanczos approximation (g = 7, n = 9), as the NumPy backend's kernel, with the reflection
# formula below 1/2 and PyTorch's +inf at the poles (0, the negative integers) and at +-inf.
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_EULER = 0.57721566490153286061


@_in_float64
def _lgamma(x: Tensor) -> Tensor:
    reflect = x < 0.5
    z = where(reflect, 1 - x, x) - 1
    a = full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        a = a + c / (z + i)
    t = z + 7.5
    out = 0.5 * math.log(2 * math.pi) + (z + 0.5) * log(t) - t + log(a)
    r = x - round(x)  # exact, so sin(pi r) keeps its precision next to the poles
    out = where(reflect, math.log(math.pi) - log(abs(sin(r * math.pi))) - out, out)
    out = where(abs(x) < 1e-10, -log(abs(x)) - _EULER * x, out)
    out = where(logical_and(reflect, r == 0), math.inf, out)
    out = where(logical_or(x == 1, x == 2), 0.0, out)  # exact zeros, as PyTorch's
    return where(isinf(x), math.inf, out)


# digamma: PyTorch's calc_digamma (Cephes psi): recurrence to x >= 10, then the asymptotic series.
_PSI_10 = 2.25175258906672110764
_PSI_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2)


@_in_float64
def _digamma(x: Tensor) -> Tensor:
    neg = x < 0
    refl = where(neg, -math.pi / _ew.tan((x - _ew.trunc(x)) * math.pi), 0.0)
    y = where(neg, 1 - x, x)
    acc = full_like(y, 0.0)
    for _ in range(10):
        small = y < 10
        acc = acc - where(small, 1 / y, 0.0)
        y = where(small, y + 1, y)
    z = 1 / (y * y)
    poly = full_like(z, 0.0)
    for c in _PSI_A:
        poly = poly * z + c
    series = where(y < 1e17, z * poly, 0.0)
    out = acc + where(y == 10, _PSI_10, log(y) - 0.5 / y - series) + refl
    out = where(logical_and(neg, x == _ew.trunc(x)), math.nan, out)  # negative integers, -inf
    return where(logical_and(x == 0, _sign_bit(x)), math.inf, where(x == 0, -math.inf, out))


def _sign_bit(x: Tensor) -> Tensor:
    """True where x is negative, -0.0 included (1 / -0.0 is -inf)."""
    return logical_or(x < 0, logical_and(x == 0, 1 / x < 0))


@_half_in_float32
def _trigamma(x: Tensor) -> Tensor:
    """PyTorch's calc_trigamma, in x's dtype as PyTorch computes it (float16/bfloat16 in float32,
    rounded once: summed in 16 bits the reflection term near a pole loses most of its digits)."""
    reflect = x < 0.5
    s = sin(x * math.pi)
    result = where(reflect, -(math.pi * math.pi) / (s * s), 0.0)
    y = where(reflect, 1 - x, x)
    for _ in range(6):
        result = result + 1 / (y * y)
        y = y + 1
    ixx = 1 / (y * y)
    result = result + (1 + 1 / (2 * y) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / y
    return where(reflect, -result, result)


_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)


@_in_float64
def _zeta(q: Tensor, s: Any) -> Tensor:
    """Hurwitz zeta(s, q) (Cephes' zeta, as PyTorch's) for a float64 tensor or a number s: the direct sum
    until the terms start at q + 9 or later, then Euler-Maclaurin. Every element runs every step (no
    early exit: the extra terms are below rounding); the step count comes from the smallest q."""
    steps = 9
    if q.numel():
        lowest = float(q.amin().item())
        if math.isfinite(lowest) and lowest < 0:
            steps = min(max(9, math.floor(9 - lowest) + 1), 100_000)
    # Cephes returns as soon as a term is below MACHEP of the sum: the value then is the sum so far,
    # which matters where the later terms are inf * 0 (s = inf: zeta(inf, 1) = 1, zeta(inf, 0.5) = inf).
    eps = 1.11022302462515654042e-16
    total = q ** (-s)
    a = q
    b = q * 0
    done = full_like(q, False, dtype=_dt.bool_)
    early = total
    for _ in range(steps):
        a = a + 1
        b = a ** (-s)
        total = total + b
        hit = logical_and(-eps * total < b, b < eps * total)
        early = where(logical_and(hit, ~done), total, early)
        done = logical_or(done, hit)
    w = a
    total = total + b * w / (s - 1) - 0.5 * b
    fa, k = 1.0, 0.0
    for coef in _ZETA_A:
        fa = fa * (s + k)
        b = b / w
        total = total + fa * b / coef
        k += 1
        fa = fa * (s + k)
        b = b / w
        k += 1
    total = where(done, early, total)
    negative = q <= 0
    pole = logical_and(negative, q == _ew.floor(q))
    if isinstance(s, Tensor):  # (a pole wins over a non-integer s, as in Cephes' order of checks)
        total = where(logical_and(logical_and(negative, ~pole), s != _ew.floor(s)), math.nan, total)
    total = where(pole, math.inf, total)
    if isinstance(s, Tensor):
        return where(s == 1, math.inf, where(s < 1, math.nan, total))
    return total if s > 1 else full_like(total, math.inf if s == 1 else math.nan)


def _polygamma(n: int, x: Tensor) -> Tensor:
    if n == 0:
        return _kernel_or("digamma", x, _digamma)
    if n == 1:
        return _trigamma(x)
    return _zeta(x, n + 1) * ((1.0 if n % 2 else -1.0) * math.exp(math.lgamma(n + 1.0)))


# erfinv: PyTorch's calc_erfinv, a rational first guess then two Newton steps on erf.
_ERFINV_A = (0.886226899, -1.645349621, 0.914624893, -0.140543331)
_ERFINV_B = (-2.118377725, 1.442710462, -0.329097515, 0.012229801)
_ERFINV_C = (-1.970840454, -1.624906493, 3.429567803, 1.641345311)
_ERFINV_D = (3.543889200, 1.637067800)


def _erfinv(y: Tensor) -> Tensor:
    a, b, c, d = _ERFINV_A, _ERFINV_B, _ERFINV_C, _ERFINV_D
    y_abs = abs(y)
    z = y * y
    num = ((a[3] * z + a[2]) * z + a[1]) * z + a[0]
    dem = (((b[3] * z + b[2]) * z + b[1]) * z + b[0]) * z + 1
    central = y * num / dem
    z = sqrt(-log((1 - y_abs) / 2))
    num = ((c[3] * z + c[2]) * z + c[1]) * z + c[0]
    dem = (d[1] * z + d[0]) * z + 1
    tail = where(_sign_bit(y), -num, num) / dem
    x = where(y_abs <= 0.7, central, tail)
    for _ in range(2):
        x = x - (erf(x) - y) / ((2 / _SQRT_PI) * exp(-x * x))
    x = where(y == 1, math.inf, where(y == -1, -math.inf, x))
    return where(y_abs > 1, math.nan, x)


# modified Bessel functions of the first kind: Cephes' Chebyshev expansions of exp(-|x|) I(x) on [0, 8]
# and of exp(-|x|) sqrt(|x|) I(x) on (8, inf), with PyTorch's coefficients (ATen/native/Math.h)
_I0E_A = (
    -4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
    1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
    -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
    9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
    -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
    1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
    -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
    1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
    -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
    1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1,
)
_I0E_B = (
    -7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
    3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
    1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
    -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
    7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
    -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
    3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7, 2.89137052083475648297E-6,
    6.88975834691682398426E-5, 3.36911647825569408990E-3, 8.04490411014108831608E-1,
)
_I1E_A = (
    2.77791411276104639959E-18, -2.11142121435816608115E-17, 1.55363195773620046921E-16,
    -1.10559694773538630805E-15, 7.60068429473540693410E-15, -5.04218550472791168711E-14,
    3.22379336594557470981E-13, -1.98397439776494371520E-12, 1.17361862988909016308E-11,
    -6.66348972350202774223E-11, 3.62559028155211703701E-10, -1.88724975172282928790E-9,
    9.38153738649577178388E-9, -4.44505912879632808065E-8, 2.00329475355213526229E-7,
    -8.56872026469545474066E-7, 3.47025130813767847674E-6, -1.32731636560394358279E-5,
    4.78156510755005422638E-5, -1.61760815825896745588E-4, 5.12285956168575772895E-4,
    -1.51357245063125314899E-3, 4.15642294431288815669E-3, -1.05640848946261981558E-2,
    2.47264490306265168283E-2, -5.29459812080949914269E-2, 1.02643658689847095384E-1,
    -1.76416518357834055153E-1, 2.52587186443633654823E-1,
)
_I1E_B = (
    7.51729631084210481353E-18, 4.41434832307170791151E-18, -4.65030536848935832153E-17,
    -3.20952592199342395980E-17, 2.96262899764595013876E-16, 3.30820231092092828324E-16,
    -1.88035477551078244854E-15, -3.81440307243700780478E-15, 1.04202769841288027642E-14,
    4.27244001671195135429E-14, -2.10154184277266431302E-14, -4.08355111109219731823E-13,
    -7.19855177624590851209E-13, 2.03562854414708950722E-12, 1.41258074366137813316E-11,
    3.25260358301548823856E-11, -1.89749581235054123450E-11, -5.58974346219658380687E-10,
    -3.83538038596423702205E-9, -2.63146884688951950684E-8, -2.51223623787020892529E-7,
    -3.88256480887769039346E-6, -1.10588938762623716291E-4, -9.76109749136146840777E-3,
    7.78576235018280120474E-1,
)


def _chbevl(y: Tensor, coefs: tuple) -> Tensor:
    b0, b1, b2 = full_like(y, coefs[0]), full_like(y, 0.0), full_like(y, 0.0)
    for c in coefs[1:]:
        b2, b1 = b1, b0
        b0 = y * b1 - b2 + c
    return (b0 - b2) * 0.5


def _bessel_e(x: Tensor, a: tuple, b: tuple, times_x: bool) -> Tensor:
    """exp(-|x|) I(|x|) for the coefficient pair (a, b); ``times_x``: the [0, 8] expansion is of I(x)/x."""
    ax = abs(x)
    near = _chbevl(ax * 0.5 - 2, a)
    if times_x:
        near = near * ax
    far = _chbevl(32 / ax - 2, b) / sqrt(ax)
    return where(ax <= 8, near, far)


@_in_float64
def _i0e(x: Tensor) -> Tensor:
    return _bessel_e(x, _I0E_A, _I0E_B, False)


@_in_float64
def _i0(x: Tensor) -> Tensor:
    return exp(abs(x)) * _bessel_e(x, _I0E_A, _I0E_B, False)


@_in_float64
def _i1e(x: Tensor) -> Tensor:
    r = _bessel_e(x, _I1E_A, _I1E_B, True)
    return where(x < 0, -r, r)


@_in_float64
def _i1(x: Tensor) -> Tensor:
    r = exp(abs(x)) * _bessel_e(x, _I1E_A, _I1E_B, True)
    return where(x < 0, -r, r)


# ndtri: PyTorch's calc_ndtri (Cephes): a rational function of y - 1/2 in the middle, of 1 / sqrt(-2 log y)
# in the tails
_NDTRI_P0 = (
    -5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1, 1.39312609387279679503E1,
    -1.23916583867381258016E0,
)
_NDTRI_Q0 = (
    1.00000000000000000000E0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
    -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1, 1.59056225126211695515E1,
    -1.18331621121330003142E0,
)
_NDTRI_P1 = (
    4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1, 4.40805073893200834700E1,
    1.46849561928858024014E1, 2.18663306850790267539E0, -1.40256079171354495875E-1, -3.50424626827848203418E-2,
    -8.57456785154685413611E-4,
)
_NDTRI_Q1 = (
    1.00000000000000000000E0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
    1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1, -3.80806407691578277194E-2,
    -9.33259480895457427372E-4,
)
_NDTRI_P2 = (
    3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0, 1.33303460815807542389E0,
    2.01485389549179081538E-1, 1.23716634817820021358E-2, 3.01581553508235416007E-4, 2.65806974686737550832E-6,
    6.23974539184983293730E-9,
)
_NDTRI_Q2 = (
    1.00000000000000000000E0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
    2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4, 2.89247864745380683936E-6,
    6.79019408009981274425E-9,
)
_EXP_M2 = 0.13533528323661269189  # exp(-2)


def _polevl(x: Tensor, coefs: tuple) -> Tensor:
    result = full_like(x, coefs[0])
    for c in coefs[1:]:
        result = result * x + c
    return result


@_in_float64
def _ndtri(y0: Tensor) -> Tensor:
    flip = y0 > 1 - _EXP_M2
    y = where(flip, 1 - y0, y0)
    yc = y - 0.5
    y2 = yc * yc
    central = (yc + yc * (y2 * _polevl(y2, _NDTRI_P0) / _polevl(y2, _NDTRI_Q0))) * math.sqrt(2 * math.pi)
    x = sqrt(log(y) * -2)
    z = 1 / x
    x1 = where(x < 8, z * _polevl(z, _NDTRI_P1) / _polevl(z, _NDTRI_Q1),
               z * _polevl(z, _NDTRI_P2) / _polevl(z, _NDTRI_Q2))
    tail = x - log(x) / x - x1
    out = where(y > _EXP_M2, central, where(flip, tail, -tail))
    out = where(y0 == 0, -math.inf, where(y0 == 1, math.inf, out))
    return where(logical_or(y0 < 0, y0 > 1), math.nan, out)


def _sinc(x: Tensor) -> Tensor:
    p = x * math.pi
    return where(x == 0, 1.0, sin(p) / p)


def _sinc_grad(x: Tensor) -> Tensor:
    # PyTorch's sinc_backward masks where x * x * pi is 0, not only x == 0: a tiny x (1e-30, a
    # denormal) squares to 0 and would give 0 / 0
    p, sq = x * math.pi, x * x * math.pi
    return where(sq == 0, 0.0, (p * cos(p) - sin(p)) / sq)


# ---- the Functions -----------------------------------------------------------------------------
Asin = _unary("asin", _asin, lambda x: rsqrt(1 - x * x), complex_form=_complex_kernel("asin"))
Acos = _unary("acos", _acos, lambda x: -rsqrt(1 - x * x), complex_form=_complex_acos)
Atan = _unary("atan", _atan, lambda x: 1 / (x * x + 1), complex_form=_complex_kernel("atan"))
Sinh = _unary("sinh", _sinh, lambda x: cosh(x), complex_form=lambda z: _complex_kernel_or("sinh", z, _complex_sinh))
Cosh = _unary("cosh", _cosh, lambda x: sinh(x), complex_form=lambda z: _complex_kernel_or("cosh", z, _complex_cosh))
Asinh = _unary("asinh", _asinh, lambda x: rsqrt(x * x + 1), complex_form=_complex_kernel("asinh"))
Acosh = _unary("acosh", _acosh, _acosh_derivative, complex_form=_complex_kernel("acosh"))
Atanh = _unary("atanh", _atanh, lambda x: 1 / (1 - x * x), complex_form=_complex_kernel("atanh"))
Exp2 = _unary("exp2", _exp2, lambda y: y * _LN2, saves="output")
Erfc = _unary("erfc", _erfc, lambda x: exp(-x * x) * (-2 / _SQRT_PI))
Lgamma = _unary("lgamma", _lgamma, lambda x: digamma(x))
Digamma = _unary("digamma", _digamma, lambda x: polygamma(1, x))
Erfinv = _unary("erfinv", _erfinv, lambda y: exp(y * y) * (_SQRT_PI / 2), kernel=False, saves="output")
Sinc = _unary("sinc", _sinc, _sinc_grad, kernel=False)


I0 = _unary("i0", _i0, lambda x: _I1.apply(x), kernel=False)
Ndtri = _unary("special_ndtri", _ndtri, lambda y: exp(y * y / 2) * math.sqrt(2 * math.pi), kernel=False,
               saves="output")
Ndtri._backward_name = "SpecialNdtriBackward0"


class _BesselE(Function):
    """i0e, i1, i1e: PyTorch's gradients use the result as well as x."""

    @classmethod
    def forward(cls, ctx, x):
        out = cls.composite(x)
        ctx.save_for_backward(x, out)
        return out

    @classmethod
    def backward(cls, ctx, g):
        x, out = ctx.saved_tensors
        return g * cls.derivative(x, out)


def _safe(x: Tensor) -> tuple:
    """PyTorch's i1/i1e backward: the derivative is 0.5 where |x| <= eps (0 / 0 otherwise)."""
    eps = finfo(x._dtype).eps
    not_tiny = abs(x) > eps
    return not_tiny, where(not_tiny, x, eps)


def _i1_derivative(x: Tensor, out: Tensor) -> Tensor:
    not_tiny, safe = _safe(x)
    return where(not_tiny, _I0_FN(safe) - out / safe, 0.5)


def _i1e_derivative(x: Tensor, out: Tensor) -> Tensor:
    not_tiny, safe = _safe(x)
    return where(not_tiny, _I0e.apply(safe) - out * (_ew.sign(safe) + 1 / safe), 0.5)


_I0e = type("SpecialI0E", (_BesselE,), {"_backward_name": "SpecialI0EBackward0", "composite": staticmethod(_i0e),
                                        "derivative": staticmethod(lambda x, out: _I1e.apply(x) - _ew.sign(x) * out)})
_I1 = type("SpecialI1", (_BesselE,), {"_backward_name": "SpecialI1Backward0", "composite": staticmethod(_i1),
                                      "derivative": staticmethod(_i1_derivative)})
_I1e = type("SpecialI1E", (_BesselE,), {"_backward_name": "SpecialI1EBackward0", "composite": staticmethod(_i1e),
                                        "derivative": staticmethod(_i1e_derivative)})
_I0_FN = I0.apply


class Polygamma(Function):
    _backward_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, n, x):
        ctx.n = n
        ctx.save_for_backward(x)
        return _polygamma(n, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return None, g * polygamma(ctx.n + 1, x)


class Zeta(Function):
    _backward_name = "SpecialZetaBackward0"

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(*(v if isinstance(v, Tensor) else None for v in (x, q)))
        ctx.numbers, ctx.q_shape = (x, q), _shape(q)
        if not isinstance(x, Tensor):
            return _zeta(q, x)
        if isinstance(q, Tensor):
            from ember.functions.shape import broadcast_tensors

            x, q = broadcast_tensors(x, q)
        else:
            q = full_like(x, q)
        return _zeta(q, x.to(_dt.float64))  # (q is taken to float64 and back by _zeta itself)

    @staticmethod
    def backward(ctx, g):
        x, q = (t if t is not None else n for t, n in zip(ctx.saved_tensors, ctx.numbers))
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None, _ew.unbroadcast(g * -x * special_zeta(x + 1, q), ctx.q_shape)


def _shape(v: Any) -> tuple:
    return tuple(v.shape) if isinstance(v, Tensor) else ()


class Logit(Function):
    _backward_name = "LogitBackward0"

    @staticmethod
    def forward(ctx, x, eps):
        ctx.eps = eps
        ctx.save_for_backward(x)
        if eps is not None:  # PyTorch's x < lo ? lo : (x > hi ? hi : x): lo wins when eps > 0.5 (clamp: hi)
            lo, hi = eps, 1 - eps
            x = where(x < lo, lo, where(x > hi, hi, x))
        return log(x / (1 - x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        # g * inf at 0 and 1, as PyTorch's scalar loop (its vectorised loop, which runs on whole chunks of
        # 16-32 elements, divides instead: -g * inf at -0.0)
        # (one product with g, so the double backward does not meet 0 * inf in an unselected branch)
        grad = g * where(logical_or(x == 0, x == 1), math.inf, 1 / (x * (1 - x)))
        if ctx.eps is None:  # PyTorch: NaN outside [0, 1], where the forward is NaN
            return where(logical_or(x < 0, x > 1), math.nan, grad), None
        return where(logical_or(x < ctx.eps, x > 1 - ctx.eps), 0.0, grad), None


class _XLogY(Function):
    """x * log(y) or x * log1p(y) (``_log``), 0 where x == 0 unless y is NaN; y may be a number."""

    @classmethod
    def forward(cls, ctx, x, y):
        number = not isinstance(y, Tensor)
        ctx.save_for_backward(x, None if number else y)
        ctx.y, ctx.shapes = y, (tuple(x.shape), () if number else tuple(y.shape))
        if number:
            y = full_like(x, y)
        return where(logical_and(x == 0, ~isnan(y)), 0.0, x * cls._log(y))

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved_tensors
        y = ctx.y if y is None else y
        gx = gy = None
        if ctx.needs_input_grad[0]:  # PyTorch's formula: 0 where x == 0 and y is at or below the log's pole
            gx = cls._self_fn(g, y)
            edge = y <= cls._pole
            if isinstance(edge, Tensor) or edge:
                gx = where(logical_and(x == 0, edge) if isinstance(edge, Tensor) else x == 0, 0.0, gx)
            gx = _ew.unbroadcast(gx, ctx.shapes[0])
        if ctx.needs_input_grad[1]:
            gy = _ew.unbroadcast(g * x / cls._denominator(y), ctx.shapes[1])
        return gx, gy


class Xlogy(_XLogY):
    _backward_name = "XlogyBackward0"
    _pole = 0.0
    _log = staticmethod(log)
    _denominator = staticmethod(lambda y: y)
    _self_fn = staticmethod(lambda x, y: xlogy(x, y))


class Xlog1py(_XLogY):
    _backward_name = "SpecialXlog1PyBackward0"
    _pole = -1.0
    _log = staticmethod(log1p)
    _denominator = staticmethod(lambda y: y + 1)
    _self_fn = staticmethod(lambda x, y: xlog1py(x, y))


def _binary_float_operands(name: str, x: Any, y: Any, tensor_x: bool = True) -> tuple:
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({type(x).__name__}, "
                        f"{type(y).__name__})")
    where = (x if isinstance(x, Tensor) else y)._device.type
    refuse_complex(x, y, message=f'"{name.removeprefix("special_")}_{where}" not implemented for \'{{dtype}}\'')
    dt = _dt.result_type(x, y)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    y = y.to(dt) if isinstance(y, Tensor) else y
    if isinstance(x, Tensor) or not tensor_x:
        return (x.to(dt) if isinstance(x, Tensor) else x), y
    return tensor(x, dtype=dt, device=y.device), y  # the Function works on a tensor x


# ---- complex forms (C99's identities on the complex sin/cos/exp every complex backend has) ---------
def _parts(z: Tensor) -> tuple:
    from ember.functions.complex_ops import imag, real

    return real(z), imag(z)


def _complex_of(re: Tensor, im: Tensor) -> Tensor:
    from ember.functions.complex_ops import complex as make_complex

    return make_complex(re, im)


def _times_i(z: Tensor) -> Tensor:
    """``i z`` by swapping the parts (a complex product would turn 0 * inf into NaN)."""
    re, im = _parts(z)
    return _complex_of(-im, re)


def _complex_sinh(z: Tensor) -> Tensor:
    """sinh(z) = -i sin(iz), C99's definition (its special values included)."""
    re, im = _parts(sin(_times_i(z)))
    return _complex_of(im, -re)


def _complex_cosh(z: Tensor) -> Tensor:
    """cosh(z) = cos(iz)."""
    return cos(_times_i(z))


def _real_scale(z: Tensor, c: float) -> Tensor:
    """``c * z`` for a real ``c``, part by part (PyTorch's real-times-complex: no cross terms)."""
    re, im = _parts(z)
    return _complex_of(re * c, im * c)


def _complex_exp2(z: Tensor) -> Tensor:
    """2 ** z as PyTorch computes it: exp(ln 2 * z)."""
    return exp(_real_scale(z, _LN2))


def complex_where(cond: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``where`` on complex tensors of one shape, part by part (real kernels only)."""
    (ra, ia), (rb, ib) = _parts(a), _parts(b)
    return _complex_of(where(cond, ra, rb), where(cond, ia, ib))


def _complex_sinc(z: Tensor) -> Tensor:
    """sin(pi z) / (pi z), 1 at 0 (PyTorch's complex sinc)."""
    p = _real_scale(z, math.pi)
    zero, one = z == 0, full_like(z, 1.0)
    return complex_where(zero, one, sin(p) / complex_where(zero, one, p))


def _complex_unary(x: Any, fn: Callable[[Tensor], Tensor]) -> Tensor | None:
    """``fn(x)`` for a complex tensor ``x`` (autograd through the parts gives PyTorch's conjugate
    convention), None for anything else."""
    if isinstance(x, Tensor) and x._dtype.is_complex:
        return fn(x)
    return None


# ---- the ops -----------------------------------------------------------------------------------
def asin(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse sine, elementwise (NaN outside [-1, 1]).

    Example:
        >>> ember.asin(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 1.5708])
    """
    return _out(Asin.apply(input), out)


def acos(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse cosine, elementwise (NaN outside [-1, 1]).

    Example:
        >>> ember.acos(ember.tensor([1.0, 0.0]))
        tensor([0.0000, 1.5708])
    """
    return _out(Acos.apply(input), out)


def atan(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse tangent, elementwise.

    Example:
        >>> ember.atan(ember.tensor([1.0]))
        tensor([0.7854])
    """
    return _out(Atan.apply(input), out)


def sinh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Hyperbolic sine, elementwise.

    Example:
        >>> ember.sinh(ember.tensor([1.0]))
        tensor([1.1752])
    """
    return _out(Sinh.apply(input), out)


def cosh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Hyperbolic cosine, elementwise.

    Example:
        >>> ember.cosh(ember.tensor([1.0]))
        tensor([1.5431])
    """
    return _out(Cosh.apply(input), out)


def asinh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse hyperbolic sine, elementwise.

    Example:
        >>> ember.asinh(ember.tensor([1.0]))
        tensor([0.8814])
    """
    return _out(Asinh.apply(input), out)


def acosh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse hyperbolic cosine, elementwise (NaN below 1).

    Example:
        >>> ember.acosh(ember.tensor([2.0]))
        tensor([1.3170])
    """
    return _out(Acosh.apply(input), out)


def atanh(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse hyperbolic tangent, elementwise (+-inf at +-1, NaN outside [-1, 1]).

    Example:
        >>> ember.atanh(ember.tensor([0.5]))
        tensor([0.5493])
    """
    return _out(Atanh.apply(input), out)


arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def exp2(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """2 ** input, elementwise.

    Example:
        >>> ember.exp2(ember.tensor([3.0, -1.0]))
        tensor([8.0000, 0.5000])
    """
    z = _complex_unary(input, _complex_exp2)
    return _out(Exp2.apply(input) if z is None else z, out)


def erfc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Complementary error function 1 - erf(x), exact in the tail.

    Example:
        >>> ember.erfc(ember.tensor([0.0]))
        tensor([1.])
    """
    return _out(Erfc.apply(input), out)


def erfinv(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse error function (+-inf at +-1, NaN outside [-1, 1]).

    Example:
        >>> ember.erfinv(ember.tensor([0.0, 0.5]))
        tensor([0.0000, 0.4769])
    """
    return _out(Erfinv.apply(input), out)


def lgamma(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log|Gamma(x)|, elementwise; +inf at 0, the negative integers and +-inf.

    Example:
        >>> ember.lgamma(ember.tensor([0.5, 4.0]))
        tensor([0.5724, 1.7918])
    """
    return _out(Lgamma.apply(input), out)


def digamma(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The logarithmic derivative of Gamma; digamma(+-0) = -+inf, NaN at the negative integers.

    Example:
        >>> ember.digamma(ember.tensor([1.0]))
        tensor([-0.5772])
    """
    return _out(Digamma.apply(input), out)


def polygamma(n: int, input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The n-th derivative of digamma (n = 0 is digamma itself).

    Example:
        >>> ember.polygamma(1, ember.tensor([1.0]))
        tensor([1.6449])
    """
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return _out(Polygamma.apply(int(n), _as_float("polygamma", input)), out)


def i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 0.

    Example:
        >>> ember.i0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 1.2661])
    """
    return _out(I0.apply(input), out)


def special_i0e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """exp(-|x|) i0(x) (``ember.special.i0e``).

    Example:
        >>> ember.special.i0e(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.4658])
    """
    return _out(_I0e.apply(_as_float("special_i0e", input)), out)


def special_i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function of the first kind of order 1 (``ember.special.i1``).

    Example:
        >>> ember.special.i1(ember.tensor([1.0]))
        tensor([0.5652])
    """
    return _out(_I1.apply(_as_float("special_i1", input)), out)


def special_i1e(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """exp(-|x|) i1(x) (``ember.special.i1e``).

    Example:
        >>> ember.special.i1e(ember.tensor([1.0]))
        tensor([0.2079])
    """
    return _out(_I1e.apply(_as_float("special_i1e", input)), out)


def special_ndtri(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The inverse of the standard normal CDF (``ember.special.ndtri``); +-inf at 1 and 0.

    Example:
        >>> ember.special.ndtri(ember.tensor([0.5, 0.975]))
        tensor([0.0000, 1.9600])
    """
    return _out(Ndtri.apply(_refuse_half("ndtri", input) if isinstance(input, Tensor) else input), out)


def special_zeta(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """The Hurwitz zeta function sum_k (k + other) ** -input (``ember.special.zeta``).

    Example:
        >>> ember.special.zeta(ember.tensor([2.0]), 1.0)
        tensor([1.6449])
    """
    x, q = _binary_float_operands("special_zeta", input, other, tensor_x=False)
    _refuse_half("zeta", x if isinstance(x, Tensor) else q)
    return _out(Zeta.apply(x, q), out)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


def logit(input: Tensor, eps: float | None = None, *, out: Tensor | None = None) -> Tensor:
    """log(x / (1 - x)), with x clamped to [eps, 1 - eps] when eps is given.

    Example:
        >>> ember.logit(ember.tensor([0.5, 0.75]))
        tensor([0.0000, 1.0986])
    """
    return _out(Logit.apply(_as_float("logit", input), None if eps is None else float(eps)), out)


def sinc(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """sin(pi x) / (pi x), 1 at 0.

    Example:
        >>> ember.sinc(ember.tensor([0.0, 0.5]))
        tensor([1.0000, 0.6366])
    """
    z = _complex_unary(input, _complex_sinc)
    return _out(Sinc.apply(input) if z is None else z, out)


def xlogy(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """input * log(other), 0 where input is 0 (unless other is NaN).

    Example:
        >>> ember.xlogy(ember.tensor([0.0, 2.0]), ember.tensor([0.0, 3.0]))
        tensor([0.0000, 2.1972])
    """
    return _out(Xlogy.apply(*_binary_float_operands("xlogy", input, other)), out)


def xlog1py(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """input * log1p(other), 0 where input is 0 (unless other is NaN); ``ember.special.xlog1py``.

    Example:
        >>> ember.special.xlog1py(ember.tensor([0.0, 2.0]), ember.tensor([-1.0, 1.0]))
        tensor([0.0000, 1.3863])
    """
    return _out(Xlog1py.apply(*_binary_float_operands("xlog1py", input, other)), out)


def deg2rad(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Degrees to radians.

    Example:
        >>> ember.deg2rad(ember.tensor([180.0]))
        tensor([3.1416])
    """
    return _out(_as_float("deg2rad", input) * (math.pi / 180), out)


def rad2deg(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Radians to degrees.

    Example:
        >>> ember.rad2deg(ember.tensor([math.pi]))
        tensor([180.])
    """
    return _out(_as_float("rad2deg", input) * (180 / math.pi), out)


class _NoInplaceDerivative(Function):
    """PyTorch has no derivative for ``asinh_``, ``acosh_``, ``atanh_``: backward through one raises."""

    _backward_name = "NotImplemented"

    @staticmethod
    def forward(ctx, x, name):
        ctx.name = name
        return x._new(x._data)

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError(f"the derivative for 'inplace version of {ctx.name}' is not implemented.")


def _inplace_without_derivative(fn: Callable) -> Callable:
    def method(self: Tensor) -> Tensor:
        return _ew.assign_inplace(self, _NoInplaceDerivative.apply(fn(self), fn.__name__))

    method.__name__ = fn.__name__ + "_"
    return method


# ---- igamma / igammac, erfcx, the orthogonal polynomials, spherical_bessel_j0 ----------------------
_IGAMMA_STEPS = 400  # series and continued-fraction terms: converged for a up to about 1e4


def _type_refusal(kernel: str, device: str, dtype: Any) -> NotImplementedError:
    from ember.functions.complex_ops import type_word

    return NotImplementedError(f'"{kernel}_{device}" not implemented for \'{type_word(dtype)}\'')


def _igamma_pair(a: Tensor, x: Tensor) -> tuple:
    """(P(a, x), Q(a, x)) in float64: the power series of P below x = a + 1, the (modified Lentz)
    continued fraction of Q above, each from exp(a log x - x - lgamma(a)). Not PyTorch's Cephes/Temme
    code, the same values to about 1e-14 on a < 1e4."""
    tiny = 1e-300
    use_series = x < a + 1
    a_s = where(use_series, a, 1.0)
    x_s = where(use_series, x, 0.5)
    a_c = where(use_series, 1.0, a)
    x_c = where(use_series, 2.0, x)
    # series: P = x^a e^-x / Gamma(a + 1) sum_k x^k / ((a + 1)...(a + k))
    term = 1 / a_s
    total = term
    for k in range(1, _IGAMMA_STEPS):
        term = term * x_s / (a_s + k)
        total = total + term
    p_series = total * exp(a_s * log(x_s) - x_s - lgamma(a_s))
    # continued fraction: Q = x^a e^-x / Gamma(a) * 1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...))
    b = x_c + 1 - a_c
    c = full_like(b, 1 / tiny)
    d = 1 / b
    h = d
    for i in range(1, _IGAMMA_STEPS):
        an = -i * (i - a_c)
        b = b + 2
        d = an * d + b
        d = where(abs(d) < tiny, tiny, d)
        c = b + an / c
        c = where(abs(c) < tiny, tiny, c)
        d = 1 / d
        h = h * d * c
    q_cf = h * exp(a_c * log(x_c) - x_c - lgamma(a_c))
    return where(use_series, p_series, 1 - q_cf), where(use_series, 1 - p_series, q_cf)


def _igamma_edges(a: Tensor, x: Tensor, value: Tensor, upper: bool) -> Tensor:
    """PyTorch's calc_igamma(c) special cases, in its order."""
    one, zero = (0.0, 1.0) if upper else (1.0, 0.0)  # the value at x = inf, at x = 0
    out = where(isinf(x), one, value)
    out = where(isinf(a), where(isinf(x), math.nan, zero), out)
    out = where(x == 0, zero, out)
    out = where(a == 0, where(x > 0, one, math.nan), out)
    return where(logical_or(x < 0, a < 0), math.nan, out)


def _igamma_operands(kernel: str, a: Any, x: Any) -> tuple:
    for pos, (what, v) in enumerate((("input", a), ("other", x)), 1):
        if not isinstance(v, Tensor):
            raise TypeError(f"{kernel}(): argument '{what}' (position {pos}) must be Tensor, not {type(v).__name__}")
    dt = _dt.result_type(a, x)
    if not dt.is_floating_point:
        raise _type_refusal("igamma", a._device.type, dt)
    from ember.functions.shape import broadcast_tensors

    return broadcast_tensors(a.to(dt), x.to(dt))


class _Igamma(Function):
    """P(a, x) (``upper``: Q(a, x)); the derivative w.r.t. x only, as in PyTorch."""

    upper = False

    @classmethod
    def forward(cls, ctx, a, x):
        ctx.save_for_backward(a, x)
        a64, x64 = a.to(_dt.float64), x.to(_dt.float64)
        p, q = _igamma_pair(a64, x64)
        return _igamma_edges(a64, x64, q if cls.upper else p, cls.upper).to(a._dtype)

    @classmethod
    def backward(cls, ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{cls._name}: input' is not implemented.")
        d = exp((a - 1) * log(x) - x - lgamma(a))
        return None, g * (-d if cls.upper else d)


class Igamma(_Igamma):
    _backward_name, _name = "IgammaBackward0", "igamma"


class Igammac(_Igamma):
    _backward_name, _name, upper = "IgammacBackward0", "igammac", True


def igamma(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other) (``ember.special.gammainc``).

    Example:
        >>> ember.igamma(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))
        tensor([0.6321, 0.2642])
    """
    return _out(Igamma.apply(*_igamma_operands("igamma", input, other)), out)


def igammac(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other) (``ember.special.gammaincc``).

    Example:
        >>> ember.igammac(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 1.0]))
        tensor([0.3679, 0.7358])
    """
    return _out(Igammac.apply(*_igamma_operands("igammac", input, other)), out)


def special_gammainc(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``ember.igamma`` under ``torch.special``'s name.

    Example:
        >>> ember.special.gammainc(ember.tensor([1.0]), ember.tensor([1.0]))
        tensor([0.6321])
    """
    return _out(Igamma.apply(*_igamma_operands("special_gammainc", input, other)), out)


def special_gammaincc(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``ember.igammac`` under ``torch.special``'s name.

    Example:
        >>> ember.special.gammaincc(ember.tensor([1.0]), ember.tensor([1.0]))
        tensor([0.3679])
    """
    return _out(Igammac.apply(*_igamma_operands("special_gammaincc", input, other)), out)


def _exp_square(x: Tensor) -> Tensor:
    """exp(x * x) without the rounding of x * x (which exp would magnify by x^2): x = hi + lo with a
    26-bit hi, so hi * hi is exact."""
    hi = x * 134217729.0  # Veltkamp split, 2^27 + 1
    hi = hi - (hi - x)
    lo = x - hi
    return exp(hi * hi) * exp(lo * (hi + x))


@_in_float64
def _erfcx(x: Tensor) -> Tensor:
    """exp(x^2) erfc(x): the product while erfc(|x|) is a normal number, the asymptotic series of
    ember.special.log_ndtr past |x| = 26; 2 exp(x^2) - erfcx(-x) below 0 (inf below about -26.6)."""
    ax = abs(x)
    near = _exp_square(where(ax < 26, ax, 0.0)) * _kernel_or("erfc", where(ax < 26, ax, 0.0), _erfc)
    far_x = where(ax < 26, 30.0, ax)
    iy2 = 1 / (far_x * far_x)
    series = full_like(x, _ERFCX_SERIES[-1])
    for c in reversed(_ERFCX_SERIES[:-1]):
        series = series * iy2 + c
    far = (1 + series * iy2) / (far_x * _SQRT_PI)
    pos = where(ax < 26, near, far)
    neg = 2 * _exp_square(where(ax < 27, ax, 27.0)) - pos
    out = where(x < 0, where(x < -26.7, math.inf, neg), pos)
    return where(isnan(x), x, out)


# (2k - 1)!! / (-2)^k: erfcx(y) ~ (1 + sum c_k / y^2k) / (y sqrt(pi)) for large y
_ERFCX_SERIES = tuple(math.prod(range(1, 2 * k, 2)) / (-2.0) ** k for k in range(1, 8))


class Erfcx(Function):
    _backward_name = "SpecialErfcxBackward0"

    @staticmethod
    def forward(ctx, x):
        out = _erfcx(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g * (2 * x * out - 2 / _SQRT_PI)


def _float_unary(name: str, x: Any) -> Tensor:
    """A torch.special function whose CPU kernel has only float32/float64 instances (ints promote)."""
    x = _as_float(name, x)
    if x._dtype.itemsize <= 2:
        raise _type_refusal(name, x._device.type, x._dtype)
    return x


def special_erfcx(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The scaled complementary error function exp(x^2) erfc(x) (``ember.special.erfcx``).

    Example:
        >>> ember.special.erfcx(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.4276])
    """
    return _out(Erfcx.apply(_float_unary("erfcx", input)), out)


def special_modified_bessel_i0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function I0 (``ember.special.modified_bessel_i0``); no derivative, as in PyTorch.

    Example:
        >>> ember.special.modified_bessel_i0(ember.tensor([1.0]))
        tensor([1.2661])
    """
    return _out(_i0(_float_unary("modified_bessel_i0", input).detach()), out)


def special_modified_bessel_i1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The modified Bessel function I1 (``ember.special.modified_bessel_i1``); no derivative, as in PyTorch.

    Example:
        >>> ember.special.modified_bessel_i1(ember.tensor([1.0]))
        tensor([0.5652])
    """
    return _out(_i1(_float_unary("modified_bessel_i1", input).detach()), out)


@_in_float64
def _spherical_j0(x: Tensor) -> Tensor:
    """sin(x) / x; its Taylor series below |x| = 0.5 (PyTorch's cutoff), 0 at +-inf."""
    x2 = x * x
    small = 1 - x2 / 6 * (1 - x2 / 20 * (1 - x2 / 42 * (1 - x2 / 72 * (1 - x2 / 110 * (1 - x2 / 156)))))
    safe = where(abs(x) < 0.5, 1.0, x)
    out = where(abs(x) < 0.5, small, sin(safe) / safe)
    return where(isinf(x), 0.0, out)


def special_spherical_bessel_j0(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The spherical Bessel function j0(x) = sin(x) / x (``ember.special.spherical_bessel_j0``).

    Example:
        >>> ember.special.spherical_bessel_j0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.8415])
    """
    return _out(_spherical_j0(_float_unary("spherical_bessel_j0", input).detach()), out)


# ---- bessel_j0/j1/y0/y1, modified_bessel_k0/k1 (and scaled), airy_ai ----------------------------------
# Cephes' rational approximations (j0.c, j1.c, k0.c, k1.c, airy.c), each polynomial summed over all its listed
# coefficients as PyTorch does (no implicit leading 1). Computed in float64 and rounded to the input's dtype,
# except the phase of the oscillating tails (x - pi/4, 2/3 (-x)^1.5 + pi/4), which is rounded to the input's
# dtype first as PyTorch's float kernel rounds it: past |x| = 1e4 that rounding moves a float32 result by
# more than its last bit.
_J_PP = (7.96936729297347051624e-04, 8.28352392107440799803e-02, 1.23953371646414299388e+00,
         5.44725003058768775090e+00, 8.74716500199817011941e+00, 5.30324038235394892183e+00,
         9.99999999999999997821e-01)
_J_PQ = (9.24408810558863637013e-04, 8.56288474354474431428e-02, 1.25352743901058953537e+00,
         5.47097740330417105182e+00, 8.76190883237069594232e+00, 5.30605288235394617618e+00,
         1.00000000000000000218e+00)
_J_QP = (-1.13663838898469149931e-02, -1.28252718670509318512e+00, -1.95539544257735972385e+01,
         -9.32060152123768231369e+01, -1.77681167980488050595e+02, -1.47077505154951170175e+02,
         -5.14105326766599330220e+01, -6.05014350600728481186e+00)
_J_QQ = (6.43178256118178023184e+01, 8.56430025976980587198e+02, 3.88240183605401609683e+03,
         7.24046774195652478189e+03, 5.93072701187316984827e+03, 2.06209331660327847417e+03,
         2.42005740240291393179e+02)
_J0_RP = (-4.79443220978201773821e+09, 1.95617491946556577543e+12, -2.49248344360967716204e+14,
          9.70862251047306323952e+15)
_J0_RQ = (4.99563147152651017219e+02, 1.73785401676374683123e+05, 4.84409658339962045305e+07,
          1.11855537045356834862e+10, 2.11277520115489217587e+12, 3.10518229857422583814e+14,
          3.18121955943204943306e+16, 1.71086294081043136091e+18)
_Y0_YP = (1.55924367855235737965e+04, -1.46639295903971606143e+07, 5.43526477051876500413e+09,
          -9.82136065717911466409e+11, 8.75906394395366999549e+13, -3.46628303384729719441e+15,
          4.42733268572569800351e+16, -1.84950800436986690637e+16)
_Y0_YQ = (1.04128353664259848412e+03, 6.26107330137134956842e+05, 2.68919633393814121987e+08,
          8.64002487103935000337e+10, 2.02979612750105546709e+13, 3.17157752842975028269e+15,
          2.50596256172653059228e+17)
_J1_PP = (7.62125616208173112003e-04, 7.31397056940917570436e-02, 1.12719608129684925192e+00,
          5.11207951146807644818e+00, 8.42404590141772420927e+00, 5.21451598682361504063e+00,
          1.00000000000000000254e+00)
_J1_PQ = (5.71323128072548699714e-04, 6.88455908754495404082e-02, 1.10514232634061696926e+00,
          5.07386386128601488557e+00, 8.39985554327604159757e+00, 5.20982848682361821619e+00,
          9.99999999999999997461e-01)
_J1_QP = (5.10862594750176621635e-02, 4.98213872951233449420e+00, 7.58238284132545283818e+01,
          3.66779609360150777800e+02, 7.10856304998926107277e+02, 5.97489612400613639965e+02,
          2.11688757100572135698e+02, 2.52070205858023719784e+01)
_J1_QQ = (7.42373277035675149943e+01, 1.05644886038262816351e+03, 4.98641058337653607651e+03,
          9.56231892404756170795e+03, 7.99704160447350683650e+03, 2.82619278517639096600e+03,
          3.36093607810698293419e+02)
_J1_RP = (-8.99971225705559398224e+08, 4.52228297998194034323e+11, -7.27494245221818276015e+13,
          3.68295732863852883286e+15)
_J1_RQ = (6.20836478118054335476e+02, 2.56987256757748830383e+05, 8.35146791431949253037e+07,
          2.21511595479792499675e+10, 4.74914122079991414898e+12, 7.84369607876235854894e+14,
          8.95222336184627338078e+16, 5.32278620332680085395e+18)
_Y1_YP = (1.26320474790178026440e+09, -6.47355876379160291031e+11, 1.14509511541823727583e+14,
          -8.12770255501325109621e+15, 2.02439475713594898196e+17, -7.78877196265950026825e+17)
_Y1_YQ = (5.94301592346128195359e+02, 2.35564092943068577943e+05, 7.34811944459721705660e+07,
          1.87601316108706159478e+10, 3.88231277496238566008e+12, 6.20557727146953693363e+14,
          6.87141087355300489866e+16, 3.97270608116560655612e+18)
_K0_A = (1.37446543561352307156e-16, 4.25981614279661018399e-14, 1.03496952576338420167e-11,
         1.90451637722020886025e-09, 2.53479107902614945675e-07, 2.28621210311945178607e-05,
         1.26461541144692592338e-03, 3.59799365153615016266e-02, 3.44289899924628486886e-01,
         -5.35327393233902768720e-01)
_K0_B = (5.30043377268626276149e-18, -1.64758043015242134646e-17, 5.21039150503902756861e-17,
         -1.67823109680541210385e-16, 5.51205597852431940784e-16, -1.84859337734377901440e-15,
         6.34007647740507060557e-15, -2.22751332699166985548e-14, 8.03289077536357521100e-14,
         -2.98009692317273043925e-13, 1.14034058820847496303e-12, -4.51459788337394416547e-12,
         1.85594911495471785253e-11, -7.95748924447710747776e-11, 3.57739728140030116597e-10,
         -1.69753450938905987466e-09, 8.57403401741422608519e-09, -4.66048989768794782956e-08,
         2.76681363944501510342e-07, -1.83175552271911948767e-06, 1.39498137188764993662e-05,
         -1.28495495816278026384e-04, 1.56988388573005337491e-03, -3.14481013119645005427e-02,
         2.44030308206595545468e+00)
_K1_A = (-7.02386347938628759343e-18, -2.42744985051936593393e-15, -6.66690169419932900609e-13,
         -1.41148839263352776110e-10, -2.21338763073472585583e-08, -2.43340614156596823496e-06,
         -1.73028895751305206302e-04, -6.97572385963986435018e-03, -1.22611180822657148235e-01,
         -3.53155960776544875667e-01, 1.52530022733894777053e+00)
_K1_B = (-5.75674448366501715755e-18, 1.79405087314755922667e-17, -5.68946255844285935196e-17,
         1.83809354436663880070e-16, -6.05704724837331885336e-16, 2.03870316562433424052e-15,
         -7.01983709041831346144e-15, 2.47715442448130437068e-14, -8.97670518232499435011e-14,
         3.34841966607842919884e-13, -1.28917396095102890680e-12, 5.13963967348173025100e-12,
         -2.12996783842756842877e-11, 9.21831518760500529508e-11, -4.19035475934189648750e-10,
         2.01504975519703286596e-09, -1.03457624656780970260e-08, 5.74108412545004946722e-08,
         -3.50196060308781257119e-07, 2.40648494783721712015e-06, -1.93619797416608296024e-05,
         1.95215518471351631108e-04, -2.85781685962277938680e-03, 1.03923736576817238437e-01,
         2.72062619048444266945e+00)
_AI_AN = (3.46538101525629032477e-01, 1.20075952739645805542e+01, 7.62796053615234516538e+01,
          1.68089224934630576269e+02, 1.59756391350164413639e+02, 7.05360906840444183113e+01,
          1.40264691163389668864e+01, 9.99999999999999995305e-01)
_AI_AD = (5.67594532638770212846e-01, 1.47562562584847203173e+01, 8.45138970141474626562e+01,
          1.77318088145400459522e+02, 1.64234692871529701831e+02, 7.14778400825575695274e+01,
          1.40959135607834029598e+01, 1.00000000000000000470e+00)
_AI_AFN = (-1.31696323418331795333e-01, -6.26456544431912369773e-01, -6.93158036036933542233e-01,
           -2.79779981545119124951e-01, -4.91900132609500318020e-02, -4.06265923594885404393e-03,
           -1.59276496239262096340e-04, -2.77649108155232920844e-06, -1.67787698489114633780e-08)
_AI_AFD = (1.33560420706553243746e+01, 3.26825032795224613948e+01, 2.67367040941499554804e+01,
           9.18707402907259625840e+00, 1.47529146771666414581e+00, 1.15687173795188044134e-01,
           4.40291641615211203805e-03, 7.54720348287414296618e-05, 4.51850092970580378464e-07)
_AI_AGN = (1.97339932091685679179e-02, 3.91103029615688277255e-01, 1.06579897599595591108e+00,
           9.39169229816650230044e-01, 3.51465656105547619242e-01, 6.33888919628925490927e-02,
           5.85804113048388458567e-03, 2.82851600836737019778e-04, 6.98793669997260967291e-06,
           8.11789239554389293311e-08, 3.41551784765923618484e-10)
_AI_AGD = (9.30892908077441974853e+00, 1.98352928718312140417e+01, 1.55646628932864612953e+01,
           5.47686069422975497931e+00, 9.54293611618961883998e-01, 8.64580826352392193095e-02,
           4.12656523824222607191e-03, 1.01259085116509135510e-04, 1.17166733214413521882e-06,
           4.91834570062930015649e-09)
_SQRT_2_OVER_PI = 0.797884560802865355879892119868763737  # sqrt(2 / pi)
_TWO_OVER_PI = 0.636619772367581343075535053490057448
_AI_STEPS = 25  # Maclaurin terms of Ai on |x| < 2.09 (|x^3| < 9.2): converged to 1e-17 by the 12th


def _with_input(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """``fn(x in float64, x as given)``, rounded back to the input's dtype."""
    def run(x: Tensor) -> Tensor:
        x64 = x if x._dtype is _dt.float64 else x.to(_dt.float64)
        out = fn(x64, x)
        return out if x._dtype is _dt.float64 else out.to(x._dtype)
    return run


def _bessel_tail(ax: Tensor, phase: Tensor, pp: tuple, pq: tuple, qp: tuple, qq: tuple, j: bool) -> Tensor:
    """The |x| > 5 form sqrt(2 / (pi x)) (P cos(phase) - 5/x Q sin(phase)) of J (``j``), or the Y form
    (P sin + 5/x Q cos), for x outside (0, 5] made 10 (the caller picks the other branch there)."""
    xf = where(ax > 5, ax, 10.0)
    w = 25 / (xf * xf)
    p = _polevl(w, pp) / _polevl(w, pq)
    q = _polevl(w, qp) / _polevl(w, qq) * (5 / xf)
    c, s = cos(phase), sin(phase)
    return (p * c - q * s if j else p * s + q * c) * _SQRT_2_OVER_PI / sqrt(xf)


def _phase(x: Tensor, shift: float) -> Tensor:
    """|x| - shift in the input's dtype (see above), then float64."""
    return (abs(x) - shift).to(_dt.float64)


@_with_input
def _bessel_j0(x: Tensor, x_in: Tensor) -> Tensor:
    ax = abs(x)
    xs = where(ax <= 5, ax, 1.0)
    z = xs * xs
    near = (z - 5.78318596294678452118) * (z - 30.4712623436620863991) * _polevl(z, _J0_RP) / _polevl(z, _J0_RQ)
    near = where(ax < 1e-5, 1 - ax * ax / 4, near)
    far = _bessel_tail(ax, _phase(x_in, math.pi / 4), _J_PP, _J_PQ, _J_QP, _J_QQ, True)
    return where(ax <= 5, near, far)


@_with_input
def _bessel_j1(x: Tensor, x_in: Tensor) -> Tensor:
    ax = abs(x)
    xs = where(ax <= 5, ax, 1.0)
    z = xs * xs
    near = _polevl(z, _J1_RP) / _polevl(z, _J1_RQ) * ax * (z - 14.6819706421238932572) * (z - 49.2184563216946036703)
    far = _bessel_tail(ax, _phase(x_in, 3 * math.pi / 4), _J1_PP, _J1_PQ, _J1_QP, _J1_QQ, True)
    out = where(ax <= 5, near, far)
    return where(x < 0, -out, out)


def _y_near(x: Tensor, yp: tuple, yq: tuple, j: Callable, one: bool) -> Tensor:
    """Y0 (``one`` false) or Y1 on (0, 5] through J: (x outside it made 1)."""
    xs = where(logical_and(x > 0, x <= 5), x, 1.0)
    z = xs * xs
    if one:
        return xs * (_polevl(z, yp) / _polevl(z, yq)) + _TWO_OVER_PI * (j(xs) * log(xs) - 1 / xs)
    return _polevl(z, yp) / _polevl(z, yq) + _TWO_OVER_PI * log(xs) * j(xs)


def _y_special(x: Tensor, near: Tensor, far: Tensor) -> Tensor:
    """-inf at 0, NaN below 0 (and at NaN, and at +inf, as PyTorch's cos/sin of inf)."""
    out = where(x <= 5, near, far)
    out = where(x == 0, -math.inf, out)
    return where(logical_or(x < 0, isnan(x)), math.nan, out)


@_with_input
def _bessel_y0(x: Tensor, x_in: Tensor) -> Tensor:
    near = _y_near(x, _Y0_YP, _Y0_YQ, _bessel_j0, False)
    far = _bessel_tail(x, _phase(x_in, math.pi / 4), _J_PP, _J_PQ, _J_QP, _J_QQ, False)
    return _y_special(x, near, far)


@_with_input
def _bessel_y1(x: Tensor, x_in: Tensor) -> Tensor:
    near = _y_near(x, _Y1_YP, _Y1_YQ, _bessel_j1, True)
    far = _bessel_tail(x, _phase(x_in, 3 * math.pi / 4), _J1_PP, _J1_PQ, _J1_QP, _J1_QQ, False)
    return _y_special(x, near, far)


def _k_parts(x: Tensor, a: tuple, b: tuple, one: bool) -> tuple:
    """(K on (0, 2], exp(x) sqrt(x) K on (2, inf]) for K0 (``one`` false) or K1; x outside each made 1 / 3."""
    xs = where(logical_and(x > 0, x <= 2), x, 1.0)
    series = _chbevl(xs * xs - 2, a)
    if one:
        near = log(0.5 * xs) * _i1(xs) + series / xs
    else:
        near = series - log(0.5 * xs) * _i0(xs)
    xf = where(x > 2, x, 3.0)
    return near, _chbevl(8 / xf - 2, b) / sqrt(xf)


def _k_special(x: Tensor, out: Tensor) -> Tensor:
    out = where(x == 0, math.inf, out)
    return where(x < 0, math.nan, out)


def _modified_k(a: tuple, b: tuple, one: bool, scaled: bool) -> Callable[[Tensor], Tensor]:
    @_in_float64
    def k(x: Tensor) -> Tensor:
        near, far = _k_parts(x, a, b, one)
        xf = where(x > 2, x, 3.0)
        xs = where(x <= 2, x, 1.0)
        if scaled:
            out = where(x <= 2, near * exp(xs), far)
        else:
            out = where(x <= 2, near, exp(-xf) * far)
        out = where(isinf(x), 0.0, out)  # (far at +inf: a finite series over sqrt(inf))
        return _k_special(x, where(isnan(x), x, out))
    return k


_bessel_k0 = _modified_k(_K0_A, _K0_B, False, False)
_bessel_k1 = _modified_k(_K1_A, _K1_B, True, False)
_bessel_k0e = _modified_k(_K0_A, _K0_B, False, True)
_bessel_k1e = _modified_k(_K1_A, _K1_B, True, True)


@_with_input
def _airy_ai(x: Tensor, x_in: Tensor) -> Tensor:
    """Ai: the asymptotic sin/cos form below -2.09, the Maclaurin series f(x) Ai(0) + g(x) Ai'(0) on
    [-2.09, 2.09), exp(-zeta) times a rational function of 1/zeta from 2.09 to 103.892, 0 past it;
    NaN at +-inf (PyTorch's)."""
    # below -2.09: zeta = 2/3 (-x)^1.5, Ai = (sin(zeta + pi/4) (1 + z^2 F) - cos(zeta + pi/4) z G) / (sqrt(pi) (-x)^1/4)
    xn = where(x < -2.09, x, -4.0)
    xn_in = where(x_in < -2.09, x_in, -4.0)
    z = 1 / (-2.0 * xn * sqrt(-xn) / 3)
    z2 = z * z
    t = (-2.0 * xn_in * sqrt(-xn_in) / 3.0 + 0.25 * math.pi).to(_dt.float64)
    neg = (1 / math.sqrt(math.pi)) / sqrt(sqrt(-xn)) * (
        sin(t) * (1 + z2 * _polevl(z2, _AI_AFN) / _polevl(z2, _AI_AFD)) - cos(t) * (z * _polevl(z2, _AI_AGN)
                                                                                 / _polevl(z2, _AI_AGD)))
    # from 2.09
    xp = where(logical_and(x >= 2.09, x <= 103.892), x, 3.0)
    zeta = 2.0 * xp * sqrt(xp) / 3
    iz = 1 / zeta
    pos = (1 / math.sqrt(math.pi)) * (_polevl(iz, _AI_AN) / _polevl(iz, _AI_AD)) / (2 * sqrt(sqrt(xp)) * exp(zeta))
    # the series f = sum 3^k (1/3)_k x^3k / (3k)!, g = sum 3^k (2/3)_k x^(3k+1) / (3k+1)!
    xm = where(logical_and(x >= -2.09, x < 2.09), x, 0.0)
    z3 = xm * xm * xm
    m, n, f, g = full_like(xm, 1.0), xm, full_like(xm, 1.0), xm
    k = 1.0
    for _ in range(_AI_STEPS):
        m = m * z3 / ((k + 1) * (k + 2))
        n = n * z3 / ((k + 2) * (k + 3))
        f, g = f + m, g + n
        k += 3
    mid = 0.355028053887817239260 * f - 0.258819403792806798405 * g
    out = where(x < -2.09, neg, where(x < 2.09, mid, where(x <= 103.892, pos, 0.0)))
    return where(logical_or(isinf(x), isnan(x)), math.nan, out)


def _no_grad_unary(name: str, impl: Callable[[Tensor], Tensor], doc: str) -> Callable:
    """A torch.special function of one tensor with no derivative (float32/float64 kernels only)."""
    def fn(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        return _out(impl(_float_unary(name, input).detach()), out)
    fn.__name__ = fn.__qualname__ = "special_" + name
    fn.__doc__ = doc
    return fn


special_bessel_j0 = _no_grad_unary("bessel_j0", _bessel_j0, """The Bessel function of the first kind J0; no derivative.

    Example:
        >>> ember.special.bessel_j0(ember.tensor([0.0, 1.0]))
        tensor([1.0000, 0.7652])
    """)
special_bessel_j1 = _no_grad_unary("bessel_j1", _bessel_j1, """The Bessel function of the first kind J1; no derivative.

    Example:
        >>> ember.special.bessel_j1(ember.tensor([0.0, 1.0]))
        tensor([0.0000, 0.4401])
    """)
special_bessel_y0 = _no_grad_unary("bessel_y0", _bessel_y0, """The Bessel function of the second kind Y0 (-inf at 0,
    NaN below); no derivative.

    Example:
        >>> ember.special.bessel_y0(ember.tensor([1.0]))
        tensor([0.0883])
    """)
special_bessel_y1 = _no_grad_unary("bessel_y1", _bessel_y1, """The Bessel function of the second kind Y1 (-inf at 0,
    NaN below); no derivative.

    Example:
        >>> ember.special.bessel_y1(ember.tensor([1.0]))
        tensor([-0.7812])
    """)
special_modified_bessel_k0 = _no_grad_unary("modified_bessel_k0", _bessel_k0, """The modified Bessel function K0
    (inf at 0, NaN below); no derivative.

    Example:
        >>> ember.special.modified_bessel_k0(ember.tensor([1.0]))
        tensor([0.4210])
    """)
special_modified_bessel_k1 = _no_grad_unary("modified_bessel_k1", _bessel_k1, """The modified Bessel function K1
    (inf at 0, NaN below); no derivative.

    Example:
        >>> ember.special.modified_bessel_k1(ember.tensor([1.0]))
        tensor([0.6019])
    """)
special_scaled_modified_bessel_k0 = _no_grad_unary("scaled_modified_bessel_k0", _bessel_k0e, """exp(x) K0(x)
    (inf at 0, NaN below); no derivative.

    Example:
        >>> ember.special.scaled_modified_bessel_k0(ember.tensor([1.0]))
        tensor([1.1445])
    """)
special_scaled_modified_bessel_k1 = _no_grad_unary("scaled_modified_bessel_k1", _bessel_k1e, """exp(x) K1(x)
    (inf at 0, NaN below); no derivative.

    Example:
        >>> ember.special.scaled_modified_bessel_k1(ember.tensor([1.0]))
        tensor([1.6362])
    """)
special_airy_ai = _no_grad_unary("airy_ai", _airy_ai, """The Airy function Ai (NaN at +-inf); no derivative.

    Example:
        >>> ember.special.airy_ai(ember.tensor([0.0, 1.0]))
        tensor([0.3550, 0.1353])
    """)
BESSEL = (special_bessel_j0, special_bessel_j1, special_bessel_y0, special_bessel_y1, special_modified_bessel_k0,
          special_modified_bessel_k1, special_scaled_modified_bessel_k0, special_scaled_modified_bessel_k1,
          special_airy_ai)


# the orthogonal polynomials: PyTorch's recurrences, n truncated to an integer, 0 for n < 0, no derivative
def _poly_operands(name: str, x: Any, n: Any) -> tuple:
    if not isinstance(x, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                        f"({type(x).__name__}, {type(n).__name__})")
    ref = x if isinstance(x, Tensor) else n
    dt = _dt.result_type(x, n)
    if dt.is_complex or dt.itemsize <= 2 and dt.is_floating_point:
        raise _type_refusal(name, ref._device.type, dt)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    x = x.detach().to(dt) if isinstance(x, Tensor) else full_like(ref.detach(), x, dtype=dt)
    n = n.detach().to(dt) if isinstance(n, Tensor) else full_like(ref.detach(), n, dtype=dt)
    from ember.functions.shape import broadcast_tensors

    x, n = broadcast_tensors(x, n)
    with_nan = where(isnan(n), -1.0, n)  # (PyTorch's int64 cast of NaN is negative)
    return x, _ew.trunc(with_nan), max(int(_ew.trunc(with_nan).max().item()) if n.numel() else 0, 0)


def _recurrence(x: Tensor, n: Tensor, top: int, q: Tensor, step: Callable) -> Tensor:
    """p_0 = 1, p_1 = q, p_k = step(k, p_{k-1}, p_{k-2}) for k = 2..n, elementwise n."""
    p = full_like(x, 1.0)
    out = where(n == 0, 1.0, q)
    for k in range(2, top + 1):
        p, q = q, step(k, q, p)
        out = where(n == k, q, out)
    return out


def _chebyshev(kind: str) -> Callable:
    def fn(x: Tensor, n: Tensor, top: int) -> Tensor:
        first = {"t": x, "u": x + x, "v": x + x - 1, "w": x + x + 1}[kind]
        out = _recurrence(x, n, top, first, lambda k, q, p: (x + x) * q - p)
        ax = abs(x)
        theta = _kernel_or("acos", where(ax < 1, x, 0.0), _acos)
        odd = _ew.remainder(n, 2) == 1
        if kind == "t":
            closed = cos(n * theta)
            at_one = where(logical_and(x < 0, odd), -1.0, 1.0)
            cutoff = 6
        elif kind == "u":
            s = sin(theta)
            closed = where(s != 0, sin((n + 1) * theta) / where(s != 0, s, 1.0), (n + 1) * cos((n + 1) * theta) / x)
            at_one = where(logical_and(x < 0, odd), -(n + 1), n + 1)
            cutoff = 8
        elif kind == "v":
            h = theta / 2
            closed = where(sin(h) != 1, cos((n + 0.5) * theta) / cos(h), where(odd, -(n + n + 1), n + n + 1))
            at_one = where(x > 0, 1.0, where(odd, -(n + n + 1), n + n + 1))
            cutoff = 8
        else:
            h = theta / 2
            closed = where(cos(h) != 1, sin((n + 0.5) * theta) / sin(h),
                           where(x > 0, n + n + 1, where(odd, -1.0, 1.0)))
            at_one = where(x > 0, n + n + 1, where(odd, -1.0, 1.0))
            cutoff = 8
        out = where(logical_and(n > cutoff, ax < 1), closed, out)
        return where(ax == 1, at_one, out)
    return fn


def _shifted(kind: str) -> Callable:
    base = _chebyshev(kind)
    return lambda x, n, top: base(x + x - 1, n, top)


def _hermite_h(x: Tensor, n: Tensor, top: int) -> Tensor:
    limit = 512 if x._dtype is _dt.float64 else 128  # PyTorch returns NaN past these orders
    out = _recurrence(x, n, min(top, limit), x + x, lambda k, q, p: (x + x) * q - (2 * k - 2) * p)
    return where(n > limit, math.nan, out)


def _hermite_he(x: Tensor, n: Tensor, top: int) -> Tensor:
    limit = 512 if x._dtype is _dt.float64 else 128
    out = _recurrence(x, n, min(top, limit), x, lambda k, q, p: x * q - (k - 1) * p)
    return where(n > limit, math.nan, out)


def _laguerre(x: Tensor, n: Tensor, top: int) -> Tensor:
    out = _recurrence(x, n, top, 1 - x, lambda k, q, p: (((2 * k - 2) + (1 - x)) * q - (k - 1) * p) / k)
    return where(x == 0, 1.0, out)


def _legendre(x: Tensor, n: Tensor, top: int) -> Tensor:
    out = _recurrence(x, n, top, x, lambda k, q, p: ((2 * k - 1) * x * q - (k - 1) * p) / k)
    at_one = where(logical_and(x < 0, _ew.remainder(n, 2) == 1), -1.0, 1.0)
    return where(abs(x) == 1, at_one, out)


def _polynomial(name: str, impl: Callable) -> Callable:
    def fn(input: Any, n: Any, *, out: Tensor | None = None) -> Tensor:
        x, nn, top = _poly_operands(name, input, n)
        result = impl(x, nn, top)
        return _out(where(nn < 0, 0.0, result), out)

    fn.__name__ = fn.__qualname__ = "special_" + name
    fn.__doc__ = (f"The {name.replace('_', ' ')} of order ``n`` at ``input`` (``ember.special.{name}``); "
                  "``n`` is truncated to an integer, 0 below 0; no derivative, as in PyTorch.")
    return fn


_POLYNOMIALS = {
    **{f"chebyshev_polynomial_{k}": _chebyshev(k) for k in "tuvw"},
    **{f"shifted_chebyshev_polynomial_{k}": _shifted(k) for k in "tuvw"},
    "hermite_polynomial_h": _hermite_h, "hermite_polynomial_he": _hermite_he,
    "laguerre_polynomial_l": _laguerre, "legendre_polynomial_p": _legendre,
}
POLYNOMIALS = {name: _polynomial(name, impl) for name, impl in _POLYNOMIALS.items()}


# ---- declarations ------------------------------------------------------------------------------
_ops = Family(__name__)
_op = _ops.op
# ``export_inplace``: PyTorch has ``torch.asin_`` & co for these, but no ``torch.lgamma_``/``digamma_``/``erfinv_``
for _fn, _alias in ((asin, "arcsin"), (acos, "arccos"), (atan, "arctan")):
    _op(_fn, aliases=(_alias,), inplace=True, out=True, kernels=(_fn.__name__,), export_inplace=True)
for _fn, _alias in ((asinh, "arcsinh"), (acosh, "arccosh"), (atanh, "arctanh")):
    _op(_fn, aliases=(_alias,), inplace=_inplace_without_derivative(_fn), out=True, kernels=(_fn.__name__,),
        export_inplace=True)
for _fn in (sinh, cosh, exp2, erfc, lgamma, digamma):
    _op(_fn, inplace=True, out=True, kernels=(_fn.__name__,), export_inplace=_fn not in (lgamma, digamma))
for _fn in (erfinv, logit, sinc, xlogy, deg2rad, rad2deg, i0):
    _op(_fn, inplace=True, out=True, export_inplace=_fn is not erfinv)
_op(polygamma, method=_polygamma_method, inplace=_ew._inplace(_polygamma_method), out=True)
_op(xlog1py, export=False, method=False, out=True)  # torch.special.xlog1py only
_op(igamma, inplace=True, out=True)
_op(igammac, inplace=True, out=True)
# torch.special only: declared under their torch.special names, not exported as ember.*
for _fn in (special_gammainc, special_gammaincc, special_erfcx, special_modified_bessel_i0,
            special_modified_bessel_i1, special_spherical_bessel_j0, *BESSEL, *POLYNOMIALS.values()):
    _op(_fn, _fn.__name__.removeprefix("special_"), export=False, method=False, out=True)

__all__ = _ops.names()
