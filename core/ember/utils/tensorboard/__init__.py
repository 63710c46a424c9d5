"""``SummaryWriter``: PyTorch's ``torch.utils.tensorboard`` API, writing real TensorBoard event files.

The records (``Summary``/``Event`` protocol buffers) and the event-file writer come from the
``tensorboard`` package, the one PyTorch's own writer uses (``pip install 'ember[tensorboard]'``);
it is imported when a writer is made, so ``import ember`` never needs it.

Example:
    >>> import tempfile
    >>> from ember.utils.tensorboard import SummaryWriter  # doctest: +SKIP
    >>> with SummaryWriter(tempfile.mkdtemp()) as w:        # doctest: +SKIP
    ...     w.add_scalar("loss", 0.5, 1)
"""

from __future__ import annotations

from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
