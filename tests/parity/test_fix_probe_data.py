"""Parity with PyTorch for ``torch.utils.data``: default_collate/default_convert on every structure,
the ``collate_fn_map`` registry (``torch.utils.data._utils.collate``), DataLoader argument checks
made when iterating, the IterableDataset length warning, samplers, datasets and their errors, the
generic classes (``DataLoader[int]``), and the layout of a collated batch. Each probe runs the same
code on PyTorch and on ember and compares types, structure, dtypes, shapes, values and error types.

Shuffled orders are not compared: ember's generator is not PyTorch's (docs/distributions.md), so
those probes compare lengths and the partition instead.
"""

from __future__ import annotations

import collections
import warnings

import ember
import ember.utils.data._utils.collate  # noqa: F401 - the torch.utils.data._utils path
import ember.utils.data._utils.worker  # noqa: F401
import numpy as np
import pytest

torch = pytest.importorskip("torch")

Point = collections.namedtuple("Point", ["x", "y"])


class MyMap(collections.abc.Mapping):
    def __init__(self, d):
        self._d = dict(d)

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)


class MySeq(collections.abc.Sequence):
    def __init__(self, d):
        self._d = list(d)

    def __getitem__(self, i):
        return self._d[i]

    def __len__(self):
        return len(self._d)


class MyList(list):
    pass


def _env(m) -> dict:
    """The names a probe may use, built for one library ``m``."""
    D = m.utils.data  # noqa: N806 - PyTorch's usual alias

    class It(D.IterableDataset):
        def __init__(self, n=5):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    class SizedIt(It):
        def __len__(self):
            return self.n

    class Split(D.IterableDataset):
        def __iter__(self):
            info = D.get_worker_info()
            return iter(range(6)) if info is None else iter(range(info.id, 6, info.num_workers))

    class Sq(D.Dataset):
        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return 5

    class Items(D.Dataset):
        def __getitem__(self, i):
            return i

        def __getitems__(self, idx):
            return [("g", i) for i in idx]

        def __len__(self):
            return 4

    class Bare(D.IterableDataset):  # no __iter__: abstract in PyTorch
        pass

    def load(*a, **k):
        return list(D.DataLoader(*a, **k))

    def gen(seed=0):
        return m.Generator().manual_seed(seed)

    return dict(t=m, np=np, D=D, It=It, SizedIt=SizedIt, Split=Split, Sq=Sq, Items=Items, Bare=Bare, L=load,
                G=gen, Point=Point, MyMap=MyMap, MySeq=MySeq, MyList=MyList, collections=collections)


def _norm(r):
    """A library-neutral description of a result."""
    if isinstance(r, (torch.Tensor, ember.Tensor)):
        return ("T", str(r.dtype).split(".")[-1], tuple(r.shape), repr(r.tolist()))
    if isinstance(r, collections.abc.Mapping):
        return (type(r).__name__, tuple((k, _norm(v)) for k, v in r.items()))
    if isinstance(r, (list, tuple)) or (isinstance(r, collections.abc.Sequence) and not isinstance(r, (str, bytes))):
        return (type(r).__name__, tuple(_norm(v) for v in r))
    if isinstance(r, (int, float, str, bytes, bool, type(None))):
        return (type(r).__name__, repr(r))
    return ("obj", type(r).__name__)


