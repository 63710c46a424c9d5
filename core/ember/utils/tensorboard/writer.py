"""``SummaryWriter`` with the signatures of ``torch.utils.tensorboard.SummaryWriter``.

Events go through ``tensorboard.summary.writer.event_file_writer.EventFileWriter`` (a queue and a
background thread that appends CRC-framed records to ``events.out.tfevents.*``), so the files are
exactly what TensorBoard (and PyTorch's writer) produce. ``add_scalars`` writes each series into
its own sub-run ``<log_dir>/<main_tag>_<tag>``, and ``add_hparams`` into ``<log_dir>/<run_name>``,
as PyTorch does, so TensorBoard shows them the same way.

Example:
    >>> with SummaryWriter("runs/exp1") as w:             # doctest: +SKIP
    ...     for step in range(3):
    ...         w.add_scalar("loss", 1.0 / (step + 1), step)
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

from . import _summary

__all__ = ["SummaryWriter"]


class _FileWriter:
    """One event file: wraps summaries in ``Event`` records with a wall time and a step."""

    def __init__(self, log_dir: str, max_queue: int, flush_secs: float, filename_suffix: str) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.event_writer = EventFileWriter(log_dir, max_queue, flush_secs, filename_suffix)

    def get_logdir(self) -> str:
        return self.event_writer.get_logdir()

    def add_event(self, event: Any, step: int | None = None, walltime: float | None = None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary: Any, step: int | None = None, walltime: float | None = None) -> None:
        from tensorboard.compat.proto.event_pb2 import Event

        self.add_event(Event(summary=summary), step, walltime)

    def flush(self) -> None:
        self.event_writer.flush()

    def close(self) -> None:
        self.event_writer.close()


class SummaryWriter:
    """Writes scalars, histograms, images, text and hparams for TensorBoard into ``log_dir``.

    Args:
        log_dir: where the event files go; default ``runs/<date>_<host><comment>``.
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: after a crash at step T+X and a restart at T, hide the events at steps >= T.
        max_queue: events held in memory before a write is forced.
        flush_secs: how often the background thread flushes.
        filename_suffix: appended to each event file's name.

    Raises:
        ImportError: the ``tensorboard`` package is not installed (``pip install 'ember[tensorboard]'``).

    Example:
        >>> w = SummaryWriter("runs/demo")                     # doctest: +SKIP
        >>> w.add_scalars("loss", {"train": 0.3, "test": 0.4}, 7)  # doctest: +SKIP
        >>> w.close()                                          # doctest: +SKIP
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        _summary.require_tensorboard()
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: _FileWriter | None = None
        self.all_writers: dict[str, _FileWriter] | None = None
        self._get_file_writer()

    def _get_file_writer(self) -> _FileWriter:
        """The main event file, (re)opened after ``close``, as PyTorch's writer does."""
        if self.file_writer is None or self.all_writers is None:
            self.file_writer = _FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                from tensorboard.compat.proto.event_pb2 import Event, SessionLog

                self.file_writer.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=self.purge_step, session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False, double_precision: bool = False) -> None:
        """One value of the series ``tag`` (a number or a one-element tensor)."""
        self._get_file_writer().add_summary(_summary.scalar(tag, scalar_value), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, Any], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several series on one chart: each goes to the sub-run ``<log_dir>/<main_tag>_<tag>``."""
        walltime = time.time() if walltime is None else walltime
        root = self._get_file_writer().get_logdir()
        assert self.all_writers is not None
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(root, main_tag.replace("/", "_") + "_" + tag)
            writer = self.all_writers.get(path)
            if writer is None:
                writer = self.all_writers[path] = _FileWriter(path, self.max_queue, self.flush_secs,
                                                              self.filename_suffix)
            writer.add_summary(_summary.scalar(main_tag, value), global_step, walltime)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        """A histogram of ``values``; ``bins`` as ``numpy.histogram`` takes, or TensorFlow's default edges."""
        self._get_file_writer().add_summary(_summary.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                  dataformats: str = "CHW") -> None:
        """One image (uint8 0..255, or floats 0..1) laid out as ``dataformats``; needs Pillow."""
        self._get_file_writer().add_summary(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(self, tag: str, img_tensor: Any, global_step: int | None = None, walltime: float | None = None,
                   dataformats: str = "NCHW") -> None:
        """A batch of images, tiled into one grid."""
        self._get_file_writer().add_summary(_summary.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Text (Markdown) shown by TensorBoard's text plugin under ``<tag>/text_summary``."""
        self._get_file_writer().add_summary(_summary.text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """Hyperparameters and their metrics for the HParams dashboard, in the sub-run ``run_name``."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        records = _summary.hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as sub:
            for record in records:
                sub._get_file_writer().add_summary(record, global_step)
            for key, value in metric_dict.items():
                sub.add_scalar(key, value, global_step)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Not available: PyTorch builds the graph with ``torch.jit.trace``, which ember has no
        counterpart of."""
        raise NotImplementedError(
            "SummaryWriter.add_graph is not supported by ember: PyTorch records the graph with torch.jit.trace, "
            "and ember has no tracer; log scalars, histograms or text (e.g. str(model)) instead")

    def flush(self) -> None:
        """Write every pending event to disk."""
        for writer in (self.all_writers or {}).values():
            writer.flush()

    def close(self) -> None:
        """Flush and close every event file; a later ``add_*`` opens a new file (a second close does nothing)."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
