"""Property tests where random search finds more than a table: broadcasting shape pairs (compatible
or not) for binary ops, and random basic indexing (slices with steps, negative and out-of-range
integers, None, Ellipsis) read and written through, each compared with PyTorch on every device.

Examples are derandomized so CI runs the same ones every time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes  # noqa: E402
from parity_cases import make_array  # noqa: E402
from parity_compare import Arg, check, storage_shape  # noqa: E402

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# op -> (domain of the second operand, dtypes); domains keep clear of bugs tracked elsewhere
# (integer division by zero) so a failure here is a new finding.
BINARY_OPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "add": ("any", ("float32", "float64", "int64", "bool")),
    "mul": ("any", ("float32", "float64", "int64", "bool")),
    "sub": ("any", ("float32", "int32", "bool")),
    "div": ("nonzero", ("float32", "int64")),
    "maximum": ("any", ("float32", "int64", "bool")),
    "lt": ("any", ("float32", "int64")),
    "eq": ("any", ("float64", "int32")),
    "atan2": ("any", ("float32",)),
    "remainder": ("nonzero", ("float32", "int64")),
}

small_shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
pairs = st.one_of(
    mutually_broadcastable_shapes(num_shapes=2, max_dims=4, min_side=0, max_side=3).map(lambda s: s.input_shapes),
    st.tuples(small_shapes, small_shapes),  # mostly incompatible: the error must match too
)


def _layouts(shape: tuple[int, ...]) -> st.SearchStrategy[str]:
    options = ["contiguous"]
    if len(shape) >= 2:
        options.append("T")
    if len(shape) >= 1:
        options += ["step", "expand"]
    return st.sampled_from(options)


@st.composite
def binary_cases(draw: st.DrawFn) -> tuple[str, str, list[Arg]]:
    op = draw(st.sampled_from(sorted(BINARY_OPS)))
    kind_b, dtypes = BINARY_OPS[op]
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    args = []
    for shape, kind in zip(draw(pairs), ("any", kind_b)):
        layout = draw(_layouts(shape))
        args.append(Arg(make_array(rng, storage_shape(shape, layout), dtype, kind, 0), layout, shape))
    return op, dtype, args


@SETTINGS
@given(case=binary_cases())
def test_broadcasting_binary(case: tuple[str, str, list[Arg]], device: str) -> None:
    op, _, args = case
    check(lambda lib, a, b: getattr(lib, op)(a, b), args, {}, device, tol=2)


@st.composite
def index_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[Any, ...]]:
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    index: list[Any] = []
    dims_left = len(shape)
    for size in shape:
        if draw(st.integers(0, 5)) == 0:
            index.append(None)
        choice = draw(st.integers(0, 3))
        if choice == 0:
            index.append(draw(st.integers(-size - 1, size)))  # one past either end: IndexError
        elif choice == 1 and dims_left > 1 and Ellipsis not in index:
            index.append(Ellipsis)
            break
        else:
            start = draw(st.none() | st.integers(-size - 2, size + 2))
            stop = draw(st.none() | st.integers(-size - 2, size + 2))
            step = draw(st.none() | st.integers(1, 3))
            index.append(slice(start, stop, step))
        dims_left -= 1
    return shape, tuple(index)


@SETTINGS
@given(case=index_cases(), write=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_random_basic_indexing(case: tuple[tuple[int, ...], tuple[Any, ...]], write: bool, seed: int,
                               device: str) -> None:
    shape, index = case
    x = Arg(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))

    def read(lib: Any, t: Any) -> Any:
        return t[index] * 2

    def write_through(lib: Any, t: Any) -> Any:
        y = t * 1
        y[index] = 0.5  # a write into the view must land in y, and cut the gradient there
        return y

    check(write_through if write else read, [x], {}, device)
