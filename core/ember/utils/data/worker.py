"""What runs inside a DataLoader worker process, and what the worker tells the main process.

A worker takes ``(task_id, indices)`` from its own index queue, fetches and collates the batch,
and puts ``(task_id, pickled payload)`` on the shared result queue. The payload is pickled in
the worker (not by the queue's feeder thread) so that an unpicklable batch becomes an error the
main process sees, instead of a silently dropped item and a hang.

Example:
    >>> from ember.utils.data import get_worker_info
    >>> get_worker_info() is None  # in the main process
    True
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper"]

# How often (seconds) blocked waits wake up to check that the other side is still alive.
MP_STATUS_CHECK_INTERVAL = 1.0

_worker_info: WorkerInfo | None = None


class WorkerInfo:
    """Read-only facts about the current worker: ``id``, ``num_workers``, ``seed``, ``dataset``.

    Example:
        >>> info = WorkerInfo(id=0, num_workers=2, seed=5, dataset=None)
        >>> info.id, info.num_workers
        (0, 2)
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_keys", tuple(kwargs))

    def __setattr__(self, key: str, val: Any) -> None:
        raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._keys)
        return f"{self.__class__.__name__}({items})"


def get_worker_info() -> WorkerInfo | None:
    """The :class:`WorkerInfo` of this worker process, or ``None`` in the main process.

    Example:
        >>> get_worker_info() is None
        True
    """
    return _worker_info


class KeyErrorMessage(str):
    """A str whose repr is itself, so a re-raised KeyError shows the traceback readably."""

    def __repr__(self) -> str:
        return self


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc_info: tuple | None = None, where: str = "in background") -> None:
        exc_info = exc_info or sys.exc_info()
        exc_type = exc_info[0]
        try:  # the type must unpickle in the main process; fall back to RuntimeError otherwise
            pickle.loads(pickle.dumps(exc_type))
        except Exception:  # noqa: BLE001
            exc_type = RuntimeError
        self.exc_type = exc_type
        self.exc_name = exc_info[0].__name__
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        msg = f"Caught {self.exc_name} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001 - a constructor that needs other arguments
            raise RuntimeError(msg) from None
        raise exception


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's iterable dataset ran out."""

    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch; echoed back as an acknowledgement."""

    seed: int | None = None


def _seed_everything(seed: int) -> None:
    import ember

    random.seed(seed)
    ember.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:  # pragma: no cover - numpy is a dependency, but seeding is best effort
        pass


def _parent_alive(ppid: int) -> bool:
    # When the main process dies, an orphaned worker is re-parented (getppid changes).
    return os.getppid() == ppid


def _worker_loop(dataset_kind: int, dataset: Any, index_queue: Any, data_queue: Any, done_event: Any,
                 auto_collation: bool, collate_fn: Any, drop_last: bool, base_seed: int, init_fn: Any,
                 worker_id: int, num_workers: int, ppid: int) -> None:
    """The body of one worker process."""
    from .fetch import ITERABLE, create_fetcher

    global _worker_info
    try:
        seed = base_seed + worker_id
        _seed_everything(seed)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
        except Exception:  # noqa: BLE001 - reported to the main process with the first task
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        while _parent_alive(ppid):
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                if fetcher is not None:  # restart the stream of an iterable dataset
                    fetcher = create_fetcher(dataset_kind, dataset, auto_collation, collate_fn, drop_last)
                continue
            if r is None:  # shutdown signal
                break
            if done_event.is_set() or iteration_end:
                continue  # drain the queue until the shutdown signal
            idx, index = r
            if init_exception is not None:
                data: Any = init_exception
                init_exception = None
            else:
                try:
                    data = fetcher.fetch(index)
                except Exception as e:  # noqa: BLE001
                    if isinstance(e, StopIteration) and dataset_kind == ITERABLE:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            data_queue.put((idx, _serialize(data, worker_id)))
            del data, idx, index, r
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C; the worker just stops
    if done_event.is_set():
        # Do not block exiting on flushing results nobody will read.
        data_queue.cancel_join_thread()
        data_queue.close()


def _serialize(data: Any, worker_id: int) -> bytes:
    try:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - e.g. a batch holding an open file or a lambda
        wrapped = ExceptionWrapper(where=f"in DataLoader worker process {worker_id} (sending the batch)")
        return pickle.dumps(wrapped, protocol=pickle.HIGHEST_PROTOCOL)
