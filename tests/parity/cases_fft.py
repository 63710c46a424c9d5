"""Parity rows for ``ember.fft`` (issue #14): every transform with ``n``/``s``, ``dim`` and each
``norm``, odd and even sizes, padding and cropping, 0-d/empty/non-contiguous inputs, real, integer
and complex inputs, the helpers (fftfreq, rfftfreq, fftshift, ifftshift), PyTorch's errors, and
gradients (PyTorch's conjugate Wirtinger convention, through rfft/irfft's Hermitian halves too).

Complex inputs and results go through :mod:`cases_complex`'s helpers (a float ``(..., 2)`` input
read with ``view_as_complex``; a complex result compared through ``view_as_real``). A device without
complex dtypes must refuse every transform with a TypeError naming the dtype (asserted by
``on_device``); fftfreq, rfftfreq and the shifts need no complex dtype and run there natively.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cases_complex import _as_real, cx, on_device, z, zs
from parity_cases import BOOL, F32, F64, I64, In, OpSpec, S, listed
from parity_compare import DEVICE

FLOAT = (F32, F64)
NORMS = (None, "backward", "ortho", "forward")
C2C = ("fft", "ifft")
R2C = ("rfft", "ihfft")
C2R = ("irfft", "hfft")
ND = {"fftn": "c", "ifftn": "c", "fft2": "c", "ifft2": "c", "rfftn": "r", "rfft2": "r", "ihfftn": "r",
      "ihfft2": "r", "irfftn": "c", "irfft2": "c", "hfftn": "c", "hfft2": "c"}


def _fn(name: str) -> Callable[..., Any]:
    return lambda lib, x, **kw: getattr(lib.fft, name)(x, **kw)


def real_in(name: str) -> Callable[..., Any]:
    """``lib.fft.<name>`` of a real input, a complex result compared as its parts."""
    return on_device(lambda lib, x, **kw: _as_real(lib, getattr(lib.fft, name)(x, **kw)))


def _one_dim_samples(kind: str) -> Callable[[str], list]:
    """n (crop, pad, odd, even), dim and every norm; 0-d (an error), empty (an error), batched."""
    inp = z if kind == "c" else (lambda *s: In(s))

    def samples(dtype: str) -> list:
        out = [S("even", (inp(8),), core=True), S("odd", (inp(7),)), S("one", (inp(1),))]
        out += [S(f"norm_{norm}", (inp(6),), {"norm": norm}) for norm in NORMS]
        out += [S(f"n{n}", (inp(6),), {"n": n}) for n in (1, 4, 5, 9, 12)]
        out += [S(f"n{n}_{norm}", (inp(5),), {"n": n, "norm": norm}) for n in (3, 8) for norm in ("ortho", "forward")]
        out += [S("dim0", (inp(5, 3),), {"dim": 0}), S("dim1", (inp(3, 6),), {"dim": 1, "norm": "ortho"}),
                S("batch3", (inp(2, 3, 4),), {"dim": -2, "n": 5}),
                S("n0", (inp(4),), {"n": 0}), S("nneg", (inp(4),), {"n": -2}), S("bad_norm", (inp(4),), {"norm": "bad"}),
                S("bad_norm_case", (inp(4),), {"norm": "Ortho"}), S("dim_oob", (inp(3, 4),), {"dim": 2}),
                S("zerod", (inp(),)), S("empty", (inp(0),))]
        return out

    return samples


def _noncontig_rows(name: str, kind: str) -> list[OpSpec]:
    if kind == "c":
        return [OpSpec(f"fft.{name}.c{v}", cx(lambda lib, a, f=name: getattr(lib.fft, f)(a, dim=0), view=v),
                       listed(zs("m", (4, 6))), (F32,)) for v in ("T", "step")]
    return [OpSpec(f"fft.{name}.{lay}", real_in(name), listed(S("m", (In((4, 6), layout=lay),), {"dim": 0})), (F32,))
            for lay in ("T", "step", "expand")] + [
        OpSpec(f"fft.{name}.permute3", real_in(name), listed(S("m", (In((2, 3, 4), layout="permute"),))), (F32,))]


def _one_dim_rows() -> list[OpSpec]:
    rows = []
    for name in C2C:
        rows.append(OpSpec(f"fft.{name}", cx(_fn(name)), _one_dim_samples("c"), FLOAT))
        rows.append(OpSpec(f"fft.{name}.real", real_in(name), _one_dim_samples("r"), FLOAT))
        rows.append(OpSpec(f"fft.{name}.int", real_in(name), listed(S("int", (In((6,), dtype=I64),)),
                                                                     S("bool", (In((5,), dtype=BOOL),))), (F32,)))
        rows += _noncontig_rows(name, "c") + _noncontig_rows(name, "r")
    for name in R2C:
        rows.append(OpSpec(f"fft.{name}", real_in(name), _one_dim_samples("r"), FLOAT))
        rows.append(OpSpec(f"fft.{name}.complex_input", cx(_fn(name)), listed(zs("m", (4,))), (F32,)))
        rows += _noncontig_rows(name, "r")
    for name in C2R:
        rows.append(OpSpec(f"fft.{name}", cx(_fn(name)), _one_dim_samples("c"), FLOAT, tol=10.0))
        rows.append(OpSpec(f"fft.{name}.real_input", real_in(name), listed(S("m", (In((3, 5)),)),
                                                                         S("n", (In((5,)),), {"n": 7})), FLOAT))
        rows += _noncontig_rows(name, "c")
    # one point: irfft's default n is 2 * (1 - 1) = 0, an error
    rows.append(OpSpec("fft.irfft.one_point", cx(_fn("irfft")), listed(zs("one", (1,))), (F32,)))
    # argument errors come before any device refusal
    rows.append(OpSpec("fft.half", lambda lib, x: lib.fft.fft(x.half()), listed(S("m", (In((4,)),))), (F32,)))
    rows.append(OpSpec("fft.n_float", lambda lib, x: lib.fft.fft(x, n=2.0), listed(S("m", (In((4,)),))), (F32,)))
    return rows


def _nd_samples(kind: str, two: bool) -> Callable[[str], list]:
    inp = z if kind == "c" else (lambda *s: In(s))

    def samples(dtype: str) -> list:
        out = [S("all", (inp(3, 4, 5),), core=True), S("s", (inp(3, 4, 5),), {"s": (3, 6)}),
               S("dims", (inp(3, 4, 5),), {"dim": (0, 2)}), S("s_dims", (inp(3, 4, 5),), {"s": (2, 5), "dim": (2, 0)}),
               S("s_keep", (inp(3, 4, 5),), {"s": (-1, 6), "dim": (1, 2)}),
               S("odd", (inp(5, 7),), {"s": (5, 7)}), S("dup_dims", (inp(3, 4),), {"dim": (0, 0)}),
               S("s_dim_len", (inp(3, 4),), {"s": (2, 3), "dim": (0,)}), S("s_too_long", (inp(3, 4),), {"s": (2, 3, 4)}),
               S("s0", (inp(3, 4),), {"s": (0, 3)}), S("bad_norm", (inp(3, 4),), {"norm": "bad"})]
        out += [S(f"norm_{norm}", (inp(4, 6),), {"norm": norm}) for norm in NORMS]
        if not two:
            out += [S("one_dim", (inp(3, 4, 5),), {"dim": (1,)}), S("s_only", (inp(3, 4),), {"s": (5,)}),
                    S("no_dims", (inp(3, 4),), {"dim": ()}), S("zerod", (inp(),))]
        return out

    return samples


def _nd_rows() -> list[OpSpec]:
    rows = []
    for name, kind in ND.items():
        two = name.endswith("2")
        expr = cx(_fn(name)) if kind == "c" else real_in(name)
        rows.append(OpSpec(f"fft.{name}", expr, _nd_samples(kind, two), FLOAT, tol=10.0))
        # the other input kind: real input to a c2c/c2r transform; complex input to r2c (an error)
        other = real_in(name) if kind == "c" else cx(_fn(name))
        rows.append(OpSpec(f"fft.{name}.other_kind", other,
                           listed(S("m", ((In((3, 4)) if kind == "c" else z(3, 4)),))), (F32,)))
    rows.append(OpSpec("fft.fftn.noncontig", cx(_fn("fftn"), view="T"), listed(zs("m", (3, 4, 5)), zs("d", (4, 5), dim=(0,))),
                       (F32,)))
    rows.append(OpSpec("fft.rfftn.noncontig", real_in("rfftn"), listed(S("m", (In((3, 4, 5), layout="permute"),)),
                                                                       S("T", (In((4, 6), layout="T"),))), (F32,)))
    return rows


def _round_trip_rows() -> list[OpSpec]:
    """Gradients through compositions: the Hermitian halves of rfft/irfft count right."""
    def rt(lib: Any, x: Any, n: int | None = None, norm: str | None = None) -> Any:
        return lib.fft.irfft(lib.fft.rfft(x, norm=norm), n=n if n is not None else x.shape[-1], norm=norm)

    def power(lib: Any, x: Any) -> Any:
        return lib.fft.rfft(x).abs().pow(2).sum(-1)

    def double(lib: Any, x: Any) -> Any:
        return lib.autograd.grad(lib.fft.rfft(x).abs().pow(2).sum(), x, create_graph=True)[0]

    return [
        OpSpec("fft.rfft_irfft", on_device(rt), listed(S("even", (In((3, 8)),)), S("odd", (In((3, 7)),)),
                                                        S("ortho", (In((6,)),), {"norm": "ortho"})), FLOAT),
        OpSpec("fft.power_spectrum", on_device(power), listed(S("even", (In((2, 8)),)), S("odd", (In((9,)),))), FLOAT),
        OpSpec("fft.double_grad", on_device(double), listed(S("even", (In((6,)),)), S("odd", (In((5,)),))), FLOAT),
        OpSpec("fft.conv_theorem", on_device(lambda lib, a, b: lib.fft.irfft(lib.fft.rfft(a) * lib.fft.rfft(b), n=a.shape[-1])),
               listed(S("pair", (In((8,)), In((8,))))), FLOAT),
    ]


def _helper_rows() -> list[OpSpec]:
    def freq(name: str) -> Callable[..., Any]:
        return lambda lib, n, *a, **k: getattr(lib.fft, name)(n, *a, **k)

    dev = {"device": DEVICE}  # made on the device under test (PyTorch's side: its CPU)
    samples = listed(*(S(f"n{n}", (n,), dev) for n in (5, 1, 4, 8)), S("d", (5, 0.5), dev), S("zero", (0,), dev),
                     S("f64", (6,), {"dtype": "dtype:float64", **dev}), S("int_dtype", (4,), {"dtype": "dtype:int64", **dev}),
                     S("complex_dtype", (4,), {"dtype": "dtype:complex64", **dev}), S("negative", (-1,), dev),
                     S("negative3", (-3,), dev))
    rows = [OpSpec(f"fft.{name}", freq(name), samples, (F32,)) for name in ("fftfreq", "rfftfreq")]
    shifts = listed(S("vector", (In((5,)),)), S("even", (In((6,)),)), S("matrix", (In((4, 5)),)),
                    S("dim0", (In((4, 5)),), {"dim": 0}), S("dims", (In((3, 4, 5)),), {"dim": (-1, 0)}),
                    S("T", (In((4, 5), layout="T"),)), S("zerod", (In(()),)), S("empty", (In((0, 3)),)))
    for name in ("fftshift", "ifftshift"):
        rows.append(OpSpec(f"fft.{name}", _fn(name), shifts, (F32, F64, I64)))
        rows.append(OpSpec(f"fft.{name}.complex", cx(_fn(name)), listed(zs("m", (4, 5)), zs("d", (3, 4), dim=0)), (F32,)))
    return rows


def rows() -> list[OpSpec]:
    return _one_dim_rows() + _nd_rows() + _round_trip_rows() + _helper_rows()
