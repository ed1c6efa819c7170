"""The CPU twin's operators (conformance/twin/operators.py, chain_ops.py) without the C library: device tensors
over numpy buffers, ranks in threads with a thread-based communicator. The MC2 operators must answer exactly as
sim-cann does for the same invocation (statuses, phases, every output bit); the chain's operators as
conformance/sim/chain.py computes each step."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from conformance import casegen, dtypes, operators, quant
from conformance.backends.aclnn.program import host_storage, storage_dims
from conformance.casegen.inputs import materialise
from conformance.protocol import (ACLNN_ERR_INNER, ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, PHASE_LAUNCH,
                                  PHASE_WORKSPACE, RankResult, TensorArg)
from conformance.sim import chain
from conformance.sim.cann import backend as sim_cann
from conformance.sim.cann.backend import CannOptions, SimCannBackend
from conformance.twin import chain_ops
from conformance.twin import operators as twin
from conformance.twin.values import Answer, DeviceTensor, RankContext, Scalar
from helpers import ThreadChannel

GROUP = "twin-test-group"
REVISION = CannOptions().revision


def device(t: TensorArg | None) -> DeviceTensor | None:
    """A device tensor as the aclnn backend creates one from a TensorArg: its storage laid out flat."""
    if t is None:
        return None
    if t.data is None:
        storage = np.zeros(0, dtypes.np_dtype(t.dtype))
    elif t.is_contiguous or t.is_last_two_transposed or t.storage_shape is not None:
        storage = host_storage(t)
    else:  # a strided view: the storage as the catalogue's buffer holds it, gaps included (as sim-cann reads it)
        data = np.asarray(t.data)
        storage = np.lib.stride_tricks.as_strided(data, (t.span,), (data.itemsize,), writeable=False)
    return DeviceTensor(t.dtype, tuple(t.shape), tuple(t.strides), 0, t.format, storage_dims(t), storage.copy())


def from_array(a: np.ndarray, dtype: str) -> DeviceTensor:
    return device(TensorArg.from_array(np.ascontiguousarray(a), dtype))


class _Comm:
    def __init__(self, channel: ThreadChannel, rank: int, size: int):
        self.name, self.rank, self.size = GROUP, rank, size
        self.side = channel.rank(rank)
        self.gathers = 0

    def allgather(self, payload: bytes) -> list[bytes]:
        assert isinstance(payload, bytes)
        self.gathers += 1
        return self.side.allgather(payload)


def contexts(world: int, revision: str = REVISION) -> tuple[list[RankContext], list[_Comm]]:
    channel = ThreadChannel(world)
    comms = [_Comm(channel, r, world) for r in range(world)]

    def lookup(r):
        def comm(name):
            if name != GROUP:
                raise KeyError(name)
            return comms[r]
        return comm
    return [RankContext(r, lookup(r), revision) for r in range(world)], comms


def mc2_args(inv, r: int) -> dict:
    abi = operators.get(inv.op).abi
    args = {name: device(inv.ranks[r].get(name)) for name in abi.tensors}
    args.update({name: (GROUP if name == "group" else inv.attrs.get(name)) for name in abi.scalars})
    return args


def run_twin(inv, revision: str = REVISION) -> list[tuple[Answer, Answer | None, dict]]:
    """Every rank's (workspace answer, launch answer or None when refused, its args after the call), ranks in
    threads as rank processes would call GetWorkspaceSize then the launch."""
    fn = operators.get(inv.op).abi.execute_fn
    ctxs, _ = contexts(inv.world_size, revision)
    out: list = [None] * inv.world_size

    def rank_main(r):
        args = mc2_args(inv, r)
        ws = twin.workspace(fn, args, ctxs[r])
        out[r] = (ws, None if ws.status else twin.launch(fn, args, ctxs[r]), args)

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(inv.world_size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(o is not None for o in out), "a rank did not finish"
    return out


def as_rank_result(inv, ws: Answer, ln: Answer | None, args: dict) -> RankResult:
    """The twin's answers in sim-cann's terms: status and phase, and the outputs written (the record's results)."""
    if ws.status:
        return RankResult(ws.status, {}, ws.message, PHASE_WORKSPACE)
    if ln.kernel_status:  # sim-cann's name for a kernel failure: ACLNN_ERR_INNER at the launch, "kernel failed"
        assert ln.kernel_status == twin.ACL_ERROR_RT_AICORE_EXCEPTION and not ln.status
        return RankResult(ACLNN_ERR_INNER, {}, ln.message.split(": ", 1)[1], PHASE_LAUNCH)
    if ln.status:
        return RankResult(ln.status, {}, ln.message, PHASE_LAUNCH)
    return RankResult(0, {n: np.array(args[n].view()) for n in operators.get(inv.op).outputs if args.get(n)})


def same_bits(a, b) -> bool:
    """Equal dtype, shape and every byte (NaN sentinels included)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))


def assert_same(inv, twin_results, sim_results):
    for r, (got, want) in enumerate(zip(twin_results, sim_results)):
        assert (got.status, got.phase) == (want.status, want.phase), (r, got.message, want.message)
        if want.message.startswith("kernel failed"):
            assert got.message == want.message
        if want.status:
            continue
        for name, values in want.outputs.items():
            assert same_bits(got.outputs[name], values), (r, name)


CASES = [
    "v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2",
    "v3-tiny-fp16_i64-x1_2d-x2nzT-bias-deqn-nox3-lowbit-fp16-w2",
    "v3-tiny-bf16_pt-x1_3d-x2nz-bias-deq1n-x3-fp-bf16-w2",
    "marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2",
    "marn_inplace-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2",
    "marn-MARN-LAYOUT-003-x2_strided-fp16-w2",
]


@pytest.mark.parametrize("case_id", CASES)
def test_mc2_operator_answers_as_sim_cann_on_two_ranks(case_id):
    inv = materialise(casegen.by_id(case_id), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    assert all(not r.status and r.outputs for r in sim), "the case must compute on sim-cann"
    answers = run_twin(inv)
    assert all(ws.workspace > 0 for ws, _, _ in answers)
    assert_same(inv, [as_rank_result(inv, *a) for a in answers], sim)


def test_inplace_variant_writes_the_base_operators_y_into_its_residual():
    """The inplace twin's residual after the call is the out-of-place operator's y on the same inputs (and its
    normOut the same), computed by sim-cann for the base operator."""
    inv = materialise(casegen.by_id("marn_inplace-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"), 0)
    record = operators.get(inv.op)
    base = operators.twin_of(record)
    base_ranks = tuple({**t, "y": TensorArg.from_array(np.array(t["normOut"].data), t["normOut"].dtype),
                        "normOut": TensorArg.from_array(np.array(t["normOut"].data), t["normOut"].dtype)}
                       for t in inv.ranks)  # buffers of its own: sim-cann writes its outputs in place
    want = SimCannBackend(CannOptions(revision=REVISION)).invoke(dataclasses.replace(inv, op=base.name,
                                                                                     ranks=base_ranks))
    for r, (_, _, args) in enumerate(run_twin(inv)):
        assert same_bits(args["residual"].view(), want[r].outputs["y"])
        assert same_bits(args["normOut"].view(), want[r].outputs["normOut"])
        assert not same_bits(args["residual"].view(), inv.ranks[r]["residual"].data)


def test_workspace_rejection_answers_at_workspace_and_writes_nothing():
    inv = materialise(casegen.by_id("v3-V3-DTYPE-003-output_fp32-fp16-w2"), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    answers = run_twin(inv)
    assert all(ws.status == ACLNN_ERR_PARAM_INVALID and ln is None for ws, ln, _ in answers)
    assert all(ws.message.startswith("CANN-V3-H04") for ws, _, _ in answers)
    assert_same(inv, [as_rank_result(inv, *a) for a in answers], sim)
    for r, (_, _, args) in enumerate(answers):
        assert same_bits(args["output"].view(), inv.ranks[r]["output"].data)


def test_launch_phase_rejection_returns_zero_at_workspace_and_the_status_at_launch():
    inv = materialise(casegen.by_id("marn-MARN-LAYOUT-001-x1_strided-fp16-w2"), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    assert sim[0].phase == PHASE_LAUNCH
    answers = run_twin(inv)
    assert all(ws.status == 0 and ln.status == sim[0].status and not ln.kernel_status for ws, ln, _ in answers)
    assert_same(inv, [as_rank_result(inv, *a) for a in answers], sim)


def test_empty_short_cut_reports_no_workspace_and_writes_nothing():
    inv = materialise(casegen.by_id("marn-empty_m-x1_2d-fp16-w2"), 0)
    answers = run_twin(inv)
    assert all((ws.status, ws.workspace, ln.status, ln.kernel_status) == (0, 0, 0, 0) for ws, ln, _ in answers)
    for r, (_, _, args) in enumerate(answers):
        for name in ("y", "normOut"):
            assert same_bits(args[name].view(), inv.ranks[r][name].data)


def test_a_rank_whose_peer_was_refused_launches_nothing():
    inv = materialise(casegen.by_id("v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2"), 0)
    bad = dict(inv.ranks[1])
    bad["output"] = TensorArg.from_array(np.zeros(bad["output"].shape, np.float32), "float32")
    inv = type(inv)(inv.op, inv.world_size, (inv.ranks[0], bad), inv.attrs)
    answers = run_twin(inv)
    assert answers[1][0].status == ACLNN_ERR_PARAM_INVALID and answers[1][1] is None
    ws0, ln0, args0 = answers[0]
    assert (ws0.status, ln0.status, ln0.kernel_status) == (0, 0, 0) and "rank 1 rejected" in ln0.message
    assert same_bits(args0["output"].view(), inv.ranks[0]["output"].data)


def test_every_smoke_case_answers_as_sim_cann():
    """The whole smoke profile (every world size), rejections included: statuses, phases, outputs."""
    computed = 0
    for case in casegen.select(profile="smoke", world_sizes=(1, 2, 4, 8)):
        if case.shape_only:
            continue
        inv = materialise(case, 0)
        sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
        assert_same(inv, [as_rank_result(inv, *a) for a in run_twin(inv)], sim)
        computed += not sim[0].status
    assert computed >= 20


def test_a_kernel_that_fails_on_an_input_the_host_let_through_reports_at_synchronise():
    """sim-cann's kernel failure (ACLNN_ERR_INNER at the launch) is the twin's AI-core exception: the launch
    returns 0 and the stream reports 507015; nothing is written."""
    inv = materialise(casegen.by_id("v3-V3-SHAPE-006-x3_shape-x2nz-bf16-w2"), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    assert sim[0].status == ACLNN_ERR_INNER and sim[0].message.startswith("kernel failed")
    answers = run_twin(inv)
    for r, (ws, ln, args) in enumerate(answers):
        assert (ws.status, ln.status, ln.kernel_status) == (0, 0, 507015)
        assert same_bits(args["output"].view(), inv.ranks[r]["output"].data)
    assert_same(inv, [as_rank_result(inv, *a) for a in answers], sim)


def test_kernel_failure_is_reported_as_the_runtimes_aicore_exception(monkeypatch):
    def broken(*_args, **_kw):
        raise FloatingPointError("an input the host let through")
    monkeypatch.setattr(twin, "kernel_outputs", broken)
    inv = materialise(casegen.by_id("v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2"), 0)
    for r, (ws, ln, args) in enumerate(run_twin(inv)):
        assert ws.status == 0 and ln.status == 0 and ln.kernel_status == 507015
        assert "kernel failed: FloatingPointError" in ln.message and "\n" not in ln.message
        assert same_bits(args["output"].view(), inv.ranks[r]["output"].data)


def test_revision_reaches_the_host_model():
    """A rule a later revision changed answers by the twin's revision (as sim-cann's does)."""
    from conformance.sim.cann import revisions
    names = revisions.names()
    inv = materialise(casegen.by_id("marn-MARN-LAYOUT-001-x1_strided-fp16-w2"), 0)
    seen = set()
    for name in (names[0], names[-1]):
        sim = SimCannBackend(CannOptions(revision=name)).invoke(inv)
        assert_same(inv, [as_rank_result(inv, *a) for a in run_twin(inv, name)], sim)
        seen.add((sim[0].status, sim[0].phase))
    assert seen  # both revisions compared; whether they differ is the host model's business


def test_unrecorded_and_unknown_operators():
    assert twin.handles("aclnnQuantMatmulAllReduce") and twin.handles("aclnnQuantMatmulAllReduceV3")
    assert not twin.handles("aclnnNoSuchOperator")
    ctxs, _ = contexts(1)
    got = twin.workspace("aclnnQuantMatmulAllReduceV2", {}, ctxs[0])
    assert got.status == ACLNN_ERR_INNER
    assert got.message == "the twin does not model aclnnQuantMatmulAllReduceV2 (no operator record)"
    assert twin.launch("aclnnNoSuchOperator", {}, ctxs[0]).status == ACLNN_ERR_INNER
    for op in operators.all_operators():
        assert twin.handles(op.abi.execute_fn)


def test_unknown_group_is_one_line():
    inv = materialise(casegen.by_id("v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2"), 0)
    args = mc2_args(inv, 0)
    args["group"] = "nobody"
    ctxs, _ = contexts(1)
    got = twin.workspace("aclnnQuantMatmulAllReduceV3", args, ctxs[0])
    assert got.status == ACLNN_ERR_PARAM_INVALID and "group 'nobody'" in got.message and "\n" not in got.message


def test_sim_cann_and_the_twin_share_the_kernel_path():
    assert twin.kernel_outputs is sim_cann.kernel_outputs


# --- the benchmark chain's operators ----------------------------------------------------------------------

def call(fn: str, **args) -> Answer:
    ws = chain_ops.workspace(fn, args)
    if ws.status:
        return ws
    return chain_ops.launch(fn, args)


def _rng_half(shape, seed, dtype="float16"):
    return dtypes.round_to(np.random.default_rng(seed).standard_normal(shape).astype(np.float32), dtype)


def _zeros(shape, dtype: str) -> DeviceTensor:
    return from_array(np.zeros(shape, dtypes.np_dtype(dtype)), dtype)


def marn_chain_via_ops(inv) -> list[dict[str, np.ndarray]]:
    """aclnnMatmul -> [aclnnAdd(bias)] -> all-reduce (by the test, chain.allreduce_hccl) -> aclnnAddRmsNorm, as
    the aclnn backend chains them (bindings/aclnn_marn.py); outputs under the fused operator's names."""
    dtype = inv.ranks[0]["x1"].dtype
    partials = []
    for t in inv.ranks:
        m, n = int(np.prod(t["x1"].shape[:-1])), t["x2"].shape[-1]
        x1 = from_array(np.asarray(t["x1"].data).reshape(m, t["x1"].shape[-1]), dtype)
        mm = _zeros((m, n), dtype)
        assert call("aclnnMatmul", self=x1, mat2=device(t["x2"]), out=mm, cubeMathType=0) == Answer()
        if t.get("bias") is not None:
            biased = _zeros((m, n), dtype)
            got = call("aclnnAdd", self=mm, other=device(t["bias"]), alpha=Scalar(1.0, "float32"), out=biased)
            assert got == Answer()
            mm = biased
        partials.append(np.array(mm.view()))
    reduced = chain.allreduce_hccl(partials, dtype)
    m, n = reduced.shape
    outs = []
    for t in inv.ranks:
        norm, y, rstd = _zeros((m, n), dtype), _zeros((m, n), dtype), _zeros((m, 1), "float32")
        got = call("aclnnAddRmsNorm", x1=from_array(reduced, dtype),
                   x2=from_array(np.asarray(t["residual"].data).reshape(m, n), dtype), gamma=device(t["gamma"]),
                   epsilon=float(inv.attrs["epsilon"]), yOut=norm, rstdOut=rstd, xOut=y)
        assert got == Answer(), got.message
        shape = t["residual"].shape
        if n:  # rstd of the stored sum (an empty norm axis leaves it unwritten)
            y32 = np.array(y.view()).astype(np.float32)
            expected = 1 / np.sqrt(np.mean(y32 * y32, axis=1, keepdims=True) + np.float32(inv.attrs["epsilon"]))
            assert np.allclose(np.array(rstd.view()), expected, rtol=1e-6, equal_nan=True)
        outs.append({operators.get(inv.op).summed_output: np.array(y.view()).reshape(shape),
                     "normOut": np.array(norm.view()).reshape(shape)})
    return outs


