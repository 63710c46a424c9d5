"""torchvision as a reference for ``ember.vision``, in the tests only.

The only torchvision wheels on the package index here are CUDA builds: their compiled ops
(``torchvision._C``) do not load next to PyTorch's CPU build, and ``import torchvision`` then fails
in the module that registers those ops' meta kernels. Everything written in Python (the models,
the box utilities and layers of ``torchvision.ops``, the transforms) needs none of it, so that one
module is replaced by an empty one before the import. Compiled ops (``nms``, ``roi_align``...) still
raise torchvision's own "Couldn't load custom C++ ops" error: check those against NumPy instead.

    >>> tv = import_torchvision()  # doctest: +SKIP
    >>> tv.models.resnet18().fc.out_features  # doctest: +SKIP
    1000
"""

from __future__ import annotations

import sys
import types
import warnings

import pytest


def import_torchvision() -> types.ModuleType:
    """The installed torchvision (the test skips when there is none)."""
    pytest.importorskip("torch")
    name = "torchvision._meta_registrations"
    if "torchvision" not in sys.modules and name not in sys.modules:
        sys.modules[name] = types.ModuleType(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Failed to load image Python extension"
        return pytest.importorskip("torchvision")


def has_compiled_ops() -> bool:
    """True when torchvision's C++ ops (nms, roi_align, ...) loaded."""
    tv = import_torchvision()
    return bool(tv.extension._has_ops())
