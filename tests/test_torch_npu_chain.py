"""The torch_npu backend's benchmark chain (invoke_chain) and device timing (timed), proven against the recording
stand-in (tests/stand_ins/torch_npu_stand_in.py).

`chain_errors` rebuilds, from the case's TensorArgs alone, which separate operator each rank must have called, in
which order, with which tensors (value fingerprints, dtype, shape, format) and scalars, each consuming what the one
before it returned, and that the outputs carry the fused operator's names and are what the last operator returned.
`timing_errors` checks the event protocol: warm-up runs outside any event pair, one start/end pair recorded around
each measured run, torch.npu.synchronize() before any elapsed_time (the backend's choice: a failed launch surfaces
there; the real elapsed_time synchronises its two events itself), and the seconds being those milliseconds / 1000.
Each family of checks is shown to catch one deliberate mis-marshalling. What this cannot prove: that the real
torch_npu operators behave as the seam assumes (argument order of npu_add_rms_norm / npu_quant_matmul is cited
from torch_npu's documentation and tests in the seam's comments).
"""

import os
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conformance import casegen, operators  # noqa: E402
from conformance.backends import binding_of, torch_npu_backend as tnb  # noqa: E402
from conformance.backends.bindings import torch_npu_v3  # noqa: E402
from conformance.casegen.inputs import materialise  # noqa: E402
from conformance.engine import RankCall  # noqa: E402
from conformance.sim.chain import run_chain  # noqa: E402
from helpers import light_cases  # noqa: E402
from stand_ins.torch_npu_stand_in import StandInSeam, aclnn_failure_message, fingerprint_array, read_log  # noqa: E402
from test_torch_npu_backend import (  # noqa: E402,F401  (rank_program: the one-rank fixture)
    FUNCTION, SEAM, TESTS, OneRankChannel, expected_tensor, rank_program)

V3_OP, MARN_OP, INPLACE_OP = operators.V3.name, operators.MARN.name, operators.INPLACE.name
MARN_BIAS = "marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1"
MARN_NOBIAS = "marn-tiny-x1_2d-x2T-nobias-eps0.01-bf16-w1"
INPLACE = "marn_inplace-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1"
V3_NZ_X3 = "v3-tiny-bf16-x1_3d-x2nz-nobias-deq1-x3-fp-bf16-w1"
V3_PT_T = "v3-tiny-bf16_pt-x1_3d-x2ndT-nobias-deq1-x3-fp-bf16-w1"
V3_LOWBIT = "v3-tiny-fp16_i64-x1_2d-x2nd-nobias-deq1-nox3-lowbit-fp16-w1"
CHAIN_FNS = ("matmul", "add", "all_reduce", "npu_add_rms_norm", "npu_quant_matmul")
TIMING_FNS = ("event_record", "synchronize", "event_elapsed_time")
SUPPORTED_W1 = [c for c in light_cases("signoff") if c.world_size == 1 and not c.shape_only
                and tnb.chain_unsupported_reason(materialise(c, 0)) is None]


# --- what the chain must have called, from the case alone ---------------------------------------------------

def _norm(desc, strides: bool):
    if not isinstance(desc, dict):
        return desc
    desc = dict(desc)
    # the aclnn tag by rank (op-plugin@517f2e7d op_plugin/utils/op_api_common.cpp:917-930): the stand-in logs its
    # own; an expectation from the case gets it here
    desc.setdefault("acl_format", "FRACTAL_NZ" if desc.get("format") == "FRACTAL_NZ" else
                    {3: "NCL", 4: "NCHW", 5: "NCDHW"}.get(len(desc["shape"]), "ND"))
    if strides:  # compared over the dimensions other than 1 (expected_tensor's are already)
        if len(desc["stride"]) == len(desc["shape"]):
            desc["stride"] = [s for s, d in zip(desc["stride"], desc["shape"]) if d != 1]
    else:
        desc.pop("stride", None)
    return desc


