"""Cases and rows: the suite as a list of :class:`Case` objects, each giving one :class:`Row`.

Every case checks every value and gradient, with CPU fallbacks allowed: a kernel the device
lacks runs on the CPU (under ``ember.fallback_policy("allow")``) and the case goes on, so a
missing kernel never hides a wrong one. Each row is labelled

* ``native``: correct, and every kernel it used ran on the device;
* ``via fallback``: correct, but the kernels listed in ``Row.fallbacks`` ran on the CPU;
* ``failing``: a wrong value, shape, dtype or gradient, a lost write, or an exception.

A missing ``native_only`` kernel (a view, ``copy_``...) has no fallback: its rows read
``failing``. Ops the backend declares in ``Backend.unsupported`` read ``unsupported`` (with its
reason) and never fail the run, or ``unsupported-but-passes`` when they pass natively after all.

Before anything else, ``from_host``/``to_host`` must round-trip every dtype of the device (the
``runtime/from_host+to_host`` rows): every other check reads its results through them, so when
they are broken the other cases are not run (``skip``, naming the transfer) instead of failing
for a reason that is not theirs.

Example:
    >>> from ember_conformance.suite import Context, build_cases, run_cases
    >>> ctx = Context.for_device("cpu")
    >>> rows = run_cases(ctx, build_cases(ctx, levels=[1], pattern="kernels/add/float32"))
    >>> [(r.op, r.dtype, r.outcome) for r in rows if r.level == 1]
    [('add', 'float32', 'native')]
"""

from __future__ import annotations

import contextlib
import fnmatch
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import ember
import numpy as np
from ember.kernels import KERNELS

from ember_conformance.optable import DT, GRAD_TOL, INDEX, KERNEL_TABLE, OP_TABLE, tolerance
from ember_conformance.samples import ALL, FLOATS, NP, View, host, rng_for, upcast, values

__all__ = ["OUTCOMES", "PASSING", "FAILING", "LEVELS", "RUNTIME_KERNELS", "VIEW_KERNELS", "TRANSFER_OP", "Row", "Case", "Context",
           "Skip", "build_cases", "run_case", "run_cases"]

OUTCOMES = ("native", "via fallback", "failing", "unsupported", "unsupported-but-passes", "skip")
#: outcomes of a row whose values were checked and found right
PASSING = ("native", "via fallback")
#: outcomes that make the run fail (``--strict`` adds "via fallback")
FAILING = ("failing",)
LEVELS = {0: "runtime", 1: "kernels", 2: "ops", 3: "gradients", 4: "nn", 5: "optim", 6: "training",
          7: "semantics", 8: "compiled"}
#: level 0's kernels: the runtime kernels and the views, which a backend needs before anything else
RUNTIME_KERNELS = tuple(n for n, k in KERNELS.items()
                        if k.family == "runtime" or (k.family == "movement" and k.native_only))
#: the view kernels: their result must share memory with their input
VIEW_KERNELS = tuple(n for n, k in KERNELS.items() if k.family == "movement" and k.native_only)
#: the op name of the transfer round-trip rows, which run first whatever the levels and patterns
TRANSFER_OP = "from_host+to_host"


class Skip(Exception):
    """A case that can't run here (a missing ember feature, a device with nothing to test)."""


class SampleError(Exception):
    """An exception raised while running one sample; the message names the sample."""


@contextlib.contextmanager
def sample_context(kind: str) -> Iterator[None]:
    """Name the sample in errors other than assertions, fallbacks and skips."""
    try:
        yield
    except (AssertionError, ember.FallbackError, Skip, SampleError):
        raise
    except Exception as exc:
        raise SampleError(f"sample {kind!r}: {type(exc).__name__}: {exc}") from exc


@dataclass
class Row:
    level: int
    op: str
    dtype: str
    direction: str  # "forward" or "backward"
    outcome: str
    detail: str = ""
    #: the kernels that ran on the CPU instead of the device during this row
    fallbacks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Case:
    level: int
    op: str
    dtype: str
    direction: str
    run: Callable[[Context], tuple[str, str]] = field(repr=False)

    @property
    def id(self) -> str:
        return f"{LEVELS[self.level]}/{self.op}/{self.dtype}/{self.direction}"


