"""ember.multiprocessing: shared CPU tensors across processes, spawn, and Hogwild training.

References are independent of the code under test: PyTorch's own ``torch.multiprocessing`` for the
API and errors, known values written by the children, and the accuracy of a model trained on
the real MNIST test split.
"""

from __future__ import annotations

import os
import sys

import ember
import ember.multiprocessing as emp
import numpy as np
import pytest
from ember.vision import datasets
from ember.vision.datasets import read_idx

torch = pytest.importorskip("torch")

METHODS = [m for m in ("fork", "spawn") if m in emp.get_all_start_methods()]


# ---- children (module level, so spawned processes can import them) ---------------------------------
def _add_rank(rank, t):
    # each child writes its own half: two children adding into the same elements would race (a
    # read-modify-write each), and one child's add could be lost, in PyTorch as here
    half = t.shape[0] // 2
    t[rank * half:(rank + 1) * half].add_(rank + 1)


def _bump_params(model):
    with ember.no_grad():
        for p in model.parameters():
            p.add_(10.0)


def _fill_from_queue(q, done):
    t = q.get(timeout=60)
    t.fill_(7.0)
    done.put(int(t.is_shared()))


def _raise_value_error(rank):
    raise ValueError(f"rank {rank} failed on purpose")


def _exit_with(rank, code):
    if rank == 1:
        sys.exit(code)


def _kill_self(rank):
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def _mnist(n0: int, n1: int) -> tuple[ember.Tensor, ember.Tensor]:
    images = read_idx(datasets.SAMPLE_DIR / "t10k-images-idx3-ubyte.gz")[n0:n1].reshape(-1, 784)
    labels = read_idx(datasets.SAMPLE_DIR / "t10k-labels-idx1-ubyte.gz")[n0:n1]
    x = ember.from_numpy(((images.astype(np.float32) / 255.0) - 0.1307) / 0.3081)
    return x, ember.from_numpy(labels.astype(np.int64))


