"""`mc2-conformance doctor` (conformance/doctor.py, conformance/commands/doctor.py) against the recording fake CANN
(tests/fake_cann, both library layouts) and the torch_npu stand-in (tests/stand_ins): every check passing, and
each failure on its own (no CANN, a library missing, a symbol missing, no devices, a communicator that does not
build, a tiny case that fails), each one problem line naming what to fix, exit status 1.

The fake computes no values (its outputs are x1 ^ tag), so the real tiny cases fail there with a wrong answer:
that is the case-failure path. The all-good runs on the fake use `shape_only_pick`, the operators' valid
shape-only cases, which the fake accepts (status 0) without computing anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fake_cann
from helpers import fake_cann_home, shape_only_pick
from conformance import doctor, operators
from conformance.backends.aclnn import libs
from conformance.cli import main

TESTS = Path(__file__).resolve().parent
OPS = [op.name for op in operators.all_operators()]
SEAM = "stand_ins.torch_npu_stand_in:StandInSeam"


@pytest.fixture(scope="module", params=["single", "split"])
def fake_home(request, tmp_path_factory):
    return fake_cann_home(tmp_path_factory.mktemp(f"doctor_{request.param}"), request.param)


@pytest.fixture(scope="module")
def split_home(tmp_path_factory):
    return fake_cann_home(tmp_path_factory.mktemp("doctor_split"), "split")


@pytest.fixture
def node(fake_home, tmp_path, monkeypatch):
    """The fake as the node's CANN (each layout), a fresh call log, nothing injected."""
    return _as_node(fake_home, tmp_path, monkeypatch)


@pytest.fixture
def split_node(split_home, tmp_path, monkeypatch):
    """The same with the split layout only: the failure paths do not depend on the layout."""
    return _as_node(split_home, tmp_path, monkeypatch)


def _as_node(home, tmp_path, monkeypatch):
    monkeypatch.setenv("ASCEND_HOME_PATH", str(home))
    monkeypatch.setenv("FAKE_CANN_LOG", str(tmp_path / "calls.jsonl"))
    for var in ("FAKE_CANN_FAIL", "FAKE_CANN_SYNC_DELAY_MS", "FAKE_CANN_WORKSPACE", "FAKE_CANN_DEVICE_COUNT",
                "FAKE_CANN_DRIVER_VERSION", "ASCEND_RT_VISIBLE_DEVICES", libs.LIB_DIR_ENV):
        monkeypatch.delenv(var, raising=False)
    return home


def by_name(checks) -> dict:
    return {c.name: c for c in checks}


def problems(checks) -> list:
    return [c for c in checks if c.status == doctor.PROBLEM]


def assert_one_line(check):
    assert check.fix and "\n" not in check.fix and "\n" not in check.summary, check


# --- aclnn on the fake CANN -----------------------------------------------------------------------------------

def test_all_good_on_the_fake_cann(node):
    checks = doctor.run_checks("aclnn", pick=shape_only_pick)
    assert problems(checks) == []
    got = by_name(checks)
    expected = ["cann", "libraries", "symbols", "versions", "devices"] + \
        [name for w in (1, 2) for name in [f"communicator w={w}"] + [f"case {op} w={w}" for op in OPS]] + ["signoff"]
    assert [c.name for c in checks] == expected and all(c.ok for c in checks)
    layout = "split" if (node / "lib64" / "libhcomm.so").exists() else "single"
    assert got["libraries"].summary.startswith(f"{layout} layout")
    for lib in ("libascendcl.so", "libhccl.so") + (("libopapi_transformer.so", "libhcomm.so") if layout == "split"
                                                     else ("libopapi.so",)):
        assert f"{lib}  {node / 'lib64' / lib}" in got["libraries"].details
    origin = got["symbols"].data["origin"]
    assert origin["HcclGetRootInfo"] == ("libhcomm.so" if layout == "split" else "libhccl.so")
    assert origin["aclnnQuantMatmulAllReduceV3"] == ("libopapi_transformer.so" if layout == "split" else "libopapi.so")
    assert got["versions"].summary == "CANN 8.0.fake; runtime 8.0.fake; driver 25.0.fake; " + \
        got["versions"].details[-1]
    assert got["devices"].data["count"] == 8
    assert got["signoff"].data == {"world_sizes": [1, 2, 4, 8], "operators": OPS}
    log = fake_cann.read_log(Path(os.environ["FAKE_CANN_LOG"]))
    # one rank group per world size: the communicator check's group runs that size's cases
    assert sorted(r["nRanks"] for r in log if r["fn"] == "HcclCommInitRootInfo") == [1, 2, 2]


