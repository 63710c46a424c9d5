"""Checkpoints that nobody on the team wrote (issue #13 item 8), compared with real PyTorch.

Strided and expanded storages, deflate bombs, damaged files (a seeded fuzz over every format),
file modes / symlinks / stale temp files as ``torch.save`` (``open(path, "wb")``) behaves, and the
dtypes ember lacks (float8, uint16/32/64; bfloat16 loads as bfloat16 since issue #18).
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from collections import OrderedDict

import ember
import numpy as np
import pytest
from ember.serialization import CheckpointError, WeightsOnlyLoadError

torch = pytest.importorskip("torch")

MiB = 1 << 20


def _torch_file(tmp_path, obj, name="t.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def _host(t):
    return t.detach().cpu().numpy()


def _reference(t):
    """What ember should hold for a torch tensor: its values as the nearest ember dtype."""
    if t.dtype in (torch.bfloat16, *_FLOAT8):
        return t.float().numpy()
    if t.dtype == torch.uint16:
        return t.to(torch.int32).numpy()
    if t.dtype in (torch.uint32, torch.uint64):
        return t.to(torch.int64).numpy()
    return t.numpy()


_FLOAT8 = tuple(getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                                              "float8_e8m0fnu") if hasattr(torch, n))


class _Peak:
    """Peak Python/NumPy heap in a block (NumPy reports its buffers to tracemalloc)."""

    def __enter__(self):
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return False


# ---- strided and expanded storages ------------------------------------------------------------
def test_checkpoint_error_is_exported_runtime_error():
    assert ember.CheckpointError is CheckpointError and issubclass(CheckpointError, RuntimeError)
    assert issubclass(WeightsOnlyLoadError, CheckpointError)


def test_expanded_tensor_stays_a_view(tmp_path, device):
    """1.5 KB holding a 1 GiB expanded tensor: torch.load keeps stride 0, so must ember.load."""
    src = torch.tensor([2.5]).expand(2**28)
    path = _torch_file(tmp_path, {"big": src})
    assert path.stat().st_size < 4096
    want = torch.load(path)["big"]
    assert want.stride() == (0,)
    # warm up: the device's first use imports its backend's modules (numba's typing tables alone are
    # tens of MiB on the traced heap), which is not what this test measures
    ember.load(_torch_file(tmp_path, {"small": torch.tensor([1.0]).expand(4)}, "warm.pt"), map_location=device)
    with _Peak() as p:
        got = ember.load(path, map_location=device)["big"]
    assert p.peak < 16 * MiB, f"ember.load allocated {p.peak} bytes for a {path.stat().st_size}-byte file"
    assert tuple(got.shape) == tuple(want.shape) and got.dtype == ember.float32
    assert got[123456].item() == want[123456].item()


@pytest.mark.parametrize("case", ["row", "col", "unsqueeze", "scalar"])
def test_expanded_geometries_match_torch(tmp_path, device, case):
    base = torch.arange(6.0).reshape(2, 3)
    src = {"row": base[0].expand(4, 3), "col": base[:, :1].expand(2, 5),
           "unsqueeze": base.unsqueeze(1).expand(2, 4, 3), "scalar": torch.tensor(7).expand(3, 2)}[case]
    path = _torch_file(tmp_path, src)
    want = torch.load(path)
    got = ember.load(path, map_location=device)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype.name == str(want.dtype).split(".")[1]
    np.testing.assert_array_equal(_host(got), want.numpy())
    np.testing.assert_array_equal(_host(got + 1), (want + 1).numpy())  # usable in ops


def test_views_share_their_storage_on_cpu_as_in_torch(tmp_path):
    x = torch.arange(12.0).reshape(3, 4)
    path = _torch_file(tmp_path, {"x": x, "row": x[1], "t": x.t(), "step": x[:, ::2], "tail": x.reshape(-1)[5:]})
    want, got = torch.load(path), ember.load(path)
    for k in want:
        np.testing.assert_array_equal(_host(got[k]), want[k].numpy(), err_msg=k)
    want["x"].add_(100)
    got["x"].add_(100)
    for k in want:  # a write through one tensor shows through the others, as in PyTorch
        np.testing.assert_array_equal(_host(got[k]), want[k].numpy(), err_msg=k)


def test_views_load_on_every_device(tmp_path, device):
    x = torch.arange(24.0).reshape(2, 3, 4)
    src = {"p": x.permute(2, 0, 1), "s": x[1:, ::2, 1:3], "sel": x[:, 2], "n": x.narrow(2, 1, 2)}
    path = _torch_file(tmp_path, src)
    want, got = torch.load(path), ember.load(path, map_location=device)
    for k in want:
        assert got[k].device.type == ember.device(device).type
        np.testing.assert_array_equal(_host(got[k]), want[k].numpy(), err_msg=k)


def test_overlapping_strides_load_as_a_view(tmp_path):
    """A geometry whose elements overlap (not by broadcasting) is a view of its storage, as in PyTorch: no copy."""
    src = torch.arange(2000.0).as_strided((1000, 1000), (1, 1))
    path = _torch_file(tmp_path, src)
    with _Peak() as p:
        got = ember.load(path)
    assert p.peak < 2 * MiB
    assert got.stride() == (1, 1)
    np.testing.assert_array_equal(_host(got), torch.load(path).numpy())


def test_big_endian_file_like_torch(tmp_path):
    src = {"f": torch.randn(3, 2), "h": torch.randn(4).half(), "b": torch.randn(2).bfloat16(), "i": torch.arange(3)}
    path = _torch_file(tmp_path, src)
    itemsize = {str(k): t.element_size() for k, t in enumerate(src.values())}

    def swap(name, data):
        if name.endswith("/byteorder"):
            return b"big", zipfile.ZIP_STORED
        if "/data/" in name:
            return np.frombuffer(data, f"u{itemsize[name.rsplit('/', 1)[1]]}").byteswap().tobytes(), zipfile.ZIP_STORED
        return data, zipfile.ZIP_STORED

    big = tmp_path / "big.pt"
    big.write_bytes(_rezip(path.read_bytes(), swap))
    want = torch.load(big)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = ember.load(big)
    for k in src:
        np.testing.assert_array_equal(_host(got[k]), _reference(want[k]), err_msg=k)
        np.testing.assert_array_equal(_reference(want[k]), _reference(src[k]), err_msg=k)


def test_storage_shorter_than_its_tensor_is_refused(tmp_path):
    path = _torch_file(tmp_path, torch.arange(10.0)[2:])
    bad = tmp_path / "past.pt"  # size 8 -> 9: one element past the storage
    bad.write_bytes(_rezip(path.read_bytes(), lambda n, d: (d.replace(b"K\x08", b"K\x09", 1) if n.endswith(".pkl")
                                                            else d, zipfile.ZIP_STORED)))
    with pytest.raises(RuntimeError):  # PyTorch: "Trying to resize storage that is not resizable"
        torch.load(bad)
    with pytest.raises(CheckpointError, match="past.pt.*reads past its storage"):
        ember.load(bad)


# ---- deflate bombs -----------------------------------------------------------------------------
def _rezip(src: bytes, edit) -> bytes:
    """Copy a zip, letting ``edit(name, data) -> (data, compress_type)`` change entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data, method = edit(info.filename, zin.read(info.filename))
            zout.writestr(zipfile.ZipInfo(info.filename), data, compress_type=method)
    return out.getvalue()


