"""``ember train``: the tutorial's MNIST pipeline as a command, with checkpoints that resume exactly.

Trains an MLP or LeNet on MNIST / FashionMNIST from ``--data DIR`` (torchvision's layout:
``DIR/MNIST/raw/*-ubyte[.gz]``), or on the MNIST sample bundled with ember when no data is given,
and reports test loss and accuracy after each epoch. Everything the user can get wrong (paths,
device, optional packages, a checkpoint that does not fit) is checked before the first step.

Example:
    $ ember train --model lenet --epochs 3
    $ ember train --data ~/datasets --dataset FashionMNIST --device opencl --save ckpt.ember
    $ ember train --resume ckpt.ember --epochs 5      # continue to 5 epochs in total
    $ ember train --nproc 2                          # data-parallel in 2 processes (ember.distributed)
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from . import checkpoint as ckpt_mod
from .devices import check_device
from .errors import TrainingError, UsageError
from .models import MODELS, OPTIMIZERS, SCHEDULERS, build_model, make_optimizer, make_scheduler

__all__ = ["add_parser", "run", "DEFAULTS"]

log = logging.getLogger("ember.cli")

#: Defaults of the flags a checkpoint can supply: with ``--resume`` the checkpoint's value wins
#: unless the flag is given (so flags default to None, and ``--help`` shows these).
DEFAULTS: dict[str, Any] = {"model": "lenet", "dataset": "MNIST", "epochs": 3, "batch_size": 64, "lr": 1e-3,
                            "optimizer": "adam", "scheduler": "none", "seed": 0, "limit": None, "data": None}
#: Settings that fix what is trained: an explicit flag that contradicts the checkpoint is an error.
_FIXED = ("model", "dataset", "optimizer", "scheduler", "limit")
#: Written when Ctrl-C stops a run that has no --save.
INTERRUPT_PATH = "ember-train-interrupted.ember"


# ---- the command line ----------------------------------------------------------------------------
def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be a positive {kind.__name__}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def add_parser(sub: Any, formatter: type) -> None:
    """Register ``ember train`` on the subcommand parser ``sub``."""
    d = DEFAULTS
    p = sub.add_parser(
        "train", help="train an MLP or LeNet on MNIST with a progress bar", formatter_class=formatter,
        description="Train the tutorial's MNIST model and report test accuracy after each epoch.\n"
                    "Checkpoints (--save, and Ctrl-C) continue exactly with --resume; the flags left out\n"
                    "then take the checkpoint's values. Mistakes are reported before training starts.",
        epilog="examples:\n  ember train --model mlp --epochs 1\n"
               "  ember train --save ckpt.ember --plot curves.svg --log-dir runs/lenet\n"
               "  ember train --resume ckpt.ember --epochs 5")
    p.add_argument("--model", choices=list(MODELS), help=f"network to train (default: {d['model']})")
    p.add_argument("--dataset", choices=["MNIST", "FashionMNIST"], help=f"dataset (default: {d['dataset']})")
    p.add_argument("--data", metavar="DIR",
                   help="dataset root in torchvision's layout (DIR/MNIST/raw/...) (default: the bundled MNIST sample)")
    p.add_argument("--download", action="store_true", help="fetch the dataset into --data DIR if it is not there")
    p.add_argument("--limit", type=_positive(int), metavar="N",
                   help="use only the first N train and N test images (quick runs) (default: all)")
    p.add_argument("--device", help="cpu, opencl, cuda:0, ... (default: the best available; see 'ember devices')")
    p.add_argument("--epochs", type=_positive(int), metavar="N",
                   help=f"train until N epochs in all; a resumed run continues to N (default: {d['epochs']})")
    p.add_argument("--batch-size", type=_positive(int), metavar="N", help=f"images per step (default: {d['batch_size']})")
    p.add_argument("--lr", type=_positive(float), help=f"learning rate (default: {d['lr']})")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), help=f"optimizer (default: {d['optimizer']})")
    p.add_argument("--scheduler", choices=list(SCHEDULERS),
                   help=f"learning-rate schedule, stepped per epoch (default: {d['scheduler']})")
    p.add_argument("--seed", type=int, help=f"seed of the initial weights and the shuffling (default: {d['seed']})")
    p.add_argument("--workers", type=_non_negative_int, default=0, metavar="N", help="data-loading processes")
    p.add_argument("--save", metavar="FILE",
                   help="checkpoint after every epoch (and on Ctrl-C) here, the best model to FILE with .best "
                        "before the suffix (default: none)")
    p.add_argument("--resume", metavar="FILE", help="continue from this checkpoint, exactly where it stopped")
    p.add_argument("--plot", metavar="FILE",
                   help="write loss/accuracy curves here; the suffix picks the format (.png, .svg...); needs matplotlib")
    p.add_argument("--log-dir", metavar="DIR", help="write TensorBoard event files here; needs tensorboard")
    p.add_argument("--export-onnx", metavar="FILE",
                   help="export the trained model to this ONNX file (dynamic batch size); needs onnx")
    p.add_argument("--profile", metavar="DIR",
                   help="profile steps 3-7 of the run (ember.profiler): a trace for TensorBoard/Perfetto in DIR and "
                        "the kernels that took the time in the log")
    p.add_argument("--compile", action="store_true",
                   help="run each training step through ember.compile: captured once, then replayed with fused "
                        "kernels (docs/compile.md)")
    p.add_argument("--nproc", type=_positive(int), default=1, metavar="N",
                   help="train data-parallel in N processes (ember.distributed on MPI; needs mpi4py): each "
                        "takes 1/N of every --batch-size batch, gradients are averaged")
    p.add_argument("-q", "--quiet", action="store_true", help="report only warnings and errors")
    p.set_defaults(fn=run)


# ---- checks before training ----------------------------------------------------------------------
def _check_output_file(flag: str, path: str) -> None:
    """The folder of ``path`` must exist and be writable, and ``path`` must not be a folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory, expected a file name")
    if not os.path.isdir(folder):
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} {path}: the folder {folder} is not writable")


