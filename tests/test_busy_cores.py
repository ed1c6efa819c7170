"""--busy-cores (conformance/backends/busy.py): a second stream keeps N AI cores busy while each fused call runs,
so an MC2 kernel that assumes it owns every core ends as `timeout` by the rank engine's deadline.

Proven here against the recording stand-ins only (tests/fake_cann, tests/stand_ins): (1) the option is read and
refused in one line like the others; (2) the calls, in order: the busy stream is made with a limit of N cube
cores, its matmuls are launched under that limit before the MC2 call, the MC2 call's stream is waited for with
no timeout of its own, then the busy stream; (3) a fake MC2 kernel that hangs when fewer than all cores are free
(FAKE_CANN_HANG_UNLESS_ALL_CORES, MC2_STAND_IN_HANG_UNLESS_ALL_CORES) ends as `timeout` under --busy-cores and
runs without it. What a device does (whether the busy work overlaps the kernel) is not provable here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fake_cann
from conformance import casegen
from conformance.backends import BackendError, load_backend
from conformance.backends.busy import BusyWork
from conformance.casegen.inputs import materialise
from conformance.context import Context, from_values
from conformance.judge import run_case
from conformance.options import BY_FLAG, OptionError
from helpers import fake_cann_home, run_aclnn_ranks

TESTS = Path(__file__).resolve().parent
SMALL = BusyWork(cores=4, m=16, k=32, n=16, launches=3)  # tiny operands: the fake copies and fills every byte
CASE_W1 = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"
CASE_W2 = "marn-tiny-x1_2d-x2N-bias-eps0.01-fp16-w2"
FOREVER = -1  # aclrtSynchronizeStreamWithTimeout's "wait forever" (hicann/runtime 06_stream_management.md:651)


# --- the option -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["-1", "20", "four"])
def test_a_bad_value_is_one_line_naming_the_option(text):
    with pytest.raises(OptionError) as exc:
        BY_FLAG["--busy-cores"].parse(text)
    assert str(exc.value) == f"--busy-cores {text!r}: expected a number of AI cores from 0 (off) to 19"


def test_the_option_is_read_like_the_others_and_written_back_in_the_repro_line(monkeypatch):
    monkeypatch.delenv("MC2_BUSY_CORES", raising=False)
    assert from_values(lambda o: None).busy_cores == 0
    assert from_values(lambda o: "6" if o.flag == "--busy-cores" else None).busy_cores == 6
    monkeypatch.setenv("MC2_BUSY_CORES", "3")
    assert from_values(lambda o: None).busy_cores == 3
    assert "--mc2-busy-cores 3" in Context(busy_cores=3).repro("cases/test_marn.py::t")
    assert "busy" not in Context().repro("cases/test_marn.py::t")


@pytest.mark.parametrize("backend", ["sim", "sim-process", "sim-cann", "torch-cpu"])
def test_a_simulator_run_with_busy_cores_says_so_in_one_line(backend):
    with pytest.raises(BackendError) as exc:
        load_backend(backend, busy_cores=4)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("--busy-cores applies only to the hardware backends (aclnn, torch-npu)")
    assert repr(backend) in msg
    assert load_backend("sim", busy_cores=0).name  # off: nothing to say


def test_the_pytest_spelling_refuses_it_for_the_simulator_in_one_line(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "cases/test_marn.py",
                           "--co", "--mc2-busy-cores", "2"], cwd=TESTS.parent, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "--busy-cores applies only to the hardware backends" in proc.stderr + proc.stdout


# --- aclnn: the calls, in order -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake_home(tmp_path_factory):
    return fake_cann_home(tmp_path_factory.mktemp("fake_cann_busy"), "split")


@pytest.fixture
def cann(fake_home, tmp_path, monkeypatch):
    monkeypatch.setenv("ASCEND_HOME_PATH", str(fake_home))
    monkeypatch.setenv("FAKE_CANN_LOG", str(tmp_path / "calls.jsonl"))
    for var in ("FAKE_CANN_FAIL", "FAKE_CANN_SYNC_DELAY_MS", "FAKE_CANN_WORKSPACE", "FAKE_CANN_CORES",
                "FAKE_CANN_HANG_UNLESS_ALL_CORES", "MC2_ACLNN_LIB_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "calls.jsonl"


def _run_in_threads(inv, invocations: int = 1, **options):
    """Each rank's RankResults (ranks in threads, whole program life), `invocations` fused calls each."""
    out, _ = run_aclnn_ranks(inv, calls=invocations, **options)
    return out


