"""``ember.onnx``: importable so PyTorch programs that import it run; exporting is issue #19.

Example:
    >>> import ember
    >>> ember.onnx.is_in_onnx_export()
    False
"""

from __future__ import annotations

from typing import Any

__all__ = ["export", "is_in_onnx_export", "dynamo_export"]


def export(*args: Any, **kwargs: Any) -> Any:
    """Not yet: ember cannot export to ONNX (tracked by issue #19)."""
    raise NotImplementedError("ember.onnx.export is not implemented yet: ember cannot export ONNX models "
                              "(tracked by issue #19)")


def dynamo_export(*args: Any, **kwargs: Any) -> Any:
    """Not yet (issue #19)."""
    raise NotImplementedError("ember.onnx.dynamo_export is not implemented yet (tracked by issue #19)")


def is_in_onnx_export() -> bool:
    """False: ember never runs a model inside an ONNX export."""
    return False
