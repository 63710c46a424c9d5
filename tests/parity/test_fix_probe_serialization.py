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


# ---- second sweep: tensor metadata, file handling, load arguments, layouts, Module state ----------
def _views_with_metadata(m):
    z, z2 = m.tensor([1 + 2j, 3 - 1j, -2j]), m.tensor([1 + 2j, 3j])
    r = m.tensor([1.0, -2.0, 3.0])
    if m is torch:  # PyTorch keeps these lazily and saves the storage with {'conj': True} / {'neg': True}
        zc = z.conj()
        return [zc, zc[1:], z2.conj().imag, r._neg_view(), zc]
    zc = z.conj()
    return [zc, zc[1:], z2.conj().imag, -r, zc]


@pytest.mark.parametrize("zip_format", FORMATS)
def test_conj_and_neg_views_load_with_their_values(zip_format):
    data = _saved(torch, _views_with_metadata(torch), _use_new_zipfile_serialization=zip_format)
    want, got = torch.load(io.BytesIO(data)), ember.load(io.BytesIO(data))
    for w, g in zip(want, got):
        assert w.resolve_conj().resolve_neg().tolist() == g.tolist()
    assert got[4] is got[0]  # one tensor saved twice stays one object
    back = torch.load(io.BytesIO(_saved(ember, got, _use_new_zipfile_serialization=zip_format)))
    assert [b.tolist() for b in back] == [w.resolve_conj().resolve_neg().tolist() for w in want]


