"""``ember new-backend NAME``: scaffold a backend package that passes the conformance runtime level.

The package (dist ``ember-NAME``, import ``ember_NAME``, device type ``NAME``) holds a
``pyproject.toml`` with the ``ember.backends`` entry point, the plugin module (a ``Backend``
subclass and the two hooks), the runtime and view kernels on a placeholder device array (NumPy
underneath: replace it with your device's memory and calls), and a test that runs the
conformance suite's runtime level. Every other kernel runs on the CPU until you write it; the
conformance report ranks them by how many rows each would turn native.

Example:
    $ ember new-backend mydev
    $ pip install -e ./ember-mydev
    $ ember-conformance --backend mydev --level runtime
"""

from __future__ import annotations

import argparse
import keyword
import re
import string
from pathlib import Path
from typing import Any

from .errors import UsageError

__all__ = ["add_parser", "scaffold", "render"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _ember_requirement() -> str:
    """``ember>=0.1,<0.2`` for ember 0.1.x: the scaffold depends on the ember that made it, by version."""
    import ember

    major, minor = (int(p) for p in ember.__version__.split(".")[:2])
    return f"ember>={major}.{minor},<{major}.{minor + 1}"


_PYPROJECT = '''\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "ember-$name"
version = "0.1.0"
description = "ember backend for the '$name' device type"
requires-python = ">=3.10"
dependencies = ["$ember_req", "numpy>=1.24"]

[project.optional-dependencies]
test = ["ember-conformance", "pytest"]

# The line that makes ember find this backend: device type = plugin module.
[project.entry-points."ember.backends"]
$name = "$pkg.plugin"

[tool.hatch.build.targets.wheel]
packages = ["$pkg"]
'''

_INIT = '''\
"""The ember backend for the '$name' device type (made by ``ember new-backend $name``)."""

__version__ = "0.1.0"
'''

_ARRAY = '''\
"""``${cls}Array``: the '$name' device's array type.

It wraps a NumPy array so that the scaffold runs; put your device's buffer here (a pointer, a
handle, a queue...). The frontend only reads ``.shape`` and ``.ndim``; all else goes through kernels.
"""

from __future__ import annotations

import numpy as np


class ${cls}Array:
    """Memory on one '$name' device."""

    __slots__ = ("data", "index")

    def __init__(self, data: np.ndarray, index: int) -> None:
        self.data = data  # TODO: your device buffer
        self.index = index

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def __repr__(self) -> str:
        return f"${cls}Array($name:{self.index}, shape={self.shape}, dtype={self.data.dtype})"
'''

_KERNELS = '''\
"""The '$name' device's kernels, by contract name (``ember.kernels``, docs/kernel-contract.md).

These are the runtime and view kernels: the ones a backend needs before anything else, and the
ones that can never run as a CPU fallback (a view computed on a CPU copy loses every write
through it). Each is written with NumPy on the placeholder ``${cls}Array``: replace the bodies with
your device's calls. Every kernel missing here runs on the CPU; ``ember-conformance --backend
$name`` lists them, ranked by how many rows each would turn native.
"""

from __future__ import annotations

import math

import numpy as np
from ember import dtypes as _dt

from $pkg.array import ${cls}Array

#: ember dtype -> NumPy dtype, for the dtypes NumPy itself has (bfloat16 only comes from ml_dtypes,
#: whose conversions saturate where PyTorch's wrap: a real backend handles it on purpose or not at all)
NP_DTYPE = {}
for _d in _dt.ALL_DTYPES:
    if _d is _dt.bfloat16:
        continue
    try:
        NP_DTYPE[_d] = np.dtype(str(_d).removeprefix("ember."))
    except TypeError:
        pass


# ---- runtime ----------------------------------------------------------------------------------
def from_host(host: np.ndarray, index: int) -> ${cls}Array:
    return ${cls}Array(np.array(host, copy=True), index or 0)  # TODO: copy to device `index`


def to_host(x: ${cls}Array) -> np.ndarray:
    return np.array(x.data, copy=True)  # TODO: copy back, after the pending work on x


def device_index(x: ${cls}Array) -> int:
    return x.index


def empty(shape, dtype, index) -> ${cls}Array:
    return ${cls}Array(np.empty(shape, NP_DTYPE[dtype]), index)


def full(shape, value, dtype, index) -> ${cls}Array:
    return ${cls}Array(np.full(shape, value, NP_DTYPE[dtype]), index)


def arange(start, stop, step, dtype, index) -> ${cls}Array:
    n = max(0, math.ceil((stop - start) / step))
    return ${cls}Array((start + np.arange(n) * step).astype(NP_DTYPE[dtype]), index)


def astype(x: ${cls}Array, dtype) -> ${cls}Array:
    target = NP_DTYPE[dtype]
    if target == np.bool_:
        return ${cls}Array(x.data != 0, x.index)
    with np.errstate(invalid="ignore", over="ignore"):
        return ${cls}Array(x.data.astype(target), x.index)


def clone(x: ${cls}Array) -> ${cls}Array:
    return ${cls}Array(np.array(x.data, copy=True, order="C"), x.index)


def is_contiguous(x: ${cls}Array) -> bool:
    return bool(x.data.flags.c_contiguous)


def strides(x: ${cls}Array) -> tuple:
    return tuple(s // x.data.itemsize for s in x.data.strides)


def copy_(dst: ${cls}Array, src) -> None:
    """Write src (an array or a Python number, broadcast) into dst; dst may be a view of a base."""
    np.copyto(dst.data, src.data if isinstance(src, ${cls}Array) else src, casting="unsafe")


# ---- views: they share their input's memory, so ``t[0] = 5`` reaches ``t`` -----------------------
def reshape(x: ${cls}Array, shape) -> ${cls}Array:
    return ${cls}Array(x.data.reshape(shape), x.index)  # a view whenever the strides allow it


def permute(x: ${cls}Array, dims) -> ${cls}Array:
    return ${cls}Array(x.data.transpose(dims), x.index)


def expand(x: ${cls}Array, shape) -> ${cls}Array:
    return ${cls}Array(np.broadcast_to(x.data, shape), x.index)


def slice_(x: ${cls}Array, slices) -> ${cls}Array:
    return ${cls}Array(x.data[tuple(slice(a, b, c) for a, b, c in slices)], x.index)


KERNELS = {
    "from_host": from_host, "to_host": to_host, "device_index": device_index, "empty": empty, "full": full,
    "arange": arange, "astype": astype, "clone": clone, "is_contiguous": is_contiguous, "strides": strides,
    "copy_": copy_, "reshape": reshape, "permute": permute, "expand": expand, "slice": slice_,
    # TODO: compute kernels, in the order the conformance report ranks them ("kernels to write next")
}
'''

_PLUGIN = '''\
"""The plugin module ember loads through the entry point ``ember.backends: $name``."""

from __future__ import annotations

from ember.backend import Backend
from ember.hookspecs import hookimpl

from $pkg.kernels import KERNELS, NP_DTYPE


class ${cls}Backend(Backend):
    device_type = "$name"  # users write "$name:0"
    install_hint = "pip install ember-$name"
    unsupported: dict[str, str] = {}  # op -> why this backend leaves it to the CPU

    def device_count(self) -> int:
        return 1  # TODO: ask your runtime

    def device_name(self, index: int) -> str:
        return f"$name device #{index}"

    def supported_dtypes(self, index: int) -> tuple:
        return tuple(NP_DTYPE)  # TODO: drop what your device cannot hold (float64, float16...)


_BACKEND = ${cls}Backend()


@hookimpl
def ember_backend():
    return _BACKEND


@hookimpl
def ember_kernels(device_type):
    return dict(KERNELS) if device_type == "$name" else None
'''

_TEST = '''\
"""The conformance suite on this backend. The runtime level must pass from the start; widen
LEVELS as you write kernels (``ember-conformance --backend $name`` shows the whole picture)."""

import ember
from ember_conformance import run
from ember_conformance.report import failed

LEVELS = ["runtime"]


def test_ember_finds_the_device():
    assert "$name" in ember.plugins.device_types()
    assert ember.ones(3, device="$name").cpu().tolist() == [1.0, 1.0, 1.0]


def test_conformance():
    from ember_conformance.cli import _parse_levels

    report = run("$name", levels=_parse_levels(",".join(LEVELS)))
    bad = failed(report)
    assert not bad, "\\n".join(f"{r['op']} [{r['dtype']}]: {r['detail']}" for r in bad[:20])
'''

_README = '''\
# ember-$name

An ember backend for the device type `$name`, made by `ember new-backend $name`.

    pip install -e ".[test]"                          # next to ember and ember-conformance
    ember devices                                     # lists $name:0
    ember-conformance --backend $name --level runtime # green from the start
    ember-conformance --backend $name                 # every level; "kernels to write next" ranks the rest
    pytest tests                                      # the same, as a test

Put your device's memory in `$pkg/array.py` and its calls in `$pkg/kernels.py`; see
ember's docs/writing-a-backend.md.
'''

FILES = {"pyproject.toml": _PYPROJECT, "README.md": _README, "$pkg/__init__.py": _INIT,
         "$pkg/array.py": _ARRAY, "$pkg/kernels.py": _KERNELS, "$pkg/plugin.py": _PLUGIN,
         "tests/test_conformance.py": _TEST}


def render(name: str) -> dict[str, str]:
    """``{relative path: text}`` of the package for device type ``name``."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise UsageError(f"invalid backend name {name!r}: use lowercase letters, digits and '_', "
                         "starting with a letter (it becomes the device type, as in 'cuda' or 'opencl')")
    subs = {"name": name, "pkg": f"ember_{name}", "cls": name.title().replace("_", ""),
            "ember_req": _ember_requirement()}
    return {string.Template(path).substitute(subs): string.Template(text).substitute(subs)
            for path, text in FILES.items()}


def scaffold(name: str, directory: str | Path | None = None) -> Path:
    """Write the package for device type ``name`` into ``directory`` (default ``./ember-NAME``)."""
    root = Path(directory if directory is not None else f"ember-{name}")
    files = render(name)
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} exists and is not empty; choose another --dir")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _run(args: argparse.Namespace) -> int:
    import logging

    from ember import plugins

    log = logging.getLogger("ember.cli")
    if args.name in plugins.device_types():
        raise UsageError(f"the device type {args.name!r} is already registered by "
                         f"{plugins._ensure_loaded().packages.get(args.name, ('another package',))[0]}")
    root = scaffold(args.name, args.dir)
    log.info(f"created {root}/ (device type {args.name!r}, package ember_{args.name}); next:\n"
             f"  pip install -e {root}\n"
             f"  ember-conformance --backend {args.name} --level runtime")
    return 0


def add_parser(sub: Any, formatter: type) -> None:
    p = sub.add_parser("new-backend", help="scaffold a backend package for a new device type",
                       formatter_class=formatter,
                       description="Write a backend package (pyproject with the entry point, plugin module, "
                                   "runtime kernels, a conformance test) that passes the conformance "
                                   "suite's runtime level as it is.")
    p.add_argument("name", help="the device type, e.g. 'mydev' (users then write 'mydev:0')")
    p.add_argument("--dir", default=None, help="where to write it (default: ./ember-NAME)")
    p.set_defaults(fn=_run)
