"""Differential fuzzing finds behaviour changes the contract checks cannot see: the behaviour faults
code-drift (an unpinned rejection code moves) and ulp-inside-bound (one normOut element 1 ulp off, inside the
bound) pass the contract, while the fuzzer (sim against sim + fault) finds and shrinks each."""

import json

import pytest

from conformance import casegen
from conformance.fuzz import differential, runner
from conformance.judge import run_case
from conformance.sim import SimulatorBackend
from conformance.sim.faults import FAULTS
from conformance.context import Context
from helpers import heavy

NO_METRICS = Context(with_metrics=False)

BEHAVIOUR = [("code-drift", "invalid", "status"), ("ulp-inside-bound", "marn", "bits")]


def test_behaviour_faults_are_marked_and_violate_nothing():
    for name, _, _ in BEHAVIOUR:
        assert FAULTS[name].kind == "behaviour" and FAULTS[name].violates == ()
    assert all(f.kind == "contract" for n, f in FAULTS.items() if n not in dict((b[0], b) for b in BEHAVIOUR))


@pytest.mark.parametrize("fault,space,cls", BEHAVIOUR)
def test_differential_fuzzer_finds_and_shrinks_what_the_contract_passes(fault, space, cls, tmp_path):
    clean, faulted = SimulatorBackend(), SimulatorBackend(faults=[fault])
    # the contract alone: fuzzing the faulted simulator finds nothing
    contract = runner.fuzz(faulted, space=space, budget=30, seed=3, shrink_seconds=5)
    assert contract.failure is None, contract.report
    # sim against sim + fault: any difference is a failure, shrunk with its class kept
    result = runner.fuzz(clean, space=space, budget=60, seed=3, shrink_seconds=10,
                         reference=differential.LiveReference(faulted, f"sim +{fault}"))
    assert result.failure is not None and result.difference == cls, result.report
    assert f"difference {cls}" in result.report
    # the shrunk case passes the contract on the faulted simulator, and still differs
    case = result.failure
    on_fault = run_case(case, faulted, Context(seed=0, with_metrics=False))
    assert on_fault.passed, on_fault.report()
    diffs = differential.differences(differential.Behaviour.of(on_fault),
                                     differential.Behaviour.of(run_case(case, clean, NO_METRICS)))
    assert cls in {c for c, _ in diffs}
    if space == "marn":  # shrunk: a small valid case
        assert case.cost <= 64, case
    # it round-trips through failure.json (the --export path writes the same record)
    path = runner.save_failure(result, tmp_path / "failure.json")
    back = runner.load_failure(path)
    assert (back.id, back.fixed_seed, back.tensors) == (case.id, case.fixed_seed, case.tensors)


def test_behaviour_faults_survive_signoff_cases_of_their_kind():
    """A sample of the signoff catalogue: the contract passes on the faulted simulator wherever it passes clean."""
    cases = [c for c in casegen.select(profile="signoff", world_sizes=(1, 2))
             if c.op != "QuantMatmulAllReduceV3" and not heavy(c)][::9]
    for fault in ("code-drift", "ulp-inside-bound"):
        backend, clean, differs = SimulatorBackend(faults=[fault]), SimulatorBackend(), 0
        for c in cases:
            a, b = run_case(c, backend, NO_METRICS), run_case(c, clean, NO_METRICS)
            assert a.category == b.category, (fault, a.report())
            differs += a.observed != b.observed or a.output_hashes != b.output_hashes
        assert differs, f"{fault} changed nothing on {len(cases)} cases"


def test_differences_name_each_class():
    B = differential.Behaviour
    ref = B("pass", ((0, ""), (0, "")), {"y.0": "a", "y.1": "a"})
    assert differential.differences(ref, ref) == []
    classes = lambda new: [c for c, _ in differential.differences(ref, new)]  # noqa: E731
    assert classes(B("wrong_status", ((161002, "workspace"), (0, "")), {})) == ["status", "phase", "category",
                                                                                "outputs"]
    assert classes(B("pass", ((0, ""), (0, "")), {"y.0": "a", "y.1": "b"})) == ["bits"]
    assert classes(B("pass", ((0, ""),), {"y.0": "a", "y.1": "a"})) == ["ranks"]


def test_baseline_compares_only_recorded_inputs(tmp_path):
    """--baseline: the drawn cases are the recorded ones at their seeds; a record whose inputs hash differs is
    not comparable (skipped), and a recorded behaviour that differs is found."""
    cases = [c for c in casegen.select(profile="signoff", world_sizes=(1,)) if c.kind == "invalid"
             and c.op.startswith("Matmul") and c.world_size == 1][:6]
    assert len(cases) == 6
    lines = [{"run": {"backend": "sim"}}]
    drift = SimulatorBackend(faults=["code-drift"])
    for i, c in enumerate(cases):
        o = run_case(c, drift, Context(seed=0, with_metrics=False))
        mc2 = {"case_id": c.id, "category": o.category, "observed": o.observed, "output_hashes": o.output_hashes,
               "inputs_sha256": o.inputs_sha256 if i else "0" * 64, "seed": 0}
        lines.append({"nodeid": f"cases/test_x.py::test_invalid[{c.id}]", "outcome": "passed", "mc2": mc2})
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    ref = differential.BaselineReference(tmp_path)
    assert len(ref.pool) == len(cases)
    same = runner.fuzz(drift, budget=20, seed=0, shrink_seconds=5, reference=differential.BaselineReference(tmp_path))
    assert same.failure is None and same.compared and same.skipped
    changed = runner.fuzz(SimulatorBackend(), budget=20, seed=0, shrink_seconds=5, reference=ref)
    assert changed.failure is not None and changed.difference == "status", changed.report
