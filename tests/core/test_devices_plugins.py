"""Device strings, the plugin registry, dispatch with CPU fallback, and the ``ember devices`` command."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import ember
import numpy as np
import pytest
from ember.backend import Backend
from ember.hookspecs import hookimpl


def test_device_parsing_and_equality():
    assert ember.device("cpu").type == "cpu" and ember.device("cpu").index is None
    d = ember.device("cuda:0")
    assert (d.type, d.index) == ("cuda", 0)
    assert repr(d) == "device(type='cuda', index=0)" and str(d) == "cuda:0"
    o = ember.device("opencl:1")
    assert (o.type, o.index) == ("opencl", 1) and repr(ember.device("cpu")) == "device(type='cpu')"
    assert ember.device("opencl", 1) == o and o == "opencl:1" and o != "opencl:0"
    assert hash(ember.device("cuda:0")) == hash(ember.device("cuda", 0))
    assert ember.device(o) == o
    for bad in ("cuda:x", "", "cuda:-1", ":1"):
        with pytest.raises(ValueError):
            ember.device(bad)


def test_unknown_device_type_names_registered_and_extra():
    with pytest.raises(ember.DeviceError) as info:
        ember.ones(1).to("tpu")
    msg = str(info.value)
    assert "unknown device type 'tpu'" in msg and "registered device types are cpu" in msg
    assert "install a backend package registering the device type 'tpu'" in msg
    with pytest.raises(ember.DeviceError, match="the cpu device has only index 0"):
        ember.zeros(1, device="cpu:1")


def test_cuda_absent_or_unavailable_raises_clearly():
    be = ember.plugins.backend("cuda")
    if be is not None and be.is_available():
        pytest.skip("a CUDA device is available")
    with pytest.raises(ember.DeviceError) as info:
        ember.zeros(2, device="cuda")
    msg = str(info.value)
    if be is None:       # no cuda backend installed: the message names the extra to install
        assert "unknown device type 'cuda'" in msg and "cpu" in msg and "pip install 'ember[cuda]'" in msg
    else:                # installed but no usable device: the backend says why
        assert "device cuda is not available" in msg and "ember[cuda]" in msg
    assert ember.cuda.is_available() is False
    assert ember.cuda.device_count() == 0


# ---- a fake device backend, wrapping NumPy --------------------------------------------------


class FakeArray:
    """The fake device's array type (distinct from np.ndarray, as a real device's would be)."""

    def __init__(self, data):
        self.data = np.asarray(data)

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)


def _u(x):
    return x.data if isinstance(x, FakeArray) else x


class FakeBackend(Backend):
    device_type = "fakedev"
    install_hint = "pip install ember-fakedev"

    def __init__(self, count=1):
        self.count = count

    def device_count(self):
        return self.count

    def unavailable_reason(self):
        return "no fake hardware attached"


_NP = {ember.float32: np.float32, ember.float64: np.float64, ember.int64: np.int64, ember.bool: np.bool_,
       ember.int32: np.int32, ember.float16: np.float16, ember.int16: np.int16, ember.int8: np.int8,
       ember.uint8: np.uint8}


def _fake_kernels():
    def binary(fn):
        return lambda a, b: FakeArray(fn(_u(a), _u(b)).astype((_u(a) if isinstance(a, FakeArray) else _u(b)).dtype))

    return {
        "from_host": lambda host, index: FakeArray(np.array(host)),
        "to_host": lambda x: np.array(x.data),
        "device_index": lambda x: 0,
        "empty": lambda shape, dtype, index: FakeArray(np.empty(shape, _NP[dtype])),
        "full": lambda shape, value, dtype, index: FakeArray(np.full(shape, value, _NP[dtype])),
        "astype": lambda x, dtype: FakeArray(x.data.astype(_NP[dtype])),
        "clone": lambda x: FakeArray(x.data.copy()),
        "add": binary(np.add),
    }


class FakePlugin:
    def __init__(self, count=1):
        self.backend = FakeBackend(count)

    @hookimpl
    def ember_backend(self):
        return self.backend

    @hookimpl
    def ember_kernels(self, device_type):
        return _fake_kernels() if device_type == "fakedev" else None


class OverridePlugin:
    """Adds kernels to an existing device type with priority (tryfirst)."""

    @hookimpl
    def ember_backend(self):
        return None

    @hookimpl(tryfirst=True)
    def ember_kernels(self, device_type):
        if device_type == "fakedev":
            return {"add": lambda a, b: FakeArray(np.subtract(_u(a), _u(b)).astype(_u(a).dtype))}
        return None


@pytest.fixture
def fakedev():
    plugin = FakePlugin()
    ember.plugins.register(plugin, package="ember-fakedev", version="0.0")
    ember.reset_fallback_counts()
    try:
        yield plugin
    finally:
        ember.plugins.unregister(plugin)
        ember.reset_fallback_counts()


def test_fake_device_native_and_fallback(fakedev):
    assert "fakedev" in ember.plugins.device_types()
    a = ember.tensor([1.0, 2.0], device="fakedev")
    assert a.device == ember.device("fakedev:0") and isinstance(a._data, FakeArray)
    b = ember.ones(2, device="fakedev")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = a + b                                  # native kernel: no warning, no fallback
    assert isinstance(c._data, FakeArray) and c.cpu().tolist() == [2.0, 3.0]
    assert ember.fallback_counts() == {}
    with pytest.warns(RuntimeWarning, match="fakedev has no kernel for 'mul'"):
        d = a * b
    assert isinstance(d._data, FakeArray) and d.device == a.device and d.cpu().tolist() == [1.0, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # warns once per op
        a * b
    assert ember.fallback_counts()[("fakedev", "mul")] == 2
    with ember.fallback_policy("allow"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (a - b).cpu().tolist() == [0.0, 1.0]
    assert ember.fallback_counts()[("fakedev", "sub")] == 1
    with ember.fallback_policy("error"):
        with pytest.raises(ember.FallbackError, match="fakedev backend has no kernel for 'exp'"):
            a.exp()
        assert (a + b).cpu().tolist() == [2.0, 3.0]
    with ember.no_fallback():
        with pytest.raises(ember.FallbackError):
            a.exp()
    assert ember.get_fallback_policy() == "warn"
    ember.set_fallback_policy("error")
    try:
        with pytest.raises(ember.FallbackError):
            a.sum()
    finally:
        ember.set_fallback_policy("warn")
    with pytest.raises(ValueError):
        ember.set_fallback_policy("sometimes")
    ember.reset_fallback_counts()
    assert ember.fallback_counts() == {}


def test_mixed_devices_raise_naming_both(fakedev):
    a = ember.ones(2, device="fakedev")
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least two "
                                           "devices, fakedev:0 and cpu!"):
        a + ember.ones(2)
    # the first non-CPU operand's device is named first whatever the order (TensorIterator's common device)
    with pytest.raises(RuntimeError, match="fakedev:0 and cpu!"):
        ember.ones(2) * a
    # a 0-d CPU tensor mixes with any device, as in PyTorch
    assert (a + ember.tensor(1.0)).cpu().tolist() == [2.0, 2.0]


def test_kernel_priority_tryfirst_and_unregister(fakedev):
    a = ember.tensor([5.0, 5.0], device="fakedev")
    b = ember.tensor([1.0, 2.0], device="fakedev")
    assert (a + b).cpu().tolist() == [6.0, 7.0]
    override = OverridePlugin()
    ember.plugins.register(override)
    try:
        assert (a + b).cpu().tolist() == [4.0, 3.0]        # the tryfirst kernel wins, existing tensors too
    finally:
        ember.plugins.unregister(override)
    assert (a + b).cpu().tolist() == [6.0, 7.0]


def test_unregister_removes_device():
    plugin = FakePlugin()
    ember.plugins.register(plugin)
    assert "fakedev" in ember.plugins.device_types()
    ember.plugins.unregister(plugin)
    assert "fakedev" not in ember.plugins.device_types()
    with pytest.raises(ember.DeviceError, match="unknown device type 'fakedev'"):
        ember.zeros(1, device="fakedev")


def test_unavailable_device_raises_clearly():
    plugin = FakePlugin(count=0)
    ember.plugins.register(plugin)
    try:
        with pytest.raises(ember.DeviceError, match="device fakedev is not available: no fake hardware attached "
                                                    r"\(install: pip install ember-fakedev\)"):
            ember.zeros(1, device="fakedev")
        row = [r for r in ember.plugins.report() if r.device_type == "fakedev"][0]
        assert not row.available and row.reason == "no fake hardware attached"
    finally:
        ember.plugins.unregister(plugin)


def test_device_index_out_of_range(fakedev):
    with pytest.raises(ember.DeviceError, match="invalid device fakedev:3: only 1 fakedev device"):
        ember.zeros(1, device="fakedev:3")


def test_two_real_devices_mixed(device):
    if device == "cpu":
        pytest.skip("needs a second device type")
    with pytest.raises(RuntimeError, match=f"found at least two devices, {device}:0 and cpu"):
        ember.ones(2, device=device) + ember.ones(2)


# ---- the ``ember devices`` command ------------------------------------------------------------


def _run(args, extra_path=None):
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path)] + [p for p in [env.get("PYTHONPATH")] if p])
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=60)


def test_python_m_ember_devices_lists_cpu():
    res = _run(["-m", "ember", "devices"])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:2] == ["type", "package"]
    cpu = [ln for ln in lines if ln.startswith("cpu ")]
    assert cpu and "ember-cpu-numpy" in cpu[0] and "available" in cpu[0]


def test_broken_plugin_is_reported_and_harmless(tmp_path):
    info = tmp_path / "brokenpkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenpkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ember.backends]\nbroken = brokenpkg.plugin\n")
    pkg = tmp_path / "brokenpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "plugin.py").write_text("raise ImportError('the broken driver is missing')\n")
    code = ("import warnings\nwarnings.simplefilter('always')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    import ember\n    t = ember.ones(2) + 1\n    ember.plugins.device_types()\n"
            "print('OK', t.tolist())\n"
            "print('\\n'.join(f'{x.category.__name__}: {x.message}' for x in w))\n")
    res = _run(["-c", code], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "OK [2.0, 2.0]" in res.stdout
    assert "RuntimeWarning" in res.stdout and "brokenpkg" in res.stdout and "broken driver is missing" in res.stdout
    res = _run(["-m", "ember", "devices"], tmp_path)
    assert res.returncode == 0, res.stderr
    row = [ln for ln in res.stdout.splitlines() if ln.startswith("broken ")]
    assert row, res.stdout
    assert "brokenpkg" in row[0] and "error" in row[0] and "ImportError: the broken driver is missing" in row[0]
    assert any(ln.startswith("cpu ") for ln in res.stdout.splitlines())
