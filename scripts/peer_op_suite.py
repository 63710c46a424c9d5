"""Run a peer framework's op test suite against ember: tinygrad's ``test/backend/test_ops.py``.

Every test there calls ``helper_test_op(shapes, torch_fxn, tinygrad_fxn)``; ``torch_fxn`` is a
PyTorch expression. This script runs that expression twice, once on PyTorch and once with ``torch``
read as ``ember`` (module globals, closures, ``functools.partial``, ``torch.nn`` modules and
PyTorch's builtins all remapped by name), and compares forward values, dtypes and shapes and the
gradients of ``out.sum()`` with the suite's own tolerances. ``helper_test_exception`` rows compare
the exception types. The tinygrad side is never run: a stub package stands in for its imports,
and each statement of a test runs on its own, so a tinygrad-only line does not hide the rows after it.

Not part of the test suite (the peer suite is not vendored: fetch it yourself, e.g. from a
tinygrad checkout); it needs PyTorch and NumPy beside ember.

Usage:

    .venv/bin/python scripts/peer_op_suite.py PATH/TO/test_ops.py [--device opencl] [--out r.json]
        [-k substring ...]

It prints a count per outcome and every row that is not ``ok``: ``mismatch`` (values, dtype,
shape or a missing exception), ``ember_error`` (ember raised where PyTorch did not),
``exc_type_diff`` and ``harness`` (a tinygrad-only statement; ignore these).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import functools
import importlib.util
import json
import signal
import sys
import tempfile
import types
import unittest
from collections import Counter
from pathlib import Path
from typing import Any

import ember
import numpy as np
import torch

STUB = {
    "tinygrad/__init__.py": '''
class Dummy:
    """Stands in for every tinygrad object: falsy, equal to nothing, callable, indexable."""
    def __init__(self, *a, **k): pass
    def __getattr__(self, n):
        if n.startswith("__"): raise AttributeError(n)
        return Dummy()
    def __call__(self, *a, **k): return Dummy()
    def __getitem__(self, k): return Dummy()
    def __bool__(self): return False
    def __eq__(self, o): return False
    def __ne__(self, o): return True
    def __contains__(self, o): return False
    def __iter__(self): return iter([])
    def __gt__(self, o): return False
    __lt__ = __ge__ = __le__ = __gt__
    __hash__ = object.__hash__
class _DeviceMeta(type):
    def __getitem__(cls, k): return Dummy()
class Device(metaclass=_DeviceMeta):
    DEFAULT = "CPU"
Tensor = Dummy()
dtypes = Dummy()
''',
    "tinygrad/helpers.py": '''
import contextlib
from tinygrad import Dummy
def getenv(key, default=0): return default
DEBUG = 0
IMAGE = 0
DEV = Dummy()
@contextlib.contextmanager
def Context(**kw): yield
''',
    "tinygrad/tensor.py": "import numpy as np\ndef _to_np_dtype(d): return np.float32\n",
    "tinygrad/renderer/__init__.py": "",
    "tinygrad/renderer/nir.py": "class NIRRenderer: pass\n",
}


class _Isolate(ast.NodeTransformer):
    """Wrap every statement of a test body (and of its loops and ifs) in try/except, reporting the
    exception, so one tinygrad-only line does not end the test."""

    def _wrap(self, body: list) -> list:
        out = []
        for st in body:
            self.visit(st)
            if isinstance(st, (ast.Return, ast.FunctionDef)):
                out.append(st)
                continue
            note = ast.Expr(ast.Call(ast.Name("_peer_note", ast.Load()), [ast.Name("_e", ast.Load())], []))
            out.append(ast.Try(body=[st], handlers=[ast.ExceptHandler(ast.Name("Exception", ast.Load()), "_e", [note])],
                               orelse=[], finalbody=[]))
        return out

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        if node.name.startswith("test_"):
            node.body = self._wrap(node.body)
        return node

    def visit_For(self, node: ast.For) -> ast.For:
        node.body = self._wrap(node.body)
        return node

    def visit_With(self, node: ast.With) -> ast.With:
        if not any("assertRaises" in ast.unparse(i.context_expr) for i in node.items):
            node.body = self._wrap(node.body)
        return node

    def visit_If(self, node: ast.If) -> ast.If:
        node.body, node.orelse = self._wrap(node.body), self._wrap(node.orelse)
        return node


class Runner:
    def __init__(self, device: str):
        self.device = device
        self.results: list[tuple[str, str, str]] = []
        self.current = ""
        self.by_id: dict[int, tuple[str, str]] = {}
        for module_name, ember_path in [("torch.linalg", "linalg"), ("torch.special", "special"), ("torch.fft", "fft"),
                                        ("torch.nn.init", "nn.init"), ("torch.nn.functional", "nn.functional"),
                                        ("torch", "")]:
            module = sys.modules[module_name]
            for name in dir(module):
                try:
                    obj = getattr(module, name)
                except Exception:  # noqa: BLE001 - a lazy attribute that fails to load is skipped
                    continue
                if callable(obj) and not isinstance(obj, type):
                    self.by_id.setdefault(id(obj), (ember_path, name))

    def record(self, kind: str, message: str = "") -> None:
        self.results.append((self.current, kind, message[:400]))

    # ---- torch -> ember ----------------------------------------------------------------------------
    def _named(self, obj: Any) -> Any:
        """ember's object of the same name as a PyTorch function or Tensor method, or None."""
        if id(obj) in self.by_id:
            path, name = self.by_id[id(obj)]
            target = ember
            for part in filter(None, path.split(".")):
                target = getattr(target, part)
            if not hasattr(target, name):
                raise AttributeError(f"ember has no {'.'.join(filter(None, ['ember', path, name]))}")
            return getattr(target, name)
        objclass = getattr(obj, "__objclass__", None)
        qualname = getattr(obj, "__qualname__", "") or ""
        if (objclass is not None and issubclass(objclass, torch._C.TensorBase)) or qualname.startswith(
                ("Tensor.", "TensorBase.")):
            return getattr(ember.Tensor, obj.__name__)
        if "nn.functional" in (getattr(obj, "__module__", None) or ""):
            return getattr(ember.nn.functional, obj.__name__)
        return None

    def remap(self, obj: Any) -> Any:
        is_user_function = isinstance(obj, types.FunctionType) and not (obj.__module__ or "").startswith("torch")
        if callable(obj) and not isinstance(obj, (type, torch.nn.Module)) and not is_user_function:
            found = self._named(obj)
            if found is not None:
                return found
        if isinstance(obj, types.FunctionType):
            glob = dict(obj.__globals__)
            for key, value in list(glob.items()):
                if value is torch:
                    glob[key] = ember
                elif value is torch.nn.functional:
                    glob[key] = ember.nn.functional
                elif value is torch.nn:
                    glob[key] = ember.nn
            cells = None
            if obj.__closure__:
                cells = []
                for cell in obj.__closure__:
                    try:
                        cells.append(types.CellType(self.remap(cell.cell_contents)))
                    except ValueError:  # an empty cell
                        cells.append(types.CellType())
                cells = tuple(cells)
            defaults = tuple(self.remap(d) for d in obj.__defaults__) if obj.__defaults__ else None
            fn = types.FunctionType(obj.__code__, glob, obj.__name__, defaults, cells)
            fn.__kwdefaults__ = obj.__kwdefaults__
            return fn
        if isinstance(obj, functools.partial):
            return functools.partial(self.remap(obj.func), *self.remap(list(obj.args)),
                                     **{k: self.remap(v) for k, v in obj.keywords.items()})
        if isinstance(obj, torch.nn.Module):
            cls = getattr(ember.nn, type(obj).__name__)
            module = cls.__new__(cls)
            ember.nn.Module.__init__(module)
            for key, value in obj.__dict__.items():
                if not key.startswith("_") and key != "training":
                    setattr(module, key, self.remap(value))
            for key, p in obj._parameters.items():
                setattr(module, key, None if p is None else ember.nn.Parameter(self.remap(p.detach())))
            for key, b in obj._buffers.items():
                module.register_buffer(key, None if b is None else self.remap(b))
            for key, child in obj._modules.items():
                setattr(module, key, self.remap(child))
            module.train(obj.training)
            return module
        if isinstance(obj, torch.Tensor):
            t = ember.tensor(obj.detach().numpy(), device=self.device)
            return t.requires_grad_(True) if obj.requires_grad else t
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.remap(o) for o in obj)
        if obj is torch:
            return ember
        if isinstance(obj, torch.dtype):
            return getattr(ember, str(obj).split(".")[-1])
        return obj

    # ---- the suite's two helpers -------------------------------------------------------------------
    def prepare(self, low: float, high: float, shapes: Any, vals: Any, forward_only: bool) -> tuple[list, list]:
        if shapes is None:
            ts = [torch.tensor(x, requires_grad=not forward_only) for x in vals]
        else:
            np.random.seed(0)
            ts = [torch.tensor(np.random.uniform(low=low, high=high, size=s).astype(np.float32),
                               requires_grad=not forward_only) for s in shapes]
        ts = [t.type(torch.int32) if t.dtype == torch.int64 else t for t in ts]  # as the suite does
        es = []
        for t in ts:
            e = ember.tensor(t.detach().numpy(), device=self.device)
            es.append(e.requires_grad_(True) if t.requires_grad else e)
        return ts, es

    @staticmethod
    def _compare(what: str, e: Any, t: torch.Tensor, atol: float, rtol: float) -> str | None:
        en, tn = e.detach().cpu().numpy(), t.detach().numpy()
        if tuple(en.shape) != tuple(tn.shape):
            return f"{what} shape ember={en.shape} torch={tn.shape}"
        if str(e.dtype).split(".")[-1] != str(t.dtype).split(".")[-1]:
            return f"{what} dtype ember={e.dtype} torch={t.dtype}"
        try:
            if np.issubdtype(tn.dtype, np.floating):
                np.testing.assert_allclose(en, tn, atol=atol, rtol=rtol)
            else:
                np.testing.assert_equal(en, tn)
        except AssertionError as exc:
            return f"{what} values: " + str(exc).replace("\n", " | ")[:300]
        return None

    def helper_test_op(self, shps: Any, torch_fxn: Any, tinygrad_fxn: Any = None, atol: float = 1e-6,
                       rtol: float = 1e-3, grad_atol: float = 1e-4, grad_rtol: float = 1e-3,
                       forward_only: bool = False, vals: Any = None, low: float = -2, high: float = 2) -> None:
        ts, es = self.prepare(low, high, shps, vals, forward_only)
        try:
            out = torch_fxn(*ts)
        except Exception as exc:  # noqa: BLE001
            return self.record("torch_error", repr(exc))
        try:
            ember_fxn = self.remap(torch_fxn)
            e_out = ember_fxn(*es)
        except Exception as exc:  # noqa: BLE001
            return self.record("ember_error", f"{type(exc).__name__}: {exc}")
        flat = _flatten
        for i, (e, t) in enumerate(zip(flat(e_out), flat(out))):
            if not isinstance(t, torch.Tensor):
                continue
            if not hasattr(e, "dtype"):
                return self.record("mismatch", f"forward[{i}] is a {type(e).__name__}")
            problem = self._compare(f"forward[{i}]", e, t, atol, rtol)
            if problem:
                return self.record("mismatch", problem)
        if not forward_only and ts:
            try:
                t_grads = torch.autograd.grad(torch_fxn(*ts).sum(), ts)
            except Exception:  # noqa: BLE001 - PyTorch cannot differentiate it either
                return self.record("ok")
            try:
                e_grads = ember.autograd.grad(ember_fxn(*es).sum(), es)
            except Exception as exc:  # noqa: BLE001
                return self.record("ember_bwd_error", f"{type(exc).__name__}: {exc}")
            for i, (e, t) in enumerate(zip(e_grads, t_grads)):
                if e is None or t is None:
                    if (e is None) != (t is None):
                        return self.record("mismatch", f"grad[{i}] None: ember={e is None} torch={t is None}")
                    continue
                problem = self._compare(f"grad[{i}]", e, t, grad_atol, grad_rtol)
                if problem:
                    return self.record("mismatch", problem)
        self.record("ok")

    def helper_test_exception(self, _case: Any, shps: Any, torch_fxn: Any, tinygrad_fxn: Any = None,
                              expected: Any = None, forward_only: bool = False, exact: bool = False, vals: Any = None,
                              low: float = -1.5, high: float = 1.5) -> None:
        ts, es = self.prepare(low, high, shps, vals, forward_only)
        try:
            torch_fxn(*ts)
            return self.record("torch_no_raise")
        except Exception as exc:  # noqa: BLE001
            t_exc = exc
        try:
            self.remap(torch_fxn)(*es)
        except Exception as exc:  # noqa: BLE001
            if expected is not None and not isinstance(exc, expected):
                return self.record("mismatch", f"ember raised {type(exc).__name__}({exc}), PyTorch "
                                               f"{type(t_exc).__name__}({t_exc})")
            if not isinstance(exc, type(t_exc)) and type(exc).__name__ != type(t_exc).__name__:
                return self.record("exc_type_diff", f"ember={type(exc).__name__}: {exc} torch="
                                                    f"{type(t_exc).__name__}: {t_exc}")
            return self.record("ok")
        self.record("mismatch", f"ember did not raise; PyTorch raised {type(t_exc).__name__}: {t_exc}")


