"""Submodules reachable as attributes of their package without importing them first.

``import torch`` then ``torch._dynamo.config``, ``torch.nn.attention.sdpa_kernel`` or
``torch.autograd.profiler.profile`` works in PyTorch; programs written for it do the same with
ember. A package's ``__getattr__`` (called only for names it does not have) imports the submodule
of that name, if there is one, so ``import ember`` stays as cheap as before.

Example:
    >>> import ember
    >>> ember.nn.attention.SDPBackend.MATH.name
    'MATH'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType


def submodule(package: str, directory: str | Path, name: str) -> ModuleType | None:
    """``package.name`` imported, when ``directory`` (the package's) holds that module; else None.

    A submodule that exists but cannot be imported (an optional dependency is missing) raises
    AttributeError naming the cause, so ``hasattr`` stays a plain test.
    """
    # only a plain name: "../hub" or "a.b" must not reach another file, nor "__pycache__" a folder
    if name.startswith("__") or not name.isidentifier():
        return None
    here = Path(directory)
    if not ((here / name / "__init__.py").exists() or (here / f"{name}.py").exists()):
        return None
    try:
        return importlib.import_module(f"{package}.{name}")
    except ImportError as e:
        raise AttributeError(f"module {package!r} has no attribute {name!r} (importing {package}.{name} "
                             f"failed: {e})") from e


def package_getattr(package: str, directory: str | Path) -> Callable[[str], ModuleType]:
    """A package's module-level ``__getattr__``: its submodules by name, else AttributeError.

    Example (in a package's ``__init__.py``)::

        __getattr__ = package_getattr(__name__, __path__[0])
    """

    def __getattr__(name: str) -> ModuleType:
        mod = submodule(package, directory, name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return mod

    return __getattr__
