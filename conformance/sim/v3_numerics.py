"""The kernel's arithmetic for QuantMatmulAllReduceV3 (device-facts 1, 2, 4), with hook sites.

Per rank: acc = x1 @ x2 + bias in int32 (exact), then
- fp16 output without pertoken (INT64/UINT64 words): fixpipe dequant, fp16(fp32(acc) * FP19 scale) (+ x3);
- otherwise in fp32: acc * dequantScale (* pertokenScale), stored in the output dtype;
- x3 (option `x3_rounding`): "after_store" (the kernels, device-facts 1 CORRECTED: the stored product plus x3,
  rounded again) or "fused" (added in fp32 before the one store; the documents allow either).
Without comm scales: HCCL sums the stored values (option allreduce_accumulation) and stores the result.
Low-bit: fp16: v = fp16(local / scale1); bf16: v = fp16(fp32(local) / fp32(scale1)); q = int8(v) (half-even,
saturating). The rows (padded up to a multiple of W) are split into W blocks; all_to_all sends block b of every
rank to rank b, which sums int8 -> fp16 -> fp32 values in fp32, multiplies by fp32(scale1) / fp32(scale2) and
casts fp32 -> fp16 -> int8; all_gather returns every block to every rank; dequant multiplies by scale2 (fp16 in
fp16; bf16 via fp32, rounded to bf16).
Where a simulator fault may replace a value the code asks its `faults` (a conformance.hooks.Hooks) at a hook site
declared below.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, quant
from ..hooks import ROUNDING_STEP, site
from ..reference.v3 import int_matmul, rows, scale_values, wrap_int32, x2_matrix
from .marn_numerics import allreduce

# ---- hook sites of this arithmetic (its faults: sim/v3_faults.py) ------------------------------------------------
V3_TO_INT8 = site("v3.to_int8", "the cast of fp16 values to int8 (quant.to_int8: half to even, saturating)")
V3_DEQUANT_SCALE = site("v3.dequant_scale", "the fp32 dequantScale values applied; context scale: the argument")
V3_X2_MATRIX = site("v3.x2_matrix", "x2 as the logical (k, n) int8 matrix; context x2: the argument")
V3_ACCUMULATOR_BIAS = site("v3.accumulator_bias", "the bias added to the int32 accumulator (the argument or None)")
V3_DEQUANTISED = site("v3.dequantised", "the fp32 accumulator times dequantScale; context acc, deq")
V3_PERTOKEN_SCALED = site("v3.pertoken_scaled", "the dequantised value times pertokenScale per row; context "
                                                "unscaled, pertoken")
V3_LOCAL_VALUE = site("v3.local_value", "a rank's fp32 value before x3 and the store; context bias: the argument")
V3_LOCAL_X3 = site("v3.local_x3", "the x3 a rank adds to its own value (the argument or None)")
V3_LOCALS = site("v3.locals", "every rank's stored value entering the all-reduce, in rank order; context out_dtype")
V3_COMM_SCALES = site("v3.comm_scales", "(commQuantScale1, commQuantScale2) as the low-bit path applies them")
V3_ALLTOALL_BLOCK = site("v3.alltoall_block", "the rows per all_to_all block (ceil(m / W)); context m, world")
V3_GATHERED = site("v3.gathered", "the low-bit int8 result after all_gather; context block, world")
V3_ALLREDUCED = site("v3.allreduced", "the all-reduced value, flat rows; context x3: rank 0's argument, out_dtype")
V3_REDUCED = site("v3.reduced", "the all-reduced result in the output's shape (in place)")
V3_RANK_OUTPUT = site("v3.rank_output", "rank r's copy of the result (in place); context rank, world")


def _int8(v, faults, step: str = "int8_cast"):
    return faults.at(ROUNDING_STEP, faults.at(V3_TO_INT8, quant.to_int8), step=f"v3.{step}")(v)


def _store(faults, step: str):
    """The rounder of one named store to the output dtype (hook site ROUNDING_STEP)."""
    return faults.at(ROUNDING_STEP, dtypes.round_to, step=f"v3.{step}")


def _dequant_scale(t, faults) -> np.ndarray:
    return faults.at(V3_DEQUANT_SCALE, scale_values(t).astype(np.float32), scale=t)


def _x2(t, faults) -> np.ndarray:
    return faults.at(V3_X2_MATRIX, x2_matrix(t["x2"]), x2=t["x2"])


X3_ROUNDINGS = ("after_store", "fused")


def local_stored(t: dict, out_dtype: str, faults, x3_rounding: str = "after_store") -> np.ndarray:
    """One rank's dequantised value, stored in the output dtype."""
    acc = int_matmul(rows(t["x1"].data), _x2(t, faults))
    bias = faults.at(V3_ACCUMULATOR_BIAS, t.get("bias"))
    if bias is not None:
        acc = wrap_int32(acc + np.asarray(bias.data).astype(np.float64).reshape(-1))
    deq = _dequant_scale(t["dequantScale"], faults)
    value = faults.at(V3_DEQUANTISED, acc.astype(np.float32) * deq, acc=acc, deq=deq)
    pt = t.get("pertokenScale")
    if pt is not None:
        p = np.asarray(pt.data).astype(np.float32).reshape(-1)
        value = faults.at(V3_PERTOKEN_SCALED, value * p[:, None], unscaled=value, pertoken=p)
    value = faults.at(V3_LOCAL_VALUE, value, bias=t.get("bias"))
    x3 = faults.at(V3_LOCAL_X3, t.get("x3"))
    if x3 is not None:
        if x3_rounding == "after_store":
            value = _store(faults, "output_store")(value, out_dtype).astype(np.float32)
        value = value + rows(x3.data).astype(np.float32)
    return _store(faults, "x3_store" if x3 is not None else "output_store")(value, out_dtype)


