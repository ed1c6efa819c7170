"""sim-cann's path model of MatmulAllReduceAddRmsNorm and its Inplace twin: every shape- or flag-dependent
decision of the published host tiling and kernels (sim/cann/paths.py's vocabulary), and the side each takes for
one invocation. Pure integer arithmetic on shapes, dtypes and attributes: no tensor data, no vendor code.

Read at hicann/ops-transformer c29bc10 (every bare ``path:line`` below); each Branch's ``moved`` has its location
at every newer modelled revision where it differs (`_MOVED_AT`). The decisions read the same at 9.0.0 (d28d8f9)
and master (3a280bc): the token diff of matmul_v3_base_tiling.cpp shows renames (Mc2 prefixes), tiling-data
accessors and messages only, the AddRmsNorm files renames only (issue19/behaviour.md section 4); the one
behaviour change met is the tiling key (MARN-MM-BANK's bank_split_k side). How a valid fp16/bf16 call flows:

1. MatmulAllReduceAddRmsNormTiling (mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/
   matmul_all_reduce_add_rms_norm_tiling.cpp) assembles its context per operator (:96-99), runs the
   MatmulAllReduce 910 tiling (matmul_all_reduce_tiling_910.cpp) which cuts m into communication turns
   (sim/cann/comm_tiling.py: tile turns of tile_m rows, tail turns of tail_m rows) and tiles the matmul of ONE
   tile turn and, if there is a tail, of one tail turn with the MatMulV3 base-block tiling
   (mc2/3rd/mat_mul_v3/op_host/op_tiling/matmul_v3_base_tiling.cpp, tilingSelect BASE, :1246-1249), each from
   the turn's rows, k (x1's last dim) and n; then the AddRmsNorm tiling once for tile_m rows and once for
   tail_m rows (common_add_rms_norm_tiling.cpp), with the full vector-core count (useHalfBlockDim false, :75).
2. The kernel (op_kernel/matmul_all_reduce_add_rms_norm.cpp:106-110) picks the aligned or the unaligned
   (ND->NZ first) matmul template from ONE tiling key: the one the LAST matmul tiling set, the tail's when
   there is a tail (matmul_all_reduce_tiling_910.cpp:107-113, the key is read back from the context at :59).
   The matmul writes into normOut, the all-reduce runs per turn, then the vector cores run AddRmsNorm per
   finished turn, tile turns with the tile tiling and tail turns with the tail tiling (add_rms_norm_kernel.h:81-91).

Platform facts the source reads (cube/vector cores, UB) come from sim/cann/paths.py PLATFORMS; the L0A/L0B
size is a named option here (A2_L0AB_BYTES). Decisions taken in code that is not published (the tiling
knowledge bank's matching, the v2 "cache tiling" of small transposed shapes) are Branches with
published=False or sides that end the model's reach (the base-block branches after them are then not decided).

Not decided from shapes (so not Branches): how many finished turns one AddRmsNorm pass takes (the kernel
polls HCCL and takes every turn finished so far, add_rms_norm_kernel.h:61-96): timing, not shape; each row is
normalised on its own, so the result does not depend on it.

The inplace operator: its tiling context differs (MARN-CTX) and y is the residual buffer. No kernel mode reads
a row of residual after writing that row's y except through the same address it just wrote (Normal/SplitD
read y back only where they wrote it: add_rms_norm.h:125-152, add_rms_norm_split_d.h:126-164, :231), and every
multi-row mode reads a pass's x and residual rows before writing its y rows (add_rms_norm_multi_n.h:129-156,
add_rms_norm_merge_n.h), so no path differs between the two operators beyond MARN-CTX.

Catalogue reach (conformance.casegen.catalogue(): its valid, executed MARN and Inplace cases, both platforms,
with sim/cann/comm_tiling.py's real plan as of wt-comm 50d3156, before any path-designed case; listed in
`CATALOGUE_UNREACHED`). Reached: both operators, every bias kind and x2 layout, the aligned and
unaligned kernels, ND->NZ none/ab, the 128x256 orientation, basic and small-shape tiling, the cache tiling of
small transposed shapes, 24-core row shrinking, every wave count and partial edges on the tile turns, SingleN,
MergeN, MultiN (one row per pass) and Normal, both core splits and pass counts, tail turns in MultiN/Normal.
Not reached (`CATALOGUE_UNREACHED`): ND->NZ of one operand only, the 256x128 orientation, rebalancing,
the bias cap, L2 tiling (> 100 MiB per turn), the tiling bank, SplitD and the MultiN fallback, MultiN with several
rows per pass, and on the tail turns the small shapes. With that plan the shortest turn of a several-turn
plan found (m 100..20000, k 64..32768, n 64..16384, world 2/4/8) has 64 rows (m=3136, k=8192, n=2048, world 2,
a2-24c: turns of 768 and 64 rows), more than the 48 or 40 vector cores, so the tile and tail modes never differed
(the mode depends on rows only through SingleN) and the bf16 RMS source was one per call, as sim-cann's
numerics choose it from m; MARN-ARN-TAIL-MODE/-RMS-SOURCE report it per call should a plan ever differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import comm_tiling
from .marn_host import (
    A2_UB_BYTES,
    BLOCK_ALIGN,
    INPLACE_OP,
    OP,
    RMS_SOURCE,
    SMALL_REDUCE,
    UB_FACTOR_16BIT,
    addrmsnorm_mode,
)
from .model import vendor_transposed
from .paths import HARDWARE_ONLY, Branch, PathQuery, Platform, Side

# --- named options and source constants ------------------------------------------------------------------

A2_L0AB_BYTES = 64 * 1024  # L0A and L0B of an Atlas A2 cube core: platform data, not in the source (UNCONFIRMED)
A2_L0C_BYTES = 128 * 1024  # L0C: not 256 KiB, so the 128-row base block (matmul_v3_base_tiling.cpp:1264)
BT_BYTES = 1024  # bias table with fixpipe L0C->out (matmul_v3_base_tiling.cpp:173)
ELEMENT_BYTES = 2  # fp16 / bf16 (x1, x2, y of this operator)
ND2NZ_ON_THE_FLY_BYTES = (32, 64, 96, 128, 160, 192, 224, 256, 384)  # matmul_v3_base_tiling.cpp:47
ND2NZ_ON_THE_FLY_LIMIT = 65535  # matmul_v3_common.h:60
SMALL_SHAPE_THRES = 256  # matmul_v3_common.h:55
L0C_THRES = 32768  # matmul_v3_base_tiling.cpp:49 (elements of a 128x256 block)
L2_BUDGET_BYTES = 100 * 2**20  # matmul_v3_base_tiling.cpp:1995, times l2Size / 192 MiB (1 on A2)
UB_FACTOR_16BIT_CUTD = 12096  # common_add_rms_norm_tiling.cpp:24
MERGE_N_WEIGHT_16BIT, COL_ALIGN_SIZE = 18, 260  # common_add_rms_norm_tiling.cpp:231, :33
DEFAULT_ROW_FACTOR = 64  # common_add_rms_norm_tiling.cpp:218 (Normal and SplitD rows per pass)
CALC_M_BASIC = ((128, 256, 128), (128, 128, 256), (64, 512, 64))  # (baseM, baseN, baseK bytes), :41
CALC_MN_BASIC = ((64, 64, 512), (128, 128, 256), (128, 256, 128))  # :42

# The matmul tiling knowledge banks (mc2/3rd/mat_mul_v3/op_host/config/ascend910b/*_MatMulV3_runtime_kb.json,
# identical entries at c29bc10, 9.0.0 and master): the fp16 entries with x1 not transposed and ND formats, as
# (m, k, n aligned to 16; x2 transposed; bias; m, k, n already 16-aligned; tilingEnable). bf16 is looked up as
# fp16 (matmul_v3_base_tiling.cpp:825-827). 24-core parts: Ascend910B1/B2 (B2C lacks the 1088 and 118272 rows);
# 20-core parts: B3 and B4 hold one different entry each, so the model takes their union.
_BANK_24 = (
    (240, 8192, 28672, True, False, False, True, True, 2), (240, 28672, 8192, False, False, False, True, True, 2),
    (1024, 3584, 8192, True, False, True, True, True, 0), (1088, 1280, 3840, True, False, False, True, True, 0),
    (2048, 6144, 12288, True, False, True, True, True, 0), (2048, 6656, 6656, True, False, True, True, True, 0),
    (2048, 6656, 17920, True, False, True, True, True, 0), (2048, 12288, 6144, True, False, True, True, True, 0),
    (2048, 17920, 6656, False, False, True, True, True, 0), (2048, 17920, 6656, True, False, True, True, True, 0),
    (4096, 6144, 12288, True, False, True, True, True, 0), (4096, 7168, 8192, False, False, True, True, True, 0),
    (4096, 7168, 64640, True, False, True, True, True, 0), (4096, 7168, 129280, True, False, True, True, True, 0),
    (4096, 16640, 12288, False, False, True, True, True, 0), (4096, 64640, 7168, False, False, True, True, True, 2),
    (8192, 5120, 6272, False, False, True, True, True, 0), (8192, 13696, 4096, True, False, True, True, True, 0),
    (8192, 27392, 4096, False, False, True, True, True, 2), (75616, 1536, 512, False, False, False, True, True, 0),
    (118272, 3072, 9216, True, False, False, True, True, 0), (118272, 3072, 12288, True, False, False, True, True, 0),
)
_BANK_20 = (
    (240, 8192, 28672, True, False, False, True, True, 2), (512, 13696, 5120, True, False, True, True, True, 0),
)
BANK = {24: {e[:8]: e[8] for e in _BANK_24}, 20: {e[:8]: e[8] for e in _BANK_20}}

# --- source locations ------------------------------------------------------------------------------------

_MRN = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/matmul_all_reduce_add_rms_norm_tiling.cpp"
_ARN = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/common_add_rms_norm_tiling.cpp"
_MV3 = "mc2/3rd/mat_mul_v3/op_host/op_tiling/matmul_v3_base_tiling.cpp"
_T910 = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_910.cpp"
_KER = "mc2/matmul_all_reduce_add_rms_norm/op_kernel/matmul_all_reduce_add_rms_norm.cpp"
_GEN = "mc2/matmul_all_reduce_add_rms_norm/op_kernel/mm_allreduce_add_rms_norm_910_general.h"
_BASE_K = "mc2/matmul_all_reduce/op_kernel/matmul_all_reduce_base.h"
_MAR = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_BLOCK = "mc2/3rd/mat_mul_v3/op_kernel/mat_mul_base_block.h"
_ARN_K = "mc2/matmul_all_reduce_add_rms_norm/op_kernel/add_rms_norm.h"
_SPLIT_K = "mc2/matmul_all_reduce_add_rms_norm/op_kernel/add_rms_norm_split_d.h"
_MRN_32 = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/arch32/matmul_all_reduce_add_rms_norm_tiling.cpp"
_MRN_22 = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/arch22/matmul_all_reduce_add_rms_norm_tiling.cpp"
_ARN_32 = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/arch32/common_add_rms_norm_tiling.cpp"
_ARN_22 = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/arch22/common_add_rms_norm_tiling.cpp"
_KER_22 = "mc2/matmul_all_reduce_add_rms_norm/op_kernel/arch22/matmul_all_reduce_add_rms_norm.cpp"
_MAR_BASE = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_base.cpp"  # 8.5.0-beta.1 on

# Where each decision is at the newer revisions (sim/cann/revisions names), where it differs from the baseline:
# (revision, path, line) of the same statement in that revision's file (the MARN tiling files move to arch32/
# at 9.1.0-beta.1 and arch22/ from 9.1.0-beta.2, the kernel to arch22/ from 9.1.0-beta.3; the rest shift).
_MOVED_AT: dict[str, tuple[tuple[str, str, int], ...]] = {
    "MARN-CTX": (
        ("9.1.0-beta.1", _MRN_32, 96), ("9.1.0-beta.2", _MRN_22, 96), ("9.1.0-beta.3", _MRN_22, 96),
        ("9.1.0", _MRN_22, 96), ("master", _MRN_22, 97),
    ),
    "MARN-MM-BIAS": (
        ("8.5.0-beta.1", _MAR_BASE, 465), ("8.5.0", _MAR_BASE, 465), ("9.0.0-beta.1", _MAR_BASE, 477),
        ("9.0.0-beta.2", _MAR_BASE, 489), ("9.0.0", _MAR_BASE, 490), ("9.1.0-beta.1", _MAR_BASE, 484),
        ("9.1.0-beta.2", _MAR_BASE, 485), ("9.1.0-beta.3", _MAR_BASE, 485), ("9.1.0", _MAR_BASE, 501),
        ("master", _MAR_BASE, 485),
    ),
    "MARN-MM-X2-LAYOUT": (
        ("8.5.0-beta.1", _GEN, 101), ("8.5.0", _GEN, 101), ("9.0.0-beta.1", _GEN, 106), ("9.0.0-beta.2", _GEN, 106),
        ("9.0.0", _GEN, 106), ("9.1.0-beta.1", _GEN, 106), ("9.1.0-beta.2", _GEN, 106), ("9.1.0-beta.3", _GEN, 106),
        ("9.1.0", _GEN, 106), ("master", _GEN, 97),
    ),
    "MARN-MM-KERNEL": (
        ("8.5.0-beta.1", _KER, 105), ("8.5.0", _KER, 105), ("9.0.0-beta.1", _KER, 118), ("9.0.0-beta.2", _KER, 118),
        ("9.0.0", _KER, 118), ("9.1.0-beta.1", _KER, 118), ("9.1.0-beta.2", _KER, 118),
        ("9.1.0-beta.3", _KER_22, 118), ("9.1.0", _KER_22, 118), ("master", _KER_22, 116),
    ),
    "MARN-MM-BANK": (
        ("8.5.0-beta.1", _MV3, 562), ("8.5.0", _MV3, 562), ("9.0.0-beta.1", _MV3, 563), ("9.0.0-beta.2", _MV3, 563),
        ("9.0.0", _MV3, 563), ("9.1.0-beta.1", _MV3, 563), ("9.1.0-beta.2", _MV3, 563), ("9.1.0-beta.3", _MV3, 563),
        ("9.1.0", _MV3, 576), ("master", _MV3, 575),
    ),
    "MARN-MM-ND2NZ": (
        ("8.5.0-beta.1", _MV3, 465), ("8.5.0", _MV3, 465), ("9.0.0-beta.1", _MV3, 466), ("9.0.0-beta.2", _MV3, 466),
        ("9.0.0", _MV3, 466), ("9.1.0-beta.1", _MV3, 466), ("9.1.0-beta.2", _MV3, 466), ("9.1.0-beta.3", _MV3, 466),
        ("9.1.0", _MV3, 479), ("master", _MV3, 477),
    ),
    "MARN-MM-ORIENT": (
        ("8.5.0-beta.1", _MV3, 957), ("8.5.0", _MV3, 957), ("9.0.0-beta.1", _MV3, 958), ("9.0.0-beta.2", _MV3, 958),
        ("9.0.0", _MV3, 958), ("9.1.0-beta.1", _MV3, 958), ("9.1.0-beta.2", _MV3, 958), ("9.1.0-beta.3", _MV3, 958),
        ("9.1.0", _MV3, 975), ("master", _MV3, 974),
    ),
    "MARN-MM-SHAPE": (
        ("8.5.0-beta.1", _MV3, 1272), ("8.5.0", _MV3, 1272), ("9.0.0-beta.1", _MV3, 1273),
        ("9.0.0-beta.2", _MV3, 1273), ("9.0.0", _MV3, 1273), ("9.1.0-beta.1", _MV3, 1273),
        ("9.1.0-beta.2", _MV3, 1273), ("9.1.0-beta.3", _MV3, 1273), ("9.1.0", _MV3, 1290), ("master", _MV3, 1290),
    ),
    "MARN-MM-INCRE": (
        ("8.5.0-beta.1", _MV3, 2143), ("8.5.0", _MV3, 2143), ("9.0.0-beta.1", _MV3, 2144),
        ("9.0.0-beta.2", _MV3, 2144), ("9.0.0", _MV3, 2144), ("9.1.0-beta.1", _MV3, 2144),
        ("9.1.0-beta.2", _MV3, 2144), ("9.1.0-beta.3", _MV3, 2144), ("9.1.0", _MV3, 2161), ("master", _MV3, 2168),
    ),
    "MARN-MM-BALANCE": (
        ("8.5.0-beta.1", _MV3, 619), ("8.5.0", _MV3, 619), ("9.0.0-beta.1", _MV3, 620), ("9.0.0-beta.2", _MV3, 620),
        ("9.0.0", _MV3, 620), ("9.1.0-beta.1", _MV3, 620), ("9.1.0-beta.2", _MV3, 620), ("9.1.0-beta.3", _MV3, 620),
        ("9.1.0", _MV3, 633), ("master", _MV3, 633),
    ),
    "MARN-MM-BIAS-BASEN": (
        ("8.5.0-beta.1", _MV3, 1304), ("8.5.0", _MV3, 1304), ("9.0.0-beta.1", _MV3, 1305),
        ("9.0.0-beta.2", _MV3, 1305), ("9.0.0", _MV3, 1305), ("9.1.0-beta.1", _MV3, 1305),
        ("9.1.0-beta.2", _MV3, 1305), ("9.1.0-beta.3", _MV3, 1305), ("9.1.0", _MV3, 1322), ("master", _MV3, 1322),
    ),
    "MARN-MM-L2": (
        ("8.5.0-beta.1", _MV3, 1996), ("8.5.0", _MV3, 1996), ("9.0.0-beta.1", _MV3, 1997),
        ("9.0.0-beta.2", _MV3, 1997), ("9.0.0", _MV3, 1997), ("9.1.0-beta.1", _MV3, 1997),
        ("9.1.0-beta.2", _MV3, 1997), ("9.1.0-beta.3", _MV3, 1997), ("9.1.0", _MV3, 2014), ("master", _MV3, 2021),
    ),
    "MARN-MM-WAVES": (),
    "MARN-MM-EDGE-M": (
        ("master", _BLOCK, 114),
    ),
    "MARN-MM-EDGE-N": (
        ("master", _BLOCK, 112),
    ),
    "MARN-ARN-MODE": (
        ("8.5.0-beta.1", _ARN, 223), ("8.5.0", _ARN, 223), ("9.0.0-beta.1", _ARN, 223), ("9.0.0-beta.2", _ARN, 223),
        ("9.0.0", _ARN, 223), ("9.1.0-beta.1", _ARN_32, 225), ("9.1.0-beta.2", _ARN_22, 225),
        ("9.1.0-beta.3", _ARN_22, 225), ("9.1.0", _ARN_22, 228), ("master", _ARN_22, 222),
    ),
    "MARN-ARN-CORES": (
        ("8.5.0-beta.1", _ARN, 57), ("8.5.0", _ARN, 57), ("9.0.0-beta.1", _ARN, 57), ("9.0.0-beta.2", _ARN, 57),
        ("9.0.0", _ARN, 57), ("9.1.0-beta.1", _ARN_32, 57), ("9.1.0-beta.2", _ARN_22, 57),
        ("9.1.0-beta.3", _ARN_22, 57), ("9.1.0", _ARN_22, 57), ("master", _ARN_22, 57),
    ),
    "MARN-ARN-PASSES": (
        ("master", _ARN_K, 96),
    ),
    "MARN-ARN-MULTIN-ROWS": (
        ("8.5.0-beta.1", _ARN, 240), ("8.5.0", _ARN, 240), ("9.0.0-beta.1", _ARN, 240), ("9.0.0-beta.2", _ARN, 240),
        ("9.0.0", _ARN, 240), ("9.1.0-beta.1", _ARN_32, 242), ("9.1.0-beta.2", _ARN_22, 242),
        ("9.1.0-beta.3", _ARN_22, 242), ("9.1.0", _ARN_22, 245), ("master", _ARN_22, 239),
    ),
    "MARN-ARN-SPLITD-CHUNKS": (
        ("8.5.0-beta.1", _ARN, 226), ("8.5.0", _ARN, 226), ("9.0.0-beta.1", _ARN, 226), ("9.0.0-beta.2", _ARN, 226),
        ("9.0.0", _ARN, 226), ("9.1.0-beta.1", _ARN_32, 228), ("9.1.0-beta.2", _ARN_22, 228),
        ("9.1.0-beta.3", _ARN_22, 228), ("9.1.0", _ARN_22, 231), ("master", _ARN_22, 225),
    ),
    "MARN-ARN-TAIL-MODE": (
        ("9.1.0-beta.1", _MRN_32, 84), ("9.1.0-beta.2", _MRN_22, 84), ("9.1.0-beta.3", _MRN_22, 84),
        ("9.1.0", _MRN_22, 84), ("master", _MRN_22, 85),
    ),
}
_BASE_AT: dict[str, tuple[str, int]] = {
    "MARN-CTX": (_MRN, 96), "MARN-MM-BIAS": (_MAR, 466), "MARN-MM-X2-LAYOUT": (_GEN, 99),
    "MARN-MM-KERNEL": (_KER, 106), "MARN-MM-BANK": (_MV3, 561), "MARN-MM-ND2NZ": (_MV3, 464),
    "MARN-MM-ORIENT": (_MV3, 956), "MARN-MM-SHAPE": (_MV3, 1271), "MARN-MM-INCRE": (_MV3, 2142),
    "MARN-MM-BALANCE": (_MV3, 618), "MARN-MM-BIAS-BASEN": (_MV3, 1303), "MARN-MM-L2": (_MV3, 1995),
    "MARN-MM-WAVES": (_BLOCK, 133), "MARN-MM-EDGE-M": (_BLOCK, 113), "MARN-MM-EDGE-N": (_BLOCK, 110),
    "MARN-ARN-MODE": (_ARN, 222), "MARN-ARN-CORES": (_ARN, 56), "MARN-ARN-PASSES": (_ARN_K, 95),
    "MARN-ARN-MULTIN-ROWS": (_ARN, 239), "MARN-ARN-SPLITD-CHUNKS": (_ARN, 225), "MARN-ARN-TAIL-MODE": (_MRN, 84),
}


def _loc(stem: str) -> dict:
    """The Branch's source (baseline) and moved (newer revisions) of decision `stem`."""
    path, line = _BASE_AT[stem]
    return dict(source=f"{path}:{line}", moved=tuple((rev, f"{p}:{n}") for rev, p, n in _MOVED_AT[stem]))


