"""PyTorch's foreach databases, run against ember: every sample PyTorch's ``test_foreach.py`` draws
from ``foreach_unary_op_db``, ``foreach_binary_op_db``, ``foreach_pointwise_op_db``,
``foreach_reduce_op_db`` and ``foreach_other_op_db`` (lists of tensors, contiguous and strided, with a
tensor list, number, number list, mixed int/float/complex list or 0-d tensor operand) goes through
``torch._foreach_<op>`` and ``ember._foreach_<op>``, out of place and in place: every list element's
values, dtype and shape must agree, errors by type, and on the cpu the float64 gradients of the
out-of-place forms. The runner is ``run_foreach`` in ``scripts/opinfo_suite.py`` (docs/parity.md).

What ember knowingly answers differently is listed with the reason; those rows xfail while they
differ and pass as soon as they agree.
"""

from __future__ import annotations

import pytest
from script_suites import load_script

torch = pytest.importorskip("torch")

suite = load_script("opinfo_suite")  # (also stubs expecttest for torch.testing)

#: the cpu runs every dtype ember has (16-bit floats apart, below); the OpenCL backend the ones it
#: holds (complex results of complex scalars are reported apart as unsupported there)
_DTYPES = {
    "cpu": [torch.float32, torch.float64, torch.int64, torch.bool, torch.complex64, torch.uint8],
    "opencl": [torch.float32, torch.float64, torch.int64, torch.bool],
}

#: (op, dtype name) -> why ember's answer differs
KNOWN_DTYPE: dict[tuple[str, str], str] = {
    ("_foreach_pow", "complex64"): "PyTorch's complex64 power by an integer computes exp(n log z) in float32 (1.4e-6 "
                                   "relative from the exact value); ember's is within 4e-7, just outside "
                                   "assert_close's 1.3e-6 on one element",
}

_NAMES = sorted({op.name for op in suite.foreach_ops()})


@pytest.mark.parametrize("name", _NAMES)
def test_foreach_samples_match_pytorch(device, name):
    import ember

    kind = ember.device(device).type
    rows = suite.run_foreach({name}, _DTYPES.get(kind, _DTYPES["opencl"]), device=device, grad=kind == "cpu")
    if any(r["status"] == "missing" for r in rows):
        pytest.fail(f"ember has no {name} (or its in-place form)")
    bad = [r for r in rows if r["status"] in ("differs", "ember-raises")]
    reasons = {KNOWN_DTYPE.get((name, r["dtype"])) for r in bad}
    if bad and None not in reasons:
        pytest.xfail("; ".join(sorted(reasons)))
    bad = [r for r in bad if (name, r["dtype"]) not in KNOWN_DTYPE]
    assert not bad, "\n".join(f"{r['dtype']} sample {r['sample']}: {r['detail']} ({r.get('sample_repr', '')})"
                              for r in bad[:5])
    assert any(r["status"] == "ok" for r in rows), "no sample ran"


def test_foreach_pointwise_scalars_keyword():
    """PyTorch names addcmul/addcdiv's per-tensor values ``scalars`` (its ScalarList and Tensor
    overloads); giving both ``value`` and ``scalars`` matches no overload."""
    import ember

    for lib in (torch, ember):
        xs = [lib.ones(2), lib.ones(3)]
        out = lib._foreach_addcmul(xs, xs, xs, scalars=[2.0, 3.0])
        assert [o.tolist() for o in out] == [[3.0, 3.0], [4.0, 4.0, 4.0]]
        lib._foreach_addcdiv_(xs, xs, xs, scalars=lib.tensor([1.0, 2.0]))
        assert [o.tolist() for o in xs] == [[2.0, 2.0], [3.0, 3.0, 3.0]]
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            lib._foreach_addcmul(xs, xs, xs, value=2, scalars=[1.0, 1.0])


@pytest.mark.parametrize("call", [
    lambda lib, c: lib._foreach_maximum(c, c), lambda lib, c: lib._foreach_minimum_(c, c),
    lambda lib, c: lib._foreach_maximum(c, 1 + 1j), lambda lib, c: lib._foreach_minimum_(c, [1.0]),
    lambda lib, c: lib.clamp_min(lib.ones(2), 1 + 1j), lambda lib, c: lib.ones(2, dtype=lib.int64).clamp_max_(2j),
    lambda lib, c: lib._foreach_clamp_min([lib.ones(2, dtype=lib.bool)], [1j]),
])
def test_foreach_min_max_refuse_complex_as_pytorch(call):
    """PyTorch's foreach maximum/minimum run its kernels directly (a NotImplementedError naming the
    kernel, not torch.maximum's RuntimeError) and every clamp_min/clamp_max with a complex bound is
    clamp's NotImplementedError, whatever the tensor's dtype."""
    import ember

    errors = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as info:  # noqa: PT011 - the type is compared below
            call(lib, [lib.ones(2, dtype=lib.complex64)])
        errors.append((type(info.value), str(info.value)))
    assert errors[1] == errors[0]
