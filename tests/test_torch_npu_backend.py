"""The torch_npu backend's marshalling, proven against a recording stand-in of torch_npu / MindSpeed.

No NPU here: the stand-in (tests/stand_ins/torch_npu_stand_in.py) replaces the backend's one seam, logs every
call (each tensor's dtype, shape, strides, format and a fingerprint of its values; hcom, reduce_op, comm_turn,
epsilon) and computes plausible CPU results over a real gloo group. `marshalling_errors` rebuilds what each
call must have received from the case's TensorArgs alone (not from the backend's code) and compares; every
sabotage test shows a deliberately broken marshalling is caught by it. What this cannot prove: that the real
torch_npu / MindSpeed behave as the seam assumes (see the module docstring of the backend).
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conformance import casegen, operators  # noqa: E402
from conformance.backends import torch_npu_backend as tnb  # noqa: E402
from conformance.casegen.inputs import materialise  # noqa: E402
from conformance.engine import RankCall  # noqa: E402
from conformance.judge import run_case  # noqa: E402
from conformance.backends.torch_npu_errors import poisons_worker, read_exception  # noqa: E402
from conformance.protocol import ACLNN_ERR_INNER, RankResult  # noqa: E402
from conformance.reference.v3 import x2_matrix  # noqa: E402
from helpers import light_cases  # noqa: E402
from stand_ins.torch_npu_stand_in import (StandInSeam, aclnn_failure_message, check_message,  # noqa: E402
                                          fingerprint_array, queue_error_message, read_log)
from conformance.context import Context  # noqa: E402

V3_OP, MARN_OP, INPLACE_OP = operators.V3.name, operators.MARN.name, operators.INPLACE.name
SEAM = "stand_ins.torch_npu_stand_in:StandInSeam"
no_torch_npu = pytest.mark.skipif(importlib.util.find_spec("torch_npu") is not None, reason="torch_npu is installed")
TESTS = Path(__file__).resolve().parent
# torch_npu's keyword for each C argument, by the entry point a binding calls (every operator bound to the entry
# point passes its arguments under these keywords)
ENTRY_KEYWORDS = {"npu_mm_all_reduce_base": {
    "x1": "x1", "x2": "x2", "bias": "bias", "x3": "x3", "dequantScale": "dequant_scale",
    "pertokenScale": "pertoken_scale", "commQuantScale1": "comm_quant_scale_1",
    "commQuantScale2": "comm_quant_scale_2"},
    **{e: {n: n for n in ("x1", "x2", "bias", "residual", "gamma")}
       for e in ("npu_mm_all_reduce_add_rms_norm", "npu_mm_all_reduce_add_rms_norm_")}}
FUNCTION = {op.name: op.binding("torch-npu").entry for op in operators.all_operators()
            if op.binding("torch-npu") is not None}
KEYWORDS = {name: {arg: kw for arg, kw in ENTRY_KEYWORDS[entry].items() if arg in operators.get(name).abi.inputs}
            for name, entry in FUNCTION.items()}
SUPPORTED_W1 = [c for c in light_cases("signoff") if c.world_size == 1 and not c.shape_only
                and tnb.unsupported_reason(materialise(c, 0), marn_available=True) is None]


def _transposed(arg) -> bool:
    return arg.is_last_two_transposed and not arg.is_contiguous


def expected_tensor(arg) -> dict | None:
    """What the binding must receive for a TensorArg, derived from the case alone."""
    if arg is None:
        return None
    tiled = arg.format == "FRACTAL_NZ" and arg.storage_shape is not None and tuple(arg.storage_shape) != arg.shape
    values = x2_matrix(arg) if tiled else np.asarray(arg.data)
    return {"dtype": "int64" if arg.dtype == "uint64" else arg.dtype, "shape": list(arg.shape),
            "stride": [s for s, d in zip(arg.strides, arg.shape) if d != 1],
            "format": "FRACTAL_NZ" if arg.format == "FRACTAL_NZ" else "ND", "acl_format": acl_format_of(arg),
            "fp": fingerprint_array(values)}


def acl_format_of(arg) -> str:
    """The format op_plugin tags the tensor with for aclnn: its NPU format if internal, else by its rank (3-D NCL,
    4-D NCHW, 5-D NCDHW, else ND; op-plugin@517f2e7d op_plugin/utils/op_api_common.cpp:901-930)."""
    if arg.format == "FRACTAL_NZ":
        return "FRACTAL_NZ"
    return {3: "NCL", 4: "NCHW", 5: "NCDHW"}.get(len(arg.shape), "ND")


def marshalling_errors(inv, rank: int, entries: list[dict], result) -> list[str]:
    """Every way this rank's logged calls differ from what the case says they must be."""
    tensors, errors = inv.ranks[rank], []
    calls = [e for e in entries if e["fn"] == FUNCTION[inv.op] and e["rank"] == rank]
    if len(calls) != 1:
        return [f"rank {rank}: {len(calls)} calls of {FUNCTION[inv.op]}"]
    call = calls[0]
    for name, kw in KEYWORDS[inv.op].items():
        want, got = expected_tensor(tensors.get(name)), call.get(kw)
        if got is not None:
            got = dict(got, stride=[s for s, d in zip(got["stride"], got["shape"]) if d != 1])
        if got != want:
            errors.append(f"{kw} (from {name}): got {got}, want {want}")
    hcom = [e["returned"] for e in entries if e["fn"] == "get_hccl_comm_name" and e["rank"] == rank]
    want_scalars = {"hcom": hcom[-1] if hcom else "<never looked up>", "reduce_op": inv.attrs["reduceOp"],
                    "comm_turn": inv.attrs["commTurn"]}
    if "epsilon" in inv.attrs:
        want_scalars["epsilon"] = inv.attrs["epsilon"]
    errors += [f"{k}: got {call.get(k)!r}, want {v!r}" for k, v in want_scalars.items()
               if call.get(k) != v and not (v != v and call.get(k) != call.get(k))]  # NaN epsilon passes as NaN
    for name, arg in tensors.items():  # an NZ-tiled weight: torch_npu tiles the stored ND matrix itself
        if arg is not None and expected_tensor(arg)["format"] == "FRACTAL_NZ" and arg.storage_shape != arg.shape:
            stored = x2_matrix(arg).T if _transposed(arg) else x2_matrix(arg)
            casts = [e for e in entries if e["fn"] == "npu_format_cast" and e["rank"] == rank]
            if not any(e["acl_format"] == 29 and e["src"]["fp"] == fingerprint_array(stored) for e in casts):
                errors.append(f"{name}: no npu_format_cast(.., 29) of its stored ND matrix")
    returned = [e for e in entries if e["fn"] == "returned" and e["rank"] == rank]
    if result.status == 0:  # copy-back: the outputs are exactly what the binding produced
        produced = {k: v for k, v in (returned[0] if returned else {}).items() if k not in ("fn", "rank")}
        for name, array in result.outputs.items():
            if produced.get(name, {}).get("fp") != fingerprint_array(array):
                errors.append(f"output {name} is not what the binding returned")
        if set(result.outputs) != set(produced):
            errors.append(f"outputs {sorted(result.outputs)}, binding returned {sorted(produced)}")
    return errors


