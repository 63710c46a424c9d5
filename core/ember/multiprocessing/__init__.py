"""``ember.multiprocessing``: Python's ``multiprocessing`` with tensors shared, as ``torch.multiprocessing``.

Every name of the standard module is here (``Process``, ``Queue``, ``set_start_method``,
``get_context``...), plus the sharing-strategy functions and :func:`spawn`. Importing it (or
calling ``Tensor.share_memory_()``/``Module.share_memory()``) registers a reducer with
``multiprocessing``'s pickler, so a CPU tensor in shared memory that is sent to another process
(a spawned child's arguments, a queue, a pipe) arrives as a view of the same memory: the
Hogwild pattern of PyTorch's examples trains one model from several processes. See
``ember.multiprocessing.reductions`` for what is shared and what is copied.

Example (a child process updates the parent's shared tensor)::

    import ember
    import ember.multiprocessing as mp

    def add_one(t):
        t.add_(1)

    if __name__ == "__main__":
        mp.set_start_method("spawn", force=True)
        t = ember.zeros(3).share_memory_()
        p = mp.Process(target=add_one, args=(t,))
        p.start(); p.join()
        print(t)  # tensor([1., 1., 1.])
"""

from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F403  (the standard names, as torch.multiprocessing re-exports them)

from ember.multiprocessing.reductions import (
    get_all_sharing_strategies,
    get_sharing_strategy,
    init_reductions,
    set_sharing_strategy,
)
from ember.multiprocessing.spawn import (
    ProcessContext,
    ProcessExitedException,
    ProcessRaisedException,
    SpawnContext,
    spawn,
    start_processes,
)

__all__ = ["set_sharing_strategy", "get_sharing_strategy", "get_all_sharing_strategies", "spawn",
           "start_processes", "ProcessContext", "SpawnContext", "ProcessRaisedException",
           "ProcessExitedException", *_mp.__all__]

init_reductions()
