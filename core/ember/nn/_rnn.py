"""One LSTM layer (every direction at once) as a single autograd node.

The recurrence runs on backend arrays, with no graph recording per time step: per step one
batched matmul of the directions' hidden states with their ``weight_hh`` and one
``lstm_cell`` (the optional fused kernel, or a composite of required kernels). The backward
walks the steps in reverse with ``lstm_cell_backward`` and one matmul per step, then computes
``weight_hh``'s and ``bias_hh``'s gradients for the whole sequence in one matmul and one sum.
The input projection (``weight_ih``, ``bias_ih + bias_hh``) is one ``F.linear`` over the whole
sequence for all directions, recorded by autograd as usual.

A backend with the optional ``lstm_layer`` and ``lstm_layer_backward`` kernels runs the whole
time loop itself instead (the cpu backend: no per-step dispatch, no whole-sequence copies), for
layers without projection or packed-sequence masks; the biases then go to the kernel, which adds
them inside its loop, and the projection is a plain product.

``create_graph=True`` differentiates :func:`lstm_layer_composite` (the same layer in ember ops)
instead, so higher-order gradients work.

Example:
    >>> import ember
    >>> from ember.nn._rnn import LSTMLayer
    >>> x = ember.zeros(5, 2, 1, 8)  # (T, B, directions, 4H)
    >>> h0 = c0 = ember.zeros(1, 2, 2)
    >>> out, h, c = LSTMLayer.apply(x, h0, c0, ember.zeros(1, 8, 2), None)
    >>> tuple(out.shape), tuple(h.shape)
    ((5, 2, 2), (1, 2, 2))
"""

from __future__ import annotations

from ember.autograd.function import Function
from ember.autograd.grad_mode import STATE, enable_grad
from ember.tensor import Tensor

__all__ = ["LSTMLayer", "lstm_layer", "lstm_layer_composite"]


# ---- raw-array helpers (any backend's kernel table) --------------------------------------------
def _slice(kt, x, axis: int, start: int, stop: int):
    return kt["slice"](x, tuple((start, stop, 1) if a == axis else (0, n, 1) for a, n in enumerate(x.shape)))


def _at(kt, x, i: int):
    """``x[i]`` along axis 0."""
    return kt["reshape"](_slice(kt, x, 0, i, i + 1), tuple(x.shape[1:]))


def _stack(kt, xs: list, axis: int = 0):
    return kt["cat"]([kt["reshape"](x, tuple(x.shape[:axis]) + (1,) + tuple(x.shape[axis:])) for x in xs], axis)


def _directions(kt, x, axis: int, width: int, n: int) -> list:
    """Split axis ``axis`` of ``x`` into ``n`` blocks of ``width`` (the direction axis dropped when
    width is 1) and flip direction 1 along time (axis 0): the reverse direction runs its steps
    forward in this frame."""
    out = []
    for d in range(n):
        shape = tuple(x.shape[:axis]) + (() if width == 1 else (width,)) + tuple(x.shape[axis + 1:])
        part = kt["reshape"](_slice(kt, x, axis, d * width, (d + 1) * width), shape)
        out.append(kt["flip"](part, (0,)) if d == 1 else part)
    return out


def _cell(kt, gates, c):
    if kt.has("lstm_cell"):
        return kt["lstm_cell"](gates, c)
    hs = c.shape[-1]
    last = gates.ndim - 1
    s = kt["sigmoid"](gates)  # all four blocks; the g block is replaced by its tanh
    i, f, o = (_slice(kt, s, last, k * hs, (k + 1) * hs) for k in (0, 1, 3))
    g = kt["tanh"](_slice(kt, gates, last, 2 * hs, 3 * hs))
    c_new = kt["add"](kt["mul"](f, c), kt["mul"](i, g))
    tc = kt["tanh"](c_new)
    return kt["mul"](o, tc), c_new, kt["cat"]([i, f, g, o, tc], last)


def _cell_backward(kt, dh, dc, acts, c):
    if kt.has("lstm_cell_backward"):
        return kt["lstm_cell_backward"](dh, dc, acts, c)
    hs = c.shape[-1]
    last = acts.ndim - 1
    i, f, g, o, tc = (_slice(kt, acts, last, k * hs, (k + 1) * hs) for k in range(5))

    def one_minus(a):
        return kt["sub"](1.0, a)

    dct = kt["add"](dc, kt["mul"](kt["mul"](dh, o), one_minus(kt["mul"](tc, tc))))
    di = kt["mul"](kt["mul"](dct, g), kt["mul"](i, one_minus(i)))
    df = kt["mul"](kt["mul"](dct, c), kt["mul"](f, one_minus(f)))
    dg = kt["mul"](kt["mul"](dct, i), one_minus(kt["mul"](g, g)))
    do = kt["mul"](kt["mul"](dh, tc), kt["mul"](o, one_minus(o)))
    return kt["cat"]([di, df, dg, do], last), kt["mul"](dct, f)


