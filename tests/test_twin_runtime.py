"""The CANN twin's runtime, HCCL and bridge (conformance/twin): the real torch_npu 2.13.0 and the suite's ctypes
backend run on it. The operators are a test-local fake here (they record their arguments, write a constant and
can fail), so these tests prove the plumbing, not the numerics (tests/test_twin_operators.py does those).

Skips with the reason where the machine has no C compiler or no torch_npu wheel (TwinError's one line).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import subprocess
import sys
import threading
import types
from ctypes import POINTER, c_char_p, c_int, c_uint32, c_uint64, c_void_p
from pathlib import Path

import numpy as np
import pytest

from conformance import operators
from conformance.twin import TARGET_TWIN, TwinError, bridge, install_tree, prepare
from helpers import prepared_twin, results_of, run_torch_ranks

ROOT = Path(__file__).resolve().parent.parent
AICORE_EXCEPTION = 507015  # ACL_ERROR_RT_AICORE_EXCEPTION: torch_npu's acl/error_codes/rt_error_codes.h:106


@pytest.fixture(scope="module")
def twin():
    return prepared_twin()


# --- the fake operators (a module the bridge is pointed at with MC2_TWIN_OPERATORS) -----------------------------

FAKE_OPERATORS = '''
import hashlib, json, os
import numpy as np
from conformance.twin import chain_ops
from conformance.twin.values import Answer, DeviceTensor

def _describe(v):
    if isinstance(v, DeviceTensor):
        size = int(np.prod(v.storage_shape)) if v.storage_shape else 0
        return {"dtype": v.dtype, "shape": list(v.shape), "format": v.format,
                "storage": hashlib.sha256(v.storage[:size].tobytes()).hexdigest()}
    return v if v is None or isinstance(v, (int, float, str, bool)) else repr(v)

def _log(entry):
    with open(os.environ["FAKE_OPS_LOG"], "a") as f:
        f.write(json.dumps(entry) + "\\n")

def handles(fn):  # the MC2 operators faked; the chain's (NZ weight transform) real; the basic ones basic_ops'
    return "AllReduce" in fn or chain_ops.handles(fn)

def workspace(fn, args, ctx):
    if "AllReduce" not in fn:
        return chain_ops.workspace(fn, args)
    _log({"phase": "workspace", "fn": fn, "device": ctx.device, "revision": ctx.revision,
          "args": {k: _describe(v) for k, v in args.items()}})
    return Answer(workspace=4096)

def launch(fn, args, ctx):
    if "AllReduce" not in fn:
        return chain_ops.launch(fn, args)
    peers = []
    if isinstance(args.get("group"), str):
        comm = ctx.comm(args["group"])
        peers = [p.decode() for p in comm.allgather(f"{comm.rank}/{comm.size}".encode())]
    _log({"phase": "launch", "fn": fn, "device": ctx.device, "peers": peers})
    for name in ("output", "y", "normOut"):
        if isinstance(args.get(name), DeviceTensor):
            args[name].write(np.full(args[name].shape, 7))
    status = int(os.environ.get("FAKE_KERNEL_STATUS", "0"))
    return Answer(kernel_status=status, message="fake kernel failure" if status else "")
'''


@pytest.fixture
def fake_operators(tmp_path, monkeypatch):
    """The fake operators, importable here (sys.modules) and in subprocesses (a file on PYTHONPATH); its log."""
    (tmp_path / "twin_fake_operators.py").write_text(FAKE_OPERATORS)
    module = types.ModuleType("twin_fake_operators")
    exec(compile(FAKE_OPERATORS, "twin_fake_operators.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "twin_fake_operators", module)
    log = tmp_path / "ops.jsonl"
    monkeypatch.setenv(bridge.OPERATORS_ENV, "twin_fake_operators")
    monkeypatch.setenv("FAKE_OPS_LOG", str(log))
    monkeypatch.delenv("FAKE_KERNEL_STATUS", raising=False)
    return tmp_path, log


def read_log(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# --- the library --------------------------------------------------------------------------------------------------

def test_every_cann_symbol_torch_npu_links_is_defined(twin):
    """torch_npu is linked BIND_NOW: each undefined acl*/rt*/Msprof*/Hccl* symbol of its libraries must be there."""
    import importlib.util
    tn = Path(list(importlib.util.find_spec("torch_npu").submodule_search_locations)[0])
    undefined = set()
    for lib in [tn / "lib" / "libtorch_npu.so", tn / "lib" / "libnpu_profiler.so", *tn.glob("_C*.so")]:
        out = subprocess.run(["nm", "-D", "--undefined-only", str(lib)], capture_output=True, text=True).stdout
        undefined |= {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    cann = {s for s in undefined if s.startswith(("acl", "rt", "Msprof", "Hccl"))}
    out = subprocess.run(["nm", "-D", "--defined-only", str(twin.libraries["libcann_twin.so"])],
                         capture_output=True, text=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert len(cann) > 80, "the scan found too few CANN symbols to mean anything"
    assert sorted(cann - defined) == []


def test_tree_and_describe(twin):
    facts = twin.describe()
    assert facts["node"] == TARGET_TWIN and "hardware" not in TARGET_TWIN
    assert facts["torch_npu"].startswith("2.13") and facts["sim_cann_revision"] == twin.revision
    assert twin.missing() == []
    assert set(install_tree.LIBRARY_NAMES) <= set(twin.libraries)
    for name in install_tree.LIBRARY_NAMES:  # each stub needs the twin itself
        dyn = subprocess.run(["readelf", "-d", str(twin.libraries[name])], capture_output=True, text=True).stdout
        assert "[libcann_twin.so]" in dyn, name
    assert twin.env["ASCEND_HOME_PATH"] == str(twin.home)


def test_missing_names_a_removed_library(twin, tmp_path):
    import shutil
    copy = tmp_path / "home"
    shutil.copytree(twin.home, copy, symlinks=True)
    libs = {name: copy / "lib64" / name for name in twin.libraries}
    clone = type(twin)(home=copy, lib_dir=copy / "lib64", libraries=libs, env=twin.env, revision=twin.revision)
    libs["libhcomm.so"].unlink()
    (copy / "opp").rmdir()
    problems = clone.missing()
    assert len(problems) == 2
    assert "libhcomm.so" in problems[0] and "opp" in problems[1]


def test_no_compiler_is_one_line(monkeypatch, tmp_path):
    """prepare() without a compiler: TwinError naming what is missing, one line, nothing built."""
    monkeypatch.setenv("CC", "no-such-cc-for-the-twin")
    with pytest.raises(TwinError) as info:
        prepare(cache_dir=tmp_path)
    assert "no-such-cc-for-the-twin" in str(info.value) and "\n" not in str(info.value)
    assert not any(tmp_path.iterdir())


def test_no_torch_npu_wheel_is_one_line(monkeypatch, tmp_path):
    import importlib.util

    from conformance.twin import build
    real = importlib.util.find_spec
    monkeypatch.setattr(build.importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch_npu" else real(name, *a))
    with pytest.raises(TwinError, match="torch_npu is not installed"):
        prepare(cache_dir=tmp_path)


def test_an_unknown_revision_is_one_line(tmp_path):
    with pytest.raises(TwinError, match="unknown sim-cann source revision"):
        prepare(revision="no-such-revision", cache_dir=tmp_path)


def _api(twin):
    lib = ctypes.CDLL(str(twin.libraries["libcann_twin.so"]))
    lib.aclGetRecentErrMsg.restype = c_char_p
    lib.HcclCommInitRootInfo.argtypes = [c_uint32, c_char_p, c_uint32, POINTER(c_void_p)]
    lib.HcclAllReduce.argtypes = [c_void_p, c_void_p, c_uint64, c_int, c_int, c_void_p, c_void_p]
    lib.HcclCommDestroy.argtypes = [c_void_p]
    lib.aclrtSynchronizeStream.argtypes = [c_void_p]
    return lib


HCCL_TYPES = {"int8": 0, "int32": 2, "float16": 3, "float32": 4, "int64": 5, "bfloat16": 11}  # hccl_types.h:72-83
HCCL_OPS = {"sum": 0, "prod": 1, "max": 2, "min": 3}  # hccl_types.h:61-64


def _expected_reduce(arrays, dtype, op):
    """Rank order, in float32 for the half types and the dtype itself otherwise, rounded once at the end."""
    wide = np.float32 if dtype in ("float16", "bfloat16") else arrays[0].dtype
    acc = arrays[0].astype(wide)
    for a in arrays[1:]:
        a = a.astype(wide)
        acc = {"sum": acc + a, "prod": acc * a, "max": np.maximum(acc, a), "min": np.minimum(acc, a)}[op]
    with np.errstate(over="ignore"):  # products overflow the half types to inf, on both sides
        return acc.astype(arrays[0].dtype)


def test_hccl_all_reduce_every_dtype_and_op_in_threads(twin):
    """Three ranks as threads of this process: every dtype x op against numpy, bit for bit (fp16/bf16 round once)."""
    from conformance.twin.bridge import numpy_dtype
    lib, world = _api(twin), 3
    root = ctypes.create_string_buffer(4108)
    assert lib.HcclGetRootInfo(root) == 0
    rng = np.random.default_rng(7)
    cases = []
    for dtype in HCCL_TYPES:
        for op in HCCL_OPS:
            if dtype in ("int8",) and op in ("sum", "prod"):
                data = [rng.integers(-5, 5, 1000).astype(np.int8) for _ in range(world)]
            elif np.issubdtype(numpy_dtype(dtype), np.integer):
                data = [rng.integers(-1000, 1000, 1000).astype(dtype) for _ in range(world)]
            else:  # includes subnormal and large magnitudes for the half types' rounding
                data = [(rng.standard_normal(1000) * 10.0 ** rng.integers(-6, 4, 1000)).astype(np.float32)
                        .astype(numpy_dtype(dtype)) for _ in range(world)]
            cases.append((dtype, op, data))
    # past one 4 MiB exchange chunk (cann_twin.c TWIN_SLOT_BYTES), with a part per rank that is not a whole split
    cases.append(("float32", "sum", [rng.standard_normal((1 << 20) + 12345).astype(np.float32) for _ in range(world)]))
    results = [[None] * len(cases) for _ in range(world)]
    errors = []

    def rank(r):
        try:
            lib.aclrtSetDevice(r)
            comm = c_void_p()
            assert lib.HcclCommInitRootInfo(world, root.raw, r, ctypes.byref(comm)) == 0
            for i, (dtype, op, data) in enumerate(cases):
                send = np.ascontiguousarray(data[r])
                recv = np.zeros_like(send)
                status = lib.HcclAllReduce(send.ctypes.data, recv.ctypes.data, send.size, HCCL_TYPES[dtype],
                                           HCCL_OPS[op], comm, None)
                assert status == 0, (dtype, op, status)
                results[r][i] = recv
            lib.HcclCommDestroy(comm)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=rank, args=(r,)) for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for i, (dtype, op, data) in enumerate(cases):
        expected = _expected_reduce(data, dtype, op)
        for r in range(world):
            assert results[r][i].tobytes() == expected.tobytes(), (dtype, op, r)


def test_an_operators_module_that_fails_to_import_answers_a_status(twin, fake_operators, monkeypatch):
    lib = _api(twin)
    bridge.install(str(twin.libraries["libcann_twin.so"]))
    ws, executor = c_uint64(), c_void_p()
    lib.aclnnQuantMatmulAllReduceV3GetWorkspaceSize.argtypes = [c_void_p] * 8 + [c_char_p, c_char_p, ctypes.c_int64,
                                                                                ctypes.c_int64, c_void_p,
                                                                                POINTER(c_uint64), POINTER(c_void_p)]
    monkeypatch.setenv(bridge.OPERATORS_ENV, "no_such_module_for_the_twin")
    status = lib.aclnnQuantMatmulAllReduceV3GetWorkspaceSize(*([None] * 8), b"g", b"sum", 0, 0, None,
                                                             ctypes.byref(ws), ctypes.byref(executor))
    assert status == bridge.ACLNN_ERR_INNER
    assert b"no_such_module_for_the_twin" in lib.aclGetRecentErrMsg()


def test_kernel_failure_surfaces_at_the_next_synchronize_not_at_the_launch(twin, fake_operators, monkeypatch):
    """The C side's stream semantics: launch returns 0; the next synchronise returns the kernel's status and
    aclGetRecentErrMsg its message; the one after that is clean."""
    lib = _api(twin)
    bridge.install(str(twin.libraries["libcann_twin.so"]))
    lib.aclrtSetDevice(0)
    stream = c_void_p()
    assert lib.aclrtCreateStream(ctypes.byref(stream)) == 0
    lib.aclnnQuantMatmulAllReduceV3GetWorkspaceSize.argtypes = [c_void_p] * 8 + [c_char_p, c_char_p, ctypes.c_int64,
                                                                                ctypes.c_int64, c_void_p,
                                                                                POINTER(c_uint64), POINTER(c_void_p)]
    lib.aclnnQuantMatmulAllReduceV3.argtypes = [c_void_p, c_uint64, c_void_p, c_void_p]
    ws, executor = c_uint64(), c_void_p()
    assert lib.aclnnQuantMatmulAllReduceV3GetWorkspaceSize(*([None] * 8), None, b"sum", 0, 1, None,
                                                           ctypes.byref(ws), ctypes.byref(executor)) == 0
    assert ws.value == 4096
    monkeypatch.setenv("FAKE_KERNEL_STATUS", str(AICORE_EXCEPTION))
    assert lib.aclnnQuantMatmulAllReduceV3(None, ws, executor, stream) == 0
    assert lib.aclrtSynchronizeStream(stream) == AICORE_EXCEPTION
    assert lib.aclGetRecentErrMsg() == b"fake kernel failure"
    assert lib.aclGetRecentErrMsg() is None  # a read clears it (13_exception_handling.md:56)
    assert lib.aclrtSynchronizeStream(stream) == 0
    names = read_log(fake_operators[1])[0]["args"]
    assert list(names) == [*operators.get("QuantMatmulAllReduceV3").abi.inputs, "group", "reduceOp", "commTurn",
                           "streamMode", "output"]
    lib.aclrtDestroyStream(stream)


# --- the suite's aclnn ctypes backend on the twin ------------------------------------------------------------------

@pytest.mark.parametrize("case_id", [
    "v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2",
    "v3-tiny-bf16-x1_3d-x2nz-bias-deqn-x3-fp-bf16-w2",  # NZ weight: CalculateMatmulWeightSizeV2 + TransMatmulWeight
    "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2",
    "marn_inplace-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2",
])
def test_aclnn_backend_runs_an_mc2_operator_through_the_twin(twin, fake_operators, case_id):
    """The suite's ctypes backend loads the twin's split libraries and its ranks (threads) reach the operators
    module with the record's argument names; outputs come back from device memory."""
    from conformance import casegen
    from conformance.casegen.inputs import materialise
    from helpers import run_aclnn_ranks
    case = casegen.by_id(case_id)
    op = operators.get(case.op)
    inv = materialise(case, 0)
    out, _ = run_aclnn_ranks(inv, lib_dir=str(twin.lib_dir))
    for r in range(2):
        assert not isinstance(out[r], BaseException), out[r]
        result = out[r][0]
        assert result.status == 0, result.message
        for name in op.abi.outputs:
            assert np.all(np.asarray(result.outputs[name]).astype(np.float32) == 7), name
    log = read_log(fake_operators[1])
    launches = [e for e in log if e["phase"] == "launch" and e["fn"] == op.abi.execute_fn]
    assert sorted(e["device"] for e in launches) == [0, 1]
    assert all(e["peers"] == ["0/2", "1/2"] for e in launches)
    works = {e["device"]: e for e in log if e["phase"] == "workspace" and e["fn"] == op.abi.execute_fn}
    assert all(list(w["args"]) == [*op.abi.inputs, *op.abi.scalars, *op.abi.outputs] for w in works.values())
    if "x2nz" in case_id:  # uploaded as ND, turned into NZ by aclnnTransMatmulWeight (basic_ops): the case's NZ bytes
        for r in range(2):
            x2 = works[r]["args"]["x2"]
            assert x2["format"] == "FRACTAL_NZ"
            assert x2["storage"] == hashlib.sha256(np.ascontiguousarray(inv.ranks[r]["x2"].data).tobytes()).hexdigest()


