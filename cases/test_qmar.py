"""Conformance of aclnnQuantMatmulAllReduce (cases from conformance.casegen.qmar)."""

import pytest

OPS = ("QuantMatmulAllReduce",)


@pytest.mark.mc2_cases(kinds=("valid",), ops=OPS)
def test_valid(case, judge_case):
    """Valid inputs over the dtype pairing table: status 0, identical outputs on every rank, within the
    quantisation-aware bound of the reference."""
    judge_case(case)


@pytest.mark.mc2_cases(kinds=("exact",), ops=OPS)
def test_exact(case, judge_case):
    """Integral data and exactly applied scales: the output must be exact bit for bit."""
    judge_case(case)


@pytest.mark.mc2_cases(kinds=("invalid",), ops=OPS)
def test_invalid(case, judge_case):
    """Each case violates one constraint: every rank must return the documented status code."""
    judge_case(case)
