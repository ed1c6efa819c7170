"""The aclnn backend's marshalling, against a recording fake CANN (tests/fake_cann): what reaches each C
argument, not what a device computes.

The fake is built from C source with the prototypes of the operator documents; it logs every call (tensor
descriptors, attributes, an FNV hash of every copied buffer) and its operators fill their outputs with bytes
derived from x1, so the copy back is checked too. Inputs are real suite cases (casegen + materialise). The
expectations here are written independently of the backend (dtype enums from device-facts 6, layouts by
explicit loops), and each family of checks is shown to catch a deliberately wrong marshalling.
Ranks run in threads with a barrier channel (world size 1 and 2); one test goes through the rank engine.
"""

from __future__ import annotations

import ctypes
import dataclasses

import numpy as np
import pytest

import fake_cann
from conformance import casegen, dtypes, operators, quant
from conformance.backends import BackendError, load_backend
from conformance.backends.aclnn import abi, libs, program
from conformance.backends.aclnn.backend import AclnnBackend
from conformance.backends.aclnn.program import AclnnCallError, AclnnRankProgram
from conformance.casegen.inputs import materialise
from conformance.casegen.model import NZ, NZ_TRANSPOSED
from conformance.engine.program import RankCall

from helpers import ThreadChannel, fake_cann_home, run_aclnn_ranks

ACL_DTYPE = {"float32": 0, "float16": 1, "int8": 2, "int32": 3, "int64": 9, "uint64": 10, "bfloat16": 27}
ND, FRACTAL_NZ = 2, 29
H2D, D2H = 1, 2
GWS = {op.name: op.abi.workspace_fn for op in operators.all_operators()}
EXECUTE = {op: fn.replace("GetWorkspaceSize", "") for op, fn in GWS.items()}
# the fake fills an operator's first output with 0x11 and its second with 0x22 (bytes of x1 XOR the tag)
RESULTS = {op.name: dict(zip(op.abi.results, (0x11, 0x22))) for op in operators.all_operators()}

# one case per operator, layout and dtype family the backend must marshal
CASES = [
    "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1",
    "marn-tiny-x1_2d-x2T-nobias-eps0.01-bf16-w1",
    "marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1",
    "v3-tiny-bf16_pt-x1_2d-x2nd-bias-deqn-x3-lowbit-bf16-w1",  # every optional present
    "v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1",  # NZ weight, nulls
    "v3-tiny-fp16_i64-x1_2d-x2nzT-nobias-deq1-nox3-lowbit-fp16-w1",  # transposed NZ, INT64 scale
    "v3-tiny-fp16_u64-x1_2d-x2nzT-bias-deqn-nox3-lowbit-fp16-w1",  # UINT64 scale
    "marn-MARN-LAYOUT-003-x2_strided-fp16-w1",
    "marn-MARN-FORMAT-001-x2_nz-fp16-w1",  # NZ format with an ND buffer: passed through as given
    "v3-V3-SHAPE-003-x2_nz_3d_storage-fp16-w1",  # NZ with a 3-D storage: passed through as given
    "marn-MARN-ATTR-002-commturn_1-fp16-w1",
    "marn_inplace-MARN-ATTR-003-streammode_2-fp16-w1",
    "v3-V3-ATTR-001-reduce_max-fp16-w1",
    "marn-tiny-eps1e-12-fp16-w1",
    "v3-V3-NULL-001-null_x2-fp16-w2",
    "marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2",
] + [f"{op.short}-{i}" for op in operators.all_operators() for i in op.small_cases]  # a record's own small cases


# --- fixtures: the fake CANN and an in-process rank runner ----------------------------------------------

@pytest.fixture(scope="module", params=["single", "split"])
def fake_home(request, tmp_path_factory):
    """The fake CANN under each library layout (tests/fake_cann: the old single libopapi.so + libhccl.so, or the
    split libopapi_{math,nn,transformer}.so + libhcomm.so): every test of the backend runs against both."""
    return fake_cann_home(tmp_path_factory.mktemp(f"fake_cann_{request.param}"), request.param)


def layout_of(home) -> str:
    return "split" if (home / "lib64" / "libopapi_transformer.so").exists() else "single"


@pytest.fixture
def cann(fake_home, tmp_path, monkeypatch):
    """The fake as $ASCEND_HOME_PATH, a fresh call log, no injected behaviour."""
    monkeypatch.setenv("ASCEND_HOME_PATH", str(fake_home))
    monkeypatch.setenv("FAKE_CANN_LOG", str(tmp_path / "calls.jsonl"))
    for var in ("FAKE_CANN_FAIL", "FAKE_CANN_SYNC_DELAY_MS", "FAKE_CANN_WORKSPACE", libs.LIB_DIR_ENV):
        monkeypatch.delenv(var, raising=False)
    return Log(tmp_path / "calls.jsonl")


class Log:
    def __init__(self, path):
        self.path = path

    @property
    def records(self) -> list[dict]:
        return fake_cann.read_log(self.path)

    def calls(self, fn: str, dev: int | None = None) -> list[dict]:
        return [r for r in self.records if r["fn"] == fn and (dev is None or r["dev"] == dev)]

    # ids are per process: with ranks in worker processes, the device tells them apart
    def tensor(self, tid: str, dev: int) -> dict:
        return next(r for r in self.calls("aclCreateTensor", dev) if r["tensor"] == tid)

    def upload(self, mem: str, dev: int) -> dict | None:
        hits = [r for r in self.calls("aclrtMemcpy", dev) if r["kind"] == H2D and r["dst"] == mem]
        return hits[-1] if hits else None