def _layer_kernels(kt, w_hr, mask) -> bool:
    """Whether the backend runs this layer's time loop itself (``lstm_layer``): no projection, no mask."""
    return w_hr is None and mask is None and kt.has("lstm_layer") and kt.has("lstm_layer_backward")


class LSTMLayer(Function):
    """``(xproj (T, B, D, 4H), h0 (D, B, P), c0 (D, B, H), w_hh (D, 4H, P), b_hh (D, 4H) or None,
    w_hr (D, P, H) or None, mask (T, D, B, 1) bool or None)`` -> ``(out (T, B, D*P), h_n, c_n)``;
    direction 1 runs backwards in time. ``xproj`` is the input projection; ``b_hh`` the bias added to
    the gates besides (with the backend's ``lstm_layer`` kernel it is both biases, added inside the
    kernel's loop; else ``bias_ih`` is already in ``xproj``). ``P`` is ``proj_size`` when ``w_hr``
    is given (``h = (o * tanh(c)) @ w_hr^T``), else ``H``.
    ``mask[s, d, b]`` (step ``s`` in direction ``d``'s own order) says whether sequence ``b`` is
    still running: where it is not, ``h`` and ``c`` keep their values (packed sequences)."""

    _backward_name = "LSTMLayerBackward0"

    @staticmethod
    def forward(ctx, xproj, h0, c0, w_hh, b_hh, w_hr=None, mask=None):
        kt = xproj._kt
        ctx.set_materialize_grads(False)
        if _layer_kernels(kt, w_hr, mask):
            # the backend runs the whole time loop (no per-step dispatch, no whole-sequence copies)
            out, h, c, acts, c_prev = kt["lstm_layer"](xproj._data, h0._data, c0._data, w_hh._data,
                                                       None if b_hh is None else b_hh._data)
            ctx.save_for_backward(xproj, h0, c0, w_hh, b_hh)
            ctx.raw = None
            ctx.layer_raw = (acts, c_prev)
            return xproj._new(out), xproj._new(h), xproj._new(c)
        t_len, batch, ndir, g4 = xproj.shape
        xs = _stack(kt, _directions(kt, xproj._data, 2, 1, ndir), 1)  # (T, D, B, 4H)
        if b_hh is not None:
            xs = kt["add"](xs, kt["reshape"](b_hh._data, (1, ndir, 1, g4)))
        # contiguous once per sequence: a transposed operand in a batched product is 2x slower per step
        w_t = kt["clone"](kt["permute"](w_hh._data, (0, 2, 1)))  # (D, P, 4H)
        wr_t = None if w_hr is None else kt["clone"](kt["permute"](w_hr._data, (0, 2, 1)))  # (D, H, P)
        h, c = h0._data, c0._data
        hs_list, cs_prev, acts, raws = [], [], [], []
        for s in range(t_len):
            gates = kt["add"](kt["matmul"](h, w_t), _at(kt, xs, s))
            cs_prev.append(c)
            h_new, c_new, a = _cell(kt, gates, c)
            if wr_t is not None:
                raws.append(h_new)
                h_new = kt["matmul"](h_new, wr_t)
            if mask is None:
                h, c = h_new, c_new
            else:
                m = _at(kt, mask._data, s)
                h, c = kt["where"](m, h_new, h), kt["where"](m, c_new, c)
            hs_list.append(h)
            acts.append(a)
        seq = _stack(kt, hs_list, 0)  # (T, D, B, P)
        outs = _directions(kt, seq, 1, 1, ndir)
        out = outs[0] if ndir == 1 else kt["cat"](outs, 2)
        ctx.save_for_backward(xproj, h0, c0, w_hh, b_hh, w_hr, mask)
        ctx.raw = (hs_list, cs_prev, acts, raws)
        return xproj._new(out), xproj._new(h), xproj._new(c)

    @staticmethod
    def backward(ctx, dout, dh_n, dc_n):
        if ctx.raw is None:
            return _layer_kernel_backward(ctx, dout, dh_n, dc_n)
        xproj, h0, c0, w_hh, b_hh, w_hr, mask = ctx.saved_tensors
        if STATE.enabled:  # create_graph: differentiate the ember-op composite
            return _composite_vjp(ctx, (xproj, h0, c0, w_hh, b_hh, w_hr, mask), (dout, dh_n, dc_n))
        kt = xproj._kt
        hs_list, cs_prev, acts, raws = ctx.raw
        t_len, batch, ndir, g4 = xproj.shape
        hs = g4 // 4
        ps = h0.shape[-1]
        idx = xproj._device.index

        def zeros(shape):
            return kt["full"](shape, 0, xproj._dtype, idx)

        dseq = None
        if dout is not None:  # (T, D, B, P); the reshape restores the P axis _directions drops when P == 1
            dseq = kt["reshape"](_stack(kt, _directions(kt, dout._data, 2, ps, ndir), 1), (t_len, ndir, batch, ps))
        dh_next = zeros((ndir, batch, ps)) if dh_n is None else dh_n._data
        dc_next = zeros((ndir, batch, hs)) if dc_n is None else dc_n._data
        w = w_hh._data
        wr = None if w_hr is None else w_hr._data
        dgates = [None] * t_len
        dprojs = [None] * t_len
        for s in range(t_len - 1, -1, -1):
            dh = dh_next if dseq is None else kt["add"](_at(kt, dseq, s), dh_next)
            dc = dc_next
            if mask is not None:
                m = _at(kt, mask._data, s)
                dh, dh_keep = kt["where"](m, dh, 0), dh
                dc, dc_keep = kt["where"](m, dc, 0), dc
            if wr is not None:
                dprojs[s] = dh
                dh = kt["matmul"](dh, wr)  # (D, B, P) @ (D, P, H)
            dg, dc_next = _cell_backward(kt, dh, dc, acts[s], cs_prev[s])
            dgates[s] = dg
            dh_next = kt["matmul"](dg, w)  # (D, B, 4H) @ (D, 4H, P)
            if mask is not None:
                dh_next = kt["where"](m, dh_next, dh_keep)
                dc_next = kt["where"](m, dc_next, dc_keep)
        dg_all = _stack(kt, dgates, 1)  # (D, T, B, 4H): weight_hh's gradient wants each direction's rows together
        needs = ctx.needs_input_grad
        dx = dw = db = dwr = None
        if needs[0]:
            parts = [_at(kt, dg_all, d) for d in range(ndir)]  # (T, B, 4H) each, in the direction's step order
            parts = [kt["flip"](p, (0,)) if d == 1 else p for d, p in enumerate(parts)]
            dx = parts[0] if ndir == 1 else kt["cat"](parts, 2)
            dx = xproj._new(kt["reshape"](dx, (t_len, batch, ndir, g4)))
        if needs[3]:
            h_prev = _stack(kt, [h0._data] + hs_list[:-1], 1)  # (D, T, B, P)
            h_prev = kt["reshape"](h_prev, (ndir, t_len * batch, ps))
            dg_d = kt["reshape"](dg_all, (ndir, t_len * batch, g4))
            dw = w_hh._new(kt["matmul"](kt["permute"](dg_d, (0, 2, 1)), h_prev))
        if b_hh is not None and needs[4]:
            db = b_hh._new(kt["sum"](dg_all, (1, 2), False))
        if w_hr is not None and needs[5]:
            raw = kt["reshape"](_stack(kt, raws, 1), (ndir, t_len * batch, hs))  # (D, T*B, H)
            dp = kt["reshape"](_stack(kt, dprojs, 1), (ndir, t_len * batch, ps))  # (D, T*B, P)
            dwr = w_hr._new(kt["matmul"](kt["permute"](dp, (0, 2, 1)), raw))
        return (dx, h0._new(dh_next) if needs[1] else None, c0._new(dc_next) if needs[2] else None, dw, db, dwr,
                None)