# --- the real torch_npu in rank processes -------------------------------------------------------------------------



SINGLE = """
import json, torch, torch_npu
def put(key, value): print("RESULT " + json.dumps([key, value]), flush=True)
torch.npu.set_device(1)
put("count", torch.npu.device_count())
put("current", torch.npu.current_device())
a = torch.ones(2, 3, device="npu", dtype=torch.float16)
b = torch.tensor([[1.5, -2.0, 3.25]], dtype=torch.float32).npu()
put("sum", (a.float() + b * 2).cpu().tolist())
put("cast", b.to(torch.bfloat16).cpu().float().tolist())
put("zeros", torch.zeros(3, device="npu").cpu().tolist())
start, end = torch.npu.Event(enable_timing=True), torch.npu.Event(enable_timing=True)
start.record()
c = a
for _ in range(20):
    c = c + a
end.record()
end.synchronize()
put("elapsed", start.elapsed_time(end))
torch.npu.synchronize()
put("after_loop", c.cpu()[0, 0].item())
put("soc", torch.npu.get_device_name(0))
# launch blocking (ASCEND_LAUNCH_BLOCKING=1 in this process): a kernel failure raises at its own call
import os, sys
import torch.distributed as dist
os.environ.update(MASTER_ADDR="127.0.0.1", RANK="0", WORLD_SIZE="1")
dist.init_process_group("hccl", rank=0, world_size=1)
hcom = dist.distributed_c10d._get_default_group()._get_backend(torch.device("npu")).get_hccl_comm_name(0)
x1, x2 = torch.ones(4, 32, dtype=torch.int8).npu(), torch.ones(32, 16, dtype=torch.int8).npu()
dq, s1 = torch.ones(16, dtype=torch.float32).npu(), torch.ones(16, dtype=torch.float16).npu()
os.environ["FAKE_KERNEL_STATUS"] = "507015"
try:
    torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, dequant_scale=dq, comm_quant_scale_1=s1, comm_quant_scale_2=s1)
    put("blocking", "returned")
except RuntimeError as exc:
    put("blocking", str(exc))
os.environ["FAKE_KERNEL_STATUS"] = "0"
put("after_failure", (torch.ones(2, device="npu") + 1).cpu().tolist())
sys.stdout.flush()
os._exit(0)  # skip the interpreter's finalisation of torch's module graph (seconds per process here)
"""


