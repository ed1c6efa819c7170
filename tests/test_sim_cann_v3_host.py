"""sim-cann host model of aclnnQuantMatmulAllReduceV3: every rule fires, in the source's order."""

from __future__ import annotations

import re

import pytest

from conformance.protocol import TensorArg
from conformance.quant import nz_storage_shape
from conformance.sim.cann import v3_host
from conformance.sim.cann.model import LAUNCH, WORKSPACE
from conformance.sim.cann.v3_host import RULES, check

OP = "QuantMatmulAllReduceV3"
B, S, K, N = 1, 4, 32, 64
M = B * S
D = TensorArg.descriptor


def base(out="float16", *, pertoken=True, lowbit=True, deq=None):
    deq = deq or ("float32" if (out == "float16" and pertoken) else "bfloat16" if out == "bfloat16" else "int64")
    t = {
        "x1": D("int8", (B, S, K)), "x2": D("int8", (K, N)), "bias": D("int32", (N,)),
        "x3": D(out, (B, S, N)), "dequantScale": D(deq, (N,)),
        "pertokenScale": D("float32", (M,)) if pertoken else None,
        "commQuantScale1": D(out, (N,)) if lowbit else None, "commQuantScale2": D(out, (N,)) if lowbit else None,
        "output": D(out, (B, S, N)),
    }
    return t


def attrs(**kw):
    a = {"reduceOp": "sum", "commTurn": 0, "streamMode": 1}
    a.update(kw)
    return a


def nz(k=K, n=N, transposed=False, storage=None):
    shape = (k, n)
    strides = TensorArg.transposed_strides(shape) if transposed else TensorArg.contiguous_strides(shape)
    rows, cols = (n, k) if transposed else (k, n)
    return TensorArg("int8", shape, strides, "FRACTAL_NZ", storage or nz_storage_shape(rows, cols), None)


def run(t, a=None, ws=2):
    return check(OP, t, a or attrs(), ws)


def expect(v, rule, status=None, phase=WORKSPACE):
    r = {x.id: x for x in RULES}[rule]
    assert v.rule == rule, v
    assert v.status == (status or r.status) and v.phase == phase == r.phase and not v.launched


def test_rules_are_numbered_in_order_and_cited():
    assert [r.id for r in RULES] == [f"CANN-V3-H{i:02d}" for i in range(1, len(RULES) + 1)]
    for r in RULES:
        assert r.phase in (WORKSPACE, LAUNCH)
        assert r.status in (161001, 161002, 361001, 561000, 561002)
        assert re.search(r"\S+\.(cpp|h):\d+$", r.source), r.source
    assert set(v3_host.KERNEL_FACTS) >= {"store_then_x3", "lowbit_quantise", "lowbit_reduce", "dequant_vector"}


@pytest.mark.parametrize("out,pertoken,deq,lowbit", [
    ("float16", True, "float32", True), ("float16", False, "int64", False), ("float16", False, "uint64", True),
    ("bfloat16", False, "bfloat16", True), ("bfloat16", True, "bfloat16", False)])
def test_valid_rows_pass(out, pertoken, deq, lowbit):
    for ws in (1, 2, 4, 8):
        v = run(base(out, pertoken=pertoken, deq=deq, lowbit=lowbit), ws=ws)
        assert (v.status, v.launched, v.x2_read_contiguous) == (0, True, False), v


def test_optional_tensors_may_be_null_and_fp16_x3_is_accepted():
    t = base(pertoken=False, deq="uint64", lowbit=False)
    t["bias"] = t["x3"] = None
    assert run(t).status == 0
    assert run(base("float16")).status == 0  # fp16 x3 with fp16 output


def test_null_pointers_first_and_in_order():
    for name in ("x1", "x2", "dequantScale", "output"):
        t = base()
        t[name] = None
        t["x2"] = D("int8", (K + 1, N)) if name != "x2" else None  # a shape error too: null wins
        v = run(t)
        expect(v, "CANN-V3-H01")
        assert name in v.message


