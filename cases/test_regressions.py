"""Fuzz findings frozen as fixed cases (conformance/data/regressions.json, written by `mc2-conformance fuzz --export`).
Each replays the exact inputs it was found with and runs in every profile from then on."""

import pytest


@pytest.mark.mc2_cases(origin="regression")
def test_regression(case, judge_case):
    judge_case(case)