def _flatten(value: Any) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [value]


def load_suite(path: Path, workdir: Path, runner: Runner) -> types.ModuleType:
    for rel, text in STUB.items():
        target = workdir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    sys.path.insert(0, str(workdir))
    tree = _Isolate().visit(ast.parse(path.read_text()))
    ast.fix_missing_locations(tree)
    source = "def _peer_note(e):\n    import builtins\n    builtins._peer_note(e)\n" + ast.unparse(tree)
    (workdir / "peer_test_ops.py").write_text(source)
    builtins._peer_note = lambda e: runner.record("harness", f"{type(e).__name__}: {e}"[:200])  # type: ignore[attr-defined]
    spec = importlib.util.spec_from_file_location("peer_test_ops", workdir / "peer_test_ops.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.helper_test_op = runner.helper_test_op
    module.prepare_test_op = runner.prepare
    module.TestOps.helper_test_exception = lambda self, *a, **k: runner.helper_test_exception(self, *a, **k)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path, help="tinygrad's test/backend/test_ops.py")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path)
    parser.add_argument("-k", nargs="*", default=[], help="only tests whose name contains one of these")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per test")
    args = parser.parse_args()
    runner = Runner(args.device)
    if args.device != "cpu":  # tensors the expressions make themselves land on the device too
        ember.set_default_device(args.device)

    def on_alarm(*_: Any) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, on_alarm)
    with tempfile.TemporaryDirectory() as tmp:
        module = load_suite(args.suite, Path(tmp), runner)
        classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, unittest.TestCase)
                   and c.__module__ == module.__name__]
        for cls in classes:
            for name in sorted(n for n in dir(cls) if n.startswith("test_")):
                if args.k and not any(k in name for k in args.k):
                    continue
                method = getattr(cls, name)
                if getattr(method, "__unittest_skip__", False):
                    continue
                runner.current = f"{cls.__name__}.{name}"
                signal.alarm(args.timeout)
                try:
                    method(cls(name))
                except unittest.SkipTest:
                    pass
                except TimeoutError:
                    runner.record("timeout")
                except Exception as exc:  # noqa: BLE001
                    runner.record("harness", f"{type(exc).__name__}: {exc}"[:200])
                finally:
                    signal.alarm(0)
    counts = Counter(kind for _, kind, _ in runner.results)
    print(dict(counts))
    for test, kind, message in runner.results:
        if kind not in ("ok", "harness"):
            print(f"{kind:16} {test}: {message}")
    if args.out:
        args.out.write_text(json.dumps(runner.results, indent=1))


if __name__ == "__main__":
    main()
