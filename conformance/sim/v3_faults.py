"""QuantMatmulAllReduceV3's own simulator faults: the record's `faults`.

Each Fault's hooks sit at the operator's own sites (validate/v3.py, sim/v3_numerics.py); its Shares add V3's
constraints and hooks to the shared faults of sim/faults.py. The order FAULTS lists them in is sim/faults.py's
order rule.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, quant
from ..reference.v3 import rows
from ..validate.v3 import V3_DIM_BOUND_EXCEEDED, V3_NULL_OPTIONAL_REJECTED, V3_NZ_X2_REJECTED
from .faults import Fault, Share, rounding_faults
from .v3_numerics import (V3_ACCUMULATOR_BIAS, V3_ALLREDUCED, V3_ALLTOALL_BLOCK, V3_COMM_SCALES, V3_DEQUANT_SCALE,
                          V3_DEQUANTISED, V3_GATHERED, V3_LOCAL_VALUE, V3_LOCAL_X3, V3_LOCALS, V3_PERTOKEN_SCALED,
                          V3_RANK_OUTPUT, V3_REDUCED, V3_TO_INT8, V3_X2_MATRIX)


# ---- the perturbations (hooks) -------------------------------------------------------------------------------------
def _v3_x2_transpose_ignored(value, x2, **_):
    if x2.is_last_two_transposed and not x2.is_contiguous:
        return np.ascontiguousarray(value.T).reshape(value.shape)
    return value


def _v3_lsb_drift(result, **_):
    bits = result.reshape(-1).view(np.uint16)
    bits[::7] += np.uint16(1)
    return result


def _bias_after_dequant(value, bias, **_):
    return value if bias is None else value + np.asarray(bias.data).astype(np.float32).reshape(-1)


def _fp19_skipped(value, scale, **_):
    if scale.dtype in ("int64", "uint64"):
        data = np.asarray(scale.data).reshape(-1)
        return (data.view(np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    return value


def _fp19_applied_to_float_scales(value, scale, **_):
    if scale.dtype == "float32":
        return quant.applied_scale(np.asarray(scale.data).reshape(-1).view(np.uint32).astype(np.uint64))
    return value


def _pertoken_per_column(value, unscaled, pertoken, **_):  # indexes the per-token scale by column instead of row
    return unscaled * pertoken[np.arange(unscaled.shape[1]) % pertoken.size][None, :]


def _per_channel_per_row(value, acc, deq, **_):
    if deq.size > 1:
        return acc.astype(np.float32) * deq[np.arange(acc.shape[0]) % deq.size][:, None]
    return value


def _nz_read_as_nd(value, x2, **_):
    if x2.format != "FRACTAL_NZ":
        return value
    transposed = x2.is_last_two_transposed and not x2.is_contiguous
    nz = np.asarray(x2.data)  # (c1, r1, 16, c0) tiling of the stored matrix, read as padded row-major
    k, n = x2.shape
    stored_rows, stored_cols = (n, k) if transposed else (k, n)
    flat = nz.reshape(nz.shape[1] * 16, nz.shape[0] * nz.shape[3])[:stored_rows, :stored_cols]
    return flat.T if transposed else flat


def _allgather_order_reversed(gathered, block, world, **_):
    """Block b lands where block W-1-b belongs (clipped to m); rows no block reaches stay 0."""
    m = gathered.shape[0]
    out = np.zeros_like(gathered)
    for b in range(world):
        lo, hi = b * block, min((b + 1) * block, m)
        if lo >= hi:
            continue
        dst = (world - 1 - b) * block
        span = max(0, min(hi - lo, m - dst))
        out[dst:dst + span] = gathered[lo:lo + span]
    return out


def _x3_after_allreduce(result, x3, out_dtype, **_):
    if x3 is None:
        return result
    return dtypes.round_to(result.astype(np.float32) + rows(x3.data).astype(np.float32), out_dtype)


def _ranks_disagree(out, rank, world, **_):
    if world > 1 and rank == world - 1:
        out.reshape(-1).view(np.uint16)[0] += np.uint16(1)
    return out


def _wrap_int8(v):  # wraps like a plain integer conversion
    return np.rint(np.asarray(v, np.float64)).astype(np.int64).astype(np.int8)


def _v3_rank0_scaled(locals_, out_dtype, **_):
    if locals_:
        return [dtypes.round_to(locals_[0].astype(np.float32) * np.float32(1 + 1 / 16), out_dtype), *locals_[1:]]
    return locals_


_FAULTS = [
    # validation beyond "not enforced"
    Share("int32-max-inclusive", ("V3-BOUND-001",)),
    Share("reject-transposed-x2", ("V3-LAYOUT-002",)),
    Share("x2-transpose-ignored", ("V3-LAYOUT-002", "V3-NUM-001"), hooks={V3_X2_MATRIX: _v3_x2_transpose_ignored}),
    Fault("dim-max-exclusive", ("V3-BOUND-002", "V3-BOUND-003"),
          "V3's 65535 limits checked with >= (k = 65535 and an x2 last dim of 65535 rejected).",
          hooks={V3_DIM_BOUND_EXCEEDED: lambda over, v, limit, **_: over or v == limit}),
    Fault("reject-nz", ("V3-FORMAT-001",), "A FRACTAL_NZ x2 is rejected.",
          hooks={V3_NZ_X2_REJECTED: lambda rejected, x2, **_: rejected or x2.format == "FRACTAL_NZ"}),
    Fault("reject-null-optional", ("V3-NULL-002",), "A null bias, x3 or pertokenScale is rejected (161001).",
          hooks={V3_NULL_OPTIONAL_REJECTED: lambda rejected, bias, x3, pertoken, **_: (
              rejected or bias is None or x3 is None or pertoken is None)}),
    # numerics
    Share("lsb-drift", ("V3-NUM-005",), hooks={V3_REDUCED: _v3_lsb_drift}),
    Fault("scales-swapped", ("V3-NUM-003",), "commQuantScale1 is used where commQuantScale2 belongs and back.",
          hooks={V3_COMM_SCALES: lambda scales, **_: (scales[1], scales[0])}),
    Fault("bias-after-dequant", ("V3-NUM-001",),
          "The int32 bias is added after dequantisation, not in the accumulator.",
          hooks={V3_ACCUMULATOR_BIAS: lambda bias, **_: None, V3_LOCAL_VALUE: _bias_after_dequant}),
    Fault("fp19-skipped", ("V3-NUM-002",),
          "An INT64/UINT64 dequantScale applies all 32 bits of its word instead of the FP19 part.",
          hooks={V3_DEQUANT_SCALE: _fp19_skipped}),
    Fault("pertoken-per-column", ("V3-NUM-001",), "pertokenScale is applied per column instead of per row.",
          hooks={V3_PERTOKEN_SCALED: _pertoken_per_column}),
    Fault("per-channel-per-row", ("V3-NUM-001",),
          "A per-channel dequantScale (n) is indexed by row instead of column.",
          hooks={V3_DEQUANTISED: _per_channel_per_row}),
    Fault("fp19-applied-to-float-scales", ("V3-NUM-001",),
          "FLOAT32 dequantScales are truncated to FP19 as if they were INT64 words. (The same mistake on BFLOAT16 "
          "scales cannot be observed: bf16's 7 mantissa bits survive FP19's 10, so it is not in the catalogue.)",
          hooks={V3_DEQUANT_SCALE: _fp19_applied_to_float_scales}),
    Fault("nz-read-as-nd", ("V3-FORMAT-001",), "A FRACTAL_NZ x2's buffer is read as a padded row-major ND matrix.",
          hooks={V3_X2_MATRIX: _nz_read_as_nd}),
    Fault("alltoall-blocks-floor", ("V3-NUM-003",),
          "The low-bit all_to_all splits m rows into blocks of floor(m / W): rows past W * floor(m / W) are lost "
          "when m is not a multiple of the world size.",
          hooks={V3_ALLTOALL_BLOCK: lambda block, m, world, **_: m // world}),
    Fault("allgather-order-reversed", ("V3-NUM-003",),
          "all_gather places the reduced row blocks in reverse rank order.",
          hooks={V3_GATHERED: _allgather_order_reversed}),
    Fault("pertoken-ignored", ("V3-NUM-001",), "pertokenScale is not applied.",
          hooks={V3_PERTOKEN_SCALED: lambda scaled, unscaled, **_: unscaled}),
    Fault("x3-after-allreduce", ("V3-NUM-001",), "x3 is added once after the all-reduce instead of by every rank.",
          hooks={V3_LOCAL_X3: lambda x3, **_: None, V3_ALLREDUCED: _x3_after_allreduce}),
    Fault("ranks-disagree", ("V3-NUM-006",),
          "The last rank's output differs by one ulp in one element (a stale or misordered gather block).",
          hooks={V3_RANK_OUTPUT: _ranks_disagree}),
    Fault("no-saturation", ("V3-NUM-004",), "Casts to int8 wrap around instead of saturating.",
          hooks={V3_TO_INT8: lambda cast, **_: _wrap_int8}),
    # faults of the metamorphic relations (kind "relation": RELATION_FAULTS)
    Share("rank-order-dependent", ("V3-NUM-001",), hooks={V3_LOCALS: _v3_rank0_scaled}),
]


def _fp19_rounded(half_away: bool):
    """An INT64/UINT64 word's fp32 scale rounded to its FP19 part (13 low mantissa bits dropped) to nearest, ties to
    even or away from zero, instead of truncated (device-facts 4); float scales unchanged."""
    def hook(value, scale, **_):
        if scale.dtype not in ("int64", "uint64"):
            return value
        bits = np.asarray(scale.data).reshape(-1).view(np.uint64) & np.uint64(0xFFFFFFFF)
        low, odd = bits & np.uint64(0x1FFF), (bits >> np.uint64(13)) & np.uint64(1)
        up = low >= np.uint64(0x1000) if half_away else (low > np.uint64(0x1000)) | ((low == np.uint64(0x1000)) & (
            odd == np.uint64(1)))
        bits = bits + np.where(up, np.uint64(0x2000), np.uint64(0))  # a carry ripples into the exponent
        return (bits & quant.FP19_MASK).astype(np.uint32).view(np.float32)
    return hook


# Rounding faults (kind "rounding", docs/rounding-probes.md): one rounding step rounded toward zero, or half away
# from zero where the source states its tie rule; the FP19 scale, whose modelled rule is truncation, rounded to
# nearest instead. Each fails its step's probes (casegen/design.py V3_STEP_PROBES, V3_INT8_PROBES).
_ROUNDING = [
    *rounding_faults("v3.output_store", value="float", violates=("V3-NUM-001",)),
    *rounding_faults("v3.x3_store", value="float", violates=("V3-NUM-001",)),
    *rounding_faults("v3.allreduce_store", value="float", violates=("V3-NUM-001",), modes=("truncate",)),
    *rounding_faults("v3.int8_cast", value="int8", violates=("V3-NUM-003",)),
    *rounding_faults("v3.requant_cast", value="int8", violates=("V3-NUM-003",)),
    *rounding_faults("v3.dequant_store", value="float", violates=("V3-NUM-003",)),
    *(Fault(f"round:v3.fp19_scale:{mode}", ("V3-NUM-002",),
            f"An INT64/UINT64 dequantScale word's fp32 scale is rounded to FP19 {words} instead of truncated "
            "(device-facts 4).", kind="rounding", hooks={V3_DEQUANT_SCALE: _fp19_rounded(mode == "half_away")})
      for mode, words in (("nearest_even", "to nearest, ties to even"),
                          ("half_away", "to nearest, ties away from zero"))),
]


def faults() -> list:
    """V3's named faults and its shares of the shared ones (conformance/operators/v3.py: `faults`)."""
    return list(_FAULTS) + _ROUNDING
