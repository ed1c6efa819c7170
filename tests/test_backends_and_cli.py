"""Backend selection, option errors, and the command line end to end (through real pytest runs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import casegen
from conformance.backends import BackendError, load_backend
from conformance.judge import run_case
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=str(ROOT / "tests"))


def run(*args, timeout=300):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=ENV,
                          timeout=timeout)


def test_import_path_backend_and_declared_unsupported_cases():
    backend = load_backend("fake_backend:ThirdPartyBackend")
    assert backend.name == "third-party"
    assert load_backend("fake_backend:instance").name == "third-party"
    shape_only = next(c for c in casegen.catalogue() if c.shape_only)
    assert run_case(shape_only, backend, Context(seed=0)).category == "unsupported"


def test_backend_exception_is_a_finding_not_a_crash():
    case = casegen.by_id("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2")
    outcome = run_case(case, load_backend("fake_backend:BrokenBackend"), Context(seed=0))
    assert outcome.category == "backend_error" and "device lost" in outcome.detail


@pytest.mark.parametrize("spec,match", [("nonsense", "unknown backend 'nonsense'"),
                                        ("no_such_module:x", "cannot import"),
                                        ("fake_backend:missing", "has no attribute"),
                                        ("json:dumps", "calling dumps"),
                                        ("json:decoder", "lacks")])
def test_bad_backend_selection_is_one_clear_line(spec, match):
    with pytest.raises(BackendError, match=match) as err:
        load_backend(spec)
    assert "\n" not in str(err.value)


def test_unknown_fault_is_rejected():
    with pytest.raises(BackendError, match="unknown fault"):
        load_backend("sim", faults=["no-such-fault"])


@pytest.mark.parametrize("args,match", [(["--mc2-backend", "nonsense"], "unknown backend"),
                                        (["--mc2-world-sizes", "3"], "--mc2-world-sizes"),
                                        (["--mc2-profile", "huge"], "--mc2-profile"),
                                        (["--mc2-seed", "x"], "--mc2-seed"),
                                        (["--mc2-fault", "nope"], "unknown fault")])
def test_bad_pytest_options_give_a_usage_error(args, match):
    proc = run("-m", "pytest", "cases", "-p", "no:cacheprovider", "--collect-only", "-q", *args)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert match in proc.stderr and "Traceback" not in proc.stderr


def test_constraints_json_lists_every_constraint_covered_with_faults():
    proc = run("-m", "conformance.cli", "constraints", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["uncovered"] == []
    assert all(r["tests"] and r["faults"] for r in data["constraints"])
    assert any(a["id"] == "MARN-AMB-003" for a in data["ambiguities"])


def test_run_clean_smoke_writes_a_passing_report(tmp_path):
    proc = run("-m", "conformance.cli", "run", "--profile", "smoke", "-n", "0", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verdict"] == "PASS" and summary["counts"]["passed"] > 0
    assert (tmp_path / "junit.xml").exists() and "<table id='matrix'>" in (tmp_path / "summary.html").read_text()


def test_run_with_a_fault_fails_names_the_constraint_and_prints_a_repro(tmp_path):
    proc = run("-m", "conformance.cli", "run", "--profile", "smoke", "-n", "2", "--fault", "bias-once",
               "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stdout[-2000:]
    md = (tmp_path / "summary.md").read_text()
    assert "**FAIL**" in md and "| MARN-NUM-001 | fail |" in md
    assert "repro: pytest" in md and "--mc2-fault bias-once" in md and "outside the error bound" in md
    # the repro line reruns exactly the failing case, and it fails again
    repro = next(line for line in md.splitlines() if line.startswith("repro: "))[len("repro: "):]
    import shlex
    argv = shlex.split(repro)
    again = run("-m", *argv, "-p", "no:cacheprovider", "-q")
    assert again.returncode == 1 and "1 failed" in again.stdout


def test_repro_command_by_case_id():
    ok = run("-m", "conformance.cli", "repro", "marn-exact-k16n48-fp16-w2")
    assert ok.returncode == 0 and "exact" in ok.stdout
    bad = run("-m", "conformance.cli", "repro", "marn-exact-k16n48-fp16-w2", "--fault", "lsb-drift")
    assert bad.returncode == 1 and "differ from the exact result" in bad.stdout
    unknown = run("-m", "conformance.cli", "repro", "no-such-case")
    assert unknown.returncode == 2 and "unknown case id" in unknown.stderr and "Traceback" not in unknown.stderr


def test_golden_check_command():
    proc = run("-m", "conformance.cli", "golden")
    assert proc.returncode == 0 and "intact and current" in proc.stdout


def test_a_worker_crash_loses_nothing_and_fails_the_run(tmp_path):
    proc = run("-m", "conformance.cli", "run", "--profile", "smoke", "-n", "2", "--backend",
               "fake_backend:CrashingBackend", "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stdout[-2000:]
    lines = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    results = {e["nodeid"]: e for e in lines if "nodeid" in e}
    crashed = [n for n, e in results.items() if "marn-exact-k16n48-fp16-w2" in n and "test_exact" in n]
    assert crashed and results[crashed[0]]["outcome"] == "failed"
    assert "crashed" in results[crashed[0]]["message"]
    collected = run("-m", "pytest", "cases", "--mc2-profile", "smoke", "--collect-only", "-q", "-p", "no:cacheprovider")
    n_collected = int(collected.stdout.strip().splitlines()[-1].split()[0].split("/")[0])  # "80/83 tests collected"
    assert len(results) == n_collected  # every other test still ran and was recorded
    assert json.loads((tmp_path / "summary.json").read_text())["verdict"] == "FAIL"


def test_selfcheck_scores_faults_and_the_clean_run(tmp_path):
    proc = run("-m", "conformance.cli", "selfcheck", "--profile", "smoke", "-n", "2",
               "--faults", "bias-once,unchecked:MARN-ATTR-00*", "--out", str(tmp_path))
    # the smoke profile has no commTurn / streamMode cases: those two faults survive it, and must be reported
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-1000:]
    result = json.loads((tmp_path / "selfcheck.json").read_text())
    assert result["clean"]["passed"] and result["total"] == 5 and result["killed"] == 3
    survivors = sorted(r["fault"] for r in result["faults"] if not r["killed"])
    assert survivors == ["unchecked:MARN-ATTR-002", "unchecked:MARN-ATTR-003"]
    assert all(r["first_kill"].startswith("cases/") for r in result["faults"] if r["killed"])
    md = (tmp_path / "selfcheck.md").read_text()
    assert "3/5 faults killed" in md and "| unchecked:MARN-ATTR-002 | MARN-ATTR-002 | SURVIVED |" in md
    # the constraint listing shows which promises the self-check proved enforceable
    listing = run("-m", "conformance.cli", "constraints", "--selfcheck", str(tmp_path))
    line = next(x for x in listing.stdout.splitlines() if x.startswith("MARN-ATTR-001"))
    assert "1/1" in line
    bad = run("-m", "conformance.cli", "selfcheck", "--faults", "no-such-*", "--out", str(tmp_path))
    assert bad.returncode == 2 and "matches no fault" in bad.stderr


def test_corrupted_regressions_file_is_a_one_line_usage_error(tmp_path):
    bad = tmp_path / "regressions.json"
    bad.write_text("{broken")
    proc = subprocess.run([sys.executable, "-m", "pytest", "cases", "--collect-only", "-q", "-p", "no:cacheprovider"],
                          capture_output=True, text=True, cwd=ROOT, env=dict(ENV, MC2_REGRESSIONS=str(bad)))
    assert proc.returncode == 4 and "regressions.json is corrupted" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_cases_are_found_by_the_cases_option_not_next_to_the_package(tmp_path):
    """run, constraints and selfcheck run pytest on --cases DIR (default ./cases): outside the repository root the
    default is a one-line usage error naming the option, and --cases points at the suite from anywhere."""
    env = dict(ENV, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))  # this checkout, from tmp_path

    def cli(*argv):
        return subprocess.run([sys.executable, "-m", "conformance.cli", *argv], capture_output=True, text=True,
                              cwd=tmp_path, env=env, timeout=300)

    error = "error: no suite cases in ./cases: run from the repository root or pass --cases DIR\n"
    for argv in ["run", "--out", str(tmp_path / "out")], ["constraints"], ["selfcheck", "--out", str(tmp_path / "sc")]:
        proc = cli(*argv)
        assert proc.returncode == 2 and proc.stderr == f"mc2-conformance {argv[0]}: {error}", proc.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "sc").exists()
    (tmp_path / "empty").mkdir()
    assert "no suite cases in ./empty" in cli("run", "--cases", "./empty").stderr
    proc = cli("constraints", "--cases", str(ROOT / "cases"))
    assert proc.returncode == 0 and "every constraint is covered" in proc.stdout, proc.stdout[-1500:] + proc.stderr
