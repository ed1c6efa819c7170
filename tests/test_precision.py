"""The vendor precision standard (conformance/tolerance/precision.py) and the benchmark chain (sim/chain.py):
each can fail. A device equal to the chain has ratio 1 (L2); a worse device (fault truncate) reaches a lower level
than the clean simulator; a chain too good or too bad moves the level; the verdict mode fails a case below L1."""

from __future__ import annotations

import numpy as np
import pytest

from conformance import operators
from conformance.casegen import select
from conformance.casegen.inputs import materialise
from conformance.judge import run_case
from conformance.reporting.page import build_page, render_markdown
from conformance.reporting.summary import summarise
from conformance.sim.backend import SimulatorBackend
from conformance.sim.cann.backend import SimCannBackend
from conformance.sim.chain import run_chain
from conformance.tolerance import precision
from conformance.tolerance.precision import LEVEL_ORDER, bootstrap_median_ci, compare_output, level_of
from conformance.context import Context

SMOKE = [c for c in select(profile="smoke", world_sizes=(1, 2, 4)) if c.kind != "invalid" and not c.shape_only]


def _case(op: str, dtype: str, *, world: int | None = None):
    for c in SMOKE:
        if c.op == op and c.dtype == dtype and c.kind == "valid" and (world is None or c.world_size == world):
            return c
    pytest.skip(f"no smoke case for {op} {dtype}")


def _pcheck(outcome):
    found = [c for c in outcome.checks if c.name == precision.CHECK_NAME]
    assert len(found) == 1, [c.name for c in outcome.checks]
    return found[0]


MARN = "MatmulAllReduceAddRmsNorm"
V3 = "QuantMatmulAllReduceV3"


# ---- the metrics and levels as the standard defines them ------------------------------------------------------

def test_levels_follow_the_published_ratio_limits():
    assert level_of({"mare": 1, "mere": 1, "rmse": 1, "small_values": 0}) == "L2"
    assert level_of({"mare": 2.0, "mere": 1.2, "rmse": 1.2, "small_values": 2}) == "L2"  # limits are inclusive
    assert level_of({"mare": 2.01, "mere": 1.0, "rmse": 1.0, "small_values": 0}) == "L1"
    assert level_of({"mare": 1.0, "mere": 1.5, "rmse": 1.21, "small_values": 0}) == "L1"
    assert level_of({"mare": 5.1, "mere": 1.0, "rmse": 1.0, "small_values": 0}) == "L0"
    assert level_of({"mare": 1.0, "mere": 2.0, "rmse": 1.6, "small_values": 0}) == "L0"
    assert level_of({"mare": 10.5, "mere": 1.0, "rmse": 1.0, "small_values": 0}) == "below L0"
    assert level_of({"mare": 1.0, "mere": 1.0, "rmse": 1.0, "small_values": 2.5}) == "below L0"
    assert level_of({"mare": 1.0, "mere": 1.0, "rmse": 1.0, "small_values": 0}, nonfinite_errors=1) == "below L0"


def test_metrics_are_mare_mere_rmse_with_the_1e7_guard_and_small_values_apart():
    g = np.array([1.0, -2.0, 4.0, 1e-6], np.float32)  # the last is below fp16's small-value threshold 2^-11
    d = np.array([1.5, -2.0, 4.0, 0.0], np.float32)
    c = np.array([1.25, -2.0, 4.0, 1e-6], np.float32)
    o = compare_output(d, c, g, "float16")
    assert o["elements"] == 3 and o["small_values"]["elements"] == 1
    assert o["device"]["mare"] == pytest.approx(0.5 / (1 + 1e-7))
    assert o["device"]["mere"] == pytest.approx(0.5 / (1 + 1e-7) / 3)
    assert o["device"]["rmse"] == pytest.approx(np.sqrt(0.25 / 3))
    assert o["ratios"]["mare"] == pytest.approx(2.0) and o["ratios"]["rmse"] == pytest.approx(2.0)
    assert o["small_values"]["device_errors"] == 0  # |0 - 1e-6| <= 2^-16
    assert o["level"] == "L0"  # MERE / RMSE ratio 2


def test_small_value_rule_counts_errors_above_the_error_limit():
    g = np.zeros(10, np.float32)
    c = np.zeros(10, np.float32)
    d = np.zeros(10, np.float32)
    d[:3] = 2.0**-10  # > 2^-16: three small-value errors against none of the chain
    o = compare_output(d, c, g, "float16")
    assert o["small_values"] == {**o["small_values"], "device_errors": 3, "chain_errors": 0}
    assert o["ratios"]["small_values"] == 3 and o["level"] == "below L0"
    d[2] = 0.0
    assert compare_output(d, c, g, "float16")["level"] == "L2"  # 2 / max(0, 1) <= 2


