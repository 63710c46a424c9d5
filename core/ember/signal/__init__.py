"""``ember.signal``: PyTorch's ``torch.signal`` (its ``windows`` module of window functions)."""

from ember.signal import windows

__all__ = ["windows"]
