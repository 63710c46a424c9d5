"""DLPack exchange: ember tensors in and out of NumPy (always), PyTorch and CuPy (when present).

Every check is against memory the other library owns: a write on one side must show on the
other (zero-copy), and values must equal the NumPy source.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.utils import dlpack as ember_dlpack


def test_numpy_roundtrip_shares_memory():
    src = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = ember.from_dlpack(src)
    assert t.device.type == "cpu" and t.dtype == ember.float32 and tuple(t.shape) == (3, 4)
    src[1, 2] = -7.0
    assert t[1, 2].item() == -7.0  # ember sees NumPy's write
    back = np.from_dlpack(t)
    back[0, 0] = 99.0
    assert src[0, 0] == 99.0  # and NumPy sees ember's memory
    assert t.__dlpack_device__() == (1, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.int64, np.int32, np.int16, np.int8,
                                   np.uint8, np.bool_])
def test_every_dtype_imports(dtype):
    src = (np.arange(6) % 3).astype(dtype)
    t = ember.from_dlpack(src)
    assert str(t.dtype) == f"ember.{np.dtype(dtype).name}"
    np.testing.assert_array_equal(np.from_dlpack(t), src)


def test_strided_views_export_with_their_strides():
    t = ember.arange(12.0).reshape(3, 4)
    got = np.from_dlpack(t.t()[1:, ::2])
    np.testing.assert_array_equal(got, np.arange(12.0).reshape(3, 4).T[1:, ::2])


def test_requires_grad_refuses_like_pytorch():
    w = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="require gradient"):
        np.from_dlpack(w)
    np.testing.assert_array_equal(np.from_dlpack(w.detach()), np.ones(3, np.float32))


def test_utils_dlpack_capsule():
    capsule = ember_dlpack.to_dlpack(ember.arange(4))
    assert type(capsule).__name__ == "PyCapsule"
    assert ember_dlpack.from_dlpack(np.arange(4)).tolist() == [0, 1, 2, 3]


def test_non_dlpack_objects_get_type_error():
    with pytest.raises(TypeError, match="__dlpack__"):
        ember.from_dlpack([1, 2, 3])


def test_device_without_hooks_says_so(device):
    if device == "cpu":
        pytest.skip("the CPU backend has the hooks")
    t = ember.ones(3, device=device)
    if ember.dispatch.table(t.device.type).has("to_dlpack"):
        pytest.skip(f"{device} has DLPack hooks (tested below)")
    with pytest.raises(BufferError, match=f"the {t.device.type} backend has no DLPack support"):
        np.from_dlpack(t)


def test_torch_interop_cpu():
    torch = pytest.importorskip("torch")
    tt = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    t = ember.from_dlpack(tt)
    tt[0, 1] = 5.0
    assert t[0, 1].item() == 5.0
    back = torch.from_dlpack(ember.arange(3.0) * 2)
    assert back.tolist() == [0.0, 2.0, 4.0]


needs_cuda = pytest.mark.skipif(not ember.cuda.is_available(),
                                reason=f"needs a CUDA device: {ember.cuda.unavailable_reason() or 'none'}")


@needs_cuda
def test_cupy_interop_zero_copy():
    cupy = pytest.importorskip("cupy")
    t = ember.arange(8.0, device="cuda").reshape(2, 4)
    assert t.__dlpack_device__() == (2, 0)
    c = cupy.from_dlpack(t)
    c[1, 1] = -1.0  # writes into ember's memory on the GPU
    assert t[1, 1].item() == -1.0
    src = cupy.arange(5, dtype=cupy.int32)
    e = ember.from_dlpack(src)
    assert e.device == ember.device("cuda:0") and e.dtype == ember.int32
    src[0] = 42
    assert e.cpu().tolist() == [42, 1, 2, 3, 4]


@needs_cuda
def test_torch_cuda_interop_zero_copy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch has no CUDA")
    tt = torch.arange(6, dtype=torch.float32, device="cuda").reshape(2, 3)
    e = ember.from_dlpack(tt)
    assert e.device.type == "cuda"
    tt.mul_(2)
    torch.cuda.synchronize()
    np.testing.assert_array_equal(e.cpu().numpy(), np.arange(6, dtype=np.float32).reshape(2, 3) * 2)
    back = torch.from_dlpack(ember.ones(4, device="cuda") * 3)
    assert back.device.type == "cuda" and back.tolist() == [3.0] * 4
