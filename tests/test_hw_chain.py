"""The benchmark chain (invoke_chain) and device timing (timed) of the aclnn backend, against the recording fake
CANN (tests/fake_cann): which separate operators are called with which arguments, the HcclAllReduce, the event
sequence around the timed launches, synchronisation before download, and every resource freed. Each family of
checks is shown to catch a deliberately wrong marshalling. Expectations are written from the vendor prototypes
(cited in conformance/backends/aclnn/abi.py), not from the backend's code."""

from __future__ import annotations


import numpy as np
import pytest

from conformance import operators
from conformance.backends.aclnn import abi, program
from conformance.backends.aclnn.backend import AclnnBackend
from test_aclnn_marshalling import ACL_DTYPE, D2H, case_inv, cann, fake_home, run_ranks  # noqa: F401

MARN_BIAS = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"
MARN_INPLACE = "marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1"
MARN_NOBIAS = "marn-tiny-x1_2d-x2T-nobias-eps0.01-bf16-w1"
V3_X3 = "v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1"
HCCL = {"float16": 3, "bfloat16": 11}
TAG = {"aclnnMatmul": 0x33, "aclnnAdd": 0x55, "aclnnQuantMatmulV4": 0x66, "xOut": 0x11, "yOut": 0x22}


def cyc(src: bytes, n: int, tag: int) -> bytes:
    return bytes(src[i % len(src)] ^ tag for i in range(n))


def first(log, fn):
    hits = [r for r in log.records if r["fn"] == fn]
    assert hits, f"{fn} never called"
    return hits[0]


def tensors_by_id(log):
    return {r["tensor"]: r for r in log.records if r["fn"] == "aclCreateTensor"}


def assert_all_freed(log, *, every_executor_launched: bool = True):
    recs = log.records
    made = {r["tensor"] for r in recs if r["fn"] == "aclCreateTensor"}
    assert made == {r["tensor"] for r in recs if r["fn"] == "aclDestroyTensor"}
    mem = {r["ptr"] for r in recs if r["fn"] == "aclrtMalloc" and r["status"] == 0}
    assert mem == {r["ptr"] for r in recs if r["fn"] == "aclrtFree"}
    assert {r["scalar"] for r in recs if r["fn"] == "aclCreateScalar"} == \
        {r["scalar"] for r in recs if r["fn"] == "aclDestroyScalar"}
    assert {r["event"] for r in recs if r["fn"] == "aclrtCreateEvent"} == \
        {r["event"] for r in recs if r["fn"] == "aclrtDestroyEvent"}
    gws = [r["executor"] for r in recs if r["fn"].endswith("GetWorkspaceSize") and r["status"] == 0]
    launch_fns = {"aclnnMatmul", "aclnnAdd", "aclnnAddRmsNorm", "aclnnQuantMatmulV4", "aclnnTransMatmulWeight",
                  *(op.abi.execute_fn for op in operators.all_operators())}
    executed = [r["executor"] for r in recs if r["fn"] in launch_fns]
    if every_executor_launched:  # (after a failed launch the rest of the plan's executors are never run)
        assert sorted(gws) == sorted(executed), "an executor was created but never launched (leaked)"


# --- the expected call sequence, from the prototypes --------------------------------------------------------

