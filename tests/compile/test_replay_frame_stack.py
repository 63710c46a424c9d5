"""A long replay must not remap CPython's frame stack on every kernel call.

CPython keeps frames on per-thread 16 KiB chunks and unmaps a chunk as soon as the call that needed
it returns; a replay that makes hundreds of kernel calls from one frame that happens to end near a
chunk's end would map and unmap a chunk for each of them (ember.compiler._replay._frame_padding).
Each fresh chunk costs at least one minor page fault when touched, so the test counts page faults
(``getrusage``, a count, not a time) of a long replay called from every depth of one chunk's span.
(The frame-stack cache, tests/core/test_frame_stack.py, is off meanwhile.)
"""

from __future__ import annotations

import sys

import ember
import numpy as np
import pytest
from ember.compiler import _replay

if not sys.platform.startswith("linux"):
    pytest.skip("minor page faults as Linux's getrusage counts them", allow_module_level=True)

CALLS = 150  # matrix products: kernels that fusion leaves alone, so each is a call of the replay


def _long_chain(x, w):
    for _ in range(CALLS):
        x = x @ w
    return x


@pytest.fixture(autouse=True)
def without_the_frame_stack_cache(monkeypatch):
    """The frame-stack cache (ember._frame_stack) would absorb the remapping these tests look for:
    it is off while they run (and cannot be installed meanwhile), so they test the replay's own
    padding."""
    from ember import _frame_stack as frame_stack

    was = frame_stack.STATE
    frame_stack.uninstall()
    monkeypatch.setattr(frame_stack, "install", lambda numba=None: frame_stack.STATE)
    yield
    monkeypatch.undo()
    if was == "installed":
        frame_stack.install()


@pytest.fixture
def operands():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((4, 4)).astype(np.float32))
    w = ember.tensor((np.eye(4) + 0.01 * rng.standard_normal((4, 4))).astype(np.float32))
    return x, w


def test_a_long_replay_gets_a_frame_stack_chunk_of_its_own(operands, worst_faults_per_call):
    x, w = operands
    compiled = ember.compile(_long_chain)
    with ember.no_grad():
        expected = _long_chain(x, w)
        for _ in range(3):
            np.testing.assert_array_equal(compiled(x, w).numpy(), expected.numpy())
        assert compiled.stats.replays >= 1
        # one fresh chunk per call at most (a few pages), never one per kernel call
        assert worst_faults_per_call(lambda: compiled(x, w)) < CALLS / 4


def test_without_the_padding_some_depth_remaps_per_kernel(operands, monkeypatch, worst_faults_per_call):
    """The check above can fail: with the padding off, some caller depth makes every kernel call map
    a chunk (CPython >= 3.11, whose frames live on these chunks)."""
    if sys.version_info < (3, 11):
        pytest.skip("frames on a chunked per-thread stack since CPython 3.11")
    monkeypatch.setattr(_replay, "PAD_MIN_CALLS", 10**9)
    x, w = operands
    compiled = ember.compile(_long_chain)
    with ember.no_grad():
        for _ in range(3):
            compiled(x, w)
        assert worst_faults_per_call(lambda: compiled(x, w)) >= CALLS / 2
