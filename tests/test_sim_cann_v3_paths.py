"""sim-cann path model of aclnnQuantMatmulAllReduceV3 (conformance/sim/cann/v3_paths.py): worked examples computed
by hand from the source's formulas, on both platforms ("a2-24c": 24 cube / 48 vector cores, "a2-20c": 20 / 40; UB
196608 bytes on both), and every side of every V3 branch reached by at least one example.

Decisions per communication turn are pinned by replacing comm_tiling's plan with a fixed one (the turns are
comm_tiling's to decide and its own tests check them), so these examples test only v3_paths' arithmetic.
"""

from __future__ import annotations

import pytest

from conformance.casegen import catalogue
from conformance.casegen.model import TensorSpec
from conformance.protocol import TensorArg
from conformance.sim.cann import comm_tiling, v3_paths
from conformance.sim.cann.paths import PathQuery, check_decision, platform

OP = "QuantMatmulAllReduceV3"
P24, P20 = platform("a2-24c"), platform("a2-20c")


def spec(dtype, shape, layout="contiguous", format="ND"):
    return TensorSpec(dtype, tuple(shape), "x", layout, format)


def query(*, m=4, k=32, n=64, out="float16", pertoken=False, scale=None, bias=False, x3=False, lowbit=False,
          x2="contiguous", world=1, plat=P24, revision="c29bc10", x1_3d=False):
    deq = "float32" if (out == "float16" and pertoken) else ("bfloat16" if out == "bfloat16" else "int64")
    fmt = "FRACTAL_NZ" if x2.startswith("nz") else "ND"
    t = {
        "x1": spec("int8", (1, m, k) if x1_3d else (m, k)), "x2": spec("int8", (k, n), x2, fmt),
        "bias": spec("int32", (n,)) if bias else None, "x3": spec(out, (m, n)) if x3 else None,
        "dequantScale": spec(deq, scale or (n,)), "pertokenScale": spec("float32", (m,)) if pertoken else None,
        "commQuantScale1": spec(out, (n,)) if lowbit else None, "commQuantScale2": spec(out, (n,)) if lowbit else None,
        "output": spec(out, (m, n)),
    }
    return PathQuery(OP, t, {"reduceOp": "sum", "commTurn": 0, "streamMode": 1}, world, revision, plat)


@pytest.fixture
def one_turn(monkeypatch):
    """comm_tiling's plan replaced by one turn of all m rows (or the plan a test sets in `turns`)."""
    turns = {}

    def plan(q, *, m, k, n, **_):
        return turns.get("plan") or comm_tiling.CommPlan(tile_m=m, tile_count=1)
    monkeypatch.setattr(v3_paths.comm_tiling, "plan", plan)
    monkeypatch.setattr(v3_paths.comm_tiling, "decide", lambda q, *, m, k, n, **_: {})
    return turns


