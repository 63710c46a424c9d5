"""Anomaly detection: ``detect_anomaly`` makes the backward pass check every node's gradients for NaN.

Example:
    >>> import ember
    >>> x = ember.tensor([0.0, 1.0], requires_grad=True)
    >>> with ember.autograd.detect_anomaly():
    ...     (x.sqrt() * ember.tensor([0.0, 1.0])).sum().backward()
    Traceback (most recent call last):
    ...
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class STATE:
    """The process-wide switch (the engine reads ``enabled`` once per node)."""

    enabled = False
    check_nan = True


def set_enabled(enabled: bool, check_nan: bool = True) -> None:
    STATE.enabled, STATE.check_nan = bool(enabled), bool(check_nan)


def check_outputs(node: Any, grads: Any) -> None:
    """PyTorch's check: a backward node that returns NaN names itself and the output."""
    if not STATE.check_nan:
        return
    for i, g in enumerate(grads):
        if g is not None and g.dtype.is_floating_point and bool(g.isnan().any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")


class set_detect_anomaly:
    """Switch anomaly detection on or off for a block (a context manager, as PyTorch's)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (STATE.enabled, STATE.check_nan)
        set_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: Any) -> None:
        set_enabled(*self.prev)


class detect_anomaly:
    """Check backward outputs for NaN inside the block (and as a decorator)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev = (STATE.enabled, STATE.check_nan)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        self.prev = (STATE.enabled, STATE.check_nan)
        set_enabled(True, self.check_nan)

    def __exit__(self, *args: Any) -> None:
        set_enabled(*self.prev)

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapper
