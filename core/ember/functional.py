"""``ember.functional`` (``torch.functional``): the public functions PyTorch defines in Python in
its ``torch/functional.py``, which programs sometimes import from there
(``from torch.functional import einsum``). Each is the very ``ember.<name>`` function.

Example:
    >>> import ember
    >>> from ember.functional import broadcast_shapes, einsum
    >>> broadcast_shapes((2, 1), (3,))
    ember.Size([2, 3])
    >>> einsum("i,i->", ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0]))
    tensor(11.)
"""

from __future__ import annotations

from ember._ops import registry as _registry

__all__ = [  # PyTorch's order
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors", "cartesian_prod",
    "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu", "norm", "meshgrid", "pca_lowrank",
    "split", "stft", "svd_lowrank", "tensordot", "unique", "unique_consecutive", "unravel_index",
]

# the registry's exported functions, as ``ember.<name>`` holds them (after autocast wrapped its ops)
_ops = _registry.exports()
atleast_1d = _ops["atleast_1d"]
atleast_2d = _ops["atleast_2d"]
atleast_3d = _ops["atleast_3d"]
block_diag = _ops["block_diag"]
broadcast_shapes = _ops["broadcast_shapes"]
broadcast_tensors = _ops["broadcast_tensors"]
cartesian_prod = _ops["cartesian_prod"]
cdist = _ops["cdist"]
chain_matmul = _ops["chain_matmul"]
einsum = _ops["einsum"]
istft = _ops["istft"]
lu = _ops["lu"]
meshgrid = _ops["meshgrid"]
norm = _ops["norm"]
pca_lowrank = _ops["pca_lowrank"]
split = _ops["split"]
stft = _ops["stft"]
svd_lowrank = _ops["svd_lowrank"]
tensordot = _ops["tensordot"]
unique = _ops["unique"]
unique_consecutive = _ops["unique_consecutive"]
unravel_index = _ops["unravel_index"]
del _ops
