"""``python -m bench.distributed``: data-parallel throughput, all-reduce bandwidth and overlap.

Runs the MLP and LeNet training steps (batch 64 per process, DDP) with 1 and with ``--nproc``
processes, an all-reduce sweep over message sizes, and compares a DDP step with a local step plus
one all-reduce of all the gradients (the overlap: how much of the communication backward hid).
Prints a markdown section (for docs/distributed.md). Each configuration runs under
``python -m ember.distributed.run`` with OMP_NUM_THREADS=1, so 1 and N processes compare fairly.

    python -m bench.distributed --nproc 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SIZES = [4, 4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20]


def _median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def worker(steps: int) -> None:
    """One rank: prints one JSON line per measurement (rank 0 only)."""
    import ember
    import ember.distributed as dist
    from ember.cli.models import build_model
    from ember.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()

    def emit(**rec) -> None:
        if rank == 0:
            print("BENCH " + json.dumps({"world": world, **rec}), flush=True)

    for nbytes in SIZES:
        t = ember.ones(max(1, nbytes // 4))
        for _ in range(3):
            dist.all_reduce(t)
        dist.barrier()
        emit(kind="allreduce", bytes=nbytes, s=_median_time(lambda t=t: dist.all_reduce(t), 30))
    for name in ("mlp", "lenet"):
        ember.manual_seed(0)
        net = build_model(name)
        x, y = ember.randn(64, 1, 28, 28), ember.randint(0, 10, (64,))
        loss_fn = ember.nn.CrossEntropyLoss()
        for wrapped in (False, True):
            model = DDP(net) if wrapped else net
            opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

            def step(model=model, opt=opt, x=x, y=y, loss_fn=loss_fn) -> None:
                opt.zero_grad()
                loss_fn(model(x), y).backward()
                opt.step()

            for _ in range(3):
                step()
            dist.barrier()
            emit(kind="step", model=name, ddp=wrapped, s=_median_time(step, steps))
        flat = ember.zeros(sum(p.numel() for p in net.parameters()))
        dist.barrier()
        emit(kind="grad_allreduce", model=name, s=_median_time(lambda flat=flat: dist.all_reduce(flat), 10))
    dist.destroy_process_group()


def _run(nproc: int, steps: int) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", str(nproc), "-m",
                          "bench.distributed", "--worker", "--steps", str(steps)], env=env, capture_output=True,
                         text=True, timeout=600)
    if out.returncode:
        raise SystemExit(f"bench.distributed: the {nproc}-process run failed:\n{out.stdout}\n{out.stderr}")
    return [json.loads(line[6:]) for line in out.stdout.splitlines() if line.startswith("BENCH ")]


def render(recs: dict[int, list[dict]], nproc: int) -> str:
    def find(world: int, **kw) -> float:
        return next(r["s"] for r in recs[world] if all(r.get(k) == v for k, v in kw.items()))

    lines = [f"| step (batch 64 per process) | 1 process ms | {nproc} processes ms (DDP) | images/s 1 -> {nproc} "
             f"| speed-up | local step + gradient all-reduce, ms | hidden by backward |", "|---|---|---|---|---|---|---|"]
    for name in ("mlp", "lenet"):
        one, many = find(1, kind="step", model=name, ddp=False), find(nproc, kind="step", model=name, ddp=True)
        local, comm = find(nproc, kind="step", model=name, ddp=False), find(nproc, kind="grad_allreduce", model=name)
        hidden = max(0.0, min(1.0, (local + comm - many) / comm)) if comm > 0 else 0.0
        lines.append(f"| {name} | {one * 1e3:.1f} | {many * 1e3:.1f} | {64 / one:.0f} -> {64 * nproc / many:.0f} "
                     f"| {one * nproc / many:.2f}x | {local * 1e3:.1f} + {comm * 1e3:.2f} | {hidden:.0%} |")
    lines += ["", f"| all-reduce, {nproc} processes | time | bandwidth (bytes / time) |", "|---|---|---|"]
    for nbytes in SIZES:
        s = find(nproc, kind="allreduce", bytes=nbytes)
        lines.append(f"| {nbytes:,} B | {s * 1e6:.0f} us | {nbytes / s / 1e9:.3f} GB/s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--steps", type=int, default=15, help="timed steps per configuration (median)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.steps)
        return 0
    recs = {1: _run(1, args.steps), args.nproc: _run(args.nproc, args.steps)}
    print(render(recs, args.nproc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
