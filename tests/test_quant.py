"""Quantisation helpers against published values and by round trip."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conformance import quant
from conformance.reference.v3 import int_matmul, x2_matrix
from conformance.protocol import TensorArg


def test_encoder_matches_the_published_packing():
    assert int(quant.trans_quant_param(np.float32(1.0))) == 0x40003F800000
    assert int(quant.trans_quant_param(np.float32(0.1))) == 0x40003DCCC000
    assert float(quant.applied_scale(quant.trans_quant_param(np.float32(0.1)))) == 0.0999755859375


def test_round_mode_1_rounds_the_dropped_bits_to_nearest_even_with_carry():
    bits = np.uint32(0x3F800000 | 0x1FFF)  # all 13 dropped bits set: rounds up
    scale = bits.view(np.float32)
    assert int(quant.trans_quant_param(scale, round_mode=1)) & 0xFFFFFFFF == 0x3F802000
    assert int(quant.trans_quant_param(scale, round_mode=0)) & 0xFFFFFFFF == 0x3F800000
    tie_even = np.uint32(0x3F800000 | 0x1000).view(np.float32)  # kept mantissa even: stays
    assert int(quant.trans_quant_param(tie_even, round_mode=1)) & 0xFFFFFFFF == 0x3F800000
    tie_odd = np.uint32(0x3F802000 | 0x1000).view(np.float32)  # kept mantissa odd: rounds up
    assert int(quant.trans_quant_param(tie_odd, round_mode=1)) & 0xFFFFFFFF == 0x3F804000
    carry = np.uint32(0x3FFFFFFF).view(np.float32)  # mantissa all ones: carries into the exponent
    assert int(quant.trans_quant_param(carry, round_mode=1)) & 0xFFFFFFFF == 0x40000000
    with pytest.raises(ValueError, match="round_mode"):
        quant.trans_quant_param(np.float32(1), round_mode=2)


def test_offset_is_rounded_clamped_and_stored_in_bits_37_to_45():
    w = quant.trans_quant_param(np.float32([1, 1, 1]), offset=np.float32([3.4, -300, 400]))
    off = ((w >> np.uint64(37)) & np.uint64(0x1FF)).astype(np.int64)
    signed = np.where(off >= 256, off - 512, off)
    assert signed.tolist() == [3, -256, 255]
    assert np.all(quant.applied_scale(w) == 1.0)


def test_unmasked_words_still_apply_only_fp19():
    s = np.float32(1 + 2**-11)  # below FP19 resolution
    assert float(quant.applied_scale(quant.unmasked_quant_param(s))) == 1.0
    assert int(quant.unmasked_quant_param(s)) & 0x1FFF != 0  # the word itself keeps the low bits


@given(arrays(np.float32, 16, elements=st.floats(2.0**-100, 2.0**100, width=32)))
def test_applied_scale_is_within_2_to_minus_10_relative(scales):
    applied = quant.applied_scale(quant.trans_quant_param(scales))
    assert np.all(np.abs(applied - scales) <= scales * 2.0**-10)
    assert np.all(applied <= scales)  # round mode 0 truncates


def test_to_int8_rounds_half_even_and_saturates():
    assert quant.to_int8([0.5, 1.5, 2.5, -0.5, -1.5, 126.5, 127.4, 200, -129, -300]).tolist() == \
        [0, 2, 2, 0, -2, 126, 127, 127, -128, -128]


def test_weight_size_matches_the_documented_example():
    assert quant.weight_size_v2(510, 270) == 147456


@given(st.integers(2, 70), st.integers(2, 90), st.booleans())
def test_nz_round_trips_in_both_orientations(k, n, transposed):
    """Size-1 axes are excluded: their strides cannot tell the orientation (see conformance/quant.py)."""
    rng = np.random.default_rng(k * 1000 + n)
    nd = rng.integers(-128, 128, (k, n), dtype=np.int64).astype(np.int8)
    stored = nd.T.copy() if transposed else nd
    nz = quant.nd_to_nz(stored)
    assert nz.shape == quant.nz_storage_shape(*stored.shape)
    assert np.array_equal(quant.nz_to_nd(nz, *stored.shape), stored)
    # the element formula of device-facts 5, and zero padding
    a, b, c, d = (rng.integers(0, s) for s in nz.shape)
    r, col = b * 16 + c, a * 32 + d
    want = stored[r, col] if r < stored.shape[0] and col < stored.shape[1] else 0
    assert nz[a, b, c, d] == want
    strides = (1, k) if transposed else (n, 1)
    arg = TensorArg("int8", (k, n), strides, "FRACTAL_NZ", nz.shape, nz)
    assert np.array_equal(x2_matrix(arg), nd)


def test_int_matmul_is_exact_on_both_paths():
    rng = np.random.default_rng(0)
    for k in (64, 65535):  # float32 path (k * 128^2 < 2^24) and float64 path
        x1 = rng.integers(-128, 128, (3, k)).astype(np.int8)
        x2 = rng.integers(-128, 128, (k, 5)).astype(np.int8)
        assert np.array_equal(int_matmul(x1, x2), np.matmul(x1, x2, dtype=np.int64).astype(np.float64))
    extreme = np.full((1, 65535), -128, np.int8)
    assert int_matmul(extreme, np.full((65535, 1), -128, np.int8))[0, 0] == 128 * 128 * 65535