@pytest.mark.parametrize("name,change,rule", [
    ("x1", {"dtype": "int32"}, "CANN-V3-H02"), ("x2", {"dtype": "float16"}, "CANN-V3-H02"),
    ("dequantScale", {"dtype": "float16"}, "CANN-V3-H03"), ("output", {"dtype": "float32"}, "CANN-V3-H04"),
    ("bias", {"dtype": "float32"}, "CANN-V3-H05"), ("bias", {"dtype": "int64"}, "CANN-V3-H05"),
    ("x3", {"dtype": "bfloat16"}, "CANN-V3-H06"), ("dequantScale", {"dtype": "bfloat16"}, "CANN-V3-H07"),
    ("pertokenScale", {"dtype": "float16"}, "CANN-V3-H08"), ("dequantScale", {"dtype": "int64"}, "CANN-V3-H09")])
def test_dtype_rules(name, change, rule):
    t = base()
    t[name] = D(change["dtype"], t[name].shape)
    expect(run(t), rule)


def test_bf16_output_needs_bf16_dequant_and_comm_dtype_rules():
    t = base("bfloat16", pertoken=False)
    t["dequantScale"] = D("float32", (N,))
    expect(run(t), "CANN-V3-H07")
    for dt in ("float32", "bfloat16"):  # fp16 output: fp32 or other-float comm scales
        t = base()
        t["commQuantScale1"] = D(dt, (N,))
        t["commQuantScale2"] = D(dt, (N,))
        expect(run(t), "CANN-V3-H10")


def test_attribute_rules_and_dtype_before_attr():
    expect(run(base(), attrs(reduceOp="max")), "CANN-V3-H11")
    expect(run(base(), attrs(reduceOp="sum_")), "CANN-V3-H11")  # full string compare on the host
    for sm in (0, 2):
        expect(run(base(), attrs(streamMode=sm)), "CANN-V3-H12")
    t = base()
    t["bias"] = D("float32", (N,))
    expect(run(t, attrs(streamMode=0)), "CANN-V3-H05")


def test_attr_before_shape():
    t = base()
    t["x2"] = D("int8", (K + 1, N))
    expect(run(t, attrs(reduceOp="max")), "CANN-V3-H11")


@pytest.mark.parametrize("name,shape,rule", [
    ("x1", (K,), "CANN-V3-H13"), ("x1", (1, B, S, K), "CANN-V3-H13"), ("x2", (1, K, N), "CANN-V3-H14"),
    ("x2", (K + 1, N), "CANN-V3-H15"), ("output", (B, S, N + 1), "CANN-V3-H16"), ("output", (M, N), "CANN-V3-H16"),
    ("bias", (1, N), "CANN-V3-H17"), ("bias", (N + 1,), "CANN-V3-H17"), ("x3", (B, S, N + 1), "CANN-V3-H18"),
    ("dequantScale", (N + 1,), "CANN-V3-H19"), ("dequantScale", (2,), "CANN-V3-H19"),
    ("dequantScale", (1, 1, N), "CANN-V3-H19"), ("pertokenScale", (M + 1,), "CANN-V3-H20"),
    ("pertokenScale", (M, 1), "CANN-V3-H20"), ("commQuantScale1", (1, N), "CANN-V3-H22"),
    ("commQuantScale2", (N + 1,), "CANN-V3-H23")])
def test_host_shape_rules(name, shape, rule):
    t = base()
    t[name] = D(t[name].dtype, shape)
    expect(run(t), rule)


def test_comm_pairing_and_comm1_shape_read_from_comm2():
    for missing in ("commQuantScale1", "commQuantScale2"):
        t = base()
        t[missing] = None
        expect(run(t), "CANN-V3-H21")
    t = base()
    t["commQuantScale1"] = D("float16", (N + 1,))  # host reads only commQuantScale2's dims
    expect(run(t), "CANN-V3-H30")  # tiling counts elements
    t = base()
    t["commQuantScale1"] = D("float16", (N, 1))
    t["commQuantScale2"] = D("float16", (1, N))
    assert run(t).status == 0  # equal ranks, n elements each: accepted although the shapes differ


