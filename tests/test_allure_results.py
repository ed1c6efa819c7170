"""Allure results of a sign-off run: labels, parameters, run-wide files, attachments, broken crashed tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(out, *extra):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))
    return subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--profile", "smoke", "-n", "2",
                           "--out", str(out), *extra], capture_output=True, text=True, cwd=ROOT, env=env)


def results(out):
    return [json.loads(p.read_text()) for p in (out / "allure-results").glob("*-result.json")]


def labels(r, name):
    return [x["value"] for x in r["labels"] if x["name"] == name]


def test_failed_tests_carry_labels_parameters_and_attachments(tmp_path):
    proc = run(tmp_path, "--fault", "bias-once")
    assert proc.returncode == 1
    rs = results(tmp_path)
    failed = [r for r in rs if r["status"] == "failed"]
    assert failed and all(labels(r, "epic") for r in rs if r["status"] != "skipped")
    r = next(r for r in failed if "MARN-NUM-001" in labels(r, "story")
             and "test_relations" not in r.get("fullName", ""))  # case tests attach their error statistics
    assert labels(r, "epic")[0].endswith("MatmulAllReduceAddRmsNorm") and "NUM" in labels(r, "feature")
    assert labels(r, "severity") == ["critical"]
    params = {p["name"]: p["value"] for p in r["parameters"]}
    assert {"case", "dtype", "world size", "shapes", "seed"} <= set(params)
    assert "Case(" not in params["case"]
    names = {a["name"] for a in r["attachments"]}
    assert {"error statistics", "worst elements"} <= names
    try:
        import matplotlib  # noqa: F401  (the optional `plots` extra)
        assert "error against bound" in names
    except ImportError:
        assert "error against bound" not in names
    passed = [r for r in rs if r["status"] == "passed"]
    assert passed and not any(r.get("attachments") for r in passed)  # nothing attached to passing tests
    d = tmp_path / "allure-results"
    categories = json.loads((d / "categories.json").read_text())
    assert {"wrong status code", "tolerance exceeded", "cross-rank mismatch", "timeout", "crash",
            "not supported"} <= {c["name"] for c in categories}
    env = (d / "environment.properties").read_text()
    assert "backend=sim" in env and "faults=bias-once" in env


def test_a_crashed_workers_test_appears_as_broken(tmp_path):
    proc = run(tmp_path, "--backend", "fake_backend:CrashingBackend")
    assert proc.returncode == 1
    broken = [r for r in results(tmp_path) if r["status"] == "broken"]
    assert any("marn-exact-k16n48-fp16-w2" in r["fullName"] and "crashed" in r["statusDetails"]["message"]
               for r in broken)


def test_report_merges_nodes_and_says_in_one_line_when_allure_is_missing(tmp_path):
    a, b = tmp_path / "nodeA", tmp_path / "nodeB"
    assert run(a).returncode == 0
    assert run(b, "--fault", "no-gamma").returncode == 1
    env = dict(os.environ, PATH="/usr/bin/nonexistent")  # no npx
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "report", str(a), str(b), "--out",
                           str(tmp_path / "merged")], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "allure report: skipped: Node.js (npx) not found" in proc.stdout
    summary = json.loads((tmp_path / "merged" / "summary.json").read_text())
    assert summary["verdict"] == "FAIL" and len(summary["environments"]) == 2
    assert "faults=no-gamma" not in str(summary["environments"][next(k for k in summary["environments"]
                                                                     if "nodeA" in k)])
    md = (tmp_path / "merged" / "summary.md").read_text()
    assert "## Environment of node1:nodeA" in md and "## Environment of node2:nodeB" in md
    assert (tmp_path / "merged" / "summary.html").exists()
    bad = subprocess.run([sys.executable, "-m", "conformance.cli", "report", str(tmp_path / "nothing")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "no results.jsonl" in bad.stderr
