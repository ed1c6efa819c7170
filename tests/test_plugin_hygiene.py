"""Plugin and packaging hygiene (issue 11): the pytest plugin stays out of other projects and out of sessions
that do not run the suite's cases; its options carry the `--mc2-` prefix; the command line has help for every
command and option, ends quietly in a closed pipe, refuses a backend it cannot start in one line, and hints when
-n exceeds the CPUs; pyproject declares the Python the code needs."""

import argparse
import os
import re
import subprocess
import sys
import tomllib
from importlib.util import find_spec
from pathlib import Path

import pytest

from conformance import cli
from conformance.commands import run as run_command
from conformance.backends import BackendError, load_backend
from conformance.options import SIM_FLAGS

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_OPTIONS = ["--mc2-backend", "--mc2-profile", "--mc2-world-sizes", "--mc2-seed", "--mc2-fault",
                  "--mc2-accumulation-bound", "--mc2-status-check", "--mc2-doc-revision", "--mc2-waivers",
                  "--mc2-cann-version", "--mc2-devices", "--mc2-lease-dir", "--mc2-fuzz-examples", "--mc2-fuzz-db",
                  "--mc2-rank-deadline", "--mc2-results", "--mc2-coverage", "--mc2-first",
                  *(f.pytest_flag for f in SIM_FLAGS)]


def _py(*args, cwd=ROOT, env=None, timeout=300, **kw):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout, **kw)


@pytest.fixture(scope="module")
def profiling_site(tmp_path_factory):
    """pytest-profiling (which has its own --profile) in a folder of its own, for the foreign project's
    PYTHONPATH only; None if pip cannot install it here."""
    target = tmp_path_factory.mktemp("profiling")
    proc = _py("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--target",
               str(target), "pytest-profiling", "six", "gprof2dot", timeout=180)
    return target if proc.returncode == 0 and (target / "pytest_profiling.py").exists() else None