def _outcome(m, src: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _norm(eval(src, _env(m)))  # noqa: S307 - the probe table below
        except Exception as e:  # noqa: BLE001 - the error type is the result
            return ("ERR", type(e).__name__)


PROBES = [
    # default_collate: numbers, strings, containers
    "D.default_collate([1, 2.5])", "D.default_collate([True, 2])", "D.default_collate([1.5, True])",
    "D.default_collate([2**63, 1])", "D.default_collate([1j, 2])", "D.default_collate([b'a', b'b'])",
    "D.default_collate([None, None])", "D.default_collate([])", "D.default_collate([(), ()])",
    "D.default_collate([{}, {}])", "D.default_collate([{'a': 1}, {'b': 2}])", "D.default_collate([{1: 1}, {1: 2}])",
    "D.default_collate([Point(t.zeros(2), 'a'), Point(t.ones(2), 'b')])", "D.default_collate([Point(1, 2), (3, 4)])",
    "D.default_collate([[1, 2], (3, 4)])", "D.default_collate([(1, 2), (3,)])", "D.default_collate([[1, [2, 3]], [4, [5]]])",
    "D.default_collate([MyMap({'a': 1}), MyMap({'a': 2})])", "D.default_collate([MySeq([1, 2]), MySeq([3, 4])])",
    "D.default_collate([MyList([1, 2]), MyList([3, 4])])", "D.default_collate([collections.deque([1, 2])] * 2)",
    "D.default_collate([range(2), range(2)])", "D.default_collate([bytearray(b'ab'), bytearray(b'cd')])",
    "D.default_collate([collections.Counter(a=1), collections.Counter(a=2)])",
    "D.default_collate([collections.UserList([1, 2]), collections.UserList([3, 4])])",
    "D.default_collate([collections.UserDict(a=1), collections.UserDict(a=2)])",
    "D.default_collate([object(), object()])", "D.default_collate([{1, 2}, {3, 4}])", "D.default_collate([1, 'a'])",
    "D.default_collate(['a', 1])", "D.default_collate([1, None])", "D.default_collate([t.float32, t.float32])",
    # default_collate: tensors
    "D.default_collate([t.zeros(2), t.ones(3)])", "D.default_collate([t.zeros(2), t.ones(2, 1)])",
    "D.default_collate([t.zeros(2, dtype=t.int32), t.ones(2)])", "D.default_collate([t.zeros(0, 3), t.zeros(0, 3)])",
    "D.default_collate([t.arange(6)[::2], t.arange(3)])", "D.default_collate([t.zeros(1).expand(3), t.ones(3)])",
    "D.default_collate([t.zeros(2), 1])", "D.default_collate([1, t.zeros(2)])", "D.default_collate([t.zeros(2), np.zeros(2)])",
    "D.default_collate([t.nn.Parameter(t.zeros(2)), t.nn.Parameter(t.ones(2))])",
    "D.default_collate([t.zeros(2, dtype=t.bfloat16), t.ones(2, dtype=t.bfloat16)])",
    "D.default_collate([t.sparse_coo_tensor(t.tensor([[0]]), t.tensor([1.0]), (2,))] * 2)",
    # a collated batch is contiguous, as PyTorch's stack/cat make it: .view works on it
    "D.default_collate([t.arange(6.).reshape(2, 3).t()] * 2).stride()",
    "D.default_collate([np.arange(6.).reshape(2, 3).T] * 2).view(2, -1)",
    "t.cat([t.arange(6.).reshape(2, 3).t()] * 2, 1).stride()", "t.stack([t.arange(6.).reshape(2, 3).t()] * 2, 1).stride()",
    # default_collate: NumPy
    "D.default_collate([np.zeros(2, np.int32), np.ones(2, np.float32)])", "D.default_collate([np.zeros(2, bool)] * 2)",
    "D.default_collate([np.zeros(2, np.complex64)] * 2)", "D.default_collate([np.array([b'a']), np.array([b'b'])])",
    "D.default_collate([np.array([1, 2], dtype=object)] * 2)", "D.default_collate([np.array('a'), np.array('b')])",
    "D.default_collate([np.float16(1), np.float16(2)])", "D.default_collate([np.int32(1), 2.5])",
    "D.default_collate([np.str_('a'), np.str_('b')])", "D.default_collate([np.zeros(2), np.zeros(3)])",
    "D.default_collate([np.datetime64(1, 'D'), np.datetime64(2, 'D')])",
    "D.default_collate([np.matrix([[1, 2]]), np.matrix([[3, 4]])])",
    "D.default_collate([np.ma.masked_array([1.0, 2.0], mask=[0, 1])] * 2).sum()",
    # default_convert
    "D.default_convert(np.float64(1))", "D.default_convert(np.str_('a'))", "D.default_convert(np.array(['a']))",
    "D.default_convert(np.array(1.0))", "D.default_convert((np.zeros(2), 1))", "D.default_convert(Point(np.zeros(2), 1))",
    "D.default_convert(MyMap({'a': np.zeros(2)}))", "D.default_convert(MySeq([np.zeros(2)]))",
    "D.default_convert(collections.UserList([np.zeros(1)]))", "D.default_convert(range(3))",
    "D.default_convert(np.ma.masked_array([1.0, 2.0], mask=[0, 1])).sum()", "D.default_convert(np.matrix([[1, 2]]))",
    "t.as_tensor(np.ma.masked_array([1.0, 2.0], mask=[0, 1])).sum()", "t.from_numpy(np.matrix([[1, 2]])).reshape(1, 1, 2)",
    # the collate_fn_map registry
    "D._utils.collate.collate([(1, 2), (3, 4)], collate_fn_map={int: lambda b, *, collate_fn_map: sum(b)})",
    "D._utils.collate.collate([{'a': 1.5}, {'a': 2.5}], collate_fn_map=D._utils.collate.default_collate_fn_map)",
    "D._utils.collate.collate([Point(1, 'a')], collate_fn_map={int: D._utils.collate.collate_int_fn, "
    "str: D._utils.collate.collate_str_fn})",
    "D._utils.collate.collate([1.5, 2.5], collate_fn_map={})", "D._utils.collate.collate([1, 2])",
    "D._utils.collate.collate([True, False], collate_fn_map={int: lambda b, *, collate_fn_map: 'int rule'})",
    "D._utils.collate.collate([np.zeros(2)] * 2, collate_fn_map={np.ndarray: D._utils.collate.collate_numpy_array_fn})",
    "D._utils.collate.default_collate([1.5])", "D._utils.collate.default_convert((np.zeros(1),))",
    "D._utils.collate.default_collate_err_msg_format", "D._utils.worker.get_worker_info()",
    # DataLoader: checks made when iterating
    "L(Sq(), timeout=1)", "L(Sq(), timeout=0.0)", "L(Sq(), num_workers=1, prefetch_factor=0, batch_size=2)",
    "L(Sq(), num_workers=1, prefetch_factor=-1)", "D.DataLoader(Sq(), num_workers=1, prefetch_factor=0).prefetch_factor",
    "L(Sq(), batch_sampler=[[0, 1], [4]], batch_size=1)", "L(Sq(), batch_sampler=[[0]], batch_size=None)",
    "len(D.DataLoader(Sq(), batch_sampler=iter([[0, 1]])))", "L(Items(), batch_size=3)", "L(Items(), batch_size=None)",
    "L([(np.zeros(2), 1)], batch_size=None)", "L([t.zeros(2), t.zeros(3)], batch_size=2)", "L(It(), batch_size=None)",
    "L(It(), sampler=[0])", "L(It(), batch_sampler=[[0]])", "len(D.DataLoader(SizedIt(7), batch_size=3, drop_last=True))",
    "len(D.DataLoader(SizedIt(7), batch_size=None))", "L(It(0), batch_size=2)", "L(Split(), num_workers=2, batch_size=4)",
    "L(D.TensorDataset(t.arange(6)), num_workers=2, batch_size=4, drop_last=True)",
    "type(D.DataLoader(It()).sampler).__name__", "D.DataLoader(Sq(), batch_sampler=[[0]]).batch_size",
    "setattr(D.DataLoader(Sq()), 'batch_size', 3)", "L(range(5), batch_size=2, generator=3)",
    "sorted(sum([b.tolist() for b in D.DataLoader(range(9), batch_size=2, shuffle=True)], []))",
    # samplers
    "list(D.SequentialSampler(5))", "D.RandomSampler(range(4), num_samples=True)", "list(D.RandomSampler([], num_samples=3))",
    "sorted(collections.Counter(D.RandomSampler(range(4), num_samples=10, generator=G())).values())",
    "len(list(D.RandomSampler(range(4), replacement=True, num_samples=70, generator=G())))",
    "list(D.RandomSampler(range(4), generator=3))", "sorted(D.SubsetRandomSampler(t.tensor([4, 2]), generator=G()))",
    "type(next(iter(D.SubsetRandomSampler(t.tensor([4, 2]), generator=G())))).__name__",
    "D.WeightedRandomSampler('ab', 2)", "D.WeightedRandomSampler([1, 'a'], 2)", "D.WeightedRandomSampler(1.0, 2)",
    "D.WeightedRandomSampler([[1.0, 2.0]], 2)", "D.WeightedRandomSampler(t.tensor([1, 2]), 2).weights",
    "D.WeightedRandomSampler(np.array([1, 2], np.float32), 2).weights", "list(D.WeightedRandomSampler([0.0, 1.0], 3))",
    "list(D.WeightedRandomSampler([1.0, 0.0], 2, replacement=False))", "D.WeightedRandomSampler([1.0, 2.0], np.int64(2))",
    "list(D.BatchSampler(range(5), 6, False))", "len(D.BatchSampler(iter(range(5)), 2, False))",
    "D.BatchSampler(range(5), np.int64(2), False)", "D.BatchSampler(range(5), 2, None)",
    # datasets
    "D.TensorDataset([1, 2])", "D.TensorDataset(np.zeros(2))", "D.TensorDataset(t.zeros(2), t.tensor(1))",
    "D.TensorDataset(t.zeros(2), np.zeros(2))", "D.TensorDataset(t.arange(3))[t.tensor([0, 2])]", "D.TensorDataset()[0]",
    "Bare()", "iter(Bare())", "D.IterableDataset()", "D.Dataset()[0]", "len(D.Dataset())",
    "D.Subset(t.arange(5) * 10, [2, 0])[[0, 1]]", "D.Subset(Items(), [3, 1]).__getitems__([0, 1])",
    "L(D.Subset(Items(), [3, 1]), batch_size=2)", "[D.ConcatDataset([[1, 2], [3, 4, 5]])[i] for i in range(-5, 0)]",
    "D.ConcatDataset([[1, 2], [3, 4, 5]])[-6]", "D.ConcatDataset([[], []])[0]", "D.ConcatDataset([[1], It()])",
    "D.ConcatDataset([[1, 2], [3]])[t.tensor(1)]", "(D.TensorDataset(t.arange(2)) + D.TensorDataset(t.arange(3)))[4]",
    "list(It(2) + It(3))", "list(It() + [1])", "len(D.ChainDataset([It(2), SizedIt(3)]))",
    "L(D.ChainDataset([It(2), It(3)]), batch_size=2, num_workers=2)", "D.StackDataset([1, 2], b=[3, 4])",
    "L(D.StackDataset(Items(), [1, 2, 3, 4]), batch_size=2)", "L(D.StackDataset(x=t.arange(3), y=[1.5, 2.5, 3.5]), batch_size=2)",
    "[len(p) for p in D.random_split(range(10), [0.5, 0.5, 0.0], generator=G())]",
    "sorted(sum([list(p.indices) for p in D.random_split(range(10), [3, 7], generator=G())], []))",
    "[len(p) for p in D.random_split(range(10), t.tensor([3, 7]), generator=G())]",
    "[len(p) for p in D.random_split([], [0.5, 0.5], generator=G())]", "D.random_split(range(10), [True, 9], generator=G())",
    "D.random_split(range(5), [float('nan'), 1.0], generator=G())", "D.random_split(It(), [3, 2], generator=G())",
    "sorted(sum([list(D.DistributedSampler(range(9), num_replicas=3, rank=r, seed=5)) for r in range(3)], []))",
    # generic classes, as PyTorch's (annotations such as DataLoader[int] are evaluated at run time)
    "type(D.DataLoader[int]).__name__", "type(D.Sampler[int]).__name__", "type(D.DistributedSampler[int]).__name__",
    "type(D.IterableDataset[int]).__name__", "type(D.ChainDataset[int]).__name__", "type(D.StackDataset[tuple]).__name__",
    "type(D.Subset[int]).__name__", "D.TensorDataset[int]", "D.RandomSampler[int]", "D.BatchSampler[int]",
    "[c.__name__ for c in D.IterableDataset.__mro__]", "[c.__name__ for c in D.SequentialSampler.__mro__]",
]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # PyTorch's own __del__ noise
@pytest.mark.parametrize("src", PROBES)
def test_probe_matches_torch(src):
    assert _outcome(ember, src) == _outcome(torch, src)


def test_extending_default_collate_fn_map_matches_torch():
    """A rule added to ``default_collate_fn_map`` is used by ``default_collate`` (PyTorch's extension point)."""
    class Box:
        def __init__(self, v):
            self.v = v

    def run(m):
        from importlib import import_module

        fn_map = import_module(m.__name__ + ".utils.data._utils.collate").default_collate_fn_map
        fn_map[Box] = lambda batch, *, collate_fn_map: sum(b.v for b in batch)
        try:
            return _norm(m.utils.data.default_collate([{"b": Box(1), "x": 1.5}, {"b": Box(2), "x": 2.5}]))
        finally:
            del fn_map[Box]
    assert run(ember) == run(torch)
    with pytest.raises(TypeError):
        ember.utils.data.default_collate([Box(1)])  # the rule is gone again


def test_iterable_length_warning_matches_torch():
    """Iterating past the length ``len(loader)`` reported warns, as PyTorch does."""
    def run(m):
        class Stream(m.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(4))

            def __len__(self):
                return 2

        loader = m.utils.data.DataLoader(Stream(), batch_size=None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            quiet = list(loader)  # len() not asked: no warning
            len(loader)
            loud = list(loader)
        msgs = [str(w.message).split(" was reported ")[1] for w in caught if "IterableDataset" in str(w.message)]
        return len(quiet), len(loud), msgs
    assert run(ember) == run(torch)


def test_subclass_without_iter_cannot_be_instantiated():
    for m in (torch, ember):
        class Bare(m.utils.data.IterableDataset):
            pass

        with pytest.raises(TypeError, match="Can't instantiate abstract class"):
            Bare()


def test_generic_subclasses_work():
    """Typed subclasses, as real programs write them."""
    from ember.utils.data import DataLoader, Dataset, Sampler

    class Evens(Sampler[int]):
        def __iter__(self):
            return iter([0, 2])

        def __len__(self):
            return 2

    class Ds(Dataset[int]):
        def __getitem__(self, i):
            return i

        def __len__(self):
            return 3

    def first(loader: DataLoader[int]) -> list:
        return [b.tolist() for b in loader]

    assert first(DataLoader(Ds(), sampler=Evens(), batch_size=2)) == [[0, 2]]
