"""Checkpoints: ``ember.save`` / ``ember.load`` (being completed; see issue 5)."""

from __future__ import annotations


def _rebuild_tensor_pickle(array, device, requires_grad):
    from ember.functions.creation import from_numpy

    t = from_numpy(array.copy())
    if device != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def save(obj, f):
    raise NotImplementedError("ember.save is being implemented")


def load(f, map_location=None, weights_only=True):
    raise NotImplementedError("ember.load is being implemented")