def test_a_foreign_project_runs_untouched(tmp_path, profiling_site):
    project = tmp_path / "foreign"
    project.mkdir()
    (project / "test_trivial.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    env = dict(os.environ, MC2_BACKEND="aclnn", MC2_RANK_DEADLINE="soon")
    env.pop("PYTHONPATH", None)
    if profiling_site is not None:
        env["PYTHONPATH"] = str(profiling_site)
    proc = _py("-m", "pytest", "-p", "no:cacheprovider", "-q", cwd=project, env=env)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "mc2-conformance" not in proc.stdout
    if profiling_site is not None:  # pytest-profiling's own --profile works there
        profiled = _py("-m", "pytest", "-p", "no:cacheprovider", "-q", "--profile", cwd=project, env=env)
        assert profiled.returncode == 0 and "1 passed" in profiled.stdout, profiled.stdout[-2000:] + profiled.stderr


def test_the_suite_tests_ignore_the_backend_environment():
    """`pytest tests/...` in the repository collects no cases: MC2_BACKEND is not read, no backend loaded."""
    env = dict(os.environ, MC2_BACKEND="aclnn", ASCEND_HOME_PATH="/nonexistent")
    proc = _py("-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_tolerance.py", "-x", "-k", "not slow",
               "--co", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_the_cases_still_refuse_a_bad_backend_from_the_environment_in_one_line():
    env = dict(os.environ, MC2_BACKEND="aclnn", ASCEND_HOME_PATH="/nonexistent")
    env.pop("MC2_ACLNN_LIB_DIR", None)
    proc = _py("-m", "pytest", "-p", "no:cacheprovider", "-q", "--co", "cases/test_v3.py", env=env)
    assert proc.returncode == 4 and "aclnn backend" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, proc.stderr


def test_every_plugin_option_carries_the_prefix():
    proc = _py("-m", "pytest", "-p", "no:cacheprovider", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in PLUGIN_OPTIONS:
        assert option in proc.stdout, option
    group = proc.stdout.split("MC2 operator conformance", 1)[1].split("\n\n", 1)[0]
    flags = re.findall(r"^  (--[\w-]+)", group, flags=re.M)  # the option column of the plugin's group
    assert flags and all(f.startswith("--mc2-") for f in flags), [f for f in flags if not f.startswith("--mc2-")]
    for old in ("--backend", "--profile", "--seed", "--world-sizes", "--devices", "--fault"):
        assert f"  {old} " not in proc.stdout and f"  {old}=" not in proc.stdout, old


def test_the_plugin_loads_from_the_conftest_without_the_entry_point():
    """With no `pytest11` plugin (a fresh install; here an older install's entry point is blocked), the
    repository's conftest.py loads the plugin, so `pytest cases/...` works."""
    proc = _py("-m", "pytest", "-p", "no:cacheprovider", "-p", "no:mc2_conformance", "-q", "--co",
               "cases/test_v3.py", "--mc2-profile", "smoke", "--mc2-world-sizes", "2")
    assert proc.returncode == 0 and "collected" in proc.stdout, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "pytest11" not in (ROOT / "pyproject.toml").read_text()


def test_run_translates_its_options_to_the_prefixed_ones():
    a = cli.build_parser().parse_args(["run", "--backend", "sim", "--profile", "smoke", "--seed", "3", "--fault",
                                       "bias-once", "--sim-x3-rounding", "fused", "--waivers", "w.toml",
                                       "--status-check", "convention", "--accumulation-bound", "worst_case"])
    args = run_command._suite_args(a)
    flags = [x for x in args if x.startswith("--")]
    assert flags and all(f.startswith("--mc2-") for f in flags), flags
    assert args[args.index("--mc2-seed") + 1] == "3" and "--mc2-sim-x3-rounding" in args
    from conformance import selfcheck
    cmd = selfcheck._pytest_cmd(Path("cases"), "smoke", "1,2", 0, [])
    assert all(x.startswith("--mc2-") for x in cmd if x.startswith("--")), cmd


def test_requires_python_matches_the_features_used():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert declared.replace(" ", "") == ">=3.11", declared
    sources = "\n".join(p.read_text() for p in (ROOT / "conformance").rglob("*.py"))
    # the 3.11 features the code uses; if they go away, the minimum may be lowered again
    assert "tomllib" in sources or "ExceptionGroup" in sources


def test_a_closed_pipe_ends_quietly():
    """`mc2-conformance constraints | head -c 200`: no traceback, exit status 0."""
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "constraints"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout.read(200)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


@pytest.mark.skipif(find_spec("torch_npu") is not None, reason="torch_npu is installed here")
def test_torch_npu_without_torch_npu_is_one_start_up_line(tmp_path):
    with pytest.raises(BackendError, match="torch_npu") as err:
        load_backend("torch-npu")
    assert "\n" not in str(err.value)
    proc = _py("-m", "conformance.cli", "run", "--backend", "torch-npu", "--profile", "smoke", "-n", "0",
               "--out", str(tmp_path))
    assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert proc.stderr.strip().count("\n") == 0 and "torch_npu not installed" in proc.stderr, proc.stderr
    assert not (tmp_path / "results.jsonl").exists()


@pytest.mark.skipif(find_spec("torch") is None or find_spec("torch_npu") is not None,
                    reason="needs torch, and no real torch_npu")
def test_a_torch_npu_that_does_not_import_is_one_line(tmp_path):
    """torch_npu installed but broken (e.g. built for another torch): the import probe names the error."""
    fake = tmp_path / "torch_npu"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('libhccl.so: cannot open shared object file')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    proc = _py("-m", "conformance.cli", "run", "--backend", "torch-npu", "--out", str(tmp_path / "out"), env=env)
    assert proc.returncode == 2 and "libhccl.so" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr


def test_help_lists_every_command_and_every_option_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = parser.format_help()
    for name in sub.choices:
        assert f"\n  {name} " in cli.__doc__, f"module docstring lacks {name}"
        assert name in text
    for p in [parser, *sub.choices.values()]:
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{p.prog}: {action.option_strings or action.dest} has no help"
    proc = _py("-m", "conformance.cli", "--version")
    from conformance import __version__
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_more_workers_than_cpus_prints_a_hint(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert run_command._workers_hint(2) is None
    hint = run_command._workers_hint(8)
    assert hint and "-n 8" in hint and "2 CPUs" in hint and "\n" not in hint
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert cli.build_parser().parse_args(["run"]).workers == 3


def test_xdist_workers_get_one_blas_thread_per_cpu_share_and_one_case_at_a_time():
    from conformance.pytest_plugin import BLAS_THREAD_VARIABLES, xdist_defaults
    env, chunk = xdist_defaults(workers=2, cpus=2, env={}, dist="load", maxschedchunk=None)
    assert env == {var: "1" for var in BLAS_THREAD_VARIABLES} and chunk == 1
    env, _ = xdist_defaults(workers=4, cpus=16, env={}, dist="load", maxschedchunk=None)
    assert set(env.values()) == {"4"}
    # what the user set wins; other distribution modes and single-process runs are left alone
    env, chunk = xdist_defaults(workers=2, cpus=2, env={"OPENBLAS_NUM_THREADS": "2"}, dist="load", maxschedchunk=8)
    assert "OPENBLAS_NUM_THREADS" not in env and chunk == 8
    assert xdist_defaults(workers=2, cpus=2, env={}, dist="loadscope", maxschedchunk=None)[1] is None
    assert xdist_defaults(workers=1, cpus=2, env={}, dist="load", maxschedchunk=None) == ({}, None)


def test_an_xdist_run_of_the_cases_starts_its_workers_with_those_defaults(tmp_path):
    probe = tmp_path / "probe_plugin.py"
    probe.write_text(
        "import os\n"
        "def pytest_sessionfinish(session):\n"
        "    worker = os.environ.get('PYTEST_XDIST_WORKER')\n"
        "    if worker:\n"
        f"        with open({str(tmp_path / 'seen')!r} + worker, 'w') as f:\n"
        "            f.write(os.environ.get('OPENBLAS_NUM_THREADS', 'unset'))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                            "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = _py("-m", "pytest", "cases", "-n", "2", "-p", "probe_plugin", "-p", "no:cacheprovider", "-q",
               "-k", "tiny-x1_3d-x2N-bias and w1", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    seen = sorted(p.read_text() for p in tmp_path.glob("seen*"))
    assert seen == [str(max(1, (os.cpu_count() or 1) // 2))] * 2


def test_the_largest_cases_are_collected_first():
    proc = _py("-m", "pytest", "cases", "--collect-only", "-q", "-p", "no:cacheprovider", "--mc2-world-sizes", "2,8")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the catalogue's own tests (their `case` parameter carries the cost the plugin sorts by)
    ids = [line for line in proc.stdout.splitlines()
           if re.match(r"cases/test_(marn|v3)\.py::test_(valid|invalid|exact)\[", line)]
    from conformance import casegen
    from conformance.casegen import estimate
    cost = {c.id: (0.0 if c.shape_only else estimate.of_case(c).host_seconds) for c in casegen.catalogue()}
    costs = [cost[i.split("[", 1)[1].rstrip("]")] for i in ids]
    assert costs == sorted(costs, reverse=True) and costs[0] > 1.0  # a case of seconds leads, not a catalogue one


def test_suite_options_are_defined_once_for_pytest_and_the_command_line():
    """options.SUITE_OPTIONS is the one definition: the plugin and `run` declare each with the same help, and
    `run` passes every one it was given on to pytest under the prefixed name."""
    from conformance import pytest_plugin
    from conformance.options import SUITE_OPTIONS

    class Group:
        def __init__(self):
            self.options = {}

        def addoption(self, flag, **kw):
            self.options[flag] = kw

    group = Group()
    pytest_plugin.pytest_addoption(type("Parser", (), {"getgroup": lambda self, *a: group})())
    run = cli.build_parser()._subparsers._group_actions[0].choices["run"]
    run_help = {s: a.help for a in run._actions for s in a.option_strings}
    for o in SUITE_OPTIONS:
        assert group.options[o.pytest_flag]["help"] == o.help == run_help[o.flag], o.flag
    argv = ["run"]
    from conformance import operators
    not_default = {"--seed": "5", "--world-sizes": "2,4", "--busy-cores": "2",  # a valid non-default value
                   "--operators": operators.names()[0]}
    # the twin's options take a hardware backend and no sim-cann revision: tests/test_twin_cli.py passes them on
    valued = [o for o in SUITE_OPTIONS if o.flag not in ("--twin", "--twin-revision")]
    for o in valued:
        argv += [o.flag, not_default.get(o.flag) or (o.choices or ("x1",))[-1]]
    args = run_command._suite_args(cli.build_parser().parse_args(argv))
    assert [args[i] for i in range(0, len(args), 2)] == [o.pytest_flag for o in valued]
    # the same table validates both spellings: a bad value is one line naming the option, before any run
    from conformance.commands.common import CliError, context_of
    with pytest.raises(CliError, match=r"^--world-sizes '1,3': each must be one of 1, 2, 4, 8$"):
        context_of(cli.build_parser().parse_args(["run", "--world-sizes", "1,3"]))
