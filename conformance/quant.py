"""Quantisation facts of QuantMatmulAllReduceV3 (device-facts 4 and 5), shared by reference and simulator.

- `trans_quant_param`: the encoder of `npu_trans_quant_param` / aclnnTransQuantParamV2: an fp32 scale packed
  into a 64-bit word, `(fp32_bits & 0xFFFFE000) | (1 << 46)` for round mode 0 (truncation); round mode 1
  rounds the 13 dropped mantissa bits to nearest-even, carrying into the exponent. An optional offset is
  rounded, clamped to [-256, 255] and stored (9-bit two's complement) in bits 37..45.
- `applied_scale`: what the hardware multiplies by: fp32(word & 0xFFFFE000) ("FP19": sign, 8 exponent bits,
  10 mantissa bits), whether or not the word was masked by its encoder (aclnnTransQuantParam is not).
- `to_int8`: round half to even, saturating to [-128, 127] (AscendC's default for integer targets).
- `nd_to_nz` / `nz_to_nd`: FRACTAL_NZ for a 2-D matrix (rows, cols): shape (ceil(cols/c0), ceil(rows/16), 16, c0)
  with c0 = 32 for int8 (16 for fp16/bf16); nz[a, b, c, d] = nd[b*16 + c, a*c0 + d], zero padding.
  A transposed weight is the NZ of the stored (n, k) matrix, so the same functions serve both orientations.
  The orientation is read from the view's strides, which say nothing when k or n is 1 (a size-1 axis has no
  meaningful stride), while the two tilings differ; the suite therefore never builds a transposed NZ weight
  with a size-1 axis (found by the round-trip property test).
"""

from __future__ import annotations

import numpy as np

FP19_MASK = np.uint64(0xFFFFE000)
FLAG_BIT46 = np.uint64(1 << 46)
INT8_MIN, INT8_MAX = -128, 127


def trans_quant_param(scale, offset=None, round_mode: int = 0) -> np.ndarray:
    """Pack fp32 scales (and optional offsets) into uint64 words, as npu_trans_quant_param does."""
    if round_mode not in (0, 1):
        raise ValueError(f"round_mode must be 0 (truncate) or 1 (round to nearest even), got {round_mode!r}")
    bits = np.asarray(scale, dtype=np.float32).view(np.uint32).astype(np.uint64)
    if round_mode == 1:
        low = bits & np.uint64(0x1FFF)
        keep_odd = (bits >> np.uint64(13)) & np.uint64(1)
        up = (low > np.uint64(0x1000)) | ((low == np.uint64(0x1000)) & (keep_odd == np.uint64(1)))
        bits = bits + np.where(up, np.uint64(0x2000), np.uint64(0))  # carry ripples into the exponent
    word = (bits & FP19_MASK) | FLAG_BIT46
    if offset is not None:
        off = np.clip(np.rint(np.asarray(offset, dtype=np.float32)), -256, 255).astype(np.int64)
        word = word | ((off.astype(np.uint64) & np.uint64(0x1FF)) << np.uint64(37))
    return word


def unmasked_quant_param(scale) -> np.ndarray:
    """Words as the host helper aclnnTransQuantParam makes them: all 32 fp32 bits kept, no mask."""
    return np.asarray(scale, dtype=np.float32).view(np.uint32).astype(np.uint64) | FLAG_BIT46


def applied_scale(words) -> np.ndarray:
    """The fp32 scale the hardware applies for an INT64/UINT64 dequantScale word (FP19 of its low 32 bits)."""
    w = np.asarray(words).astype(np.uint64) if np.asarray(words).dtype != np.uint64 else np.asarray(words)
    return (w & FP19_MASK).astype(np.uint32).view(np.float32)


def to_int8(x) -> np.ndarray:
    """Round half to even, then saturate to int8."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64)), INT8_MIN, INT8_MAX).astype(np.int8)


def _c0(dtype) -> int:
    return 32 if np.dtype(dtype).itemsize == 1 else 16


def nd_to_nz(nd: np.ndarray) -> np.ndarray:
    rows, cols = nd.shape
    c0 = _c0(nd.dtype)
    r1, c1 = -(-rows // 16), -(-cols // c0)
    padded = np.zeros((r1 * 16, c1 * c0), dtype=nd.dtype)
    padded[:rows, :cols] = nd
    return np.ascontiguousarray(padded.reshape(r1, 16, c1, c0).transpose(2, 0, 1, 3))


def nz_to_nd(nz: np.ndarray, rows: int, cols: int) -> np.ndarray:
    c1, r1, r0, c0 = nz.shape
    return np.ascontiguousarray(nz.transpose(1, 2, 0, 3).reshape(r1 * r0, c1 * c0)[:rows, :cols])


def nz_storage_shape(rows: int, cols: int, itemsize: int = 1) -> tuple[int, int, int, int]:
    c0 = 32 if itemsize == 1 else 16
    return (-(-cols // c0), -(-rows // 16), 16, c0)


def weight_size_v2(rows: int, cols: int, itemsize: int = 1) -> int:
    """Elements aclnnCalculateMatmulWeightSizeV2 reports: align(rows, 16) * align(cols, 32 for int8 else 16)."""
    c0 = 32 if itemsize == 1 else 16
    return (-(-rows // 16) * 16) * (-(-cols // c0) * c0)
