"""``torch.utils.dlpack``'s two functions: capsules in and out, sharing memory.

Most code needs neither: ``ember.from_dlpack(obj)`` takes any object with ``__dlpack__``, and
other libraries take an ember tensor directly (``numpy.from_dlpack(t)``, ``torch.from_dlpack(t)``).

Example:
    >>> import numpy as np, ember
    >>> from ember.utils.dlpack import from_dlpack, to_dlpack
    >>> t = from_dlpack(np.arange(3.0))
    >>> t.tolist()
    [0.0, 1.0, 2.0]
    >>> type(to_dlpack(t)).__name__
    'PyCapsule'
"""

from __future__ import annotations

from typing import Any

from ember.functions.creation import from_dlpack
from ember.tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule of ``tensor``, for APIs that take capsules (``torch.utils.dlpack.from_dlpack``).

    The capsule shares the tensor's memory and may be consumed once.
    """
    return tensor.__dlpack__()
