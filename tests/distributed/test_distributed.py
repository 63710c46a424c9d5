"""ember.distributed with 2 processes on this machine, started by ``python -m ember.distributed.run``.

The 2-process programs are in ``_cases.py`` (they check values against NumPy and a single-process
run); each launch here is bounded by a timeout, so a hang fails the test instead of the CI job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import ember
import ember.distributed as dist
import numpy as np
import pytest
from ember.distributed.run import find_mpiexec

CASES = os.path.join(os.path.dirname(__file__), "_cases.py")
DEVICES = [d for d in ("cpu", "opencl") if d == "cpu" or ember.plugins.backend(d) is not None
           and ember.plugins.backend(d).is_available()]


def _launch(*args: str, device: str = "cpu", timeout: float = 150) -> tuple[int, str, float]:
    """Run the launcher on _cases.py; (exit code, output, seconds). Kills the whole job on timeout."""
    env = {**os.environ, "CASE_DEVICE": device}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", CASES, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"the launcher did not finish within {timeout} s:\n{out}")
    return proc.returncode, out, time.monotonic() - t0


@pytest.fixture
def mpi():
    """Skips where mpi4py or mpiexec is missing (pip install 'ember[distributed]'; [dev] has both)."""
    pytest.importorskip("mpi4py")
    try:
        find_mpiexec()
    except SystemExit as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("device", DEVICES)
def test_collectives_mismatch_and_ddp(mpi, device):
    """Every collective's values vs NumPy; mismatched shapes/dtypes raise on every rank; DDP over a
    DistributedSampler split ends where one process on the whole batch does, identically on each rank."""
    rc, out, _ = _launch("everything", device=device)
    assert rc == 0, out
    assert "OK 0" in out and "OK 1" in out, out


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_job_naming_it(mpi, how):
    rc, out, seconds = _launch("fail", how, "60")
    assert rc != 0, out
    cause = "ValueError: rank one gives up" if how == "raise" else "killed by SIGKILL"
    assert f"ember.distributed.run: rank 1 (local_rank 1) failed first: {cause}" in out, out
    # rank 0, blocked in all_reduce, fails with an error that names rank 1 (it does not wait 60 s)
    assert "rank 0 saw: all_reduce (rank 0): rank 1 " in out, out
    assert "not reached" not in out and seconds < 60, (seconds, out)


def test_a_hung_rank_times_out(mpi):
    rc, out, seconds = _launch("fail", "hang", "3")
    assert rc != 0, out
    assert "rank 0 saw: all_reduce (rank 0): timed out after 3 s waiting for the other ranks (1)" in out, out
    assert seconds < 60, (seconds, out)


# ---- in this process: a world of one, the sampler, the hook DDP relies on ----------------------------
def test_world_of_one(mpi):
    assert dist.is_available() and not dist.is_initialized()
    dist.init_process_group("gloo")
    try:
        assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
        assert dist.get_backend() == "gloo"
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("gloo")
        t = ember.tensor([1.0, -2.0])
        work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
        assert work.wait() and work.is_completed() and t.tolist() == [1.0, -2.0]
        out = ember.zeros(2, 2).t()[:1]  # non-contiguous in and out: staged and written back
        dist.all_gather_into_tensor(out, t.reshape(2, 1).t())
        assert out.tolist() == [[1.0, -2.0]]
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("smoke-signals")


def test_world_size_must_come_from_the_launcher(mpi):
    with pytest.raises(ValueError, match="ember.distributed.run --nproc-per-node 2"):
        dist.init_process_group("gloo", world_size=2, rank=0)
    assert not dist.is_initialized()


def test_post_accumulate_grad_hook_matches_torch():
    torch = pytest.importorskip("torch")
    seen = {}
    for lib in (ember, torch):
        w = lib.ones(3, requires_grad=True)
        calls = []
        h = w.register_post_accumulate_grad_hook(lambda p, calls=calls: calls.append(p.grad.tolist()))
        (w * 2).sum().backward()
        (w * 3).sum().backward()
        h.remove()
        (w * 3).sum().backward()
        seen[lib.__name__] = calls
        with pytest.raises(RuntimeError):
            (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    assert seen["ember"] == seen["torch"] == [[2.0] * 3, [5.0] * 3]


@pytest.mark.parametrize("n", [0, 1, 5, 7, 10])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_matches_torch(n, replicas, drop_last):
    pytest.importorskip("torch")
    from ember.utils.data import DistributedSampler
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    shuffled = []
    for rank in range(replicas):
        mine = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(mine) == list(theirs) and len(mine) == len(theirs)
        # shuffled: the generators differ (ember's is not PyTorch's), so compare what the order must satisfy
        s = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=3, drop_last=drop_last)
        t = TorchSampler(range(n), replicas, rank, shuffle=True, seed=3, drop_last=drop_last)
        assert len(list(s)) == len(list(t)) == len(s) and list(s) == list(s)  # same length, deterministic
        shuffled.append(list(s))
    every = [i for shard in shuffled for i in shard]
    if drop_last:  # disjoint shards of equal size
        assert len(set(every)) == len(every) == (n // replicas) * replicas
    else:  # the whole dataset, padded by repeating indices up to a multiple of the ranks
        assert set(every) == set(range(n)) and len(every) == -(-n // replicas) * replicas
    with pytest.raises(ValueError, match="Invalid rank 2, rank should be in the interval"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


def test_distributed_sampler_shuffles_per_epoch():
    from ember.utils.data import DistributedSampler

    s = DistributedSampler(range(50), num_replicas=2, rank=0, seed=1)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first and sorted(set(first)) != first
    s.set_epoch(0)
    assert list(s) == first
    assert np.all(np.array(first) < 50)


def test_ember_train_nproc_2(mpi, tmp_path, capsys):
    """``ember train --nproc 2``: two processes, one report (rank 0), the checkpoint of the global batch."""
    args = ["train", "--device", "cpu", "--model", "mlp", "--limit", "64", "--batch-size", "16", "--epochs", "1"]
    res = subprocess.run([sys.executable, "-m", "ember", *args, "--nproc", "2", "--save", "ddp.ember"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=150)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("final test accuracy") == 1, res.stdout  # rank 1 reports nothing
    ck = ember.load(str(tmp_path / "ddp.ember"))
    assert ck["epoch"] == 1 and ck["history"][0]["train_loss"] > 0
    from ember.cli import main

    assert main([*args, "--nproc", "3"]) == 2  # checked before any process starts
    assert "does not split evenly into --nproc 3" in capsys.readouterr().err


def test_launcher_environment_no_python(mpi):
    """torchrun's variables reach every process, also a program started with --no-python."""
    res = subprocess.run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", "2", "--master-port",
                          "29611", "--no-python", "sh", "-c",
                          "echo R=$RANK L=$LOCAL_RANK W=$WORLD_SIZE LW=$LOCAL_WORLD_SIZE $MASTER_ADDR:$MASTER_PORT; "
                          "exit $RANK"], capture_output=True, text=True, timeout=60)
    assert sorted(res.stdout.split("\n"))[1:] == ["R=0 L=0 W=2 LW=2 127.0.0.1:29611",
                                                  "R=1 L=1 W=2 LW=2 127.0.0.1:29611"], res.stdout
    assert res.returncode != 0  # rank 1 exited with 1
