"""Vendor metrics on inputs whose values are known by hand (device-facts 8 definitions)."""

from __future__ import annotations

import numpy as np
import pytest

from conformance.tolerance.metrics import vendor_metrics


def test_exact_output_scores_zero_everywhere():
    ref = np.array([1.0, -2.0, 0.5, 0.0], np.float32)
    m = vendor_metrics(ref.copy(), ref, "float16")
    assert m["share_over_1ulp"] == 0 and m["max_rel_error"] == 0 and m["normal_over_rtol"] == 0
    assert m["nonfinite_mismatch"] == 0 and m["community_pass"]


def test_ulp_share_counts_elements_over_one_ulp():
    ref = np.ones(4, np.float32)  # fp16 ulp at 1 is 2^-10
    act = ref + np.array([0, 2**-11, 2**-10, 2 * 2**-10], np.float32)
    m = vendor_metrics(act, ref, "float16")
    assert m["share_over_1ulp"] == pytest.approx(0.25)  # only the 2-ulp element
    assert "mean_ulp" not in m  # not part of the fp16/bf16 standard


def test_zero_golden_does_not_blow_up_the_statistics():
    ref = np.array([0.0, 1.0, 1.0, 1.0], np.float32)
    act = np.array([1e-6, 1.0, 1.0, 1.0], np.float32)  # tiny error on a zero golden
    m = vendor_metrics(act, ref, "bfloat16")
    assert m["max_rel_error"] == 0.0  # the zero golden is a small value: judged by absolute error
    assert m["small_over_atol"] == 0.0  # 1e-6 < 2^-16
    assert m["share_over_1ulp"] == pytest.approx(0.25)  # by definition: bf16's spacing at 0 is 2^-133
    assert "mean_ulp" not in m


def test_relative_error_and_thresholds_on_normal_values():
    ref = np.array([1.0, 2.0, 4.0, 8.0], np.float32)
    act = ref * np.array([1 + 2**-9, 1, 1, 1], np.float32)  # one element off by 2^-9 relative
    m = vendor_metrics(act, ref, "float16")
    assert m["max_rel_error"] == pytest.approx(2**-9)
    assert m["normal_over_rtol"] == pytest.approx(0.25)  # fp16 rtol 2^-10
    m_bf16 = vendor_metrics(act, ref, "bfloat16")
    assert m_bf16["normal_over_rtol"] == 0.0  # bf16 rtol 2^-8


def test_nonfinite_mismatch_and_fp32_ulp_mean():
    ref = np.array([1.0, np.inf, 2.0], np.float32)
    act = np.array([1.0, 3.0, np.nan], np.float32)
    assert vendor_metrics(act, ref, "float16")["nonfinite_mismatch"] == 2
    r32 = np.ones(2, np.float32)
    m = vendor_metrics(r32 + np.float32(2**-23) * np.array([0, 4], np.float32), r32, "float32")
    assert m["mean_ulp"] == pytest.approx(2.0) and m["share_over_32ulp"] == 0.0
