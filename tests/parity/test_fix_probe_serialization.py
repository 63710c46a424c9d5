"""Parity rows from the serialization probe sweep: ``ember.save`` files read by ``torch.load`` and
``torch.save`` files (zip and legacy) read by ``ember.load``, compared value by value, with
storage sharing, offsets, strides, Parameters and requires_grad; load options and their errors."""

from __future__ import annotations

import collections
import io
import os
import pickle
import warnings

import pytest

torch = pytest.importorskip("torch")
import ember  # noqa: E402

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
          "complex64", "complex128"]
FORMATS = [True, False]  # _use_new_zipfile_serialization


def _opencl() -> bool:
    try:
        ember.ones(1, device="opencl")
    except Exception:  # noqa: BLE001
        return False
    return True


def _objs(m, d):
    base = m.tensor([[1, 0, 3], [4, 5, 0]]).to(getattr(m, d))
    return {"x": base, "s": base[0, 0], "e": base[:0], "t": base.t(), "sl": base[1, 1:], "st": base[:, ::2],
            "ex": base[0].expand(4, 3), "fresh": base.clone()}


def _same(a, b, tag):
    assert list(a.shape) == list(b.shape), tag
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], tag
    assert a.tolist() == b.tolist(), tag
    assert tuple(a.stride()) == tuple(b.stride()) and a.storage_offset() == b.storage_offset(), tag
    assert a.requires_grad == b.requires_grad and type(a).__name__ == type(b).__name__, tag


