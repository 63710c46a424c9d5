"""``ember.compiler`` and ``ember.compile``: capture a function once, replay it without the frontend.

``ember.compile(model)`` or ``ember.compile(train_step)`` returns a callable that, on its first
calls, runs eagerly while recording every kernel it dispatches (the kernel contract is a closed set
of named ops, so the recording is a complete graph); once two calls did the same work, later calls
replay the graph: no Tensor objects, autograd records, checks or promotion between kernels, dead
code removed and elementwise chains fused into one kernel where the backend can compile them.
See docs/compile.md for the design, the guards, what breaks a graph, and the measured speed.

Example:
    >>> import ember
    >>> f = ember.compile(lambda a, b: (a * b + b).relu())
    >>> a, b = ember.randn(4, 4), ember.randn(4, 4)
    >>> all(ember.equal(f(a, b), (a * b + b).relu()) for _ in range(4))
    True
    >>> f.stats.replays
    2
"""

from __future__ import annotations

from ember.compiler._api import OptimizedModule, compile, disable, reset
from ember.compiler._compiled import CompiledFunction, CompileStats, GraphBreak, is_compiling
from ember.compiler._fusion import FusedElementwise

__all__ = ["compile", "CompiledFunction", "CompileStats", "FusedElementwise", "GraphBreak", "OptimizedModule", "disable",
           "is_compiling", "reset"]