def test_inf_nan_rules():
    g = np.array([np.inf, np.nan, 1.0, 1.0, np.inf], np.float32)
    c = np.array([np.inf, np.nan, 1.0, np.inf, 5.0], np.float32)
    d = np.array([np.inf, np.nan, 1.0, np.inf, 7.0], np.float32)  # matches chain or golden everywhere: correct
    o = compare_output(d, c, g, "float32")
    # inf = inf, NaN = NaN, device inf = chain inf (golden 1.0): correct; golden inf, device 7, chain 5: to investigate
    assert o["nonfinite"] == {"elements": 4, "correct": 3, "errors": 0, "investigate": 1}
    assert o["level"] == "L2"
    d2 = d.copy()
    d2[0] = 3.0  # golden inf, chain inf, device finite: a computation error
    assert compare_output(d2, c, g, "float32")["nonfinite"]["errors"] == 1
    assert compare_output(d2, c, g, "float32")["level"] == "below L0"
    d3 = d.copy()
    d3[2] = np.inf  # golden and chain finite, device inf: an error (the suite's rule)
    assert compare_output(d3, c, g, "float32")["level"] == "below L0"


def test_bootstrap_interval_is_seeded_and_brackets_the_median():
    xs = np.random.default_rng(1).normal(1.0, 0.1, 300)
    a, b = bootstrap_median_ci(xs), bootstrap_median_ci(xs)
    assert a == b  # fixed RNG seed
    assert a["ci"][0] <= a["median"] <= a["ci"][1] and a["n"] == 300
    assert bootstrap_median_ci(np.full(50, 3.0))["ci"] == [3.0, 3.0]


# ---- the chain --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op,dtype", [(MARN, "float16"), (MARN, "bfloat16"), (V3, "float16"), (V3, "bfloat16")])
def test_the_chain_rounds_every_operator_and_writes_into_no_buffer(op, dtype):
    case = _case(op, dtype)
    inv = materialise(case, 0)
    before = [{k: None if t is None else np.array(t.data, copy=True) for k, t in r.items()} for r in inv.ranks]
    outs = run_chain(op, inv.ranks, inv.attrs)
    assert len(outs) == case.world_size
    for r, o in enumerate(outs):
        for name, a in o.items():
            assert str(a.dtype) == dtype, name
        for k, t in inv.ranks[r].items():
            if t is not None and t.data is not None:
                assert np.array_equal(np.asarray(t.data), before[r][k], equal_nan=True), k


def test_marn_chain_is_matmul_allreduce_then_addrmsnorm():
    from conformance import dtypes
    from conformance.reference.marn import as_matrix
    case = _case(MARN, "float16")
    inv = materialise(case, 3)
    out = run_chain(MARN, inv.ranks, inv.attrs)
    parts = []
    for t in inv.ranks:
        p = dtypes.round_to(as_matrix(t["x1"]) @ as_matrix(t["x2"]), "float16")
        if t.get("bias") is not None:
            p = dtypes.round_to(p.astype(np.float32) + as_matrix(t["bias"]).reshape(-1), "float16")
        parts.append(p.astype(np.float32))
    mm = dtypes.round_to(np.sum(parts, axis=0, dtype=np.float32), "float16").astype(np.float32)
    t = inv.ranks[0]
    y = dtypes.round_to(mm + as_matrix(t["residual"]).reshape(mm.shape), "float16")
    assert np.array_equal(out[0]["y"].reshape(mm.shape), y)


def test_backends_without_invoke_chain_record_not_supported():
    class NoChain:
        name = "nochain"
        _sim = SimulatorBackend()

        def describe(self):
            return {}

        def unsupported_reason(self, inv):
            return None

        def invoke(self, inv):
            return self._sim.invoke(inv)

    o = run_case(_case(MARN, "float16"), NoChain(), Context(seed=0, precision_standard="opbase-L1"))
    chk = _pcheck(o)
    assert chk.passed and chk.stats["chain"] == "not supported" and chk.stats["level"] == "not judged"


def test_chain_statuses_match_invoke_on_rejected_inputs():
    bad = [c for c in select(profile="smoke", world_sizes=(1, 2, 4)) if c.kind == "invalid" and not c.shape_only][:6]
    for backend in (SimulatorBackend(), SimCannBackend()):
        for case in bad:
            inv = materialise(case, 0)
            assert [r.status for r in backend.invoke(inv)] == [r.status for r in backend.invoke_chain(inv)], case.id


# ---- each side can fail -----------------------------------------------------------------------------------------

class _ChainAsDevice(SimulatorBackend):
    """A device that computes exactly what the chain computes."""

    def invoke(self, inv):
        return self.invoke_chain(inv)


@pytest.mark.parametrize("op,dtype", [(MARN, "float16"), (MARN, "bfloat16"), (V3, "float16"), (V3, "bfloat16")])
def test_a_device_equal_to_the_chain_has_ratio_1_and_level_L2(op, dtype):
    case = _case(op, dtype)
    o = run_case(case, _ChainAsDevice(), Context(seed=0))
    chk = _pcheck(o)
    assert chk.passed and o.passed
    assert chk.stats["level"] == "L2"
    assert chk.stats["ratios"]["mare"] == pytest.approx(1.0) and chk.stats["ratios"]["rmse"] == pytest.approx(1.0)


