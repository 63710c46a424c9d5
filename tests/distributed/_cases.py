"""Programs the distributed tests start in 2 processes: ``python -m ember.distributed.run --nproc-per-node 2
_cases.py CASE [args]``. Each checks its values against NumPy (never against ember itself) and
prints ``OK <rank>`` at the end; the failure cases exit the way their names say."""

from __future__ import annotations

import os
import signal
import sys
import time

import ember
import ember.distributed as dist
import numpy as np


def _dev() -> str:
    return os.environ.get("CASE_DEVICE", "cpu")


def _close(t, expected, tol=1e-6) -> None:
    got = t.detach().cpu().numpy()
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(expected, np.float64), rtol=tol, atol=tol)


def collectives() -> None:
    dist.init_process_group("gloo", timeout=30)
    r, n, dev = dist.get_rank(), dist.get_world_size(), _dev()
    assert n == 2 and os.environ["RANK"] == str(r) and os.environ["LOCAL_RANK"] == str(r)
    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    vals = [base * (k + 1) - k for k in range(n)]  # rank k's data
    stack = np.stack(vals)
    for op, ref in [(dist.ReduceOp.SUM, stack.sum(0)), (dist.ReduceOp.AVG, stack.mean(0)),
                    (dist.ReduceOp.MAX, stack.max(0)), (dist.ReduceOp.MIN, stack.min(0)),
                    (dist.ReduceOp.PRODUCT, stack.prod(0))]:
        t = ember.tensor(vals[r], device=dev)
        dist.all_reduce(t, op=op)
        _close(t, ref)
    # integer, float64, bfloat16 (reduced in float32), a non-contiguous view (copied back into place)
    t = ember.tensor(np.array([1, 2, 3], np.int64) * (r + 1), device=dev)
    dist.all_reduce(t)
    assert t.dtype == ember.int64 and t.tolist() == [3, 6, 9]
    t = ember.tensor([0.5, 1.5], dtype=ember.bfloat16, device=dev)
    dist.all_reduce(t)
    assert t.dtype == ember.bfloat16 and t.float().tolist() == [1.0, 3.0]
    full = ember.tensor(vals[r], device=dev)
    view = full.t()
    dist.all_reduce(view)
    _close(full, stack.sum(0))
    # async: a work handle
    t = ember.tensor(vals[r], device=dev)
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() is True and work.is_completed()
    _close(t, stack.sum(0))
    # broadcast / reduce
    t = ember.tensor(vals[r], device=dev)
    dist.broadcast(t, src=1)
    _close(t, vals[1])
    t = ember.tensor(vals[r], device=dev)
    dist.reduce(t, dst=0, op=dist.ReduceOp.MAX)
    _close(t, stack.max(0) if r == 0 else vals[r])
    # all_gather, all_gather_into_tensor, reduce_scatter_tensor
    outs = [ember.zeros(2, 3, device=dev) for _ in range(n)]
    dist.all_gather(outs, ember.tensor(vals[r], device=dev))
    for k in range(n):
        _close(outs[k], vals[k])
    out = ember.zeros(2 * n, 3, device=dev)
    dist.all_gather_into_tensor(out, ember.tensor(vals[r], device=dev))
    _close(out, np.concatenate(vals))
    big = [np.arange(8, dtype=np.float32).reshape(4, 2) + 10 * k for k in range(n)]
    out = ember.zeros(2, 2, device=dev)
    dist.reduce_scatter_tensor(out, ember.tensor(big[r], device=dev))
    _close(out, (big[0] + big[1])[2 * r: 2 * r + 2])
    # gather / scatter
    t = ember.tensor(vals[r], device=dev)
    glist = [ember.zeros(2, 3, device=dev) for _ in range(n)] if r == 0 else None
    dist.gather(t, glist, dst=0)
    if r == 0:
        for k in range(n):
            _close(glist[k], vals[k])
    t = ember.zeros(2, 3, device=dev)
    dist.scatter(t, [ember.tensor(v, device=dev) for v in vals] if r == 1 else None, src=1)
    _close(t, vals[r])
    # point to point, blocking and not
    if r == 0:
        dist.send(ember.tensor(vals[0], device=dev), dst=1)
        w = dist.irecv(t := ember.zeros(2, 3, device=dev), src=1, tag=7)
        w.wait()
        _close(t, vals[1] * 2)
    else:
        t = ember.zeros(2, 3, device=dev)
        assert dist.recv(t, src=0) == 0
        _close(t, vals[0])
        dist.isend(ember.tensor(vals[1] * 2, device=dev), dst=0, tag=7).wait()
    # groups, objects, barrier
    g = dist.new_group([1])
    if r == 1:
        assert dist.get_rank(g) == 0 and dist.get_world_size(g) == 1
        t = ember.ones(2, device=dev)
        dist.all_reduce(t, group=g)
        _close(t, [1, 1])
    else:
        assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    objs = [None] * n
    dist.all_gather_object(objs, {"rank": r})
    assert objs == [{"rank": 0}, {"rank": 1}]
    lst = [r, "x"] if r == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    assert lst == [0, "x"]
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    sys.stdout.write(f"OK {r}\n")  # one write: the ranks share the pipe, unbuffered (-u)
    sys.stdout.flush()


