"""The device's arithmetic for the MatmulAllReduceAddRmsNorm pair (device-facts 2-3), with fault hooks.

Per rank: p_r = x1_r @ x2_r (fp32 accumulation) + bias_r, stored in the output dtype. All-reduce: the W
stored partials summed (option `allreduce_accumulation`: in fp32 then rounded once, or sequentially in the
output dtype), the result stored in the output dtype. Then, with the rank's own residual and gamma:
- fp16: y = fp16(mm + residual); rstd from the rounded y in fp32; normOut = fp16(fp16(y * rstd) * gamma).
- bf16: x = mm + residual in fp32; y = bf16(x); then, by the kernel's AddRmsNorm mode (device-facts 3; option
  `rms_source`, RMS_SOURCES): the mean square and the numerator of x * rstd both from x ("fp32_sum"), both
  from the rounded y ("rounded_y"), or the mean square from x and the numerator from y ("split_d");
  normOut = bf16(bf16(numerator * rstd) * gamma).
Rounding is half to even everywhere (fault `truncate` makes it toward zero).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..reference.marn import as_matrix


# bf16 paths a correct kernel takes (device-facts 3): (mean-square source, numerator source)
RMS_SOURCES = {"fp32_sum": ("x", "x"), "rounded_y": ("y", "y"), "split_d": ("x", "y")}


def _rounder(faults):
    return dtypes.truncate_to if "truncate" in faults else dtypes.round_to


def allreduce(partials: list[np.ndarray], dtype: str, accumulation: str, rnd) -> np.ndarray:
    if accumulation == "float32":
        total = partials[0].astype(np.float32)
        for p in partials[1:]:
            total += p.astype(np.float32)
        return rnd(total, dtype)
    if accumulation == "output_dtype":
        total = partials[0]
        for p in partials[1:]:
            total = rnd(total.astype(np.float32) + p.astype(np.float32), dtype)
        return total
    raise ValueError(f"unknown allreduce_accumulation {accumulation!r}")


def _matrix(t, faults):
    if "x2-transpose-ignored" in faults and t.is_last_two_transposed and not t.is_contiguous:
        # read the buffer as if it were a contiguous (k, n) matrix
        return np.ascontiguousarray(np.asarray(t.data).T).astype(np.float32).reshape(t.shape)
    return as_matrix(t)


def _accumulate_in_dtype(x1: np.ndarray, x2: np.ndarray, dtype: str, chunk: int = 16) -> np.ndarray:
    acc = np.zeros((x1.shape[0], x2.shape[1]), np.float32)
    for lo in range(0, x1.shape[1], chunk):
        acc = dtypes.round_to(acc + x1[:, lo:lo + chunk] @ x2[lo:lo + chunk], dtype).astype(np.float32)
    return acc


def contributions(ranks, r: int, faults: frozenset) -> list[np.ndarray]:
    """The stored partial(s) rank r puts into the all-reduce: x1 @ x2 (+ bias), in the output dtype.
    `ranks` is every rank's arguments (faults such as rank0-data read another rank's)."""
    world = len(ranks)
    t = own_arguments(ranks, r, faults)
    dtype = t["x1"].dtype
    if "accumulate-in-output-dtype" in faults:
        part = _accumulate_in_dtype(as_matrix(t["x1"]), _matrix(t["x2"], faults), dtype)
    else:
        part = as_matrix(t["x1"]) @ _matrix(t["x2"], faults)
    bias = t.get("bias")
    if bias is not None and not ("bias-once" in faults and r > 0):
        part += as_matrix(bias).reshape(-1)
    if "drop-last-rank" in faults and world > 1 and r == world - 1:
        return []
    stored = _rounder(faults)(part, dtype)
    return [stored, stored] if ("double-rank0" in faults and r == 0) else [stored]


def reduce_partials(partials: list[np.ndarray], dtype: str, accumulation: str, faults: frozenset) -> np.ndarray:
    """What every rank holds after the all-reduce (partials in rank order)."""
    mm = allreduce(partials, dtype, accumulation, _rounder(faults))
    if "lsb-drift" in faults and mm.size:
        bits = mm.reshape(-1).view(np.uint16)
        bits[::7] += np.where(mm.reshape(-1)[::7].astype(np.float32) >= 0, 1, -1).astype(np.uint16)
    return mm


def finish(op: str, mm: np.ndarray, t: dict, attrs: dict, faults: frozenset,
           rms_source: str = "fp32_sum") -> dict[str, np.ndarray]:
    """One rank's outputs from the reduced matmul and its own residual and gamma; `rms_source` (RMS_SOURCES)
    is the bf16 path (fp16 always normalises the rounded y)."""
    dtype = t["x1"].dtype
    rnd = _rounder(faults)
    res_arg = t["residual"]
    if mm.size == 0:  # empty b*s or n: nothing to compute, outputs keep their (empty) shapes
        empty = np.zeros(res_arg.shape, dtypes.np_dtype(dtype))
        return {"residual" if op.startswith("Inplace") else "y": empty, "normOut": empty.copy()}
    mm32 = mm.astype(np.float32)
    eps = np.float32(attrs["epsilon"])
    residual = as_matrix(res_arg)
    x = mm32 if "no-residual" in faults else mm32 + residual
    y = rnd(x, dtype)
    y32 = y.astype(np.float32)
    ms_from, num_from = ("y", "y") if dtype == "float16" else RMS_SOURCES[rms_source]
    axis = 0 if "rms-wrong-axis" in faults else 1
    src = y32 if num_from == "y" else x
    with np.errstate(invalid="ignore", divide="ignore"):
        ms = np.mean(np.square(y32 if ms_from == "y" else x), axis=axis, keepdims=True, dtype=np.float32)
        if "eps-outside-sqrt" in faults:
            rstd = 1.0 / (np.sqrt(ms) + eps)
        else:
            rstd = 1.0 / np.sqrt(ms + eps)
    normed = rnd(src * rstd.astype(np.float32), dtype)
    if "no-gamma" in faults:
        norm_out = normed
    else:
        norm_out = rnd(normed.astype(np.float32) * as_matrix(t["gamma"]).reshape(-1), dtype)
    shape = res_arg.shape
    y, norm_out = y.reshape(shape), norm_out.reshape(shape)
    if not op.startswith("Inplace"):
        return {"y": y, "normOut": norm_out}
    written = y
    if "inplace-no-write" in faults:
        written = np.asarray(res_arg.data).copy()
    elif "inplace-writes-normout" in faults:
        written = norm_out
    return {"residual": written, "normOut": norm_out}


def run(op: str, ranks, attrs: dict, faults: frozenset, accumulation: str,
        rms_source: str = "fp32_sum") -> list[dict[str, np.ndarray]]:
    """All ranks in one process: the three phases in sequence (process mode runs them on each rank)."""
    partials = [p for r in range(len(ranks)) for p in contributions(ranks, r, faults)]
    mm = reduce_partials(partials, ranks[0]["x1"].dtype, accumulation, faults)
    return [finish(op, mm, own_arguments(ranks, r, faults), attrs, faults, rms_source) for r in range(len(ranks))]


def own_arguments(ranks, r: int, faults: frozenset) -> dict:
    """The arguments rank r computes with (fault rank0-data: rank 0's, on every rank)."""
    return ranks[0] if "rank0-data" in faults else ranks[r]
