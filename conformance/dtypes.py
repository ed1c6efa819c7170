"""Dtype facts in one place: numpy types, unit roundoff, aclDataType enums, and rounding helpers.

Every cast to a 16-bit float goes through `round_to`, which rounds half to even (numpy for float16,
ml_dtypes for bfloat16, both measured to be round-half-even from float32). Reductions over bf16 must never
use the bf16 accumulator (toolchain-notes: `bf16.sum()` saturates at 256), so helpers always upcast first.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DtypeInfo:
    name: str  # the suite's canonical name, as in case ids
    np_dtype: np.dtype
    acl_enum: int  # aclDataType (device-facts 6)
    short: str  # for test ids
    unit_roundoff: float  # u = 2^-p for round-to-nearest (0 for integers)
    tiny_abs: float  # half the smallest subnormal: the absolute error floor of one rounding


def _float_info(name, np_dtype, acl_enum, short, mantissa_bits, min_subnormal):
    return DtypeInfo(name, np.dtype(np_dtype), acl_enum, short, 2.0 ** -(mantissa_bits + 1), min_subnormal / 2)


DTYPES: dict[str, DtypeInfo] = {
    "float16": _float_info("float16", np.float16, 1, "fp16", 10, 2.0**-24),
    "bfloat16": _float_info("bfloat16", ml_dtypes.bfloat16, 27, "bf16", 7, 2.0**-133),
    "float32": _float_info("float32", np.float32, 0, "fp32", 23, 2.0**-149),
    "int8": DtypeInfo("int8", np.dtype(np.int8), 2, "i8", 0.0, 0.0),
    "int32": DtypeInfo("int32", np.dtype(np.int32), 3, "i32", 0.0, 0.0),
    "int64": DtypeInfo("int64", np.dtype(np.int64), 9, "i64", 0.0, 0.0),
    "uint64": DtypeInfo("uint64", np.dtype(np.uint64), 10, "u64", 0.0, 0.0),
}

U32 = DTYPES["float32"].unit_roundoff


def short(name: str) -> str:
    """The dtype's short name for case ids and labels ("float16" -> "fp16"); an unknown name stays as it is."""
    known = DTYPES.get(name)
    return known.short if known is not None else name


def info(name: str) -> DtypeInfo:
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; known: {', '.join(DTYPES)}") from None


def np_dtype(name: str) -> np.dtype:
    return info(name).np_dtype


def round_to(x: np.ndarray, name: str) -> np.ndarray:
    """Round float32 values to dtype `name`, half to even (the device's default rounding)."""
    return np.asarray(x, dtype=np.float32).astype(np_dtype(name))


def truncate_to(x: np.ndarray, name: str) -> np.ndarray:
    """Round float32 values toward zero into a 16-bit float dtype (used only by simulator faults)."""
    x = np.asarray(x, dtype=np.float32)
    r = x.astype(np_dtype(name))
    away = np.abs(r.astype(np.float32)) > np.abs(x)
    bits = r.view(np.uint16)  # sign-magnitude: decrementing the pattern moves one ulp toward zero
    bits[away] -= 1
    return r


def upcast(x: np.ndarray) -> np.ndarray:
    """Exact widening to float32 (fp16 and bf16 are subsets of fp32)."""
    return np.asarray(x).astype(np.float32)


def gamma_n(n: int | np.ndarray, u: float):
    """Higham's gamma_n = n u / (1 - n u): the bound on n successive roundings of unit roundoff u."""
    nu = np.asarray(n, dtype=np.float64) * u
    return nu / (1.0 - nu)
