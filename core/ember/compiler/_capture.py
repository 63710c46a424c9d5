"""Record one eager run of a function at the dispatcher: the capturing half of ``ember.compile``.

While a :class:`Recorder` is installed, four things are watched, and nothing else changes:

* every kernel-table entry of every device type is wrapped (a kernel table is a plain dict, see
  ``ember.dispatch``), and each *outermost* kernel call is kept with its arguments and result
  (a CPU fallback calls CPU kernels inside a device kernel: only the device kernel is a node);
* ``Tensor._data`` and ``Tensor.grad`` become logging properties, so the recorder learns which
  tensor each array was read from (where to find it again on the next call) and which tensors got
  a new array or a new gradient (what a replay must redo);
* ``Generator._take`` is logged, so a random kernel can draw fresh counters on every replay;
* ``dispatch.transfer`` marks its ``to_host`` as data movement, not a host read.

Every argument and result is kept alive until the graph is built, so ``id()`` names an array.
Only the thread that installed the recorder is recorded; other threads run untouched.
"""

from __future__ import annotations

import functools
import threading
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: kernels that only describe a layout: their results steer Python but are fixed by the guards
LAYOUT = frozenset({"device_index", "is_contiguous", "strides", "storage_offset"})
#: kernels whose result a replay cannot reproduce without running Python again
DATA_DEPENDENT = {
    "to_host": "it reads a tensor's value on the host (.item(), .tolist(), printing, bool(), .numpy()...)",
    "nonzero": "its result's shape depends on the values (nonzero, masked_select, boolean indexing...)",
}


_UNSET = object()


@dataclass
class Call:
    """One outermost kernel call."""

    kernel: str
    device_type: str
    args: tuple
    out: Any
    rng: tuple | None = None  # (generator, count) when a random kernel drew counters
    transfer: bool = False  # a to_host inside dispatch.transfer (data movement, not a read)
    check: Callable | None = None  # kernel "__check__": builds the error (ember._device_checks)


@dataclass
class Recording:
    """Everything one run revealed; :mod:`ember.compiler._graph` turns it into a graph."""

    calls: list[Call] = field(default_factory=list)
    #: id(array) -> the first tensor it was read from (arrays that existed before the run)
    read_from: dict[int, Any] = field(default_factory=dict)
    #: tensors made during the run (by Tensor._make/_new), by id, held weakly (a dead one's id may be
    #: reused, but only by another tensor made during the run, which registers itself again)
    created: dict[int, weakref.ref] = field(default_factory=dict)
    #: pre-existing tensors given a new array during the run, by id -> tensor
    rebound: dict[int, Any] = field(default_factory=dict)
    #: id(version counter) -> (a pre-existing tensor sharing it, its value when the run first touched
    #: that tensor's array): what the run's in-place writes added is what each replay adds
    versions: dict[int, tuple] = field(default_factory=dict)
    #: leaves whose .grad was assigned during the run, by id -> (leaf, grad before the run)
    grad_set: dict[int, tuple] = field(default_factory=dict)
    #: why the run cannot be replayed (the first reason met), with where it happened
    breaks: list[str] = field(default_factory=list)
    backward_ran: bool = False
    keep: list = field(default_factory=list)


