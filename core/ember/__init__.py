"""ember: a PyTorch-style deep learning framework whose kernels come from backend plugins.

Example:
    >>> import ember as torch
    >>> x = torch.randn(4, 3, requires_grad=True)
    >>> loss = (x @ torch.ones(3)).pow(2).mean()
    >>> loss.backward()
    >>> x.grad.shape
    ember.Size([4, 3])
"""

from __future__ import annotations

import builtins as _builtins
import sys as _sys

from ember import _device_module, plugins
from ember import dispatch as _dispatch  # noqa: F401 - loaded first: the kernel tables

# Load the ``ember.dtype`` alias module before binding the ``dtype`` class below: the first import
# of a submodule sets it as a package attribute, which would otherwise shadow the class later.
from ember import dtype as _dtype_alias_module  # noqa: F401
from ember import functions as _functions  # every op family: each declares its ops as it loads
from ember._ops import registry as _registry
from ember._tensor_str import set_printoptions
from ember.amp import autocast_mode as _autocast_mode
from ember.autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from ember.device import device
from ember.dispatch import (
    DeviceError,
    FallbackError,
    MissingKernelError,
    fallback_counts,
    fallback_policy,
    get_fallback_policy,
    no_fallback,
    reset_fallback_counts,
    set_fallback_policy,
)
from ember.dtypes import (
    bfloat16,
    complex64,
    complex128,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)
from ember.dtypes import (
    bool_ as bool,  # noqa: A001 - PyTorch's name
)
from ember.functions.elementwise import _inplace
from ember.functions.layout import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    memory_format,
    preserve_format,
    sparse_coo,
    strided,
)
from ember.random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ember.serialization import CheckpointError, WeightsOnlyLoadError, load, load_safetensors, save, save_safetensors
from ember.size import Size
from ember.tensor import Tensor
from ember.threads import get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads
from ember.typeinfo import finfo, iinfo

# With every family loaded, the registry attaches the Tensor methods, operators and in-place forms
# and supplies the ``ember.<op>`` functions, in one place (ember._ops.registry).
# Autocast hooks into the ops of PyTorch's autocast lists only, before they are bound (ember.amp).
_registry.wrap_ops(_autocast_mode.registry_op_names(), _autocast_mode.hooked)
_registry.bind_tensor(Tensor, _inplace)
globals().update(_registry.exports())

__version__ = "0.1.0"

float = float32  # noqa: A001 - PyTorch's aliases
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
cfloat = complex64
cdouble = complex128

# PyTorch's numeric constants (``torch.pi`` & co. are plain Python floats; ``newaxis`` is None).
e = 2.718281828459045
pi = 3.141592653589793
inf = _builtins.float("inf")
nan = _builtins.float("nan")
newaxis = None

# ``torch.cuda`` and ``torch.cpu`` exist on every PyTorch build, so these two do whatever is installed
# (``ember.cuda.is_available()`` is False without the cuda backend). Every registered device type,
# these included, gets its ``ember.<type>`` module from its Backend: see ``__getattr__`` below.
cuda = _device_module.device_module("cuda")
cpu = _device_module.device_module("cpu")
# Device-selection code also asks ``torch.xpu.is_available()`` and ``torch.mps``: False/0 here unless a
# backend registers the type (its module then answers).
xpu = _device_module.device_module("xpu")
mps = _device_module.device_module("mps")