def _lowbit(locals_, s1_t, s2_t, out_dtype, world, faults):
    s1 = np.asarray(s1_t.data).reshape(-1)
    s2 = np.asarray(s2_t.data).reshape(-1)
    s1, s2 = faults.at(V3_COMM_SCALES, (s1, s2))
    s1_32, s2_32 = s1.astype(np.float32), s2.astype(np.float32)
    qs = []
    for local in locals_:
        # bf16: fp32 division, then fp32 -> fp16. fp16: an fp16 division, which is the same computation, since
        # rounding the fp32 quotient of two fp16 values to fp16 is correctly rounded (24 >= 2 * 11 + 2 bits)
        v = (local.astype(np.float32) / s1_32).astype(np.float16)
        qs.append(_int8(v, faults))
    m = qs[0].shape[0]
    block = faults.at(V3_ALLTOALL_BLOCK, -(-m // world), m=m, world=world)  # rows padded to a multiple of W
    ratio = (s1_32 / s2_32).astype(np.float32)
    r = np.zeros_like(qs[0])  # rows no block reaches stay 0
    for b in range(world):  # rank b reduces block b of every rank (all_to_all), then all_gather
        lo, hi = b * block, min((b + 1) * block, m)
        if lo >= hi:
            continue
        total = np.zeros((hi - lo, qs[0].shape[1]), np.float32)
        for q in qs:
            total += q[lo:hi].astype(np.float16).astype(np.float32)
        r[lo:hi] = _int8((total * ratio).astype(np.float16), faults, "requant_cast")
    r = faults.at(V3_GATHERED, r, block=block, world=world)
    # fp16 multiplies by fp16(scale2) in fp16: int8 times an fp16 value is exact in fp32, so one rounding is that
    s2_out = s2.astype(np.float16).astype(np.float32) if out_dtype == "float16" else s2_32
    return _store(faults, "dequant_store")(r.astype(np.float32) * s2_out, out_dtype)


def combine(locals_: list[np.ndarray], ranks, attrs: dict, faults, accumulation: str) -> np.ndarray:
    """What every rank holds after the all-reduce of the ranks' stored values (in rank order)."""
    world = len(ranks)
    out_spec = ranks[0]["output"]
    out_dtype = out_spec.dtype
    c1, c2 = ranks[0].get("commQuantScale1"), ranks[0].get("commQuantScale2")
    locals_ = faults.at(V3_LOCALS, locals_, out_dtype=out_dtype)
    if c1 is not None and c2 is not None:
        result = _lowbit(locals_, c1, c2, out_dtype, world, faults)
    else:
        result = allreduce(locals_, out_dtype, accumulation, _store(faults, "allreduce_store"))
    result = faults.at(V3_ALLREDUCED, result, x3=ranks[0].get("x3"), out_dtype=out_dtype)
    return faults.at(V3_REDUCED, result.reshape(out_spec.shape))


def output_for(result: np.ndarray, r: int, world: int, faults) -> dict[str, np.ndarray]:
    return {"output": faults.at(V3_RANK_OUTPUT, result.copy(), rank=r, world=world)}


def run(op: str, ranks, attrs: dict, faults, accumulation: str,
        x3_rounding: str = "after_store") -> list[dict[str, np.ndarray]]:
    """All ranks in one process: the three phases in sequence (process mode runs them on each rank)."""
    out_dtype = ranks[0]["output"].dtype
    locals_ = [local_stored(t, out_dtype, faults, x3_rounding) for t in ranks]
    result = combine(locals_, ranks, attrs, faults, accumulation)
    return [output_for(result, r, len(ranks), faults) for r in range(len(ranks))]


def rank_run(op: str, ranks, r: int, world_size: int, attrs: dict, allgather, faults,
             accumulation: str, x3_rounding: str) -> dict[str, np.ndarray]:
    """Rank r's output in process mode (sim/rank_program.py): its own stored local value, exchanged through
    `allgather` (every rank's value, in rank order), combined."""
    own = ranks[r]
    local = local_stored(own, own["output"].dtype, faults, x3_rounding)
    locals_ = allgather(local)
    result = combine(list(locals_), ranks, attrs, faults, accumulation)
    return output_for(result, r, world_size, faults)
