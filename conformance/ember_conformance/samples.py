"""Sample inputs for the op table: small, seeded NumPy arrays in every layout that matters.

An input is either a plain NumPy array (contiguous on the device) or a :class:`View`: a
contiguous base array plus a view applied on the device (a transpose or a strided slice), so
kernels and ops are also checked on non-contiguous inputs.

Example:
    >>> import numpy as np
    >>> from ember_conformance.samples import View, values
    >>> v = View.transposed(np.arange(6.0).reshape(2, 3))
    >>> v.host().shape, v.base.shape
    ((2, 3), (3, 2))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ember.numpy_dtypes import to_numpy

__all__ = ["FLOATS", "INTS", "ALL", "NP", "View", "Sample", "values", "rng_for", "host", "upcast"]

FLOATS = ("float32", "float64", "float16", "bfloat16")
INTS = ("int64", "int32", "int16", "int8", "uint8")
ALL = FLOATS + INTS + ("bool",)


#: dtype name -> NumPy dtype, from ember's one map (``ember.numpy_dtypes``: bfloat16 is ml_dtypes',
#: what the cpu backend stores it as); the complex dtypes too, for the rows that use them
NP = {name: to_numpy(name) for name in ALL + ("complex64", "complex128")}


@dataclass
class View:
    """A non-contiguous input: ``base`` is sent to the device, then ``kind`` is applied there."""

    base: np.ndarray
    kind: str  # "T" (swap the two axes) or "step" (every other column)

    @classmethod
    def transposed(cls, value: np.ndarray) -> View:
        return cls(np.array(value.T, order="C"), "T")

    @classmethod
    def strided(cls, value: np.ndarray) -> View:
        base = np.repeat(value, 2, axis=-1)  # columns 0, 2, 4... are `value`
        return cls(np.array(base, order="C"), "step")

    def host(self) -> np.ndarray:
        return self.apply_numpy(self.base)

    def apply_numpy(self, a: np.ndarray) -> np.ndarray:
        return a.T if self.kind == "T" else a[..., ::2]

    def apply_tensor(self, t):
        return t.transpose(0, 1) if self.kind == "T" else t[..., ::2]


@dataclass
class Sample:
    """One call: positional inputs (arrays, Views, Python values) and keyword params."""

    kind: str
    args: tuple
    params: dict = field(default_factory=dict)


def host(a):
    """The host value an input stands for (Views resolved; containers recursed)."""
    if isinstance(a, View):
        return a.host()
    if isinstance(a, list):
        return [host(x) for x in a]
    if isinstance(a, tuple):
        return tuple(host(x) for x in a)
    return a


def upcast(a):
    """Floating arrays to float64 so references are computed in full precision."""
    if isinstance(a, np.ndarray) and (a.dtype.kind == "f" or a.dtype == NP["bfloat16"]):
        return a.astype(np.float64)
    if isinstance(a, list):
        return [upcast(x) for x in a]
    if isinstance(a, tuple):
        return tuple(upcast(x) for x in a)
    return a


def rng_for(*key: str) -> np.random.Generator:
    """A generator seeded from the row's name, so every run sees the same inputs."""
    seed = sum((i + 1) * ord(c) for i, c in enumerate("/".join(key))) % (2**32)
    return np.random.default_rng(seed)


def values(rng: np.random.Generator, shape: tuple, dtype: str, domain: str = "real",
           scale: float = 1.0) -> np.ndarray:
    """Random values of ``dtype`` in ``domain``: real, positive, unit (|x| < 1), nonzero, int."""
    npd = NP[dtype]
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if dtype in INTS:
        lo, hi = (0, 10) if dtype == "uint8" or domain in ("positive", "nonneg") else (-9, 10)
        if domain == "small":
            lo, hi = (0, 4) if dtype == "uint8" else (-3, 4)
        out = np.asarray(rng.integers(lo, hi, size=shape))
        if domain in ("nonzero", "positive"):
            out[out == 0] = 1
        return out.astype(npd)
    if domain == "positive":
        out = rng.uniform(0.5, 2.0, size=shape)
    elif domain == "unit":
        out = rng.uniform(-0.9, 0.9, size=shape)
    elif domain == "nonzero":
        out = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    else:
        out = rng.standard_normal(size=shape)
    return np.asarray(out * scale).astype(npd)
