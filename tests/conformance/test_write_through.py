"""Issue #13 item 6: a CPU fallback never loses a write.

View kernels (and the others marked ``native_only`` in ``ember.kernels``) never fall back: a
backend lacking one raises ``ember.MissingKernelError`` naming the device type and the kernel.
The conformance suite's write-through rows fail a backend that loses writes (view kernels that
return copies) or lacks the view kernels, and the CLI exits non-zero for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import ember
import numpy as np
import pytest
from ember_conformance.model_cases import WRITE_THROUGH
from ember_conformance.report import failed, run

torch = pytest.importorskip("torch")

HERE = Path(__file__).resolve().parent
TOY_SRC = HERE.parents[1] / "examples" / "third_party_backend"
VIEW_KERNELS = ("slice", "reshape", "permute", "expand")


def _toy_kernels():
    if str(TOY_SRC) not in sys.path:
        sys.path.insert(0, str(TOY_SRC))
    from ember_toy.kernels import KERNELS

    return dict(KERNELS)


def _variant(dev_type: str, edit):
    """A plugin for ``dev_type`` with the toy device's kernels, changed by ``edit``."""
    from ember_toy.plugin import ToyBackend

    backend = type(f"{dev_type}Backend", (ToyBackend,), {"device_type": dev_type, "unsupported": {}})()

    class Plugin:
        @ember.hookspecs.hookimpl
        def ember_backend(self):
            return backend

        @ember.hookspecs.hookimpl
        def ember_kernels(self, device_type):
            return edit(_toy_kernels()) if device_type == dev_type else None

    return Plugin()


def _without_views(k: dict) -> dict:
    return {n: f for n, f in k.items() if n not in VIEW_KERNELS}


def _lossy(k: dict) -> dict:
    """View kernels that return copies: every write through a view is lost."""
    from ember_toy.array import ToyArray

    def copying(fn):
        return lambda *a: ToyArray(np.array(fn(*a).data, copy=True), a[0].index)

    return {n: copying(f) if n in VIEW_KERNELS else f for n, f in k.items()}


@pytest.fixture
def registered():
    done = []

    def register(plugin):
        ember.plugins.register(plugin)
        done.append(plugin)
        return plugin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield register
    for plugin in done:
        ember.plugins.unregister(plugin)


#: each write on a (3, 2) tensor, written once for ember and PyTorch (same API)
WRITES = {
    "t[0] = 5": lambda t, lib: t.__setitem__(0, 5),
    "t[1:3] = 1": lambda t, lib: t.__setitem__(slice(1, 3), 1),
    "t[0].fill_(7)": lambda t, lib: t[0].fill_(7),
    "t.view(6).add_(1)": lambda t, lib: t.view(6).add_(1),
    "t.t().copy_(src)": lambda t, lib: t.t().copy_(lib.arange(6.0).reshape(2, 3).to(t.device)),
    "t[:, ::2].mul_(3)": lambda t, lib: t[:, ::2].mul_(3),
    "t[:, 1].zero_()": lambda t, lib: t[:, 1].zero_(),
}


def _after(lib, dev, write):
    t = lib.arange(1.0, 7.0).reshape(3, 2).to(dev)
    write(t, lib)
    return t.cpu().tolist()


@pytest.mark.parametrize("name", list(WRITES))
def test_writes_through_views_land_like_pytorch(device, name, registered):
    want = _after(torch, "cpu", WRITES[name])
    assert _after(ember, device, WRITES[name]) == want
    sys.path.insert(0, str(TOY_SRC))
    try:
        import ember_toy.plugin as toy
    finally:
        sys.path.remove(str(TOY_SRC))
    registered(toy)
    with ember.fallback_policy("allow"):
        assert _after(ember, "toy", WRITES[name]) == want  # the toy device has native views now


@pytest.mark.parametrize("name", list(WRITES))
def test_missing_view_kernels_raise_instead_of_losing_writes(name, registered):
    registered(_variant("noviews", _without_views))
    for policy in ("allow", "warn", "error"):
        with ember.fallback_policy(policy), pytest.raises(ember.MissingKernelError) as info:
            _after(ember, "noviews", WRITES[name])
        msg = str(info.value)
        assert "noviews backend has no" in msg and "cannot fall back to the CPU" in msg
        assert any(f"'{k}'" in msg for k in VIEW_KERNELS)


def test_missing_copy_kernel_raises(registered):
    registered(_variant("nocopy", lambda k: {n: f for n, f in k.items() if n != "copy_"}))
    t = ember.zeros(3, device="nocopy")
    with ember.fallback_policy("allow"), pytest.raises(ember.MissingKernelError, match="nocopy.*'copy_'"):
        t.fill_(1)


def test_fallback_creation_lands_on_the_named_device(registered):
    registered(_variant("twodev", lambda k: k))  # the toy kernels: no random kernels, so they fall back
    with ember.fallback_policy("allow"):
        t = ember.randn(3, device="twodev:1")
    assert t.device == ember.device("twodev:1") and t._data.index == 1


def test_suite_write_through_rows_pass_on_real_devices(device):
    report = run(device, levels=[0], pattern="write-through")
    rows = [r for r in report["rows"] if r["op"].startswith("write-through/")]
    assert len(rows) == len(WRITE_THROUGH) and not failed(report, strict=True)


@pytest.mark.parametrize("edit", [_lossy, _without_views], ids=["views-are-copies", "no-view-kernels"])
def test_suite_fails_a_backend_that_loses_writes(edit, registered):
    name = f"wt{edit.__name__.strip('_')}"
    registered(_variant(name, edit))
    report = run(name, levels=[0], pattern="write-through")
    bad = {r["op"] for r in failed(report)}
    assert bad == {f"write-through/{n}" for n in WRITE_THROUGH}, report["rows"]
    if edit is _without_views:
        kernels = run(name, levels=[0], pattern="runtime/slice/")
        assert failed(kernels) and "cannot fall back" in failed(kernels)[0]["detail"]


def test_cli_exits_nonzero_for_a_lossy_backend(tmp_path):
    (tmp_path / "lossy_backend.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(TOY_SRC)!r})\n"
        f"sys.path.insert(0, {str(HERE)!r})\n"
        "from test_write_through import _variant, _lossy\n"
        "_p = _variant('lossy', _lossy)\n"
        "ember_backend, ember_kernels = _p.ember_backend, _p.ember_kernels\n")
    info = tmp_path / "lossy_backend-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lossy-backend\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ember.backends]\nlossy = lossy_backend\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "ember_conformance", "--backend", "lossy", "--level", "runtime",
                           "-k", "write-through"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout and "write-through" in proc.stdout