def test_torch_npu_makes_and_moves_tensors_on_the_twin(twin, tmp_path, fake_operators):
    out = results_of(run_torch_ranks(twin, SINGLE, 1, tmp_path, {"ASCEND_LAUNCH_BLOCKING": "1"})[0])
    assert out["count"] == 8 and out["current"] == 1
    assert out["sum"] == [[4.0, -3.0, 7.5]] * 2
    assert out["cast"] == [[1.5, -2.0, 3.25]]
    assert out["zeros"] == [0.0, 0.0, 0.0]
    assert out["after_loop"] == 21.0
    assert out["elapsed"] > 0.0
    assert "Ascend910B" in out["soc"]
    # with launch blocking the stream is synchronised after each launch: the status is in the message, the queue
    # is not poisoned
    assert "error code is 507015" in out["blocking"] and "fake kernel failure" in out["blocking"]
    assert out["after_failure"] == [2.0, 2.0]


RANKS = """
import json, os, torch, torch_npu
import torch.distributed as dist
def put(key, value): print("RESULT " + json.dumps([key, value]), flush=True)
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
torch.npu.set_device(rank)
dist.init_process_group("hccl", rank=rank, world_size=world)
x = torch.full((5,), float(rank + 1), device="npu")
dist.all_reduce(x)
put("sum", x.cpu().tolist())
y = torch.tensor([rank * 10, -rank], dtype=torch.int32).npu()
dist.all_reduce(y, op=dist.ReduceOp.MAX)
put("max", y.cpu().tolist())
z = torch.full((3,), 0.1 * (rank + 1), dtype=torch.bfloat16, device="npu")
dist.all_reduce(z)
put("bf16", z.cpu().float().tolist())
dist.barrier()
b = torch.arange(4, dtype=torch.float32).npu() * (rank + 1)
dist.broadcast(b, src=world - 1)
put("bcast", b.cpu().tolist())
outs = [torch.zeros(2, device="npu") for _ in range(world)]
dist.all_gather(outs, torch.full((2,), float(rank), device="npu"))
put("gather", [o.cpu().tolist() for o in outs])
torch_npu.npu.synchronize()
if os.environ.get("WITH_V3"):
    hcom = dist.distributed_c10d._get_default_group()._get_backend(torch.device("npu")).get_hccl_comm_name(rank)
    put("hcom", hcom)
    x1 = torch.ones(4, 32, dtype=torch.int8).npu()
    x2 = torch.ones(32, 16, dtype=torch.int8).npu()
    dq = torch.ones(16, dtype=torch.float32).npu()
    s1, s2 = torch.ones(16, dtype=torch.float16).npu(), torch.ones(16, dtype=torch.float16).npu()
    out = torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, reduce_op="sum", dequant_scale=dq,
                                           comm_quant_scale_1=s1, comm_quant_scale_2=s2)
    put("v3", [str(out.dtype), list(out.shape), out.cpu().float()[0, :2].tolist()])
    os.environ["FAKE_KERNEL_STATUS"] = "507015"  # the fake reads it at each launch
    out = torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, reduce_op="sum", dequant_scale=dq,
                                           comm_quant_scale_1=s1, comm_quant_scale_2=s2)
    put("returned", True)  # the failing launch did not raise: it is on the stream
    try:
        torch_npu.npu.synchronize()
        put("sync", "no error")
    except RuntimeError as exc:
        put("sync", str(exc))
    os._exit(0)  # the task queue stays poisoned after a device error: no orderly shutdown
dist.destroy_process_group()
os._exit(0)  # skip the interpreter's finalisation of torch's module graph (seconds per process here)
"""


