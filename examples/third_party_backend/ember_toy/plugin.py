"""The plugin module ember loads through the entry point ``ember.backends: toy``.

It answers two hooks: ``ember_backend`` (facts about the device type) and ``ember_kernels`` (the
native kernels). ``unsupported`` lists ops the toy device deliberately leaves out; the
conformance suite shows them as ``unsupported`` with the reason.

Example:
    >>> from ember_toy.plugin import ToyBackend
    >>> ToyBackend().device_count()
    2
"""

from __future__ import annotations

from ember import dtypes as _dt
from ember.backend import Backend
from ember.hookspecs import hookimpl

from ember_toy.kernels import KERNELS

__all__ = ["ToyBackend", "ember_backend", "ember_kernels"]


class ToyBackend(Backend):
    device_type = "toy"
    install_hint = "pip install ember-toy-backend"
    unsupported = {"sort": "the toy device has no sorting network; sort runs on the CPU"}

    def device_count(self) -> int:
        return 2

    def device_name(self, index: int) -> str:
        return f"Toy accelerator #{index} (NumPy in disguise)"

    def supported_dtypes(self, index: int) -> tuple:
        # No 16-bit floats: the suite reports those rows as unsupported and checks the error.
        return tuple(d for d in _dt.ALL_DTYPES if d not in (_dt.float16, _dt.bfloat16))


_BACKEND = ToyBackend()


@hookimpl
def ember_backend():
    return _BACKEND


@hookimpl
def ember_kernels(device_type):
    return dict(KERNELS) if device_type == "toy" else None