def _stream_calls(log, dev: int) -> list[tuple]:
    """The calls that matter here, in order, as (fn, stream, detail)."""
    keep = {"aclrtCreateStream", "aclrtSetStreamResLimit", "aclrtUseStreamResInCurrentThread",
            "aclrtUnuseStreamResInCurrentThread", "aclnnMatmul", "aclnnMatmulAllReduceAddRmsNorm",
            "aclrtSynchronizeStreamWithTimeout", "aclrtDestroyStream"}
    out = []
    for r in fake_cann.read_log(log):
        if r["fn"] not in keep or r["dev"] != dev:
            continue
        detail = ((r["type"], r["value"]) if r["fn"] == "aclrtSetStreamResLimit" else r.get("cores")
                  if r["fn"] == "aclnnMatmul" else r["timeout"] if r["fn"] == "aclrtSynchronizeStreamWithTimeout"
                  else None)
        out.append((r["fn"], r["stream"], detail))
    return out


def test_aclnn_busy_stream_is_made_limited_launched_before_and_waited_after_each_call(cann):
    inv = materialise(casegen.by_id(CASE_W1), 0)
    results = _run_in_threads(inv, invocations=2, busy={**SMALL.__dict__}, sync_timeout_ms=5000)
    assert [r.status for r in results[0]] == [0, 0]
    calls = _stream_calls(cann, 0)
    main, busy = calls[0][1], calls[1][1]
    assert main != busy
    per_call = ([("aclrtUseStreamResInCurrentThread", busy, None)]
                + [("aclnnMatmul", busy, 4)] * 3  # the busy launches, under the limit of 4 cores
                + [("aclrtUnuseStreamResInCurrentThread", busy, None),
                   ("aclnnMatmulAllReduceAddRmsNorm", main, None),
                   ("aclrtSynchronizeStreamWithTimeout", main, FOREVER),  # the engine's deadline decides
                   ("aclrtSynchronizeStreamWithTimeout", busy, 5000)])
    assert calls == ([("aclrtCreateStream", main, None), ("aclrtCreateStream", busy, None),
                      ("aclrtSetStreamResLimit", busy, (0, 4))]  # CUBE_CORE = 0, N = 4
                     + per_call * 2
                     + [("aclrtSynchronizeStreamWithTimeout", main, 5000),  # teardown: as without busy cores
                        ("aclrtDestroyStream", busy, None), ("aclrtDestroyStream", main, None)])
    # the MC2 launch saw 24 - 4 = 20 free cores (FAKE_CANN_CORES default 24)
    mc2 = [r for r in fake_cann.read_log(cann) if r["fn"] == "aclnnMatmulAllReduceAddRmsNorm"]
    assert [r["freeCores"] for r in mc2] == [20, 20] and not any(r.get("hung") for r in mc2)


def test_aclnn_without_busy_cores_makes_none_of_these_calls(cann):
    inv = materialise(casegen.by_id(CASE_W1), 0)
    results = _run_in_threads(inv, sync_timeout_ms=5000)
    assert [r.status for r in results[0]] == [0]
    calls = _stream_calls(cann, 0)
    assert [c[0] for c in calls] == ["aclrtCreateStream", "aclnnMatmulAllReduceAddRmsNorm",
                                     "aclrtSynchronizeStreamWithTimeout", "aclrtSynchronizeStreamWithTimeout",
                                     "aclrtDestroyStream"]
    assert calls[2][2] == 5000 and "freeCores" not in fake_cann.read_log(cann)[-1]


