"""MatmulAllReduce's own simulator faults: the record's `faults`.

Each Fault's hooks sit at the operator's own sites (validate/mar.py, sim/mar_numerics.py) or at a generic one
(conformance/hooks.py); its Shares add its constraints and hooks to the shared faults of sim/faults.py. Names carry
the prefix "mar-" (one registry for every operator).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..hooks import ROUNDING_STEP
from ..validate.mar import MAR_NULL_BIAS_REJECTED, MAR_OUTPUT_SHAPE
from .faults import Fault, Share
from .mar_numerics import (MAR_BIAS_APPLIED, MAR_HELD, MAR_OWN_ARGUMENTS, MAR_PRODUCT, MAR_REDUCED,
                           MAR_STORED_PARTIALS, MAR_X2_MATRIX)
from .marn_faults import _accumulate_in_dtype, _marn_lsb_drift, _marn_x2_transpose_ignored


def _truncating(rounder, step: str, **_):
    return dtypes.truncate_to if step.startswith("mar.") else rounder


def _rank0_scaled(parts, rank, **_):
    return [p * np.float32(1 + 1 / 16) for p in parts] if rank == 0 else parts


def _ranks_disagree(held, **_):
    """The last rank's copy one ulp off in its first element (a rank that keeps a local result)."""
    held = [np.array(h, copy=True) for h in held]
    last = held[-1].reshape(-1)
    if len(held) > 1 and last.size:
        last.view(np.uint16)[0] ^= np.uint16(1)
    return held


_FAULTS = [
    Share("int32-max-inclusive", ("MAR-BOUND-001", "MAR-BOUND-002", "MAR-BOUND-003", "MAR-BOUND-004")),
    Share("reject-transposed-x2", ("MAR-LAYOUT-002",)),
    Share("x2-transpose-ignored", ("MAR-LAYOUT-002", "MAR-NUM-001"), hooks={MAR_X2_MATRIX: _marn_x2_transpose_ignored}),
    Share("lsb-drift", ("MAR-NUM-003",), hooks={MAR_REDUCED: _marn_lsb_drift}),
    Share("rank-order-dependent", ("MAR-NUM-001",), hooks={MAR_STORED_PARTIALS: _rank0_scaled}),
    Fault("mar-reject-null-bias", ("MAR-NULL-002",), "A null bias is rejected instead of being treated as zero.",
          hooks={MAR_NULL_BIAS_REJECTED: lambda rejected, bias, **_: rejected or bias is None}),
    Fault("mar-output-n-from-k", ("MAR-SHAPE-005",),
          "The output shape check takes the last dimension from x2's first axis (k) instead of its second (n).",
          hooks={MAR_OUTPUT_SHAPE: lambda want, x1, x2, **_: tuple(x1.shape[:-1]) + (x2.shape[0],)}),
    Fault("mar-bias-once", ("MAR-NUM-001",), "Only rank 0 adds its bias (bias counted once instead of per rank).",
          hooks={MAR_BIAS_APPLIED: lambda applies, rank, **_: applies and rank == 0}),
    Fault("mar-drop-last-rank", ("MAR-NUM-001",), "The last rank's contribution is missing from the all-reduce.",
          hooks={MAR_STORED_PARTIALS: lambda parts, rank, world, **_: [] if world > 1 and rank == world - 1
                 else parts}),
    Fault("mar-rank0-data", ("MAR-NUM-001",), "Every rank computes with rank 0's inputs.",
          hooks={MAR_OWN_ARGUMENTS: lambda own, ranks, **_: ranks[0]}),
    Fault("mar-accumulate-in-output-dtype", ("MAR-NUM-001",),
          "x1 @ x2 accumulates in fp16/bf16 (16-element fp32 chunks added into an output-dtype accumulator).",
          hooks={MAR_PRODUCT: lambda product, x1, x2, dtype, **_: _accumulate_in_dtype(x1, x2, dtype)}),
    Fault("mar-truncate", ("MAR-NUM-002",), "Every store to fp16/bf16 truncates instead of rounding half to even.",
          hooks={ROUNDING_STEP: _truncating}),
    Fault("mar-ranks-disagree", ("MAR-NUM-001",),
          "The last rank returns a result one ulp off in one element (the ranks do not share one reduced result).",
          hooks={MAR_HELD: _ranks_disagree}),
]


def faults() -> list:
    """MatmulAllReduce's named faults and its shares of the shared ones (conformance/operators/mar.py: `faults`)."""
    return list(_FAULTS)
