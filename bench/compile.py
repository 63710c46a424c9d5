"""``ember.compile`` against ember eager and PyTorch eager, in the same process.

Usage (from the repository root)::

    python -m bench.compile                 # every workload on cpu and opencl, writes docs/performance.md
    python -m bench.compile --quick         # a smoke run (correctness only), no file written
    python -m bench.compile --devices cpu --workloads chain,mlp --rounds 5 --output -

Each workload is timed for ember eager, ember compiled (after its captures) and PyTorch eager on
the CPU, in several rounds (the three take turns); the table shows the median of the rounds with their spread
(min-max), the ratios, the capture cost (the first calls, which run eagerly while recording) and
the kernels one call launches before and after fusion. The section between the ``compile`` markers
of docs/performance.md is replaced; the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

START, END = "<!-- compile:start -->", "<!-- compile:end -->"


# ---- workloads: each returns (make a step callable for (fw, device, compiled), calls per timing) ----
def _chain(fw: Any, device: str, compiled: bool) -> Callable[[], Any]:
    rng = np.random.default_rng(0)
    a = fw.tensor(rng.standard_normal((16, 16)).astype(np.float32)).to(device)
    b = fw.tensor(rng.standard_normal((16, 16)).astype(np.float32)).to(device)

    def f(x, y):
        return (x * y + y).relu()

    g = fw.compile(f) if compiled else f

    def run():
        for _ in range(1000):
            out = g(a, b)
        return out

    return run


def _train(fw: Any, device: str, compiled: bool, build: Callable, x_shape: tuple, n_cls: int,
           optim: str = "sgd", int_input: int = 0, y_shape: tuple | None = None) -> Callable[[], Any]:
    fw.manual_seed(0)
    model = build(fw.nn).to(device)
    opt = (fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9) if optim == "sgd"
           else fw.optim.Adam(model.parameters(), lr=1e-3))
    loss_fn = fw.nn.CrossEntropyLoss()
    rng = np.random.default_rng(1)
    if int_input:
        x = fw.tensor(rng.integers(0, int_input, x_shape).astype(np.int64)).to(device)
    else:
        x = fw.tensor(rng.standard_normal(x_shape).astype(np.float32)).to(device)
    y = fw.tensor(rng.integers(0, n_cls, y_shape or x_shape[:1]).astype(np.int64)).to(device)

    def step(x, y):
        opt.zero_grad()
        out = model(x)
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    g = fw.compile(step) if compiled else step
    return lambda: g(x, y)


def _mlp(nn: Any) -> Any:
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def _lenet(nn: Any) -> Any:
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def _lstm(nn: Any) -> Any:
    class LSTMClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(1000, 64)
            self.lstm = nn.LSTM(64, 64, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(128, 2)

        def forward(self, x):
            out, _ = self.lstm(self.embedding(x))
            return self.fc(out.mean(1))

    return LSTMClassifier()


def _gpt(nn: Any) -> Any:
    """One GPT-2 style block (pre-norm, causal attention written out, GELU MLP) and a head."""

    class Block(nn.Module):
        def __init__(self, d: int = 64, heads: int = 4, vocab: int = 256, ctx: int = 32) -> None:
            super().__init__()
            self.heads = heads
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(ctx, d)
            self.ln1, self.ln2, self.ln_f = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx):
            b, t = idx.shape
            pos = self.pos.weight[:t]
            x = self.tok(idx) + pos
            q, k, v = self.qkv(self.ln1(x)).split(x.shape[-1], dim=-1)
            hd = x.shape[-1] // self.heads
            q, k, v = (z.reshape(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (hd ** -0.5)
            mask = self.tok.weight.new_ones(t, t).tril() == 0
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, -1)
            x = x + self.proj(y)
            x = x + self.out(self.fc(self.ln2(x)).gelu() if hasattr(x, "gelu") else
                             nn.functional.gelu(self.fc(self.ln2(x))))
            return self.head(self.ln_f(x))

    return Block()


WORKLOADS: dict[str, tuple[str, Callable, int]] = {
    # name: (title, maker(fw, device, compiled), calls counted per timing)
    "chain": ("1000x (a * b + b).relu() on 16x16, us per call", _chain, 1000),
    "mlp": ("MLP 784-512-512-10 train step (b64, SGD m0.9), ms",
            lambda fw, d, c: _train(fw, d, c, _mlp, (64, 784), 10), 1),
    "lenet": ("LeNet-5 train step (b64, 1x28x28, SGD m0.9), ms",
              lambda fw, d, c: _train(fw, d, c, _lenet, (64, 1, 28, 28), 10), 1),
    "lstm": ("LSTM 2x bidir train step (b32, seq 20, Adam), ms",
             lambda fw, d, c: _train(fw, d, c, _lstm, (32, 20), 2, "adam", int_input=1000), 1),
    "gpt": ("GPT block train step (b8, ctx 32, d 64, Adam), ms",
            lambda fw, d, c: _train(fw, d, c, _gpt, (8, 32), 256, "adam", int_input=256, y_shape=(8, 32)), 1),
}


def _sync(fw: Any, device: str) -> None:
    if device != "cpu" and hasattr(fw, "plugins"):
        fw.plugins.backend(device.split(":")[0]).synchronize()


SETTLE_S = 0.3


def _time(run: Callable[[], Any], fw: Any, device: str, calls: int, rounds: int, inner: int) -> list[float]:
    """Per-call times (us for the chain, ms for steps) of ``rounds`` rounds, each the median of ``inner``
    runs after :data:`SETTLE_S` seconds of untimed runs: the targets take turns, and another target's
    threads keep spinning for a while after its last call (OpenBLAS's yield for up to 2**28 cycles,
    about 0.13 s here; PyTorch's and PoCL's too), which made PyTorch's timed steps 2-3x slower when
    they directly followed ember's."""
    scale = 1e6 if calls > 1 else 1e3
    out = []
    for _ in range(rounds):
        settle = time.perf_counter() + SETTLE_S
        while True:
            run()
            _sync(fw, device)
            if time.perf_counter() >= settle:
                break
        times = []
        for _ in range(inner):
            t0 = time.perf_counter()
            run()
            _sync(fw, device)
            times.append((time.perf_counter() - t0) / calls * scale)
        out.append(statistics.median(times))
    return out