def as_rows(arg, cols: int | None = None) -> dict:
    """An activation as the chain passes it: its values as an (m, last) matrix (strides are torch's business)."""
    values = np.asarray(arg.data)
    cols = arg.shape[-1] if cols is None else cols
    values = values.reshape(int(np.prod(arg.shape, dtype=np.int64)) // cols if cols else
                            int(np.prod(arg.shape[:-1], dtype=np.int64)), cols)
    # an NZ-tagged activation keeps its tag through the reshape (an invalid case's; its own operator rejects it)
    fmt = "FRACTAL_NZ" if arg.format == "FRACTAL_NZ" else "ND"
    return {"dtype": arg.dtype, "shape": list(values.shape), "format": fmt, "fp": fingerprint_array(values)}


def _pairs(entries: list[dict], rank: int) -> list[tuple[dict, dict | None]]:
    """This rank's chain operator calls, each with the "result" entry of what it returned (None: it raised)."""
    mine = [e for e in entries if e.get("rank") == rank]
    out = []
    for i, e in enumerate(mine):
        if e["fn"] in CHAIN_FNS:
            nxt = mine[i + 1] if i + 1 < len(mine) else None
            out.append((e, nxt if nxt and nxt["fn"] == "result" and nxt.get("of") == e["fn"] else None))
    return out


def _binding(inv):
    return binding_of(inv.op, tnb.KIND)


def _quantised(inv) -> bool:
    """The operator's chain is the quantised matmul's (npu_quant_matmul, + x3): its binding says so."""
    return _binding(inv).chain_local is torch_npu_v3.chain_local


def _normed(inv) -> bool:
    """An AddRmsNorm follows the all-reduce (the binding has a chain after it)."""
    return _binding(inv).chain_after is not None


def expected_sequence(inv, rank: int) -> list[str]:
    t = inv.ranks[rank]
    if _quantised(inv):
        return ["npu_quant_matmul"] + (["add"] if t.get("x3") is not None else []) + ["all_reduce"]
    return ["matmul"] + (["add"] if t.get("bias") is not None else []) + ["all_reduce"] + \
        (["npu_add_rms_norm"] if _normed(inv) else [])


def chain_errors(inv, rank: int, entries: list[dict], result) -> list[str]:
    t, errors = inv.ranks[rank], []
    pairs = _pairs(entries, rank)
    names, want_names = [c["fn"] for c, _ in pairs], expected_sequence(inv, rank)
    if result.status:  # an operator (or the reshape before one, or the copy-back) failed: the chain stops there
        if names != want_names[:len(names)]:
            return [f"rank {rank}: failed with {result.status} after operators {names}, want a prefix of "
                    f"{want_names}"]
    elif names != want_names:
        return [f"rank {rank}: operators {names}, want {want_names}"]
    pairs = pairs + [({"fn": None}, None)] * (len(want_names) - len(pairs))

    def check(fn, kw, got, want, strides=False):
        if isinstance(want, float) and want != want and isinstance(got, float) and got != got:
            return  # a NaN epsilon passes as NaN
        if _norm(got, strides) != _norm(want, strides):
            errors.append(f"{fn} {kw}: got {_norm(got, strides)}, want {_norm(want, strides)}")

    calls = iter(pairs)
    first, prev = next(calls)
    check(first["fn"], "x1", first["x1"], as_rows(t["x1"]))
    check(first["fn"], "x2", first["x2"], expected_tensor(t["x2"]), strides=True)
    if _quantised(inv):
        for kw, name in (("scale", "dequantScale"), ("pertoken_scale", "pertokenScale"), ("bias", "bias")):
            check(first["fn"], kw, first[kw], expected_tensor(t.get(name)), strides=True)
        check(first["fn"], "offset", first["offset"], None)
        check(first["fn"], "output_dtype", first["output_dtype"], t["output"].dtype)
        addend = t.get("x3")
        addend_want = (lambda: as_rows(addend, t["output"].shape[-1])) if addend is not None else None
    else:
        addend = t.get("bias")
        addend_want = (lambda: expected_tensor(addend)) if addend is not None else None
    if addend is not None:
        add, add_res = next(calls)
        if add["fn"] is None:
            return errors
        check("add", "a", (add["a"] or {}).get("fp"), prev and prev["out"]["fp"])
        check("add", "b", add["b"], addend_want(), strides=addend is t.get("bias"))
        prev = add_res
    reduce, reduced = next(calls)
    if reduce["fn"] is None:
        return errors
    check("all_reduce", "tensor", (reduce["tensor"] or {}).get("fp"), prev and prev["out"]["fp"])
    check("all_reduce", "op", reduce["op"], "sum")
    final = {operators.get(inv.op).summed_output: reduced and reduced["out"]["fp"]}
    if _normed(inv):
        norm, norm_res = next(calls)
        if norm["fn"] is None:
            return errors
        check("npu_add_rms_norm", "x1", norm["x1"]["fp"], reduced and reduced["out"]["fp"])
        check("npu_add_rms_norm", "x2", norm["x2"], as_rows(t["residual"]))
        check("npu_add_rms_norm", "gamma", norm["gamma"], expected_tensor(t["gamma"]), strides=True)
        check("npu_add_rms_norm", "epsilon", norm["epsilon"], inv.attrs["epsilon"])
        y_name = "y" if inv.op == MARN_OP else "residual"
        final = {y_name: norm_res and norm_res["x"]["fp"], "normOut": norm_res and norm_res["y"]["fp"]}
    if result.status == 0:  # outputs under the fused names, exactly what the chain's last operators returned
        if set(result.outputs) != set(final):
            errors.append(f"outputs {sorted(result.outputs)}, want {sorted(final)}")
        for name, fp in final.items():
            if name in result.outputs and fingerprint_array(result.outputs[name]) != fp:
                errors.append(f"output {name} is not what the chain produced")
            spec = inv.ranks[rank][name]
            if name in result.outputs and result.outputs[name].shape != spec.shape:
                errors.append(f"output {name} shape {result.outputs[name].shape}, want {spec.shape}")
    return errors


