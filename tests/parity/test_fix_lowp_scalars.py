"""Scalars meeting float16/bfloat16 tensors, rounded where PyTorch's CPU kernels round them.

PyTorch casts a CPU scalar operand (a Python number, or a 0-d CPU tensor) to the common dtype
before the kernel runs, so ``x + 0.1`` on a float16 tensor adds the float16 nearest 0.1 (add, sub,
rsub, pow both ways, remainder, fmod, comparisons, ``alpha``); its mul and div kernels instead take
the second operand's own value in float32 (``original_scalar_value``), a 0-d float32/float64 tensor
included. ``number / tensor`` is ``tensor.reciprocal() * number`` in PyTorch (its ``__rdiv__``), in
every dtype: a direct division differed by an ulp in a quarter of float32 quotients. Before, ember
added the unrounded scalar (an ulp off in 5-15% of 16-bit results, 70% for remainder/fmod) and
rounded 0-d tensors for mul/div (35%).
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

_X = (torch.randn(3000, generator=torch.Generator().manual_seed(0)) * 3).numpy()

OPS = {
    "add": lambda l, a, s: a + s,
    "radd": lambda l, a, s: s + a,
    "sub": lambda l, a, s: a - s,
    "rsub": lambda l, a, s: s - a,
    "mul": lambda l, a, s: a * s,
    "div": lambda l, a, s: a / s,
    "rdiv": lambda l, a, s: s / a,
    "floor_divide": lambda l, a, s: a // s,
    "div_trunc": lambda l, a, s: l.div(a, s, rounding_mode="trunc"),
    "div_floor": lambda l, a, s: l.div(a, s, rounding_mode="floor"),
    "pow": lambda l, a, s: a.abs() ** s,
    "rpow": lambda l, a, s: s ** (a / 4),
    "remainder": lambda l, a, s: a % s,
    "fmod": lambda l, a, s: l.fmod(a, s),
    "lt": lambda l, a, s: a < s,
    "ge": lambda l, a, s: a >= s,
    "eq": lambda l, a, s: a == s,
    "add_alpha": lambda l, a, s: l.add(a, a * 0.5, alpha=s),
    "sub_alpha": lambda l, a, s: l.sub(a, a * 0.5, alpha=s),
    "add_scalar_alpha": lambda l, a, s: l.add(a, s, alpha=0.3),
    "inplace_add": lambda l, a, s: a.clone().add_(s),
    "inplace_mul": lambda l, a, s: a.clone().mul_(s),
}
SCALARS = {"python float": lambda l, v: v, "0-d float32": lambda l, v: l.tensor(v, dtype=l.float32),
           "0-d float64": lambda l, v: l.tensor(v, dtype=l.float64)}


def _values(t):
    return (t.detach().cpu().numpy() if t.dtype in (torch.bool, ember.bool) else t.detach().float().cpu().numpy())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("scalar_kind", list(SCALARS))
@pytest.mark.parametrize("op", list(OPS))
def test_16bit_scalar_operands_round_as_pytorch(device, dtype, scalar_kind, op):
    if scalar_kind != "python float" and op in ("add_alpha", "sub_alpha", "add_scalar_alpha", "rpow"):
        pytest.skip("alpha and the pow base are Python numbers")
    t = torch.from_numpy(_X).to(getattr(torch, dtype))
    e = ember.tensor(_X, device=device).to(getattr(ember, dtype))
    for v in (0.1, 0.3, 1.1, -2.7):
        expected = OPS[op](torch, t, SCALARS[scalar_kind](torch, v))
        got = OPS[op](ember, e, SCALARS[scalar_kind](ember, v))
        assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
        r, g = _values(expected), _values(got)
        same = (r == g) | (np.isnan(r) & np.isnan(g))
        if "alpha" in op:
            # PyTorch's add kernel computes a + alpha * b in float32 in its vectorized loop, but the
            # last (n % vector width) elements in 16-bit arithmetic (alpha * b rounded first): an
            # artifact of where an element sits, left unmatched; ember is the vectorized loop
            same = same[:-64]
        # (pow: one result in thousands may differ by an ulp of libm's float32 pow)
        allowed = 2 if op in ("pow", "rpow") else 0
        assert (~same).sum() <= allowed, f"{v}: {(~same).sum()} of {r.size} differ"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_number_divided_by_tensor_is_reciprocal_times_number(device, dtype):
    x = torch.from_numpy(np.abs(_X) + 0.5).to(getattr(torch, dtype))
    e = ember.tensor(x.numpy(), device=device)
    for v in (2.3, 1, -0.7):
        np.testing.assert_array_equal((v / e).cpu().numpy(), (v / x).numpy())
    xi = torch.arange(1, 9)
    np.testing.assert_array_equal((3 / ember.arange(1, 9, device=device)).cpu().numpy(), (3 / xi).numpy())


def test_number_divided_by_tensor_graph_and_errors():
    yt = torch.tensor([2.0, 4.0], requires_grad=True)
    ye = ember.tensor([2.0, 4.0], requires_grad=True)
    zt, ze = 3 / yt, 3 / ye
    assert ze.grad_fn.name() == zt.grad_fn.name()
    assert ze.grad_fn.next_functions[0][0].name() == zt.grad_fn.next_functions[0][0].name()
    zt.sum().backward()
    ze.sum().backward()
    np.testing.assert_array_equal(ye.grad.numpy(), yt.grad.numpy())
    with pytest.raises(TypeError) as te:
        "a" / torch.ones(2)
    with pytest.raises(TypeError) as ee:
        "a" / ember.ones(2)
    assert str(ee.value) == str(te.value)


COMPOSITES = {
    "log2": lambda l, a, b: l.log2(a.abs()),
    "log10": lambda l, a, b: l.log10(a.abs()),
    "tan": lambda l, a, b: l.tan(a),
    "hypot": lambda l, a, b: l.hypot(a, b),
    "silu": lambda l, a, b: l.nn.functional.silu(a),
    "mish": lambda l, a, b: l.nn.functional.mish(a),
    "softplus": lambda l, a, b: l.nn.functional.softplus(a, 2.0),
    "hardswish": lambda l, a, b: l.nn.functional.hardswish(a),
    "hardsigmoid": lambda l, a, b: l.nn.functional.hardsigmoid(a),
    "selu": lambda l, a, b: l.nn.functional.selu(a),
    "silu_inplace": lambda l, a, b: l.nn.functional.silu(a.clone(), inplace=True),
    "elu": lambda l, a, b: l.nn.functional.elu(a, 0.3),
    "celu": lambda l, a, b: l.nn.functional.celu(a, 1.3),
    # a 0-d float32 operand is cast to the 16-bit dtype first, then the kernel computes in float32
    "hypot_0d": lambda l, a, b: l.hypot(a, l.tensor(0.3)),
    "logaddexp_0d": lambda l, a, b: l.logaddexp(a, l.tensor(0.3)),
    "lerp_0d_weight": lambda l, a, b: l.lerp(a, b, l.tensor(0.3, device=a.device)),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", list(COMPOSITES))
def test_16bit_composites_round_once_as_pytorch(device, dtype, op):
    # ember builds these from several ops; PyTorch runs one kernel computing in float32 and rounding
    # once. Rounding after every step left a quarter of the 16-bit results an ulp off.
    y = _X[::-1].copy()
    t, t2 = (torch.from_numpy(v).to(getattr(torch, dtype)) for v in (_X, y))
    e, e2 = (ember.tensor(v, device=device).to(getattr(ember, dtype)) for v in (_X, y))
    expected, got = COMPOSITES[op](torch, t, t2), COMPOSITES[op](ember, e, e2)
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    r, g = _values(expected), _values(got)
    differ = int((~((r == g) | (np.isnan(r) & np.isnan(g)))).sum())
    assert differ <= 2, f"{differ} of {r.size} differ"  # (an ulp of libm's float32 functions)
