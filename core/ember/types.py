"""``ember.types`` (``torch.types``): the type aliases PyTorch's annotations use.

``Number``, ``Device``, ``FileLike`` and the ``Storage`` protocol are public (PyTorch's
``__all__``); the underscored names (``_size``, ``_dtype``, ``_device``, ``_int``...) are what type
stubs and library code import from ``torch.types``. The ``Sym*`` names are ember's never-made
:class:`ember._sym.SymInt` & co. (ember has no symbolic shapes); ``_dispatchkey`` is ``str`` and
``_qscheme``/``DispatchKey`` are absent (ember has neither quantized tensors nor dispatch keys).

Example:
    >>> import ember
    >>> from ember.types import Number, _Number, _size
    >>> isinstance(2.5, _Number), isinstance(ember.Size([2, 3]), tuple)
    (True, True)
"""

from __future__ import annotations

import os
from builtins import bool as _bool  # noqa: F401 - the underscore names are the API
from builtins import bytes as _bytes  # noqa: F401
from builtins import complex as _complex  # noqa: F401
from builtins import float as _float  # noqa: F401
from builtins import int as _int  # noqa: F401
from builtins import str as _str  # noqa: F401
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, TypeAlias, Union

from ember._sym import SymBool, SymFloat, SymInt
from ember.device import device as _device
from ember.dtypes import dtype as _dtype
from ember.functions.layout import layout as _layout  # noqa: F401
from ember.size import Size
from ember.tensor import Tensor

if TYPE_CHECKING:
    from typing import Self  # Python 3.11's; only the annotations name it

    from ember.autograd.graph import GradientEdge

__all__ = ["Number", "Device", "FileLike", "Storage"]

_TensorOrTensors: TypeAlias = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors: TypeAlias = Tensor | Sequence[Tensor | None]
_TensorOrTensorsOrGradEdge: TypeAlias = Union[Tensor, Sequence[Tensor], "GradientEdge", Sequence["GradientEdge"]]  # noqa: UP007 - names a class loaded only for type checkers

_size: TypeAlias = Size | list[int] | tuple[int, ...]
_symsize: TypeAlias = Size | Sequence[int | SymInt]
_dispatchkey: TypeAlias = str  # PyTorch's: str | DispatchKey

IntLikeType: TypeAlias = int | SymInt
FloatLikeType: TypeAlias = float | SymFloat
BoolLikeType: TypeAlias = bool | SymBool

py_sym_types = (SymInt, SymFloat, SymBool)  # a tuple for isinstance
PySymType: TypeAlias = SymInt | SymFloat | SymBool

#: "numeric" things, as PyTorch's docs say; ``_Number`` is the tuple for ``isinstance``
Number: TypeAlias = int | float | bool
_Number = (int, float, bool)

FileLike: TypeAlias = str | os.PathLike[str] | IO[bytes]

#: anything that names a device: a device, "cpu"/"cuda:0", an index, or None (the default device)
Device: TypeAlias = _device | str | int | None


class Storage:
    """The protocol PyTorch's storage classes implement (``torch.types.Storage``), for annotations:
    ember's storage objects are ``ember.UntypedStorage``/``TypedStorage`` (``Tensor.untyped_storage()``)."""

    _cdata: int
    device: _device
    dtype: _dtype
    _torch_load_uninitialized: bool

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        raise NotImplementedError

    def _new_shared(self, size: int) -> Self:
        raise NotImplementedError

    def _write_file(self, f: Any, is_real_file: bool, save_size: bool, element_size: int) -> None:
        raise NotImplementedError

    def element_size(self) -> int:
        raise NotImplementedError

    def is_shared(self) -> bool:
        raise NotImplementedError

    def share_memory_(self) -> Self:
        raise NotImplementedError

    def nbytes(self) -> int:
        raise NotImplementedError

    def cpu(self) -> Self:
        raise NotImplementedError

    def data_ptr(self) -> int:
        raise NotImplementedError

    def from_file(self, filename: str, shared: bool = False, nbytes: int = 0) -> Self:
        raise NotImplementedError

    def _new_with_file(self, f: Any, element_size: int) -> Self:
        raise NotImplementedError
