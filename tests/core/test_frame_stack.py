"""ember._frame_stack: CPython's frame-stack chunks are kept for reuse, so no caller depth
makes every op map and unmap a chunk. Measured as minor page faults (getrusage: a count, not a
time) of 150 eager ops called from each of 160 stack depths, more than a 16 KiB chunk's span."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import ember
import numpy as np
import pytest

if not sys.platform.startswith("linux") or sys.version_info < (3, 11):
    pytest.skip("CPython's chunked frame stack (3.11+) and Linux's page-fault counts", allow_module_level=True)
from ember import _frame_stack as frame_stack  # noqa: E402

OPS = 150


def _chain(x, w):
    for _ in range(OPS):
        x = x @ w
    return x


@pytest.fixture
def cache():
    pytest.importorskip("numba")
    if frame_stack.install() != "installed":
        pytest.skip(f"frame-stack cache {frame_stack.STATE} here")
    yield
    frame_stack.install()  # the negative control uninstalls it


@pytest.fixture
def chain():
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((4, 4)).astype(np.float32))
    w = ember.tensor(np.eye(4, dtype=np.float32))
    expected = x.numpy()  # w is the identity: every product gives x back
    return lambda: np.testing.assert_array_equal(_chain(x, w).numpy(), expected)


def test_no_caller_depth_maps_a_chunk_per_op(cache, chain, worst_faults_per_call):
    assert worst_faults_per_call(chain) < OPS / 4


def test_without_the_cache_some_depth_maps_a_chunk_per_op(cache, chain, monkeypatch, worst_faults_per_call):
    """The check above can fail: CPython's own allocator, some depth, at least one fault per op."""
    frame_stack.uninstall()
    assert frame_stack.STATE == "off"
    monkeypatch.setattr(frame_stack, "install", lambda numba=None: frame_stack.STATE)  # nothing reinstalls it
    assert worst_faults_per_call(chain) >= OPS
    monkeypatch.undo()


def test_a_process_with_the_cache_forks_recurses_and_exits_cleanly():
    pytest.importorskip("numba")
    code = textwrap.dedent("""
        import os, sys
        from ember import _frame_stack as frame_stack
        assert frame_stack.install() == "installed", frame_stack.STATE
        sys.setrecursionlimit(20000)
        def deep(n):
            return 0 if n == 0 else 1 + deep(n - 1)
        for _ in range(3):
            assert deep(5000) == 5000  # chunks mapped, kept (8 at most) and unmapped
        pid = os.fork()
        if pid == 0:
            os._exit(0 if deep(5000) == 5000 else 1)
        assert os.waitpid(pid, 0)[1] == 0
        print("ok", frame_stack.STATE)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", "installed"]


def test_off_switch(monkeypatch):
    proc = subprocess.run([sys.executable, "-c", "from ember import _frame_stack; print(_frame_stack.install())"],
                          capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "EMBER_FRAME_STACK_CACHE": "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "off"
