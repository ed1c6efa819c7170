"""Tests of the published host path model of the MatmulAllReduceAddRmsNorm pair (conformance/sim/cann/marn_host.py)."""

from __future__ import annotations

import math
import re

import pytest

from conformance.protocol import TensorArg
from conformance.sim.cann import marn_host as mh
from conformance.sim.cann.model import LAUNCH, WORKSPACE

OP, IOP = mh.OP, mh.INPLACE_OP
D = TensorArg.descriptor
ATTRS = {"epsilon": 1e-6, "reduceOp": "sum", "commTurn": 0, "streamMode": 1}


def case(b=2, s=4, k=32, n=64, dt="float16", x1_2d=False, **over):
    x1 = D(dt, (b * s, k) if x1_2d else (b, s, k))
    t = {"x1": x1, "x2": D(dt, (k, n)), "bias": None, "residual": D(dt, (b, s, n)), "gamma": D(dt, (n,)),
         "y": D(dt, (b, s, n)), "normOut": D(dt, (b, s, n))}
    t.update(over)
    return t


def run(tensors=None, op=OP, world=2, **attrs):
    a = dict(ATTRS)
    a.update(attrs)
    return mh.check(op, tensors if tensors is not None else case(), a, world)


def rid(n):
    return f"CANN-MARN-H{n:02d}"


def test_rules_are_ordered_and_cited():
    assert [r.id for r in mh.RULES] == [rid(i) for i in range(1, len(mh.RULES) + 1)]
    for r in mh.RULES:
        assert r.phase in (WORKSPACE, LAUNCH)
        assert r.status in (0, 161001, 161002, 361001, 561000, 561002)
        assert re.search(r"\.(cpp|h|json):\d+", r.source), r.source
    assert [r.id for r in mh.RULES if r.phase == LAUNCH] == [rid(38)]


@pytest.mark.parametrize("op", [OP, IOP])
def test_valid_cases_pass(op):
    for dt in ("float16", "bfloat16"):
        for x1_2d in (False, True):
            t = case(dt=dt, x1_2d=x1_2d, bias=D(dt, (64,)))
            v = run(t, op=op)
            assert (v.status, v.launched, v.x2_read_contiguous) == (0, True, False), v


def verdict(tensors=None, **kw):
    v = run(tensors, **kw)
    return v.status, v.phase, v.rule


@pytest.mark.parametrize("name", ["x1", "x2", "residual", "gamma"])
def test_h01_null_required_input(name):
    assert verdict(case(**{name: None})) == (161001, WORKSPACE, rid(1))


def test_null_before_shape():
    assert verdict(case(x1=None, x2=D("float16", (7, 64)))) == (161001, WORKSPACE, rid(1))


def test_h02_to_h04_light_shape_check():
    assert verdict(case(residual=D("float16", ()))) == (161002, WORKSPACE, rid(2))
    assert verdict(case(x2=D("float16", (31, 64)))) == (161002, WORKSPACE, rid(3))
    assert verdict(case(residual=D("float16", (2, 4, 63)))) == (161002, WORKSPACE, rid(4))


def test_h05_k_zero_and_h06_empty_shortcut():
    assert verdict(case(k=0)) == (161002, WORKSPACE, rid(5))
    for t in (case(b=0), case(n=0), case(gamma=D("float16", (0,)))):
        v = run(t)
        assert (v.status, v.launched) == (0, False)


def test_empty_shortcut_precedes_attributes_world_dtype_and_output_nulls():
    t = case(b=0, y=None, normOut=None)
    for kw in ({"epsilon": 2.0}, {"streamMode": 0}, {"reduceOp": "max"}, {"commTurn": 3}, {"world": 3}):
        v = run(t, **kw)
        assert (v.status, v.launched) == (0, False), kw
    v = run(case(b=0, dt="float32"))
    assert (v.status, v.launched) == (0, False)