def _fmt(values: list[float]) -> str:
    med = statistics.median(values)
    return f"{med:.3g} ({min(values):.3g}-{max(values):.3g})"


def measure(name: str, device: str, rounds: int, quick: bool) -> dict[str, Any]:
    import ember

    title, make, calls = WORKLOADS[name]
    inner = 1 if quick else (3 if calls > 1 else 10)
    rounds = 1 if quick else rounds
    row: dict[str, Any] = {"workload": title, "device": device}
    eager = make(ember, device, False)
    eager()
    compiled_run = make(ember, device, True)
    t0 = time.perf_counter()
    for _ in range(3):  # capture, capture again (stable), first replay
        compiled_run()
    _sync(ember, device)
    row["capture_s"] = time.perf_counter() - t0
    fn = _compiled_of(compiled_run)
    row["stats"] = fn.stats if fn is not None else None
    targets: list[tuple[str, Callable, Any, str]] = [("eager", eager, ember, device), ("compiled", compiled_run, ember, device)]
    row["torch"] = None
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        ref = make(torch, "cpu", False)
        ref()
        targets.append(("torch", ref, torch, "cpu"))
    except ImportError:
        pass
    # The targets take turns round by round: this VM's speed drifts over seconds, and timing one
    # target's rounds after another's would fold that drift into the ratios.
    for key, *_ in targets:
        row[key] = []
    for _ in range(rounds):
        for key, run, fw, dev in targets:
            row[key] += _time(run, fw, dev, calls, 1, inner)
    return row


def _compiled_of(run: Callable) -> Any:
    """The CompiledFunction inside a workload's closure (for its stats)."""
    import ember

    seen = [run]
    while seen:
        f = seen.pop()
        for cell in getattr(f, "__closure__", None) or ():
            v = cell.cell_contents
            if isinstance(v, ember.compiler.CompiledFunction):
                return v
            if callable(v) and getattr(v, "__closure__", None):
                seen.append(v)
    return None


def render(rows: list[dict], rounds: int) -> str:
    lines = [START, "", "## ember.compile", "",
             f"Generated by `python -m bench.compile` ({rounds} rounds; median and min-max). Ratios below 1 mean "
             "faster. *kernels* is what one call launches: eager -> replayed (after dead code and fusion). "
             "*capture* is the time of the first three calls (two eager captures and the first replay). "
             "PyTorch runs eager on the CPU in the same process.", "",
             "| workload | device | ember eager | ember compiled | torch cpu eager | compiled / eager | "
             "compiled / torch | kernels | capture |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e, c, t = statistics.median(r["eager"]), statistics.median(r["compiled"]), r["torch"]
        tmed = statistics.median(t) if t else None
        st = r["stats"]
        kernels = f"{st.kernels_captured} -> {st.kernels_replayed}" if st and st.replays else "eager (graph break)"
        lines.append(f"| {r['workload']} | {r['device']} | {_fmt(r['eager'])} | {_fmt(r['compiled'])} | "
                     f"{_fmt(t) if t else 'n/a'} | {c / e:.2f}x | {'n/a' if tmed is None else f'{c / tmed:.2f}x'} | "
                     f"{kernels} | {r['capture_s']:.2f} s |")
    breaks = [f"- {r['workload']} on {r['device']}: {reason}" for r in rows if r["stats"]
              for reason in r["stats"].graph_breaks]
    if breaks:
        lines += ["", "Graph breaks:", *breaks]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    import ember

    p = argparse.ArgumentParser(prog="python -m bench.compile", description=__doc__.split("\n")[0])
    p.add_argument("--devices", default=None, help="comma-separated ember device types (default: every available)")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="one short round each, no file written")
    p.add_argument("--output", default=str(ROOT / "docs" / "performance.md"), help="file to update, or - for stdout")
    args = p.parse_args(argv)
    devices = args.devices.split(",") if args.devices else [
        d for d in ember.plugins.device_types() if ember.plugins.backend(d).is_available()]
    rows = []
    for name in args.workloads.split(","):
        for dev in devices:
            print(f"{name} on {dev}...", file=sys.stderr, flush=True)
            rows.append(measure(name, dev, args.rounds, args.quick))
    section = render(rows, 1 if args.quick else args.rounds)
    if args.quick or args.output == "-":
        print(section)
    else:
        write(Path(args.output), section)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