def _weight(x2: TensorArg) -> tuple[DeviceTensor, bool]:
    """x2 as the aclnn backend's chain passes it to aclnnQuantMatmulV4 (program._chain_weight): the stored
    matrix and transposeX2; an NZ weight uploaded ND and converted by aclnnTransMatmulWeight."""
    transposed = x2.is_last_two_transposed and not x2.is_contiguous
    rows, cols = (x2.shape[1], x2.shape[0]) if transposed else tuple(x2.shape)
    if x2.format != "FRACTAL_NZ":
        stored = np.asarray(x2.data).T if transposed else np.asarray(x2.data)
        return from_array(stored, "int8"), transposed
    stored = quant.nz_to_nd(np.asarray(x2.data), rows, cols)  # the weight as the caller holds it, ND
    buf = np.zeros(int(np.prod(quant.nz_storage_shape(rows, cols))), np.int8)
    buf[:stored.size] = stored.reshape(-1)
    weight = DeviceTensor("int8", (rows, cols), (cols, 1), 0, "ND", (rows, cols), buf)
    assert call("aclnnTransMatmulWeight", mmWeightRef=weight) == Answer()
    fmt, storage_shape = chain_ops.converted_weight(weight)
    assert np.array_equal(buf.reshape(storage_shape), quant.nd_to_nz(stored))
    return DeviceTensor("int8", (rows, cols), (cols, 1), 0, fmt, storage_shape, buf), transposed


