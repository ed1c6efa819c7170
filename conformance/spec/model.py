"""Constraint and ambiguity records: the contract as data.

Each documented promise is one `Constraint` with a stable ID. Tests name the IDs they cover
(`pytest.mark.covers`), which is how `mc2-conformance constraints` finds uncovered promises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Where the expected status code comes from.
CODE_FROM_DOCUMENT = "document"  # the operator document states the code
CODE_FROM_CONVENTION = "convention"  # aclnn convention: 161001 null pointer, 161002 invalid dtype/shape/format/value

KINDS = ("reject", "accept", "compute")

# Where a rejection may surface (the two-phase aclnn interface): the first phase (GetWorkspaceSize) or the
# second (the aclnnXxx launch call, incl. tiling and kernel launch). Documents mostly do not say: "either".
PHASE_WORKSPACE = "workspace"
PHASE_LAUNCH = "launch"
PHASE_EITHER = "either"
PHASES = (PHASE_WORKSPACE, PHASE_LAUNCH, PHASE_EITHER)

# The world sizes both documents allow ("支持1、2、4、8卡"): the one definition the suite uses.
VALID_WORLD_SIZES = (1, 2, 4, 8)
INT32_MAX = 2**31 - 1  # the documents' dimension bound ("不得超过2147483647(INT32_MAX)"), and the source's

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

    @property
    def family(self) -> str:
        return self.id.split("-")[1]

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind {self.kind!r} not in {KINDS}")
        if self.phase not in PHASES:
            raise ValueError(f"{self.id}: phase {self.phase!r} not in {PHASES}")

    def promised_codes(self, status_check: str = "documented") -> frozenset[int] | None:
        """The status codes a rejection must carry; None where any non-success status is conformant."""
        if status_check not in STATUS_CHECKS:
            raise ValueError(f"status check {status_check!r} not in {', '.join(STATUS_CHECKS)}")
        if self.kind != "reject" or self.expected_status is None:
            return None
        if self.code_source == CODE_FROM_DOCUMENT or status_check == "convention":
            return frozenset({self.expected_status})
        return None

    def promised_phases(self) -> frozenset[str]:
        return frozenset({PHASE_WORKSPACE, PHASE_LAUNCH}) if self.phase == PHASE_EITHER else frozenset({self.phase})


@dataclass(frozen=True)
class Ambiguity:
    """Where the documents are silent or contradict each other: the suite's choice, stated."""

    id: str
    ops: tuple[str, ...]
    statement: str  # what the documents say (or fail to say)
    choice: str  # what the suite does, and why
    option: str = ""  # the named option that selects another reading, if any
    related: tuple[str, ...] = field(default_factory=tuple)  # constraint IDs