# (query arguments, expected {branch: side}); the arithmetic of each in its comment
EXAMPLES = [
    # kernel variants and flags (K matmul_all_reduce.cpp:119-187): read from dtypes and which tensors are given
    (dict(), {"V3-KERNEL-VARIANT": "fp16_fixpipe", "V3-BIAS": "no_bias", "V3-X3": "no_x3", "V3-LOWBIT": "off",
              "V3-X2-FORMAT": "nd", "V3-X2-TRANSPOSED": "not_transposed", "V3-DEQUANT-SCALE-MODE": "per_channel"}),
    (dict(pertoken=True, bias=True, x3=True, x2="transposed", scale=(1,)),
     {"V3-KERNEL-VARIANT": "fp16_pertoken", "V3-BIAS": "int32_bias", "V3-X3": "x3_after_store",
      "V3-X2-TRANSPOSED": "transposed", "V3-DEQUANT-SCALE-MODE": "per_tensor"}),
    (dict(out="bfloat16", x2="nz"), {"V3-KERNEL-VARIANT": "bf16", "V3-X2-FORMAT": "nz"}),
    (dict(out="bfloat16", pertoken=True, x3=True, lowbit=True, x2="nz_transposed"),
     {"V3-KERNEL-VARIANT": "bf16_pertoken", "V3-X3": "x3_before_quantise", "V3-LOWBIT": "on",
      "V3-X2-FORMAT": "nz", "V3-X2-TRANSPOSED": "transposed"}),
    # (1, 1) with n = 64: one element, not shape (1,) -> per-channel over 64 scales at c29bc10 (MT:548)
    (dict(scale=(1, 1), x2="nz"), {"V3-DEQUANT-SCALE-MODE": "per_channel_single_element"}),
    # base blocks with ASSUMED_BASE_BLOCK 128 x 256: m = 4 -> baseM min(16, 128) = 16, n = 64 -> baseN 64; 1 x 1
    # blocks <= 24 cores
    (dict(m=4, n=64), {"V3-MM-M-BLOCKS": "single_block", "V3-MM-N-BLOCKS": "single_block", "V3-MM-WAVES": "one_wave",
                       "V3-MM-SMALL-M-RETILE": "cache_tiling"}),
    # m = 256 = 2 x 128 and n = 512 = 2 x 256: whole last blocks; 2 x 2 = 4 blocks
    (dict(m=256, n=512), {"V3-MM-M-BLOCKS": "several_blocks_whole_last",
                          "V3-MM-N-BLOCKS": "several_blocks_whole_last", "V3-MM-WAVES": "one_wave"}),
    # m = 200 = 128 + 72, n = 300: baseN min(304, 256) = 256, 300 = 256 + 44: partial last blocks
    (dict(m=200, n=300), {"V3-MM-M-BLOCKS": "several_blocks_partial_last",
                          "V3-MM-N-BLOCKS": "several_blocks_partial_last"}),
    # m = 384 -> 3 blocks, n = 1792 -> 7 blocks: 21 blocks, one wave on 24 cores, more than 20 cores
    (dict(m=384, n=1792), {"V3-MM-WAVES": "one_wave"}),
    (dict(m=384, n=1792, plat=P20), {"V3-MM-WAVES": "several_waves"}),
    # small-m re-tiling (QBMM:606-669), 24 cores, bf16 + pertoken + NZ, no bias, k >= 4096, n >= 7168, m = 1:
    # baseM 16; baseN = min(32768 // 16 = 2048, 32768 // 64 = 512) // 32 * 32 = 512; 512 * 24 = 12288 >= 7168;
    # 7168 / 512 = 14 whole blocks, 14 <= 24 cores
    (dict(m=1, k=4096, n=7168, out="bfloat16", pertoken=True, x2="nz"),
     {"V3-MM-SMALL-M-RETILE": "small_m_retile", "V3-MM-N-BLOCKS": "several_blocks_whole_last",
      "V3-MM-WAVES": "one_wave"}),
    # the same on 20 cores: no re-tiling (24 or 16 only); assumed baseN 256: 28 blocks > 20 cores
    (dict(m=1, k=4096, n=7168, out="bfloat16", pertoken=True, x2="nz", plat=P20),
     {"V3-MM-SMALL-M-RETILE": "cache_tiling", "V3-MM-N-BLOCKS": "several_blocks_whole_last",
      "V3-MM-WAVES": "several_waves"}),
    # UB dequant, bf16 per-channel, baseN 256: a row costs (2 * (4 + 2) + 8 + 2 * 2) * 256 = 6144 bytes,
    # 196608 // 6144 = 32 rows; m = 32 (baseM 32): one pass; m = 33 (baseM 48): 33 rows > 32
    (dict(m=32, n=256, out="bfloat16"), {"V3-UB-DEQUANT-PASSES": "one_pass"}),
    (dict(m=33, n=256, out="bfloat16"), {"V3-UB-DEQUANT-PASSES": "several_passes"}),
    # fp16 + pertoken, FLOAT per-channel scale: (20 + 2 * 4 + 4 + 4) * 256 + 8 = 9224 bytes a row; m = 22 (baseM
    # 32): fixed 32 * 32 + 56 = 1080, (196608 - 1080) // 9224 = 21 < 22 rows
    (dict(m=22, n=256, pertoken=True), {"V3-UB-DEQUANT-PASSES": "several_passes"}),
    # x3, fp16 without pertoken on 1:2 cores = 48 vector cores: m * n = 16 < 48 -> every element on the last core
    (dict(m=1, n=16, x3=True), {"V3-X3-UB-CHUNKS": "last_core_only"}),
    # m * n = 256: 256 // 48 = 5 each, the last 256 - 5 * 47 = 21 <= 16384 (addX3UbCnt = 196608 // 12)
    (dict(m=4, n=64, x3=True), {"V3-X3-UB-CHUNKS": "one_chunk"}),
    # bf16 1:1 -> 24 vector cores, addX3UbCnt = 196608 // 20 = 9830 -> 9824; 1024 * 256 = 262144, 262144 // 24 =
    # 10922, the last 262144 - 10922 * 23 = 10938 > 9824
    (dict(m=1024, n=256, out="bfloat16", x3=True), {"V3-X3-UB-CHUNKS": "several_chunks"}),
    # low-bit, fp16, n = 64: aligned row 512, quantise UB (195584 - 1024) // 8 = 24320 -> 24064 (47 rows);
    # m = 4 on 48 vector cores: one row each, one row a copy; world 2 divides 4; reduce rows 4 / 2 = 2
    (dict(m=4, lowbit=True, world=2),
     {"V3-LOWBIT-PAD": "rows_divisible", "V3-LOWBIT-TURN-PAIRS": "single_turn",
      "V3-LOWBIT-QUANT-SPLIT": "one_row_per_core", "V3-LOWBIT-QUANT-LAYOUT": "one_row_per_copy",
      "V3-LOWBIT-REDUCE-SPLIT": "one_row_per_core", "V3-LOWBIT-REDUCE-LAYOUT": "one_row_per_copy",
      "V3-LOWBIT-DEQUANT-SPLIT": "one_row_per_core", "V3-LOWBIT-DEQUANT-LAYOUT": "one_row_per_copy"}),
    # m = 4 with world 8: padded to 8 rows
    (dict(m=4, lowbit=True, world=8), {"V3-LOWBIT-PAD": "rows_padded"}),
    # m = 100, world 2: ceil(100 / 48) = 3 rows on some core, min(47, 3) = 3 rows a copy; reduce 50 rows: 2 a core,
    # its UB (195584 - 4096) // 14 = 13677 -> 13312 (26 rows); n = 64 is not aligned: strides differ
    (dict(m=100, lowbit=True, world=2),
     {"V3-LOWBIT-QUANT-SPLIT": "several_rows_per_core", "V3-LOWBIT-QUANT-LAYOUT": "several_rows_unaligned_row",
      "V3-LOWBIT-REDUCE-SPLIT": "several_rows_per_core", "V3-LOWBIT-REDUCE-LAYOUT": "several_rows_unaligned_row",
      "V3-LOWBIT-DEQUANT-SPLIT": "several_rows_per_core", "V3-LOWBIT-DEQUANT-LAYOUT": "several_rows_unaligned_row"}),
    # n = 512: every stride 0 in both computations -> aligned
    (dict(m=100, n=512, lowbit=True, world=2),
     {"V3-LOWBIT-QUANT-LAYOUT": "several_rows_aligned_row", "V3-LOWBIT-REDUCE-LAYOUT": "several_rows_aligned_row",
      "V3-LOWBIT-DEQUANT-LAYOUT": "several_rows_aligned_row"}),
    # m = 45, world 1: one row a core on 48 vector cores, ceil(45 / 40) = 2 on 40
    (dict(m=45, lowbit=True), {"V3-LOWBIT-QUANT-SPLIT": "one_row_per_core"}),
    (dict(m=45, lowbit=True, plat=P20), {"V3-LOWBIT-QUANT-SPLIT": "several_rows_per_core"}),
    # fp16 n = 19457: aligned 19968, UB (195584 - 39936) // 8 = 19456 -> 0 rows: split rows and columns; reduce
    # (195584 - 19968 * 8) // 14 = 2561 -> 0 as well
    (dict(m=2, n=19457, lowbit=True),
     {"V3-LOWBIT-QUANT-SPLIT": "split_mn", "V3-LOWBIT-QUANT-LAYOUT": "one_row_per_copy",
      "V3-LOWBIT-REDUCE-SPLIT": "split_mn", "V3-LOWBIT-DEQUANT-SPLIT": "split_mn"}),
]