class Recorder:
    """Installs the hooks (``install``/``uninstall``) and fills a :class:`Recording`."""

    def __init__(self) -> None:
        self.rec = Recording()
        self._thread = threading.get_ident()
        self._depth = 0
        self._in_transfer = 0
        self._paused = 0
        self._pending_rng: list[tuple] = []
        self._restore: Callable[[], None] | None = None
        self._patched: list[tuple[Any, str, Any]] = []

    # ---- switches -------------------------------------------------------------------------
    def active(self) -> bool:
        return not self._paused and threading.get_ident() == self._thread

    def pause(self) -> _Paused:
        return _Paused(self)

    # ---- install ----------------------------------------------------------------------------
    def install(self) -> None:
        from ember import dispatch, random
        from ember.autograd import engine
        from ember.tensor import Tensor

        self._restore = dispatch.wrap_kernels(lambda tbl, name, fn: self._kernel(tbl.device_type, name, fn),
                                              with_fallbacks=True)
        self._patch(Tensor, "_data", self._data_property(Tensor.__dict__["_data"]))
        self._patch(Tensor, "grad", self._grad_property(Tensor.__dict__["grad"]))
        self._patch(Tensor, "_make", staticmethod(self._made(Tensor._make)))
        self._patch(Tensor, "_new", self._made(Tensor._new))
        self._patch(random.Generator, "_take", self._take(random.Generator._take))
        self._patch(random.Generator, "_set_seed", self._seeding(random.Generator._set_seed))
        self._patch(dispatch, "transfer", self._transfer(dispatch.transfer))
        self._patch(engine, "_run", self._engine_run(engine._run))
        from ember import _device_checks

        self._check_hook_was = _device_checks.HOOK[0]
        _device_checks.HOOK[0] = self._check

    def _check(self, kt: Any, flag: Any, make_error: Callable, arrays: tuple) -> None:
        """A value check (``ember._device_checks``): recorded as a node, and run now."""
        if self.active():
            self.rec.calls.append(Call("__check__", kt.device_type, (flag, *arrays), None, check=make_error))
        with self.pause():
            if kt["to_host"](flag):
                raise make_error(*[kt["to_host"](a) for a in arrays])

    def uninstall(self) -> None:
        from ember import _device_checks

        _device_checks.HOOK[0] = getattr(self, "_check_hook_was", None)
        restore, self._restore = self._restore, None
        if restore is not None:
            restore()
        for owner, attr, old in reversed(self._patched):
            setattr(owner, attr, old)
        self._patched.clear()

    def _patch(self, owner: Any, attr: str, new: Any) -> None:
        self._patched.append((owner, attr, owner.__dict__[attr]))
        setattr(owner, attr, new)

    # ---- hooks ------------------------------------------------------------------------------
    def _kernel(self, device_type: str, name: str, fn: Callable) -> Callable:
        rec, me = self.rec, self

        @functools.wraps(fn)
        def kernel(*args: Any) -> Any:
            if me._depth or not me.active():
                return fn(*args)
            me._depth = 1
            try:
                out = fn(*args)
            finally:
                me._depth = 0
            if name in LAYOUT:
                return out
            transfer = name == "to_host" and me._in_transfer > 0
            if name in DATA_DEPENDENT and not transfer and not rec.breaks:
                rec.breaks.append(f"kernel {device_type}::{name}: {DATA_DEPENDENT[name]}, at\n"
                                  + _user_frame())
            rng = None
            if name.startswith("rand_") and me._pending_rng:
                rng = me._pending_rng.pop(0)
            rec.calls.append(Call(name, device_type, args, out, rng, transfer))
            return out

        return kernel

    def _data_property(self, slot: Any) -> property:
        rec, me = self.rec, self
        get, put = slot.__get__, slot.__set__

        def touched(t: Any) -> None:
            # An in-place op reads (or replaces) the array before it bumps the version.
            counter = getattr(t, "_version", None)
            if counter is not None and id(counter) not in rec.versions:
                rec.versions[id(counter)] = (t, counter[0])

        def read(t: Any) -> Any:
            # Only tensors that existed before the run: their arrays are what a replay must re-read.
            a = get(t, None)
            if me.active() and id(t) not in rec.created:
                key = id(a)
                if key not in rec.read_from:
                    rec.read_from[key] = t
                    rec.keep.append(a)
                touched(t)
            return a

        def write(t: Any, value: Any) -> None:
            if me.active() and id(t) not in rec.created:
                touched(t)
            put(t, value)
            if me.active() and id(t) not in rec.created:
                rec.rebound[id(t)] = t
                rec.keep.append(value)

        return property(read, write)

    def _grad_property(self, slot: Any) -> property:
        rec, me = self.rec, self
        get, put = slot.__get__, slot.__set__

        def read(t: Any) -> Any:
            return get(t, None)

        def write(t: Any, value: Any) -> None:
            if me.active() and id(t) not in rec.created and id(t) not in rec.grad_set:
                try:
                    before = get(t, None)
                except AttributeError:  # a tensor being made: _make sets grad before anything else
                    before = _UNSET
                if before is not _UNSET:
                    rec.grad_set[id(t)] = (t, before)
            put(t, value)

        return property(read, write)

    def _made(self, make: Callable) -> Callable:
        rec, me = self.rec, self

        @functools.wraps(make)
        def made(*args: Any) -> Any:
            t = make(*args)
            if me.active():
                key = id(t)
                rec.created[key] = weakref.ref(t)
                rec.rebound.pop(key, None)  # its first array and None gradient are its birth, not a change
                rec.grad_set.pop(key, None)
            return t

        return made

    def _take(self, take: Callable) -> Callable:
        me = self

        @functools.wraps(take)
        def logged(gen: Any, count: int) -> tuple[int, int]:
            out = take(gen, count)
            if me.active():
                me._pending_rng.append((gen, count))
            return out

        return logged

    def _seeding(self, set_seed: Callable) -> Callable:
        """``manual_seed`` (or ``seed``, ``set_state``) inside the function: a replay draws on from the
        generator's state and would not seed it again, so such a capture is never replayed."""
        rec, me = self.rec, self

        @functools.wraps(set_seed)
        def seeding(gen: Any, seed: int) -> None:
            if me.active() and not rec.breaks:
                rec.breaks.append(f"a random generator is seeded (manual_seed, set_rng_state) at\n{_user_frame()}")
            set_seed(gen, seed)

        return seeding

    def _transfer(self, transfer: Callable) -> Callable:
        me = self

        @functools.wraps(transfer)
        def moving(*args: Any, **kwargs: Any) -> Any:
            me._in_transfer += 1
            try:
                return transfer(*args, **kwargs)
            finally:
                me._in_transfer -= 1

        return moving

    def _engine_run(self, run: Callable) -> Callable:
        rec, me = self.rec, self

        @functools.wraps(run)
        def running(*args: Any, **kwargs: Any) -> Any:
            if me.active() and kwargs.get("capture", args[4] if len(args) > 4 else None) is None:
                rec.backward_ran = True
            return run(*args, **kwargs)

        return running


class _Paused:
    def __init__(self, recorder: Recorder) -> None:
        self.r = recorder

    def __enter__(self) -> None:
        self.r._paused += 1

    def __exit__(self, *exc: Any) -> None:
        self.r._paused -= 1


def _user_frame() -> str:
    """The innermost frame outside ember itself: where the user's code asked for the value."""
    frames = traceback.extract_stack()[:-2]
    for fr in reversed(frames):
        if "/ember/" not in fr.filename.replace("\\", "/") or "/tests/" in fr.filename:
            return f"  {fr.filename}:{fr.lineno} in {fr.name}: {fr.line}"
    return "  (inside ember)"
