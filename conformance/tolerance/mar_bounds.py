"""Per-element error bound for MatmulAllReduce, derived from its rounding points.

Notation: u = unit roundoff of the output dtype (fp16 2^-11, bf16 2^-8), u32 = 2^-24, eta = half the smallest
subnormal of the output dtype (the absolute error of one rounding that underflows), W = world size, k = local k,
gk = dot_bound(k) (accumulation.py: the named modelling choice for fp32 dot products), gamma(j, v) = j v / (1 - j v).
Magnitudes, from the reference and never from the result (reference.marn.ReducedMatmul): A >= sum_r |x1_r| @ |x2_r|
(its Cauchy-Schwarz upper bound), P = sum_r (|x1_r @ x2_r| + |bias_r|) (the bias may join the product inside the
fp32 accumulator or after the product is stored, MARN-AMB-006: P covers both, and a bias that cancels the product
cannot shrink the allowance).

Device. Each rank accumulates x1_r @ x2_r in fp32 (error <= gk A_r), adds its bias (fp32, or after a store in the
output dtype) and stores p_r in the output dtype; the all-reduce sums the W stored partials in fp32 and stores once,
or sequentially in the output dtype (MAR-AMB-003); either way at most W + 1 roundings of unit u on magnitudes
<= P + gk A (the partial's store, W - 1 adds, the final store), the fp32 bias add being one more of unit u32:
    |out - exact| <= gk A + gamma(W + 1, u) (P + gk A) + u32 (P + gk A) + (W + 1) eta
Reference. BLAS products in fp32 (gk A again), then per rank one fp32 add of the bias and W - 1 fp32 sums:
    |ref - exact| <= gk A + gamma(2 W, u32) (P + gk A)
Together (the bound the output is compared with):
    E = 2 gk A + (gamma(W + 1, u) + gamma(2 W + 1, u32)) (P + 2 gk A) + (W + 1) eta
Every term scales with the inputs, so a fault that drops a rank, adds a bias once, accumulates in the output dtype
or reads x2 untransposed moves some element by far more than E on the suite's random data; errors within E are what
rounding-balance and exact cases judge.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..dtypes import U32, gamma_n
from ..reference.mar import ReducedMatmul, reference
from .accumulation import DEFAULT_ACCUMULATION, dot_bound


def bound(red: ReducedMatmul, dtype: str, accumulation: str = DEFAULT_ACCUMULATION) -> np.ndarray:
    """E per element, (m, n) float32."""
    u, eta = dtypes.info(dtype).unit_roundoff, dtypes.info(dtype).tiny_abs
    W = red.world_size
    acc = np.float32(2 * dot_bound(red.k, accumulation)) * red.abs_products
    e = acc + np.float32(gamma_n(W + 1, u) + gamma_n(2 * W + 1, U32)) * (red.abs_partials + acc)
    e += np.float32((W + 1) * eta)
    return e.astype(np.float32, copy=False)


def rank_bounds(inv, accumulation: str = DEFAULT_ACCUMULATION) -> dict[tuple[int, str], np.ndarray]:
    """The bound of every (rank, output) of `inv` as (m, n) float32 arrays (the metamorphic relations'): every rank
    holds the all-reduced result, one bound for all."""
    b = bound(reference(inv), inv.ranks[0]["output"].dtype, accumulation)
    return {(r, "output"): b for r in range(inv.world_size)}