def test_hccl_and_v3_through_the_real_torch_npu_at_world_2(twin, tmp_path, fake_operators):
    outs = [results_of(o) for o in run_torch_ranks(twin, RANKS, 2, tmp_path, {"WITH_V3": "1"})]
    for out in outs:
        assert out["sum"] == [3.0] * 5
        assert out["max"] == [10, 0]
        assert out["bf16"] == [float(np.float32(0.30078125))] * 3  # bf16(0.1) + bf16(0.2), rounded once
        assert out["bcast"] == [0.0, 2.0, 4.0, 6.0]
        assert out["gather"] == [[0.0, 0.0], [1.0, 1.0]]
        assert out["v3"] == ["torch.float16", [4, 16], [7.0, 7.0]]
        assert out["returned"] is True
        assert "fake kernel failure" in out["sync"] or "507015" in out["sync"], out["sync"]
    log = read_log(fake_operators[1])
    works = [e for e in log if e["phase"] == "workspace"]
    assert {e["fn"] for e in log} == {"aclnnQuantMatmulAllReduceV3"}
    abi = operators.get("QuantMatmulAllReduceV3").abi
    assert all(list(e["args"]) == [*abi.inputs, *abi.scalars, *abi.outputs] for e in works)
    first = works[0]["args"]
    assert {k: first["x1"][k] for k in ("dtype", "shape", "format")} == {"dtype": "int8", "shape": [4, 32],
                                                                         "format": "ND"}
    assert first["commQuantScale1"]["dtype"] == "float16" and first["pertokenScale"] is None
    assert first["group"] == outs[0]["hcom"] and first["reduceOp"] == "sum"
    assert all(e["peers"] == ["0/2", "1/2"] for e in log if e["phase"] == "launch")


def test_all_reduce_through_the_real_torch_npu_at_world_4(twin, tmp_path):
    outs = [results_of(o) for o in run_torch_ranks(twin, RANKS, 4, tmp_path)]
    for out in outs:
        assert out["sum"] == [10.0] * 5
        assert out["max"] == [30, 0]
        assert out["gather"] == [[float(r)] * 2 for r in range(4)]
