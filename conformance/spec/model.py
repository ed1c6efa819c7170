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

    @property
    def family(self) -> str:
        return self.id.split("-")[1]

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind {self.kind!r} not in {KINDS}")


@dataclass(frozen=True)
class Ambiguity:
    """Where the documents are silent or contradict each other: the suite's choice, stated."""

    id: str
    ops: tuple[str, ...]
    statement: str  # what the documents say (or fail to say)
    choice: str  # what the suite does, and why
    option: str = ""  # the named option that selects another reading, if any
    related: tuple[str, ...] = field(default_factory=tuple)  # constraint IDs
