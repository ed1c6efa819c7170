"""Conformance of aclnnMatmulAllReduceAddRmsNorm and aclnnInplaceMatmulAllReduceAddRmsNorm.

The cases come from conformance.casegen (selected by --mc2-profile and --mc2-world-sizes); each test id names the
operator, the case or constraint, the dtype and the world size.
"""

import pytest

OPS = ("MatmulAllReduceAddRmsNorm", "InplaceMatmulAllReduceAddRmsNorm")


@pytest.mark.mc2_cases(kinds=("valid",), ops=OPS)
def test_valid(case, judge_case):
    """Valid inputs: status 0 on every rank, outputs within the derived error bound, balanced rounding."""
    judge_case(case)


@pytest.mark.mc2_cases(kinds=("exact",), ops=OPS)
def test_exact(case, judge_case):
    """Verifiable inputs: y must equal the exactly known result bit for bit."""
    judge_case(case)


@pytest.mark.mc2_cases(kinds=("invalid",), ops=OPS)
def test_invalid(case, judge_case):
    """Each case violates one constraint: every rank must return the expected status code."""
    judge_case(case)
