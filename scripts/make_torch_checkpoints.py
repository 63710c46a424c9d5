"""Write small PyTorch-made checkpoints for ember's loader tests (needs PyTorch; run once).

Usage (PyTorch is not an ember dependency; use a throwaway environment):

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchvenv/bin/python scripts/make_torch_checkpoints.py tests/serialization/data

Each ``<name>.pt`` comes with ``<name>.json``: the expected values as nested lists, with dtypes
and shapes, plus the PyTorch version that wrote it. The tests read both without PyTorch.
"""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict

import torch


def describe(obj):
    """JSON description of a saved object: tensors become {dtype, shape, values}."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        values = t.float().tolist() if t.dtype == torch.bfloat16 else t.tolist()
        return {"__tensor__": True, "dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape),
                "values": values, "requires_grad": bool(obj.requires_grad),
                "parameter": isinstance(obj, torch.nn.Parameter)}
    if isinstance(obj, dict):
        return {"__dict__": [[k, describe(v)] for k, v in obj.items()], "ordered": isinstance(obj, OrderedDict)}
    if isinstance(obj, (list, tuple)):
        return {"__seq__": [describe(v) for v in obj], "tuple": isinstance(obj, tuple)}
    return obj


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3),
                                torch.nn.BatchNorm1d(3))
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    cases = {
        "model_state": model.state_dict(),
        "dtypes": {
            "f16": torch.tensor([1.5, -2.25, 65504.0], dtype=torch.float16),
            "f64": torch.tensor([[1.0 / 3, -1e300]], dtype=torch.float64),
            "i64": torch.tensor([-(2**62), 0, 7], dtype=torch.int64),
            "i32": torch.tensor([-5, 2**30], dtype=torch.int32),
            "i16": torch.tensor([-300, 300], dtype=torch.int16),
            "i8": torch.tensor([-128, 127], dtype=torch.int8),
            "u8": torch.tensor([0, 255], dtype=torch.uint8),
            "b": torch.tensor([True, False, True]),
            "bf16": torch.tensor([1.0, -0.5, 3.0], dtype=torch.bfloat16),
            "scalar": torch.tensor(2.5),
            "empty": torch.zeros(0, 3),
            "epoch": 7,
            "name": "run-1",
        },
        "views": {
            "transposed": base.t(),                     # non-contiguous (strides (1, 6))
            "row": base[1],                             # storage offset 6
            "strided": base[::2, 1::3],                 # offset and steps
            "whole": base,                              # all four share one storage
        },
        "param": {"p": torch.nn.Parameter(torch.tensor([1.0, 2.0])), "lst": [torch.ones(2), (3, 4.5)]},
    }
    for name, obj in cases.items():
        path = os.path.join(out_dir, f"{name}.pt")
        torch.save(obj, path)
        meta = {"torch_version": torch.__version__, "made_by": "scripts/make_torch_checkpoints.py",
                "expected": describe(obj)}
        with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
            json.dump(meta, fh, separators=(",", ":"))
        print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "serialization", "data"))
