"""MatmulAllReduceAddRmsNorm's layer case for performance mode (conformance/perf.py, the record's `perf_case`)."""

from __future__ import annotations

from .. import dtypes
from ..operators import Operator
from .model import Case, Shape, TensorSpec


def perf_case(op: Operator, shape: Shape, world_size: int, dtype: str) -> Case:
    """The out-of-place layer of `shape` (k the layer's whole k) on `world_size` ranks, each holding k / W of x1's
    columns (row-parallel, as MindSpeed splits it)."""
    b, s, k, n = shape.b, shape.s, shape.k // world_size, shape.n
    t = {"x1": TensorSpec(dtype, (b, s, k), "unit"), "x2": TensorSpec(dtype, (k, n), "rhs"),
         "bias": TensorSpec(dtype, (n,), "bias"), "residual": TensorSpec(dtype, (b, s, n), "unit"),
         "gamma": TensorSpec(dtype, (n,), "gain"), "y": TensorSpec(dtype, (b, s, n), "output"),
         "normOut": TensorSpec(dtype, (b, s, n), "output")}
    attrs = {"epsilon": 1e-6, "reduceOp": "sum", "commTurn": 0, "streamMode": 1, "_k": k}
    return Case(id=f"perf-{op.short}-{shape.name}-{dtypes.short(dtype)}-w{world_size}", op=op.name,
                world_size=world_size, tensors=tuple(t.items()), attrs=tuple(attrs.items()), rejects=False,
                covers=("MARN-NUM-001", "MARN-NUM-002", "MARN-NUM-003", "MARN-NUM-004"), kind="valid",
                profile="full", dtype=dtype, params=(("b", shape.b), ("s", shape.s), ("k", shape.k), ("n", n)))