def _torch_bomb(n_floats: int) -> bytes:
    """A real torch file whose storage says n_floats, the entry deflated from n_floats zeros."""
    buf = io.BytesIO()
    torch.save(torch.zeros(n_floats), buf)

    def edit(name, data):
        if "/data/" in name:
            return data, zipfile.ZIP_DEFLATED
        return data, zipfile.ZIP_STORED

    return _rezip(buf.getvalue(), edit)


def test_deflate_bomb_refused_before_inflating(tmp_path):
    bomb = tmp_path / "bomb.pt"
    bomb.write_bytes(_torch_bomb(16 * MiB))  # 64 MiB of zeros in ~64 KiB
    assert bomb.stat().st_size < MiB
    assert torch.load(bomb).shape == (16 * MiB,)  # torch inflates it; it is a valid file
    with _Peak() as p, pytest.raises(CheckpointError, match=r"bomb\.pt.*max_bytes"):
        ember.load(bomb)
    assert p.peak < 4 * MiB
    assert ember.load(bomb, max_bytes=128 * MiB).shape == (16 * MiB,)  # the caller opts in


def test_declared_size_lie_is_caught(tmp_path):
    """An entry whose central-directory size disagrees with the storage metadata is refused unread."""
    data = bytearray(_torch_bomb(1024))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = next(i for i in zf.infolist() if "/data/" in i.filename)
    # patch the uncompressed size in the central directory entry of the storage
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        (name_len,) = struct.unpack_from("<H", data, pos + 28)
        if data[pos + 46:pos + 46 + name_len].decode() == info.filename:
            struct.pack_into("<I", data, pos + 24, 1 << 30)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    bad = tmp_path / "lie.pt"
    bad.write_bytes(bytes(data))
    with _Peak() as p, pytest.raises(CheckpointError, match=r"lie\.pt.*declares 1073741824 bytes"):
        ember.load(bad, max_bytes=1 << 40)
    assert p.peak < 4 * MiB


