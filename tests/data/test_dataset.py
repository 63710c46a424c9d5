"""Datasets and random_split against hand-computed expectations."""

import ember
import pytest
from ember.utils.data import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split


def test_tensor_dataset_rows():
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = ember.tensor([7, 8, 9])
    ds = TensorDataset(x, y)
    assert len(ds) == 3
    a, b = ds[2]
    assert a.tolist() == [5.0, 6.0] and b.item() == 9


def test_tensor_dataset_size_mismatch():
    with pytest.raises(AssertionError, match="Size mismatch"):  # PyTorch asserts
        TensorDataset(ember.zeros(3), ember.zeros(4))


def test_subset_and_concat():
    sub = Subset(list("abcdef"), [5, 0, 2])
    assert [sub[i] for i in range(len(sub))] == ["f", "a", "c"]
    cat = ConcatDataset([[0, 1], [10, 11, 12], [20]])
    assert len(cat) == 6
    assert [cat[i] for i in range(6)] == [0, 1, 10, 11, 12, 20]
    assert cat[-1] == 20 and cat[-6] == 0
    assert cat.cumulative_sizes == [2, 5, 6]
    with pytest.raises(IndexError):
        cat[6]


def test_dataset_add_and_chain():
    class D(Dataset):
        def __init__(self, v):
            self.v = v

        def __getitem__(self, i):
            return self.v[i]

        def __len__(self):
            return len(self.v)

    both = D([1, 2]) + D([3])
    assert isinstance(both, ConcatDataset) and [both[i] for i in range(3)] == [1, 2, 3]

    class S(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    chained = S(2) + S(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2]
    with pytest.raises(AssertionError):
        ConcatDataset([S(2)])


def test_random_split_lengths_partition_and_reproducible():
    g1 = ember.Generator().manual_seed(42)
    g2 = ember.Generator().manual_seed(42)
    a = random_split(range(10), [3, 7], generator=g1)
    b = random_split(range(10), [3, 7], generator=g2)
    assert [len(p) for p in a] == [3, 7]
    assert sorted(a[0].indices + a[1].indices) == list(range(10))
    assert a[0].indices == b[0].indices and a[1].indices == b[1].indices
    # the split is the randperm of the same generator, cut in order
    perm = ember.randperm(10, generator=ember.Generator().manual_seed(42)).tolist()
    assert a[0].indices == perm[:3] and a[1].indices == perm[3:]


def test_random_split_fractions_distribute_remainder():
    # floor(11*0.5)=5, floor(11*0.3)=3, floor(11*0.2)=2 -> remainder 1 goes to the first split
    parts = random_split(range(11), [0.5, 0.3, 0.2], generator=ember.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [6, 3, 2]


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 3])
