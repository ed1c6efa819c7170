"""The cheaper arithmetic of large checks changes no value: the blocked bound check's counts over blocks of any
kind (all bounds finite, or some masked), and the row groups the simulator's finish and the blocked check work
on (every step there is elementwise or per row, so any grouping gives the same bits)."""

import numpy as np

from conformance.sim import SimulatorBackend, marn_numerics
from conformance.tolerance import compare, marn_check

from test_blocked_check import _layer, _summary


def _fed(blocks, *, balance: bool = False) -> compare.BoundedBlocks:
    fed = compare.BoundedBlocks("y", balance_name="y balance" if balance else None)
    for actual, ref, bound in blocks:
        fed.add(np.asarray(actual, np.float16), np.asarray(ref, np.float32), np.asarray(bound, np.float32))
    return fed


def test_bounded_blocks_count_finite_and_masked_blocks_by_hand():
    # errors |actual - 1|: 0, 0.5, 0 | 8, 0.25, 0 against bounds 0.5, 1, 1 | inf, 0.5, NaN
    # first block: every bound finite (no masking); second: inf and NaN bounds are unchecked
    # checked 4 of 6, none outside, worst ratio max(0/0.5, 0.5/1, 0/1, 0.25/0.5) = 0.5
    blocks = [([1.0, 1.5, 1.0], [1.0] * 3, [0.5, 1.0, 1.0]), ([9.0, 1.25, 1.0], [1.0] * 3, [np.inf, 0.5, np.nan])]
    fed = _fed(blocks, balance=True)
    assert not fed.failed
    bound_check, balance_check = fed.checks()
    assert bound_check.stats == {"elements": 6, "checked": 4, "failed": 0, "max_ratio": 0.5, "unchecked": 2}
    assert (fed.away, fed.toward) == (3, 0)  # 0.5, 8 and 0.25 above a positive reference; three zero errors
    assert balance_check.stats["count"] == 3


def test_bounded_blocks_count_a_nan_output_outside_a_finite_bound_in_either_kind_of_block():
    nan_in_finite = [([1.0, np.nan, 1.0], [1.0] * 3, [0.5, 1.0, 1.0])]
    nan_in_masked = [([1.0, np.nan, 1.0], [1.0] * 3, [0.5, 1.0, np.inf])]
    assert _fed(nan_in_finite).n_bad == 1 and _fed(nan_in_masked).n_bad == 1
    assert _fed(nan_in_finite).n_checked == 3 and _fed(nan_in_masked).n_checked == 2


def test_row_groups_change_no_output_and_no_statistic(monkeypatch):
    """One row per group against one group per row block (2^19 elements): identical check statistics, and
    bit-identical simulator outputs for the default groups and whole row blocks."""
    inv, results = _layer(m=1024, n=4096)
    monkeypatch.setattr(marn_check, "SUB_BLOCK_ELEMENTS", 1)
    fine = _summary(marn_check._check_blocked(inv, results, accumulation="probabilistic", with_metrics=True))
    monkeypatch.setattr(marn_check, "SUB_BLOCK_ELEMENTS", 1 << 19)
    coarse = _summary(marn_check._check_blocked(inv, results, accumulation="probabilistic", with_metrics=True))
    assert fine == coarse
    first = [{name: np.asarray(a).tobytes() for name, a in res.outputs.items()} for res in results]
    monkeypatch.setattr(marn_numerics, "FINISH_BLOCK_ELEMENTS", 1 << 19)  # the invocation's buffers are rewritten
    again = [{name: np.asarray(a).tobytes() for name, a in res.outputs.items()}
             for res in SimulatorBackend().invoke(inv)]
    assert first == again
