"""``ember.linalg``: PyTorch's ``torch.linalg`` (norms, inverses, solves, decompositions), with gradients.

Issue #14 section 4."""

__all__: list[str] = []
