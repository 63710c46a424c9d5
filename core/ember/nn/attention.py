"""``ember.nn.attention``: PyTorch's ``torch.nn.attention`` switches for scaled dot product attention.

``sdpa_kernel(backends)`` allows only the listed :class:`SDPBackend` values inside a ``with`` block.
ember has one SDPA implementation for every backend value; the switches only decide whether
``scaled_dot_product_attention`` may run (on the CPU, PyTorch runs it when MATH or FLASH_ATTENTION
is allowed, and raises ``RuntimeError`` otherwise; ember does the same).

Example:
    >>> import ember
    >>> from ember.nn.attention import SDPBackend, sdpa_kernel
    >>> q = ember.ones(1, 1, 2, 4)
    >>> with sdpa_kernel(SDPBackend.MATH):
    ...     ember.nn.functional.scaled_dot_product_attention(q, q, q).shape
    ember.Size([1, 1, 2, 4])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.backends import _SDP_OF, SDPBackend, _sdp_switches

__all__ = ["SDPBackend", "sdpa_kernel"]


def sdpa_kernel(backends: SDPBackend | Iterable[SDPBackend], set_priority: bool = False) -> Any:
    """Within the block only ``backends`` are enabled (``set_priority`` is accepted: ember has one
    implementation, so there is no order to set)."""
    chosen = {backends} if isinstance(backends, SDPBackend) else set(backends)
    return _sdp_switches(**{switch: backend in chosen for backend, switch in _SDP_OF.items()})