MARN_OPS = ("marn", "marn_inplace")
TURNS = ("TILE", "TAIL")

# --- the branches ----------------------------------------------------------------------------------------


def _per_turn(stem: str, stage: str, decision: str, sides: tuple[Side, ...], **kw) -> tuple[Branch, ...]:
    """One Branch per communication turn kind: `stem`-TILE for the tile turns' tiling, `stem`-TAIL for the tail's."""
    out = []
    for turn in TURNS:
        rows = "tile_m (the tile turns' rows)" if turn == "TILE" else "tail_m (the tail turns' rows, when any)"
        out.append(Branch(f"{stem}-{turn}", stage, f"{decision}; rows = {rows}", sides, operators=MARN_OPS,
                          **_loc(stem), **kw))
    return tuple(out)


_HW = f"{HARDWARE_ONLY}: "

# stated reasons for sides no signoff case reaches (conformance/path_coverage.py; tests/test_paths.py's gate)
_SEARCHED = ("unreachable (searched, not proven): no shape with m up to 40,000 reaches it under the modelled "
             "communication cut (a multi-turn plan's turns all exceed the vector cores and share their ND->NZ "
             "ranges); kept so that a model or revision change that makes it reachable shows in `paths`")
_ONLY_24_CORES = "unreachable on a2-20c: the load balancing runs only with 24 cube cores (reached on a2-24c)"
_NO_SHORT_TAIL = ("unreachable in a tail turn (reached as a tile turn): the modelled cut's shortest turn of a "
                  "multi-turn plan is 64 rows, more than the 48 or 40 vector cores SingleN needs at most")

