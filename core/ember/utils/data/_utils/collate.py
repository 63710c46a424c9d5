"""``torch.utils.data._utils.collate``: the collate registry and its leaf rules (see ``ember.utils.data.collate``).

Example:
    >>> from ember.utils.data._utils.collate import default_collate
    >>> default_collate([1.5, 2.0]).dtype
    ember.float64
"""

from ember.utils.data.collate import (
    _ERR_FMT as default_collate_err_msg_format,
)
from ember.utils.data.collate import (
    _NP_STR_OBJ as np_str_obj_array_pattern,
)
from ember.utils.data.collate import (
    collate,
    collate_float_fn,
    collate_int_fn,
    collate_numpy_array_fn,
    collate_numpy_scalar_fn,
    collate_str_fn,
    collate_tensor_fn,
    default_collate,
    default_collate_fn_map,
    default_convert,
)

__all__ = ["collate", "collate_float_fn", "collate_int_fn", "collate_numpy_array_fn", "collate_numpy_scalar_fn",
           "collate_str_fn", "collate_tensor_fn", "default_collate", "default_collate_err_msg_format",
           "default_collate_fn_map", "default_convert", "np_str_obj_array_pattern"]