def exchange() -> None:
    """all_to_all_single/all_to_all (equal and uneven splits), batch_isend_irecv and the object
    collectives, against NumPy; split sizes that disagree between sender and receiver raise on both."""
    dist.init_process_group("gloo", timeout=30)
    r, n, dev = dist.get_rank(), dist.get_world_size(), _dev()
    rows = [np.arange(4 * 3, dtype=np.float32).reshape(4, 3) + 100 * k for k in range(n)]  # rank k's input
    out = ember.zeros(4, 3, device=dev)
    dist.all_to_all_single(out, ember.tensor(rows[r], device=dev))
    _close(out, np.concatenate([rows[k][2 * r:2 * r + 2] for k in range(n)]))
    # uneven: rank k sends k + 1 rows to rank 0 and 3 - k rows to rank 1
    sends = [[k + 1, 3 - k] for k in range(n)]
    recv = [sends[k][r] for k in range(n)]
    out = ember.zeros(sum(recv), 3, device=dev)
    work = dist.all_to_all_single(out, ember.tensor(rows[r], device=dev), recv, sends[r], async_op=True)
    work.wait()
    offs = [np.cumsum([0] + sends[k]) for k in range(n)]
    _close(out, np.concatenate([rows[k][offs[k][r]:offs[k][r + 1]] for k in range(n)]))
    try:  # rank 1 expects 2 rows from rank 0, which sends it 3
        dist.all_to_all_single(ember.zeros(4, 3), ember.tensor(rows[r]), [2, 2], [1, 3] if r == 0 else [2, 2])
    except RuntimeError as e:
        assert "sends" in str(e) and "expects" in str(e), e
    else:
        raise AssertionError("mismatched split sizes did not raise")
    # all_to_all: lists of tensors of different shapes
    ins = [ember.full((k + 1, r + 1), float(10 * r + k), device=dev) for k in range(n)]
    outs = [ember.zeros(r + 1, k + 1, device=dev) for k in range(n)]
    dist.all_to_all(outs, ins)
    for k in range(n):
        _close(outs[k], np.full((r + 1, k + 1), 10 * k + r))
    # batched point to point: a ring
    send = ember.tensor(rows[r], device=dev)
    got = ember.zeros(4, 3, device=dev)
    ops = [dist.P2POp(dist.irecv, got, (r - 1) % n), dist.P2POp(dist.isend, send, (r + 1) % n)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    _close(got, rows[(r - 1) % n])
    # objects
    gathered = [None] * n if r == 1 else None
    dist.gather_object({"r": r, "s": "x" * (r * 50)}, gathered, dst=1)
    if r == 1:
        assert gathered == [{"r": k, "s": "x" * (k * 50)} for k in range(n)], gathered
    mine = [None]
    dist.scatter_object_list(mine, [("a", 1), {"b": [2] * 40}] if r == 0 else None, src=0)
    assert mine[0] == [("a", 1), {"b": [2] * 40}][r], mine
    if r == 0:
        dist.send_object_list([1, "two", {3: 4.0}], dst=1)
    else:
        lst = [None, None, None]
        assert dist.recv_object_list(lst) == 0 and lst == [1, "two", {3: 4.0}], lst
    cur, subs = dist.new_subgroups(group_size=1)
    assert len(subs) == n and dist.get_process_group_ranks(cur) == [r]
    dist.monitored_barrier(timeout=__import__("datetime").timedelta(seconds=20))
    dist.destroy_process_group()
    sys.stdout.write(f"OK {r}\n")  # one write: the ranks share the pipe, unbuffered (-u)
    sys.stdout.flush()


def mismatch() -> None:
    dist.init_process_group("gloo", timeout=30)
    r = dist.get_rank()
    for bad in (ember.ones(3 + r), ember.ones(3, dtype=ember.float32 if r == 0 else ember.float64)):
        try:
            dist.all_reduce(bad)
        except RuntimeError as e:
            assert "rank 0" in str(e) and "rank 1" in str(e), e
        else:
            raise AssertionError("a mismatched all_reduce did not raise")
    try:  # different collectives on the two ranks
        dist.all_reduce(ember.ones(2)) if r == 0 else dist.broadcast(ember.ones(2), src=0)
    except RuntimeError as e:
        assert "all_reduce SUM float32[2]" in str(e) and "broadcast root=0 float32[2]" in str(e), e
    else:
        raise AssertionError("mismatched collectives did not raise")
    dist.all_reduce(ok := ember.ones(2))  # the group still works afterwards
    assert ok.tolist() == [2.0, 2.0]
    dist.destroy_process_group()
    sys.stdout.write(f"OK {r}\n")  # one write: the ranks share the pipe, unbuffered (-u)
    sys.stdout.flush()


def fail() -> None:
    how = sys.argv[2]
    dist.init_process_group("gloo", timeout=float(sys.argv[3]) if len(sys.argv) > 3 else 60)
    r = dist.get_rank()
    x = ember.ones(4)  # the backend is loaded before the failure, so rank 0 is waiting when it comes
    dist.barrier()
    if r == 1:
        if how == "raise":
            raise ValueError("rank one gives up")
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "exit":
            sys.exit(3)
        if how == "hang":
            time.sleep(120)
    try:
        dist.all_reduce(x)
    except dist.DistBackendError as e:
        print(f"rank 0 saw: {e}", flush=True)
        raise
    print("not reached", flush=True)


def _mlp(seed: int, dev: str):
    ember.manual_seed(seed)
    return ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Tanh(), ember.nn.Linear(8, 3)).to(dev)