def check_marn_chain(log, case, inv, result):
    t = inv.ranks[0]
    tens = tensors_by_id(log)
    m, n = int(np.prod(t["residual"].shape[:-1])), t["residual"].shape[-1]
    k = t["x1"].shape[-1]
    mm = first(log, "aclnnMatmulGetWorkspaceSize")
    assert mm["cubeMathType"] == 0
    assert tens[mm["self"]]["view"] == [m, k] and tens[mm["self"]]["dtype"] == ACL_DTYPE[t["x1"].dtype]
    assert tens[mm["mat2"]]["view"] == list(t["x2"].shape) and tens[mm["mat2"]]["strides"] == list(t["x2"].strides)
    assert tens[mm["out"]]["view"] == [m, n]
    partial = mm["out"]
    if t.get("bias") is not None:
        add = first(log, "aclnnAddGetWorkspaceSize")
        assert add["self"] == mm["out"] and tens[add["other"]]["view"] == list(t["bias"].shape)
        alpha = next(r for r in log.records if r["fn"] == "aclCreateScalar" and r["scalar"] == add["alpha"])
        assert alpha["value"] == 1.0 and alpha["dtype"] == 0
        partial = add["out"]
    ar = first(log, "HcclAllReduce")
    assert ar["send"] == tens[partial]["data"] and ar["recv"] != ar["send"]
    assert (ar["count"], ar["dataType"], ar["op"]) == (m * n, HCCL[t["residual"].dtype], 0)
    assert ar["comm"] == first(log, "HcclCommInitRootInfo")["comm"]
    assert ar["stream"] == first(log, "aclrtCreateStream")["stream"]
    rn = first(log, "aclnnAddRmsNormGetWorkspaceSize")
    assert tens[rn["x1"]]["data"] == ar["recv"] and tens[rn["x2"]]["view"] == [m, n]
    assert tens[rn["gamma"]]["view"] == list(t["gamma"].shape)
    assert rn["epsilon"] == float(inv.attrs["epsilon"])
    assert tens[rn["rstdOut"]]["view"] == [m, 1] and tens[rn["rstdOut"]]["dtype"] == 0
    # stream order: matmul, (add), all-reduce, add-rms-norm, then a sync, then the downloads (then the teardown)
    order = [r["fn"] for r in log.records if r["fn"] in ("aclnnMatmul", "aclnnAdd", "HcclAllReduce", "aclnnAddRmsNorm",
                                                         "aclrtSynchronizeStreamWithTimeout")
             or (r["fn"] == "aclrtMemcpy" and r["kind"] == D2H)]
    want = ["aclnnMatmul"] + (["aclnnAdd"] if t.get("bias") is not None else []) + \
        ["HcclAllReduce", "aclnnAddRmsNorm", "aclrtSynchronizeStreamWithTimeout", "aclrtMemcpy", "aclrtMemcpy",
         "aclrtSynchronizeStreamWithTimeout"]  # the last: the teardown's, before the stream is destroyed
    assert order == want
    # the data flow: the fused names carry xOut (y / residual) and yOut (normOut) of AddRmsNorm
    x1 = np.ascontiguousarray(np.asarray(t["x1"].data)).tobytes()
    nbytes = m * n * 2
    reduced = cyc(x1, nbytes, TAG["aclnnMatmul"])
    if t.get("bias") is not None:
        reduced = cyc(reduced, nbytes, TAG["aclnnAdd"])
    y_name = "residual" if inv.op.startswith("Inplace") else "y"
    assert result.outputs[y_name].tobytes() == cyc(reduced, nbytes, TAG["xOut"])
    assert result.outputs["normOut"].tobytes() == cyc(reduced, nbytes, TAG["yOut"])
    assert result.outputs[y_name].shape == t["residual"].shape


@pytest.mark.parametrize("case_id", [MARN_BIAS, MARN_INPLACE, MARN_NOBIAS])
def test_marn_chain_calls(cann, case_id):
    case, inv = case_inv(case_id)
    [res] = run_ranks(inv, mode="chain")
    assert not isinstance(res, BaseException), res
    assert res.status == 0, res.message
    check_marn_chain(cann, case, inv, res)
    assert_all_freed(cann)
    assert not [r for r in cann.records if r["fn"] == abi.operator_abi(inv.op).execute_fn], "the fused op ran"


