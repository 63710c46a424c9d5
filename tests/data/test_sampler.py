"""Samplers: orders, lengths, reproducibility and the weighted sampler's distribution."""

import ember
import numpy as np
import pytest
from ember.utils.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def gen(seed):
    return ember.Generator().manual_seed(seed)


def test_sequential():
    s = SequentialSampler(range(4))
    assert list(s) == [0, 1, 2, 3] and len(s) == 4


def test_random_permutation_and_reproducible():
    a = list(RandomSampler(range(50), generator=gen(3)))
    b = list(RandomSampler(range(50), generator=gen(3)))
    c = list(RandomSampler(range(50), generator=gen(4)))
    assert sorted(a) == list(range(50))
    assert a == b and a != c
    assert a == ember.randperm(50, generator=gen(3)).tolist()


def test_random_global_seed():
    ember.manual_seed(7)
    a = list(RandomSampler(range(20)))
    ember.manual_seed(7)
    assert list(RandomSampler(range(20))) == a


def test_random_num_samples_without_replacement_spans_epochs():
    s = RandomSampler(range(4), num_samples=10, generator=gen(0))
    out = list(s)
    assert len(out) == len(s) == 10
    assert sorted(out[:4]) == [0, 1, 2, 3] and sorted(out[4:8]) == [0, 1, 2, 3]
    assert len(set(out[8:])) == 2


def test_random_with_replacement():
    out = list(RandomSampler(range(3), replacement=True, num_samples=1000, generator=gen(1)))
    assert len(out) == 1000 and set(out) == {0, 1, 2}
    counts = np.bincount(out)
    assert all(abs(c - 333) < 80 for c in counts)


def test_random_sampler_validation():
    with pytest.raises(ValueError):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError):
        RandomSampler(range(3), replacement=1)


def test_subset_random():
    out = list(SubsetRandomSampler([10, 20, 30, 40], generator=gen(5)))
    assert sorted(out) == [10, 20, 30, 40]
    assert out == list(SubsetRandomSampler([10, 20, 30, 40], generator=gen(5)))
    assert len(SubsetRandomSampler([1, 2])) == 2


def test_weighted_with_replacement_distribution():
    w = [1.0, 0.0, 3.0]
    out = list(WeightedRandomSampler(w, 4000, generator=gen(0)))
    counts = np.bincount(out, minlength=3)
    assert counts[1] == 0
    assert abs(counts[2] / 4000 - 0.75) < 0.03


def test_weighted_reproducible_and_len():
    s1 = WeightedRandomSampler(ember.tensor([0.2, 0.3, 0.5]), 20, generator=gen(9))
    s2 = WeightedRandomSampler([0.2, 0.3, 0.5], 20, generator=gen(9))
    assert list(s1) == list(s2) and len(s1) == 20


def test_weighted_without_replacement():
    out = list(WeightedRandomSampler([1, 1, 0, 5, 2], 4, replacement=False, generator=gen(2)))
    assert sorted(out) == [0, 1, 3, 4]
    # first draw takes index 3 with probability 5/9
    firsts = [next(iter(WeightedRandomSampler([1, 1, 0, 5, 2], 2, replacement=False, generator=gen(s))))
              for s in range(600)]
    assert abs(firsts.count(3) / 600 - 5 / 9) < 0.07
    # PyTorch draws the zero-weight ones last rather than refusing (torch.multinomial's rule)
    assert sorted(WeightedRandomSampler([1, 0, 0], 2, replacement=False, generator=gen(3))) == [0, 1]


def test_weighted_validation():
    # as PyTorch: bad weights are refused at the first draw, not at construction
    with pytest.raises(RuntimeError):
        next(iter(WeightedRandomSampler([-1.0, 2.0], 3)))
    with pytest.raises(RuntimeError):
        next(iter(WeightedRandomSampler([0.0, 0.0], 3)))
    with pytest.raises(ValueError):
        WeightedRandomSampler([1.0], 0)


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    assert len(BatchSampler(range(6), 3, False)) == 2
    with pytest.raises(ValueError):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError):
        BatchSampler(range(3), 2, 1)