def test_h07_stream_mode_and_h08_null_outputs():
    assert verdict(streamMode=0) == (161002, WORKSPACE, rid(7))
    assert verdict(case(y=None)) == (161001, WORKSPACE, rid(8))
    assert verdict(case(normOut=None)) == (161001, WORKSPACE, rid(8))
    # streamMode is checked before the generated output null checks
    assert verdict(case(y=None), streamMode=0) == (161002, WORKSPACE, rid(7))
    # the inplace entry has no y: residual is passed as y
    t = case()
    del t["y"]
    assert run(t, op=IOP).status == 0


def test_h09_dtype_format_lookup():
    assert verdict(case(dt="float32")) == (161002, WORKSPACE, rid(9))
    mixed = case(x2=D("bfloat16", (32, 64)))
    assert verdict(mixed) == (161002, WORKSPACE, rid(9))
    assert verdict(case(gamma=D("bfloat16", (64,)))) == (161002, WORKSPACE, rid(9))
    assert verdict(case(x2=D("float16", (32, 64), format="FRACTAL_NZ"))) == (161002, WORKSPACE, rid(9))
    assert verdict(case(normOut=D("float16", (2, 4, 64), format="FRACTAL_NZ"))) == (161002, WORKSPACE, rid(9))


def test_quant_columns_pass_lookup_then_fail_tiling():
    # x1 int8 / x2 int8 / fp16 rest is a kernel column; without a dequant scale the float template rejects it
    t = case(x1=D("int8", (2, 4, 32)), x2=D("int8", (32, 64)))
    assert verdict(t) == (561002, WORKSPACE, rid(18))
    t = case(x2=D("int8", (32, 64)))
    assert verdict(t) == (561002, WORKSPACE, rid(19))


def test_tiling_rules_shape_and_world():
    assert verdict(case(residual=D("float16", (8, 2, 4, 64)))) == (561002, WORKSPACE, rid(10))
    for w in (3, 6, 16):
        assert verdict(world=w) == (561002, WORKSPACE, rid(11))
    for w in (1, 2, 4, 8):
        assert run(world=w).status == 0
    assert verdict(case(x1=D("float16", (1, 2, 4, 32)))) == (561002, WORKSPACE, rid(12))
    assert verdict(case(bias=D("float16", (1, 64)))) == (561002, WORKSPACE, rid(13))
    assert verdict(case(bias=D("float16", (63,)))) == (561002, WORKSPACE, rid(14))
    assert verdict(case(x2=D("float16", (32, 2, 64)), residual=D("float16", (2, 4, 64)))) \
        == (561002, WORKSPACE, rid(17))
    assert verdict(case(bias=D("bfloat16", (64,)))) == (561002, WORKSPACE, rid(20))


def test_reduce_op_first_three_characters():
    for ok in ("sum", "summ", "sum_anything", None):
        assert run(reduceOp=ok).status == 0, ok
    for bad in ("max", "su", "SUM", ""):
        assert verdict(reduceOp=bad) == (561002, WORKSPACE, rid(15)), bad


def test_comm_turn_low_32_bits():
    for ok in (0, 2**32, -(2**32), 5 * 2**32):
        assert run(commTurn=ok).status == 0, ok
    for bad in (1, 2**32 + 1, -1, 2**31):
        assert verdict(commTurn=bad) == (561002, WORKSPACE, rid(16)), bad


def test_int32_bounds():
    big = 2**31
    assert verdict(case(x1=D("float16", (big, 32)), residual=D("float16", (1, big, 64)),
                        y=D("float16", (1, big, 64)), normOut=D("float16", (1, big, 64)))) \
        == (561002, WORKSPACE, rid(22))
    # b*s over the bound with b and s each in range
    assert verdict(case(b=2**16, s=2**15)) == (561002, WORKSPACE, rid(22))
    assert verdict(case(k=big)) == (561002, WORKSPACE, rid(23))
    assert verdict(case(n=big)) == (561002, WORKSPACE, rid(24))
    edge = 2**31 - 1
    assert run(case(k=edge)).status == 0


