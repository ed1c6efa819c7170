"""The fuzzer: it passes a correct implementation, finds a planted fault the fixed cases also find, shrinks it,
and exports it as a regression case that fails against the fault and passes against the clean simulator."""

import json
import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings

from conformance.backends import load_backend
from conformance.casegen import serial
from conformance.fuzz import runner, strategies
from conformance.sim import SimulatorBackend
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent


def test_clean_simulator_survives_the_fuzzer():
    result = runner.fuzz(SimulatorBackend(), budget=120, seed=3)
    assert result.failure is None, result.report
    assert result.examples >= 120


@settings(max_examples=30, deadline=None)
@given(case=strategies.cases("all"))
def test_drawn_cases_round_trip_through_json(case):
    again = serial.from_dict(json.loads(json.dumps(serial.to_dict(case))), origin=case.origin)
    if not any(isinstance(v, float) and v != v for _, v in case.attrs):
        assert again == case
    else:  # a drawn NaN epsilon (a double violation with MARN-ATTR-004): NaN != NaN, so compare the JSON texts
        assert json.dumps(serial.to_dict(again), sort_keys=True) == json.dumps(serial.to_dict(case), sort_keys=True)
        assert again.id == case.id and again.tensors == case.tensors


def test_planted_fault_is_found_shrunk_exported_and_then_fixed(tmp_path):
    from helpers import first_kill, light_cases
    assert first_kill("bias-once", light_cases()) is not None  # the fixed cases find it too
    result = runner.fuzz(load_backend("sim", faults=["bias-once"]), space="marn", budget=300, seed=1,
                         shrink_seconds=10)
    assert result.failure is not None
    assert result.failure.cost < 200, result.failure.id  # shrunk to a handful of elements
    assert "bias" in result.failure.id and result.failure.world_size > 1  # what makes bias-once visible
    regressions = tmp_path / "regressions.json"
    serial.add_regression(result.failure, regressions)
    env = dict(os.environ, MC2_REGRESSIONS=str(regressions))

    def pytest_run(*args):
        return subprocess.run([sys.executable, "-m", "pytest", "cases/test_regressions.py", "-q",
                               "-p", "no:cacheprovider", *args], capture_output=True, text=True, cwd=ROOT, env=env)

    faulted, clean = pytest_run("--mc2-fault", "bias-once"), pytest_run()
    assert faulted.returncode == 1 and "1 failed" in faulted.stdout, faulted.stdout[-1500:]
    assert clean.returncode == 0 and "1 passed" in clean.stdout, clean.stdout[-1500:]


def test_fuzz_command_replays_and_exports(tmp_path):
    env = dict(os.environ, MC2_REGRESSIONS=str(tmp_path / "regressions.json"))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "conformance.cli", "fuzz", *args], capture_output=True,
                              text=True, cwd=ROOT, env=env)

    found = cli("--space", "v3", "--fault", "scales-swapped", "--budget", "300", "--seed", "2", "--out",
                str(tmp_path), "--export", "--db", str(tmp_path / "db"))
    assert found.returncode == 1 and "minimal failing case" in found.stdout, found.stdout[-1500:]
    assert "repro: mc2-conformance fuzz --replay" in found.stdout and "exported to" in found.stdout
    assert cli("--replay", str(tmp_path / "failure.json"), "--fault", "scales-swapped").returncode == 1
    assert cli("--replay", str(tmp_path / "failure.json")).returncode == 0
    exported = json.loads((tmp_path / "regressions.json").read_text())["cases"]
    assert len(exported) == 1 and exported[0]["fixed_seed"] is not None


def test_pytest_fuzz_profile_runs_only_when_asked():
    def collect(*args):
        proc = subprocess.run([sys.executable, "-m", "pytest", "cases/test_fuzz.py", "--collect-only", "-q",
                               "-p", "no:cacheprovider", *args], capture_output=True, text=True, cwd=ROOT)
        return proc.stdout
    from conformance.fuzz.spaces import spaces
    count = len([s for s in spaces() if s != "all"])  # one fuzz test per space (cases/test_fuzz.py)
    assert f"{count} deselected" in collect() or "no tests" in collect()
    assert f"{count} tests collected" in collect("--mc2-fuzz-examples", "5")


def test_double_violations_and_limit_probes_pass_a_correct_device_and_catch_off_by_one():
    """The invalid space beyond single mutations: two violations at once (any legal outcome of either rule)
    and +-1 around every numeric limit; a bound checked with >= instead of > fails a limit probe."""
    from hypothesis import HealthCheck, given, settings

    from conformance.fuzz.strategies import _limit_cases, double_violations
    from conformance.judge import run_case
    from conformance.sim import SimulatorBackend

    clean = SimulatorBackend()

    @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(double_violations())
    def check(case):
        assert len(case.covers) == 2 and case.rejects
        outcome = run_case(case, clean, Context(seed=0, with_metrics=False))
        assert outcome.passed, outcome.report()

    check()
    limits = _limit_cases()
    assert all(run_case(c, clean, Context(seed=0)).passed for c in limits)
    for fault in ("int32-max-inclusive", "dim-max-exclusive"):
        faulty = SimulatorBackend(faults=[fault])
        assert any(not run_case(c, faulty, Context(seed=0)).passed for c in limits), fault
