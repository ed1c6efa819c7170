"""Conformance of aclnnMatmulAllReduce (cases from conformance.casegen.mar)."""

import pytest

OPS = ("MatmulAllReduce",)


@pytest.mark.mc2_cases(kinds=("valid",), ops=OPS)
def test_valid(case, judge_case):
    """Valid inputs: status 0, identical outputs on every rank, within the derived bound of the reference."""
    judge_case(case)


@pytest.mark.mc2_cases(kinds=("exact",), ops=OPS)
def test_exact(case, judge_case):
    """Small-integer data: the output must be exact bit for bit."""
    judge_case(case)


@pytest.mark.mc2_cases(kinds=("invalid",), ops=OPS)
def test_invalid(case, judge_case):
    """Each case violates one constraint: every rank must reject it with the catalogue's status."""
    judge_case(case)
