"""Probed parity of ``torch.func`` and ``torch.autograd.functional`` with PyTorch (float64 inputs):
vmap's ``out_dims`` rules (a 1-tuple for a lone tensor, ``None`` with an output that varies over
the batch), in-place writes into unmapped inputs, ``argnums`` normalisation (bools, repeats after
wrapping negatives), vjp/jacrev rejecting integer and bool outputs, jacrev/jacfwd rejecting complex
functions, jvp/jacfwd's dtype checks of primals and tangents, jacfwd's blocks in the output's
dtype, the jvp of a norm at zero, ``autograd.functional.jacobian(vectorize=True)`` of complex
outputs, and ``functional_call`` with a non-tensor value or a submodule's name.

Every case runs on real PyTorch and on ember; results (dtype, shape, values, requires_grad) and
errors (type, and the message where ``full`` is set, with "ember" read as "torch") are compared.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _x(T, *shape, seed=0):
    g = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    return T.tensor(g.standard_normal(shape), dtype=T.float64)


def _norm(x):
    if isinstance(x, (torch.Tensor, ember.Tensor)):
        a = np.asarray(x.detach().tolist(), dtype=complex if x.dtype.is_complex else float)
        return ("T", str(x.dtype).split(".")[-1], tuple(x.shape), np.round(a, 8).tolist(), bool(x.requires_grad))
    if isinstance(x, dict):
        return ("dict", tuple((k, _norm(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(_norm(v) for v in x))
    return x


def _run(fn, T, full):
    try:
        return _norm(fn(T))
    except Exception as e:  # noqa: BLE001 - the error is the result compared
        return ("ERR", type(e).__name__, str(e).replace("ember", "torch") if full else "")


def _z(T, n=2):
    return T.zeros(n, dtype=T.float64)


def _o(T, n=2):
    return T.ones(n, dtype=T.float64)


# name -> (case, compare the error message too)
CASES = {
    # vmap out_dims
    "vmap_out_dims_1tuple_lone_tensor": (lambda T: T.func.vmap(lambda a: a * 2, out_dims=(1,))(_x(T, 3, 4)), True),
    "vmap_out_dims_1tuple_0d": (lambda T: T.func.vmap(lambda a: a.sum(), out_dims=(0,))(_x(T, 3, 4)), True),
    "vmap_out_dims_2tuple_lone_tensor": (lambda T: T.func.vmap(lambda a: a, out_dims=(0, 1))(_x(T, 3, 4)), False),
    "vmap_out_dims_1tuple_str": (lambda T: T.func.vmap(lambda a: a, out_dims=("a",))(_x(T, 3, 4)), True),
    "vmap_out_dims_none_batched": (lambda T: T.func.vmap(lambda a: a, out_dims=None)(_x(T, 3, 4)), True),
    "vmap_out_dims_none_in_tuple": (
        lambda T: T.func.vmap(lambda a: (a, a.sum()), out_dims=(1, None))(_x(T, 3, 4)), True),
    "vmap_out_dims_none_unbatched_input": (
        lambda T: T.func.vmap(lambda a, b: (a, b), in_dims=(0, None), out_dims=(0, None))(_x(T, 3, 4), _x(T, 4)), True),
    "vmap_out_dims_none_constant": (
        lambda T: T.func.vmap(lambda a: (a * 2, T.ones(2)), out_dims=(0, None))(_x(T, 3, 4)), True),
    "vmap_out_dims_none_python": (lambda T: T.func.vmap(lambda a: (a, 1.5), out_dims=(0, None))(_x(T, 3, 4)), True),
    "vmap_out_dims_neg": (lambda T: T.func.vmap(lambda a: a * 2, out_dims=-1)(_x(T, 3, 4)), True),
    "vmap_out_dims_neg_0d": (lambda T: T.func.vmap(lambda a: a.sum(), out_dims=-1)(_x(T, 3, 4)), True),
    "vmap_out_dims_range": (lambda T: T.func.vmap(lambda a: a.sum(), out_dims=1)(_x(T, 3, 4)), False),
    "vmap_in_dims_neg": (lambda T: T.func.vmap(lambda a: a * 2, in_dims=-1)(_x(T, 3, 4)), True),
    "vmap_nested_dict": (
        lambda T: T.func.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": None},))(
            {"a": _x(T, 3, 4), "b": _x(T, 4)}), True),
    # in-place writes into unmapped inputs: PyTorch raises when a mapped value is written in
    "vmap_inplace_unmapped_add": (
        lambda T: T.func.vmap(lambda a, b: b.add_(a), in_dims=(0, None))(_x(T, 3, 4), _x(T, 4)), False),
    "vmap_inplace_unmapped_copy": (
        lambda T: T.func.vmap(lambda a, b: b.copy_(a), in_dims=(0, None))(_x(T, 3, 4), _x(T, 4)), False),
    "vmap_inplace_unmapped_fill": (
        lambda T: T.func.vmap(lambda a, b: b[0].fill_(a.sum()), in_dims=(0, None))(_x(T, 3, 4), _x(T, 4)), False),
    "vmap_inplace_mapped": (lambda T: T.func.vmap(lambda a: a.add_(1))(_x(T, 3, 4)), True),
    "vmap_inplace_fresh": (lambda T: T.func.vmap(lambda a: a.clone().mul_(2))(_x(T, 3, 4)), True),
    # argnums
    "argnums_repeat_after_wrap": (lambda T: T.func.grad(lambda a, b: (a * b).sum(), argnums=(0, -2))(
        _x(T, 3), _x(T, 3)), True),
    "argnums_bool": (lambda T: T.func.grad(lambda a, b: (a * b).sum(), argnums=True)(_x(T, 3), _x(T, 3)), True),
    "argnums_float_entry": (lambda T: T.func.grad(lambda a, b: (a * b).sum(), argnums=(0, 1.0))(
        _x(T, 3), _x(T, 3)), True),
    "argnums_list": (lambda T: T.func.grad(lambda a, b: (a * b).sum(), argnums=[0, 1])(_x(T, 3), _x(T, 3)), True),
    "argnums_empty": (lambda T: T.func.grad(lambda a, b: (a * b).sum(), argnums=())(_x(T, 3), _x(T, 3)), True),
    "argnums_range": (lambda T: T.func.jacrev(lambda a, b: a * b, argnums=(1, -3))(_x(T, 3), _x(T, 3)), True),
    "jacrev_argnums_wrap_repeat": (lambda T: T.func.jacrev(lambda a, b: a * b, argnums=(1, -1))(
        _x(T, 3), _x(T, 3)), True),
    # integer / bool outputs
    "vjp_bool_output": (lambda T: T.func.vjp(lambda a: a > 0, _x(T, 3)), True),
    "vjp_int_output_in_tuple": (lambda T: T.func.vjp(lambda a: (a * 2, a.int()), _x(T, 3)), True),
    "jacrev_bool_output": (lambda T: T.func.jacrev(lambda a: a > 0)(_x(T, 3)), True),
    "jacrev_int_output": (lambda T: T.func.jacrev(lambda a: a.int())(_x(T, 3)), True),
    "jacfwd_bool_output": (lambda T: T.func.jacfwd(lambda a: a > 0)(_x(T, 3)), True),
    "jacfwd_int_output": (lambda T: T.func.jacfwd(lambda a: (a.int(), a * 2))(_x(T, 3)), True),
    "jacfwd_float32_output": (lambda T: T.func.jacfwd(lambda a: a.float().sin())(_x(T, 3)), True),
    "jacfwd_float32_two_inputs": (lambda T: T.func.jacfwd(lambda a, b: (a * b).float(), argnums=(0, 1))(
        _x(T, 3), _x(T, 3)), True),
    "jacrev_float32_output": (lambda T: T.func.jacrev(lambda a: a.float().sin())(_x(T, 3)), True),
    # complex functions
    "jacrev_complex_input": (lambda T: T.func.jacrev(lambda a: a * 2)(T.ones(2, dtype=T.complex128)), True),
    "jacrev_complex_other_arg": (lambda T: T.func.jacrev(lambda a, b: a * 2)(_x(T, 2), T.ones(2, dtype=T.complex64)),
                                 True),
    "jacrev_complex_output": (lambda T: T.func.jacrev(lambda a: (a * 2, a * 1j))(_x(T, 2)), True),
    "jacfwd_complex_input": (lambda T: T.func.jacfwd(lambda a: a.abs())(T.ones(2, dtype=T.complex128)), True),
    "jacfwd_complex_output": (lambda T: T.func.jacfwd(lambda a: a * 1j)(_x(T, 2)), True),
    "hessian_complex_input": (lambda T: T.func.hessian(lambda a: a.abs().sum())(T.ones(2, dtype=T.complex128)), True),
    # primal / tangent dtypes
    "jvp_int_primal": (lambda T: T.func.jvp(lambda a: a * 2, (T.arange(3),), (T.arange(3),)), True),
    "jvp_int_tangent": (lambda T: T.func.jvp(lambda a: a * 2, (_x(T, 3),), (T.ones(3, dtype=T.int64),)), True),
    "jvp_bool_tangent_bad_shape": (lambda T: T.func.jvp(lambda a: a * 2, (_x(T, 3),), (T.ones(2, dtype=T.bool),)),
                                   True),
    "jacfwd_int_input": (lambda T: T.func.jacfwd(lambda a: a * 2)(T.arange(3)), True),
    "jacfwd_int_unused_arg": (lambda T: T.func.jacfwd(lambda a, b: a * b)(_x(T, 3), T.arange(3)), True),
    # the jvp of a norm at zero: forward mode gives 0 (ember's double vjp must not give nan)
    "jvp_norm_zero": (lambda T: T.func.jvp(lambda a: a.norm(), (_z(T),), (_o(T),)), True),
    "jvp_norm3_zero": (lambda T: T.func.jvp(lambda a: a.norm(p=3), (_z(T),), (_o(T),)), True),
    "jvp_norm_dim_zero_row": (lambda T: T.func.jvp(lambda a: T.linalg.vector_norm(a, dim=1),
                                                   (T.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=T.float64),),
                                                   (T.ones(2, 2, dtype=T.float64),)), True),
    "af_jvp_norm_zero": (lambda T: T.autograd.functional.jvp(lambda a: a.norm(), _z(T, 3), _o(T, 3)), True),
    "af_hvp_norm": (lambda T: T.autograd.functional.hvp(lambda a: a.norm(), _x(T, 3), _o(T, 3)), True),
    "hessian_norm": (lambda T: T.func.hessian(lambda a: a.norm())(_x(T, 3)), True),
    "grad_norm_zero": (lambda T: T.func.grad(lambda a: a.norm(p=3))(_z(T)), True),
    # autograd.functional.jacobian(vectorize=True) passes its basis explicitly: complex outputs work
    "af_jacobian_vectorize_complex": (lambda T: T.autograd.functional.jacobian(
        lambda a: a * 2, T.tensor([1 + 2j, 3j], dtype=T.complex128), vectorize=True), True),
    "af_jacobian_vectorize_complex_two": (lambda T: T.autograd.functional.jacobian(
        lambda a: (a * a, a.abs()), T.tensor([1 + 2j, 3j], dtype=T.complex128), vectorize=True), True),
    "af_jacobian_vectorize_real_to_complex": (lambda T: T.autograd.functional.jacobian(
        lambda a: a * 1j, _x(T, 2), vectorize=True), True),
    "af_jacobian_complex_not_vectorized": (lambda T: T.autograd.functional.jacobian(
        lambda a: a * 2, T.tensor([1 + 2j, 3j], dtype=T.complex128)), True),
    "af_hessian_vectorize_complex": (lambda T: T.autograd.functional.hessian(
        lambda a: (a * a).abs().sum(), T.tensor([1 + 2j, 3j], dtype=T.complex128), vectorize=True), True),
    # functional_call
    "functional_call_non_tensor": (lambda T: T.func.functional_call(T.nn.Linear(2, 2), {"weight": 3.0}, (_x(T, 2),)),
                                   True),
    "functional_call_submodule_name": (lambda T: T.func.functional_call(
        T.nn.Sequential(T.nn.Linear(2, 2)), {"0": T.eye(2)}, (T.ones(1, 2),)), True),
    "functional_call_none_bias": (lambda T: T.func.functional_call(
        T.nn.Linear(2, 2).double(), {"weight": T.eye(2, dtype=T.float64), "bias": None}, (_x(T, 2),)), True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_func_probe(name):
    fn, full = CASES[name]
    t, e = _run(fn, torch, full), _run(fn, ember, full)
    assert e == t, (t, e)


def test_vmap_unmapped_inplace_is_not_repeated():
    """PyTorch writes ``b * 2`` into an unmapped input once; a loop would write it once per batch
    element. ember must not give the repeated result: it raises instead (documented difference)."""
    b_t = torch.arange(4.0, dtype=torch.float64)
    torch.func.vmap(lambda a, b: b.mul_(2), in_dims=(0, None))(torch.ones(3, 4, dtype=torch.float64), b_t)
    b_e = ember.arange(4.0, dtype=ember.float64)
    try:
        ember.func.vmap(lambda a, b: b.mul_(2), in_dims=(0, None))(ember.ones(3, 4, dtype=ember.float64), b_e)
    except RuntimeError:
        pass
    else:
        np.testing.assert_allclose(b_e.tolist(), b_t.tolist())
    # never written more often than PyTorch writes it
    assert all(abs(e) <= abs(t) for e, t in zip(b_e.tolist(), b_t.tolist()))