def timing_errors(entries: list[dict], rank: int, run_fns: list[str], warmup: int, iterations: int,
                  seconds) -> list[str]:
    """Warm-up outside any event pair, a pair around each measured run, synchronize before elapsed_time."""
    mine = [e for e in entries if e.get("rank") == rank]
    seq = [e for e in mine if e["fn"] in set(run_fns) | set(TIMING_FNS)]
    want = run_fns * warmup + (["event_record"] + run_fns + ["event_record"]) * iterations + \
        ["synchronize"] + ["event_elapsed_time"] * iterations
    got = [e["fn"] for e in seq]
    if got != want:
        return [f"rank {rank}: sequence {got}, want {want}"]
    errors = []
    creates = {e["event"]: e for e in mine if e["fn"] == "event_create"}
    records = [e["event"] for e in seq if e["fn"] == "event_record"]
    if len(set(records)) != len(records) or not set(records) <= set(creates):
        errors.append(f"events recorded {records}, created {sorted(creates)}: one fresh pair per iteration wanted")
    if not all(c["enable_timing"] for c in creates.values()):
        errors.append("an event without enable_timing")
    pairs = list(zip(records[::2], records[1::2]))
    elapsed = [(e["start"], e["end"]) for e in seq if e["fn"] == "event_elapsed_time"]
    if elapsed != pairs:
        errors.append(f"elapsed_time of {elapsed}, the recorded pairs are {pairs}")
    ms = [e["returned"] for e in mine if e["fn"] == "result" and e.get("of") == "event_elapsed_time"]
    if seconds is None or not np.allclose(np.asarray(seconds), np.asarray(ms) / 1000.0, rtol=0, atol=0):
        errors.append(f"seconds {seconds}, the events' milliseconds {ms}")
    return errors



def run_one(rank_program, case_or_id, **mode):
    program, log = rank_program
    case = casegen.by_id(case_or_id) if isinstance(case_or_id, str) else case_or_id
    inv = materialise(case, 0)
    start = len(read_log(log)) if log.exists() else 0
    result = program.invoke(RankCall(inv.op, 0, 1, inv.ranks[0], inv.attrs, False, inv.case_id, OneRankChannel(),
                                     inv.ranks, **mode))
    return inv, result, read_log(log)[start:]


def run_chain_one(rank_program, case_or_id):
    return run_one(rank_program, case_or_id, mode="chain")


# --- the chain ---------------------------------------------------------------------------------------------

