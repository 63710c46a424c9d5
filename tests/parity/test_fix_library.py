"""``ember.library`` custom operators against ``torch.library``: inferred schemas, values, gradients
through ``register_autograd``, PyTorch's errors (no formula, aliasing output, no fake kernel, missing
annotations), per-device kernels, the ``Library.define/impl`` API, ``ember.ops`` and ``opcheck``."""


import itertools

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")
_ids = itertools.count()


def _name(ns: str = "embertest") -> str:
    return f"{ns}::op{next(_ids)}"  # every test defines new operators (PyTorch's registry is global)


def _signatures(lib):
    T = lib.Tensor

    def a(x: T, scale: float = 1.0) -> T: ...
    def b(x: T, y: T | None, d: lib.dtype, dev: lib.device, s: str, fl: list[float],
          n: int | None = None) -> list[T]: ...
    def c(x: T, n: int, ys: list[T], flag: bool = False) -> tuple[T, T]: ...
    def d(x: T, *, k: int = 3) -> None: ...
    return [(a, ()), (b, {"x"}), (c, ()), (d, {"x"}), (b, "unknown")]


def test_infer_schema_matches_torch():
    for (fe, me), (ft, mt) in zip(_signatures(ember), _signatures(torch)):
        assert ember.library.infer_schema(fe, mutates_args=me) == torch.library.infer_schema(ft, mutates_args=mt)


def test_schema_errors_match_torch():
    def noann(x): ...

    def ok(x: ember.Tensor) -> ember.Tensor: ...

    def ok_t(x: torch.Tensor) -> torch.Tensor: ...
    for fe, ft, mut in ((noann, noann, ()), (ok, ok_t, {"zz"})):
        with pytest.raises(ValueError) as ee:
            ember.library.infer_schema(fe, mutates_args=mut)
        with pytest.raises(ValueError) as et:
            torch.library.infer_schema(ft, mutates_args=mut)
        assert str(ee.value).split(" Got func")[0] == str(et.value).split(" Got func")[0]


def _scaled_sin(lib, name):
    @lib.library.custom_op(name, mutates_args=())
    def scaled_sin(x: lib.Tensor, scale: float = 1.0) -> lib.Tensor:
        return x.sin() * scale
    return scaled_sin


@pytest.mark.parametrize("device", ["cpu", "opencl"])
def test_custom_op_values_and_autograd_match_torch(device):
    if device != "cpu" and not ember.plugins.backend(device).is_available():
        pytest.skip(f"{device} not available")
    name = _name()
    ops = {lib.__name__: _scaled_sin(lib, name) for lib in (ember, torch)}
    x0 = np.random.default_rng(0).standard_normal(5)
    xs = {"ember": ember.tensor(x0, device=device, requires_grad=True), "torch": torch.tensor(x0, requires_grad=True)}
    errs = {}
    for lib in ("ember", "torch"):
        y = ops[lib](xs[lib], 2.0)
        assert y.requires_grad
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
        errs[lib] = str(e.value)
    assert errs["ember"] == errs["torch"]  # "Trying to backward through ... no autograd formula was registered"

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.scale = inputs[1]

    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.cos() * ctx.scale, None

    grads = {}
    for lib, mod in (("ember", ember), ("torch", torch)):
        ops[lib].register_autograd(backward, setup_context=setup_context)
        xs[lib].grad = None
        ns, op = name.split("::")
        y = getattr(getattr(mod.ops, ns), op)(xs[lib], 2.0)  # through ember.ops / torch.ops
        y.backward(mod.ones_like(y))
        grads[lib] = (y.detach().cpu().numpy(), xs[lib].grad.cpu().numpy())
    np.testing.assert_allclose(grads["ember"][0], grads["torch"][0], rtol=1e-14)
    np.testing.assert_allclose(grads["ember"][1], grads["torch"][1], rtol=1e-14)
    with ember.no_grad():
        assert not ops["ember"](xs["ember"]).requires_grad


