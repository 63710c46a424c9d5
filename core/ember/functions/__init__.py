"""Differentiable ops by family; importing this package attaches their Tensor methods."""

from ember.functions import (  # noqa: F401 - imported for their Tensor bindings
    conversion,
    creation,
    elementwise,
    indexing,
    layout,
    linalg,
    reduction,
    sampling,
    shape,
)