def _hogwild_train(rank, model, nprocs):
    ember.manual_seed(rank)
    x, y = _mnist(rank * 4000 // nprocs, (rank + 1) * 4000 // nprocs)
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    for _ in range(2):
        for i in range(0, len(y), 50):
            opt.zero_grad()
            loss = ember.nn.functional.cross_entropy(model(x[i:i + 50]), y[i:i + 50])
            loss.backward()
            opt.step()


def _accuracy(model) -> float:
    x, y = _mnist(8000, 10000)
    with ember.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


# ---- API ----------------------------------------------------------------------------------------------
def test_the_standard_names_and_the_strategies_match_torch():
    import torch.multiprocessing as tmp

    assert set(tmp.__all__) <= set(emp.__all__)
    for name in tmp.__all__:
        assert hasattr(emp, name), name
    assert emp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert emp.get_sharing_strategy() == tmp.get_sharing_strategy() == "file_descriptor"
    with pytest.raises(AssertionError) as ours:
        emp.set_sharing_strategy("bogus")
    with pytest.raises(AssertionError) as theirs:
        tmp.set_sharing_strategy("bogus")
    assert str(ours.value) == str(theirs.value)
    for name in ("spawn", "start_processes", "ProcessContext", "ProcessRaisedException", "ProcessExitedException"):
        assert hasattr(emp, name) and hasattr(tmp, name), name


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool", "float16", "bfloat16", "complex64"])
@pytest.mark.parametrize("shape", [(3, 4), (), (0, 5)])
def test_share_memory_keeps_values_and_reports_shared(dtype, shape):
    rng = np.random.default_rng(0)
    ref = torch.from_numpy(rng.standard_normal(shape)).to(getattr(torch, dtype))
    t = ember.tensor(ref.to(torch.float64).numpy() if dtype == "bfloat16" else ref.numpy(),
                     dtype=getattr(ember, dtype)) if dtype != "complex64" else ember.from_numpy(ref.numpy().copy())
    assert t.is_shared() is False and ref.is_shared() is False
    out = t.share_memory_()
    ref.share_memory_()
    assert out is t
    assert t.is_shared() is ref.is_shared() is True
    assert t.dtype == getattr(ember, dtype) and tuple(t.shape) == tuple(ref.shape)
    assert t.to(ember.float64).tolist() == ref.to(torch.float64).tolist() if "complex" not in dtype else \
        t.tolist() == ref.tolist()
    assert t.share_memory_() is t  # again: a no-op


def test_a_view_is_shared_with_its_base():
    base = ember.tensor(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    view = base[1:, ::2]
    view.share_memory_()
    assert base.is_shared() and view.is_shared()
    view.fill_(-1.0)  # the view still writes into its base
    expected = torch.arange(12.0).reshape(3, 4)
    expected[1:, ::2] = -1.0
    assert base.tolist() == expected.tolist()


def test_module_share_memory_moves_parameters_and_buffers():
    model = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.BatchNorm1d(2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert model.share_memory() is model
    for name, value in model.state_dict().items():
        assert value.is_shared(), name
        assert value.tolist() == before[name].tolist()
    assert isinstance(model[0].weight, ember.nn.Parameter) and model[0].weight.requires_grad


def test_share_memory_on_opencl_is_refused():
    if "opencl" not in [b for b in ("opencl",) if ember.plugins.backend(b).is_available()]:
        pytest.skip("no OpenCL device")
    t = ember.ones(2, device="opencl")
    with pytest.raises(RuntimeError, match="opencl"):
        t.share_memory_()
    assert t.is_shared() is False


def test_a_non_leaf_tensor_that_requires_grad_cannot_be_sent():
    from multiprocessing.reduction import ForkingPickler

    x = ember.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError) as ours:
        ForkingPickler.dumps(x)
    with pytest.raises(RuntimeError) as theirs:
        ForkingPickler.dumps(torch.ones(2, requires_grad=True) * 2)
    assert str(ours.value) == str(theirs.value)


# ---- across processes ------------------------------------------------------------------------------
@pytest.fixture(params=["file_descriptor", "file_system"])
def strategy(request):
    old = emp.get_sharing_strategy()
    emp.set_sharing_strategy(request.param)
    yield request.param
    emp.set_sharing_strategy(old)


@pytest.mark.parametrize("method", METHODS)
def test_children_write_into_the_parents_tensor(method, strategy):
    t = ember.zeros(4).share_memory_()
    emp.start_processes(_add_rank, args=(t,), nprocs=2, start_method=method)
    assert t.tolist() == [1.0, 1.0, 2.0, 2.0]  # each child added its rank + 1 into its half


@pytest.mark.parametrize("method", METHODS)
def test_a_shared_model_is_updated_by_its_children(method):
    ctx = emp.get_context(method)
    model = ember.nn.Linear(2, 3)
    model.share_memory()
    before = [p.detach().clone() for p in model.parameters()]
    procs = [ctx.Process(target=_bump_params, args=(model,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.detach().numpy(), b.numpy() + 20.0, rtol=1e-6)


def test_a_shared_tensor_sent_through_a_queue_is_the_same_memory(strategy):
    ctx = emp.get_context("spawn")
    q, done = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_fill_from_queue, args=(q, done))
    proc.start()
    t = ember.zeros(5).share_memory_()
    q.put(t)
    assert done.get(timeout=120) == 1  # the child's tensor is shared too
    proc.join()
    assert proc.exitcode == 0
    assert t.tolist() == [7.0] * 5


def test_an_unshared_tensor_is_sent_by_value():
    ctx = emp.get_context("spawn")
    q, done = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_fill_from_queue, args=(q, done))
    proc.start()
    t = ember.zeros(5)
    q.put(t)
    assert done.get(timeout=120) == 0
    proc.join()
    assert t.tolist() == [0.0] * 5


def test_a_named_file_is_removed_with_the_last_tensor():
    emp.set_sharing_strategy("file_system")
    try:
        from ember.multiprocessing import reductions

        t = ember.ones(1000).share_memory_()
        names = [b.name for b in reductions._blocks.values() if b.name is not None]
        assert names and all(os.path.exists(n) for n in names)
        del t
        import gc

        gc.collect()
        assert not any(os.path.exists(n) for n in names)
    finally:
        emp.set_sharing_strategy("file_descriptor")


# ---- spawn --------------------------------------------------------------------------------------------
def test_spawn_raises_the_childs_exception_with_its_traceback():
    with pytest.raises(emp.ProcessRaisedException) as info:
        emp.spawn(_raise_value_error, nprocs=2)
    assert "ValueError: rank" in str(info.value) and "failed on purpose" in str(info.value)
    assert "terminated with the following error" in str(info.value)
    assert info.value.error_index in (0, 1)


def test_spawn_reports_an_exit_code_and_a_signal():
    with pytest.raises(emp.ProcessExitedException) as info:
        emp.spawn(_exit_with, args=(3,), nprocs=2)
    assert str(info.value) == "process 1 terminated with exit code 3"
    assert info.value.exit_code == 3 and info.value.error_index == 1
    with pytest.raises(emp.ProcessExitedException) as info:
        emp.spawn(_kill_self, nprocs=1)
    assert str(info.value) == "process 0 terminated with signal SIGKILL"
    assert info.value.signal_name == "SIGKILL"


def test_spawn_without_join_returns_a_context():
    t = ember.zeros(2).share_memory_()
    ctx = emp.spawn(_add_rank, args=(t,), nprocs=2, join=False)
    assert isinstance(ctx, emp.ProcessContext) and len(ctx.pids()) == 2
    while not ctx.join():
        pass
    assert t.tolist() == [1.0, 2.0]


# ---- Hogwild ------------------------------------------------------------------------------------------
def _net():
    ember.manual_seed(0)
    return ember.nn.Sequential(ember.nn.Linear(784, 64), ember.nn.ReLU(), ember.nn.Linear(64, 10))


def test_hogwild_training_reaches_the_parents_model():
    """Two processes train one shared model on disjoint MNIST shards (PyTorch's mnist_hogwild
    pattern); the parent's model learns. Without share_memory() it would not change at all."""
    unshared = _net()
    start = [p.detach().clone() for p in unshared.parameters()]
    emp.spawn(_hogwild_train, args=(unshared, 2), nprocs=2)
    assert all(np.array_equal(p.detach().numpy(), s.numpy()) for p, s in zip(unshared.parameters(), start))
    chance = _accuracy(unshared)

    model = _net()
    model.share_memory()
    emp.spawn(_hogwild_train, args=(model, 2), nprocs=2)
    assert _accuracy(model) > 0.8 > chance


def test_adagrad_share_memory_shares_its_sums_as_torch():
    p = ember.nn.Parameter(ember.ones(3))
    opt = ember.optim.Adagrad([p], lr=0.1, initial_accumulator_value=0.5)
    tp = torch.nn.Parameter(torch.ones(3))
    topt = torch.optim.Adagrad([tp], lr=0.1, initial_accumulator_value=0.5)
    assert opt.state[p]["sum"].is_shared() is topt.state[tp]["sum"].is_shared() is False
    opt.share_memory()
    topt.share_memory()
    assert opt.state[p]["sum"].is_shared() is topt.state[tp]["sum"].is_shared() is True
    p.grad, tp.grad = ember.full((3,), 2.0), torch.full((3,), 2.0)
    opt.step()
    topt.step()
    np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(opt.state[p]["sum"].numpy(), topt.state[tp]["sum"].numpy(), rtol=1e-6)
    assert opt.state[p]["sum"].is_shared() and p.is_shared() is tp.is_shared() is False  # updated in place
