"""IDX parsing and MNIST datasets: the real test split, malformed files, download checks."""

import gzip
import os
import shutil
import struct
from pathlib import Path

import ember
import numpy as np
import pytest
from ember.vision import datasets
from ember.vision.datasets import IDXFormatError, read_idx
from ember.vision.datasets.utils import calculate_md5, download_from_mirrors, download_url
from PIL import Image

SAMPLE = datasets.SAMPLE_DIR
IMAGES = SAMPLE / "t10k-images-idx3-ubyte.gz"
LABELS = SAMPLE / "t10k-labels-idx1-ubyte.gz"


def idx_bytes(code, dims, payload):
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims) + payload


def test_bundled_files_md5():
    assert calculate_md5(IMAGES) == "9fb629c4189551a2d022fa330f9573f3"
    assert calculate_md5(LABELS) == "ec29112dd5afa0611ce80d1b7f02629c"


def test_read_real_idx_files():
    images, labels = read_idx(IMAGES), read_idx(LABELS)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels[0] == 7
    hist = np.bincount(labels, minlength=10)
    assert hist.sum() == 10000 and len(hist) == 10
    # cross-check the first image against a hand parse of the raw bytes (16-byte header)
    raw = gzip.decompress(IMAGES.read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x03"
    np.testing.assert_array_equal(images[0].ravel(), np.frombuffer(raw[16:16 + 784], np.uint8))


def test_read_uncompressed_and_other_dtypes(tmp_path):
    p = tmp_path / "a-idx2"
    p.write_bytes(idx_bytes(0x0B, (2, 2), struct.pack(">4h", 1, -2, 300, -400)))
    assert read_idx(p).tolist() == [[1, -2], [300, -400]]
    p.write_bytes(idx_bytes(0x0D, (2,), struct.pack(">2f", 1.5, -0.25)))
    assert read_idx(p).tolist() == [1.5, -0.25]
    gz = tmp_path / "b.gz"
    gz.write_bytes(gzip.compress(idx_bytes(0x08, (3,), bytes([1, 2, 3]))))
    assert read_idx(gz).tolist() == [1, 2, 3]


@pytest.mark.parametrize("raw, problem", [
    (b"\x00\x00", "shorter than the 4-byte magic"),
    (b"\x01\x00\x08\x01" + b"\x00" * 8, "two zero bytes"),
    (b"\x00\x00\x07\x01" + b"\x00" * 8, "unknown data type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "header truncated"),
    (idx_bytes(0x08, (2, 3), bytes(5)), "data truncated"),
    (idx_bytes(0x08, (2,), bytes(4)), "trailing bytes"),
    (b"\x00\x00\x08\x00", "number of dimensions is 0"),
])
def test_malformed_idx(tmp_path, raw, problem):
    p = tmp_path / "bad-idx"
    p.write_bytes(raw)
    with pytest.raises(IDXFormatError, match=problem) as info:
        read_idx(p)
    assert str(p) in str(info.value)


def test_truncated_gzip(tmp_path):
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(IMAGES.read_bytes()[:5000])
    with pytest.raises(IDXFormatError, match="gzip"):
        read_idx(p)


def make_mnist_root(tmp_path, cls="MNIST", compress=True):
    raw = tmp_path / cls / "raw"
    raw.mkdir(parents=True)
    for src in (IMAGES, LABELS):
        if compress:
            shutil.copy(src, raw / src.name)
        else:
            (raw / src.name[:-3]).write_bytes(gzip.decompress(src.read_bytes()))
    return tmp_path


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_test_split(tmp_path, compress):
    ds = datasets.MNIST(make_mnist_root(tmp_path, compress=compress), train=False)
    assert len(ds) == 10000
    img, target = ds[0]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    assert target == 7 and isinstance(target, int)
    assert tuple(ds.data.shape) == (10000, 28, 28) and ds.data.dtype == ember.uint8
    assert ds.targets.dtype == ember.int64 and int(ds.targets[0]) == 7
    np.testing.assert_array_equal(np.asarray(img), read_idx(IMAGES)[0])
    assert ds.classes[7] == "7 - seven" and ds.class_to_idx["0 - zero"] == 0
    assert "Split: Test" in repr(ds)


def test_mnist_transforms_applied(tmp_path):
    ds = datasets.MNIST(make_mnist_root(tmp_path), train=False, transform=np.asarray,
                        target_transform=lambda y: y * 10)
    img, target = ds[0]
    assert img.shape == (28, 28) and target == 70


def test_missing_files_message(tmp_path):
    with pytest.raises(RuntimeError) as info:
        datasets.MNIST(tmp_path, train=True)
    msg = str(info.value)
    assert "Dataset not found. You can use download=True to download it" in msg
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte") in msg
    assert "train-labels-idx1-ubyte" in msg


def test_fashion_mnist_layout(tmp_path):
    ds = datasets.FashionMNIST(make_mnist_root(tmp_path, cls="FashionMNIST"), train=False)
    assert len(ds) == 10000 and ds.classes[0] == "T-shirt/top"
    with pytest.raises(RuntimeError, match="FashionMNIST"):
        datasets.FashionMNIST(tmp_path / "elsewhere", train=False)


def test_label_image_count_mismatch(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(0x08, (2, 2, 2), bytes(8)))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(0x08, (3,), bytes(3)))
    with pytest.raises(IDXFormatError, match="3 labels for 2 images"):
        datasets.MNIST(tmp_path, train=False)


def test_mnist_sample_split():
    train, test = datasets.mnist_sample()
    assert (len(train), len(test)) == (8000, 2000)
    labels = read_idx(LABELS)
    assert train.targets.tolist() == labels[:8000].tolist()
    assert test.targets.tolist() == labels[8000:].tolist()
    np.testing.assert_array_equal(np.asarray(test[0][0]), read_idx(IMAGES)[8000])


def test_download_url_file_scheme_and_md5(tmp_path):
    url = LABELS.as_uri()
    path = download_url(url, tmp_path / "dl", md5="ec29112dd5afa0611ce80d1b7f02629c")
    assert calculate_md5(path) == "ec29112dd5afa0611ce80d1b7f02629c"
    with pytest.raises(RuntimeError, match="MD5 mismatch"):
        download_url(url, tmp_path / "bad", md5="0" * 32)
    assert os.listdir(tmp_path / "bad") == []  # no partial or corrupt file left behind


def test_download_mirrors_fall_through(tmp_path):
    mirrors = [(tmp_path / "missing").as_uri() + "/", SAMPLE.as_uri() + "/"]
    path = download_from_mirrors(mirrors, LABELS.name, tmp_path / "out", "ec29112dd5afa0611ce80d1b7f02629c")
    assert Path(path).is_file()
    with pytest.raises(RuntimeError, match="Error downloading"):
        download_from_mirrors(mirrors[:1], LABELS.name, tmp_path / "out2")


def test_mnist_download_from_local_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for src in (IMAGES, LABELS):
        shutil.copy(src, mirror / src.name)
    # the train files are absent from this mirror: download=True must fail with a clear error
    monkeypatch.setattr(datasets.MNIST, "mirrors", [mirror.as_uri() + "/"])
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.gz"):
        datasets.MNIST(tmp_path / "root", train=False, download=True)
    # with only the test resources requested, download then load works
    monkeypatch.setattr(datasets.MNIST, "resources", datasets.MNIST.resources[2:])
    ds = datasets.MNIST(tmp_path / "root", train=False, download=True)
    assert len(ds) == 10000 and ds[0][1] == 7