@dataclass
class Context:
    """The device under test and what its backend declares."""

    device: ember.device
    backend: object
    dtypes: tuple[str, ...]
    unsupported: dict[str, str]

    @classmethod
    def for_device(cls, dev: str) -> Context:
        d = ember.dispatch.canonical_device(dev)
        be = ember.plugins.backend(d.type)
        dtypes = tuple(_dtype_name(t) for t in be.supported_dtypes(d.index or 0))
        return cls(d, be, dtypes, dict(getattr(be, "unsupported", {}) or {}))

    @property
    def kt(self):
        return ember.dispatch.table(self.device.type)

    @property
    def index(self) -> int:
        return self.device.index or 0


def _dtype_name(t) -> str:
    name = str(t).removeprefix("ember.")
    return name


def _edtype(name: str):
    return getattr(ember, name)


#: (device type, kernel) pairs that fell back inside ``_under_test`` blocks of the current case
_FELL_BACK: set[tuple[str, str]] = set()


@contextlib.contextmanager
def _under_test() -> Iterator[None]:
    """Run the code under test with CPU fallbacks allowed, noting each kernel that fell back (the
    row then reads ``via fallback``). :func:`run_case` runs each whole case in one, so a fallback
    anywhere in a row counts; nested blocks add to the same record."""
    before = ember.fallback_counts()
    try:
        with ember.fallback_policy("allow"):
            yield
    finally:
        _FELL_BACK.update(k for k, n in ember.fallback_counts().items() if n > before.get(k, 0))


# ---- comparing results ----------------------------------------------------------------------
def _expected_dtype(want: np.ndarray, dt: str, rule, args, i: int = 0) -> str:
    for a in args:
        if isinstance(a, DT):
            return a.name
    if rule is not None:
        r = rule(dt)
        return r[i] if isinstance(r, tuple) else r
    if want.dtype == np.bool_:
        return "bool"
    if want.dtype.kind in "iu" and dt in FLOATS:
        return "int64"
    return dt


def compare(got, want, dtype: str, scale: float = 1.0, what: str = "", tol_table=None) -> None:
    """Raise AssertionError naming the first mismatch when ``got`` isn't ``want`` in ``dtype``."""
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"{what}shape {got.shape} != expected {want.shape}")
    if got.dtype != NP[dtype]:
        raise AssertionError(f"{what}dtype {got.dtype} != expected {NP[dtype]}")
    with np.errstate(all="ignore"):
        want_c = want.astype(NP[dtype])
    if dtype in FLOATS:
        rtol, atol = tolerance(dtype, scale, tol_table) if tol_table else tolerance(dtype, scale)
        g, w = got.astype(np.float64), want_c.astype(np.float64)
        ok = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    else:
        g, w = got, want_c
        ok = got == want_c
    if not np.all(ok):
        bad = np.argwhere(~np.asarray(ok))
        pos = tuple(int(i) for i in bad[0]) if bad.size else ()
        err = ""
        if dtype in FLOATS:
            with np.errstate(all="ignore"):
                err = f", max abs error {np.nanmax(np.abs(g - w)):.3g}"
        raise AssertionError(f"{what}{int((~np.asarray(ok)).sum())}/{ok.size} elements differ{err}; "
                             f"at {pos}: got {g[pos]!r}, expected {w[pos]!r}")


def _as_tuple(x) -> tuple:
    if isinstance(x, tuple):
        return x
    return (x,)


def _contig(a: np.ndarray) -> np.ndarray:
    """C-contiguous, keeping 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)."""
    return a if a.flags.c_contiguous else np.array(a, order="C")


