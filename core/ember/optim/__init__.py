"""Optimizers and learning-rate schedulers (see issue 5)."""
