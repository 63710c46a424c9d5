"""Sequence padding helpers (``nn.utils.rnn.pad_sequence``).

Example:
    >>> import ember
    >>> from ember.nn.utils.rnn import pad_sequence
    >>> pad_sequence([ember.ones(2), ember.ones(3)], batch_first=True)
    tensor([[1., 1., 0.],
            [1., 1., 1.]])
"""

from __future__ import annotations

from collections.abc import Sequence

from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["pad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack variable-length (L_i, *) tensors into (L_max, B, *) (or (B, L_max, *))."""
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = max_len - s.shape[0]
        if extra:
            pads = ((0, extra) if padding_side == "right" else (extra, 0),) + ((0, 0),) * (s.dim() - 1)
            s = _s.pad_constant(s, pads, padding_value)
        padded.append(s)
    return _s.stack(padded, 0 if batch_first else 1)