def test_legacy_checkpoints_one_after_another_in_one_buffer():
    for src in (torch, ember):
        buf = io.BytesIO()
        src.save(src.ones(1), buf, _use_new_zipfile_serialization=False)
        src.save({"b": src.zeros(2)}, buf, _use_new_zipfile_serialization=False)
        for m in (torch, ember):
            buf.seek(0)
            first, second = m.load(buf), m.load(buf)
            assert first.tolist() == [1.0] and second["b"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("zip_format", FORMATS)
def test_save_to_a_directory_or_a_missing_parent(tmp_path, zip_format):
    """PyTorch's error types (its zip writer's RuntimeError, or open()'s OSError for the legacy format)."""
    for target in (tmp_path, tmp_path / "no" / "x.pt"):
        (tk, tv), (ek, ev) = _outcome(lambda m, target=target: m.save(m.ones(1), target,
                                                                       _use_new_zipfile_serialization=zip_format))
        assert tk == ek != "ok", (tv, ev)
        assert tv.endswith(ev[ev.index(":") + 1:] if tk == "RuntimeError" and "strerror" in ev else ev)
    assert sorted(os.listdir(tmp_path)) == []


def test_load_sources_errors(tmp_path):
    _same_outcome(lambda m: m.load(tmp_path))  # IsADirectoryError, as open() raises it
    for bad in (123, None, b"bytes"):
        _same_outcome(lambda m, bad=bad: m.load(bad))  # AttributeError naming seek, PyTorch's words

    class ReadOnly:
        def __init__(self, data):
            self.b = io.BytesIO(data)

        def read(self, n=-1):
            return self.b.read(n)

    data = _saved(torch, torch.ones(1))
    _same_outcome(lambda m: m.load(ReadOnly(data)))


@pytest.mark.parametrize("weights_only", [True, False])
def test_unknown_pickle_load_args_are_type_errors(weights_only):
    data = _saved(torch, torch.ones(1))
    _same_outcome(lambda m: m.load(io.BytesIO(data), weights_only=weights_only, foo=1))
    _same_outcome(lambda m: m.load(io.BytesIO(data), weights_only=False, errors="strict").tolist())


@pytest.mark.parametrize("zip_format", FORMATS)
def test_layouts_round_trip(zip_format):
    for src in (torch, ember):
        data = _saved(src, {"l": src.strided, "s": src.sparse_coo}, _use_new_zipfile_serialization=zip_format)
        got = ember.load(io.BytesIO(data))
        assert got["l"] is ember.strided and got["s"] is ember.sparse_coo
        want = torch.load(io.BytesIO(data))
        assert want["l"] is torch.strided and want["s"] is torch.sparse_coo


def _filled(m, mod):
    with m.no_grad():
        for i, p in enumerate(mod.parameters()):
            p.copy_(m.arange(p.numel(), dtype=p.dtype).reshape(p.shape) / (i + 2))
    return mod


def test_state_dict_positional_args_warn_and_keywords_win():
    out = []
    for m in (torch, ember):
        lin = _filled(m, m.nn.Linear(2, 2))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sd = lin.state_dict(None, "a.", True)
            sd2 = lin.state_dict(collections.OrderedDict(), "a.", prefix="b.")
        out.append((list(sd), type(sd["a.weight"]).__name__, list(sd2), [type(x.message).__name__ for x in w],
                    [str(x.message) for x in w]))
    assert out[0] == out[1]


def test_loading_into_meta_parameters_warns_as_torch():
    out = []
    for m in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lin = m.nn.Linear(2, 2, device="meta")
            lin.load_state_dict(_filled(m, m.nn.Linear(2, 2)).state_dict())
            meta_after = lin.weight.device.type
            lin.load_state_dict(_filled(m, m.nn.Linear(2, 2)).state_dict(), assign=True)
        out.append((meta_after, lin.weight.device.type, lin.weight.tolist(), [str(x.message) for x in w]))
    assert out[0] == out[1]


def _net(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.nn.Linear(2, 3)
            self.bn = m.nn.BatchNorm1d(3)
            self.register_buffer("pb", m.ones(2))
            self.register_buffer("npb", m.zeros(2), persistent=False)
            self.seq = m.nn.Sequential(m.nn.Linear(3, 1), m.nn.ReLU())

    return _filled(m, Net())


def _edit_drop(sd, m):
    del sd["fc.weight"]


def _edit_extra(sd, m):
    sd["extra"], sd["fc.extra"], sd["zz.q"], sd["npb"] = m.ones(1), m.ones(1), m.ones(1), m.ones(2)


def _edit_size(sd, m):
    sd["fc.weight"], sd["pb"] = m.ones(5, 5), m.ones(3)


def _edit_type(sd, m):
    sd["fc.weight"] = [[1.0, 2.0]] * 3


def _edit_old_bn(sd, m):
    del sd["bn.num_batches_tracked"]
    sd._metadata["bn"]["version"] = 1


def _edit_dtype(sd, m):
    sd["fc.weight"] = sd["fc.weight"].double() + 0.5
    sd["bn.num_batches_tracked"] = m.tensor([7])  # 1-element 1-d into a 0-d buffer (0.3 checkpoints)


@pytest.mark.parametrize("edit", [_edit_drop, _edit_extra, _edit_size, _edit_type, _edit_old_bn, _edit_dtype])
@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize("assign", [False, True])
def test_load_state_dict_outcomes(edit, strict, assign):
    def run(m):
        net = _net(m)
        sd = net.state_dict()
        edit(sd, m)
        r = net.load_state_dict(sd, strict=strict, assign=assign)
        return (repr(r), {k: (v.tolist(), str(v.dtype).split(".")[-1], type(v).__name__, v.requires_grad)
                          for k, v in net.state_dict(keep_vars=True).items()})

    (tk, tv), (ek, ev) = _outcome(run)
    assert tk == ek and tv == (ev.replace("ember.Size", "torch.Size") if ek == "RuntimeError" else ev)


def test_extra_state_and_hook_order():
    def run(m):
        log = []

        class E(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.v, self.lin = 3, m.nn.Linear(1, 1)

            def get_extra_state(self):
                return {"v": self.v}

            def set_extra_state(self, s):
                self.v = s["v"]

        s = m.nn.Sequential(E())
        s.register_state_dict_pre_hook(lambda mod, prefix, kv: log.append(("pre", prefix, kv)))
        s[0].register_state_dict_pre_hook(lambda mod, prefix, kv: log.append(("pre0", prefix)))
        s.register_state_dict_post_hook(lambda mod, sd, prefix, lm: log.append(("post", list(sd), dict(lm))))
        s[0].register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, lm, strict, mk, uk, em: log.append(("lpre0", prefix, sorted(sd), dict(lm))))
        s.register_load_state_dict_post_hook(lambda mod, ik: log.append(("lpost", list(ik.missing_keys))))
        sd = s.state_dict()
        sd["0._extra_state"] = {"v": 9}
        r1 = s.load_state_dict(sd)
        del sd["0._extra_state"]
        r2 = s.load_state_dict(sd, strict=False)
        try:
            s.load_state_dict(sd)
        except RuntimeError as e:
            log.append(str(e))
        return log, repr(r1), repr(r2), s[0].v

    _same_outcome(run)
