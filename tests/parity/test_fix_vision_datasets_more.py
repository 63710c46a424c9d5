"""torchvision 0.28 datasets that read a local copy of the official files, checked against torchvision.

For each dataset the test writes a tiny synthetic copy of the official on-disk layout in ``tmp_path``
(a few images, the exact annotation files), builds torchvision's class and ember's class on that
folder, and compares the length, every item (image pixels, mode and size; targets by value and
type), the class lists and the repr. MD5 checks are switched off in both (the synthetic files cannot
have the official digests); one test keeps them on to check the "not found or corrupted" error.

torchvision needs scipy (``.mat`` files) and pycocotools (COCO) for some of these; neither is installed
here. For torchvision's side those are replaced by small stand-ins written in this file from the
packages' documented behaviour (``loadmat`` answers the arrays the test wrote; ``COCO`` indexes the
JSON), so torchvision's own post-processing is the reference. ember's MATLAB reader is checked on its
own against files written by an independent MATLAB v5 writer below.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tarfile
import types
import urllib.error
import urllib.request
import zlib
from collections import defaultdict

import ember
import ember.vision.datasets as ED
import numpy as np
import pytest
from ember.vision.datasets import _matlab
from ember.vision.datasets import utils as EU
from PIL import Image
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()
TD = tv.datasets
TU = tv.datasets.utils

RS = np.random.RandomState(0)


# ----------------------------------------------------------------------------------------------- helpers


def _save_img(path, size=(6, 5), mode="RGB", fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    w, h = size
    if mode == "P":
        img = Image.fromarray(RS.randint(0, 4, (h, w)).astype(np.uint8), mode="L").convert("P")
        img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * (256 * 3 - 12))
    elif mode == "L":
        img = Image.fromarray(RS.randint(0, 256, (h, w)).astype(np.uint8))
    else:
        img = Image.fromarray(RS.randint(0, 256, (h, w, 3)).astype(np.uint8))
    img.save(path, format=fmt)


def _norm(x):
    """A comparable form of an item or target: arrays with their dtype, PIL images as pixels."""
    if isinstance(x, Image.Image):
        return ("PIL", x.mode, x.size, np.asarray(x).tobytes())
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        meta = {k: str(getattr(x, k)).split(".")[-1] for k in ("format", "canvas_size") if hasattr(x, k)}
        dtype = str(x.dtype).split(".")[-1]
        plain = x.as_subclass(torch.Tensor if isinstance(x, torch.Tensor) else ember.Tensor)
        return (type(x).__name__, meta, dtype, tuple(x.shape), plain.detach().cpu().numpy().tolist())
    if isinstance(x, np.ndarray):
        return ("ndarray", str(x.dtype), x.shape, x.tolist())
    if isinstance(x, tuple):
        return ("tuple", [_norm(v) for v in x])
    if isinstance(x, list):
        return ("list", [_norm(v) for v in x])
    if isinstance(x, dict):
        return ("dict", {k: _norm(v) for k, v in x.items()})
    return (type(x).__name__, x)


def _same(ref, ours, attrs=("classes", "class_to_idx")):
    assert len(ours) == len(ref)
    for i in range(len(ref)):
        assert _norm(ours[i]) == _norm(ref[i]), i
    for a in attrs:
        assert getattr(ours, a) == getattr(ref, a), a
    assert repr(ours).replace("Dataset ", "", 1) == repr(ref).replace("Dataset ", "", 1)
    assert repr(ours) == repr(ref)


@pytest.fixture
def no_md5(monkeypatch):
    """Synthetic files cannot have the official MD5s: accept any digest in both libraries."""
    monkeypatch.setattr(TU, "check_md5", lambda fpath, md5, **kw: True)
    monkeypatch.setattr(EU, "check_md5", lambda fpath, md5: True)


@pytest.fixture
def fake_scipy(monkeypatch):
    """``scipy.io.loadmat`` for torchvision: answers the variables registered for a path."""
    files: dict[str, dict] = {}
    scipy = types.ModuleType("scipy")
    sio = types.ModuleType("scipy.io")

    def loadmat(path, squeeze_me=False, **kw):
        out = files[os.path.realpath(os.fspath(path))]
        return {k: (np.squeeze(v) if squeeze_me and isinstance(v, np.ndarray) else v) for k, v in out.items()}

    sio.loadmat = loadmat
    scipy.io = sio
    monkeypatch.setitem(sys.modules, "scipy", scipy)
    monkeypatch.setitem(sys.modules, "scipy.io", sio)
    return files


# ------------------------------------------------------ an independent MATLAB v5 writer (for the reader)


def _el(mtype, payload):
    return struct.pack("<II", mtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)


_MX = {np.dtype("float64"): (6, 9), np.dtype("float32"): (7, 7), np.dtype("uint8"): (9, 2),
       np.dtype("int32"): (12, 5), np.dtype("uint16"): (11, 4), np.dtype("int64"): (14, 12)}


def _matrix(name, value):
    """One miMATRIX element: numeric ndarray, str (1 x n char), list of dicts (1 x n struct), a dict
    (1 x 1 struct), ("cell", [values], shape) or ("sparse", 2-D bool array)."""
    nm = _el(1, name.encode())
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, tuple) and value[0] == "cell":
        _, items, shape = value
        body = _el(6, struct.pack("<II", 1, 0)) + _el(5, np.array(shape, "<i4").tobytes()) + nm
        body += b"".join(_matrix("", v) for v in items)  # column-major order
    elif isinstance(value, tuple) and value[0] == "sparse":
        dense = value[1]
        rows, starts, vals = [], [0], []
        for j in range(dense.shape[1]):
            nz = np.flatnonzero(dense[:, j])
            rows += nz.tolist()
            vals += dense[nz, j].tolist()
            starts.append(len(rows))
        nzmax = max(len(rows), 1)
        body = (_el(6, struct.pack("<II", 5 | 0x200, nzmax)) + _el(5, np.array(dense.shape, "<i4").tobytes()) + nm
                + _el(5, np.array(rows, "<i4").tobytes()) + _el(5, np.array(starts, "<i4").tobytes())
                + _el(2, np.array(vals, np.uint8).tobytes()))
    elif isinstance(value, str):
        codes = np.array([ord(c) for c in value], dtype="<u2")
        body = _el(6, struct.pack("<II", 4, 0)) + _el(5, struct.pack("<ii", 1, len(value))) + nm + _el(4, codes.tobytes())
    elif isinstance(value, list):
        fields = list(value[0])
        width = max(len(f) for f in fields) + 1
        names = b"".join(f.encode().ljust(width, b"\0") for f in fields)
        body = (_el(6, struct.pack("<II", 2, 0)) + _el(5, struct.pack("<ii", 1, len(value))) + nm
                + struct.pack("<HHi", 5, 4, width) + _el(1, names))
        for rec in value:  # column-major: records in order, fields in order, each an unnamed matrix
            body += b"".join(_matrix("", rec[f]) for f in fields)
    else:
        arr = np.asarray(value)
        cls, mi = _MX[arr.dtype]
        dims = arr.shape if arr.ndim >= 2 else (1, arr.size)
        body = (_el(6, struct.pack("<II", cls, 0)) + _el(5, np.array(dims, "<i4").tobytes()) + nm
                + _el(mi, np.asfortranarray(arr.reshape(dims)).tobytes(order="F")))
    return _el(14, body)


def write_mat(path, variables, compress=True):
    out = b"MATLAB 5.0 MAT-file, written by the ember tests".ljust(116) + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    for name, value in variables.items():
        m = _matrix(name, value)
        out += struct.pack("<II", 15, len(zlib.compress(m))) + zlib.compress(m) if compress else m
    with open(path, "wb") as f:
        f.write(out)


def test_matlab_reader_numeric_char_struct(tmp_path):
    x = RS.randint(0, 256, (4, 3, 2, 5)).astype(np.uint8)
    y = np.array([[1.5], [10.0], [3.0]])
    for compress in (False, True):
        p = tmp_path / f"a{compress}.mat"
        write_mat(p, {"X": x, "y": y, "s": "hello", "i": np.array([[7, -2]], dtype=np.int32),
                      "st": [{"ID": np.array([[1.0]]), "WNID": "n01"}, {"ID": np.array([[2.0]]), "WNID": "n02"}]},
                  compress=compress)
        got = _matlab.loadmat(p)
        np.testing.assert_array_equal(got["X"], x)
        assert got["X"].dtype == np.uint8 and got["y"].shape == (3, 1)
        np.testing.assert_array_equal(got["y"], y)
        assert got["i"].dtype == np.int32 and got["i"].tolist() == [[7, -2]]
        assert got["s"].tolist() == ["hello"]
        sq = _matlab.loadmat(p, squeeze_me=True)
        assert sq["s"] == "hello" and sq["y"].shape == (3,)
        assert [(r["ID"], r["WNID"]) for r in sq["st"]] == [(1.0, "n01"), (2.0, "n02")]
    (tmp_path / "bad.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="not a MATLAB level-5"):
        _matlab.loadmat(tmp_path / "bad.mat")


# ------------------------------------------------------------------------------------------- utils


def test_verify_str_arg_and_iterable_to_str():
    assert EU.verify_str_arg("a", "x", ("a", "b")) == TU.verify_str_arg("a", "x", ("a", "b"))
    for args in [(3, "split", ("a",)), (3, None, None), ("c", "split", ("a", "b")), ("c", "split", ["a"], "custom")]:
        with pytest.raises(ValueError) as ref:
            TU.verify_str_arg(*args)
        with pytest.raises(ValueError) as ours:
            EU.verify_str_arg(*args)
        assert str(ours.value) == str(ref.value)
    assert EU.iterable_to_str([1, "b"]) == TU.iterable_to_str([1, "b"])


def test_extract_archive_and_md5(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("hello")
    for name, mode in [("x.tar.gz", "w:gz"), ("x.tgz", "w:gz"), ("x.tar", "w"), ("x.tar.bz2", "w:bz2")]:
        with tarfile.open(tmp_path / name, mode) as tar:
            tar.add(src / "a.txt", arcname="d/a.txt")
        for lib, out in ((TU, "ref"), (EU, "ours")):
            dst = tmp_path / f"{out}-{name}"
            ret = lib.extract_archive(str(tmp_path / name), str(dst))
            assert ret == str(dst)
            assert (dst / "d" / "a.txt").read_text() == "hello"
    import gzip
    with gzip.open(tmp_path / "f.txt.gz", "wb") as f:
        f.write(b"data")
    assert EU.extract_archive(str(tmp_path / "f.txt.gz")) == str(tmp_path / "f.txt")
    assert (tmp_path / "f.txt").read_bytes() == b"data"
    for bad in ("f.rar", "noext"):
        with pytest.raises(RuntimeError) as ref:
            TU.extract_archive(str(tmp_path / bad))
        with pytest.raises(RuntimeError) as ours:
            EU.extract_archive(str(tmp_path / bad))
        assert str(ours.value) == str(ref.value)
    assert EU.calculate_md5(src / "a.txt") == TU.calculate_md5(src / "a.txt")
    assert EU.check_integrity(src / "a.txt", TU.calculate_md5(src / "a.txt"))
    assert not EU.check_integrity(src / "a.txt", "0" * 32) and not EU.check_integrity(src / "nope")
    assert sorted(EU.list_dir(tmp_path)) == sorted(TU.list_dir(tmp_path))
    assert sorted(EU.list_files(tmp_path, ".gz")) == sorted(TU.list_files(tmp_path, ".gz"))


@pytest.fixture
def no_network(monkeypatch):
    def fail(*args, **kwargs):
        raise urllib.error.URLError("no network in the tests")

    monkeypatch.setattr(urllib.request, "urlopen", fail)


def test_download_fails_fast_without_network(tmp_path, no_network):
    with pytest.raises(urllib.error.URLError):
        TU.download_and_extract_archive("https://example.invalid/x.tar.gz", str(tmp_path / "ref"))
    with pytest.raises(urllib.error.URLError):
        EU.download_and_extract_archive("https://example.invalid/x.tar.gz", str(tmp_path / "ours"))
    assert os.listdir(tmp_path / "ours") == []  # no partial file left behind
    for cls, kw in [("SVHN", {}), ("STL10", {}), ("Flowers102", {}), ("Food101", {}), ("OxfordIIITPet", {}),
                    ("VOCSegmentation", {})]:
        with pytest.raises(urllib.error.URLError):
            getattr(ED, cls)(str(tmp_path / cls), download=True, **kw)


def test_not_found_errors(tmp_path):
    cases = [("SVHN", {}), ("STL10", {}), ("CelebA", {}), ("Flowers102", {}), ("Food101", {}),
             ("OxfordIIITPet", {}), ("VOCSegmentation", {}), ("VOCDetection", {}), ("KMNIST", {}),
             ("EMNIST", {"split": "letters"}), ("QMNIST", {})]
    for cls, kw in cases:
        with pytest.raises(RuntimeError) as ref:
            getattr(TD, cls)(str(tmp_path), **kw)
        with pytest.raises(RuntimeError) as ours:
            getattr(ED, cls)(str(tmp_path), **kw)
        if cls == "KMNIST":  # ember's MNIST names the files it looked for after torchvision's sentence
            assert str(ours.value).startswith(str(ref.value) + ". Expected these files"), cls
        else:
            assert str(ours.value) == str(ref.value), cls
    # a wrong split is the same ValueError
    for cls, kw in [("SVHN", {"split": "val"}), ("STL10", {"split": "x"}), ("Food101", {"split": "val"}),
                    ("VOCSegmentation", {"year": "2013"}), ("VOCSegmentation", {"year": "2012", "image_set": "test"}),
                    ("EMNIST", {"split": "all"}), ("QMNIST", {"what": "x"}), ("Flowers102", {"split": "all"}),
                    ("OxfordIIITPet", {"target_types": "breed"}), ("STL10", {"folds": 10}),
                    ("STL10", {"folds": "1"})]:
        with pytest.raises(ValueError) as ref:
            getattr(TD, cls)(str(tmp_path), **kw)
        with pytest.raises(ValueError) as ours:
            getattr(ED, cls)(str(tmp_path), **kw)
        assert str(ours.value) == str(ref.value), (cls, kw)


# ---------------------------------------------------------------------------------------- MNIST family


def _idx(path, arr, code):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with open(path, "wb") as f:
        f.write(header + arr.astype(arr.dtype.newbyteorder(">")).tobytes())


def test_kmnist_emnist(tmp_path):
    for prefix in ("train", "t10k"):
        _idx(f"{tmp_path}/KMNIST/raw/{prefix}-images-idx3-ubyte", RS.randint(0, 256, (3, 28, 28)).astype(np.uint8), 8)
        _idx(f"{tmp_path}/KMNIST/raw/{prefix}-labels-idx1-ubyte", RS.randint(0, 10, 3).astype(np.uint8), 8)
    for train in (True, False):
        _same(TD.KMNIST(str(tmp_path), train=train), ED.KMNIST(str(tmp_path), train=train))
    for split in ("letters", "balanced"):
        for part in ("train", "test"):
            pre = f"{tmp_path}/EMNIST/raw/emnist-{split}-{part}"
            _idx(pre + "-images-idx3-ubyte", RS.randint(0, 256, (2, 28, 28)).astype(np.uint8), 8)
            _idx(pre + "-labels-idx1-ubyte", RS.randint(0, 26, 2).astype(np.uint8), 8)
        for train in (True, False):
            ref, ours = TD.EMNIST(str(tmp_path), split, train=train), ED.EMNIST(str(tmp_path), split, train=train)
            _same(ref, ours)
            assert ours.targets.numpy().tolist() == ref.targets.tolist()


def test_qmnist(tmp_path):
    for pre in ("qmnist-train", "qmnist-test", "xnist"):
        _idx(f"{tmp_path}/QMNIST/raw/{pre}-images-idx3-ubyte", RS.randint(0, 256, (3, 28, 28)).astype(np.uint8), 8)
        _idx(f"{tmp_path}/QMNIST/raw/{pre}-labels-idx2-int", RS.randint(0, 9999, (3, 8)).astype(np.int32), 0x0C)
    for kw in ({}, {"train": False}, {"what": "nist"}, {"what": "test10k"}, {"what": "test50k"},
               {"compat": False}, {"what": "test", "compat": False}):
        _same(TD.QMNIST(str(tmp_path), **kw), ED.QMNIST(str(tmp_path), **kw))


# -------------------------------------------------------------------------------------- SVHN, STL10


def test_svhn(tmp_path, no_md5, fake_scipy):
    for split, n in (("train", 3), ("test", 2)):
        x = RS.randint(0, 256, (32, 32, 3, n)).astype(np.uint8)
        y = np.array([[10], [3], [1]][:n], dtype=np.uint8)
        path = tmp_path / f"{split}_32x32.mat"
        write_mat(path, {"X": x, "y": y})
        fake_scipy[os.path.realpath(path)] = {"X": x, "y": y}
        ref, ours = TD.SVHN(str(tmp_path), split=split), ED.SVHN(str(tmp_path), split=split)
        _same(ref, ours, attrs=())
        assert ours.labels.dtype == ref.labels.dtype and ours.labels.tolist() == ref.labels.tolist()
        np.testing.assert_array_equal(ours.data, ref.data)


def test_md5_is_checked(tmp_path):
    write_mat(tmp_path / "train_32x32.mat", {"X": np.zeros((32, 32, 3, 1), np.uint8), "y": np.ones((1, 1), np.uint8)})
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        ED.SVHN(str(tmp_path))


def test_stl10(tmp_path, no_md5):
    d = tmp_path / "stl10_binary"
    d.mkdir()
    for name, n in (("train", 4), ("test", 2), ("unlabeled", 3)):
        (d / f"{name}_X.bin").write_bytes(RS.randint(0, 256, n * 3 * 96 * 96).astype(np.uint8).tobytes())
        if name != "unlabeled":
            (d / f"{name}_y.bin").write_bytes(RS.randint(1, 11, n).astype(np.uint8).tobytes())
    (d / "class_names.txt").write_text("\n".join(f"c{i}" for i in range(10)) + "\n")
    (d / "fold_indices.txt").write_text("\n".join("0 2" if i % 2 else "3 1" for i in range(10)) + "\n")
    for kw in ({}, {"split": "test"}, {"split": "unlabeled"}, {"split": "train+unlabeled"}, {"folds": 1},
               {"split": "train+unlabeled", "folds": 0}):
        _same(TD.STL10(str(tmp_path), **kw), ED.STL10(str(tmp_path), **kw), attrs=("classes",))


# ------------------------------------------------------------------------------------------- CelebA


def test_celeba(tmp_path, no_md5):
    base = tmp_path / "celeba"
    names = [f"{i:06d}.jpg" for i in range(1, 7)]  # two per split (torchvision fails on a split of one)
    for n in names:
        _save_img(str(base / "img_align_celeba" / n), fmt="JPEG")
    attrs = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Bald"]
    (base / "list_eval_partition.txt").write_text("".join(f"{n} {i % 3}\n" for i, n in enumerate(names)))
    (base / "identity_CelebA.txt").write_text("".join(f"{n} {i * 7}\n" for i, n in enumerate(names)))
    (base / "list_bbox_celeba.txt").write_text(
        "5\nimage_id x_1 y_1 width height\n" + "".join(f"{n}    95  71 226 {300 + i}\n" for i, n in enumerate(names)))
    (base / "list_landmarks_align_celeba.txt").write_text(
        "5\nlefteye_x lefteye_y righteye_x righteye_y\n" + "".join(f"{n}  69 {i}  10  11\n" for i, n in enumerate(names)))
    (base / "list_attr_celeba.txt").write_text(
        "5\n" + " ".join(attrs) + " \n"
        + "".join(f"{n} " + " ".join(str(v) for v in RS.choice([-1, 1], 3)) + "\n" for n in names))
    (base / "img_align_celeba.zip").write_bytes(b"")
    for kw in ({}, {"split": "valid", "target_type": "identity"}, {"split": "all", "target_type": ["attr", "bbox"]},
               {"split": "test", "target_type": ["landmarks", "identity", "bbox"]}, {"split": "ALL", "target_type": []}):
        ref, ours = TD.CelebA(str(tmp_path), **kw), ED.CelebA(str(tmp_path), **kw)
        _same(ref, ours, attrs=("filename", "attr_names"))
    with pytest.raises(RuntimeError, match="target_transform is specified but target_type is empty"):
        ED.CelebA(str(tmp_path), target_type=[], target_transform=str)
    with pytest.raises(ValueError) as ref:
        TD.CelebA(str(tmp_path), target_type="face")[0]
    with pytest.raises(ValueError) as ours:
        ED.CelebA(str(tmp_path), target_type="face")[0]
    assert str(ours.value) == str(ref.value)


# ---------------------------------------------------------------------------------------------- VOC


_XML = """<annotation><folder>VOC2012</folder><filename>{name}.jpg</filename>
<size><width>6</width><height>5</height><depth>3</depth></size>
<object><name>cat</name><difficult>0</difficult><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>3</ymax></bndbox></object>
{extra}</annotation>"""


def test_voc(tmp_path):
    for year, base in (("2012", "VOCdevkit/VOC2012"), ("2011", "TrainVal/VOCdevkit/VOC2011"), ("2007", "VOCdevkit/VOC2007")):
        voc = tmp_path / base
        names = ["2008_000001", "2008_000002"]
        for sub in ("Segmentation", "Main"):
            (voc / "ImageSets" / sub).mkdir(parents=True)
            for image_set in ("train", "val", "test"):
                (voc / "ImageSets" / sub / f"{image_set}.txt").write_text("\n".join(names) + "\n")
        for i, n in enumerate(names):
            _save_img(str(voc / "JPEGImages" / f"{n}.jpg"), fmt="JPEG")
            _save_img(str(voc / "SegmentationClass" / f"{n}.png"), mode="P")
            (voc / "Annotations").mkdir(exist_ok=True)
            extra = ("<object><name>dog</name><bndbox><xmin>2</xmin><ymin>0</ymin><xmax>5</xmax><ymax>4</ymax></bndbox>"
                     "</object>") if i else ""
            (voc / "Annotations" / f"{n}.xml").write_text(_XML.format(name=n, extra=extra))
        sets = ("train", "val", "test") if year == "2007" else ("train", "val")
        for image_set in sets:
            for cls in ("VOCSegmentation", "VOCDetection"):
                ref = getattr(TD, cls)(str(tmp_path), year=year, image_set=image_set)
                ours = getattr(ED, cls)(str(tmp_path), year=year, image_set=image_set)
                _same(ref, ours, attrs=("images", "targets"))


# --------------------------------------------------------------------------------------------- COCO


@pytest.fixture
def fake_pycocotools(monkeypatch):
    """pycocotools' COCO for torchvision, from its documented behaviour: an index of the JSON file."""
    class COCO:
        def __init__(self, annotation_file):
            with open(annotation_file) as f:
                self.dataset = json.load(f)
            self.imgs = {im["id"]: im for im in self.dataset.get("images", [])}
            self.anns = {a["id"]: a for a in self.dataset.get("annotations", [])}
            self.imgToAnns = defaultdict(list)
            for a in self.dataset.get("annotations", []):
                self.imgToAnns[a["image_id"]].append(a)

        def loadImgs(self, ids):  # noqa: N802
            return [self.imgs[i] for i in (ids if isinstance(ids, list) else [ids])]

        def loadAnns(self, ids):  # noqa: N802
            return [self.anns[i] for i in (ids if isinstance(ids, list) else [ids])]

        def getAnnIds(self, imgIds=()):  # noqa: N802,N803
            ids = imgIds if isinstance(imgIds, list) else [imgIds]
            return [a["id"] for i in ids for a in self.imgToAnns.get(i, [])]

    pkg, mod = types.ModuleType("pycocotools"), types.ModuleType("pycocotools.coco")
    mod.COCO = COCO
    pkg.coco = mod
    monkeypatch.setitem(sys.modules, "pycocotools", pkg)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", mod)