def test_v3_chain_calls(cann):
    case, inv = case_inv(V3_X3)
    t = inv.ranks[0]
    [res] = run_ranks(inv, mode="chain")
    assert not isinstance(res, BaseException), res
    assert res.status == 0, res.message
    tens = tensors_by_id(cann)
    q = first(cann, "aclnnQuantMatmulV4GetWorkspaceSize")
    m, n = int(np.prod(t["x1"].shape[:-1])), t["output"].shape[-1]
    assert tens[q["x1"]]["view"] == [m, t["x1"].shape[-1]] and tens[q["x1"]]["dtype"] == ACL_DTYPE["int8"]
    assert q["offset"] is None and q["transposeX1"] is False
    x2 = tens[q["x2"]]  # the NZ weight: the stored ND matrix, converted in place by aclnnTransMatmulWeight
    assert first(cann, "aclnnTransMatmulWeightGetWorkspaceSize")["weight"] == q["x2"]
    assert x2["view"] == (list(t["x2"].shape[::-1]) if q["transposeX2"] else list(t["x2"].shape)) \
        or x2["view"] == x2["storage"]
    assert tens[q["scale"]]["dtype"] == ACL_DTYPE[t["dequantScale"].dtype]
    assert (q["pertokenScale"] is None) == (t.get("pertokenScale") is None)
    assert tens[q["out"]]["view"] == [m, n] and tens[q["out"]]["dtype"] == ACL_DTYPE[t["output"].dtype]
    add = first(cann, "aclnnAddGetWorkspaceSize")
    assert add["self"] == q["out"] and tens[add["other"]]["view"] == [m, n]
    ar = first(cann, "HcclAllReduce")
    assert ar["send"] == tens[add["out"]]["data"]
    assert (ar["count"], ar["dataType"], ar["op"]) == (m * n, HCCL[t["output"].dtype], 0)
    x1 = np.ascontiguousarray(np.asarray(t["x1"].data)).tobytes()
    want = cyc(cyc(x1, m * n * 2, 0x66), m * n * 2, 0x55)
    assert res.outputs["output"].tobytes() == want
    assert_all_freed(cann)


# --- timing --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("chain,launches", [(False, 1), (True, 4)])
def test_timed_event_sequence(cann, chain, launches):
    case, inv = case_inv(MARN_BIAS)
    [res] = run_ranks(inv, mode="chain" if chain else "fused", warmup=2, iterations=3)
    assert not isinstance(res, BaseException), res
    assert res.status == 0, res.message
    # the fake answers 0.25 ms per launch between the two records: exactly the launches of one iteration
    assert list(res.outputs["seconds"]) == pytest.approx([launches * 0.25e-3] * 3)
    recs = cann.records
    created = [r["event"] for r in recs if r["fn"] == "aclrtCreateEvent"]
    assert len(created) == 6
    records = [r for r in recs if r["fn"] == "aclrtRecordEvent"]
    assert [r["event"] for r in records] == created  # start, end per timed iteration, in order
    stream = first(cann, "aclrtCreateStream")["stream"]
    assert {r["stream"] for r in records} == {stream}
    execute = "aclnnMatmulAllReduceAddRmsNorm" if not chain else "aclnnAddRmsNorm"
    launches_at = [i for i, r in enumerate(recs) if r["fn"] == execute]
    assert len(launches_at) == 5  # 2 warm-up + 3 timed
    first_record = next(i for i, r in enumerate(recs) if r["fn"] == "aclrtRecordEvent")
    assert first_record > launches_at[1]  # warm-up launches are not timed
    sync = next(i for i, r in enumerate(recs) if r["fn"] == "aclrtSynchronizeStreamWithTimeout")
    syncs = [i for i, r in enumerate(recs) if r["fn"] == "aclrtSynchronizeEvent"]
    elapsed = [i for i, r in enumerate(recs) if r["fn"] == "aclrtEventElapsedTime"]
    destroyed = [i for i, r in enumerate(recs) if r["fn"] == "aclrtDestroyEvent"]
    assert max(launches_at) < sync < min(syncs) and max(syncs) < max(elapsed) < min(destroyed)
    assert [(recs[i]["start"], recs[i]["end"]) for i in elapsed] == list(zip(created[::2], created[1::2]))
    assert_all_freed(cann)


# --- deliberate mis-marshalling, one per call family: each is caught by the checks above -----------------------

def _broken(monkeypatch, name, fn):
    monkeypatch.setattr(program._ChainMixin, name, fn)


