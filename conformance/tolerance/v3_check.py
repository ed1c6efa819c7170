"""Numeric checks of one QuantMatmulAllReduceV3 invocation: output shape and dtype on every rank, every
rank's output identical (an all-reduce / all_gather hands each rank the same result), then the bound (or
bit-exactness for integral cases) and the rounding balance against the reference."""

from __future__ import annotations

import numpy as np

from ..reference.v3 import reference, rows
from .. import dtypes
from . import compare, v3_bounds
from .metrics import vendor_metrics
from .accumulation import DEFAULT_ACCUMULATION


def check(inv, results, *, exact: bool, exact_outputs=None, accumulation: str = DEFAULT_ACCUMULATION,
          with_metrics: bool = True, expected: dict | None = None):
    spec = inv.ranks[0]["output"]
    outs = yield from compare.identical_on_every_rank(results, spec)
    if outs is None:
        return
    ref = reference(inv)
    ref32 = ref.out.astype(np.float32) if expected is None else expected["output"]
    actual = rows(outs[0])
    ref32 = ref32.reshape(actual.shape)
    if exact:  # the reference rounded once to the output dtype: unambiguous by case design (see test_casegen)
        yield compare.exact("rank 0 output", actual, dtypes.round_to(ref32, ref.out_dtype).astype(np.float32))
    else:
        yield from compare.bounded("rank 0 output: error bound", actual, ref32,
                                   v3_bounds.bound(ref).astype(np.float32).reshape(actual.shape),
                                   balance_name="rank 0 output: rounding balance")
    if with_metrics:
        yield compare.Check("vendor metrics (rank 0)", True, "informative",
                            {"vendor_metrics": {"output": vendor_metrics(actual, ref32, ref.out_dtype)}})
