"""QuantMatmulAllReduceV3's layer case for performance mode (conformance/perf.py, the record's `perf_case`)."""

from __future__ import annotations

from dataclasses import replace

from .. import dtypes
from ..operators import Operator
from .model import Case, Shape
from .v3 import ROWS, _covers, attrs, tensors

# the dtype-table row timed per output dtype: fp16 with the npu_trans_quant_param INT64 words (no pertoken), bf16
# with a bf16 dequantScale; per-channel scales, a bias, an x3 where both readings of V3-AMB-001 allow one (bf16),
# full-precision communication (the chains have no low-bit steps to compare with)
PERF_ROWS = {"float16": "fp16_i64", "bfloat16": "bf16"}


def perf_case(op: Operator, shape: Shape, world_size: int, dtype: str) -> Case:
    """The layer of `shape` (k the layer's whole k) on `world_size` ranks, each holding k / W of x1's columns."""
    row = next(r for r in ROWS if r.name == PERF_ROWS[dtype])
    local = replace(shape, k=shape.k // world_size)
    t = tensors(row, local, x1_3d=True, x2_layout="nd", bias=True, scale_shape="n", lowbit=False)
    covers = _covers(x2_layout="nd", lowbit=False, bias=True, x3=t["x3"] is not None, pertoken=row.pertoken,
                     deq=row.deq)
    return Case(id=f"perf-{op.short}-{shape.name}-{dtypes.short(dtype)}-w{world_size}", op=op.name,
                world_size=world_size, tensors=tuple(t.items()), attrs=tuple(attrs(local.k).items()), rejects=False,
                covers=tuple(covers), kind="valid", profile="full", dtype=dtype,
                params=(("b", shape.b), ("s", shape.s), ("k", shape.k), ("n", shape.n), ("row", row.name)))
