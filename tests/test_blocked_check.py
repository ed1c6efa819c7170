"""The row-blocked check of large MatmulAllReduceAddRmsNorm outputs (marn_check._check_blocked) says what the
whole-array check says, and it holds no whole (m, n) float32 array (the reason it exists: an 8-rank
tensor-parallel layer must fit a pytest worker's 2 GB)."""

import tracemalloc

import numpy as np
import pytest

from conformance.casegen.inputs import materialise
from conformance.casegen.marn import OP, Shape, _case, base_attrs, base_tensors
from conformance.reference.marn import BlockedReduction, as_matrix, rank_outputs, reduced_matmul, row_blocks
from conformance.sim import SimulatorBackend
from conformance.tolerance import compare, marn_check


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


def _references_and_moved(inv, results):
    """Whether the row blocks' reference products are bit-identical to the whole product's rows, and per rank
    the number of y elements whose error class (sign of output - reference, sign of the reference: what the
    balance counts) differs between the whole reference and the row-blocked one."""
    eps = float(inv.attrs["epsilon"])
    whole = reduced_matmul(inv)
    src = BlockedReduction(inv)
    m, n = src.shape
    same = True
    moved = []
    for r, (tensors, res) in enumerate(zip(inv.ranks, results)):
        residual, gamma = as_matrix(tensors["residual"]), as_matrix(tensors["gamma"]).reshape(-1)
        y_out = compare.to_f32(np.asarray(res.outputs["y"]).reshape(m, n))
        y_whole = rank_outputs(whole, residual, gamma, eps)[0]
        count = 0
        for lo, hi in row_blocks(m, n):
            red = src.block(lo, hi)
            if r == 0:
                same &= all(np.array_equal(getattr(red, f)[:], getattr(whole, f)[lo:hi])
                            for f in ("mm_out", "abs_products", "abs_partials"))
            y_block = rank_outputs(red, residual[lo:hi], gamma, eps)[0]
            a, b = y_whole[lo:hi], y_block
            count += int(np.count_nonzero((np.sign(y_out[lo:hi] - a) != np.sign(y_out[lo:hi] - b))
                                          | (np.sign(a) != np.sign(b))))
        moved.append(count)
    return same, moved


def test_blocked_and_whole_checks_agree_on_a_pass(layer):
    """Bit-identical statistics need the row blocks' products x1[lo:hi] @ x2 to be bit-identical to the rows of
    x1 @ x2, and that depends on the BLAS kernel: OpenBLAS's SkylakeX sgemm gives row-independent products,
    its Haswell / Zen one (AMD EPYC; OPENBLAS_CORETYPE=Zen here) rounds ~2-4 % of them differently for a
    different row count (a different summation order), and the balance then counted 4,193,722 vs 4,193,724
    nonzero errors. Both are float32 evaluations of the same products, each within the accumulation error the
    bound already charges the reference for (marn_bounds: E_mm = 2 gk A + ...). So the design guarantees:
    the same checks with the same verdicts and element counts, the same worst error/bound ratio up to the
    references' last bits, balance counts that differ only at elements whose error class moved (few: the
    float32 reference must sit within an ulp or so of the float16 output), and identical statistics
    wherever the products are bit-identical (this machine's default kernel)."""
    inv, results = layer
    blocked = list(marn_check._check_blocked(inv, results, accumulation="probabilistic", with_metrics=True))
    whole = list(marn_check._check_whole(inv, results, exact_outputs=(), accumulation="probabilistic",
                                         with_metrics=True, expected=None))
    assert all(c.passed for c in blocked)
    assert [(c.name, c.passed) for c in blocked] == [(c.name, c.passed) for c in whole]
    same_products, moved = _references_and_moved(inv, results)
    if same_products:
        assert moved == [0] * len(moved)
        assert _summary(blocked) == _summary(whole)
    elements = results[0].outputs["y"].size
    assert all(k <= elements // 10**4 for k in moved), moved  # a moved error class is rare: at most 1 in 10^4
    for b, w in zip(blocked, whole):
        r = int(b.name.split()[1]) if b.name.startswith("rank ") else 0
        if b.name.endswith("error bound"):
            assert {k: v for k, v in b.stats.items() if k != "max_ratio"} == \
                   {k: v for k, v in w.stats.items() if k != "max_ratio"}, b.name
            assert b.stats["max_ratio"] == pytest.approx(w.stats["max_ratio"], rel=1e-3), b.name
        elif b.name.endswith("rounding balance"):
            # a moved element changes the nonzero count by at most 1 and away - toward by at most 2
            assert abs(b.stats["count"] - w.stats["count"]) <= moved[r], (b.name, moved)
            lean_b, lean_w = (round(c.stats["balance"] * c.stats["count"]) for c in (b, w))
            assert abs(lean_b - lean_w) <= 2 * moved[r], (b.name, moved)
        else:  # the vendor metrics: informative statistics of a sample of rank 0 (no verdict)
            assert b.stats.keys() == w.stats.keys() == {"vendor_metrics"}
            for out, mb in b.stats["vendor_metrics"].items():
                mw = w.stats["vendor_metrics"][out]
                assert mb.keys() == mw.keys(), out
                for key, vb in mb.items():
                    if not isinstance(vb, float):
                        assert vb == mw[key], (out, key)
                    elif "_over_" in key:  # a share: small_over_atol is over the ~500 sampled elements below
                        # SMALL_VALUE here, so one element whose reference moved shifts it by 0.002
                        assert vb == pytest.approx(mw[key], abs=1e-2), (out, key)
                    else:  # means, rmse, the largest relative error: moved by the references' last bits
                        assert vb == pytest.approx(mw[key], rel=1e-3, abs=1e-7), (out, key)


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