MARN_BRANCHES: tuple[Branch, ...] = (
    Branch("MARN-CTX", "host tiling", "tiling context assembled from the operator's own argument list",
           (Side("out_of_place", "aclnnMatmulAllReduceAddRmsNorm: y is its own output"),
            Side("inplace", "aclnnInplaceMatmulAllReduceAddRmsNorm: y is the residual buffer")),
           operators=MARN_OPS, **_loc("MARN-CTX")),
    Branch("MARN-MM-BIAS", "kernel", "bias handling of the matmul",
           (Side("none", "bias is a null pointer"),
            Side("fp16_bias", "float16 bias: added by the matmul from its own values (cube-only key "
                              "10000000000000001100 when the kernel is the aligned one, "
                              "matmul_all_reduce_tiling_910.cpp:60)"),
            Side("bf16_bias_to_fp32", "bfloat16 bias: cast to float32 into the workspace on a vector core before the "
                                      "first turn (matmul_all_reduce_base.h:83-95); the key keeps the mixed form "
                                      "65536 (enableBiasConvert_, matmul_all_reduce_tiling.cpp:466-467)")),
           operators=MARN_OPS, **_loc("MARN-MM-BIAS")),
    Branch("MARN-MM-X2-LAYOUT", "kernel", "matmul template over x2 as stored: the op_api sets is_trans_b when x2 "
           "is the transposed view of a contiguous matrix (matmul_all_reduce_arn_util.cpp:97), the kernel picks "
           "the transB template from the tile tiling's flag",
           (Side("plain", "x2 is a contiguous (k, n) matrix: transB false"),
            Side("transposed", "x2 is the (k, n) view of a contiguous (n, k) matrix: transB true")),
           operators=MARN_OPS, **_loc("MARN-MM-X2-LAYOUT")),
    Branch("MARN-MM-KERNEL", "kernel",
           "matmul kernel template, from the tiling key of the LAST matmul tiling run (the tail's when there is a "
           "tail turn; matmul_all_reduce_tiling_910.cpp:107-113): aligned MatmulBaseKernel (keys 65536 / "
           "10000000000000001100) or MatmulBaseUnAlignedKernel (key 0, ND->NZ conversion first)",
           (Side("aligned", "no operand needs ND->NZ in the deciding turn, nor in the tile turn"),
            Side("unaligned", "an operand needs ND->NZ in the deciding turn, and in the tile turn"),
            Side("aligned_over_tile_nd2nz",
                 "the tail turn needs no ND->NZ but the tile turn does: the tile turns run the aligned kernel "
                 "with tiling data that asks for a conversion (only m decides, via the m-dependent ND->NZ rules: "
                 "the m-ranges of GetNd2nzA/B: one turn over 4096 rows, the other not)",
                 unreached=_SEARCHED),
            Side("unaligned_over_tile_without",
                 "the tail turn needs ND->NZ, the tile turn does not: the tile turns run the unaligned kernel",
                 unreached=_SEARCHED)),
           operators=MARN_OPS, platform_dependent=True, **_loc("MARN-MM-KERNEL")),
    *_per_turn("MARN-MM-BANK", "host tiling",
               "matmul tiling taken from the tiling knowledge bank (RuntimeKb::QueryBank, "
               "matmul_v3_base_tiling.cpp:798) instead of the formulas",
               (Side("formula", "no bank entry for (m, k, n aligned to 16, x2 transposed, bias, alignment flags)"),
                Side("bank_base", "a bank entry with tilingEnable 0: the bank's base blocks replace the formulas "
                                  "(the base-block branches of this turn are then not decided)",
                     "unreachable on a2-20c (searched, not proven: m to 8,192, k to 16,384, n to 16,384, world 1 and "
                     "2, both dtypes and x2 layouts): the modelled bank entries match the 24-core part's shapes "
                     "(reached on a2-24c)", ("a2-20c",)),
                Side("bank_split_k",
                     "a bank entry with tilingEnable 2 (single-core split-K): at c29bc10 the tiling key then names "
                     "a split-K template that the MARN kernel has no branch for (matmul_all_reduce_add_rms_norm"
                     ".cpp:106-110); from 8.5.0-beta.1 only the ND->NZ bit reaches the key (arch32/matmul_all_"
                     "reduce_tiling_910.cpp:66-78 there) and the base kernel runs with the bank's split-K tiling",
                     _HW + "the bank's split-K entries need x1 + x2 of over 230 M elements per rank")),
               published=False,
               bound="the bank's matching rule is not published (common/stub/op_tiling/runtime_kb_api.cpp:14 is a "
                     "stub); modelled as exact equality of every looked-up field with a published bank entry "
                     "(the *_MatMulV3_runtime_kb.json of the part), the entries being the same at c29bc10, 9.0.0 "
                     "and master; 24-core parts use B1/B2's, 20-core parts the union of B3's and B4's",
               platform_dependent=True),
    *_per_turn("MARN-MM-ND2NZ", "host tiling",
               "which matmul operands are converted ND->NZ before the matmul (GetMoreArgs: inner axis not 256-byte "
               "aligned and not loadable on the fly, the vnchw rule for long outer axes, and the L2 'mata "
               "conflict' rules for n a multiple of 16384 or k == 16384)",
               (Side("none", "x1's k and x2's inner axis are 256-byte aligned (or on-the-fly sizes) and no "
                             "conflict rule applies"),
                Side("a", "only x1 (inner axis k) is converted"),
                Side("b", "only x2 (inner axis n, or k when transposed) is converted"),
                Side("ab", "both are converted")),
               platform_dependent=True),
    *_per_turn("MARN-MM-ORIENT", "host tiling",
               "base block shape before the small-shape rules (SetBaseBlockTiling): plain x2 always 128x256; "
               "transposed x2 by m and n against (cube cores / 2) * 256",
               (Side("m128_n256", "plain x2; or transposed x2 with n large and m not, or neither large and m <= n, "
                                  "or both large and the 128-row layout moves less data"),
                Side("m256_n128", "transposed x2 with m large and n not, or neither large and m > n, or both "
                                  "large and the 256-row layout moves less data")),
               platform_dependent=True),
    *_per_turn("MARN-MM-SHAPE", "host tiling",
               "base-block tiling: the basic blocks, or the small-shape formulas (DoSmallShapeTiling) when m or n "
               "is under 256 or the aligned blocks are fewer than the cube cores",
               (Side("basic", "m >= 256, n >= 256 and (aligned m / baseM) * (aligned n / baseN) >= cube cores"),
                Side("small_shape", "m < 256 or n < 256 or fewer aligned blocks than cube cores")),
               platform_dependent=True),
    *_per_turn("MARN-MM-INCRE", "host tiling",
               "the 'incremental' shape rule (DoIncreTiling): transposed x2, m <= 128, no ND->NZ, no bias",
               (Side("formula", "any of: plain x2, m > 128, an ND->NZ conversion, a bias"),
                Side("cache_tiling", "transposed x2, m <= 128, no ND->NZ, no bias: base blocks from the v2 cache "
                                     "tiling GenTiling (not published: common/stub/op_tiling/op_cache_tiling.cpp); "
                                     "the base-block branches after it are not decided"))),
    *_per_turn("MARN-MM-BALANCE", "host tiling",
               "load balancing of the basic kernel (OptimizeLoadBalanceBasicKernel), only with 24 cube cores and a "
               "128x256 or 256x128 block of baseK 64",
               (Side("none", "another core count, block or baseK, or neither rule below applies"),
                Side("rebalance_rows", "blocks < 4 * 24: baseM recomputed so the blocks fill whole waves",
                     unreached=_ONLY_24_CORES, unreached_on=("a2-20c",)),
                Side("shrink_rows", "blocks >= 96 and 128 < m <= 672: baseM shrunk by 16s while the row-block count "
                                    "stays", unreached=_ONLY_24_CORES, unreached_on=("a2-20c",))),
               platform_dependent=True),
    *_per_turn("MARN-MM-BIAS-BASEN", "host tiling",
               "a bias caps the base block's n at 256 (DoBasicTiling's last step)",
               (Side("unclamped", "no bias, or baseN <= 256"),
                Side("clamped_256", "a bias and a small-shape baseN of 512 (the 64x512 basic of CALC_M_BASIC)")),
               platform_dependent=True),
    *_per_turn("MARN-MM-L2", "host tiling",
               "L2 tiling (DoL2CacheTiling): above 100 MiB of x1 + x2 + out per turn the blocks are grouped into "
               "L2 tiles (CalcTile's search)",
               (Side("whole", "m*k + k*n + m*n elements of 2 bytes <= 100 MiB"),
                Side("tiled", "over 100 MiB and the search splits m or n into several L2 tiles"),
                Side("searched_whole", "over 100 MiB but the search keeps one L2 tile (e.g. n within one block: "
                                       "every split's tail is 'small')")),
               platform_dependent=True),
    *_per_turn("MARN-MM-WAVES", "kernel",
               "rounds of base blocks over the cube cores (mat_mul_base_block.h:133-136; per L2 tile)",
               (Side("under_one_wave", "fewer blocks than cube cores: some cores idle"),
                Side("whole_waves", "blocks a multiple of the cube cores"),
                Side("partial_last_wave", "more blocks than cores, not a multiple: the last round is partial")),
               platform_dependent=True),
    *_per_turn("MARN-MM-EDGE-M", "kernel", "last row block of the matmul (mBaseTail, mat_mul_base_block.h:113)",
               (Side("whole", "m is a multiple of baseM"), Side("partial", "m is not a multiple of baseM")),
               platform_dependent=True),
    *_per_turn("MARN-MM-EDGE-N", "kernel", "last column block of the matmul (nBaseTail, mat_mul_base_block.h:110)",
               (Side("whole", "n is a multiple of baseN"), Side("partial", "n is not a multiple of baseN")),
               platform_dependent=True),
    *_per_turn("MARN-ARN-MODE", "host tiling",
               "AddRmsNorm mode (Tiling4AddRmsNorm) from the turn's rows and n, with the vector-core count",
               (Side("SplitD", "n > 12288: each row in column chunks"),
                Side("SingleN", "rows <= vector cores: one row per core", unreached=_NO_SHORT_TAIL),
                Side("MergeN", "16-aligned n <= 2000: several rows per pass"),
                Side("MultiN", "float16, n a multiple of 16, at least one row fits the UB: several rows per pass"),
                Side("Normal", "any other (bfloat16 with n > 2000, or n not a multiple of 16)"),
                Side("Normal_fallback", "float16, n a multiple of 16 in (10848, 12288]: MultiN fits no row in the "
                                        "UB and falls back to Normal (:241-245)")),
               platform_dependent=True),
    *_per_turn("MARN-ARN-CORES", "kernel", "rows per vector core (blockFactor = ceil(rows / vector cores))",
               (Side("even", "rows a multiple of blockFactor: every used core gets blockFactor rows"),
                Side("short_last_core", "the last used core gets fewer rows")),
               platform_dependent=True),
    *_per_turn("MARN-ARN-PASSES", "kernel",
               "passes over a core's rows (rowFactor rows each, add_rms_norm.h:95-99) in MergeN, MultiN, Normal "
               "and SplitD",
               (Side("one_pass", "blockFactor <= rowFactor"),
                Side("several_passes", "blockFactor > rowFactor: several passes, the last one possibly partial")),
               platform_dependent=True),
    *_per_turn("MARN-ARN-MULTIN-ROWS", "host tiling", "rows MultiN takes per pass (rowFactor, :239)",
               (Side("one_row", "rowFactor == 1 (n > 5440 among multiples of 16)"),
                Side("several_rows", "rowFactor > 1")),
               platform_dependent=True),
    *_per_turn("MARN-ARN-SPLITD-CHUNKS", "host tiling", "SplitD's column chunks (colTileNum, ubFactor; :225-226)",
               (Side("even", "n a multiple of the chunk width"),
                Side("short_last_chunk", "the last chunk is narrower"))),
    Branch("MARN-ARN-TAIL-MODE", "host tiling", "AddRmsNorm mode of the tail turns against the tile turns' "
           "(two Tiling4AddRmsNorm calls, matmul_all_reduce_add_rms_norm_tiling.cpp:79, :88)",
           (Side("same_mode", "the tail rows select the tile rows' mode"),
            Side("other_mode", "the tail rows select another mode (e.g. tail rows <= vector cores: SingleN)",
                 unreached=_SEARCHED)),
           operators=MARN_OPS, platform_dependent=True, **_loc("MARN-ARN-TAIL-MODE")),
    Branch("MARN-ARN-RMS-SOURCE", "kernel",
           "bfloat16 value feeding the RMS (marn_host.RMS_SOURCE) across the turns",
           (Side("one_source", "every turn's mode uses the same (mean-square, numerator) sources"),
            Side("per_turn_sources", "tile and tail modes use different sources (e.g. Normal's fp32 sum on the "
                                     "tile turns, SingleN's rounded y on the tail turns)", unreached=_SEARCHED)),
           operators=MARN_OPS, platform_dependent=True, **_loc("MARN-ARN-TAIL-MODE")),
)

