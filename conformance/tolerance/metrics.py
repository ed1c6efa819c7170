"""The vendor's accuracy vocabulary (device-facts 8), computed for reports. These inform; the bound decides.

Each metric is defined as the standard it quotes defines it, including its small-value handling:
- absolute-threshold method (MindStudio): elements whose |golden| is below the small-value threshold are judged
  by absolute error against SMALL_ATOL, the others by relative error against RTOL; non-finite mismatches count;
- relative-error statistics (max/mean, the "double thousandth" shares, the community rule) are taken over the
  normal-valued elements only (|golden| >= the small-value threshold): the relative error of a zero or tiny
  golden is not defined by the standard and would only report noise;
- ULP (matmul-type operators): error / ulp(golden), with the ulp of a value below the dtype's smallest normal
  taken as the spacing there; fp16/bf16 are judged by the share of elements over 1 ulp, fp32 by the mean ulp
  and the share over 32 ulp. The mean ulp of fp16/bf16 is not part of the standard and is not reported: one
  element whose golden is 0 makes it astronomic (bf16's spacing at 0 is 2^-133).
Large outputs are judged on a deterministic subsample of at most SAMPLE elements (evenly strided), which the
report states; the metrics are shares and means, so a 10^6-element sample pins them to ~1e-3.
"""

from __future__ import annotations

import numpy as np


SAMPLE = 1_000_000
SMALL_VALUE = {"float16": 2.0**-10, "bfloat16": 2.0**-10, "float32": 2.0**-20}
RTOL = {"float16": 2.0**-10, "bfloat16": 2.0**-8, "float32": 2.0**-20}
SMALL_ATOL = {"float16": 2.0**-16, "bfloat16": 2.0**-16, "float32": 2.0**-30}
COMMUNITY_T = {"float16": 2.0**-10, "bfloat16": 2.0**-7, "float32": 2.0**-13}


def _ulp(ref: np.ndarray, dtype: str) -> np.ndarray:
    """Spacing of `dtype` at |ref| (the subnormal spacing below the normal range)."""
    fin = {"float16": (-14, 10), "bfloat16": (-126, 7), "float32": (-126, 23)}[dtype]
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.abs(ref.astype(np.float64))))
    e = np.maximum(np.nan_to_num(e, neginf=fin[0]), fin[0])
    return np.exp2(e - fin[1])


def sample_step(n_total: int) -> int:
    """The stride of the deterministic subsample: flat elements 0, step, 2 step, ... are judged."""
    return -(-n_total // SAMPLE) if n_total > SAMPLE else 1


def vendor_metrics(actual: np.ndarray, ref: np.ndarray, dtype: str) -> dict:
    # subsample first, then widen: the same values as widening the whole array, without its float64 copy
    a = np.asarray(actual).reshape(-1)
    r = np.asarray(ref).reshape(-1)
    step = sample_step(a.size)
    return sampled_vendor_metrics(a[::step], r[::step], a.size, dtype)


def sampled_vendor_metrics(a: np.ndarray, r: np.ndarray, n_total: int, dtype: str) -> dict:
    """vendor_metrics from the subsample already taken (flat elements ::sample_step(n_total) of both)."""
    a = np.asarray(a).astype(np.float64)
    r = np.asarray(r).astype(np.float64)
    if a.size == 0:
        return {"elements": 0}
    finite = np.isfinite(r)
    # an element counts once: finiteness differs, or both are non-finite but not the same (inf sign, NaN)
    both_nonfinite = ~finite & ~np.isfinite(a)
    same_special = (a == r) | (np.isnan(a) & np.isnan(r))
    nonfinite_mismatch = int(np.sum(np.isfinite(a) != finite) + np.sum(both_nonfinite & ~same_special))
    a, r = a[finite], r[finite]
    err = np.abs(a - r)
    small = np.abs(r) < SMALL_VALUE[dtype]
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(np.abs(r) > 0, err / np.abs(r), np.where(err > 0, np.inf, 0.0))
    rel_normal = rel[~small]
    ulp_err = err / _ulp(r, dtype)
    signed = np.sign(a - r)
    nz = signed != 0
    return {
        "elements": int(n_total), "sampled": int(a.size),
        "nonfinite_mismatch": nonfinite_mismatch,
        "normal_over_rtol": float(np.mean(rel_normal > RTOL[dtype])) if rel_normal.size else 0.0,
        "small_over_atol": float(np.mean(err[small] > SMALL_ATOL[dtype])) if small.any() else 0.0,
        "share_over_1ulp": float(np.mean(ulp_err > 1.0)),
        **({"mean_ulp": float(np.mean(ulp_err)), "share_over_32ulp": float(np.mean(ulp_err > 32.0))}
           if dtype == "float32" else {}),
        "max_rel_error": float(np.max(rel_normal)) if rel_normal.size else 0.0,
        "mean_rel_error": float(np.mean(rel_normal)) if rel_normal.size else 0.0,
        "rmse": float(np.sqrt(np.mean(np.square(a - r)))),
        "error_balance": float(np.mean(signed[nz] * np.sign(r[nz]))) if nz.any() else 0.0,
        "share_rel_over_1e-2": float(np.mean(rel_normal > 1e-2)) if rel_normal.size else 0.0,
        "share_rel_over_1e-3": float(np.mean(rel_normal > 1e-3)) if rel_normal.size else 0.0,
        "community_pass": bool(rel_normal.size == 0 or (np.mean(rel_normal) < COMMUNITY_T[dtype]
                                                         and np.max(rel_normal) < 10 * COMMUNITY_T[dtype])),
    }
