"""ember.save / ember.load: the safe format, safety checks, devices, PyTorch files, safetensors."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import ember
import numpy as np
import pytest
from ember import optim
from ember.serialization import CheckpointError, WeightsOnlyLoadError

DATA = Path(__file__).parent / "data"

DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64,
          "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8, "bool": np.bool_,
          "bfloat16": __import__("ml_dtypes").bfloat16}


def _supported(device, name):
    dev = ember.device(device)
    backend = ember.plugins.backend(dev.type)
    return dev.type == "cpu" or getattr(ember, name) in backend.supported_dtypes(dev.index or 0)


def _host(t):
    return t.detach().cpu().numpy()


def _roundtrip(obj, **load_kw):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return ember.load(buf, **load_kw)


class Opaque:
    def __init__(self, v):
        self.v = v


# ---- round trips ----------------------------------------------------------------------------
def test_nested_round_trip_all_dtypes(device):
    rng = np.random.default_rng(0)
    arrays = {name: (rng.standard_normal((2, 3)) * 50).astype(dt) for name, dt in DTYPES.items()
              if _supported(device, name)}
    tensors = {name: ember.tensor(a, device=device) for name, a in arrays.items()}
    obj = {
        "model": OrderedDict((f"layer.{k}", v) for k, v in tensors.items()),
        "epoch": 12, "lr": 1e-3, "big": 2**70, "neg": -0.0, "inf": math.inf, "nan": math.nan,
        "flag": True, "none": None, "name": "résumé ✓", 3: ("int key", [1, 2.5, None]),
        "scalar": ember.tensor(4.5, device=device), "empty": ember.zeros(0, 4, device=device),
        "dtype": ember.float64, "size": ember.Size([2, 3]), "raw": b"\x00\xff",
    }
    out = _roundtrip(obj)
    assert type(out["model"]) is OrderedDict and list(out["model"]) == list(obj["model"])
    for name, a in arrays.items():
        t = out["model"][f"layer.{name}"]
        assert t.dtype == getattr(ember, name if name != "bool" else "bool")
        assert t.device.type == ember.device(device).type
        np.testing.assert_array_equal(_host(t), a)
    assert out["epoch"] == 12 and out["lr"] == 1e-3 and out["big"] == 2**70
    assert math.copysign(1.0, out["neg"]) == -1.0 and out["inf"] == math.inf and math.isnan(out["nan"])
    assert out["flag"] is True and out["none"] is None and out["name"] == "résumé ✓"
    assert out[3] == ("int key", [1, 2.5, None])
    assert out["scalar"].shape == () and out["scalar"].item() == 4.5
    assert tuple(out["empty"].shape) == (0, 4)
    assert out["dtype"] is ember.float64 and out["size"] == ember.Size([2, 3]) and out["raw"] == b"\x00\xff"


def test_shared_tensor_saved_once_and_identity_kept():
    t = ember.arange(5.0)
    out = _roundtrip({"a": t, "b": [t]})
    assert out["a"] is out["b"][0]


def test_requires_grad_and_noncontiguous(device):
    w = ember.randn(3, 4, device=device, requires_grad=True)
    out = _roundtrip({"w": w, "wt": w.detach().t()})
    assert out["w"].requires_grad and out["w"].is_leaf
    np.testing.assert_array_equal(_host(out["wt"]), _host(w).T)


def test_path_and_pathlike(tmp_path):
    p = tmp_path / "ck.ember"
    ember.save({"x": ember.ones(2)}, p)
    assert ember.load(str(p))["x"].tolist() == [1.0, 1.0]
    assert zipfile.is_zipfile(p)
    with zipfile.ZipFile(p) as zf:
        header = json.loads(zf.read("ember/header.json"))
    assert header["format"] == "ember-checkpoint" and header["version"] == 2
    assert header["tensors"][0]["dtype"] == "float32" and len(header["tensors"][0]["sha256"]) == 64


# ---- model + optimizer across devices ---------------------------------------------------------
def _train(params, opt, grads):
    for g in grads:
        for p in params:
            p.grad = ember.tensor(g, device=p.device)
        opt.step()


@pytest.mark.parametrize("direction", ["save_cpu_load_dev", "save_dev_load_cpu"])
def test_model_and_optimizer_move_between_devices(device, direction, tmp_path):
    src, dst = ("cpu", device) if direction == "save_cpu_load_dev" else (device, "cpu")
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal(4).astype(np.float32)
    grads = [rng.standard_normal(4).astype(np.float32) for _ in range(6)]

    w = ember.tensor(w0, device=src, requires_grad=True)
    opt = optim.Adam([w], lr=0.01, amsgrad=True)
    _train([w], opt, grads[:3])
    ember.save({"model": {"w": w.detach()}, "optim": opt.state_dict(), "epoch": 3}, tmp_path / "ck.pt")

    ck = ember.load(tmp_path / "ck.pt", map_location=dst)
    assert ck["epoch"] == 3 and ck["model"]["w"].device.type == ember.device(dst).type
    w2 = ck["model"]["w"].clone().requires_grad_(True)
    opt2 = optim.Adam([w2], lr=0.01, amsgrad=True)
    opt2.load_state_dict(ck["optim"])
    assert opt2.state[w2]["exp_avg"].device.type == ember.device(dst).type
    _train([w], opt, grads[3:])
    _train([w2], opt2, grads[3:])
    np.testing.assert_allclose(_host(w2), _host(w), rtol=1e-6, atol=1e-7)


def test_map_location_forms():
    obj = {"t": ember.ones(2)}
    assert _roundtrip(obj, map_location=ember.device("cpu"))["t"].device.type == "cpu"
    assert _roundtrip(obj, map_location={"cuda:0": "cpu"})["t"].device.type == "cpu"
    seen = []

    def fn(storage, loc):
        seen.append(loc)
        return storage

    assert _roundtrip(obj, map_location=fn)["t"].tolist() == [1.0, 1.0] and seen == ["cpu"]
    assert _roundtrip(obj, map_location=lambda s, loc: None)["t"].device.type == "cpu"


def _rewrite(src: bytes, edit) -> bytes:
    """Copy an ember archive, passing the parsed header through ``edit``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "ember/header.json":
                header = json.loads(data)
                edit(header)
                data = json.dumps(header).encode()
            zout.writestr(info.filename, data)
    return out.getvalue()