def test_arn_dtype_and_shape_rules():
    assert verdict(case(bias=None, x1=D("bfloat16", (2, 4, 32)), x2=D("bfloat16", (32, 64)))) \
        == (161002, WORKSPACE, rid(9))  # lookup first
    assert verdict(case(residual=D("float16", (8, 64)))) == (561002, WORKSPACE, rid(28))
    assert verdict(case(gamma=D("float16", (1, 64)))) == (561002, WORKSPACE, rid(29))
    assert verdict(case(normOut=D("float16", (8, 64)))) == (561002, WORKSPACE, rid(30))
    assert verdict(case(y=D("float16", (8, 64)))) == (561002, WORKSPACE, rid(31))
    assert verdict(case(gamma=D("float16", (32,)))) == (561002, WORKSPACE, rid(32))
    assert verdict(case(normOut=D("float16", (4, 2, 64)))) == (561002, WORKSPACE, rid(33))
    assert verdict(case(y=D("float16", (4, 2, 64)))) == (561002, WORKSPACE, rid(34))


def test_epsilon_checked_as_float():
    for ok in (1e-6, 0.5, float("nan"), 1e-40, 0.99999):
        assert run(epsilon=ok).status == 0, ok
    for bad in (1.5, 0.0, -1e-6, 1e-50, 0.9999999999, 1.0, float("inf"), 1e40):
        assert verdict(epsilon=bad) == (561002, WORKSPACE, rid(35)), bad


def test_bs_product_only():
    assert verdict(case(x1=D("float16", (9, 32)))) == (561002, WORKSPACE, rid(36))
    # 3-D x1 (2, 6, k) vs residual (3, 4, n): only the products are compared
    t = case(b=3, s=4, x1=D("float16", (2, 6, 32)))
    assert run(t).status == 0


def test_order_inside_tiling():
    # residual dims (H10) before rank size (H11) before reduceOp (H15) before epsilon (H35)
    assert verdict(case(residual=D("float16", (1, 2, 4, 64))), world=3) == (561002, WORKSPACE, rid(10))
    assert verdict(world=3, reduceOp="max", epsilon=2.0) == (561002, WORKSPACE, rid(11))
    assert verdict(reduceOp="max", epsilon=2.0) == (561002, WORKSPACE, rid(15))


def test_layout_noncontiguous_inputs_fail_at_launch():
    strided = D("float16", (2, 4, 32), strides=(256, 64, 2))
    for name, t in (("x1", strided), ("residual", D("float16", (2, 4, 64), strides=(512, 128, 2))),
                    ("gamma", D("float16", (64,), strides=(2,))), ("bias", D("float16", (64,), strides=(2,)))):
        v = run(case(**{name: t}))
        assert (v.status, v.phase, v.rule, v.launched) == (561000, LAUNCH, rid(38), True), name
    # transposed x1 is rejected the same way
    v = run(case(x1=D("float16", (8, 32), strides=TensorArg.transposed_strides((8, 32))), x1_2d=True))
    assert v.rule == rid(38)
    # a tiling error comes first (in GetWorkspaceSize)
    assert verdict(case(x1=strided), epsilon=0.0) == (561002, WORKSPACE, rid(35))


def test_x2_transposed_and_strided_accepted():
    tr = D("float16", (32, 64), strides=TensorArg.transposed_strides((32, 64)))
    v = run(case(x2=tr))
    assert (v.status, v.x2_read_contiguous) == (0, False)
    strided = D("float16", (32, 64), strides=(128, 1))
    v = run(case(x2=strided))
    assert (v.status, v.launched, v.x2_read_contiguous) == (0, True, True)


def test_unreachable_rules_are_marked():
    for n in (21, 25, 26, 27, 37):
        assert "unreachable" in mh.RULES[n - 1].summary
    # and they are: a gamma, normOut or y of another dtype than residual is the H09 lookup's
    for name in ("gamma", "normOut", "y"):
        other = D("bfloat16", (64,) if name == "gamma" else (2, 4, 64))
        assert verdict(case(**{name: other})) == (161002, WORKSPACE, rid(9)), name


# --- mode selection ---