def _flat(model) -> np.ndarray:
    return np.concatenate([p.detach().cpu().numpy().ravel() for p in model.parameters()])


def ddp() -> None:
    """DDP on a DistributedSampler share of the batch == one process on the whole batch."""
    from ember.nn.parallel import DistributedDataParallel as DDP
    from ember.utils.data.distributed import DistributedSampler

    dist.init_process_group("gloo", timeout=30)
    r, n, dev = dist.get_rank(), dist.get_world_size(), _dev()
    rng = np.random.default_rng(0)
    x_all = rng.standard_normal((16, 4)).astype(np.float32)
    y_all = rng.standard_normal((16, 3)).astype(np.float32)
    model = DDP(_mlp(seed=100 + r, dev=dev), bucket_cap_mb=0.0002)  # rank 1's own init is replaced by rank 0's
    assert len(model._buckets) > 1
    ref = _mlp(seed=100, dev=dev)  # the single process, from rank 0's initial weights
    np.testing.assert_array_equal(_flat(model.module), _flat(ref))
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    loss_fn = ember.nn.MSELoss()
    sampler = DistributedSampler(range(16), shuffle=False)
    mine = list(sampler)
    assert mine == list(range(r, 16, n))
    for step in range(3):
        opt.zero_grad()
        half = len(mine) // 2
        if step == 2:  # gradient accumulation: the first micro-batch without communication
            with model.no_sync():
                loss_fn(model(ember.tensor(x_all[mine[:half]], device=dev)),
                        ember.tensor(y_all[mine[:half]], device=dev)).backward()
            loss_fn(model(ember.tensor(x_all[mine[half:]], device=dev)),
                    ember.tensor(y_all[mine[half:]], device=dev)).backward()
        else:
            loss_fn(model(ember.tensor(x_all[mine], device=dev)), ember.tensor(y_all[mine], device=dev)).backward()
        opt.step()
        ref_opt.zero_grad()
        if step == 2:  # the same two micro-batches, each split evenly between the ranks
            for part in (slice(0, half), slice(half, None)):
                idx = [i for k in range(n) for i in list(range(k, 16, n))[part]]
                loss_fn(ref(ember.tensor(x_all[idx], device=dev)), ember.tensor(y_all[idx], device=dev)).backward()
        else:
            loss_fn(ref(ember.tensor(x_all, device=dev)), ember.tensor(y_all, device=dev)).backward()
        ref_opt.step()
    np.testing.assert_allclose(_flat(model.module), _flat(ref), rtol=1e-5, atol=1e-6)
    everyone = [None] * n
    dist.all_gather_object(everyone, _flat(model.module))
    for other in everyone:
        np.testing.assert_array_equal(other, everyone[0])
    # find_unused_parameters: a layer no rank uses keeps grad None, the rest are averaged
    net = ember.nn.ModuleDict({"used": ember.nn.Linear(2, 1), "unused": ember.nn.Linear(2, 1)}).to(dev)

    class Net(ember.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = net

        def forward(self, x):
            return self.body["used"](x)

    m = DDP(Net(), find_unused_parameters=True)
    m(ember.full((1, 2), float(r + 1), device=dev)).sum().backward()
    assert m.module.body["unused"].weight.grad is None
    _close(m.module.body["used"].weight.grad, [[1.5, 1.5]])
    dist.destroy_process_group()
    sys.stdout.write(f"OK {r}\n")  # one write: the ranks share the pipe, unbuffered (-u)
    sys.stdout.flush()


def sync_bn() -> None:
    """SyncBatchNorm over uneven shares of a batch (an empty one too) == PyTorch's BatchNorm on the
    whole batch: outputs, running statistics, input gradients; weight/bias gradients summed over ranks."""
    try:
        import torch
    except ImportError:  # the reference is PyTorch (a test-only dependency)
        return
    dist.init_process_group("gloo", timeout=30)
    r, dev = dist.get_rank(), _dev()
    assert dist.get_world_size() == 2
    rng = np.random.default_rng(5)
    ref = torch.nn.BatchNorm2d(3, momentum=None).double()
    net = ember.nn.SyncBatchNorm.convert_sync_batchnorm(ember.nn.Sequential(ember.nn.BatchNorm2d(3, momentum=None)))
    bn = net[0].double().to(dev)
    assert type(bn).__name__ == "SyncBatchNorm"
    w0, b0 = rng.standard_normal(3), rng.standard_normal(3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(w0))
        ref.bias.copy_(torch.tensor(b0))
    with ember.no_grad():
        bn.weight.copy_(ember.tensor(w0))
        bn.bias.copy_(ember.tensor(b0))
    for sizes in ((3, 5), (4, 0)):
        x_all = rng.standard_normal((sum(sizes), 3, 2, 3)) * 2 + 1
        g_all = rng.standard_normal(x_all.shape)
        lo = sum(sizes[:r])
        mine = slice(lo, lo + sizes[r])
        x = ember.tensor(x_all[mine], device=dev, requires_grad=True)
        out = bn(x)
        out.backward(ember.tensor(g_all[mine], device=dev))
        xt = torch.tensor(x_all, requires_grad=True)
        ref.weight.grad = ref.bias.grad = None
        outt = ref(xt)
        outt.backward(torch.tensor(g_all))
        _close(out, outt.detach().numpy()[mine], 1e-10)
        _close(x.grad, xt.grad.numpy()[mine], 1e-10)
        _close(bn.running_mean, ref.running_mean.numpy(), 1e-10)
        _close(bn.running_var, ref.running_var.numpy(), 1e-10)
        for mine_grad, full in ((bn.weight.grad, ref.weight.grad), (bn.bias.grad, ref.bias.grad)):
            total = mine_grad.detach().clone()
            dist.all_reduce(total)
            _close(total, full.numpy(), 1e-10)
            mine_grad.zero_()
    bn.eval()  # eval: the running statistics, no collective
    _close(bn(ember.tensor(x_all[:2], device=dev)), ref.eval()(torch.tensor(x_all[:2])).detach().numpy(), 1e-10)
    dist.destroy_process_group()


def everything() -> None:
    """One launch for the value tests (starting 2 Pythons costs seconds on a 2-core machine)."""
    collectives()
    exchange()
    mismatch()
    sync_bn()
    ddp()


if __name__ == "__main__":
    if _dev() == "cpu":
        globals()[sys.argv[1]]()
    else:
        with ember.fallback_policy("error"):  # as tests/conftest.py: no silent CPU fallback
            globals()[sys.argv[1]]()