def test_aclnn_a_shape_only_or_rejected_call_launches_no_busy_work(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_FAIL", "aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize=161002")
    inv = materialise(casegen.by_id(CASE_W1), 0)
    (results,) = _run_in_threads(inv, busy={**SMALL.__dict__})
    assert [r.status for r in results] == [161002]
    assert [c[0] for c in _stream_calls(cann, 0) if c[0] in ("aclnnMatmul", "aclrtUseStreamResInCurrentThread")] == []


def test_aclnn_busy_cores_need_the_stream_limit_functions(fake_home, tmp_path, monkeypatch):
    old = fake_cann_home(tmp_path / "old", "split", omit=("aclrtSetStreamResLimit",))
    monkeypatch.setenv("ASCEND_HOME_PATH", str(old))
    monkeypatch.delenv("FAKE_CANN_LOG", raising=False)
    from conformance.backends.aclnn.program import AclnnCallError, AclnnRankProgram
    prog = AclnnRankProgram(rank=0, world_size=1, busy={**SMALL.__dict__})
    with pytest.raises(AclnnCallError, match="--busy-cores needs aclrtSetStreamResLimit"):
        prog.open()
    prog.close()


# --- aclnn: a kernel that hangs unless it has every core, through the rank engine --------------------------------

def _aclnn(deadline_s, busy):
    from conformance.backends.aclnn.backend import AclnnBackend
    return AclnnBackend(deadline_s=deadline_s, busy_work=busy)


def test_aclnn_a_kernel_that_needs_every_core_ends_as_timeout_under_busy_cores(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_HANG_UNLESS_ALL_CORES", "1")
    case = casegen.by_id(CASE_W2)
    calm = _aclnn(60, None)  # without busy cores every core is free: the same kernel runs
    try:
        results = calm.invoke(materialise(case, 0))
    finally:
        calm.close()
    assert [r.status for r in results] == [0, 0]
    busy = _aclnn(2, SMALL)
    try:
        outcome = run_case(case, busy, Context(seed=0))
    finally:
        busy.close()
    assert outcome.category == "timeout", outcome.report()
    assert "did not answer while running the operator" in outcome.detail
    hung = [r for r in fake_cann.read_log(cann) if r.get("hung")]
    assert sorted(r["dev"] for r in hung) == [0, 1] and {r["freeCores"] for r in hung} == {20}


# --- torch_npu: the same through the stand-in --------------------------------------------------------------------

def _torch_npu(log, deadline_s, busy):
    pytest.importorskip("torch")
    from conformance.backends import torch_npu_backend as tnb
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    return tnb.TorchNpuBackend(seam="stand_ins.torch_npu_stand_in:StandInSeam", seam_options={"log": str(log)},
                               env=env, deadline_s=deadline_s, busy_work=busy)


def test_torch_npu_busy_stream_order_and_timeout_under_a_kernel_that_needs_every_core(tmp_path, monkeypatch):
    from stand_ins.torch_npu_stand_in import HANG_ENV, read_log
    monkeypatch.delenv(HANG_ENV, raising=False)
    case = casegen.by_id(CASE_W2)
    log = tmp_path / "calls.jsonl"
    backend = _torch_npu(log, 60, SMALL)
    try:
        outcome = run_case(case, backend, Context(seed=0))
    finally:
        backend.close()
    assert outcome.passed, outcome.report()  # busy cores without a hanging kernel: judged as any other call
    entries = read_log(log)
    assert [(e["cube_num"]) for e in entries if e["fn"] == "set_stream_limit"] == [4, 4]
    for rank in (0, 1):
        mine = [e["fn"] for e in entries if e["rank"] == rank and e["fn"] in
                ("busy_matmul", "npu_mm_all_reduce_add_rms_norm", "synchronize", "stream_synchronize")]
        # the fused call; the judge's benchmark-chain run after it (precision standard) launches no busy work
        assert mine[:6] == ["busy_matmul"] * 3 + ["npu_mm_all_reduce_add_rms_norm", "synchronize",
                                                  "stream_synchronize"], (rank, mine)
        assert mine.count("busy_matmul") == 3, (rank, mine)
    assert {e["cores"] for e in entries if e["fn"] == "busy_matmul"} == {4}

    monkeypatch.setenv(HANG_ENV, "1")
    calm = _torch_npu(tmp_path / "calm.jsonl", 60, None)
    try:
        assert run_case(case, calm, Context(seed=0)).passed  # every core free: no hang
    finally:
        calm.close()
    hanging = _torch_npu(tmp_path / "hang.jsonl", 3, SMALL)
    try:
        outcome = run_case(case, hanging, Context(seed=0))
    finally:
        hanging.close()
    assert outcome.category == "timeout", outcome.report()
    assert [e["busy_cores"] for e in read_log(tmp_path / "hang.jsonl") if e["fn"] == "hung"] == [4, 4]