class OneRankChannel:
    def allgather(self, obj):
        return [obj]


@pytest.fixture(scope="module")
def rank_program(tmp_path_factory):
    """One in-process rank (world size 1) on the stand-in, kept for the module: a gloo group of one."""
    log = tmp_path_factory.mktemp("torch_npu") / "calls.jsonl"
    program = tnb.TorchNpuRankProgram(rank=0, world_size=1, device=None, seam=SEAM, seam_options={"log": str(log)})
    program.connect(program.open())
    yield program, log
    program.close()


def log_since(log, start: int) -> list[dict]:
    """The calls logged from entry `start` on, plus the group's set-up lookups (made once, before them)."""
    entries = read_log(log) if log.exists() else []
    return [e for e in entries[:start] if e["fn"] == "get_hccl_comm_name"] + entries[start:]


def run_one(rank_program, case_id_or_case):
    program, log = rank_program
    case = casegen.by_id(case_id_or_case) if isinstance(case_id_or_case, str) else case_id_or_case
    inv = materialise(case, 0)
    start = len(read_log(log))
    result = program.invoke(RankCall(inv.op, 0, 1, inv.ranks[0], inv.attrs, inv.shape_only, inv.case_id,
                                     OneRankChannel(), inv.ranks))
    return inv, result, log_since(log, start)