def _saved(m, obj, **kw):
    buf = io.BytesIO()
    m.save(obj, buf, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("zip_format", FORMATS)
@pytest.mark.parametrize("d", DTYPES)
def test_every_dtype_both_directions(d, zip_format):
    for src in (torch, ember):
        data = _saved(src, _objs(src, d), _use_new_zipfile_serialization=zip_format)
        want, got = torch.load(io.BytesIO(data)), ember.load(io.BytesIO(data))
        for k in want:
            _same(want[k], got[k], (src.__name__, k))


@pytest.mark.parametrize("zip_format", FORMATS)
def test_views_share_one_storage_and_small_slices_save_it_whole(zip_format):
    for src in (torch, ember):
        x = src.arange(1000.0)
        data = _saved(src, [x, x[3:5], x[::2]], _use_new_zipfile_serialization=zip_format)
        assert len(_saved(src, x[3:5], _use_new_zipfile_serialization=zip_format)) > 4000  # the whole storage
        for loader in (torch, ember):
            out = loader.load(io.BytesIO(data))
            assert [t.untyped_storage().data_ptr() for t in out] == [out[0].untyped_storage().data_ptr()] * 3
            assert [t.untyped_storage().nbytes() for t in out] == [4000] * 3
            out[0][4] = -1.0  # a write through one shows through the others
            assert out[1].tolist() == [3.0, -1.0] and out[2][2].item() == -1.0


@pytest.mark.parametrize("zip_format", FORMATS)
def test_parameters_and_requires_grad(zip_format):
    for src in (torch, ember):
        obj = {"p": src.nn.Parameter(src.ones(2)), "q": src.nn.Parameter(src.ones(2), requires_grad=False),
               "r": src.ones(2, requires_grad=True)}
        data = _saved(src, obj, _use_new_zipfile_serialization=zip_format)
        want, got = torch.load(io.BytesIO(data)), ember.load(io.BytesIO(data))
        for k in want:
            _same(want[k], got[k], (src.__name__, k))
            assert got[k].is_leaf


@pytest.mark.parametrize("zip_format", FORMATS)
def test_state_dicts_optimizers_and_plain_values(zip_format):
    for src in (torch, ember):
        lin = src.nn.Linear(2, 3)
        opt = src.optim.Adam(lin.parameters())
        lin(src.ones(1, 2)).sum().backward()
        opt.step()
        obj = {"sd": lin.state_dict(), "opt": opt.state_dict(), "od": collections.OrderedDict(a=1),
               "t": (1, "s", None, 2.5, True, b"by", 1 + 2j), "set": {1, 2}, "dt": src.float16,
               "dev": src.device("cpu"), "size": src.Size([2, 3]), "counter": collections.Counter("aab")}
        data = _saved(src, obj, _use_new_zipfile_serialization=zip_format)
        want, got = torch.load(io.BytesIO(data)), ember.load(io.BytesIO(data))
        assert type(got["sd"]) is collections.OrderedDict and got["sd"]._metadata == want["sd"]._metadata
        for k in want["sd"]:
            _same(want["sd"][k], got["sd"][k], k)
        assert got["opt"]["param_groups"] == want["opt"]["param_groups"]
        for k, v in want["opt"]["state"][0].items():
            _same(v, got["opt"]["state"][0][k], k)
        for k in ("od", "t", "set", "counter"):
            assert got[k] == want[k] and type(got[k]) is type(want[k]), k
        assert got["dt"] is ember.float16 and str(got["dev"]) == "cpu" and list(got["size"]) == [2, 3]


def test_named_tuples_need_allowing_as_in_torch():
    nt = collections.namedtuple("NT", "a b")
    globals()["NT"] = nt  # pickled by name
    nt.__qualname__ = "NT"
    try:
        for src in (torch, ember):
            data = _saved(src, nt(1, src.ones(1)))
            for loader in (torch, ember):
                with pytest.raises(pickle.UnpicklingError) as err:
                    loader.load(io.BytesIO(data))
                assert "Unsupported global: GLOBAL test_fix_probe_serialization.NT was not an allowed global" \
                    in str(err.value).replace("tests.parity.", "")
                with loader.serialization.safe_globals([nt]):
                    out = loader.load(io.BytesIO(data))
                assert out.a == 1 and out.b.tolist() == [1.0]
    finally:
        del globals()["NT"]


def test_disallowed_global_message_is_torchs():
    data = _saved(torch, {"f": os.getcwd})
    msgs = []
    for m in (torch, ember):
        with pytest.raises(pickle.UnpicklingError) as err:
            m.load(io.BytesIO(data))
        msgs.append(str(err.value))
    assert msgs[1].startswith(msgs[0])


@pytest.mark.skipif(not _opencl(), reason="opencl unavailable")
@pytest.mark.parametrize("zip_format", FORMATS)
def test_map_location_forms_keep_views_on_opencl(zip_format):
    x = torch.arange(12.0).reshape(3, 4)
    data = _saved(torch, {"x": x, "v": x[1:, 1:3], "e": x[0].expand(2, 4)}, _use_new_zipfile_serialization=zip_format)
    for ml in ["opencl", ember.device("opencl"), {"cpu": "opencl"}, lambda s, loc: s.to("opencl")]:
        got = ember.load(io.BytesIO(data), map_location=ml)
        assert got["v"].device.type == "opencl" and got["v"].tolist() == [[5.0, 6.0], [9.0, 10.0]]
        assert got["v"].storage_offset() == 5 and got["e"].stride() == (0, 1)
        back = torch.load(io.BytesIO(_saved(ember, got, _use_new_zipfile_serialization=zip_format)),
                          map_location="cpu")
        assert back["v"].storage_offset() == 5 and back["v"].tolist() == [[5.0, 6.0], [9.0, 10.0]]


def _outcome(fn):
    out = []
    for m in (torch, ember):
        try:
            out.append(("ok", fn(m)))
        except Exception as e:  # noqa: BLE001
            out.append((type(e).__name__, str(e)))
    return out


def _same_outcome(fn, same_text=True):
    (tk, tv), (ek, ev) = _outcome(fn)
    assert tk == ek, (tv, ev)
    if tk == "ok" or same_text:
        assert tv == ev


@pytest.fixture
def files(tmp_path):
    z, leg = tmp_path / "z.pt", tmp_path / "l.pt"
    torch.save({"a": torch.ones(2)}, z)
    torch.save({"a": torch.ones(2)}, leg, _use_new_zipfile_serialization=False)
    return z, leg


def test_mmap_rules(files):
    z, leg = files
    _same_outcome(lambda m: m.load(z, mmap=True)["a"].tolist())
    _same_outcome(lambda m: m.load(str(z), mmap=True)["a"].tolist())
    _same_outcome(lambda m: m.load(io.BytesIO(z.read_bytes()), mmap=True))
    _same_outcome(lambda m: m.load(str(leg), mmap=True))
    _same_outcome(lambda m: m.load(leg, mmap=True))
    _same_outcome(lambda m: m.load(io.BytesIO(leg.read_bytes()), mmap=True))


def test_load_arguments(files, tmp_path):
    z, leg = files
    for f in (z, str(z), leg):
        _same_outcome(lambda m, f=f: m.load(f)["a"].tolist())
        with open(f, "rb") as fh:
            assert ember.load(fh)["a"].tolist() == [1.0, 1.0]
    _same_outcome(lambda m: m.load(tmp_path / "nope.pt"))
    _same_outcome(lambda m: m.load(z, pickle_module=pickle)["a"].tolist())  # weights_only then defaults to False
    _same_outcome(lambda m: m.load(z, pickle_module=pickle, weights_only=True))
    _same_outcome(lambda m: m.load(z, weights_only=False, encoding="latin1")["a"].tolist())
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ember.load(z, encoding="latin1")
    assert any("pickle_load_args only works if `weights_only=False`." in str(x.message) for x in w)
    for ml in ["cpu", {"cpu": "cpu"}, lambda s, loc: s, lambda s, loc: None, None, 3]:
        _same_outcome(lambda m, ml=ml: str(m.load(z, map_location=ml)["a"].device))
    _same_outcome(lambda m: str(m.load(z, map_location=m.device("cpu"))["a"].device))


@pytest.mark.parametrize("zip_format", FORMATS)
def test_truncated_files_raise(zip_format):
    data = _saved(torch, {"a": torch.arange(100.0)}, _use_new_zipfile_serialization=zip_format)
    for cut in (10, 100, len(data) // 2, len(data) - 3):
        with pytest.raises(Exception):  # noqa: B017 - PyTorch's types vary with the cut
            torch.load(io.BytesIO(data[:cut]))
        with pytest.raises(RuntimeError):  # ember: always CheckpointError, a RuntimeError
            ember.load(io.BytesIO(data[:cut]))


@pytest.mark.parametrize("zip_format", FORMATS)
def test_unpicklable_object_leaves_no_file(tmp_path, zip_format):
    path = tmp_path / "bad.pt"
    with pytest.raises(pickle.PicklingError):
        ember.save({"a": ember.ones(2), "f": lambda: 1}, path, _use_new_zipfile_serialization=zip_format)
    assert not path.exists() and os.listdir(tmp_path) == []  # PyTorch leaves a half-written file here


def test_save_arguments():
    _same_outcome(lambda m: m.save({"a": 1}, 123))
    for proto in (2, 3, 4, 5):
        data = _saved(ember, {"a": ember.ones(2)}, pickle_protocol=proto)
        assert torch.load(io.BytesIO(data), weights_only=False)["a"].tolist() == [1.0, 1.0]
        assert ember.load(io.BytesIO(data))["a"].tolist() == [1.0, 1.0]


def test_views_of_one_storage_as_two_dtypes_refused():
    x = torch.zeros(4)
    e = ember.zeros(4)
    _same_outcome(lambda m: m.save([x, x.view(torch.int32)] if m is torch else [e, e.view(ember.int32)],
                                   io.BytesIO()))


def test_safe_globals_context_and_list():
    class C:
        pass

    out = []
    for m in (torch, ember):
        m.serialization.clear_safe_globals()
        try:
            m.serialization.add_safe_globals([C])
            with m.serialization.safe_globals([C, (C, "x.C")]):
                m.serialization.add_safe_globals([int])
                inside = len(m.serialization.get_safe_globals())
            out.append((inside, m.serialization.get_safe_globals()))
        finally:
            m.serialization.clear_safe_globals()
    assert out[0] == out[1]


def test_legacy_file_runs_no_code_by_default(tmp_path):
    """A legacy file whose pickle calls a function is refused before the call, as by torch.load."""
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    body = io.BytesIO()
    for head in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(head, body, protocol=2)
    pickle.dump(Evil(), body, protocol=2)
    pickle.dump([], body, protocol=2)
    data = body.getvalue()
    msgs = []
    for m in (torch, ember):
        with pytest.raises(pickle.UnpicklingError) as err:
            m.load(io.BytesIO(data))
        msgs.append(str(err.value))
    assert not marker.exists()
    assert msgs[1].startswith(msgs[0])  # the blocked module, in PyTorch's words


def test_legacy_header_errors():
    """PyTorch's RuntimeError texts; ember's CheckpointError is a RuntimeError that adds the file's name."""
    bad_version = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(7, protocol=2)
    for data in (pickle.dumps(12345, protocol=2), bad_version):
        (tk, tv), (ek, ev) = _outcome(lambda m, data=data: m.load(io.BytesIO(data)))
        assert tk == "RuntimeError" and ek == "CheckpointError" and ev.startswith(tv)
        assert isinstance(ember.serialization.CheckpointError(), RuntimeError)
