"""Per-element error bounds for MatmulAllReduceAddRmsNorm, derived from its rounding points.

Notation: u = unit roundoff of the output dtype (fp16 2^-11, bf16 2^-8), u32 = 2^-24, eta = half the smallest
subnormal of the output dtype (the absolute error of one rounding that underflows), W = world size,
k = local k, gk = dot_bound(k) (see accumulation.py), gamma(j, v) = j v / (1 - j v).
Magnitudes (computed by the reference, never from the result): A = sum_r |x1_r| @ |x2_r| (used through its
Cauchy-Schwarz upper bound, reference/marn.py), P = sum_r (|x1_r @ x2_r| + |bias_r|) >= sum_r |p_r| with
p_r = x1_r @ x2_r + bias_r (the bias may be added before or after the product is stored: MARN-AMB-006),
R = |residual_r|.

mm_out. The device accumulates each dot product in fp32 (error <= gk A; the reference commits the same
again: 2 gk A). Each rank stores p_r in the output dtype (u |p_r|), HCCL sums W such values either in
fp32 or, sequentially, in the output dtype (<= (W - 1) u sum |p_r|, MARN-AMB-003), and the result is stored
in the output dtype (u |mm_out| <= u P). In all:
    E_mm = 2 gk A + gamma(W + 1, u) (P + 2 gk A) + (W + 1) eta
y. y = round(mm_out + residual): E_y = E_mm + u (|y_ref| + E_mm) + eta + gamma(W + 2, u32) (P + R), the last
term being the reference's own fp32 sums.
normOut. Let y_ref, rstd_ref be the reference's values and e_j <= E_y,j the error of the y the device
normalises (fp16: the rounded y; bf16: the fp32 sum, which is closer). With Q = sum_j y_j^2 + d eps per row,
the device's mean square is off by at most q Q, q = (2 sum |y_j| E_j + sum E_j^2) / Q + 2 gamma(d + 3, u32),
so rstd is off by a relative rho = q / (2 (1 - q)^(3/2)) (mean value theorem on Q^-1/2). Two roundings to the
output dtype follow (y * rstd, then * gamma) plus a few fp32 operations on each side: theta = gamma(2, u) +
gamma(6, u32). Bounding |y~ r~ g (1 + t) - y r g| term by term:
    E_norm = rstd |gamma| ((|y| + E_y)(1 + rho)(1 + theta) - |y|) + eta (1 + |gamma|)
Rows with q >= 1/2 (y of the order of its own error) have no useful bound and are reported unchecked.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..dtypes import U32, gamma_n
from ..operators import get as get_operator
from ..reference.marn import ReducedMatmul, as_matrix, rank_outputs, reduced_matmul
from .accumulation import DEFAULT_ACCUMULATION, dot_bound


def y_bound_shared(red: ReducedMatmul, dtype: str, accumulation: str = DEFAULT_ACCUMULATION) -> np.ndarray:
    """The rank-independent part of E_y: E_mm (1 + u) + eta + gamma(W + 2, u32) P."""
    u, eta = dtypes.info(dtype).unit_roundoff, dtypes.info(dtype).tiny_abs
    W = red.world_size
    acc = np.float32(2 * dot_bound(red.k, accumulation)) * red.abs_products
    e_mm = acc + np.float32(gamma_n(W + 1, u)) * (red.abs_partials + acc)
    e_mm += np.float32((W + 1) * eta)
    shared = e_mm * np.float32(1 + u)
    shared += np.float32(gamma_n(W + 2, U32)) * red.abs_partials
    shared += np.float32(eta)
    return shared


def y_bound(shared: np.ndarray, y_ref: np.ndarray, residual: np.ndarray, red: ReducedMatmul, dtype: str, *,
            abs_y: np.ndarray | None = None) -> np.ndarray:
    """E_y for one rank: shared + u |y_ref| + gamma(W + 2, u32) |residual|. `abs_y` is |y_ref| if the caller
    has it (the same values, one pass fewer)."""
    u = dtypes.info(dtype).unit_roundoff
    e_y = np.multiply(np.abs(y_ref) if abs_y is None else abs_y, np.float32(u))
    e_y += shared
    scaled_residual = np.abs(residual)
    scaled_residual *= np.float32(gamma_n(red.world_size + 2, U32))
    e_y += scaled_residual
    return e_y


def norm_bound(y_ref: np.ndarray, e_y: np.ndarray, rstd: np.ndarray, gamma: np.ndarray, epsilon: float,
               dtype: str, *, abs_y: np.ndarray | None = None, floor: np.ndarray | None = None) -> np.ndarray:
    """E_norm per element. `abs_y` (|y_ref|) and `floor` (norm_floor(gamma, dtype)) are the caller's where it
    has them (the same values, computed once instead of per call)."""
    u = dtypes.info(dtype).unit_roundoff
    d = y_ref.shape[1]
    ay = np.abs(y_ref) if abs_y is None else abs_y
    # row sums in float64 of float32 squares and products; elementwise work stays in float32 (outputs can hold
    # 10^8 elements); one float32 scratch array holds each term in turn
    scratch = np.square(ay)
    Q = scratch.sum(axis=1, dtype=np.float64) + d * epsilon
    cross = np.multiply(ay, e_y, out=scratch).sum(axis=1, dtype=np.float64)
    q = (2 * cross + np.square(e_y, out=scratch).sum(axis=1, dtype=np.float64)) / Q
    q += 2 * gamma_n(d + 3, U32)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(q < 0.5, q / (2 * np.power(np.clip(1 - q, 1e-300, None), 1.5)), np.inf)
    theta = gamma_n(2, u) + gamma_n(6, U32)
    f_minus_1 = (rho + theta + rho * theta)[:, None]  # (1 + rho)(1 + theta) - 1, per row, no cancellation
    scale = (rstd * np.abs(gamma.reshape(1, -1))).astype(np.float32, copy=False)
    # (|y| + E)(1 + rho)(1 + theta) - |y| == E (1 + f - 1) + |y| (f - 1)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = np.multiply(e_y, (1 + f_minus_1).astype(np.float32))
        bound += np.multiply(ay, f_minus_1.astype(np.float32), out=scratch)
        bound *= scale
        bound += norm_floor(gamma, dtype) if floor is None else floor
    return bound


def norm_floor(gamma: np.ndarray, dtype: str) -> np.ndarray:
    """The last term of E_norm, eta (1 + |gamma|), as a (1, n) float32 row."""
    eta = dtypes.info(dtype).tiny_abs
    return np.float32(eta) * (1 + np.abs(gamma.reshape(1, -1)).astype(np.float32))


def rank_bounds(inv, accumulation: str = DEFAULT_ACCUMULATION) -> dict[tuple[int, str], np.ndarray]:
    """The bound of every (rank, output) of `inv` (y, or the inplace twin's residual, and normOut) as (m, n)
    float32 arrays, from its inputs (the metamorphic relations': conformance/relations.py)."""
    y_name = get_operator(inv.op).summed_output
    red = reduced_matmul(inv)
    dtype = inv.ranks[0]["x1"].dtype
    shared = y_bound_shared(red, dtype, accumulation)
    eps = float(inv.attrs["epsilon"])
    out = {}
    for r, t in enumerate(inv.ranks):
        residual, gamma = as_matrix(t["residual"]), as_matrix(t["gamma"]).reshape(-1)
        y_ref, _, rstd = rank_outputs(red, residual, gamma, eps)
        e_y = y_bound(shared, y_ref, residual, red, dtype)
        out[(r, y_name)] = e_y
        out[(r, "normOut")] = norm_bound(y_ref, e_y, rstd, gamma, eps, dtype).astype(np.float32)
    return out