# --- marshalling: every supported single-rank signoff case, then each check shown to fail ----------------

def test_every_supported_case_reaches_the_binding_as_the_case_says(rank_program):
    """Which keyword gets which tensor (by value fingerprint), dtype (uint64 words as int64), shape, strides
    (transposed x2 as a transposed view, strided views as such), format (NZ via npu_format_cast(.., 29) of the
    decoded matrix), hcom / reduce_op / comm_turn / epsilon, and outputs copied back from what was returned."""
    assert len(SUPPORTED_W1) > 150
    failures, statuses = [], set()
    for case in SUPPORTED_W1:
        inv, result, entries = run_one(rank_program, case)
        statuses.add(result.status)
        failures += [f"{case.id}: {e}" for e in marshalling_errors(inv, 0, entries, result)]
    assert not failures, "\n".join(failures[:10])
    assert 0 in statuses
    covered = {(c.op, name, spec.layout) for c in SUPPORTED_W1 for name, spec in c.tensors if spec is not None}
    for op in (V3_OP, MARN_OP, INPLACE_OP):  # the sweep really covers the views it claims to
        assert {(op, "x2", "transposed"), (op, "x1", "strided"), (op, "x1", "transposed")} <= covered, op
    assert {(V3_OP, "x2", "nz"), (V3_OP, "x2", "nz_transposed"), (MARN_OP, "gamma", "strided")} <= covered


def _swap_comm_scales(monkeypatch):
    orig = tnb.TorchNpuRankProgram._call
    def call(self, op, t, attrs):
        t = dict(t, commQuantScale1=t["commQuantScale2"], commQuantScale2=t["commQuantScale1"])
        return orig(self, op, t, attrs)
    monkeypatch.setattr(tnb.TorchNpuRankProgram, "_call", call)


def _contiguous_x2(monkeypatch):
    orig = tnb.TorchNpuRankProgram._device_tensor
    monkeypatch.setattr(tnb.TorchNpuRankProgram, "_device_tensor", lambda self, arg: orig(self, arg).contiguous())


def _no_nz_cast(monkeypatch):
    monkeypatch.setattr(StandInSeam, "format_cast", lambda self, t, fmt: t.contiguous().clone())


def _words_as_float(monkeypatch):
    orig = tnb.TorchNpuRankProgram._device_tensor
    def device_tensor(self, arg):
        out = orig(self, arg)
        return out.float() if arg.dtype == "uint64" else out
    monkeypatch.setattr(tnb.TorchNpuRankProgram, "_device_tensor", device_tensor)


def _wrong_hcom(monkeypatch):
    orig = tnb.TorchNpuRankProgram._call
    def call(self, op, t, attrs):
        self.hcom, saved = "", self.hcom
        try:
            return orig(self, op, t, attrs)
        finally:
            self.hcom = saved
    monkeypatch.setattr(tnb.TorchNpuRankProgram, "_call", call)


def _default_epsilon(monkeypatch):
    orig = tnb.TorchNpuRankProgram._call
    monkeypatch.setattr(tnb.TorchNpuRankProgram, "_call",
                        lambda self, op, t, attrs: orig(self, op, t, dict(attrs, epsilon=1e-6)))


