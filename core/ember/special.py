"""``ember.special``: PyTorch's ``torch.special`` namespace over ember's special functions.

Issue #14 section 4."""

__all__: list[str] = []
