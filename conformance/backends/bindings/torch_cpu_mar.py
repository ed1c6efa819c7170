"""MatmulAllReduce on PyTorch's CPU kernels: the torch-cpu backend's binding (torch_cpu.py).

Each rank's x1 @ x2 + bias is one `torch.addmm` in fp16/bf16 (PyTorch's own BLAS, accumulation order and blocking,
the bias inside the kernel); the all-reduce is a pairwise tree in the output dtype (HCCL's order differs, the bound
allows either). The chain stores the product, adds the bias as its own operator, and sums in fp32 with one store.
"""

from __future__ import annotations

import numpy as np
import torch

from ..torch_cpu import matrix, to_numpy, to_torch, tree_sum


def _partial(t, dtype: str, chain: bool):
    x1 = matrix(t["x1"], dtype)
    x2 = to_torch(np.asarray(t["x2"].data), dtype)  # a transposed view arrives as its values
    bias = t.get("bias")
    if x1.shape[0] == 0 or x2.shape[1] == 0:
        return torch.zeros(x1.shape[0], x2.shape[1], dtype=x1.dtype)
    if chain:
        part = (x1.float() @ x2.float()).to(x1.dtype)
        return part if bias is None else part + to_torch(np.asarray(bias.data), dtype)
    if bias is not None:
        return torch.addmm(to_torch(np.asarray(bias.data), dtype), x1, x2)
    return x1 @ x2


def run(inv, chain: bool = False) -> list[dict]:
    dtype = inv.ranks[0]["x1"].dtype
    parts = [_partial(t, dtype, chain) for t in inv.ranks]
    reduced = torch.stack(parts).float().sum(0).to(parts[0].dtype) if chain else tree_sum(parts)
    out = to_numpy(reduced.reshape(inv.ranks[0]["output"].shape), dtype)
    return [{"output": out.copy()} for _ in inv.ranks]