def _residual_before_the_call(monkeypatch):
    orig = tnb.TorchNpuRankProgram._call
    def call(self, op, t, attrs):
        before = t["residual"].clone()
        return dict(orig(self, op, t, attrs), residual=before)
    monkeypatch.setattr(tnb.TorchNpuRankProgram, "_call", call)


@pytest.mark.parametrize("sabotage,case_id,caught", [
    (_swap_comm_scales, "v3-tiny-fp16_i64-x1_2d-x2nd-nobias-deq1-nox3-lowbit-fp16-w1", "comm_quant_scale_1"),
    (_contiguous_x2, "v3-tiny-bf16-x1_2d-x2ndT-bias-deqn-nox3-lowbit-bf16-w1", "x2"),
    (_contiguous_x2, "marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1", "x2"),
    (_no_nz_cast, "v3-tiny-fp16_u64-x1_2d-x2nzT-bias-deqn-nox3-lowbit-fp16-w1", "FRACTAL_NZ"),
    (_words_as_float, "v3-tiny-fp16_u64-x1_2d-x2nd-bias-deqn-nox3-lowbit-fp16-w1", "dequant_scale"),
    (_wrong_hcom, "marn-tiny-x1_2d-x2N-bias-eps0.01-fp16-w1", "hcom"),
    (_default_epsilon, "marn-tiny-x1_2d-x2N-bias-eps0.01-fp16-w1", "epsilon"),
    (_residual_before_the_call, "marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1", "residual"),
])
def test_a_broken_marshalling_is_caught(rank_program, monkeypatch, sabotage, case_id, caught):
    inv, result, entries = run_one(rank_program, case_id)
    assert marshalling_errors(inv, 0, entries, result) == []  # the honest marshalling passes the same check
    sabotage(monkeypatch)
    inv, result, entries = run_one(rank_program, case_id)
    errors = marshalling_errors(inv, 0, entries, result)
    assert any(caught in e for e in errors), errors


def test_inplace_variant_writes_the_residual_it_was_given(rank_program):
    inv, result, entries = run_one(rank_program, "marn_inplace-odd-x1_3d-x2T-bias-eps1e-06-fp16-w1")
    call = next(e for e in entries if e["fn"] == "npu_mm_all_reduce_add_rms_norm_")
    assert result.status == 0 and set(result.outputs) == {"residual", "normOut"}
    assert call["residual"]["fp"] == fingerprint_array(np.asarray(inv.ranks[0]["residual"].data))  # input passed
    assert fingerprint_array(result.outputs["residual"]) != call["residual"]["fp"]  # and written over


# --- declared unsupported cases ----------------------------------------------------------------------------

@pytest.mark.parametrize("case_id,marn,reason", [
    ("marn-MARN-BOUND-001-bs_at_max-fp16-w1", True, "shape-only"),
    ("v3-V3-BOUND-001-m_at_max-fp16-w1", True, "shape-only"),
    ("marn-MARN-NULL-001-null_x1-fp16-w1", True, "null pointer for x1"),
    ("v3-V3-NULL-001-null_x1-fp16-w1", True, "null pointer for x1"),
    ("marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1", False, "MindSpeed"),
    ("marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1", False, "MindSpeed"),
    ("marn-MARN-ATTR-003-streammode_0-fp16-w1", True, "streamMode"),
    ("v3-V3-SHAPE-003-x2_nz_3d_storage-fp16-w1", True, "storage shape"),
    ("marn-MARN-FORMAT-001-x1_nz-fp16-w1", True, "by its rank alone"),
    ("v3-tiny-bf16-x1_3d-x2nd-bias-deqn-x3-fp-bf16-w1", True, "aclnnQuantMatmulAllReduceV2"),
])
def test_inexpressible_cases_are_declared_with_a_reason(tmp_path, case_id, marn, reason):
    backend = tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "log"), "marn": marn})
    case = casegen.by_id(case_id)
    got = backend.unsupported_reason(materialise(case, 0))
    assert got and reason in got, got
    outcome = run_case(case, backend, Context(seed=0))
    assert outcome.category == "unsupported" and reason in outcome.detail
    with pytest.raises(ValueError, match="not expressible"):  # and never reaches a rank
        backend.invoke(materialise(case, 0))
    assert not (tmp_path / "log").exists()