def test_unavailable_device_has_clear_error():
    buf = io.BytesIO()
    ember.save({"t": ember.ones(2)}, buf)

    missing = f"cuda:{ember.cuda.device_count()}"  # cuda:0 without a GPU, one past the last with GPUs

    def to_cuda(h):
        h["tensors"][0]["device"] = missing

    data = _rewrite(buf.getvalue(), to_cuda)
    with pytest.raises(CheckpointError, match=f"{missing}.*map_location"):
        ember.load(io.BytesIO(data))
    assert ember.load(io.BytesIO(data), map_location="cpu")["t"].tolist() == [1.0, 1.0]
    assert ember.load(io.BytesIO(data), map_location={missing: "cpu"})["t"].tolist() == [1.0, 1.0]


# ---- atomicity and damage ---------------------------------------------------------------------
def test_atomic_write_keeps_old_content_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    ember.save({"v": ember.tensor([1.0])}, path)
    before = path.read_bytes()
    from ember.serialization import ember_format

    real = ember_format._host_array
    calls = []

    def failing(t):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real(t)

    monkeypatch.setattr(ember_format, "_host_array", failing)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"a": ember.ones(1000), "b": ember.ones(3)}, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]  # no temp file left behind
    assert ember.load(path)["v"].tolist() == [1.0]


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.pt"
    ember.save({"w": ember.arange(64.0).reshape(8, 8), "step": 5}, path)
    return path


@pytest.mark.parametrize("cut", [1, 10, 100, 0.5, -30, -1])
def test_truncated_file_raises(good_file, tmp_path, cut):
    data = good_file.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else cut
    bad = tmp_path / "cut.pt"
    bad.write_bytes(data[:n])
    with pytest.raises(CheckpointError, match="cut.pt"):
        ember.load(bad)


def test_corrupted_blob_raises(good_file, tmp_path):
    data = bytearray(good_file.read_bytes())
    i = data.find(np.arange(64.0, dtype=np.float32).tobytes()[40:48])
    assert i > 0
    data[i] ^= 0xFF
    bad = tmp_path / "flip.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="flip.pt.*corrupted"):
        ember.load(bad)


def test_checksum_mismatch_detected(good_file):
    def wrong(h):
        h["tensors"][0]["sha256"] = "0" * 64

    data = _rewrite(good_file.read_bytes(), wrong)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        ember.load(io.BytesIO(data))


@pytest.mark.parametrize("content", [b"hello world", b"\x00" * 64, pickle.dumps({"a": 1}), b""])
def test_foreign_files_raise(tmp_path, content):
    bad = tmp_path / "foreign.bin"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match="foreign.bin"):
        ember.load(bad)