def test_the_command_prints_each_check_and_exits_0(node, monkeypatch, capsys):
    monkeypatch.setattr(doctor, "tiny_case", shape_only_pick)
    assert main(["doctor", "--backend", "aclnn"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"doctor: backend aclnn, ASCEND_HOME_PATH={node}"
    assert str(node / "lib64" / "libascendcl.so") in out and "all good" in out
    assert "signoff" in out and "world sizes 1, 2, 4, 8" in out


def test_the_real_tiny_cases_fail_on_the_fake_with_a_repro_line(node, capsys):
    """The fake computes no values: the smallest valid cases give wrong answers, each named with its repro."""
    assert main(["doctor", "--backend", "aclnn"]) == 1
    out = capsys.readouterr().out
    fixes = out.split("what to fix:")[1].strip().splitlines()
    case_fixes = [f for f in fixes if f.strip().startswith("case ")]
    assert len(case_fixes) == 2 * len(OPS)
    assert all("mc2-conformance repro " in f and "--backend aclnn" in f and "wrong answer" in f for f in case_fixes)
    assert "-empty" not in out  # an empty case proves nothing: never the tiny case
    assert fixes[-1].strip().startswith("signoff: nothing can be signed off")


@pytest.mark.parametrize("backend", ["aclnn", "torch-npu"])
def test_without_cann_one_line_and_exit_1(monkeypatch, capsys, backend):
    monkeypatch.delenv("ASCEND_HOME_PATH", raising=False)
    monkeypatch.delenv(libs.LIB_DIR_ENV, raising=False)
    assert main(["doctor", "--backend", backend]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("doctor: no CANN on this node: ASCEND_HOME_PATH is not set")
    assert "set_env.sh" in out
    monkeypatch.setenv("ASCEND_HOME_PATH", "/nonexistent/cann")
    assert main(["doctor", "--backend", backend]) == 1
    assert capsys.readouterr().out.count("\n") == 1


def test_a_missing_library(split_node, tmp_path, monkeypatch):
    lib64 = tmp_path / "lib64"
    lib64.mkdir()
    for f in (split_node / "lib64").iterdir():
        if f.name != "libnnopbase.so":
            (lib64 / f.name).symlink_to(f.resolve())
    monkeypatch.setenv(libs.LIB_DIR_ENV, str(lib64))
    checks = doctor.run_checks("aclnn", pick=shape_only_pick)
    assert [c.name for c in checks] == ["cann", "libraries"]  # nothing else can run
    (bad,) = problems(checks)
    assert bad.name == "libraries" and str(lib64 / "libnnopbase.so") in bad.summary
    assert_one_line(bad)
    assert bad.fix.startswith("install the CANN packages that ship libnnopbase.so") and "MC2_ACLNN_LIB_DIR" in bad.fix


def test_a_missing_symbol(split_node, tmp_path, monkeypatch):
    home = fake_cann_home(tmp_path, "split", omit=("HcclCommInitRootInfo",))
    monkeypatch.setenv("ASCEND_HOME_PATH", str(home))
    checks = doctor.run_checks("aclnn", pick=shape_only_pick)
    assert [c.name for c in checks] == ["cann", "libraries", "symbols", "versions"]
    (bad,) = problems(checks)
    assert bad.name == "symbols" and "symbol HcclCommInitRootInfo not found" in bad.summary
    assert f"libhcomm.so ({home / 'lib64' / 'libhcomm.so'})" in bad.summary
    assert_one_line(bad)


@pytest.mark.parametrize("env, words", [({"FAKE_CANN_DEVICE_COUNT": "0"}, "0 devices visible"),
                                        ({"FAKE_CANN_FAIL": "aclrtGetDeviceCount=507033"},
                                         "aclrtGetDeviceCount returned 507033")])
def test_no_devices(split_node, monkeypatch, capsys, env, words):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    checks = doctor.run_checks("aclnn", pick=shape_only_pick)
    assert checks[-1].name == "devices"  # no communicator or case without devices
    (bad,) = problems(checks)
    assert bad.name == "devices" and words in bad.summary and "npu-smi" in bad.fix
    assert_one_line(bad)
    assert main(["doctor"]) == 1
    assert "devices: " in capsys.readouterr().out.split("what to fix:")[1]


def test_one_device_signs_off_world_size_1_only(split_node, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_DEVICE_COUNT", "1")
    checks = by_name(doctor.run_checks("aclnn", pick=shape_only_pick))
    assert checks["communicator w=2"].status == doctor.SKIPPED and "needs 2 devices, 1 available" in \
        checks["communicator w=2"].summary
    assert all(checks[f"case {op} w=2"].status == doctor.SKIPPED for op in OPS)
    assert problems(checks.values()) == []
    assert checks["signoff"].data == {"world_sizes": [1], "operators": OPS}


def test_devices_option(split_node, monkeypatch, capsys):
    checks = doctor.run_checks("aclnn", [3, 9], pick=shape_only_pick)
    (bad,) = problems(checks)
    assert bad.name == "devices" and "[9]" in bad.summary and "below 8" in bad.fix
    monkeypatch.setattr(doctor, "tiny_case", shape_only_pick)
    assert main(["doctor", "--devices", "4,5"]) == 0
    log = fake_cann.read_log(Path(os.environ["FAKE_CANN_LOG"]))
    assert {r["device"] for r in log if r["fn"] == "aclrtSetDevice"} == {4, 5}
    assert main(["doctor", "--devices", "x"]) == 2  # a malformed list: the CLI's one-line error


def test_a_communicator_that_does_not_build(split_node, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_FAIL", "HcclCommInitRootInfo=7@1")  # rank 1's device: world size 2 only
    checks = by_name(doctor.run_checks("aclnn", pick=shape_only_pick))
    assert checks["communicator w=1"].ok
    bad = checks["communicator w=2"]
    assert bad.status == doctor.PROBLEM and "HcclCommInitRootInfo(2, root, 1) returned 7" in bad.summary
    assert_one_line(bad)
    assert all(checks[f"case {op} w=2"].status == doctor.SKIPPED for op in OPS)
    assert [c.name for c in problems(checks.values())] == ["communicator w=2"]
    assert checks["signoff"].data == {"world_sizes": [1], "operators": OPS}


def test_a_failing_case(split_node, monkeypatch):
    op = operators.V3.name
    monkeypatch.setenv("FAKE_CANN_FAIL", f"{operators.V3.abi.workspace_fn}=161002")
    checks = by_name(doctor.run_checks("aclnn", pick=shape_only_pick))
    assert [c.name for c in problems(checks.values())] == [f"case {op} w=1", f"case {op} w=2"]
    for w in (1, 2):
        bad = checks[f"case {op} w={w}"]
        assert_one_line(bad)
        assert f"mc2-conformance repro {shape_only_pick(op, w, None)[0].id} --backend aclnn" in bad.fix
    assert checks["signoff"].data["operators"] == [o for o in OPS if o != op]


def test_driver_version_from_its_file_or_a_problem(split_node, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_CANN_DRIVER_VERSION", "")  # aclsysGetVersionStr("driver") fails
    monkeypatch.setenv("FAKE_CANN_DEVICE_COUNT", "0")  # stop after the devices: only the versions matter here
    info = tmp_path / "version.info"
    info.write_text("Version=24.1.rc2\n")
    checks = by_name(doctor.run_checks("aclnn", pick=shape_only_pick, driver_file=info))
    assert checks["versions"].ok and f"driver 24.1.rc2  ({info})" in checks["versions"].details
    checks = doctor.run_checks("aclnn", pick=shape_only_pick, driver_file=tmp_path / "absent")
    bad = by_name(problems(checks))["versions"]
    assert "driver version not found" in bad.summary
    assert_one_line(bad)


# --- torch-npu through its stand-in ------------------------------------------------------------------------------

@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from conformance.backends import torch_npu_backend as tnb
    home = tmp_path / "cann"
    home.mkdir()
    (home / "version.cfg").write_text("Version=8.0.stand-in\n")
    monkeypatch.setenv("ASCEND_HOME_PATH", str(home))
    for var in ("MC2_STAND_IN_DEVICES", "MC2_STAND_IN_RAISE", "ASCEND_RT_VISIBLE_DEVICES"):
        monkeypatch.delenv(var, raising=False)
    def make(name):  # the environment of the moment: a test's MC2_STAND_IN_* reach the ranks
        assert name == "torch-npu"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
        return tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "calls.jsonl")}, env=env,
                                   deadline_s=60)
    return make


def test_torch_npu_all_good_on_the_stand_in(stand_in):
    checks = doctor.run_checks("torch-npu", make_backend=stand_in)
    got = by_name(checks)
    assert problems(checks) == [], [c.summary for c in problems(checks)]
    assert "symbols" not in got and "torch_npu stand-in" in got["libraries"].summary
    assert got["versions"].summary.startswith("CANN 8.0.stand-in; driver 25.0.stand-in; torch_npu stand-in")
    assert got["devices"].data["count"] == 8
    assert got["communicator w=2"].ok
    # V3 without comm scales is not expressible through torch_npu by default: its tiny case is one with them
    assert "lowbit" in got[f"case {operators.V3.name} w=1"].summary
    assert got["signoff"].data == {"world_sizes": [1, 2, 4, 8], "operators": OPS}


@pytest.mark.parametrize("env, failing", [({"MC2_STAND_IN_DEVICES": "0"}, "devices"),
                                          ({"MC2_STAND_IN_DEVICES": "fail"}, "devices"),
                                          ({"MC2_STAND_IN_RAISE": "stand-in: aclnn 561002 boom"}, "case ")])
def test_torch_npu_failures_on_the_stand_in(stand_in, monkeypatch, env, failing):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    checks = doctor.run_checks("torch-npu", make_backend=stand_in)
    bad = problems(checks)
    assert bad and all(c.name.startswith(failing) or c.name == "signoff" for c in bad)
    for c in bad:
        assert_one_line(c)


def test_torch_npu_not_installed_is_a_library_problem(monkeypatch, tmp_path):
    import importlib.util
    if importlib.util.find_spec("torch_npu") is not None:
        pytest.skip("torch_npu is installed here")
    monkeypatch.setenv("ASCEND_HOME_PATH", str(tmp_path))
    checks = doctor.run_checks("torch-npu")
    assert [c.name for c in checks] == ["cann", "libraries"]
    bad = checks[-1]
    assert bad.status == doctor.PROBLEM and "not installed" in bad.summary and "pip install" in bad.fix
    assert_one_line(bad)