def test_declarations_key_on_the_case_not_on_everything(tmp_path):
    """The same kinds of case pass when the reason is absent: MindSpeed present, V2 dispatch accepted."""
    with_marn = tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "log")}, accept_v2_dispatch=True)
    for cid in ("marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1", "v3-tiny-bf16-x1_3d-x2nd-bias-deqn-x3-fp-bf16-w1",
                "v3-V3-NULL-001-null_dequantScale-fp16-w1"):  # dequant_scale is an optional keyword: None passes
        assert with_marn.unsupported_reason(materialise(casegen.by_id(cid), 0)) is None, cid
    assert with_marn.describe()["torch_npu"] == "stand-in" and "ACLNN_ERR_INNER" in with_marn.describe()["status codes"]
    assert "ASCEND_LAUNCH_BLOCKING=1" in with_marn.describe()["launch"]


# --- status codes from exceptions: only from where the real message carries them -------------------------
# Messages in the real form (tests/stand_ins/torch_npu_stand_in.py builds them as the cited source formats them).
# The process ids are chosen to look like statuses: the backend must never read one.

@pytest.mark.parametrize("message,want", [
    (aclnn_failure_message("aclnnQuantMatmulAllReduceV3", 161002, launch=False, pid=561003),
     (161002, "workspace", "aclnn")),
    (aclnn_failure_message("aclnnQuantMatmulAllReduceV3", 561002, launch=True, pid=161001),
     (561002, "launch", "aclnn")),
    (check_message("x3 with dtype BFloat16 doesn't match the output dtype Half", pid=161002),
     (ACLNN_ERR_INNER, "", "torch_npu")),
    (check_message("comm_quant_scale_1 and comm_quant_scale_2 should both be null or not null", pid=561234, code=2),
     (ACLNN_ERR_INNER, "", "torch_npu")),
    ("tensor of 1610020 elements, ret 161002", (ACLNN_ERR_INNER, "", "")),  # a bare number is no status
    (queue_error_message("aclnnQuantMatmulAllReduceV3", pid=161002), (ACLNN_ERR_INNER, "", "")),
])
def test_an_exception_becomes_a_status(tmp_path, message, want):
    program = tnb.TorchNpuRankProgram(rank=0, world_size=1, device=None, seam=SEAM,
                                      seam_options={"log": str(tmp_path / "log"), "raise_message": message})
    program.hcom = "not connected: the stand-in raises before any collective"
    inv = materialise(casegen.by_id("v3-tiny-fp16_i64-x1_2d-x2nd-nobias-deq1-nox3-lowbit-fp16-w1"), 0)
    result = program.invoke(RankCall(inv.op, 0, 1, inv.ranks[0], inv.attrs, False, inv.case_id, OneRankChannel()))
    assert (result.status, result.phase, result.answered_by, result.outputs) == (*want, {})
    assert " ".join(message.split())[:40] in result.message
    assert ("ACLNN_ERR_INNER" in result.message) == (want[0] == ACLNN_ERR_INNER and want[2] != "torch_npu")


@pytest.mark.parametrize("exc,want", [
    (RuntimeError("call aclnnMatmulAllReduceAddRmsNorm failed, detail:EZ1001: rank 161002 refused"),
     (ACLNN_ERR_INNER, "aclnn")),  # MindSpeed's ACLNN_CMD gives no status: aclnn answered, the code is unknown
    (RuntimeError("residual should be 3D, but got 2D"), (ACLNN_ERR_INNER, "mindspeed")),
    (AssertionError("x1 must not be None"), (ACLNN_ERR_INNER, "mindspeed")),
])
def test_mindspeed_exceptions_say_who_answered(exc, want):
    reading = read_exception(exc, library="mindspeed")
    assert (reading.status, reading.answered_by) == want


