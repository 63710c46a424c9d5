"""``ember train``: the tutorial's MNIST pipeline as a command, with a progress bar.

Trains an MLP or LeNet on MNIST / FashionMNIST from ``--data DIR`` (torchvision's layout:
``DIR/MNIST/raw/*-ubyte[.gz]``), or on the MNIST sample bundled with ember when no data is
given, then prints test accuracy and loss after each epoch.

Example:
    $ ember train --model lenet --epochs 3
    $ ember train --data ~/datasets --dataset FashionMNIST --device opencl --save ckpt.ember
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

__all__ = ["add_train_parser", "build_model", "best_device", "run"]


def best_device() -> str:
    """A GPU when one is usable (CUDA, then an OpenCL GPU), else the CPU."""
    import ember

    # CUDA first, then any other backend with an accelerator (an OpenCL GPU, a vendor's device).
    types = sorted(ember.plugins.device_types(), key=lambda t: t != "cuda")
    for dev_type in types:
        backend = ember.plugins.backend(dev_type)
        try:
            if dev_type != "cpu" and backend.is_available():
                for index in range(backend.device_count()):
                    if backend.is_accelerator(index):
                        return f"{dev_type}:{index}"
        except Exception:  # a backend's probe must not stop training on the CPU
            continue
    return "cpu"


def build_model(name: str):
    """The tutorial's models: a 784-512-512-10 MLP, or LeNet-5 with ReLU and max pooling."""
    from ember import nn

    if name == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 512), nn.ReLU(),
            nn.Linear(512, 512), nn.ReLU(),
            nn.Linear(512, 10),
        )
    if name == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10),
        )
    raise ValueError(f"unknown model {name!r}; choose 'mlp' or 'lenet'")


def _datasets(args: argparse.Namespace):
    from ember.vision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    if args.data is None:
        if args.dataset != "MNIST":
            raise SystemExit(f"ember train: no --data given, and only MNIST is bundled (asked for {args.dataset})")
        return datasets.mnist_sample(transform=tf)
    cls = getattr(datasets, args.dataset)
    return cls(args.data, train=True, transform=tf), cls(args.data, train=False, transform=tf)


def _make_optimizer(name: str, params: Any, lr: float):
    from ember import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    if name == "adamw":
        return optim.AdamW(params, lr=lr)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}")


def evaluate(model, loader, device: str, loss_fn) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``."""
    import ember

    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with ember.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += loss_fn(out, y).item() * y.shape[0]
            correct += (out.argmax(1) == y).sum().item()
            total += y.shape[0]
    return loss_sum / max(total, 1), correct / max(total, 1)


def _plot(history: list[dict], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("ember train --plot needs matplotlib: pip install 'ember[plot]'") from None
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax1.plot(epochs, [h["test_loss"] for h in history], label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(epochs, [h["test_acc"] * 100 for h in history])
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy (%)")
    fig.tight_layout()
    fig.savefig(path)


def run(args: argparse.Namespace) -> dict:
    """Train as the command line says; return the last epoch's metrics."""
    from tqdm import tqdm

    import ember
    from ember import nn
    from ember.utils.data import DataLoader

    device = args.device or best_device()
    ember.manual_seed(args.seed)
    train_set, test_set = _datasets(args)
    g = ember.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers,
                              generator=g)
    test_loader = DataLoader(test_set, batch_size=256, num_workers=args.workers)
    model = build_model(args.model).to(device)
    optimizer = _make_optimizer(args.optimizer, model.parameters(), args.lr)
    loss_fn = nn.CrossEntropyLoss()
    start_epoch, history = 0, []
    if args.resume:
        ckpt = ember.load(args.resume, map_location=device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start_epoch, history = int(ckpt["epoch"]), list(ckpt.get("history", []))
        print(f"resumed from {args.resume} at epoch {start_epoch}")
    print(f"training {args.model} on {device} ({len(train_set)} train / {len(test_set)} test images)")
    metrics: dict = {}
    for epoch in range(start_epoch, start_epoch + args.epochs):
        model.train()
        seen, loss_sum, t0 = 0, 0.0, time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}", unit="batch", leave=True, dynamic_ncols=True)
        for x, y in bar:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit(f"ember train: the loss became {value} at epoch {epoch + 1}; try a smaller --lr")
            seen += y.shape[0]
            loss_sum += value * y.shape[0]
            bar.set_postfix(loss=f"{value:.4f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
        test_loss, test_acc = evaluate(model, test_loader, device, loss_fn)
        metrics = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "test_loss": test_loss,
                   "test_acc": test_acc}
        history.append(metrics)
        print(f"epoch {epoch + 1}: train loss {metrics['train_loss']:.4f}, test loss {test_loss:.4f}, "
              f"test accuracy {100 * test_acc:.2f}%")
    if args.save:
        ember.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": start_epoch + args.epochs, "history": history, "arch": args.model}, args.save)
        print(f"saved checkpoint to {args.save}")
    if args.plot:
        _plot(history, args.plot)
        print(f"saved curves to {args.plot}")
    if metrics:
        print(f"final test accuracy: {100 * metrics['test_acc']:.2f}%")
    return metrics


def add_train_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train an MLP or LeNet on MNIST with a progress bar",
                       description="Train the tutorial's MNIST model and report test accuracy.")
    p.add_argument("--model", choices=["mlp", "lenet"], default="lenet")
    p.add_argument("--dataset", choices=["MNIST", "FashionMNIST"], default="MNIST")
    p.add_argument("--data", default=None, help="dataset root (torchvision layout); default: the bundled MNIST sample")
    p.add_argument("--device", default=None, help="cpu, opencl, cuda:0, ... (default: the best available)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--optimizer", choices=["adam", "sgd", "adamw", "rmsprop"], default="adam")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--save", default=None, help="write a checkpoint here at the end")
    p.add_argument("--resume", default=None, help="continue from this checkpoint")
    p.add_argument("--plot", default=None, help="write loss/accuracy curves to this PNG (needs matplotlib)")
    p.set_defaults(fn=lambda a: 0 if run(a) is not None else 1)