@pytest.mark.parametrize("args, expected", EXAMPLES, ids=[str(i) for i in range(len(EXAMPLES))])
def test_worked_examples(one_turn, args, expected):
    taken = v3_paths.decide(query(**args))
    assert {b: taken.get(b) for b in expected} == expected
    check_decision(v3_paths.BRANCHES, taken)


def test_every_side_of_every_v3_branch_has_an_example():
    reached = {(b, s) for _, expected in EXAMPLES for b, s in expected.items()}
    reached |= {("V3-LOWBIT-TURN-PAIRS", s) for s in ("paired_turns", "paired_turns_plus_one")}  # test below
    missing = [(b.id, s.name) for b in v3_paths.BRANCHES_V3 + v3_paths.BRANCHES_LOWBIT_STAGES for s in b.sides
               if (b.id, s.name) not in reached]
    assert missing == []


@pytest.mark.parametrize("count, side", [(2, "paired_turns"), (4, "paired_turns"), (3, "paired_turns_plus_one")])
def test_lowbit_tasks_issued_in_pairs(one_turn, count, side):
    # fp16_comm_int8.h:193-228: turns // 2 paired steps, an odd last turn alone
    one_turn["plan"] = comm_tiling.CommPlan(tile_m=16, tile_count=count - 1, tail_m=8, tail_count=1)
    assert v3_paths.decide(query(m=16 * (count - 1) + 8, lowbit=True))["V3-LOWBIT-TURN-PAIRS"] == side


