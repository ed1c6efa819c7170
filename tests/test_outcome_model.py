"""The expected outcome has one source, the catalogue: changing a record's code changes what the judge
demands and what the simulator answers; codes a document does not state are recorded, not judged (unless
--status-check convention); the phase a record pins is enforced."""

from __future__ import annotations

import dataclasses

import pytest

from conformance import casegen, operators, spec
from conformance.expectation import expected
from conformance.judge import run_case
from conformance.protocol import PHASE_LAUNCH, PHASE_WORKSPACE, RankResult
from conformance.sim import SimulatorBackend
from conformance.context import Context

MARN_NULL = "marn-MARN-NULL-001-null_x1-fp16-w2"  # the MARN document states no code
V3_NULL = "v3-V3-NULL-001-null_x1-fp16-w2"  # the V3 document's table states 161001


class Answers:
    """A backend that answers every rank with a fixed status and phase."""

    name = "answers"

    def __init__(self, status: int, phase: str = ""):
        self.status, self.phase = status, phase

    def describe(self):
        return {}

    def unsupported_reason(self, inv):
        return None

    def invoke(self, inv):
        return [RankResult(self.status, {}, "", self.phase if self.status else "") for _ in inv.ranks]


def test_a_code_no_document_states_is_recorded_not_judged():
    case = casegen.by_id(MARN_NULL)
    outcome = run_case(case, Answers(561002, PHASE_WORKSPACE), Context(seed=0))
    assert outcome.passed and outcome.observed == [(561002, PHASE_WORKSPACE)] * 2
    assert "any rejection" in outcome.expected
    # acceptance of an input outside the representation rules is never conformant, under either reading
    assert run_case(case, Answers(0), Context(seed=0)).category == "wrong_status"


def test_status_check_convention_enforces_the_convention_code():
    case = casegen.by_id(MARN_NULL)
    assert not run_case(case, Answers(161002), Context(seed=0, status_check="convention")).passed
    assert run_case(case, Answers(161001), Context(seed=0, status_check="convention")).passed


def test_a_documented_code_is_enforced():
    case = casegen.by_id(V3_NULL)
    assert run_case(case, Answers(161001), Context(seed=0)).passed
    failed = run_case(case, Answers(161002), Context(seed=0))
    assert failed.category == "wrong_status" and "161001" in failed.report()


def test_changing_the_catalogue_code_changes_the_judge_and_the_simulator(monkeypatch):
    case = casegen.by_id(V3_NULL)
    record = spec.BY_ID["V3-NULL-001"]
    changed = {**spec.BY_ID, "V3-NULL-001": dataclasses.replace(record, expected_status=161002)}
    # the judge: the same device answer flips with the record
    assert not run_case(case, Answers(161001), Context(seed=0, constraint_records=changed)).passed
    assert run_case(case, Answers(161002), Context(seed=0, constraint_records=changed)).passed
    # the simulator takes its answer from the catalogue too
    monkeypatch.setitem(spec.BY_ID, "V3-NULL-001", changed["V3-NULL-001"])
    sim = SimulatorBackend()
    assert run_case(case, sim, Context(seed=0, constraint_records=changed)).passed
    assert run_case(case, sim, Context(seed=0)).observed[0][0] == 161002


def test_a_pinned_phase_is_enforced():
    case = casegen.by_id(V3_NULL)
    record = spec.BY_ID["V3-NULL-001"]
    pinned = {**spec.BY_ID, "V3-NULL-001": dataclasses.replace(record, phase=PHASE_WORKSPACE)}
    assert run_case(case, Answers(161001, PHASE_WORKSPACE), Context(seed=0, constraint_records=pinned)).passed
    assert not run_case(case, Answers(161001, PHASE_LAUNCH), Context(seed=0, constraint_records=pinned)).passed
    assert run_case(case, Answers(161001, ""), Context(seed=0, constraint_records=pinned)).passed  # phase not reported


def test_cases_carry_no_codes():
    assert not any(hasattr(c, "expected_status") for c in casegen.catalogue()[:5])
    for c in casegen.catalogue():
        if c.rejects:
            assert not expected(c).accept


@pytest.mark.parametrize("check", ["documented", "convention"])
def test_the_contract_simulator_passes_every_invalid_case_under_both_checks(check):
    sim = SimulatorBackend()
    cases = casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8), kinds=("invalid",))
    context = Context(seed=0, status_check=check)
    failed = [o.report() for c in cases for o in [run_case(c, sim, context)] if not o.passed]
    assert not failed, failed[:3]


class LiteralX3Reader(SimulatorBackend):
    """A correct device that reads V3-AMB-001 literally: x3 only with a bf16 output."""

    def invoke(self, inv):
        t = inv.ranks[0]
        if inv.op == "QuantMatmulAllReduceV3" and t.get("output") is not None and t["output"].dtype == "float16" \
                and t.get("x3") is not None:
            return [RankResult(161002, {}, "x3 needs a bf16 output", PHASE_WORKSPACE) for _ in inv.ranks]
        return super().invoke(inv)


