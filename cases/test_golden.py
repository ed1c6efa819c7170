"""Canonical cases judged against frozen expected outputs (golden/), so a change in the reference math can
never silently move the goalposts of a conformance run."""

import pytest

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.golden import GOLDEN_SEED, GoldenError, canonical_case_ids, expected_outputs


@pytest.mark.parametrize("case", [pytest.param(casegen.by_id(cid), id=cid,
                                               marks=pytest.mark.covers(*casegen.by_id(cid).covers))
                                  for cid in canonical_case_ids()])
def test_golden(case, mc2, judge_case):
    if case.world_size not in mc2.world_sizes:
        pytest.skip(f"world size {case.world_size} not selected by --mc2-world-sizes")
    try:
        expected = expected_outputs(case.id, materialise(case, GOLDEN_SEED))
    except GoldenError as exc:
        pytest.fail(str(exc), pytrace=False)
    judge_case(case, seed=GOLDEN_SEED, expected=expected)