def _layer_kernel_backward(ctx, dout, dh_n, dc_n) -> tuple:
    """The backward of a forward that ran the backend's ``lstm_layer`` kernel."""
    xproj, h0, c0, w_hh, b_hh = ctx.saved_tensors
    if STATE.enabled:  # create_graph: differentiate the ember-op composite
        return _composite_vjp(ctx, (xproj, h0, c0, w_hh, b_hh, None, None), (dout, dh_n, dc_n))
    needs = ctx.needs_input_grad
    acts, c_prev = ctx.layer_raw
    kt = xproj._kt
    dx, dh0, dc0, dw, db = kt["lstm_layer_backward"](
        None if dout is None else dout._data, None if dh_n is None else dh_n._data,
        None if dc_n is None else dc_n._data, acts, c_prev, h0._data, w_hh._data)
    db = b_hh._new(db) if b_hh is not None and needs[4] else None  # (D, 4H)
    return (xproj._new(dx) if needs[0] else None, h0._new(dh0) if needs[1] else None,
            c0._new(dc0) if needs[2] else None, w_hh._new(dw) if needs[3] else None, db, None, None)


def _composite_vjp(ctx, inputs: tuple, grads: tuple) -> tuple:
    from ember.autograd.engine import grad as autograd_grad
    from ember.functions.creation import zeros_like

    with enable_grad():
        outs = lstm_layer_composite(*inputs)
        wanted = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
        gouts = [g if g is not None else zeros_like(o) for g, o in zip(grads, outs)]
        gs = autograd_grad(outs, wanted, gouts, create_graph=True, allow_unused=True)
    it = iter(gs)
    return tuple(next(it) if isinstance(t, Tensor) and t.requires_grad else None for t in inputs)


