"""Issue #13 item 9 (memory): allocator statistics on accelerator backends, and the CPU random
kernels (fast, chunked, threaded) still giving the formula's numbers, the same on every device.

``memory_allocated`` follows PyTorch's meaning (bytes occupied by live tensors; a caching
allocator may round a block up), ``memory_reserved`` the bytes held by the allocator (live plus
cached), ``max_*`` the peaks since ``reset_peak_memory_stats``.
"""

from __future__ import annotations

import gc
import math

import ember
import numpy as np
import pytest
from ember_cpu_numpy import random as cpu_random
from ember_cpu_numpy.dtypes import NP_DTYPE

# A caching allocator may round a block up (CuPy and PyTorch CUDA to 512 bytes, PyOpenCL's pool to
# its bins); no block is rounded by more than this.
_SLACK = 1 << 16


@pytest.fixture
def no_gc():
    """Collect earlier tests' garbage now, and keep the cyclic GC from freeing any mid-test."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def _memory(device: str):
    if device == "cpu":
        pytest.skip("the cpu device keeps no allocator statistics (as in PyTorch)")
    mod = getattr(ember, device)
    mod.synchronize()
    return mod


def test_memory_allocated_counts_live_tensors(device, no_gc):
    mem = _memory(device)
    base = mem.memory_allocated()
    a = ember.empty(250_000, device=device)  # 1,000,000 bytes
    grown = mem.memory_allocated() - base
    assert 1_000_000 <= grown <= 1_000_000 + _SLACK
    v = a[10:20].view(2, 5)  # views share the storage: nothing new
    assert mem.memory_allocated() - base == grown
    b = ember.empty(100, 100, dtype=ember.float64, device=device)  # 80,000 bytes
    assert 80_000 <= mem.memory_allocated() - base - grown <= 80_000 + _SLACK
    del b
    assert mem.memory_allocated() - base == grown
    del a, v  # the last reference goes: freed at once, no cyclic GC needed
    assert mem.memory_allocated() == base
    assert mem.memory_reserved() >= mem.memory_allocated()


def test_peak_and_reset(device, no_gc):
    mem = _memory(device)
    base = mem.memory_allocated()
    mem.reset_peak_memory_stats()
    assert mem.max_memory_allocated() == base
    x = ember.ones(100_000, device=device)
    s = (x * 2 + 1).sum()  # two temporaries of x's size, gone when sum returns
    assert float(s.item()) == 300_000.0
    after = mem.memory_allocated()
    assert after - base < 2 * 400_000  # the temporaries were freed
    assert mem.max_memory_allocated() >= base + 2 * 400_000  # ... but the peak saw them
    assert mem.max_memory_reserved() >= mem.max_memory_allocated()
    mem.reset_peak_memory_stats()
    assert mem.max_memory_allocated() == mem.memory_allocated() == after
    del x, s
    mem.empty_cache()  # frees cached blocks only: live tensors stay counted
    assert mem.memory_allocated() == base
    assert mem.memory_reserved() >= base


def test_memory_functions_take_every_device_spelling(device, no_gc):
    mem = _memory(device)
    keep = ember.empty(1000, device=device)
    n = mem.memory_allocated()
    assert n > 0
    for spelling in (0, f"{device}:0", device, ember.device(f"{device}:0")):
        assert mem.memory_allocated(spelling) == n
    del keep


# ---- the CPU random kernels: chunked and threaded, still the formula's numbers ------------------

_MASK = (1 << 64) - 1


def _formula_bits(key: int, offset: int, n: int) -> np.ndarray:
    """bits(offset + i) on whole arrays (the contract in ember.kernels, uint64 wraps mod 2**64)."""
    c = np.arange(n, dtype=np.uint64) + np.uint64((offset + 1) & _MASK)
    z = np.uint64(key) + c * np.uint64(0x9E3779B97F4A7C15)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _formula(name: str, n: int, key: int, offset: int, dt, low: int = 0, high: int = 0) -> np.ndarray:
    if name == "rand_uniform":
        b = _formula_bits(key, offset, n)
        vals = (b >> np.uint64(11)) * 2.0 ** -53 if dt is ember.float64 else (b >> np.uint64(40)) * 2.0 ** -24
        return vals.astype(NP_DTYPE[dt])
    if name == "rand_normal":
        b = _formula_bits(key, offset, 2 * n)
        u1 = ((b[0::2] >> np.uint64(11)) + np.uint64(1)) * 2.0 ** -53
        u2 = (b[1::2] >> np.uint64(11)) * 2.0 ** -53
        return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)).astype(NP_DTYPE[dt])
    b = _formula_bits(key, offset, n)
    return (np.int64(low) + (b % np.uint64(high - low)).astype(np.int64)).astype(NP_DTYPE[dt])


@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("n", [0, 1, 7, cpu_random._CHUNK, cpu_random._CHUNK + 1, 3 * cpu_random._CHUNK + 5])
def test_cpu_random_kernels_equal_the_formula(n, threaded, monkeypatch):
    # threaded: parts of one chunk each, so every split point and part boundary is exercised
    monkeypatch.setattr(cpu_random, "_PER_THREAD", cpu_random._CHUNK if threaded else 1 << 62)
    key, offset = ember.random.mix64(2024), (1 << 64) - 3 * n - 5  # counters wrap past 2**64
    for dt in (ember.float32, ember.float64, ember.float16):
        for name in ("rand_uniform", "rand_normal"):
            got = getattr(cpu_random, name)((n,), key, offset, dt, 0)
            want = _formula(name, n, key, offset, dt)
            assert got.dtype == want.dtype and got.shape == (n,)
            np.testing.assert_array_equal(got, want)
    for low, high, dt in ((-5, 12, ember.int64), (0, 2, ember.bool), (0, 1 << 40, ember.int32),
                          (-(1 << 63), (1 << 63) - 1, ember.int64)):
        got = cpu_random.rand_int((n,), low, high, key, offset, dt, 0)
        np.testing.assert_array_equal(got, _formula("rand_int", n, key, offset, dt, low, high))


def test_cpu_random_threads_do_not_change_numbers(monkeypatch):
    n = 5 * cpu_random._CHUNK + 3
    one = cpu_random.rand_normal((n,), 77, 9, ember.float32, 0)
    monkeypatch.setattr(cpu_random, "_PER_THREAD", 1)
    monkeypatch.setattr(cpu_random, "_threads", lambda n: 4)
    np.testing.assert_array_equal(cpu_random.rand_normal((n,), 77, 9, ember.float32, 0), one)


_SAME_EVERYWHERE = {
    "rand": lambda d: ember.rand(3, 40_000, device=d),
    "randn": lambda d: ember.randn(3, 40_000, device=d),
    "randint": lambda d: ember.randint(-7, 1000, (70_001,), device=d),
    "normal_": lambda d: ember.empty(70_001, device=d).normal_(2.0, 3.0),
    "uniform_": lambda d: ember.empty(70_001, device=d).uniform_(-2.0, 3.0),
    "bernoulli": lambda d: ember.bernoulli(ember.full((70_001,), 0.3, device=d)),
    "dropout": lambda d: ember.nn.functional.dropout(ember.ones(70_001, device=d), 0.4),
}


@pytest.mark.parametrize("op", sorted(_SAME_EVERYWHERE))
def test_random_ops_same_numbers_as_cpu(device, op):
    """Past the CPU kernels' chunk size, so chunk edges line up with the device's elements."""
    ember.manual_seed(31)
    want = _SAME_EVERYWHERE[op]("cpu").numpy()
    ember.manual_seed(31)
    got = _SAME_EVERYWHERE[op](device).cpu().numpy()
    np.testing.assert_array_equal(got, want)


def test_randn_distribution_matches_torch():
    torch = pytest.importorskip("torch")
    n = 200_000
    ours = ember.randn(n).numpy().astype(np.float64)
    ref = torch.randn(n, generator=torch.Generator().manual_seed(0)).numpy().astype(np.float64)
    assert ember.randn(2, 3).dtype is ember.float32 and tuple(torch.randn(2, 3).shape) == (2, 3)
    # moments and quantiles of two samples of N(0, 1) agree to their sampling error
    tol = 6 / math.sqrt(n)
    assert abs(ours.mean() - ref.mean()) < tol and abs(ours.std() - ref.std()) < tol
    q = [0.001, 0.025, 0.16, 0.5, 0.84, 0.975, 0.999]
    np.testing.assert_allclose(np.quantile(ours, q), np.quantile(ref, q), atol=0.05)
