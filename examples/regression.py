"""Three regressions in the PyTorch style, run with ember, on synthetic data.

1. Linear regression: recover ``y = 2x - 3`` from noisy samples with ``nn.Linear(1, 1)``,
   ``nn.MSELoss`` and ``optim.SGD``.
2. Logistic regression: separate two Gaussian blobs with ``nn.Linear(2, 1)``,
   ``nn.BCEWithLogitsLoss`` and ``optim.SGD``.
3. A small neural network regression: fit ``y = sin(x)`` with an MLP and ``optim.Adam``.

Each prints its first and final loss and what it learned.

Run:
    python examples/regression.py
    python examples/regression.py --device opencl --quick
"""

from __future__ import annotations

import argparse
import math

import ember as torch
from ember import nn, optim


def train(model: nn.Module, loss_fn: nn.Module, optimizer: optim.Optimizer, X: torch.Tensor,
          y: torch.Tensor, epochs: int, name: str) -> tuple[float, float]:
    """Full-batch training; prints the loss ten times and returns (first loss, final loss)."""
    every = max(epochs // 10, 1)
    first = None
    for epoch in range(epochs):
        pred = model(X)
        loss = loss_fn(pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if first is None:
            first = loss.item()
        if epoch % every == every - 1:
            print(f"[{name}] epoch {epoch + 1:4d}  loss {loss.item():.6f}")
    with torch.no_grad():
        final = loss_fn(model(X), y).item()
    print(f"[{name}] first loss {first:.6f}  final loss {final:.6f}")
    return first, final


def linear_regression(device: torch.device, epochs: int) -> None:
    true_w, true_b = 2.0, -3.0
    X = torch.rand(200, 1, device=device) * 4 - 2           # x in [-2, 2)
    y = true_w * X + true_b + 0.1 * torch.randn(200, 1, device=device)

    model = nn.Linear(1, 1).to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    train(model, nn.MSELoss(), optimizer, X, y, epochs, "linear")
    w, b = model.weight.item(), model.bias.item()
    print(f"[linear] learned y = {w:.3f} x + {b:.3f}   (true: y = {true_w} x + {true_b})")


def logistic_regression(device: torch.device, epochs: int) -> None:
    n = 200
    centers = torch.tensor([[-1.5, -1.0], [1.5, 1.0]], device=device)
    labels = torch.cat([torch.zeros(n // 2), torch.ones(n // 2)]).to(device)
    X = centers[labels.long()] + torch.randn(n, 2, device=device)
    y = labels.unsqueeze(1)                                   # BCE targets are floats, shape (N, 1)

    model = nn.Linear(2, 1).to(device)
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    train(model, nn.BCEWithLogitsLoss(), optimizer, X, y, epochs, "logistic")
    with torch.no_grad():
        pred = (model(X) > 0).float()
        accuracy = (pred == y).float().mean().item()
    w = model.weight.detach().cpu().flatten().tolist()
    print(f"[logistic] weights [{w[0]:.3f}, {w[1]:.3f}]  bias {model.bias.item():.3f}")
    print(f"[logistic] accuracy {100 * accuracy:.1f}%")


def nn_regression(device: torch.device, epochs: int) -> None:
    X = torch.linspace(-math.pi, math.pi, 256, device=device).unsqueeze(1)
    y = torch.sin(X) + 0.05 * torch.randn(256, 1, device=device)

    model = nn.Sequential(
        nn.Linear(1, 32),
        nn.Tanh(),
        nn.Linear(32, 32),
        nn.Tanh(),
        nn.Linear(32, 1),
    ).to(device)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    train(model, nn.MSELoss(), optimizer, X, y, epochs, "mlp")
    with torch.no_grad():
        probe = torch.tensor([[-math.pi / 2], [0.0], [math.pi / 2]], device=device)
        out = model(probe).cpu().flatten().tolist()
    print(f"[mlp] f(-pi/2) = {out[0]:.3f}  f(0) = {out[1]:.3f}  f(pi/2) = {out[2]:.3f}   (sin: -1, 0, 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="device to run on (cpu, opencl, ...)")
    parser.add_argument("--quick", action="store_true", help="fewer epochs (for CI)")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)

    linear_regression(device, epochs=60 if args.quick else 200)
    logistic_regression(device, epochs=60 if args.quick else 200)
    nn_regression(device, epochs=150 if args.quick else 1000)


if __name__ == "__main__":
    main()