def run_ranks(inv, devices=None, **kw):
    """Each rank's RankResult of one call (or the exception it raised): helpers.run_aclnn_ranks."""
    out, run_ranks.channel = run_aclnn_ranks(inv, devices, **kw)
    return [r if isinstance(r, BaseException) else r[0] for r in out]


def case_inv(case_id: str):
    return casegen.by_id(case_id), materialise(casegen.by_id(case_id), 0)


# --- expectations, computed independently of the backend ------------------------------------------------

def fnv(data: bytes) -> str:
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _span(shape, strides) -> int:
    return 0 if 0 in shape else 1 + sum((d - 1) * s for d, s in zip(shape, strides))


def _nz_stored(layout: str, t):
    return (t.shape[1], t.shape[0]) if layout == NZ_TRANSPOSED else tuple(t.shape)


def expected_descriptor(layout: str, t) -> dict:
    """What aclCreateTensor must receive for a case tensor: documented NZ path -> ND tensor over the stored
    matrix; an explicit storage -> as given; else the view in its base buffer."""
    if layout in (NZ, NZ_TRANSPOSED):
        fmt, storage = ND, list(_nz_stored(layout, t))
    else:
        fmt = FRACTAL_NZ if t.format == "FRACTAL_NZ" else ND
        if t.storage_shape is not None:
            storage = list(t.storage_shape)
        elif t.is_contiguous:
            storage = list(t.shape)
        elif t.is_last_two_transposed:
            storage = list(t.shape[:-2]) + [t.shape[-1], t.shape[-2]]
        else:
            storage = [_span(t.shape, t.strides)]
    return {"view": list(t.shape), "dtype": ACL_DTYPE[t.dtype], "strides": list(t.strides), "offset": 0,
            "format": fmt, "storage": storage}


def expected_bytes(layout: str, t) -> bytes:
    """The device buffer's content: each view element at sum(index * stride), one element at a time."""
    data = np.asarray(t.data)
    if layout in (NZ, NZ_TRANSPOSED):
        rows, cols = _nz_stored(layout, t)
        return quant.nz_to_nd(data, rows, cols).tobytes()
    if t.storage_shape is not None and data.shape == tuple(t.storage_shape):
        return np.ascontiguousarray(data).tobytes()
    buf = np.zeros(_span(t.shape, t.strides), data.dtype)
    for idx in np.ndindex(*t.shape):
        buf[sum(i * s for i, s in zip(idx, t.strides))] = data[idx]
    return buf.tobytes()


def marshalling_errors(log: Log, case, inv, rank: int) -> list[str]:
    """Every difference between what the case asks for and what the operator's GetWorkspaceSize received."""
    errors = []
    (call,) = log.calls(GWS[inv.op], dev=rank)
    layouts = {name: (spec.layout if spec else None) for name, spec in case.tensors}
    for name, t in inv.ranks[rank].items():
        if t is None:
            if call[name] is not None:
                errors.append(f"{name}: null expected, got {call[name]}")
            continue
        if call[name] is None:
            errors.append(f"{name}: got NULL")
            continue
        rec = log.tensor(call[name], rank)
        want = expected_descriptor(layouts[name], t)
        errors += [f"{name}.{k}: {rec[k]} != {v}" for k, v in want.items() if rec[k] != v]
        if t.data is not None:
            upload = log.upload(rec["data"], rank)
            content = expected_bytes(layouts[name], t)
            got = upload["fnv"] if upload else ("empty" if rec["data"] == "null" else "never copied")
            if got != (fnv(content) if content else "empty"):
                errors.append(f"{name}: device content differs from the case's values ({got})")
    (name_rec,) = log.calls("HcclGetCommName", dev=rank)
    want = {"group": name_rec["name"], "reduceOp": inv.attrs["reduceOp"], "commTurn": inv.attrs["commTurn"],
            "streamMode": inv.attrs["streamMode"]}
    if "epsilon" in call:
        want["epsilon"] = inv.attrs["epsilon"]
    errors += [f"{k}: {call[k]!r} != {v!r}" for k, v in want.items() if call[k] != v]
    return errors


def leaks(log: Log) -> list[str]:
    """What was made and never released, and what was released too early: device memory freed, or a stream
    destroyed without force, while a stream still had unsynchronised launches (the fake's "busy" / "pending")."""
    def ids(fn, key):
        return {(r["dev"], r[key]) for r in log.calls(fn) if r.get(key) not in (None, "unknown")}
    early = {(r["dev"], f"{r['fn']}({r.get('ptr') or r.get('stream')}) with work pending")
             for r in log.records if (r["fn"] == "aclrtFree" and r.get("busy"))
             or (r["fn"] == "aclrtDestroyStream" and r.get("pending"))}
    return sorted((ids("aclCreateTensor", "tensor") - ids("aclDestroyTensor", "tensor"))
                  | (ids("aclrtMalloc", "ptr") - ids("aclrtFree", "ptr"))
                  | (ids("aclCreateIntArray", "array") - ids("aclDestroyIntArray", "array"))
                  | early)


def expected_output(inv, rank: int, case, name: str) -> bytes:
    """The fake's execute: out[i] = x1_device_bytes[i % len] ^ tag over the output's storage."""
    x1 = expected_bytes(case.tensor_map["x1"].layout, inv.ranks[rank]["x1"])
    t = inv.ranks[rank][name]
    n = t.numel * dtypes.np_dtype(t.dtype).itemsize
    src = np.frombuffer(x1, np.uint8)
    tag = RESULTS[inv.op][name]
    return (np.resize(src, n) ^ np.uint8(tag)).tobytes() if src.size else bytes([tag]) * n


