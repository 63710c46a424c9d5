"""``ember.linalg``: PyTorch's ``torch.linalg`` (norms, inverses, solves, decompositions), with gradients.

Decompositions run the backend's optional ``linalg`` kernels (``cholesky``, ``triangular_solve``,
``lu_factor``, ``qr``, ``eigh``, ``svd``) where it has them, else on-device composites written in
ember ops, so every backend runs them without a CPU fallback. See docs/linalg.md.

Example:
    >>> import ember
    >>> A = ember.tensor([[4.0, 2.0], [2.0, 5.0]])
    >>> ember.linalg.cholesky(A)
    tensor([[2., 0.],
            [1., 2.]])
    >>> ember.linalg.solve(A, ember.tensor([6.0, 7.0]))
    tensor([1., 1.])
"""

from ember.linalg._common import LinAlgError
from ember.linalg.decomp import eigh, eigvalsh, householder_product, qr, svd, svdvals
from ember.linalg.eig import eig, eigvals
from ember.linalg.ldl import ldl_factor, ldl_factor_ex, ldl_solve
from ember.linalg.lstsq import lstsq, pinv
from ember.linalg.lu import det, inv, inv_ex, lu, lu_factor, lu_factor_ex, lu_solve, slogdet, solve, solve_ex
from ember.linalg.misc import (
    cross,
    diagonal,
    matrix_exp,
    matrix_power,
    multi_dot,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
)
from ember.linalg.norms import cond, matrix_norm, matrix_rank, norm, vector_norm
from ember.linalg.triangular import cholesky, cholesky_ex, solve_triangular

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "householder_product", "inv",
           "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot",
           "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot",
           "vector_norm"]


def matmul(input, other, *, out=None):  # noqa: A002 - PyTorch's argument names
    """``torch.linalg.matmul``: an alias of ``ember.matmul``."""
    from ember.functions.linalg import matmul as _matmul

    return _matmul(input, other, out=out)
