"""MatmulAllReduceAddRmsNorm's path model (conformance/sim/cann/marn_paths.py): worked examples computed by hand
from the published source's formulas (hicann/ops-transformer c29bc10; the arithmetic is in the comments), both
A2 platforms (a2-24c: 24 cube / 48 vector cores; a2-20c: 20 / 40), every side of every branch reached, and
check_decision over a grid.

The communication plan is stubbed (comm_tiling.plan) so that each example's rows can be placed in the tile turn
or in the tail turn: the model must give the tail turn's branches the same sides for the same rows."""

from __future__ import annotations

import itertools

import pytest

from conformance.casegen.model import TensorSpec
from conformance.sim.cann import comm_tiling, revisions
from conformance.sim.cann import marn_paths as mp
from conformance.sim.cann.marn_host import INPLACE_OP, OP
from conformance.sim.cann.paths import PathQuery, check_decision, platform

P24, P20 = platform("a2-24c"), platform("a2-20c")


def query(m, k, n, *, dtype="float16", transposed=False, bias=False, op=OP, plat=P24):
    spec = lambda shape, layout="contiguous": TensorSpec(dtype, shape, "normal", layout)  # noqa: E731
    tensors = {"x1": spec((m, k)), "x2": spec((k, n), "transposed" if transposed else "contiguous"),
               "bias": spec((n,)) if bias else None, "residual": spec((1, m, n)), "gamma": spec((n,)),
               "y": spec((1, m, n)), "normOut": spec((1, m, n))}
    return PathQuery(op, tensors, {"epsilon": 1e-6, "streamMode": 1}, 8, "c29bc10", plat)


@pytest.fixture
def turns(monkeypatch):
    """Set the communication plan: turns(tile_m, tail_m=0) (the placeholder's one turn by default)."""
    def set_plan(tile_m, tail_m=0):
        cp = comm_tiling.CommPlan(tile_m, 1, tail_m, 1 if tail_m else 0)
        monkeypatch.setattr(comm_tiling, "plan", lambda q, *, m, k, n: cp)
    return set_plan


def decide_at(turns, position, m, k, n, **kw):
    """decide() with the example's m rows as the tile turn or as the tail turn (after a 256-row tile turn)."""
    turns(m) if position == "TILE" else turns(256, m)
    return mp.decide(query(m, k, n, **kw))


def sides_at(taken, position):
    suffix = "-" + position
    return {b[: -len(suffix)]: s for b, s in taken.items() if b.endswith(suffix)}


