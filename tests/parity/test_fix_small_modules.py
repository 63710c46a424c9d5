"""The small PyTorch modules ember lacked, each run side by side with PyTorch 2.13:

* ``ember.hub``: the hub directory, ``load_state_dict_from_url``/``download_url_to_file`` over
  ``file://`` URLs (hash check, atomic download, legacy zip), ``load``/``list``/``help`` of a local
  ``hubconf.py`` and of a "GitHub" repository served from the cache or from a ``file://`` zip (PyTorch's
  ``urlopen`` and archive link patched on both sides: no test touches the network), ``trust_repo``;
* ``ember.nn.grad``: conv{1,2,3}d_{input,weight} values and their gradients;
* ``ember.utils.hooks``: ``RemovableHandle`` (ids, extra dicts, weak references, pickling), the
  handle module and optimizer hooks return, ``unserializable_hook``/``warn_if_has_hooks``;
* ``ember.types``, ``ember.functional`` and the ``sym_*`` helpers (``ember._sym``).
"""

from __future__ import annotations

import gc
import hashlib
import io
import os
import pickle
import socket
import sys
import time
import warnings
import zipfile
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from urllib.error import HTTPError, URLError

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
import ember.functional  # noqa: E402
import ember.hub  # noqa: E402
import ember.nn.grad  # noqa: E402
import ember.types  # noqa: E402
import ember.utils.hooks  # noqa: E402
import torch.hub  # noqa: E402, F811 - the submodules, loaded
import torch.nn.grad  # noqa: E402
import torch.utils.hooks  # noqa: E402
from ember import _sym  # noqa: E402

HUBS = {"torch": torch.hub, "ember": ember.hub}


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """One TORCH_HOME per framework (so neither sees the other's cache), set by ``use(name)``."""
    for hub in HUBS.values():
        monkeypatch.setattr(hub, "_hub_dir", None)
    for var in ("TORCH_HUB", "TORCH_MODEL_ZOO", "XDG_CACHE_HOME", "GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)

    def use(name: str) -> Path:
        home = tmp_path / f"home_{name}"
        monkeypatch.setenv("TORCH_HOME", str(home))
        return home

    return use


def _run_both(homes, capsys, fn):
    """``fn(hub)`` on torch.hub then on ember.hub, each in its own TORCH_HOME: (result or exception,
    stdout, stderr) per framework, the home path replaced by ``<HOME>`` in the output."""
    out = {}
    for name, hub in HUBS.items():
        home = homes(name)
        try:
            res = fn(hub)
        except Exception as e:  # noqa: BLE001 - the exception is the result compared
            res = e
            res.args = tuple(a.replace(str(home), "<HOME>") if isinstance(a, str) else a for a in e.args)
        cap = capsys.readouterr()
        out[name] = (res, cap.out.replace(str(home), "<HOME>"), cap.err.replace(str(home), "<HOME>"))
    return out["torch"], out["ember"]


def _same_error(t, e):
    assert isinstance(t, Exception) and isinstance(e, Exception), (t, e)
    assert type(e) is type(t) and str(e) == str(t)


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else x.detach().cpu().numpy()


# ---- the hub directory --------------------------------------------------------------------------
def test_get_dir_and_set_dir(homes, tmp_path, monkeypatch):
    homes("x")
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "home_x" / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert ember.hub.get_dir() == torch.hub.get_dir() == os.path.expanduser("~/.cache/torch/hub")
    for hub in HUBS.values():
        hub.set_dir("~/somewhere")
    assert ember.hub.get_dir() == torch.hub.get_dir() == os.path.expanduser("~/somewhere")
    for hub in HUBS.values():
        hub.set_dir(tmp_path / "p")  # a PathLike
    assert ember.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "p")
    monkeypatch.setenv("TORCH_HUB", "1")
    with pytest.warns(UserWarning, match="TORCH_HUB is deprecated, please use env TORCH_HOME instead"):
        ember.hub.get_dir()
    assert ember.hub.__all__ == torch.hub.__all__
    assert ember.hub.HASH_REGEX.pattern == torch.hub.HASH_REGEX.pattern


# ---- downloads -------------------------------------------------------------------------------
def _checkpoint(tmp_path, name="ckpt.pth", obj=None, **save_kw):
    obj = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1, 2], dtype=torch.int64)} if obj is None else obj
    src = tmp_path / "srv"
    src.mkdir(exist_ok=True)
    torch.save(obj, str(src / name), **save_kw)
    return src / name


def _hashed(path: Path, prefix=None) -> Path:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    new = path.with_name(f"{path.stem}-{prefix or digest[:10]}{path.suffix}")
    path.rename(new)
    return new


