"""Registers the NumPy backend as the ``cpu`` device (entry point ``ember.backends: cpu``).

It is also ember's host: NumPy arrays are the format every other backend copies to and from.

Example:
    >>> import ember
    >>> ember.plugins.backend("cpu").device_count()
    1
"""

from __future__ import annotations

import numpy as np
from ember import dtypes as _dt
from ember.backend import Backend
from ember.hookspecs import hookimpl

from ember_cpu_numpy import lowp, malloc
from ember_cpu_numpy.dtypes import EMBER_DTYPE, NP_DTYPE
from ember_cpu_numpy.fft_kernels import FFT_KERNELS
from ember_cpu_numpy.kernels import KERNELS
from ember_cpu_numpy.linalg_kernels import LINALG_KERNELS
from ember_cpu_numpy.nn_kernels import NN_KERNELS
from ember_cpu_numpy.optim_kernels import OPTIM_KERNELS
from ember_cpu_numpy.rnn_kernels import RNN_KERNELS
from ember_cpu_numpy.special import SPECIAL_KERNELS

malloc.tune()  # keep freed activation memory for reuse instead of page-faulting it back every step


class NumpyBackend(Backend):
    device_type = "cpu"
    install_hint = "pip install ember"
    array_types = (np.ndarray,)
    dlpack_device_types = (1, 3)  # kDLCPU, kDLCUDAHost (pinned host memory): NumPy reads both in place

    def device_count(self) -> int:
        return 1

    def device_name(self, index: int) -> str:
        return f"NumPy {np.__version__} on the host CPU"

    def supported_dtypes(self, index: int) -> tuple[_dt.dtype, ...]:
        return _dt.ALL_DTYPES + _dt.COMPLEX_DTYPES  # NumPy stores complex64/complex128 natively

    def compile_elementwise(self, program):
        from ember_cpu_numpy.fusion import compile_elementwise

        return compile_elementwise(program)

    def emulated_dtypes(self, index: int) -> tuple[_dt.dtype, ...]:
        return (_dt.float16, _dt.bfloat16)  # computed in float32 and rounded (ember_cpu_numpy.lowp)

    # ---- host-format helpers (only the cpu backend has these) -----------------------------
    def dtype_of(self, array: np.ndarray) -> _dt.dtype:
        try:
            return EMBER_DTYPE[array.dtype]
        except KeyError:
            raise TypeError(f"can't convert np.ndarray of type numpy.{array.dtype}. The only supported types are: "
                            "float64, float32, float16, bfloat16, complex64, complex128, int64, int32, int16, int8, "
                            "uint8, and bool.") from None

    def from_object(self, obj, dtype, copy=True):
        """A NumPy array and its ember dtype from nested lists, numbers or arrays."""
        if isinstance(obj, np.ndarray) and not copy:
            if dtype is not None and NP_DTYPE[dtype] != obj.dtype:
                raise TypeError(f"from_numpy cannot change dtype {obj.dtype} to {dtype}")
            if (obj.dtype.kind not in "fiubc" and obj.dtype != NP_DTYPE[_dt.bfloat16]) or obj.dtype.byteorder == ">":
                raise TypeError(f"can't convert np.ndarray of type numpy.{obj.dtype}. The only supported types are: "
                                "float64, float32, float16, bfloat16, complex64, complex128, int64, int32, int16, "
                                "int8, uint8, and bool.")
            return obj, self.dtype_of(obj)
        if dtype is not None:
            if dtype in (_dt.float16, _dt.bfloat16) and not (isinstance(obj, np.ndarray) and obj.itemsize <= 4):
                # doubles reach 16 bits through float32, as PyTorch's conversion (a second rounding)
                return np.array(obj, dtype=np.float32, copy=True).astype(NP_DTYPE[dtype]), dtype
            arr = np.array(obj, dtype=NP_DTYPE[dtype], copy=True)
            return arr, dtype
        arr = np.array(obj, copy=True)
        if arr.dtype == NP_DTYPE[_dt.bfloat16]:  # ml_dtypes' bfloat16 has kind "V", not "f"
            return arr, _dt.bfloat16
        if arr.dtype == object and not isinstance(obj, np.ndarray):
            # Python ints beyond int64 beside a float or complex: the data is floating and each int
            # is read as a double, as PyTorch does (tensor([1.0, 2**70]) is float32)
            kinds = {type(v) for v in arr.flat}
            if kinds <= {int, bool, float, complex} and kinds & {float, complex}:
                arr = arr.astype(np.complex128 if complex in kinds else np.float64)
        if not isinstance(obj, np.ndarray) and (arr.dtype == np.uint64 or arr.dtype == object and any(
                isinstance(v, int) and not -(1 << 63) <= v < (1 << 63) for v in arr.flat)):
            raise ValueError("Overflow when unpacking long long")  # a Python int beyond int64, as PyTorch
        if arr.dtype.kind == "f":
            inferred = _dt.get_default_dtype() if not isinstance(obj, np.ndarray) else self.dtype_of(arr)
        elif arr.dtype.kind in "iu":
            inferred = _dt.int64 if not isinstance(obj, np.ndarray) else self.dtype_of(arr)
        elif arr.dtype.kind == "b":
            inferred = _dt.bool_
        elif arr.dtype.kind == "c":  # Python complex numbers: the default complex dtype, as PyTorch
            inferred = _dt.default_complex_dtype() if not isinstance(obj, np.ndarray) else self.dtype_of(arr)
        elif arr.dtype == object:
            bad = next((v for v in arr.flat if not isinstance(v, (int, float, complex))), None)
            raise RuntimeError(f"Could not infer dtype of {type(bad).__name__}")
        elif arr.dtype.kind in "US":
            raise TypeError(f"Could not infer dtype of {type(obj).__name__} (values of type {arr.dtype})")
        else:
            raise TypeError(f"can't convert data of NumPy type {arr.dtype}")
        if arr.dtype != NP_DTYPE[inferred]:
            arr = arr.astype(NP_DTYPE[inferred])
        return arr, inferred


_BACKEND = NumpyBackend()


@hookimpl
def ember_backend():
    return _BACKEND


@hookimpl
def ember_kernels(device_type):
    if device_type == "cpu":
        return lowp.wrap({**KERNELS, **NN_KERNELS, **RNN_KERNELS, **OPTIM_KERNELS, **LINALG_KERNELS, **SPECIAL_KERNELS,
                          **FFT_KERNELS})
    return None
