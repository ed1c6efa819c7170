"""The determinism promise of later document revisions (MARN-DET-001, V3-DET-001): a check only where the selected
revision makes it and the run was under its setting (HCCL_DETERMINISTIC=true); the run records the setting it used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conformance import casegen, relations
from conformance.context import from_values
from conformance.options import BY_FLAG, OptionError
from conformance.reporting.page import build_page, render_markdown
from conformance.reporting.summary import summarise
from conformance.results import read_log
from conformance.sim import SimulatorBackend
from conformance.spec import constraints_for
from helpers import ROOT

MARN_W2 = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"
V3_W2 = "v3-tiny-fp16_i64-x1_3d-x2nd-bias-deq1n-nox3-fp-fp16-w2"
MARN, INPLACE, V3 = "MatmulAllReduceAddRmsNorm", "InplaceMatmulAllReduceAddRmsNorm", "QuantMatmulAllReduceV3"
ON, OFF, UNSET = {"HCCL_DETERMINISTIC": "true"}, {"HCCL_DETERMINISTIC": "false"}, {"HCCL_DETERMINISTIC": None}


# ---- the rule ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [MARN, INPLACE, V3])
def test_a_check_only_under_the_newest_documents_and_their_setting(op):
    newest = constraints_for("latest")
    required, why = relations.determinism_rule(newest, op, ON)
    assert required and why.endswith(": checked") and "HCCL_DETERMINISTIC=true" in why
    assert relations.determinism_promise(newest, op).id == ("V3-DET-001" if op == V3 else "MARN-DET-001")
    for environ in (OFF, UNSET):
        required, why = relations.determinism_rule(newest, op, environ)
        assert not required and why.endswith(": recorded") and "not under it" in why
    required, why = relations.determinism_rule(constraints_for(None), op, ON)  # the shared documents: no promise
    assert not required and why == "the selected documents do not promise determinism: recorded"
    assert relations.determinism_promise(constraints_for(None), op) is None


def test_the_8_5_0_wording_names_a_runtime_call_the_suite_cannot_see():
    era = constraints_for("repo-f33d3ce")
    required, why = relations.determinism_rule(era, V3, ON)
    assert not required and "aclrtCtxSetSysParamOpt" in why and why.endswith(": recorded")
    assert relations.determinism_rule(era, V3, ON, require=True)[0]  # --mc2-require-determinism still forces it


def test_the_fault_fails_the_relation_only_when_the_rule_requires_it():
    backend = SimulatorBackend(faults=["nondeterministic"])
    case = casegen.by_id(MARN_W2)
    for constraints, environ, status in ((constraints_for("latest"), ON, relations.FAIL),
                                         (constraints_for("latest"), UNSET, relations.RECORDED),
                                         (constraints_for(None), ON, relations.RECORDED)):
        required, why = relations.determinism_rule(constraints, MARN, environ)
        result = relations.determinism(backend, case, 0, require=required, why=why)
        assert result.status == status, (why, result.report())
        assert why in result.detail
    clean = relations.determinism(SimulatorBackend(), case, 0, require=True, why="checked")
    assert clean.status == relations.PASS  # the simulator is deterministic: the check passes


# ---- the option ---------------------------------------------------------------------------------------------------

def test_the_option_reads_the_environment_and_refuses_undocumented_values(monkeypatch):
    option = BY_FLAG["--hccl-deterministic"]
    monkeypatch.delenv("HCCL_DETERMINISTIC", raising=False)
    assert from_values(lambda o: None).hccl_deterministic is None
    assert from_values(lambda o: "TRUE" if o is option else None).hccl_deterministic == "true"
    monkeypatch.setenv("HCCL_DETERMINISTIC", "strict")
    assert from_values(lambda o: None).hccl_deterministic == "strict"
    assert from_values(lambda o: "false" if o is option else None).hccl_deterministic == "false"  # option wins
    with pytest.raises(OptionError, match="--hccl-deterministic '1': expected one of false, true, strict"):
        from_values(lambda o: "1" if o is option else None)


# ---- the suite's own test, run as a user runs it ---------------------------------------------------------------------

def _run_repeat_test(tmp_path, *options, environ=None):
    env = {k: v for k, v in os.environ.items() if k != "HCCL_DETERMINISTIC"}
    env.update({"PYTHONPATH": str(ROOT), **(environ or {})})
    log = tmp_path / "results.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"cases/test_relations.py::test_repeat_runs[{MARN_W2}]",
         f"cases/test_relations.py::test_repeat_runs[{V3_W2}]", "-q", "-p", "no:cacheprovider",
         "--mc2-fault", "nondeterministic", "--mc2-results", str(log), *options],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    return proc, read_log(log)


def test_under_the_newest_documents_and_the_setting_the_fault_fails_the_determinism_test(tmp_path):
    proc, log = _run_repeat_test(tmp_path, "--mc2-doc-revision", "latest", "--mc2-hccl-deterministic", "true")
    assert proc.returncode == 1 and "2 failed" in proc.stdout, proc.stdout[-2000:]
    assert "MARN-DET-001" in proc.stdout and "V3-DET-001" in proc.stdout
    assert "--mc2-hccl-deterministic true" in proc.stdout  # the repro line keeps the setting
    run = log.run
    assert run.hccl_deterministic == "true" and run.determinism[V3].endswith(": checked")
    assert run.doc_revision == ("aclnnMatmulAllReduceAddRmsNorm.md=repo-cd2d647,"  # "latest" resolved
                                "aclnnQuantMatmulAllReduceV3.md=repo-7f36925")
    assert any("DRIFT-MARN-040" in n for n in run.doc_notices)
    assert {"MARN-DET-001", "V3-DET-001"} <= {c.id for c in run.catalogue.constraints}
    # the verdict page says which setting the run used, how determinism was judged, and the deprecation
    s = summarise(log.run, log.tests)
    assert s.signed_off["HCCL_DETERMINISTIC"] == "true"
    assert "which this run used (HCCL_DETERMINISTIC=true): checked" in s.signed_off["determinism"]
    assert "deprecated by the selected document revision" in s.signed_off["document notices"]
    head = render_markdown(build_page(s)).split("## Matrix")[0]
    assert "| HCCL_DETERMINISTIC | true |" in head and "document notices" in head
    assert json.loads(json.dumps(s.to_json()))["signed_off"]["HCCL_DETERMINISTIC"] == "true"  # summary.json


def test_the_setting_from_the_environment_counts_too(tmp_path):
    proc, log = _run_repeat_test(tmp_path, "--mc2-doc-revision", "latest", environ={"HCCL_DETERMINISTIC": "true"})
    assert proc.returncode == 1 and "2 failed" in proc.stdout, proc.stdout[-2000:]
    assert log.run.hccl_deterministic == "true"


@pytest.mark.parametrize("options", [("--mc2-doc-revision", "latest"),  # the promise, not the setting
                                     ("--mc2-doc-revision", "latest", "--mc2-hccl-deterministic", "false"),
                                     ("--mc2-hccl-deterministic", "true"),  # the setting, the shared documents
                                     ()])
def test_without_the_setting_or_under_the_shared_documents_it_is_recorded(tmp_path, options):
    proc, log = _run_repeat_test(tmp_path, *options)
    assert proc.returncode == 0 and "2 passed" in proc.stdout, proc.stdout[-2000:]
    rels = [t.mc2_relation for t in log.tests]
    assert [r.status for r in rels] == ["recorded", "recorded"] and not any(r.held for r in rels)
    assert log.run.hccl_deterministic == ("unset" if "--mc2-hccl-deterministic" not in options else options[-1])
    assert all(why.endswith(": recorded") for why in log.run.determinism.values())
    if "--mc2-doc-revision" not in options:
        assert log.run.doc_notices == [] and "MARN-DET-001" not in {c.id for c in log.run.catalogue.constraints}
        assert "document notices" not in summarise(log.run, log.tests).signed_off


def test_the_constraint_listing_of_the_newest_documents_states_the_deprecation_and_the_new_promises():
    env = {k: v for k, v in os.environ.items() if k != "HCCL_DETERMINISTIC"}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "constraints", "--doc-revision", "latest"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = proc.stdout.splitlines()[0]
    assert first.startswith("NOTICE: aclnnMatmulAllReduceAddRmsNorm and aclnnInplaceMatmulAllReduceAddRmsNorm: "
                            "deprecated by the selected document revision")
    assert "须知：该接口后续版本会废弃" in first and "DRIFT-MARN-040" in first
    for cid in ("MARN-DET-001", "V3-DET-001"):
        line = next(i for i, x in enumerate(proc.stdout.splitlines()) if x.startswith(cid))
        assert proc.stdout.splitlines()[line + 1].strip() == "from repo-f33d3ce, under HCCL_DETERMINISTIC=true"
