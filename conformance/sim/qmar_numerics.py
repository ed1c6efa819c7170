"""The kernel's arithmetic for QuantMatmulAllReduce: V3's (sim/v3_numerics.py) without pertokenScale and comm
scales, which its invocations never carry, with V3's hook sites seen through this operator's own (validate.qmar
`OwnSites`), so a fault of this operator's (sim/qmar_faults.py) perturbs its calls only.

Per rank: acc = x1 @ x2 + bias in int32; fp16 output: fp16(fp32(acc) * FP19 scale of the INT64/UINT64 word);
bf16 output: acc * dequantScale in fp32, stored in bf16; x3 added after the store (option x3_rounding,
QMAR-AMB-005); the stored values all-reduced (option allreduce_accumulation). The formula
(aclnnQuantMatmulAllReduce.md:18 at c29bc10) adds x3 inside the all-reduce: every rank adds its own.
"""

from __future__ import annotations

from ..hooks import site
from ..validate.qmar import OwnSites
from . import v3_numerics as v3

QMAR_DEQUANT_SCALE = site("qmar.dequant_scale", "the fp32 dequantScale values applied; context scale: the argument")
QMAR_X2_MATRIX = site("qmar.x2_matrix", "x2 as the logical (k, n) int8 matrix; context x2: the argument")
QMAR_ACCUMULATOR_BIAS = site("qmar.accumulator_bias", "the bias added to the int32 accumulator (the argument or None)")
QMAR_DEQUANTISED = site("qmar.dequantised", "the fp32 accumulator times dequantScale; context acc, deq")
QMAR_LOCAL_VALUE = site("qmar.local_value", "a rank's fp32 value before x3 and the store; context bias: the argument")
QMAR_LOCAL_X3 = site("qmar.local_x3", "the x3 a rank adds to its own value (the argument or None)")
QMAR_ALLREDUCED = site("qmar.allreduced", "the all-reduced value, flat rows; context x3: rank 0's argument, "
                                          "out_dtype")
QMAR_RANK_OUTPUT = site("qmar.rank_output", "rank r's copy of the result (in place); context rank, world")
SITES = {v3.V3_DEQUANT_SCALE: QMAR_DEQUANT_SCALE, v3.V3_X2_MATRIX: QMAR_X2_MATRIX,
         v3.V3_ACCUMULATOR_BIAS: QMAR_ACCUMULATOR_BIAS, v3.V3_DEQUANTISED: QMAR_DEQUANTISED,
         v3.V3_LOCAL_VALUE: QMAR_LOCAL_VALUE, v3.V3_LOCAL_X3: QMAR_LOCAL_X3, v3.V3_ALLREDUCED: QMAR_ALLREDUCED,
         v3.V3_RANK_OUTPUT: QMAR_RANK_OUTPUT}


def run(op: str, ranks, attrs: dict, faults, accumulation: str, x3_rounding: str = "after_store"):
    """All ranks in one process (v3_numerics.run)."""
    return v3.run(op, ranks, attrs, OwnSites(faults, SITES), accumulation, x3_rounding)


def rank_run(op: str, ranks, r: int, world_size: int, attrs: dict, allgather, faults, accumulation: str,
             x3_rounding: str):
    """Rank r's output in process mode (v3_numerics.rank_run)."""
    return v3.rank_run(op, ranks, r, world_size, attrs, allgather, OwnSites(faults, SITES), accumulation,
                       x3_rounding)
