"""The communication turns of the MatmulAllReduce family (conformance/sim/cann/comm_tiling.py).

The worked examples are computed by hand from the source's formulas (hicann/ops-transformer@c29bc10; paths as in
the module's docstring: ARF all_reduce_formulaic_tiling.cpp, HFT hccl_formulaic_tiling.cpp, HP hccl_performance.cpp,
MP matmul_performance.cpp, MAR matmul_all_reduce_tiling.cpp); the arithmetic is in the comments. Shorthands:
  MiB = 1048576; the all-reduce fit (HP:30-33): f(s) = 18 for s <= 1/16 MiB, -0.9698202 s^2 + 27.0622573 s + 14.769
  up to 8 MiB, 13.58491263 s + 61.508333 above; the plain model divides by 1/1.15 (ARF:29), i.e. times 1.15;
  gradient g = max(128,n)*max(128,k) / (4096 * 1843.2 * cores * util) microseconds per row (MP:251-257);
  smallest tile = max(384, ds1 // (N*K), ds2 // (N*K/1024 + N)) with ds1 = 4 GiB // 20 * cores,
  ds2 = 6 MiB // 20 * cores (MP:50-91), and at least 64 KiB // (n*2) (HP:141-146).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.sim.cann import comm_tiling as ct
from conformance.sim.cann.paths import PathQuery, check_decision, platform

A24, A20 = platform("a2-24c"), platform("a2-20c")


def query(p=A24, *, world=8, revision="c29bc10", tensors=None) -> PathQuery:
    return PathQuery(op="any", tensors=tensors or {}, attrs={}, world_size=world, revision=revision, platform=p)


def turns(p, m, k, n, **kw):
    r = ct.plan(query(p, world=kw.pop("world", 8), revision=kw.pop("revision", "c29bc10")), m=m, k=k, n=n, **kw)
    return (r.tile_m, r.tile_count, r.tail_m, r.tail_count)


# ---- worked examples ----------------------------------------------------------------------------------------------


def test_few_rows_are_one_turn():
    # a2-24c, n=8192, k=1024, fp16: ds1 = 4294967296 // 20 * 24 = 5153960736, // (8192*1024) = 614;
    # ds2 = 314572 * 24 = 7549728, // (8192 + 8192) = 460; smallest tile = max(384, 614, 460, 65536 // 16384 = 4)
    # = 614; m = 16 < 2 * 614: no cut (ARF:78-82), one turn of 16 rows.
    r = ct.plan(query(A24), m=16, k=1024, n=8192)
    assert (r.tile_m, r.tile_count, r.tail_m, r.tail_count, r.min_tile_m) == (16, 1, 0, 0, 614)
    # bound: g = 8192*1024 / (4096*1843.2*24*0.85) = 0.0544662 (util 0.85: 5 m blocks * 128 + 24 n blocks * 256
    # = 6784 rows, * 1024 * 2 B = 13 MiB <= 128); matmul 128 rows (floor) * g = 6.97 us; all-reduce of 16 rows:
    # s = 16*8192*2 / MiB = 0.25, f = -0.0606 + 6.7656 + 14.769 = 21.474, * 1.15 = 24.70 us: communication-bound.
    assert (r.bound, r.buffer) == ("comm", "hccl")
    assert ct.decide(query(A24), m=16, k=1024, n=8192)["COMM-TURNS"] == "one"


def test_communication_bound_cut_on_24_cores():
    # a2-24c, m=8192, n=8192, k=1024, fp16, world 8; smallest tile 614, g = 0.0544662 (above).
    # matmul 8192 g = 446.19 < all-reduce: s = 128 MiB, (13.58491263*128 + 61.508333) * 1.15 = 2070.43:
    # communication-bound, ratio 4.64. Long tile = matmul rows for the all-reduce time of 614 rows:
    # s = 614*16384/MiB = 9.59375, (13.58491263 s + 61.508333) * 1.15 = 220.614, / g = 4050.
    # Align (HFT:78-109): 4050 = 3968 + 82, 82 <= 96 -> 3968; long tiles (8192 - int(614*0.75)) // 3968 = 1, 2 turns.
    # Redistribute (HFT:254): leftover 8192 - 3968 = 4224 > 2*614 -> long += (4224-614)//2 = 1805 -> 1792: 5760;
    # short = 8192 - 5760 = 2432. Short-align (HFT:266): 2432 = 19*128 -> kept at 2432. Short first (MAR:331):
    # one turn of 2432 rows, then one of 5760.
    r = ct.plan(query(A24), m=8192, k=1024, n=8192)
    assert (r.tile_m, r.tile_count, r.tail_m, r.tail_count) == (2432, 1, 5760, 1)
    assert r.bound == "comm" and r.rows() == (2432, 5760)
    d = ct.decide(query(A24), m=8192, k=1024, n=8192)
    assert (d["COMM-REDISTRIBUTE"], d["COMM-LONG-ALIGN"], d["COMM-TAIL"]) == ("spread", "down", "tail")


def test_the_same_shape_on_20_cores():
    # a2-20c: ds1 = 214748364*20 = 4294967280 // 8388608 = 511, ds2 = 6291440 // 16384 = 383: smallest tile 511;
    # util 0.85 (4*128 + 20*256 = 5632 rows * 2048 B = 11 MiB), g = 8388608 / (4096*1843.2*20*0.85) = 0.0653595.
    # matmul 8192 g = 535.42 < 2070.43: communication-bound. All-reduce of 511 rows: s = 511*16384/MiB = 7.984375
    # (parabola) = 169.018, * 1.15 = 194.371, / g = 2973 -> 2944 (remainder 29 <= 96); long tiles
    # (8192 - 383) // 2944 = 2, 3 turns; leftover 8192 - 5888 = 2304 > 1022: long += (2304-511)//3 = 597 -> 512:
    # 3456; short = 8192 - 6912 = 1280. Two long tiles: no short-align. Short first: 1280, then 2 x 3456.
    assert turns(A20, 8192, 1024, 8192) == (1280, 1, 3456, 2)


def test_calc_bound_cut_with_a_short_tail():
    # a2-24c, m=4096, k=8192, n=1024, fp16: ds1 // (1024*8192) = 614, ds2 // (8192 + 1024) = 7549728 // 9216 = 819:
    # smallest tile 819; util: 7 m blocks * 128 + 4 n blocks * 256 = 1920 rows * 8192 * 2 B = 30 MiB -> 0.85;
    # g = 1024*8192 / (4096*1843.2*24*0.85) = 0.0544662. matmul 4096 g = 223.09; all-reduce s = 8 MiB (parabola):
    # -62.068 + 216.498 + 14.769 = 169.199, * 1.15 = 194.58 <= 223.09: calc-bound, ratio 1.147.
    # Long tile = all-reduce rows for the matmul time of 819 rows: 819 g / 1.15 = 38.789 (inverse parabola):
    # -sqrt(-1.03111896 * (38.789 - 203.558059)) + 13.9522034 = 0.91779 MiB -> 962,... B // 2048 = 469;
    # max(469, 819) = 819 -> 768 (remainder 51 <= 64); (4096 - 614) // 768 = 4 long tiles; leftover 1024 <= 1638:
    # kept; short 1024 >= 768 + 128: evened (HFT:189): long = ceil128(4096 // 5 = 819) = 896, 4096 // 896 = 4,
    # short 4096 - 3584 = 512. Calc-bound keeps the short tile last: 4 x 896, then 512.
    r = ct.plan(query(A24), m=4096, k=8192, n=1024)
    assert (r.tile_m, r.tile_count, r.tail_m, r.tail_count, r.bound) == (896, 4, 512, 1, "calc")
    assert ct.decide(query(A24), m=4096, k=8192, n=1024)["COMM-LARGE-BACK"] == "evened"


def test_several_turns_without_a_tail():
    # a2-24c, m=8192, k=4096, n=4096, int8 x1 without int8 communication (the plain model, 910B keys): ds1 //
    # 16777216 = 307, ds2 // 20480 = 368: smallest 384; util: 3*128 + 16*256 = 4480 rows * 4096 * 1 B = 17 MiB
    # -> 0.85; g = 4096*4096 / (4096*1843.2*24*0.85) = 0.108932. matmul 8192 g = 892.37 < all-reduce s = 64 MiB:
    # (13.58491263*64 + 61.508333)*1.15 = 1070.58: communication-bound. 384 rows: s = 3 MiB, parabola 87.227,
    # * 1.15 = 100.311, / g = 920 -> 896 (24 <= 96); (8192 - 288) // 896 = 8 long tiles, 9 turns; leftover 1024 >
    # 768: long += (1024 - 384) // 9 = 71 -> 0; short 1024 >= 896 + 128: evened: long = ceil128(8192 // 9 = 910)
    # = 1024, 8 tiles, no remainder: 8 turns of 1024 rows.
    assert turns(A24, 8192, 4096, 4096, in_bytes=1) == (1024, 8, 0, 0)


def test_fewer_cores_make_the_same_shape_calc_bound_and_hit_the_turn_cap():
    # a2-20c, same shape: ds1 = 4294967280 // 16777216 = 255, ds2 = 6291440 // 20480 = 307: smallest 384;
    # g = 16777216 / (4096*1843.2*20*0.85) = 0.130719; matmul 8192 g = 1070.850 >= 1070.584: calc-bound.
    # 384 rows: 384 g / 1.15 = 43.649 -> -sqrt(1.03111896 * (203.558059 - 43.649)) + 13.9522034 = 1.11143 MiB
    # // 8192 = 142 -> max(142, 384) = 384; (8192 - 288) // 384 = 20 long tiles, 21 turns; leftover 512 <= 768;
    # k > n fails: no small-front change; 21 > 16 (HFT:317-333): long = ceil128(8192 // 15 = 546) = 640,
    # 8192 // 640 = 12, short 512. Calc-bound: 12 x 640, then 512.
    assert turns(A20, 8192, 4096, 4096, in_bytes=1) == (640, 12, 512, 1)
    d = ct.decide(query(A20), m=8192, k=4096, n=4096, in_bytes=1)
    assert (d["COMM-BOUND"], d["COMM-MANY-TURNS"]) == ("calc", "capped")
    assert ct.decide(query(A24), m=8192, k=4096, n=4096, in_bytes=1)["COMM-BOUND"] == "comm"


def test_int8_communication_cuts_uniformly_after_equal_tiles_merge():
    # a2-24c, V3 with both comm quant scales, m=k=n=4096, world 8: smallest 384, g = 0.108932 (as above).
    # Time factor 1 / 0.6 / 0.5 = 3.3333 (ARF:120-121): all-to-all s = 32 MiB, (13.58491263*32 + 61.508333) / 3.3333
    # = 148.868; matmul 4096 g = 446.187 >= 0.7 * 148.868: calc-bound, ratio 2.997 > 2, m >= 2048: scene
    # short_last (ARF:212-220); k >= 4096: factor / 2 = 1.6667. 384 g * 1.6667 = 69.717 -> -sqrt(-1.03111896 *
    # (69.717 - 203.558059)) + 13.9522034 = 2.2046 MiB // 8192 = 282; small-short check (ARF:145): long =
    # max(282, 384) = 384, (4096-384) // 384 = 9, remainder 256 <= 480. Align forced up (ARF:218): 384 -> 512;
    # (4096 - int(384*0.25)) // 512 = 7 long tiles; leftover 512 <= 768 -> short 512 == long 512: one shape
    # (HFT:376): 8 turns of 512.
    q = query(A24, tensors={"x1": SimpleNamespace(shape=(4096, 4096), dtype="int8"),
                            "commQuantScale1": SimpleNamespace(shape=(4096,), dtype="float16"),
                            "commQuantScale2": SimpleNamespace(shape=(4096,), dtype="float16")})
    r = ct.plan(q, m=4096, k=4096, n=4096)
    assert (r.tile_m, r.tile_count, r.tail_m, r.tail_count, r.model) == (512, 8, 0, 0, "comm_quant")
    d = ct.decide(q, m=4096, k=4096, n=4096)
    assert (d["COMM-QUANT-SCENE"], d["COMM-LONG-ALIGN"], d["COMM-REPEAT"]) == ("short_last", "forced_up", "merged")


def test_the_output_buffer_takes_over_at_the_hccl_window():
    # Every row goes out once: the window holds m*n*2 bytes (MAR:223-246); 200 MiB = 209715200 B.
    # m=12800, n=8192: 12800*8192*2 = 209715200 >= 200 MiB -> output; m=12799: 209698816 < 200 MiB -> window.
    assert ct.plan(query(A24), m=12800, k=1024, n=8192).buffer == "output"
    assert ct.plan(query(A24), m=12799, k=1024, n=8192).buffer == "hccl"
    assert ct.plan(query(A20), m=12800, k=1024, n=8192).buffer == "output"


def test_int8_communication_pads_each_turn_to_the_world():
    # MAR:229-240: rows padded up to a multiple of the world, one byte per element:
    # ceil8(1001) = 1008 * 1000 * 1 + 3000 * 1000 * 2 = 7008000; plain: (1001 + 6000) * 1000 * 2 = 14002000.
    quant = ct.CommPlan(1001, 1, 3000, 2, model="comm_quant")
    assert ct.send_bytes(quant, n=1000, world=8, out_bytes=2) == 7008000
    assert ct.send_bytes(ct.CommPlan(1001, 1, 3000, 2), n=1000, world=8, out_bytes=2) == 14002000


def test_the_gradient_change_of_9_0_0_beta_2_flips_a_narrow_shape_to_calc_bound():
    # a2-24c, m=65536, k=4096, n=128, fp16: ds1 // (128*4096) = 9830, ds2 // (512 + 128) = 11796: smallest 11796;
    # util 0.85 (24*128 + 1*256 = 3328 rows * 8 KiB = 26 MiB). All-reduce s = 16 MiB: (13.58491263*16 + 61.508333)
    # * 1.15 = 320.70. Until 9.0.0-beta.1 the gradient floors n at 128: 65536 * 128*4096/(4096*1843.2*24*0.85)
    # = 223.09 < 320.70: communication-bound; from 9.0.0-beta.2 at 256 (MP:253-254): 446.19 >= 320.70: calc-bound.
    assert ct.plan(query(A24, revision="9.0.0-beta.1"), m=65536, k=4096, n=128).bound == "comm"
    assert ct.plan(query(A24, revision="9.0.0-beta.2"), m=65536, k=4096, n=128).bound == "calc"
    assert ct.plan(query(A24, revision="c29bc10"), m=65536, k=4096, n=128).bound == "comm"


def test_an_empty_contraction_is_one_turn_through_the_output():
    r = ct.plan(query(A24), m=300, k=0, n=64)  # MAR:301-304, MAR:205
    assert (r.tile_m, r.tile_count, r.turns, r.buffer) == (300, 1, 1, "output")


# ---- properties and the catalogue ---------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [A24, A20], ids=lambda p: p.name)
def test_the_turns_cover_m_exactly(p):
    for revision in ("c29bc10", "master"):
        for world in (2, 8):
            q = query(p, world=world, revision=revision)
            for k, n, in_bytes, comm_quant in ((1024, 8192, 2, False), (8192, 1024, 2, False),
                                               (4096, 4096, 1, False), (4096, 2048, 1, True), (256, 160, 2, False)):
                for m in range(1, 40000, 97):
                    r = ct.plan(q, m=m, k=k, n=n, in_bytes=in_bytes, comm_quant=comm_quant)
                    assert r.tile_m * r.tile_count + r.tail_m * r.tail_count == m, (m, k, n, r)
                    assert r.tile_m > 0 and r.tile_count >= 1 and (r.tail_count == 0) == (r.tail_m == 0), r


def test_decisions_name_declared_branches_and_sides():
    seen = set()
    for p in (A24, A20):
        for m in (16, 1024, 4096, 8192, 32768):
            for k, n in ((1024, 8192), (8192, 1024), (4096, 4096)):
                for comm_quant in (False, True):
                    taken = ct.decide(query(p), m=m, k=k, n=n, in_bytes=1 if comm_quant else 2, comm_quant=comm_quant)
                    check_decision(ct.BRANCHES, taken)
                    seen.update(taken)
    assert seen <= {b.id for b in ct.BRANCHES}
    assert len({b.id for b in ct.BRANCHES}) == len(ct.BRANCHES)
    for b in ct.BRANCHES:
        assert b.source.startswith("mc2/") and all(rev in ct.REVISIONS for rev, _ in b.moved), b.id


def test_bad_input_is_a_one_line_error():
    with pytest.raises(ValueError, match="negative"):
        ct.plan(query(), m=-1, k=8, n=8)
    with pytest.raises(ValueError, match="unknown revision"):
        ct.plan(query(revision="7.0"), m=8, k=8, n=8)
