"""Shared fixtures: every device test runs on each available backend.

On non-CPU devices the fallback policy is ``error``, so a missing kernel fails loudly instead of
silently running on the CPU. Set ``EMBER_TEST_DEVICES=cpu`` to restrict the run.
"""

from __future__ import annotations

import os

import ember
import pytest


def _available_devices() -> list[str]:
    wanted = os.environ.get("EMBER_TEST_DEVICES")
    devices = ["cpu"]
    for dev_type in ember.plugins.device_types():
        if dev_type == "cpu":
            continue
        mod = getattr(ember, dev_type, None)
        backend = ember.plugins.backend(dev_type)
        try:
            if backend is not None and backend.is_available():
                devices.append(dev_type)
        except Exception:
            pass
        del mod
    if wanted:
        devices = [d for d in devices if d in wanted.split(",")]
    return devices


DEVICES = _available_devices()


def pytest_report_header(config):
    return f"ember devices under test: {', '.join(DEVICES)}"


@pytest.fixture(params=DEVICES)
def device(request):
    """A device string ("cpu", "opencl", ...); non-CPU devices run with fallback forbidden."""
    dev = request.param
    if dev == "cpu":
        yield dev
        return
    with ember.fallback_policy("error"):
        yield dev


@pytest.fixture(params=[d for d in DEVICES if d != "cpu"])
def accelerator(request):
    """Each non-CPU device under test (none: the test is skipped), with fallback forbidden."""
    with ember.fallback_policy("error"):
        yield request.param


@pytest.fixture
def hide_kernels(monkeypatch):
    """``hide_kernels(names)`` makes those kernels look absent from every backend for the test,
    so the frontend's composite path (what a backend without them runs) is exercised."""

    def hide(names):
        has = ember.dispatch.KernelTable.has
        monkeypatch.setattr(ember.dispatch.KernelTable, "has", lambda self, name: name not in names and has(self, name))

    return hide


def _at_depth(n: int, fn):
    return fn() if n == 0 else _at_depth(n - 1, fn)


@pytest.fixture
def worst_faults_per_call():
    """``worst_faults_per_call(fn)``: the most minor page faults one call of ``fn`` makes, over calls
    from 160 stack depths (more than a 16 KiB chunk of CPython's frame stack spans), each warmed up
    once. A count from ``getrusage``, not a time: how the frame-stack tests see a chunk mapped per op."""
    resource = pytest.importorskip("resource")

    def worst(fn) -> float:
        most = 0.0
        for depth in range(160):
            _at_depth(depth, fn)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(3):
                _at_depth(depth, fn)
            most = max(most, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3)
        return most

    return worst


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    yield
