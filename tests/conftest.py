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


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    yield
