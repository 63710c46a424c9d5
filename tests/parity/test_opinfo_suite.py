"""PyTorch's own OpInfo database, run against ember: every sample input PyTorch's test suite
generates for an op (``torch.testing._internal.common_methods_invocations.op_db``) goes through the
op on PyTorch and on ember, and values, dtypes and shapes must agree (float64 gradients and the
in-place variants too). The runner is ``scripts/opinfo_suite.py`` (see docs/parity.md); this file
makes it a permanent row per op and device, so a regression anywhere in the ~700 ops PyTorch
describes fails here.

Ops ember knowingly answers differently are listed in ``KNOWN`` with the reason; they xfail while
they differ and pass as soon as they agree.
"""

from __future__ import annotations

import pytest
from script_suites import load_script

torch = pytest.importorskip("torch")

suite = load_script("opinfo_suite")  # (also stubs expecttest for torch.testing)

#: op (OpInfo name, with ``.variant`` where it has one) -> why ember's answer differs
KNOWN: dict[str, str] = {
    "chalf": "ember has no complex32 dtype",
    "complex": "complex() of float16 gives complex32, which ember has no dtype for",
    "view_as_complex": "a float16 input gives complex32, which ember has no dtype for",
    "max_pool2d_with_indices_backward": "an aten-internal op (torch.ops.aten), not public API",
    "svd_lowrank": "randomized: its random projections are drawn from ember's generator",
    "pca_lowrank": "randomized: its random projections are drawn from ember's generator",
    "to_sparse": "the runner compares dense values; sparse layouts are compared in test_fix_sparse.py",
    "linalg.eig": "eigenvectors are unique up to a phase per column; LAPACK's choice differs from PyTorch's",
    "as_strided_scatter": "PyTorch 2.13's AsStridedScatterBackward0 gives wrong gradients (docs/torch-surface.md)",
    "nn.functional.embedding": "sparse=True gradients: ember returns dense gradients",
    "nn.functional.embedding_bag": "sparse=True gradients: ember returns dense gradients",
    "nn.functional.interpolate.bicubic": "uint8 bicubic (PyTorch's antialias path) is not implemented",
    "as_strided.partial_views": "its samples are views into a larger storage, which the runner copies away",
    "linalg.eigh": "eigenvectors are unique up to a sign per column; LAPACK builds choose differently",
    "matrix_exp": "one batched float32 sample: 1e-3 relative on an element 1e-5 of the matrix's largest "
                  "(below PyTorch's own error against float64 there)",
    "nn.functional.conv_transpose3d": "float32 summation order: 1e-4 absolute on sums of 100+ products",
    "fft.hfft2": "float32 rounding of a 3-d transform: 1.3e-5 absolute",
    "special.hermite_polynomial_he": "float32 rounding of the recurrence: 4e-4 absolute, 3e-5 relative",
}

#: what differs on one device only (besides the dtypes it lacks, which the runner reports apart)
KNOWN_ON = {
    "opencl": {
        "tensor_split": "the runner puts the index tensor on the device; PyTorch (and ember) want it on the CPU",
        "linalg.eigvals": "its complex result: the OpenCL backend has no complex dtypes",
    },
}

#: in-place variants that differ (the out-of-place op still must agree)
KNOWN_INPLACE = {
    "addbmm": "PyTorch's addbmm_ resizes a smaller self to the result (it runs addbmm_out(self, self)); ember "
              "refuses, as every other in-place op does",
}

_DTYPES = [torch.float32, torch.float64, torch.int64, torch.bool]
_NAMES = sorted({op.name + (f".{op.variant_test_name}" if op.variant_test_name else "") for op in suite.op_db})


@pytest.mark.parametrize("name", _NAMES)
def test_opinfo_samples_match_pytorch(device, name):
    import ember

    rows = suite.run({name}, _DTYPES, max_samples=12, grad=ember.device(device).type == "cpu", verbose=False,
                     device=device, inplace=True)
    rows = [r for r in rows if r["op"] == name]
    if any(r["status"] == "missing" for r in rows):
        pytest.skip(f"ember has no {name}")
    bad = [r for r in rows if r["status"] in ("differs", "ember-raises")
           and not (name in KNOWN_INPLACE and r["detail"].startswith("in-place"))]
    reason = KNOWN.get(name) or KNOWN_ON.get(ember.device(device).type, {}).get(name)
    if bad and reason:
        pytest.xfail(reason)
    assert not bad, "\n".join(f"{r['dtype']} sample {r['sample']}: {r['status']}: {r['detail']} "
                              f"({r.get('sample_repr', '')})" for r in bad[:5])


#: the narrower dtypes: 16-bit floats round where PyTorch's CPU kernels round, small integers wrap
#: as PyTorch's, complex64 follows the complex128 code paths at float32 precision
_OTHER_DTYPES = [torch.float16, torch.bfloat16, torch.int32, torch.int8, torch.uint8, torch.complex64]

#: (op, dtype name) -> why ember's answer differs for that dtype only
KNOWN_DTYPE = {
    **{(op, dt): "ember has no complex32 dtype" for op in ("complex", "view_as_complex") for dt in ("float16",)},
    **{("native_layer_norm", dt): "16-bit saved statistics of a one-element row: PyTorch's CPU kernel rounds "
                                   "the mean and rstd it returns differently (1 ulp)" for dt in ("float16", "bfloat16")},
    **{(op, "complex64"): "complex64 summation order: one element of a sum of products 1-5e-5 from PyTorch's "
                          "(MKL's cgemm against OpenBLAS's)"
       for op in ("baddbmm", "matmul", "__rmatmul__", "nn.functional.conv2d", "nn.functional.conv3d", "linalg.cond")},
    ("geqrf", "complex64"): "complex geqrf is not implemented",
    ("linalg.eigh", "complex64"): "eigenvectors are unique up to a phase per column; LAPACK builds choose differently",
    ("nn.functional.interpolate.bicubic", "uint8"): "uint8 bicubic (PyTorch's antialias path) is not implemented",
}


@pytest.mark.parametrize("name", _NAMES)
def test_opinfo_samples_in_narrow_dtypes_match_pytorch(device, name):
    import ember

    # (the OpenCL backend has no complex dtypes; its 16-bit floats are float32 kernels around 16-bit storage)
    dtypes = _OTHER_DTYPES if ember.device(device).type == "cpu" else [d for d in _OTHER_DTYPES if not d.is_complex]
    rows = suite.run({name}, dtypes, max_samples=6, grad=False, verbose=False, device=device)
    rows = [r for r in rows if r["op"] == name]
    if any(r["status"] == "missing" for r in rows):
        pytest.skip(f"ember has no {name}")
    bad = [r for r in rows if r["status"] in ("differs", "ember-raises")]
    def known(r: dict) -> str | None:
        return (KNOWN.get(name) or KNOWN_DTYPE.get((name, r["dtype"]))
                or KNOWN_ON.get(ember.device(device).type, {}).get(name))

    reasons = {known(r) for r in bad}
    if bad and None not in reasons:
        pytest.xfail("; ".join(sorted(reasons)))
    bad = [r for r in bad if not known(r)]
    assert not bad, "\n".join(f"{r['dtype']} sample {r['sample']}: {r['status']}: {r['detail']} "
                              f"({r.get('sample_repr', '')})" for r in bad[:5])