def test_a_status_is_never_read_from_a_process_id():
    """Whatever pid the message carries, only the number after "error code is" is read."""
    for pid in (161001, 161002, 361001, 561000, 561999):
        assert read_exception(RuntimeError(check_message("x2 needs to be 2D, but got: 3D", pid=pid))).status == \
            ACLNN_ERR_INNER
        got = read_exception(RuntimeError(aclnn_failure_message("aclnnX", 161001, launch=False, pid=pid)))
        assert (got.status, got.phase) == (161001, "workspace")


def test_which_failures_restart_the_workers():
    """A clean refusal before a kernel ran keeps the workers; a launch failure, a task-queue error or an error of
    unknown origin restarts them."""
    def result(exc, library="torch_npu"):
        r = read_exception(exc, library=library)
        return RankResult(r.status, {}, r.message, r.phase, r.answered_by)
    keep = [aclnn_failure_message("aclnnQuantMatmulAllReduceV3", 161002, launch=False), check_message("x2 not 2D")]
    restart = [aclnn_failure_message("aclnnQuantMatmulAllReduceV3", 561002, launch=True),
               queue_error_message("aclnnQuantMatmulAllReduceV3"), "NPU function error: aclrtSynchronizeStream, "
               "error code is 507015"]
    assert [poisons_worker(result(RuntimeError(m))) for m in keep] == [False, False]
    assert [poisons_worker(result(RuntimeError(m))) for m in restart] == [True, True, True]
    assert not poisons_worker(RankResult(0))
    assert not poisons_worker(result(RuntimeError("residual should be 3D"), "mindspeed"))


@no_torch_npu
def test_missing_torch_npu_is_one_line_naming_it():
    with pytest.raises(ImportError, match="torch_npu") as err:
        tnb.TorchNpuSeam()
    assert "\n" not in str(err.value)
    assert tnb.TorchNpuSeam.capabilities()["versions"]["torch_npu"] == "not installed"


# --- end to end through the rank engine: two worker processes, a real gloo group ---------------------------

@pytest.fixture
def engine_backend(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    backend = tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "calls.jsonl")}, env=env,
                                  deadline_s=60)
    yield backend, tmp_path / "calls.jsonl"
    backend.close()


def test_two_ranks_through_the_rank_engine(engine_backend):
    backend, log = engine_backend
    for cid in ("v3-tiny-bf16_pt-x1_2d-x2nd-bias-deq1n-x3-lowbit-bf16-w2",
                "marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-bf16-w2"):
        start = len(read_log(log)) if log.exists() else 0
        inv = materialise(casegen.by_id(cid), 0)
        results = backend.invoke(inv)
        entries = log_since(log, start)
        for r in range(2):
            assert results[r].status == 0, results[r].message
            assert marshalling_errors(inv, r, entries, results[r]) == [], (cid, r)
    assert backend._engine.groups_started == 1  # one group (processes, communicator) served both cases
    v3 = backend.invoke(materialise(casegen.by_id("v3-tiny-bf16_pt-x1_2d-x2nd-bias-deq1n-x3-lowbit-bf16-w2"), 0))
    np.testing.assert_array_equal(v3[0].outputs["output"], v3[1].outputs["output"])  # the all-reduce ran


def test_group_set_up_reaches_hccl_init_and_hcom_per_rank(engine_backend):
    backend, log = engine_backend
    outcome = run_case(casegen.by_id("marn-tiny-x1_2d-x2N-bias-eps0.01-fp16-w2"), backend, Context(seed=0))
    assert outcome.passed, outcome.report()  # the stand-in's honest numerics pass the judge: right names and ranks
    entries = read_log(log)
    inits = [e for e in entries if e["fn"] == "init_process_group"]
    assert sorted(e["rank"] for e in inits) == [0, 1] and {e["world_size"] for e in inits} == {2}
    assert len({e["init_method"] for e in inits}) == 1 and inits[0]["init_method"].startswith("tcp://127.0.0.1:")
    hcoms = {e["rank"]: e["returned"] for e in entries if e["fn"] == "get_hccl_comm_name"}
    calls = {e["rank"]: e["hcom"] for e in entries if e["fn"] == "npu_mm_all_reduce_add_rms_norm"}
    assert calls == hcoms and len(set(hcoms.values())) == 2
    assert sorted(e["device"] for e in entries if e["fn"] == "set_device") == [0, 1]


