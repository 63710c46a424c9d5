"""default_collate / default_convert for every supported element type."""

import collections

import ember
import numpy as np
import pytest
from ember.utils.data import default_collate, default_convert

Point = collections.namedtuple("Point", ["x", "y"])


def test_tensors_are_stacked():
    out = default_collate([ember.tensor([1, 2]), ember.tensor([3, 4]), ember.tensor([5, 6])])
    assert tuple(out.shape) == (3, 2) and out.tolist() == [[1, 2], [3, 4], [5, 6]]


def test_numpy_arrays_become_tensors():
    out = default_collate([np.array([1.5, 2.0], dtype=np.float32), np.array([3.0, 4.0], dtype=np.float32)])
    assert isinstance(out, ember.Tensor) and out.dtype == ember.float32
    np.testing.assert_array_equal(out.numpy(), [[1.5, 2.0], [3.0, 4.0]])


def test_numpy_scalars_keep_dtype():
    out = default_collate([np.int32(1), np.int32(2)])
    assert out.dtype == ember.int32 and out.tolist() == [1, 2]


def test_python_numbers_dtypes():
    ints, floats, bools = default_collate([1, 2]), default_collate([0.5, 1.5]), default_collate([True, False])
    assert ints.dtype == ember.int64 and ints.tolist() == [1, 2]
    assert floats.dtype == ember.float64 and floats.tolist() == [0.5, 1.5]
    assert bools.dtype == ember.bool and bools.tolist() == [True, False]


def test_strings_stay_lists():
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([b"a", b"b"]) == [b"a", b"b"]


def test_dicts():
    out = default_collate([{"x": 1, "s": "a"}, {"x": 2, "s": "b"}])
    assert set(out) == {"x", "s"} and out["x"].tolist() == [1, 2] and out["s"] == ["a", "b"]


def test_tuples_transposed_to_lists_and_lists():
    out = default_collate([(1, 0.5), (2, 1.5)])
    assert isinstance(out, list) and out[0].tolist() == [1, 2] and out[1].tolist() == [0.5, 1.5]
    out = default_collate([[1, 2], [3, 4]])
    assert isinstance(out, list) and [t.tolist() for t in out] == [[1, 3], [2, 4]]


def test_namedtuple():
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.tolist() == [1, 3] and out.y.tolist() == [2.0, 4.0]


def test_nested():
    batch = [({"img": ember.zeros(2, 2)}, 1), ({"img": ember.ones(2, 2)}, 0)]
    (d, y) = default_collate(batch)
    assert tuple(d["img"].shape) == (2, 2, 2) and y.tolist() == [1, 0]


def test_errors():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])
    with pytest.raises(TypeError):
        default_collate([np.array(["a"]), np.array(["b"])])


def test_default_convert():
    out = default_convert({"a": np.array([1, 2]), "b": [np.float64(1.5)], "c": "s"})
    assert isinstance(out["a"], ember.Tensor) and out["a"].tolist() == [1, 2]
    assert isinstance(out["b"][0], ember.Tensor) and out["c"] == "s"
    assert default_convert(3) == 3
    p = default_convert(Point(np.array([1]), 2))
    assert isinstance(p, Point) and isinstance(p.x, ember.Tensor)