BRANCHES: tuple[Branch, ...] = tuple(comm_tiling.BRANCHES) + MARN_BRANCHES

# "branch:side" that no valid executed catalogue case reached on either platform, measured on the catalogue of
# 5984e79 with the comm plan of wt-comm 50d3156 (before any path-designed case): the sides cases were designed for
CATALOGUE_UNREACHED: tuple[str, ...] = (
    "MARN-MM-KERNEL:aligned_over_tile_nd2nz", "MARN-MM-KERNEL:unaligned_over_tile_without",
    "MARN-MM-BANK-TILE:bank_base", "MARN-MM-BANK-TILE:bank_split_k", "MARN-MM-BANK-TAIL:bank_base",
    "MARN-MM-BANK-TAIL:bank_split_k", "MARN-MM-ND2NZ-TILE:a", "MARN-MM-ND2NZ-TILE:b", "MARN-MM-ND2NZ-TAIL:a",
    "MARN-MM-ND2NZ-TAIL:b", "MARN-MM-ND2NZ-TAIL:ab", "MARN-MM-ORIENT-TILE:m256_n128", "MARN-MM-ORIENT-TAIL:m256_n128",
    "MARN-MM-SHAPE-TAIL:small_shape", "MARN-MM-INCRE-TAIL:cache_tiling", "MARN-MM-BALANCE-TILE:rebalance_rows",
    "MARN-MM-BALANCE-TAIL:rebalance_rows", "MARN-MM-BALANCE-TAIL:shrink_rows", "MARN-MM-BIAS-BASEN-TILE:clamped_256",
    "MARN-MM-BIAS-BASEN-TAIL:clamped_256", "MARN-MM-L2-TILE:tiled", "MARN-MM-L2-TILE:searched_whole",
    "MARN-MM-L2-TAIL:tiled", "MARN-MM-L2-TAIL:searched_whole", "MARN-MM-WAVES-TAIL:under_one_wave",
    "MARN-MM-EDGE-M-TAIL:partial", "MARN-MM-EDGE-N-TAIL:partial", "MARN-ARN-MODE-TILE:SplitD",
    "MARN-ARN-MODE-TILE:Normal_fallback", "MARN-ARN-MODE-TAIL:SplitD", "MARN-ARN-MODE-TAIL:SingleN",
    "MARN-ARN-MODE-TAIL:MergeN", "MARN-ARN-MODE-TAIL:Normal_fallback", "MARN-ARN-MULTIN-ROWS-TILE:several_rows",
    "MARN-ARN-MULTIN-ROWS-TAIL:several_rows", "MARN-ARN-SPLITD-CHUNKS-TILE:even",
    "MARN-ARN-SPLITD-CHUNKS-TILE:short_last_chunk", "MARN-ARN-SPLITD-CHUNKS-TAIL:even",
    "MARN-ARN-SPLITD-CHUNKS-TAIL:short_last_chunk", "MARN-ARN-TAIL-MODE:other_mode",
    "MARN-ARN-RMS-SOURCE:per_turn_sources",
)