def _state_equal(t_obj, e_obj):
    assert list(t_obj) == list(e_obj)
    for k in t_obj:
        np.testing.assert_array_equal(_np(e_obj[k]), t_obj[k].numpy())
        assert str(e_obj[k].dtype).split(".")[1] == str(t_obj[k].dtype).split(".")[1]


def test_load_state_dict_from_url_downloads_into_the_hub_cache(homes, tmp_path, capsys):
    url = _hashed(_checkpoint(tmp_path)).as_uri()
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(url, progress=False, check_hash=True))
    _state_equal(t[0], e[0])
    assert e[1] == t[1] and "Downloading" in e[1]  # the same "Downloading: ... to <HOME>/hub/checkpoints/..." line
    name = url.rsplit("/", 1)[1]
    for fw in HUBS:
        assert sorted(os.listdir(tmp_path / f"home_{fw}" / "hub" / "checkpoints")) == [name]
    # cached: loaded again without a download, even once the source is gone
    Path(url[len("file://"):]).unlink()
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(url, progress=False, check_hash=True))
    _state_equal(t[0], e[0])
    assert e[1] == t[1] == ""


def test_load_state_dict_from_url_model_dir_file_name_and_map_location(homes, tmp_path, capsys):
    url = _checkpoint(tmp_path).as_uri()

    def run(hub):
        return hub.load_state_dict_from_url(url, model_dir=str(tmp_path / f"md_{hub.__name__}"), map_location="cpu",
                                            progress=False, file_name="renamed.pt")

    t, e = _run_both(homes, capsys, run)
    _state_equal(t[0], e[0])
    assert os.listdir(tmp_path / "md_torch.hub") == os.listdir(tmp_path / "md_ember.hub") == ["renamed.pt"]
    assert e[1].replace("md_ember.hub", "md_torch.hub") == t[1]
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(_checkpoint(tmp_path, "a.b.pth").as_uri(),
                                                                             progress=False))
    _state_equal(t[0], e[0])


def test_wrong_hash_raises_and_leaves_no_file(homes, tmp_path, capsys):
    url = _hashed(_checkpoint(tmp_path), prefix="deadbeef").as_uri()
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(url, progress=False, check_hash=True))
    _same_error(t[0], e[0])
    assert str(e[0]).startswith('invalid hash value (expected "deadbeef", got "')
    for fw in HUBS:
        assert os.listdir(tmp_path / f"home_{fw}" / "hub" / "checkpoints") == []  # no file, no .partial
    # without check_hash the name's hash is not looked at
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(url, progress=False))
    _state_equal(t[0], e[0])


def test_download_url_to_file(tmp_path, capsys):
    src = tmp_path / "blob.bin"
    data = np.random.default_rng(0).bytes(300_000)  # several read chunks
    src.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    for name, hub in HUBS.items():
        dst = tmp_path / f"out_{name}"
        dst.mkdir()
        hub.download_url_to_file(src.as_uri(), str(dst / "f.bin"), hash_prefix=digest[:12], progress=False)
        assert (dst / "f.bin").read_bytes() == data and os.listdir(dst) == ["f.bin"]
        (dst / "g.bin").write_bytes(b"old")  # a failed download keeps what was there
        with pytest.raises(RuntimeError, match=f'invalid hash value \\(expected "00", got "{digest}"\\)'):
            hub.download_url_to_file(src.as_uri(), str(dst / "g.bin"), hash_prefix="00", progress=False)
        assert (dst / "g.bin").read_bytes() == b"old" and sorted(os.listdir(dst)) == ["f.bin", "g.bin"]
        with pytest.raises(URLError):
            hub.download_url_to_file((tmp_path / "missing.bin").as_uri(), str(dst / "h.bin"), progress=False)
        assert sorted(os.listdir(dst)) == ["f.bin", "g.bin"]
    capsys.readouterr()
    ember.hub.download_url_to_file(src.as_uri(), str(tmp_path / "p.bin"), progress=True)
    assert "293k" in capsys.readouterr().err  # the progress bar (tqdm, as PyTorch's) on stderr


