"""Named faults: each models one realistic way an implementation breaks the contract.

A fault exists to prove a check can fail: the project's tests run the suite's cases against the simulator
with each fault and assert that some case catches it. Validation faults come in one family per rejection
constraint (`unchecked:<constraint id>`: the check is not enforced); the rest are listed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec import CONSTRAINTS


@dataclass(frozen=True)
class Fault:
    name: str
    violates: tuple[str, ...]  # constraint ids it breaks
    description: str
    status_check: str = "documented"  # the --status-check under which it is a violation (self-check runs it so)
    # "contract": the contract checks must kill it (tests/test_detection.py, the self-check); "behaviour": a
    # change the contract permits (violates nothing), seen only by differential fuzzing (`fuzz --against`)
    kind: str = "contract"


_NAMED = [
    # validation beyond "not enforced"
    Fault("nullptr-as-invalid", ("MARN-NULL-001", "MARN-NULL-002"),
          "Null required tensors are reported as 161002 instead of 161001 (the MARN document states no code: "
          "a violation of the aclnn convention only, killed under --status-check convention).",
          status_check="convention"),
    Fault("int32-max-inclusive", ("MARN-BOUND-001", "MARN-BOUND-002", "MARN-BOUND-003", "MARN-BOUND-004",
                                  "V3-BOUND-001"),
          "Dimension bounds checked with >= INT32_MAX instead of > INT32_MAX (rejects the maximum itself)."),
    Fault("reject-transposed-x2", ("MARN-LAYOUT-002", "V3-LAYOUT-002"),
          "A transposed (non-contiguous) x2 is rejected."),
    Fault("x2-transpose-ignored", ("MARN-LAYOUT-002", "MARN-NUM-001", "V3-LAYOUT-002", "V3-NUM-001"),
          "A transposed x2 is read as if its buffer were a contiguous (k, n) matrix."),
    Fault("dim-max-exclusive", ("V3-BOUND-002", "V3-BOUND-003"),
          "V3's 65535 limits checked with >= (k = 65535 and an x2 last dim of 65535 rejected)."),
    Fault("reject-nz", ("V3-FORMAT-001",), "A FRACTAL_NZ x2 is rejected."),
    Fault("reject-null-optional", ("V3-NULL-002",), "A null bias, x3 or pertokenScale is rejected (161001)."),
    Fault("reject-null-bias", ("MARN-NULL-003",), "A null bias is rejected instead of being treated as zero."),
    Fault("eps-upper-0.99", ("MARN-ATTR-004",), "epsilon is rejected above 0.99 instead of at 1."),
    Fault("reject-empty-bs", ("MARN-EMPTY-001",), "An empty b*s is rejected."),
    Fault("reject-empty-n", ("MARN-EMPTY-002",), "An empty n is rejected."),
    # numerics
    Fault("bias-once", ("MARN-NUM-001",), "Only rank 0 adds its bias (bias counted once instead of per rank)."),
    Fault("drop-last-rank", ("MARN-NUM-001",), "The last rank's contribution is missing from the all-reduce."),
    Fault("double-rank0", ("MARN-NUM-001",), "Rank 0's contribution is counted twice."),
    Fault("rank0-data", ("MARN-NUM-001", "MARN-NUM-002"), "Every rank computes with rank 0's inputs."),
    Fault("no-residual", ("MARN-NUM-002",), "The residual is not added."),
    Fault("eps-outside-sqrt", ("MARN-NUM-003",), "rstd = 1 / (sqrt(mean(y^2)) + eps)."),
    Fault("rms-wrong-axis", ("MARN-NUM-003",), "The mean square is taken over rows instead of the last axis."),
    Fault("no-gamma", ("MARN-NUM-003",), "gamma is not applied."),
    Fault("accumulate-in-output-dtype", ("MARN-NUM-001",),
          "x1 @ x2 accumulates in fp16/bf16 (16-element fp32 chunks added into an output-dtype accumulator)."),
    Fault("truncate", ("MARN-NUM-004",), "Every rounding to fp16/bf16 truncates instead of rounding half to even."),
    Fault("lsb-drift", ("MARN-NUM-005", "V3-NUM-005"),
          "The reduced result is one ulp too large in every 7th element (an LSB bug within any rounding bound)."),
    Fault("scales-swapped", ("V3-NUM-003",), "commQuantScale1 is used where commQuantScale2 belongs and back."),
    Fault("bias-after-dequant", ("V3-NUM-001",),
          "The int32 bias is added after dequantisation, not in the accumulator."),
    Fault("fp19-skipped", ("V3-NUM-002",),
          "An INT64/UINT64 dequantScale applies all 32 bits of its word instead of the FP19 part."),
    Fault("pertoken-per-column", ("V3-NUM-001",), "pertokenScale is applied per column instead of per row."),
    Fault("per-channel-per-row", ("V3-NUM-001",),
          "A per-channel dequantScale (n) is indexed by row instead of column."),
    Fault("fp19-applied-to-float-scales", ("V3-NUM-001",),
          "FLOAT32 dequantScales are truncated to FP19 as if they were INT64 words. (The same mistake on BFLOAT16 "
          "scales cannot be observed: bf16's 7 mantissa bits survive FP19's 10, so it is not in the catalogue.)"),
    Fault("nz-read-as-nd", ("V3-FORMAT-001",), "A FRACTAL_NZ x2's buffer is read as a padded row-major ND matrix."),
    Fault("alltoall-blocks-floor", ("V3-NUM-003",),
          "The low-bit all_to_all splits m rows into blocks of floor(m / W): rows past W * floor(m / W) are lost "
          "when m is not a multiple of the world size."),
    Fault("allgather-order-reversed", ("V3-NUM-003",),
          "all_gather places the reduced row blocks in reverse rank order."),
    Fault("pertoken-ignored", ("V3-NUM-001",), "pertokenScale is not applied."),
    Fault("x3-after-allreduce", ("V3-NUM-001",), "x3 is added once after the all-reduce instead of by every rank."),
    Fault("ranks-disagree", ("V3-NUM-006",),
          "The last rank's output differs by one ulp in one element (a stale or misordered gather block)."),
    Fault("no-saturation", ("V3-NUM-004",), "Casts to int8 wrap around instead of saturating."),
    Fault("inplace-no-write", ("MARN-INPLACE-001",), "The inplace variant leaves residual unchanged."),
    Fault("inplace-writes-normout", ("MARN-INPLACE-001",), "The inplace variant writes normOut into residual."),
    # behaviour changes the contract permits (kind "behaviour"): not in the self-check's kill list
    Fault("code-drift", (), "A MARN rejection whose code no document pins (convention-coded) answers 561002 instead "
          "of 161002: still a conformant rejection under --status-check documented.", kind="behaviour"),
    Fault("ulp-inside-bound", (), "On every rank, the first normOut element whose fp32 value is not representable "
          "is rounded to its other neighbour (1 ulp, inside the bound; normOut has no balance test).",
          kind="behaviour"),
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
                        status_check="convention" if caught_by_kernel else "documented")


FAULTS: dict[str, Fault] = {f.name: f for f in [*_NAMED, *_unchecked()]}
CONTRACT_FAULTS = tuple(name for name, f in FAULTS.items() if f.kind == "contract")  # what the self-check kills


# Faults of the metamorphic relations (conformance/relations.py): each breaks a relation a correct backend keeps
# without needing a reference. They are proven by tests/test_relations_unit.py, not by the case catalogue (a case
# judged alone against the reference may not see them), so they are kept out of FAULTS.
RELATION_FAULTS: dict[str, Fault] = {f.name: f for f in [
    Fault("inplace-differs", ("MARN-INPLACE-001",),
          "The inplace variant's normOut is one ulp off in one element (its own kernel build rounds differently)."),
    Fault("nondeterministic", (),
          "Every other call flips the last bit of rank 0's first output element (a race in the reduction)."),
    Fault("ranks-reduce-own-order", ("MARN-NUM-001",),
          "MARN: every rank sums the partials itself, starting from its own and rounding to the output dtype after "
          "each add (a local reduce instead of one shared result): the ranks disagree in the last bits."),
    Fault("rank-order-dependent", ("MARN-NUM-001", "V3-NUM-001"),
          "Rank 0's partial enters the all-reduce scaled by 1 + 1/16 (a root-rank scaling step applied once too "
          "often): the result depends on which shard rank 0 holds."),
    Fault("inplace-rejects-differently", ("MARN-ATTR-004",),
          "The inplace variant skips the epsilon range check (MARN-ATTR-004) its out-of-place twin enforces."),
]}
INPLACE_SKIPPED_RULE = "unchecked:MARN-ATTR-004"  # what inplace-rejects-differently switches off


class FaultSet(frozenset):
    """The faults injected into one simulator: the registry every hook consults by name.

    `"name" in faults` checks the name against the registry first, so a hook whose name is misspelt (and would
    otherwise never fire, leaving its fault silently untested) fails loudly the first time it runs."""

    def __contains__(self, name) -> bool:
        if isinstance(name, str) and not (name in FAULTS or name in RELATION_FAULTS or name.startswith("unchecked:")):
            raise KeyError(f"simulator hook asks for fault {name!r}, which is not in the registry (sim/faults.py)")
        return frozenset.__contains__(self, name)


def parse_faults(names) -> FaultSet:
    unknown = [n for n in names if n not in FAULTS and n not in RELATION_FAULTS]
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r}; `mc2-conformance faults` lists the {len(FAULTS)} known")
    return FaultSet(names)
