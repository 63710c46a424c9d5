"""make_grid / save_image against a NumPy re-statement of torchvision's algorithm; CIFAR-10/100 from
fake batch files in the real pickle format (and a hostile one); FakeData's determinism."""

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request

import ember
import numpy as np
import pytest
from ember.vision import datasets, transforms
from ember.vision.utils import make_grid, save_image
from PIL import Image

# ---- make_grid / save_image ---------------------------------------------------------------------


def np_make_grid(images, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid restated in NumPy for a (B, C, H, W) float32 batch."""
    b = np.asarray(images, dtype=np.float32)
    if b.shape[1] == 1:
        b = np.repeat(b, 3, axis=1)
    if normalize:
        def norm(t):
            lo, hi = value_range if value_range is not None else (float(t.min()), float(t.max()))
            return ((np.clip(t, lo, hi) - np.float32(lo)) / np.float32(max(hi - lo, 1e-5))).astype(np.float32)
        b = np.stack([norm(t) for t in b]) if scale_each else norm(b)
    if len(b) == 1:
        return b[0]
    n, c, h, w = b.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, np.float32)
    for k in range(n):
        r, col = divmod(k, cols)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, y:y + h, x:x + w] = b[k]
    return grid


def batch(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 2 + 0.5).astype(np.float32)


GRID_CASES = [
    ((5, 3, 4, 6), {}),
    ((5, 3, 4, 6), {"nrow": 2, "padding": 1, "pad_value": 0.25}),
    ((7, 1, 5, 5), {"nrow": 3, "padding": 0}),
    ((4, 3, 3, 3), {"normalize": True}),
    ((4, 3, 3, 3), {"normalize": True, "scale_each": True}),
    ((4, 3, 3, 3), {"normalize": True, "value_range": (-1.0, 1.0)}),
    ((4, 3, 3, 3), {"normalize": True, "value_range": (-1.0, 1.0), "scale_each": True}),
    ((1, 3, 4, 4), {"padding": 5}),
    ((9, 4, 2, 3), {"nrow": 4, "padding": 3, "pad_value": 1.0}),
]


@pytest.mark.parametrize("shape,kwargs", GRID_CASES)
def test_make_grid_matches_numpy(shape, kwargs, device):
    x = batch(shape)
    t = ember.tensor(x, device=device)
    got = make_grid(t, **kwargs)
    assert got.device.type == device
    np.testing.assert_allclose(got.cpu().numpy(), np_make_grid(x, **kwargs), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(t.cpu().numpy(), x)  # normalize works on a copy


def test_make_grid_single_images_and_lists():
    x = batch((3, 1, 4, 5))
    list_grid = make_grid([ember.tensor(i) for i in x], nrow=2)
    np.testing.assert_allclose(list_grid.numpy(), np_make_grid(x, nrow=2))
    gray = make_grid(ember.tensor(x[0, 0]))  # 2-D H x W -> 3 x H x W, no padding for one image
    np.testing.assert_allclose(gray.numpy(), np.repeat(x[0], 3, axis=0))
    one = make_grid(ember.tensor(x[0]))  # 1 x H x W
    assert tuple(one.shape) == (3, 4, 5)


def test_make_grid_errors():
    with pytest.raises(TypeError, match="tensor or list of tensors expected"):
        make_grid(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="got a list containing"):
        make_grid([ember.zeros(3, 4, 4), np.zeros((3, 4, 4))])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(ember.zeros(2, 3, 4, 4), normalize=True, value_range=[0, 1])


def png_reference(grid):
    return np.clip(grid * np.float32(255) + np.float32(0.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)


@pytest.mark.parametrize("kwargs", [{}, {"nrow": 3, "padding": 1, "normalize": True}])
def test_save_image_png_roundtrip(kwargs, device, tmp_path):
    x = np.random.default_rng(3).uniform(-0.1, 1.1, (5, 3, 6, 7)).astype(np.float32)
    path = tmp_path / "grid.png"
    save_image(ember.tensor(x, device=device), path, **kwargs)
    with Image.open(path) as im:
        assert im.mode == "RGB" and im.format == "PNG"
        np.testing.assert_array_equal(np.asarray(im), png_reference(np_make_grid(x, **kwargs)))


def test_save_image_file_object_and_grayscale():
    x = np.random.default_rng(4).uniform(0, 1, (1, 8, 9)).astype(np.float32)
    buf = io.BytesIO()
    save_image(ember.tensor(x), buf, format="PNG")
    buf.seek(0)
    with Image.open(buf) as im:
        np.testing.assert_array_equal(np.asarray(im), png_reference(np.repeat(x, 3, axis=0)))


# ---- CIFAR ---------------------------------------------------------------------------------------

C10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_pickle(path, obj, protocol=2):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def fake_cifar10(root, per_batch=3, protocol=2, str_keys=False):
    """The real layout; entries as Python 3 reads the real files with encoding='bytes' (bytes keys),
    or with str keys as encoding='latin1' gives."""
    key = (lambda k: k) if str_keys else (lambda k: k.encode())
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    expected = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        write_pickle(folder / name, {key("batch_label"): b"batch %d" % i, key("labels"): labels, key("data"): data,
                                     key("filenames"): [b"img_%d.png" % k for k in range(per_batch)]}, protocol)
        expected[name] = (data, labels)
    write_pickle(folder / "batches.meta", {key("label_names"): [n.encode() for n in C10_NAMES],
                                           key("num_cases_per_batch"): per_batch, key("num_vis"): 3072}, protocol)
    return expected


def check_items(ds, data, labels):
    assert len(ds) == len(labels) and ds.targets == labels
    assert ds.data.shape == (len(labels), 32, 32, 3) and ds.data.dtype == np.uint8
    for i in range(len(labels)):
        img, target = ds[i]
        assert img.mode == "RGB" and img.size == (32, 32) and target == labels[i]
        # each row is 1024 red, then 1024 green, then 1024 blue values, row-major
        np.testing.assert_array_equal(np.asarray(img), data[i].reshape(3, 32, 32).transpose(1, 2, 0))


@pytest.mark.parametrize("protocol,str_keys", [(2, False), (2, True), (4, False), (5, True)])
def test_cifar10_reads_the_pickled_batches(tmp_path, protocol, str_keys):
    expected = fake_cifar10(tmp_path, protocol=protocol, str_keys=str_keys)
    train = datasets.CIFAR10(str(tmp_path), train=True)
    data = np.vstack([expected[f"data_batch_{j}"][0] for j in range(1, 6)])
    check_items(train, data, [t for j in range(1, 6) for t in expected[f"data_batch_{j}"][1]])
    test = datasets.CIFAR10(tmp_path, train=False)
    check_items(test, *expected["test_batch"])
    assert train.classes == C10_NAMES and train.class_to_idx["truck"] == 9
    assert "Split: Test" in repr(test)


def test_cifar_transforms(tmp_path):
    expected = fake_cifar10(tmp_path)
    ds = datasets.CIFAR10(tmp_path, train=False, transform=transforms.ToTensor(), target_transform=lambda t: t + 100)
    img, target = ds[1]
    data, labels = expected["test_batch"]
    assert target == labels[1] + 100
    np.testing.assert_allclose(img.numpy(), data[1].reshape(3, 32, 32) / np.float32(255), rtol=1e-6)


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    splits = {}
    for name, n in (("train", 4), ("test", 2)):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        fine, coarse = [int(v) for v in rng.integers(0, 100, n)], [int(v) for v in rng.integers(0, 20, n)]
        write_pickle(folder / name, {b"filenames": [b"f"] * n, b"batch_label": b"x", b"fine_labels": fine,
                                     b"coarse_labels": coarse, b"data": data})
        splits[name] = (data, fine)
    fine_names = [f"class{i}" for i in range(100)]
    write_pickle(folder / "meta", {b"fine_label_names": [n.encode() for n in fine_names],
                                   b"coarse_label_names": [b"c%d" % i for i in range(20)]})
    check_items(datasets.CIFAR100(tmp_path), *splits["train"])
    test = datasets.CIFAR100(tmp_path, train=False)
    check_items(test, *splits["test"])
    assert test.classes == fine_names and test.class_to_idx["class42"] == 42


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("target", ["data_batch_1", "batches.meta"])
def test_cifar_refuses_code_in_pickles(tmp_path, target):
    fake_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    write_pickle(tmp_path / "cifar-10-batches-py" / target, {b"data": Evil(marker)})
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load global (posix|os|nt)\.system"):
        datasets.CIFAR10(tmp_path, train=True)
    assert not marker.exists()


def test_cifar_missing_and_corrupt_files(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted. You can use download=True"):
        datasets.CIFAR10(tmp_path)
    fake_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80\x02}q\x00(X")  # truncated pickle
    with pytest.raises(RuntimeError, match="corrupted.*test_batch"):
        datasets.CIFAR10(tmp_path, train=False)
    write_pickle(tmp_path / "cifar-10-batches-py" / "test_batch", {b"data": np.zeros((2, 5), np.uint8),
                                                                  b"labels": [0, 1]})
    with pytest.raises(RuntimeError, match=r"shape \(N, 3072\)"):
        datasets.CIFAR10(tmp_path, train=False)


def test_cifar_download_without_network(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(RuntimeError, match=r"Could not download .*cifar-10-python.tar.gz.*Without network"):
        datasets.CIFAR10(tmp_path, download=True)
    with pytest.raises(RuntimeError, match="cifar-100-python"):
        datasets.CIFAR100(tmp_path, download=True)


def test_cifar_download_extracts_a_local_archive(tmp_path, monkeypatch):
    src = tmp_path / "src"
    expected = fake_cifar10(src)
    root = tmp_path / "root"
    root.mkdir()
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(datasets.CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("must not touch the network"))
    ds = datasets.CIFAR10(root, train=False, download=True)
    check_items(ds, *expected["test_batch"])


# ---- FakeData ------------------------------------------------------------------------------------

def test_fakedata_is_deterministic_per_index():
    ds = datasets.FakeData(size=6, image_size=(3, 10, 12), num_classes=4)
    assert len(ds) == 6
    first = [(np.asarray(img), label) for img, label in (ds[i] for i in range(6))]
    for i, (img, label) in enumerate(first):
        again, label2 = ds[i]
        np.testing.assert_array_equal(np.asarray(again), img)
        assert label2 == label and 0 <= label < 4 and isinstance(label, int)
        assert again.mode == "RGB" and again.size == (12, 10)
    assert not np.array_equal(first[0][0], first[1][0])
    shifted = datasets.FakeData(size=6, image_size=(3, 10, 12), num_classes=4, random_offset=1)
    np.testing.assert_array_equal(np.asarray(shifted[0][0]), first[1][0])  # seed = index + random_offset
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[6]


def test_fakedata_leaves_the_global_generator_alone():
    ds = datasets.FakeData(size=3, image_size=(1, 5, 5))
    ember.manual_seed(7)
    want = ember.rand(4).numpy()
    ember.manual_seed(7)
    img, _ = ds[2]
    np.testing.assert_array_equal(ember.rand(4).numpy(), want)
    assert img.mode == "L"


def test_fakedata_transforms():
    ds = datasets.FakeData(size=2, image_size=(3, 4, 4), num_classes=3, transform=transforms.ToTensor(),
                           target_transform=lambda t: t + 10)
    img, target = ds[0]
    assert tuple(img.shape) == (3, 4, 4) and 10 <= target < 13