# --- the query's quantities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operands:
    """What the tiling reads of one call: m (x1 rows, b*s for 3-D x1), k, n, dtype, x2 layout, bias."""

    m: int
    k: int
    n: int
    dtype: str
    x2_transposed: bool
    bias: bool
    inplace: bool


def _x2_transposed(t) -> bool:
    """casegen TensorSpec: its layout; protocol TensorArg: the op_api's own test on its strides."""
    if getattr(t, "layout", None) is not None:
        return t.layout in ("transposed", "nz_transposed")
    return vendor_transposed(t)


def operands(q: PathQuery) -> Operands | None:
    """The call's matmul quantities, or None where the host rejects it before tiling (or it takes the empty
    short-cut), so that no path decision is met."""
    x1, x2, res = q.shape("x1"), q.shape("x2"), q.shape("residual")
    if x1 is None or x2 is None or res is None or q.tensors.get("gamma") is None:
        return None
    if len(x1) not in (2, 3) or len(x2) != 2 or len(res) != 3:
        return None
    dtype = q.dtype("x1")
    if dtype not in ("float16", "bfloat16") or q.dtype("x2") != dtype or q.world_size not in (1, 2, 4, 8):
        return None
    m = x1[0] * (x1[1] if len(x1) == 3 else 1)
    k, n = x1[-1], x2[-1]
    if any(q.format(name) == "FRACTAL_NZ" for name in ("x1", "x2", "residual")):
        return None  # no kernel for an NZ tensor (host rule CANN-MARN-H09)
    if min(m, k, n) <= 0 or max(m, k, n) > 2**31 - 1 or x2[0] != k or res[-1] != n:
        return None
    bias = q.tensors.get("bias") is not None
    return Operands(m, k, n, dtype, _x2_transposed(q.tensors["x2"]), bias, q.op == INPLACE_OP)