def _check_log_dir(path: str) -> None:
    from ember.utils.tensorboard._summary import require_tensorboard

    try:
        require_tensorboard()
    except ImportError:
        raise UsageError("--log-dir needs the tensorboard package: pip install 'ember[tensorboard]' "
                         "(or: pip install tensorboard)") from None
    _check_output_dir("--log-dir", path)


def _load_checkpoint(path: str) -> dict:
    import ember

    if not os.path.exists(path):
        raise UsageError(f"--resume {path}: no such file")
    if os.path.isdir(path):
        raise UsageError(f"--resume {path}: is a directory, expected a checkpoint file")
    try:
        ck = ember.load(path, map_location="cpu")
    except Exception as e:  # CheckpointError, WeightsOnlyLoadError, OSError...: all "cannot use this file"
        raise UsageError(f"--resume {path}: not a readable ember checkpoint ({' '.join(str(e).split())})") from None
    if not isinstance(ck, dict) or "model" not in ck or not ("arch" in ck or "settings" in ck):
        raise UsageError(f"--resume {path}: not a checkpoint written by ember train")
    return ck


def _settings(args: argparse.Namespace, ck: dict | None) -> dict[str, Any]:
    """The run's settings: explicit flags, else the checkpoint's, else the defaults."""
    stored = dict(ck.get("settings", {})) if ck else {}
    if ck and not stored:  # a checkpoint from before settings were stored: only its architecture is known
        stored = {"model": ck["arch"]}
    settings = {}
    for key, default in DEFAULTS.items():
        given = getattr(args, key)
        if given is not None and key in _FIXED and key in stored and given != stored[key]:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} {given} contradicts the checkpoint {args.resume}, which was trained with "
                             f"{flag} {stored[key]}; leave {flag} out to resume it")
        settings[key] = given if given is not None else stored.get(key, default)
    settings["data"] = args.data if args.data is not None else stored.get("data")
    changed = [k for k in ("batch_size", "lr", "seed") if ck and k in stored and settings[k] != stored[k]]
    if changed:
        log.warning("warning: %s differ(s) from the checkpoint's; the run will not match an uninterrupted one",
                    ", ".join("--" + k.replace("_", "-") for k in changed))
    return settings


