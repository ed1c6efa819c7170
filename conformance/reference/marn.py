"""fp32 reference of MatmulAllReduceAddRmsNorm:

    mm_out = sum_r (x1_r @ x2_r + bias_r)        bias counted once per rank (device-facts 2)
    y_r    = mm_out + residual_r                  each rank has its own residual ...
    normOut_r = y_r / sqrt(mean(y_r^2) + eps) * gamma_r   ... and its own gamma

Inputs are upcast exactly to float32 (fp16 and bf16 are subsets of fp32) and multiplied with BLAS `@`
(toolchain-notes: never np.dot/einsum on bf16). Beside the values, the reference returns the magnitudes the
tolerance model scales with: A = sum_r |x1_r| @ |x2_r| and P = sum_r |x1_r @ x2_r + bias_r|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..protocol import Invocation, TensorArg


def as_matrix(t: TensorArg) -> np.ndarray:
    """The tensor's values as a float32 (rows, last-dim) matrix; x1 (b, s, k) becomes (b*s, k)."""
    a = np.asarray(t.data).astype(np.float32, copy=False)
    if a.ndim == 2:
        return a
    return a.reshape(int(np.prod(a.shape[:-1], dtype=np.int64)), a.shape[-1]) if a.ndim else a.reshape(1, 1)


@dataclass
class ReducedMatmul:
    mm_out: np.ndarray  # (m, n) float32: sum over ranks of x1 @ x2 + bias
    abs_products: np.ndarray  # A: sum over ranks of |x1| @ |x2|
    abs_partials: np.ndarray  # P: sum over ranks of |x1 @ x2 + bias|
    k: int
    world_size: int


def reduced_matmul(inv: Invocation) -> ReducedMatmul:
    mm = absA = absP = None
    k = 0
    for tensors in inv.ranks:
        x1, x2 = as_matrix(tensors["x1"]), as_matrix(tensors["x2"])
        k = x1.shape[1]
        part = x1 @ x2
        if tensors.get("bias") is not None:
            part += as_matrix(tensors["bias"]).reshape(-1)
        prod = np.abs(x1) @ np.abs(x2)
        if mm is None:
            mm, absA, absP = part, prod, np.abs(part)
        else:
            mm += part
            absA += prod
            absP += np.abs(part)
    return ReducedMatmul(mm, absA, absP, k, inv.world_size)


def rstd_of(y: np.ndarray, epsilon: float) -> np.ndarray:
    """1 / sqrt(mean(y^2) + eps) over the last axis, in float32, shape (m, 1)."""
    ms = np.einsum("ij,ij->i", y, y, dtype=np.float32)[:, None] / np.float32(max(y.shape[1], 1))
    return (1.0 / np.sqrt(ms + np.float32(epsilon))).astype(np.float32)


def rank_outputs(red: ReducedMatmul, residual: np.ndarray, gamma: np.ndarray, epsilon: float):
    """(y, normOut, rstd) in float32 for one rank, from its float32 residual (m, n) and gamma (n,);
    rstd has shape (m, 1)."""
    y = red.mm_out + residual
    rstd = rstd_of(y, epsilon)
    norm = y * rstd
    norm *= gamma
    return y, norm, rstd
