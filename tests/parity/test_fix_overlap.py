"""In-place ops and ``copy_`` refuse to write a tensor from an input that shares part of its memory,
as PyTorch does (the result would depend on the order elements are written in); same-memory
inputs stay allowed where PyTorch allows them."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

CASES = {
    "add_ shifted": lambda m, x: x[1:].add_(x[:-1]),
    "sub_ shifted": lambda m, x: x[1:].sub_(x[:-1]),
    "mul_ through detach": lambda m, x: x[1:].mul_(x.detach()[:-1]),
    "mul_ through .data": lambda m, x: x.data[:-2].mul_(x[1:-1]),
    "addcmul_ kwarg": lambda m, x: x[1:].addcmul_(x[:-1], x[:-1], value=2),
    "copy_ shifted": lambda m, x: x[1:].copy_(x[:-1]),
    "copy_ transposed self": lambda m, x: x.view(2, 3)[:, :2].contiguous().copy_(x.view(2, 3)[:, :2]) and
    x[:4].view(2, 2).copy_(x[:4].view(2, 2).t()),
    "copy_ same elements": lambda m, x: x.copy_(x.detach()),
    "add_ self": lambda m, x: x.add_(x),
    "add_ same view": lambda m, x: x.view(2, 3).add_(x.view(2, 3)),
    "add_ disjoint halves": lambda m, x: x[:3].add_(x[3:]),
    "add_ interleaved strided": lambda m, x: x[::2].add_(x[1::2]),
    "unrelated": lambda m, x: x.add_(m.ones(6, device=x.device) if m is ember else m.ones(6)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_overlap_matches_torch(name, device):
    values = np.arange(6, dtype=np.float32)
    t, e = torch.from_numpy(values.copy()), ember.tensor(values, device=device)
    try:
        CASES[name](torch, t)
    except RuntimeError as exc:
        with pytest.raises(RuntimeError) as ours:
            CASES[name](ember, e)
        assert str(ours.value) == str(exc)
        return
    CASES[name](ember, e)
    np.testing.assert_array_equal(e.cpu().numpy(), t.numpy())


def test_load_state_dict_of_its_own_state_dict(device):
    m = ember.nn.Linear(3, 2).to(device)
    before = [p.detach().clone() for p in m.parameters()]
    m.load_state_dict(m.state_dict())
    assert all(np.array_equal(p.detach().cpu().numpy(), b.cpu().numpy()) for p, b in zip(m.parameters(), before))
