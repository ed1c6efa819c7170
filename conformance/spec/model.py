"""Constraint and ambiguity records: the contract as data.

Each documented promise is one `Constraint` with a stable ID. Tests name the IDs they cover
(`pytest.mark.covers`), which is how `mc2-conformance constraints` finds uncovered promises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

# Where the expected status code comes from.
CODE_FROM_DOCUMENT = "document"  # the operator document states the code
CODE_FROM_CONVENTION = "convention"  # aclnn convention: 161001 null pointer, 161002 invalid dtype/shape/format/value

KINDS = ("reject", "accept", "compute")

# Family DET (MARN-DET-001, V3-DET-001): run-to-run determinism, a compute promise of later document revisions
# that holds under a `setting`; the determinism relation (relations.determinism) checks it.
DETERMINISM_FAMILY = "DET"
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")

# Where a rejection may surface (the two-phase aclnn interface): the first phase (GetWorkspaceSize) or the
# second (the aclnnXxx launch call, incl. tiling and kernel launch). Documents mostly do not say: "either".
PHASE_WORKSPACE = "workspace"
PHASE_LAUNCH = "launch"
PHASE_EITHER = "either"
PHASES = (PHASE_WORKSPACE, PHASE_LAUNCH, PHASE_EITHER)

# The world sizes both documents allow ("支持1、2、4、8卡"): the one definition the suite uses.
VALID_WORLD_SIZES = (1, 2, 4, 8)
INT32_MAX = 2**31 - 1  # the documents' dimension bound ("不得超过2147483647(INT32_MAX)"), and the source's

# --unsupported-inputs: what a device that accepts an input the document calls unsupported gets, where no document
# promises a rejection for it and the documented formula is defined on it (a `Constraint.representation` rule:
# how an input is laid out in memory, not what it means). "reject-or-compute" (default): a rejection, or success
# with outputs the reference and bound accept (a runtime that makes the input contiguous does more than promised;
# failing it would fail a better CANN). "reject": the literal reading, only a rejection. Shape-only cases have no
# data to show a correct result, so they must reject under both readings.
UNSUPPORTED_INPUT_READINGS = ("reject-or-compute", "reject")

# --status-check: "documented" enforces a code only where a document states it (any other rejection is
# conformant and recorded); "convention" also enforces the aclnn convention's 161001/161002.
STATUS_CHECKS = ("documented", "convention")


@dataclass(frozen=True)
class Constraint:
    id: str  # e.g. MARN-SHAPE-003; never renumbered
    ops: tuple[str, ...]  # operators bound by it
    kind: str  # reject: violating input must fail; accept: input must succeed; compute: numeric promise
    original: str  # the sentence of the vendor document, verbatim
    paraphrase: str  # English
    constrains: tuple[str, ...]  # tensors / attributes it is about
    expected_status: int | None = None  # for reject/accept constraints
    code_source: str = CODE_FROM_CONVENTION
    source: str = ""  # document and section
    notes: str = ""
    phase: str = PHASE_EITHER  # where a rejection may surface (PHASES)
    revision: str = ""  # the document revision the record is taken from (spec.revisions)
    # a reject rule on the input's representation (contiguity), not its meaning: the documented formula is defined
    # on a violating input, so where no document promises the rejection a device may compute it instead
    # (UNSUPPORTED_INPUT_READINGS)
    representation: bool = False
    # a promise a later revision of the documents makes (spec.revisions, DocChange.introduces): the revision that
    # introduced it; the record is absent from the catalogue under earlier revisions (the shared documents too)
    since: str = ""
    # the setting under which the promise holds, as the document names it: "NAME=value" for an environment
    # variable (setting_holds can tell), other text for a setting the suite cannot see (a runtime call)
    setting: str = ""
    # the x1 ranks at which the rule can be broken alone on an otherwise valid input: both legal ranks, none for the
    # x1-rank rule itself, one for a bound the document states per rank (b*s of a 3-D x1, m of a 2-D one). The case
    # catalogue must break the rule alone at each (tests/test_case_design.py)
    x1_ranks: tuple[int, ...] = (2, 3)

    @property
    def rejection_promised(self) -> bool:
        """Whether a document promises that a violating input is rejected: it states the code (V3's table)."""
        return self.kind == "reject" and self.code_source == CODE_FROM_DOCUMENT

    @property
    def may_compute_instead(self) -> bool:
        """Under the reading "reject-or-compute": a correct result is as conformant as a rejection."""
        return self.kind == "reject" and self.representation and not self.rejection_promised

    @property
    def family(self) -> str:
        return self.id.split("-")[1]

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind {self.kind!r} not in {KINDS}")
        if self.phase not in PHASES:
            raise ValueError(f"{self.id}: phase {self.phase!r} not in {PHASES}")
        if self.representation and self.kind != "reject":
            raise ValueError(f"{self.id}: only a reject rule can be a representation rule")

    def promised_codes(self, status_check: str = "documented") -> frozenset[int] | None:
        """The status codes a rejection must carry; None where any non-success status is conformant."""
        if status_check not in STATUS_CHECKS:
            raise ValueError(f"status check {status_check!r} not in {', '.join(STATUS_CHECKS)}")
        if self.kind != "reject" or self.expected_status is None:
            return None
        if self.code_source == CODE_FROM_DOCUMENT or status_check == "convention":
            return frozenset({self.expected_status})
        return None

    def setting_holds(self, environ: Mapping[str, str | None]) -> bool | None:
        """Whether the run was under the record's setting: True/False for an environment setting "NAME=value"
        (`environ`: the values in effect, None for unset), None for a setting the suite cannot see; True where
        the promise names none."""
        if not self.setting:
            return True
        name, sep, value = self.setting.partition("=")
        if not sep or not ENV_NAME.fullmatch(name):
            return None
        given = (environ.get(name) or "").strip().lower()
        # HCCL's "strict" is determinism with order preservation: it implies the "true" the documents name
        return given == value.strip().lower() or (value.strip().lower() == "true" and given == "strict")

    def promised_phases(self) -> frozenset[str]:
        return frozenset({PHASE_WORKSPACE, PHASE_LAUNCH}) if self.phase == PHASE_EITHER else frozenset({self.phase})


def table_coded(*, id: str, op: str, kind: str, original: str, paraphrase: str, constrains, status: int | None,
                documented: bool, source: str, notes: str = "", representation: bool = False,
                x1_ranks: tuple[int, ...] = (2, 3)) -> Constraint:
    """A record of a document whose return-code table belongs to the first-phase call ("第一段接口完成入参校验"):
    a code the table states (`documented` and a `status`) is promised from GetWorkspaceSize; where the table
    states none, the aclnn convention gives the code and a rejection may come from either call."""
    coded = documented and bool(status)
    return Constraint(id=id, ops=(op,), kind=kind, original=original, paraphrase=paraphrase,
                      constrains=tuple(constrains), expected_status=status,
                      code_source=CODE_FROM_DOCUMENT if coded else CODE_FROM_CONVENTION, source=source, notes=notes,
                      phase=PHASE_WORKSPACE if coded and kind == "reject" else PHASE_EITHER,
                      representation=representation, x1_ranks=x1_ranks)


@dataclass(frozen=True)
class Ambiguity:
    """Where the documents are silent or contradict each other: the suite's choice, stated."""

    id: str
    ops: tuple[str, ...]
    statement: str  # what the documents say (or fail to say)
    choice: str  # what the suite does, and why
    option: str = ""  # the named option that selects another reading, if any
    related: tuple[str, ...] = field(default_factory=tuple)  # constraint IDs
