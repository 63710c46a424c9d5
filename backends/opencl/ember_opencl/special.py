"""Special-function kernels (optional in the contract): OpenCL C builtins where the language has
them (asin... exp2, erfc, lgamma), and digamma as a small C function (PyTorch's calc_digamma).

half inputs compute in float (OpenCL's half builtins are optional) and round back; digamma computes
in double where the device has it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import header, launch_map

__all__ = ["KERNELS"]

# PyTorch's lgamma is +inf at the poles and at -inf; C99's lgamma is too, but say so explicitly
# rather than trust every runtime's corner cases.
_LGAMMA = "((isinf({v}) || ({v} <= 0 && {v} == floor({v}))) ? ({t})INFINITY : lgamma({v}))"

# PyTorch's calc_digamma (Cephes psi): reflection below 0, recurrence to x >= 10, asymptotic series.
_DIGAMMA = """
#define DIGAMMA(T) T digamma_##T(T x) { \\
  if (x == 0) return copysign((T)INFINITY, -x); \\
  T result = 0; \\
  if (x < 0) { \\
    if (x == trunc(x)) return (T)NAN; \\
    result = -(T)M_PI / tan((T)M_PI * (x - trunc(x))); \\
    x = 1 - x; \\
  } \\
  while (x < 10) { result -= 1 / x; x += 1; } \\
  if (x == 10) return result + (T)2.25175258906672110764; \\
  T y = 0; \\
  if (x < (T)1.0e17) { \\
    T z = 1 / (x * x); \\
    y = z * (((((((T)8.33333333333333333333E-2 * z - (T)2.10927960927960927961E-2) * z \\
        + (T)7.57575757575757575758E-3) * z - (T)4.16666666666666666667E-3) * z \\
        + (T)3.96825396825396825397E-3) * z - (T)8.33333333333333333333E-3) * z \\
        + (T)8.33333333333333333333E-2); \\
  } \\
  return result + log(x) - (T)0.5 / x - y; \\
}
"""

_EXPRS = {name: name + "({v})" for name in ("asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                                          "exp2", "erfc")}
_EXPRS["lgamma"] = _LGAMMA
_EXPRS["digamma"] = "digamma_{t}({v})"
# computed in double where the device has it: the reflection's pi / tan(pi r) loses digits in float
# next to the poles, where PyTorch's result is float64-exact
_IN_DOUBLE = ("digamma",)


def _kernel(name: str) -> Callable[[CLArray], CLArray]:
    def op(x: CLArray) -> CLArray:
        if np.dtype(x.dtype).kind != "f":
            raise TypeError(f"{name} needs a floating array, got {x.dtype}")
        wide = x.dtype == np.float64 or (name in _IN_DOUBLE and runtime.device(x.device).fp64)
        t = "double" if wide else "float"
        expr = _EXPRS[name].format(t=t, v=f"(({t})v0)")
        preamble = header(t) + _DIGAMMA + f"DIGAMMA({t})\n" if name == "digamma" else header(t)
        return launch_map(empty(x.shape, x.dtype, x.device), [x], expr, preamble)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (same dtype)."
    return op


KERNELS: dict[str, Callable[..., Any]] = {name: _kernel(name) for name in _EXPRS}
