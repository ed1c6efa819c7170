"""QuantMatmulAllReduce's own simulator faults: the record's `faults`.

This operator's host checks and arithmetic are V3's, run without pertokenScale and comm scales
(validate/qmar.py, sim/qmar_numerics.py), which see V3's hook sites through this operator's own: a fault named
here hooks those, so it perturbs this operator's calls only and V3's cases cannot be the ones that catch it.
The shared faults' Shares add only this operator's constraints: their hooks at those sites are V3's Shares already
(one hook per site and fault). Not here: the rounding faults of the named rounding steps, which are V3's steps
("round:v3.*"), and the faults of V3's pertoken and low-bit stages, which this operator never reaches.
"""

from __future__ import annotations

from ..validate.qmar import QMAR_DIM_BOUND_EXCEEDED, QMAR_NULL_OPTIONAL_REJECTED, QMAR_NZ_X2_REJECTED
from . import v3_faults
from .faults import Fault, Share
from .qmar_numerics import (QMAR_ACCUMULATOR_BIAS, QMAR_ALLREDUCED, QMAR_DEQUANT_SCALE, QMAR_DEQUANTISED,
                            QMAR_LOCAL_VALUE, QMAR_LOCAL_X3, QMAR_RANK_OUTPUT, QMAR_X2_MATRIX)


def faults() -> list:
    """QMAR's named faults and its shares of the shared ones (conformance/operators/qmar.py: `faults`)."""
    return [
        Share("int32-max-inclusive", ("QMAR-BOUND-001",)),
        Share("reject-transposed-x2", ("QMAR-LAYOUT-002",)),
        Share("x2-transpose-ignored", ("QMAR-LAYOUT-002", "QMAR-NUM-001")),
        Fault("qmar-dim-max-exclusive", ("QMAR-BOUND-002", "QMAR-BOUND-003"),
              "The 65535 limits checked with >= (k = 65535 and an x2 last dim of 65535 rejected).",
              hooks={QMAR_DIM_BOUND_EXCEEDED: lambda over, v, limit, **_: over or v == limit}),
        Fault("qmar-reject-nz", ("QMAR-FORMAT-001",), "A FRACTAL_NZ x2 is rejected.",
              hooks={QMAR_NZ_X2_REJECTED: lambda rejected, x2, **_: rejected or x2.format == "FRACTAL_NZ"}),
        Fault("qmar-reject-null-optional", ("QMAR-NULL-002",), "A null bias or x3 is rejected.",
              hooks={QMAR_NULL_OPTIONAL_REJECTED: lambda rejected, bias, x3, **_: rejected or bias is None
                     or x3 is None}),
        Share("lsb-drift", ("QMAR-NUM-005",)),
        Fault("qmar-bias-after-dequant", ("QMAR-NUM-001",),
              "The int32 bias is added after dequantisation, not in the accumulator.",
              hooks={QMAR_ACCUMULATOR_BIAS: lambda bias, **_: None, QMAR_LOCAL_VALUE: v3_faults._bias_after_dequant}),
        Fault("qmar-fp19-skipped", ("QMAR-NUM-002",),
              "An INT64/UINT64 dequantScale applies all 32 bits of its word instead of the FP19 part.",
              hooks={QMAR_DEQUANT_SCALE: v3_faults._fp19_skipped}),
        Fault("qmar-per-channel-per-row", ("QMAR-NUM-001",),
              "A per-channel dequantScale (n) is indexed by row instead of column.",
              hooks={QMAR_DEQUANTISED: v3_faults._per_channel_per_row}),
        Fault("qmar-nz-read-as-nd", ("QMAR-FORMAT-001",),
              "A FRACTAL_NZ x2's buffer is read as a padded row-major ND matrix.",
              hooks={QMAR_X2_MATRIX: v3_faults._nz_read_as_nd}),
        Fault("qmar-x3-after-allreduce", ("QMAR-NUM-001",),
              "x3 is added once after the all-reduce instead of by every rank (the formula adds it inside).",
              hooks={QMAR_LOCAL_X3: lambda x3, **_: None, QMAR_ALLREDUCED: v3_faults._x3_after_allreduce}),
        Fault("qmar-ranks-disagree", ("QMAR-NUM-006",),
              "The last rank's output differs by one ulp in one element.",
              hooks={QMAR_RANK_OUTPUT: v3_faults._ranks_disagree}),
        Share("rank-order-dependent", ("QMAR-NUM-001",)),
    ]
