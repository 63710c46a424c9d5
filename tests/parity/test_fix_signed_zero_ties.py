"""maximum, minimum, relu, clamp (and their fused forms under ember.compile) on ties between -0.0 and
0.0: PyTorch returns the first operand (maximum/minimum) or the input (relu, clamp), so the sign of
zero is kept; NumPy's ufuncs return the second operand, which the cpu kernels used to inherit."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

ZEROS = [0.0, -0.0, 0.0, -0.0, float("nan"), -1.0, 2.0]
OTHER = [-0.0, 0.0, 0.0, -0.0, 1.0, float("nan"), 2.0]

CASES = {
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "relu": lambda lib, a, b: lib.relu(a),
    "clamp min": lambda lib, a, b: lib.clamp(a, min=0.0),
    "clamp max": lambda lib, a, b: lib.clamp(a, max=-0.0),
    "clamp both": lambda lib, a, b: lib.clamp(a, min=-0.0, max=0.0),
    "tensor max scalar": lambda lib, a, b: lib.maximum(a, lib.zeros_like(a)),
}


def _compare(got, want):
    got = got.detach().cpu().numpy()
    want = want.numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_ties_keep_pytorchs_zero(device, name, dtype):
    fn = CASES[name]
    a_np, b_np = np.array(ZEROS, dtype), np.array(OTHER, dtype)
    want = fn(torch, torch.from_numpy(a_np), torch.from_numpy(b_np))
    a, b = ember.tensor(a_np, device=device), ember.tensor(b_np, device=device)
    _compare(fn(ember, a, b), want)


@pytest.mark.parametrize("name", ["maximum", "minimum", "relu"])
def test_fused_chain_keeps_the_ties(device, name):
    """The same ops inside an ember.compile'd chain (fused by the backend)."""
    fn = CASES[name]

    def chain(lib, a, b):
        return fn(lib, a * 1.0, b + 0.0) * 1.0

    a_np, b_np = np.array(ZEROS, np.float32), np.array(OTHER, np.float32)
    want = chain(torch, torch.from_numpy(a_np), torch.from_numpy(b_np))
    compiled = ember.compile(lambda a, b: chain(ember, a, b))
    a, b = ember.tensor(a_np, device=device), ember.tensor(b_np, device=device)
    for _ in range(4):
        _compare(compiled(a, b), want)
    assert compiled.stats.replays == 2 and compiled.stats.fused_groups >= 1
