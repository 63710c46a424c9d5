"""DataLoader options, single process and with real worker processes."""

import multiprocessing as mp
import os
import random
import time

import ember
import numpy as np
import pytest
from ember.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
    get_worker_info,
)


class Range(Dataset):
    """Items are their own index; optional failure at one index."""

    def __init__(self, n, fail_at=None, delay=0.0):
        self.n, self.fail_at, self.delay = n, fail_at, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.delay:
            time.sleep(self.delay)
        if i == self.fail_at:
            raise ValueError(f"bad index {i}")
        return i


class WorkerTagged(Dataset):
    """Returns (index, worker id, worker seed, a random draw from each RNG)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (i, -1 if info is None else info.id, -1 if info is None else info.seed,
                random.random(), float(ember.rand(1).item()), float(np.random.rand()))


class Stream(IterableDataset):
    """0..n-1, sharded across workers by stride."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


def flat(loader):
    return [b.tolist() for b in loader]


@pytest.fixture(autouse=True)
def no_leftover_workers():
    yield
    assert mp.active_children() == []


def test_batch_size_and_len():
    loader = DataLoader(Range(10), batch_size=4)
    assert len(loader) == 3
    assert flat(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_batch_size_one_and_none():
    assert flat(DataLoader(Range(3))) == [[0], [1], [2]]
    out = list(DataLoader(TensorDataset(ember.tensor([1, 2])), batch_size=None))
    assert [x[0].item() for x in out] == [1, 2]
    assert list(DataLoader(Range(3), batch_size=None)) == [0, 1, 2]


def test_drop_last():
    loader = DataLoader(Range(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and flat(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_generator_reproducible():
    def order(seed):
        return sum(flat(DataLoader(Range(20), batch_size=5, shuffle=True,
                                   generator=ember.Generator().manual_seed(seed))), [])

    a, b, c = order(1), order(1), order(2)
    assert sorted(a) == list(range(20)) and a == b and a != c


def test_shuffle_epochs_differ():
    loader = DataLoader(Range(20), batch_size=20, shuffle=True, generator=ember.Generator().manual_seed(0))
    assert flat(loader) != flat(loader)


def test_sampler_and_batch_sampler():
    assert flat(DataLoader(Range(10), batch_size=2, sampler=[9, 8, 1])) == [[9, 8], [1]]
    assert flat(DataLoader(Range(10), batch_sampler=[[3, 1], [0, 2, 4]])) == [[3, 1], [0, 2, 4]]
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=True)
    loader = DataLoader(Range(5), batch_sampler=bs)
    assert len(loader) == 2 and flat(loader) == [[0, 1], [2, 3]]


def test_option_conflicts():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(Range(3), sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(Range(3), batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(Range(3), num_workers=-1)
    with pytest.raises(ValueError, match="timeout"):
        DataLoader(Range(3), timeout=-1)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(Range(3), prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(Range(3), persistent_workers=True)
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)
    loader = DataLoader(Range(3))
    with pytest.raises(ValueError, match="should not be set"):
        loader.batch_size = 4


def test_collate_fn_and_pin_memory_accepted():
    loader = DataLoader(Range(5), batch_size=2, collate_fn=lambda b: sum(b), pin_memory=True)
    assert list(loader) == [1, 5, 4]


@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_order_matches_single_process(shuffle):
    ds = TensorDataset(ember.arange(37).float(), ember.arange(37))

    def run(workers):
        loader = DataLoader(ds, batch_size=5, shuffle=shuffle, num_workers=workers,
                            generator=ember.Generator().manual_seed(11))
        return [(x.tolist(), y.tolist()) for x, y in loader]

    assert run(2) == run(0)


def test_workers_reorder_out_of_order_results():
    # worker 0 gets the slow items, so results arrive out of order and must be put back
    class Slow(Range):
        def __getitem__(self, i):
            if get_worker_info().id == 0:
                time.sleep(0.02)
            return i

    loader = DataLoader(Slow(12), batch_size=2, num_workers=2, prefetch_factor=3)
    assert flat(loader) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]


def test_worker_info_and_seeding():
    loader = DataLoader(WorkerTagged(), batch_size=None, num_workers=2,
                        generator=ember.Generator().manual_seed(5))
    rows = list(loader)
    ids = [int(r[1]) for r in rows]
    assert sorted(set(ids)) == [0, 1]
    seeds = {int(r[1]): int(r[2]) for r in rows}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    # the same generator seed gives the same worker seeds and the same random draws
    again = list(DataLoader(WorkerTagged(), batch_size=None, num_workers=2,
                            generator=ember.Generator().manual_seed(5)))
    assert [[float(v) for v in r] for r in rows] == [[float(v) for v in r] for r in again]
    # workers draw different numbers from each RNG
    firsts = {int(r[1]): r for r in rows if int(r[0]) in (0, 1)}
    for k in (3, 4, 5):
        assert float(firsts[0][k]) != float(firsts[1][k])


def test_worker_init_fn_called_once_per_worker(tmp_path):
    def init(worker_id):
        (tmp_path / f"w{worker_id}-{os.getpid()}").write_text(str(get_worker_info().id))

    assert sum(flat(DataLoader(Range(10), batch_size=2, num_workers=2, worker_init_fn=init)), []) == list(range(10))
    names = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert names == ["w0", "w1"]


def test_worker_init_fn_error_reraised():
    def init(worker_id):
        raise OSError("init failed")

    with pytest.raises(OSError, match="Caught OSError in DataLoader worker process"):
        list(DataLoader(Range(4), num_workers=2, worker_init_fn=init))


def test_worker_exception_reraised_with_traceback():
    loader = DataLoader(Range(10, fail_at=5), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "Traceback (most recent call last)" in msg and "bad index 5" in msg
    assert "__getitem__" in msg
    assert mp.active_children() == []


def test_worker_key_error_and_custom_exception():
    class Boom(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    class D(Range):
        def __getitem__(self, i):
            raise Boom(1, 2)

    with pytest.raises(RuntimeError, match="Caught Boom in DataLoader worker process"):
        list(DataLoader(D(2), num_workers=1))


def test_worker_crash_detected():
    class Die(Range):
        def __getitem__(self, i):
            os._exit(3)

    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(DataLoader(Die(2), num_workers=1))


def test_timeout():
    loader = DataLoader(Range(4, delay=2.0), num_workers=1, timeout=0.2)
    start = time.time()
    with pytest.raises(RuntimeError, match="timed out after 0.2 seconds"):
        next(iter(loader))
    assert time.time() - start < 1.9


def test_persistent_workers_reused_across_epochs():
    loader = DataLoader(Range(10), batch_size=3, num_workers=2, persistent_workers=True)
    first = flat(loader)
    pids = sorted(p.pid for p in mp.active_children())
    assert len(pids) == 2
    assert flat(loader) == first == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert sorted(p.pid for p in mp.active_children()) == pids
    # a partly consumed epoch is discarded cleanly at the next iter()
    it = iter(loader)
    next(it)
    assert flat(loader) == first
    del it, loader
    import gc

    gc.collect()


def test_prefetch_factor_bounds_inflight_tasks():
    loader = DataLoader(Range(40), batch_size=1, num_workers=2, prefetch_factor=3)
    it = iter(loader)
    assert it._tasks_outstanding == 6
    next(it)
    assert it._tasks_outstanding <= 6
    assert sum(flat(it), []) == list(range(1, 40))


def test_iterable_dataset_sharding():
    assert sum(flat(DataLoader(Stream(10), batch_size=3)), []) == list(range(10))
    out = flat(DataLoader(Stream(10), batch_size=2, num_workers=2))
    assert sorted(sum(out, [])) == list(range(10))  # each element exactly once
    assert out[0] == [0, 2] and out[1] == [1, 3]  # workers take turns
    assert len(DataLoader(Stream(10), batch_size=3)) == 4
    assert len(DataLoader(Stream(10), batch_size=3, drop_last=True)) == 3
    assert flat(DataLoader(Stream(5), batch_size=2, drop_last=True)) == [[0, 1], [2, 3]]


def test_iterable_without_sharding_duplicates():
    class Plain(IterableDataset):
        def __iter__(self):
            return iter(range(3))

    out = sorted(x.item() for x in DataLoader(Plain(), num_workers=2))
    assert out == [0, 0, 1, 1, 2, 2]


def test_multiprocessing_context_spawn_rejects_bad_name():
    with pytest.raises(ValueError, match="start method"):
        DataLoader(Range(2), num_workers=1, multiprocessing_context="nope")


def test_break_early_shuts_down_on_del():
    loader = DataLoader(Range(100), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    assert len(mp.active_children()) == 2
    del it
    import gc

    gc.collect()


def test_spawn_context_pickles_tensors():
    ds = TensorDataset(ember.arange(6).float(), ember.tensor([1, 0, 1, 0, 1, 0]))
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    out = [(x.tolist(), y.tolist()) for x, y in loader]
    assert out == [([0.0, 1.0, 2.0, 3.0], [1, 0, 1, 0]), ([4.0, 5.0], [1, 0])]
