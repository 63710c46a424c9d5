"""The OpenCL backend caches compiled kernels by a key; bool and uint8 share the C type ``uchar``
but not the kernel (a bool scatter accumulates with ``|=``, a bool scan with ``||``, a bool sum in a
wider accumulator), so keys naming the C type handed one dtype's kernel to the other: after a bool
``scatter_add``, uint8 accumulations OR-ed instead of adding (found when PyTorch's OpInfo rows ran
bool samples before uint8 ones in one process). The keys name the dtype now. Each row runs both
dtypes in both orders, so it fails whichever kernel an earlier test compiled first.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

_IDX = torch.randint(0, 6, (4, 3), generator=torch.Generator().manual_seed(0))

CASES = {
    "scatter_add": lambda l, x: l.scatter_add(x, 0, l.tensor(_IDX.numpy(), device=x.device), x[:4]),
    "index_put_accumulate": lambda l, x: x.index_put((l.tensor([0, 2, 0, 5], device=x.device),), x[:4], True),
    "index_add": lambda l, x: x.index_add(0, l.tensor([1, 1, 3], device=x.device), x[:3]),
    "cumsum": lambda l, x: x.cumsum(0),
    "cumprod": lambda l, x: x.cumprod(1),
    "sum": lambda l, x: x.sum(0),
    "prod": lambda l, x: x.prod(1),
    "any": lambda l, x: x.any(0),
}


def _data(dtype: str) -> np.ndarray:
    v = torch.randint(0, 2 if dtype == "bool" else 200, (6, 3), generator=torch.Generator().manual_seed(1))
    return v.numpy().astype(dtype)


@pytest.mark.parametrize("case", list(CASES))
def test_bool_and_uint8_kernels_are_not_confused(device, case):
    fn = CASES[case]
    for dtype in ("bool", "uint8", "bool", "uint8"):
        a = _data(dtype)
        try:
            expected = fn(torch, torch.from_numpy(a))
        except RuntimeError:
            continue  # (an op PyTorch refuses for this dtype)
        got = fn(ember, ember.tensor(a, device=device))
        assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], dtype
        np.testing.assert_array_equal(got.cpu().numpy(), expected.numpy(), err_msg=dtype)
