"""sim-cann's path model of aclnnQuantMatmulAllReduceV3: every shape- or flag-dependent decision its host tiling
and kernels take (sim/cann/paths.py's vocabulary), and the side each takes for one invocation.

Read in hicann/ops-transformer at c29bc10 and followed to every modelled revision (sim/cann/revisions). Paths
without a repository are in ops-transformer; `MT` = mc2/matmul_all_reduce/op_host/op_tiling/
matmul_all_reduce_tiling.cpp, `QT` = .../op_tiling/quant_matmul_all_reduce_tiling.cpp, `QBMM` =
mc2/3rd/quant_batch_matmul_v3/op_host/op_tiling/quant_batch_matmul_v3_tiling.cpp, `K` = mc2/matmul_all_reduce/
op_kernel/. Host-side checks and numeric facts are v3_host's (RULES, KERNEL_FACTS); this module only places an
accepted invocation on the paths.

What one invocation goes through (per communication turn of comm_tiling.plan's tile_m / tail_m rows):
1. Kernel variant (K matmul_all_reduce.cpp:119-187; QT:45-56 adds 10 to the key for low-bit communication): fp16
   output without pertokenScale dequantises in the matmul's fixpipe; fp16 with pertokenScale, and bf16, dequantise
   on the vector unit in UB passes. The quantised matmul is QuantBatchMatmulV3 tiled per turn (QT:119-136).
2. Matmul base blocks (QBMM): baseM/baseN come from the TBE cache tiling, which is NOT published (GenTiling is a stub
   in mc2/3rd/ops_legacy/op_tiling/op_cache_tiling.cpp:28-33): `ASSUMED_BASE_BLOCK` names the model's choice. The
   published small-m re-tiling (QBMM:606-713, 24-core parts only) fixes them where it applies.
3. x3 (K matmul_all_reduce_base.h:100 plain path; low-bit paths add it before quantising) in UB chunks of
   addX3UbCnt elements over the vector cores (MT:1455-1468, K matmul_all_reduce_add_x3.h:28-40).
4. Low-bit communication (both comm scales): rows padded to the rank count (QT:65-76), quantise per channel (K
   matmul_all_reduce_quant_perchannel.h), all-to-all issued two turns at a time (K ..._quant_fp16_comm_int8.h:193-228),
   reduce-sum (K ..._quant_reduce_sum.h), all-gather and dequantise (K ..._dequant_perchannel.h). Each vector stage
   splits rows over the vector cores (or rows and columns for very long rows) and copies several rows per UB copy;
   the UB row pitch of such copies is computed in 512-byte units at c29bc10 and 8.5.0-beta.1 and in 32-byte units
   from 8.5.0 on (behaviour.md §5): `OLD_ROW_PITCH_REVISIONS`.

decide(q) assumes q passes v3_host.check (the host rules); for a query the host would reject the sides say what the
tiling would do with it. It returns nothing for an invocation that computes nothing (empty m, n or k).

Not modelled (not decidable from a query, which holds shapes only): the x3-aliases-output skip of the plain path
(matmul_all_reduce_base.h:100 compares device pointers).

Catalogue reach (conformance.casegen.catalogue(), the cases not meant to be rejected, both platforms, c29bc10 and
master, with comm_tiling's plan as merged from wt-comm; the catalogue has m = 128 "medium" cases besides the m <= 15
ones): reached - every side of KERNEL-VARIANT, BIAS, X3, LOWBIT, X2-FORMAT, X2-TRANSPOSED, MM-N-BLOCKS, MM-WAVES,
UB-DEQUANT-PASSES, LOWBIT-PAD; DEQUANT-SCALE-MODE per_tensor/per_channel; MM-M-BLOCKS single_block (and
several_blocks_partial_last by a shape-only case only); MM-SMALL-M-RETILE cache_tiling; X3-UB-CHUNKS one_chunk (and
several_chunks by a shape-only case only); LOWBIT-TURN-PAIRS single_turn; each low-bit SPLIT one_row_per_core and
several_rows_per_core; each LAYOUT one_row_per_copy and several_rows_unaligned_row (the medium low-bit cases, n = 320).
Not reached: per_channel_single_element, small_m_retile, several_blocks_whole_last (M), last_core_only,
several_chunks (executed), paired_turns, paired_turns_plus_one, every split_mn, every several_rows_aligned_row.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import comm_tiling, revisions
from .paths import Branch, PathQuery, Platform, Side
from .revisions import V3_PER_TENSOR_SCALE_EXACT

OPS = ("v3",)
OUT_DTYPES = ("float16", "bfloat16")  # the kernels' output dtypes (CANN-V3-H04)
WORLD_SIZES = (1, 2, 4, 8)  # the rank counts tiling accepts (CANN-V3-H26)
_MT = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_QT = "mc2/matmul_all_reduce/op_host/op_tiling/quant_matmul_all_reduce_tiling.cpp"
_QBMM = "mc2/3rd/quant_batch_matmul_v3/op_host/op_tiling/quant_batch_matmul_v3_tiling.cpp"
_QBMM_BF16 = "mc2/3rd/quant_batch_matmul_v3/op_kernel/quant_batch_matmul_v3_bf16.h"
_K = "mc2/matmul_all_reduce/op_kernel/"
_KERNEL = _K + "matmul_all_reduce.cpp"
_BASE = _K + "matmul_all_reduce_base.h"
_ADD_X3 = _K + "matmul_all_reduce_add_x3.h"
_COMM_INT8 = _K + "matmul_all_reduce_quant_fp16_comm_int8.h"
_QUANT = _K + "matmul_all_reduce_quant_perchannel.h"
_REDUCE = _K + "matmul_all_reduce_quant_reduce_sum.h"
_DEQUANT = _K + "matmul_all_reduce_dequant_perchannel.h"

# ---- facts of the source (constants read there) and of the platform --------------------------------------------
FRACTAL = 16  # BLOCK_CUBE: the cube's row/column granule; baseM/baseN are multiples of it (QBMM:1038-1039)
ADD_X3_UB_FACTOR = {"float16": 6, "bfloat16": 10}  # UB split count of the x3 add per dtype (MT:59-60)
ALIGN_DATA = 32  # addX3UbCnt is rounded down to 32 elements (MT:61, 1463)
UB_EXTRA_BYTES = 8  # QBMM:54, per column of a UB dequant pass
LOWBIT_UB_BYTES = 191 * 1024  # the low-bit stages' UB budget (K ..._quant_perchannel.h:23, reduce_sum:22, dequant:23)
QUANT_BUFS = {"float16": 4, "bfloat16": 8}  # quantise and dequantise: buffers per row element (perchannel.h:25-26)
REDUCE_SCALE_BUFS, REDUCE_ROW_BUFS = 4, 7  # reduce-sum (reduce_sum.h:25-26)
ROW_ALIGN = 512  # the low-bit stages pad a row to 512 bytes (of int8) in UB (perchannel.h:29, 294)
SMALL_M_CORES = (24, 16)  # the re-tiling runs only with these cube-core counts (QBMM:609)
L0A_BYTES = 64 * 1024  # A2 L0A (PlatformAscendC L0_A, QBMM tiling_base.cpp:669): not in paths.Platform
# Revisions whose low-bit several-row copies compute the UB row pitch in 512-byte units (behaviour.md §5; the
# 32-byte computation arrived on master with 6b31281b8, first in the 8.5.0 branch head)
OLD_ROW_PITCH_REVISIONS = ("c29bc10", "8.5.0-beta.1")


@dataclass(frozen=True)
class BaseBlockAssumption:
    """MODELLING OPTION for the unpublished TBE cache tiling's base block (GenTiling, a stub in the published tree):
    baseM = min(ceil16(m), max_m), baseN = min(ceil16(n), max_n). The published code bounds it only loosely
    (multiples of 16, baseM * baseN int32 fit L0C twice-buffered or not); 128 x 256 is the block the re-tiling
    itself treats as the L0C capacity for int8 (QBMM:651, 'L0C holds 128 x 256 int32'). Sides that depend on it
    are marked published=False."""

    max_m: int = 128
    max_n: int = 256


ASSUMED_BASE_BLOCK = BaseBlockAssumption()


# ---- where each decision sits at every revision ---------------------------------------------------------------
_REVISION_ORDER = ("c29bc10", "8.5.0-beta.1", "8.5.0", "9.0.0-beta.1", "9.0.0-beta.2", "9.0.0", "9.1.0-beta.1",
                   "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")
_ARCH22 = ("9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")


def path_at(path: str, revision: str) -> str:
    """`path` (c29bc10's) at `revision`: the directory moves of revisions.md (kernel headers and the quant tiling to
    arch32/ from 8.5.0-beta.1, arch22/ from 9.1.0-beta.2; the kernel entry to arch22/ from 9.1.0-beta.3; the MT base
    class to matmul_all_reduce_tiling_base.cpp); mc2/3rd is unmoved. Checked against every head with git."""
    if revision == "c29bc10" or path.startswith("mc2/3rd/"):
        return path
    head, name = path.rsplit("/", 1)
    if path == _MT:
        return head + "/matmul_all_reduce_tiling_base.cpp"
    if path == _KERNEL:
        return f"{head}/arch22/{name}" if revision in ("9.1.0-beta.3", "9.1.0", "master") else path
    if path == _QT or head + "/" == _K:
        return f"{head}/{'arch22' if revision in _ARCH22 else 'arch32'}/{name}"
    return path


# the line of each decision's condition at every revision, in _REVISION_ORDER (found by searching one anchor line
# per decision in each head of mirror-cann/ops-transformer; the LAYOUT ones at the several-rows test of Process)
_LINES: dict[str, tuple[int, ...]] = {
    "V3-KERNEL-VARIANT": (119, 125, 125, 137, 137, 137, 137, 137, 114, 114, 114),
    "V3-DEQUANT-SCALE-MODE": (548, 547, 547, 581, 593, 596, 588, 596, 591, 609, 589),
    "V3-BIAS": (320, 327, 327, 332, 338, 338, 338, 318, 318, 311, 317),
    "V3-X3": (100, 100, 100, 107, 107, 107, 107, 105, 105, 105, 105),
    "V3-LOWBIT": (46, 42, 42, 43, 43, 43, 43, 43, 43, 44, 44),
    "V3-X2-FORMAT": (804, 805, 805, 805, 805, 805, 805, 805, 805, 806, 815),
    "V3-X2-TRANSPOSED": (793, 794, 794, 794, 794, 794, 794, 794, 794, 795, 804),
    "V3-MM-SMALL-M-RETILE": (609, 610, 610, 610, 610, 610, 610, 610, 610, 611, 615),
    "V3-MM-M-BLOCKS": (990, 991, 991, 998, 998, 998, 998, 998, 998, 999, 1006),
    "V3-MM-N-BLOCKS": (992, 993, 993, 1000, 1000, 1000, 1000, 1000, 1000, 1001, 1008),
    "V3-MM-WAVES": (1027, 1028, 1028, 1035, 1035, 1035, 1035, 1035, 1035, 1036, 1043),
    "V3-UB-DEQUANT-PASSES": (457, 457, 462, 463, 463, 463, 463, 463, 463, 463, 457),
    "V3-X3-UB-CHUNKS": (37, 37, 37, 37, 37, 37, 37, 37, 37, 37, 37),
    "V3-LOWBIT-PAD": (67, 70, 70, 71, 71, 71, 71, 67, 67, 68, 68),
    "V3-LOWBIT-TURN-PAIRS": (219, 219, 219, 223, 223, 223, 223, 222, 222, 222, 221),
    "V3-LOWBIT-QUANT-SPLIT": (310, 310, 313, 313, 313, 313, 313, 315, 315, 315, 315),
    "V3-LOWBIT-QUANT-LAYOUT": (172, 172, 174, 174, 174, 174, 174, 173, 173, 173, 173),
    "V3-LOWBIT-REDUCE-SPLIT": (286, 286, 293, 293, 293, 293, 293, 295, 295, 295, 295),
    "V3-LOWBIT-REDUCE-LAYOUT": (183, 183, 186, 186, 186, 186, 186, 184, 184, 184, 184),
    "V3-LOWBIT-DEQUANT-SPLIT": (321, 321, 324, 324, 324, 324, 324, 328, 328, 328, 328),
    "V3-LOWBIT-DEQUANT-LAYOUT": (170, 170, 172, 172, 172, 172, 172, 172, 172, 172, 172),
}


def _branch(bid: str, stage: str, decision: str, path: str, sides: tuple[Side, ...], **kw) -> Branch:
    lines = _LINES[bid]
    source = f"{path}:{lines[0]}"
    moved = tuple((rev, f"{path_at(path, rev)}:{line}") for rev, line in zip(_REVISION_ORDER[1:], lines[1:])
                  if f"{path_at(path, rev)}:{line}" != source)
    return Branch(bid, stage, decision, sides, source, OPS, moved=moved, **kw)


_UNPUBLISHED_BLOCK = ("baseM/baseN come from the TBE cache tiling (GenTiling, a stub in mc2/3rd/ops_legacy/op_tiling/"
                      "op_cache_tiling.cpp:28-33); modelled by ASSUMED_BASE_BLOCK (min(ceil16(m), 128) x "
                      "min(ceil16(n), 256)) except where the published small-m re-tiling applies. Certain whatever "
                      "the cache tiling does: m <= 16 is one M block, m % 16 != 0 leaves a partial last M block "
                      "(likewise n), since baseM/baseN are multiples of 16")

BRANCHES_V3: tuple[Branch, ...] = (
    _branch("V3-KERNEL-VARIANT", "kernel",
            "which quantised-matmul kernel runs: tiling key from output dtype and pertokenScale (QBMM:884-894), "
            "kernel chosen at K matmul_all_reduce.cpp:119-187", _KERNEL, (
                Side("fp16_fixpipe", "fp16 output, no pertokenScale: BmmDequant, INT64/UINT64 dequantScale applied "
                     "by the fixpipe (keys 0/1)"),
                Side("fp16_pertoken", "fp16 output with pertokenScale: BmmDequantPertoken, FLOAT dequantScale on the "
                     "vector unit (keys 10000/10001)"),
                Side("bf16", "bf16 output, no pertokenScale: BmmDequantBf16 (keys 0/1)"),
                Side("bf16_pertoken", "bf16 output with pertokenScale: BmmDequantPertoken (keys 10000/10001)"))),
    _branch("V3-DEQUANT-SCALE-MODE", "host tiling",
            "per-tensor or per-channel dequantScale (MT:548: per-tensor iff its storage shape is exactly (1)); the "
            "kernels then read one scale or n", _MT, (
                Side("per_tensor", "dequantScale shape (1,)"),
                Side("per_channel", "dequantScale with n elements ((n), (1, n); (1, 1) when n = 1)"),
                Side("per_channel_single_element",
                     "a one-element dequantScale other than (1,) (e.g. (1, 1)) with n > 1: read as n per-channel "
                     "scales from a one-element buffer; passes only with a 4-D NZ x2 (host shape checks skipped, "
                     "CANN-V3-H13) at the revisions without V3_PER_TENSOR_SCALE_EXACT; later ones reject it "
                     "(CANN-V3-H28)",
                     unreached="unreachable at 9.1.0-beta.2, 9.1.0 and master (CANN-V3-H28 rejects the scale; "
                               "`paths --revision 9.1.0-beta.1` places the older revisions); only a 4-D NZ x2 with "
                               "a (1, 1) scale reaches it before"))),
    _branch("V3-BIAS", "host tiling", "int32 bias loaded into the matmul or none (QT:320 -> the matmul's bias flag; "
            "quant_batch_matmul_v3.h:265-266)", _QT, (
                Side("int32_bias", "bias given (int32, n elements)"),
                Side("no_bias", "bias is null"))),
    _branch("V3-X3", "kernel", "x3 added per turn after the product is stored: plain path PostProcEachTurn "
            "(K matmul_all_reduce_base.h:100, skipped when x3 is the output's buffer); low-bit paths add it before "
            "quantising (..._quant_fp16_comm_int8.h:318-323, no aliasing test)", _BASE, (
                Side("no_x3", "x3 is null"),
                Side("x3_after_store", "x3 given, no low-bit communication"),
                Side("x3_before_quantise", "x3 given with both comm scales"))),
    _branch("V3-LOWBIT", "host tiling", "low-bit (int8) communication: both comm scales given (MT:346-355) -> tiling "
            "key + 10 (QT:45-56) -> the comm-int8 kernels", _QT, (
                Side("off", "commQuantScale1 and commQuantScale2 null: HCCL all-reduce in the output dtype"),
                Side("on", "both comm scales given: quantise, all-to-all, reduce-sum, all-gather, dequantise"))),
    _branch("V3-X2-FORMAT", "host tiling", "x2 ND or FRACTAL_NZ: the kernel binary (FORMAT_X2) and the tiling's "
            "weight_nz_flag (QBMM:804)", _QBMM, (
                Side("nd", "x2 storage format ND"),
                Side("nz", "x2 storage format FRACTAL_NZ"))),
    _branch("V3-X2-TRANSPOSED", "host tiling", "x2 read transposed (isBTrans: trans_b_flag, QBMM:793; last digit of "
            "the tiling key, QBMM:888)", _QBMM, (
                Side("not_transposed", "x2 (k, n) row-major (or NZ of (k, n))"),
                Side("transposed", "x2 the last-two-axes transpose of an (n, k) buffer (or NZ of (n, k))"))),
    _branch("V3-MM-SMALL-M-RETILE", "host tiling",
            "UpdateSmallMTbeTiling (QBMM:606-713) replaces the cache tiling's base block with its own: only with "
            "24 or 16 cube cores, and (no transpose, no bias, x2 NZ, bf16 output with pertokenScale) or an "
            "unpublished per-channel test, k >= 4096, n >= 7168, turn m <= 256; for turn m <= 96 not when n > "
            "baseN * cube cores", _QBMM, (
                Side("cache_tiling", "any other invocation: the cache tiling's base block stays"),
                Side("small_m_retile", "the conditions hold: baseM = ceil16(m), baseN from L0 sizes (m <= 96) or the "
                     "best-scoring of 128/192/256 (m > 96), one core row along M",
                     unreached="unreachable on a2-20c: the re-tiling runs only with 24 or 16 cube cores (reached "
                               "on a2-24c)", unreached_on=("a2-20c",))),
            published=False, platform_dependent=True,
            bound="CheckSupportConditionQbmm(Perchannel) is a stub in the published tree (op_cache_tiling.cpp:35-38); "
                  "the model takes it as false, so only the published pertoken/NZ/bf16 condition re-tiles"),
    _branch("V3-MM-M-BLOCKS", "host tiling", "how many base blocks a turn's matmul has along M, and whether the last "
            "is partial (singleCoreM, QBMM:990; kernel loops over ceil(m / baseM) blocks)", _QBMM, (
                Side("single_block", "every turn's m <= baseM"),
                Side("several_blocks_whole_last", "a turn's m > baseM, every such m a multiple of baseM"),
                Side("several_blocks_partial_last", "a turn's m > baseM and not a multiple of baseM")),
            published=False, bound=_UNPUBLISHED_BLOCK, platform_dependent=True),
    _branch("V3-MM-N-BLOCKS", "host tiling", "how many base blocks along N, and whether the last is partial "
            "(singleCoreN, QBMM:992)", _QBMM, (
                Side("single_block", "n <= baseN"),
                Side("several_blocks_whole_last", "n > baseN, a multiple of baseN"),
                Side("several_blocks_partial_last", "n > baseN, not a multiple of baseN")),
            published=False, bound=_UNPUBLISHED_BLOCK, platform_dependent=True),
    _branch("V3-MM-WAVES", "host tiling", "base blocks of a turn vs cube cores (usedCoreNum = min(blocks, cores), "
            "QBMM:1027): all blocks in one wave, or some core computes several", _QBMM, (
                Side("one_wave", "every turn: ceil(m / baseM) * ceil(n / baseN) <= cube cores"),
                Side("several_waves", "a turn has more base blocks than cube cores")),
            published=False, bound=_UNPUBLISHED_BLOCK + "; the cores' split (m_dim, n_dim) is the cache tiling's too",
            platform_dependent=True),
    _branch("V3-UB-DEQUANT-PASSES", "kernel", "vector dequant (bf16 output or pertokenScale) of one base block in "
            "ceil(rows / ubCalcM) UB passes (quant_batch_matmul_v3_bf16.h:457, _pertoken.h:451); ubCalcM from "
            "CalcUbTiling (QBMM:1377-1426): (UB - fixed) // bytes per row of baseN columns, capped by baseM and m",
            _QBMM_BF16, (
                Side("one_pass", "every turn's rows per block (min(baseM, m)) <= ubCalcM"),
                Side("several_passes", "a turn's block has more rows than ubCalcM")),
            published=False, bound=_UNPUBLISHED_BLOCK, platform_dependent=True),
    _branch("V3-X3-UB-CHUNKS", "kernel", "x3 add of a turn's m * n elements: split evenly over the vector cores "
            "(the last takes the remainder), each core in chunks of addX3UbCnt (MT:1455-1468: UB // (6 fp16 | 10 "
            "bf16 * 2 bytes), down to 32) (K matmul_all_reduce_add_x3.h:28-40, 51-54)", _ADD_X3, (
                Side("last_core_only", "m * n < vector cores in use: every core but the last gets 0 elements"),
                Side("one_chunk", "the last core's share fits one chunk"),
                Side("several_chunks", "a core's share needs several chunks")),
            platform_dependent=True),
    _branch("V3-LOWBIT-PAD", "host tiling", "low-bit: a turn's rows padded up to a multiple of the rank count for "
            "the all-to-all (QT:65-76, MT:229-237)", _QT, (
                Side("rows_divisible", "every turn's m is a multiple of the world size"),
                Side("rows_padded", "some turn's m is not"))),
    _branch("V3-LOWBIT-TURN-PAIRS", "kernel", "low-bit: the all-to-all/all-gather tasks are issued two turns per "
            "step, an odd last turn on its own (K ..._quant_fp16_comm_int8.h:193-228; bf16 and pertoken variants "
            "alike)", _COMM_INT8, (
                Side("single_turn", "one turn"),
                Side("paired_turns", "an even number of turns"),
                Side("paired_turns_plus_one", "an odd number >= 3"))),
)


def _stage_branches(stage: str, path: str, rows: str, mn: str, pitch: str) -> tuple[Branch, Branch]:
    split = _branch(f"V3-LOWBIT-{stage.upper()}-SPLIT", "kernel",
                    f"low-bit {stage}: rows ({rows}) split over the vector cores when a 512-byte-padded row fits the "
                    "UB, else rows and columns", path, (
                        Side("one_row_per_core", "split by rows, at most one row per vector core"),
                        Side("several_rows_per_core", "split by rows, some vector core has several rows"),
                        Side("split_mn", f"the padded row does not fit the stage's UB share ({mn})")),
                    platform_dependent=True)
    layout = _branch(f"V3-LOWBIT-{stage.upper()}-LAYOUT", "kernel",
                     f"low-bit {stage}: several rows in one UB copy, and their UB pitch ({pitch}); c29bc10 and "
                     "8.5.0-beta.1 compute the copy stride in 512-byte units, later revisions in 32-byte units: "
                     "they place rows alike only when the row is aligned", path, (
                         Side("one_row_per_copy", "every copy moves one row (or part of one, split_mn)"),
                         Side("several_rows_aligned_row", "several rows per copy, both strides agree (n % 512 == 0 "
                              "or > 496 for 2-byte rows)"),
                         Side("several_rows_unaligned_row", "several rows per copy, the strides differ: rows land "
                              "at another pitch at OLD_ROW_PITCH_REVISIONS than later")),
                     platform_dependent=True)
    return split, layout


BRANCHES_LOWBIT_STAGES: tuple[Branch, ...] = (
    # split_mn thresholds: 512-padded row A with (191 KiB - 2A) // (bufs * 2) < A, i.e. A > 191 KiB / (2 + 2 bufs)
    *_stage_branches("quant", _QUANT, "the turn's m", "n > 19456 fp16, n > 10752 bf16",
                     "perchannel.h:164-176: the 2-byte input and int8 output copies"),
    *_stage_branches("reduce", _REDUCE, "padded m / world size", "n > 8704",
                     "reduce_sum.h:183-189: the int8 copies"),
    *_stage_branches("dequant", _DEQUANT, "the turn's m", "n > 19456 fp16, n > 10752 bf16",
                     "dequant_perchannel.h:170-181: the int8 input and 2-byte output copies"),
)

BRANCHES: tuple[Branch, ...] = BRANCHES_V3 + BRANCHES_LOWBIT_STAGES + tuple(comm_tiling.BRANCHES)


# ---- one invocation, read from the query ------------------------------------------------------------------------
@dataclass(frozen=True)
class V3Call:
    """What the decisions read from one invocation (shapes, dtypes, formats, flags)."""

    m: int
    k: int
    n: int
    out_dtype: str
    pertoken: bool
    scale_shape: tuple[int, ...]
    bias: bool
    x3: bool
    lowbit: bool
    x2_nz: bool
    x2_transposed: bool
    world: int


def _transposed(x2) -> bool:
    layout = getattr(x2, "layout", None)  # casegen TensorSpec
    if layout is not None:
        return layout in ("transposed", "nz_transposed")
    return bool(getattr(x2, "is_last_two_transposed", False))  # protocol TensorArg


def read_call(q: PathQuery) -> V3Call | None:
    """The invocation's V3Call, or None where no kernel runs whatever the host says: a required tensor missing, x1
    not 2-D/3-D, an output dtype without a kernel, a world size tiling rejects (CANN-V3-H26), an empty m, k or n."""
    x1, out, deq = q.shape("x1"), q.shape("output"), q.shape("dequantScale")
    if x1 is None or out is None or deq is None or q.tensors.get("x2") is None or len(x1) not in (2, 3) or not out:
        return None
    m = x1[0] * (x1[1] if len(x1) == 3 else 1)
    k, n = x1[-1], out[-1]  # tiling reads n from the output (CANN-V3-H25..H30)
    if m == 0 or k == 0 or n == 0 or q.dtype("output") not in OUT_DTYPES or q.world_size not in WORLD_SIZES:
        return None
    return V3Call(m=m, k=k, n=n, out_dtype=q.dtype("output"), pertoken=q.tensors.get("pertokenScale") is not None,
                  scale_shape=deq, bias=q.tensors.get("bias") is not None, x3=q.tensors.get("x3") is not None,
                  lowbit=q.tensors.get("commQuantScale1") is not None and q.tensors.get("commQuantScale2") is not None,
                  x2_nz=q.format("x2") == "FRACTAL_NZ", x2_transposed=_transposed(q.tensors["x2"]),
                  world=q.world_size)


# ---- arithmetic of the source -----------------------------------------------------------------------------------
def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _ceil_to(a: int, b: int) -> int:
    return _ceil_div(a, b) * b


def _c_div(a: int, b: int) -> int:
    """C++ integer division (truncates toward zero), for the kernels' signed UB budgets."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def turn_rows(plan: comm_tiling.CommPlan) -> tuple[int, ...]:
    """The distinct row counts of the communication turns (tile, then tail)."""
    return tuple(r for r, count in ((plan.tile_m, plan.tile_count), (plan.tail_m, plan.tail_count)) if count and r)


