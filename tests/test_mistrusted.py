"""MISTRUSTED (oneDNN benchdnn): a passing case whose check cannot discriminate is flagged, not silently passed."""

import dataclasses

from conformance import casegen
from conformance.judge import run_case
from conformance.reporting.page import build_page, render_markdown
from conformance.reporting.summary import summarise
from conformance.sim import SimulatorBackend
from conformance.context import Context
from helpers import heavy

SIM = SimulatorBackend()


def _judge(case):
    return run_case(case, SIM, Context(seed=0, with_metrics=False))


def test_constant_outputs_of_a_bounded_case_are_mistrusted():
    probe = casegen.by_id("v3-probe_int8_cast_non_tie-bf16-bf16-w1")
    assert _judge(probe).category == "pass"  # exact: the constant is the probe's design
    bounded = dataclasses.replace(probe, kind="valid", params=())
    outcome = _judge(bounded)
    assert outcome.category == "mistrusted" and outcome.passed, outcome.report()
    assert "constant" in outcome.detail
    declared = dataclasses.replace(bounded, params=(("trusted_constant", True),))
    assert _judge(declared).category == "pass"


def test_nothing_checked_is_mistrusted_unless_acceptance_is_the_point():
    empty = casegen.by_id("marn_inplace-empty_n-fp16-w1")
    assert _judge(empty).category == "pass"  # covers MARN-EMPTY-002 (accept): the status is the point
    numeric_only = dataclasses.replace(empty, covers=("MARN-INPLACE-001",))
    outcome = _judge(numeric_only)
    assert outcome.category == "mistrusted" and "0 elements" in outcome.detail


def test_a_failure_is_never_mistrusted():
    bounded = dataclasses.replace(casegen.by_id("marn-probe_y_store_non_tie-fp16-w1"), kind="valid", params=())
    assert run_case(bounded, SimulatorBackend(faults=["no-residual"]), Context(seed=0, with_metrics=False)).category \
        not in ("pass", "mistrusted")


def test_the_signoff_sample_has_no_mistrusted_case_on_the_clean_simulator():
    cases = [c for c in casegen.select(profile="signoff", world_sizes=(1,)) if not heavy(c)]
    assert not [c.id for c in cases if _judge(c).category == "mistrusted"]


def test_verdict_page_lists_and_counts_mistrusted():
    tests = [{"nodeid": "cases/test_valid.py::test_valid[a]", "outcome": "passed",
              "mc2": {"case_id": "a", "category": "mistrusted", "mistrusted": "mistrusted: every output is constant",
                      "covers": []}},
             {"nodeid": "cases/test_valid.py::test_valid[b]", "outcome": "passed",
              "mc2": {"case_id": "b", "category": "pass", "covers": []}}]
    s = summarise({"backend": "sim"}, tests)
    assert [t.nodeid for t in s["mistrusted"]] == ["cases/test_valid.py::test_valid[a]"]
    assert s["counts"]["passed"] == 2  # counted as passed
    md = render_markdown(build_page(s))
    assert "Mistrusted: passed, but the check could not discriminate (1)" in md
    assert "test_valid[a]" in md and "every output is constant" in md
