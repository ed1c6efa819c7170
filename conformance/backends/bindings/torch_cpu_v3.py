"""QuantMatmulAllReduceV3 on PyTorch's CPU kernels: the torch-cpu backend's binding (torch_cpu.py).

The integer matmul runs in int64 on PyTorch's integer kernels; dequantisation in fp32 in another order (scales
multiplied together first); low-bit communication without row blocks (each row's quantised values summed at
once), round-half-even by `torch.round`, saturation by `clamp`. The chain stores the quantised matmul's output
before x3 is added as a separate operator.
"""

from __future__ import annotations

import numpy as np
import torch

from ... import operators
from ..torch_cpu import TORCH_DTYPES, matrix, to_numpy, to_torch


def _scale(t):
    data = np.asarray(t.data).reshape(-1)
    if t.dtype in ("int64", "uint64"):  # FP19: the top 19 bits of the low 32-bit float
        words = torch.from_numpy(data.view(np.int64).copy())
        low = torch.bitwise_and(words, 0xFFFFE000).to(torch.int64)
        low = torch.where(low >= 2**31, low - 2**32, low).to(torch.int32)
        return low.view(torch.float32)
    return to_torch(data, t.dtype).float()


def run(inv, chain: bool = False) -> list[dict]:
    from ...reference.v3 import x2_matrix
    out_spec = inv.ranks[0]["output"]
    out_dtype = TORCH_DTYPES[out_spec.dtype]
    locals_ = []
    for t in inv.ranks:
        x1 = matrix(t["x1"], "int8").to(torch.int64)
        x2 = torch.from_numpy(np.ascontiguousarray(x2_matrix(t["x2"]))).to(torch.int64)
        acc = x1 @ x2
        if t.get("bias") is not None:
            acc = acc + torch.from_numpy(np.asarray(t["bias"].data).astype(np.int64))
            acc = ((acc + 2**31) % 2**32) - 2**31  # the int32 accumulator wraps
        scale = _scale(t["dequantScale"]).reshape(1, -1)
        if t.get("pertokenScale") is not None:  # both scales first, then one product with acc
            scale = torch.from_numpy(np.asarray(t["pertokenScale"].data)).reshape(-1, 1).float() * scale
        value = acc.to(torch.float32) * scale
        if chain:  # the quantised matmul stores its output; x3 is a separate add in the output dtype
            value = value.to(out_dtype)
        if t.get("x3") is not None:
            value = value + matrix(t["x3"], out_spec.dtype).to(value.dtype)
        locals_.append(value.to(out_dtype))
    c1, c2 = inv.ranks[0].get("commQuantScale1"), inv.ranks[0].get("commQuantScale2")
    if c1 is not None and c2 is not None:
        s1 = to_torch(np.asarray(c1.data).reshape(-1), c1.dtype).float()
        s2 = to_torch(np.asarray(c2.data).reshape(-1), c2.dtype).float()
        q = [torch.clamp(torch.round((loc.float() / s1).to(torch.float16).float()), -128, 127) for loc in locals_]
        total = torch.stack(q).sum(0)
        r = torch.clamp(torch.round((total * (s1 / s2)).to(torch.float16).float()), -128, 127)
        result = (r * s2).to(out_dtype)
    else:  # reverse rank order, fp32 accumulation, one store
        result = torch.stack(locals_[::-1]).float().sum(0).to(out_dtype)
    out = to_numpy(result.reshape(out_spec.shape), out_spec.dtype)
    return [{operators.get(inv.op).summed_output: out.copy()} for _ in inv.ranks]