def test_foreign_zip_and_future_version(tmp_path):
    z = tmp_path / "other.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hi")
    with pytest.raises(CheckpointError, match="not an ember or PyTorch checkpoint"):
        ember.load(z)
    buf = io.BytesIO()
    ember.save({"a": 1}, buf)

    def future(h):
        h["version"] = 99

    with pytest.raises(CheckpointError, match="version 99"):
        ember.load(io.BytesIO(_rewrite(buf.getvalue(), future)))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        ember.load(tmp_path / "nope.pt")


# ---- pickle payloads -----------------------------------------------------------------------
def test_pickle_payload_refuses_unknown_globals_under_weights_only(tmp_path):
    path = tmp_path / "obj.pt"
    ember.save({"obj": Opaque(7), "t": ember.ones(2)}, path)
    with pytest.raises(WeightsOnlyLoadError, match="Weights only load failed.*disallowed global .*Opaque.*safe_globals"):
        ember.load(path)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(path, weights_only=True)
    out = ember.load(path, weights_only=False)
    assert out["obj"].v == 7 and out["t"].tolist() == [1.0, 1.0]
    with ember.serialization.safe_globals([Opaque]):  # the caller vouches for the class: loads
        out = ember.load(path)
    assert out["obj"].v == 7 and out["t"].tolist() == [1.0, 1.0]
    with pytest.raises(WeightsOnlyLoadError):  # and only inside the block
        ember.load(path)


def test_a_whole_module_saved_loads_with_its_classes_allowed(tmp_path, device):
    """torch.save(model) + ``with safe_globals([...]): torch.load(f)``, as PyTorch's
    word_language_model example does: the model, its submodules and its tensors come back."""
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.ReLU(), ember.nn.LSTM(4, 2)).to(device)
    path = tmp_path / "model.pt"
    ember.save(model, path)
    classes = [ember.nn.Sequential, ember.nn.Linear, ember.nn.ReLU, ember.nn.LSTM]
    with pytest.raises(WeightsOnlyLoadError, match="ember.nn.modules"):
        ember.load(path)
    with ember.serialization.safe_globals(classes):
        loaded = ember.load(path)
    assert type(loaded) is ember.nn.Sequential and repr(loaded) == repr(model)
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), loaded.named_parameters()):
        assert n1 == n2 and type(p2) is ember.nn.Parameter and p2.requires_grad
        assert str(p2.device) == str(p1.device)
        np.testing.assert_array_equal(p2.detach().cpu().numpy(), p1.detach().cpu().numpy())
    x = ember.randn(5, 3, device=device)
    np.testing.assert_array_equal(loaded(x)[0].detach().cpu().numpy(), model(x)[0].detach().cpu().numpy())
    with ember.serialization.safe_globals(classes):
        on_cpu = ember.load(path, map_location="cpu")
    assert all(p.device.type == "cpu" for p in on_cpu.parameters())


def test_a_version_1_pickle_archive_still_loads_without_weights_only(tmp_path):
    """Archives written before tensors were stored beside the pickle (format version 1)."""
    blob = pickle.dumps({"obj": Opaque(3), "t": ember.arange(3)}, protocol=4)
    header = {"format": "ember-checkpoint", "version": 1, "payload": "pickle",
              "pickle": {"file": "ember/data.pkl", "nbytes": len(blob)}}
    path = tmp_path / "v1.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ember/data.pkl", blob)
        zf.writestr("ember/header.json", json.dumps(header))
    with pytest.raises(WeightsOnlyLoadError, match="weights_only set to False"):
        ember.load(path)
    out = ember.load(path, weights_only=False)
    assert out["obj"].v == 3 and out["t"].tolist() == [0, 1, 2]


def test_an_ember_pickle_that_calls_a_function_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"echo pwned > {marker}",))

    ember.save({"x": Evil()}, path)
    with pytest.raises(WeightsOnlyLoadError, match="disallowed global (posix|nt).system"):
        ember.load(path)
    assert not marker.exists()


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/ember_pwned_marker",))


