"""The PyTorch "Defining new autograd Functions" tutorial, run with ember.

Fits ``y = sin(x)`` on [-pi, pi] with ``a + b * P3(c + d * x)``, where ``P3`` is the Legendre
polynomial of degree three written as a custom :class:`ember.autograd.Function` with its own
forward and backward. Then checks that hand-written backward against finite differences with
:func:`ember.autograd.gradcheck`.

Run:
    python examples/custom_autograd.py
    python examples/custom_autograd.py --device opencl --quick
"""

from __future__ import annotations

import argparse
import math

import ember as torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(x) = 1/2 (5x^3 - 3x), with its derivative 3/2 (5x^2 - 1) written by hand."""

    @staticmethod
    def forward(ctx, input):
        # ctx caches what backward needs; save_for_backward is for tensors.
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        # The gradient of the loss w.r.t. the output comes in; return it w.r.t. the input.
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def fit(device: torch.device, steps: int) -> list[float]:
    """Plain gradient descent on the four scalars a, b, c, d; returns the losses it printed."""
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    # The weights start near the answer so that this converges, as in the tutorial.
    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 5e-6
    every = max(steps // 10, 1)
    losses = []
    for t in range(steps):
        P3 = LegendrePolynomial3.apply  # "apply" runs the Function; alias it for brevity
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % every == every - 1 or t == 0:
            print(f"step {t + 1:5d}  loss {loss.item():.4f}")
            losses.append(loss.item())

        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None

    print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
    return losses


def check_gradient(device: torch.device) -> bool:
    """Compare LegendrePolynomial3.backward with central finite differences (in float64)."""
    inp = torch.randn(6, dtype=torch.float64, device=device, requires_grad=True)
    ok = torch.autograd.gradcheck(LegendrePolynomial3.apply, (inp,), eps=1e-6, atol=1e-4)
    print(f"gradcheck(LegendrePolynomial3): {ok}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="device to run on (cpu, opencl, ...)")
    parser.add_argument("--quick", action="store_true", help="a few hundred steps instead of 2000 (for CI)")
    parser.add_argument("--steps", type=int, default=None, help="gradient steps (default 2000, 200 with --quick)")
    args = parser.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    steps = args.steps or (200 if args.quick else 2000)

    losses = fit(device, steps)
    print(f"first loss {losses[0]:.4f}  final loss {losses[-1]:.4f}")
    if not check_gradient(device):
        raise SystemExit("gradcheck failed")


if __name__ == "__main__":
    main()