def test_every_supported_case_runs_the_chain_as_the_case_says(rank_program):
    assert len(SUPPORTED_W1) > 100
    failures, ops = [], set()
    for case in SUPPORTED_W1:
        inv, result, entries = run_chain_one(rank_program, case)
        if result.status == 0:
            ops.add(inv.op)
        failures += [f"{case.id}: {e}" for e in chain_errors(inv, 0, entries, result)]
    assert not failures, "\n".join(failures[:10])
    assert ops == {op.name for op in operators.all_operators() if op.binding("torch-npu") is not None}


@pytest.mark.parametrize("case_id", [MARN_BIAS, MARN_NOBIAS, INPLACE, V3_NZ_X3, V3_PT_T])
def test_chain_outputs_carry_the_fused_names_and_the_chain_values(rank_program, case_id):
    inv, result, entries = run_chain_one(rank_program, case_id)
    assert result.status == 0, result.message
    assert chain_errors(inv, 0, entries, result) == []
    want = run_chain(inv.op, inv.ranks, inv.attrs)[0]  # conformance/sim/chain.py: the chain's semantics
    assert set(result.outputs) == set(want)
    for name, ref in want.items():
        got = result.outputs[name].astype(np.float32)
        ref = ref.astype(np.float32)
        assert got.shape == ref.shape
        # the stand-in rounds AddRmsNorm's product once where the chain rounds twice: a few ulps of the dtype
        np.testing.assert_allclose(got, ref, rtol=2 ** -6, atol=2 ** -6 * max(1.0, float(np.abs(ref).max())))


def test_the_inplace_chain_answers_residual_and_normout_and_no_y(rank_program):
    inv, result, _ = run_chain_one(rank_program, INPLACE)
    assert result.status == 0 and set(result.outputs) == {"residual", "normOut"}


def test_a_raising_operator_stops_the_chain_before_the_all_reduce(tmp_path):
    message = aclnn_failure_message("aclnnMatmul", 161002, launch=False)
    program = tnb.TorchNpuRankProgram(rank=0, world_size=1, device=None, seam=SEAM,
                                      seam_options={"log": str(tmp_path / "log"), "raise_message": message})
    inv = materialise(casegen.by_id(MARN_BIAS), 0)
    result = program.invoke(RankCall(inv.op, 0, 1, inv.ranks[0], inv.attrs, False, inv.case_id, OneRankChannel(),
                                     inv.ranks, mode="chain"))
    assert (result.status, result.outputs) == (161002, {})
    assert [e["fn"] for e in read_log(tmp_path / "log") if e["fn"] in CHAIN_FNS] == ["matmul"]


class TwoRankChannel:
    """Rank 0 of two, whose peer rejected: the pre-flight refuses the all-reduce on the rank that succeeded."""

    def allgather(self, obj):
        return [obj, 161002]


def test_a_peer_that_failed_keeps_this_rank_out_of_the_all_reduce(rank_program):
    program, log = rank_program
    inv = materialise(casegen.by_id(MARN_BIAS), 0)
    start = len(read_log(log))
    result = program.invoke(RankCall(inv.op, 0, 2, inv.ranks[0], inv.attrs, False, inv.case_id, TwoRankChannel(),
                                     inv.ranks, mode="chain"))
    assert result.status == 0 and result.outputs == {} and "rank 1 failed with 161002" in result.message
    assert "all_reduce" not in [e["fn"] for e in read_log(log)[start:]]


# --- declared refusals -------------------------------------------------------------------------------------

def test_low_bit_communication_is_refused_by_the_chain_not_by_the_fused_call(tmp_path):
    backend = tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "log")})
    inv = materialise(casegen.by_id(V3_LOWBIT), 0)
    assert backend.unsupported_reason(inv) is None
    assert "low-bit" in backend.chain_unsupported_reason(inv)
    with pytest.raises(ValueError, match="low-bit"):
        backend.invoke_chain(inv)
    with pytest.raises(ValueError, match="low-bit"):
        backend.timed(inv, chain=True, warmup=0, iterations=1)
    assert not (tmp_path / "log").exists()  # never reached a rank


