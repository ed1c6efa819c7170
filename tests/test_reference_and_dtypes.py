"""The fp32 reference against float64, and the rounding helpers."""

import ml_dtypes
import numpy as np

from conformance import casegen, dtypes
from conformance.casegen.inputs import materialise
from conformance.reference.marn import as_matrix, rank_outputs, reduced_matmul


def test_reference_matches_float64_formula():
    inv = materialise(casegen.by_id("marn-odd-x1_2d-x2T-nobias-eps0.5-bf16-w4"), 5)
    red = reduced_matmul(inv)
    mm64 = sum(as_matrix(r["x1"]).astype(np.float64) @ as_matrix(r["x2"]).astype(np.float64) for r in inv.ranks)
    assert np.allclose(red.mm_out, mm64, rtol=0, atol=1e-5 * np.abs(red.abs_products).max())
    r0 = inv.ranks[0]
    y, norm, _ = rank_outputs(red, as_matrix(r0["residual"]), as_matrix(r0["gamma"]).reshape(-1), 0.5)
    y64 = mm64 + as_matrix(r0["residual"]).astype(np.float64)
    norm64 = y64 / np.sqrt(np.mean(y64**2, axis=1, keepdims=True) + 0.5) * as_matrix(r0["gamma"]).reshape(-1)
    assert np.allclose(norm, norm64, rtol=1e-5, atol=1e-6)


def test_bias_is_counted_once_per_rank():
    inv = materialise(casegen.by_id("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w4"), 1)
    red = reduced_matmul(inv)
    no_bias = sum(as_matrix(r["x1"]) @ as_matrix(r["x2"]) for r in inv.ranks)
    biases = sum(as_matrix(r["bias"]).reshape(-1) for r in inv.ranks)
    assert np.allclose(red.mm_out, no_bias + biases, atol=1e-5)


def test_round_to_is_half_even_and_truncate_goes_toward_zero():
    # 1 + 2^-11 is a tie between 1 and 1 + 2^-10 in fp16: half-even picks 1
    assert dtypes.round_to(np.float32([1 + 2**-11]), "float16")[0] == 1.0
    assert dtypes.round_to(np.float32([1 + 3 * 2**-11]), "float16")[0] == np.float16(1 + 2 * 2**-10)
    x = np.float32([1.0 + 2**-9 * 0.99, -(1.0 + 2**-9 * 0.99)])
    assert np.all(np.abs(dtypes.truncate_to(x, "bfloat16").astype(np.float32)) <= np.abs(x))
    assert dtypes.round_to(np.float32([1 + 2**-8]), "bfloat16")[0] == 1.0  # bf16 tie, half-even
    assert dtypes.round_to(np.float32([1 + 3 * 2**-8]), "bfloat16").dtype == ml_dtypes.bfloat16


def test_bf16_upcast_is_exact():
    bits = np.arange(0, 2**16, 7, dtype=np.uint16)
    vals = bits.view(ml_dtypes.bfloat16)
    f = dtypes.upcast(vals)
    finite = np.isfinite(f)
    assert np.array_equal(f[finite].astype(ml_dtypes.bfloat16).view(np.uint16), bits[finite])
