"""``grad_fn`` introspection as PyTorch has it: the ``_saved_<name>`` attributes PyTorch generates
per op (names in ``dir()``, values, identity with the inputs), ``_raw_saved_<name>`` SavedTensors
and their hooks, the freed-buffer error after backward, and ``next_functions``' entries (one per
differentiable input: none for a dim or an index tensor, ``(None, 0)`` for a wrapped Python number).
Every row runs the same expression on PyTorch and on ember and compares. See docs/autograd.md.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

R = np.random.default_rng(7)
ARRAYS = {k: R.standard_normal(s).astype(np.float32) for k, s in dict(
    x=(3, 4), y=(3, 4), w=(4, 5), v=(4,), img=(2, 3, 6, 6), k=(4, 3, 3, 3), b=(4,), bw=(3,), e=(5, 3)).items()}

EXPRS = {
    # arithmetic (a Python number is a wrapped tensor: an edge of its own, a saved 0-d tensor)
    "mul": "x * y", "mul-scalar": "x * 2", "rmul-scalar": "2 * x", "mul-float": "x * 2.5", "mul-int-tensor": "x * ti",
    "mul-nograd-other": "x * yc", "div": "x / y", "div-scalar": "x / 2", "add": "x + y", "add-alpha": "L.add(x, y, alpha=2)",
    "add-scalar": "x + 2", "sub": "x - y", "sub-scalar": "x - 1", "rsub-edges": "1 - x", "neg": "-x",
    "pow-scalar": "x ** 2", "pow-tensor": "x.abs().pow(y)", "square": "x.square()",
    "clamp": "x.clamp(0, 1)", "clamp-min": "x.clamp(min=0)", "maximum": "L.maximum(x, y)", "minimum": "L.minimum(x, y)",
    "where": "L.where(x > 0, x, y)", "where-scalar": "L.where(x > 0, x, 0.0)", "masked_fill": "x.masked_fill(x > 0, 0.0)",
    # unary math
    "exp": "x.exp()", "log": "x.abs().log()", "sqrt": "x.abs().sqrt()", "rsqrt": "x.abs().rsqrt()", "sin": "x.sin()",
    "cos": "x.cos()", "tanh": "x.tanh()", "sigmoid": "x.sigmoid()", "abs": "x.abs()", "relu": "x.relu()",
    "reciprocal": "x.reciprocal()", "log1p": "x.abs().log1p()", "expm1": "x.expm1()",
    "erf": "x.erf()", "asin": "(x / 4).asin()", "atan": "x.atan()", "sinh": "x.sinh()", "cosh": "x.cosh()",
    # reductions
    "sum": "x.sum()", "sum-dim": "x.sum(0)", "sum-keepdim": "x.sum(1, keepdim=True)", "max": "x.max()", "min": "x.min()",
    "max-dim": "x.max(1)[0]", "min-dim-keep": "x.min(0, keepdim=True)[0]", "amax": "x.amax(1)", "amin": "x.amin(0)",
    "cumsum": "x.cumsum(1)", "softmax": "L.softmax(x, 1)", "log_softmax": "L.log_softmax(x, 0)", "sort": "x.sort(1)[0]",
    # views and shapes
    "view": "x.view(12)", "reshape": "x.reshape(2, 6)", "flatten": "x.flatten()", "t": "x.t()",
    "transpose": "x.transpose(0, 1)", "permute": "x.permute(1, 0)", "unsqueeze": "x.unsqueeze(1)",
    "squeeze-dim": "x[None].squeeze(0)", "squeeze-all": "x[None].squeeze()", "expand": "x[:, :1].expand(3, 5)",
    "select": "x[1]", "select-method": "x.select(1, 2)", "slice": "x[:2]", "slice-step": "x[:, 1:4:2]",
    "narrow": "x.narrow(1, 1, 2)", "clone": "x.clone()", "to-dtype": "x.to(L.float64)", "cat": "L.cat([x, y])",
    "cat-dim1": "L.cat([x, y], 1)", "unbind": "x.unbind()[0]", "flip": "x.flip(0)", "pad": "L.nn.functional.pad(x, (1, 2))",
    # products, nn
    "mm": "x @ w", "mm-nograd-mat2": "x @ wc", "linear": "L.nn.functional.linear(x, w.t())",
    "conv2d": "L.nn.functional.conv2d(img, k, b, stride=2, padding=1)",
    "conv2d-nobias": "L.nn.functional.conv2d(img, k, dilation=2)",
    "max_pool2d": "L.nn.functional.max_pool2d(img, 2, 2)", "avg_pool2d": "L.nn.functional.avg_pool2d(img, 3, 2, 1)",
    "layer_norm": "L.nn.functional.layer_norm(x, (4,), v, v)", "gelu": "L.nn.functional.gelu(x, approximate='tanh')",
    "gather": "x.gather(1, idx2)", "index_select": "x.index_select(0, idx)", "embedding": "L.nn.functional.embedding(idx, e)",
    "embedding-pad": "L.nn.functional.embedding(idx, e, padding_idx=2)",
    "bce_logits": "L.nn.functional.binary_cross_entropy_with_logits(x, y.sigmoid().detach())",
    "bce_logits-sum": "L.nn.functional.binary_cross_entropy_with_logits(x, y.sigmoid().detach(), reduction='sum')",
}

# Graph shape only (ember composes these differently, or keeps a value only normalized): the
# next_functions entries are compared, the saved attributes are not
EDGES_ONLY = {"rsub-edges"}
# ember names every power PowBackward0 (PyTorch: 1 for tensor ** tensor, 2 for number ** tensor)
OTHER_NAME = {"pow-tensor"}


def _env(L, dev):
    d = {n: L.tensor(a, requires_grad=True, device=dev) for n, a in ARRAYS.items()}
    d["yc"] = L.tensor(ARRAYS["y"], device=dev)
    d["wc"] = L.tensor(ARRAYS["w"], device=dev)
    d["idx"] = L.tensor([2, 0], device=dev)
    d["idx2"] = L.tensor([[0, 1], [1, 2], [3, 0]], device=dev)
    d["tgt"] = L.tensor([0, 3, 1], device=dev)
    d["ti"] = L.tensor([1, 2, 3, 4], device=dev)
    d["L"] = L
    return d


def _run(L, expr, dev):
    d = _env(L, dev)
    y = eval(expr, {}, d)  # noqa: S307 - the fixed expressions above
    return d, y, y.grad_fn


def _edges(fn):
    return [(None if n is None else type(n).__name__, nr) for n, nr in fn.next_functions]


def _saved_names(fn):
    return sorted(a for a in dir(fn) if a.startswith(("_saved_", "_raw_saved_")))


def _describe(value, env, out):
    """A saved value, comparable across libraries: tensors by values/dtype/shape and by which
    input (or the output) they are; everything else as it is."""
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        # (identity with an input for float tensors: ember's index ops keep a converted copy of the index)
        who = next((n for n, t in env.items() if t is value), None) if value.dtype.is_floating_point else None
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape),
                np.asarray(value.detach().cpu().tolist(), dtype=np.float64).round(5).tolist(), who,
                value.requires_grad)
    if isinstance(value, tuple):
        return tuple(_describe(v, env, out) for v in value)
    return type(value).__name__, value


@pytest.mark.parametrize("name", sorted(EXPRS))
def test_saved_names_values_and_edges_match_torch(name, device):
    expr = EXPRS[name]
    td, ty, tfn = _run(torch, expr, "cpu")
    ed, ey, efn = _run(ember, expr, device)
    assert efn.name() == tfn.name() or name in EDGES_ONLY | OTHER_NAME, (efn.name(), tfn.name())
    assert _edges(efn) == _edges(tfn)
    if name in EDGES_ONLY:
        return
    assert _saved_names(efn) == _saved_names(tfn)
    for attr in _saved_names(tfn):
        if attr.startswith("_raw_saved_"):
            continue
        want = _describe(getattr(tfn, attr), td, ty)
        got = _describe(getattr(efn, attr), ed, ey)
        assert got == want, f"{attr}: ember {got!r} != torch {want!r}"


@pytest.mark.parametrize("name", ["mul", "mul-scalar", "exp", "sin", "sum-dim", "mm", "conv2d", "where"])
def test_saved_tensors_are_freed_by_backward(name, device):
    """After backward (no retain_graph) a saved tensor raises PyTorch's error, a never-saved one
    reads None, and non-tensor values stay readable."""

    def outcomes(L, dev):
        d, y, fn = _run(L, EXPRS[name], dev)
        y.sum().backward()
        out = {}
        for attr in _saved_names(fn):
            if attr.startswith("_raw_saved_"):
                continue
            try:
                v = getattr(fn, attr)
                out[attr] = "tensor" if isinstance(v, (torch.Tensor, ember.Tensor)) else repr(v)
            except RuntimeError as exc:
                out[attr] = ("RuntimeError", str(exc))
        return out

    assert outcomes(ember, device) == outcomes(torch, "cpu")


def test_saved_result_is_relinked_and_input_is_identical(device):
    for L, dev in ((torch, "cpu"), (ember, device)):
        x = L.tensor([0.5, 1.5], requires_grad=True, device=dev)
        y = x.exp()
        r = y.grad_fn._saved_result
        assert r is not y and r.grad_fn is y.grad_fn and r.requires_grad
        s = x.sin().grad_fn
        assert s._saved_self is x and s._saved_self is s._saved_self
        with pytest.raises(AttributeError, match="'SinBackward0' object has no attribute '_saved_nothing'"):
            s._saved_nothing  # noqa: B018 - the attribute read is the test


def test_raw_saved_register_hooks(device):
    def run(L, dev):
        x = L.tensor([0.5, 1.5], requires_grad=True, device=dev)
        y = x.sin()
        raw = y.grad_fn._raw_saved_self
        log = []
        raw.register_hooks(lambda t: (log.append("pack"), t * 1)[1], lambda t: (log.append("unpack"), t * 10)[1])
        seen = y.grad_fn._saved_self.tolist()
        errors = []
        for args in ((lambda t: t, lambda t: t), (1, lambda t: t)):
            try:
                raw.register_hooks(*args)
            except (RuntimeError, TypeError) as exc:
                errors.append((type(exc).__name__, str(exc).split("\n")[0]))
        try:
            (x * 2).grad_fn._raw_saved_self.register_hooks(lambda t: t, lambda t: t)
        except RuntimeError as exc:
            errors.append(str(exc))
        y.sum().backward()
        return log, seen, np.round(x.grad.tolist(), 5).tolist(), errors

    got, want = run(ember, device), run(torch, "cpu")
    assert got[:3] == want[:3]
    assert [e if isinstance(e, str) else e[0] for e in got[3]] == [e if isinstance(e, str) else e[0] for e in want[3]]
    assert got[3][0] == want[3][0] and got[3][2] == want[3][2]


def test_saved_version_error(device):
    def run(L, dev):
        a = L.tensor([1.0, 2.0], requires_grad=True, device=dev)
        b = a * 1
        y = b.sin()
        b.add_(1)
        try:
            y.grad_fn._saved_self  # noqa: B018
        except RuntimeError as exc:
            return str(exc).split(" Hint")[0].replace("torch.", "ember.").replace("ember.opencl.", "ember.")
        return "no error"

    assert run(ember, device) == run(torch, "cpu")


def test_custom_function_edges_skip_non_tensors(device):
    def run(L, dev):
        class F(L.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, other, nothing):
                ctx.save_for_backward(x, other)
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g, None, None, None

        x = L.tensor([1.0, 2.0], requires_grad=True, device=dev)
        y = F.apply(x, 3, L.ones(2, device=dev), None)
        fn = y.grad_fn
        raw = fn._raw_saved_tensors
        y.sum().backward()
        return _edges(fn), len(raw), "_raw_saved_tensors" in dir(fn), x.grad.tolist()

    assert run(ember, device) == run(torch, "cpu")
