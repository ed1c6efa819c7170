"""(Inplace)MatmulAllReduceAddRmsNorm on PyTorch's CPU kernels: the torch-cpu backend's binding (torch_cpu.py).

Each rank's x1 @ x2 + bias is one `torch.addmm` in fp16/bf16 (PyTorch's own BLAS, its own accumulation order and
blocking, bias inside the kernel); the all-reduce is a pairwise tree in the output dtype (HCCL's ring order
differs, the bound allows either); RMSNorm is `torch.nn.functional.rms_norm` in fp32 (one rounding of
x * rstd * gamma where the device rounds twice), from the rounded y for fp16 and from the fp32 sum for bf16, as
device-facts 3 documents. The summed output goes under the record's name (y, or the inplace twin's residual).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ... import operators
from ..torch_cpu import matrix, to_numpy, to_torch, tree_sum


def run(inv, chain: bool = False) -> list[dict]:
    dtype = inv.ranks[0]["x1"].dtype
    if chain:
        return _chain(inv, dtype)
    parts = []
    for t in inv.ranks:
        x1 = matrix(t["x1"], dtype)
        x2 = to_torch(np.asarray(t["x2"].data), dtype)  # a transposed view arrives as its values
        bias = t.get("bias")
        if x1.shape[0] == 0 or x2.shape[1] == 0:
            parts.append(torch.zeros(x1.shape[0], x2.shape[1], dtype=x1.dtype))
        elif bias is not None:
            parts.append(torch.addmm(to_torch(np.asarray(bias.data), dtype), x1, x2))
        else:
            parts.append(x1 @ x2)
    mm = tree_sum(parts)
    eps = float(inv.attrs["epsilon"])
    outs = []
    for t in inv.ranks:
        shape = t["residual"].shape
        residual = matrix(t["residual"], dtype)
        gamma = to_torch(np.asarray(t["gamma"].data), dtype).float()
        x = mm.float() + residual.float()
        y = x.to(mm.dtype)
        src = y.float() if dtype == "float16" else x
        if src.numel():
            norm = F.rms_norm(src, (src.shape[-1],), weight=gamma, eps=eps).to(mm.dtype)
        else:
            norm = src.to(mm.dtype)
        y_np = to_numpy(y.reshape(shape), dtype)
        norm_np = to_numpy(norm.reshape(shape), dtype)
        outs.append({operators.get(inv.op).summed_output: y_np, "normOut": norm_np})
    return outs


def _chain(inv, dtype):
    """The benchmark chain: matmul, + bias, all-reduce, AddRmsNorm; each operator stores its output in the dtype."""
    parts = []
    for t in inv.ranks:  # matmul stores in the dtype, the bias add stores again
        x1, x2 = matrix(t["x1"], dtype), to_torch(np.asarray(t["x2"].data), dtype)
        part = (x1.float() @ x2.float()).to(x1.dtype)
        if t.get("bias") is not None:
            part = part + to_torch(np.asarray(t["bias"].data), dtype)
        parts.append(part)
    reduced = torch.stack(parts).float().sum(0).to(parts[0].dtype)  # HCCL: fp32 sum, one store
    eps, outs = float(inv.attrs["epsilon"]), []
    for t in inv.ranks:  # AddRmsNorm as its own operator: y = x1 + x2 stored, normalised from the stored y
        shape = t["residual"].shape
        y = reduced + matrix(t["residual"], dtype)
        gamma = to_torch(np.asarray(t["gamma"].data), dtype).float()
        norm = F.rms_norm(y.float(), (y.shape[-1],), weight=gamma, eps=eps) if y.numel() else y.float()
        outs.append({operators.get(inv.op).summed_output: to_numpy(y.reshape(shape), dtype),
                     "normOut": to_numpy(norm.to(y.dtype).reshape(shape), dtype)})
    return outs
