"""Differentiable ops by family; importing this package attaches their Tensor methods."""

from ember.functions import (  # noqa: F401 - imported for their Tensor bindings
    binary,
    complex_ops,
    conversion,
    creation,
    elementwise,
    foreach,
    indexing,
    layout,
    linalg,
    linalg_ops,
    misc,
    reduction,
    sampling,
    search,
    shape,
    sparse,
    special,
    statistics,
    torch_nn,
    torch_surface,
)