def test_ember_format_header_bomb(tmp_path):
    buf = io.BytesIO()
    ember.save({"a": 1}, buf)

    def edit(name, data):
        if name == "ember/header.json":
            return data + b" " * (32 * MiB), zipfile.ZIP_DEFLATED
        return data, zipfile.ZIP_STORED

    bomb = tmp_path / "bomb.ember"
    bomb.write_bytes(_rezip(buf.getvalue(), edit))
    with _Peak() as p, pytest.raises(CheckpointError, match=r"bomb\.ember.*max_bytes"):
        ember.load(bomb)
    assert p.peak < 4 * MiB
    assert ember.load(bomb, max_bytes=1 << 30) == {"a": 1}


# ---- fuzz: damaged files of every format --------------------------------------------------------
def _fuzz_sources(tmp_path):
    x = torch.arange(12.0).reshape(3, 4)
    torch_obj = {"w": torch.nn.Parameter(torch.randn(4, 3)), "v": x.t(), "e": torch.ones(1).expand(5),
                 "b": torch.randn(3).bfloat16(), "u": torch.arange(4).to(torch.uint16),
                 "i": torch.arange(5), "m": torch.tensor([True, False]),
                 "sd": OrderedDict(a=torch.zeros(2)), "n": [1, 2.5, "s", (None,)]}
    buf = io.BytesIO()
    torch.save(torch_obj, buf)
    ember_buf = io.BytesIO()
    ember.save({"w": ember.randn(4, 3), "i": ember.arange(5), "nested": [{"a": (1, 2.5)}, "s", None],
                "h": ember.ones(2, dtype=ember.float16)}, ember_buf)
    st_path = tmp_path / "src.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.randn(3, 2), "b": torch.randn(4).bfloat16(), "i": torch.arange(3)}, str(st_path))
    return {"pt": buf.getvalue(), "ember": ember_buf.getvalue(), "safetensors": st_path.read_bytes()}


def _mutations(data: bytes, rng: random.Random, count: int):
    """Seeded damage: single-byte flips anywhere, flips in the last 1 KiB (the zip directory or header),
    and truncations."""
    n = len(data)
    for _ in range(count):
        kind = rng.random()
        if kind < 0.15:
            yield data[:rng.randrange(n)]
            continue
        lo = max(0, n - 1024) if kind < 0.45 else (0 if kind < 0.7 else 0)
        hi = n if kind < 0.7 else min(n, 1024)
        pos = rng.randrange(lo, hi)
        out = bytearray(data)
        out[pos] ^= rng.randrange(1, 256)
        yield bytes(out)


@pytest.mark.parametrize("fmt", ["pt", "ember", "safetensors"])
def test_fuzzed_files_raise_only_checkpoint_error(tmp_path, fmt):
    pytest.importorskip("safetensors")
    src = _fuzz_sources(tmp_path)[fmt]
    rng = random.Random(1234)
    path = tmp_path / f"fuzz.{fmt}"
    loaded = failed = 0
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data in _mutations(src, rng, 300):
            path.write_bytes(data)
            tracemalloc.start()
            try:
                if fmt == "safetensors":
                    ember.serialization.load_safetensors(path)
                else:
                    ember.load(path)
                loaded += 1
            except CheckpointError as exc:
                assert "fuzz." in str(exc), str(exc)
                failed += 1
            finally:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            assert peak < 32 * MiB, f"a {len(data)}-byte damaged file made ember allocate {peak} bytes"
    assert failed > 50 and time.perf_counter() - start < 60