def _datasets(settings: dict, download: bool) -> tuple[Any, Any]:
    """Train and test sets (checked and loaded now, before any training)."""
    from ember.utils.data import Subset
    from ember.vision import datasets, transforms
    from ember.vision.datasets.idx import IDXFormatError

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    root, name = settings["data"], settings["dataset"]
    if root is None:
        if download:
            raise UsageError("--download needs --data DIR: the folder to download into")
        if name != "MNIST":
            raise UsageError(f"--dataset {name} needs --data DIR (only an MNIST sample is bundled)")
        train, test = datasets.mnist_sample(transform=tf)
    else:
        if not download and not os.path.isdir(root):
            raise UsageError(f"--data {root}: no such directory (add --download to fetch {name} into it)")
        cls = getattr(datasets, name)
        try:
            train = cls(root, train=True, transform=tf, download=download)
            test = cls(root, train=False, transform=tf)
        except IDXFormatError as e:
            raise UsageError(f"--data {root}: {' '.join(str(e).split())}") from None
        except (RuntimeError, OSError) as e:
            first = str(e).splitlines()[0].rstrip(":") if str(e) else type(e).__name__
            if download:
                detail = "; ".join(line for line in str(e).splitlines()[1:2])
                raise UsageError(f"--download: could not fetch {name} into {root}: {first}"
                                 + (f" ({detail})" if detail else "")) from None
            raw = os.path.join(root, name, "raw")
            raise UsageError(f"--data {root}: no {name} files in {raw} (expected train-images-idx3-ubyte[.gz] "
                             "and the other three); add --download to fetch them") from None
    if settings["limit"]:
        train = Subset(train, range(min(settings["limit"], len(train))))
        test = Subset(test, range(min(settings["limit"], len(test))))
    return train, test


@dataclass
class _Plan:
    """Everything checked and built before the first step."""

    settings: dict
    device: str
    train_set: Any
    test_set: Any
    save: str | None
    plot: str | None
    log_dir: str | None
    workers: int
    resume_path: str | None = None
    ck: dict | None = None
    export_onnx: str | None = None
    profile: str | None = None
    compile: bool = False


def prepare(args: argparse.Namespace) -> _Plan:
    """Check every path, the device and the optional packages; load the data and the checkpoint.

    Raises:
        UsageError: what the user can fix, in one line.
    """
    if args.save:
        _check_output_file("--save", args.save)
    if args.plot:
        from .plot import check_plot_target

        _check_output_file("--plot", args.plot)
        check_plot_target(args.plot)
    if args.log_dir:
        _check_log_dir(args.log_dir)
    if getattr(args, "export_onnx", None):
        _check_output_file("--export-onnx", args.export_onnx)
        _check_onnx()
    if getattr(args, "profile", None):
        _check_output_dir("--profile", args.profile)
    ck = _load_checkpoint(args.resume) if args.resume else None
    settings = _settings(args, ck)
    if ck and settings["data"] is not None and args.data is None and not os.path.isdir(settings["data"]):
        raise UsageError(f"--resume {args.resume}: it was trained on --data {settings['data']}, which no longer "
                         "exists; pass --data DIR")
    device = check_device(args.device)
    train_set, test_set = _datasets(settings, args.download)
    return _Plan(settings, device, train_set, test_set, args.save, args.plot, args.log_dir, args.workers,
                 args.resume, ck, getattr(args, "export_onnx", None), getattr(args, "profile", None),
                 bool(getattr(args, "compile", False)))


def _check_output_dir(flag: str, path: str) -> None:
    """A folder that exists or can be made (the nearest existing parent is writable)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag} {path}: exists and is not a directory")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.access(existing, os.W_OK):
        raise UsageError(f"{flag} {path}: {existing} is not writable")


def _start_profiler(plan: _Plan) -> Any:
    """A profile of five steps after two warm-up steps (kernels compiled, caches filled), written
    to the --profile folder; device kernels are timed on the device (one sync per kernel there)."""
    from ember.profiler import ProfilerActivity, profile, schedule, tensorboard_trace_handler

    activities = [ProfilerActivity.CPU]
    device_type = plan.device.split(":")[0]
    if device_type != "cpu" and device_type in {a.value for a in ProfilerActivity}:
        activities.append(ProfilerActivity(device_type))
    prof = profile(activities=activities, schedule=schedule(skip_first=1, wait=0, warmup=1, active=5, repeat=1),
                   on_trace_ready=tensorboard_trace_handler(plan.profile, worker_name="ember-train"),
                   record_shapes=True)
    prof.start()
    return prof


def _stop_profiler(prof: Any, plan: _Plan) -> None:
    prof.stop()
    if prof.events():
        log.info("profile of 5 training steps (trace in %s):\n%s", plan.profile, prof.summary())


def _check_onnx() -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UsageError("--export-onnx needs the onnx package: pip install 'ember[onnx]' "
                         "(or: pip install onnx)") from None


def _export_onnx(trainer: _Trainer, path: str) -> None:
    """The trained model as ONNX: input (N, 1, 28, 28) named "input", output "logits", N dynamic."""
    import ember

    example = ember.zeros(2, *trainer.plan.train_set[0][0].shape, device=trainer.device)
    ember.onnx.export(trainer.model, (example,), path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


# ---- training ------------------------------------------------------------------------------------
class _StopRequest:
    """SIGINT sets a flag that the loop checks after each whole step; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> _StopRequest:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C as it is
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@dataclass
class _State:
    """The loop's position and running totals: all of it goes into a checkpoint."""

    epoch: int = 0            # epochs completed
    batches_done: int = 0     # steps taken in the current epoch
    seen: int = 0             # images seen in the current epoch
    loss_sum: float = 0.0     # sum of loss * batch size in the current epoch
    global_step: int = 0
    best_acc: float = -1.0
    history: list = field(default_factory=list)        # one dict per finished epoch
    batch_losses: list = field(default_factory=list)   # one list of per-batch losses per epoch (for the plot)


