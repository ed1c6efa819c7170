"""Every check of the suite is shown able to fail: each named simulator fault is caught by some case,
and the clean simulator passes the same cases."""

import pytest

from conformance.sim.faults import FAULTS
from helpers import first_kill, light_cases
from conformance.context import Context

CASES = light_cases("signoff")


@pytest.mark.parametrize("fault", sorted(f for f in FAULTS if FAULTS[f].kind == "contract"))  # not behaviour faults
def test_fault_is_killed(fault):
    kill = first_kill(fault, CASES)
    assert kill is not None, f"fault {fault} survives every signoff case: a hole in the suite"
    case, outcome = kill
    # killed for the right reason: by a case about a constraint the fault violates
    assert set(case.covers) & set(FAULTS[fault].violates), (
        f"fault {fault} was first killed by {case.id} ({case.covers}), not by a case covering "
        f"{FAULTS[fault].violates}: {outcome.report()}")


def test_every_rejection_constraint_has_an_unchecked_fault():
    from conformance.spec import CONSTRAINTS
    rejects = {c.id for c in CONSTRAINTS if c.kind == "reject"}
    assert rejects == {f.split(":", 1)[1] for f in FAULTS if f.startswith("unchecked:")}


def test_every_numeric_and_accept_constraint_has_a_fault():
    from conformance.spec import CONSTRAINTS
    violated = {cid for f in FAULTS.values() for cid in f.violates}
    missing = [c.id for c in CONSTRAINTS if c.id not in violated]
    assert not missing, f"constraints no fault violates (their checks are not shown able to fail): {missing}"


@pytest.mark.parametrize("fault,category", [("truncate", "tolerance"), ("lsb-drift", "exact_mismatch"),
                                            ("unchecked:MARN-SHAPE-003", "wrong_status"),
                                            ("nullptr-as-invalid", "wrong_status")])
def test_fault_category(fault, category):
    _, outcome = first_kill(fault, CASES)
    assert outcome.category == category, outcome.report()


def test_truncation_is_caught_by_the_balance_where_the_bound_has_slack():
    """Truncation errs by < 1 ulp: at larger world sizes that is inside the bound, and only the signed-error
    statistic sees it."""
    from conformance import casegen
    from conformance.judge import run_case
    from conformance.sim import SimulatorBackend
    backend = SimulatorBackend(faults=["truncate"])
    case = casegen.by_id("marn-odd-x1_3d-x2N-bias-eps0.01-fp16-w8")
    outcome = run_case(case, backend, Context(seed=0, with_metrics=False))
    bound_checks = [c for c in outcome.checks if "error bound" in c.name]
    assert bound_checks and all(c.passed for c in bound_checks), outcome.report()
    assert outcome.category == "tolerance"
    assert outcome.failures and all("balance" in c.name for c in outcome.failures)
    assert "toward zero" in outcome.failures[0].message