def test_deliberate_wrong_matmul_operand_is_caught(cann, monkeypatch):
    original = program._ChainMixin._gws

    def swapped(self, plan, fn, *args):  # x1 and x2 swapped in aclnnMatmul
        if fn == "aclnnMatmul":
            args = (args[1], args[0]) + args[2:]
        return original(self, plan, fn, *args)
    _broken(monkeypatch, "_gws", swapped)
    case, inv = case_inv(MARN_BIAS)
    [res] = run_ranks(inv, mode="chain")
    with pytest.raises(AssertionError):
        check_marn_chain(cann, case, inv, res)


def test_deliberate_wrong_allreduce_count_is_caught(cann, monkeypatch):
    original = program._ChainMixin._chain_plan

    def short(self, res, call, b):
        b.count -= 1
        return original(self, res, call, b)
    _broken(monkeypatch, "_chain_plan", short)
    case, inv = case_inv(MARN_BIAS)
    [res] = run_ranks(inv, mode="chain")
    with pytest.raises(AssertionError):
        check_marn_chain(cann, case, inv, res)


def test_deliberate_wrong_norm_outputs_are_caught(cann, monkeypatch):
    original = program._ChainMixin._gws

    def swapped(self, plan, fn, *args):  # yOut and xOut swapped
        if fn == "aclnnAddRmsNorm":
            args = args[:4] + (args[6], args[5], args[4])
        return original(self, plan, fn, *args)
    _broken(monkeypatch, "_gws", swapped)
    case, inv = case_inv(MARN_BIAS)
    [res] = run_ranks(inv, mode="chain")
    with pytest.raises(AssertionError):
        check_marn_chain(cann, case, inv, res)


def test_deliberate_unbracketed_timing_is_caught(cann, monkeypatch):
    """Recording the end event before the launch: the elapsed time no longer covers the launches."""
    original = program._ChainMixin._launch_all
    calls = []

    def late(self, res, plan, workspaces=None):
        calls.append(1)
        return original(self, res, plan, workspaces) if len(calls) <= 2 else (0, "")
    _broken(monkeypatch, "_launch_all", late)
    case, inv = case_inv(MARN_BIAS)
    [res] = run_ranks(inv, warmup=2, iterations=3)
    with pytest.raises(AssertionError):
        assert list(res.outputs["seconds"]) == pytest.approx([0.25e-3] * 3)


def test_deliberate_leaked_event_is_caught(cann, monkeypatch):
    monkeypatch.setattr(program.Resources, "release", lambda self, keep_buffers=False: None)
    case, inv = case_inv(MARN_BIAS)
    run_ranks(inv, iterations=1)
    with pytest.raises(AssertionError):
        assert_all_freed(cann)


def test_timing_failure_reports_status(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_FAIL", "HcclAllReduce=7")
    case, inv = case_inv(MARN_BIAS)
    [res] = run_ranks(inv, mode="chain", iterations=2)
    assert res.status == 7 and "HcclAllReduce" in res.message
    assert_all_freed(cann, every_executor_launched=False)


# --- through the rank engine, 2 ranks --------------------------------------------------------------------------

def test_two_ranks_through_the_engine(cann):
    case, inv = case_inv("marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2")
    backend = AclnnBackend(deadline_s=60)
    try:
        chain = backend.invoke_chain(inv)
        timing = backend.timed(inv, chain=True, warmup=1, iterations=2)
        fused = backend.timed(inv, chain=False, warmup=0, iterations=2)
    finally:
        backend.close()
    assert [r.status for r in chain] == [0, 0] and set(chain[0].outputs) == {"y", "normOut"}
    assert timing.clock == "device events" and timing.seconds == pytest.approx([1e-3, 1e-3])
    assert fused.seconds == pytest.approx([0.25e-3, 0.25e-3])
    for dev in (0, 1):
        ars = [r for r in cann.records if r["fn"] == "HcclAllReduce" and r["dev"] == dev]
        assert len(ars) == 1 + 3  # the chain, then 1 warm-up + 2 timed


def test_chain_refuses_low_bit(cann):
    case, inv = case_inv("v3-tiny-bf16_pt-x1_2d-x2nd-bias-deqn-x3-lowbit-bf16-w1")
    backend = AclnnBackend()
    try:
        with pytest.raises(ValueError, match="low-bit"):
            backend.invoke_chain(inv)
    finally:
        backend.close()
