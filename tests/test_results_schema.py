"""The results schema (conformance/results.py): one definition of what a run writes and reporting reads.
Round trips of a results.jsonl entry and of summary.json (the page rendered from summary.json alone is the page),
the failure categories as the judge writes them, and the precision level per operator read from summary.json as
a CI system would (plain JSON)."""

import json
import re
from pathlib import Path

from conformance import results
from conformance.pytest_plugin import case_record, catalogue_facts
from conformance.reporting import summarise, write_summary
from conformance.reporting.page import build_page, render_html, render_markdown
from conformance.results import Category, RunEntry, Summary, TestEntry, read_log
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent

RUN = RunEntry(backend="sim", profile="smoke", world_sizes=[1, 2], seed=0, faults=[], accumulation="probabilistic",
               status_check="documented", doc_revision="shared (default)", cann_version=None,
               node={"hostname": "h", "python": "3.11", "platform": "p", "suite_version": "0", "git_revision": "x"},
               environment={"backend": "simulator"}, started=1.0, catalogue=catalogue_facts())


def _precision(level):
    return {"standard": "hicann/opbase", "mode": "informational", "level": level,
            "ratios": {"mare": 1.5, "mere": 1.1, "rmse": 1.0}}


ENTRIES = [
    {"nodeid": "cases/test_marn.py::test_valid[a]", "when": "call", "outcome": "passed", "duration": 0.1,
     "time": 2.0, "mc2": {"case_id": "marn-MARN-SHAPE-001-a", "category": "pass", "op": "MatmulAllReduceAddRmsNorm",
                          "dtype": "float16", "world_size": 2, "kind": "valid", "covers": ["MARN-SHAPE-001"],
                          "seconds": 0.05,
                          "stats": {"rank 0 y (in residual): error bound": {"max_ratio": 0.25, "checked": 4,
                                                                            "failed": 0},
                                    "precision standard": _precision("L1")},
                          "expected": "status 0", "observed": [[0, ""], [0, ""]],
                          "output_hashes": {"y.0": "ab"}, "inputs_sha256": "cd", "seed": 3, "generator": "g1",
                          "stat_outputs": {"rank 0 y (in residual): error bound": "y (in residual)"}}},
    {"nodeid": "cases/test_marn.py::test_valid[b]", "when": "call", "outcome": "passed", "duration": 0.1,
     "time": 2.1, "mc2": {"case_id": "b", "category": "mistrusted", "op": "MatmulAllReduceAddRmsNorm",
                          "dtype": "float16", "world_size": 2, "kind": "valid", "covers": ["MARN-SHAPE-001"],
                          "seconds": 0.05, "stats": {"precision standard": _precision("L0")},
                          "expected": "status 0", "observed": [[0, ""], [0, ""]], "output_hashes": {},
                          "inputs_sha256": "", "seed": 3, "generator": "g1",
                          "mistrusted": "mistrusted: every output is constant"}},
    {"nodeid": "cases/test_v3.py::test_invalid[c]", "when": "call", "outcome": "failed", "duration": 0.1,
     "time": 2.2, "mc2": {"case_id": "c", "category": "wrong_status", "op": "QuantMatmulAllReduceV3",
                          "dtype": "float16", "world_size": 1, "kind": "invalid", "covers": ["V3-SHAPE-001"],
                          "seconds": 0.01, "stats": {}, "expected": "161002", "observed": [[0, ""]],
                          "output_hashes": None, "inputs_sha256": "", "seed": 3, "generator": "g1",
                          "deviations": ["DEV-V3-008"]},
     "message": "c: wrong_status\nrepro: pytest x"},
    {"nodeid": "cases/test_relations.py::test_determinism[d]", "when": "call", "outcome": "passed",
     "duration": 0.2, "time": 2.3,
     "mc2_relation": {"relation": "determinism", "case_id": "d", "status": "held", "held": True, "detail": ""}},
    {"nodeid": "cases/test_marn.py::test_valid[e]", "when": "setup", "outcome": "skipped", "duration": 0.0,
     "time": 2.4, "message": "Skipped: needs 8 devices"},
]


def _log(tmp_path) -> Path:
    path = tmp_path / "results.jsonl"
    results.append(path, RUN)
    for e in ENTRIES:
        results.append(path, TestEntry.from_dict(e))
    results.append(path, ["waiver 'x' matches no collected test"])
    return path


def test_a_results_entry_round_trips_unchanged():
    for e in ENTRIES:
        assert TestEntry.from_dict(e).to_dict() == e
        assert json.loads(json.dumps(TestEntry.from_dict(e).to_dict())) == e  # the JSON text is the same


def test_the_log_is_written_and_read_through_the_schema(tmp_path):
    log = read_log(_log(tmp_path))
    assert log.run.to_dict() == {**RUN.to_dict(), "waiver_findings": ["waiver 'x' matches no collected test"]}
    assert [t.to_dict() for t in log.tests] == ENTRIES
    assert log.tests[0].mc2.category is Category.PASS and log.tests[2].category == "wrong_status"
    assert log.run.catalogue.constraints[0].id and log.run.catalogue.matrix_cells
    assert results.first_failure(tmp_path / "results.jsonl") == ("cases/test_v3.py::test_invalid[c]", 5)