def test_both_readings_of_the_x3_ambiguity_pass_every_v3_case():
    from helpers import light_cases
    cases = [c for c in light_cases("signoff") if c.op == "QuantMatmulAllReduceV3"]
    ambiguous = [c for c in cases if dict(c.params).get("ambiguity") == "V3-AMB-001"]
    assert ambiguous
    for backend in (SimulatorBackend(), LiteralX3Reader()):
        failed = [o.report() for c in cases for o in [run_case(c, backend, Context(seed=0, with_metrics=False))]
                  if not o.passed]
        assert not failed, (type(backend).__name__, failed[:3])
    literal = run_case(ambiguous[0], LiteralX3Reader(), Context(seed=0))
    assert literal.passed and literal.observed[0][0] == 161002  # recorded


def test_an_ambiguity_case_still_judges_the_numbers_when_accepted():
    from conformance.sim import SimulatorBackend as Sim
    case = next(c for c in casegen.catalogue()
                if dict(c.params).get("ambiguity") == "V3-AMB-001" and c.world_size > 1)
    assert not run_case(case, Sim(faults=["x3-after-allreduce"]), Context(seed=0)).passed


# ---- a device that does more than promised (--unsupported-inputs) --------------------------------------------

class AcceptsLayouts(SimulatorBackend):
    """A correct device that does more than the documents promise: its runtime makes non-contiguous inputs
    contiguous, so it accepts them and computes the documented formula (the simulator without its layout rules)."""

    name = "accepts-layouts"

    def __init__(self):
        super().__init__(faults=[f"unchecked:{c.id}" for c in spec.CONSTRAINTS if c.may_compute_instead])


class AcceptsLayoutsWrongly(AcceptsLayouts):
    """Accepts the same inputs but computes them wrong: every output perturbed by a large margin."""

    name = "accepts-layouts-wrongly"

    def invoke(self, inv):
        results = super().invoke(inv)
        for res in results:
            for a in res.outputs.values():
                a[...] = (a.astype("float32") * 2 + 1).astype(a.dtype)
        return results


def _layout_cases():
    cases = [c for c in casegen.catalogue() if c.kind == "invalid" and not c.shape_only and c.origin == "catalogue"
             and spec.BY_ID[c.covers[0]].may_compute_instead]
    picked = {}
    for c in sorted(cases, key=lambda c: (c.world_size, c.id)):
        picked.setdefault(c.covers[0], c)  # one per rule, smallest world size
    return list(picked.values())


def test_representation_rules_are_the_contiguity_rules_no_document_promises():
    ids = {c.id for c in spec.CONSTRAINTS if c.may_compute_instead}
    # exactly the rejected layouts (contiguity) of every operator, x1's among them; none of them with a promised code
    assert ids == {c.id for c in spec.CONSTRAINTS if "-LAYOUT-" in c.id and c.kind == "reject"}
    x1_rules = [spec.BY_ID[i] for i in ids if spec.BY_ID[i].constrains == ("x1",)]
    assert {op for c in x1_rules for op in c.ops} == set(operators.names())
    assert all(not spec.BY_ID[i].rejection_promised for i in ids)


@pytest.mark.parametrize("case", _layout_cases(), ids=lambda c: c.id)
def test_a_device_that_computes_an_unsupported_layout_correctly_passes_by_default_not_literally(case):
    clean = run_case(case, SimulatorBackend(), Context(with_metrics=False))
    assert clean.passed and clean.observed[0][0] != 0  # the simulator rejects: conformant under both readings
    assert run_case(case, SimulatorBackend(), Context(with_metrics=False, unsupported_inputs="reject")).passed
    better = run_case(case, AcceptsLayouts(), Context(with_metrics=False))
    assert better.passed and all(s == 0 for s, _ in better.observed), better.report()
    assert any("error bound" in c.name or "exact" in c.name or "output" in c.name for c in better.checks), \
        "an accepted unsupported input must be judged numerically"
    literal = run_case(case, AcceptsLayouts(), Context(with_metrics=False, unsupported_inputs="reject"))
    assert literal.category == "wrong_status"
    wrong = run_case(case, AcceptsLayoutsWrongly(), Context(with_metrics=False))
    assert not wrong.passed and wrong.category != "wrong_status", wrong.report()


def test_shape_only_cases_must_reject_under_both_readings():
    case = next(c for c in casegen.catalogue() if c.shape_only and c.kind == "invalid")
    assert not expected(case).may_compute
    assert run_case(case, Answers(0), Context()).category == "wrong_status"


def test_ranks_that_disagree_on_an_unsupported_input_fail():
    case = _layout_cases()[0]
    if case.world_size < 2:
        case = next(c for c in casegen.catalogue() if c.kind == "invalid" and not c.shape_only
                    and spec.BY_ID[c.covers[0]].may_compute_instead and c.world_size >= 2)

    class Split(AcceptsLayouts):
        def invoke(self, inv):
            results = super().invoke(inv)
            results[-1] = RankResult(161002, {}, "rejected", PHASE_WORKSPACE)
            return results

    outcome = run_case(case, Split(), Context(with_metrics=False))
    assert outcome.category == "wrong_status" and "ranks disagree" in outcome.report()