@no_torch_npu
def test_without_torch_npu_the_default_seam_refuses_to_start_in_one_line():
    """Missing torch_npu is found when the backend is built, before any rank starts (one line, no traceback)."""
    from conformance.backends import BackendError
    with pytest.raises(BackendError, match="torch_npu not installed") as info:
        tnb.TorchNpuBackend(deadline_s=30)
    assert "\n" not in str(info.value)


# --- launch failures, the task queue, NZ: through the rank engine, one worker process --------------------------

LOWBIT_W1 = "v3-tiny-fp16_i64-x1_2d-x2nd-nobias-deq1-nox3-lowbit-fp16-w1"
NZ_W1 = "v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1"


def stand_in_backend(tmp_path, **options) -> tnb.TorchNpuBackend:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    return tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "calls.jsonl"), **options}, env=env,
                               deadline_s=60, accept_v2_dispatch=True)


def test_ranks_run_with_launch_blocking_so_a_launch_failure_belongs_to_its_call(tmp_path):
    """The stand-in fails the first launch as the real stack does under ASCEND_LAUNCH_BLOCKING=1 (it reads the
    rank's environment): the call itself raises with aclnn's status from its launch; the workers then restart."""
    backend = stand_in_backend(tmp_path, launch_failure={"status": 561002, "marker": str(tmp_path / "failed")})
    try:
        assert backend.env["ASCEND_LAUNCH_BLOCKING"] == "1"
        case = casegen.by_id(LOWBIT_W1)
        [first] = backend.invoke(materialise(case, 0))
        assert (first.status, first.phase, first.answered_by) == (561002, "launch", "aclnn"), first.message
        assert backend.restarts == 1 and backend._engine.group is None
        outcome = run_case(case, backend, Context(seed=0))
        assert outcome.passed, outcome.report()
        assert backend._engine.groups_started == 2
    finally:
        backend.close()


@pytest.mark.parametrize("restart", [True, False])
def test_a_poisoned_task_queue_restarts_the_workers(tmp_path, monkeypatch, restart):
    """With the task queue (stand-in option task_queue=True, whatever the environment says) a failed launch is
    reported once, by the next synchronize, without its status; every later operator of that process is dropped
    silently. The restart is what makes the next case right: without it (sabotaged) the next case computes
    nothing."""
    if not restart:
        monkeypatch.setattr(tnb, "poisons_worker", lambda result: False)
    backend = stand_in_backend(tmp_path, task_queue=True,
                               launch_failure={"status": 561002, "marker": str(tmp_path / "failed")})
    try:
        case = casegen.by_id(LOWBIT_W1)
        [first] = backend.invoke(materialise(case, 0))
        assert first.status == ACLNN_ERR_INNER and first.answered_by == "" and "Inner error" in first.message
        outcome = run_case(case, backend, Context(seed=0))
        assert outcome.passed == restart, outcome.report()
        assert backend._engine.groups_started == (2 if restart else 1)
        if not restart:
            assert "dropped" in [e["fn"] for e in read_log(tmp_path / "calls.jsonl")]
    finally:
        backend.close()


