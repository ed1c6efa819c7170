"""How the MC2 all-reduce family cuts m (the rows, b*s) into communication turns, shared by every operator of the
family: the decisions both MatmulAllReduceAddRmsNorm and QuantMatmulAllReduceV3 inherit from the MatmulAllReduce
host tiling (sim/cann/paths.py's vocabulary).

The source ("formulaic tiling") fits a time for the matmul and for the all-reduce of a block of rows, balances the
two into a pipeline of one short tile and several long tiles, then refines the cut in fixed steps; the host tiling
hands the result to the kernel as `tileCnt` turns of `tileM` rows and `tailCnt` turns of `tailM` rows. `plan()` is
that computation written again from the reading (every constant and step cited below, at the baseline c29bc10 of
hicann/ops-transformer unless a revision is named); `decide()` names the side of every shape-dependent decision it
met. Paths at c29bc10 (newer revisions move them, see `MOVED`):

  ARF = mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp  (+ .h: ARF_H)
  HFT = mc2/common/src/hccl_formulaic_tiling.cpp                                 (+ HFT_H = mc2/common/inc/tiling/...h)
  HP  = mc2/common/src/hccl_performance.cpp                                      (+ HP_H)
  MP  = mc2/common/src/matmul_performance.cpp                                    (+ MP_H)
  DT  = mc2/common/inc/tiling/formulaic_tiling_datatype.h
  MAR = mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp     (the base class: DoSplitMTiling,
                                                                                   setUseBufferType)

What is not modelled, and why (named options, not constants): the HCCL_BUFFSIZE environment variable is the
platform's `hccl_buffer_bytes` (the source parses it into a uint16 count of MiB, MAR:210-222, so a value of 64 GiB
or more would wrap; not modelled); the AICPU-only debug mode (MC2_DEBUG_ONLY_AICPU, MAR:199) and the 310P and 950
branches are off the A2 path. Nothing in the cut is unpublished: HCCL only receives the turns (what it does with
the window or the output buffer is HCCL's, outside this model).

32-bit products, read for this model: the cut is uint64 throughout (the all-reduce's byte count m*n*2 is uint64 up
to 9.0.0 and a double from 9.1.0-beta.1) and the window test is uint64 (MAR:223-246), so no overflow there. The
tiling fields are uint32 (tileCnt/tailM/tailCnt, mc2_tiling_struct.h:81-83) and hold values far below 2^32. Two
uint32 products exist off the cut: Mc2Msg.totalCnt = rankM * rankN (MAR:162) wraps for m*n >= 2^32 elements (an
8 GiB fp16 output per rank; no published kernel reads it), and the base GetWorkspaceSize's mmOutInt32Len (maxM*N*4
as uint32, MAR:473-476) is computed only with a bf16 dequant scale (isUbQuant_), which V3's own GetWorkspaceSize
replaces (quant_matmul_all_reduce_tiling.cpp:60-85) and MARN never has. RCSTiling.commWorkSpaceSize is uint32
(mc2_tiling_struct.h:102, set at quant_matmul_all_reduce_tiling.cpp:79-80): it would truncate only for a matmul
workspace of 4 GiB or more; not determined here.

At c29bc10 an empty contraction (k == 0) leaves tileMValue_ at 0 (MAR:301-304; from 8.5.0-beta.1 on it is set to
m); only MARN reads tileMValue_ and MARN never tiles an empty x1 (its aclnn layer returns first), so the plan
reports the m rows the kernel's one turn covers.

Arithmetic follows the source's types: lengths are uint64 (integer division truncates, a subtraction that would go
below zero wraps, `_sub`), times are IEEE doubles evaluated in the source's order (Python floats are the same
doubles), and a double turned into a length truncates toward zero (`int()`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .paths import Branch, PathQuery, Platform, Side

# ---- revisions ----------------------------------------------------------------------------------------------------

REVISIONS = ("c29bc10", "8.5.0-beta.1", "8.5.0", "9.0.0-beta.1", "9.0.0-beta.2", "9.0.0", "9.1.0-beta.1",
             "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")
# The matmul time's gradient floors n at baseN (256) and k at baseK (64) instead of both at baseM (128) from
# 9.0.0-beta.2 on (mc2/common/src/matmul_performance.cpp:253-254 @49e3788; :169-170 of the normalised text before).
BASE_NK_GRADIENT_FROM = ("9.0.0-beta.2", "9.0.0", "9.1.0-beta.1", "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")
# The all-reduce's byte count is a double divided by a double dtype size from 9.1.0-beta.1 on
# (mc2/common/op_host/op_tiling/hccl_performance.cpp GetRealDtypeSizes @eb4e540); before, uint64 throughout.
REAL_DTYPE_COMM_FROM = ("9.1.0-beta.1", "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")

# ---- the source's constants (c29bc10) -----------------------------------------------------------------------------

BASE_M, BASE_N, BASE_K = 128, 256, 64  # mc2/common/inc/tiling/matmul_formulaic_tiling.h:37-39 (BASE_BLOCK_M/N/K)
ONE_MBYTE = 1024 * 1024  # DT:28
MAX_TILE_CNT = 16  # HFT_H:38, set as the turn cap at HFT_H:131 ("limited by the FFTS queue")
COMM_GROW_RATIO = 1.15  # HFT_H:39: the non-quant all-reduce's time is divided by 1/1.15 (ARF:29)
ALIGN_RATIO_CALC_BOUND, ALIGN_RATIO_COMM_BOUND = 0.5, 0.75  # HFT_H:34-35
BACKTILE_ALIGN_RATIO = 0.75  # HFT_H:29 (FormPartition.backTileRatio's default, HFT_H:50)
OPT_TILE_LEN_RATIO, OPT_TILE_CNT = 2, 8  # HFT_H:27,26
LARGE_BACKTILE_COMPARE_PAR = 2  # HFT_H:30
SMALL_SHORTTILE_BAR, SHORT_ALIGN_DOWN_DIFF = 512, 16  # HFT_H:32-33
SMALL_SHAPE_BAR = 2048  # HFT_H:36
MIN_COMM_RANKDIM = 2  # DT:40
SMALL_M = 2048  # DT:27
# ARF_H (mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.h):21-29
QUANT_COMM_GROWTH = 0.6
QUANT_CALC_BOUND_RATIO = 0.7
QUANT_LARGE_K_COMM_GROWTH = 2.0
QUANT_SMALL_K_COMM_GROWTH = 1.4
HALF = 0.5
LARGE_NK_BAR = 32  # MiB of n*k elements
LARGE_BACKTILE_CALC_COMM_RATIO_BAR = 1.75
SMALL_BACKTILE_RATIO = 0.25
SHORT_TILE_GROW_RATIO = 1.25
# The all-reduce time fit (HP:30-33, key "0_0": both 910B and 910B4 full-mesh all-reduce fall back to it, HP:155-163):
# size in MiB -> microseconds; constant below 64 KiB, a parabola up to 8 MiB, a line above; and its inverse.
SIZE_BOUND1, SIZE_BOUND2 = 64.0 / 1024, 8.0
LIN_GRAD, LIN_OFFSET = 13.58491263, 61.508333
PAR_A, PAR_B, PAR_C = -0.9698202, 27.0622573, 14.769
TIME_BOUND1, TIME_BOUND2 = 18.0, 170.0
INV_A, INV_B, INV_C = -1.03111896, -203.558059, 13.9522034
HCCL_MIN_TILE_LEN = 64 * 1024  # HP_H:21
# The matmul time model (MP_H:21-55, MP:22-38)
COMPUTES_PER_CYCLE = 4096.0  # MP_H:21; 8192 for int8 on a 910B4 (key "3_1_1_1_2", MP:27)
CYCLE_PER_MICRO_SEC = 1.8 * 1024  # MP_H:32
MARK_CORE_NUM = 20  # MP_H:30: the minimum data sizes below are for 20 cores and scale with the core count
MIN_DATA_PAR1, MIN_DATA_PAR2 = 4 * 1024**3, 6 * ONE_MBYTE  # DT:37-38
MIN_M_SIZE_FACTOR = 3  # MP_H:29
K_ALIGN_LEN = 128  # MP_H:28
K_UNALIGN_UTIL_RATIO = 0.7  # MP_H:23
HALF_K_UNALIGN_UTIL_RATIO, K_UNALIGN_UTIL_RATIO_910B4 = 0.5, 0.8  # MP_H:26,24
CACHE_LINE_LEN, HALF_CACHE_LINE_LEN = 512, 256  # MP_H:25,27
# L2 bands (MiB of the first wave's A and B blocks) and the cube utilisation in each (MP:31-38)
L2_BANDS_DEFAULT = (128, 192, 0.85, 0.75, 0.65)
L2_BANDS_910B4_INT8 = (96, 96, 0.4, 0.4, 0.35)  # key "3_1_1_1_2"
L2_BYTES_910B4 = 100663296  # MAR:62: an A2 whose L2 is 96 MiB is tiled as a 910B4 (MAR:280-296)
HCCL_WINDOW_MIB_DEFAULT = 200  # MAR:210 (HCCL_BUFFSIZE unset); Platform.hccl_buffer_bytes carries the value

_U64 = (1 << 64) - 1
_DTYPE_BYTES = {"int8": 1, "float16": 2, "bfloat16": 2, "float32": 4}


def _sub(a: int, b: int) -> int:
    """uint64 subtraction as the source does it (wraps below zero)."""
    return (a - b) & _U64


def _align_up(x: int, a: int) -> int:
    return (x + a - 1) // a * a


# ---- the result ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommPlan:
    """The turns m is cut into: `tile_count` turns of `tile_m` rows, then `tail_count` turns of `tail_m` rows
    (the host tiling's tileMValue_/tileCnt and tailMValue_/tailCnt, MAR:321-341).

    In a communication-bound cut the short tile runs first: then the one "tile" turn is the short one and the
    "tail" turns are the long ones (MAR:331-340), which is the order the kernel runs them in."""

    tile_m: int
    tile_count: int
    tail_m: int = 0
    tail_count: int = 0
    bound: str = "none"  # "calc" (short tile at the back) / "comm" (short tile first) / "none" (no cost model ran)
    buffer: str = "hccl"  # where the all-reduce lands: "hccl" (the HCCL window) or "output" (the output tensor)
    model: str = "plain"  # "plain" (MMPlusAllReduce) or "comm_quant" (MMPlusQuantAllReduce, int8 communication)
    min_tile_m: int = 0  # the cost model's smallest tile (FormPartition.tileArgs.minTileLen) after its adjustments
    taken: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (branch id, side) in the order met

    @property
    def turns(self) -> int:
        return self.tile_count + self.tail_count

    def rows(self) -> tuple[int, ...]:
        """The rows of every turn, in the order the kernel runs them."""
        return (self.tile_m,) * self.tile_count + (self.tail_m,) * self.tail_count


# ---- the cost model (MatmulPerformanceModel and HCCLPerformanceModel) ---------------------------------------------


@dataclass
class _Cost:
    m: int
    k: int
    n: int
    in_bytes: int
    out_bytes: int
    cores: int
    soc_910b4: bool
    int8: bool
    revision: str
    comm_factor: float = 1.0  # HCCLPerformanceModel.commTimeFactor_ (HP_H:36): the fitted time is divided by it
    gradient: float = 0.0

    @property
    def quant_calc(self) -> bool:
        # MP_H:85-87: int8 A is QUANT only off the plain 910B (so on a 910B4); 910B keeps the FP16 keys
        return self.int8 and self.soc_910b4

    def divide_comm_factor(self, f: float) -> None:  # HP:55-59
        if f > 0:
            self.comm_factor /= f

    # -- matmul: MP --

    def linear_threshold_len(self) -> int:
        """MP:50-91 (one rank tile, no batch): the smallest tile the matmul stays linear for."""
        tn, tk = max(BASE_M, self.n), max(BASE_M, self.k)
        ds1 = MIN_DATA_PAR1 // MARK_CORE_NUM * self.cores
        ds2 = MIN_DATA_PAR2 // MARK_CORE_NUM * self.cores
        threshold = max(ds1 // (tn * tk), ds2 // (tn * tk // 1024 + tn))
        return max(MIN_M_SIZE_FACTOR * BASE_M, threshold)

    def cube_util(self, m_size: int) -> tuple[float, int]:
        """MP:99-169 then MP:240-248: the cube utilisation at a tile of m_size rows, and maxTileLen."""
        part, full, u_part, u_full, u_out = L2_BANDS_910B4_INT8 if self.quant_calc else L2_BANDS_DEFAULT
        base_m = min(BASE_M, m_size)
        m_blocks = (m_size + base_m - 1) // base_m
        n_blocks = (self.n + BASE_N - 1) // BASE_N
        mem = min(m_blocks, self.cores) * base_m + min(n_blocks, self.cores) * BASE_N
        mem = mem * self.k * self.in_bytes // ONE_MBYTE
        diff = 0.0
        if mem <= part:
            util, diff = u_part, float(part - mem)
        elif mem <= full:
            util, diff = u_full, float(full - mem)
        else:
            util = u_out
        util *= min(m_blocks * n_blocks, self.cores) / float(self.cores)
        max_tile_len = self.m
        extra = (min(m_blocks + 1, self.cores) - min(m_blocks, self.cores)) * self.in_bytes * base_m * self.k
        if extra // ONE_MBYTE > diff and mem <= full and n_blocks > self.cores:
            max_tile_len = _align_up(m_size, BASE_M)
        if self.quant_calc:  # MP:186-200 (910B4 branch)
            if self.k * self.in_bytes % HALF_CACHE_LINE_LEN:
                util *= K_UNALIGN_UTIL_RATIO_910B4
        elif self.k % K_ALIGN_LEN:
            util *= K_UNALIGN_UTIL_RATIO
        return util, max_tile_len

    def set_gradient(self, util: float) -> None:
        """MP:251-257: microseconds per row."""
        if self.revision in BASE_NK_GRADIENT_FROM:
            tn, tk = max(BASE_N, self.n), max(BASE_K, self.k)
        else:
            tn, tk = max(BASE_M, self.n), max(BASE_M, self.k)
        per_cycle = 8192.0 if self.quant_calc else COMPUTES_PER_CYCLE
        self.gradient = (tn * tk) / (per_cycle * CYCLE_PER_MICRO_SEC * float(self.cores) * util)

    def matmul_time(self, rows: int) -> float:  # MP:259-264 (rankTileNum 1)
        return float(max(BASE_M, rows)) * 1.0 * self.gradient

    def inverse_matmul_time(self, t: float) -> int:  # MP:266-272
        return max(BASE_M, int(t / (1.0 * self.gradient)))

    # -- all-reduce: HP --

    def comm_threshold_len(self) -> int:  # HP:141-146
        if self.revision in REAL_DTYPE_COMM_FROM:
            return int(HCCL_MIN_TILE_LEN / (self.n * 1 * float(self.out_bytes)))
        return HCCL_MIN_TILE_LEN // (self.n * 1 * self.out_bytes)

    def comm_time(self, rows: int) -> float:  # HP:165-181
        if self.revision in REAL_DTYPE_COMM_FROM:
            size = rows * self.n * 1 * float(self.out_bytes) / ONE_MBYTE
        else:
            size = float((rows * self.n * 1 * self.out_bytes) & _U64) / ONE_MBYTE
        t = TIME_BOUND1
        if size > SIZE_BOUND2:
            t = LIN_GRAD * size + LIN_OFFSET
        elif size > SIZE_BOUND1:
            t = PAR_A * size * size + PAR_B * size + PAR_C
        return t / self.comm_factor

    def inverse_comm_time(self, t: float) -> int:  # HP:183-209
        t *= self.comm_factor
        size = SIZE_BOUND1
        if t > TIME_BOUND2:
            size = (t - LIN_OFFSET) / LIN_GRAD
        elif t > TIME_BOUND1:
            size = -math.sqrt(INV_A * (t + INV_B)) + INV_C  # INV_C >= 0: the source's sign flip does not apply
        if self.revision in REAL_DTYPE_COMM_FROM:
            return int(size * ONE_MBYTE / (self.n * 1 * float(self.out_bytes)))
        return int(size * ONE_MBYTE) // (self.n * 1 * self.out_bytes)


# ---- the partition (FormPartition) --------------------------------------------------------------------------------


@dataclass
class _Cut:
    total: int
    min_len: int = BASE_M
    max_tile_len: int = 0
    back_ratio: float = BACKTILE_ALIGN_RATIO
    at_back: bool = False  # shortTileAtBack: the calc-bound order
    long: int = 0
    short: int = 0
    n_long: int = 1
    n_short: int = 0
    count: int = 1  # totalTileCnt
    taken: list[tuple[str, str]] = field(default_factory=list)

    def no_cut(self) -> None:  # HFT:173-179
        self.count, self.n_short, self.n_long, self.short, self.long = 1, 0, 1, 0, self.total

    def note(self, branch: str, side: str) -> None:
        self.taken.append((branch, side))

    def initial_partition(self, align_up: bool) -> None:  # HFT:78-109
        self.long = max(self.long, self.short)
        self.long = min(self.long, _sub(self.total, self.short))
        down = self.long // BASE_M * BASE_M
        ratio = ALIGN_RATIO_CALC_BOUND if self.at_back else ALIGN_RATIO_COMM_BOUND
        up = (self.long - down) > BASE_M * ratio
        self.note("COMM-LONG-ALIGN", "forced_up" if align_up and not up else ("up" if up else "down"))
        self.long = down + BASE_M if (up or align_up) else down
        self.long = min(self.long, self.max_tile_len)
        self.n_long = max(_sub(self.total, int(self.short * self.back_ratio)) // self.long, 1)
        self.count = self.n_short + self.n_long

    def calc_short(self) -> None:  # HFT:215-222
        self.n_short, self.short = 0, 0
        if self.total != self.long * self.n_long:
            self.n_short, self.short = 1, _sub(self.total, self.long * self.n_long)

    def calc_back(self) -> None:  # HFT:224-233
        self.calc_short()
        tiny = self.short > 0 and self.short < BASE_M * 0.5
        if tiny and self.n_long > 1:
            self.note("COMM-TINY-BACK", "merged")
            self.n_long -= 1
            self.short += self.long
        else:
            self.note("COMM-TINY-BACK", "kept")
        self.count = self.n_short + self.n_long

    def redistribute(self) -> None:  # HFT:254-264
        back = _sub(self.total, self.n_long * self.long)
        if back > 2 * self.short:
            self.note("COMM-REDISTRIBUTE", "spread")
            self.long += (_sub(back, self.short) // self.count) // BASE_M * BASE_M
        else:
            self.note("COMM-REDISTRIBUTE", "kept")
        self.calc_back()

    def small_front_check(self, k_greater_than_n: bool) -> None:  # HFT:236-252 (not 310P)
        optimal = self.min_len * OPT_TILE_LEN_RATIO
        small_front = self.long < optimal and self.total > self.long * OPT_TILE_CNT
        if small_front and self.at_back and k_greater_than_n:
            self.note("COMM-SMALL-FRONT", "lengthened")
            optimal = max(optimal, self.total // OPT_TILE_CNT) // BASE_M * BASE_M
            self.long = min(optimal, self.total)
            self.n_long = self.total // self.long
            self.calc_back()
        else:
            self.note("COMM-SMALL-FRONT", "kept")

    def max_tile_cnt_uniform(self) -> None:  # HFT:317-333
        if self.count <= MAX_TILE_CNT:
            self.note("COMM-MANY-TURNS", "within_cap")
            return
        self.note("COMM-MANY-TURNS", "capped")
        if self.total < MAX_TILE_CNT:
            self.no_cut()
            return
        self.long = min(_align_up(self.total // (MAX_TILE_CNT - 1), BASE_M), self.total)
        self.n_long = self.total // self.long
        self.calc_back()

    def large_back_check(self, large_ratio: bool) -> None:  # HFT:181-213 (not 310P)
        if self.short >= self.long + BASE_M:
            self.note("COMM-LARGE-BACK", "evened")
            self.long = min(_align_up(self.total // self.count, BASE_M), self.total)
            self.n_long = self.total // self.long
            self.calc_back()
        else:
            self.note("COMM-LARGE-BACK", "kept")
        if large_ratio:
            # The second test needs short >= long + 128 again: after the first test the short tile is the
            # remainder of whole long tiles (plus < 64 rows when merged), so it never holds (side "lengthened").
            move = self.n_long * BASE_M
            if (self.short >= self.long + BASE_M and self.short >= move + BASE_M * LARGE_BACKTILE_COMPARE_PAR
                    and self.short <= move * LARGE_BACKTILE_COMPARE_PAR):
                self.note("COMM-LARGE-BACK", "lengthened")
                self.long = min(_align_up(self.long + BASE_M, BASE_M), self.total)
                self.n_long = self.total // self.long
                self.calc_back()

    def comm_bound_short_align(self) -> None:  # HFT:266-285
        if self.at_back or self.n_long > 1:
            return
        down = self.short // BASE_M * BASE_M
        up = _align_up(self.short, BASE_M)
        small = up <= SMALL_SHORTTILE_BAR and self.long > SMALL_SHORTTILE_BAR
        if small or self.short - down <= SHORT_ALIGN_DOWN_DIFF:
            self.note("COMM-SHORT-ALIGN", "aligned_up")
            self.short = up
        else:
            self.note("COMM-SHORT-ALIGN", "kept")
        self.long = _sub(self.total, self.short) + self.n_long - 1
        self.long //= self.n_long
        self.short = _sub(self.total, self.n_long * self.long)

    def fit_continuous(self, k_greater_than_n: bool, large_ratio: bool) -> None:  # HFT:287-303
        self.n_long = max(_sub(self.total, int(self.short * self.back_ratio)) // self.long, 1)
        self.redistribute()
        self.small_front_check(k_greater_than_n)
        self.max_tile_cnt_uniform()
        self.large_back_check(large_ratio)
        self.comm_bound_short_align()


# ---- the two balancing strategies ----------------------------------------------------------------------------------


def _plain_cut(cost: _Cost, cut: _Cut, world: int) -> float:
    """MMPlusAllReduce (ARF:45-116): returns ratioCalcComm_."""
    cost.divide_comm_factor(COMM_GROW_RATIO)  # ARF:27-30 (every A2 part)
    mm, comm = cost.matmul_time(cost.m), cost.comm_time(cost.m)
    cut.at_back = mm >= comm  # ARF:52-54
    ratio = max(comm, mm) / min(comm, mm)
    small_m = cost.m < cut.min_len * 2
    large_nk = cost.n * cost.k >= LARGE_NK_BAR * ONE_MBYTE
    if ratio < 2.0 and small_m and large_nk:  # ARF:56-63: balanced and small: encourage a cut
        cut.note("COMM-MIN-HALVE", "halved")
        cut.min_len = min(cut.min_len, int(cut.min_len * HALF))
    else:
        cut.note("COMM-MIN-HALVE", "kept")
    cut.short, cut.n_short = cut.min_len, 1  # ARF:75-76
    if cost.m < cut.short * 2:  # ARF:78-82
        cut.no_cut()
        return ratio
    if cut.at_back:  # ARF:84-88
        cut.long = cost.inverse_comm_time(cost.matmul_time(cut.short))
    else:
        cut.long = cost.inverse_matmul_time(cost.comm_time(cut.short))
    small_dim_up = world <= MIN_COMM_RANKDIM and cut.at_back and (cost.n < SMALL_SHAPE_BAR or cost.k < SMALL_SHAPE_BAR)
    cut.initial_partition(small_dim_up)  # ARF:90-93
    cut.fit_continuous(cost.k > cost.n, ratio > LARGE_BACKTILE_CALC_COMM_RATIO_BAR)  # ARF:99-102
    return ratio


def _small_short_check(total: int, long: int, short: int) -> int:
    """ARF:145-166: keep the remainder from growing a large short tile; returns the new long length."""
    long = min(max(long, short), _sub(total, short))
    n_long = _sub(total, short) // long
    remain = _sub(total, short + long * n_long)
    if remain > short * SHORT_TILE_GROW_RATIO:
        if remain * 2 > long:
            n_long += 1
            long = _sub(total, short) // n_long
        else:
            long += remain // max(n_long, 1)
    return long


def _quant_cut(cost: _Cost, cut: _Cut, world: int) -> float:
    """MMPlusQuantAllReduce (ARF:118-237): int8 communication (all-to-all + all-gather)."""
    cost.divide_comm_factor(QUANT_COMM_GROWTH)  # ARF:120-121
    cost.divide_comm_factor(HALF)
    mm, a2a = cost.matmul_time(cost.m), cost.comm_time(cost.m)
    cut.at_back = mm >= a2a * QUANT_CALC_BOUND_RATIO  # ARF:126-128
    ratio = max(a2a, mm) / min(a2a, mm)
    if ratio < 2.0 and not cut.at_back:  # ARF:131-135
        cut.note("COMM-MIN-HALVE", "halved")
        cut.min_len = min(cut.min_len, int(cut.min_len * HALF))
    else:
        cut.note("COMM-MIN-HALVE", "kept")
    cut.short, cut.n_short = cut.min_len, 1  # ARF:183-185
    cut.back_ratio = SMALL_BACKTILE_RATIO
    if cost.m < cut.short * 2:  # ARF:187-191
        cut.no_cut()
        return ratio
    align_up = world <= MIN_COMM_RANKDIM and cut.at_back and (cost.n < SMALL_SHAPE_BAR or cost.k < SMALL_SHAPE_BAR)
    move_up = cost.m < SMALL_M
    if not cut.at_back or move_up:  # ARF:199-206: matmul shorter than the all-to-all
        cut.note("COMM-QUANT-SCENE", "short_first")
        if cost.k <= 1024:
            cost.divide_comm_factor(QUANT_SMALL_K_COMM_GROWTH)
        cut.long = cost.inverse_matmul_time(cost.comm_time(cut.short))
        align_up = True
        cut.long = _small_short_check(cost.m, cut.long, cut.short)
    elif ratio <= 2.0:  # ARF:207-211: between the two: a uniform cut
        cut.note("COMM-QUANT-SCENE", "uniform")
        if cost.m > cut.min_len * 4:  # ARF:168-179
            cut.short = int(float(cut.min_len) * 4.0 / 2.0)
        elif cost.m > cut.min_len * 3:
            cut.short = int(float(cut.min_len) * 3.0 / 2.0)
        cut.long = cut.short
    else:  # ARF:212-220: matmul longer than both communications
        cut.note("COMM-QUANT-SCENE", "short_last")
        if cost.k >= 4096:
            cost.divide_comm_factor(QUANT_LARGE_K_COMM_GROWTH)
        cut.long = cost.inverse_comm_time(cost.matmul_time(cut.short))
        align_up = True
        cut.long = _small_short_check(cost.m, cut.long, cut.short)
    cut.initial_partition(align_up)  # ARF:222
    cut.fit_continuous(cost.k > cost.n, ratio > LARGE_BACKTILE_CALC_COMM_RATIO_BAR)  # ARF:228-230
    return ratio


# ---- the plan -----------------------------------------------------------------------------------------------------


def _dtype_bytes(q: PathQuery, name: str) -> int | None:
    dtype = q.dtype(name)
    return None if dtype is None else _DTYPE_BYTES.get(str(dtype))


def _comm_quant(q: PathQuery) -> bool:
    """Low-bit communication: both communication quant scales are given (MAR:312-314, MAR:347-352)."""
    return q.tensors.get("commQuantScale1") is not None and q.tensors.get("commQuantScale2") is not None


def is_910b4(p: Platform) -> bool:
    """The tiling treats an A2 whose L2 is exactly 96 MiB as a 910B4 (MAR:280-296): other cost-model keys."""
    return p.l2_bytes == L2_BYTES_910B4


def send_bytes(plan_: CommPlan, *, n: int, world: int, out_bytes: int) -> int:
    """What the turns put into the HCCL window (MAR:223-241): every turn's rows times n output elements; with int8
    communication each turn's rows are padded up to a multiple of the world size and an element is one byte."""
    if plan_.model == "comm_quant":
        return (_align_up(plan_.tile_m, world) * n * plan_.tile_count
                + _align_up(plan_.tail_m, world) * n * plan_.tail_count)
    return plan_.tile_m * n * out_bytes * plan_.tile_count + plan_.tail_m * n * out_bytes * plan_.tail_count


def dims(q: PathQuery) -> tuple[int, int, int] | None:
    """(m, k, n) as the tiling reads them (MAR GetMValue/GetKValue/GetNValue): m = x1's leading dims multiplied
    (b*s), k = x1's last dim, n = the output's last dim ("y" or "output"); None if either tensor is absent."""
    x1 = q.shape("x1")
    out = q.shape("y") or q.shape("output")
    if not x1 or not out:
        return None
    return math.prod(x1[:-1]), x1[-1], out[-1]


def plan(q: PathQuery, *, m: int, k: int, n: int, in_bytes: int | None = None, out_bytes: int | None = None,
         comm_quant: bool | None = None) -> CommPlan:
    """The turns of one invocation with m rows (b*s), k (one rank's share) and n columns, as the host tiling of
    `q.revision` computes them on `q.platform`. in_bytes (x1's element size), out_bytes (the output's) and
    comm_quant (int8 communication) default to what the query's tensors say."""
    if min(m, k, n) < 0:
        raise ValueError(f"comm_tiling.plan: negative dimension in m={m}, k={k}, n={n}")
    if q.world_size < 1:
        raise ValueError(f"comm_tiling.plan: world size must be at least 1, got {q.world_size}")
    if q.revision not in REVISIONS:
        raise ValueError(f"comm_tiling.plan: unknown revision {q.revision!r}; modelled: {', '.join(REVISIONS)}")
    in_bytes = in_bytes or _dtype_bytes(q, "x1") or 2
    out_bytes = out_bytes or _dtype_bytes(q, "y") or _dtype_bytes(q, "output") or 2
    comm_quant = _comm_quant(q) if comm_quant is None else comm_quant
    model = "comm_quant" if comm_quant else "plain"
    world = q.world_size
    taken: list[tuple[str, str]] = [("COMM-MODEL", model)]

    if k == 0:  # MAR:301-304: an empty contraction is one turn of every row, through the output buffer (MAR:205)
        taken += [("COMM-K-ZERO", "k_zero"), ("COMM-TURNS", "one"), ("COMM-BUFFER", "output")]
        return CommPlan(m, 1, bound="none", buffer="output", model=model, taken=tuple(taken))
    taken.append(("COMM-K-ZERO", "k_nonzero"))

    p = q.platform
    b4 = is_910b4(p)
    taken.append(("COMM-SOC", "910b4" if b4 else "910b"))
    cost = _Cost(m=m, k=k, n=n, in_bytes=in_bytes, out_bytes=out_bytes, cores=p.cube_cores, soc_910b4=b4,
                 int8=in_bytes == 1, revision=q.revision)
    cut = _Cut(total=m, max_tile_len=m)
    cut.no_cut()
    # The constructors (ARF_H:271-284 / :301-313): the smallest tile is the largest of baseM, the all-reduce's
    # linear size and the matmul's.
    cut.min_len = max(cut.min_len, cost.comm_threshold_len(), cost.linear_threshold_len())
    util, cut.max_tile_len = cost.cube_util(cut.min_len)  # HFT:367-370 (GetTiling)
    cost.set_gradient(util)
    (_quant_cut if comm_quant else _plain_cut)(cost, cut, world)
    cut.taken[:0] = [("COMM-BOUND", "calc" if cut.at_back else "comm")]
    if cut.short == cut.long:  # HFT:375-380: equal short and long tiles become one shape
        cut.note("COMM-REPEAT", "merged")
        cut.short, cut.n_short, cut.n_long = 0, 0, cut.n_long + 1
    elif cut.count > 1:
        cut.note("COMM-REPEAT", "distinct")
    if cut.at_back or cut.n_short == 0:  # MAR:321-330
        tile_m, tile_count = cut.long, cut.n_long
        tail_m, tail_count = (cut.short, cut.n_short) if cut.n_short > 0 else (0, 0)
    else:  # MAR:331-340: the short tile runs first
        tile_m, tile_count = cut.short, cut.n_short
        tail_m, tail_count = (cut.long, cut.n_long) if cut.n_long > 0 else (0, 0)
    taken += cut.taken
    turns = tile_count + tail_count
    taken.append(("COMM-TURNS", "one" if turns == 1 else "several"))
    if turns > 1:
        taken.append(("COMM-TAIL", "tail" if tail_count else "no_tail"))
    result = CommPlan(tile_m, tile_count, tail_m, tail_count, bound="calc" if cut.at_back else "comm",
                      model=model, min_tile_m=cut.min_len)
    sent = send_bytes(result, n=n, world=world, out_bytes=out_bytes)
    buffer = "output" if sent >= p.hccl_buffer_bytes else "hccl"  # MAR:242-246
    taken.append(("COMM-BUFFER", buffer))
    return CommPlan(tile_m, tile_count, tail_m, tail_count, bound=result.bound, buffer=buffer, model=model,
                    min_tile_m=cut.min_len, taken=tuple(taken))


def decide(q: PathQuery, *, m: int, k: int, n: int, **operands) -> dict[str, str]:
    """{branch id: side} for the communication-tiling decisions this invocation meets (operands as for plan)."""
    taken: dict[str, str] = {}
    for bid, side in plan(q, m=m, k=k, n=n, **operands).taken:
        if taken.get(bid) in (None, *_PASSIVE):  # a step met twice reports the time it acted, if it ever did
            taken[bid] = side
    return taken


_PASSIVE = ("kept", "within_cap")  # the sides of a refinement step that leave the cut as it was


# ---- the decisions ------------------------------------------------------------------------------------------------

# Where each decision sits at the newer revisions (read with git grep in mirror-cann/ops-transformer; a revision
# not named has it where the baseline does).
MOVED: dict[str, tuple[tuple[str, str], ...]] = {
    "COMM-MODEL": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:308"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:308"),
        ("9.0.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:318"),
        ("9.0.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:305"),
        ("9.0.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:306"),
        ("9.1.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/arch32/matmul_all_reduce_tiling_910.cpp:353"),
        ("9.1.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/arch22/matmul_all_reduce_tiling_910.cpp:334"),
        ("9.1.0-beta.3", "mc2/matmul_all_reduce/op_host/op_tiling/arch22/matmul_all_reduce_tiling_910.cpp:333"),
        ("9.1.0", "mc2/matmul_all_reduce/op_host/op_tiling/arch22/matmul_all_reduce_tiling_910.cpp:334"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/arch22/matmul_all_reduce_tiling_910.cpp:336"),
    ),
    "COMM-K-ZERO": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:292"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:292"),
        ("9.0.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:300"),
        ("9.0.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:325"),
        ("9.0.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:326"),
        ("9.1.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:320"),
        ("9.1.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:321"),
        ("9.1.0-beta.3", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:321"),
        ("9.1.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:337"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:329"),
    ),
    "COMM-SOC": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:280"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:280"),
        ("9.0.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:288"),
        ("9.0.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:289"),
        ("9.0.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:290"),
        ("9.1.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:288"),
        ("9.1.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:289"),
        ("9.1.0-beta.3", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:289"),
        ("9.1.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:305"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:298"),
    ),
    "COMM-BOUND": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:46"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:46"),
    ),
    "COMM-MIN-HALVE": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:55"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:55"),
    ),
    "COMM-TURNS": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:72"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:72"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:77"),
    ),
    "COMM-QUANT-SCENE": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:193"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:193"),
        ("9.1.0", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:187"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:183"),
    ),
    "COMM-LONG-ALIGN": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:90"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:90"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:90"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:90"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:85"),
    ),
    "COMM-REDISTRIBUTE": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:256"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:256"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:256"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:256"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:235"),
    ),
    "COMM-SMALL-FRONT": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:241"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:241"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:241"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:241"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:220"),
    ),
    "COMM-MANY-TURNS": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:318"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:318"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:318"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:318"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:290"),
    ),
    "COMM-LARGE-BACK": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:181"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:181"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:181"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:181"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:163"),
    ),
    "COMM-SHORT-ALIGN": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:275"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:275"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:275"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:275"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:252"),
    ),
    "COMM-TINY-BACK": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:226"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:226"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:226"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:226"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:205"),
    ),
    "COMM-REPEAT": (
        ("9.1.0-beta.1", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:376"),
        ("9.1.0-beta.2", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:376"),
        ("9.1.0-beta.3", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:376"),
        ("9.1.0", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:376"),
        ("master", "mc2/common/op_host/op_tiling/hccl_formulaic_tiling.cpp:346"),
    ),
    "COMM-TAIL": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:313"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:313"),
        ("9.0.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:323"),
        ("9.0.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:335"),
        ("9.0.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:336"),
        ("9.1.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:330"),
        ("9.1.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:331"),
        ("9.1.0-beta.3", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:331"),
        ("9.1.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:347"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:339"),
    ),
    "COMM-BUFFER": (
        ("8.5.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:231"),
        ("8.5.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:231"),
        ("9.0.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:232"),
        ("9.0.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:233"),
        ("9.0.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:234"),
        ("9.1.0-beta.1", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:232"),
        ("9.1.0-beta.2", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:233"),
        ("9.1.0-beta.3", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:233"),
        ("9.1.0", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:229"),
        ("master", "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp:224"),
    ),
}
SOURCE = {
    "COMM-MODEL": "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp:316",
    "COMM-K-ZERO": "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp:301",
    "COMM-SOC": "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp:291",
    "COMM-BOUND": "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:52",
    "COMM-MIN-HALVE": "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:61",
    "COMM-TURNS": "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:78",
    "COMM-QUANT-SCENE": "mc2/matmul_all_reduce/op_host/op_tiling/all_reduce_formulaic_tiling.cpp:199",
    "COMM-LONG-ALIGN": "mc2/common/src/hccl_formulaic_tiling.cpp:90",
    "COMM-REDISTRIBUTE": "mc2/common/src/hccl_formulaic_tiling.cpp:256",
    "COMM-SMALL-FRONT": "mc2/common/src/hccl_formulaic_tiling.cpp:241",
    "COMM-MANY-TURNS": "mc2/common/src/hccl_formulaic_tiling.cpp:318",
    "COMM-LARGE-BACK": "mc2/common/src/hccl_formulaic_tiling.cpp:181",
    "COMM-SHORT-ALIGN": "mc2/common/src/hccl_formulaic_tiling.cpp:275",
    "COMM-TINY-BACK": "mc2/common/src/hccl_formulaic_tiling.cpp:226",
    "COMM-REPEAT": "mc2/common/src/hccl_formulaic_tiling.cpp:376",
    "COMM-TAIL": "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp:321",
    "COMM-BUFFER": "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp:242",
}

_ALL = ("marn", "marn_inplace", "v3")
_WINDOW_NOTE = ("hardware-only: needs the turns' output (m*n*2 bytes; int8 communication ~m*n) to fill the HCCL "
                "window (HCCL_BUFFSIZE, 200 MiB by default) on every rank: the cheapest found is m=16384 k=128 "
                "n=8192, world 2 (256 MiB and 1<<27 elements of output per rank, past the 1<<24 elements judged)")


def _branch(bid: str, decision: str, sides: tuple[Side, ...], **kw) -> Branch:
    return Branch(id=bid, stage="host tiling", decision=decision, sides=sides, source=SOURCE[bid],
                  operators=kw.pop("operators", _ALL), moved=MOVED.get(bid, ()), **kw)


BRANCHES: tuple[Branch, ...] = (
    _branch("COMM-MODEL", "which cost model cuts m: the plain all-reduce's or the int8-communication one's (V3 has "
            "its own copy of the test from 9.1.0-beta.1: op_tiling/arch32|arch22/quant_matmul_all_reduce_tiling.cpp "
            "GetTilingResult)", (
        Side("plain", "commQuantScale1 or commQuantScale2 absent (every MARN call; V3 without low-bit communication)"),
        Side("comm_quant", "V3 with both commQuantScale1 and commQuantScale2 (int8 all-to-all + all-gather)"),
    )),
    _branch("COMM-K-ZERO", "an empty contraction skips the cost model: one turn of all m rows, output buffer", (
        Side("k_nonzero", "k > 0"),
        Side("k_zero", "k == 0 (x1 (m, 0)); MARN answers empty tensors in its aclnn layer before any kernel "
                       "(aclnn_matmul_all_reduce_add_rms_norm.cpp:48), so only V3 reaches this side",
             unreached="unreachable through these APIs: MARN answers an empty k before any kernel, and V3 rejects "
                       "k = 0 (V3-EMPTY-001; k == 0 is 161002 in its op_api)"),
    )),
    _branch("COMM-SOC", "the cost model's part: 910B or 910B4 (int8 cube rate, L2 bands, k-alignment penalty)", (
        Side("910b", "PlatformAscendC's L2 size is not 96 MiB (both modelled A2 platforms: 192 MiB)"),
        Side("910b4", "L2 size exactly 100663296 bytes (96 MiB)",
             unreached="hardware-only: only on an Atlas A2 part with 96 MiB L2 (910B4); no modelled platform"),
    ), platform_dependent=True),
    _branch("COMM-BOUND", "calc- or communication-bound: where the short tile goes and how the long one is sized", (
        Side("calc", "matmul time of all m rows >= all-reduce time (int8 communication: >= 0.7 x all-to-all time); "
                     "the short tile runs last, the long tile is sized to the matmul time of the short one"),
        Side("comm", "matmul time < all-reduce time: the short tile runs first, the long tile is sized to the "
                     "all-reduce time of the short one"),
    ), platform_dependent=True),
    _branch("COMM-MIN-HALVE", "the smallest tile is halved to encourage a cut", (
        Side("kept", "otherwise"),
        Side("halved", "plain: time ratio < 2 and m < 2 x smallest tile and n*k >= 32 Mi; int8 communication: "
                       "time ratio < 2 and communication-bound"),
    ), platform_dependent=True),
    _branch("COMM-TURNS", "one turn or several", (
        Side("one", "m < 2 x smallest tile (max(128, 64 KiB / (n*out bytes), the matmul's linear size)), or k == 0"),
        Side("several", "m >= 2 x smallest tile"),
    ), platform_dependent=True),
    _branch("COMM-QUANT-SCENE", "int8 communication: which balancing the cut uses", (
        Side("short_first", "communication-bound or m < 2048: long tile from the all-to-all time of the short one"),
        Side("uniform", "calc-bound, m >= 2048 and time ratio <= 2: short = long = 2x (m > 4x min) or 1.5x the "
                        "smallest tile (m > 3x min) or the smallest tile"),
        Side("short_last", "calc-bound, m >= 2048 and time ratio > 2: long tile from the matmul time of the short"),
    ), operators=("v3",), platform_dependent=True),
    _branch("COMM-LONG-ALIGN", "the long tile is rounded to a multiple of 128 rows, up or down", (
        Side("down", "remainder above the multiple <= 64 (calc-bound) or <= 96 (communication-bound)"),
        Side("up", "remainder above the multiple > 64 (calc-bound) or > 96 (communication-bound)"),
        Side("forced_up", "remainder small but the world is <= 2, calc-bound and n or k < 2048 (plain), or the "
                          "int8-communication scenes short_first/short_last"),
    ), platform_dependent=True),
    _branch("COMM-REDISTRIBUTE", "the rows left after the long tiles are spread over the long tiles", (
        Side("kept", "leftover rows <= 2 x the short tile"),
        Side("spread", "leftover rows > 2 x the short tile: each long tile grows by (leftover - short) / turns, "
                       "rounded down to 128"),
    ), platform_dependent=True),
    _branch("COMM-SMALL-FRONT", "long tiles near the matmul's linear size are lengthened to m/8", (
        Side("kept", "otherwise"),
        Side("lengthened", "calc-bound, k > n, long tile < 2 x smallest tile and m > 8 x long tile"),
    ), platform_dependent=True),
    _branch("COMM-MANY-TURNS", "the cap of 16 turns (FFTS queue)", (
        Side("within_cap", "at most 16 turns after the cut"),
        Side("capped", "more than 16 turns: the long tile becomes m/15 rounded up to 128"),
    ), platform_dependent=True),
    _branch("COMM-LARGE-BACK", "a short tile longer than a long one is evened out", (
        Side("kept", "short tile < long tile + 128"),
        Side("evened", "short tile >= long tile + 128: long tile = m / turns rounded up to 128"),
        Side("lengthened", "time ratio > 1.75 and, after the first test, long + 128 <= short and "
                           "128*(long turns + 2) <= short <= 256*(long turns): the long tile grows by 128",
             unreached="unreachable: after the first test the short tile is what whole long tiles leave (plus "
                       "< 64 merged rows), so short >= long + 128 never holds there (HFT:197-212 is dead code)"),
    ), platform_dependent=True),
    _branch("COMM-SHORT-ALIGN", "communication-bound with one long tile: the short tile is rounded up to 128", (
        Side("kept", "the rounded-up short tile > 512 or the long tile <= 512, and the short tile is more than "
                     "16 rows above a multiple of 128"),
        Side("aligned_up", "rounded-up short tile <= 512 < long tile, or the short tile within 16 rows above a "
                           "multiple of 128"),
    ), platform_dependent=True),
    _branch("COMM-TINY-BACK", "a remainder under 64 rows is merged into a long tile", (
        Side("kept", "remainder 0 or >= 64 rows, or only one long tile"),
        Side("merged", "0 < remainder < 64 rows and more than one long tile: one long tile absorbs it"),
    ), platform_dependent=True),
    _branch("COMM-REPEAT", "short and long tiles of equal length become one tile shape", (
        Side("distinct", "the cut has a short tile of another length (or none)"),
        Side("merged", "short tile == long tile: every turn has the same rows"),
    ), platform_dependent=True),
    _branch("COMM-TAIL", "a second tile shape (the kernel's tail turns; MARN tiles AddRmsNorm for it too, "
                         "matmul_all_reduce_add_rms_norm_tiling.cpp:63,83)", (
        Side("no_tail", "several turns, all of the same rows"),
        Side("tail", "several turns of two lengths"),
    ), platform_dependent=True),
    _branch("COMM-BUFFER", "where the all-reduce lands: the HCCL window or the output tensor", (
        Side("hccl", "sum over turns of rows x n x output bytes (int8 communication: rows padded to the world "
                     "size, x n x 1) < HCCL_BUFFSIZE MiB (Platform.hccl_buffer_bytes)"),
        Side("output", "k == 0, or that sum >= the HCCL window", unreached=_WINDOW_NOTE),
    ), platform_dependent=True),
)
