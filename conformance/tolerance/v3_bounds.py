"""Error bounds for QuantMatmulAllReduceV3. The integer part (x1 @ x2 + bias) is exact on both sides, so
every term comes from dequantisation and the output dtype (u, eta as in marn_bounds; W = world size;
P = sum_r |local_r|, local_r the rank's dequantised value; T = sum_r (|dequant * pertoken * acc_r| + |x3_r|),
the magnitude of the terms summed into the locals, which P understates where x3 cancels the product).

Without comm scales. The device forms local_r in fp32 (a conversion, up to two products and an add:
gamma(4, u32) T), stores it in the output dtype (u |local_r|), HCCL sums the W stored values in fp32
or in the output dtype ((W - 1) u P, as for MARN-AMB-003) and stores the result (u |out| <= u P):
    E = gamma(W + 1, u) (P + gamma(4, u32) T) + gamma(4, u32) T + 2 u32 P + (W + 1) eta
(the 2 u32 P term: the float64 reference is compared in float32).

With comm scales (low-bit). The reference runs the documented quantisation steps exactly; the device may
differ from it only where a value sits near a rounding boundary:
- per rank, the device's q_r can differ from the reference's by one int8 step plus whatever its stored local
  differs by: its fp32 pipeline may round local_r to the other neighbour in the output dtype (2 u |local_r|),
  and fp16 holds local / scale1 (<= 127) only to 2^-11 relative (1/16 step): scale1 (1 + 1/16) + 2 u |local_r|;
- the requantised r then differs by those steps times scale1 / scale2 plus one step of its own (a tie that
  rounds the other way after fp16's rounding of the product: 1/16 step): scale2 (1 + 1/16);
- the final store rounds once: u |out|.
    E = W scale1 (1 + 1/16) + 2 u P + gamma(4, u32) T + scale2 (1 + 1/16) + u |ref| + eta
Saturation is modelled by the reference (clamping never increases a difference), so the bound also holds
for saturated elements.

x3 added after the product was stored (device-facts 1 CORRECTED: the kernels store deq * pt * acc in the output
dtype, then add x3 and round again; V3-AMB-007). The first rounding errs by at most u |product_r| (1 + g4) +
eta per rank that adds an x3, independently of how much x3 then cancels: with X = sum over those ranks of
|deq * pt * acc_r| (ref.abs_products), the local values may move by u (1 + g4) X + W eta. Without comm scales
that moves the sum one for one, and the later roundings (gamma(W + 1, u) on the stored values) scale it once
more; with comm scales a moved local moves local / scale1 by as many int8 steps and the result by the same
amount, read through fp16's 1/16-step imprecision. So both bounds gain
    E_x3 = (u + gamma(W + 1, u) u) (1 + g4) X + W eta         (no comm scales)
    E_x3 = (1 + 1/16) u (1 + g4) X + W eta                    (comm scales)
and the fused path (one rounding) needs no more than that, so one bound serves both paths.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..dtypes import U32, gamma_n
from ..reference.v3 import V3Reference, reference
from .accumulation import DEFAULT_ACCUMULATION


def bound(ref: V3Reference) -> np.ndarray:
    u, eta = dtypes.info(ref.out_dtype).unit_roundoff, dtypes.info(ref.out_dtype).tiny_abs
    W = ref.world_size
    P, T = ref.abs_locals, ref.abs_terms
    g4 = gamma_n(4, U32)
    X = ref.abs_products
    has_x3 = bool(np.any(X))
    step = 1 + 1 / 16
    if not ref.lowbit:
        e_x3 = ((u + gamma_n(W + 1, u) * u) * (1 + g4)) * X + W * eta if has_x3 else 0.0
        return gamma_n(W + 1, u) * (P + g4 * T) + g4 * T + 2 * U32 * P + (W + 1) * eta + e_x3
    e_x3 = (step * u * (1 + g4)) * X + W * eta if has_x3 else 0.0
    return W * ref.scale1 * step + 2 * u * P + g4 * T + ref.scale2 * step + u * np.abs(ref.out) + eta + e_x3


def rank_bounds(inv, accumulation: str = DEFAULT_ACCUMULATION) -> dict[tuple[int, str], np.ndarray]:
    """The bound of every (rank, output) of `inv` as (m, n) float32 arrays, from its inputs (the metamorphic
    relations': conformance/relations.py). Every rank's output is the all-reduced result: one bound for all.
    `accumulation` is not used: the integer part is exact."""
    b = bound(reference(inv)).astype(np.float32)
    return {(r, "output"): b for r in range(inv.world_size)}
