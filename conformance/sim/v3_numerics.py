"""The kernel's arithmetic for QuantMatmulAllReduceV3 (device-facts 1, 2, 4), with fault hooks.

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
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, quant
from ..reference.v3 import int_matmul, rows, scale_values, wrap_int32, x2_matrix
from .marn_numerics import allreduce


def _int8(v, faults):
    if "no-saturation" in faults:  # wraps like a plain integer conversion
        return np.rint(np.asarray(v, np.float64)).astype(np.int64).astype(np.int8)
    return quant.to_int8(v)


def _dequant_scale(t, faults) -> np.ndarray:
    data = np.asarray(t.data).reshape(-1)
    if t.dtype in ("int64", "uint64") and "fp19-skipped" in faults:
        return (data.view(np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    if t.dtype == "float32" and "fp19-applied-to-float-scales" in faults:
        return quant.applied_scale(data.view(np.uint32).astype(np.uint64))
    return scale_values(t).astype(np.float32)


def _x2(t, faults) -> np.ndarray:
    arg = t["x2"]
    transposed = arg.is_last_two_transposed and not arg.is_contiguous
    if "nz-read-as-nd" in faults and arg.format == "FRACTAL_NZ":
        nz = np.asarray(arg.data)  # (c1, r1, 16, c0) tiling of the stored matrix, read as padded row-major
        k, n = arg.shape
        stored_rows, stored_cols = (n, k) if transposed else (k, n)
        flat = nz.reshape(nz.shape[1] * 16, nz.shape[0] * nz.shape[3])[:stored_rows, :stored_cols]
        return flat.T if transposed else flat
    x2 = x2_matrix(arg)
    if "x2-transpose-ignored" in faults and transposed:
        x2 = np.ascontiguousarray(x2.T).reshape(x2.shape)
    return x2


X3_ROUNDINGS = ("after_store", "fused")


def local_stored(t: dict, out_dtype: str, faults, x3_rounding: str = "after_store") -> np.ndarray:
    """One rank's dequantised value, stored in the output dtype."""
    acc = int_matmul(rows(t["x1"].data), _x2(t, faults))
    bias = t.get("bias")
    bias_after = "bias-after-dequant" in faults
    if bias is not None and not bias_after:
        acc = wrap_int32(acc + np.asarray(bias.data).astype(np.float64).reshape(-1))
    deq = _dequant_scale(t["dequantScale"], faults)
    if "per-channel-per-row" in faults and deq.size > 1:
        value = acc.astype(np.float32) * deq[np.arange(acc.shape[0]) % deq.size][:, None]
    else:
        value = acc.astype(np.float32) * deq
    pt = t.get("pertokenScale")
    if pt is not None and "pertoken-ignored" not in faults:
        p = np.asarray(pt.data).astype(np.float32).reshape(-1)
        if "pertoken-per-column" in faults:  # indexes the per-token scale by column instead of row
            value = value * p[np.arange(value.shape[1]) % p.size][None, :]
        else:
            value = value * p[:, None]
    if bias is not None and bias_after:
        value = value + np.asarray(bias.data).astype(np.float32).reshape(-1)
    x3 = t.get("x3")
    if x3 is not None and "x3-after-allreduce" not in faults:
        if x3_rounding == "after_store":
            value = dtypes.round_to(value, out_dtype).astype(np.float32)
        value = value + rows(x3.data).astype(np.float32)
    return dtypes.round_to(value, out_dtype)