def v3_chain_via_ops(inv) -> list[dict[str, np.ndarray]]:
    """aclnnQuantMatmulV4 [-> aclnnAdd(x3)] -> all-reduce (by the test), as bindings/aclnn_v3.py chains them."""
    out_dtype = inv.ranks[0]["output"].dtype
    partials = []
    for t in inv.ranks:
        m, n = int(np.prod(t["x1"].shape[:-1])), t["output"].shape[-1]
        weight, transposed = _weight(t["x2"])
        mm = _zeros((m, n), out_dtype)
        x1 = from_array(np.asarray(t["x1"].data).reshape(m, t["x1"].shape[-1]), "int8")
        got = call("aclnnQuantMatmulV4", x1=x1, x2=weight,
                   scale=device(t["dequantScale"]), offset=None, pertokenScaleOptional=device(t.get("pertokenScale")),
                   bias=device(t.get("bias")), transposeX1=False, transposeX2=transposed, out=mm)
        assert got == Answer(), got.message
        if t.get("x3") is not None:
            summed = _zeros((m, n), out_dtype)
            x3 = from_array(np.asarray(t["x3"].data).reshape(m, n), out_dtype)
            assert call("aclnnAdd", self=mm, other=x3, alpha=Scalar(1, "float32"), out=summed) == Answer()
            mm = summed
        partials.append(np.array(mm.view()))
    reduced = chain.allreduce_hccl(partials, out_dtype).reshape(inv.ranks[0]["output"].shape)
    return [{"output": reduced} for _ in inv.ranks]


