"""Index and class-target checks after a small integer tensor was copied to a device and then
changed: ``ember._value_range`` records the bounds of such a tensor when it is copied, so that
in-range checks skip their device read. Every way of changing the values afterwards (in place,
through a view, ``out=``, ``.data``) must retire the record, so an index that went out of range
still raises PyTorch's error; views and copies must keep exact results (``bincount``'s length).
Each row is compared with PyTorch on every device (exception type, or values and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

LOGITS = (np.arange(20, dtype=np.float32).reshape(5, 4) % 7) / 3 - 1
TARGET = np.array([0, 3, 1, 2, 3])
TABLE = np.arange(24, dtype=np.float32).reshape(6, 4) / 5


def _ce(lib, x, y):
    return lib.nn.functional.cross_entropy(x, y)


def _nll(lib, x, y):
    return lib.nn.functional.nll_loss(lib.log_softmax(x, 1), y)


def _then(change, use):
    """Run ``change(lib, y)`` (a write into the target after it reached the device), then ``use``."""
    def fn(lib, x, y):
        change(lib, y)
        return use(lib, x, y)
    return fn


def _set_data(lib, y):
    y.data = lib.full_like(y, 4)


def _add_out(lib, y):
    lib.add(y, 4, out=y)


def _setitem(lib, y):
    y[1] = 7


def _masked(lib, y):
    y.masked_fill_(y == 3, 9)


def _index_put(lib, y):
    y.index_put_((lib.tensor([2], device=y.device),), lib.tensor([8], device=y.device))


def _scatter(lib, y):
    y.scatter_(0, lib.tensor([0], device=y.device), lib.tensor([6], device=y.device))


CHANGES = {
    "add_": lambda lib, y: y.add_(4),
    "mul_": lambda lib, y: y.mul_(3),
    "fill_": lambda lib, y: y.fill_(4),
    "copy_": lambda lib, y: y.copy_(lib.tensor([4, 0, 0, 0, 0])),
    "setitem": _setitem,
    "masked_fill_": _masked,
    "index_put_": _index_put,
    "scatter_": _scatter,
    "out=": _add_out,
    "view-add_": lambda lib, y: y[2:].add_(5),
    "detach-add_": lambda lib, y: y.detach().sub_(1),
    ".data": _set_data,
    "in-range-add_": lambda lib, y: y.clamp_(0, 2),  # still in range: values must follow the write
}

CASES = {}
for _name, _change in CHANGES.items():
    CASES[f"cross_entropy-after-{_name}"] = (_then(_change, _ce), [Arg(LOGITS), Arg(TARGET)])
    CASES[f"nll_loss-after-{_name}"] = (_then(_change, _nll), [Arg(LOGITS), Arg(TARGET)])
    CASES[f"embedding-after-{_name}"] = (
        _then(_change, lambda lib, w, y: lib.nn.functional.embedding(y, w)), [Arg(TABLE[:5]), Arg(TARGET)])
    CASES[f"index-after-{_name}"] = (_then(_change, lambda lib, w, y: w[y]), [Arg(TABLE[:5]), Arg(TARGET)])
    CASES[f"gather-after-{_name}"] = (
        _then(_change, lambda lib, w, y: w.gather(0, y[:, None].expand(5, 4))), [Arg(TABLE[:5]), Arg(TARGET)])

CASES.update({
    # views and copies of a recorded target: in range they take the record's bounds, values unchanged
    "cross_entropy-strided-view": (lambda lib, x, y: lib.nn.functional.cross_entropy(x[::2], y[::2]),
                                   [Arg(LOGITS), Arg(TARGET)]),
    "cross_entropy-reshaped-copy": (lambda lib, x, y: lib.nn.functional.cross_entropy(
        x, y.reshape(5, 1).t().reshape(-1)), [Arg(LOGITS), Arg(TARGET)]),
    "embedding-of-a-slice": (lambda lib, w, y: lib.nn.functional.embedding(y[1:4], w), [Arg(TABLE), Arg(TARGET)]),
    # a view's bounds are not its exact range: bincount's length comes from the view's own maximum
    "bincount-strided-view": (lambda lib, y: lib.bincount(y[::2]), [Arg(np.array([0, 5, 2, 7, 1]))]),
    "bincount-view-clone": (lambda lib, y: lib.bincount(y[:3].clone()), [Arg(np.array([0, 2, 1, 7, 1]))]),
    "bincount-copy": (lambda lib, y: lib.bincount(y.clone()), [Arg(np.array([0, 2, 1, 7, 1]))]),
    # out of range before any change: the error names the value, as PyTorch's
    "cross_entropy-out-of-range": (_ce, [Arg(LOGITS), Arg(np.array([0, 3, 4, 2, 3]))]),
    "cross_entropy-ignore-index-padding": (lambda lib, x, y: lib.nn.functional.cross_entropy(x, y),
                                           [Arg(LOGITS), Arg(np.array([0, -100, 1, -100, 3]))]),
    # padded with an ignore_index below or above the classes: in range apart from it
    "cross_entropy-ignore-255": (lambda lib, x, y: lib.nn.functional.cross_entropy(x, y, ignore_index=255),
                                 [Arg(LOGITS), Arg(np.array([0, 255, 1, 255, 3]))]),
    "cross_entropy-ignore-padding-then-out-of-range": (
        lambda lib, x, y: lib.nn.functional.cross_entropy(x, y), [Arg(LOGITS), Arg(np.array([0, -100, 5, -100, 3]))]),
    "cross_entropy-ignore-255-and-a-negative": (
        lambda lib, x, y: lib.nn.functional.cross_entropy(x, y, ignore_index=255),
        [Arg(LOGITS), Arg(np.array([0, 255, -1, 255, 3]))]),
    "cross_entropy-ignore-padding-and-a-negative": (
        lambda lib, x, y: lib.nn.functional.cross_entropy(x, y), [Arg(LOGITS), Arg(np.array([0, -100, -5, -100, 3]))]),
    "nll_loss-ignore-padding-view": (lambda lib, x, y: lib.nn.functional.nll_loss(lib.log_softmax(x[1:], 1), y[1:]),
                                     [Arg(LOGITS), Arg(np.array([7, -100, 1, -100, 3]))]),
    "embedding-negative": (lambda lib, w, y: lib.nn.functional.embedding(y, w), [Arg(TABLE), Arg(np.array([1, -1]))]),
})


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(device, name):
    fn, args = CASES[name]
    check(fn, args, {}, device)