def test_chain_needs_neither_mindspeed_nor_the_v2_dispatch(tmp_path):
    backend = tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(tmp_path / "log"), "marn": False})
    marn, v3 = (materialise(casegen.by_id(c), 0) for c in (MARN_BIAS, V3_NZ_X3))
    assert "MindSpeed" in backend.unsupported_reason(marn) and "V2" in backend.unsupported_reason(v3)
    # (the module's function: the backend's own would probe its ranks' stack for the NZ weight of v3)
    assert backend.chain_unsupported_reason(marn) is None and tnb.chain_unsupported_reason(v3) is None
    shape_only = materialise(casegen.by_id("marn-MARN-BOUND-001-bs_at_max-fp16-w1"), 0)
    assert "shape-only" in backend.chain_unsupported_reason(shape_only)
    for cid in ("marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w1",):
        other = materialise(casegen.by_id(cid), 0)
        assert "reduceOp" in tnb.chain_unsupported_reason(replace(other, attrs=dict(other.attrs, reduceOp="max")))


# --- timing ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case_id,chain", [(MARN_BIAS, True), (V3_NZ_X3, True), (MARN_BIAS, False),
                                           (INPLACE, False)])
def test_timing_records_one_event_pair_per_measured_run(rank_program, case_id, chain):
    inv, result, entries = run_one(rank_program, case_id, mode="chain" if chain else "fused", warmup=2,
                                   iterations=3)
    assert result.status == 0, result.message
    assert set(result.outputs) == {"seconds"} and len(result.outputs["seconds"]) == 3
    run_fns = expected_sequence(inv, 0) if chain else [FUNCTION[inv.op]]
    assert timing_errors(entries, 0, run_fns, 2, 3, result.outputs["seconds"]) == []
    assert all(s >= 0 for s in result.outputs["seconds"])


def test_without_warmup_every_run_is_measured(rank_program):
    inv, result, entries = run_one(rank_program, MARN_NOBIAS, mode="chain", warmup=0, iterations=2)
    assert timing_errors(entries, 0, expected_sequence(inv, 0), 0, 2, result.outputs.get("seconds")) == []


# --- each family of checks catches a deliberate mis-marshalling ----------------------------------------------

def _wrap(monkeypatch, name, make):
    monkeypatch.setattr(StandInSeam, name, make(getattr(StandInSeam, name)))


def _matmul_x2_contiguous(mp):
    _wrap(mp, "matmul", lambda orig: lambda self, x1, x2: orig(self, x1, x2.contiguous()))


def _add_operands_swapped(mp):
    _wrap(mp, "add", lambda orig: lambda self, a, b: orig(self, b, a))


def _all_reduce_skipped(mp):
    _wrap(mp, "all_reduce", lambda orig: lambda self, t, op="sum": None)


def _add_rms_norm_inputs_swapped(mp):
    _wrap(mp, "add_rms_norm", lambda orig: lambda self, x1, x2, gamma, eps: orig(self, x2, x1, gamma, eps))


def _add_rms_norm_outputs_misread(mp):  # reads (y, rstd, x) as (x, rstd, y)
    _wrap(mp, "add_rms_norm", lambda orig: lambda self, *a: tuple(reversed(orig(self, *a))))


def _quant_matmul_pertoken_as_offset(mp):
    _wrap(mp, "quant_matmul", lambda orig: lambda self, x1, x2, scale, *, offset=None, pertoken_scale=None, **kw:
          orig(self, x1, x2, scale, offset=pertoken_scale, pertoken_scale=offset, **kw))


def _quant_matmul_default_output_dtype(mp):
    _wrap(mp, "quant_matmul", lambda orig: lambda self, *a, output_dtype=None, **kw:
          orig(self, *a, output_dtype=torch.float16, **kw))


