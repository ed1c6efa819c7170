"""Numeric checks of one MatmulAllReduce invocation: output shape and dtype on every rank, every rank's output
identical (an all-reduce hands each rank the same result), then the bound (tolerance/mar_bounds.py) with the
rounding balance, or bit-exactness for the exact cases, against the reference on rank 0."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..reference.mar import reference
from . import compare, mar_bounds
from .accumulation import DEFAULT_ACCUMULATION
from .metrics import vendor_metrics


def check(inv, results, *, exact: bool, exact_outputs=None, accumulation: str = DEFAULT_ACCUMULATION,
          with_metrics: bool = True, expected: dict | None = None):
    spec = inv.ranks[0]["output"]
    dtype = spec.dtype
    outs = yield from compare.identical_on_every_rank(results, spec)
    if outs is None:
        return
    red = reference(inv)
    if red.mm_out.size == 0:
        return
    ref32 = red.mm_out if expected is None else np.asarray(expected["output"], np.float32)
    actual = compare.to_f32(outs[0]).reshape(red.mm_out.shape)
    ref32 = ref32.reshape(actual.shape)
    if exact or "output" in (exact_outputs or ()):
        yield compare.exact("rank 0 output", actual, dtypes.round_to(ref32, dtype).astype(np.float32))
    else:
        yield from compare.bounded("rank 0 output: error bound", actual, ref32,
                                   mar_bounds.bound(red, dtype, accumulation),
                                   balance_name="rank 0 output: rounding balance")
    if with_metrics:
        yield compare.Check("vendor metrics (rank 0)", True, "informative",
                            {"vendor_metrics": {"output": vendor_metrics(actual, ref32, dtype)}})
