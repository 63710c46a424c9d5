"""The benchmark workloads, written once against the PyTorch API.

Every workload takes a :class:`Target` (a framework module ``fw``, ember or torch, plus a
device) and runs the same code on it, so ember and PyTorch do exactly the same work. Each one
also checks its result briefly (the loss is finite and goes down; a matmul agrees with NumPy),
and raises :class:`CheckFailed` otherwise: ``python -m bench --quick`` is a correctness smoke run.

Example:
    >>> import ember
    >>> from bench.workloads import Target, Config, matmul
    >>> r = matmul(Target("ember", ember, "cpu"), Config(quick=True, size=64))
    >>> r.unit
    'GFLOP/s'
"""

from __future__ import annotations

import gc
import importlib
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Target", "Config", "Measurement", "CheckFailed", "WORKLOADS", "time_it", "mnist_source"]


class CheckFailed(AssertionError):
    """A workload's correctness check failed."""


@dataclass
class Config:
    quick: bool = False
    #: matmul size n (1024 by default; ``--matmul-size 4096`` for GPUs)
    size: int = 1024
    chain_ops: int = 3000

    def iters(self, full: int, quick: int = 3) -> int:
        return quick if self.quick else full

    def warmup(self, full: int = 3) -> int:
        return 1 if self.quick else full


@dataclass
class Measurement:
    value: float
    unit: str
    higher_is_better: bool = False
    note: str = ""


@dataclass
class Target:
    """One framework on one device: ``fw`` is the ember or torch module."""

    framework: str
    fw: Any
    device: str
    _mods: dict = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"{self.framework} {self.device}"

    def mod(self, name: str) -> Any:
        """``fw.nn``, ``fw.nn.functional``, ``fw.optim``, ``fw.utils.data`` imported on demand."""
        if name not in self._mods:
            self._mods[name] = importlib.import_module(f"{self.fw.__name__}.{name}")
        return self._mods[name]

    def sync(self) -> None:
        """Wait for queued device work before the clock stops."""
        if self.device.startswith("cpu"):
            return
        if self.framework == "torch":
            self.fw.cuda.synchronize()
        else:
            self.fw.plugins.backend(self.device.split(":")[0]).synchronize()

    def tensor(self, array: np.ndarray) -> Any:
        return self.fw.from_numpy(np.ascontiguousarray(array)).to(self.device)