# --- worked examples: (name, platform, (m, k, n), options, {branch stem: side}) ------------------------------
EXAMPLES = [
    # A. 128 x 256 x 384 fp16, plain x2. ND->NZ: k=256 -> 512 B and n=384 -> 768 B, both multiples of 256: none.
    # m=128 < 256: small shape. NO_TRANS CalcBase over CALC_M_BASIC, 24 cores:
    #   (128,256): nCnt=ceil(384/256)=2, baseM=align16(128//(24//2=12)=10)=16, mCnt=8, 16 blocks, load=0+272=272
    #   (128,128): nCnt=3, baseM=align16(128//8)=16, 24 blocks, load=(16+128)*1=144   <- least
    #   (64,512):  nCnt=1, baseM=align16(128//24=5)=16, 8 blocks, load=528
    # -> 16x128; 16*128 = 2048 != 32768: no rebalance; 8*3 = 24 blocks = 24 cores: whole waves; 128%16 = 384%128 = 0.
    # AddRmsNorm: 128 rows > 48 cores, blockFactor=ceil(128/48)=3; align16(384)=384 <= 2000: MergeN;
    #   rowFactor = 196608 // (384*18+260=7172) = 27 >= 3: one pass; 128 % 3 = 2: short last core.
    ("A", P24, (128, 256, 384), {}, {
        "MARN-MM-ND2NZ": "none", "MARN-MM-BANK": "formula", "MARN-MM-ORIENT": "m128_n256",
        "MARN-MM-SHAPE": "small_shape", "MARN-MM-INCRE": "formula", "MARN-MM-BALANCE": "none",
        "MARN-MM-L2": "whole", "MARN-MM-BIAS-BASEN": "unclamped", "MARN-MM-WAVES": "whole_waves",
        "MARN-MM-EDGE-M": "whole", "MARN-MM-EDGE-N": "whole",
        "MARN-ARN-MODE": "MergeN", "MARN-ARN-PASSES": "one_pass", "MARN-ARN-CORES": "short_last_core"}),
    # A on 20 cores: (128,256): cur=20//2=10, baseM=align16(12)=16, 16 blocks, load 272 (16 % 20 != 0);
    #   (128,128): cur=20//3=6, baseM=align16(21)=32, 4*3=12 blocks, load=0+160=160 <- least; (64,512): 528.
    # -> 32x128: 12 blocks < 20 cores: under one wave. AddRmsNorm: blockFactor=ceil(128/40)=4, 128 % 4 = 0: even.
    ("A20", P20, (128, 256, 384), {}, {
        "MARN-MM-SHAPE": "small_shape", "MARN-MM-BALANCE": "none", "MARN-MM-WAVES": "under_one_wave",
        "MARN-MM-EDGE-M": "whole", "MARN-MM-EDGE-N": "whole", "MARN-ARN-MODE": "MergeN",
        "MARN-ARN-CORES": "even"}),
    # B. 4096 x 256 x 512 fp16, transposed x2. (24//2)*256 = 3072: m large, n not -> 256x128.
    # aligned blocks (4096/256=16)*(512/128=4) = 64 >= 24 and m, n >= 256: basic. 24 cores, 256*128 = 32768,
    # baseK 64: 16*4 = 64 blocks < 4*24 = 96 -> rebalance: align(64, 24) = 72, mCore = 72//4 = 18,
    # baseM = align16(ceil(4096/18) = 228) = 240; blocks ceil(4096/240)=18 * 4 = 72 = 3 waves exactly;
    # 4096 % 240 = 16: partial last row block; 512 % 128 = 0.
    # AddRmsNorm: blockFactor=ceil(4096/48)=86, MergeN (512 <= 2000), rowFactor=196608//(512*18+260=9476)=20 < 86:
    #   several passes; 4096 % 86 = 54: short last core.
    ("B", P24, (4096, 256, 512), {"transposed": True}, {
        "MARN-MM-ND2NZ": "none", "MARN-MM-ORIENT": "m256_n128", "MARN-MM-SHAPE": "basic",
        "MARN-MM-INCRE": "formula", "MARN-MM-BALANCE": "rebalance_rows", "MARN-MM-L2": "whole",
        "MARN-MM-WAVES": "whole_waves", "MARN-MM-EDGE-M": "partial", "MARN-MM-EDGE-N": "whole",
        "MARN-ARN-MODE": "MergeN", "MARN-ARN-PASSES": "several_passes", "MARN-ARN-CORES": "short_last_core"}),
    # B on 20 cores: (20//2)*256 = 2560 <= 4096: 256x128 again; 64 blocks >= 20: basic; no balancing on 20 cores;
    # 64 % 20 = 4: partial last wave; 4096 % 256 = 0. blockFactor=ceil(4096/40)=103, 4096 % 103 = 79: short.
    ("B20", P20, (4096, 256, 512), {"transposed": True}, {
        "MARN-MM-ORIENT": "m256_n128", "MARN-MM-SHAPE": "basic", "MARN-MM-BALANCE": "none",
        "MARN-MM-WAVES": "partial_last_wave", "MARN-MM-EDGE-M": "whole", "MARN-ARN-CORES": "short_last_core"}),
    # C. 672 x 256 x 4096 fp16, plain. Blocks (768/128=6)*(4096/256=16) = 96: basic; 96 is not < 96, and
    # 128 < 672 <= 672: shrink baseM while ceil(672/(baseM-16)) stays 6: 112 (ceil(672/112)=6), 96 gives 7 -> 112.
    # 6*16 = 96 blocks = 4 waves; 672 % 112 = 0. AddRmsNorm: fp16, 4096 a multiple of 16 > 2000: MultiN,
    # rowFactor = (196608-1024-256-4096*2) // (4096*16+64) = 187136 // 65600 = 2; blockFactor=ceil(672/48)=14 > 2.
    ("C", P24, (672, 256, 4096), {}, {
        "MARN-MM-SHAPE": "basic", "MARN-MM-BALANCE": "shrink_rows", "MARN-MM-WAVES": "whole_waves",
        "MARN-MM-EDGE-M": "whole", "MARN-ARN-MODE": "MultiN", "MARN-ARN-MULTIN-ROWS": "several_rows",
        "MARN-ARN-PASSES": "several_passes", "MARN-ARN-CORES": "even"}),
    # C on 20 cores: no balancing, baseM 128: 672 % 128 = 32: partial; 96 % 20 = 16: partial last wave;
    # blockFactor = ceil(672/40) = 17, 672 % 17 = 9: short last core.
    ("C20", P20, (672, 256, 4096), {}, {
        "MARN-MM-BALANCE": "none", "MARN-MM-WAVES": "partial_last_wave", "MARN-MM-EDGE-M": "partial",
        "MARN-ARN-MODE": "MultiN", "MARN-ARN-CORES": "short_last_core"}),
    # D. 64 x 256 x 12288 fp16, plain, with bias. Small shape (m < 256), 24 cores:
    #   (128,256): nCnt=48, cur=max(24//48,1)=1, baseM=64, 48 blocks, load=(64+256)*2=640
    #   (128,128): nCnt=96, 96 blocks, load=(64+128)*4=768; (64,512): nCnt=24, 24 blocks, load=(64+512)*1=576 least
    # -> 64x512, baseK = 64 B / 2 = 32 (no balancing: baseK != 64). The bias caps baseN at 256:
    # 1 * 12288/256 = 48 blocks = 2 waves. AddRmsNorm: 12288 <= 12288, rows 64 > 48, fp16 multiple of 16:
    # MultiN's rowFactor = (196608-1280-24576) // (12288*16+64) = 170752 // 196672 = 0 -> Normal fallback;
    # blockFactor = ceil(64/48) = 2 <= 64: one pass; 64 % 2 = 0: even.
    ("D", P24, (64, 256, 12288), {"bias": True}, {
        "MARN-MM-SHAPE": "small_shape", "MARN-MM-BALANCE": "none", "MARN-MM-BIAS-BASEN": "clamped_256",
        "MARN-MM-WAVES": "whole_waves", "MARN-MM-EDGE-M": "whole", "MARN-MM-EDGE-N": "whole",
        "MARN-ARN-MODE": "Normal_fallback", "MARN-ARN-PASSES": "one_pass", "MARN-ARN-CORES": "even"}),
    # D on 20 cores: (128,256): 48 blocks, load=320*2+320 (48 % 20 = 8) = 960; (128,128): 96 blocks,
    # load=192*4+192 = 960 (not less); (64,512): 24 blocks, load=576+576 = 1152 -> 64x256: nothing to cap;
    # 48 % 20 = 8: partial last wave.
    ("D20", P20, (64, 256, 12288), {"bias": True}, {
        "MARN-MM-BIAS-BASEN": "unclamped", "MARN-MM-WAVES": "partial_last_wave", "MARN-ARN-MODE": "Normal_fallback"}),
    # E. 16 x 256 x 384 fp16, transposed, no bias: m <= 128, no ND->NZ (k = 512 B aligned): the cache tiling.
    # AddRmsNorm: 16 rows <= 48 cores: SingleN, one row per core.
    ("E", P24, (16, 256, 384), {"transposed": True}, {
        "MARN-MM-ND2NZ": "none", "MARN-MM-ORIENT": "m128_n256", "MARN-MM-INCRE": "cache_tiling",
        "MARN-ARN-MODE": "SingleN", "MARN-ARN-CORES": "even"}),
    # F. 128 x 100 x 384: k = 200 B (not a multiple of 256, not an on-the-fly size): x1 converted.
    # CalcBase as A -> 16x128; k unaligned, n aligned: baseN=256, baseK=64, baseM=CalBaseSize(ceil(384/256)=2,
    # 24, 128, 128) = align16(128//12) = 16 -> 8*2 = 16 blocks < 24; 384 % 256 = 128: partial last column block.
    ("F", P24, (128, 100, 384), {}, {
        "MARN-MM-ND2NZ": "a", "MARN-MM-SHAPE": "small_shape", "MARN-MM-WAVES": "under_one_wave",
        "MARN-MM-EDGE-M": "whole", "MARN-MM-EDGE-N": "partial"}),
    # G. 128 x 256 x 100: n = 200 B: x2 converted. CalcBase -> 16x128 (n=100: every basic has nCnt 1, (128,128)
    # loads least); n unaligned: CalBaseMBaseN(16, 128): mCore=1 not < nCore=1 -> baseM=align16(128//24)=16;
    # baseN=align16(min(100,128))=112 -> 8 blocks < 24; 100 % 112 != 0: partial.
    # AddRmsNorm: align16(100)=112 <= 2000: MergeN, rowFactor = 196608 // (112*18+260) = 86.
    ("G", P24, (128, 256, 100), {}, {
        "MARN-MM-ND2NZ": "b", "MARN-MM-WAVES": "under_one_wave", "MARN-MM-EDGE-M": "whole",
        "MARN-MM-EDGE-N": "partial", "MARN-ARN-MODE": "MergeN", "MARN-ARN-PASSES": "one_pass"}),
    # H. 128 x 100 x 100: both converted: BalanceBaseBlockTiling, m >= 128: mCore=1, nCore=24,
    # baseN=min(align16(ceil(100/24)=5)=16, 256)=16 -> 128x16: 1*7 = 7 blocks; 100 % 16 = 4: partial.
    ("H", P24, (128, 100, 100), {}, {
        "MARN-MM-ND2NZ": "ab", "MARN-MM-WAVES": "under_one_wave", "MARN-MM-EDGE-M": "whole",
        "MARN-MM-EDGE-N": "partial"}),
    # I. 4096 x 4096 x 8192 fp16, plain: (4096*4096 + 4096*8192 + 4096*8192) * 2 B = 167772160 B > 100 MiB.
    # 128x256 basic, 32*32 = 1024 blocks (no balancing: >= 96 blocks and m > 672). CalcTile with n outer
    # (baseN 256 >= baseM 128), 6 conflicts: outer uses 24..17 keep n whole (8192); inner uses 10, 9 give
    # m splits of align128(ceil(4096/3)) = 1408 (fits: 8192*4096 + 4096*1408 + 8192*1408 = 50855936 elements
    # <= 52428800; tail 1280 rows = 10 blocks), then uses 8, 7 give 1024 (tail 8 blocks, same conflict
    # ceil(24/8) = 3 <= 3: taken); 896 (conflict 6) and 512 (conflict 6) do not replace it; smaller n splits
    # raise the outer conflict above 1 and never replace. -> L2 tiles of 1024 rows: 4 tiles of 8*32 = 256 blocks,
    # 256 % 24 = 16: partial last wave. AddRmsNorm: MultiN, rowFactor = (196608-1280-16384) // 131136 = 1.
    ("I", P24, (4096, 4096, 8192), {}, {
        "MARN-MM-ND2NZ": "none", "MARN-MM-BANK": "formula", "MARN-MM-SHAPE": "basic",
        "MARN-MM-BALANCE": "none", "MARN-MM-L2": "tiled", "MARN-MM-WAVES": "partial_last_wave",
        "MARN-ARN-MODE": "MultiN", "MARN-ARN-MULTIN-ROWS": "one_row", "MARN-ARN-PASSES": "several_passes"}),
    # N. 8192 x 8192 x 256 fp16, plain: (8192*8192 + 2 * 8192*256) * 2 B = 142606336 B > 100 MiB. Basic 128x256
    # (64*1 blocks); 64 < 96: rebalance gives baseM = align16(ceil(8192/72)) = 128 again. CalcTile, n outer: every
    # candidate keeps n = 256 in one split of ceil(256/256) = 1 block, and 1 * 6 conflicts < 24 cores marks the
    # tail small: no split is taken -> one L2 tile; 64 % 24 = 16: partial last wave.
    # AddRmsNorm: MergeN, rowFactor = 196608 // (256*18+260) = 40 < blockFactor ceil(8192/48) = 171.
    ("N", P24, (8192, 8192, 256), {}, {
        "MARN-MM-SHAPE": "basic", "MARN-MM-BALANCE": "rebalance_rows", "MARN-MM-L2": "searched_whole",
        "MARN-MM-WAVES": "partial_last_wave", "MARN-MM-EDGE-M": "whole", "MARN-ARN-MODE": "MergeN",
        "MARN-ARN-PASSES": "several_passes", "MARN-ARN-CORES": "short_last_core"}),
    # J. the bank: (1024, 3584, 8192, x2 transposed, no bias, all 16-aligned) is a 24-core entry with tilingEnable
    # 0; the 20-core banks do not hold it.
    ("J", P24, (1024, 3584, 8192), {"transposed": True}, {"MARN-MM-BANK": "bank_base", "MARN-MM-ND2NZ": "none"}),
    ("J20", P20, (1024, 3584, 8192), {"transposed": True}, {"MARN-MM-BANK": "formula"}),
    # K. m = 232 aligns to 240 with its flag false: the (240, 8192, 28672, transposed) entry of both core counts,
    # tilingEnable 2 (single-core split-K).
    ("K", P24, (232, 8192, 28672), {"transposed": True}, {"MARN-MM-BANK": "bank_split_k"}),
    ("K20", P20, (232, 8192, 28672), {"transposed": True}, {"MARN-MM-BANK": "bank_split_k"}),
    # L. 4096 x 256 x 4096 transposed: both 4096 >= 3072 large; by rows 256: ceil(4096/256)*4096 +
    # ceil(4096/128)*4096 = 196608, by rows 128: the same -> not less: 128x256 (blocks 32*16 = 512 >= 96: no
    # balancing; 512 % 24 = 8: partial last wave).
    ("L", P24, (4096, 256, 4096), {"transposed": True}, {
        "MARN-MM-ORIENT": "m128_n256", "MARN-MM-SHAPE": "basic", "MARN-MM-BALANCE": "none",
        "MARN-MM-WAVES": "partial_last_wave"}),
    # M. 300 x 256 x 288 transposed: neither large (< 3072), m 300 > n 288: 256x128 before the small-shape rules.
    ("M", P24, (300, 256, 288), {"transposed": True}, {"MARN-MM-ORIENT": "m256_n128"}),
]

