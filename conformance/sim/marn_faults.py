"""MatmulAllReduceAddRmsNorm's own simulator faults (and its inplace twin's): the record's `faults`.

Each Fault's hooks sit at the operator's own sites (validate/marn.py, sim/marn_numerics.py) or at a generic one
(conformance/hooks.py); its Shares add MARN's constraints and hooks to the shared faults of sim/faults.py. The
order FAULTS lists them in is sim/faults.py's order rule.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..hooks import REJECTION_STATUS, SIM_HOST_CHECK_HOOKS
from ..protocol import ACLNN_ERR_PARAM_INVALID as INVALID
from ..spec import BY_ID
from ..spec.model import CODE_FROM_DOCUMENT
from ..validate.marn import (MARN_EMPTY_BS_REJECTED, MARN_EMPTY_N_REJECTED, MARN_EPSILON_UPPER,
                             MARN_NULL_BIAS_REJECTED, MARN_NULL_CODE)
from .faults import Fault, FaultSet, Share, rounding_faults
from .marn_numerics import (MARN_BIAS_APPLIED, MARN_GAMMA, MARN_HELD, MARN_INPLACE_NORM_OUT, MARN_INPLACE_WRITTEN,
                            MARN_NORM_OUT_BLOCK, MARN_OWN_ARGUMENTS, MARN_PARTIAL, MARN_PRODUCT, MARN_REDUCED,
                            MARN_RESIDUAL_SUM, MARN_RMS_AXIS, MARN_ROUND, MARN_RSTD, MARN_STORED_PARTIALS,
                            MARN_X2_MATRIX)

CODE_DRIFTED = 561002  # fault code-drift: what a convention-coded MARN rejection answers instead of 161002
INPLACE_SKIPPED_RULE = "unchecked:MARN-ATTR-004"  # what inplace-rejects-differently switches off

# Faults that left the catalogue because a correct kernel behaves that way (they must pass, not be killed).
RETIRED = {
    "fp16-path-for-bf16": "bf16 normalising the rounded y is the published kernel's SingleN/MergeN path "
                          "(device-facts 3); now the simulator path --sim-bf16-rms-source rounded_y, which must pass",
}


# ---- the perturbations (hooks) -------------------------------------------------------------------------------------
def _marn_x2_transpose_ignored(value, x2, **_):
    if x2.is_last_two_transposed and not x2.is_contiguous:
        # read the buffer as if it were a contiguous (k, n) matrix
        return np.ascontiguousarray(np.asarray(x2.data).T).astype(np.float32).reshape(x2.shape)
    return value


def _accumulate_in_dtype(x1: np.ndarray, x2: np.ndarray, dtype: str, chunk: int = 16) -> np.ndarray:
    acc = np.zeros((x1.shape[0], x2.shape[1]), np.float32)
    for lo in range(0, x1.shape[1], chunk):
        acc = dtypes.round_to(acc + x1[:, lo:lo + chunk] @ x2[lo:lo + chunk], dtype).astype(np.float32)
    return acc


def _marn_lsb_drift(mm, **_):
    if mm.size:
        bits = mm.reshape(-1).view(np.uint16)
        bits[::7] += np.where(mm.reshape(-1)[::7].astype(np.float32) >= 0, 1, -1).astype(np.uint16)
    return mm


def _code_drift(status, cid, **_):
    if status == INVALID and cid.startswith("MARN-") and BY_ID[cid].code_source != CODE_FROM_DOCUMENT:
        return CODE_DRIFTED  # behaviour fault: an unpinned code moves
    return status


NEAR_TIE = 0.4  # ulp-inside-bound moves only values at least this far (in ulps) from their nearest neighbour


def _step_toward(stored: np.ndarray, exact32: np.ndarray) -> bool:
    """Fault ulp-inside-bound: move the first stored element whose fp32 value it does not represent and which lies
    within 0.1 ulp of a tie one ulp toward that value (its other rounding neighbour, < 0.6 ulp off: inside any bound
    that admits rounding; what a double rounding through a wider intermediate does). No exact case has such a
    value (tests/test_casegen.py demands 0.1 ulp of room), so the rounding probes' exact normOut passes it too.
    Returns whether an element was moved."""
    flat = stored.reshape(-1)
    bits = flat.view(np.uint16)
    s32, e32 = flat.astype(np.float32), exact32.reshape(-1)
    for i in np.flatnonzero((s32 != e32) & np.isfinite(e32) & np.isfinite(s32)):
        grow = abs(e32[i]) > abs(s32[i])
        if s32[i] == 0:
            new = np.uint16(0x8001) if e32[i] < 0 else np.uint16(1)
        else:
            new = bits[i] + np.uint16(1) if grow else bits[i] - np.uint16(1)
        old = bits[i]
        bits[i] = new
        moved = flat[i].astype(np.float64)
        near_tie = abs(float(e32[i]) - float(s32[i])) >= NEAR_TIE * abs(moved - float(s32[i]))
        if np.isfinite(moved) and near_tie:
            return True
        bits[i] = old  # past the largest finite value, or not near a tie: try the next element
    return False


def _inplace_differs(norm_out, **_):
    if norm_out.size:
        norm_out.reshape(-1).view(np.uint16)[norm_out.size // 2] ^= np.uint16(1)
    return norm_out


def _ranks_reduce_own_order(held, partials, reduce, **_):
    """Each rank its own reduce: the partials from its own on, in the output dtype."""
    parts = partials()
    return [reduce(parts[r:] + parts[:r], "output_dtype") for r in range(len(held))]


def _marn_rank0_scaled(part, rank, **_):
    if rank == 0:
        part *= np.float32(1 + 1 / 16)
    return part


def _inplace_rejects_differently(hooks, inplace, **_):
    return FaultSet([*hooks, INPLACE_SKIPPED_RULE]) if inplace else hooks


_FAULTS = [
    # validation beyond "not enforced"
    Fault("nullptr-as-invalid", ("MARN-NULL-001", "MARN-NULL-002"),
          "Null required tensors are reported as 161002 instead of 161001 (the MARN document states no code: "
          "a violation of the aclnn convention only, killed under --status-check convention).",
          status_check="convention",
          hooks={MARN_NULL_CODE: lambda code, **_: INVALID}),
    Share("int32-max-inclusive", ("MARN-BOUND-001", "MARN-BOUND-002", "MARN-BOUND-003", "MARN-BOUND-004")),
    Share("reject-transposed-x2", ("MARN-LAYOUT-002",)),
    Share("x2-transpose-ignored", ("MARN-LAYOUT-002", "MARN-NUM-001"),
          hooks={MARN_X2_MATRIX: _marn_x2_transpose_ignored}),
    Fault("reject-null-bias", ("MARN-NULL-003",), "A null bias is rejected instead of being treated as zero.",
          hooks={MARN_NULL_BIAS_REJECTED: lambda rejected, bias, **_: rejected or bias is None}),
    Fault("eps-upper-0.99", ("MARN-ATTR-004",), "epsilon is rejected above 0.99 instead of at 1.",
          hooks={MARN_EPSILON_UPPER: lambda upper, **_: 0.99}),
    Fault("reject-empty-bs", ("MARN-EMPTY-001",), "An empty b*s is rejected.",
          hooks={MARN_EMPTY_BS_REJECTED: lambda rejected, m, **_: rejected or m == 0}),
    Fault("reject-empty-n", ("MARN-EMPTY-002",), "An empty n is rejected.",
          hooks={MARN_EMPTY_N_REJECTED: lambda rejected, n, **_: rejected or n == 0}),
    # numerics
    Fault("bias-once", ("MARN-NUM-001",), "Only rank 0 adds its bias (bias counted once instead of per rank).",
          hooks={MARN_BIAS_APPLIED: lambda applies, rank, **_: applies and not rank > 0}),
    Fault("drop-last-rank", ("MARN-NUM-001",), "The last rank's contribution is missing from the all-reduce.",
          hooks={MARN_STORED_PARTIALS: lambda parts, rank, world, **_: [] if world > 1 and rank == world - 1
              else parts}),
    Fault("double-rank0", ("MARN-NUM-001",), "Rank 0's contribution is counted twice.",
          hooks={MARN_STORED_PARTIALS: lambda parts, rank, **_: parts * 2 if rank == 0 else parts}),
    Fault("rank0-data", ("MARN-NUM-001", "MARN-NUM-002"), "Every rank computes with rank 0's inputs.",
          hooks={MARN_OWN_ARGUMENTS: lambda own, ranks, **_: ranks[0]}),
    Fault("no-residual", ("MARN-NUM-002",), "The residual is not added.",
          hooks={MARN_RESIDUAL_SUM: lambda x, mm, **_: mm}),
    Fault("eps-outside-sqrt", ("MARN-NUM-003",), "rstd = 1 / (sqrt(mean(y^2)) + eps).",
          hooks={MARN_RSTD: lambda rstd, ms, eps, **_: 1.0 / (np.sqrt(ms) + eps)}),
    Fault("rms-wrong-axis", ("MARN-NUM-003",), "The mean square is taken over rows instead of the last axis.",
          hooks={MARN_RMS_AXIS: lambda axis, **_: 0}),
    Fault("no-gamma", ("MARN-NUM-003",), "gamma is not applied.",
          hooks={MARN_GAMMA: lambda gamma, **_: None}),
    Fault("accumulate-in-output-dtype", ("MARN-NUM-001",),
          "x1 @ x2 accumulates in fp16/bf16 (16-element fp32 chunks added into an output-dtype accumulator).",
          hooks={MARN_PRODUCT: lambda product, x1, x2, dtype, **_: _accumulate_in_dtype(x1, x2, dtype)}),
    Fault("truncate", ("MARN-NUM-004",), "Every rounding to fp16/bf16 truncates instead of rounding half to even.",
          hooks={MARN_ROUND: lambda rounder, **_: dtypes.truncate_to}),
    Share("lsb-drift", ("MARN-NUM-005",), hooks={MARN_REDUCED: _marn_lsb_drift}),
    Fault("inplace-no-write", ("MARN-INPLACE-001",), "The inplace variant leaves residual unchanged.",
          hooks={MARN_INPLACE_WRITTEN: lambda y, residual, **_: np.asarray(residual.data).copy()}),
    Fault("inplace-writes-normout", ("MARN-INPLACE-001",), "The inplace variant writes normOut into residual.",
          hooks={MARN_INPLACE_WRITTEN: lambda y, norm_out, **_: norm_out}),
    # behaviour changes the contract permits (kind "behaviour"): not in the self-check's kill list
    Fault("code-drift", (), "A MARN rejection whose code no document pins (convention-coded) answers 561002 instead "
          "of 161002: still a conformant rejection under --status-check documented.", kind="behaviour",
          hooks={REJECTION_STATUS: _code_drift}),
    Fault("ulp-inside-bound", (), "On every rank, the first normOut element whose fp32 value lies within 0.1 ulp "
          "of a tie is rounded to its other neighbour (< 0.6 ulp, inside the bound; normOut has no balance test, and "
          "no exact case has such a value).",
          kind="behaviour",
          hooks={MARN_NORM_OUT_BLOCK: lambda perturbed, block, exact, **_: perturbed or _step_toward(block, exact)}),
    # faults of the metamorphic relations (kind "relation": RELATION_FAULTS)
    Fault("inplace-differs", ("MARN-INPLACE-001",),
          "The inplace variant's normOut is one ulp off in one element (its own kernel build rounds differently).",
          kind="relation", hooks={MARN_INPLACE_NORM_OUT: _inplace_differs}),
    Fault("ranks-reduce-own-order", ("MARN-NUM-001",),
          "MARN: every rank sums the partials itself, starting from its own and rounding to the output dtype after "
          "each add (a local reduce instead of one shared result): the ranks disagree in the last bits.",
          kind="relation", hooks={MARN_HELD: _ranks_reduce_own_order}),
    Share("rank-order-dependent", ("MARN-NUM-001",), hooks={MARN_PARTIAL: _marn_rank0_scaled}),
    Fault("inplace-rejects-differently", ("MARN-ATTR-004",),
          "The inplace variant skips the epsilon range check (MARN-ATTR-004) its out-of-place twin enforces.",
          kind="relation", hooks={SIM_HOST_CHECK_HOOKS: _inplace_rejects_differently}),
]


# Rounding faults (kind "rounding", docs/rounding-probes.md): one store rounded toward zero, or half away from zero
# where the source states the store's tie rule (the bf16 y and gamma stores' CAST_RINT); each fails its step's
# probes (casegen/design.py MARN_STEP_PROBES, MARN_Y_PROBES).
_ROUNDING = [
    *rounding_faults("marn.partial_store", value="float", violates=("MARN-NUM-004",), modes=("truncate",)),
    *rounding_faults("marn.allreduce_store", value="float", violates=("MARN-NUM-004",), modes=("truncate",)),
    *rounding_faults("marn.y_store", value="float", violates=("MARN-NUM-004",)),
    *rounding_faults("marn.norm_store", value="float", violates=("MARN-NUM-004",), modes=("truncate",)),
    *rounding_faults("marn.gamma_store", value="float", violates=("MARN-NUM-004",)),
]


def faults() -> list:
    """MARN's named faults and its shares of the shared ones (conformance/operators/marn.py: `faults`)."""
    return list(_FAULTS) + _ROUNDING