def test_the_summary_json_round_trips_to_the_same_page(tmp_path):
    s = write_summary(_log(tmp_path), tmp_path, allure_built=False)
    back = Summary.read_json(tmp_path / "summary.json")
    assert render_markdown(build_page(back)) == (tmp_path / "summary.md").read_text() == render_markdown(build_page(s))
    assert render_html(build_page(back)) == (tmp_path / "summary.html").read_text()
    assert back.to_json() == json.loads((tmp_path / "summary.json").read_text())
    assert isinstance(s, Summary) and s["verdict"] == s.verdict == "FAIL"  # the mapping view cli.py reads


def test_summary_json_carries_what_the_page_shows(tmp_path):
    write_summary(_log(tmp_path), tmp_path, allure_built=False)
    d = json.loads((tmp_path / "summary.json").read_text())
    # the keys summary.json always had, unchanged
    assert d["verdict"] == "FAIL" and d["mistrusted"] == 1 and d["counts"] == {"passed": 3, "failed": 1, "skipped": 1}
    assert d["skips"] == [{"reason": "needs 8 devices", "tests": 1}]
    assert d["constraints"]["MARN-SHAPE-001"]["passed"] == 2
    # the sections the page shows
    assert d["relations"] == [["determinism", "1", "0", "0"]]
    dev = next(x for x in d["deviations"] if x["id"] == "DEV-V3-008")
    assert dev["run"]["failed"] == 1 and dev["quote"] and dev["source"]
    assert d["accuracy"]["MatmulAllReduceAddRmsNorm / float16"]["y"]["output"] == "y (in residual)"
    assert d["mistrusted_tests"][0]["why"] == "mistrusted: every output is constant"
    assert d["precision"]["standard"] == "hicann/opbase"
    assert d["catalogue"]["ambiguities"] and d["waiver_findings"] == ["waiver 'x' matches no collected test"]


def test_a_ci_system_reads_the_precision_level_per_operator_from_summary_json(tmp_path):
    write_summary(_log(tmp_path), tmp_path, allure_built=False)
    d = json.loads((tmp_path / "summary.json").read_text())  # plain JSON, no suite code
    assert d["precision_levels"] == {"MatmulAllReduceAddRmsNorm / float16": "L0"}  # the worst of L1 and L0
    row = d["precision"]["rows"]["MatmulAllReduceAddRmsNorm / float16"]
    assert row["level"] == "L0" and row["judged"] == 2 and row["ratios"]["mare"] == 1.5
    assert results.precision_levels(d) == d["precision_levels"]
    # and how the fused operator compared with its benchmark chain, per operator
    chain = d["chain"]["MatmulAllReduceAddRmsNorm / float16"]
    assert chain["cases_compared"] == 2 and chain["device_over_chain"]["mare"] == 1.5


def test_the_categories_are_the_words_the_judge_writes():
    assert json.dumps(Category.WRONG_STATUS) == '"wrong_status"' and Category("pass") is Category.PASS
    assert Category.parse("something newer") == "something newer"
    assert Category.MISTRUSTED.passed and not Category.PRECISION.passed
    src = "\n".join(p.read_text() for p in (ROOT / "conformance").rglob("*.py"))
    written = set(re.findall(r'category="(\w+)"', src)) | set(re.findall(r'Outcome\(case\.id, "(\w+)"', src))
    written |= {"pass", "mistrusted", "precision", "timeout", "crash"}  # judge.py's and protocol.RankFailure's
    assert written and written <= {c.value for c in Category}, written - {c.value for c in Category}


def test_old_logs_without_catalogue_facts_still_summarise():
    s = summarise({"backend": "sim"}, [{"nodeid": "t", "outcome": "passed",
                                       "mc2": {"case_id": "a", "covers": ["MARN-SHAPE-001"], "stats": {
                                           "rank 1 normOut: error bound": {"max_ratio": 0.5}}}}])
    assert s.verdict == "PASS" and list(s.constraints) == ["MARN-SHAPE-001"]
    assert set(s.accuracy["? / ?"]) == {"normOut"}  # the output parsed from the check's name (no stat_outputs)


def test_the_plugin_records_a_judged_case_through_the_schema():
    from conformance import casegen
    from conformance.judge import run_case
    from conformance.sim.backend import SimulatorBackend
    case = next(c for c in casegen.catalogue() if c.kind == "valid" and c.profile == "smoke")
    rec = case_record(case, run_case(case, SimulatorBackend(), Context(seed=0)))
    d = json.loads(json.dumps(rec.to_dict(), default=float))
    assert list(d)[:7] == ["case_id", "category", "op", "dtype", "world_size", "kind", "covers"]
    assert d["category"] == "pass" and results.CaseRecord.from_dict(d).to_dict() == d
    assert all(rec.output_name(n) == results.output_of(n) for n in rec.stats)


def test_the_page_does_not_import_the_summary():
    """summary builds the Summary and renders it with page; page knows only the Summary (no import cycle)."""
    import ast
    tree = ast.parse((ROOT / "conformance" / "reporting" / "page.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "summary" not in imported and imported >= {"results"}