def is_tensor(obj: object) -> bool:
    """True when ``obj`` is an ember Tensor."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def detach(t: Tensor) -> Tensor:
    return t.detach()


def detach_(t: Tensor) -> Tensor:
    """``t.detach_()``: detach ``t`` from the graph in place and return it."""
    return t.detach_()


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def _legacy_tensor_type(dt: dtype) -> type:
    """``ember.FloatTensor([1, 2])`` and ``isinstance(x, ember.FloatTensor)`` as in old tutorials."""

    class _Meta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, Tensor) and obj.dtype is dt

        def __call__(cls, *args: object) -> Tensor:
            if len(args) == 1 and not isinstance(args[0], _builtins.int):
                return _functions.creation.tensor(args[0], dtype=dt)
            return _functions.creation.zeros(*(args or (0,)), dtype=dt)  # FloatTensor(): empty, 1-d

    return _Meta(f"{dt.name.capitalize()}Tensor", (), {})


FloatTensor = _legacy_tensor_type(float32)
DoubleTensor = _legacy_tensor_type(float64)
HalfTensor = _legacy_tensor_type(float16)
BFloat16Tensor = _legacy_tensor_type(bfloat16)
LongTensor = _legacy_tensor_type(int64)
IntTensor = _legacy_tensor_type(int32)
ShortTensor = _legacy_tensor_type(int16)
CharTensor = _legacy_tensor_type(int8)
ByteTensor = _legacy_tensor_type(uint8)
BoolTensor = _legacy_tensor_type(bool)

from ember import (  # noqa: E402
    accelerator,
    amp,
    autograd,
    backends,
    compiler,
    distributed,
    distributions,
    fft,
    func,
    jit,
    linalg,
    masked,
    multiprocessing,
    nn,
    onnx,
    optim,
    profiler,
    signal,
    sparse,
    special,
    testing,
    utils,
)
from ember._sym import (  # noqa: E402 - PyTorch's symbolic-shape helpers, on plain numbers in eager
    SymBool,
    SymFloat,
    SymInt,
    sym_float,
    sym_int,
    sym_ite,
    sym_max,
    sym_min,
    sym_not,
    sym_sqrt,
    sym_sum,
)
from ember.amp import (  # noqa: E402 - (``torch.GradScaler`` is ``torch.amp.GradScaler``)
    GradScaler,
    autocast,
    get_autocast_dtype,
    is_autocast_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
)
from ember.amp._deprecated import device_amp_module as _device_amp_module  # noqa: E402
from ember.compiler import compile  # noqa: E402
from ember.func import vmap  # noqa: E402 - ``torch.vmap`` is ``torch.func.vmap``


def get_device(input: Tensor) -> _builtins.int:
    """``input.get_device()``: the device index, -1 on the CPU (``torch.get_device``)."""
    return input.get_device()


from ember.functions.torch_surface import TypedStorage, UntypedStorage  # noqa: E402


def is_storage(obj: object) -> _builtins.bool:
    """True for the storage objects ``Tensor.untyped_storage()``/``storage()`` return (``torch.is_storage``)."""
    return isinstance(obj, UntypedStorage)

# einops finds ember tensors (a backend class it discovers when it runs; einops itself is not imported)
from ember import _einops  # noqa: E402

_einops.install()

# Mixed precision: the autocast-listed functions of ember.nn.functional and ember.linalg (the
# registry ops were wrapped above, before binding).
amp.autocast_mode.install()
for _amp_dev in (cuda, cpu):
    _amp_dev.amp = _device_amp_module(_amp_dev.device_type)
    _sys.modules[f"ember.{_amp_dev.device_type}.amp"] = _amp_dev.amp

# The ops come from the registry (``ember._ops.registry``); the rest of the API is listed here.
__all__ = [
    "channels_last", "channels_last_3d", "contiguous_format", "memory_format", "preserve_format",
    "layout", "strided", "sparse_coo", "sparse",
    "BoolTensor", "ByteTensor", "CharTensor", "CheckpointError", "DeviceError", "DoubleTensor", "FallbackError",
    "BFloat16Tensor", "FloatTensor", "Generator", "finfo", "iinfo", "HalfTensor", "IntTensor", "LongTensor", "MissingKernelError", "ShortTensor",
    "Size", "Tensor", "WeightsOnlyLoadError", "autograd", "bool", "cuda", "default_generator", "detach", "detach_",
    "device", "double", "dtype", "enable_grad", "fallback_counts", "fallback_policy", "float", "float16",
    "bfloat16", "float32", "float64", "get_default_dtype", "get_fallback_policy", "get_rng_state", "half", "inference_mode",
    "initial_seed", "int", "int16", "int32", "int64", "int8", "is_floating_point", "is_grad_enabled",
    "is_tensor", "load", "load_safetensors", "long", "manual_seed", "nn", "no_fallback", "no_grad", "numel",
    "optim", "plugins", "promote_types", "reset_fallback_counts", "result_type", "save",
    "save_safetensors", "seed", "accelerator", "backends", "distributed", "distributions", "func", "linalg", "onnx",
    "profiler", "special", "testing", "set_default_dtype", "set_fallback_policy", "set_grad_enabled",
    "set_printoptions", "set_rng_state", "short", "uint8", "utils",
    "get_num_interop_threads", "get_num_threads", "set_num_interop_threads", "set_num_threads",
    "complex64", "complex128", "cfloat", "cdouble", "fft",
    "compile", "compiler", "jit", "multiprocessing", "masked", "signal",
    "e", "pi", "inf", "nan", "newaxis", "GradScaler", "vmap", "get_device", "is_storage", "TypedStorage",
    "UntypedStorage", "xpu", "mps", "sym_float", "sym_int", "sym_ite", "sym_max", "sym_min", "sym_not",
    "sym_sqrt", "sym_sum", "SymInt", "SymFloat", "SymBool",
    "amp", "autocast", "cpu", "get_autocast_dtype", "is_autocast_enabled", "set_autocast_dtype", "set_autocast_enabled",
] + _registry.op_names(exported=True)


def __getattr__(name: str) -> object:
    """``ember.opencl``, ``ember.toy``...: the module of any registered device type (ember._device_module)."""
    return _device_module.module_attribute(name)