# --- tests ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id", CASES)
def test_every_argument_reaches_its_documented_slot(cann, case_id):
    """Argument order of all three GetWorkspaceSize calls, NULL for absent tensors, dtype/format enums,
    view dims, strides, offset, storage dims and device content of every tensor, the group from
    HcclGetCommName, epsilon / reduceOp / commTurn / streamMode, and nothing left allocated."""
    case, inv = case_inv(case_id)
    results = run_ranks(inv)
    assert all(not isinstance(r, BaseException) for r in results), results
    for rank in range(inv.world_size):
        assert marshalling_errors(cann, case, inv, rank) == []
    assert leaks(cann) == []


@pytest.mark.parametrize("case_id", CASES)
def test_outputs_are_copied_back_in_their_shape_and_dtype(cann, case_id):
    case, inv = case_inv(case_id)
    results = run_ranks(inv)
    for rank, result in enumerate(results):
        assert result.status == 0, result.message
        assert set(result.outputs) == set(RESULTS[inv.op])
        for name, arr in result.outputs.items():
            t = inv.ranks[rank][name]
            assert arr.shape == t.shape and arr.dtype == dtypes.np_dtype(t.dtype), name
            assert np.ascontiguousarray(arr).tobytes() == expected_output(inv, rank, case, name), name


def _swap(names, a, b):
    names = list(names)
    i, j = names.index(a), names.index(b)
    names[i], names[j] = names[j], names[i]
    return tuple(names)


def _mutate_abi(op, **fields):
    def breaks(mp):
        orig = abi.operator_abi
        mp.setattr(abi, "operator_abi",
                   lambda name: dataclasses.replace(orig(name), **fields) if name == op else orig(name))
    return breaks


def _world_group(mp):  # the group name of a single-process sample, not this communicator's
    connect = AclnnRankProgram.connect
    mp.setattr(AclnnRankProgram, "connect", lambda self, token: (connect(self, token),
                                                                 setattr(self, "group", b"hccl_world_group")))


def _epsilon_as_float(mp):  # a float (32-bit) epsilon where the prototype says double
    size = AclnnRankProgram._workspace_size
    mp.setattr(AclnnRankProgram, "_workspace_size", lambda self, op, handles, attrs: size(
        self, op, handles, {**attrs, "epsilon": float(np.float32(attrs["epsilon"]))}))


