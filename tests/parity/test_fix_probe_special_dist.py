"""Special-function and distribution values that differed from PyTorch 2.13.

``logit`` with eps > 0.5 (PyTorch's x < lo ? lo : (x > hi ? hi : x), not clamp); ``ndtr`` by PyTorch's
(1 + erf(x / sqrt 2)) / 2 in the input's dtype (0 in the float32 lower tail, float16/bfloat16 rounding);
``mvlgamma``'s gradient at -0.0; ndtri/log_ndtr/zeta refusing float16/bfloat16; ``Bernoulli(logits)``
log_prob at logits = +-inf (NaN, PyTorch's BCE formula); ``Normal.sample`` refusing a negative scale.
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN, INF = math.nan, math.inf


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


LOGIT = [(A([0.0, 0.3, 0.5, 0.7, 1.0, NAN, -1.0, 2.0]), 0.6), (A([0.0, 0.3, 0.5, 0.7, 1.0], F64), 0.75),
         (A([0.0, 0.3, 0.5, 0.7, 1.0]), 0.5), (A([0.0, 0.3, 0.5, 0.7, 1.0]), 0.2)]


@pytest.mark.parametrize("arg,eps", LOGIT, ids=range(len(LOGIT)))
def test_logit_eps(device, arg, eps):
    check(lambda L, x: L.logit(x, eps), (arg,), {}, device)
    check(lambda L, x: L.special.logit(x, eps=eps), (arg,), {}, device)


NDTR = [A([-10.0, -7.0, -6.0, -5.0, -3.0, 0.0, 3.0, 6.0, INF, -INF, NAN]),
        A([-10.0, -7.0, -6.0, -5.0, -3.0, 0.0, 3.0, 6.0], F64),
        A([-2.0, -2.5, -1.0, 1.0, 2.5], np.float16, grad=False)]


@pytest.mark.parametrize("arg", NDTR, ids=range(len(NDTR)))
def test_ndtr(device, arg):
    check(lambda L, x: L.special.ndtr(x), (arg,), {}, device)


def test_ndtr_bfloat16(device):
    v = [-2.0, -2.5, -1.0, 1.0, 2.5, -4.0]
    t = torch.special.ndtr(torch.tensor(v, dtype=torch.bfloat16)).float().numpy()
    e = ember.special.ndtr(ember.tensor(v, dtype=ember.bfloat16, device=device)).to(ember.float32).cpu().numpy()
    np.testing.assert_array_equal(e, t)


def test_mvlgamma_grad_negative_zero(device):
    check(lambda L, x: L.mvlgamma(x, 2), (A([-0.0, 0.0, 1.0, 2.5]),), {}, device)
    check(lambda L, x: L.special.multigammaln(x, 3), (A([-0.0, 1.5, 2.5]),), {}, device)


HALF_REFUSED = [lambda L, x: L.special.ndtri(x), lambda L, x: L.special.log_ndtr(x),
                lambda L, x: L.special.zeta(x, 2.0), lambda L, x: L.special.zeta(2.0, x),
                lambda L, x: L.special.zeta(x, x)]


@pytest.mark.parametrize("k", range(len(HALF_REFUSED)))
@pytest.mark.parametrize("dtype", [np.float16, "bfloat16"])
def test_half_refused(device, k, dtype):
    fn = HALF_REFUSED[k]
    tdt, edt = (torch.float16, ember.float16) if dtype is np.float16 else (torch.bfloat16, ember.bfloat16)
    with pytest.raises(NotImplementedError) as t_err:
        fn(torch, torch.ones(2, dtype=tdt))
    with pytest.raises(NotImplementedError) as e_err:
        fn(ember, ember.ones(2, dtype=edt, device=device))
    assert str(e_err.value).replace(f"_{ember.device(device).type}\"", "_cpu\"") == str(t_err.value)


# ---- distributions ------------------------------------------------------------------------------
def _np(t) -> np.ndarray:
    return t.detach().cpu().to(ember.float64).numpy() if isinstance(t, ember.Tensor) else t.detach().double().numpy()


@pytest.mark.parametrize("validate", [True, False, None])
@pytest.mark.parametrize("value", [0.0, 1.0, 0.5, -0.5, -INF])
def test_bernoulli_logits_infinite(device, validate, value):
    logits = [-INF, INF, 0.0, 3.0, -2.0]
    kw = {} if validate is None else {"validate_args": validate}
    td = torch.distributions.Bernoulli(logits=torch.tensor(logits), **kw)
    ed = ember.distributions.Bernoulli(logits=ember.tensor(logits, device=device), **kw)
    try:
        t = td.log_prob(torch.tensor(value))
    except ValueError:
        with pytest.raises(ValueError):
            ed.log_prob(ember.tensor(value, device=device))
        return
    e = ed.log_prob(ember.tensor(value, device=device))
    np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(_np(ed.entropy()), _np(td.entropy()), rtol=1e-6, atol=1e-6, equal_nan=True)


def test_bernoulli_logits_grad(device):
    lt = torch.tensor([-3.0, 0.0, 2.0], requires_grad=True)
    le = ember.tensor([-3.0, 0.0, 2.0], device=device, requires_grad=True)
    torch.distributions.Bernoulli(logits=lt).log_prob(torch.tensor([1.0, 0.0, 1.0])).sum().backward()
    ember.distributions.Bernoulli(logits=le).log_prob(ember.tensor([1.0, 0.0, 1.0], device=device)).sum().backward()
    np.testing.assert_allclose(_np(le.grad), _np(lt.grad), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("scale", [-1.0, NAN])
def test_normal_sample_refuses_bad_scale(device, scale):
    td = torch.distributions.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, scale]), validate_args=False)
    ed = ember.distributions.Normal(ember.tensor([0.0, 1.0], device=device),
                                    ember.tensor([1.0, scale], device=device), validate_args=False)
    with pytest.raises(RuntimeError) as t_err:
        td.sample()
    with pytest.raises(RuntimeError) as e_err:
        ed.sample()
    assert str(e_err.value) == str(t_err.value)
    assert tuple(ed.rsample((3,)).shape) == tuple(td.rsample((3,)).shape)  # rsample does not check, as in PyTorch