def test_chain_ops_compute_the_chain_steps_for_every_smoke_case():
    """Every smoke case that computes, through the separate operators as the aclnn backend chains them, gives
    conformance/sim/chain.py's outputs bit for bit (low-bit communication has no such chain)."""
    ran = set()
    for case in casegen.select(profile="smoke", world_sizes=(1, 2, 4, 8)):
        if case.shape_only:
            continue
        inv = materialise(case, 0)
        sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
        if sim[0].status or inv.ranks[0].get("commQuantScale1") is not None:
            continue
        # the two chains of separate operators this test replays (an operator whose record points elsewhere, e.g.
        # MatmulAllReduce's matmul + all-reduce, is proven by its own chain tests)
        replay = {"conformance.sim.chain:v3_chain": v3_chain_via_ops,
                  "conformance.sim.chain:marn_chain": marn_chain_via_ops}.get(operators.get(inv.op).chain.path)
        if replay is None:
            continue
        via_ops = replay(inv)
        want = chain.run_chain(inv.op, inv.ranks, inv.attrs)
        for r, outs in enumerate(want):
            assert all(same_bits(via_ops[r][name], values) for name, values in outs.items()), (case.id, r)
        ran.add((inv.op, inv.ranks[0].get("x2").format))
    assert len(ran) >= 4 and ("QuantMatmulAllReduceV3", "FRACTAL_NZ") in ran, ran  # NZ weights among them