# ---- level 1: kernels on backend arrays --------------------------------------------------------
class Caller:
    """Converts host inputs to backend arrays and back, for kernel-level calls."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.kt = ctx.kt
        self.index = ctx.index

    def native(self, name: str) -> bool:
        return self.kt.has(name)

    def dtype(self, name: str):
        return _edtype(name)

    def dev(self, a):
        if isinstance(a, View):
            need = "permute" if a.kind == "T" else "slice"
            if not self.kt.has(need):
                raise Skip(f"non-contiguous sample needs a native {need!r} kernel")
            base = self.kt["from_host"](_contig(a.base), self.index)
            if a.kind == "T":
                return self.kt["permute"](base, tuple(reversed(range(base.ndim))))
            sl = tuple((0, n, 1) for n in a.base.shape[:-1]) + ((0, a.base.shape[-1], 2),)
            return self.kt["slice"](base, sl)
        if isinstance(a, np.ndarray):
            return self.kt["from_host"](_contig(a), self.index)
        if isinstance(a, list):
            return [self.dev(x) for x in a]
        if isinstance(a, tuple) and any(isinstance(x, (np.ndarray, View)) for x in a):
            return tuple(self.dev(x) for x in a)
        if isinstance(a, DT):
            return _edtype(a.name)
        if a is INDEX:
            return self.index
        return a

    def host(self, x):
        if isinstance(x, tuple):
            return tuple(self.host(v) for v in x)
        if x is None or isinstance(x, (bool, int, float)):
            return x
        return np.array(self.kt["to_host"](x), copy=True)


def _ref_args(args) -> tuple:
    out = []
    for a in args:
        if isinstance(a, DT):
            out.append(a.name)
        elif a is INDEX:
            out.append(0)
        else:
            out.append(upcast(host(a)))
    return tuple(out)


def _kernel_case(name: str, dt: str) -> Case:
    entry = KERNEL_TABLE[name]

    def run(ctx: Context) -> tuple[str, str]:
        if dt not in ctx.dtypes:
            return "unsupported", f"the device does not support {dt}"
        if not ctx.kt.has(name):
            if KERNELS[name].required and KERNELS[name].native_only:  # no fallback: every use raises
                raise AssertionError(f"no native {name!r} kernel, and it cannot fall back to the CPU: "
                                     f"{KERNELS[name].native_only}")
            if not KERNELS[name].required and not KERNELS[name].composite:
                return "skip", "optional kernel not implemented; the frontend's composite runs on the device"
            # else: the samples below run through the kernel's on-device composite (ember._composites;
            # "native", or "via fallback" where one of its ingredients falls back), or through the CPU
            # fallback, so the transfers it makes are checked
        via = "" if ctx.kt.has(name) or not KERNELS[name].composite else "no native kernel: its on-device composite, "
        rng = rng_for("kernel", name, dt)
        call = Caller(ctx)
        if entry.check is not None:
            with _under_test():
                entry.check(call, dt, rng)
            return "native", f"{via}custom check"
        notes, ran = [], 0
        with _under_test():
            for s in entry.samples(dt, rng):
                lacking = [a.name for a in s.args if isinstance(a, DT) and a.name not in ctx.dtypes]
                if lacking:
                    notes.append(f"{s.kind} skipped: the device lacks {lacking[0]}")
                    continue
                try:
                    dev_args = [call.dev(a) for a in s.args]
                except Skip as exc:
                    notes.append(f"{s.kind} skipped: {exc}")
                    continue
                with sample_context(s.kind):
                    _run_kernel_sample(ctx, call, entry, name, dt, s, dev_args)
                ran += 1
        return "native", f"{via}{ran} samples" + (f"; {'; '.join(notes)}" if notes else "")

    return Case(0 if name in RUNTIME_KERNELS else 1, name, dt, "forward", run)


def _run_kernel_sample(ctx, call, entry, name, dt, s, dev_args) -> None:
    """One level-1 sample: call the kernel, compare with the reference, check inputs intact (and
    that a view kernel's result is a view)."""
    before = [np.array(host(a), copy=True) for a in s.args if isinstance(a, (np.ndarray, View))]
    want = entry.ref(*_ref_args(s.args))
    if name in ("from_host", "to_host"):
        got = call.host(dev_args[0])
    else:
        got = call.host(ctx.kt[name](*dev_args))
    if name in VIEW_KERNELS and isinstance(s.args[0], np.ndarray) and s.args[0].size:
        _check_shares_memory(ctx, call, entry, name, dt, s, dev_args)
    inputs = [call.host(d) for a, d in zip(s.args, dev_args) if isinstance(a, (np.ndarray, View))]
    for k, (b, a) in enumerate(zip(before, inputs)):
        if not np.array_equal(upcast(b), upcast(a), equal_nan=b.dtype.kind == "f" or b.dtype == NP["bfloat16"]):
            raise AssertionError(f"sample {s.kind!r}: the kernel modified its input {k} "
                                 "(kernels must not write to their inputs)")
    for i, (g, w) in enumerate(zip(_as_tuple(got), _as_tuple(want))):
        if w is None:
            if g is not None:
                raise AssertionError(f"sample {s.kind!r} output {i}: expected None")
            continue
        w = np.asarray(w)
        exp = _expected_dtype(w, dt, entry.out, s.args, i)
        compare(g, w, exp, entry.tol_scale, f"sample {s.kind!r} output {i}: ")


def _check_shares_memory(ctx, call, entry, name, dt, s, dev_args) -> None:
    """A view kernel's result must see a later write to its input: one that returns a copy would
    make ``t[0] = 5`` or ``t.view(6).add_(1)`` write into that copy and be lost without a word."""
    kt = call.kt
    start = np.array(s.args[0], copy=True)
    base = kt["from_host"](start, call.index)
    view = kt[name](base, *dev_args[1:])
    changed = ~start if start.dtype == np.bool_ else (start + 1).astype(start.dtype)
    kt["copy_"](base, kt["from_host"](changed, call.index))
    want = np.asarray(entry.ref(*_ref_args((changed,) + tuple(s.args[1:]))))
    try:
        compare(call.host(view), want, _expected_dtype(want, dt, entry.out, s.args), 0.0)
    except AssertionError as exc:
        raise AssertionError(f"sample {s.kind!r}: {name} returned a copy, not a view: a write to its input "
                             f"did not show in its result ({exc}); writes through such a 'view' are lost") from None


# ---- level 2: public ops through the Tensor API ---------------------------------------------------
def _to_device(ctx: Context, a, requires_grad: bool = False):
    """A device tensor for a sample input; returns (tensor, leaf or None)."""
    if isinstance(a, View):
        leaf = ember.tensor(a.base, device=ctx.device)
        if requires_grad:
            leaf.requires_grad_(True)
        return a.apply_tensor(leaf), leaf
    if isinstance(a, np.ndarray):
        t = ember.tensor(a, device=ctx.device)
        if requires_grad:
            t.requires_grad_(True)
        return t, t
    if isinstance(a, list):
        return [_to_device(ctx, x)[0] for x in a], None
    return a, None


def _host_of(t) -> np.ndarray:
    with ember.fallback_policy("allow"):
        return t.detach().cpu().numpy()


def _op_case(name: str, dt: str) -> Case:
    entry = OP_TABLE[name]

    def run(ctx: Context) -> tuple[str, str]:
        if dt not in ctx.dtypes:
            return "unsupported", f"the device does not support {dt}"
        rng = rng_for("op", name, dt)
        ran = 0
        for s in entry.samples(dt, rng):
            with ember.fallback_policy("allow"):  # building inputs is not the op under test
                dev_args = [_to_device(ctx, a)[0] for a in s.args]
            with _under_test(), sample_context(s.kind):
                out = entry.fn(ember, *dev_args, **s.params)
            want = entry.ref(*_ref_args(s.args), **s.params)
            outs, wants = _as_tuple(tuple(out) if isinstance(out, tuple) else out), _as_tuple(want)
            if len(outs) != len(wants):
                raise AssertionError(f"sample {s.kind!r}: {len(outs)} outputs, expected {len(wants)}")
            for i, (o, w) in enumerate(zip(outs, wants)):
                if o.device != ctx.device:
                    raise AssertionError(f"sample {s.kind!r} output {i} is on {o.device}, expected {ctx.device}")
                w = np.asarray(w)
                compare(_host_of(o), w, _expected_dtype(w, dt, entry.out, s.args, i), entry.tol_scale,
                        f"sample {s.kind!r} output {i}: ")
            ran += 1
        return "native", f"{ran} samples"

    return Case(2, name, dt, "forward", run)


# ---- level 3: gradients against float64 central differences on the host ---------------------------
_NO_GRAD_KINDS = ("empty", "large", "small", "ties-first", "stable-ties", "stable-ties-desc", "large-logits",
                  "empty-kept", "empty-k", "empty-index")


def numeric_grad(f: Callable[[list], float], xs: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of scalar ``f`` at float64 arrays ``xs``."""
    grads = []
    for k, x in enumerate(xs):
        g = np.zeros_like(x)
        for pos in np.ndindex(x.shape):
            h = eps * max(1.0, abs(x[pos]))
            orig = x[pos]
            x[pos] = orig + h
            fp = f(xs)
            x[pos] = orig - h
            fm = f(xs)
            x[pos] = orig
            g[pos] = (fp - fm) / (2 * h)
        grads.append(g)
        del k
    return grads


def _grad_case(name: str, dt: str) -> Case:
    entry = OP_TABLE[name]

    def run(ctx: Context) -> tuple[str, str]:
        if dt not in ctx.dtypes:
            return "unsupported", f"the device does not support {dt}"
        rng = rng_for("grad", name, dt)
        ran = 0
        for s in entry.samples(dt, rng):
            if s.kind in _NO_GRAD_KINDS:
                continue
            diff = [isinstance(a, (np.ndarray, View)) and host(a).dtype.kind == "f" for a in s.args]
            if not any(diff):
                continue
            with ember.fallback_policy("allow"):
                pairs = [_to_device(ctx, a, d) for a, d in zip(s.args, diff)]
            with _under_test(), sample_context(s.kind):
                out = entry.fn(ember, *[p[0] for p in pairs], **s.params)
                out = out[0] if isinstance(out, tuple) else out
                v_host = rng.standard_normal(tuple(out.shape))
                v = ember.tensor(v_host.astype(NP[dt]), device=ctx.device)
                (out * v).sum().backward()
            v64 = v_host.astype(NP[dt]).astype(np.float64)
            bases = [(a.base if isinstance(a, View) else a).astype(np.float64) for a, d in zip(s.args, diff) if d]

            def f(xs, s=s, diff=diff, v64=v64):
                it = iter(xs)
                args = []
                for a, d in zip(s.args, diff):
                    if d:
                        b = next(it)
                        args.append(a.apply_numpy(b) if isinstance(a, View) else b)
                    else:
                        args.append(_ref_args((a,))[0])
                y = entry.ref(*args, **s.params)
                y = y[0] if isinstance(y, tuple) else y
                return float((np.asarray(y, dtype=np.float64) * v64).sum())

            numeric = numeric_grad(f, bases)
            leaves = [p[1] for p, d in zip(pairs, diff) if d]
            for i, (leaf, want) in enumerate(zip(leaves, numeric)):
                got = np.zeros(want.shape, NP[dt]) if leaf.grad is None else _host_of(leaf.grad)
                compare(got, want, dt, entry.grad_tol_scale, f"sample {s.kind!r} grad of input {i}: ", GRAD_TOL)
            ran += 1
        if not ran:
            raise Skip("no differentiable sample")
        return "native", f"{ran} samples"

    return Case(3, name, dt, "backward", run)


# ---- level 0, first of all: the transfers every other check reads its results through --------------
def _transfer_samples(rng: np.random.Generator, dt: str) -> list[np.ndarray]:
    arrays = [values(rng, shape, dt) for shape in ((), (0,), (7,), (3, 4), (2, 3, 5), (0, 4), (257, 33))]
    if dt in FLOATS:
        arrays.append(np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, -3.5e4, 65504.0], NP[dt]))
    return arrays


def _transfer_case(dt: str) -> Case:
    def run(ctx: Context) -> tuple[str, str]:
        kt, index = ctx.kt, ctx.index
        arrays = _transfer_samples(rng_for("transfer", dt), dt)
        for x in arrays:
            what = f"from_host then to_host of a {x.shape} {dt} array: "
            try:
                dev = kt["from_host"](np.array(x, copy=True), index)
                back = kt["to_host"](dev)
                where = kt["device_index"](dev)
            except Exception as exc:
                raise AssertionError(f"{what}{type(exc).__name__}: {exc}") from None
            if not isinstance(back, np.ndarray):
                raise AssertionError(f"{what}to_host returned {type(back).__name__}, not a numpy.ndarray")
            compare(back, x, dt, 0.0, what)
            bits = f"u{x.itemsize}"
            if dt in FLOATS and not np.array_equal(back.view(bits), x.view(bits)):
                raise AssertionError(f"{what}the values compare equal but not bit for bit (-0.0 or a NaN changed)")
            if where != index:
                raise AssertionError(f"device_index of an array made by from_host(..., {index}) is {where}")
        return "native", f"{len(arrays)} arrays round-trip bit for bit"

    return Case(0, TRANSFER_OP, dt, "forward", run)


def _transfer_cases(ctx: Context) -> list[Case]:
    return [_transfer_case(dt) for dt in ALL if dt in ctx.dtypes]  # the dtypes the suite has samples for


# ---- building and running -------------------------------------------------------------------------
def build_cases(ctx: Context, levels=None, pattern: str | None = None) -> list[Case]:
    """Every case for ``levels`` (default all), filtered by ``pattern`` (substring or glob on the id).

    The transfer round trip comes first whatever ``levels`` and ``pattern`` say."""
    from ember_conformance import model_cases

    levels = sorted(levels or LEVELS)
    cases: list[Case] = []
    for name in KERNELS:
        level = 0 if name in RUNTIME_KERNELS else 1
        if level not in levels:
            continue
        entry = KERNEL_TABLE.get(name)
        for dt in entry.dtypes if entry else ("-",):
            cases.append(_kernel_case(name, dt) if entry else Case(level, name, dt, "forward", _untested))
    if 2 in levels:
        for name, entry in OP_TABLE.items():
            cases += [_op_case(name, dt) for dt in entry.dtypes]
    if 3 in levels:
        for name, entry in OP_TABLE.items():
            if entry.differentiable:
                cases += [_grad_case(name, dt) for dt in entry.dtypes if dt in ("float32", "float64")]
    cases += model_cases.build(ctx, levels)
    if pattern:
        pats = [p.strip() for p in pattern.split(",") if p.strip()]
        cases = [c for c in cases if any(p in c.id or fnmatch.fnmatch(c.id, p) for p in pats)]
    return _transfer_cases(ctx) + cases


def _untested(ctx: Context) -> tuple[str, str]:
    raise Skip("the op table has no samples for this kernel yet")


def run_case(ctx: Context, case: Case) -> Row:
    """Run one case and classify it; never raises."""
    _FELL_BACK.clear()
    try:
        with _under_test():  # the whole case: a fallback while building inputs counts too
            outcome, detail = case.run(ctx)
    except ember.FallbackError as exc:  # only where a case forbids fallbacks itself
        outcome, detail = "failing", str(exc)
    except Skip as exc:
        outcome, detail = "skip", str(exc)
    except AssertionError as exc:
        outcome, detail = "failing", str(exc).strip().splitlines()[0] if str(exc).strip() else "assertion failed"
    except Exception as exc:  # an op raising is a failure, with where it came from
        origin = exc.__cause__ if isinstance(exc, SampleError) and exc.__cause__ is not None else exc
        tb = traceback.extract_tb(origin.__traceback__)
        where = f" (at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
        text = str(exc) if isinstance(exc, SampleError) else f"{type(exc).__name__}: {exc}"
        outcome, detail = "failing", f"{text}{where}"
    fell_back = sorted(name for dev_type, name in _FELL_BACK if dev_type == ctx.device.type)
    _FELL_BACK.clear()
    if outcome == "native" and fell_back:
        outcome = "via fallback"
        detail = f"ran on the CPU: {', '.join(fell_back)}" + (f"; {detail}" if detail else "")
    reason = ctx.unsupported.get(case.op)
    if reason is not None and outcome != "skip":
        if outcome == "native":  # the declaration is out of date
            outcome, detail = "unsupported-but-passes", f"declared unsupported ({reason}) but passes natively"
        else:  # as declared: it runs on the CPU (values right) or not at all; either way not counted
            outcome, detail = "unsupported", reason + (" (right values via the CPU)" if outcome in PASSING else "")
    return Row(case.level, case.op, case.dtype, case.direction, outcome, detail[:400], fell_back)


def _blocked(case: Case, broken: list[Row]) -> Row:
    dts = ", ".join(r.dtype for r in broken)
    return Row(case.level, case.op, case.dtype, case.direction, "skip",
               f"not run: from_host/to_host do not round-trip ({dts}), and every check reads its results "
               "through them; fix the transfer first")


def run_cases(ctx: Context, cases: list[Case], progress: Callable[[Row], None] | None = None) -> list[Row]:
    """Run ``cases`` in order. When a transfer row fails, the cases after the transfer rows are
    not run: each reads ``skip`` naming the broken transfer instead of failing for its sake."""
    rows: list[Row] = []
    old = ember.get_fallback_policy()
    try:
        for case in cases:
            broken = [r for r in rows if r.op == TRANSFER_OP and r.outcome in FAILING]
            if broken and case.op != TRANSFER_OP:
                row = _blocked(case, broken)
            else:
                ember.manual_seed(0)
                row = run_case(ctx, case)
            rows.append(row)
            if progress is not None:
                progress(row)
    finally:
        ember.set_fallback_policy(old)
    return rows
