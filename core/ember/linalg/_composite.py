"""On-device composites of the optional ``linalg`` kernels, written in ember ops.

A backend without a decomposition kernel (OpenCL today) runs these on the device itself: each is
batched over the leading axes and loops over the n columns (or Jacobi rounds) in Python, so it
costs O(n) to O(n * sweeps) kernel launches. They aim at correctness for n up to ~64, not speed.
Results follow the kernel contract (``ember.kernels``): same shapes, LAPACK's conventions.
Inputs are never zero-size (the frontend builds those results itself).
"""

from __future__ import annotations

from ember import dtypes as _dt
from ember.tensor import Tensor

__all__ = ["cholesky", "triangular_solve", "lu_factor", "qr", "geqrf", "eigh", "svd"]


def _zeros(shape: tuple, like: Tensor, dtype: _dt.dtype | None = None) -> Tensor:
    from ember.functions.creation import zeros

    return zeros(shape, dtype=dtype or like.dtype, device=like.device)


def _arange(n: int, like: Tensor) -> Tensor:
    from ember.functions.creation import arange

    return arange(n, device=like.device)


def _where(cond: Tensor, a, b) -> Tensor:
    from ember.functions.elementwise import where

    return where(cond, a, b)


def _eps(t: Tensor) -> float:
    return 1.1920929e-07 if t.dtype is _dt.float32 else 2.220446049250313e-16


def cholesky(a: Tensor) -> tuple[Tensor, Tensor]:
    """Cholesky-Banachiewicz, one column per step; info as the kernel's."""
    from ember.functions.shape import cat, stack

    n, batch = a.shape[-1], tuple(a.shape[:-2])
    info = _zeros(batch, a, _dt.int32)
    cols: list[Tensor] = []
    for j in range(n):
        prev = stack(cols, -1) if cols else None  # (..., n, j)
        d = a[..., j, j]
        if prev is not None:
            row = prev[..., j, :]
            d = d - (row * row).sum(-1)
        info = _where((info == 0) & ~(d > 0), j + 1, info)
        ljj = d.sqrt()
        below = a[..., j + 1:, j]
        if prev is not None:
            below = below - (prev[..., j + 1:, :] @ row.unsqueeze(-1)).squeeze(-1)
        cols.append(cat([_zeros(batch + (j,), a), ljj.unsqueeze(-1), below / ljj.unsqueeze(-1)], -1))
    return stack(cols, -1), info


def triangular_solve(a: Tensor, b: Tensor, upper: bool, left: bool, unitriangular: bool) -> Tensor:
    """Forward or back substitution, one row of X per step."""
    from ember.functions.elementwise import broadcast_shapes
    from ember.functions.shape import stack

    if not left:  # X A = B  <=>  A^T X^T = B^T
        return triangular_solve(a.mT, b.mT, not upper, True, unitriangular).mT
    n = a.shape[-1]
    batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    b = b.expand(tuple(batch) + tuple(b.shape[-2:]))
    rows: list[Tensor | None] = [None] * n
    order = range(n - 1, -1, -1) if upper else range(n)
    for i in order:
        rhs = b[..., i, :]
        done = list(range(i + 1, n)) if upper else list(range(i))
        if done:
            solved = stack([rows[j] for j in done], -2)  # (..., len(done), k)
            coef = a[..., i, done[0]:done[-1] + 1]
            rhs = rhs - (coef.unsqueeze(-2) @ solved).squeeze(-2)
        rows[i] = rhs if unitriangular else rhs / a[..., i, i].unsqueeze(-1)
    return stack(rows, -2)