def test_custom_op_errors_match_torch():
    out = {}
    for lib in (ember, torch):
        name = _name()

        @lib.library.custom_op(name, mutates_args=())
        def alias(x: lib.Tensor) -> lib.Tensor:
            return x

        @lib.library.custom_op(_name(), mutates_args=(), device_types="cpu")
        def cpu_only(x: lib.Tensor) -> lib.Tensor:
            return x + 1

        errs = []
        for call in (lambda lib=lib: alias(lib.ones(2)), lambda lib=lib: cpu_only(lib.ones(2, device="meta"))):
            with pytest.raises(RuntimeError) as e:
                call()
            msg = str(e.value)
            errs.append(msg.split(" (with implementation")[0] if "(with implementation" in msg else msg)
        out[lib.__name__] = (errs, name.split("::")[1], str(e.value).split(":")[-1])
    # the operator's name, then PyTorch's text about aliasing outputs
    assert out["ember"][0][0] == out["ember"][1] and out["torch"][0][0] == out["torch"][1]
    assert out["ember"][0][1].split("(")[0] == out["torch"][0][1].split("(")[0]  # "There was no fake impl registered for <CustomOpDef"
    with pytest.raises(ValueError, match="ns::foo"):
        ember.library.custom_op("nonamespace", mutates_args=())(lambda x: x)
    with pytest.raises(TypeError):
        ember.library.custom_op(_name())(lambda x: x)  # mutates_args is required, as in PyTorch


def test_mutating_op_kernels_and_fake():
    seen = {}
    for lib in (ember, torch):
        @lib.library.custom_op(_name(), mutates_args={"x"})
        def inc_(x: lib.Tensor, by: float) -> None:
            x.add_(by)

        t = lib.zeros(3)
        assert inc_(t, 2.0) is None
        op = _scaled_sin(lib, _name())

        @op.register_kernel("cpu")
        def _(x, scale=1.0):
            return x.sin() * scale * 10

        @op.register_fake
        def _(x, scale=1.0, lib=lib):
            return lib.empty_like(x)

        meta = op(lib.ones(2, 3, device="meta"))
        seen[lib.__name__] = (t.tolist(), op(lib.ones(2)).tolist(), tuple(meta.shape), str(meta.device), op._schema)
    e, t = seen["ember"], seen["torch"]
    assert e[0] == t[0] and e[2:] == t[2:]
    np.testing.assert_allclose(e[1], t[1], rtol=2e-7)  # float32 sin within an ulp


def test_register_kernel_per_device_and_module_level_api():
    if not ember.plugins.backend("opencl").is_available():
        pytest.skip("opencl not available")
    name = _name()
    op = _scaled_sin(ember, name)
    ember.library.register_kernel(name, "opencl", lambda x, scale=1.0: x * 0 + 7.0)
    assert op(ember.ones(2, device="opencl")).tolist() == [7.0, 7.0]
    np.testing.assert_allclose(op(ember.ones(2)).numpy(), np.sin(np.ones(2)), rtol=1e-6)
    with pytest.raises(ValueError, match="no custom operator"):
        ember.library.register_fake("embertest::nope", lambda x: x)


def test_library_define_impl_matches_torch():
    results = {}
    for lib in (ember, torch):
        ns = f"embertestlib{next(_ids)}"
        L = lib.library.Library(ns, "DEF")
        L.define("twice(Tensor x, float k=2.0) -> Tensor")
        L.impl("twice", lambda x, k=2.0: x * k, "CompositeImplicitAutograd")
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = getattr(lib.ops, ns).twice(x)
        y.sum().backward()
        L.define("plus(Tensor x) -> Tensor")
        L.impl("plus", lambda x: x + 1, "CPU")
        results[lib.__name__] = (y.tolist(), x.grad.tolist(), getattr(lib.ops, ns).plus.default(lib.ones(2)).tolist())
        with pytest.raises(AttributeError):
            _ = getattr(lib.ops, ns).missing
    assert results["ember"] == results["torch"]


def test_opcheck():
    op = _scaled_sin(ember, _name())
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="test_autograd_registration failed"):
        ember.library.opcheck(op, (x,), test_utils="test_autograd_registration")
    op.register_fake(lambda x, scale=1.0: ember.empty_like(x))
    assert ember.library.opcheck(op, (x.detach(),)) == {"test_schema": "SUCCESS",
                                                        "test_autograd_registration": "SUCCESS",
                                                        "test_faketensor": "SUCCESS"}

    @ember.library.custom_op(_name(), mutates_args=())
    def sneaky(x: ember.Tensor) -> ember.Tensor:
        x.add_(1)  # mutates without saying so
        return x.clone()

    got = ember.library.opcheck(sneaky, (ember.zeros(2),), test_utils="test_schema", raise_exception=False)
    assert "mutated but is not in mutates_args" in got["test_schema"]