MARN, V3 = "MatmulAllReduceAddRmsNorm", "QuantMatmulAllReduceV3"
MUTATIONS = {  # name: (case, how to break the backend, a word the errors must contain)
    "x1_x2_swapped": ("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1",
                      _mutate_abi(MARN, inputs=_swap(abi.operator_abi(MARN).inputs, "x1", "x2")), "x1.view"),
    "scales_swapped": ("v3-tiny-bf16_pt-x1_2d-x2nd-bias-deqn-x3-lowbit-bf16-w1",
                       _mutate_abi(V3, inputs=_swap(abi.operator_abi(V3).inputs, "commQuantScale1",
                                                    "commQuantScale2")), "commQuantScale1: device content"),
    "commTurn_streamMode_swapped": ("marn-MARN-ATTR-003-streammode_2-fp16-w1",
                                    _mutate_abi(MARN, scalars=_swap(abi.operator_abi(MARN).scalars, "commTurn",
                                                                    "streamMode")), "commTurn"),
    "group": ("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1", _world_group, "group"),
    "epsilon_float": ("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1", _epsilon_as_float, "epsilon"),
    "fp16_enum": ("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1",
                  lambda mp: mp.setitem(dtypes.DTYPES, "float16",
                                        dataclasses.replace(dtypes.DTYPES["float16"], acl_enum=27)), "dtype"),
    "nd_enum": ("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1", lambda mp: mp.setitem(abi.ACL_FORMAT, "ND", 0),
                "format"),
    "transposed_copied_contiguous": ("marn-tiny-x1_2d-x2T-nobias-eps0.01-bf16-w1",
                                     lambda mp: mp.setattr(program, "host_storage",
                                                           lambda t: np.ascontiguousarray(t.data).reshape(-1)),
                                     "x2: device content"),
    "storage_is_view": ("marn-tiny-x1_2d-x2T-nobias-eps0.01-bf16-w1",
                        lambda mp: mp.setattr(program, "storage_dims", lambda t: tuple(t.shape)), "x2.storage"),
    "nz_passed_raw": ("v3-tiny-fp16_i64-x1_2d-x2nzT-nobias-deq1-nox3-lowbit-fp16-w1",
                      lambda mp: mp.setattr(program, "_is_standard_nz", lambda t: False), "x2.format"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_wrong_marshalling_is_caught(cann, monkeypatch, mutation):
    case_id, breaks, word = MUTATIONS[mutation]
    case, inv = case_inv(case_id)
    breaks(monkeypatch)
    run_ranks(inv)
    errors = marshalling_errors(cann, case, inv, 0)
    assert any(word in e for e in errors), errors


@pytest.mark.parametrize("case_id", ["v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1",
                                     "v3-tiny-fp16_i64-x1_2d-x2nzT-nobias-deq1-nox3-lowbit-fp16-w1"])
def test_nz_weight_takes_the_documented_path(cann, case_id):
    """aclCreateIntArray(stored shape) -> aclnnCalculateMatmulWeightSizeV2 (size = quant.weight_size_v2) ->
    a buffer of that many elements holding the stored ND matrix -> an ND tensor -> aclnnTransMatmulWeight on
    the stream -> sync, all before the operator's GetWorkspaceSize, which gets that tensor as x2."""
    case, inv = case_inv(case_id)
    run_ranks(inv)
    recs = cann.records
    fns = [r["fn"] for r in recs]
    t = inv.ranks[0]["x2"]
    rows, cols = _nz_stored(case.tensor_map["x2"].layout, t)
    (array,) = cann.calls("aclCreateIntArray")
    (size,) = cann.calls("aclnnCalculateMatmulWeightSizeV2")
    assert array["value"] == [rows, cols] and size["array"] == array["array"] and size["dtype"] == ACL_DTYPE["int8"]
    assert size["size"] == quant.weight_size_v2(rows, cols, 1)
    op = cann.calls(GWS[inv.op])[0]
    x2 = cann.tensor(op["x2"], 0)
    (alloc,) = [r for r in cann.calls("aclrtMalloc") if r["ptr"] == x2["data"]]
    assert alloc["size"] == size["size"] * 1
    (trans,) = cann.calls("aclnnTransMatmulWeightGetWorkspaceSize")
    assert trans["weight"] == op["x2"] and trans["fnv"] == fnv(expected_bytes(case.tensor_map["x2"].layout, t))
    (convert,) = cann.calls("aclnnTransMatmulWeight")
    i_convert, i_op = fns.index("aclnnTransMatmulWeight"), fns.index(GWS[inv.op])
    assert convert["executor"] == trans["executor"]
    assert convert["stream"] == cann.calls("aclrtCreateStream")[0]["stream"]
    assert fns[i_convert + 1] == "aclrtSynchronizeStreamWithTimeout" and i_convert < i_op
    assert leaks(cann) == []


def test_root_info_of_rank0_reaches_every_rank_and_each_rank_passes_its_own_group(cann):
    case, inv = case_inv("marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2")
    run_ranks(inv)
    (root,) = cann.calls("HcclGetRootInfo")
    assert root["dev"] == 0
    inits = cann.calls("HcclCommInitRootInfo")
    assert sorted((r["dev"], r["rank"], r["nRanks"], r["fnv"]) for r in inits) == \
        [(0, 0, 2, root["fnv"]), (1, 1, 2, root["fnv"])]
    for rank in (0, 1):
        (name,) = cann.calls("HcclGetCommName", dev=rank)
        assert cann.calls(GWS[inv.op], dev=rank)[0]["group"] == name["name"]


def test_devices_option_selects_the_device(cann):
    case, inv = case_inv("marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2")
    run_ranks(inv, devices=(3, 5))
    assert sorted(r["device"] for r in cann.calls("aclrtSetDevice")) == [3, 5]
    assert sorted(r["device"] for r in cann.calls("aclrtResetDevice")) == [3, 5]


@pytest.mark.parametrize("case_id", ["v3-V3-BOUND-001-m_at_max-fp16-w2", "marn-MARN-BOUND-001-bs_over_max-fp16-w1"])
def test_shape_only_cases_call_get_workspace_size_only(cann, case_id):
    case, inv = case_inv(case_id)
    results = run_ranks(inv)
    assert [r.status for r in results] == [0] * inv.world_size
    for fn in ("aclrtMalloc", "aclrtMemcpy", EXECUTE[inv.op]):
        assert cann.calls(fn) == [], fn
    for rank in range(inv.world_size):  # the only synchronise: the teardown's, before HcclCommDestroy
        fns = [r["fn"] for r in cann.records if r["dev"] == rank]
        assert fns.count("aclrtSynchronizeStreamWithTimeout") == 1
        assert fns[fns.index("aclrtSynchronizeStreamWithTimeout") + 1] == "HcclCommDestroy"
    assert run_ranks.channel.rounds == 0  # no pre-flight: nothing executes
    for rank in range(inv.world_size):
        call = cann.calls(GWS[inv.op], dev=rank)[0]
        assert cann.tensor(call["x1"], rank)["view"] == list(inv.ranks[rank]["x1"].shape)
        assert cann.tensor(call["x1"], rank)["data"] == "null"
    assert leaks(cann) == []


@pytest.mark.parametrize("fn, code, case_id", [
    ("aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize", 161002, "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"),
    ("aclnnInplaceMatmulAllReduceAddRmsNormGetWorkspaceSize", 161001,
     "marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1"),
    ("aclnnQuantMatmulAllReduceV3GetWorkspaceSize", 161002, "v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1"),
    ("aclnnQuantMatmulAllReduceV3", 561000, "v3-tiny-bf16_pt-x1_2d-x2nd-bias-deqn-x3-lowbit-bf16-w1"),
    ("aclnnMatmulAllReduceAddRmsNorm", 561002, "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"),
])
def test_status_codes_come_back_exactly_and_everything_is_released(cann, monkeypatch, fn, code, case_id):
    monkeypatch.setenv("FAKE_CANN_FAIL", f"{fn}={code}")
    case, inv = case_inv(case_id)
    (result,) = run_ranks(inv)
    assert result.status == code and fn in result.message and result.outputs == {}
    assert [r for r in cann.calls("aclrtMemcpy") if r["kind"] == D2H] == []
    if "GetWorkspaceSize" in fn:
        assert cann.calls(EXECUTE[inv.op]) == []
    assert leaks(cann) == []


def test_preflight_no_rank_executes_when_one_rejects(cann, monkeypatch):
    case, inv = case_inv("marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2")
    monkeypatch.setenv("FAKE_CANN_FAIL", f"{GWS[inv.op]}=161002@1")
    results = run_ranks(inv)
    assert [r.status for r in results] == [0, 161002]
    assert "rank 1 rejected it with 161002" in results[0].message
    assert cann.calls(EXECUTE[inv.op]) == [] and leaks(cann) == []


def test_preflight_check_can_fail(cann, monkeypatch):
    """Without the pre-flight, rank 0 would launch the collective alone: the test above would see it."""
    case, inv = case_inv("marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2")
    monkeypatch.setenv("FAKE_CANN_FAIL", f"{GWS[inv.op]}=161002@1")
    monkeypatch.setattr(AclnnRankProgram, "_preflight", lambda self, call, status, message:
                        None if not status else program.RankResult(status, {}, message))
    run_ranks(inv)
    assert [r["dev"] for r in cann.calls(EXECUTE[inv.op])] == [0]


def test_sync_timeout_is_a_nonzero_status_with_a_message(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_SYNC_DELAY_MS", "5000")
    case, inv = case_inv("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1")
    (result,) = run_ranks(inv, sync_timeout_ms=50)
    assert result.status == 507046 and result.outputs == {}
    assert "aclrtSynchronizeStreamWithTimeout(50 ms)" in result.message and EXECUTE[inv.op] in result.message
    assert [r["timeout"] for r in cann.calls("aclrtSynchronizeStreamWithTimeout")] == [50]
    assert leaks(cann) == []


@pytest.mark.parametrize("fn, after", [("aclnnTransMatmulWeight", 0), ("aclrtMemcpy", 3), ("aclCreateTensor", 3),
                                       ("aclrtMalloc", 3)])
def test_a_failing_setup_call_raises_and_releases_what_was_made(cann, monkeypatch, fn, after):
    """Not an operator status: the engine reports it as a backend error. The failure is injected during
    the NZ weight's conversion, or after the first three calls of its kind, when other tensors exist."""
    monkeypatch.setenv("FAKE_CANN_FAIL", f"{fn}=507899+{after}")
    case, inv = case_inv("v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1")
    (result,) = run_ranks(inv)
    assert isinstance(result, AclnnCallError) and fn in str(result)
    assert cann.calls(GWS[inv.op]) == [] and leaks(cann) == []
    assert len(cann.calls("aclrtMalloc")) >= 3 and len(cann.calls("aclCreateTensor")) >= 2


def test_empty_tensors_get_a_null_data_pointer_and_no_zero_byte_allocation(cann):
    case, inv = case_inv("marn_inplace-empty_n-fp16-w1")
    (result,) = run_ranks(inv)
    assert result.status == 0
    assert all(r["size"] > 0 for r in cann.calls("aclrtMalloc"))
    call = cann.calls(GWS[inv.op])[0]
    assert cann.tensor(call["gamma"], 0)["data"] == "null" and cann.tensor(call["gamma"], 0)["view"] == [0]
    assert result.outputs["residual"].shape == (1, 4, 0) and leaks(cann) == []


def test_program_lifecycle_calls_and_teardown(cann):
    case, inv = case_inv("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1")
    run_ranks(inv)
    fns = [r["fn"] for r in cann.records]
    assert fns[:6] == ["aclInit", "aclrtSetDevice", "aclrtCreateStream", "HcclGetRootInfo",
                       "HcclCommInitRootInfo", "HcclGetCommName"]
    # synchronise before destroying the stream (hicann/runtime@681ef761 docs/zh/api_ref/06_stream_management.md:262)
    assert fns[-5:] == ["aclrtSynchronizeStreamWithTimeout", "HcclCommDestroy", "aclrtDestroyStream",
                        "aclrtResetDevice", "aclFinalize"]
    assert cann.calls("aclInit")[0]["config"] is None
    assert {r["policy"] for r in cann.calls("aclrtMalloc")} == {0}  # ACL_MEM_MALLOC_HUGE_FIRST


# --- failure paths: nothing freed or destroyed while the stream may still run -----------------------------
# hicann/runtime@681ef761: aclrtFree does not wait (docs/zh/api_ref/11-01_device_memory_malloc_and_free.md:612);
# aclrtDestroyStream needs a synchronise first (06_stream_management.md:262); aclrtStreamAbort stops and drops a
# stream's tasks (:701); aclrtDestroyStreamForce destroys without waiting (:305). The fake logs "busy" on a free
# and "pending" on a destroy; leaks() reports either.

MARN_CASE = "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"
STREAM_FNS = ("aclnnMatmulAllReduceAddRmsNorm", "aclnnMatmul", "aclnnAdd", "HcclAllReduce",
              "aclrtSynchronizeStreamWithTimeout", "aclrtStreamAbort", "aclrtDestroyStreamForce", "aclrtDestroyStream",
              "aclrtCreateStream", "aclrtFree", "HcclCommDestroy")


def stream_order(log: Log, after: str) -> list[str]:
    """The stream-related calls from the first (failed) call of `after` on, consecutive aclrtFree folded into one."""
    fns = [r["fn"] for r in log.records if r["fn"] in STREAM_FNS]
    fns = fns[fns.index(after):]
    return [f for i, f in enumerate(fns) if not (f == "aclrtFree" and i and fns[i - 1] == "aclrtFree")]


def test_a_failed_launch_synchronises_before_freeing(cann, monkeypatch):
    """The chain's HcclAllReduce fails after aclnnMatmul and aclnnAdd were launched: the stream is synchronised,
    then the memory freed; the stream lives on (synchronised again and destroyed at teardown)."""
    monkeypatch.setenv("FAKE_CANN_FAIL", "HcclAllReduce=7")
    case, inv = case_inv(MARN_CASE)
    (result,) = run_ranks(inv, mode="chain")
    assert result.status == 7
    assert stream_order(cann, "HcclAllReduce") == [
        "HcclAllReduce", "aclrtSynchronizeStreamWithTimeout", "aclrtFree", "aclrtSynchronizeStreamWithTimeout",
        "HcclCommDestroy", "aclrtDestroyStream"]
    assert [r["status"] for r in cann.calls("aclrtSynchronizeStreamWithTimeout")] == [0, 0]
    assert leaks(cann) == []


def test_a_failed_fused_launch_and_a_failed_nz_conversion_synchronise_before_freeing(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_FAIL", "aclnnMatmulAllReduceAddRmsNorm=561002")
    case, inv = case_inv(MARN_CASE)
    run_ranks(inv)
    assert stream_order(cann, "aclnnMatmulAllReduceAddRmsNorm")[:3] == [
        "aclnnMatmulAllReduceAddRmsNorm", "aclrtSynchronizeStreamWithTimeout", "aclrtFree"]
    cann.path.unlink()
    monkeypatch.setenv("FAKE_CANN_FAIL", "aclnnTransMatmulWeight=507899")
    case, inv = case_inv("v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1")
    (result,) = run_ranks(inv)
    assert isinstance(result, AclnnCallError)
    fns = [r["fn"] for r in cann.records]
    failed = fns.index("aclnnTransMatmulWeight")
    assert fns[failed + 1] == "aclrtSynchronizeStreamWithTimeout" and "aclrtFree" not in fns[:failed]
    assert leaks(cann) == []


def test_a_timed_out_synchronise_aborts_and_force_destroys_the_stream_before_freeing(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_SYNC_DELAY_MS", "5000")
    case, inv = case_inv(MARN_CASE)
    (result,) = run_ranks(inv, sync_timeout_ms=50)
    assert result.status == 507046
    assert stream_order(cann, "aclnnMatmulAllReduceAddRmsNorm") == [
        "aclnnMatmulAllReduceAddRmsNorm", "aclrtSynchronizeStreamWithTimeout", "aclrtStreamAbort",
        "aclrtDestroyStreamForce", "aclrtFree", "HcclCommDestroy"]  # no second wait, no plain destroy
    (abort,) = cann.calls("aclrtStreamAbort")
    assert abort["pending"] == 1 and cann.calls("aclrtDestroyStreamForce")[0]["pending"] == 0
    assert leaks(cann) == []


def test_a_failed_launch_whose_synchronise_times_out_is_aborted_too(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_FAIL", "HcclAllReduce=7")
    monkeypatch.setenv("FAKE_CANN_SYNC_DELAY_MS", "5000")
    case, inv = case_inv(MARN_CASE)
    (result,) = run_ranks(inv, mode="chain", sync_timeout_ms=50)
    assert result.status == 7
    assert stream_order(cann, "HcclAllReduce") == [
        "HcclAllReduce", "aclrtSynchronizeStreamWithTimeout", "aclrtStreamAbort", "aclrtDestroyStreamForce",
        "aclrtFree", "HcclCommDestroy"]
    assert leaks(cann) == []


def test_after_a_dropped_stream_the_next_invocation_gets_a_fresh_one(cann, monkeypatch):
    case, inv = case_inv(MARN_CASE)
    prog = AclnnRankProgram(rank=0, world_size=1, sync_timeout_ms=50)
    channel = ThreadChannel(1)
    call = RankCall(inv.op, 0, 1, inv.ranks[0], inv.attrs, False, inv.case_id, channel.rank(0), inv.ranks)
    try:
        prog.connect(prog.open())
        monkeypatch.setenv("FAKE_CANN_SYNC_DELAY_MS", "5000")
        assert prog.invoke(call).status == 507046 and not prog.stream.value
        monkeypatch.delenv("FAKE_CANN_SYNC_DELAY_MS")
        assert prog.invoke(call).status == 0
    finally:
        prog.close()
    streams = [r["stream"] for r in cann.calls("aclrtCreateStream")]
    assert len(streams) == 2
    assert [r["stream"] for r in cann.calls("aclrtDestroyStreamForce")] == streams[:1]
    assert [r["stream"] for r in cann.calls("aclrtDestroyStream")] == streams[1:]
    assert leaks(cann) == []


@pytest.mark.parametrize("broken, freed", [("aclrtStreamAbort", True), ("aclrtDestroyStreamForce", True),
                                           ("aclrtStreamAbort,aclrtDestroyStreamForce", False)])
def test_a_stream_that_cannot_be_stopped_keeps_its_memory(cann, monkeypatch, broken, freed):
    """Either abort or force-destroy makes the memory safe to free; with neither the buffers stay allocated
    (a bounded leak, not a use after free) and the stream is never destroyed with tasks on it."""
    monkeypatch.setenv("FAKE_CANN_FAIL", ",".join(f"{fn}=507899" for fn in broken.split(",")))
    monkeypatch.setenv("FAKE_CANN_SYNC_DELAY_MS", "5000")
    case, inv = case_inv(MARN_CASE)
    (result,) = run_ranks(inv, sync_timeout_ms=50)
    assert result.status == 507046
    assert bool(cann.calls("aclrtFree")) == freed
    early = [x for x in leaks(cann) if "pending" in str(x)]
    assert early == []  # nothing freed or destroyed while busy; unfreed buffers are the only leaks
    assert all(str(x[1]).startswith("m") for x in leaks(cann)) and (leaks(cann) == []) == freed


def test_freeing_before_settling_the_stream_is_caught(cann, monkeypatch):
    """The checks above can fail: without _settle the chain's failure frees memory under a busy stream."""
    monkeypatch.setenv("FAKE_CANN_FAIL", "HcclAllReduce=7")
    monkeypatch.setattr(AclnnRankProgram, "_settle", lambda self: True)
    case, inv = case_inv(MARN_CASE)
    run_ranks(inv, mode="chain")
    assert any("aclrtFree" in str(x) and "pending" in str(x) for x in leaks(cann))


# --- libraries and the backend ------------------------------------------------------------------------

def test_missing_libraries_are_one_line_naming_every_path(tmp_path, monkeypatch):
    monkeypatch.delenv(libs.LIB_DIR_ENV, raising=False)
    monkeypatch.setenv("ASCEND_HOME_PATH", str(tmp_path))
    (tmp_path / "lib64").mkdir()
    (tmp_path / "lib64" / "libascendcl.so").write_text("")
    with pytest.raises(BackendError) as err:
        libs.find()
    msg = str(err.value)
    assert "\n" not in msg and "libascendcl.so" not in msg.split("looked at")[0]
    for name in ("libnnopbase.so", "libopapi.so", "libhccl.so"):
        for sub in ("lib64", "aarch64-linux/lib64", "x86_64-linux/lib64"):
            assert str(tmp_path / sub / name) in msg
    assert "libopapi.so (or the split libopapi_math.so, libopapi_nn.so, libopapi_transformer.so)" in msg
    assert "libhcomm.so" not in msg  # optional: older CANN keep the communicator calls in libhccl.so
    with pytest.raises(BackendError, match=r"^aclnn backend: .*not found") as err:
        load_backend("aclnn")
    assert "\n" not in str(err.value)
    with pytest.raises(BackendError, match=str(tmp_path / "elsewhere" / "libhccl.so")):
        libs.find(tmp_path / "elsewhere")
    monkeypatch.delenv("ASCEND_HOME_PATH")
    with pytest.raises(BackendError, match="ASCEND_HOME_PATH is not set.*set_env.sh"):
        libs.find()


# The library of each symbol per layout (conformance/backends/aclnn/abi.py PROTOTYPES cites the operator lists)
HOMES = {
    "split": {"aclnnMatmulAllReduceAddRmsNorm": "libopapi_transformer.so",
              "aclnnQuantMatmulAllReduceV3GetWorkspaceSize": "libopapi_transformer.so",
              "aclnnMatmul": "libopapi_nn.so", "aclnnAddRmsNormGetWorkspaceSize": "libopapi_nn.so",
              "aclnnQuantMatmulV4": "libopapi_nn.so", "aclnnAdd": "libopapi_math.so",
              "aclnnCalculateMatmulWeightSizeV2": "libopapi_math.so", "aclnnTransMatmulWeight": "libopapi_math.so",
              "HcclGetRootInfo": "libhcomm.so", "HcclCommInitRootInfo": "libhcomm.so",
              "HcclGetCommName": "libhcomm.so", "HcclCommDestroy": "libhcomm.so", "HcclAllReduce": "libhccl.so",
              "aclCreateTensor": "libnnopbase.so", "aclrtMalloc": "libascendcl.so"},
    "single": {"aclnnMatmulAllReduceAddRmsNorm": "libopapi.so", "aclnnMatmul": "libopapi.so",
               "aclnnAdd": "libopapi.so", "aclnnTransMatmulWeight": "libopapi.so", "HcclGetRootInfo": "libhccl.so",
               "HcclCommDestroy": "libhccl.so", "HcclAllReduce": "libhccl.so", "aclCreateTensor": "libnnopbase.so",
               "aclrtMalloc": "libascendcl.so"},
}
LOADED = {"split": ["libascendcl.so", "libnnopbase.so", "libopapi_math.so", "libopapi_nn.so",
                    "libopapi_transformer.so", "libhcomm.so", "libhccl.so"],
          "single": ["libascendcl.so", "libnnopbase.so", "libopapi.so", "libhccl.so"]}


def test_symbols_resolve_from_their_home_library_first(cann, fake_home):
    layout = layout_of(fake_home)
    loaded = libs.load()
    api = abi.Api(loaded)
    assert loaded.layout == layout and list(loaded.handles) == LOADED[layout]
    for symbol, lib in HOMES[layout].items():
        assert loaded.origin[symbol] == lib, symbol
    assert {loaded.origin[s] for s in abi.OPTIONAL} <= set(LOADED[layout]) and api.aclrtStreamAbort is not None
    with pytest.raises(BackendError, match="symbol aclNoSuchThing not found") as err:
        loaded.resolve("aclNoSuchThing", "libnnopbase.so")
    assert "\n" not in str(err.value) and str(fake_home / "lib64" / "libnnopbase.so") in str(err.value)


def test_backend_describes_libraries_and_version(cann, fake_home):
    layout = layout_of(fake_home)
    backend = AclnnBackend(deadline_s=30)
    info = backend.describe()
    assert info["cann_version"] == "8.0.fake" and info["library layout"] == layout
    for name in LOADED[layout]:
        assert info[f"lib {name}"] == str(fake_home / "lib64" / name)
    assert info["aclCreateTensor from"] == "libnnopbase.so"
    for symbol, lib in HOMES[layout].items():
        assert symbol in info[f"symbols from {lib}"].split(", "), symbol
    assert "optional symbols not found" not in info
    assert backend.unsupported_reason(case_inv("marn-tiny-eps1e-12-fp16-w1")[1]) is None
    backend.close()


@pytest.fixture(scope="module")
def both_home(tmp_path_factory):
    """A CANN that ships libopapi.so next to the split libraries."""
    return fake_cann_home(tmp_path_factory.mktemp("fake_cann_both"), "both")


def test_a_directory_with_both_layouts_loads_only_the_split_libraries(both_home, tmp_path, monkeypatch):
    """libopapi.so 「不支持与单个算子仓库文件同时使用」 (hicann/ops-math@c4193324 docs/zh/op_api_list.md:12): the split
    layout wins, libopapi.so is never loaded, and describe() says so."""
    monkeypatch.setenv("ASCEND_HOME_PATH", str(both_home))
    monkeypatch.setenv("FAKE_CANN_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv(libs.LIB_DIR_ENV, raising=False)
    found = libs.find_layout()
    assert found.layout == "split" and "libopapi.so" not in found.paths
    assert found.skipped == {"libopapi.so": both_home / "lib64" / "libopapi.so"}
    loaded = libs.load()
    abi.Api(loaded)
    assert list(loaded.handles) == LOADED["split"] and "libopapi.so" not in set(loaded.origin.values())
    backend = AclnnBackend(deadline_s=30)
    info = backend.describe()
    backend.close()
    assert "lib libopapi_transformer.so" in info and "not loaded" in info["lib libopapi.so"]
    assert "op_api_list.md:12" in info["lib libopapi.so"]


def _layout_dir(tmp_path, both_home, names):
    d = tmp_path / "lib64"
    d.mkdir()
    for name in names:
        (d / name).symlink_to(both_home / "lib64" / name)
    return d


def test_an_incomplete_split_layout_is_one_line_and_never_falls_back_to_libopapi(both_home, tmp_path):
    d = _layout_dir(tmp_path, both_home, ["libascendcl.so", "libnnopbase.so", "libopapi_transformer.so",
                                          "libopapi.so", "libhccl.so"])
    with pytest.raises(BackendError) as err:
        libs.find_layout(d)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("aclnn backend: libopapi_math.so, libopapi_nn.so not found")
    assert str(d / "libopapi_nn.so") in msg and "split operator libraries found (libopapi_transformer.so)" in msg
    assert "may not be loaded together" in msg


def test_without_libhcomm_the_communicator_calls_come_from_libhccl(both_home, tmp_path):
    d = _layout_dir(tmp_path, both_home, ["libascendcl.so", "libnnopbase.so", "libopapi_math.so", "libopapi_nn.so",
                                          "libopapi_transformer.so", "libhccl.so"])
    loaded = libs.load(d)
    abi.Api(loaded)
    assert "libhcomm.so" not in loaded.handles
    assert {loaded.origin[s] for s in ("HcclGetRootInfo", "HcclCommInitRootInfo", "HcclGetCommName",
                                       "HcclCommDestroy", "HcclAllReduce")} == {"libhccl.so"}
    assert loaded.origin["aclnnMatmul"] == "libopapi_nn.so"


@pytest.mark.parametrize("layout", ["single", "split"])
def test_a_missing_symbol_is_one_line_naming_every_library_looked_in(tmp_path, layout):
    home = fake_cann_home(tmp_path, layout, omit=("aclnnMatmul", "aclrtStreamAbort"))
    loaded = libs.load(home / "lib64")
    with pytest.raises(BackendError) as err:
        abi.Api(loaded)
    msg = str(err.value)
    home_lib = "libopapi_nn.so" if layout == "split" else "libopapi.so"
    assert "\n" not in msg and msg.startswith(f"aclnn backend: symbol aclnnMatmul not found; looked in {home_lib} (")
    for name in LOADED[layout]:
        assert f"{name} ({home / 'lib64' / name})" in msg
    # an optional function's absence is no error: the attribute is None
    assert libs.load(home / "lib64").find_symbol("aclrtStreamAbort", "libascendcl.so") is None


def test_end_to_end_through_the_rank_engine(cann):
    """Two worker processes: open/connect/invoke/close through the engine, the pre-flight's allgather on
    the engine's channel, results back through its shared memory."""
    backend = AclnnBackend(deadline_s=60)
    try:
        case, inv = case_inv("marn-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2")
        results = backend.invoke(inv)
        assert [r.status for r in results] == [0, 0]
        for rank in (0, 1):
            assert marshalling_errors(cann, case, inv, rank) == []
            for name in ("y", "normOut"):
                assert results[rank].outputs[name].tobytes() == expected_output(inv, rank, case, name)
        (root,) = cann.calls("HcclGetRootInfo")
        assert {r["fnv"] for r in cann.calls("HcclCommInitRootInfo")} == {root["fnv"]}
    finally:
        backend.close()
    assert sorted(r["dev"] for r in cann.calls("aclFinalize")) == [0, 1] and leaks(cann) == []


def test_end_to_end_preflight_through_the_rank_engine(cann, monkeypatch):
    monkeypatch.setenv("FAKE_CANN_FAIL", f"{GWS['QuantMatmulAllReduceV3']}=161002@0")
    backend = AclnnBackend(deadline_s=60)
    try:
        case, inv = case_inv("v3-tiny-bf16-x1_2d-x2nz-nobias-deq1-x3-lowbit-bf16-w2")
        results = backend.invoke(inv)
    finally:
        backend.close()
    assert [r.status for r in results] == [161002, 0] and "rank 0 rejected it" in results[1].message
    assert cann.calls(EXECUTE[inv.op]) == [] and leaks(cann) == []


def test_a_null_communicator_is_hccl_e_ptr(cann):
    """HCCL_E_PTR is 2 ("empty pointer"; 4 is HCCL_E_INTERNAL): hicann/hcomm@2b912e7d
    include/hccl/hccl_types.h:26, 28."""
    api = abi.Api(libs.load())
    name = ctypes.create_string_buffer(abi.HCCL_COMM_NAME_BYTES)
    assert api.HcclGetCommName(None, name) == 2
    assert api.HcclAllReduce(None, None, 0, 3, 0, None, None) == 2
    assert [r["status"] for r in cann.records] == [2, 2]
