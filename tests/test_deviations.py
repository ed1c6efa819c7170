"""Deviation records, per published source revision: quotes are real document text, every constraint exists, and
each record's case patterns are exact on the source-behaviour model at every revision where it holds: every matched
case fails on sim-cann there (the waiver is needed) and no other case fails there (the waivers are sufficient).
Revisions that carry the same behaviour changes (sim/cann/revisions.py) behave alike: one of each group runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import casegen
from conformance.context import Context
from conformance.judge import run_case
from conformance.sim import SimulatorBackend
from conformance.sim.cann import revisions
from conformance.sim.cann.backend import CannOptions, SimCannBackend
from conformance.spec import BY_ID as CONSTRAINTS
from conformance.spec import deviations as deviation_records
from conformance.spec.deviations import DEVIATIONS, deviations_of
from helpers import contract_doc, light_cases

CASES = [c for c in light_cases("signoff")]
BY_CASE = {c.id: c for c in casegen.catalogue()}
ROOT = Path(__file__).resolve().parents[1]


def _groups() -> dict[frozenset, list[str]]:
    groups: dict = {}
    for name in revisions.names():
        groups.setdefault(frozenset(c.id for c in revisions.CHANGES if name in c.revisions), []).append(name)
    return groups


# the newest revision of each behaviour group (the baseline's group is represented by c29bc10 itself)
GROUPS = _groups()
TESTED = sorted({names[-1] if revisions.BASELINE not in names else revisions.BASELINE for names in GROUPS.values()},
                key=revisions.names().index)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module", params=TESTED)
def at_revision(request):
    """(revision, outcome per light signoff case) of sim-cann at that source revision."""
    backend = SimCannBackend(CannOptions(revision=request.param))
    return request.param, {c.id: run_case(c, backend, Context(seed=0, with_metrics=False)) for c in CASES}


def test_every_revision_is_tested_through_its_group():
    assert {n for names in GROUPS.values() for n in names} == set(revisions.names())
    assert all(any(t in names for t in TESTED) for names in GROUPS.values())
    assert deviation_records.NEWEST == revisions.DEFAULT
    assert all(set(d.revisions) <= set(revisions.names()) for d in DEVIATIONS)


@pytest.mark.parametrize("dev", DEVIATIONS, ids=lambda d: d.id)
def test_record_is_well_formed(dev):
    doc = dev.document_ref.split(" / ")[0]
    text = _norm(contract_doc(doc))
    for sentence in dev.document_quote.split("\n"):
        assert _norm(sentence) in text, f"{dev.id}: not verbatim in {doc}: {sentence}"
    assert all(cid in CONSTRAINTS for cid in dev.constraints)
    assert "@" in dev.source_ref and ":" in dev.source_ref


def test_waiver_is_needed(at_revision):
    revision, outcomes = at_revision
    clean = SimulatorBackend()
    held = deviation_records.active(revision)
    assert held, revision
    for dev in held:
        matched = [cid for cid in outcomes if dev in deviations_of(cid, revision)]
        assert matched, f"{dev.id}: its patterns match no signoff case"
        for cid in matched:
            assert not outcomes[cid].passed, f"{dev.id}: {cid} passes on sim-cann at {revision}: nothing to waive"
            # and the contract simulator passes it: the failure is the deviation, not the case
            assert run_case(BY_CASE[cid], clean, Context(seed=0, with_metrics=False)).passed, cid
            assert set(BY_CASE[cid].covers) & set(dev.constraints) or BY_CASE[cid].kind == "valid", cid


def test_waivers_are_sufficient(at_revision):
    revision, outcomes = at_revision
    unexplained = [o.report() for cid, o in outcomes.items() if not o.passed and not deviations_of(cid, revision)]
    assert not unexplained, f"sim-cann at {revision} fails cases no deviation names:\n" + "\n".join(unexplained[:5])


def test_a_retired_deviation_no_longer_fails_and_a_literal_one_fails_only_literally():
    """DEV-V3-004 (strided x2 read as contiguous) is retired where the host rejects such an x2; DEV-V3-009 (a
    non-contiguous x1 made contiguous and computed) fails only the literal --unsupported-inputs reading."""
    strided = [c for c in CASES if c.id.startswith("v3-V3-LAYOUT-003-x2_strided-")][:2]
    x1 = [c for c in CASES if c.id.startswith("v3-V3-LAYOUT-001-")][:2]
    assert strided and x1
    old, new = (SimCannBackend(CannOptions(revision=r)) for r in (revisions.BASELINE, revisions.DEFAULT))
    quick = Context(with_metrics=False)
    for c in strided:
        assert not run_case(c, old, quick).passed and run_case(c, new, quick).passed, c.id
    for c in x1:
        assert run_case(c, old, quick).passed, c.id  # rejected at launch at the baseline: conformant
        computed = run_case(c, new, quick)
        assert computed.passed and computed.observed[0][0] == 0, c.id  # accepted and computed correctly
        assert not run_case(c, new, quick.replace(unsupported_inputs="reject")).passed, c.id
    assert [d.id for d in deviations_of(x1[0].id, revisions.DEFAULT, "reject")] == ["DEV-V3-009"]
    assert not deviations_of(x1[0].id, revisions.DEFAULT)


@pytest.mark.parametrize("revision", [revisions.BASELINE, revisions.DEFAULT])
def test_predicted_first_hardware_run(tmp_path, revision):
    """`run --backend sim-cann --sim-cann-revision REV` fails on exactly that revision's deviation cases, and with
    its shipped waivers it is PASS WITH WAIVERS with every waived failure a named deviation (world size 2 keeps it
    short; the README quotes the full run)."""
    import json
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[1]
    runs = {}
    waivers = str(root / deviation_records.waiver_file(revision))
    for name, extra in (("bare", []), ("waived", ["--waivers", waivers])):
        out = tmp_path / name
        proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--backend", "sim-cann",
                               "--sim-cann-revision", revision, "--world-sizes", "2", "-n", "2", "--out", str(out),
                               *extra],
                              capture_output=True, text=True, cwd=root)
        entries = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        runs[name] = (proc, {e["nodeid"]: e for e in entries if "nodeid" in e})
    bare, waived = runs["bare"], runs["waived"]
    assert bare[0].returncode == 1 and "verdict FAIL" in bare[0].stdout
    assert waived[0].returncode == 0 and "verdict PASS WITH WAIVERS" in waived[0].stdout, waived[0].stdout[-2000:]
    failed = {n for n, e in bare[1].items() if e["outcome"] == "failed"}
    waived_ids = {n for n, e in waived[1].items() if e["outcome"] == "waived"}
    assert failed and failed == waived_ids
    for nodeid in waived_ids:
        case_id = nodeid.split("[", 1)[1].rstrip("]")
        assert deviations_of(case_id, revision), nodeid