def test_coco(tmp_path, fake_pycocotools):
    images = [{"id": 42, "file_name": "b.jpg", "width": 6, "height": 5},
              {"id": 7, "file_name": "a.jpg", "width": 6, "height": 5},
              {"id": 9, "file_name": "c.jpg", "width": 6, "height": 5}]
    for im in images:
        _save_img(str(tmp_path / "img" / im["file_name"]), fmt="JPEG")
    anns = [{"id": 3, "image_id": 42, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 0, "caption": "a dog"},
            {"id": 1, "image_id": 7, "category_id": 2, "bbox": [0, 0, 3, 3], "iscrowd": 0, "caption": "two cats"},
            {"id": 2, "image_id": 42, "category_id": 2, "bbox": [2, 2, 1, 1], "iscrowd": 1, "caption": "grass"}]
    ann_file = tmp_path / "ann.json"
    ann_file.write_text(json.dumps({"images": images, "annotations": anns,
                                    "categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "cat"}]}))
    for cls in ("CocoDetection", "CocoCaptions"):
        ref = getattr(TD, cls)(str(tmp_path / "img"), str(ann_file))
        ours = getattr(ED, cls)(str(tmp_path / "img"), str(ann_file))
        _same(ref, ours, attrs=("ids",))
        with pytest.raises(ValueError) as r:
            ref[np.int64(0)]
        with pytest.raises(ValueError) as o:
            ours[np.int64(0)]
        assert str(o.value) == str(r.value)


# ------------------------------------------------------------------------------ classification sets


def test_flowers102(tmp_path, no_md5, fake_scipy):
    base = tmp_path / "flowers-102"
    for i in range(1, 7):
        _save_img(str(base / "jpg" / f"image_{i:05d}.jpg"), fmt="JPEG")
    # the official files hold uint8 labels and uint16 ids (1-based)
    labels = {"labels": np.array([[5, 1, 102, 7, 5, 2]], dtype=np.uint8)}
    setid = {"trnid": np.array([[1, 4]], np.uint16), "valid": np.array([[2, 6, 3]], np.uint16),
             "tstid": np.array([[5, 1]], np.uint16)}
    write_mat(base / "imagelabels.mat", labels)
    write_mat(base / "setid.mat", setid, compress=False)
    fake_scipy[os.path.realpath(base / "imagelabels.mat")] = labels
    fake_scipy[os.path.realpath(base / "setid.mat")] = setid
    for split in ("train", "val", "test"):
        ref, ours = TD.Flowers102(str(tmp_path), split=split), ED.Flowers102(str(tmp_path), split=split)
        _same(ref, ours, attrs=("classes", "_labels", "_image_files"))


def test_oxford_iiit_pet(tmp_path):
    base = tmp_path / "oxford-iiit-pet"
    rows = [("Abyssinian_1", 1, 1), ("great_pyrenees_12", 3, 2), ("Bengal_5", 2, 1), ("great_pyrenees_2", 3, 2)]
    for name, _, _ in rows:
        _save_img(str(base / "images" / f"{name}.jpg"), fmt="JPEG")
        _save_img(str(base / "annotations" / "trimaps" / f"{name}.png"), mode="L")
    (base / "annotations" / "trainval.txt").write_text("".join(f"{n} {c} {b} 1\n" for n, c, b in rows[:3]))
    (base / "annotations" / "test.txt").write_text("".join(f"{n} {c} {b} 1\n" for n, c, b in rows[2:]))
    for kw in ({}, {"split": "test", "target_types": "binary-category"},
               {"target_types": ["segmentation", "category", "binary-category"]}, {"target_types": []}):
        ref, ours = TD.OxfordIIITPet(str(tmp_path), **kw), ED.OxfordIIITPet(str(tmp_path), **kw)
        _same(ref, ours, attrs=("classes", "class_to_idx", "bin_classes", "bin_class_to_idx"))


def test_food101(tmp_path):
    base = tmp_path / "food-101"
    meta = {"train": {"ramen": ["ramen/11", "ramen/2"], "apple_pie": ["apple_pie/5"]},
            "test": {"apple_pie": ["apple_pie/9"], "ramen": ["ramen/3"]}}
    (base / "meta").mkdir(parents=True)
    for split, d in meta.items():
        (base / "meta" / f"{split}.json").write_text(json.dumps(d))
        for paths in d.values():
            for p in paths:
                _save_img(str(base / "images" / f"{p}.jpg"), fmt="JPEG")
    for split in ("train", "test"):
        _same(TD.Food101(str(tmp_path), split=split), ED.Food101(str(tmp_path), split=split),
              attrs=("classes", "class_to_idx", "_labels", "_image_files"))


# ------------------------------------------------------------------------------------------ ImageNet


def test_imagenet_prepared_folders(tmp_path):
    torch.save(({"n01": ("tench", "Tinca tinca"), "n02": ("goldfish",)}, ["n02", "n01"]), tmp_path / "meta.bin")
    for split in ("train", "val"):
        for wnid in ("n01", "n02"):
            for k in range(2):
                _save_img(str(tmp_path / split / wnid / f"{wnid}_{k}.JPEG"), fmt="JPEG")
        ref, ours = TD.ImageNet(str(tmp_path), split=split), ED.ImageNet(str(tmp_path), split=split)
        _same(ref, ours, attrs=("classes", "class_to_idx", "wnids", "wnid_to_idx", "targets"))


def test_imagenet_from_archives(tmp_path, no_md5):
    synsets = [{"ILSVRC2012_ID": np.array([[1.0]]), "WNID": "n02", "words": "goldfish, Carassius auratus",
                "num_children": np.array([[0.0]])},
               {"ILSVRC2012_ID": np.array([[2.0]]), "WNID": "n01", "words": "tench",
                "num_children": np.array([[0.0]])},
               {"ILSVRC2012_ID": np.array([[3.0]]), "WNID": "n00", "words": "fish",
                "num_children": np.array([[2.0]])}]
    dev = tmp_path / "build" / "ILSVRC2012_devkit_t12" / "data"
    dev.mkdir(parents=True)
    write_mat(dev / "meta.mat", {"synsets": synsets})
    (dev / "ILSVRC2012_validation_ground_truth.txt").write_text("2\n1\n1\n")
    val = tmp_path / "build" / "val"
    for k in range(3):
        _save_img(str(val / f"ILSVRC2012_val_{k:08d}.JPEG"), fmt="JPEG")
    root = tmp_path / "root"
    root.mkdir()
    with tarfile.open(root / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "build" / "ILSVRC2012_devkit_t12", arcname="ILSVRC2012_devkit_t12")
    with tarfile.open(root / "ILSVRC2012_img_val.tar", "w") as tar:
        for f in sorted(os.listdir(val)):
            tar.add(val / f, arcname=f)
    ours = ED.ImageNet(str(root), split="val")
    wnid_to_classes, val_wnids = torch.load(root / "meta.bin", weights_only=True)
    assert wnid_to_classes == {"n02": ("goldfish", "Carassius auratus"), "n01": ("tench",)}
    assert val_wnids == ["n01", "n02", "n02"]
    ref = TD.ImageNet(str(root), split="val")  # reads the meta.bin and folders ember prepared
    _same(ref, ours, attrs=("classes", "class_to_idx", "wnids", "targets"))
    assert [t for _, t in ours.samples] == [0, 1, 1]
    # the train archive holds one tar per class
    build = tmp_path / "build" / "train"
    for wnid in ("n01", "n02"):
        (build / wnid).mkdir(parents=True)
        for k in range(2):
            _save_img(str(build / wnid / f"{wnid}_{k}.JPEG"), fmt="JPEG")
        with tarfile.open(build / f"{wnid}.tar", "w") as tar:
            for f in sorted(os.listdir(build / wnid)):
                tar.add(build / wnid / f, arcname=f)
    with tarfile.open(root / "ILSVRC2012_img_train.tar", "w") as tar:
        for wnid in ("n01", "n02"):
            tar.add(build / f"{wnid}.tar", arcname=f"{wnid}.tar")
    ours = ED.ImageNet(str(root), split="train")
    assert sorted(os.listdir(root / "train")) == ["n01", "n02"]  # the inner tars were extracted and removed
    _same(TD.ImageNet(str(root), split="train"), ours, attrs=("classes", "class_to_idx", "wnids", "targets"))


# ------------------------------------------------------------------ folder-based classification sets


def test_dtd(tmp_path):
    data = tmp_path / "dtd" / "dtd"
    rows = ["banded/banded_0002.jpg", "zigzagged/z_1.jpg", "banded/banded_0001.jpg"]
    for r in rows:
        _save_img(str(data / "images" / r), fmt="JPEG")
    (data / "labels").mkdir()
    for split in ("train", "val", "test"):
        (data / "labels" / f"{split}3.txt").write_text("\n".join(rows[: 2 if split == "val" else 3]) + "\n")
    for split in ("train", "val"):
        _same(TD.DTD(str(tmp_path), split=split, partition=3), ED.DTD(str(tmp_path), split=split, partition=3),
              attrs=("classes", "class_to_idx", "_labels", "_image_files"))


def test_eurosat_country211_imagenette(tmp_path):
    for cls in ("River", "Forest"):
        for k in range(2):
            _save_img(str(tmp_path / "eurosat" / "2750" / cls / f"{cls}_{k}.jpg"), fmt="JPEG")
    _same(TD.EuroSAT(str(tmp_path)), ED.EuroSAT(str(tmp_path)), attrs=("classes", "class_to_idx", "samples"))
    for split in ("train", "valid", "test"):
        for cc in ("AD", "FR"):
            _save_img(str(tmp_path / "country211" / split / cc / f"{split}{cc}.jpg"), fmt="JPEG")
        _same(TD.Country211(str(tmp_path), split=split), ED.Country211(str(tmp_path), split=split),
              attrs=("classes", "class_to_idx", "samples"))
    for wnid in ("n03888257", "n01440764"):
        for k in range(2):
            _save_img(str(tmp_path / "imagenette2-160" / "val" / wnid / f"x{k}.JPEG"), fmt="JPEG")
        _save_img(str(tmp_path / "imagenette2-160" / "val" / wnid / "notes.txt"), fmt="PNG")
    ref, ours = TD.Imagenette(str(tmp_path), "val", "160px"), ED.Imagenette(str(tmp_path), "val", "160px")
    _same(ref, ours, attrs=("classes", "class_to_idx", "wnids", "wnid_to_idx", "_samples"))
    with pytest.raises(RuntimeError) as r:
        TD.Imagenette(str(tmp_path))
    with pytest.raises(RuntimeError) as o:
        ED.Imagenette(str(tmp_path))
    assert str(o.value) == str(r.value)


def test_gtsrb(tmp_path):
    train = tmp_path / "gtsrb" / "GTSRB" / "Training"
    for cls in ("00000", "00002"):
        for k in range(2):
            _save_img(str(train / cls / f"{k:05d}_00000.ppm"), fmt="PPM")
        (train / cls / f"GT-{cls}.csv").write_text("ignored")
    test = tmp_path / "gtsrb" / "GTSRB" / "Final_Test" / "Images"
    for k in range(3):
        _save_img(str(test / f"{k:05d}.ppm"), fmt="PPM")
    (tmp_path / "gtsrb" / "GT-final_test.csv").write_text(
        "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
        + "".join(f"{k:05d}.ppm;6;5;1;1;4;4;{k * 3}\n" for k in range(3)))
    for split in ("train", "test"):
        _same(TD.GTSRB(str(tmp_path), split=split), ED.GTSRB(str(tmp_path), split=split), attrs=("_samples",))


def test_fgvc_aircraft(tmp_path):
    data = tmp_path / "fgvc-aircraft-2013b" / "data"
    for k in ("0034309", "0034958", "1340192"):
        _save_img(str(data / "images" / f"{k}.jpg"), fmt="JPEG")
    (data / "variants.txt").write_text("707-320\nA300B4\nBAE 146-200\n")
    (data / "families.txt").write_text("Boeing 707\nA300\nBAE 146\n")
    (data / "images_variant_trainval.txt").write_text("0034309 BAE 146-200\n0034958 707-320\n1340192 A300B4\n")
    (data / "images_family_test.txt").write_text("1340192 BAE 146\n0034958 A300\n")
    for kw in ({}, {"split": "test", "annotation_level": "family"}):
        _same(TD.FGVCAircraft(str(tmp_path), **kw), ED.FGVCAircraft(str(tmp_path), **kw),
              attrs=("classes", "class_to_idx", "_labels", "_image_files"))


def test_caltech(tmp_path, fake_scipy):
    cats = tmp_path / "caltech101" / "101_ObjectCategories"
    for c, n in (("accordion", 2), ("Faces", 1), ("BACKGROUND_Google", 1)):
        for k in range(1, n + 1):
            _save_img(str(cats / c / f"image_{k:04d}.jpg"), fmt="JPEG")
    contour = np.array([[1.5, 2.0, 3.0], [4.0, 5.0, 6.25]])
    for folder, k in (("accordion", 1), ("accordion", 2), ("Faces_2", 1)):
        path = tmp_path / "caltech101" / "Annotations" / folder / f"annotation_{k:04d}.mat"
        path.parent.mkdir(parents=True, exist_ok=True)
        var = {"box_coord": np.array([[1, 2, 3, 4]], dtype=np.uint16), "obj_contour": contour + k}
        write_mat(path, var)
        fake_scipy[os.path.realpath(path)] = var
    for tt in ("category", ["annotation", "category"]):
        _same(TD.Caltech101(str(tmp_path), target_type=tt), ED.Caltech101(str(tmp_path), target_type=tt),
              attrs=("categories", "annotation_categories", "index", "y"))
    cats = tmp_path / "caltech256" / "256_ObjectCategories"
    for i, c in enumerate(("001.ak47", "002.american-flag")):
        for k in range(1, 3):
            _save_img(str(cats / c / f"{i + 1:03d}_{k:04d}.jpg"), fmt="JPEG")
    _same(TD.Caltech256(str(tmp_path)), ED.Caltech256(str(tmp_path)), attrs=("categories", "index", "y"))


# ---------------------------------------------------------------------------- one-file datasets


def test_semeion_usps(tmp_path, no_md5):
    rows = []
    for k in range(3):
        pix = RS.randint(0, 2, 256).astype(float)
        onehot = np.eye(10)[[4, 0, 9][k]]
        rows.append(" ".join(f"{v:.4f}" for v in np.concatenate([pix, onehot])) + " ")
    (tmp_path / "semeion.data").write_text("\n".join(rows) + "\n")
    _same(TD.SEMEION(str(tmp_path), download=False), ED.SEMEION(str(tmp_path), download=False), attrs=())
    import bz2
    for name in ("usps.bz2", "usps.t.bz2"):
        lines = [f"{d} " + " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(RS.uniform(-1, 1, 256))) for d in (1, 10, 3)]
        with bz2.open(tmp_path / name, "wt") as f:
            f.write("\n".join(lines) + "\n")
    for train in (True, False):
        ref, ours = TD.USPS(str(tmp_path), train=train), ED.USPS(str(tmp_path), train=train)
        _same(ref, ours, attrs=("targets",))
        np.testing.assert_array_equal(ours.data, ref.data)


def test_fer2013(tmp_path, no_md5):
    base = tmp_path / "fer2013"
    base.mkdir()

    def pix():
        return " ".join(str(v) for v in RS.randint(0, 256, 48 * 48))

    (base / "train.csv").write_text("emotion,pixels\n" + "".join(f"{k},{pix()}\n" for k in range(3)))
    (base / "test.csv").write_text("pixels\n" + "".join(f"{pix()}\n" for _ in range(2)))
    for split in ("train", "test"):
        _same(TD.FER2013(str(tmp_path), split=split), ED.FER2013(str(tmp_path), split=split), attrs=())
    (base / "icml_face_data.csv").write_text(
        "emotion, Usage, pixels\n" + "".join(f"{k},{u},{pix()}\n" for k, u in
                                             enumerate(["Training", "PublicTest", "PrivateTest", "Training"])))
    for split in ("train", "test"):
        _same(TD.FER2013(str(tmp_path), split=split), ED.FER2013(str(tmp_path), split=split), attrs=())
    (base / "icml_face_data.csv").unlink()
    (base / "train.csv").unlink()
    with pytest.raises(RuntimeError) as r:
        TD.FER2013(str(tmp_path))
    with pytest.raises(RuntimeError) as o:
        ED.FER2013(str(tmp_path))
    assert str(o.value) == str(r.value)



def test_matlab_reader_cell_and_sparse(tmp_path):
    dense = np.zeros((3, 4), dtype=bool)
    dense[0, 1] = dense[2, 1] = dense[1, 3] = True
    write_mat(tmp_path / "c.mat", {"c": ("cell", ["ab", np.array([[1.0, 2.0]])], (1, 2)),
                                   "sp": ("sparse", dense), "g": {"S": np.array([[3, 4]], np.uint8)}})
    got = _matlab.loadmat(tmp_path / "c.mat")
    assert got["c"].shape == (1, 2) and got["c"][0, 0].tolist() == ["ab"] and got["c"][0, 1].tolist() == [[1.0, 2.0]]
    assert got["sp"].dtype == bool and (got["sp"] == dense).all()
    assert got["g"].shape == (1, 1) and got["g"][0, 0]["S"].tolist() == [[3, 4]]


# ------------------------------------------------------------------------------------ more datasets


def test_lfw(tmp_path, no_md5):
    base = tmp_path / "lfw-py"
    people = {"Aaron_Eckhart": 1, "Zico": 3, "Bill_Gates": 2}
    for name, n in people.items():
        for k in range(1, n + 1):
            _save_img(str(base / "lfw_funneled" / name / f"{name}_{k:04d}.jpg"), fmt="JPEG")
    (base / "lfw-funneled.tgz").write_bytes(b"")
    (base / "lfw-names.txt").write_text("".join(f"{n}\t{c}\n" for n, c in people.items()))
    (base / "people.txt").write_text("2\n1\nZico\t3\n2\nAaron_Eckhart\t1\nBill_Gates\t2\n")
    (base / "peopleDevTrain.txt").write_text("1\nBill_Gates\t2\n")
    (base / "pairs.txt").write_text("2\t1\nZico\t1\t2\nZico\t3\tBill_Gates\t1\nBill_Gates\t1\t2\nAaron_Eckhart\t1\tZico\t2\n")
    (base / "pairsDevTest.txt").write_text("1\nZico\t2\t3\nBill_Gates\t2\tZico\t1\n")
    for split in ("10fold", "train"):
        _same(TD.LFWPeople(str(tmp_path), split=split), ED.LFWPeople(str(tmp_path), split=split),
              attrs=("class_to_idx", "data", "targets"))
    for split in ("10fold", "test"):
        _same(TD.LFWPairs(str(tmp_path), split=split), ED.LFWPairs(str(tmp_path), split=split),
              attrs=("pair_names", "data", "targets"))
    with pytest.raises(ValueError) as r:
        TD.LFWPeople(str(tmp_path), download=True)
    with pytest.raises(ValueError) as o:
        ED.LFWPeople(str(tmp_path), download=True)
    assert str(o.value) == str(r.value)


def test_omniglot(tmp_path, no_md5):
    base = tmp_path / "omniglot-py"
    for alphabet, chars in (("Greek", ("character01", "character02")), ("Latin", ("character01",))):
        for c in chars:
            for k in range(2):
                _save_img(str(base / "images_evaluation" / alphabet / c / f"{k}_{c}.png"), mode="L")
    (base / "images_evaluation.zip").write_bytes(b"")
    _same(TD.Omniglot(str(tmp_path), background=False), ED.Omniglot(str(tmp_path), background=False),
          attrs=("_characters", "_flat_character_images"))


def test_captions(tmp_path, no_md5):
    ids = ["1000268201", "1001773457"]
    for i in ids:
        _save_img(str(tmp_path / "f8k" / f"{i}_693b08cb0e.jpg"), fmt="JPEG")
    html = "<html><body><table>"
    for i in ids:
        html += (f'<tr><td><a href="http://www.flickr.com/photos/x/{i}/">http://www.flickr.com/photos/x/{i}/</a></td>'
                 f"<td><ul><li>A child {i} .</li><li>Another caption {i} </li></ul></td></tr>")
    html += "<tr><td>Image Not Found</td><td><ul><li>lost</li></ul></td></tr></table></body></html>"
    (tmp_path / "f8k.html").write_text(html)
    _same(TD.Flickr8k(str(tmp_path / "f8k"), str(tmp_path / "f8k.html")),
          ED.Flickr8k(str(tmp_path / "f8k"), str(tmp_path / "f8k.html")), attrs=("ids", "annotations"))
    for name in ("2.jpg", "1.jpg"):
        _save_img(str(tmp_path / "f30k" / name), fmt="JPEG")
    (tmp_path / "f30k.token").write_text("2.jpg#0\tTwo men .\n1.jpg#0\tA dog\n2.jpg#1\tPeople\n")
    _same(TD.Flickr30k(str(tmp_path / "f30k"), str(tmp_path / "f30k.token")),
          ED.Flickr30k(str(tmp_path / "f30k"), str(tmp_path / "f30k.token")), attrs=("ids", "annotations"))
    d = tmp_path / "sbu" / "dataset"
    d.mkdir(parents=True)
    (tmp_path / "sbu" / "SBUCaptionedPhotoDataset.tar.gz").write_bytes(b"")
    (d / "SBU_captioned_photo_dataset_urls.txt").write_text(
        "http://static.flickr.com/1/a_1.jpg\nhttp://static.flickr.com/1/missing.jpg\nhttp://static.flickr.com/2/b_2.jpg\n")
    (d / "SBU_captioned_photo_dataset_captions.txt").write_text("first one \nsecond\nthird one\n")
    for f in ("a_1.jpg", "b_2.jpg"):
        _save_img(str(d / f), fmt="JPEG")
    _same(TD.SBU(str(tmp_path / "sbu"), download=False), ED.SBU(str(tmp_path / "sbu"), download=False),
          attrs=("photos", "captions"))


def test_widerface_kitti(tmp_path):
    base = tmp_path / "widerface"
    for d in ("WIDER_train", "WIDER_val", "WIDER_test", "wider_face_split"):
        (base / d).mkdir(parents=True)
    gt = ("0--Parade/0_Parade_1.jpg\n2\n1 2 3 4 0 0 0 0 0 0 \n5 6 7 8 2 0 1 0 0 1 \n"
          "0--Parade/0_Parade_2.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n")
    for split in ("train", "val"):
        (base / "wider_face_split" / f"wider_face_{split}_bbx_gt.txt").write_text(gt)
        for k in (1, 2):
            _save_img(str(base / f"WIDER_{split}" / "images" / "0--Parade" / f"0_Parade_{k}.jpg"), fmt="JPEG")
    (base / "wider_face_split" / "wider_face_test_filelist.txt").write_text("0--Parade/t_1.jpg\n")
    _save_img(str(base / "WIDER_test" / "images" / "0--Parade" / "t_1.jpg"), fmt="JPEG")
    for split in ("train", "val", "test"):
        _same(TD.WIDERFace(str(tmp_path), split=split), ED.WIDERFace(str(tmp_path), split=split), attrs=())
    raw = tmp_path / "Kitti" / "raw"
    for k in range(2):
        _save_img(str(raw / "training" / "image_2" / f"{k:06d}.png"))
        (raw / "training" / "label_2").mkdir(parents=True, exist_ok=True)
        lines = ["Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n",
                 "Car 0.50 2 1.5 1 2 3 4 1.5 1.6 3.7 -16.5 2.39 58.49 1.57\n"]
        (raw / "training" / "label_2" / f"{k:06d}.txt").write_text("".join(lines[: k + 1]))
    _save_img(str(raw / "testing" / "image_2" / "000009.png"))
    for train in (True, False):
        _same(TD.Kitti(str(tmp_path), train=train), ED.Kitti(str(tmp_path), train=train), attrs=("images", "targets"))


def test_cityscapes(tmp_path):
    for city in ("aachen", "bremen"):
        for k in range(2):
            stem = f"{city}_00000{k}_000019"
            _save_img(str(tmp_path / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png"))
            for suffix, mode in (("instanceIds", "L"), ("labelIds", "L"), ("color", "RGB")):
                _save_img(str(tmp_path / "gtFine" / "val" / city / f"{stem}_gtFine_{suffix}.png"), mode=mode)
            (tmp_path / "gtFine" / "val" / city / f"{stem}_gtFine_polygons.json").write_text(
                json.dumps({"imgHeight": 5, "objects": [{"label": "road", "polygon": [[0, 0], [1, k]]}]}))
    for tt in ("instance", ["semantic", "polygon", "color"]):
        _same(TD.Cityscapes(str(tmp_path), split="val", target_type=tt),
              ED.Cityscapes(str(tmp_path), split="val", target_type=tt), attrs=("images", "targets", "classes"))
    for kw in ({"mode": "coarse", "split": "test"}, {"target_type": "depth", "split": "val"}, {"mode": "x"}):
        with pytest.raises(ValueError) as r:
            TD.Cityscapes(str(tmp_path), **kw)
        with pytest.raises(ValueError) as o:
            ED.Cityscapes(str(tmp_path), **kw)
        assert str(o.value) == str(r.value)
    with pytest.raises(RuntimeError) as r:
        TD.Cityscapes(str(tmp_path), split="train")
    with pytest.raises(RuntimeError) as o:
        ED.Cityscapes(str(tmp_path), split="train")
    assert str(o.value) == str(r.value)


class _Sparse:
    def __init__(self, dense):
        self.dense = dense

    def toarray(self):
        return self.dense


def test_sbd(tmp_path, fake_scipy):
    names = ["2008_000002", "2008_000003"]
    (tmp_path / "train.txt").write_text("\n".join(names) + "\n")
    (tmp_path / "cls").mkdir()
    for n in names:
        _save_img(str(tmp_path / "img" / f"{n}.jpg"), fmt="JPEG")
        seg = RS.randint(0, 21, (5, 6)).astype(np.uint8)
        bounds = [RS.rand(5, 6) > 0.7 for _ in range(20)]
        write_mat(tmp_path / "cls" / f"{n}.mat", {"GTcls": {
            "Boundaries": ("cell", [("sparse", b) for b in bounds], (20, 1)), "Segmentation": seg,
            "CategoriesPresent": np.array([[1]], np.uint8)}})
        rec = np.empty((1, 1), dtype=[("Boundaries", "O"), ("Segmentation", "O"), ("CategoriesPresent", "O")])
        cells = np.empty((20, 1), dtype=object)
        for i, b in enumerate(bounds):
            cells[i, 0] = _Sparse(b)
        rec[0, 0] = (cells, seg, np.array([[1]], np.uint8))
        fake_scipy[os.path.realpath(tmp_path / "cls" / f"{n}.mat")] = {"GTcls": rec}
    for mode in ("segmentation", "boundaries"):
        _same(TD.SBDataset(str(tmp_path), mode=mode), ED.SBDataset(str(tmp_path), mode=mode), attrs=("images", "masks"))


def test_places365(tmp_path, no_md5):
    (tmp_path / "categories_places365.txt").write_text("/b/bedroom 1\n/a/airfield 0\n/c/canyon 2\n")
    (tmp_path / "places365_val.txt").write_text("Places365_val_00000001.jpg 2\nPlaces365_val_00000002.jpg 0\n")
    (tmp_path / "places365_train_standard.txt").write_text("/a/airfield/00000001.jpg 0\n/c/canyon/00000001.jpg 2\n")
    (tmp_path / "places365_test.txt").write_text("Places365_test_00000001.jpg\n")
    for rel in ("val_256/Places365_val_00000001.jpg", "val_256/Places365_val_00000002.jpg",
                "data_large_standard/a/airfield/00000001.jpg", "data_large_standard/c/canyon/00000001.jpg",
                "test_large/Places365_test_00000001.jpg"):
        _save_img(str(tmp_path / rel), fmt="JPEG")
    for kw in ({"split": "val", "small": True}, {}, {"split": "test"}):
        _same(TD.Places365(str(tmp_path), **kw), ED.Places365(str(tmp_path), **kw),
              attrs=("classes", "class_to_idx", "imgs", "targets"))
    with pytest.raises(RuntimeError) as r:
        TD.Places365(str(tmp_path), split="train-challenge")
    with pytest.raises(RuntimeError) as o:
        ED.Places365(str(tmp_path), split="train-challenge")
    assert str(o.value) == str(r.value)


def test_inaturalist(tmp_path):
    dirs21 = ["00000_Animalia_Chordata_Aves_Passeriformes_Corvidae_Corvus_corax",
              "00001_Animalia_Chordata_Aves_Passeriformes_Paridae_Parus_major",
              "00002_Plantae_Tracheophyta_Magnoliopsida_Rosales_Rosaceae_Rosa_canina"]
    for d in dirs21:
        for k in range(2):
            _save_img(str(tmp_path / "2021_valid" / d / f"{k}.jpg"), fmt="JPEG")
    for tt in ("full", ["kingdom", "family", "full"]):
        ref = TD.INaturalist(str(tmp_path), version="2021_valid", target_type=tt)
        ours = ED.INaturalist(str(tmp_path), version="2021_valid", target_type=tt)
        _same(ref, ours, attrs=("all_categories", "categories_index", "categories_map", "index"))
        assert ours.category_name("family", 1) == ref.category_name("family", 1)
    for scat, subs in (("Plantae", ("2", "0")), ("Aves", ("1",))):
        for sub in subs:
            _save_img(str(tmp_path / "2019" / scat / sub / "x.jpg"), fmt="JPEG")
            _save_img(str(tmp_path / "2017" / scat / f"s{sub}" / "x.jpg"), fmt="JPEG")
    for version in ("2019", "2017"):
        for tt in ("super", ["full", "super"]):
            ref = TD.INaturalist(str(tmp_path), version=version, target_type=tt)
            ours = ED.INaturalist(str(tmp_path), version=version, target_type=tt)
            _same(ref, ours, attrs=("all_categories", "categories_index", "categories_map", "index"))


def test_stanford_cars(tmp_path, fake_scipy):
    base = tmp_path / "stanford_cars"
    (base / "devkit").mkdir(parents=True)
    for f in ("00001.jpg", "00002.jpg", "00003.jpg"):
        _save_img(str(base / "cars_train" / f), fmt="JPEG")
    anns = [("00002.jpg", 3), ("00001.jpg", 1), ("00003.jpg", 2)]
    write_mat(base / "devkit" / "cars_train_annos.mat", {"annotations": [
        {"bbox_x1": np.array([[1]], np.uint8), "class": np.array([[c]], np.uint8), "fname": f} for f, c in anns]})
    names = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Audi R8 Coupe 2012"]
    write_mat(base / "devkit" / "cars_meta.mat", {"class_names": ("cell", names, (1, 3))})
    rec = np.array([(1, c, f) for f, c in anns], dtype=[("bbox_x1", "O"), ("class", "O"), ("fname", "O")])
    fake_scipy[os.path.realpath(base / "devkit" / "cars_train_annos.mat")] = {"annotations": rec}
    fake_scipy[os.path.realpath(base / "devkit" / "cars_meta.mat")] = {"class_names": np.array(names, dtype=object)}
    _same(TD.StanfordCars(str(tmp_path)), ED.StanfordCars(str(tmp_path)), attrs=("classes", "class_to_idx", "_samples"))
    with pytest.raises(RuntimeError, match="Dataset not found."):
        ED.StanfordCars(str(tmp_path), split="test")


def test_pcam_needs_h5py(tmp_path):
    """h5py is not installed here: both libraries refuse with the same error naming it."""
    if importlib_util_find("h5py"):
        pytest.skip("h5py is installed")
    with pytest.raises(RuntimeError) as r:
        TD.PCAM(str(tmp_path))
    with pytest.raises(RuntimeError) as o:
        ED.PCAM(str(tmp_path))
    assert str(o.value) == str(r.value) and "h5py" in str(o.value)


def importlib_util_find(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


def test_moving_mnist(tmp_path):
    (tmp_path / "MovingMNIST").mkdir()
    np.save(tmp_path / "MovingMNIST" / "mnist_test_seq.npy", RS.randint(0, 256, (20, 3, 64, 64)).astype(np.uint8))
    for kw in ({}, {"split": "train", "split_ratio": 5}, {"split": "test"}):
        ref, ours = TD.MovingMNIST(str(tmp_path), **kw), ED.MovingMNIST(str(tmp_path), **kw)
        _same(ref, ours, attrs=())
    for kw, exc in (({"split_ratio": 0}, ValueError), ({"split_ratio": 1.5}, TypeError), ({"split": "val"}, ValueError)):
        with pytest.raises(exc) as r:
            TD.MovingMNIST(str(tmp_path), **kw)
        with pytest.raises(exc) as o:
            ED.MovingMNIST(str(tmp_path), **kw)
        assert str(o.value) == str(r.value)


# ------------------------------------------------------------------ wrap_dataset_for_transforms_v2


def _same_wrapped(ref_ds, ours_ds, **kw):
    ref = TD.wrap_dataset_for_transforms_v2(ref_ds, **kw)
    ours = ED.wrap_dataset_for_transforms_v2(ours_ds, **kw)
    assert type(ours).__name__ == type(ref).__name__ and len(ours) == len(ref)
    for i in range(len(ref)):
        assert _norm(ours[i]) == _norm(ref[i]), i
    return ours


def test_wrap_dataset_for_transforms_v2(tmp_path, no_md5, fake_pycocotools):
    # the earlier tests double as builders of the on-disk layouts
    builders = {"voc": test_voc, "coco": lambda p: test_coco(p, None), "celeba": lambda p: test_celeba(p, None),
                "det": test_widerface_kitti, "pet": test_oxford_iiit_pet, "city": test_cityscapes,
                "eurosat": test_eurosat_country211_imagenette}
    for name, build in builders.items():
        (tmp_path / name).mkdir()
        build(tmp_path / name)
    root = str(tmp_path / "voc")
    for kw in ({}, {"target_keys": "all"}, {"target_keys": ["labels"]}):
        _same_wrapped(TD.VOCDetection(root), ED.VOCDetection(root), **kw)
    _same_wrapped(TD.VOCSegmentation(root), ED.VOCSegmentation(root))
    args = (str(tmp_path / "coco" / "img"), str(tmp_path / "coco" / "ann.json"))
    for kw in ({}, {"target_keys": ["boxes", "bbox", "iscrowd"]}):
        _same_wrapped(TD.CocoDetection(*args), ED.CocoDetection(*args), **kw)
    _same_wrapped(TD.CocoCaptions(*args), ED.CocoCaptions(*args))
    root = str(tmp_path / "celeba")
    _same_wrapped(TD.CelebA(root, target_type=["bbox", "identity"]), ED.CelebA(root, target_type=["bbox", "identity"]))
    root = str(tmp_path / "det")
    for kw in ({}, {"target_keys": "all"}):
        _same_wrapped(TD.Kitti(root), ED.Kitti(root), **kw)
        _same_wrapped(TD.WIDERFace(root), ED.WIDERFace(root), **kw)
    _same_wrapped(TD.WIDERFace(root, split="test"), ED.WIDERFace(root, split="test"), target_keys=["bbox", "pose"])
    root = str(tmp_path / "pet")
    tt = ["segmentation", "category"]
    _same_wrapped(TD.OxfordIIITPet(root, target_types=tt), ED.OxfordIIITPet(root, target_types=tt))
    root = str(tmp_path / "city")
    tt = ["semantic", "instance"]
    _same_wrapped(TD.Cityscapes(root, split="val", target_type=tt), ED.Cityscapes(root, split="val", target_type=tt))
    root = str(tmp_path / "eurosat")
    _same_wrapped(TD.EuroSAT(root), ED.EuroSAT(root))
    # the dataset's transforms run after the wrapping
    ours = ED.wrap_dataset_for_transforms_v2(ED.VOCSegmentation(str(tmp_path / "voc"), transforms=lambda i, t: (t, i)))
    assert type(ours[0][0]).__name__ == "Mask" and ours._dataset.transforms is None

    errors = [
        (lambda lib: lib.wrap_dataset_for_transforms_v2(lib.EuroSAT(root), target_keys=["a"]), ValueError),
        (lambda lib: lib.wrap_dataset_for_transforms_v2(lib.EuroSAT(root), target_keys=3), ValueError),
        (lambda lib: lib.wrap_dataset_for_transforms_v2(lib.CelebA(str(tmp_path / "celeba"))), RuntimeError),
        (lambda lib: lib.wrap_dataset_for_transforms_v2([1, 2]), TypeError),
        (lambda lib: lib.wrap_dataset_for_transforms_v2(lib.VOCDetection(str(tmp_path / "voc")),
                                                        target_keys=["nope"]), ValueError),
    ]
    for make, exc in errors:
        with pytest.raises(exc) as r:
            make(TD)
        with pytest.raises(exc) as o:
            make(ED)
        assert str(o.value) == str(r.value)


def test_sun397_clevr_rendered_sst2(tmp_path):
    data = tmp_path / "SUN397"
    data.mkdir()
    (data / "ClassName.txt").write_text("/a/abbey\n/b/bus_interior\n/o/office_building/outdoor\n")
    for rel in ("a/abbey/sun_aaa.jpg", "o/office_building/outdoor/sun_b.jpg", "b/bus_interior/sun_c.jpg",
                "a/abbey/sun_d.jpg"):
        _save_img(str(data / rel), fmt="JPEG")
    _same(TD.SUN397(str(tmp_path)), ED.SUN397(str(tmp_path)), attrs=("classes", "class_to_idx", "_labels"))
    clevr = tmp_path / "clevr" / "CLEVR_v1.0"
    (clevr / "scenes").mkdir(parents=True)
    for split in ("val", "test"):
        for k in (1, 0):
            _save_img(str(clevr / "images" / split / f"CLEVR_{split}_{k:06d}.png"))
    (clevr / "scenes" / "CLEVR_val_scenes.json").write_text(json.dumps({"scenes": [
        {"image_filename": "CLEVR_val_000001.png", "objects": [{}, {}, {}]},
        {"image_filename": "CLEVR_val_000000.png", "objects": [{}]}]}))
    for split in ("val", "test"):
        _same(TD.CLEVRClassification(str(tmp_path), split=split), ED.CLEVRClassification(str(tmp_path), split=split),
              attrs=("_labels", "_image_files"))
    for folder in ("valid", "test"):
        for cls in ("negative", "positive"):
            for k in range(2):
                _save_img(str(tmp_path / "rendered-sst2" / folder / cls / f"{k}.png"))
    for split in ("val", "test"):
        _same(TD.RenderedSST2(str(tmp_path), split=split), ED.RenderedSST2(str(tmp_path), split=split),
              attrs=("classes", "class_to_idx", "_samples"))
    for cls in ("SUN397", "RenderedSST2"):
        with pytest.raises(RuntimeError) as r:
            getattr(TD, cls)(str(tmp_path / "none"))
        with pytest.raises(RuntimeError) as o:
            getattr(ED, cls)(str(tmp_path / "none"))
        assert str(o.value) == str(r.value)