def lu_factor(a: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Partial-pivot LU (getf2) of (..., m, n), one column per step (k = min(m, n) of them); pivots
    and info as the kernel's."""
    from ember.functions.shape import cat, stack

    m, n, batch = a.shape[-2], a.shape[-1], tuple(a.shape[:-2])
    w = a.contiguous()
    r = _arange(m, a)
    info = _zeros(batch, a, _dt.int32)
    pivots: list[Tensor] = []
    for k in range(min(m, n)):
        col = w[..., k:, k]
        # (...,) the first largest, as i?amax: |re| + |im| for complex (izamax)
        mag = col.real.abs() + col.imag.abs() if col._dtype.is_complex else col.abs()
        p = mag.argmax(-1) + k
        pivots.append(p)
        pe = p.unsqueeze(-1)
        idx = _where(r == k, pe, _where(r == pe, k, r))  # swap rows k and p
        w = w.gather(-2, idx.unsqueeze(-1).expand(w.shape))
        pivot = w[..., k, k]
        zero = pivot == 0
        info = _where((info == 0) & zero, k + 1, info)
        # a zero pivot means its column below is zero too: getf2 leaves it unscaled
        f = w[..., k + 1:, k] / _where(zero, 1.0, pivot).unsqueeze(-1)
        rest = w[..., k + 1:, k + 1:] - f.unsqueeze(-1) * w[..., k, k + 1:].unsqueeze(-2)
        lower = cat([w[..., k + 1:, :k], f.unsqueeze(-1), rest], -1)
        w = cat([w[..., :k + 1, :], lower], -2)
    return w, (stack(pivots, -1) + 1).to(_dt.int32), info


def _householder(x: Tensor, j: int, r: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's dlarfg on rows j.. of the columns x (..., m): (v (..., m) with v[j] = 1, tau (...,))."""
    alpha = x[..., j]
    below = _where(r > j, x, 0.0)
    sigma = (below * below).sum(-1).sqrt()
    norm = (alpha * alpha + sigma * sigma).sqrt()
    beta = _where(alpha >= 0, -norm, norm)
    trivial = sigma == 0  # nothing to annihilate: H = I, as dlarfg
    tau = _where(trivial, 0.0, (beta - alpha) / _where(trivial, 1.0, beta))
    denom = _where(trivial, 1.0, alpha - beta)
    v = _where(r == j, 1.0, below / denom.unsqueeze(-1))
    return v, tau


def qr(a: Tensor, mode: str) -> tuple[Tensor | None, Tensor]:
    """Householder QR with full-size reflectors (geqrf + orgqr): R = H_k..H_1 A, Q = H_1..H_k."""
    from ember.functions.creation import eye

    m, n, batch = a.shape[-2], a.shape[-1], tuple(a.shape[:-2])
    k = min(m, n)
    R = a.contiguous()
    Q = eye(m, dtype=a.dtype, device=a.device).expand(batch + (m, m)) if mode != "r" else None
    r = _arange(m, a)
    for j in range(min(k, m - 1)):  # the last row of a wide or square matrix needs no reflector
        v, tau = _householder(R[..., :, j], j, r)
        tv = tau[..., None, None] * v.unsqueeze(-1)  # (..., m, 1)
        R = R - tv @ (v.unsqueeze(-2) @ R)
        if Q is not None:
            Q = Q - (Q @ v.unsqueeze(-1)) @ tv.mT
    R = R.triu()
    if mode == "reduced":
        return Q[..., :, :k], R[..., :k, :]
    return Q, (R[..., :k, :] if mode == "r" else R)


def geqrf(a: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's geqrf: R on and above the diagonal, the reflectors' tails below it, and tau (..., k)."""
    from ember.functions.shape import stack

    m, n = a.shape[-2], a.shape[-1]
    R = a.contiguous()
    r = _arange(m, a)
    taus, tails = [], []
    for j in range(min(m, n)):
        v, tau = _householder(R[..., :, j], j, r)
        R = R - (tau[..., None, None] * v.unsqueeze(-1)) @ (v.unsqueeze(-2) @ R)
        taus.append(tau)
        tails.append(v)
    if not taus:  # k = 0 (an empty row or column axis): no reflectors, A comes back as it is
        return R, _zeros(tuple(a.shape[:-2]) + (0,), a)
    V = stack(tails, -1)  # (..., m, k) with unit diagonals
    packed = R.triu() + _where(r.unsqueeze(-1) > _arange(n, a), _pad_cols(V, n), 0.0)
    return packed, stack(taus, -1)


def _pad_cols(V: Tensor, n: int) -> Tensor:
    from ember.functions.shape import cat

    k = V.shape[-1]
    return V if k == n else cat([V, _zeros(tuple(V.shape[:-1]) + (n - k,), V)], -1)


def _round_robin(n: int) -> list[tuple[list[int], list[int]]]:
    """The n-1 rounds of disjoint pairs (circle method) covering every pair (p < q) once."""
    players = list(range(n)) + ([-1] if n % 2 else [])
    size = len(players)
    rounds = []
    for _ in range(size - 1):
        pairs = [(players[i], players[size - 1 - i]) for i in range(size // 2)]
        pairs = [(min(p, q), max(p, q)) for p, q in pairs if p >= 0 and q >= 0]
        rounds.append(([p for p, _ in pairs], [q for _, q in pairs]))
        players = [players[0], players[-1]] + players[1:-1]
    return rounds


def _rotation(n: int, P: Tensor, Q: Tensor, c: Tensor, s: Tensor, eye_flat: Tensor) -> Tensor:
    """Identity with J[p,p] = J[q,q] = c, J[p,q] = s, J[q,p] = -s for every pair (batched)."""
    from ember.functions.shape import cat

    batch = tuple(c.shape[:-1])
    idx = cat([P * (n + 1), Q * (n + 1), P * n + Q, Q * n + P]).expand(batch + (4 * P.shape[0],))
    vals = cat([c, c, s, -s], -1)
    return eye_flat.expand(batch + (n * n,)).scatter(-1, idx, vals).reshape(batch + (n, n))


def _index(values: list[int], like: Tensor) -> Tensor:
    from ember.functions.creation import tensor

    return tensor(values, dtype=_dt.int64, device=like.device)


def _jacobi_angle(x: Tensor, y: Tensor, gamma: Tensor) -> tuple[Tensor, Tensor]:
    """(c, s) of the rotation zeroing ``gamma`` for the 2x2 problem [[x, gamma], [gamma, y]]."""
    zero = gamma == 0
    theta = (y - x) / (2 * _where(zero, 1.0, gamma))
    t = _where(theta >= 0, 1.0, -1.0) / (theta.abs() + (theta * theta + 1).sqrt())
    t = _where(zero, 0.0, t)
    c = (t * t + 1).rsqrt()
    return c, t * c


def _max_sweeps(n: int) -> int:
    return 12 + n // 4


def eigh(a: Tensor, upper: bool) -> tuple[Tensor, Tensor]:
    """Cyclic Jacobi in round-robin order: each round rotates n/2 disjoint pairs at once."""
    from ember.functions.creation import eye
    from ember.linalg._common import sym_lower

    n, batch = a.shape[-1], tuple(a.shape[:-2])
    A = sym_lower(a, upper)
    eye_flat = eye(n, dtype=a.dtype, device=a.device).reshape(n * n)
    V = eye_flat.reshape(n, n).expand(batch + (n, n))
    rounds = [(_index(P, a), _index(Q, a)) for P, Q in _round_robin(n)]
    total = (A * A).sum((-2, -1))
    tol = (_eps(a) * n) ** 2
    converged = False
    for _ in range(_max_sweeps(n)):
        if converged:  # one more sweep after reaching round-off: convergence is quadratic
            break
        diag = A.diagonal(0, -2, -1)
        off = total - (diag * diag).sum(-1)
        converged = bool((off <= tol * total).all())
        for P, Q in rounds:
            diag = A.diagonal(0, -2, -1)
            apq = A.reshape(batch + (n * n,)).index_select(-1, P * n + Q)
            c, s = _jacobi_angle(diag.index_select(-1, P), diag.index_select(-1, Q), apq)
            J = _rotation(n, P, Q, c, s, eye_flat)
            A = J.mT @ A @ J
            V = V @ J
        A = (A + A.mT) * 0.5
    w, order = A.diagonal(0, -2, -1).sort(-1)
    return w, V.gather(-1, order.unsqueeze(-2).expand(V.shape))


def svd(a: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    """One-sided (Hestenes) Jacobi: rotate column pairs of A until they are orthogonal; accurate for
    small singular values too. U is completed (and repaired where S is 0) by a Householder QR."""
    from ember.functions.creation import eye

    m, n = a.shape[-2], a.shape[-1]
    if m < n:
        U, S, Vh = svd(a.mT, full_matrices)
        return Vh.mT, S, U.mT
    batch = tuple(a.shape[:-2])
    A = a.contiguous()
    eye_flat = eye(n, dtype=a.dtype, device=a.device).reshape(n * n)
    V = eye_flat.reshape(n, n).expand(batch + (n, n))
    rounds = [(_index(P, a), _index(Q, a)) for P, Q in _round_robin(n)]
    tol = _eps(a) * m
    for _ in range(_max_sweeps(n) if n > 1 else 0):
        G = A.mT @ A
        d = G.diagonal(0, -2, -1).sqrt()
        scale = d.unsqueeze(-1) * d.unsqueeze(-2)
        ratio = (G - G * eye_flat.reshape(n, n)).abs() / _where(scale == 0, 1.0, scale)
        if bool((ratio <= tol).all()):
            break
        for P, Q in rounds:
            cp, cq = A.index_select(-1, P), A.index_select(-1, Q)
            c, s = _jacobi_angle((cp * cp).sum(-2), (cq * cq).sum(-2), (cp * cq).sum(-2))
            J = _rotation(n, P, Q, c, s, eye_flat)
            A = A @ J
            V = V @ J
    S = (A * A).sum(-2).sqrt()
    S, order = S.sort(-1, descending=True)
    A = A.gather(-1, order.unsqueeze(-2).expand(A.shape))
    V = V.gather(-1, order.unsqueeze(-2).expand(V.shape))
    tiny = S <= S[..., :1] * (_eps(a) * max(m, n))
    U = _where(tiny.unsqueeze(-2), 0.0, A / _where(tiny, 1.0, S).unsqueeze(-2))
    # QR of U: its first columns are +-U where U is orthonormal, an orthonormal complement elsewhere
    Qc, R = qr(U, "complete")
    sign = _where(R.diagonal(0, -2, -1) < 0, -1.0, 1.0)  # (..., n)
    U = Qc[..., :, :n] * sign.unsqueeze(-2)
    if full_matrices and m > n:
        from ember.functions.shape import cat

        U = cat([U, Qc[..., :, n:]], -1)
    return U, S, V.mT
