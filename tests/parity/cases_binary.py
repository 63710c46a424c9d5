"""Parity rows for the binary pointwise ops of ``ember.functions.binary`` (logaddexp, hypot, copysign,
float_power, heaviside, fmax/fmin, gcd/lcm, nextafter, the bit shifts), the bitwise ops on every
integer dtype, and the edge cases of atan2, fmod, remainder and pow (issue #14 section 3)."""

from __future__ import annotations

from typing import Any

from parity_cases import BOOL, F32, F64, I32, I64, U8, In, OpSpec, S, binary, listed, method, ns

I8, I16 = "int8", "int16"
SMALL_INT = (I8, U8, I16)
EVERY_INT = (I64, I32, I16, I8, U8)


def _special_pair(shape: tuple = (4, 5)) -> tuple:
    return (In(shape, kind="special"), In(shape, kind="special"))


def _new_float_ops() -> list[OpSpec]:
    """Ops PyTorch defines on floating dtypes only (ints promote with a float operand, alone they raise)."""
    rows = []
    for name in ("logaddexp", "logaddexp2", "hypot", "nextafter"):
        rows += [
            OpSpec(name, ns(name), binary(scalars=(2.5,)), (F32, F64, I64)),
            OpSpec(f"{name}.special", ns(name), listed(S("special", _special_pair()),
                                                       S("int_float", (In((3, 4), dtype=I32), In((4,), dtype=F32))),
                                                       S("zerod_f64", (In((3,), dtype=F32), In((), dtype=F64))),
                                                       S("bool_bool", (In((3,), dtype=BOOL), In((3,), dtype=BOOL)))),
                   (F32,), grad_tol=10),  # (the 0-d float64's gradient is computed in float32)
            OpSpec(f"{name}.method", method(name), listed(S("same", (In((3, 4)), In((3, 4)))),
                                                          S("scalar", (In((3, 4)), 1.0))), (F32,)),
        ]
    rows += [
        # the step from ``a`` is 1 ulp: compare it, not ``a`` itself (1 ulp is inside any tolerance)
        OpSpec("nextafter.step", lambda lib, a, b: lib.nextafter(a, b) - a,
               listed(S("random", (In((3, 4)), In((3, 4)))), S("bcast", (In((3, 4)), In((1, 4)))),
                      S("from_zero", (In((6,), kind="zeros_some"), In((6,))))), (F32, F64)),
        OpSpec("logaddexp.large", ns("logaddexp"), listed(S("large", (In((3, 4), kind="large"), In((3, 4), kind="large"))),
                                                          S("ties", (In((3, 4), kind="ties"), In((3, 4), kind="ties")))),
               (F32, F64)),
        OpSpec("hypot.large", ns("hypot"), listed(S("large", (In((3, 4), kind="large"), In((3, 4), kind="large")))),
               (F32, F64)),
    ]
    return rows