ARN_EXAMPLES = [
    # (rows, n, dtype, platform, expected)
    # n > 12288: SplitD. 16384: chunks = ceil(16384/12096) = 2, width = ceil(16384/32)*16 = 8192: even.
    (4, 16384, "bfloat16", P24, {"MARN-ARN-MODE": "SplitD", "MARN-ARN-SPLITD-CHUNKS": "even",
                                 "MARN-ARN-PASSES": "one_pass", "MARN-ARN-CORES": "even"}),
    # 12289: chunks 2, width = ceil(12289/32) = 385 -> 6160; 12289 % 6160 = 6129: a narrower last chunk.
    (4, 12289, "float16", P20, {"MARN-ARN-MODE": "SplitD", "MARN-ARN-SPLITD-CHUNKS": "short_last_chunk"}),
    # bf16, n 4096 > 2000: Normal (MultiN is fp16 only); blockFactor = ceil(100/48) = 3 <= 64; 100 % 3 = 1.
    (100, 4096, "bfloat16", P24, {"MARN-ARN-MODE": "Normal", "MARN-ARN-PASSES": "one_pass",
                                  "MARN-ARN-CORES": "short_last_core"}),
    # 48 * 65 = 3120 rows: blockFactor 65 > 64 rows per Normal pass.
    (3120, 4096, "bfloat16", P24, {"MARN-ARN-MODE": "Normal", "MARN-ARN-PASSES": "several_passes",
                                   "MARN-ARN-CORES": "even"}),
    # fp16 4100: not a multiple of 16: Normal, not MultiN, not the fallback.
    (100, 4100, "float16", P24, {"MARN-ARN-MODE": "Normal"}),
    # 10848 (a multiple of 16): rowFactor = (196608-1280-21696) // (10848*16+64) = 173632 // 173632 = 1: MultiN;
    # 10864: (195328-21728) // 173888 = 0: fallback.
    (100, 10848, "float16", P20, {"MARN-ARN-MODE": "MultiN", "MARN-ARN-MULTIN-ROWS": "one_row"}),
    (100, 10864, "float16", P20, {"MARN-ARN-MODE": "Normal_fallback"}),
    # 40 rows on 40 vector cores: SingleN; 41 rows: blockFactor 2, MergeN for n 64.
    (40, 64, "float16", P20, {"MARN-ARN-MODE": "SingleN"}),
    (41, 64, "float16", P20, {"MARN-ARN-MODE": "MergeN", "MARN-ARN-CORES": "short_last_core"}),
]


