"""fp32 reference of MatmulAllReduceAddRmsNorm:

    mm_out = sum_r (x1_r @ x2_r + bias_r)        bias counted once per rank (device-facts 2)
    y_r    = mm_out + residual_r                  each rank has its own residual ...
    normOut_r = y_r / sqrt(mean(y_r^2) + eps) * gamma_r   ... and its own gamma

Inputs are upcast exactly to float32 (fp16 and bf16 are subsets of fp32) and multiplied with BLAS `@`
(toolchain-notes: never np.dot/einsum on bf16). Beside the values, the reference returns the magnitudes the
tolerance model scales with: P = sum_r (|x1_r @ x2_r| + |bias_r|) and an upper bound of A = sum_r |x1_r| @ |x2_r|.
(P uses |x1 @ x2| + |bias| rather than |x1 @ x2 + bias|: where the bias is added, in the fp32 accumulator or
after the product is stored in the output dtype, is undocumented (MARN-AMB-006), and a bias that cancels
the product must not shrink the allowance for the product's rounding.)
A only scales the fp32 accumulation term of the bound; computing it exactly would cost a second GEMM per
rank, so it is replaced by its Cauchy-Schwarz bound sum_r ||x1_r[i, :]||_2 ||x2_r[:, j]||_2 (>= A, O(mk + kn)
plus one (m, W) @ (W, n) product). On uniform data that is ~1.33 A, on a term ~3% of the y bound.
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
    abs_products: np.ndarray  # >= A = sum over ranks of |x1| @ |x2| (Cauchy-Schwarz, see module doc)
    abs_partials: np.ndarray  # P: sum over ranks of |x1 @ x2| + |bias|
    k: int
    world_size: int


def reduced_matmul(inv: Invocation) -> ReducedMatmul:
    mm = absP = None
    k = 0
    row_norms, col_norms = [], []
    for tensors in inv.ranks:
        x1, x2 = as_matrix(tensors["x1"]), as_matrix(tensors["x2"])
        k = x1.shape[1]
        part = x1 @ x2
        mag = np.abs(part)
        if tensors.get("bias") is not None:
            bias = as_matrix(tensors["bias"]).reshape(-1)
            part += bias
            mag += np.abs(bias)
        row_norms.append(np.sqrt(np.einsum("ik,ik->i", x1, x1, dtype=np.float64)))
        col_norms.append(np.sqrt(np.einsum("kj,kj->j", x2, x2, dtype=np.float64)))
        if mm is None:
            mm, absP = part, mag
        else:
            mm += part
            absP += mag
    # (m, W) @ (W, n): sum over ranks of outer(row norms, column norms); rounded up by one part in 2^20
    absA = (np.stack(row_norms, axis=1) @ np.stack(col_norms, axis=0) * (1 + 2.0**-20)).astype(np.float32)
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