def _lowbit(locals_, s1_t, s2_t, out_dtype, world, faults):
    s1 = np.asarray(s1_t.data).reshape(-1)
    s2 = np.asarray(s2_t.data).reshape(-1)
    if "scales-swapped" in faults:
        s1, s2 = s2, s1
    s1_32, s2_32 = s1.astype(np.float32), s2.astype(np.float32)
    qs = []
    for local in locals_:
        # bf16: fp32 division, then fp32 -> fp16. fp16: an fp16 division, which is the same computation, since
        # rounding the fp32 quotient of two fp16 values to fp16 is correctly rounded (24 >= 2 * 11 + 2 bits)
        v = (local.astype(np.float32) / s1_32).astype(np.float16)
        qs.append(_int8(v, faults))
    m = qs[0].shape[0]
    block = m // world if "alltoall-blocks-floor" in faults else -(-m // world)  # rows padded to a multiple of W
    ratio = (s1_32 / s2_32).astype(np.float32)
    r = np.zeros_like(qs[0])  # rows no block reaches stay 0
    for b in range(world):  # rank b reduces block b of every rank (all_to_all), then all_gather
        lo, hi = b * block, min((b + 1) * block, m)
        if lo >= hi:
            continue
        total = np.zeros((hi - lo, qs[0].shape[1]), np.float32)
        for q in qs:
            total += q[lo:hi].astype(np.float16).astype(np.float32)
        reduced = _int8((total * ratio).astype(np.float16), faults)
        if "allgather-order-reversed" in faults:  # block b lands where block W-1-b belongs (clipped to m)
            dst = (world - 1 - b) * block
            span = max(0, min(hi - lo, m - dst))
            r[dst:dst + span] = reduced[:span]
        else:
            r[lo:hi] = reduced
    if out_dtype == "float16":
        return (r.astype(np.float16) * s2.astype(np.float16)).astype(np.float16)
    return dtypes.round_to(r.astype(np.float32) * s2_32, out_dtype)


def combine(locals_: list[np.ndarray], ranks, attrs: dict, faults: frozenset, accumulation: str) -> np.ndarray:
    """What every rank holds after the all-reduce of the ranks' stored values (in rank order)."""
    world = len(ranks)
    out_spec = ranks[0]["output"]
    out_dtype = out_spec.dtype
    c1, c2 = ranks[0].get("commQuantScale1"), ranks[0].get("commQuantScale2")
    if "rank-order-dependent" in faults and locals_:
        locals_ = [dtypes.round_to(locals_[0].astype(np.float32) * np.float32(1 + 1 / 16), out_dtype), *locals_[1:]]
    if c1 is not None and c2 is not None:
        result = _lowbit(locals_, c1, c2, out_dtype, world, faults)
    else:
        result = allreduce(locals_, out_dtype, accumulation, dtypes.round_to)
    if "x3-after-allreduce" in faults and ranks[0].get("x3") is not None:
        result = dtypes.round_to(result.astype(np.float32) + rows(ranks[0]["x3"].data).astype(np.float32), out_dtype)
    result = result.reshape(out_spec.shape)
    if "lsb-drift" in faults:
        bits = result.reshape(-1).view(np.uint16)
        bits[::7] += np.uint16(1)
    return result


def output_for(result: np.ndarray, r: int, world: int, faults: frozenset) -> dict[str, np.ndarray]:
    out = result.copy()
    if "ranks-disagree" in faults and world > 1 and r == world - 1:
        out.reshape(-1).view(np.uint16)[0] += np.uint16(1)
    return {"output": out}


def run(op: str, ranks, attrs: dict, faults: frozenset, accumulation: str,
        x3_rounding: str = "after_store") -> list[dict[str, np.ndarray]]:
    """All ranks in one process: the three phases in sequence (process mode runs them on each rank)."""
    out_dtype = ranks[0]["output"].dtype
    locals_ = [local_stored(t, out_dtype, faults, x3_rounding) for t in ranks]
    result = combine(locals_, ranks, attrs, faults, accumulation)
    return [output_for(result, r, len(ranks), faults) for r in range(len(ranks))]


def rank_run(op: str, ranks, r: int, world_size: int, attrs: dict, allgather, faults: frozenset,
             accumulation: str, x3_rounding: str) -> dict[str, np.ndarray]:
    """Rank r's output in process mode (sim/rank_program.py): its own stored local value, exchanged through
    `allgather` (every rank's value, in rank order), combined."""
    own = ranks[r]
    local = local_stored(own, own["output"].dtype, faults, x3_rounding)
    locals_ = allgather(local)
    result = combine(list(locals_), ranks, attrs, faults, accumulation)
    return output_for(result, r, world_size, faults)
