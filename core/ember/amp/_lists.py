"""PyTorch's autocast op lists (aten/src/ATen/autocast_mode.cpp, torch 2.13), by ember name.

A name is a registry op (``matmul``: ``ember.matmul``, ``Tensor.matmul`` and its operators), an
``F.<name>`` of ``ember.nn.functional``, a ``linalg.<name>`` of ``ember.linalg`` or an ``fft.<name>`` of
``ember.fft``. Names that ember lacks are skipped. ``cpu`` has PyTorch's CPU lists; every other device type (cuda, opencl,
third-party backends) PyTorch's CUDA lists, the ones written for accelerators.

Policies: ``lower`` casts floating inputs to the autocast dtype; ``fp32`` casts them to float32;
``fp32_opt`` is ``fp32`` unless the call passes ``dtype=``; ``promote`` casts them all to the
widest floating dtype among them (float64 inputs ignored); ``fp32_pad`` is ``fp32`` for the
reflect (1-d, 2-d) and replicate paddings of ``F.pad`` (PyTorch's ``reflection_pad1d/2d``,
``replication_pad1d/2d/3d``). float64 inputs are never cast, as in PyTorch.

``fp32_interp`` is ``fp32`` for every ``F.interpolate`` mode but "area" (PyTorch's CUDA list names the
``upsample_*`` kernels; "area" runs adaptive average pooling, which it does not list). ``banned``
raises PyTorch's error (``F.binary_cross_entropy`` on accelerators: unsafe in float16).

A registry op that is the very function of a listed ``F.<name>`` (``ember.conv2d`` is
``F.conv2d``, ``ember.layer_norm`` is ``F.layer_norm``) has that name's policy (see
``autocast_mode.registry_op_names``), as ``torch.conv2d`` and ``F.conv2d`` are one aten op.

``native``: ops that PyTorch runs as one kernel outside its lists but that ember composes from listed
ops (``dot`` from ``matmul``, ``histc`` from ``stack``...): no cast, and the listed ops inside do not
autocast, so the result keeps the input dtype as PyTorch's (``dot`` of float32 stays float32; a
float16 ``cummax`` under bfloat16 autocast does not meet ``cat``'s "Unexpected floating ScalarType").
"""

from __future__ import annotations

_CONV = ("F.conv1d", "F.conv2d", "F.conv3d", "F.conv_transpose1d", "F.conv_transpose2d", "F.conv_transpose3d")
_LOSSES = ("F.mse_loss", "F.cosine_embedding_loss", "F.nll_loss", "F.hinge_embedding_loss", "F.poisson_nll_loss",
           "F.smooth_l1_loss", "F.l1_loss", "F.huber_loss", "F.margin_ranking_loss", "F.soft_margin_loss",
           "F.triplet_margin_loss", "F.multi_margin_loss", "F.kl_div", "F.multilabel_margin_loss",
           "F.binary_cross_entropy_with_logits",
           # torch.margin_ranking_loss: the same aten op as F.margin_ranking_loss, without its dims check
           "margin_ranking_loss")
_FFT = tuple(f"fft.{n}" for n in ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
                                  "rfftn", "irfftn", "hfft", "ihfft"))
# PyTorch kernels (outside every list) that ember builds from cat/stack/matmul: see ``native`` above.
_NATIVE = ("histc", "logcumsumexp", "cummax", "cummin", "diag_embed", "block_diag", "matrix_exp",
           "linalg.matrix_exp", "F.unfold")

CPU: dict[str, tuple[str, ...]] = {
    "lower": ("matmul", "mm", "bmm", "baddbmm", "addmm", "addbmm", "F.linear", "F.prelu",
              "F.scaled_dot_product_attention", "linalg.vecdot", *_CONV),
    "fp32": ("F.avg_pool3d", "F.binary_cross_entropy", "F.grid_sample", "polar", "prod", "quantile", "nanquantile",
             "stft", "cdist", "trace", "cholesky", "cholesky_inverse", "cholesky_solve", "inverse", "lu_solve",
             "orgqr", "ormqr", "pinverse", "F.max_pool3d", "F.max_unpool2d", "F.max_unpool3d",
             "F.adaptive_avg_pool3d", "F.adaptive_max_pool3d", "F.fractional_max_pool2d", "F.fractional_max_pool3d",
             "F.cross_entropy", "F.ctc_loss", "geqrf", "qr", "svd", "triangular_solve", *_LOSSES,
             "linalg.cond", "linalg.matrix_rank", "linalg.solve", "linalg.cholesky", "linalg.svdvals",
             "linalg.eigvals", "linalg.eigvalsh", "linalg.inv", "linalg.householder_product", "linalg.tensorinv",
             "linalg.tensorsolve", "linalg.qr", "linalg.cholesky_ex", "linalg.svd", "linalg.eig", "linalg.eigh",
             "linalg.lstsq", "linalg.inv_ex", "view_as_complex", "lu", *_FFT),
    "fp32_opt": (),
    "fp32_pad": ("F.pad",),
    "promote": ("stack", "cat", "index_copy"),
    # convolution: PyTorch's CPU runs aten::_convolution unlisted; ember's calls F.conv<n>d
    "native": ("mv", "dot", "vdot", "addmv", "cross", "linalg.cross", "F.bilinear", "convolution", *_NATIVE),
}

# PyTorch 2.13's AutocastCUDA kernels (its dispatcher lists them: tests/parity/test_autocast_lists.py).
# cat/stack/index_copy are not among them on CUDA (builtin type promotion), unlike the CPU.
ACCELERATOR: dict[str, tuple[str, ...]] = {
    "lower": ("matmul", "mm", "mv", "bmm", "baddbmm", "addmm", "addbmm", "addmv", "addr", "chain_matmul", "einsum",
              "linalg.multi_dot", "linalg.vecdot", "F.linear", "F.prelu", "F.scaled_dot_product_attention",
              "convolution", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", *_CONV),
    # norm/frobenius_norm/nuclear_norm: PyTorch appends dtype=float32 (fp32_append_dtype), the same result.
    # F.cross_entropy: on CUDA PyTorch composes it from log_softmax (dtype=float32) and nll_loss (fp32);
    # ember's does not pass through those hooks, so it is listed whole, with the same float32 result.
    "fp32": ("acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p", "reciprocal",
             "rsqrt", "sinh", "tan", "pow", "F.softplus", "F.layer_norm", "F.group_norm", "F.rms_norm",
             "F.cosine_similarity", "F.pdist", "cdist", "dist", "renorm", "logsumexp", "norm", "frobenius_norm",
             "nuclear_norm", "F.cross_entropy", *_LOSSES),
    "fp32_opt": ("prod", "F.softmax", "F.log_softmax", "softmax", "log_softmax", "cumprod", "cumsum", "sum",
                 "linalg.vector_norm", "linalg.matrix_norm"),
    "fp32_interp": ("F.interpolate",),
    "promote": ("addcdiv", "addcmul", "atan2", "F.bilinear", "cross", "dot", "vdot", "F.grid_sample", "index_put",
                "scatter_add", "tensordot"),
    "banned": ("F.binary_cross_entropy",),
    "native": _NATIVE,
}


def lists(device_type: str) -> dict[str, tuple[str, ...]]:
    """The op lists autocast applies on ``device_type``."""
    return CPU if device_type == "cpu" else ACCELERATOR