def time_it(fn: Callable[[], Any], sync: Callable[[], None], warmup: int, iters: int) -> float:
    """Median seconds of ``fn`` over ``iters`` runs after ``warmup`` runs (clock stopped after sync)."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _check_training(name: str, losses: list[float]) -> None:
    if not all(math.isfinite(v) for v in losses):
        raise CheckFailed(f"{name}: loss is not finite: {losses}")
    if not min(losses[1:]) < losses[0]:
        raise CheckFailed(f"{name}: loss did not decrease over {len(losses)} steps: {losses}")


def _train_step(model: Any, opt: Any, loss_fn: Any, x: Any, y: Any) -> Callable[[], Any]:
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _run_training(t: Target, cfg: Config, name: str, model: Any, opt: Any, x: Any, y: Any,
                  full_iters: int, quick_iters: int = 3) -> Measurement:
    step = _train_step(model, opt, t.mod("nn").CrossEntropyLoss(), x, y)
    losses = [float(step().item()) for _ in range(4)]  # also the warm-up
    _check_training(name, losses)
    sec = time_it(step, t.sync, cfg.warmup(2) - 1, cfg.iters(full_iters, quick_iters))
    return Measurement(sec * 1e3, "ms/step", note=f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")


# ---- training steps ------------------------------------------------------------------------
def _mlp_model(t: Target) -> Any:
    nn = t.mod("nn")
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)).to(t.device)


def _mlp_setup(t: Target) -> tuple:
    t.fw.manual_seed(0)
    model = _mlp_model(t)
    opt = t.mod("optim").SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = t.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    y = t.tensor(rng.integers(0, 10, 64).astype(np.int64))
    return model, opt, x, y


def mlp(t: Target, cfg: Config) -> Measurement:
    """784-512-512-10 MLP, batch 64, SGD momentum 0.9, CrossEntropyLoss: one training step."""
    model, opt, x, y = _mlp_setup(t)
    return _run_training(t, cfg, "mlp", model, opt, x, y, full_iters=30)


def mlp_bf16(t: Target, cfg: Config) -> Measurement:
    """The ``mlp`` step with its forward and loss under ``autocast(dtype=bfloat16)`` (float32 weights)."""
    model, opt, x, y = _mlp_setup(t)
    ce, fw, dev = t.mod("nn").CrossEntropyLoss(), t.fw, t.device.split(":")[0]

    def forward(inp: Any) -> Any:
        with fw.autocast(dev, dtype=fw.bfloat16):
            return model(inp)

    def loss_fn(out: Any, target: Any) -> Any:
        with fw.autocast(dev, dtype=fw.bfloat16):
            return ce(out, target)  # cross_entropy is on autocast's float32 list

    step = _train_step(forward, opt, loss_fn, x, y)
    losses = [float(step().item()) for _ in range(4)]
    _check_training("mlp_bf16", losses)
    sec = time_it(step, t.sync, cfg.warmup(2) - 1, cfg.iters(30, 3))
    return Measurement(sec * 1e3, "ms/step", note=f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")


def lenet(t: Target, cfg: Config) -> Measurement:
    """LeNet-5 on 1x28x28, batch 64, SGD momentum 0.9: one training step."""
    nn = t.mod("nn")
    t.fw.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)).to(t.device)
    opt = t.mod("optim").SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    x = t.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = t.tensor(rng.integers(0, 10, 64).astype(np.int64))
    return _run_training(t, cfg, "lenet", model, opt, x, y, full_iters=15)


def _lstm_model(t: Target) -> Any:
    nn, F = t.mod("nn"), t.mod("nn.functional")

    class LSTMClassifier(nn.Module):
        """The tutorial model: embedding, 2-layer bidirectional LSTM, average over time."""

        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(1000, 64)
            self.lstm = nn.LSTM(64, 64, num_layers=2, batch_first=True, bidirectional=True)
            self.dropout = nn.Dropout(0.5)
            self.fc = nn.Linear(128, 2)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))  # (B, T, 128)
            pooled = F.avg_pool2d(out, (out.shape[1], 1)).squeeze(1)  # (B, 1, 128) -> (B, 128)
            return self.fc(self.dropout(pooled))

    return LSTMClassifier().to(t.device)


def lstm(t: Target, cfg: Config) -> Measurement:
    """Embedding(1000, 64) -> 2-layer bidirectional LSTM(64) -> avg_pool2d -> Dropout -> Linear,
    batch 32, seq 50, Adam: one training step."""
    t.fw.manual_seed(0)
    model = _lstm_model(t)
    opt = t.mod("optim").Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(2)
    seq = 10 if cfg.quick else 50  # the smoke run only checks that it trains: keep it under CI's budget
    x = t.tensor(rng.integers(0, 1000, (32, seq)).astype(np.int64))
    y = t.tensor(rng.integers(0, 2, 32).astype(np.int64))
    m = _run_training(t, cfg, "lstm", model, opt, x, y, full_iters=5, quick_iters=1)
    if cfg.quick:
        m.note += f" (quick mode: seq {seq}, not comparable with the full run)"
    return m


def adam(t: Target, cfg: Config) -> Measurement:
    """``Adam.step()`` alone on the MLP's parameters (669,706 floats in 6 tensors), gradients fixed."""
    model, _, x, y = _mlp_setup(t)
    params = list(model.parameters())
    opt = t.mod("optim").Adam(params, lr=1e-3)
    t.mod("nn").CrossEntropyLoss()(model(x), y).backward()
    before = [p.detach().cpu().numpy().copy() for p in params]
    opt.step()
    after = [p.detach().cpu().numpy() for p in params]
    # the first step moves every weight with a non-zero gradient by lr (m/sqrt(v) = sign(g))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(after, before))
    if not (all(np.isfinite(a).all() for a in after) and abs(moved - 1e-3) < 1e-5):
        raise CheckFailed(f"adam: the first step moved parameters by at most {moved:.3g}, expected lr = 1e-3")
    sec = time_it(opt.step, t.sync, cfg.warmup(), cfg.iters(50, 5))
    return Measurement(sec * 1e3, "ms/step")


