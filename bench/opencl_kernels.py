"""Benchmark the OpenCL backend's kernels against NumPy in the same process.

Run: ``python bench/opencl_kernels.py``. Prints a markdown table.
"""

from __future__ import annotations

import time

import numpy as np


def _time(fn, sync, repeat: int) -> float:
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - t) / repeat


def main() -> None:
    from ember_opencl import runtime
    from ember_opencl.plugin import ember_kernels

    if not runtime.devices():
        print(f"no OpenCL device: {runtime.discovery_error()}")
        return
    K = ember_kernels("opencl")
    dev = runtime.device(0)
    sync = dev.finish
    rows = []

    n = 1024
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    da, db = K["from_host"](a, 0), K["from_host"](b, 0)
    t_cl = _time(lambda: K["matmul"](da, db), sync, 5)
    t_np = _time(lambda: a @ b, lambda: None, 5)
    flops = 2 * n ** 3
    rows.append(("matmul f32 1024^3 (GFLOP/s)", flops / t_cl / 1e9, flops / t_np / 1e9))

    m = 16 * 1024 * 1024
    x = np.random.rand(m).astype(np.float32)
    y = np.random.rand(m).astype(np.float32)
    dx, dy = K["from_host"](x, 0), K["from_host"](y, 0)
    t_cl = _time(lambda: K["add"](dx, dy), sync, 10)
    t_np = _time(lambda: x + y, lambda: None, 10)
    gbytes = 3 * 4 * m / 1e9
    rows.append(("add f32 16M (GB/s)", gbytes / t_cl, gbytes / t_np))

    s = K["from_host"](np.ones(16, np.float32), 0)
    sn = np.ones(16, np.float32)
    t_cl = min(_time(lambda: K["add"](s, s), sync, 500) for _ in range(5))
    t_np = min(_time(lambda: sn + sn, lambda: None, 500) for _ in range(5))
    rows.append(("small add launch overhead, kernel (us)", t_cl * 1e6, t_np * 1e6))

    # The same through the Tensor API: a chain of 16x16 float32 adds, autograd off, no finish()
    # per op (best of several runs: the machine is shared).
    import ember

    def chain(x, y, reps):
        def run():
            a = x
            with ember.no_grad():
                for _ in range(reps):
                    a = a + y
            return a
        return run

    reps = 2000
    xt, yt = ember.ones(16, 16, device="opencl"), ember.ones(16, 16, device="opencl")
    xc, yc = ember.ones(16, 16), ember.ones(16, 16)
    t_cl = min(_time(chain(xt, yt, reps), sync, 1) for _ in range(5)) / reps
    t_np = min(_time(chain(xc, yc, reps), lambda: None, 1) for _ in range(5)) / reps
    rows.append(("16x16 add chain via Tensor API, no grad (us/op; NumPy col: ember cpu)",
                 t_cl * 1e6, t_np * 1e6))

    # The floor: a bare pyopencl enqueue of an empty kernel on the same queue.
    import pyopencl as cl

    empty_k = cl.Program(dev.ctx, "__kernel void e(__global float* o) {}").build().e
    empty_k.set_args(s.base_buffer)

    def bare():
        for _ in range(reps):
            cl.enqueue_nd_range_kernel(dev.queue, empty_k, (256,), (256,))
    t_cl = min(_time(bare, sync, 1) for _ in range(5)) / reps
    rows.append(("floor: bare enqueue of an empty kernel (us)", t_cl * 1e6, float("nan")))

    print(f"device: {dev.name}\n")
    print("| benchmark | OpenCL | NumPy | ratio |")
    print("|---|---:|---:|---:|")
    for name, c, p in rows:
        ratio = "-" if p != p else f"{c / p:.2f}"
        print(f"| {name} | {c:.1f} | {'-' if p != p else f'{p:.1f}'} | {ratio} |")


if __name__ == "__main__":
    main()