def test_turns_differ_report_the_less_common_side(one_turn):
    # a tile turn of 128 rows (one block) and a tail of 200 (128 + 72: partial last block)
    one_turn["plan"] = comm_tiling.CommPlan(tile_m=128, tile_count=1, tail_m=200, tail_count=1)
    assert v3_paths.decide(query(m=328))["V3-MM-M-BLOCKS"] == "several_blocks_partial_last"


def test_single_element_scale_rejected_later_has_no_mode(one_turn):
    # 9.1.0-beta.2, 9.1.0, master reject (1, 1) with n > 1 (CANN-V3-H28): no per-channel read of one element
    assert "V3-DEQUANT-SCALE-MODE" not in v3_paths.decide(query(scale=(1, 1), x2="nz", revision="master"))
    assert v3_paths.decide(query(scale=(1, 1), x2="nz", revision="9.0.0"))["V3-DEQUANT-SCALE-MODE"] == \
        "per_channel_single_element"
    # (1, 1) with n = 1 is a per-channel scale of n elements
    assert v3_paths.decide(query(n=1, scale=(1, 1), revision="master"))["V3-DEQUANT-SCALE-MODE"] == "per_channel"


def test_small_m_retile_base_blocks():
    call = v3_paths.read_call(query(m=1, k=4096, n=7168, out="bfloat16", pertoken=True, x2="nz"))
    # m = 1: baseM 16, baseN = min(32768 // 16 = 2048, 32768 // 64 = 512) // 32 * 32 = 512
    assert v3_paths.small_m_retile(call, 1, P24) == (16, 512)
    assert v3_paths.small_m_retile(call, 1, P20) is None  # 20 cube cores: not 24 or 16
    # m = 200 > 96: baseM 208; baseN 128: 56 blocks, 3 a core, 19 cores, 7 * (26624 // 336 = 79) + 190 - 300 = 443;
    # 192 * 208 = 39936 > 32768 ends the search
    assert v3_paths.small_m_retile(call, 200, P24) == (208, 128)
    # m = 128: 128 -> 338, 192 -> 7 * 76 + 190 - 200 = 522, 256 -> 7 * 85 + 140 - 200 = 535: baseN 256
    assert v3_paths.small_m_retile(call, 128, P24) == (128, 256)
    # m = 96: baseN = min(32768 // 96 = 341, 512) // 32 * 32 = 320, 320 * 24 = 7680 >= 7168
    assert v3_paths.small_m_retile(call, 96, P24) == (96, 320)
    assert v3_paths.small_m_retile(call, 257, P24) is None  # m > 256
    wide = v3_paths.read_call(query(m=1, k=4096, n=8192, out="bfloat16", pertoken=True, x2="nz"))
    assert v3_paths.small_m_retile(wide, 96, P24) is None  # 8192 > 7680
    with_bias = v3_paths.read_call(query(m=1, k=4096, n=7168, out="bfloat16", pertoken=True, x2="nz", bias=True))
    assert v3_paths.small_m_retile(with_bias, 1, P24) is None