def test_x1_format_rejected_by_kernel_lookup():
    t = base()
    t["x1"] = D("int8", (B, S, K), format="FRACTAL_NZ")
    expect(run(t), "CANN-V3-H24")
    t = base()
    t["output"] = D("float16", (B, S, N), format="FRACTAL_NZ")
    expect(run(t), "CANN-V3-H24")


def test_nd_like_formats_are_looked_up_as_nd():
    # torch_npu tags a 3-D x1 and output NCL (op-plugin@517f2e7d op_plugin/utils/op_api_common.cpp:918-930); the
    # runtime stores NCL/NCHW/... as ND before the kernel lookup (hicann/opbase@aa3cd74
    # src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:19-20, :284-306): accepted. Found by the CANN twin.
    t = base()
    t["x1"] = D("int8", (B, S, K), format="NCL")
    t["output"] = D("float16", (B, S, N), format="NCL")
    assert run(t).status == 0
    t["x1"] = D("int8", (B, S, K), format="NC1HWC0")  # a private format is not ND-like: still no kernel
    expect(run(t), "CANN-V3-H24")


def test_empty_output_short_cut_before_tiling_checks():
    t = base()
    for nm, sh in (("x1", (0, S, K)), ("x3", (0, S, N)), ("output", (0, S, N)), ("pertokenScale", (0,))):
        t[nm] = D(t[nm].dtype, sh)
    v = run(t, attrs(commTurn=1), ws=3)  # bad world size and commTurn are tiling checks: skipped
    assert (v.status, v.launched, v.rule) == (0, False, "")
    t = base()
    for nm, sh in (("x2", (K, 0)), ("bias", (0,)), ("x3", (B, S, 0)), ("output", (B, S, 0)),
                   ("dequantScale", (0,)), ("commQuantScale1", (0,)), ("commQuantScale2", (0,))):
        t[nm] = D(t[nm].dtype, sh)
    assert (run(t).status, run(t).launched) == (0, False)
    t["x3"] = D("float16", (B, S, 1))  # host checks still run before the short-cut
    expect(run(t), "CANN-V3-H18")


def test_empty_output_still_fails_launch_on_noncontiguous_input():
    t = base()
    for nm, sh in (("x2", (K, 0)), ("bias", (0,)), ("x3", (B, S, 0)), ("output", (B, S, 0)),
                   ("dequantScale", (0,)), ("commQuantScale1", (0,)), ("commQuantScale2", (0,))):
        t[nm] = D(t[nm].dtype, sh)
    t["x1"] = D("int8", (B, S, K), strides=TensorArg.transposed_strides((B, S, K)))
    expect(run(t), "CANN-V3-H37", phase=LAUNCH)


def test_empty_k_is_a_tiling_error():
    t = base()
    t["x1"] = D("int8", (B, S, 0))
    t["x2"] = D("int8", (0, N))
    expect(run(t), "CANN-V3-H36")


def test_tiling_rules():
    expect(run(base(), ws=3), "CANN-V3-H26")
    expect(run(base(), ws=6), "CANN-V3-H26")
    expect(run(base(), attrs(commTurn=1)), "CANN-V3-H31")
    assert run(base(), attrs(commTurn=2**32)).status == 0  # read as 32 bits
    t = base(pertoken=False, deq="float32", lowbit=False)
    expect(run(t), "CANN-V3-H32")  # fp16 + FLOAT dequant without pertoken: host accepts, tiling rejects


def test_tiling_order_world_size_before_commturn():
    expect(run(base(), attrs(commTurn=1), ws=3), "CANN-V3-H26")


def _big(m=M, k=K, n=N, transposed=False):
    t = base()
    t["x1"] = D("int8", (m, k))
    t["x2"] = D("int8", (k, n), strides=TensorArg.transposed_strides((k, n)) if transposed else None)
    for nm in ("x3", "output"):
        t[nm] = D("float16", (m, n))
    for nm in ("bias", "dequantScale", "commQuantScale1", "commQuantScale2"):
        t[nm] = D(t[nm].dtype, (n,))
    t["pertokenScale"] = D("float32", (m,))
    return t