def test_download_gives_up_on_a_silent_server(tmp_path, monkeypatch):
    """PyTorch's urlopen has no timeout and would wait forever here; ember's gives up."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(ember.hub, "_URL_TIMEOUT", 0.5)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # the kernel accepts the connection; nobody ever answers
    try:
        start = time.monotonic()
        with pytest.raises((TimeoutError, URLError)):
            ember.hub.download_url_to_file(f"http://127.0.0.1:{server.getsockname()[1]}/x", str(tmp_path / "x"),
                                           progress=False)
        assert time.monotonic() - start < 10
        assert os.listdir(tmp_path) == []
    finally:
        server.close()


def test_weights_only(homes, tmp_path, capsys):
    """A checkpoint that pickles another object: PyTorch's default here (weights_only=False) runs
    its pickle; ember's default refuses it, as both do with weights_only=True; both load it with
    weights_only=False."""
    url = _checkpoint(tmp_path, obj={"f": Fraction(1, 3), "t": torch.ones(2)}).as_uri()
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(url, progress=False, weights_only=True))
    assert isinstance(t[0], pickle.UnpicklingError) and isinstance(e[0], pickle.UnpicklingError)
    t, e = _run_both(homes, capsys, lambda hub: hub.load_state_dict_from_url(url, progress=False, weights_only=False))
    assert t[0]["f"] == e[0]["f"] == Fraction(1, 3)
    homes("ember")
    with pytest.raises(ember.WeightsOnlyLoadError):
        ember.hub.load_state_dict_from_url(url, progress=False)  # cached by now: the load itself refuses
    assert torch.hub.load_state_dict_from_url(url, model_dir=str(tmp_path / "t"), progress=False)["f"] == Fraction(1, 3)


def test_legacy_zip_checkpoint(homes, tmp_path, capsys):
    src = _checkpoint(tmp_path, "legacy.pt", _use_new_zipfile_serialization=False)
    zpath = tmp_path / "srv" / "legacy.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(src, "legacy.pt")

    def run(hub):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            res = hub.load_state_dict_from_url(zpath.as_uri(), progress=False)
        return res, [str(x.message) for x in w if x.category is FutureWarning]

    t, e = _run_both(homes, capsys, run)
    _state_equal(t[0][0], e[0][0])
    assert e[0][1] == t[0][1] and len(e[0][1]) == 1
    for fw in HUBS:
        assert sorted(os.listdir(tmp_path / f"home_{fw}" / "hub" / "checkpoints")) == ["legacy.pt", "legacy.zip"]


# ---- hubconf.py ------------------------------------------------------------------------------
HUBCONF = '''
"""A test repository."""
import helper_mod_for_hub

dependencies = ["numpy"]
VERSION = 3


def tiny(n=2, *extra, scale=1.0):
    """A tiny model."""
    return {"n": n, "extra": list(extra), "scale": scale, "helper": helper_mod_for_hub.VALUE}


def lazy():
    import helper_mod_for_hub as h  # imported while the entrypoint runs: the repo is still on sys.path
    return h.VALUE * 2


class Builder:
    """A class entrypoint."""

    def __init__(self, k=1):
        self.k = k


def _private():
    return "hidden"
'''


def _repo(path: Path, hubconf: str = HUBCONF) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "hubconf.py").write_text(hubconf)
    (path / "helper_mod_for_hub.py").write_text("VALUE = 7\n")
    return path


@pytest.fixture
def clean_helper():
    sys.modules.pop("helper_mod_for_hub", None)
    yield
    sys.modules.pop("helper_mod_for_hub", None)


def test_load_local(tmp_path, capsys, clean_helper):
    repo = str(_repo(tmp_path / "repo"))
    path_before = list(sys.path)
    for args, kwargs in [((), {}), ((5, "a", "b"), {"scale": 0.5})]:
        t = torch.hub.load(repo, "tiny", *args, source="local", **kwargs)
        e = ember.hub.load(repo, "tiny", *args, source="LOCAL", **kwargs)  # source is case-insensitive
        assert e == t and e["helper"] == 7
    assert ember.hub.load(repo, "lazy", source="local") == torch.hub.load(repo, "lazy", source="local") == 14
    assert ember.hub.load(repo, "Builder", k=4, source="local").k == torch.hub.load(repo, "Builder", k=4,
                                                                                  source="local").k == 4
    assert sys.path == path_before
    assert capsys.readouterr().err == ""  # a local repo: no cache message
    for args, kwargs in [((repo, "nope"), {"source": "local"}), ((repo, "VERSION"), {"source": "local"}),
                         ((repo, 3), {"source": "local"}), ((repo, "tiny"), {"source": "svn"})]:
        with pytest.raises(Exception) as t:
            torch.hub.load(*args, **kwargs)
        with pytest.raises(type(t.value), match=None) as e:
            ember.hub.load(*args, **kwargs)
        assert str(e.value) == str(t.value)
    assert str(e.value) == 'Unknown source: "svn". Allowed values: "github" | "local".'


def test_missing_dependencies(tmp_path, clean_helper):
    repo = str(_repo(tmp_path / "repo", HUBCONF.replace('["numpy"]', '["numpy", "no_such_pkg_x1", "no_such_pkg_x2"]')))
    for hub in HUBS.values():
        with pytest.raises(RuntimeError, match=r"^Missing dependencies: no_such_pkg_x1, no_such_pkg_x2$"):
            hub.load(repo, "tiny", source="local")


def test_local_list_and_help(homes, tmp_path, clean_helper):
    """PyTorch's list/help read a GitHub repository only: ember's ``source="local"`` gives what
    PyTorch gives for the same repository cached from GitHub."""
    repo = _repo(tmp_path / "repo")
    homes("torch")
    _repo(Path(torch.hub.get_dir()) / "someone_repo_main")
    t_list = torch.hub.list("someone/repo:main", trust_repo=True)
    t_help = torch.hub.help("someone/repo:main", "tiny", trust_repo=True)
    assert ember.hub.list(str(repo), source="local") == t_list == ["Builder", "lazy", "tiny"]
    assert ember.hub.help(str(repo), "tiny", source="local") == t_help == "A tiny model."
    assert ember.hub.help(str(repo), "lazy", source="local") is None


# ---- "GitHub" repositories, without the network --------------------------------------------------
def _no_network(url, *args, **kwargs):
    raise URLError("[Errno -2] Name or service not known")


@pytest.fixture
def offline(monkeypatch):
    for hub in HUBS.values():
        monkeypatch.setattr(hub, "urlopen", _no_network)


def test_github_from_the_cache(homes, capsys, offline, clean_helper):
    def run(hub):
        _repo(Path(hub.get_dir()) / "someone_repo_main")
        return (hub.load("someone/repo:main", "tiny", 4, trust_repo=True),
                hub.list("someone/repo:main", trust_repo=True, verbose=False),
                hub.help("someone/repo:main", "tiny", trust_repo=True),
                (Path(hub.get_dir()) / "trusted_list").read_text())

    t, e = _run_both(homes, capsys, run)
    assert e[0] == t[0] and e[0][3] == ""  # already downloaded: trusted without being listed
    assert e[1:] == t[1:] and "Using cache found in <HOME>/hub/someone_repo_main" in e[2]


def test_github_without_a_ref_and_without_network(homes, capsys, offline, clean_helper):
    t, e = _run_both(homes, capsys, lambda hub: hub.load("someone/repo", "tiny", trust_repo=True))
    _same_error(t[0], e[0])
    assert str(e[0]).startswith("It looks like there is no internet connection and the repo could not be found")

    def cached_master(hub):  # the cache holds master: it is used
        _repo(Path(hub.get_dir()) / "someone_repo_master")
        return hub.load("someone/repo", "tiny", trust_repo=True)

    t, e = _run_both(homes, capsys, cached_master)
    assert e[0] == t[0] and e[2] == t[2]


def test_github_default_branch_from_a_404(homes, capsys, monkeypatch, clean_helper):
    def not_found(url, *args, **kwargs):
        raise HTTPError(str(url), 404, "Not Found", None, io.BytesIO())

    for hub in HUBS.values():
        monkeypatch.setattr(hub, "urlopen", not_found)

    def run(hub):
        _repo(Path(hub.get_dir()) / "someone_repo_master")
        return hub.load("someone/repo", "tiny", trust_repo=True)

    t, e = _run_both(homes, capsys, run)
    assert e[0] == t[0] and e[2] == t[2] and "someone_repo_master" in e[2]


def test_github_download_needs_the_network(homes, capsys, offline):
    for kw in ({}, {"skip_validation": True}, {"force_reload": True}):
        t, e = _run_both(homes, capsys, lambda hub, kw=kw: hub.load("someone/repo:v1", "tiny", trust_repo=True, **kw))
        assert isinstance(t[0], URLError) and isinstance(e[0], URLError)


def test_github_download_from_a_zip(homes, tmp_path, capsys, monkeypatch, clean_helper):
    """The archive GitHub would serve, from a file:// URL: extracted into the hub directory under
    owner_name_branch (the zip's own top folder renamed), then loaded; the zip is removed."""
    _repo(tmp_path / "src")
    zpath = tmp_path / "repo-1.0.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("someone-repo-abc123/", "")
        for f in ("hubconf.py", "helper_mod_for_hub.py"):
            zf.write(tmp_path / "src" / f, f"someone-repo-abc123/{f}")
    for hub in HUBS.values():
        monkeypatch.setattr(hub, "_git_archive_link", lambda owner, name, ref: zpath.as_uri())

    def run(hub):
        res = hub.load("someone/repo:feature/x", "tiny", trust_repo=True, skip_validation=True)
        return res, sorted(os.listdir(hub.get_dir())), sorted(os.listdir(Path(hub.get_dir()) / "someone_repo_feature_x"))

    t, e = _run_both(homes, capsys, run)
    assert e[0] == t[0]
    assert e[0][1] == ["someone_repo_feature_x", "trusted_list"]
    assert e[1] == t[1] and "Downloading" in e[1]


def test_zip_slip_is_refused(tmp_path):
    zpath = tmp_path / "evil.zip"
    for member, text in (("../evil.txt", "Archive entry contains directory traversal: ../evil.txt"),
                         ("/abs.txt", "Archive entry has absolute path: /abs.txt")):
        with zipfile.ZipFile(zpath, "w") as zf:
            zf.writestr(member, "x")
        for hub in HUBS.values():
            with zipfile.ZipFile(zpath) as zf, pytest.raises(ValueError, match=text):
                hub._safe_extract_zip(zf, str(tmp_path / "out"))
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("answer", ["y", "n", "", "maybe"])
def test_trust_repo_prompt(homes, capsys, monkeypatch, answer, offline, clean_helper):
    prompts = []
    monkeypatch.setattr("builtins.input", lambda text: prompts.append(text) or answer)

    def run(hub):
        _repo(Path(hub.get_dir()) / "someone_repo_main")
        (Path(hub.get_dir()) / "someone_repo_main_legacy").mkdir()  # not this branch: not trusted by legacy rule
        try:
            return hub.load("someone/repo:main", "tiny", trust_repo=False)
        finally:
            prompts.append((Path(hub.get_dir()) / "trusted_list").read_text())

    t, e = _run_both(homes, capsys, run)
    if answer == "y":
        assert e[0] == t[0]
        assert e[1] == t[1] == "The repository is already trusted.\n"  # already downloaded: trusted anyway
    else:
        _same_error(t[0], e[0])
    assert prompts[:2] == prompts[2:] and "(y/N)?" in prompts[0]


def test_trust_repo_check(homes, capsys, monkeypatch, offline, clean_helper):
    def no_prompt(text):
        raise AssertionError("asked")

    monkeypatch.setattr("builtins.input", no_prompt)

    def run(hub):
        # a trusted owner, then a repository already in the trusted list: no question asked
        _repo(Path(hub.get_dir()) / "pytorch_repo_main")
        a = hub.load("pytorch/repo:main", "tiny", trust_repo="check")
        (Path(hub.get_dir()) / "trusted_list").write_text("someone_other\n")
        _repo(Path(hub.get_dir()) / "someone_other_dev")
        b = hub.load("someone/other:dev", "tiny", 9, trust_repo="check")
        return a, b, (Path(hub.get_dir()) / "trusted_list").read_text()

    t, e = _run_both(homes, capsys, run)
    assert e[0] == t[0] and e[0][1]["n"] == 9 and e[0][2] == "someone_other\n"

    def untrusted(hub):
        return hub.load("stranger/repo:main", "tiny", trust_repo="check")

    t, e = _run_both(homes, capsys, untrusted)
    _same_error(t[0], e[0])  # the prompt ran (our input raised)


# ---- ember.nn.grad -------------------------------------------------------------------------------
GRAD_CASES = [
    (1, (2, 4, 11), (6, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    (1, (1, 3, 7), (2, 3, 2), {}),
    (2, (2, 4, 9, 8), (6, 2, 3, 2), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}),
    (2, (1, 2, 6, 6), (3, 2, 3, 3), {"stride": 3, "padding": 2}),  # input rows the output never reads
    (3, (1, 2, 5, 6, 4), (4, 1, 2, 3, 2), {"stride": (1, 2, 1), "padding": 1, "dilation": (2, 1, 1), "groups": 2}),
]


@pytest.mark.parametrize("nd,xs,ws,kw", GRAD_CASES)
def test_conv_grads_values_and_gradients(nd, xs, ws, kw):
    r = np.random.default_rng(nd)
    x, w = r.standard_normal(xs), r.standard_normal(ws)
    conv = getattr(torch.nn.functional, f"conv{nd}d")
    go = r.standard_normal(tuple(conv(torch.tensor(x), torch.tensor(w), **kw).shape))
    rx, rw = r.standard_normal(xs), r.standard_normal(ws)
    for which in ("input", "weight"):
        res = {}
        for L, G in ((torch, torch.nn.grad), (ember, ember.nn.grad)):
            tx, tw = L.tensor(x, requires_grad=True), L.tensor(w, requires_grad=True)
            tgo = L.tensor(go, requires_grad=True)
            if which == "input":
                g = getattr(G, f"conv{nd}d_input")(xs, tw, tgo, **kw)
                (g * L.tensor(rx)).sum().backward()
                res[L.__name__] = (g, tw.grad, tgo.grad, g.requires_grad, tx.grad)
            else:
                g = getattr(G, f"conv{nd}d_weight")(tx, ws, tgo, **kw)
                (g * L.tensor(rw)).sum().backward()
                res[L.__name__] = (g, tx.grad, tgo.grad, g.requires_grad, tw.grad)
        t, e = res["torch"], res["ember"]
        for a, b in zip(t[:3], e[:3]):
            np.testing.assert_allclose(_np(b), _np(a), rtol=1e-10, atol=1e-12)
        assert e[3] is t[3] is True and e[4] is t[4] is None


def test_conv_grads_dtype_and_requires_grad():
    r = np.random.default_rng(5)
    x, w = r.standard_normal((2, 3, 6, 6)).astype(np.float32), r.standard_normal((4, 3, 3, 3)).astype(np.float32)
    go = r.standard_normal((2, 4, 4, 4)).astype(np.float32)
    res = {}
    for L, G in ((torch, torch.nn.grad), (ember, ember.nn.grad)):
        gx = G.conv2d_input(list(x.shape), L.tensor(w), L.tensor(go))
        gw = G.conv2d_weight(L.tensor(x), L.Size(w.shape), L.tensor(go))
        with L.no_grad():
            gx2 = G.conv2d_input(x.shape, L.tensor(w, requires_grad=True), L.tensor(go))
        res[L.__name__] = (gx, gw, gx2.requires_grad)
    for a, b in zip(res["torch"][:2], res["ember"][:2]):
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-5, atol=1e-5)
        assert b.dtype is ember.float32 and not b.requires_grad and not a.requires_grad
    assert res["ember"][2] is res["torch"][2] is False


def test_nn_grad_is_an_attribute():
    assert ember.nn.grad is sys.modules["ember.nn.grad"]
    assert sorted(n for n in dir(torch.nn.grad) if n.startswith("conv")) == sorted(ember.nn.grad.__all__)


# ---- ember.utils.hooks ---------------------------------------------------------------------------
def _handle_run(H):
    hooks, extra1, extra2 = OrderedDict(), OrderedDict(), OrderedDict()
    h1 = H.RemovableHandle(hooks, extra_dict=extra1)
    h2 = H.RemovableHandle(hooks, extra_dict=[extra1, extra2])
    ids = (h2.id - h1.id,)
    for h in (h1, h2):
        hooks[h.id] = extra1[h.id] = extra2[h.id] = "x"
    h1.remove()
    after1 = (list(hooks) == [h2.id], list(extra1) == [h2.id], list(extra2) == [h1.id, h2.id])
    with h2 as same:
        inside = same is h2
    after2 = (dict(hooks), dict(extra1), list(extra2) == [h1.id])
    h2.remove()  # twice: nothing left to remove
    state = h2.__getstate__()
    # pickling carries the dicts along; the copy removes from its own
    hooks3, extra3 = OrderedDict(), OrderedDict()
    h3 = H.RemovableHandle(hooks3, extra_dict=extra3)
    hooks3[h3.id] = extra3[h3.id] = 1
    lone = pickle.loads(pickle.dumps(h3))  # alone, its dicts die with the unpickling: a dead handle
    dead_copy = (lone.hooks_dict_ref(), lone.extra_dict_ref[0](), lone.remove())
    hooks4, extra4, h4 = pickle.loads(pickle.dumps((hooks3, extra3, h3)))  # with its owner: live
    h4.remove()
    pickled = (h4.id == h3.id, dict(hooks3) == dict(extra3) == {h3.id: 1}, hooks4 == extra4 == {},
               H.RemovableHandle.next_id > h3.id, H.RemovableHandle(OrderedDict()).id > h3.id, dead_copy)
    # a handle holds its dicts weakly
    gone = OrderedDict()
    h5 = H.RemovableHandle(gone)
    del gone
    gc.collect()
    dead = (h5.hooks_dict_ref() is None, h5.remove())
    revived = pickle.loads(pickle.dumps(h5))
    return ids, after1, inside, after2, (state[1] == h2.id, len(state), state[2]), pickled, dead, \
        (revived.hooks_dict_ref(), revived.remove())


def test_removable_handle():
    t, e = _handle_run(torch.utils.hooks), _handle_run(ember.utils.hooks)
    assert e[:4] == t[:4] and e[5:7] == t[5:7] and e[7] == t[7]
    # the extra dicts' keys are handle ids, from a per-library counter other tests also advance
    assert e[4][:2] == t[4][:2] and [list(dict(d).values()) for d in e[4][2]] == [list(dict(d).values())
                                                                                 for d in t[4][2]]
    assert ember.utils.hooks.__all__ == torch.utils.hooks.__all__


def test_module_and_optimizer_hooks_return_the_one_handle():
    lin = ember.nn.Linear(2, 2)
    handles = [lin.register_forward_hook(lambda *a: None, with_kwargs=True, always_call=True),
               lin.register_forward_pre_hook(lambda *a: None, with_kwargs=True),
               lin.register_full_backward_hook(lambda *a: None), lin.register_full_backward_pre_hook(lambda *a: None),
               lin.register_state_dict_pre_hook(lambda *a: None),
               ember.nn.modules.module.register_module_forward_hook(lambda *a: None, with_kwargs=True),
               ember.optim.SGD(lin.parameters(), lr=0.1).register_step_pre_hook(lambda *a: None),
               ember.optim.optimizer.register_optimizer_step_post_hook(lambda *a: None)]
    assert all(type(h) is ember.utils.hooks.RemovableHandle for h in handles)
    assert ember.nn.modules.module.RemovableHandle is ember.utils.hooks.RemovableHandle
    for h in handles:
        h.remove()
    assert not (lin._forward_hooks or lin._forward_hooks_with_kwargs or lin._forward_hooks_always_called
                or lin._forward_pre_hooks or lin._forward_pre_hooks_with_kwargs or lin._backward_hooks
                or lin._backward_pre_hooks or lin._state_dict_pre_hooks
                or ember.nn.modules.module._global_forward_hooks
                or ember.nn.modules.module._global_forward_hooks_with_kwargs)
    x = ember.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()  # runs with no hook left
    # a handle does not keep a deleted module's hook dicts alive
    m = ember.nn.Linear(1, 1)
    h = m.register_forward_hook(lambda *a: None)
    del m
    gc.collect()
    assert h.hooks_dict_ref() is None
    h.remove()


def test_unserializable_hook_and_warn_if_has_hooks():
    def hook(grad):
        return grad

    class Holder:
        def __init__(self, hooks):
            self._backward_hooks = hooks

    msgs = {}
    for name, H in (("torch", torch.utils.hooks), ("ember", ember.utils.hooks)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            H.warn_if_has_hooks(Holder(OrderedDict([(0, hook)])))
            H.warn_if_has_hooks(Holder(OrderedDict()))
            quiet = H.unserializable_hook(lambda g: g)
            assert quiet.__torch_unserializable__ is True
            H.warn_if_has_hooks(Holder(OrderedDict([(0, quiet)])))
        msgs[name] = [(x.category, str(x.message)) for x in w]
    assert msgs["ember"] == msgs["torch"] and len(msgs["ember"]) == 1
    assert ember.utils.hooks.BackwardHook is ember.nn.modules._backward_hook.BackwardHook


# ---- ember.types, ember.functional -----------------------------------------------------------------
def test_types():
    import torch.types as T

    E = ember.types
    assert E.__all__ == T.__all__
    missing = {n for n in dir(T) if not n.startswith("__")} - set(dir(E))
    assert missing == {"DispatchKey", "_qscheme", "Self"}  # what ember does not have (see the module)
    assert E._Number == T._Number and E.Number == T.Number
    assert (E._int, E._float, E._bool, E._complex, E._str, E._bytes) == (T._int, T._float, T._bool, T._complex,
                                                                       T._str, T._bytes)
    assert E._device is ember.device and E._dtype is ember.dtype and E._layout is ember.layout
    assert E.Size is ember.Size and E.Tensor is ember.Tensor
    for v in (ember.device("cpu"), "cpu", 0, None):
        assert isinstance(v, E.Device)
    assert [a.__origin__ if hasattr(a, "__origin__") else a for a in E._size.__args__] == [ember.Size, list, tuple]
    assert str(E._size).replace("ember.size.", "torch.") == str(T._size)
    for a, b in ((E.FileLike, T.FileLike), (E.Number, T.Number), (E.IntLikeType, T.IntLikeType)):
        assert str(a).replace("ember._sym.", "torch.") == str(b)
    assert str(E.Device).replace("ember.device.device", "torch.device") == str(T.Device)
    assert E.py_sym_types == (_sym.SymInt, _sym.SymFloat, _sym.SymBool)
    assert [m for m in dir(T.Storage) if not m.startswith("__")] == [m for m in dir(E.Storage) if not m.startswith("__")]


def test_functional():
    import torch.functional as TF

    assert ember.functional.__all__ == TF.__all__
    assert all(getattr(ember.functional, n) is getattr(ember, n) for n in TF.__all__)
    r = np.random.default_rng(1)
    a, b = r.standard_normal((3, 4)), r.standard_normal((4, 2))
    cases = [
        lambda L, F: F.einsum("ij,jk->ik", L.tensor(a), L.tensor(b)),
        lambda L, F: F.tensordot(L.tensor(a), L.tensor(b), dims=1),
        lambda L, F: F.cartesian_prod(L.tensor([1, 2]), L.tensor([3, 4, 5])),
        lambda L, F: F.block_diag(L.tensor(a[:2, :2]), L.tensor([[7.0]])),
        lambda L, F: F.meshgrid(L.tensor([1, 2]), L.tensor([3, 4, 5]), indexing="xy")[0],
        lambda L, F: F.unique_consecutive(L.tensor([1, 1, 2, 2, 3, 1]), return_counts=True)[1],
        lambda L, F: F.unique(L.tensor([3, 1, 3, 2]), return_inverse=True)[1],
        lambda L, F: F.unravel_index(L.tensor([5, 7]), (2, 4))[1],
        lambda L, F: F.split(L.tensor(a), [1, 2])[1],
        lambda L, F: F.atleast_3d(L.tensor(2.0)),
        lambda L, F: F.norm(L.tensor(a), p=1, dim=0),
        lambda L, F: F.cdist(L.tensor(a), L.tensor(a)),
        lambda L, F: F.chain_matmul(L.tensor(a), L.tensor(b), L.tensor(b.T)),
    ]
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # chain_matmul is deprecated (in both)
            t, e = case(torch, TF), case(ember, ember.functional)
        np.testing.assert_allclose(_np(e), t.numpy(), rtol=1e-12, atol=1e-12)
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert tuple(ember.functional.broadcast_shapes((2, 1), (3,))) == tuple(TF.broadcast_shapes((2, 1), (3,)))


# ---- sym_* -----------------------------------------------------------------------------------------
SYM_CASES = [
    ("sym_int", (3.9,)), ("sym_int", (-2.5,)), ("sym_int", (True,)), ("sym_int", ("T", 3.7)),
    ("sym_int", (np.float32(2.5),)), ("sym_int", ("12",)), ("sym_int", ("T", [1.0, 2.0])),
    ("sym_float", (3,)), ("sym_float", ("T", 2)), ("sym_float", ("1.5",)), ("sym_float", (np.int64(4),)),
    ("sym_not", ("T", True)), ("sym_not", ("T", [1, 2])), ("sym_not", ([],)), ("sym_not", (0,)),
    ("sym_max", (1, 1.0)), ("sym_max", (np.int64(3), 2)), ("sym_max", (np.float32(1.5), 2)), ("sym_max", (True, 0)),
    ("sym_max", ("T", 1, 2)), ("sym_max", (1, "a")), ("sym_max", (2, 5)),
    ("sym_min", (2, np.float64(1.5))), ("sym_min", (2, 5)), ("sym_min", (2.0, 5)), ("sym_min", (None, 5)),
    ("sym_sqrt", (4,)), ("sym_sqrt", (-1.0,)), ("sym_sqrt", ("T", 9.0)), ("sym_sqrt", (np.float32(2),)),
    ("sym_sum", ([1, 2, 3],)), ("sym_sum", (1, 2.5)), ("sym_sum", ([],)), ("sym_sum", ((1, True),)),
    ("sym_ite", (True, 1, 2)), ("sym_ite", (False, "a", "b")), ("sym_ite", (1, 1, 2)), ("sym_ite", ("T", True, 1, 2)),
    ("sym_ite", (False, 1, 2.0)), ("sym_ite", (np.bool_(True), 1, 2)),
]


def _sym_args(L, args):
    return (L.tensor(args[1]),) + args[2:] if args[0] == "T" else args


@pytest.mark.parametrize("name,args", SYM_CASES)
def test_sym_functions(name, args):
    try:
        t = getattr(torch, name)(*_sym_args(torch, args))
    except Exception as exc:  # noqa: BLE001
        t = exc
    if isinstance(t, Exception):
        with pytest.raises(type(t)) as e:
            getattr(_sym, name)(*_sym_args(ember, args))
        assert str(e.value) == str(t).replace("torch.Tensor", "ember.tensor.Tensor")
        return
    e = getattr(_sym, name)(*_sym_args(ember, args))
    assert type(e) is type(t) and e == t


def test_sym_sum_of_tensors_and_sym_types():
    t = torch.sym_sum([torch.tensor(1.0), torch.tensor(2.5)])
    e = _sym.sym_sum([ember.tensor(1.0), ember.tensor(2.5)])
    assert float(e) == float(t) and e.dtype is ember.float32
    with pytest.raises(TypeError, match="ember has no symbolic shapes"):
        _sym.SymInt()
    assert not isinstance(3, _sym.SymInt) and not isinstance(3, torch.SymInt)

    class Proto:  # PyTorch's protocol methods are honoured
        def __sym_float__(self):
            return 1.25

        def __sym_not__(self):
            return "negated"

    assert _sym.sym_float(Proto()) == torch.sym_float(Proto()) == 1.25
    assert _sym.sym_not(Proto()) == "negated"
