"""Gradient buffers and NumPy views as PyTorch keeps them (found by probing).

One backward can hand the same gradient tensor to several leaves (``a + b``: both get it) or to a
leaf the caller's own ``gradient`` tensor; each ``.grad`` must still be a buffer of its own, or the
next accumulation (or ``clip_grad_norm_``, which scales every ``.grad`` in place) changes the
others too. An LSTM's two bias vectors were such a pair whenever its per-step path ran (OpenCL,
``proj_size``, packed sequences). And ``np.array(t)`` must copy while ``np.asarray(t)`` shares.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _both(fn, device):
    return fn(torch, "cpu"), fn(ember, device)


def _close(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), rtol=rtol, atol=atol)


def test_leaves_fed_one_gradient_accumulate_separately(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = L.ones(3, requires_grad=True, device=dev)
        for _ in range(2):
            ((a + b) * 2).sum().backward()
        first = (a.grad.cpu().tolist(), b.grad.cpu().tolist())
        a.grad = b.grad = None
        ((a + b) * 2).sum().backward()
        L.nn.utils.clip_grad_norm_([a, b], 1.0)  # scales each .grad in place: once each
        return first, a.grad.cpu().tolist(), b.grad.cpu().tolist()
    t, e = _both(run, device)
    assert e[0] == t[0]
    _close(e[1], t[1])
    _close(e[2], t[2])


def test_a_callers_gradient_is_not_taken_as_the_grad(device):
    def run(L, dev):
        x = L.ones(3, requires_grad=True, device=dev)
        g = L.full((3,), 2.0, device=dev)
        x.backward(g)
        x.backward(g)  # accumulates into x.grad, not into g
        y = L.ones(3, requires_grad=True, device=dev)
        (y * 1).backward(g)
        y.grad.add_(1)
        return g.cpu().tolist(), x.grad.cpu().tolist(), y.grad.cpu().tolist()
    t, e = _both(run, device)
    assert e == t


def test_backward_with_inputs_gives_each_its_own_buffer(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = L.ones(3, requires_grad=True, device=dev)
        L.autograd.backward([(a + b).sum()], inputs=[a, b])
        a.grad.add_(1)
        return a.grad.cpu().tolist(), b.grad.cpu().tolist()
    t, e = _both(run, device)
    assert e == t


@pytest.mark.parametrize("variant", ["plain", "proj", "packed"])
def test_lstm_bias_gradients_survive_clipping(device, variant):
    """The bias_ih/bias_hh gradients after clip_grad_norm_ equal PyTorch's (they were one buffer
    on the per-step path, so the clip factor hit them twice)."""
    kw = {"proj_size": 2} if variant == "proj" else {}
    tl = torch.nn.LSTM(3, 4, **kw)
    el = ember.nn.LSTM(3, 4, **kw).to(device)
    el.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tl.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((5, 2, 3)).astype(np.float32)

    def run(L, lstm, dev):
        inp = L.tensor(x, device=dev)
        if variant == "packed":
            inp = L.nn.utils.rnn.pack_padded_sequence(inp, [5, 3])
        out, _ = lstm(inp)
        if variant == "packed":
            out = L.nn.utils.rnn.pad_packed_sequence(out)[0]
        out.sum().backward()
        L.nn.utils.clip_grad_norm_(list(lstm.parameters()), 0.1)
        return {k: p.grad.cpu().numpy() for k, p in lstm.named_parameters()}
    want, got = run(torch, tl, "cpu"), run(ember, el, device)
    for k in want:
        _close(got[k], want[k], rtol=1e-4, atol=1e-6)


def test_numpy_array_copies_and_asarray_shares():
    def run(L):
        t = L.zeros(3)
        np.array(t)[0] = 9  # a copy
        np.asarray(t)[1] = 7  # the same memory
        return t.tolist(), np.array(t, dtype=np.float64).dtype
    assert run(ember) == run(torch)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.array(ember.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="requires grad"):
        np.array(torch.ones(2, requires_grad=True))


def test_materialize_grads_refuses_allow_unused_false():
    for L in (torch, ember):
        x = L.ones(2, requires_grad=True)
        y = L.ones(2, requires_grad=True)
        with pytest.raises(ValueError, match="Expected allow_unused to be True"):
            L.autograd.grad((x * 2).sum(), [x, y], allow_unused=False, materialize_grads=True)


def test_relu_gradient_is_differentiable_with_zero_second_derivative(device):
    def run(L, dev):
        x = L.tensor([-1.0, 2.0, 0.5, 0.0], requires_grad=True, device=dev)
        g, = L.autograd.grad((x.relu() * 3).sum(), x, create_graph=True)
        gg, = L.autograd.grad(g.sum(), x)
        return g.requires_grad, g.detach().cpu().tolist(), gg.cpu().tolist()
    t, e = _both(run, device)
    assert e == t


def test_select_is_one_view_node(device):
    """x[i] and select: one SelectBackward0 node, a view sharing storage, PyTorch's gradient (also
    through an in-place write into the view)."""
    def run(L, dev):
        x = L.arange(12.0, device=dev).reshape(3, 4).requires_grad_()
        y = x * 1
        v = y[1]
        w = y.select(1, -1)
        assert type(v.grad_fn).__name__ == "SelectBackward0" and v._base is y
        v.mul_(3)
        (y.sum() + (w * w).sum()).backward()
        return x.grad.cpu().tolist(), y.detach().cpu().tolist()
    t, e = _both(run, device)
    assert e == t


# ---- round 2: gradients at kinks, ties and special points; graph API edges ------------------------

def _grads(L, dev, fn, values, dtype):
    xs = [L.tensor(v, dtype=getattr(L, dtype), device=dev).requires_grad_() for v in values]
    out = fn(L, *xs)
    (out.sum() if out.dim() else out).backward()
    return [None if x.grad is None else x.grad.float().cpu().numpy() for x in xs]


_INF, _NAN = float("inf"), float("nan")
KINKS = {  # (fn(L, *inputs), input values): the gradient PyTorch picks at a kink, tie or special point
    "abs": (lambda L, x: x.abs(), [[0.0, -0.0, 1.0, -2.0]]),
    "clamp_bounds": (lambda L, x: x.clamp(-1, 1), [[-1.0, 1.0, 0.0, 2.0, -2.0]]),
    "clamp_tensor_bounds": (lambda L, x, lo, hi: x.clamp(lo, hi),
                            [[-1.0, 1.0, 0.0, 2.0], [-1.0, 0.0, 0.0, 3.0], [1.0, 1.0, 0.0, 2.0]]),
    "maximum_tie": (lambda L, x, y: L.maximum(x, y), [[-1.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]),
    "fmax_nan": (lambda L, x, y: L.fmax(x, y), [[-1.0, _NAN, 0.0], [-1.0, 1.0, _NAN]]),
    "hardtanh": (lambda L, x: L.nn.functional.hardtanh(x), [[-1.0, 1.0, 0.0, 2.0]]),
    "relu6": (lambda L, x: L.nn.functional.relu6(x), [[0.0, 6.0, 3.0, 7.0]]),
    "hardswish": (lambda L, x: L.nn.functional.hardswish(x), [[-3.0, 3.0, 0.0]]),
    "max_ties": (lambda L, x: x.max(), [[1.0, 3.0, 3.0, 2.0]]),
    "amax_ties_dim": (lambda L, x: x.amax(1), [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    "max_dim_ties": (lambda L, x: x.max(1).values, [[[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]]),
    "median_ties": (lambda L, x: x.median(), [[2.0, 2.0, 2.0, 2.0]]),
    "mode_ties": (lambda L, x: x.mode(0).values, [[[1.0, 1.0], [2.0, 1.0], [2.0, 1.0]]]),
    "kthvalue_ties": (lambda L, x: x.kthvalue(3).values, [[2.0, 2.0, 2.0, 3.0]]),
    "sort_ties": (lambda L, x: x.sort(stable=True).values * L.arange(1.0, 5.0, device=x.device), [[2.0, 2.0, 1.0, 2.0]]),
    "cummax_ties": (lambda L, x: x.cummax(0).values * L.arange(1.0, 4.0, device=x.device), [[2.0, 2.0, 2.0]]),
    "logsumexp_all_-inf": (lambda L, x: x.logsumexp(0), [[-_INF, -_INF]]),
    "logsumexp_+inf": (lambda L, x: x.logsumexp(0), [[_INF, 1.0]]),
    "softmax_-inf": (lambda L, x: x.softmax(0) * L.arange(1.0, 4.0, device=x.device), [[-_INF, 1.0, 2.0]]),
    "log_softmax_-inf": (lambda L, x: x.log_softmax(0)[1:], [[-_INF, 1.0, 2.0]]),
    "norm_zero": (lambda L, x: x.norm(), [[0.0, 0.0]]),
    "norm_inf": (lambda L, x: x.norm(_INF), [[1.0, -1.0, 0.5]]),
    "vector_norm_half": (lambda L, x: L.linalg.vector_norm(x, 0.5), [[0.0, 1.0]]),
    "cdist_zero": (lambda L, x, y: L.cdist(x, y), [[[0.0, 0.0], [1.0, 1.0]], [[0.0, 0.0]]]),
    "pdist_zero": (lambda L, x: L.pdist(x), [[[0.0, 0.0], [0.0, 0.0], [1.0, 2.0]]]),
    "dist_zero": (lambda L, x, y: L.dist(x, y), [[0.0, 0.0], [0.0, 0.0]]),
    "sqrt_rsqrt_log_0": (lambda L, x: x.sqrt() + x.rsqrt() + x.log(), [[0.0, 1.0]]),
    "pow_0_0": (lambda L, x, y: x ** y, [[0.0, 0.0, 0.0, 2.0], [0.0, -1.0, 2.0, 0.0]]),
    "number_pow_0": (lambda L, y: 0.0 ** y, [[0.0, 1.0, -1.0]]),
    "prod_one_zero": (lambda L, x: x.prod(), [[1.0, 0.0, 3.0]]),
    "prod_two_zeros": (lambda L, x: x.prod(1), [[[1.0, 0.0, 2.0], [0.0, 0.0, 4.0]]]),
    "cumprod_zeros": (lambda L, x: x.cumprod(0) * L.arange(1.0, 5.0, device=x.device), [[2.0, 0.0, 3.0, 0.0]]),
    "std_one_element": (lambda L, x: x.std(), [[1.0]]),
    "atan2_0_0": (lambda L, y, x: L.atan2(y, x), [[0.0, 0.0, 1.0], [0.0, -0.0, 0.0]]),
    "where_nan_branch": (lambda L, x: L.where(x > 0, x.log(), L.zeros(())), [[0.0, 1.0]]),
    "masked_fill_nan": (lambda L, x: x.masked_fill(x < 0, _NAN), [[-1.0, 1.0]]),
    "div_by_zero": (lambda L, x, y: x / y, [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]),
}


@pytest.mark.parametrize("name", sorted(KINKS))
def test_gradient_at_kinks_ties_and_special_points_as_torch(name, device):
    fn, values = KINKS[name]
    want, got = _grads(torch, "cpu", fn, values, "float32"), _grads(ember, device, fn, values, "float32")
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_gradients_as_torch(dtype, device):
    for fn, values in [(lambda L, x: x.exp() * x.sqrt(), [[0.0, 1.0, 4.0]]), (lambda L, x: x.amax(), [[1.0, 1.0]]),
                       (lambda L, x: x.norm(), [[3.0, 4.0]]), (lambda L, x: x.prod(), [[3.0, 0.0, 5.0]])]:
        want, got = _grads(torch, "cpu", fn, values, dtype), _grads(ember, device, fn, values, dtype)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-2, atol=1e-3)


def _outcome(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - the type and message are what is compared
        return type(e), str(e)


def test_detach_in_place_refuses_views_and_detach_is_no_view():
    def run(L):
        y = L.ones(2, requires_grad=True) * 2
        return (_outcome(lambda: y[0].detach_()), _outcome(lambda: y.view(2).detach_()),
                _outcome(lambda: L.ones(2)[0].detach_()), L.ones(2)[0].detach()._base is None,
                _outcome(lambda: y.detach_().requires_grad))
    assert run(ember) == run(torch)


def test_requires_grad_refusal_wording():
    makes = (lambda L: L.tensor([1, 2]).requires_grad_(), lambda L: setattr(L.tensor([1, 2]), "requires_grad", True),
             lambda L: L.tensor([1, 2], requires_grad=True))
    assert [_outcome(lambda m=m: m(ember)) for m in makes] == [_outcome(lambda m=m: m(torch)) for m in makes]


@pytest.mark.parametrize("ret", ["tensor", "int"])
def test_post_accumulate_grad_hook_must_return_none(ret):
    def run(L):
        x = L.ones(2, requires_grad=True)
        x.register_post_accumulate_grad_hook(lambda p: p.grad.mul_(2) if ret == "tensor" else 5)
        return _outcome(lambda: (x * 3).sum().backward())
    e, t = run(ember), run(torch)
    assert e[0] is t[0] and e[1] == t[1]


@pytest.mark.parametrize("how", ["backward", "inputs", "expand", "grad"])
def test_leaf_grad_layout_as_torch(how, device):
    """A contiguous leaf's .grad is contiguous (PyTorch's layout contract): the stride-0 gradient of
    ``sum`` reaching it through ``backward(inputs=...)`` is copied, so in-place ops on it work."""
    def run(L, dev):
        x = L.ones(2, 3, requires_grad=True, device=dev)
        if how == "backward":
            x.sum().backward()
        elif how == "inputs":
            L.autograd.backward([x.sum()], inputs=[x])
        elif how == "expand":
            x.expand(2, 2, 3).sum().backward()
        else:
            return L.autograd.grad(x.sum(), x)[0].stride()
        x.grad.add_(1)
        return x.grad.stride(), x.grad.cpu().tolist()
    assert run(ember, device) == run(torch, "cpu")


NODE_NAMES = {
    "pow_tensor_tensor": lambda L, x: x.pow(x),
    "pow_number_tensor": lambda L, x: 2 ** x,
    "pow_tensor_number": lambda L, x: x ** 3,
    "kthvalue": lambda L, x: x.kthvalue(1, 1)[0],
    "kthvalue_keepdim": lambda L, x: x.kthvalue(1, 1, keepdim=True)[0],
    "mode": lambda L, x: x.mode(1)[0],
    "median_dim": lambda L, x: x.median(1)[0],
    "nanmedian_dim": lambda L, x: x.nanmedian(1)[0],
    "cummax": lambda L, x: x.cummax(1)[0],
    "cummin": lambda L, x: x.cummin(1)[0],
    "aminmax": lambda L, x: x.aminmax(dim=1)[1],
}


@pytest.mark.parametrize("name", sorted(NODE_NAMES))
def test_grad_fn_names_as_torch(name):
    def run(L):
        y = NODE_NAMES[name](L, L.tensor([[1.0, 2.0, 2.0]], requires_grad=True))
        # (pow's edges too; the others' nodes are ember's last step renamed, whose edges may differ)
        return type(y.grad_fn).__name__, len(y.grad_fn.next_functions) if name.startswith("pow") else None
    assert run(ember) == run(torch)


def test_pow_nodes_save_what_torch_saves():
    def run(L):
        x = L.tensor([1.0, 2.0], requires_grad=True)
        a, b = x.pow(x).grad_fn, (2.5 ** x).grad_fn
        return (a._saved_self.tolist(), a._saved_exponent.tolist(), a._saved_result.tolist(), b._saved_self,
                b._saved_exponent.tolist(), b._saved_result.tolist())
    assert run(ember) == run(torch)


@pytest.mark.parametrize("name", ["elu", "elu_alpha2", "selu", "celu"])
def test_elu_family_first_and_second_derivative_at_zero_as_torch(name, device):
    """PyTorch's ELU gradient at exactly 0 is the negative branch's (alpha), and its double backward
    masks ``x < 0``: the second derivative at 0 is 0 (ember's composite gave alpha there)."""
    f = {"elu": lambda L, x: L.nn.functional.elu(x), "elu_alpha2": lambda L, x: L.nn.functional.elu(x, 2.0),
         "selu": lambda L, x: L.nn.functional.selu(x), "celu": lambda L, x: L.nn.functional.celu(x, 0.5)}[name]

    def run(L, dev):
        x = L.tensor([0.0, -0.0, _NAN, -1.0, 1.0], device=dev, requires_grad=True)
        y = f(L, x)
        (g,) = L.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return [a.detach().cpu().numpy() for a in (y, g, gg)]
    for w, e in zip(run(torch, "cpu"), run(ember, device)):
        np.testing.assert_allclose(e, w, rtol=1e-5, atol=1e-6, equal_nan=True)
