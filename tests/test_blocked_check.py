"""The row-blocked check of large MatmulAllReduceAddRmsNorm outputs (marn_check._check_blocked) says what the
whole-array check says, and it holds no whole (m, n) float32 array (the reason it exists: an 8-rank
tensor-parallel layer must fit a pytest worker's 2 GB)."""

import tracemalloc

import numpy as np
import pytest

from conformance.casegen.inputs import materialise
from conformance.casegen.marn import OP, Shape, _case, base_attrs, base_tensors
from conformance.sim import SimulatorBackend
from conformance.tolerance import marn_check


def _layer(*, m: int, n: int, k: int = 32, world: int = 2, dtype: str = "float16"):
    shape = Shape("blocked", 1, m, k, n, "signoff")
    case = _case(OP, f"blocked-m{m}n{n}", dtype, world, base_tensors(OP, dtype, shape), base_attrs(k=k),
                 covers=["MARN-NUM-001"], kind="valid", profile="signoff")
    inv = materialise(case, 0)
    return inv, SimulatorBackend().invoke(inv)


def _summary(checks):
    return [(c.name, c.passed, c.message, {k: v for k, v in c.stats.items() if k != "vendor_metrics"},
             c.stats.get("vendor_metrics")) for c in checks]


@pytest.fixture(scope="module")
def layer():
    inv, results = _layer(m=1024, n=4096)  # 4M elements per rank: the smallest blockable size, 8 row blocks
    assert marn_check._blockable(inv, results)
    return inv, results


def test_blocked_and_whole_checks_agree_on_a_pass(layer):
    inv, results = layer
    blocked = list(marn_check._check_blocked(inv, results, accumulation="probabilistic", with_metrics=True))
    whole = list(marn_check._check_whole(inv, results, exact_outputs=(), accumulation="probabilistic",
                                         with_metrics=True, expected=None))
    assert all(c.passed for c in blocked)
    assert _summary(blocked) == _summary(whole)


def test_a_wrong_element_fails_the_blocked_check_as_the_whole_check_reports_it(layer):
    inv, results = layer
    norm = np.asarray(results[1].outputs["normOut"])
    saved = norm.copy()
    flat = norm.reshape(-1)
    flat[3 * 4096 + 17] = flat[3 * 4096 + 17] * np.float16(1.5) + np.float16(0.25)  # far outside any bound
    try:
        blocked = [c for c in marn_check._check_blocked(inv, results, accumulation="probabilistic",
                                                         with_metrics=False) if not c.passed]
        whole = [c for c in marn_check._check_whole(inv, results, exact_outputs=(), accumulation="probabilistic",
                                                    with_metrics=False, expected=None) if not c.passed]
    finally:
        norm[...] = saved
    assert [c.name for c in blocked] == ["rank 1 normOut: error bound"]
    assert _summary(blocked) == _summary(whole)
    assert "worst at (3, 17)" in blocked[0].message  # row 3, column 17 of rank 1's (b*s, n) output


def _check_peak(m: int, n: int) -> int:
    inv, results = _layer(m=m, n=n, world=1)
    tracemalloc.start()
    try:
        checks = list(marn_check.check(inv, results, exact=False, accumulation="probabilistic", with_metrics=True))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(c.passed for c in checks)
    return peak


def test_the_blocked_checks_memory_does_not_grow_with_the_output():
    """Doubling the rows (both above the vendor metrics' 10^6-element sample) must not raise the check's peak
    by a whole float32 output: only row blocks (2 MiB) and the fixed-size sample are held. The vendor metrics'
    sample once kept every block's reference alive (views), 4 MiB per block of rank 0."""
    n = 4096
    small, large = _check_peak(2048, n), _check_peak(4096, n)
    grown = large - small
    assert grown < 2048 * n * 4 // 4, (f"the check's peak grew by {grown / 2**20:.0f} MiB for 2048 more rows "
                                       f"({small / 2**20:.0f} -> {large / 2**20:.0f} MiB)")