@pytest.mark.parametrize("fmt, member", [("pt", "data.pkl"), ("ember", "ember/header.json")])
def test_fuzzed_metadata_behind_a_valid_crc(tmp_path, fmt, member):
    """Damage inside the pickle / JSON header, re-zipped so the CRC holds: the parsers themselves must cope."""
    pytest.importorskip("safetensors")
    src = _fuzz_sources(tmp_path)[fmt]
    with zipfile.ZipFile(io.BytesIO(src)) as zf:
        entry = next(n for n in zf.namelist() if n.endswith(member))
        orig = zf.read(entry)
    rng = random.Random(99)
    path = tmp_path / f"fuzz.{fmt}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(150):
            damaged = bytearray(orig)
            for _ in range(rng.randint(1, 3)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            path.write_bytes(_rezip(src, lambda n, d, new=bytes(damaged): (new if n == entry else d,
                                                                          zipfile.ZIP_STORED)))
            try:
                ember.load(path)
            except CheckpointError as exc:
                assert "fuzz." in str(exc), str(exc)


# ---- file modes, symlinks, temp files ----------------------------------------------------------
@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_new_file_mode_follows_umask_like_torch(tmp_path, umask_027):
    ember.save({"a": ember.ones(1)}, tmp_path / "e.pt")
    torch.save({"a": torch.ones(1)}, tmp_path / "t.pt")
    assert (tmp_path / "e.pt").stat().st_mode == (tmp_path / "t.pt").stat().st_mode
    assert (tmp_path / "e.pt").stat().st_mode & 0o777 == 0o640


def test_existing_file_keeps_its_mode_like_torch(tmp_path, umask_027):
    for name in ("e.pt", "t.pt"):
        (tmp_path / name).write_bytes(b"old")
        os.chmod(tmp_path / name, 0o604)
    ember.save({"a": ember.ones(1)}, tmp_path / "e.pt")
    torch.save({"a": torch.ones(1)}, tmp_path / "t.pt")
    assert (tmp_path / "e.pt").stat().st_mode & 0o777 == (tmp_path / "t.pt").stat().st_mode & 0o777 == 0o604
    assert ember.load(tmp_path / "e.pt")["a"].tolist() == [1.0]


def test_symlink_is_written_through_like_torch(tmp_path):
    for lib, name in ((ember, "e"), (torch, "t")):
        target = tmp_path / f"{name}_target.pt"
        target.write_bytes(b"old")
        link = tmp_path / f"{name}_link.pt"
        link.symlink_to(target.name)
        lib.save({"a": lib.ones(1)}, link)
        assert link.is_symlink() and os.readlink(link) == target.name, name
        assert lib.load(target)["a"].tolist() == [1.0], name


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_of_dead_saves_are_removed(tmp_path):
    path = tmp_path / "ck.pt"
    old = time.time() - 3600
    stale = tmp_path / f".ck.pt.{_dead_pid()}-0123abcd.tmp"
    live = tmp_path / f".ck.pt.{os.getpid()}-89abcdef.tmp"  # a save in progress in a live process
    fresh = tmp_path / f".ck.pt.{_dead_pid()}-aaaaaaaa.tmp"  # just written: maybe a live writer elsewhere
    other = tmp_path / ".ck.pt.notours.tmp"
    for f in (stale, live, fresh, other):
        f.write_bytes(b"partial")
    for f in (stale, live, other):
        os.utime(f, (old, old))
    ember.save({"a": ember.ones(1)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, live.name, fresh.name, other.name])


def test_killed_save_leaves_a_temp_that_the_next_save_removes(tmp_path):
    path = tmp_path / "big.pt"
    code = ("import ember, os, signal\n"
            "from ember.serialization import ember_format\n"
            "real = ember_format._host_array\n"
            "def die(t):\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "ember_format._host_array = die\n"
            f"ember.save({{'a': ember.ones(3)}}, {str(path)!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == 1 and not path.exists()
    old = time.time() - 3600
    os.utime(temps[0], (old, old))
    ember.save({"a": ember.ones(1)}, path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# ---- dtypes ember lacks --------------------------------------------------------------------------
def _lacking_dtypes():
    out = [torch.uint16, torch.uint32, torch.uint64, *_FLOAT8]  # bfloat16: tests/parity/test_fix_amp.py
    return [pytest.param(d, id=str(d).split(".")[1]) for d in out]


@pytest.mark.parametrize("dt", _lacking_dtypes())
def test_pt_files_with_dtypes_ember_lacks(tmp_path, device, dt):
    if dt.itemsize == 1:
        src = torch.arange(256, dtype=torch.uint8).view(dt).reshape(16, 16)  # every code, NaN and inf included
    elif dt.is_floating_point:
        src = torch.randn(5, 3).to(dt)
    else:
        src = torch.tensor([0, 1, 2**15, 2**16 - 1], dtype=torch.int64).to(dt)
    path = _torch_file(tmp_path, {"x": src, "xt": src.t(), "dtype": dt})
    want = torch.load(path)
    with pytest.warns(UserWarning, match=f"{str(dt).split('.')[1]} -> "):
        got = ember.load(path, map_location=device)
    for k in ("x", "xt"):
        np.testing.assert_array_equal(_host(got[k]), _reference(want[k]), err_msg=k)
    assert got["dtype"] == got["x"].dtype


def test_uint64_past_int64_is_a_clear_error(tmp_path):
    path = _torch_file(tmp_path, torch.tensor([2**63 + 5], dtype=torch.uint64))
    assert torch.load(path).dtype == torch.uint64
    with pytest.raises(CheckpointError, match="uint64"):
        ember.load(path)


def test_unsupported_dtype_names_itself_not_unsafe(tmp_path):
    # (complex64/complex128 load since ember has complex dtypes: tests/parity/test_fix_complex.py)
    for name, src in (("float4_e2m1fn_x2", torch.zeros(2, dtype=torch.uint8).view(torch.float4_e2m1fn_x2)),
                      ("sparse", torch.eye(3).to_sparse())):
        path = _torch_file(tmp_path, src, f"{name}.pt")
        with pytest.raises(CheckpointError, match=name) as info:
            ember.load(path)
        assert not isinstance(info.value, WeightsOnlyLoadError)


def test_torch_globals_in_the_tree(tmp_path):
    obj = {"dt": torch.float16, "size": torch.Size([2, 3]), "dev": torch.device("cpu")}
    path = _torch_file(tmp_path, obj)
    want, got = torch.load(path), ember.load(path)
    assert got["dt"] is ember.float16 and str(want["dt"]) == "torch.float16"
    assert got["size"] == ember.Size([2, 3]) == tuple(want["size"])
    assert str(got["dev"]) == str(want["dev"])


def test_state_of_a_tensor_cannot_be_set_by_the_pickle(tmp_path):
    """BUILD on a rebuilt tensor (setting ``_data`` & co.) is refused; a state dict's _metadata is kept."""
    sd = torch.nn.Linear(2, 2).state_dict()
    path = _torch_file(tmp_path, sd)
    assert ember.load(path)._metadata == torch.load(path)._metadata
    path = _torch_file(tmp_path, torch.ones(2), "one.pt")
    with zipfile.ZipFile(path) as zf:
        pkl = zf.read("one/data.pkl")
    assert pkl[-1:] == b"."
    evil = pkl[:-1] + b"}X\x05\x00\x00\x00_dataK\x01sb."  # t = rebuild(...); t.__dict__.update({"_data": 1})
    bad = tmp_path / "build.pt"
    bad.write_bytes(_rezip(path.read_bytes(), lambda n, d: (evil if n.endswith("data.pkl") else d,
                                                                zipfile.ZIP_STORED)))
    with pytest.raises(WeightsOnlyLoadError, match="build.pt"):
        ember.load(bad)


@pytest.mark.parametrize("dt", [torch.uint16, torch.uint32, torch.uint64,
                                *[d for d in _FLOAT8 if d in (torch.float8_e4m3fn, torch.float8_e5m2)]],
                         ids=str)
def test_safetensors_with_dtypes_ember_lacks(tmp_path, device, dt):
    save_file = pytest.importorskip("safetensors.torch").save_file

    src = (torch.arange(256, dtype=torch.uint8).view(dt) if dt.itemsize == 1 else
           torch.randn(4, 3).to(dt) if dt.is_floating_point else torch.tensor([0, 7, 2**16 - 1]).to(dt))
    path = tmp_path / "m.safetensors"
    save_file({"x": src, "f": torch.ones(2)}, str(path))
    with pytest.warns(UserWarning, match="-> "):
        got = ember.serialization.load_safetensors(path, device=device)
    np.testing.assert_array_equal(_host(got["x"]), _reference(src))
    np.testing.assert_array_equal(_host(got["f"]), np.ones(2, np.float32))


def test_safetensors_written_by_ember_read_by_torch(tmp_path):
    load_file = pytest.importorskip("safetensors.torch").load_file

    tensors = {"w": ember.randn(3, 2), "i": ember.arange(5), "h": ember.ones(3, dtype=ember.float16),
               "b": ember.tensor([True, False]), "u": ember.tensor([1, 255], dtype=ember.uint8), "e": ember.zeros(0, 2)}
    path = tmp_path / "e.safetensors"
    ember.serialization.save_safetensors(tensors, path, metadata={"k": "v"})
    got = load_file(str(path))
    for k, t in tensors.items():
        assert str(got[k].dtype) == f"torch.{t.dtype.name}", k
        np.testing.assert_array_equal(got[k].numpy(), _host(t), err_msg=k)
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    assert n % 8 == 0 and json.loads(path.read_bytes()[8:8 + n])["__metadata__"] == {"k": "v"}