# ---- kernels -------------------------------------------------------------------------------
def matmul(t: Target, cfg: Config) -> Measurement:
    """n x n x n float32 matmul (n=1024 unless configured): GFLOP/s, checked against NumPy in float64."""
    n = cfg.size
    rng = np.random.default_rng(3)
    a_np, b_np = rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal((n, n)).astype(np.float32)
    a, b = t.tensor(a_np), t.tensor(b_np)
    out = (a @ b).cpu().numpy()
    ref = a_np.astype(np.float64) @ b_np.astype(np.float64)
    err = float(np.abs(out - ref).max() / (np.abs(ref).max() + 1e-30))
    if not err < 1e-4:
        raise CheckFailed(f"matmul: max relative error {err:.2e} against NumPy float64")
    sec = time_it(lambda: a @ b, t.sync, cfg.warmup(), cfg.iters(20, 3))
    return Measurement(2 * n ** 3 / sec / 1e9, "GFLOP/s", higher_is_better=True, note=f"max rel err {err:.1e}")


_CHAIN = (lambda x: x * 0.999, lambda x: x + 0.001, abs, lambda x: x - 0.0005)  # works on NumPy too


def small_op_chain(t: Target, cfg: Config) -> Measurement:
    """3000 elementwise ops on a 16x16 tensor with autograd off: microseconds per op (dispatch cost)."""
    n = cfg.chain_ops
    x0_np = np.random.default_rng(4).random((16, 16)).astype(np.float32)
    x0 = t.tensor(x0_np)

    def chain():
        x = x0
        for i in range(n):
            x = _CHAIN[i % 4](x)
        return x

    with t.fw.no_grad():
        got = chain().cpu().numpy()
        ref = x0_np
        for i in range(n):
            ref = _CHAIN[i % 4](ref).astype(np.float32)
        if not np.allclose(got, ref, rtol=1e-4, atol=1e-5):
            raise CheckFailed(f"small-op chain: result differs from NumPy by {np.abs(got - ref).max():.2e}")
        sec = time_it(chain, t.sync, cfg.warmup(1), cfg.iters(7, 2))
    return Measurement(sec / n * 1e6, "us/op")


def pair_chain(t: Target, cfg: Config) -> Measurement:
    """``(a * b + b).relu()`` on two 16x16 tensors, 1000 times, no grad: microseconds per call of
    three tensor-tensor ops (the expression users write; the scalar chain above flatters ember,
    whose tensor-scalar ops are cheaper than PyTorch's)."""
    rng = np.random.default_rng(5)
    a_np, b_np = (rng.standard_normal((16, 16)).astype(np.float32) for _ in range(2))
    a, b = t.tensor(a_np), t.tensor(b_np)
    calls = 100 if cfg.quick else 1000

    def chain():
        for _ in range(calls):
            out = (a * b + b).relu()
        return out

    with t.fw.no_grad():
        got = chain().cpu().numpy()
        if not np.array_equal(got, np.maximum(a_np * b_np + b_np, 0)):
            raise CheckFailed("pair chain: result differs from NumPy")
        sec = time_it(chain, t.sync, cfg.warmup(1), cfg.iters(7, 2))
    return Measurement(sec / calls * 1e6, "us/call")


