"""Factories, dtype inference, memory sharing, random sampling and the counter-based RNG formula."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

# ---- tensor() and dtype inference ---------------------------------------------------------------


@pytest.mark.parametrize("data, dtype, shape", [
    ([[1, 2, 3], [4, 5, 6]], ember.int64, (2, 3)),
    ([1.0, 2.5], ember.float32, (2,)),
    ([True, False], ember.bool, (2,)),
    ([1, 2.5], ember.float32, (2,)),        # mixed int/float -> default float
    ([True, 2], ember.int64, (2,)),         # mixed bool/int -> int64
    (3, ember.int64, ()),
    (3.5, ember.float32, ()),
    ([[[]]], ember.float32, (1, 1, 0)),
])
def test_tensor_dtype_inference(device, data, dtype, shape):
    t = ember.tensor(data, device=device)
    assert t.dtype is dtype
    assert tuple(t.shape) == shape
    np.testing.assert_array_equal(np.asarray(t.cpu().tolist(), dtype=float), np.asarray(data, dtype=float))


def test_tensor_explicit_dtype_and_default_dtype():
    assert ember.tensor([1, 2], dtype=ember.float64).dtype is ember.float64
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1.0]).dtype is ember.float64
        assert ember.tensor([1]).dtype is ember.int64
    finally:
        ember.set_default_dtype(ember.float32)


def test_tensor_from_numpy_keeps_dtype_and_copies():
    a = np.arange(4, dtype=np.int32)
    t = ember.tensor(a)
    assert t.dtype is ember.int32
    a[0] = 99
    assert t[0].item() == 0


def test_ragged_list_raises():
    with pytest.raises((ValueError, TypeError)):
        ember.tensor([[1, 2], [3]])


def test_from_numpy_shares_memory_both_ways():
    a = np.zeros(4, dtype=np.float32)
    t = ember.from_numpy(a)
    a[1] = 3.0
    assert t[1].item() == 3.0
    t[2] = 7.0
    assert a[2] == 7.0
    t.add_(1)
    np.testing.assert_array_equal(a, [1, 4, 8, 1])


def test_as_tensor_shares_and_numpy_shares():
    a = np.ones(3, dtype=np.float64)
    t = ember.as_tensor(a)
    assert t.dtype is ember.float64
    a[0] = 5
    assert t[0].item() == 5
    n = t.numpy()
    n[2] = -1
    assert t[2].item() == -1
    # as_tensor with another dtype copies
    u = ember.as_tensor(a, dtype=ember.float32)
    a[1] = 9
    assert u[1].item() == 1


def test_views_share_storage_with_base(device):
    t = ember.zeros(3, 4, device=device)
    v = t[0]
    v[1] = 5
    assert t[0, 1].item() == 5
    t[0, 2] = 6
    assert v[2].item() == 6
    r = t.view(12)
    r[11] = 2
    assert t[2, 3].item() == 2


def test_from_numpy_rejects_unsupported():
    with pytest.raises(TypeError):
        ember.from_numpy(np.array(["a"]))


# ---- fills -------------------------------------------------------------------------------------


def test_zeros_ones_full_empty(device):
    z = ember.zeros(2, 3, device=device)
    assert z.dtype is ember.float32 and tuple(z.shape) == (2, 3) and z.sum().item() == 0
    o = ember.ones((2, 2), dtype=ember.int32, device=device)
    assert o.dtype is ember.int32 and o.tolist() == [[1, 1], [1, 1]]
    f = ember.full((2,), 7, device=device)
    assert f.dtype is ember.int64 and f.tolist() == [7, 7]
    assert ember.full((1,), 1.5, device=device).dtype is ember.float32
    assert ember.full((1,), True, device=device).dtype is ember.bool
    e = ember.empty(4, 0, device=device)
    assert tuple(e.shape) == (4, 0)
    assert ember.zeros([], device=device).shape == ()
    with pytest.raises(RuntimeError, match="negative dimension"):
        ember.zeros(-1)


def test_like_factories(device):
    x = ember.ones(2, 3, dtype=ember.float64 if device == "cpu" else ember.float32, device=device)
    for fn, val in ((ember.zeros_like, 0), (ember.ones_like, 1)):
        y = fn(x)
        assert y.dtype is x.dtype and y.shape == x.shape and y.device == x.device
        assert y.tolist() == [[val] * 3] * 2
    y = ember.full_like(x, 4, dtype=ember.int64)
    assert y.dtype is ember.int64 and y.tolist() == [[4] * 3] * 2
    assert ember.empty_like(x).shape == x.shape
    for fn in (ember.rand_like, ember.randn_like):
        assert fn(x).shape == x.shape and fn(x).dtype is x.dtype
    r = ember.randint_like(x, 3, 5)
    assert r.shape == x.shape and ((r >= 3) & (r < 5)).all().item()


# ---- ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, dtype", [
    ((5,), ember.int64), ((2, 9, 3), ember.int64), ((10, 0, -3), ember.int64), ((0, 1, 0.25), ember.float32),
    ((1.0, -1.0, -0.5), ember.float32), ((-3, 3), ember.int64), ((0, 0), ember.int64),
])
def test_arange(device, args, dtype):
    t = ember.arange(*args, device=device)
    assert t.dtype is dtype
    np.testing.assert_allclose(t.cpu().numpy(), np.arange(*args))


def test_arange_errors():
    with pytest.raises(RuntimeError):
        ember.arange(0, 5, 0)
    with pytest.raises(RuntimeError):
        ember.arange(0, 5, -1)


@pytest.mark.parametrize("start, end, steps", [(0, 1, 5), (-2.0, 3.0, 11), (5, 5, 3), (1, 0, 4), (0, 10, 1),
                                               (0, 1, 0)])
def test_linspace(device, start, end, steps):
    t = ember.linspace(start, end, steps, device=device)
    assert t.dtype is ember.float32 and tuple(t.shape) == (steps,)
    np.testing.assert_allclose(t.cpu().numpy(), np.linspace(start, end, steps), atol=1e-6)


def test_eye(device):
    np.testing.assert_array_equal(ember.eye(3, device=device).cpu().numpy(), np.eye(3))
    np.testing.assert_array_equal(ember.eye(2, 4, device=device).cpu().numpy(), np.eye(2, 4))
    assert ember.eye(2, dtype=ember.int64).dtype is ember.int64


# ---- random ------------------------------------------------------------------------------------


def test_rand_randn_moments(device):
    u = ember.rand(100_000, device=device).cpu().numpy()
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - math.sqrt(1 / 12)) < 0.01
    z = ember.randn(100_000, device=device).cpu().numpy()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    n = ember.normal(3.0, 2.0, (100_000,), device=device).cpu().numpy()
    assert abs(n.mean() - 3) < 0.05 and abs(n.std() - 2) < 0.05
    m = ember.normal(ember.full((4, 50_000), 1.0, device=device), 0.5)
    assert tuple(m.shape) == (4, 50_000)
    assert abs(m.mean().item() - 1) < 0.02 and abs(m.std().item() - 0.5) < 0.02


def test_random_shapes_and_dtypes(device):
    assert ember.rand(2, 3, device=device).shape == (2, 3)
    assert ember.randn((4,), device=device).dtype is ember.float32
    if device == "cpu" or ember.float16 in ember.plugins.backend(device).supported_dtypes(0):
        assert ember.rand(3, dtype=ember.float16, device=device).dtype is ember.float16
    r = ember.randint(-3, 4, (10_000,), device=device)
    assert r.dtype is ember.int64
    vals = set(r.cpu().tolist())
    assert vals == set(range(-3, 4))
    assert ember.randint(5, (2, 2), device=device).shape == (2, 2)
    with pytest.raises(NotImplementedError):
        ember.rand(3, dtype=ember.int64)


def test_randperm_is_permutation(device):
    p = ember.randperm(1000, device=device)
    assert p.dtype is ember.int64
    assert sorted(p.cpu().tolist()) == list(range(1000))
    assert p.cpu().tolist() != list(range(1000))


def test_manual_seed_reproducible_and_generators_independent(device):
    ember.manual_seed(123)
    a = ember.rand(5, device=device).cpu().tolist()
    b = ember.randn(5, device=device).cpu().tolist()
    ember.manual_seed(123)
    assert ember.rand(5, device=device).cpu().tolist() == a
    assert ember.randn(5, device=device).cpu().tolist() == b
    g = ember.Generator(device).manual_seed(123)
    ember.manual_seed(7)
    before = ember.default_generator.get_state().tolist()
    assert ember.rand(5, generator=g, device=device).cpu().tolist() == a
    assert ember.default_generator.get_state().tolist() == before  # global stream untouched
    g2 = ember.Generator(device).manual_seed(123)
    ember.rand(100)  # the global stream moving does not move g2
    assert ember.rand(5, generator=g2, device=device).cpu().tolist() == a
    state = ember.get_rng_state()
    x = ember.rand(3).tolist()
    ember.set_rng_state(state)
    assert ember.rand(3).tolist() == x
    assert ember.initial_seed() == 7


# ---- the documented counter-based formula -----------------------------------------------------

_MASK = (1 << 64) - 1


def _mix(z: int) -> int:
    z &= _MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return z


def _bits(seed: int, offset: int, n: int) -> list[int]:
    key = _mix(seed)
    return [_mix(key + (offset + i + 1) * 0x9E3779B97F4A7C15) for i in range(n)]


def test_rand_matches_formula(device):
    ember.manual_seed(42)
    first = ember.rand(7, device=device, dtype=ember.float32).cpu().numpy()
    second = ember.rand(2, 3, device=device).cpu().numpy()
    bits = _bits(42, 0, 13)
    ref = np.array([(b >> 40) * 2.0 ** -24 for b in bits], dtype=np.float32)
    np.testing.assert_array_equal(first, ref[:7])
    np.testing.assert_array_equal(second, ref[7:].reshape(2, 3))


def test_rand_float64_matches_formula():
    ember.manual_seed(5)
    got = ember.rand(6, dtype=ember.float64).numpy()
    ref = np.array([(b >> 11) * 2.0 ** -53 for b in _bits(5, 0, 6)])
    np.testing.assert_array_equal(got, ref)


def test_randn_matches_formula(device):
    ember.manual_seed(9)
    ember.rand(3, device=device)  # advance the offset by 3
    got = ember.randn(2, 2, device=device).cpu().numpy().astype(np.float64)
    bits = _bits(9, 3, 8)
    ref = []
    for i in range(4):
        u1 = ((bits[2 * i] >> 11) + 1) * 2.0 ** -53
        u2 = (bits[2 * i + 1] >> 11) * 2.0 ** -53
        ref.append(math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2))
    np.testing.assert_allclose(got.reshape(-1), ref, rtol=1e-6, atol=1e-6)


def test_randint_matches_formula(device):
    ember.manual_seed(2**40 + 3)
    got = ember.randint(-5, 12, (9,), device=device).cpu().tolist()
    ref = [-5 + b % 17 for b in _bits(2**40 + 3, 0, 9)]
    assert got == ref