def test_a_truncating_device_reaches_a_lower_level_than_the_clean_simulator():
    lower = 0
    for dtype in ("float16", "bfloat16"):
        case = _case(MARN, dtype)
        clean = _pcheck(run_case(case, SimulatorBackend(), Context(seed=0))).stats["level"]
        bad = _pcheck(run_case(case, SimulatorBackend(faults=("truncate",)), Context(seed=0))).stats["level"]
        assert LEVEL_ORDER.index(bad) <= LEVEL_ORDER.index(clean)
        lower += LEVEL_ORDER.index(bad) < LEVEL_ORDER.index(clean)
    assert lower == 2


class _ChainedSim(SimulatorBackend):
    """The clean simulator with a chain made better (the golden itself) or worse (truncating) on purpose."""

    def __init__(self, chain: str):
        super().__init__()
        self.chain = chain

    def invoke_chain(self, inv):
        results = super().invoke_chain(inv)
        gold, _ = operators.get(inv.op).precision_outputs(inv)  # the operator's golden (its reference module)
        for r, res in enumerate(results):
            for name, a in res.outputs.items():
                if self.chain == "too good":  # the golden, rounded once to the output dtype
                    src = gold[name][r if len(gold[name]) > 1 else 0]
                    res.outputs[name] = np.asarray(src, np.float32).astype(a.dtype).reshape(a.shape)
                else:  # two ulps toward zero
                    bits = a.reshape(-1).view(np.uint16)
                    bits[(bits & 0x7FFF) > 2] -= 2
        return results


def test_a_chain_too_good_or_too_bad_moves_the_level():
    case = _case(MARN, "float16")
    clean = _pcheck(run_case(case, SimulatorBackend(), Context(seed=0))).stats
    good = _pcheck(run_case(case, _ChainedSim("too good"), Context(seed=0))).stats
    bad = _pcheck(run_case(case, _ChainedSim("too bad"), Context(seed=0))).stats
    assert clean["level"] == "L2"
    assert good["ratios"]["rmse"] > 1.2 >= clean["ratios"]["rmse"]
    assert LEVEL_ORDER.index(good["level"]) < LEVEL_ORDER.index(clean["level"])  # device looks worse
    assert bad["ratios"]["rmse"] < clean["ratios"]["rmse"] and bad["level"] == "L2"  # looks better than a worse one


def test_verdict_mode_fails_below_L1_after_a_bounded_recheck():
    case = _case(MARN, "float16")
    o = run_case(case, SimulatorBackend(faults=("truncate",)), Context(seed=0, precision_standard="opbase-L1"))
    chk = _pcheck(o)
    if chk.stats["level"] in ("L1", "L2"):
        pytest.skip("this case's truncation stays within L1")
    assert not chk.passed and o.category in ("precision", "tolerance")
    rc = chk.stats.get("recheck")
    if rc:  # a ratio failure: bounded seeds (smoke: 8), bootstrap interval, small-sample rule
        assert rc["extra_seeds"] == precision.RECHECK_SEEDS["smoke"] and not rc["enough_samples"]
        assert all(len(iv["ci"]) == 2 for iv in rc["intervals"].values())


def test_verdict_mode_passes_the_clean_simulator_and_records_repeatability():
    o = run_case(_case(V3, "bfloat16"), SimulatorBackend(), Context(seed=0, precision_standard="opbase-L1"))
    chk = _pcheck(o)
    assert o.passed and chk.passed and chk.stats["repeatable"] is True and chk.stats["mode"] == "opbase-L1"


def test_informational_mode_never_fails():
    o = run_case(_case(MARN, "float16"), SimulatorBackend(faults=("truncate",)), Context(seed=0))
    assert _pcheck(o).passed


def test_an_unknown_standard_is_refused():
    with pytest.raises(ValueError):
        precision.target_level("opbase-L3")


# ---- the report -------------------------------------------------------------------------------------------------

def test_the_report_shows_the_worst_level_per_operator_and_dtype():
    tests = []
    for backend in (SimulatorBackend(), SimulatorBackend(faults=("truncate",))):
        case = _case(MARN, "float16")
        o = run_case(case, backend, Context(seed=0))
        tests.append({"nodeid": f"x::{len(tests)}", "outcome": "passed",
                      "mc2": {"case_id": case.id, "op": case.op, "dtype": case.dtype, "category": o.category,
                              "covers": [], "stats": o.stats()}})
    s = summarise({}, tests)
    row = s["precision"]["rows"][f"{MARN} / float16"]
    truncating = SimulatorBackend(faults=("truncate",))
    worst = _pcheck(run_case(_case(MARN, "float16"), truncating, Context(seed=0))).stats["level"]
    assert row["level"] == worst and row["judged"] == 2
    md = render_markdown(build_page(s))
    assert f"Precision standard ({precision.STANDARD_LABEL})" in md and worst in md