def test_ub_rows_of_one_dequant_pass():
    # bf16 per-tensor: 20 * 256 = 5120 bytes a row, 196608 // 5120 = 38
    call = v3_paths.read_call(query(m=39, n=256, out="bfloat16", scale=(1,)))
    assert v3_paths.ub_calc_m(call, 39, 48, 256, P24) == 38
    assert v3_paths.ub_calc_m(call, 20, 32, 256, P24) == 20  # capped by m


def test_x3_cores_and_chunk_size_per_platform():
    bf16 = v3_paths.read_call(query(m=1, n=20, out="bfloat16", x3=True))
    # 20 elements: < 24 vector cores (1:1 on 24 cube cores); on 20 cores 1 each
    assert v3_paths.x3_side(bf16, 1, P24) == "last_core_only"
    assert v3_paths.x3_side(bf16, 1, P20) == "one_chunk"
    assert v3_paths.add_x3_ub_count(bf16, P24) == 9824
    fp16 = v3_paths.read_call(query(x3=True))
    assert v3_paths.add_x3_ub_count(fp16, P24) == 16384
    assert v3_paths.vector_cores_in_use(fp16, P20) == 40
    lowbit_bf16 = v3_paths.read_call(query(out="bfloat16", lowbit=True))
    assert v3_paths.vector_cores_in_use(lowbit_bf16, P24) == 48  # the comm-int8 kernels run 1:2


@pytest.mark.parametrize("stage, n, split", [
    ("quant", 19456, "split_m"),  # aligned 19456: (195584 - 38912) // 8 = 19584 -> 19456, one row fits
    ("quant", 19457, "split_mn"),
    ("reduce", 8704, "split_m"),  # (195584 - 69632) // 14 = 8996 -> 8704
    ("reduce", 8705, "split_mn"),  # aligned 9216: (195584 - 73728) // 14 = 8704 -> 0
])
def test_lowbit_split_thresholds(stage, n, split):
    call = v3_paths.read_call(query(m=2, n=n, lowbit=True))
    assert (v3_paths.stage_plan(stage, call, 2, P24).split == "split_mn") == (split == "split_mn")


def test_bf16_quantise_split_threshold():
    # bf16: (195584 - 2 * 11264) // 16 = 10816 < 11264 for n = 10753; n = 10752: 10880 -> 10752
    for n, split in ((10752, False), (10753, True)):
        call = v3_paths.read_call(query(m=2, n=n, out="bfloat16", lowbit=True))
        assert (v3_paths.stage_plan("quant", call, 2, P24).split == "split_mn") is split


@pytest.mark.parametrize("n, aligned", [(512, True), (500, True), (497, True), (496, False), (490, False),
                                        (320, False), (1024, True)])
