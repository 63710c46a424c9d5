"""``ToyArray``: the toy device's array type, a NumPy array tagged with a device index.

A real backend would hold a device buffer here (an OpenCL buffer, a CUDA pointer...). The
frontend only needs ``.shape`` and ``.ndim``; everything else goes through kernels.

Example:
    >>> import numpy as np
    >>> from ember_toy.array import ToyArray
    >>> ToyArray(np.zeros((2, 3)), 1).shape
    (2, 3)
"""

from __future__ import annotations

import numpy as np

__all__ = ["ToyArray"]


class ToyArray:
    """Device memory of the toy device: never a NumPy array, so mixing it up is caught."""

    __slots__ = ("data", "index")

    def __init__(self, data: np.ndarray, index: int) -> None:
        self.data = data
        self.index = index

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def __repr__(self) -> str:
        return f"ToyArray(toy:{self.index}, shape={self.shape}, dtype={self.data.dtype})"