# --- the matmul tiling of one turn (matmul_v3_base_tiling.cpp) --------------------------------------------


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _align(a: int, b: int) -> int:
    return _ceil(a, b) * b


def _aligned256(elements: int) -> bool:
    return elements * ELEMENT_BYTES % 256 == 0  # Is256BAlign, matmul_v3_common.h:217


def _vnchw(outer: int, inner: int, on_the_fly: bool) -> bool:
    """NeedNd2NzVnchw (:516-531): long outer axis with a short unaligned inner axis."""
    b = inner * ELEMENT_BYTES
    fits = outer > 8192 and inner > 1 and (b <= 192 or (b <= 384 and inner % 2 == 0) or (b <= 512 and inner % 4 == 0))
    return fits and not _aligned256(inner) and not on_the_fly and inner != 32 // ELEMENT_BYTES


def nd2nz(m: int, k: int, n: int, *, x2_transposed: bool, cube_cores: int) -> tuple[bool, bool]:
    """(x1 converted, x2 converted) for a turn of m rows (GetMoreArgs :425-493, GetNd2nzA/B :401-423)."""
    inner_b, outer_b = (k, n) if x2_transposed else (n, k)
    fly_a = k * ELEMENT_BYTES in ND2NZ_ON_THE_FLY_BYTES
    fly_b = inner_b * ELEMENT_BYTES in ND2NZ_ON_THE_FLY_BYTES
    a = (not _aligned256(k) or k > ND2NZ_ON_THE_FLY_LIMIT) and not fly_a
    b = (not _aligned256(inner_b) or inner_b > ND2NZ_ON_THE_FLY_LIMIT) and not fly_b
    a = a or _vnchw(m, k, fly_a)
    b = b or _vnchw(outer_b, inner_b, fly_b)
    conflict_a = (not x2_transposed and n % 16384 == 0 and (m > 4096 or (m == 4096 and cube_cores >= 24))
                  and k >= 6656)
    conflict_b = x2_transposed and k == 16384 and 4096 <= m <= 4480 and n >= 7168 and cube_cores >= 24
    return a, b or conflict_a or conflict_b


def bank_entry(m: int, k: int, n: int, *, x2_transposed: bool, bias: bool, cube_cores: int) -> int | None:
    """The bank entry's tilingEnable for this turn, None if the bank has none (GetTilingInputArgs :816-833)."""
    key = (_align(m, 16), _align(k, 16), _align(n, 16), x2_transposed, bias, m % 16 == 0, k % 16 == 0, n % 16 == 0)
    return BANK.get(cube_cores, {}).get(key)


@dataclass
class MatmulTurn:
    """The sides one turn's matmul tiling takes, and its final base block where the model reaches it."""

    sides: dict
    base_m: int = 0
    base_n: int = 0


