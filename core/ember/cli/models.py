"""The networks, optimizers and learning-rate schedules ``ember train`` offers, by name."""

from __future__ import annotations

from typing import Any

__all__ = ["MODELS", "OPTIMIZERS", "SCHEDULERS", "build_model", "make_optimizer", "make_scheduler"]


def _mlp() -> Any:
    from ember import nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 512), nn.ReLU(),
        nn.Linear(512, 512), nn.ReLU(),
        nn.Linear(512, 10),
    )


def _lenet() -> Any:
    from ember import nn

    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


#: The tutorial's models: a 784-512-512-10 MLP, and LeNet-5 with ReLU and max pooling.
MODELS = {"mlp": _mlp, "lenet": _lenet}

#: Each optimizer as the tutorials configure it (SGD with momentum 0.9).
OPTIMIZERS = {
    "adam": lambda optim, params, lr: optim.Adam(params, lr=lr),
    "adamw": lambda optim, params, lr: optim.AdamW(params, lr=lr),
    "sgd": lambda optim, params, lr: optim.SGD(params, lr=lr, momentum=0.9),
    "rmsprop": lambda optim, params, lr: optim.RMSprop(params, lr=lr),
}

#: Learning-rate schedules, stepped once per epoch; ``epochs`` is the run's total.
SCHEDULERS = {
    "none": None,
    "step": lambda sched, opt, epochs: sched.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1),
    "cosine": lambda sched, opt, epochs: sched.CosineAnnealingLR(opt, T_max=epochs),
}


def build_model(name: str) -> Any:
    """A fresh, randomly initialised model (drawn from ember's default generator)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]()


def make_optimizer(name: str, params: Any, lr: float) -> Any:
    from ember import optim

    return OPTIMIZERS[name](optim, params, lr)


def make_scheduler(name: str, optimizer: Any, epochs: int) -> Any:
    """The schedule, or None for a constant learning rate."""
    from ember.optim import lr_scheduler

    factory = SCHEDULERS[name]
    return None if factory is None else factory(lr_scheduler, optimizer, epochs)