@pytest.mark.parametrize("sabotage,case_id,caught", [
    (_matmul_x2_contiguous, MARN_BIAS, "matmul x2"),
    (_add_operands_swapped, MARN_BIAS, "add a"),
    (_add_operands_swapped, V3_NZ_X3, "add a"),
    (_all_reduce_skipped, MARN_NOBIAS, "operators"),
    (_add_rms_norm_inputs_swapped, MARN_BIAS, "npu_add_rms_norm x1"),
    (_add_rms_norm_outputs_misread, INPLACE, "output residual"),
    (_quant_matmul_pertoken_as_offset, V3_PT_T, "pertoken_scale"),
    (_quant_matmul_default_output_dtype, V3_PT_T, "output_dtype"),
])
def test_a_broken_chain_marshalling_is_caught(rank_program, monkeypatch, sabotage, case_id, caught):
    inv, result, entries = run_chain_one(rank_program, case_id)
    assert chain_errors(inv, 0, entries, result) == []  # the honest chain passes the same check
    sabotage(monkeypatch)
    inv, result, entries = run_chain_one(rank_program, case_id)
    errors = chain_errors(inv, 0, entries, result)
    assert any(caught in e for e in errors), errors


def _no_synchronize(mp):
    mp.setattr(StandInSeam, "synchronize", lambda self: None)


def _warmup_timed(mp):
    orig = tnb.TorchNpuRankProgram._timed
    mp.setattr(tnb.TorchNpuRankProgram, "_timed", lambda self, call, t, chain: orig(
        self, replace(call, warmup=0, iterations=call.warmup + call.iterations), t, chain))


def _one_pair_for_all(mp):
    _wrap(mp, "event", lambda orig: lambda self: getattr(self, "_shared", None) or
          self.__dict__.setdefault("_shared", orig(self)))


@pytest.mark.parametrize("sabotage,caught", [(_no_synchronize, "sequence"), (_warmup_timed, "sequence"),
                                             (_one_pair_for_all, "one fresh pair")])
def test_a_broken_timing_is_caught(rank_program, monkeypatch, sabotage, caught):
    inv, result, entries = run_one(rank_program, MARN_BIAS, mode="chain", warmup=1, iterations=2)
    run_fns = expected_sequence(inv, 0)
    assert timing_errors(entries, 0, run_fns, 1, 2, result.outputs.get("seconds")) == []
    sabotage(monkeypatch)
    inv, result, entries = run_one(rank_program, MARN_BIAS, mode="chain", warmup=1, iterations=2)
    errors = timing_errors(entries, 0, run_fns, 1, 2, result.outputs.get("seconds"))
    assert any(caught in e for e in errors), errors


# --- two ranks through the rank engine over gloo ------------------------------------------------------------

def test_two_rank_chain_and_timing_through_the_rank_engine(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    log = tmp_path / "calls.jsonl"
    backend = tnb.TorchNpuBackend(seam=SEAM, seam_options={"log": str(log)}, env=env, deadline_s=60)
    try:
        for cid in ("marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w2", "v3-tiny-bf16_pt-x1_3d-x2ndT-bias-deqn-x3-fp-bf16-w2"):
            start = len(read_log(log)) if log.exists() else 0
            inv = materialise(casegen.by_id(cid), 0)
            results = backend.invoke_chain(inv)
            entries = read_log(log)[start:]
            want = run_chain(inv.op, inv.ranks, inv.attrs)
            for r in range(2):
                assert results[r].status == 0, results[r].message
                assert chain_errors(inv, r, entries, results[r]) == [], (cid, r)
                for name, ref in want[r].items():
                    ref = ref.astype(np.float32)
                    np.testing.assert_allclose(results[r].outputs[name].astype(np.float32), ref, rtol=2 ** -6,
                                               atol=2 ** -6 * max(1.0, float(np.abs(ref).max())))
        start = len(read_log(log))
        inv = materialise(casegen.by_id("marn-tiny-x1_3d-x2T-bias-eps0.5-fp16-w2"), 0)
        timing = backend.timed(inv, chain=True, warmup=1, iterations=2)
        assert timing.clock == "device events" and len(timing.seconds) == 2
        entries = read_log(log)[start:]
        per_rank = []
        for r in range(2):
            ms = [e["returned"] for e in entries if e["rank"] == r and e.get("of") == "event_elapsed_time"]
            per_rank.append(np.asarray(ms) / 1000.0)
            assert timing_errors(entries, r, expected_sequence(inv, r), 1, 2, per_rank[r]) == []
        assert timing.seconds == list(np.maximum(*per_rank))  # per iteration, the slowest rank's
        assert backend._engine.groups_started == 1  # one group served the chains and the timing
    finally:
        backend.close()