def _cal_base_size(cnt: int, cores: int, size: int, max_base: int) -> int:  # CalBaseSize :90-102
    cur = 1 if cnt == 0 else max(cores // cnt, 1)
    return min(_align(max(size // cur, 1), 16), max_base)


def _cal_base_mn(m: int, n: int, base_m: int, base_n: int, max_m: int, max_n: int, cores: int) -> tuple[int, int]:
    """CalBaseMBaseN (:1523-1545)."""
    m_core, n_core = _ceil(m, max_m), _ceil(n, max_n)
    if m_core < n_core:
        base_n = min(_align(max(n // max(cores // m_core, 1), 1), 16), max_n)
    else:
        base_m = min(_align(max(m // max(cores // n_core, 1), 1), 16), max_m)
    return _align(min(m, base_m), 16), _align(min(n, base_n), 16)


def _balance(m: int, n: int, bias: bool, cores: int) -> tuple[int, int, int]:
    """BalanceBaseBlockTiling (:1432-1475), both operands converted: (baseM, baseN, baseK)."""
    l0ab, db = A2_L0AB_BYTES, 2
    if m >= 128:
        base_m = 128
        base_n = min(_align(_ceil(n, max(cores // max(_ceil(m, 128), 1), 1)), 16), 256)
        ka = l0ab // db // ELEMENT_BYTES // 256
        kb = l0ab // (db * ELEMENT_BYTES * base_n)
    else:
        base_m = _align(m, 16)
        base_n = max(_align(max(n // cores, 1), 16), 128 if m >= 64 else 1024)
        max_n = (A2_L0C_BYTES // (4 * base_m)) // 16 * 16
        if bias:
            max_n = min(max_n, BT_BYTES // 4)
        base_n = min(base_n, max_n)
        tail_cores = _ceil(n, 256) % cores if base_n > 256 else 0
        if _ceil(n, base_n) % cores < tail_cores:
            base_n = 256
        ka = l0ab // (db * ELEMENT_BYTES * base_m)
        kb = l0ab // (db * ELEMENT_BYTES * base_n)
    base_k = min(ka, kb) // 16 * 16
    if min(base_m, base_n, base_k) <= 0 or base_m % 16 or base_n % 16:
        return 128, 256, 64
    return base_m, base_n, base_k


def _small_shape(m: int, k: int, n: int, base_m: int, base_n: int, *, x2_transposed: bool, bias: bool,
                 cores: int) -> tuple[int, int, int]:
    """DoSmallShapeTiling (:1209-1232) with FormulaicBaseBlockTiling (:1356-1430) and CalcBase (:1485-1521)."""
    base_k = 64
    if not x2_transposed:  # NO_TRANS
        n_core = _ceil(n, base_n)
        best = None
        for bm, bn, bk in CALC_M_BASIC:  # M_BY_BASE_NK
            n_cnt = _ceil(n, bn)
            tm = _cal_base_size(n_cnt, cores, m, bm)
            blocks = _ceil(m, tm) * n_cnt
            load = (tm + bn) * (blocks // cores) + ((tm + bn) if blocks % cores else 0)
            if best is None or load < best[0]:
                best = (load, tm, bn, bk // ELEMENT_BYTES)
        _, base_m, base_n, base_k = best
        ka, nb = _aligned256(k), _aligned256(n)
        if not ka and not nb:
            base_m, base_n, base_k = _balance(m, n, bias, cores)
        elif not ka:
            base_n, base_k = 256, 64
            base_m = _cal_base_size(n_core, cores, m, 128)
        elif not nb:
            base_k = 64
            base_m, base_n = _cal_base_mn(m, n, base_m, base_n, 128, 256, cores)
    else:  # B_TRANS
        best = None
        for bm, bn, bk in CALC_MN_BASIC:  # MN_BY_BASE_K
            tm, tn = _cal_base_mn(m, n, bm, bn, bm, bn, cores)
            blocks = _ceil(m, tm) * _ceil(n, tn)
            load = (tm + tn) * (blocks // cores) + ((tm + tn) if blocks % cores else 0)
            if best is None or load < best[0]:
                best = (load, tm, tn, bk // ELEMENT_BYTES)
        _, base_m, base_n, base_k = best
        if not _aligned256(k):
            base_m, base_n, base_k = _balance(m, n, bias, cores)
    lo = 128
    if lo < m < SMALL_SHAPE_THRES and base_n > lo:
        base_n = lo
    elif lo < n < SMALL_SHAPE_THRES and base_m > lo:
        base_m = lo
    elif base_m * base_n > L0C_THRES:
        base_m = lo if lo < base_m < SMALL_SHAPE_THRES else base_m
        base_n = lo if lo < base_n < SMALL_SHAPE_THRES else base_n
    if base_m * base_n > L0C_THRES:
        base_m = L0C_THRES // base_n
    return base_m, base_n, base_k


def _l2_tiles(m: int, k: int, n: int, base_m: int, base_n: int, *, x2_transposed: bool, cores: int,
              l2_ratio: float) -> tuple[str, int, int]:
    """DoL2CacheTiling (:1981-2025) with CalcTile (:1685-1733): (side, m blocks, n blocks of one L2 tile)."""
    budget = l2_ratio * L2_BUDGET_BYTES
    m_split, n_split = m, n
    if (m * k + k * n + m * n) * ELEMENT_BYTES > budget:
        if base_n >= base_m:
            out_b, in_b, out_v, in_v, inner_bad = base_n, base_m, n, m, False  # isATrans
        else:
            out_b, in_b, out_v, in_v, inner_bad = base_m, base_n, m, n, not x2_transposed
        max_c, min_c = (5, 4) if cores == 20 else (min(cores, 6), min(cores, 3))
        in_max = min_c if inner_bad else max_c
        found, out_s, in_s, out_conf, in_conf = False, out_v, in_v, 0, 0
        for out_use in range(cores, cores // max_c - 1, -1):
            for in_use in range(cores, cores // in_max - 1, -1):
                out_t = max(out_v // (out_b * out_use), 1)
                in_t = max(in_v // (in_b * in_use), 1)
                os_, is_ = _align(_ceil(out_v, out_t), out_b), _align(_ceil(in_v, in_t), in_b)
                if (os_ * k + k * is_ + os_ * is_) * ELEMENT_BYTES > budget:
                    continue
                out_cnt = _ceil((out_v + os_ - 1) % os_ + 1, out_b)
                in_cnt = _ceil((in_v + is_ - 1) % is_ + 1, in_b)
                if out_cnt * max_c < cores or in_cnt * in_max < cores:
                    continue
                oc, ic = _ceil(cores, out_cnt), _ceil(cores, in_cnt)
                if not found or (out_conf >= oc and in_conf >= ic):
                    found, out_s, in_s, out_conf, in_conf = True, os_, is_, oc, ic
        if found:
            m_split, n_split = (in_s, out_s) if base_n >= base_m else (out_s, in_s)
        m_blocks, n_blocks = _ceil(m_split, base_m), _ceil(n_split, base_n)
        tiles = _ceil(m, m_blocks * base_m) * _ceil(n, n_blocks * base_n)
        return ("tiled" if tiles > 1 else "searched_whole"), m_blocks, n_blocks
    return "whole", _ceil(m, base_m), _ceil(n, base_n)


def matmul_turn(m: int, k: int, n: int, *, x2_transposed: bool, bias: bool, platform: Platform) -> MatmulTurn:
    """Every matmul-tiling side of one turn of m rows (suffix-free branch stems -> side)."""
    sides, base_m, base_n = _matmul_turn(m, k, n, x2_transposed, bias, platform)
    return MatmulTurn(dict(sides), base_m, base_n)


@lru_cache(maxsize=8192)  # a catalogue or a design grid meets the same turn at every world size and operator
def _matmul_turn(m: int, k: int, n: int, x2_transposed: bool, bias: bool,
                 platform: Platform) -> tuple[tuple[tuple[str, str], ...], int, int]:
    turn = _tile_matmul(m, k, n, x2_transposed=x2_transposed, bias=bias, platform=platform)
    return tuple(turn.sides.items()), turn.base_m, turn.base_n


def _tile_matmul(m: int, k: int, n: int, *, x2_transposed: bool, bias: bool, platform: Platform) -> MatmulTurn:
    cores = platform.cube_cores
    a, b = nd2nz(m, k, n, x2_transposed=x2_transposed, cube_cores=cores)
    sides = {"MARN-MM-ND2NZ": "ab" if a and b else "a" if a else "b" if b else "none"}
    entry = bank_entry(m, k, n, x2_transposed=x2_transposed, bias=bias, cube_cores=cores)
    if entry is not None:
        sides["MARN-MM-BANK"] = "bank_split_k" if entry >= 2 else "bank_base"
        return MatmulTurn(sides)
    sides["MARN-MM-BANK"] = "formula"
    # DoBasicTiling (:1261-1309) with SetBaseBlockTiling (:934-981), A2: 128 KiB L0C, fixpipe, no bf16 BT
    base_m, base_n = 128, 256
    if x2_transposed:
        half = (cores >> 1) * 256
        m_large, n_large = m >= half, n >= half
        if m_large and n_large:
            by_m = _ceil(m, 256) * n + _ceil(n, 128) * m
            by_n = _ceil(m, 128) * n + _ceil(n, 256) * m
            if by_m < by_n:
                base_m, base_n = 256, 128
        elif m_large or (not n_large and m > n):
            base_m, base_n = 256, 128
    sides["MARN-MM-ORIENT"] = f"m{base_m}_n{base_n}"
    base_k = 64
    small = (_align(m, 128) // base_m) * (_align(n, 256) // base_n) < cores or m < 256 or n < 256
    sides["MARN-MM-SHAPE"] = "small_shape" if small else "basic"
    if small:
        base_m, base_n, base_k = _small_shape(m, k, n, base_m, base_n, x2_transposed=x2_transposed, bias=bias,
                                              cores=cores)
    if x2_transposed and m <= 128 and not (a or b) and not bias:
        sides["MARN-MM-INCRE"] = "cache_tiling"
        return MatmulTurn(sides)
    sides["MARN-MM-INCRE"] = "formula"
    balance = "none"
    if cores == 24 and base_m * base_n == L0C_THRES and base_k == 128 // ELEMENT_BYTES:
        m_core, n_core = _ceil(m, base_m), _ceil(n, base_n)
        if m_core * n_core < 4 * cores:
            balance = "rebalance_rows"
            base_m = _align(_ceil(m, _align(m_core * n_core, cores) // n_core), 16)
        elif 128 < m <= 672:
            balance = "shrink_rows"
            while base_m > 16 and _ceil(m, base_m - 16) == m_core:
                base_m -= 16
    sides["MARN-MM-BALANCE"] = balance
    l2, m_blocks, n_blocks = _l2_tiles(m, k, n, base_m, base_n, x2_transposed=x2_transposed, cores=cores,
                                       l2_ratio=platform.l2_bytes / (192 * 2**20))
    sides["MARN-MM-L2"] = l2
    if bias:
        sides["MARN-MM-BIAS-BASEN"] = "clamped_256" if base_n > 256 else "unclamped"
        base_n = min(base_n, 256)
        n_blocks = _ceil(n, base_n) if l2 == "whole" else n_blocks
    else:
        sides["MARN-MM-BIAS-BASEN"] = "unclamped"
    blocks = m_blocks * n_blocks
    sides["MARN-MM-WAVES"] = ("under_one_wave" if blocks < cores else
                              "whole_waves" if blocks % cores == 0 else "partial_last_wave")
    sides["MARN-MM-EDGE-M"] = "partial" if m % base_m else "whole"
    sides["MARN-MM-EDGE-N"] = "partial" if n % base_n else "whole"
    return MatmulTurn(sides, base_m, base_n)


# --- the AddRmsNorm tiling of one turn (common_add_rms_norm_tiling.cpp) -----------------------------------


def arn_turn(rows: int, n: int, dtype: str, *, platform: Platform) -> dict:
    """Every AddRmsNorm side of one turn of `rows` rows (suffix-free branch stems -> side)."""
    cores, ub = platform.vector_cores, platform.ub_bytes
    mode = addrmsnorm_mode(rows, n, dtype, vector_cores=cores, ub_size=ub)
    n_align = _align(n, BLOCK_ALIGN)
    if mode == "Normal" and dtype == "float16" and n == n_align and n_align > SMALL_REDUCE and rows > cores:
        mode = "Normal_fallback"  # MultiN's row factor was 0 (:241-245)
    block_factor = _ceil(rows, cores)
    sides = {"MARN-ARN-MODE": mode,
             "MARN-ARN-CORES": "even" if rows % block_factor == 0 else "short_last_core"}
    if mode == "MergeN":
        row_factor = ub // (n_align * MERGE_N_WEIGHT_16BIT + COL_ALIGN_SIZE)
    elif mode == "MultiN":
        row_factor = (ub - 1024 - 256 - n_align * 2) // (n_align * 16 + 64)
        sides["MARN-ARN-MULTIN-ROWS"] = "one_row" if row_factor == 1 else "several_rows"
    else:
        row_factor = DEFAULT_ROW_FACTOR
    if mode != "SingleN":
        sides["MARN-ARN-PASSES"] = "several_passes" if block_factor > row_factor else "one_pass"
    if mode == "SplitD":
        chunks = _ceil(n, UB_FACTOR_16BIT_CUTD)
        width = _ceil(n, chunks * BLOCK_ALIGN) * BLOCK_ALIGN
        sides["MARN-ARN-SPLITD-CHUNKS"] = "even" if n % width == 0 else "short_last_chunk"
    return sides


def rms_sources(mode: str, dtype: str) -> tuple[str, str]:
    """(mean-square source, numerator source) of a mode (marn_host.RMS_SOURCE; float16 always the rounded y)."""
    if dtype != "bfloat16":
        return ("rounded_y", "rounded_y")
    return RMS_SOURCE["Normal" if mode == "Normal_fallback" else mode]


# --- the decision ----------------------------------------------------------------------------------------


def decide(q: PathQuery) -> dict[str, str]:
    """{branch id: side} for the decisions this invocation meets: {} where it takes the empty short-cut or has no
    fp16/bf16 kernel or tiling (see `operands`); a call the host rejects for another reason (attributes,
    strides, ...) is not screened here: place only the calls marn_host.check accepts."""
    ops = operands(q)
    if ops is None:
        return {}
    m, k, n = ops.m, ops.k, ops.n
    taken = dict(comm_tiling.decide(q, m=m, k=k, n=n))
    taken["MARN-CTX"] = "inplace" if q.op == INPLACE_OP else "out_of_place"
    taken["MARN-MM-BIAS"] = "none" if not ops.bias else "bf16_bias_to_fp32" if ops.dtype == "bfloat16" else "fp16_bias"
    taken["MARN-MM-X2-LAYOUT"] = "transposed" if ops.x2_transposed else "plain"
    cp = comm_tiling.plan(q, m=m, k=k, n=n)
    turns = [("TILE", cp.tile_m)] + ([("TAIL", cp.tail_m)] if cp.tail_count and cp.tail_m else [])
    mm, arn = {}, {}
    for turn, rows in turns:
        mm[turn] = matmul_turn(rows, k, n, x2_transposed=ops.x2_transposed, bias=ops.bias, platform=q.platform)
        arn[turn] = arn_turn(rows, n, ops.dtype, platform=q.platform)
        taken.update({f"{stem}-{turn}": side for stem, side in mm[turn].sides.items()})
        taken.update({f"{stem}-{turn}": side for stem, side in arn[turn].items()})
    tile_conv = mm["TILE"].sides["MARN-MM-ND2NZ"] != "none"
    last = mm[turns[-1][0]].sides
    last_conv = last["MARN-MM-ND2NZ"] != "none"
    if last["MARN-MM-BANK"] != "bank_split_k":  # that key names no template of this kernel (see MARN-MM-BANK)
        taken["MARN-MM-KERNEL"] = (("unaligned" if tile_conv else "unaligned_over_tile_without") if last_conv else
                                   ("aligned_over_tile_nd2nz" if tile_conv else "aligned"))
    if "TAIL" in arn:
        tile_mode, tail_mode = arn["TILE"]["MARN-ARN-MODE"], arn["TAIL"]["MARN-ARN-MODE"]
        taken["MARN-ARN-TAIL-MODE"] = "same_mode" if tile_mode == tail_mode else "other_mode"
        same = rms_sources(tile_mode, ops.dtype) == rms_sources(tail_mode, ops.dtype)
        taken["MARN-ARN-RMS-SOURCE"] = "one_source" if same else "per_turn_sources"
    else:
        taken["MARN-ARN-RMS-SOURCE"] = "one_source"
    return taken


__all__ = ["BRANCHES", "MARN_BRANCHES", "CATALOGUE_UNREACHED", "decide", "matmul_turn", "arn_turn", "nd2nz",
           "bank_entry", "operands", "rms_sources", "UB_FACTOR_16BIT", "A2_UB_BYTES", "OP"]
