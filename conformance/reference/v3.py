"""Reference of QuantMatmulAllReduceV3 (device-facts 1, 2 and 4), in float64 from exact integers.

- x1 @ x2 over int8 is exact through BLAS: float32 while k * 128 * 128 < 2^24 (every partial sum exact),
  float64 otherwise (exact for k <= 65535, |sum| < 2^31 < 2^53). Never numpy's integer matmul (~70x slower).
- bias (int32) is added inside the accumulator; the int32 result wraps in two's complement (V3-AMB-003).
- INT64/UINT64 dequantScale words apply their FP19 part; bf16 scales are upcast exactly.
- local_r = dequantScale * pertokenScale * (x1_r @ x2_r + bias_r) + x3_r; every rank adds its own bias and x3.
- Without comm scales: out = sum_r local_r.
- With comm scales (the documented low-bit formula): each rank's local, stored in the output dtype, is
  quantised q_r = int8(local_r / scale1) (round half to even, saturating), the q_r are summed, requantised
  r = int8(sum * scale1 / scale2), and out = r * scale2. The kernel's row blocks (all_to_all / all_gather)
  move values without changing them, so the reference needs no blocks; the simulator models them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import dtypes, quant
from ..protocol import Invocation, TensorArg

EXACT_F32_LIMIT = 2**24


def x2_matrix(t: TensorArg) -> np.ndarray:
    """x2 as its logical (k, n) int8 matrix, decoding FRACTAL_NZ storage (either orientation)."""
    data = np.asarray(t.data)
    if t.format == "FRACTAL_NZ" and data.ndim == 4:
        k, n = t.shape[-2], t.shape[-1]
        if t.is_last_two_transposed and not t.is_contiguous:
            return quant.nz_to_nd(data, n, k).T
        return quant.nz_to_nd(data, k, n)
    return data


def rows(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.reshape(-1, a.shape[-1]) if a.ndim != 2 else a


def int_matmul(x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """Exact int8 @ int8 through float32 BLAS, as float64: k is cut into chunks short enough that every partial
    sum of a chunk is an integer below 2^24 in magnitude (|int8 product| <= 128 * 128), exact in float32 in any
    order; the chunks' results are added in float64, exact (integers below 2^53). float32 GEMM is twice float64's
    speed and half its memory traffic; the value is the same integer as a float64 product's."""
    k = x1.shape[1]
    chunk = max(1, (EXACT_F32_LIMIT - 1) // (128 * 128))
    if k <= chunk:
        return (x1.astype(np.float32) @ x2.astype(np.float32)).astype(np.float64)
    acc = None
    for lo in range(0, k, chunk):
        part = x1[:, lo:lo + chunk].astype(np.float32) @ x2[lo:lo + chunk].astype(np.float32)
        acc = part.astype(np.float64) if acc is None else np.add(acc, part, out=acc)
    return acc


def wrap_int32(acc: np.ndarray) -> np.ndarray:
    return np.mod(acc + 2.0**31, 2.0**32) - 2.0**31


def scale_values(t: TensorArg) -> np.ndarray:
    """The scale the hardware applies, as float64, flattened to (1,) or (n,)."""
    data = np.asarray(t.data).reshape(-1)
    if t.dtype in ("int64", "uint64"):
        return quant.applied_scale(data.view(np.uint64)).astype(np.float64)
    return data.astype(np.float32).astype(np.float64)


def local_value(tensors) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One rank's dequantised value (m, n) in float64, before any rounding to the output dtype, the
    magnitude of the terms summed into it (|dequant * pertoken * acc| + |x3|) and that of the product alone."""
    acc = int_matmul(rows(tensors["x1"].data), x2_matrix(tensors["x2"]))
    if tensors.get("bias") is not None:
        acc = wrap_int32(acc + np.asarray(tensors["bias"].data).astype(np.float64).reshape(-1))
    local = acc * scale_values(tensors["dequantScale"])
    if tensors.get("pertokenScale") is not None:
        local *= np.asarray(tensors["pertokenScale"].data).astype(np.float64).reshape(-1, 1)
    product = np.abs(local)
    terms = product.copy()
    if tensors.get("x3") is not None:
        x3 = rows(tensors["x3"].data).astype(np.float32).astype(np.float64)
        local += x3
        terms += np.abs(x3)
    return local, terms, product


@dataclass
class V3Reference:
    out: np.ndarray  # (m, n) float64
    abs_locals: np.ndarray  # sum over ranks of |local_r|: what the output-dtype roundings scale with
    abs_terms: np.ndarray  # sum over ranks of |dequant * pertoken * acc| + |x3|: what fp32 roundings scale with
    abs_products: np.ndarray  # sum over ranks of |dequant * pertoken * acc| over ranks that add an x3, else 0:
    #                           the product a kernel may store in the output dtype before adding x3
    lowbit: bool
    scale1: np.ndarray | None  # (n,) or (1,) float64
    scale2: np.ndarray | None
    out_dtype: str
    world_size: int


def reference(inv: Invocation) -> V3Reference:
    out_dtype = inv.ranks[0]["output"].dtype
    c1 = inv.ranks[0].get("commQuantScale1")
    lowbit = c1 is not None and inv.ranks[0].get("commQuantScale2") is not None
    s1 = s2 = None
    if lowbit:
        s1 = scale_values(c1)
        s2 = scale_values(inv.ranks[0]["commQuantScale2"])
    total = absl = abst = None
    absp = 0.0
    for tensors in inv.ranks:
        local, terms, product = local_value(tensors)
        mag = np.abs(local)
        abst = terms if abst is None else abst + terms
        if tensors.get("x3") is not None:
            absp = absp + product
        if lowbit:  # local is stored in the output dtype, then quantised with scale1
            stored = dtypes.round_to(local.astype(np.float32), out_dtype).astype(np.float64)
            local = quant.to_int8(stored / s1).astype(np.float64)
        total = local if total is None else total + local
        absl = mag if absl is None else absl + mag
    if lowbit:
        total = quant.to_int8(total * (s1 / s2)).astype(np.float64) * s2
    absp = absp if isinstance(absp, np.ndarray) else np.zeros_like(absl)
    return V3Reference(total, absl, abst, absp, lowbit, s1, s2, out_dtype, inv.world_size)


# ---- what the generic layers take from the reference (the operator record points here) ----------------------

def golden_arrays(inv: Invocation) -> dict[str, np.ndarray]:
    """The reference array frozen in golden/: the all-reduced output (every rank's) in float32."""
    return {"output": reference(inv).out.astype(np.float32)}


def golden_drift(inv: Invocation, live: dict, frozen: dict) -> list[str]:
    """Exact integers and float64 dequantisation in a fixed order: the same on every machine up to float32
    storage (2**-22 relative)."""
    return [] if np.allclose(live["output"], frozen["output"], rtol=2**-22, atol=0) else ["output"]


def precision_outputs(inv: Invocation, expected: dict | None = None) -> tuple[dict[str, list[np.ndarray]], list[int]]:
    """The suite's reference of the output, compared on rank 0 (every rank holds the same all-reduced
    result): from the golden array `expected` where it has it, else computed."""
    if expected is not None and "output" in expected:
        return {"output": [np.asarray(expected["output"])]}, [0]
    return {"output": [reference(inv).out]}, [0]
