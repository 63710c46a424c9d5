"""ImageFolder: class discovery, ordering, filtering and loading."""

import numpy as np
import pytest
from ember.vision.datasets import ImageFolder
from PIL import Image


@pytest.fixture
def tree(tmp_path):
    for cls, names in {"b_dog": ["2.png", "1.jpg", "notes.txt"], "a_cat": ["x.png"], "c_owl": ["sub/deep.bmp"]}.items():
        for name in names:
            p = tmp_path / cls / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".txt"):
                p.write_text("not an image")
            else:
                Image.new("RGB", (3, 2), (len(cls), 10, 20)).save(p)
    return tmp_path


def test_classes_samples_targets(tree):
    ds = ImageFolder(tree)
    assert ds.classes == ["a_cat", "b_dog", "c_owl"]
    assert ds.class_to_idx == {"a_cat": 0, "b_dog": 1, "c_owl": 2}
    rel = [(p[len(str(tree)) + 1:], t) for p, t in ds.samples]
    assert rel == [("a_cat/x.png", 0), ("b_dog/1.jpg", 1), ("b_dog/2.png", 1), ("c_owl/sub/deep.bmp", 2)]
    assert ds.targets == [0, 1, 1, 2] and len(ds) == 4


def test_item_is_rgb_and_transforms(tree):
    ds = ImageFolder(tree, transform=np.asarray, target_transform=str)
    img, target = ds[0]
    assert img.shape == (2, 3, 3) and target == "0"
    assert ImageFolder(tree)[3][0].mode == "RGB"


def test_is_valid_file_and_loader(tree):
    ds = ImageFolder(tree, is_valid_file=lambda p: p.endswith(".png"), loader=lambda p: p, allow_empty=True)
    assert [t for _, t in ds.samples] == [0, 1]
    assert ds[0][0].endswith("x.png")
    with pytest.raises(FileNotFoundError, match="c_owl"):
        ImageFolder(tree, is_valid_file=lambda p: p.endswith(".png"))


def test_empty_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        ImageFolder(tmp_path)