def evaluate(model: Any, loader: Any, device: str, loss_fn: Any, stop: _StopRequest | None = None
             ) -> tuple[float, float] | None:
    """Mean loss and accuracy of ``model`` over ``loader``; None if a stop was requested meanwhile."""
    import ember

    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with ember.no_grad():
        for x, y in loader:
            if stop is not None and stop.requested:
                return None
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += loss_fn(out, y).item() * y.shape[0]
            correct += (out.argmax(1) == y).sum().item()
            total += y.shape[0]
    return loss_sum / max(total, 1), correct / max(total, 1)


class _Trainer:
    """The model, the loaders and the generators of one run, and how to checkpoint them."""

    def __init__(self, plan: _Plan) -> None:
        import ember
        from ember import nn
        from ember.utils.data import DataLoader

        s = plan.settings
        self.plan, self.device = plan, plan.device
        self.profiler: Any = None  # an ember.profiler.profile while --profile records
        ember.manual_seed(s["seed"])
        self.shuffle = ember.Generator().manual_seed(s["seed"])
        self.sampler = ckpt_mod.ResumableRandomSampler(len(plan.train_set), self.shuffle)
        rank, world = _rank_world()
        self.world = world
        sampler = self.sampler if world == 1 else _Shard(self.sampler, rank, world)
        self.train_loader = DataLoader(plan.train_set, batch_size=s["batch_size"] // world, sampler=sampler,
                                       num_workers=plan.workers)
        self.test_loader = DataLoader(plan.test_set, batch_size=256, num_workers=plan.workers)
        self.model = build_model(s["model"]).to(self.device)
        self.step_model = self.model  # what training steps call: the DDP wrapper when data-parallel
        if world > 1:
            from ember.nn.parallel import DistributedDataParallel

            self.step_model = DistributedDataParallel(self.model)
        self.optimizer = make_optimizer(s["optimizer"], self.model.parameters(), s["lr"])
        self.scheduler = make_scheduler(s["scheduler"], self.optimizer, s["epochs"])
        self.train_step = ember.compile(self._step) if plan.compile else self._step
        self.loss_fn = nn.CrossEntropyLoss()
        self.state = _State()
        self.pending_rng: dict | None = None   # RNG states to put back at the resume point
        self.epoch_start_state: Any = None     # the shuffle generator's state as the epoch began

    def _step(self, x: Any, y: Any) -> Any:
        """One optimizer step on a batch; returns the loss (a tensor: reading it here would stop
        ``--compile`` from capturing the step)."""
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.step_model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss

    # -- checkpoints --
    def restore(self, ck: dict) -> None:
        self.model.load_state_dict(ck["model"])
        if "optimizer" in ck:
            self.optimizer.load_state_dict(ck["optimizer"])
        if self.scheduler is not None and ck.get("scheduler") is not None:
            self.scheduler.load_state_dict(ck["scheduler"])
        stored_lr = ck.get("settings", {}).get("lr")
        if stored_lr is not None and self.plan.settings["lr"] != stored_lr:  # an explicit --lr wins
            for group in self.optimizer.param_groups:
                group["lr"] = self.plan.settings["lr"]
        pos = ck.get("position", {})
        self.state = _State(epoch=int(ck.get("epoch", 0)), batches_done=int(pos.get("batches_done", 0)),
                            seen=int(pos.get("seen", 0)), loss_sum=float(pos.get("loss_sum", 0.0)),
                            global_step=int(ck.get("global_step", 0)), best_acc=float(ck.get("best_acc", -1.0)),
                            history=list(ck.get("history", [])),
                            batch_losses=[list(b) for b in ck.get("batch_losses", [])])
        if "rng" in ck:
            self.pending_rng = ck["rng"]
            self.epoch_start_state = ck.get("epoch_start_state")
        else:
            log.warning("warning: %s holds no random-generator states (an older checkpoint); the run continues, "
                        "but not exactly as an uninterrupted one", self.plan.resume_path)

    def checkpoint(self) -> dict:
        st = self.state
        return {"format": ckpt_mod.FORMAT, "settings": dict(self.plan.settings), "arch": self.plan.settings["model"],
                "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "epoch": st.epoch, "global_step": st.global_step, "best_acc": st.best_acc,
                "position": {"batches_done": st.batches_done, "seen": st.seen, "loss_sum": st.loss_sum},
                "epoch_start_state": self.sampler.epoch_start_state if st.batches_done else None,
                "rng": ckpt_mod.rng_states(self.shuffle),
                "history": st.history, "batch_losses": st.batch_losses}

    def save(self, path: str) -> None:
        import ember

        ember.save(self.checkpoint(), path)

    # -- one epoch --
    def _start_epoch(self) -> Any:
        """The epoch's batch iterator, with the resume point's generators and sampler position in place."""
        rng, mid_epoch = self.pending_rng, self.state.batches_done > 0
        self.pending_rng = None
        if rng is not None and not mid_epoch:
            ckpt_mod.restore_rng_states(rng, self.shuffle)
        if mid_epoch:
            self.sampler.resume_at(self.epoch_start_state, self.state.seen)
        else:
            self.state.seen, self.state.loss_sum = 0, 0.0
            self.state.batch_losses.append([])
        it = iter(self.train_loader)
        # Making the iterator draws a worker seed from ember's generator; a mid-epoch checkpoint was
        # taken after that draw, so its states go back only now.
        if rng is not None and mid_epoch:
            ckpt_mod.restore_rng_states(rng, self.shuffle)
        return it

    def train_epoch(self, stop: _StopRequest, writer: Any) -> bool:
        """Steps through the rest of the current epoch; False when a stop was requested."""
        from tqdm import tqdm

        st, s = self.state, self.plan.settings
        n_batches = math.ceil(len(self.plan.train_set) / s["batch_size"])
        disable_bar = not sys.stderr.isatty() or _rank_world()[0] != 0
        it = self._start_epoch()
        self.model.train()
        bar = tqdm(it, total=n_batches, initial=st.batches_done, desc=f"epoch {st.epoch + 1}", unit="batch",
                   leave=True, dynamic_ncols=True, disable=disable_bar)
        t_epoch = time.perf_counter()
        seen_before = st.seen
        for x, y in bar:
            t0 = time.perf_counter()
            x, y = x.to(self.device), y.to(self.device)
            loss = self.train_step(x, y)
            value = loss.item()  # synchronises the device, so the step time below is real
            if self.profiler is not None:
                self.profiler.step()
            if self.step_model is not self.model:  # report the global batch's loss, as one process would
                value = _global_mean(value)
            if not math.isfinite(value):
                raise TrainingError(f"the loss became {value} at epoch {st.epoch + 1}; try a smaller --lr")
            n = int(y.shape[0]) * self.world  # images of the global batch (equal on every rank)
            st.batches_done, st.seen, st.loss_sum = st.batches_done + 1, st.seen + n, st.loss_sum + value * n
            st.global_step += 1
            st.batch_losses[-1].append(value)
            rate = n / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(loss=f"{value:.4f}", img_s=f"{rate:.0f}")
            if writer is not None:
                writer.add_scalar("train/loss", value, st.global_step)
                writer.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], st.global_step)
                writer.add_scalar("train/throughput_img_s", rate, st.global_step)
            if stop.requested:
                bar.close()
                return False
        bar.close()
        self.epoch_rate = (st.seen - seen_before) / max(time.perf_counter() - t_epoch, 1e-9)
        return True

    def finish_epoch(self, stop: _StopRequest, writer: Any) -> dict | None:
        """Evaluate, step the schedule, record the epoch; None when a stop was requested meanwhile."""
        st = self.state
        result = evaluate(self.model, self.test_loader, self.device, self.loss_fn, stop)
        if result is None:
            return None
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None:
            self.scheduler.step()
        st.epoch, st.batches_done = st.epoch + 1, 0
        metrics = {"epoch": st.epoch, "train_loss": st.loss_sum / max(st.seen, 1), "test_loss": result[0],
                   "test_acc": result[1], "lr": lr}
        st.history.append(metrics)
        log.info("epoch %d: train loss %.4f, test loss %.4f, test accuracy %.2f%% (%.0f images/s)",
                 st.epoch, metrics["train_loss"], metrics["test_loss"], 100 * metrics["test_acc"], self.epoch_rate)
        if writer is not None:
            for key in ("train_loss", "test_loss", "test_acc", "lr"):
                writer.add_scalar(f"epoch/{key}", metrics[key], st.epoch)
            writer.add_scalar("epoch/throughput_img_s", self.epoch_rate, st.epoch)
            writer.flush()
        return metrics