def _other_new_ops() -> list[OpSpec]:
    return [
        OpSpec("copysign", ns("copysign"), binary(scalars=(-2, 2.5)), (F32, F64, I64, I32, BOOL, I8)),
        OpSpec("copysign.special", ns("copysign"), listed(S("special", _special_pair()),
                                                          S("neg_zero", (In((3, 4)), -0.0)),
                                                          S("int_float", (In((3, 4), dtype=I64), In((4,), kind="special"))),
                                                          S("number_first", (1.5, In((3,))))), (F32, F64)),
        OpSpec("copysign.method", method("copysign"), listed(S("tensor", (In((3, 4)), In((3, 4), kind="special")))),
               (F32,)),
        OpSpec("float_power", ns("float_power"), binary("positive", "any"), (F32, F64, I64, I32)),
        OpSpec("float_power.edges", ns("float_power"), listed(S("neg_base", (In((3, 4)), In((3, 4)))),
                                                              S("scalar_base", (2.0, In((3, 4)))),
                                                              S("int_neg_exp", (In((3,), dtype=I64, kind="nonzero"), -1)),
                                                              S("numbers", (2.0, 3.0)),
                                                              S("zero_base", (In((6,), kind="zeros_some"), In((6,))))),
               (F32, F64)),
        OpSpec("heaviside", ns("heaviside"), binary("ties", "any", scalars=(2,)), (F32, F64, I64, BOOL, I8)),
        OpSpec("heaviside.edges", ns("heaviside"), listed(S("special", _special_pair()),
                                                          S("mixed_dtypes", (In((3,)), In((3,), dtype=F64))),
                                                          S("zerod_mixed", (In((3,)), In((), dtype=F64)))), (F32,)),
        OpSpec("fmax", ns("fmax"), binary("ties", "ties", scalars=(2,)), (F32, F64, I64, I32, BOOL, U8)),
        OpSpec("fmin", ns("fmin"), binary("ties", "ties", scalars=(2,)), (F32, F64, I64, I32, BOOL, U8)),
        OpSpec("fmax.special", ns("fmax"), listed(S("special", _special_pair()),
                                                  S("int_float", (In((3, 4), dtype=I64), In((4,), kind="special")))),
               (F32, F64)),
        OpSpec("fmin.special", ns("fmin"), listed(S("special", _special_pair()),
                                                  S("int_float", (In((3, 4), dtype=I64), In((4,), kind="special")))),
               (F32, F64)),
        OpSpec("gcd", ns("gcd"), binary(scalars=(3,)), (I64, I32, I16, I8, U8, BOOL, F32)),
        OpSpec("lcm", ns("lcm"), binary(scalars=(3,)), (I64, I32, I16, I8, U8, BOOL, F32)),
        OpSpec("gcd.wide", ns("gcd"), listed(S("index", (In((4, 5), kind="index", high=200, dtype=I64),
                                                         In((5,), kind="index", high=90, dtype=I64))),
                                             S("mixed", (In((4,), dtype=I32), In((4,), dtype=I64)))), (I64,)),
        OpSpec("lcm.wide", ns("lcm"), listed(S("index", (In((4, 5), kind="index", high=200, dtype=I64),
                                                         In((5,), kind="index", high=90, dtype=I64))),
                                             S("overflow_i8", (In((4,), kind="index", high=120, dtype=I8),
                                                               In((4,), kind="index", high=120, dtype=I8)))), (I64,)),
    ]


def _shift_counts(dtype: str) -> In:
    """Counts from 0 to past the widest bit width (64); the uint8 draw already spans 0..255."""
    return In((3, 4), dtype=dtype, kind="index", high=70)


def _shift_rows() -> list[OpSpec]:
    rows = []
    for name, op in (("bitwise_left_shift", lambda lib, a, b: a << b), ("bitwise_right_shift", lambda lib, a, b: a >> b)):
        short = "lshift" if "left" in name else "rshift"
        rows += [
            OpSpec(name, ns(name), binary(scalars=(3,)), (I64, I32, I16, I8, U8, BOOL, F32)),
            OpSpec(f"{name}.counts", ns(name), listed(*(S(f"wide_{dt}", (In((3, 4), dtype=dt), _shift_counts(dt)))
                                                        for dt in EVERY_INT)), (I64,)),
            OpSpec(f"{short}.operator", op, listed(
                S("tensors", (In((3, 4)), In((3, 4)))), S("negative_counts", (In((3, 4)), In((4,)))),
                S("scalar", (In((3, 4)), 3)), S("scalar_big", (In((3, 4)), 70)), S("scalar_neg", (In((3, 4)), -1)),
                S("bit_width", (In((3, 4)), 63)), S("zerod", (In(()), In((3, 4), kind="index", high=70))),
                S("empty", (In((0, 4)), In((4,)))), S("noncontig", (In((3, 4), layout="T"), In((3, 4), layout="step"))),
                S("mixed_dtypes", (In((3,), dtype=I8), In((3,), dtype=I64))), S("float", (In((3,), dtype=F32), 1)),
                S("float_count", (In((3,)), 1.5)), S("bools", (In((3,), dtype=BOOL), In((3,), dtype=BOOL))),
                S("mismatch", (In((3,)), In((4,))))), EVERY_INT),
            OpSpec(f"{short}.reflected", lambda lib, b, op=op: op(lib, 5, b),
                   listed(S("tensor", (In((3, 4), kind="index", high=70),))), EVERY_INT),
            OpSpec(f"{name}.number_first", ns(name), listed(S("number", (-7, In((3, 4), kind="index", high=70)))),
                   (I64, I8)),
        ]
    return rows


