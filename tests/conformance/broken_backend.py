"""A deliberately broken backend (device type ``broken``) the conformance suite must catch.

It is the NumPy CPU kernels with three bugs: ``sub`` has the wrong sign, ``add`` ignores
broadcasting, ``softmax`` (an optional kernel, so the frontend trusts it) is off, which makes
softmax's gradient disagree with finite differences, and ``conv2d_backward`` returns a negated
input gradient.
"""

from __future__ import annotations

import numpy as np
from ember.backend import Backend
from ember.hookspecs import hookimpl


class BrokenBackend(Backend):
    device_type = "broken"

    def device_count(self) -> int:
        return 1


def _kernels() -> dict:
    from ember_cpu_numpy.plugin import ember_kernels as cpu_kernels

    k = dict(cpu_kernels("cpu"))

    def sub(a, b):  # wrong sign
        return k_sub(b, a)

    def add(a, b):  # no broadcasting: the smaller operand is tiled/truncated to the larger's size
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape != b.shape:
            big, small = (a, b) if a.size >= b.size else (b, a)
            return big + np.resize(small, big.shape)
        return k_add(a, b)

    def softmax(x, dim):  # forgets to subtract... and to normalise properly
        e = np.exp(2 * x)
        return (e / e.sum(axis=dim, keepdims=True)).astype(x.dtype)

    def conv2d_backward(grad, x, w, stride, padding, dilation, groups, needs):
        gx, gw, gb = k_conv_bwd(grad, x, w, stride, padding, dilation, groups, needs)
        return (None if gx is None else -gx), gw, gb

    k_sub, k_add = k["sub"], k["add"]
    k_conv_bwd = k.get("conv2d_backward")
    k.update(sub=sub, add=add, softmax=softmax)
    if k_conv_bwd is not None:
        k["conv2d_backward"] = conv2d_backward
    return k


class BrokenPlugin:
    """Register with ``ember.plugins.register(BrokenPlugin())``."""

    @hookimpl
    def ember_backend(self):
        return BrokenBackend()

    @hookimpl
    def ember_kernels(self, device_type):
        return _kernels() if device_type == "broken" else None


_PLUGIN = BrokenPlugin()


@hookimpl
def ember_backend():
    return BrokenBackend()


@hookimpl
def ember_kernels(device_type):
    return _kernels() if device_type == "broken" else None
