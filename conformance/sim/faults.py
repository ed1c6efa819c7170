"""Named faults: each models one realistic way an implementation breaks the contract.

A fault exists to prove a check can fail: the project's tests run the suite's cases against the simulator
with each fault and assert that some case catches it. Validation faults come in one family per rejection
constraint (`unchecked:<constraint id>`: the check is not enforced); the rest are listed by hand.

A fault is an object: its `hooks` map hook sites (declared in conformance/hooks.py) to functions
`hook(value, **context) -> value` that hold its perturbation. The simulator's host checks and arithmetic never
test a fault's name: they ask their hooks `at(site, value, **context)` (FaultSet below applies the active
faults' hooks, in registry order), so this module is the only place a fault name appears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import dtypes, quant
from ..hooks import (INT32_BOUND_EXCEEDED, MARN_BIAS_APPLIED, MARN_EMPTY_BS_REJECTED, MARN_EMPTY_N_REJECTED,
                     MARN_EPSILON_UPPER, MARN_GAMMA, MARN_HELD, MARN_INPLACE_NORM_OUT, MARN_INPLACE_WRITTEN,
                     MARN_NORM_OUT_BLOCK, MARN_NULL_BIAS_REJECTED, MARN_NULL_CODE, MARN_OWN_ARGUMENTS, MARN_PARTIAL,
                     MARN_PRODUCT, MARN_REDUCED, MARN_RESIDUAL_SUM, MARN_RMS_AXIS, MARN_ROUND, MARN_RSTD,
                     MARN_STORED_PARTIALS, MARN_X2_MATRIX, REJECTION_STATUS, RULE_CHECKED, SIM_HOST_CHECK_HOOKS,
                     SIM_OUTPUTS, SITES, TRANSPOSED_X2_REJECTED, V3_ACCUMULATOR_BIAS, V3_ALLREDUCED,
                     V3_ALLTOALL_BLOCK, V3_COMM_SCALES, V3_DEQUANT_SCALE, V3_DEQUANTISED, V3_DIM_BOUND_EXCEEDED,
                     V3_GATHERED, V3_LOCAL_VALUE, V3_LOCAL_X3, V3_LOCALS, V3_NULL_OPTIONAL_REJECTED,
                     V3_NZ_X2_REJECTED, V3_PERTOKEN_SCALED, V3_RANK_OUTPUT, V3_REDUCED, V3_TO_INT8, V3_X2_MATRIX,
                     check_site)
from ..protocol import ACLNN_ERR_PARAM_INVALID as INVALID
from ..reference.v3 import rows
from ..spec import BY_ID, CONSTRAINTS
from ..spec.model import CODE_FROM_DOCUMENT

CODE_DRIFTED = 561002  # fault code-drift: what a convention-coded MARN rejection answers instead of 161002


@dataclass(frozen=True)
class Fault:
    name: str
    violates: tuple[str, ...]  # constraint ids it breaks
    description: str
    status_check: str = "documented"  # the --status-check under which it is a violation (self-check runs it so)
    # "contract": the contract checks must kill it (tests/test_detection.py, the self-check); "behaviour": a
    # change the contract permits (violates nothing), seen only by differential fuzzing (`fuzz --against`)
    kind: str = "contract"
    # hook site (conformance/hooks.py) -> hook(value, **context) -> the value the faulty implementation uses
    hooks: dict[str, Callable] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for site in self.hooks:
            check_site(site)  # a misspelt site would never fire: its fault silently untested


# ---- the perturbations (hooks), in the order of the faults below ---------------------------------------------------
def _bits(a: np.ndarray) -> np.ndarray:
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _marn_x2_transpose_ignored(value, x2, **_):
    if x2.is_last_two_transposed and not x2.is_contiguous:
        # read the buffer as if it were a contiguous (k, n) matrix
        return np.ascontiguousarray(np.asarray(x2.data).T).astype(np.float32).reshape(x2.shape)
    return value


def _v3_x2_transpose_ignored(value, x2, **_):
    if x2.is_last_two_transposed and not x2.is_contiguous:
        return np.ascontiguousarray(value.T).reshape(value.shape)
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


def _v3_lsb_drift(result, **_):
    bits = result.reshape(-1).view(np.uint16)
    bits[::7] += np.uint16(1)
    return result


def _bias_after_dequant(value, bias, **_):
    return value if bias is None else value + np.asarray(bias.data).astype(np.float32).reshape(-1)


def _fp19_skipped(value, scale, **_):
    if scale.dtype in ("int64", "uint64"):
        data = np.asarray(scale.data).reshape(-1)
        return (data.view(np.uint64) & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    return value


def _fp19_applied_to_float_scales(value, scale, **_):
    if scale.dtype == "float32":
        return quant.applied_scale(np.asarray(scale.data).reshape(-1).view(np.uint32).astype(np.uint64))
    return value


def _pertoken_per_column(value, unscaled, pertoken, **_):  # indexes the per-token scale by column instead of row
    return unscaled * pertoken[np.arange(unscaled.shape[1]) % pertoken.size][None, :]


def _per_channel_per_row(value, acc, deq, **_):
    if deq.size > 1:
        return acc.astype(np.float32) * deq[np.arange(acc.shape[0]) % deq.size][:, None]
    return value


def _nz_read_as_nd(value, x2, **_):
    if x2.format != "FRACTAL_NZ":
        return value
    transposed = x2.is_last_two_transposed and not x2.is_contiguous
    nz = np.asarray(x2.data)  # (c1, r1, 16, c0) tiling of the stored matrix, read as padded row-major
    k, n = x2.shape
    stored_rows, stored_cols = (n, k) if transposed else (k, n)
    flat = nz.reshape(nz.shape[1] * 16, nz.shape[0] * nz.shape[3])[:stored_rows, :stored_cols]
    return flat.T if transposed else flat


def _allgather_order_reversed(gathered, block, world, **_):
    """Block b lands where block W-1-b belongs (clipped to m); rows no block reaches stay 0."""
    m = gathered.shape[0]
    out = np.zeros_like(gathered)
    for b in range(world):
        lo, hi = b * block, min((b + 1) * block, m)
        if lo >= hi:
            continue
        dst = (world - 1 - b) * block
        span = max(0, min(hi - lo, m - dst))
        out[dst:dst + span] = gathered[lo:lo + span]
    return out


def _x3_after_allreduce(result, x3, out_dtype, **_):
    if x3 is None:
        return result
    return dtypes.round_to(result.astype(np.float32) + rows(x3.data).astype(np.float32), out_dtype)


def _ranks_disagree(out, rank, world, **_):
    if world > 1 and rank == world - 1:
        out.reshape(-1).view(np.uint16)[0] += np.uint16(1)
    return out


def _wrap_int8(v):  # wraps like a plain integer conversion
    return np.rint(np.asarray(v, np.float64)).astype(np.int64).astype(np.int8)


def _code_drift(status, cid, **_):
    if status == INVALID and cid.startswith("MARN-") and BY_ID[cid].code_source != CODE_FROM_DOCUMENT:
        return CODE_DRIFTED  # behaviour fault: an unpinned code moves
    return status


def _step_toward(stored: np.ndarray, exact32: np.ndarray) -> bool:
    """Fault ulp-inside-bound: move the first stored element whose fp32 value it does not represent one ulp
    toward that value (its other rounding neighbour: error < 1 ulp, inside any bound that admits rounding).
    Returns whether an element was moved."""
    bits = stored.reshape(-1).view(np.uint16)
    s32, e32 = stored.reshape(-1).astype(np.float32), exact32.reshape(-1)
    for i in np.flatnonzero((s32 != e32) & np.isfinite(e32) & np.isfinite(s32)):
        grow = abs(e32[i]) > abs(s32[i])
        if s32[i] == 0:
            new = np.uint16(0x8001) if e32[i] < 0 else np.uint16(1)
        else:
            new = bits[i] + np.uint16(1) if grow else bits[i] - np.uint16(1)
        old = bits[i]
        bits[i] = new
        if np.isfinite(stored.reshape(-1)[i].astype(np.float32)):
            return True
        bits[i] = old  # stepping past the largest finite value: try the next element
    return False


def _inplace_differs(norm_out, **_):
    if norm_out.size:
        norm_out.reshape(-1).view(np.uint16)[norm_out.size // 2] ^= np.uint16(1)
    return norm_out


def _nondeterministic(outs, call, **_):
    if call % 2 == 0 and outs and outs[0]:
        first = outs[0][sorted(outs[0])[0]]  # every other call, one bit of rank 0's first output
        if first.size:
            _bits(first).reshape(-1)[0] ^= 1
    return outs


def _ranks_reduce_own_order(held, partials, reduce, **_):
    """Each rank its own reduce: the partials from its own on, in the output dtype."""
    parts = partials()
    return [reduce(parts[r:] + parts[:r], "output_dtype") for r in range(len(held))]


def _marn_rank0_scaled(part, rank, **_):
    if rank == 0:
        part *= np.float32(1 + 1 / 16)
    return part


def _v3_rank0_scaled(locals_, out_dtype, **_):
    if locals_:
        return [dtypes.round_to(locals_[0].astype(np.float32) * np.float32(1 + 1 / 16), out_dtype), *locals_[1:]]
    return locals_


def _inplace_rejects_differently(hooks, inplace, **_):
    return FaultSet([*hooks, INPLACE_SKIPPED_RULE]) if inplace else hooks


_NAMED = [
    # validation beyond "not enforced"
    Fault("nullptr-as-invalid", ("MARN-NULL-001", "MARN-NULL-002"),
          "Null required tensors are reported as 161002 instead of 161001 (the MARN document states no code: "
          "a violation of the aclnn convention only, killed under --status-check convention).",
          status_check="convention",
          hooks={MARN_NULL_CODE: lambda code, **_: INVALID}),
    Fault("int32-max-inclusive", ("MARN-BOUND-001", "MARN-BOUND-002", "MARN-BOUND-003", "MARN-BOUND-004",
                                  "V3-BOUND-001"),
          "Dimension bounds checked with >= INT32_MAX instead of > INT32_MAX (rejects the maximum itself).",
          hooks={INT32_BOUND_EXCEEDED: lambda over, v, limit, **_: over or v == limit}),
    Fault("reject-transposed-x2", ("MARN-LAYOUT-002", "V3-LAYOUT-002"),
          "A transposed (non-contiguous) x2 is rejected.",
          hooks={TRANSPOSED_X2_REJECTED: lambda rejected, transposed, **_: rejected or transposed}),
    Fault("x2-transpose-ignored", ("MARN-LAYOUT-002", "MARN-NUM-001", "V3-LAYOUT-002", "V3-NUM-001"),
          "A transposed x2 is read as if its buffer were a contiguous (k, n) matrix.",
          hooks={MARN_X2_MATRIX: _marn_x2_transpose_ignored, V3_X2_MATRIX: _v3_x2_transpose_ignored}),
    Fault("dim-max-exclusive", ("V3-BOUND-002", "V3-BOUND-003"),
          "V3's 65535 limits checked with >= (k = 65535 and an x2 last dim of 65535 rejected).",
          hooks={V3_DIM_BOUND_EXCEEDED: lambda over, v, limit, **_: over or v == limit}),
    Fault("reject-nz", ("V3-FORMAT-001",), "A FRACTAL_NZ x2 is rejected.",
          hooks={V3_NZ_X2_REJECTED: lambda rejected, x2, **_: rejected or x2.format == "FRACTAL_NZ"}),
    Fault("reject-null-optional", ("V3-NULL-002",), "A null bias, x3 or pertokenScale is rejected (161001).",
          hooks={V3_NULL_OPTIONAL_REJECTED: lambda rejected, bias, x3, pertoken, **_: (
              rejected or bias is None or x3 is None or pertoken is None)}),
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
    Fault("lsb-drift", ("MARN-NUM-005", "V3-NUM-005"),
          "The reduced result is one ulp too large in every 7th element (an LSB bug within any rounding bound).",
          hooks={MARN_REDUCED: _marn_lsb_drift, V3_REDUCED: _v3_lsb_drift}),
    Fault("scales-swapped", ("V3-NUM-003",), "commQuantScale1 is used where commQuantScale2 belongs and back.",
          hooks={V3_COMM_SCALES: lambda scales, **_: (scales[1], scales[0])}),
    Fault("bias-after-dequant", ("V3-NUM-001",),
          "The int32 bias is added after dequantisation, not in the accumulator.",
          hooks={V3_ACCUMULATOR_BIAS: lambda bias, **_: None, V3_LOCAL_VALUE: _bias_after_dequant}),
    Fault("fp19-skipped", ("V3-NUM-002",),
          "An INT64/UINT64 dequantScale applies all 32 bits of its word instead of the FP19 part.",
          hooks={V3_DEQUANT_SCALE: _fp19_skipped}),
    Fault("pertoken-per-column", ("V3-NUM-001",), "pertokenScale is applied per column instead of per row.",
          hooks={V3_PERTOKEN_SCALED: _pertoken_per_column}),
    Fault("per-channel-per-row", ("V3-NUM-001",),
          "A per-channel dequantScale (n) is indexed by row instead of column.",
          hooks={V3_DEQUANTISED: _per_channel_per_row}),
    Fault("fp19-applied-to-float-scales", ("V3-NUM-001",),
          "FLOAT32 dequantScales are truncated to FP19 as if they were INT64 words. (The same mistake on BFLOAT16 "
          "scales cannot be observed: bf16's 7 mantissa bits survive FP19's 10, so it is not in the catalogue.)",
          hooks={V3_DEQUANT_SCALE: _fp19_applied_to_float_scales}),
    Fault("nz-read-as-nd", ("V3-FORMAT-001",), "A FRACTAL_NZ x2's buffer is read as a padded row-major ND matrix.",
          hooks={V3_X2_MATRIX: _nz_read_as_nd}),
    Fault("alltoall-blocks-floor", ("V3-NUM-003",),
          "The low-bit all_to_all splits m rows into blocks of floor(m / W): rows past W * floor(m / W) are lost "
          "when m is not a multiple of the world size.",
          hooks={V3_ALLTOALL_BLOCK: lambda block, m, world, **_: m // world}),
    Fault("allgather-order-reversed", ("V3-NUM-003",),
          "all_gather places the reduced row blocks in reverse rank order.",
          hooks={V3_GATHERED: _allgather_order_reversed}),
    Fault("pertoken-ignored", ("V3-NUM-001",), "pertokenScale is not applied.",
          hooks={V3_PERTOKEN_SCALED: lambda scaled, unscaled, **_: unscaled}),
    Fault("x3-after-allreduce", ("V3-NUM-001",), "x3 is added once after the all-reduce instead of by every rank.",
          hooks={V3_LOCAL_X3: lambda x3, **_: None, V3_ALLREDUCED: _x3_after_allreduce}),
    Fault("ranks-disagree", ("V3-NUM-006",),
          "The last rank's output differs by one ulp in one element (a stale or misordered gather block).",
          hooks={V3_RANK_OUTPUT: _ranks_disagree}),
    Fault("no-saturation", ("V3-NUM-004",), "Casts to int8 wrap around instead of saturating.",
          hooks={V3_TO_INT8: lambda cast, **_: _wrap_int8}),
    Fault("inplace-no-write", ("MARN-INPLACE-001",), "The inplace variant leaves residual unchanged.",
          hooks={MARN_INPLACE_WRITTEN: lambda y, residual, **_: np.asarray(residual.data).copy()}),
    Fault("inplace-writes-normout", ("MARN-INPLACE-001",), "The inplace variant writes normOut into residual.",
          hooks={MARN_INPLACE_WRITTEN: lambda y, norm_out, **_: norm_out}),
    # behaviour changes the contract permits (kind "behaviour"): not in the self-check's kill list
    Fault("code-drift", (), "A MARN rejection whose code no document pins (convention-coded) answers 561002 instead "
          "of 161002: still a conformant rejection under --status-check documented.", kind="behaviour",
          hooks={REJECTION_STATUS: _code_drift}),
    Fault("ulp-inside-bound", (), "On every rank, the first normOut element whose fp32 value is not representable "
          "is rounded to its other neighbour (1 ulp, inside the bound; normOut has no balance test).",
          kind="behaviour",
          hooks={MARN_NORM_OUT_BLOCK: lambda perturbed, block, exact, **_: perturbed or _step_toward(block, exact)}),
]


# Faults that left the catalogue because a correct kernel behaves that way (they must pass, not be killed).
RETIRED = {
    "fp16-path-for-bf16": "bf16 normalising the rounded y is the published kernel's SingleN/MergeN path "
                          "(device-facts 3); now the simulator path --sim-bf16-rms-source rounded_y, which must pass",
}


# Rules whose unchecked input still fails inside the simulator's kernel (561000 at launch). Where the document
# states no code that is a conformant rejection: such a fault is a violation of the aclnn convention only.
KERNEL_STILL_REJECTS = ("MARN-NULL-001", "MARN-SHAPE-003", "MARN-SHAPE-006", "MARN-SHAPE-007")


def _unchecked():
    for c in CONSTRAINTS:
        if c.kind == "reject":
            caught_by_kernel = c.id in KERNEL_STILL_REJECTS and c.code_source != "document"
            yield Fault(f"unchecked:{c.id}", (c.id,), f"The check for {c.id} is not enforced: {c.paraphrase}"
                        + (" (the kernel still fails: 561000 at launch, a violation of the convention only)"
                           if caught_by_kernel else ""),
                        status_check="convention" if caught_by_kernel else "documented",
                        hooks={RULE_CHECKED: _unchecked_hook(c.id)})


def _unchecked_hook(rule: str):
    def hook(checked, cid, **_):
        return checked and cid != rule
    return hook


FAULTS: dict[str, Fault] = {f.name: f for f in [*_NAMED, *_unchecked()]}
CONTRACT_FAULTS = tuple(name for name, f in FAULTS.items() if f.kind == "contract")  # what the self-check kills


# Faults of the metamorphic relations (conformance/relations.py): each breaks a relation a correct backend keeps
# without needing a reference. They are proven by tests/test_relations_unit.py, not by the case catalogue (a case
# judged alone against the reference may not see them), so they are kept out of FAULTS.
RELATION_FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("inplace-differs", ("MARN-INPLACE-001",),
          "The inplace variant's normOut is one ulp off in one element (its own kernel build rounds differently).",
          hooks={MARN_INPLACE_NORM_OUT: _inplace_differs}),
    Fault("nondeterministic", (),
          "Every other call flips the last bit of rank 0's first output element (a race in the reduction).",
          hooks={SIM_OUTPUTS: _nondeterministic}),
    Fault("ranks-reduce-own-order", ("MARN-NUM-001",),
          "MARN: every rank sums the partials itself, starting from its own and rounding to the output dtype after "
          "each add (a local reduce instead of one shared result): the ranks disagree in the last bits.",
          hooks={MARN_HELD: _ranks_reduce_own_order}),
    Fault("rank-order-dependent", ("MARN-NUM-001", "V3-NUM-001"),
          "Rank 0's partial enters the all-reduce scaled by 1 + 1/16 (a root-rank scaling step applied once too "
          "often): the result depends on which shard rank 0 holds.",
          hooks={MARN_PARTIAL: _marn_rank0_scaled, V3_LOCALS: _v3_rank0_scaled}),
    Fault("inplace-rejects-differently", ("MARN-ATTR-004",),
          "The inplace variant skips the epsilon range check (MARN-ATTR-004) its out-of-place twin enforces.",
          hooks={SIM_HOST_CHECK_HOOKS: _inplace_rejects_differently}),
]}
INPLACE_SKIPPED_RULE = "unchecked:MARN-ATTR-004"  # what inplace-rejects-differently switches off


class FaultSet(frozenset):
    """The faults injected into one simulator (a set of their names): the hooks (conformance.hooks.Hooks) its
    host checks and arithmetic ask. `at(site, value, **context)` passes `value` through the hooks the active
    faults declare for `site`, in registry order (FAULTS, then RELATION_FAULTS); an undeclared site raises."""

    def __new__(cls, names=()):
        self = super().__new__(cls, names)
        registry = {**FAULTS, **RELATION_FAULTS}
        unknown = sorted(n for n in self if n not in registry)
        if unknown:
            raise KeyError(f"fault {unknown[0]!r} is not in the registry (sim/faults.py)")
        self._hooks: dict[str, list[Callable]] = {}
        for fault in registry.values():
            if fault.name in self:
                for site, hook in fault.hooks.items():
                    self._hooks.setdefault(site, []).append(hook)
        return self

    def __reduce__(self):
        return FaultSet, (tuple(sorted(self)),)

    def at(self, site: str, value, **context):
        hooks = self._hooks.get(site)
        if hooks is None:
            if site not in SITES:
                check_site(site)
            return value
        for hook in hooks:
            value = hook(value, **context)
        return value


def parse_faults(names) -> FaultSet:
    unknown = [n for n in names if n not in FAULTS and n not in RELATION_FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; `mc2-conformance faults` lists the {len(FAULTS)} known")
    return FaultSet(names)