def _bitwise_rows() -> list[OpSpec]:
    """The bitwise ops on every integer dtype and bool, their operators and Python-number operands."""
    ops = {"and": lambda lib, a, b: a & b, "or": lambda lib, a, b: a | b, "xor": lambda lib, a, b: a ^ b}
    rows = [OpSpec(f"bitwise_{n}.small_ints", ns(f"bitwise_{n}"), binary(scalars=(-3,)), SMALL_INT) for n in ops]
    for n, op in ops.items():
        rows.append(OpSpec(f"bitwise_{n}.operator", op, listed(
            S("ints", (In((3, 4)), In((3, 4)))), S("bool_int", (In((3,), dtype=BOOL), In((3,), dtype=I64))),
            S("bool_number", (In((3,), dtype=BOOL), 1)), S("bool_true", (In((3,), dtype=BOOL), True)),
            S("int_true", (In((3,)), True)), S("negative", (In((3,)), -128)), S("wide_number", (In((3,)), 1000)),
            S("u8_i8", (In((3,), dtype=U8), In((3,), dtype=I8))), S("float", (In((3,), dtype=F32), In((3,), dtype=F32))),
            S("bool_float", (In((3,), dtype=BOOL), In((3,), dtype=F32))), S("float_number", (In((3,)), 1.5))),
            EVERY_INT))
        rows.append(OpSpec(f"bitwise_{n}.reflected", lambda lib, b, op=op: op(lib, 6, b),
                           listed(S("tensor", (In((3, 4)),))), (I64, U8, BOOL)))
        rows.append(OpSpec(f"bitwise_{n}.number_first", ns(f"bitwise_{n}"), listed(S("number", (6, In((3, 4)))),
                                                                                   S("float_number", (1.5, In((3,))))),
                           (I64, I8)))
    rows += [
        OpSpec("bitwise_not.small_ints", ns("bitwise_not"), listed(S("matrix", (In((3, 4)),)), S("scalar", (In(()),)),
                                                                   S("noncontig", (In((3, 4), layout="T"),))),
               (*SMALL_INT, F32, F64)),
        OpSpec("invert.operator", lambda lib, a: ~a, listed(S("matrix", (In((3, 4)),))), (*EVERY_INT, BOOL, F32)),
    ]
    return rows


def _atan2_rows() -> list[OpSpec]:
    return [
        OpSpec("atan2.special", ns("atan2"), listed(S("special", _special_pair((6, 6))),
                                                    S("zerod_f64", (In((3,), dtype=I64), In((), dtype=F64))),
                                                    S("int_f32", (In((3, 4), dtype=I64), In((4,), dtype=F32)))), (F32, F64)),
        OpSpec("atan2.ints", ns("atan2"), listed(S("same", (In((3, 4)), In((3, 4)))), S("bcast", (In((3, 4)), In((4,))))),
               (I64, I32, I16, I8, U8, BOOL)),
        OpSpec("atan2.method", method("atan2"), listed(S("tensor", (In((3, 4)), In((3, 4)))),
                                                       S("number", (In((3, 4)), 2.0))), (F32, I64)),
        OpSpec("arctan2", ns("arctan2"), listed(S("tensor", (In((3, 4)), In((3, 4))))), (F32,)),
    ]


