"""Bounds of small integer tensors copied to a device (``ember._value_range``): in-range target and
index checks read nothing back from the device, and every check that must still fail does.

The errors and values after every kind of write are compared with PyTorch in
``tests/parity/test_fix_value_range.py``; this file counts the device reads, which PyTorch
cannot tell us, and checks the cases around ``ember.compile`` and DLPack."""

from __future__ import annotations

import contextlib

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember import _value_range
from ember.dispatch import wrap_kernels


@contextlib.contextmanager
def counting_device_reads(device_type):
    """Counts ``to_host`` calls of ``device_type``'s kernel table (each one waits for the queue)."""
    reads = []

    def spy(tbl, name, fn):
        if name != "to_host" or tbl.device_type != device_type:
            return fn
        return lambda *a: (reads.append(1), fn(*a))[1]

    restore = wrap_kernels(spy)
    try:
        yield reads
    finally:
        restore()


LABELS = np.array([0, 3, 1, 2, 3, 0, 1, 2])


def _uses(x, w, y):
    """Every check that the records can spare, on logits x (8, 4), table w (4, 5) and targets y."""
    return [F.cross_entropy(x, y), F.nll_loss(F.log_softmax(x, 1), y), F.embedding(y, w), w[y],
            w.index_select(0, y), x.gather(1, y[:, None]), F.cross_entropy(x[::2], y[::2]),
            F.cross_entropy(x, y.reshape(2, 4).t().reshape(-1))]


def _inputs(dev):
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((8, 4)).astype(np.float32), device=dev)
    w = ember.tensor(rng.standard_normal((4, 5)).astype(np.float32), device=dev)
    return x, w


@pytest.mark.parametrize("make", ["tensor", "to", "non_blocking", "int32-to-int64"])
def test_in_range_checks_read_nothing_back(accelerator, make):
    x, w = _inputs(accelerator)
    made = {"tensor": lambda: ember.tensor(LABELS, device=accelerator),
            "to": lambda: ember.from_numpy(LABELS).to(accelerator),
            "non_blocking": lambda: ember.from_numpy(LABELS).to(accelerator, non_blocking=True),
            "int32-to-int64": lambda: ember.from_numpy(LABELS.astype(np.int32)).to(accelerator, ember.int64)}
    y = made[make]()
    expected = [r.cpu().numpy() for r in _uses(x.cpu(), w.cpu(), y.cpu())]
    with counting_device_reads(accelerator) as reads:
        results = _uses(x, w, y)
    assert reads == []
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got.cpu().numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ignore_index", [-100, 255])
def test_targets_padded_with_the_ignore_index_read_nothing_back(accelerator, ignore_index):
    x, _ = _inputs(accelerator)
    padded = np.where(np.arange(8) % 3 == 0, ignore_index, LABELS)
    y = ember.tensor(padded, device=accelerator)
    with counting_device_reads(accelerator) as reads:
        losses = [F.cross_entropy(x, y, ignore_index=ignore_index),
                  F.nll_loss(F.log_softmax(x, 1), y, ignore_index=ignore_index)]
    assert reads == []
    keep = padded != ignore_index
    want = F.cross_entropy(x.cpu()[ember.from_numpy(keep)], ember.from_numpy(padded[keep]))
    for got in losses:
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)
    y = ember.tensor(np.where(np.arange(8) == 5, 4, padded), device=accelerator)  # one class past C = 4
    with pytest.raises(IndexError, match="Target 4 is out of bounds."):
        F.cross_entropy(x, y, ignore_index=ignore_index)


def test_targets_computed_on_the_device_are_still_checked_with_a_read(accelerator):
    x, w = _inputs(accelerator)
    y = ember.tensor(np.eye(4, dtype=np.float32)[LABELS], device=accelerator).argmax(1)  # no host copy of these
    with counting_device_reads(accelerator) as reads:
        F.cross_entropy(x, y)
        F.embedding(y, w)
    assert len(reads) == 2


def test_a_write_after_the_copy_is_checked_again(accelerator):
    x, w = _inputs(accelerator)
    y = ember.tensor(LABELS, device=accelerator)
    F.cross_entropy(x, y)
    y[3] = 9
    with pytest.raises(IndexError, match="Target 9 is out of bounds."):
        F.cross_entropy(x, y)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(y, w)
    y[3] = 2
    with counting_device_reads(accelerator) as reads:
        F.cross_entropy(x, y)
    assert len(reads) == 1  # the record stays retired: the check reads again, and passes


def test_bounds_and_exact_ranges():
    y = ember.tensor([5, 1, 3])
    _value_range.remember(y, y.numpy())
    assert _value_range.exact(y) == (1, 5)
    view = y[1:]
    assert _value_range.bounds(view) == (1, 5)  # the base's bounds: a view's values are a subset
    assert _value_range.exact(view) is None
    assert _value_range.exact(y.clone()) == (1, 5)
    assert _value_range.bounds(y.to(ember.int32)) is None  # another dtype: no record carried over
    scalar = ember.tensor(4)
    _value_range.remember(scalar, scalar.numpy())  # 0-d
    assert _value_range.exact(scalar) == (4, 4) and _value_range.within(scalar, 0, 5)
    spread = ember.tensor([-100, 7, 2, -100, 255])
    _value_range.remember(spread, spread.numpy())
    assert _value_range.within(spread, -100, 256) and not _value_range.within(spread, 0, 8, skip=-100)
    assert _value_range.within(spread[1:3], 0, 8, skip=255) is False  # a view keeps the base's bounds
    big = ember.zeros(_value_range.MAX_ELEMENTS + 1, dtype=ember.int64)
    _value_range.remember(big, big.numpy())
    assert _value_range.bounds(big) is None
    f = ember.tensor([1.0, 2.0])
    _value_range.remember(f, f.numpy())
    assert _value_range.bounds(f) is None


def test_a_dlpack_export_drops_the_records():
    y = ember.tensor([5, 1, 3])
    _value_range.remember(y, y.numpy())
    shared = np.from_dlpack(y)
    assert _value_range.bounds(y) is None
    shared[0] = 100  # a write ember's version counter never sees
    assert int(y.max()) == 100


def test_a_compiled_replay_checks_its_own_targets(device):
    dev = device
    x, _ = _inputs(dev)
    loss = ember.compile(lambda a, b: F.cross_entropy(a, b))
    good = ember.tensor(LABELS, device=dev)
    for _ in range(3):
        loss(x, good)
    assert loss.stats.replays >= 1
    bad = ember.tensor(np.where(LABELS == 3, 7, LABELS), device=dev)
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        loss(x, bad)
    np.testing.assert_allclose(loss(x, good).item(), F.cross_entropy(x, good).item(), rtol=1e-6)