@pytest.mark.parametrize("position", mp.TURNS)
@pytest.mark.parametrize("name,plat,mkn,opts,expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_worked_examples(turns, position, name, plat, mkn, opts, expected):
    got = sides_at(decide_at(turns, position, *mkn, plat=plat, **opts), position)
    assert {stem: got.get(stem) for stem in expected} == expected


@pytest.mark.parametrize("rows,n,dtype,plat,expected", ARN_EXAMPLES)
def test_addrmsnorm_examples(rows, n, dtype, plat, expected):
    got = mp.arn_turn(rows, n, dtype, platform=plat)
    assert {stem: got.get(stem) for stem in expected} == expected


def test_bank_and_cache_tiling_end_the_base_block_model(turns):
    turns(1024)
    got = mp.decide(query(1024, 3584, 8192, transposed=True))
    assert got["MARN-MM-BANK-TILE"] == "bank_base" and "MARN-MM-ORIENT-TILE" not in got
    assert got["MARN-MM-KERNEL"] == "aligned"  # no operand converted: the aligned template
    turns(232)
    got = mp.decide(query(232, 8192, 28672, transposed=True))
    assert "MARN-MM-KERNEL" not in got  # the split-K key names no template of this kernel at c29bc10
    turns(16)
    got = mp.decide(query(16, 256, 384, transposed=True))
    assert got["MARN-MM-INCRE-TILE"] == "cache_tiling" and "MARN-MM-WAVES-TILE" not in got


def test_kernel_follows_the_last_turn(turns):
    # plain x2, k = 8192 >= 6656, n = 16384 (a multiple of 16384): for m > 4096 rows x2 is converted (the L2
    # conflict rule GetNd2nzA), for 1024 rows not. Tile 8192 rows, tail 1024: the tail's aligned key decides.
    turns(8192, 1024)
    got = mp.decide(query(9216, 8192, 16384))
    assert (got["MARN-MM-ND2NZ-TILE"], got["MARN-MM-ND2NZ-TAIL"]) == ("b", "none")
    assert got["MARN-MM-KERNEL"] == "aligned_over_tile_nd2nz"
    # transposed x2 with k = 16384 and n >= 7168: converted for 4096..4480 rows on 24 cube cores (GetNd2nzB).
    turns(8192, 4096)
    got = mp.decide(query(12288, 16384, 7168, transposed=True))
    assert (got["MARN-MM-ND2NZ-TILE"], got["MARN-MM-ND2NZ-TAIL"]) == ("none", "b")
    assert got["MARN-MM-KERNEL"] == "unaligned_over_tile_without"
    got = mp.decide(query(12288, 16384, 7168, transposed=True, plat=P20))  # needs 24 cube cores
    assert got["MARN-MM-KERNEL"] == "aligned"
    turns(128)
    assert mp.decide(query(128, 100, 384))["MARN-MM-KERNEL"] == "unaligned"


def test_tail_mode_and_rms_source(turns):
    # bf16, n 4096: 4096 rows -> Normal (fp32 sum); 16 rows <= 48 cores -> SingleN (rounded y): two sources.
    turns(4096, 16)
    got = mp.decide(query(4112, 256, 4096, dtype="bfloat16"))
    assert (got["MARN-ARN-MODE-TILE"], got["MARN-ARN-MODE-TAIL"]) == ("Normal", "SingleN")
    assert (got["MARN-ARN-TAIL-MODE"], got["MARN-ARN-RMS-SOURCE"]) == ("other_mode", "per_turn_sources")
    # 100 tail rows: Normal as well.
    turns(4096, 100)
    got = mp.decide(query(4196, 256, 4096, dtype="bfloat16"))
    assert (got["MARN-ARN-TAIL-MODE"], got["MARN-ARN-RMS-SOURCE"]) == ("same_mode", "one_source")
    # n 512: MergeN tile, SingleN tail: other modes, both read the rounded y -> one source.
    turns(4096, 16)
    got = mp.decide(query(4112, 256, 512, dtype="bfloat16"))
    assert (got["MARN-ARN-TAIL-MODE"], got["MARN-ARN-RMS-SOURCE"]) == ("other_mode", "one_source")
    # float16 always reads the rounded y.
    got = mp.decide(query(4112, 256, 4096))
    assert got["MARN-ARN-RMS-SOURCE"] == "one_source"


def test_operator_flags_and_bias(turns):
    turns(128)
    got = mp.decide(query(128, 256, 384, op=INPLACE_OP, bias=True, dtype="bfloat16", transposed=True))
    assert (got["MARN-CTX"], got["MARN-MM-BIAS"], got["MARN-MM-X2-LAYOUT"]) == (
        "inplace", "bf16_bias_to_fp32", "transposed")
    got = mp.decide(query(128, 256, 384, bias=True))
    assert (got["MARN-CTX"], got["MARN-MM-BIAS"], got["MARN-MM-X2-LAYOUT"]) == ("out_of_place", "fp16_bias", "plain")
    assert mp.decide(query(128, 256, 384))["MARN-MM-BIAS"] == "none"


def test_no_tail_branches_without_a_tail_and_none_for_rejected_calls(turns):
    turns(128)
    got = mp.decide(query(128, 256, 384))
    assert not any(b.endswith("-TAIL") for b in got) and "MARN-ARN-TAIL-MODE" not in got
    assert mp.decide(query(0, 256, 384)) == {}  # empty tensor: the op_api's short-cut, no tiling
    assert mp.decide(query(128, 256, 384, dtype="float32")) == {}  # no kernel


def test_protocol_tensor_x2_transposed_from_strides(turns):
    # an argument without a casegen layout: the op_api's own stride test (a (256, 384) view of a (384, 256) buffer)
    turns(16)
    q = query(16, 256, 384)
    strided = type("Arg", (), {"shape": (256, 384), "dtype": "float16", "format": "ND", "strides": (1, 256)})
    tensors = dict(q.tensors, x2=strided())
    got = mp.decide(PathQuery(q.op, tensors, q.attrs, q.world_size, q.revision, q.platform))
    assert got["MARN-MM-X2-LAYOUT"] == "transposed" and got["MARN-MM-INCRE-TILE"] == "cache_tiling"


def test_every_side_reached_by_an_example(turns):
    reached = {}
    for position in mp.TURNS:
        for _, plat, mkn, opts, _ in EXAMPLES:
            for b, s in decide_at(turns, position, *mkn, plat=plat, **opts).items():
                reached.setdefault(b, set()).add(s)
    for rows, n, dtype, plat, _ in ARN_EXAMPLES:
        for stem, s in mp.arn_turn(rows, n, dtype, platform=plat).items():
            for position in mp.TURNS:
                reached.setdefault(f"{stem}-{position}", set()).add(s)
    for setup in ((8192, 1024, (9216, 8192, 16384), {}), (8192, 4096, (12288, 16384, 7168), {"transposed": True}),
                  (4096, 16, (4112, 256, 4096), {"dtype": "bfloat16"}),
                  (4096, 100, (4196, 256, 4096), {"dtype": "bfloat16"})):
        turns(setup[0], setup[1])
        for op in (OP, INPLACE_OP):
            for b, s in mp.decide(query(*setup[2], op=op, bias=True, **setup[3])).items():
                reached.setdefault(b, set()).add(s)
            for b, s in mp.decide(query(*setup[2], op=op, **setup[3])).items():
                reached.setdefault(b, set()).add(s)
    missing = [(b.id, s.name) for b in mp.MARN_BRANCHES for s in b.sides if s.name not in reached.get(b.id, ())]
    assert missing == []


GRID = list(itertools.product((1, 16, 48, 49, 100, 128, 129, 300, 672, 1000, 4096, 8193),
                              (16, 100, 256, 1000, 4096),
                              (1, 32, 100, 384, 2000, 4096, 12289),
                              ("float16", "bfloat16"), (False, True), (False, True)))


@pytest.mark.parametrize("plat", (P24, P20), ids=lambda p: p.name)
def test_check_decision_over_a_grid(turns, plat):
    for m, k, n, dtype, transposed, bias in GRID:
        for tail in (0, max(m // 3, 1)):
            turns(m, tail)
            got = mp.decide(query(m + tail, k, n, dtype=dtype, transposed=transposed, bias=bias, plat=plat))
            check_decision(mp.BRANCHES, got)
            assert ("MARN-ARN-MODE-TAIL" in got) == bool(tail)


def test_platform_independent_branches_agree_across_platforms(turns):
    free = {b.id for b in mp.MARN_BRANCHES if not b.platform_dependent}
    for m, k, n, dtype, transposed, bias in GRID[::3]:
        turns(m)
        a, b = (mp.decide(query(m, k, n, dtype=dtype, transposed=transposed, bias=bias, plat=p)) for p in (P24, P20))
        assert {x: a[x] for x in free if x in a} == {x: b[x] for x in free if x in b}


def test_branch_declarations():
    ids = [b.id for b in mp.BRANCHES]
    assert len(ids) == len(set(ids))
    assert all(b.id.startswith("MARN-") for b in mp.MARN_BRANCHES)
    for b in mp.MARN_BRANCHES:
        assert ":" in b.source and b.operators == ("marn", "marn_inplace")
        assert b.published or b.bound
        assert {name for name, _ in b.moved} <= set(revisions.names()) - {"c29bc10"}
        assert b.source_at("master").split(":")[0].startswith("mc2/")
    assert all(b in mp.BRANCHES for b in comm_tiling.BRANCHES)


def test_moved_locations_follow_the_file_moves():
    # the MARN tiling moved to op_tiling/arch32/ at 9.1.0-beta.1 and arch22/ from 9.1.0-beta.2 (revisions.md)
    mode = next(b for b in mp.BRANCHES if b.id == "MARN-ARN-MODE-TAIL")
    assert mode.source_at("c29bc10").endswith("op_tiling/common_add_rms_norm_tiling.cpp:222")
    assert "/arch32/" in mode.source_at("9.1.0-beta.1") and "/arch22/" in mode.source_at("9.1.0")
    assert mode.source_at("9.0.0").endswith("op_tiling/common_add_rms_norm_tiling.cpp:223")


def test_documented_catalogue_gaps_name_declared_sides():
    declared = {f"{b.id}:{s.name}" for b in mp.MARN_BRANCHES for s in b.sides}
    assert set(mp.CATALOGUE_UNREACHED) <= declared
