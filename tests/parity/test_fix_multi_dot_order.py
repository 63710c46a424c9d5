"""``linalg.multi_dot`` / ``chain_matmul`` multiply in the order PyTorch chooses (the cheaper
parenthesization of three matrices, the matrix-chain programme for more), so 16-bit results round
exactly as PyTorch's and a chain ending in a vector costs matrix-vector products, not matrix-matrix
ones. ember multiplied left to right before; PyTorch's OpInfo samples caught the float16 rounding.
"""

from __future__ import annotations

import random
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _chains(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        n = rng.randint(2, 6)
        dims = [rng.randint(1, 9) for _ in range(n + 1)]
        gen = torch.Generator().manual_seed(rng.randint(0, 2**31))
        mats = [torch.randn(dims[i], dims[i + 1], generator=gen, dtype=torch.float64) for i in range(n)]
        if rng.random() < 0.3:
            mats[0] = mats[0][0]
        if rng.random() < 0.3:
            mats[-1] = mats[-1][:, 0]
        yield mats


def _to_ember(t, device, dtype):
    return ember.tensor(t.numpy(), device=device).to(getattr(ember, str(dtype).split(".")[-1]))


def _to_torch(e, dtype):
    return torch.from_numpy(e.float().cpu().numpy()).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_multi_dot_rounds_as_pytorch(device, dtype):
    # Each product rounds to 16 bits, so only PyTorch's order gives PyTorch's values (left to right,
    # 30% of these chains fell outside float16's tolerance; PyTorch's order matches all but the odd
    # ulp of a cancelling matrix-vector sum, whose summation order is BLAS's).
    for mats in _chains(seed=7, count=60):
        expected = torch.linalg.multi_dot([m.to(dtype) for m in mats])
        got = ember.linalg.multi_dot([_to_ember(m, device, dtype) for m in mats])
        assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
        torch.testing.assert_close(_to_torch(got, dtype), expected,
                                   msg=lambda m, mats=mats: f"shapes {[tuple(x.shape) for x in mats]}: {m}")


def test_chain_matmul_rounds_as_pytorch(device):
    for mats in _chains(seed=11, count=30):
        mats = [m if m.dim() == 2 else m.reshape(1, -1) if i == 0 else m.reshape(-1, 1) for i, m in enumerate(mats)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = torch.chain_matmul(*[m.half() for m in mats])
            got = ember.chain_matmul(*[_to_ember(m, device, torch.float16) for m in mats])
        torch.testing.assert_close(_to_torch(got, torch.float16), expected)


def test_multi_dot_gradients_match_pytorch(device):
    for mats in _chains(seed=3, count=20):
        t_in = [m.clone().requires_grad_() for m in mats]
        torch.linalg.multi_dot(t_in).sum().backward()
        e_in = [_to_ember(m, device, torch.float64).requires_grad_() for m in mats]
        ember.linalg.multi_dot(e_in).sum().backward()
        for t, e in zip(t_in, e_in):
            np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_vector_ended_chain_is_matrix_vector_products():
    # A (n x n) @ B (n x n) @ v: PyTorch computes A @ (B @ v); left to right would form A @ B.
    products = []
    real_matmul = ember.Tensor.__matmul__

    def spy(a, b):
        products.append((tuple(a.shape), tuple(b.shape)))
        return real_matmul(a, b)

    a, b, v = ember.randn(50, 50), ember.randn(50, 50), ember.randn(50)
    ember.Tensor.__matmul__ = spy
    try:
        ember.linalg.multi_dot([a, b, v])
    finally:
        ember.Tensor.__matmul__ = real_matmul
    assert products == [((50, 50), (50, 1)), ((50, 50), (50, 1))]
