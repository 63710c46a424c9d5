"""The PyTorch "Tensors" tutorial, run with ember.

Creation, attributes, indexing and slicing, joining, arithmetic, in-place ops, the NumPy bridge and
moving tensors to a device. Every line is the tutorial's with ``import ember as torch``.

Run:
    python examples/tensor_basics.py                 # on the CPU
    python examples/tensor_basics.py --device opencl # the same tensors on an OpenCL device
"""

from __future__ import annotations

import argparse

import ember as torch
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="device to move tensors to (cpu, opencl, ...)")
    parser.add_argument("--quick", action="store_true", help="accepted for uniformity; this script is already fast")
    args = parser.parse_args()
    torch.manual_seed(0)

    # -- Initializing a tensor ---------------------------------------------------------------
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    print(f"Tensor from data: \n {x_data} \n")

    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    print(f"Tensor from NumPy: \n {x_np} \n")

    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    print(f"Ones Tensor: \n {x_ones} \n")
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    print(f"Random Tensor: \n {x_rand} \n")

    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    print(f"Random Tensor: \n {rand_tensor} \n")
    print(f"Ones Tensor: \n {ones_tensor} \n")
    print(f"Zeros Tensor: \n {zeros_tensor}")

    # -- Attributes of a tensor --------------------------------------------------------------
    tensor = torch.rand(3, 4)
    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")

    # -- Operations on tensors: move to the accelerator first --------------------------------
    device = torch.device(args.device)
    tensor = tensor.to(device)
    print(f"Device tensor is stored on: {tensor.device}")

    # Standard numpy-like indexing and slicing.
    tensor = torch.ones(4, 4, device=device)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    print(tensor)
    assert tensor.sum().item() == 12.0, "column assignment should zero 4 of 16 ones"

    # Joining tensors.
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    assert tuple(t1.shape) == (4, 12)
    t2 = torch.stack([tensor, tensor], dim=0)
    print(f"Stacked shape: {t2.shape}")

    # Arithmetic operations: three ways to write a matrix product...
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    print(f"Matrix product:\n {y1}")
    assert torch.equal(y1, y2) and torch.equal(y1, y3)

    # ...and three ways to write an element-wise product.
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    print(f"Element-wise product:\n {z1}")
    assert torch.equal(z1, z2) and torch.equal(z1, z3)

    # Single-element tensors.
    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))

    # In-place operations.
    print(f"{tensor} \n")
    tensor.add_(5)
    print(tensor)
    assert tensor.sum().item() == 12.0 + 16 * 5

    # -- Bridge with NumPy (CPU tensors share memory with their array) -----------------------
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")
    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    assert n.tolist() == [2.0] * 5, "a change in the tensor should show in the NumPy array"

    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    assert t.tolist() == [2.0] * 5, "a change in the NumPy array should show in the tensor"

    # A device tensor goes back to NumPy through the CPU.
    on_device = torch.arange(6, dtype=torch.float32, device=device).reshape(2, 3)
    print(f"arange on {on_device.device}: {on_device.cpu().numpy().tolist()}")
    print("tensor basics: all checks passed")


if __name__ == "__main__":
    main()
