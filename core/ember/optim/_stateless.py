"""``swap_in_optimizer_params_and_state``: step an optimizer on other parameters and state for a while.

PyTorch's ``torch.optim.swap_in_optimizer_params_and_state`` (2.13): inside the ``with`` block the
optimizer's groups hold the given parameters and hyper-parameters and its ``state`` the given
``state_dict()``-shaped state (keyed by those parameters); on exit the live groups and state are
put back. ``step()`` updates the swapped-in parameters and state tensors in place, so the caller's
tensors see the new values, while anything else the block does to the groups or state dicts is
dropped.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.5, momentum=0.9)
    >>> w.grad = ember.ones(2); opt.step()
    >>> other = {"w": ember.zeros(2, requires_grad=True)}
    >>> other["w"].grad = ember.ones(2)
    >>> osd = {"state": {0: {"momentum_buffer": ember.zeros(2)}}, "param_groups": opt.state_dict()["param_groups"]}
    >>> with ember.optim.swap_in_optimizer_params_and_state(opt, other, osd):
    ...     opt.step()
    >>> other["w"].tolist(), w.tolist(), osd["state"][0]["momentum_buffer"].tolist()
    ([-0.5, -0.5], [0.5, 0.5], [1.0, 1.0])
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ember.tensor import Tensor

__all__ = ["swap_in_optimizer_params_and_state"]

_NAME = "swap_in_optimizer_params_and_state"


def _check_state(state: Any) -> dict:
    if not isinstance(state, dict):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping packed parameter "
                           f"ids to per-param state dicts, got {type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style state keyed by packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be dictionaries.")
    return state


def _check_groups(optimizer: Any, groups: Any) -> list:
    if not isinstance(groups, list):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['param_groups'] to be a list of param-group "
                           f"dicts, got {type(groups).__name__}.")
    if len(optimizer.param_groups) != len(groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups than the live optimizer.")
    return groups


def _group_ids(idx: int, live: dict, saved: Any) -> list[int]:
    """The packed ids of one swap-in group, after checking it fits the live group (size and keys)."""
    if not isinstance(saved, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = saved.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style param_groups[*]['params'] entries "
                           "keyed by packed parameter ids.")
    if len(live["params"]) != len(ids):
        raise RuntimeError(f"swapin_optim_state param group {idx} has a different number of params than the "
                           "live optimizer param group.")
    only_saved = [k for k in saved if k not in live]
    only_live = [k for k in live if k not in saved]
    if only_saved or only_live:
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style param group keys to exactly match the "
                           f"live optimizer group keys for group {idx}. Keys only in swap-in: {only_saved}. "
                           f"Keys only in live: {only_live}.")
    return ids


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer: Any, swapin_parameters: dict[str, Tensor],
                                       swapin_optim_state: dict[str, Any]) -> Iterator[None]:
    """Run the block with ``optimizer``'s parameters replaced by ``swapin_parameters`` (a dict whose
    values are in the optimizer's parameter order, e.g. ``dict(model.named_parameters())``) and its
    state and hyper-parameters by ``swapin_optim_state`` (shaped like ``optimizer.state_dict()``);
    restore the live ones on exit. The optimizer's state must already be initialized (a step taken).

    Raises RuntimeError, with PyTorch's messages, when the state is empty or the swap-in dict does
    not fit the optimizer (group count, group sizes, group keys, ids, too few parameters).
    """
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    state = _check_state(swapin_optim_state.get("state"))
    groups = _check_groups(optimizer, swapin_optim_state.get("param_groups"))
    flat = list(swapin_parameters.values())
    plan: list[tuple[dict, dict, list]] = []  # (live group, swap-in group, its swap-in tensors)
    seen: set[int] = set()
    start = 0
    for idx, (live, saved) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _group_ids(idx, live, saved)
        seen.update(ids)
        if start + len(ids) > len(flat):
            raise RuntimeError(f"{_NAME} requires the explicit parameter state to match optimizer.param_groups "
                               "ordering.")
        plan.append((live, saved, flat[start:start + len(ids)]))
        start += len(ids)
    extra = [k for k in state if k not in seen]
    if extra:
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be keyed only by packed parameter "
                           f"ids from param_groups[*]['params']; got extra keys {extra!r}.")

    live_state = optimizer.state
    # shallow copies: the live ``params`` lists themselves (compared with ``is`` by callers) come back
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapped: defaultdict = defaultdict(dict)
        for live, saved, params in plan:
            live.update({k: v for k, v in saved.items() if k != "params"})
            live["params"] = params
            for p, pid in zip(params, saved["params"]):
                # a copy of each per-parameter dict: the tensors are shared (in-place updates reach
                # the caller), entries the step adds or replaces stay here
                swapped[p] = dict(state.get(pid, {}))
        optimizer.state = swapped
        yield
    finally:
        for group, snap in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snap)
        optimizer.state = live_state