def _fake_torch_zip(payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    return out.getvalue()


def test_malicious_pickle_in_fake_torch_zip_is_refused(tmp_path):
    marker = Path("/tmp/ember_pwned_marker")
    marker.unlink(missing_ok=True)
    bad = tmp_path / "evil.pt"
    bad.write_bytes(_fake_torch_zip(pickle.dumps({"x": _Evil()}, protocol=2)))
    for kwargs in ({}, {"weights_only": True}):  # the default, and said explicitly
        with pytest.raises(WeightsOnlyLoadError, match=r"disallowed global (posix|os)\.system"):
            ember.load(bad, **kwargs)
    assert not marker.exists()


def test_a_torch_zip_is_trusted_only_when_the_caller_says_so(tmp_path):
    """``weights_only=False`` is the caller's opt-in (PyTorch's too): any global of the file loads."""
    path = tmp_path / "obj.pt"
    path.write_bytes(_fake_torch_zip(pickle.dumps({"obj": Opaque(5), "n": 2}, protocol=2)))
    with pytest.raises(WeightsOnlyLoadError, match="Opaque"):
        ember.load(path)
    out = ember.load(path, weights_only=False)
    assert type(out["obj"]) is Opaque and out["obj"].v == 5 and out["n"] == 2


# ---- PyTorch-made files ----------------------------------------------------------------------
def _check_expected(got, exp, path):
    if isinstance(exp, dict) and exp.get("__tensor__"):
        assert isinstance(got, ember.Tensor), path
        want_dtype = exp["dtype"]  # bfloat16 stays bfloat16 (issue #18)
        assert got.dtype.name == want_dtype, path
        assert list(got.shape) == exp["shape"], path
        np.testing.assert_array_equal(_host(got), np.array(exp["values"], dtype=DTYPES[want_dtype]).reshape(
            exp["shape"]), err_msg=path)
        assert got.requires_grad == exp["requires_grad"], path
        assert (type(got).__name__ == "Parameter") == exp["parameter"], path
    elif isinstance(exp, dict) and "__dict__" in exp:
        assert isinstance(got, dict) and (type(got) is OrderedDict) == exp["ordered"], path
        assert list(got) == [k for k, _ in exp["__dict__"]], path
        for k, v in exp["__dict__"]:
            _check_expected(got[k], v, f"{path}.{k}")
    elif isinstance(exp, dict) and "__seq__" in exp:
        assert isinstance(got, tuple if exp["tuple"] else list), path
        for i, (g, e) in enumerate(zip(got, exp["__seq__"], strict=True)):
            _check_expected(g, e, f"{path}[{i}]")
    else:
        assert got == exp, path


@pytest.mark.parametrize("name", ["model_state", "dtypes", "views", "param"])
def test_pytorch_checkpoints_load_exactly(name, device):
    if name == "dtypes" and not (_supported(device, "float16") and _supported(device, "float64")):
        pytest.skip(f"{device} lacks float16/float64")
    meta = json.loads((DATA / f"{name}.json").read_text())
    assert meta["torch_version"].startswith("2.")
    with _no_warning():
        got = ember.load(DATA / f"{name}.pt", map_location=device)
    _check_expected(got, meta["expected"], name)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_pytorch_checkpoint_truncated(tmp_path):
    data = (DATA / "views.pt").read_bytes()
    bad = tmp_path / "views_cut.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="views_cut.pt"):
        ember.load(bad)


def test_pytorch_storage_size_mismatch_detected(tmp_path):
    src = zipfile.ZipFile(DATA / "views.pt")
    out = tmp_path / "short.pt"
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            if "/data/" in info.filename and not info.filename.endswith(".pkl"):
                data = data[:-4]
            zf.writestr(info.filename, data)
    with pytest.raises(CheckpointError, match="short.pt"):
        ember.load(out)


# ---- safetensors ----------------------------------------------------------------------------
def test_safetensors_round_trip(tmp_path, device):
    pytest.importorskip("safetensors")
    tensors = {"w": ember.randn(3, 2, device=device), "i": ember.arange(4, device=device)}
    if _supported(device, "float16"):
        tensors["h"] = ember.ones(2, dtype=ember.float16, device=device)
    path = tmp_path / "m.safetensors"
    ember.serialization.save_safetensors(tensors, path, metadata={"format": "pt"})
    out = ember.serialization.load_safetensors(path, device=device)
    assert sorted(out) == sorted(tensors)
    for k, t in tensors.items():
        assert out[k].dtype == t.dtype and out[k].device.type == ember.device(device).type
        np.testing.assert_array_equal(_host(out[k]), _host(t))
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"format": "pt"}
    assert ember.serialization.load_file is ember.serialization.load_safetensors


def test_safetensors_errors(tmp_path, monkeypatch):
    pytest.importorskip("safetensors")
    with pytest.raises(TypeError, match="keys must be str"):
        ember.serialization.save_safetensors({1: ember.ones(1)}, tmp_path / "x.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        ember.serialization.load_safetensors(bad)
    import builtins

    real_import = builtins.__import__

    def no_safetensors(name, *a, **k):
        if name.startswith("safetensors"):
            raise ImportError("no module")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    # ember reads and writes the format itself: the package is only the tests' reference
    ember.serialization.save_safetensors({"a": ember.ones(1)}, tmp_path / "y.safetensors")
    assert ember.serialization.load_safetensors(tmp_path / "y.safetensors")["a"].tolist() == [1.0]