def lstm_layer_composite(xproj: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                         w_hr: Tensor | None = None, mask: Tensor | None = None) -> tuple:
    """:class:`LSTMLayer` in ember ops, one autograd node per op (the double-backward path)."""
    from ember.functions.elementwise import where
    from ember.functions.shape import cat, stack
    from ember.nn import functional as F

    t_len, ndir = xproj.shape[0], xproj.shape[2]
    outs, hn, cn = [], [], []
    for d in range(ndir):
        xs = xproj[:, :, d]
        h, c = h0[d], c0[d]
        w, b = w_hh[d], (None if b_hh is None else b_hh[d])
        seq: list = [None] * t_len
        for s in range(t_len):
            t = t_len - 1 - s if d == 1 else s
            i, f, g, o = (xs[t] + F.linear(h, w, b)).chunk(4, -1)
            c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h_new = o.sigmoid() * c_new.tanh()
            if w_hr is not None:
                h_new = F.linear(h_new, w_hr[d])
            if mask is None:
                h, c = h_new, c_new
            else:
                m = mask[s, d]
                h, c = where(m, h_new, h), where(m, c_new, c)
            seq[t] = h
        outs.append(stack(seq, 0))
        hn.append(h)
        cn.append(c)
    return (outs[0] if ndir == 1 else cat(outs, 2)), stack(hn, 0), stack(cn, 0)


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, params: list, mask: Tensor | None = None) -> tuple:
    """One layer over ``x`` (T, B, in) for every direction in ``params`` (a list of
    ``(w_ih, w_hh, b_ih, b_hh[, w_hr])``, the second one reversed): ``(out (T, B, D*P), h_n, c_n)``.
    ``mask`` (T, D, B, 1) as in :class:`LSTMLayer`."""
    from ember.functions.shape import cat, stack
    from ember.nn import functional as F

    ndir = len(params)
    w_hr = None
    if len(params[0]) > 4 and params[0][4] is not None:
        w_hr = stack([p[4] for p in params], 0)
    w_ih = params[0][0] if ndir == 1 else cat([p[0] for p in params], 0)
    # b_hh joins b_ih: one pass over the gates less each way. The backend's lstm_layer adds the sum
    # inside its loop (no pass over the whole projection at all); else the projection carries it.
    bs = [p[2] + p[3] if p[2] is not None and p[3] is not None else p[2] for p in params]
    in_kernel = _layer_kernels(x._kt, w_hr, mask)
    b_ih = None if bs[0] is None or in_kernel else (bs[0] if ndir == 1 else cat(bs, 0))
    proj = F.linear(x, w_ih, b_ih)  # every direction's input projection, whole sequence, one matmul
    t_len, batch = x.shape[0], x.shape[1]
    xproj = proj.reshape(t_len, batch, ndir, proj.shape[-1] // ndir)
    w_hh = stack([p[1] for p in params], 0)
    if in_kernel and bs[0] is not None:
        b_hh = stack(bs, 0)
    else:
        b_hh = None if params[0][3] is None or params[0][2] is not None else stack([p[3] for p in params], 0)
    return LSTMLayer.apply(xproj, h0, c0, w_hh, b_hh, w_hr, mask)