def test_row_pitch_agrees_only_for_aligned_rows(n, aligned):
    # quantise, 2-byte rows: old (2A - ceil512(2n)) // 512, new (2A - ceil32(2n)) // 32 with A = ceil512(n);
    # n = 497: A 512, ceil32(994) = 1024 -> both 0; n = 496: ceil32(992) = 992 -> new 1
    same = v3_paths.row_strides("quant", n, old=True) == v3_paths.row_strides("quant", n, old=False)
    assert same is aligned


def test_row_strides_worked():
    # n = 64: A = 512; old quant (1024 - 512) // 512 = 1, int8 0; new (1024 - 128) // 32 = 28, (512 - 64) // 32 = 14
    assert v3_paths.row_strides("quant", 64, old=True) == (1, 0)
    assert v3_paths.row_strides("quant", 64, old=False) == (28, 14)
    assert v3_paths.row_strides("reduce", 64, old=False) == (14, 14)
    assert v3_paths.row_strides("dequant", 64, old=True) == (0, 1)


def test_nothing_computed_decides_nothing(one_turn):
    assert v3_paths.decide(query(m=0)) == {}
    assert v3_paths.decide(query(out="float32")) == {}
    assert v3_paths.decide(query(world=3)) == {}


def test_protocol_tensors_and_3d_x1(one_turn):
    q = query(m=4, x1_3d=True)
    x2 = TensorArg.descriptor("int8", (32, 64), strides=TensorArg.transposed_strides((32, 64)))
    q = PathQuery(OP, {**q.tensors, "x2": x2}, q.attrs, 1, "c29bc10", P24)
    assert v3_paths.read_call(q).m == 4
    assert v3_paths.decide(q)["V3-X2-TRANSPOSED"] == "transposed"


def test_locations_follow_the_revisions():
    by_id = {b.id: b for b in v3_paths.BRANCHES}
    # behaviour.md §5: PostProcEachTurn's x3 test at arch32/...:107 (9.0.0), arch22/...:105 (master)
    assert by_id["V3-X3"].source == "mc2/matmul_all_reduce/op_kernel/matmul_all_reduce_base.h:100"
    assert by_id["V3-X3"].source_at("9.0.0") == "mc2/matmul_all_reduce/op_kernel/arch32/matmul_all_reduce_base.h:107"
    assert by_id["V3-X3"].source_at("master") == \
        "mc2/matmul_all_reduce/op_kernel/arch22/matmul_all_reduce_base.h:105"
    # behaviour.md §3: per-tensor decided at matmul_all_reduce_tiling_base.cpp:589 on master
    assert by_id["V3-DEQUANT-SCALE-MODE"].source_at("master") == \
        "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:589"
    # the kernel entry moved to arch22/ only from 9.1.0-beta.3 on
    assert v3_paths.path_at("mc2/matmul_all_reduce/op_kernel/matmul_all_reduce.cpp", "9.1.0-beta.2") == \
        "mc2/matmul_all_reduce/op_kernel/matmul_all_reduce.cpp"
    assert by_id["V3-MM-WAVES"].source_at("8.5.0") == by_id["V3-MM-WAVES"].source.replace(":1027", ":1028")


def test_branch_declarations():
    ids = [b.id for b in v3_paths.BRANCHES]
    assert len(ids) == len(set(ids))
    for b in v3_paths.BRANCHES_V3 + v3_paths.BRANCHES_LOWBIT_STAGES:
        assert b.id.startswith("V3-") and b.operators == ("v3",)
        assert b.published or b.bound
    assert set(comm_tiling.BRANCHES) <= set(v3_paths.BRANCHES)


def test_comm_decisions_included_and_catalogue_placed_fast():
    cases = [c for c in catalogue() if c.op == OP and not c.rejects]
    assert cases
    for plat in (P24, P20):
        for c in cases:
            q = PathQuery(OP, dict(c.tensors), dict(c.attrs), c.world_size, "master", plat)
            taken = v3_paths.decide(q)
            check_decision(v3_paths.BRANCHES, taken)
            call = v3_paths.read_call(q)
            if call is not None:
                comm = comm_tiling.decide(q, m=call.m, k=call.k, n=call.n)
                assert {b: taken[b] for b in comm} == comm
