"""The tolerance model: a correct implementation passes under either all-reduce accumulation, the bound
scales with the summed terms (so cancellation neither fails a correct result nor hides a wrong one), and
failure messages say what was expected."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.judge import run_case
from conformance.protocol import Invocation, TensorArg
from conformance.sim import SimOptions, SimulatorBackend
from conformance.tolerance import compare, marn_check
from conformance.tolerance.accumulation import dot_bound
from conformance.context import Context
from helpers import heavy

VALID = [c for c in casegen.catalogue() if c.kind == "valid" and not c.shape_only and not heavy(c)
         and "empty" not in c.id]  # the heavy cases (layers, large path cases): seconds to hours each


@settings(max_examples=40, deadline=None)
@given(case=st.sampled_from(VALID), seed=st.integers(0, 2**31), mode=st.sampled_from(["float32", "output_dtype"]))
def test_correct_simulator_passes_for_any_seed(case, seed, mode):
    outcome = run_case(case, SimulatorBackend(options=SimOptions(mode)), Context(seed=seed, with_metrics=False))
    assert outcome.passed, outcome.report()


def _cancelling_invocation(dtype, world_size, *, perturb=0.0):
    """Ranks whose partials cancel: rank r+1 negates rank r, so mm_out == 0 while |x1| @ |x2| is large."""
    rng = np.random.default_rng(1)
    np_dt = np.float16 if dtype == "float16" else __import__("ml_dtypes").bfloat16
    m, k, n = 16, 64, 64
    ranks = []
    x2 = rng.uniform(-1, 1, (k, n)).astype(np_dt)
    for r in range(world_size):
        x1 = rng.uniform(-1, 1, (m, k)).astype(np_dt) if r % 2 == 0 else -ranks[-1]["x1"].data
        ranks.append({"x1": TensorArg.from_array(np.asarray(x1), dtype), "x2": TensorArg.from_array(x2, dtype),
                      "bias": None,
                      "residual": TensorArg.from_array(rng.uniform(-1, 1, (1, m, n)).astype(np_dt), dtype),
                      "gamma": TensorArg.from_array(np.ones(n, np_dt), dtype),
                      "y": TensorArg.descriptor(dtype, (1, m, n)), "normOut": TensorArg.descriptor(dtype, (1, m, n))})
    inv = Invocation("MatmulAllReduceAddRmsNorm", world_size, tuple(ranks),
                     {"epsilon": 1e-6, "reduceOp": "sum", "commTurn": 0, "streamMode": 1})
    results = SimulatorBackend().invoke(inv)
    if perturb:
        for res, _t in zip(results, ranks):
            y = res.outputs["y"].astype(np.float32)
            res.outputs["y"] = (y + perturb).astype(np_dt)
    return inv, results


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cancellation_passes_a_correct_result(dtype):
    inv, results = _cancelling_invocation(dtype, 4)
    checks = list(marn_check.check(inv, results, exact=False, with_metrics=False))
    assert all(c.passed for c in checks), [c.message for c in checks if not c.passed]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cancellation_does_not_hide_a_wrong_result(dtype):
    """An error of 0.05 on y ~ residual ~ 1 is far beyond a few roundings: it must fail even though the
    terms summed into mm_out were large (the bound scales with |partials|, which cancel exactly here)."""
    inv, results = _cancelling_invocation(dtype, 4, perturb=0.05)
    checks = list(marn_check.check(inv, results, exact=False, with_metrics=False))
    assert any(not c.passed and "rank 0 y" in c.name for c in checks)


def test_failure_message_names_count_index_value_reference_and_bound():
    ref = np.zeros((2, 3), np.float32)
    actual = ref.copy()
    actual[1, 2] = 0.5
    check = compare.bounded("rank 0 y: error bound", actual, ref, np.full((2, 3), 0.1, np.float32))[0]
    assert not check.passed
    for part in ("1 of 6 elements", "(1, 2)", "got", "0.5", "reference", "bound 0.1"):
        assert part in check.message, check.message


def test_nan_output_fails_the_bound():
    ref = np.ones(4, np.float32)
    actual = np.array([1, np.nan, 1, np.inf], np.float32)
    check = compare.bounded("y", actual, ref, np.full(4, 1.0, np.float32))[0]
    assert not check.passed and check.stats["failed"] == 2


def test_balance_needs_enough_errors_and_flags_one_sided_rounding():
    ref = np.linspace(1, 2, 1000, dtype=np.float32)
    assert compare._balance("b", np.full(10, -1e-3, np.float32), ref[:10]).passed  # too few to judge
    assert not compare._balance("b", np.full(1000, -1e-3, np.float32), ref).passed
    signs = np.where(np.arange(1000) % 2, 1e-3, -1e-3).astype(np.float32)
    assert compare._balance("b", signs, ref).passed


def test_probabilistic_dot_bound_is_below_worst_case_for_long_k():
    for k in (64, 1024, 65535):
        assert dot_bound(k, "probabilistic") < dot_bound(k, "worst_case") or k < 100
    with pytest.raises(ValueError, match="unknown accumulation bound"):
        dot_bound(8, "loose")


def test_outputs_with_wrong_shape_or_dtype_fail_without_a_crash():
    case = casegen.by_id("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2")
    inv = materialise(case, 0)
    results = SimulatorBackend().invoke(inv)
    results[1].outputs["y"] = results[1].outputs["y"].astype(np.float32)
    del results[0].outputs["normOut"]
    msgs = [c.message for c in marn_check.check(inv, results, exact=False) if not c.passed]
    assert any("rank 1 y: dtype float32" in m for m in msgs) and any("rank 0 normOut: missing" in m for m in msgs)