def test_bounds():
    assert run(_big(m=2**31 - 1)).status == 0
    expect(run(_big(m=2**31)), "CANN-V3-H33")
    assert run(_big(k=65535)).status == 0
    expect(run(_big(k=65536)), "CANN-V3-H34")
    expect(run(_big(n=65536)), "CANN-V3-H35")
    assert run(_big(n=65536, transposed=True)).status == 0  # x2's last dim is then k


def test_layouts():
    t = base()
    t["x1"] = D("int8", (B, S, K), strides=TensorArg.transposed_strides((B, S, K)))
    expect(run(t), "CANN-V3-H37", phase=LAUNCH)
    t = base()
    t["x1"] = D("int8", (B, S, K), strides=(S * 2 * K, 2 * K, 2))
    expect(run(t), "CANN-V3-H37", phase=LAUNCH)
    t = base()
    t["bias"] = D("int32", (N,), strides=(2,))
    expect(run(t), "CANN-V3-H37", phase=LAUNCH)
    t = base()
    t["x2"] = D("int8", (K, N), strides=(2 * N, 2))
    v = run(t)
    assert (v.status, v.launched, v.x2_read_contiguous) == (0, True, True)
    t["x2"] = D("int8", (K, N), strides=TensorArg.transposed_strides((K, N)))
    assert (run(t).status, run(t).x2_read_contiguous) == (0, False)