def small_m_retile(call: V3Call, m: int, platform: Platform) -> tuple[int, int] | None:
    """(baseM, baseN) of UpdateSmallMTbeTiling (QBMM:606-669) for a turn of m rows, or None where it does not run."""
    if platform.cube_cores not in SMALL_M_CORES:
        return None
    matches = (not call.x2_transposed and not call.bias and call.x2_nz and call.out_dtype == "bfloat16"
               and call.pertoken)
    if not matches or call.k < 4096 or call.n < 7168 or m > 256:
        return None
    base_m = _ceil_to(m, FRACTAL)
    l0c_int32 = platform.l0c_bytes // 4
    l0b_int8 = L0A_BYTES // 2  # the source sizes L0B from l0aSize, double-buffered
    if m <= 96:
        base_n = min(l0c_int32 // base_m, l0b_int8 // 64) // 32 * 32
        if call.n > base_n * platform.cube_cores:
            return None
        return base_m, base_n
    base_n, best, cur = 128, -2400, 128
    while cur * base_m <= 128 * 256 and cur <= 256:
        blocks = _ceil_div(call.n, cur)
        per_core = _ceil_div(blocks, platform.cube_cores)
        used = _ceil_div(blocks, per_core)
        score = 7 * ((cur * base_m) // (cur + base_m)) + 10 * used - 100 * per_core
        if score > best:
            best, base_n = score, cur
        cur += 64
    return base_m, base_n


def base_block(call: V3Call, m: int, platform: Platform) -> tuple[int, int]:
    """(baseM, baseN) of a turn of m rows: the re-tiling's where it runs, else ASSUMED_BASE_BLOCK's."""
    retiled = small_m_retile(call, m, platform)
    if retiled is not None:
        return retiled
    return (min(_ceil_to(m, FRACTAL), ASSUMED_BASE_BLOCK.max_m),
            min(_ceil_to(call.n, FRACTAL), ASSUMED_BASE_BLOCK.max_n))


def ub_calc_m(call: V3Call, m: int, base_m: int, base_n: int, platform: Platform) -> int:
    """ubCalcM of CalcUbTiling (QBMM:1377-1426) for the vector-dequant kernels; V3's bias is int32 or absent, so
    the non-int32-bias terms never apply."""
    scale_bytes = 2 if call.out_dtype == "bfloat16" else 4  # bf16 scale with bf16 output, FLOAT with fp16+pertoken
    per_column = 2 * (4 + 2) + UB_EXTRA_BYTES
    if call.scale_shape != (1,):
        per_column += 2 * scale_bytes
    fixed, per_row_extra = 0, 0
    if call.pertoken:
        per_column += 4 + 4  # the dequant result in fp32, and the product by pertokenScale
        per_row_extra = 2 * 4
        fixed = base_m * 32 + 2 * 4 * 7
    return min((platform.ub_bytes - fixed) // (per_column * base_n + per_row_extra), base_m, m)


def vector_cores_in_use(call: V3Call, platform: Platform) -> int:
    """Vector cores a mixed kernel runs on: cube cores x the AIC:AIV ratio of its task type (K
    matmul_all_reduce.cpp:118, 128, 132, 151, 165-183): 1:2 for fp16 without pertokenScale and every low-bit
    variant, 1:1 for the plain pertoken and bf16 ones."""
    two = call.lowbit or (call.out_dtype == "float16" and not call.pertoken)
    return platform.cube_cores * (2 if two else 1)


def add_x3_ub_count(call: V3Call, platform: Platform) -> int:
    """addX3UbCnt (MT:1455-1468)."""
    return platform.ub_bytes // (ADD_X3_UB_FACTOR[call.out_dtype] * 2) // ALIGN_DATA * ALIGN_DATA


def x3_side(call: V3Call, m: int, platform: Platform) -> str:
    total, cores = m * call.n, vector_cores_in_use(call, platform)
    share = total // cores
    last = total - share * (cores - 1)
    if share == 0:
        return "last_core_only"
    return "one_chunk" if last <= add_x3_ub_count(call, platform) else "several_chunks"


@dataclass(frozen=True)
class StagePlan:
    """How one low-bit vector stage splits a block of `rows` rows of n columns."""

    split: str  # the SPLIT branch's side
    rows_per_copy: int  # the most rows one copy moves (1 under split_mn)


def _row_split(rows: int, ub: int, aligned_n: int, cores: int) -> StagePlan:
    ub = min(ub, rows * aligned_n)
    if ub < aligned_n:
        return StagePlan("split_mn", 1)
    most_rows = _ceil_div(rows, cores)  # the cores past aivAddOneIndex take one row more
    side = "one_row_per_core" if most_rows <= 1 else "several_rows_per_core"
    return StagePlan(side, min(ub // aligned_n, most_rows))


def stage_plan(stage: str, call: V3Call, m: int, platform: Platform) -> StagePlan:
    """The low-bit stage `stage` ("quant", "reduce", "dequant") for a turn of m rows (K ..._quant_perchannel.h:
    287-316, ..._quant_reduce_sum.h:260-292 (rows = padded m / world), ..._dequant_perchannel.h:296-330)."""
    aligned_n = _ceil_to(call.n, ROW_ALIGN)
    cores = platform.cube_cores * 2
    if stage == "reduce":
        ub = _c_div(LOWBIT_UB_BYTES - aligned_n * 2 * REDUCE_SCALE_BUFS, REDUCE_ROW_BUFS * 2)
        rows = _ceil_to(m, call.world) // call.world
    else:
        ub = _c_div(LOWBIT_UB_BYTES - aligned_n * 2, QUANT_BUFS[call.out_dtype] * 2)
        rows = m
    return _row_split(rows, _c_div(ub, aligned_n) * aligned_n, aligned_n, cores)


def row_strides(stage: str, n: int, *, old: bool) -> tuple[int, ...]:
    """The UB strides (in 32-byte blocks, as the copy unit reads them) of a several-row copy at a revision with the
    512-byte (`old`) or the 32-byte computation; a row of the 2-byte output dtype or of int8."""
    aligned_n = _ceil_to(n, ROW_ALIGN)
    if old:
        wide = (aligned_n * 2 - _ceil_to(n * 2, 512)) // 512  # perchannel.h:174-176, dequant_perchannel.h:172-174
        return {"quant": (wide, 0), "reduce": (0, 0), "dequant": (0, wide)}[stage]
    wide = (aligned_n * 2 - _ceil_to(n * 2, 32)) // 32
    narrow = (aligned_n - _ceil_to(n, 32)) // 32
    return {"quant": (wide, narrow), "reduce": (narrow, narrow), "dequant": (narrow, wide)}[stage]


def layout_side(stage: str, plan: StagePlan, n: int) -> str:
    if plan.rows_per_copy <= 1:
        return "one_row_per_copy"
    same = row_strides(stage, n, old=True) == row_strides(stage, n, old=False)
    return "several_rows_aligned_row" if same else "several_rows_unaligned_row"


# ---- the decisions of one invocation ----------------------------------------------------------------------------
_PRIORITY = {  # where turns differ, the side reported is the first in this order that some turn takes
    "V3-MM-M-BLOCKS": ("several_blocks_partial_last", "several_blocks_whole_last", "single_block"),
    "V3-MM-N-BLOCKS": ("several_blocks_partial_last", "several_blocks_whole_last", "single_block"),
    "V3-MM-WAVES": ("several_waves", "one_wave"),
    "V3-MM-SMALL-M-RETILE": ("small_m_retile", "cache_tiling"),
    "V3-UB-DEQUANT-PASSES": ("several_passes", "one_pass"),
    "V3-X3-UB-CHUNKS": ("several_chunks", "last_core_only", "one_chunk"),
    "V3-LOWBIT-PAD": ("rows_padded", "rows_divisible"),
    **{f"V3-LOWBIT-{s}-SPLIT": ("split_mn", "several_rows_per_core", "one_row_per_core")
       for s in ("QUANT", "REDUCE", "DEQUANT")},
    **{f"V3-LOWBIT-{s}-LAYOUT": ("several_rows_unaligned_row", "several_rows_aligned_row", "one_row_per_copy")
       for s in ("QUANT", "REDUCE", "DEQUANT")},
}


def _blocks_side(size: int, base: int) -> str:
    if size <= base:
        return "single_block"
    return "several_blocks_whole_last" if size % base == 0 else "several_blocks_partial_last"


def _per_turn(call: V3Call, m: int, platform: Platform) -> dict[str, str]:
    """The per-turn decisions for a turn of m rows."""
    base_m, base_n = base_block(call, m, platform)
    taken = {
        "V3-MM-SMALL-M-RETILE": "small_m_retile" if small_m_retile(call, m, platform) else "cache_tiling",
        "V3-MM-M-BLOCKS": _blocks_side(m, base_m),
        "V3-MM-N-BLOCKS": _blocks_side(call.n, base_n),
        "V3-MM-WAVES": ("one_wave" if _ceil_div(m, base_m) * _ceil_div(call.n, base_n) <= platform.cube_cores
                        else "several_waves"),
    }
    if call.out_dtype == "bfloat16" or call.pertoken:
        rows = min(base_m, m)
        taken["V3-UB-DEQUANT-PASSES"] = ("one_pass" if rows <= ub_calc_m(call, m, base_m, base_n, platform)
                                         else "several_passes")
    if call.x3:
        taken["V3-X3-UB-CHUNKS"] = x3_side(call, m, platform)
    if call.lowbit:
        taken["V3-LOWBIT-PAD"] = "rows_divisible" if m % call.world == 0 else "rows_padded"
        for stage in ("quant", "reduce", "dequant"):
            plan = stage_plan(stage, call, m, platform)
            taken[f"V3-LOWBIT-{stage.upper()}-SPLIT"] = plan.split
            taken[f"V3-LOWBIT-{stage.upper()}-LAYOUT"] = layout_side(stage, plan, call.n)
    return taken


def _scale_mode(call: V3Call, revision: str) -> str | None:
    if call.scale_shape == (1,):
        return "per_tensor"
    elements = 1
    for d in call.scale_shape:
        elements *= d
    if elements == 1 and call.n > 1:
        return None if revisions.has(revision, V3_PER_TENSOR_SCALE_EXACT) else "per_channel_single_element"
    return "per_channel"


def decide(q: PathQuery) -> dict[str, str]:
    """{branch id: side} for the decisions this invocation meets (comm_tiling's included)."""
    call = read_call(q)
    if call is None:
        return {}
    pertoken = "_pertoken" if call.pertoken else ""
    variant = ("bf16" + pertoken) if call.out_dtype == "bfloat16" else ("fp16" + (pertoken or "_fixpipe"))
    taken = {
        "V3-KERNEL-VARIANT": variant,
        "V3-BIAS": "int32_bias" if call.bias else "no_bias",
        "V3-X3": "no_x3" if not call.x3 else ("x3_before_quantise" if call.lowbit else "x3_after_store"),
        "V3-LOWBIT": "on" if call.lowbit else "off",
        "V3-X2-FORMAT": "nz" if call.x2_nz else "nd",
        "V3-X2-TRANSPOSED": "transposed" if call.x2_transposed else "not_transposed",
    }
    mode = _scale_mode(call, q.revision)
    if mode is not None:
        taken["V3-DEQUANT-SCALE-MODE"] = mode
    plan = comm_tiling.plan(q, m=call.m, k=call.k, n=call.n)
    per_turn = [_per_turn(call, m, q.platform) for m in turn_rows(plan)]
    for bid in {b for t in per_turn for b in t}:
        seen = {t[bid] for t in per_turn if bid in t}
        taken[bid] = next(side for side in _PRIORITY[bid] if side in seen)
    if call.lowbit:
        count = plan.turns
        taken["V3-LOWBIT-TURN-PAIRS"] = ("single_turn" if count == 1 else
                                         "paired_turns" if count % 2 == 0 else "paired_turns_plus_one")
    taken.update(comm_tiling.decide(q, m=call.m, k=call.k, n=call.n))
    return taken