def test_chain_ops_validate_their_arguments():
    a = from_array(np.ones((4, 8), np.float16), "float16")
    b = from_array(np.ones((6, 3), np.float16), "float16")
    out = from_array(np.zeros((4, 3), np.float16), "float16")
    got = call("aclnnMatmul", self=a, mat2=b, out=out, cubeMathType=0)
    assert got.status == ACLNN_ERR_PARAM_INVALID and "k = 8" in got.message
    assert np.all(np.array(out.view()) == 0)
    got = call("aclnnMatmul", self=None, mat2=b, out=out, cubeMathType=0)
    assert (got.status, got.message) == (ACLNN_ERR_PARAM_NULLPTR, "aclnnMatmul: self is a null pointer")
    got = call("aclnnAdd", self=a, other=b, alpha=Scalar(1.0, "float32"), out=out)
    assert got.status == ACLNN_ERR_PARAM_INVALID and "broadcast" in got.message
    got = call("aclnnAddRmsNorm", x1=a, x2=a, gamma=from_array(np.ones(3, np.float16), "float16"), epsilon=1e-6,
               yOut=a, rstdOut=None, xOut=None)
    assert got.status == ACLNN_ERR_PARAM_INVALID and "gamma" in got.message
    x1 = from_array(np.ones((4, 8), np.int8), "int8")
    got = call("aclnnQuantMatmulV4", x1=x1, x2=from_array(np.ones((8, 3), np.int8), "int8"),
               scale=from_array(np.ones(3, np.float32), "float32"), offset=from_array(np.ones(3, np.float32),
                                                                                       "float32"),
               pertokenScaleOptional=None, bias=None, transposeX1=False, transposeX2=False, out=out)
    assert got.status == ACLNN_ERR_PARAM_INVALID and "offset" in got.message


def test_chain_ops_mm_and_v5_agree_with_their_siblings():
    a = from_array(_rng_half((5, 7), 1), "float16")
    b = from_array(_rng_half((7, 3), 2), "float16")
    outs = [from_array(np.zeros((5, 3), np.float16), "float16") for _ in range(2)]
    for fn, out in zip(("aclnnMatmul", "aclnnMm"), outs):
        assert call(fn, self=a, mat2=b, out=out, cubeMathType=1) == Answer()
    want = dtypes.round_to(np.array(a.view()).astype(np.float32) @ np.array(b.view()).astype(np.float32), "float16")
    assert all(np.array_equal(np.array(o.view()), want) for o in outs)
    rng = np.random.default_rng(3)
    x1 = from_array(rng.integers(-128, 128, (4, 32), dtype=np.int8), "int8")
    x2t = rng.integers(-128, 128, (16, 32), dtype=np.int8)  # (n, k): transposeX2
    scale = from_array(rng.uniform(0.001, 0.01, 16).astype(np.float32), "float32")
    pt = from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "float32")
    v4, v5 = (from_array(np.zeros((4, 16), np.float16), "float16") for _ in range(2))
    assert call("aclnnQuantMatmulV4", x1=x1, x2=from_array(x2t, "int8"), scale=scale, offset=None,
                pertokenScaleOptional=pt, bias=None, transposeX1=False, transposeX2=True, out=v4) == Answer()
    assert call("aclnnQuantMatmulV5", x1=x1, x2=from_array(x2t, "int8"), x1Scale=pt, x2Scale=scale, yScale=None,
                x1Offset=None, x2Offset=None, yOffset=None, bias=None, transposeX1=False, transposeX2=True,
                groupSize=0, out=v5) == Answer()
    exact = (np.array(x1.view()).astype(np.float64) @ x2t.T.astype(np.float64)).astype(np.float32)
    want = dtypes.round_to(exact * np.array(scale.view()) * np.array(pt.view())[:, None], "float16")
    assert np.array_equal(np.array(v4.view()), want) and np.array_equal(np.array(v5.view()), want)