def test_nz_weight():
    for tr in (False, True):
        t = base()
        t["x2"] = nz(transposed=tr)
        assert run(t).status == 0
    t = base()  # 4-D NZ: the host shape checks stop after x1's rank
    t["x2"] = nz(k=K + 16)
    t["x3"] = D("float16", (B, S, N + 3))
    assert run(t).status == 0  # k mismatch and x3 shape are checked nowhere
    t["commQuantScale2"] = None
    expect(run(t), "CANN-V3-H30")  # pairing reaches tiling only
    t = base()
    t["x2"] = nz()
    t["x1"] = D("int8", (K,))
    expect(run(t), "CANN-V3-H13")
    t = base()
    t["x2"] = nz()
    for nm in ("output", "x3"):
        t[nm] = D("float16", (M * N,))
    expect(run(t), "CANN-V3-H25")
    t = base()
    t["x2"] = nz()
    t["bias"] = D("int32", (1, N))
    expect(run(t), "CANN-V3-H27")
    t["bias"] = D("int32", (N,))
    t["dequantScale"] = D("float32", (2, N))
    expect(run(t), "CANN-V3-H28")
    t["dequantScale"] = D("float32", (1, 1, N))
    assert run(t).status == 0  # <= 3-D with n elements passes tiling
    t["pertokenScale"] = D("float32", (M, 1))
    expect(run(t), "CANN-V3-H29")
    t = base()
    t["x2"] = nz()
    t["x3"] = D("float16", (0,))
    expect(run(t), "CANN-V3-H36")
    t = base()  # NZ format but 3-D storage: not the NZ early return; the 2-D view passes everything
    k1, n1 = -(-K // 16), -(-N // 32)
    t["x2"] = nz(storage=(n1 * k1, 16, 32))
    assert run(t).status == 0


def _with(t, **changes):
    t = dict(t)
    t.update(changes)
    return t


def _triggers():
    """One minimal trigger per rule (self-contained, so the check survives test distribution)."""
    b, f = base(), (lambda dt, sh, **kw: D(dt, sh, **kw))
    nz_t = _with(base(), x2=nz())
    empty_n = _with(base(), x2=f("int8", (K, 0)), bias=f("int32", (0,)), x3=f("float16", (B, S, 0)),
                    output=f("float16", (B, S, 0)), dequantScale=f("float32", (0,)),
                    commQuantScale1=f("float16", (0,)), commQuantScale2=f("float16", (0,)))
    return {
        "CANN-V3-H01": (_with(b, x1=None), attrs(), 2),
        "CANN-V3-H02": (_with(b, x1=f("int32", (B, S, K))), attrs(), 2),
        "CANN-V3-H03": (_with(b, dequantScale=f("float16", (N,))), attrs(), 2),
        "CANN-V3-H04": (_with(b, output=f("float32", (B, S, N))), attrs(), 2),
        "CANN-V3-H05": (_with(b, bias=f("float32", (N,))), attrs(), 2),
        "CANN-V3-H06": (_with(b, x3=f("bfloat16", (B, S, N))), attrs(), 2),
        "CANN-V3-H07": (_with(b, dequantScale=f("bfloat16", (N,))), attrs(), 2),
        "CANN-V3-H08": (_with(b, pertokenScale=f("float16", (M,))), attrs(), 2),
        "CANN-V3-H09": (_with(b, dequantScale=f("int64", (N,))), attrs(), 2),
        "CANN-V3-H10": (_with(b, commQuantScale1=f("bfloat16", (N,)), commQuantScale2=f("bfloat16", (N,))),
                        attrs(), 2),
        "CANN-V3-H11": (b, attrs(reduceOp="max"), 2),
        "CANN-V3-H12": (b, attrs(streamMode=0), 2),
        "CANN-V3-H13": (_with(b, x1=f("int8", (K,))), attrs(), 2),
        "CANN-V3-H14": (_with(b, x2=f("int8", (1, K, N))), attrs(), 2),
        "CANN-V3-H15": (_with(b, x2=f("int8", (K + 1, N))), attrs(), 2),
        "CANN-V3-H16": (_with(b, output=f("float16", (M, N))), attrs(), 2),
        "CANN-V3-H17": (_with(b, bias=f("int32", (1, N))), attrs(), 2),
        "CANN-V3-H18": (_with(b, x3=f("float16", (B, S, N + 1))), attrs(), 2),
        "CANN-V3-H19": (_with(b, dequantScale=f("float32", (2,))), attrs(), 2),
        "CANN-V3-H20": (_with(b, pertokenScale=f("float32", (M, 1))), attrs(), 2),
        "CANN-V3-H21": (_with(b, commQuantScale2=None), attrs(), 2),
        "CANN-V3-H22": (_with(b, commQuantScale1=f("float16", (1, N))), attrs(), 2),
        "CANN-V3-H23": (_with(b, commQuantScale2=f("float16", (N + 1,))), attrs(), 2),
        "CANN-V3-H24": (_with(b, x1=f("int8", (B, S, K), format="FRACTAL_NZ")), attrs(), 2),
        "CANN-V3-H25": (_with(nz_t, output=f("float16", (M * N,)), x3=None), attrs(), 2),
        "CANN-V3-H26": (b, attrs(commTurn=1), 3),
        "CANN-V3-H27": (_with(nz_t, bias=f("int32", (N + 1,))), attrs(), 2),
        "CANN-V3-H28": (_with(nz_t, dequantScale=f("float32", (2, N))), attrs(), 2),
        "CANN-V3-H29": (_with(nz_t, pertokenScale=f("float32", (M + 1,))), attrs(), 2),
        "CANN-V3-H30": (_with(b, commQuantScale1=f("float16", (N + 1,))), attrs(), 2),
        "CANN-V3-H31": (b, attrs(commTurn=1), 2),
        "CANN-V3-H32": (base(pertoken=False, deq="float32", lowbit=False), attrs(), 2),
        "CANN-V3-H33": (_big(m=2**31), attrs(), 2),
        "CANN-V3-H34": (_big(k=65536), attrs(), 2),
        "CANN-V3-H35": (_big(n=65536), attrs(), 2),
        "CANN-V3-H36": (_with(b, x1=f("int8", (B, S, 0)), x2=f("int8", (0, N))), attrs(), 2),
        "CANN-V3-H37": (_with(empty_n, x1=f("int8", (B, S, K), strides=TensorArg.transposed_strides((B, S, K)))),
                        attrs(), 2),
        "CANN-V3-H38": (_with(b, x2=f("int8", (K, N), strides=(2 * N, 2))), attrs(), 2),
    }


# the revision a trigger runs at: the baseline, but for the rules a later revision added
TRIGGER_REVISION = {"CANN-V3-H38": "9.0.0"}


def test_every_rule_has_a_trigger_that_fires_it():
    trig = _triggers()
    assert set(trig) == {r.id for r in RULES}
    for rule, (t, a, ws) in trig.items():
        v = check(OP, t, a, ws, TRIGGER_REVISION.get(rule, "c29bc10"))
        assert v.rule == rule, (rule, v)


# --- pinned by mutation testing (bench/mutation.py): inputs no catalogue case gives the host model ------------

def test_comm_turn_defaults_to_zero_when_absent():
    a = attrs()
    del a["commTurn"]
    assert run(base(), a).status == 0


def test_comm_scale_ranks_outside_one_or_two_fail_the_rank_rule():
    for shape in ((), (1, 1, N)):  # 0-D and 3-D (same rank for both scales): H22, not the shape rule after it
        t = base()
        t["commQuantScale1"], t["commQuantScale2"] = D("float16", shape), D("float16", shape)
        expect(run(t), "CANN-V3-H22")


def test_with_a_4d_nz_weight_the_tiling_bounds_the_scale_ranks():
    """The light shape checks stop at a 4-D NZ x2, so only tiling sees the scales' ranks: at most 3-D for
    dequantScale (H28), at most 2-D for the comm scales (H30), element counts aside."""
    t = base()
    t["x2"] = nz()
    assert run(t).status == 0
    deq4 = dict(t, dequantScale=D("float32", (1, 1, 1, N)))
    expect(run(deq4), "CANN-V3-H28")
    assert run(dict(t, dequantScale=D("float32", (1, 1, N)))).status == 0
    comm3 = dict(t, commQuantScale1=D("float16", (1, 1, N)), commQuantScale2=D("float16", (1, 1, N)))
    expect(run(comm3), "CANN-V3-H30")


def test_two_element_strided_inputs_fail_at_launch():
    """`numel > 1 and not contiguous`: with n = 2, a strided two-element dequantScale passes every shape rule and
    fails at launch; contiguous, it passes (a one-element tensor is contiguous under any stride)."""
    n = 2
    t = {"x1": D("int8", (B, S, K)), "x2": D("int8", (K, n)), "bias": D("int32", (n,)), "x3": None,
         "dequantScale": D("float32", (n,)), "pertokenScale": D("float32", (M,)),
         "commQuantScale1": None, "commQuantScale2": None, "output": D("float16", (B, S, n))}
    assert run(t).status == 0
    t["dequantScale"] = D("float32", (n,), strides=(2,))
    expect(run(t), "CANN-V3-H37", phase=LAUNCH)
    assert D("float32", (1,), strides=(2,)).is_contiguous


def test_either_comm_scale_over_two_dims_fails_tiling_with_a_4d_nz_weight():
    t = base()
    t["x2"] = nz()
    for c1, c2 in (((1, 1, N), (N,)), ((N,), (1, 1, N))):
        expect(run(dict(t, commQuantScale1=D("float16", c1), commQuantScale2=D("float16", c2))), "CANN-V3-H30")


def test_a_strided_two_element_weight_is_read_as_contiguous():
    """`x2.numel > 1 and not contiguous and not transposed`: a (1, 2) weight with a gap between its elements is
    accepted and read as if contiguous (the op_api's view check, as for any strided x2)."""
    n = 2
    t = {"x1": D("int8", (B, S, 1)), "x2": D("int8", (1, n), strides=(4, 2)), "bias": None, "x3": None,
         "dequantScale": D("float32", (n,)), "pertokenScale": D("float32", (M,)),
         "commQuantScale1": None, "commQuantScale2": None, "output": D("float16", (B, S, n))}
    v = run(t)
    assert (v.status, v.launched, v.x2_read_contiguous) == (0, True, True)