@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_mode_selection(dt):
    cores = 48
    assert mh.addrmsnorm_mode(1000, 12289, dt, vector_cores=cores) == "SplitD"
    assert mh.addrmsnorm_mode(1, 12289, dt, vector_cores=cores) == "SplitD"  # SplitD first
    assert mh.addrmsnorm_mode(48, 4096, dt, vector_cores=cores) == "SingleN"
    assert mh.addrmsnorm_mode(49, 4096, dt, vector_cores=cores) != "SingleN"
    assert mh.addrmsnorm_mode(49, 2000, dt, vector_cores=cores) == "MergeN"
    assert mh.addrmsnorm_mode(49, 1985, dt, vector_cores=cores) == "MergeN"  # aligns to 2000
    assert mh.addrmsnorm_mode(49, 2001, dt, vector_cores=cores) != "MergeN"  # aligns to 2016
    assert mh.addrmsnorm_mode(49, 12288, dt, vector_cores=cores) == "Normal"
    assert mh.addrmsnorm_mode(100, 4100, dt, vector_cores=cores) == "Normal"  # not 16-aligned


def test_mode_multi_n_is_float16_only():
    assert mh.addrmsnorm_mode(100, 4096, "float16", vector_cores=40) == "MultiN"
    assert mh.addrmsnorm_mode(100, 4096, "bfloat16", vector_cores=40) == "Normal"
    # MultiN falls back to Normal when no row fits the UB
    limit = (mh.A2_UB_BYTES - 1344) // 18 // 16 * 16
    assert mh.addrmsnorm_mode(100, limit, "float16", vector_cores=40) == "MultiN"
    assert mh.addrmsnorm_mode(100, limit + 16, "float16", vector_cores=40) == "Normal"


def test_mode_float32_factor():
    assert mh.addrmsnorm_mode(1000, 10241, "float32", vector_cores=48) == "SplitD"
    assert mh.addrmsnorm_mode(1000, 10240, "float32", vector_cores=48) == "Normal"


def test_rms_sources():
    assert set(mh.RMS_SOURCE) == {"SplitD", "SingleN", "MergeN", "Normal"}
    assert mh.RMS_SOURCE["SplitD"] == ("fp32_sum", "rounded_y")
    assert mh.RMS_SOURCE["Normal"] == ("fp32_sum", "fp32_sum")
    assert mh.RMS_SOURCE["SingleN"] == mh.RMS_SOURCE["MergeN"] == ("rounded_y", "rounded_y")
    assert all(v == ("rounded_y", "rounded_y") for v in mh.RMS_SOURCE_FP16.values())
    assert math.isfinite(mh.A2_UB_BYTES)


# --- pinned by mutation testing (bench/mutation.py): inputs no catalogue case gives the host model ------------

def test_comm_turn_defaults_to_zero_when_absent():
    a = dict(ATTRS)
    del a["commTurn"]
    assert mh.check(OP, case(), a, 2).status == 0


def test_low32_is_the_signed_low_word():
    assert [mh._low32(v) for v in (2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**32 + 5, -1)] == \
        [2**31 - 1, -2**31, -1, 0, 5, -1]


def test_mode_arguments_are_checked():
    # empty shapes are legal: 0 rows give a block factor of 0 (not SingleN), 0 columns align to 0 (<= 2000)
    assert mh.addrmsnorm_mode(0, 0, "float16", vector_cores=1) == "MergeN"
    for rows, n, cores in ((-1, 64, 48), (8, -1, 48), (8, 64, 0)):
        with pytest.raises(ValueError):
            mh.addrmsnorm_mode(rows, n, "float16", vector_cores=cores)


def test_multi_n_boundary_is_the_platform_ub():
    """(196608 - 1344) / 18 = 10848 columns exactly: the last float16 width whose row fits the A2 UB next to
    its buffers (row_factor 1); a UB one byte smaller would not fit it. Literal, so a changed constant fails."""
    assert mh.A2_UB_BYTES == 196608
    assert mh.addrmsnorm_mode(100, 10848, "float16", vector_cores=40) == "MultiN"
    assert mh.addrmsnorm_mode(100, 10864, "float16", vector_cores=40) == "Normal"