def test_chain_kernel_failure_is_the_aicore_exception(monkeypatch):
    def broken(fn, args):
        raise MemoryError("no room")
    monkeypatch.setattr(chain_ops, "_OPS", {**chain_ops._OPS, "aclnnMm": chain_ops._Op(chain_ops._matmul_shape,
                                                                                       broken)})
    a = from_array(np.ones((2, 2), np.float16), "float16")
    out = from_array(np.zeros((2, 2), np.float16), "float16")
    got = call("aclnnMm", self=a, mat2=a, out=out, cubeMathType=0)
    assert (got.status, got.kernel_status) == (0, 507015) and "MemoryError" in got.message


def test_chain_prototypes_name_every_handled_operator_with_a_cited_document():
    for fn in ("aclnnMatmul", "aclnnAdd", "aclnnAddRmsNorm", "aclnnQuantMatmulV4"):
        assert chain_ops.handles(fn) and twin.handles(fn)
    for fn, (params, source) in chain_ops.CHAIN_PROTOTYPES.items():
        assert chain_ops.handles(fn)
        assert source.split()[0] in ("hicann/ops-nn@e5c3fa93", "hicann/ops-math@c4193324") and ".md:" in source
        assert all(ctype.endswith("*") or ctype in ("double", "bool", "int8_t", "int64_t") for _, ctype in params)
    # the aclnn backend's own prototypes agree in arity (conformance/backends/aclnn/abi.py)
    from conformance.backends.aclnn import abi
    for fn in ("aclnnMatmul", "aclnnAdd", "aclnnAddRmsNorm", "aclnnQuantMatmulV4", "aclnnTransMatmulWeight"):
        assert len(abi.PROTOTYPES[fn + "GetWorkspaceSize"][2]) == len(chain_ops.CHAIN_PROTOTYPES[fn][0]) + 2


def torch_npu_style(t: TensorArg | None, lead: int = 3) -> DeviceTensor | None:
    """A device tensor as torch_npu describes one (research notes A1: op-plugin@517f2e7d
    op_plugin/utils/op_api_common.cpp:917-941): the storage's base with the view at a storage offset, the storage
    dims one dim of its element count, and a 3-D tensor tagged NCL."""
    if t is None:
        return None
    flat = host_storage(t)
    storage = np.concatenate([np.zeros(lead, flat.dtype), flat, np.zeros(2, flat.dtype)])
    fmt = "NCL" if len(t.shape) == 3 else t.format
    return DeviceTensor(t.dtype, tuple(t.shape), tuple(t.strides), lead, fmt, (storage.size,), storage)


