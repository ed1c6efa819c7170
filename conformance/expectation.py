"""The expected outcome of a case, taken from the catalogue alone (the one source of expected statuses).

A case says only whether it must be accepted or rejected and which constraints it covers. What a rejection
must look like comes from the constraint record: the codes a document states (or, under
`--status-check convention`, the aclnn convention's 161001/161002) and the phase it may surface in. Where a
document states no code, any non-success status is conformant: the observed code is recorded, not judged.

Who answered matters (RankResult.answered_by): the documents promise aclnn's statuses, so a code is judged only
where aclnn answered. A client library (torch_npu's op_plugin, MindSpeed) that refuses the arguments with its own
check raises before aclnn is reached, and no aclnn status exists: such a rank is judged "rejected before aclnn"
(conformant where a rejection was expected, a failure where success was), and its observed phase names the
library, so reports show who answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from .casegen.model import Case
from .protocol import ANSWERED_BEFORE_ACLNN, ANSWERED_BY_ACLNN, status_name
from .spec import BY_ID
from .spec.model import PHASE_LAUNCH, PHASE_WORKSPACE, STATUS_CHECKS, UNSUPPORTED_INPUT_READINGS

PHASE_WORDS = {PHASE_WORKSPACE: "GetWorkspaceSize", PHASE_LAUNCH: "the launch call"}


@dataclass(frozen=True)
class Expected:
    accept: bool
    codes: frozenset[int] | None = None  # None: any non-success status
    phases: frozenset[str] = frozenset({PHASE_WORKSPACE, PHASE_LAUNCH})
    basis: str = ""  # the constraint id and why these codes (document revision or convention)
    may_reject: bool = False  # a valid case under one reading of a named ambiguity, invalid under another
    # an invalid case whose violated rules are representation rules no document promises to reject, under the
    # reading "reject-or-compute": success is conformant too, if the outputs then pass the numeric checks
    may_compute: bool = False

    def admits(self, status: int, phase: str = "") -> bool:
        """Whether one rank's (status, phase) is conformant; an unreported phase ("") is not judged."""
        if self.accept:
            return status == 0 or self.may_reject
        if status == 0:
            return self.may_compute
        if self.codes is not None and status not in self.codes:
            return False
        return not phase or phase in self.phases

    def admits_answer(self, status: int, phase: str = "", answered_by: str = ANSWERED_BY_ACLNN) -> bool:
        """`admits`, knowing who answered: a rejection by a client library's own check before aclnn carries no
        aclnn status to judge; it is conformant wherever a rejection is (an invalid case, or a valid one under a
        reading that may reject)."""
        if status and answered_by in ANSWERED_BEFORE_ACLNN:
            return not self.accept or self.may_reject
        return self.admits(status, phase)

    def describe(self) -> str:
        if self.accept and self.may_reject:
            return "success with correct outputs, or any rejection (the documents read both ways)"
        if self.accept:
            return "success (0)"
        codes = ("any rejection (no document states a code)" if self.codes is None
                 else "rejection with " + " or ".join(status_name(c) for c in sorted(self.codes)))
        where = " or ".join(PHASE_WORDS[p] for p in sorted(self.phases, reverse=True))
        also = ", or success with correct outputs (more than promised)" if self.may_compute else ""
        return f"{codes} from {where}{also}"


def observed_phase(phase: str, answered_by: str, status: int) -> str:
    """The phase recorded for one rank's answer (Outcome.observed): aclnn's phase, or, for a rejection by a client
    library before aclnn, that library ("torch_npu (before aclnn)"), so reports and diffs show who answered."""
    if status and answered_by in ANSWERED_BEFORE_ACLNN:
        return f"{answered_by} (before aclnn)"
    return phase


def rejecting_constraint(case: Case) -> str:
    """The constraint an invalid case violates: its first covered `reject` record."""
    for cid in case.covers:
        if BY_ID[cid].kind == "reject":
            return cid
    raise ValueError(f"{case.id}: an invalid case must cover a reject constraint, covers {case.covers}")


def expected(case: Case, *, status_check: str = "documented", constraints=None,
             unsupported_inputs: str = UNSUPPORTED_INPUT_READINGS[0]) -> Expected:
    """`constraints` (id -> Constraint) replaces the default catalogue, e.g. another document revision's;
    `unsupported_inputs` is the reading of an unsupported input no document promises to reject (spec.model)."""
    if status_check not in STATUS_CHECKS:
        raise ValueError(f"--status-check {status_check!r}: expected one of {', '.join(STATUS_CHECKS)}")
    if unsupported_inputs not in UNSUPPORTED_INPUT_READINGS:
        raise ValueError(f"--unsupported-inputs {unsupported_inputs!r}: expected one of "
                         f"{', '.join(UNSUPPORTED_INPUT_READINGS)}")
    if not case.rejects:
        ambiguity = dict(case.params).get("ambiguity")
        if ambiguity:  # e.g. V3-AMB-001: permitted by the suite's reading, forbidden by the literal text
            return Expected(True, basis=f"{ambiguity}: valid under one reading, rejected under the other; "
                                        f"the outcome is recorded", may_reject=True)
        return Expected(True, basis="valid input")
    by_id = constraints or BY_ID
    cid = rejecting_constraint(case)
    c = by_id[cid]
    codes = c.promised_codes(status_check)
    if (unsupported_inputs == "reject-or-compute" and not case.shape_only
            and all(by_id[r].may_compute_instead for r in case.covers if by_id[r].kind == "reject")):
        rules = [by_id[r] for r in case.covers if by_id[r].kind == "reject"]
        allowed = [r.promised_codes(status_check) for r in rules]
        union = None if any(a is None for a in allowed) else frozenset().union(*allowed)
        return Expected(False, union, frozenset().union(*(r.promised_phases() for r in rules)),
                        f"{', '.join(r.id for r in rules)}: unsupported, but no document promises the rejection and "
                        f"the formula is defined on such an input (--unsupported-inputs reject-or-compute)",
                        may_compute=True)
    others = [by_id[o] for o in case.covers if o != cid and by_id[o].kind == "reject"]
    if others:  # several rules violated at once (the fuzzer): any of them may fire first, in either phase
        allowed = [c.promised_codes(status_check)] + [o.promised_codes(status_check) for o in others]
        union = None if any(a is None for a in allowed) else frozenset().union(*allowed)
        phases = frozenset().union(c.promised_phases(), *(o.promised_phases() for o in others))
        names = ", ".join([cid] + [o.id for o in others])
        return Expected(False, union, phases, f"{names}: violated together, any of their outcomes")
    if codes is None:
        basis = f"{cid}: the document states no code"
    elif c.code_source == "document":
        basis = f"{cid}: code stated by {c.source}" + (f" ({c.revision})" if c.revision else "")
    else:
        basis = f"{cid}: aclnn convention (--status-check convention)"
    return Expected(False, codes, c.promised_phases(), basis)
