"""The outside-check runners of ``scripts/`` (PyTorch's OpInfo, ModuleInfo, OptimizerInfo and
common_nn databases), loaded as modules by their test files: the scripts are standalone command
lines, not a package, so each test file loads the one it runs from here.

    >>> suite = load_script("moduleinfo_suite")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module (loaded once per process, then shared)."""
    key = f"_ember_scripts.{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[key] = mod
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return sys.modules[key]