def test_marn_reads_torch_npu_descriptors_offsets_and_ncl_tags_as_sim_cann_does():
    inv = materialise(casegen.by_id("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    fn = operators.get(inv.op).abi.execute_fn
    ctxs, comms = contexts(2)
    out: list = [None, None]

    def rank_main(r):
        args = {n: torch_npu_style(inv.ranks[r].get(n)) for n in operators.get(inv.op).abi.tensors}
        args.update(epsilon=inv.attrs["epsilon"], group=GROUP, reduceOp="sum", commTurn=0, streamMode=1)
        out[r] = (twin.workspace(fn, args, ctxs[r]), twin.launch(fn, args, ctxs[r]), args)

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(comm.gathers == 2 for comm in comms)  # the verdicts at GetWorkspaceSize, the tensors at launch
    for r, (ws, ln, args) in enumerate(out):
        assert (ws.status, ln.status, ln.kernel_status) == (0, 0, 0), (ws.message, ln.message)
        for name in ("y", "normOut"):
            assert same_bits(args[name].view(), sim[r].outputs[name]), name
            assert np.all(args[name].storage[:3] == 0) and np.all(args[name].storage[-2:] == 0)  # nothing outside


def test_trans_quant_param_packs_the_documented_word():
    """aclnnTransQuantParamV2.md:30-50: the scale's top 19 bits, bit 46 set, the offset's 9 bits at bit 37."""
    scale = from_array(np.array([1.0, 0.1], np.float32), "float32")
    offset = from_array(np.array([-3.0, 5.0], np.float32), "float32")
    out = from_array(np.zeros(2, np.int64), "int64")
    assert call("aclnnTransQuantParamV2", scale=scale, offset=offset, out=out) == Answer()
    tenth = int(np.float32(0.1).view(np.uint32)) & 0xFFFFE000
    assert [int(w) for w in out.view()] == [0x3F800000 | (1 << 46) | ((-3 & 0x1FF) << 37),
                                           tenth | (1 << 46) | (5 << 37)]
    got = call("aclnnTransQuantParamV3", scale=scale, offset=None, roundMode=2, out=out)
    assert got.status == ACLNN_ERR_PARAM_INVALID and "roundMode" in got.message


def test_quant_matmul_v5_as_npu_quant_matmul_calls_it():
    """Empty x1Offset / yOffset tensors (not NULL), the scale as TransQuantParam's int64 words, no pertoken: the
    exact int32 product times the FP19 scale, stored in fp16."""
    rng = np.random.default_rng(7)
    x1 = rng.integers(-128, 128, (3, 64), dtype=np.int8)
    x2 = rng.integers(-128, 128, (64, 5), dtype=np.int8)
    scale = rng.uniform(1e-4, 1e-2, 5).astype(np.float32)
    words = from_array(np.zeros(5, np.int64), "int64")
    assert call("aclnnTransQuantParamV2", scale=from_array(scale, "float32"), offset=None, out=words) == Answer()
    empty = from_array(np.zeros(0, np.float32), "float32")
    out = from_array(np.zeros((3, 5), np.float16), "float16")
    got = call("aclnnQuantMatmulV5", x1=from_array(x1, "int8"), x2=from_array(x2, "int8"), x1Scale=None,
               x2Scale=words, yScale=None, x1Offset=empty, x2Offset=None, yOffset=empty, bias=None,
               transposeX1=False, transposeX2=False, groupSize=0, out=out)
    assert got == Answer(), got.message
    fp19 = (scale.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
    exact = x1.astype(np.int64) @ x2.astype(np.int64)
    assert np.array_equal(np.array(out.view()), (exact.astype(np.float32) * fp19).astype(np.float16))


def test_a_launch_whose_workspace_call_this_process_did_not_see_still_computes():
    inv = materialise(casegen.by_id("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w1"), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    ctxs, comms = contexts(1)
    args = mc2_args(inv, 0)
    args["group"] = GROUP.encode()  # a char* the bridge left as bytes
    got = twin.launch(operators.get(inv.op).abi.execute_fn, args, ctxs[0])
    assert got == Answer() and comms[0].gathers == 1  # the tensors only: no verdict exchange at the launch
    assert all(same_bits(args[n].view(), sim[0].outputs[n]) for n in ("y", "normOut"))


def test_trans_matmul_weight_on_a_tensor_the_c_side_already_re_described():
    rng = np.random.default_rng(11)
    nd = rng.integers(-128, 128, (40, 70), dtype=np.int8)
    storage_shape = quant.nz_storage_shape(40, 70)
    buf = np.zeros(int(np.prod(storage_shape)), np.int8)
    buf[:nd.size] = nd.reshape(-1)
    plain = DeviceTensor("int8", (40, 70), (70, 1), 0, "ND", (40, 70), buf.copy())
    described = DeviceTensor("int8", (40, 70), (70, 1), 0, "FRACTAL_NZ", storage_shape, buf.copy())
    for t in (plain, described):
        assert call("aclnnTransMatmulWeight", mmWeightRef=t) == Answer()
        assert np.array_equal(t.storage.reshape(storage_shape), quant.nd_to_nz(nd))
    small = DeviceTensor("int8", (40, 70), (70, 1), 0, "ND", (40, 70), np.zeros(40 * 70, np.int8))
    got = call("aclnnTransMatmulWeight", mmWeightRef=small)
    assert got.status == ACLNN_ERR_PARAM_INVALID and "aclnnCalculateMatmulWeightSizeV2" in got.message


def test_a_repeatable_executor_launches_again_with_its_plan():
    """Timing loops launch one executor many times: each launch computes and exchanges again, no new verdicts."""
    inv = materialise(casegen.by_id("v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2"), 0)
    sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
    fn = operators.get(inv.op).abi.execute_fn
    ctxs, comms = contexts(2)
    out: list = [None, None]

    def rank_main(r):
        args = mc2_args(inv, r)
        ws = twin.workspace(fn, args, ctxs[r])
        out[r] = (ws, [twin.launch(fn, args, ctxs[r]) for _ in range(3)], args)

    threads = [threading.Thread(target=rank_main, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [c.gathers for c in comms] == [4, 4]  # one verdict exchange, three tensor exchanges
    for r, (ws, launches, args) in enumerate(out):
        assert ws.workspace > 0 and launches == [Answer()] * 3
        assert same_bits(args["output"].view(), sim[r].outputs["output"])


# --- end to end: the suite's aclnn backend on the twin's C library ------------------------------------------

def test_the_aclnn_backend_on_the_twin_answers_as_sim_cann_for_the_smoke_cases():
    """Every smoke case at world 2 through the aclnn ctypes backend, the twin's C library and these operators:
    the statuses, phases and outputs sim-cann gives. Skips where the twin cannot be built (no cc / headers)."""
    try:
        from conformance.twin import TwinError, prepare
    except ImportError as exc:
        pytest.skip(f"needs the twin's C library side (conformance.twin.prepare): {exc}")
    from helpers import run_aclnn_ranks
    try:
        built = prepare()
    except TwinError as exc:
        pytest.skip(f"no CANN twin on this machine: {exc}")
    ran = 0
    for case in casegen.select(profile="smoke", world_sizes=(2,)):
        if case.shape_only:
            continue
        inv = materialise(case, 0)
        sim = SimCannBackend(CannOptions(revision=REVISION)).invoke(inv)
        out, _ = run_aclnn_ranks(inv, lib_dir=str(built.lib_dir))
        for r in range(2):
            assert not isinstance(out[r], BaseException), (case.id, out[r])
            got = out[r][0]
            assert (got.status, got.phase) == (sim[r].status, sim[r].phase), (case.id, got.message)
            assert all(same_bits(got.outputs[n], v) for n, v in sim[r].outputs.items()), case.id
        ran += 1
    assert ran >= 20


def test_the_c_wrappers_record_the_chain_prototypes_parameters():
    """cann_twin.c's hand-written wrappers of the chain's operators name their parameters as CHAIN_PROTOTYPES does,
    in the same order and C types (const aside, which the ABI ignores). Skips until the C source exists."""
    import re
    from pathlib import Path
    source = Path(chain_ops.__file__).with_name("cann_twin.c")
    if not source.is_file():
        pytest.skip("needs conformance/twin/cann_twin.c (the twin's C library side)")
    text = source.read_text(encoding="utf-8")
    checked = 0
    for fn, (params, _) in chain_ops.CHAIN_PROTOTYPES.items():
        found = re.search(rf"\b{fn}GetWorkspaceSize\(([^)]*)\)\s*{{(.*?)\n}}", text, re.S)
        if found is None:
            continue  # a wrapper the C side does not define: torch_npu's dlsym finds none, as on an older CANN
        declared = [" ".join(p.split()) for p in found.group(1).split(",")]
        declared = [p for p in declared if p and "WORKSPACE_OUT" not in p and "workspaceSize" not in p
                    and "executor" not in p]
        names = [re.split(r"[\s*]+", p)[-1] for p in declared]
        types = [re.sub(r"\bconst\b|\s", "", p[: p.rindex(name)]) for p, name in zip(declared, names)]
        assert names == [n for n, _ in params], fn
        assert types == [re.sub(r"\bconst\b|\s", "", t) for _, t in params], fn
        recorded = re.findall(r'ARG_\w+\(e, "(\w+)"', found.group(2))
        assert recorded == names, fn
        checked += 1
    assert checked >= 4


def test_trans_matmul_weight_tiles_the_stored_matrix_of_a_transposed_view():
    """x2 with transposeX2 as the aclnn backend converts it: a (k, n) view with strides (1, k) over the stored
    (n, k) matrix, in a buffer of aclnnCalculateMatmulWeightSizeV2((n, k)) elements. The NZ tiling is of the
    stored matrix, the storage dims the catalogue's NZ x2 carries (program._is_standard_nz), whether or not the
    C side re-described the tensor before the launch."""
    rng = np.random.default_rng(12)
    k, n = 40, 61
    stored = rng.integers(-128, 128, (n, k), dtype=np.int8)
    storage_shape = quant.nz_storage_shape(n, k)
    assert storage_shape != quant.nz_storage_shape(k, n)  # else the test could not tell the two apart
    buf = np.zeros(int(np.prod(storage_shape)), np.int8)
    buf[:stored.size] = stored.reshape(-1)
    plain = DeviceTensor("int8", (k, n), (1, k), 0, "ND", (n, k), buf.copy())
    assert chain_ops.converted_weight(plain) == ("FRACTAL_NZ", storage_shape)
    described = DeviceTensor("int8", (k, n), (1, k), 0, "FRACTAL_NZ", storage_shape, buf.copy())
    for t in (plain, described):
        assert call("aclnnTransMatmulWeight", mmWeightRef=t) == Answer()
        assert np.array_equal(t.storage.reshape(storage_shape), quant.nd_to_nz(stored))
    arg = twin.tensor_arg(described, with_data=True)  # what the V3 operator is handed: the catalogue's NZ x2
    assert np.array_equal(quant.nz_to_nd(np.asarray(arg.data), n, k), stored)
