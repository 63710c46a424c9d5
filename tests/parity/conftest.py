"""The PyTorch parity layer: every test here runs an expression on real PyTorch and on ember.

PyTorch is a test-only dependency; each test module starts with ``pytest.importorskip("torch")``
so the layer skips cleanly without it. See docs/parity.md.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _torch_single_thread():
    """PyTorch would start one thread per core; CI runs two pytest workers on two cores."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _torch_distribution_validation():
    """Each test starts from PyTorch's default argument validation of ``torch.distributions``: code
    that loads ``torch._dynamo`` (``torch.compile``, PyTorch's own test database) can switch it off
    for the whole process, which would change what every later row compares against."""
    try:
        from torch.distributions import Distribution
    except ImportError:
        yield
        return
    Distribution.set_default_validate_args(__debug__)  # PyTorch's default (ember's too)
    yield
    Distribution.set_default_validate_args(__debug__)
