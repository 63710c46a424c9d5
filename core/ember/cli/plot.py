"""``ember train --plot``: loss and accuracy curves as PNG (or SVG, PDF... by the file's suffix).

matplotlib is optional (``pip install 'ember[plot]'``): :func:`check_plot_target` runs before
training, so a missing package, an unknown suffix or a missing folder is reported at once.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import UsageError

__all__ = ["check_plot_target", "plot_history"]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'ember[plot]' (or: pip install matplotlib)") from None
    return plt


def _format(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    return suffix or "png"


def check_plot_target(path: str) -> None:
    """Raise :class:`UsageError` unless ``path`` can receive a plot: matplotlib, the format, the folder."""
    plt = _pyplot()
    fmt = _format(path)
    supported = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if fmt not in supported:
        raise UsageError(f"--plot {path}: matplotlib cannot write {fmt!r} files; use one of "
                         + ", ".join(sorted(supported)))


def plot_history(history: list[dict], batch_losses: list[list[float]], path: str, title: str) -> None:
    """Loss per epoch (and per batch, faint) beside test accuracy per epoch, written atomically."""
    from matplotlib.ticker import MaxNLocator

    from ember.serialization._shared import atomic_path

    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    # Batch i of epoch e (1-based) sits at e - 1 + (i + 1) / n, so the last batch meets the epoch's point.
    xs = [e - 1 + (i + 1) / len(losses) for e, losses in enumerate(batch_losses, start=1) for i in range(len(losses))]
    if xs:
        ax1.plot(xs, [v for losses in batch_losses for v in losses], color="tab:blue", alpha=0.3, linewidth=0.8,
                 label="train (per batch)")
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", color="tab:blue", label="train (epoch mean)")
    ax1.plot(epochs, [h["test_loss"] for h in history], "s-", color="tab:orange", label="test")
    ax1.set_ylabel("loss")
    ax2.plot(epochs, [100 * h["test_acc"] for h in history], "o-", color="tab:green")
    ax2.set_ylabel("test accuracy (%)")
    for ax in (ax1, ax2):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "1.25 epochs"
        ax.set_xlim(left=0 if batch_losses else None)
        ax.grid(alpha=0.3)
    ax1.legend()
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as fh:  # a failed write leaves any older plot in place
        fig.savefig(fh, format=_format(path))
    plt.close(fig)