def _division_rows() -> list[OpSpec]:
    def pair(a_kind: str, b_kind: str, **kw: Any) -> tuple:
        return (In((4, 5), kind=a_kind, **kw), In((4, 5), kind=b_kind, **kw))

    rows = []
    for name in ("fmod", "remainder"):
        rows += [
            OpSpec(f"{name}.special", ns(name), listed(S("special", _special_pair((6, 6))),
                                                       S("zero_divisor", pair("any", "zeros_some")),
                                                       S("ties", pair("ties", "nonzero"))), (F32, F64)),
            OpSpec(f"{name}.ints", ns(name), listed(S("signs", pair("any", "nonzero")),
                                                    S("zero_divisor", (In((3, 4)), In((3, 4), kind="nonneg"))),
                                                    S("number_zero", (In((3, 4)), 0)),
                                                    S("number_neg", (In((3, 4)), -3)),
                                                    S("number_float", (In((3, 4)), 2.5)),
                                                    S("number_first", (7, In((3, 4), kind="nonzero"))),
                                                    S("zerod", (In(()), In((3, 4), kind="nonzero")))),
                   (I64, I32, I16, I8, U8)),
            OpSpec(f"{name}.bool", ns(name), listed(S("bools", (In((3,)), In((3,))))), (BOOL,)),
            OpSpec(f"{name}.number", ns(name), listed(S("float", (In((3, 4)), -1.5)), S("neg_zero", (In((3, 4)), -0.0)),
                                                      S("inf", (In((3, 4)), float("inf"))),
                                                      S("number_first", (-5.5, In((3, 4), kind="nonzero")))),
                   (F32, F64)),
        ]
    # (the random "nonzero" draw is not meant for 8/16-bit dtypes: signed operands come from index draws here)
    rows.append(OpSpec("division.small_ints", lambda lib, a, b: (
        lib.remainder(a - 5, b + 1), lib.remainder(a - 5, b - 6), lib.fmod(a - 5, b + 1), lib.fmod(a - 5, b - 6),
        (a - 5) % 3, lib.fmod(a - 5, -3), (a - 5) // (b - 6)),
        listed(*(S(dt, (In((4, 5), dtype=dt, kind="index", high=10), In((4, 5), dtype=dt, kind="index", high=5)))
                 for dt in (I8, I16, I32, U8))), (I64,)))
    rows.append(OpSpec("mod.operator", lambda lib, a, b: (a % b, 7 % b, a % 3), listed(
        S("ints", (In((3, 4)), In((3, 4), kind="nonzero")))), (I64, I8)))
    rows.append(OpSpec("mod.operator_float", lambda lib, a, b: (a % b, -7.5 % b, a % -2.0), listed(
        S("floats", (In((3, 4)), In((3, 4), kind="nonzero")))), (F32, F64)))
    return rows


def _pow_rows() -> list[OpSpec]:
    def exps(kind: str = "any") -> In:
        return In((6,), kind=kind)

    return [
        OpSpec("pow.int_float_exponent", ns("pow"), listed(
            S("minus_one", (In((3, 4), kind="nonzero"), -1.0)), S("zerod_minus_one", (In((), kind="nonzero"), -1.0)),
            S("half", (In((3, 4), kind="nonneg"), 0.5)), S("neg_int", (In((3, 4), kind="nonzero"), -1)),
            S("zerod_neg_int", (In((), kind="nonzero"), -2)), S("tensor_neg", (In((3,), kind="nonzero"), In((3,), kind="any")))),
               (I64, I32, I8)),
        OpSpec("pow.int_float_exponent_op", lambda lib, a: (a ** -1.0, a ** 2.5, 2 ** a, 2.0 ** a, a ** 0),
               listed(S("tensor", (In((3, 4), kind="nonzero"),))), (I64, U8)),
        OpSpec("pow.base_le_zero", ns("pow"), listed(
            S("zero_scalar_base", (0.0, exps())), S("neg_scalar_base", (-2.0, exps("ties"))),
            S("int_zero_base", (0, exps())), S("neg_int_base", (-1, exps("ties"))),
            S("zero_tensor_base", (In((6,), kind="zeros_some"), exps("ties"))),
            S("neg_tensor_base", (In((6,), kind="ties"), exps("ties"))),
            S("zero_base_number", (In((6,), kind="zeros_some"), 0.0)),
            S("zero_base_half", (In((6,), kind="zeros_some"), 0.5)),
            S("zero_base_neg_half", (In((6,), kind="zeros_some"), -0.5)),
            S("special_base", (In((6,), kind="special"), 2.0)),
            S("special_both", (In((6,), kind="special"), In((6,), kind="special")))), (F32, F64)),
    ]


def rows() -> list[OpSpec]:
    return [*_new_float_ops(), *_other_new_ops(), *_shift_rows(), *_bitwise_rows(), *_atan2_rows(),
            *_division_rows(), *_pow_rows()]