def gpt(t: Target, cfg: Config) -> Measurement:
    """One GPT-2 style block (pre-norm, causal attention written out, GELU MLP) and its head:
    vocab 256, d 64, 4 heads, batch 8, context 32, Adam: one training step (bench/compile.py's model)."""
    from bench.compile import _gpt

    t.fw.manual_seed(0)
    model = _gpt(t.mod("nn")).to(t.device)
    opt = t.mod("optim").Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(6)
    x = t.tensor(rng.integers(0, 256, (8, 32)).astype(np.int64))
    y = t.tensor(rng.integers(0, 256, (8, 32)).astype(np.int64))
    ce = t.mod("nn").CrossEntropyLoss()

    def loss_fn(out: Any, target: Any) -> Any:
        return ce(out.reshape(-1, out.shape[-1]), target.reshape(-1))

    step = _train_step(model, opt, loss_fn, x, y)
    losses = [float(step().item()) for _ in range(4)]
    _check_training("gpt", losses)
    sec = time_it(step, t.sync, cfg.warmup(2) - 1, cfg.iters(20, 3))
    return Measurement(sec * 1e3, "ms/step", note=f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")


def randn(t: Target, cfg: Config) -> Measurement:
    """``randn(10_000_000)`` float32: ms per call. NumPy's generator
    (``default_rng().standard_normal(n, dtype=float32)``, one thread) is timed in turns with it,
    so the note's ember/NumPy ratio compares the same moments of a busy machine."""
    n = 1_000_000 if cfg.quick else 10_000_000
    sample = t.fw.randn(n, device=t.device).cpu().numpy()
    mean, std = float(sample.mean()), float(sample.std())
    if not (sample.dtype == np.float32 and abs(mean) < 5 / math.sqrt(n) and abs(std - 1) < 5 / math.sqrt(n)):
        raise CheckFailed(f"randn: {sample.dtype} sample with mean {mean:.2e} and std {std:.6f}, expected N(0, 1)")
    del sample
    rng = np.random.default_rng(0)
    ours, numpy_times = [], []
    for i in range(cfg.warmup(1) + cfg.iters(7, 2)):
        t0 = time.perf_counter()
        t.fw.randn(n, device=t.device)
        t.sync()
        t1 = time.perf_counter()
        rng.standard_normal(n, dtype=np.float32)
        t2 = time.perf_counter()
        if i >= cfg.warmup(1):
            ours.append(t1 - t0)
            numpy_times.append(t2 - t1)
    sec, ref = statistics.median(ours), statistics.median(numpy_times)
    return Measurement(sec * 1e3, "ms", note=f"NumPy's generator {ref * 1e3:.1f} ms, ratio {sec / ref:.2f}x "
                                             f"(spread {min(ours) * 1e3:.0f}-{max(ours) * 1e3:.0f} ms)")


# ---- data loading --------------------------------------------------------------------------
def mnist_source() -> Path | None:
    """The folder with MNIST's t10k files: ``shared/data/mnist`` beside the repo, if present."""
    root = Path(__file__).resolve().parents[1]
    for cand in (root / "shared" / "data" / "mnist", root.parent / "shared" / "data" / "mnist"):
        if (cand / "t10k-images-idx3-ubyte.gz").exists() or (cand / "t10k-images-idx3-ubyte").exists():
            return cand
    return None


def _ember_mnist() -> Any:
    from ember.vision import datasets, transforms

    sample_cls = getattr(datasets, "MNISTSample", None)
    src = mnist_source()
    if sample_cls is not None:
        return sample_cls(root=str(src) if src else None, train=True, transform=transforms.ToTensor())
    return datasets.MNIST(str(src), train=False, transform=transforms.ToTensor())


class _TorchMNIST:
    """The same images as torch tensors, converted the way torchvision's ToTensor does (PIL -> /255)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images, labels.tolist()

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        import torch
        from PIL import Image

        img = Image.fromarray(self.images[i], mode="L")
        arr = torch.from_numpy(np.array(img, dtype=np.uint8, copy=True))
        return arr.unsqueeze(0).float().div(255), self.labels[i]


_DATASETS: dict[str, Any] = {}


def _dataset(t: Target) -> Any:
    if "ember" not in _DATASETS:
        _DATASETS["ember"] = _ember_mnist()
    if t.framework == "ember":
        return _DATASETS["ember"]
    if "torch" not in _DATASETS:
        ds = _DATASETS["ember"]
        _DATASETS["torch"] = _TorchMNIST(ds.data.numpy(), ds.targets.numpy())
    return _DATASETS["torch"]


def _dataloader(workers: int) -> Callable[[Target, Config], Measurement]:
    def run(t: Target, cfg: Config) -> Measurement:
        if not t.device.startswith("cpu"):
            raise NotImplementedError("host-side workload: measured on the cpu target only")
        ds = _dataset(t)
        data = t.mod("utils.data")
        batches = 24 if cfg.quick else len(ds) // 64
        loader = data.DataLoader(ds, batch_size=64, shuffle=False, num_workers=workers)
        first = next(iter(loader))
        x, y = first
        if tuple(x.shape) != (64, 1, 28, 28) or str(x.dtype).split(".")[-1] != "float32":
            raise CheckFailed(f"dataloader: first batch is {tuple(x.shape)} {x.dtype}, expected (64, 1, 28, 28) float32")
        lo, hi = float(x.min()), float(x.max())
        if not (0.0 <= lo and hi <= 1.0 and hi > 0.5):
            raise CheckFailed(f"dataloader: pixel values span [{lo}, {hi}], expected [0, 1]")

        def epoch():
            for i, _ in enumerate(loader):  # a fresh iterator: worker start-up is part of the cost
                if i + 1 >= batches:
                    break

        sec = time_it(epoch, t.sync, 0 if cfg.quick else 1, cfg.iters(3, 1))
        return Measurement(batches * 64 / sec, "images/s", higher_is_better=True,
                           note=f"{batches} batches of 64, ToTensor")

    run.__doc__ = f"MNIST through DataLoader(batch_size=64, num_workers={workers}) with ToTensor: images/s."
    return run


# ---- memory --------------------------------------------------------------------------------
def mlp_memory(t: Target, cfg: Config) -> Measurement:
    """Host memory of the MLP step: tracemalloc peak over one step after warm-up, and the growth
    of live memory across 50 steps (a leak shows as steady growth)."""
    if t.framework != "ember" or not t.device.startswith("cpu"):
        raise NotImplementedError("tracemalloc sees host allocations of ember's cpu backend only")
    model, opt, x, y = _mlp_setup(t)
    step = _train_step(model, opt, t.mod("nn").CrossEntropyLoss(), x, y)
    for _ in range(3):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        peak = tracemalloc.get_traced_memory()[1] - base
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        steps = 20 if cfg.quick else 50
        for _ in range(steps):
            step()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return Measurement(peak / 2 ** 20, "MiB peak", note=f"growth over {steps} steps: {growth / 1024:+.1f} KiB")


WORKLOADS: dict[str, Callable[[Target, Config], Measurement]] = {
    "mlp": mlp,
    "mlp_bf16": mlp_bf16,
    "lenet": lenet,
    "lstm": lstm,
    "gpt": gpt,
    "matmul": matmul,
    "small_ops": small_op_chain,
    "pair_chain": pair_chain,
    "dataloader_w0": _dataloader(0),
    "dataloader_w2": _dataloader(2),
    "mlp_memory": mlp_memory,
    "adam": adam,
    "randn": randn,
}

TITLES = {
    "mlp": "MLP 784-512-512-10 train step (b64, SGD m0.9)",
    "mlp_bf16": "the same MLP step under bfloat16 autocast",
    "lenet": "LeNet-5 train step (b64, 1x28x28)",
    "lstm": "LSTM 2x bidir train step (b32, seq50, Adam)",
    "matmul": "matmul float32 {n}^3",
    "gpt": "GPT block train step (b8, ctx 32, d 64, Adam)",
    "small_ops": "3000 small (16x16) tensor-scalar ops and abs, no grad",
    "pair_chain": "(a * b + b).relu() on 16x16 tensors, no grad",
    "dataloader_w0": "MNIST DataLoader, 0 workers",
    "dataloader_w2": "MNIST DataLoader, 2 workers",
    "mlp_memory": "MLP step host memory (tracemalloc)",
    "adam": "Adam step alone, MLP params (670K floats, 6 tensors)",
    "randn": "randn(10M) float32",
}
