"""The benchmark chain on the CPU: the fused operator's computation as the separate operators the vendor's
precision standard benchmarks a fused operator with (hicann/opbase 56922c3,
docs/zh/ops_precision_standard/commercial_standard.md:699-702: a chain of small operators for fused operators
and for quantised operators with a quant/dequant sequence). Every operator stores its output in the output dtype.

MatmulAllReduceAddRmsNorm (and the inplace variant), per rank r:
    mm_r   = round(x1_r @ x2_r)                 matmul (fp32 accumulation, BLAS), stored
    mm_r   = round(mm_r + bias_r)               the bias as its own add (when there is a bias), stored
    mm     = round(sum_r fp32(mm_r))            all-reduce in the output dtype, HCCL-like: fp32 sum, one store
    y      = round(mm + residual_r)             AddRmsNorm as its own operator: y stored ...
    rstd   = 1 / sqrt(mean(fp32(y)^2) + eps)    ... rstd from the stored y in fp32 ...
    normOut = round(round(y * rstd) * gamma_r)  ... normalised, stored, times gamma, stored
QuantMatmulAllReduceV3, per rank: the quantised matmul with its dequant (int32 accumulation, fp32 dequant,
pertoken) stored in the output dtype, x3 added as its own add and stored (v3_numerics.local_stored,
"after_store"), then the all-reduce: fp32 sum stored once, or with comm quant scales the documented low-bit
steps (quantise with scale1, all_to_all, sum, requantise, all_gather, dequantise with scale2) exactly as
v3_numerics does them (its functions, with no fault).
No simulator fault applies here: the chain is the benchmark, not the device under test.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes, operators
from ..hooks import NO_HOOKS
from ..reference.marn import as_matrix
from . import v3_numerics


def _marn_rank_partial(t: dict) -> np.ndarray:
    dtype = t["x1"].dtype
    part = dtypes.round_to(as_matrix(t["x1"]) @ as_matrix(t["x2"]), dtype)
    bias = t.get("bias")
    if bias is not None:
        part = dtypes.round_to(part.astype(np.float32) + as_matrix(bias).reshape(-1), dtype)
    return part


def allreduce_hccl(partials: list[np.ndarray], dtype: str) -> np.ndarray:
    """The all-reduce of stored partials (rank order): summed in fp32, stored once in `dtype`."""
    total = partials[0].astype(np.float32)
    for p in partials[1:]:
        total = total + p.astype(np.float32)
    return dtypes.round_to(total, dtype)


def add_rms_norm(x: np.ndarray, residual: np.ndarray, gamma: np.ndarray, epsilon: float,
                 dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """AddRmsNorm as its own operator on stored (m, n) inputs: (y, normOut), both in `dtype`."""
    y = dtypes.round_to(x.astype(np.float32) + residual.astype(np.float32), dtype)
    y32 = y.astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ms = np.mean(np.square(y32), axis=1, keepdims=True, dtype=np.float32)
        rstd = (np.float32(1.0) / np.sqrt(ms + np.float32(epsilon))).astype(np.float32)
        normed = dtypes.round_to(y32 * rstd, dtype)
        norm_out = dtypes.round_to(normed.astype(np.float32) * gamma.astype(np.float32), dtype)
    return y, norm_out


def marn_chain(op: str, ranks: list[dict], attrs: dict) -> list[dict[str, np.ndarray]]:
    """The MatmulAllReduceAddRmsNorm pair's chain (its records point here); y under the record's summed output."""
    dtype = ranks[0]["x1"].dtype
    y_name = operators.get(op).summed_output
    shape = ranks[0]["residual"].shape
    if int(np.prod(shape, dtype=np.int64)) == 0:
        empty = np.zeros(shape, dtypes.np_dtype(dtype))
        return [{y_name: empty.copy(), "normOut": empty.copy()} for _ in ranks]
    mm = allreduce_hccl([_marn_rank_partial(t) for t in ranks], dtype)
    outs = []
    for t in ranks:
        residual = as_matrix(t["residual"]).reshape(mm.shape)
        gamma = as_matrix(t["gamma"]).reshape(-1)
        y, norm_out = add_rms_norm(mm, residual, gamma, float(attrs["epsilon"]), dtype)
        outs.append({y_name: y.reshape(shape), "normOut": norm_out.reshape(shape)})
    return outs


def v3_chain(op: str, ranks: list[dict], attrs: dict) -> list[dict[str, np.ndarray]]:
    out_dtype = ranks[0]["output"].dtype
    locals_ = [v3_numerics.local_stored(t, out_dtype, NO_HOOKS, "after_store") for t in ranks]
    result = v3_numerics.combine(locals_, ranks, attrs, NO_HOOKS, "float32")
    return [{"output": result.copy()} for _ in ranks]


def run_chain(op: str, ranks, attrs) -> list[dict[str, np.ndarray]]:
    """Every rank's outputs of the benchmark chain (names as the fused operator's), in rank order. Writes into
    no input or output buffer of `ranks`. The chain is the operator's own (its record's `chain`)."""
    return operators.get(op).code("chain")(op, [dict(t) for t in ranks], dict(attrs))
