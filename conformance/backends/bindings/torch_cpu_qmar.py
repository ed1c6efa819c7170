"""QuantMatmulAllReduce on PyTorch's CPU kernels: the torch-cpu backend's binding (torch_cpu.py).

V3's binding (torch_cpu_v3.py) computed without pertokenScale and comm scales, which this operator never has:
int64 integer matmul, fp32 dequantisation, x3 on the stored product, the ranks summed in reverse order in fp32.
"""

from __future__ import annotations

from .torch_cpu_v3 import run

__all__ = ["run"]