def _best_path(path: str) -> str:
    """``ckpt.ember`` -> ``ckpt.best.ember``."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.best{ext}"


def _open_writer(plan: _Plan, trainer: _Trainer) -> Any:
    if not plan.log_dir:
        return None
    from ember.utils.tensorboard import SummaryWriter

    # After a resume, TensorBoard hides what an interrupted run logged past the checkpoint.
    writer = SummaryWriter(plan.log_dir, purge_step=trainer.state.global_step + 1 if plan.ck else None)
    if not plan.ck:
        writer.add_text("settings", ", ".join(f"{k}={v}" for k, v in plan.settings.items()), 0)
    return writer


def _interrupted(trainer: _Trainer, plan: _Plan) -> int:
    path = plan.save or INTERRUPT_PATH
    try:
        trainer.save(path)
    except OSError as e:
        log.error("interrupted; could not save a checkpoint to %s: %s", path, e)
        return 130
    log.warning("interrupted at epoch %d, step %d: saved %s; continue with: ember train --resume %s",
                trainer.state.epoch + 1, trainer.state.batches_done, path, path)
    return 130


def _title(plan: _Plan) -> str:
    s = plan.settings
    data = s["dataset"] if s["data"] else "MNIST sample"
    return f"{s['model']} on {data}" + (f" (first {s['limit']})" if s["limit"] else "") + f", {plan.device}"


def train(plan: _Plan) -> int:
    """Run the planned training; return the exit status (0, or 130 after Ctrl-C)."""
    trainer = _Trainer(plan)
    s = plan.settings
    if plan.ck is not None:
        trainer.restore(plan.ck)
        log.info("resumed from %s at epoch %d%s", plan.resume_path, trainer.state.epoch,
                 f", step {trainer.state.batches_done}" if trainer.state.batches_done else "")
    log.info("training %s on %s (%d train / %d test images, %d epochs)", s["model"], plan.device,
             len(plan.train_set), len(plan.test_set), s["epochs"])
    if trainer.state.epoch >= s["epochs"]:
        log.info("the checkpoint has %d epochs already; pass --epochs N with N > %d to train further",
                 trainer.state.epoch, trainer.state.epoch)
    writer = _open_writer(plan, trainer)
    trainer.profiler = _start_profiler(plan) if plan.profile else None
    try:
        with _StopRequest() as stop:
            while trainer.state.epoch < s["epochs"]:
                if not trainer.train_epoch(stop, writer):
                    return _interrupted(trainer, plan)
                metrics = trainer.finish_epoch(stop, writer)
                if metrics is None:
                    return _interrupted(trainer, plan)
                improved = metrics["test_acc"] > trainer.state.best_acc
                trainer.state.best_acc = max(trainer.state.best_acc, metrics["test_acc"])
                if plan.save:
                    trainer.save(plan.save)
                    if improved:
                        trainer.save(_best_path(plan.save))
                if stop.requested:
                    return _interrupted(trainer, plan)
    finally:
        if trainer.profiler is not None:
            _stop_profiler(trainer.profiler, plan)
            trainer.profiler = None
        if writer is not None:
            if trainer.state.history:
                last = trainer.state.history[-1]
                writer.add_hparams({k: v for k, v in s.items() if v is not None},
                                   {"hparam/test_acc": last["test_acc"], "hparam/test_loss": last["test_loss"]},
                                   run_name="hparams")
            writer.close()
    if plan.compile:
        log.info("ember.compile of the training step: %s", trainer.train_step.stats.summary().replace("\n", "; "))
    if plan.save:
        log.info("saved checkpoint to %s (best model: %s)", plan.save, _best_path(plan.save))
    if plan.plot and trainer.state.history:
        from .plot import plot_history

        plot_history(trainer.state.history, trainer.state.batch_losses, plan.plot, _title(plan))
        log.info("saved curves to %s", plan.plot)
    if plan.export_onnx:
        _export_onnx(trainer, plan.export_onnx)
        log.info("exported the model to %s (ONNX)", plan.export_onnx)
    if trainer.state.history:
        log.info("final test accuracy: %.2f%%", 100 * trainer.state.history[-1]["test_acc"])
    return 0


def run(args: argparse.Namespace) -> int:
    """``ember train``: check everything, then train (``--nproc N``: in N processes, see :func:`_data_parallel`)."""
    if args.nproc > 1:
        return _data_parallel(args)
    return train(prepare(args))


# ---- data-parallel training (--nproc N) ----------------------------------------------------------
def _rank_world() -> tuple[int, int]:
    from ember import distributed as dist

    if not dist.is_available() or not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def _global_mean(value: float) -> float:
    import ember
    from ember import distributed as dist

    t = ember.tensor([value], dtype=ember.float64)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    return t.item()


class _Shard:
    """Rank ``rank``'s share of a :class:`~ember.cli.checkpoint.ResumableRandomSampler`: every
    ``world``-th index of the same permutation (every rank draws it with the same generator), so a
    global batch is split evenly. Every rank gets ``len // world`` indices (the last ``len % world``
    of the order are left out): the ranks must take the same number of steps. A resume position
    counts images of the global order."""

    def __init__(self, inner: ckpt_mod.ResumableRandomSampler, rank: int, world: int) -> None:
        self.inner, self.rank, self.world = inner, rank, world
        self._skip = 0

    def resume_at(self, state: Any, position: int) -> None:
        self._skip = position // self.world
        self.inner.resume_at(state, self._skip * self.world)

    def __iter__(self) -> Any:
        count, self._skip = len(self) - self._skip, 0
        picked = (i for k, i in enumerate(self.inner) if k % self.world == self.rank)
        return (i for _, i in zip(range(count), picked))

    def __len__(self) -> int:
        return len(self.inner) // self.world


def _rank_argv(args: argparse.Namespace) -> list[str]:
    """The ``ember train`` command line that gives ``args`` (for the launched processes)."""
    from . import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    argv = ["train"]
    for action in sub.choices["train"]._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or action.dest == "help" or value == action.default:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            argv.append(action.option_strings[-1])
        else:
            argv += [action.option_strings[-1], str(value)]
    return argv


def _data_parallel(args: argparse.Namespace) -> int:
    """In the user's process: start ``--nproc`` copies through ``ember.distributed.run``. In each
    copy (EMBER_DIST_LAUNCHED): join the process group and train; rank 0 alone reports and writes
    files. Every rank checks the flags, so a mistake is still one line and exit 2."""
    import subprocess

    from ember import distributed as dist

    if not dist.is_available():
        raise UsageError("--nproc needs mpi4py and an MPI: pip install 'ember[distributed]'")
    if args.batch_size is not None and args.batch_size % args.nproc:
        raise UsageError(f"--batch-size {args.batch_size} does not split evenly into --nproc {args.nproc} processes")
    if os.environ.get("EMBER_DIST_LAUNCHED") != "1":
        plan = prepare(args)  # mistakes are reported once, here, before any process starts
        if plan.settings["batch_size"] % args.nproc:
            raise UsageError(f"--batch-size {plan.settings['batch_size']} does not split evenly into "
                             f"--nproc {args.nproc} processes")
        return subprocess.call([sys.executable, "-m", "ember.distributed.run", "--nproc-per-node", str(args.nproc),
                                "-m", "ember", *_rank_argv(args)])
    dist.init_process_group("gloo")
    try:
        if dist.get_rank() != 0:  # the others train silently and write nothing
            log.setLevel(logging.WARNING)
            args.save = args.plot = args.log_dir = args.export_onnx = args.profile = None
        return train(prepare(args))
    finally:
        dist.destroy_process_group()