@pytest.mark.parametrize("nz", [True, False])
def test_nz_is_declared_unsupported_where_the_stack_cannot_produce_it(tmp_path, nz):
    """Probed once per worker group: npu_format_cast(t, 29), then get_npu_format."""
    backend = stand_in_backend(tmp_path, nz=nz)
    try:
        inv = materialise(casegen.by_id(NZ_W1), 0)
        assert tnb.unsupported_reason(inv, marn_available=True, accept_v2_dispatch=True) is None
        for _ in range(2):
            reason = backend.unsupported_reason(inv)
            assert (reason is None) == nz, reason
        if not nz:
            assert "FRACTAL_NZ not producible" in reason and "left the tensor in format 2" in reason
            assert run_case(casegen.by_id(NZ_W1), backend, Context(seed=0)).category == "unsupported"
        probes = [e for e in read_log(tmp_path / "calls.jsonl") if e["fn"] == "get_npu_format"]
        assert [p["returned"] for p in probes] == [29 if nz else 2]  # once per worker group
        assert backend.unsupported_reason(materialise(casegen.by_id(LOWBIT_W1), 0)) is None  # ND: no probe needed
    finally:
        backend.close()


# --- judging by who answered (expectation.py, judge.py) ----------------------------------------------------------

class AnsweringBackend:
    """Answers every rank with one fixed (status, answered_by): what the judge makes of who answered."""
    name = "answering"

    def __init__(self, status: int, answered_by: str, phase: str = ""):
        self.answer = (status, phase, answered_by)

    def describe(self):
        return {}

    def unsupported_reason(self, inv):
        return None

    def invoke(self, inv):
        status, phase, answered_by = self.answer
        return [RankResult(status, {}, "stand-in answer", phase, answered_by) for _ in inv.ranks]


K_MISMATCH = "v3-V3-SHAPE-004-k_mismatch-fp16-w2"  # the document promises 161002 from GetWorkspaceSize


@pytest.mark.parametrize("answered_by", ["torch_npu", "mindspeed"])
def test_a_rejection_before_aclnn_is_judged_as_a_rejection_and_says_who_answered(answered_by):
    outcome = run_case(casegen.by_id(K_MISMATCH), AnsweringBackend(ACLNN_ERR_INNER, answered_by), Context(seed=0))
    assert outcome.category == "pass", outcome.report()
    assert outcome.observed == [(ACLNN_ERR_INNER, f"{answered_by} (before aclnn)")] * 2
    assert f"rejected before aclnn by {answered_by}'s own check" in outcome.detail
    assert all("judged as a rejection" in c.message for c in outcome.checks if c.name.endswith("status"))


def test_the_promised_code_is_still_judged_where_aclnn_answered():
    wrong = run_case(casegen.by_id(K_MISMATCH), AnsweringBackend(ACLNN_ERR_INNER, "aclnn", "workspace"),
                     Context(seed=0))
    assert wrong.category == "wrong_status" and wrong.observed == [(ACLNN_ERR_INNER, "workspace")] * 2
    right = run_case(casegen.by_id(K_MISMATCH), AnsweringBackend(161002, "aclnn", "workspace"), Context(seed=0))
    assert right.category == "pass" and not right.detail
    unknown = run_case(casegen.by_id(K_MISMATCH), AnsweringBackend(ACLNN_ERR_INNER, ""), Context(seed=0))
    assert unknown.category == "wrong_status"  # an unstructured error is not taken for a client's own check


def test_a_rejection_before_aclnn_of_a_valid_case_still_fails():
    outcome = run_case(casegen.by_id(LOWBIT_W1), AnsweringBackend(ACLNN_ERR_INNER, "torch_npu"), Context(seed=0))
    assert outcome.category == "wrong_status"
    assert "rejected before aclnn by torch_npu" in outcome.report()


def test_a_failed_timed_run_restarts_the_workers(tmp_path):
    message = aclnn_failure_message("aclnnQuantMatmulAllReduceV3", 561002, launch=True)
    backend = stand_in_backend(tmp_path, raise_message=message)
    try:
        with pytest.raises(RuntimeError, match="timed run failed on rank 0: status 561002"):
            backend.timed(materialise(casegen.by_id(LOWBIT_W1), 0), chain=False, warmup=0, iterations=2)
        assert backend.restarts == 1 and backend._engine.group is None
    finally:
        backend.close()
