"""Host path of aclnnQuantMatmulAllReduceV3 as published in hicann/ops-transformer at revision c29bc10
(c29bc1069d3252c641e2aa059ec88f392d3f05ac, see model.REVISION), with the generated aclnnInner* runtime of
hicann/opbase at aa3cd74 (aa3cd74b7f6d772acd64ff48292a7e65a9bc8142). Written from a reading of those sources;
no vendor code or text is reproduced. Paths without a repository prefix are inside ops-transformer; `V3` below
abbreviates mc2/matmul_all_reduce/op_host/op_api/aclnn_quant_matmul_all_reduce_v3.cpp, `MT`
mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp and `QT`
mc2/matmul_all_reduce/op_host/op_tiling/quant_matmul_all_reduce_tiling.cpp (RULES spell them out).

Call sequence for one rank (what `check` walks, first failure wins):
1. V3 CheckParams (V3:312-336): null pointers (161001), dtypes, reduceOp/streamMode, shapes (161002).
   The shape part returns early, with success, when x2's storage format is FRACTAL_NZ and its storage shape
   is 4-D (V3:189, V3:193-195): k, output, bias, x3, dequantScale, pertokenScale and the commQuantScale
   pairing/shape checks are then NOT run on the host.
2. Generated aclnnInner*GetWorkspaceSize -> opbase NnopbaseRunForWorkspace (opbase
   src/nnopbase/individual_op/api/individual_op_api.cpp:362-366) -> kernel lookup keyed on the dtype and
   storage format of the REQUIRED tensors only (x1, x2, y; optional inputs are left out of the key:
   opbase src/nnopbase/individual_op/utils/indv_base.h:132, .../executor/indv_executor_ext.cpp:955-958); no
   kernel and required tensors outside the op definition -> 161002 (opbase .../indv_executor.cpp:959-966).
3. Empty-output short-cut: when every output is empty, tiling is skipped and the workspace is 0
   (opbase .../indv_executor.cpp:1076-1082, 852-858, 821-829): status 0, nothing computed.
4. Tiling (MT, QT), still inside GetWorkspaceSize (opbase .../indv_executor.cpp:1114-1120 -> 1097 -> 977):
   any failure -> 561002 (opbase .../indv_executor.cpp:882-885). NOTE: tiling sees each tensor's VIEW shape as
   its "storage" shape (opbase .../indv_executor_tensor.cpp:298-299), except x2 with 4-D NZ storage, which V3
   re-creates with its 4-D storage dims as the view (V3:338-361, V3:392-398).
5. Launch (aclnnQuantMatmulAllReduceV3): non-contiguous inputs other than x2 were recorded when the tensors
   were added (opbase .../indv_executor_utils.h:209-223) and make the launch fail
   (opbase .../indv_executor.cpp:537-540, run before the empty-output skip at 1401 vs 1315); V3 maps any
   launch error to 561000 (V3:429-432). x2 is declared contiguity-agnostic
   (mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:57): a strided x2 is read as if contiguous.

PHASE NOTE. Tiling runs inside GetWorkspaceSize (step 4), so its 561002 rejections carry phase WORKSPACE here,
not LAUNCH as the comment on model.LAUNCH suggests. That the generated GetWorkspaceSize ends in
NnopbaseRunForWorkspace could not be read in the generator (hicann/asc-devkit could not be fetched); it follows
from opbase's API and matches public error traces ("Check NnopbaseExecutorDoTiling ... Check
NnopbaseRunForWorkspace(*executor, workspaceSize) failed").

device-facts §1/§4/§10 statements found WRONG or incomplete at this revision:
- §10 "commQuantScale1's shape is never checked": the HOST never checks it beyond its rank (1-2, equal to
  commQuantScale2's; V3:271-285; dims are read from commQuantScale2 only, V3:286-306), but TILING checks that
  each comm scale has at most 2 dims and exactly n elements (MT:1288-1308): commQuantScale1 = (n+1,) with a
  valid commQuantScale2 is rejected with 561002; (n, 1) next to (1, n) is accepted.
- §10 "a 4-D NZ x2 returns early ... k, x3 and output shapes are then not checked on the host": true, but the
  commQuantScale pairing (only one given) is skipped as well (V3:265-269 sits after the early return), and so
  are bias/dequantScale/pertokenScale shapes; tiling then checks bias (1-D, n elements), dequantScale (<= 3-D,
  1 or n elements), pertokenScale (1-D, m elements), the pairing and the comm scales' element counts with n
  taken from the OUTPUT (MT:583-591, 684-735, 1133-1308). k of x1 vs the NZ weight and x3's shape are checked
  nowhere.
- §10 phase of the tiling rejections (k > 65535, n > 65535, m > INT32_MAX, empty k, fp16+FLOAT dequantScale
  without pertoken): they are returned by GetWorkspaceSize (PHASE NOTE above), not at launch.
- §10 "empty outputs ... status 0": the op_api checks (null, dtype, attr, shape) and the kernel lookup run
  BEFORE the short-cut, and a non-contiguous non-empty input still fails the launch with 561000 even when the
  output is empty (opbase .../indv_executor.cpp:1401 runs the contiguity update before the launch skip).
- §10 (implicit) commTurn: tiling reads it as a 32-bit int (mc2/common/src/context_transfer.cpp:195,
  mc2/common/inc/context_transfer.h:29): commTurn = 2**32 passes; only the low 32 bits are tested.
- §10 (x2 NZ) an FRACTAL_NZ x2 whose storage is NOT 4-D (e.g. 3-D) is not rejected: the host checks its 2-D
  view as if ND, the NZ kernel is found, tiling sees the 2-D view; status 0.
- §1 case 3 reduce step: fp32 -> fp16 and fp16 -> int8 are CAST_NONE (which the AscendC API documents as
  round-half-even when precision is lost), not an explicit CAST_RINT; same result, different citation.
- §1 "bf16 adds in fp32 and rounds again": confirmed; note the non-low-bit path SKIPS the x3 add when x3 and
  the output are the same buffer (mc2/matmul_all_reduce/op_kernel/matmul_all_reduce_base.h:100).
- §4 FP19: still UNCONFIRMED; the open-sourced V3 path hands the 64-bit word unchanged to the matmul fixpipe
  (quant_batch_matmul_v3.h:71-72, 255-261); INT64 words are relabelled UINT64 on the host (V3:381-383).
"""

from __future__ import annotations

from typing import Mapping

from ...protocol import TensorArg
from ...spec.model import INT32_MAX
from . import revisions
from .model import LAUNCH, WORKSPACE, HostRule, HostVerdict, kernel_format, vendor_transposed
from .revisions import (V3_COMM_SCALE1_OWN_SHAPE, V3_INPUTS_MADE_CONTIGUOUS, V3_PER_TENSOR_SCALE_EXACT,
                        V3_X2_CONTIGUITY_CHECKED, V3_X2_FIRST_DIM_BOUNDED)

OP = "QuantMatmulAllReduceV3"
OPBASE_REV = "aa3cd74"

_V3 = "mc2/matmul_all_reduce/op_host/op_api/aclnn_quant_matmul_all_reduce_v3.cpp"
_MT = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_QT = "mc2/matmul_all_reduce/op_host/op_tiling/quant_matmul_all_reduce_tiling.cpp"
_CT = "mc2/common/src/context_transfer.cpp"
_OB = f"hicann/opbase@{OPBASE_REV} src/nnopbase/individual_op/executor"

NULLPTR, INVALID, INNER, TILING = 161001, 161002, 561000, 561002
UINT16_MAX = 65535
OUT_DTYPES = ("float16", "bfloat16")
DEQ_DTYPES = ("uint64", "int64", "bfloat16", "float32")
NAMES = ("x1", "x2", "bias", "x3", "dequantScale", "pertokenScale", "commQuantScale1", "commQuantScale2", "output")


def _r(n, phase, status, source, summary):
    return HostRule(f"CANN-V3-H{n:02d}", phase, status, source, summary)


RULES: tuple[HostRule, ...] = (
    # --- op_api CheckParams: nulls, dtypes (CheckDtypeValid), attrs, shapes (CheckShape) ---
    _r(1, WORKSPACE, NULLPTR, f"{_V3}:73", "x1, x2, dequantScale or output is a null pointer (checked in that "
       "order, V3:73-76)"),
    _r(2, WORKSPACE, INVALID, f"{_V3}:95", "x1 and x2 must be INT8 (V3:95-96; the x1==x2 check at V3:109 is "
       "then implied)"),
    _r(3, WORKSPACE, INVALID, f"{_V3}:97", "dequantScale dtype must be UINT64, INT64, BF16 or FLOAT (list V3:57-58)"),
    _r(4, WORKSPACE, INVALID, f"{_V3}:98", "output dtype must be FLOAT16 or BF16"),
    _r(5, WORKSPACE, INVALID, f"{_V3}:101", "bias, when given, must be INT32"),
    _r(6, WORKSPACE, INVALID, f"{_V3}:104", "x3, when given, must be FLOAT16/BF16 and equal to the output dtype "
       "(V3:104-106); an fp16 x3 with an fp16 output is accepted"),
    _r(7, WORKSPACE, INVALID, f"{_V3}:111", "if the output or dequantScale is BF16, dequantScale must have the "
       "output dtype (V3:111-113)"),
    _r(8, WORKSPACE, INVALID, f"{_V3}:116", "pertokenScale, when given, must be FLOAT"),
    _r(9, WORKSPACE, INVALID, f"{_V3}:119", "fp16 output with pertokenScale: dequantScale must have pertokenScale's "
       "dtype (FLOAT) (V3:118-120)"),
    _r(10, WORKSPACE, INVALID, f"{_V3}:124", "when BOTH comm scales are given: each FLOAT16/BF16 and equal to the "
       "output dtype (V3:122-129); a lone comm scale's dtype is not checked here"),
    _r(11, WORKSPACE, INVALID, f"{_V3}:136", "reduceOp must equal \"sum\" exactly (full string compare)"),
    _r(12, WORKSPACE, INVALID, f"{_V3}:140", "streamMode must be 1"),
    _r(13, WORKSPACE, INVALID, f"{_V3}:191", "x1 must be 2-D or 3-D (V3:191-192); a FRACTAL_NZ x2 with 4-D "
       "storage makes the shape check return success right after this (V3:193-195)"),
    _r(14, WORKSPACE, INVALID, f"{_V3}:197", "x2 view must be 2-D"),
    _r(15, WORKSPACE, INVALID, f"{_V3}:205", "last dim of x1 (k) must equal x2 view dim 0"),
    _r(16, WORKSPACE, INVALID, f"{_V3}:216", "output shape must be x1's shape with the last dim replaced by x2 view "
       "dim 1 (n) (V3:214-216)"),
    _r(17, WORKSPACE, INVALID, f"{_V3}:220", "bias must be 1-D and equal to (n) (V3:219-224)"),
    _r(18, WORKSPACE, INVALID, f"{_V3}:228", "x3 shape must equal the output shape"),
    _r(19, WORKSPACE, INVALID, f"{_V3}:232", "dequantScale must be (1), (n) or (1, n) (V3:232-245)"),
    _r(20, WORKSPACE, INVALID, f"{_V3}:249", "pertokenScale must be 1-D of length m = prod(x1.shape[:-1]) "
       "(V3:248-262)"),
    _r(21, WORKSPACE, INVALID, f"{_V3}:265", "commQuantScale1 and commQuantScale2 must both be given or both null "
       "(V3:265-269; skipped for a 4-D NZ x2)"),
    _r(22, WORKSPACE, INVALID, f"{_V3}:271", "each comm scale must be 1-D or 2-D and both of the same rank "
       "(V3:271-285)"),
    _r(23, WORKSPACE, INVALID, f"{_V3}:295", "comm scales must be (n) or (1, n), but only commQuantScale2's dims "
       "are read (V3:286-306)"),
    # --- opbase: kernel lookup on the required tensors ---
    _r(24, WORKSPACE, INVALID, f"{_OB}/indv_executor.cpp:959", "no kernel for the dtype+storage format of x1, x2, "
       "output, and those tensors are outside the op definition (x1/output must be ND; NCL, NCHW and the other ND-like "
       "base formats are stored as ND first, indv_executor_tensor.cpp:19-20, :284-306) (indv_executor.cpp:959-966, "
       "key built at indv_executor_ext.cpp:955-969; op def matmul_all_reduce_def.cpp:23-57, 196-212)"),
    # --- tiling (still GetWorkspaceSize); n is the OUTPUT's last dim, m and k come from x1 ---
    _r(25, WORKSPACE, TILING, f"{_MT}:997", "tiling: output must be 2-D or 3-D (MT:995-1004, reached only with a 4-D "
       "NZ x2)"),
    _r(26, WORKSPACE, TILING, f"{_MT}:438", "tiling: world size (rank count of the group) must be 1, 2, 4 or 8 "
       "(MT:437-439, 495-507)"),
    _r(27, WORKSPACE, TILING, f"{_MT}:714", "tiling: bias 1-D with n elements (MT:684-706, 713-715)"),
    _r(28, WORKSPACE, TILING, f"{_MT}:717", "tiling: dequantScale at most 3-D with 1 or n elements "
       "(MT:716-719, 1165-1194)"),
    _r(29, WORKSPACE, TILING, f"{_MT}:721", "tiling: pertokenScale at most 1-D with m elements (MT:720-723, "
       "1249-1267)"),
    _r(30, WORKSPACE, TILING, f"{_MT}:733", "tiling: comm scales both or neither; each at most 2-D with n elements "
       "(MT:732-735, 1278-1308)"),
    _r(31, WORKSPACE, TILING, f"{_MT}:660", "tiling: commTurn must be 0, read as a 32-bit int (MT:659-661, "
       f"{_CT}:195)"),
    _r(32, WORKSPACE, TILING, f"{_QT}:190", "tiling: fp16 output without pertokenScale needs an INT64/UINT64 "
       "dequantScale (QT:189-196): FLOAT is rejected here, not on the host"),
    _r(33, WORKSPACE, TILING, f"{_QT}:141", "tiling: m must not exceed INT32_MAX (QT:139-147)"),
    _r(34, WORKSPACE, TILING, f"{_QT}:150", "tiling: k must not exceed 65535 (QT:148-156)"),
    _r(35, WORKSPACE, TILING, f"{_QT}:161", "tiling: x2's last dim (n untransposed, k transposed) must not exceed "
       "65535 (QT:157-167; x2's first dim is never tested, the condition repeats the last-dim test)"),
    _r(36, WORKSPACE, TILING, f"{_MT}:768", "tiling: empty bias, x3, dequantScale, pertokenScale or comm scale, or "
       "k == 0 (QT:169 -> MT:766-802)"),
    # --- launch ---
    _r(37, LAUNCH, INNER, f"{_OB}/indv_executor.cpp:537", "launch: a non-contiguous input other than x2 has no "
       "contiguity policy and fails the launch (recorded at indv_executor_utils.h:218-223); V3 returns 561000 "
       f"({_V3}:429-432)"),
    # --- added by a later revision (revisions.CHANGES): cited at 9.0.0, every later revision's location is
    # revisions.new_rule_location's ---
    HostRule("CANN-V3-H38", WORKSPACE, INVALID,
             "mirror-cann/ops-transformer@d28d8f9 "
             "mc2/matmul_all_reduce/op_api/aclnn_quant_matmul_all_reduce_v3.cpp:301",
             "x2 must be contiguous or the last-two-axes transpose unless an input is empty (checked after the "
             "shapes, also for a 4-D NZ x2): the revisions with V3_X2_CONTIGUITY_CHECKED"),
)

_BY_ID = {r.id: r for r in RULES}
NEW_RULE_OF = {"CANN-V3-H38": "NEW-V3-X2-CONTIGUOUS"}  # the reading's id of a rule a later revision added

# Checks in the source that cannot decide a V3 verdict (an earlier check already covers them); kept for the record.
UNREACHABLE = (
    (f"{_V3}:109", "x1 dtype == x2 dtype (both already INT8)"),
    (f"{_V3}:377-380", "dequantScale null after CheckParams (already 161001)"),
    (f"{_MT}:626-630, 632-652", "tiling x1 2-3 dims and bias shape (host or MT:713 already decide)"),
    (f"{_MT}:654-657", "tiling reduceOp first three characters (the host compares the full string)"),
    (f"{_QT}:213-221", "tiling x2 2-D or 4-D (tiling sees the 2-D view or the 4-D NZ copy)"),
    (f"{_QT}:225-238, 242-255", "tiling x1/x2, bias, comm scale dtypes (host already)"),
    (f"{_QT}:181-188, 197-204", "tiling bf16 / fp16+pertoken dequantScale dtype (host CANN-V3-H07/H09 already)"),
    ("hicann/asc-devkit tools/build/opbuild/op_aclnn_generator.cpp", "generated null checks of required x1, x2, y "
     "and the group string: not read (repository not available); V3 checks x1/x2/output first"),
)

KERNEL_FACTS: dict[str, str] = {
    "accumulate": (
        "int8 x int8 -> int32 in the cube unit; an int32 bias is loaded into the matmul as its bias and so sits "
        "inside the int32 accumulator before any dequantisation (quant_batch_matmul_v3.h:265-266 for the fp16 "
        "no-pertoken kernel, quant_batch_matmul_v3_pertoken.h:368-369, quant_batch_matmul_v3_bf16.h:358; all under "
        "mc2/3rd/quant_batch_matmul_v3/op_kernel/). Kernel choice: mc2/matmul_all_reduce/op_kernel/"
        "matmul_all_reduce.cpp:120-148 (fp16 output) and 152-187 (bf16 output); tiling keys +10 for low-bit "
        "communication (QT:54-56)."),
    "dequant_fp16_no_pertoken": (
        "INT64/UINT64 dequantScale (INT64 relabelled UINT64 on the host, V3:381-383): the 64-bit word goes to the "
        "fixpipe unchanged, SetQuantScalar for a per-tensor (1) scale (word read from GM, "
        "quant_batch_matmul_v3.h:71-72) or SetQuantVector per channel (quant_batch_matmul_v3.h:255-261); the "
        "fixpipe writes the fp16 output directly. Which bits of the word the fixpipe applies (FP19 = top 19 bits "
        "of the fp32 vs all 32) is NOT in the open-sourced code: device-facts §4 FP19 stays UNCONFIRMED. Per-tensor "
        "means dequantScale is 1-D of length 1 (MT:548); (1, 1) goes down the per-channel path with n = 1."),
    "dequant_vector": (
        "FLOAT32 (fp16 output + pertoken) and BF16 (bf16 output) dequantScale are applied on the vector unit with "
        "AscendDequant (quant_batch_matmul_v3_pertoken.h:478-486, quant_batch_matmul_v3_bf16.h:483-500): the int32 "
        "value is converted to fp32 and multiplied by the scale in fp32 (bf16 scale widened exactly). No masking "
        "or truncation of a FLOAT32 scale appears in the open-sourced code: the full fp32 scale applies. "
        "AscendDequant itself lives in the AscendC library (not in this repository), so its internal int32->fp32 "
        "rounding (|acc| > 2^24) and final rounding are UNCONFIRMED; model them as round-half-even."),
    "pertoken": (
        "With pertokenScale (fp16 or bf16 output): t = fp32(AscendDequant(acc, dequantScale)); t = t * "
        "pertoken[row] in fp32 (broadcast over the row, quant_batch_matmul_v3_pertoken.h:489-516); output = "
        "cast(t) with CAST_RINT (round-half-even) to fp16/bf16 (quant_batch_matmul_v3_pertoken.h:523). Order: "
        "(acc * dequantScale) * pertoken, each product rounded to fp32."),
    "bf16_no_pertoken": (
        "bf16 output without pertoken (int32 or no bias): AscendDequant writes bf16 directly from int32 and the "
        "bf16 scale (quant_batch_matmul_v3_bf16.h:489 per-tensor, 499 per-channel); one rounding to bf16 "
        "(mode inside AscendDequant: UNCONFIRMED, assume half-even)."),
    "store_then_x3": (
        "The dequantised product is STORED in the output dtype first; x3 is added afterwards by a separate vector "
        "pass over the stored tile (matmul_all_reduce_base.h:98-105 for the plain path, called per tile from "
        "matmul_all_reduce_quant.h:84-85; low-bit paths: matmul_all_reduce_quant_fp16_comm_int8.h:318-323, "
        "matmul_all_reduce_quant_bf16_comm_int8.h:118-121, matmul_all_reduce_quant_pertoken_comm_int8.h:118-121). "
        "The add (matmul_all_reduce_add_x3.h:72-85): bf16 -> both operands widened to fp32, fp32 add, CAST_RINT "
        "back to bf16 (two roundings in all: store, then add); fp16 -> a half-precision vector Add (two roundings: "
        "store, then the fp16 add's own rounding). Plain path only: when x3 and the output are the same buffer the "
        "add is skipped (matmul_all_reduce_base.h:100)."),
    "all_reduce": (
        "Without comm scales: each rank's stored y (after x3) is all-reduced by HCCL with SUM in the output dtype "
        "(matmul_all_reduce_base.h:69-76), tile by tile; HCCL's internal accumulation precision/order is not in "
        "this repository (UNCONFIRMED). bias and x3 are added on every rank (no rank gating in any kernel)."),
    "lowbit_quantise": (
        "Low-bit (both comm scales): per tile (tiles split M), after store + x3: q = int8(local / scale1[col]). "
        "fp16: Div in half (local fp16 / scale1 fp16), then half -> int8 CAST_RINT "
        "(matmul_all_reduce_quant_perchannel.h:220-231). bf16: local and scale1 widened to fp32, Div in fp32, "
        "fp32 -> half CAST_RINT, half -> int8 CAST_RINT (matmul_all_reduce_quant_perchannel.h:196-218, 231). "
        "Overflow of half -> int8 saturates per the AscendC Cast documentation (not in this repository: "
        "UNCONFIRMED here). Comm scales are per-column vectors of n elements (tiling MT:1297-1308)."),
    "lowbit_alltoall": (
        "Each tile's M rows are padded up to a multiple of the rank count (QT:65-76, MT:229-237) and split into one "
        "row block per rank; all-to-all moves int8 (matmul_all_reduce_quant_fp16_comm_int8.h:325-333)."),
    "lowbit_reduce": (
        "matmul_all_reduce_quant_reduce_sum.h: scale = fp32(scale1) / fp32(scale2), an fp32 Div (169-172); the "
        "received blocks are int8 -> fp16 -> fp32 (205-207, 220-224) and summed in fp32 in source-rank order "
        "0, 1, ..., R-1 (212-228; exact for int8 sums); times scale in fp32 (233-240); fp32 -> fp16 then fp16 -> "
        "int8, both CAST_NONE (242-244), which AscendC documents as round-half-even when precision is lost."),
    "lowbit_allgather_dequant": (
        "r is all-gathered as int8 (matmul_all_reduce_quant_fp16_comm_int8.h:209-227) and dequantised "
        "(matmul_all_reduce_dequant_perchannel.h:194-238): bf16 -> int8 -> fp16 -> fp32, times fp32(scale2) in "
        "fp32, CAST_RINT to bf16; fp16 -> int8 -> fp16, then a half Mul by scale2 (rounded in fp16)."),
    "lowbit_order": (
        "Per rank: local = round_out(dequant(acc + bias) [* pertoken]); local = round_out(local + x3); "
        "q = int8(local / s1); q all-to-all; r = int8(fp16(sum_ranks fp32(q) * (fp32(s1)/fp32(s2)))); "
        "r all-gather; out = round_out(r * s2). device-facts §1 case 3 is correct in order and dtypes."),
}


def _no(rule_id: str, message: str) -> HostVerdict:
    rule = _BY_ID[rule_id]
    return HostVerdict(status=rule.status, phase=rule.phase, rule=rule.id, message=message, launched=False)


def _numel(t: TensorArg) -> int:
    return t.numel


def _nz4(x2: TensorArg) -> bool:
    """FRACTAL_NZ storage format with a 4-D storage shape (V3:147-160)."""
    return x2.format == "FRACTAL_NZ" and x2.storage_shape is not None and len(tuple(x2.storage_shape)) == 4


def _noncontiguous_inputs(t: Mapping[str, TensorArg | None]) -> list[str]:
    """Inputs that opbase records as non-contiguous (every input but x2, which ignores contiguity; an empty or
    one-element view counts as contiguous, opbase indv_executor_utils.h:209-216)."""
    names = []
    for name in NAMES:
        v = t.get(name)
        if name in ("x2", "output") or v is None:
            continue
        if v.numel > 1 and not v.is_contiguous:
            names.append(name)
    return names


def _row_major(t: TensorArg) -> bool:
    """Every view stride equals the row-major product of the later dims, size-1 dims included (the newer
    revisions' contiguity test for x2, stricter than TensorArg.is_contiguous)."""
    return tuple(t.strides) == TensorArg.contiguous_strides(t.shape)


def _x2_layout_rejected(x1: TensorArg, x2: TensorArg) -> bool:
    """V3_X2_CONTIGUITY_CHECKED: a non-empty call whose x2 is neither row-major nor the last-two-axes transpose.
    "Empty" is the source's test: x1's dim at index rank(x2) - 1, or either of x2's last two dims, is 0."""
    i = len(x2.shape) - 1
    empty = (0 <= i < len(x1.shape) and x1.shape[i] == 0) or 0 in tuple(x2.shape)[-2:]
    return not empty and not (_row_major(x2) or vendor_transposed(x2))


def _launch(t: Mapping[str, TensorArg | None], revision: str) -> HostVerdict | None:
    if revisions.has(revision, V3_INPUTS_MADE_CONTIGUOUS):
        return None  # the runtime copies every non-contiguous input (x2 excepted) to a contiguous one
    bad = _noncontiguous_inputs(t)
    if bad:
        return _no("CANN-V3-H37", f"non-contiguous input(s) {', '.join(bad)}: launch fails")
    return None


def check(op: str, tensors: Mapping[str, TensorArg | None], attrs: Mapping, world_size: int,
          revision: str = revisions.BASELINE) -> HostVerdict:
    """The verdict of the published host path at source `revision` (revisions.names()) for one rank's arguments
    (shape-only; data is never read). Each behaviour a later revision changed is switched by revisions.has."""
    if op != OP:
        raise ValueError(f"v3_host models {OP}, not {op}")
    has = lambda change: revisions.has(revision, change)  # noqa: E731
    t = {name: tensors.get(name) for name in NAMES}
    for name in ("x1", "x2", "dequantScale", "output"):
        if t[name] is None:
            return _no("CANN-V3-H01", f"{name} is a null pointer")
    x1, x2, bias, x3 = t["x1"], t["x2"], t["bias"], t["x3"]
    deq, pt, c1, c2, out = t["dequantScale"], t["pertokenScale"], t["commQuantScale1"], t["commQuantScale2"], \
        t["output"]

    # --- dtypes (V3 CheckDtypeValid) ---
    if x1.dtype != "int8" or x2.dtype != "int8":
        return _no("CANN-V3-H02", f"x1/x2 dtypes {x1.dtype}/{x2.dtype}, expected int8")
    if deq.dtype not in DEQ_DTYPES:
        return _no("CANN-V3-H03", f"dequantScale dtype {deq.dtype} not supported")
    if out.dtype not in OUT_DTYPES:
        return _no("CANN-V3-H04", f"output dtype {out.dtype} not float16/bfloat16")
    if bias is not None and bias.dtype != "int32":
        return _no("CANN-V3-H05", f"bias dtype {bias.dtype}, expected int32")
    if x3 is not None and (x3.dtype not in OUT_DTYPES or x3.dtype != out.dtype):
        return _no("CANN-V3-H06", f"x3 dtype {x3.dtype} differs from output {out.dtype}")
    if (out.dtype == "bfloat16" or deq.dtype == "bfloat16") and deq.dtype != out.dtype:
        return _no("CANN-V3-H07", f"dequantScale {deq.dtype} must match a bf16 output/scale ({out.dtype})")
    if pt is not None:
        if pt.dtype != "float32":
            return _no("CANN-V3-H08", f"pertokenScale dtype {pt.dtype}, expected float32")
        if out.dtype == "float16" and deq.dtype != pt.dtype:
            return _no("CANN-V3-H09", f"fp16 output with pertokenScale needs a float32 dequantScale, got {deq.dtype}")
    if c1 is not None and c2 is not None:
        if c1.dtype not in OUT_DTYPES or c2.dtype not in OUT_DTYPES or c1.dtype != out.dtype \
                or c2.dtype != out.dtype:
            return _no("CANN-V3-H10", f"comm scale dtypes {c1.dtype}/{c2.dtype} vs output {out.dtype}")

    # --- attributes (V3 CheckAttr) ---
    if attrs.get("reduceOp") != "sum":
        return _no("CANN-V3-H11", f"reduceOp {attrs.get('reduceOp')!r} is not exactly 'sum'")
    if attrs.get("streamMode") != 1:
        return _no("CANN-V3-H12", f"streamMode {attrs.get('streamMode')} is not 1")

    # --- shapes (V3 CheckShape) ---
    if len(x1.shape) not in (2, 3):
        return _no("CANN-V3-H13", f"x1 is {len(x1.shape)}-D, expected 2-D or 3-D")
    nz4 = _nz4(x2)
    if not nz4:
        if len(x2.shape) != 2:
            return _no("CANN-V3-H14", f"x2 view is {len(x2.shape)}-D, expected 2-D")
        k, n = x1.shape[-1], x2.shape[1]
        if k != x2.shape[0]:
            return _no("CANN-V3-H15", f"x1 k = {k} but x2 dim 0 = {x2.shape[0]}")
        want = tuple(x1.shape[:-1]) + (n,)
        if tuple(out.shape) != want:
            return _no("CANN-V3-H16", f"output shape {tuple(out.shape)}, expected {want}")
        if bias is not None and (len(bias.shape) != 1 or tuple(bias.shape) != (n,)):
            return _no("CANN-V3-H17", f"bias shape {tuple(bias.shape)}, expected ({n},)")
        if x3 is not None and tuple(x3.shape) != tuple(out.shape):
            return _no("CANN-V3-H18", f"x3 shape {tuple(x3.shape)} differs from output {tuple(out.shape)}")
        ds = tuple(deq.shape)
        if not ((len(ds) == 1 and ds[0] in (1, n)) or (len(ds) == 2 and ds[0] == 1 and ds[1] == n)):
            return _no("CANN-V3-H19", f"dequantScale shape {ds}, expected (1), ({n}) or (1, {n})")
        if pt is not None:
            m = 1
            for d in x1.shape[:-1]:
                m *= d
            if tuple(pt.shape) != (m,):
                return _no("CANN-V3-H20", f"pertokenScale shape {tuple(pt.shape)}, expected ({m},)")
        if (c1 is None) != (c2 is None):
            return _no("CANN-V3-H21", "only one of commQuantScale1/commQuantScale2 is given")
        if c1 is not None:
            r1, r2 = len(c1.shape), len(c2.shape)
            if not (1 <= r1 <= 2 and 1 <= r2 <= 2) or r1 != r2:
                return _no("CANN-V3-H22", f"comm scale ranks {r1}/{r2}")
            # the baseline reads commQuantScale2's dims for both scales; V3_COMM_SCALE1_OWN_SHAPE reads each its own
            read = (("commQuantScale1", c1), ("commQuantScale2", c2)) if has(V3_COMM_SCALE1_OWN_SHAPE) else \
                (("commQuantScale2", c2),)
            for name, scale in read:
                s = tuple(scale.shape)
                if not ((r1 == 1 and s[0] == n) or (r1 == 2 and s[0] == 1 and s[1] == n)):
                    return _no("CANN-V3-H23", f"{name} shape {s}, expected ({n}) or (1, {n})")
    if has(V3_X2_CONTIGUITY_CHECKED) and _x2_layout_rejected(x1, x2):
        return _no("CANN-V3-H38", "x2 is neither contiguous nor the last-two-axes transpose")

    # --- opbase kernel lookup on x1, x2, output (dtype + storage format) ---
    # (ND-like base formats count as ND: torch_npu passes a 3-D x1 and output as NCL, model.kernel_format)
    if kernel_format(x1) != "ND" or kernel_format(out) != "ND" or kernel_format(x2) not in ("ND", "FRACTAL_NZ"):
        return _no("CANN-V3-H24", f"formats x1={x1.format}, x2={x2.format}, output={out.format} match no kernel")

    # --- empty-output short-cut: no tiling, nothing computed; the launch still checks contiguity ---
    if out.numel == 0:
        launch = _launch(t, revision)
        if launch is not None:
            return launch
        return HostVerdict(status=0, message="output is empty: tiling and kernel skipped, workspace 0",
                           launched=False)

    # --- tiling (shapes as tiling sees them: views; a 4-D NZ x2 is seen as its 4-D storage) ---
    if len(out.shape) not in (2, 3):
        return _no("CANN-V3-H25", f"output is {len(out.shape)}-D, expected 2-D or 3-D")
    if world_size not in (1, 2, 4, 8):
        return _no("CANN-V3-H26", f"rank size {world_size} not in 1/2/4/8")
    n_t = out.shape[-1]
    k_t = x1.shape[-1]
    m_t = x1.shape[0] * (x1.shape[1] if len(x1.shape) == 3 else 1)
    if bias is not None and (len(bias.shape) != 1 or _numel(bias) != n_t):
        return _no("CANN-V3-H27", f"bias shape {tuple(bias.shape)}: expected 1-D with {n_t} elements")
    if len(deq.shape) > 3 or _numel(deq) not in (1, n_t):
        return _no("CANN-V3-H28", f"dequantScale shape {tuple(deq.shape)}: expected <= 3-D with 1 or {n_t} elements")
    if has(V3_PER_TENSOR_SCALE_EXACT) and _numel(deq) == 1 and n_t != 1 and tuple(deq.shape) != (1,):
        return _no("CANN-V3-H28", f"per-tensor dequantScale shape {tuple(deq.shape)}: expected exactly (1)")
    if pt is not None and (len(pt.shape) > 1 or _numel(pt) != m_t):
        return _no("CANN-V3-H29", f"pertokenScale shape {tuple(pt.shape)}: expected 1-D with {m_t} elements")
    if (c1 is None) != (c2 is None):
        return _no("CANN-V3-H30", "only one comm scale is given")
    if c1 is not None and (len(c1.shape) > 2 or len(c2.shape) > 2 or _numel(c1) != n_t or _numel(c2) != n_t):
        return _no("CANN-V3-H30", f"comm scale shapes {tuple(c1.shape)}/{tuple(c2.shape)}: expected <= 2-D with "
                                  f"{n_t} elements each")
    if int(attrs.get("commTurn", 0)) & 0xFFFFFFFF:
        return _no("CANN-V3-H31", f"commTurn {attrs.get('commTurn')} is not 0 in its low 32 bits")
    if out.dtype == "float16" and pt is None and deq.dtype not in ("int64", "uint64"):
        return _no("CANN-V3-H32", f"fp16 output without pertokenScale needs an int64/uint64 dequantScale, got "
                                  f"{deq.dtype}")
    if m_t > INT32_MAX:
        return _no("CANN-V3-H33", f"m = {m_t} exceeds INT32_MAX")
    if k_t > UINT16_MAX:
        return _no("CANN-V3-H34", f"k = {k_t} exceeds 65535")
    transposed = vendor_transposed(x2)
    last, first = (k_t, n_t) if transposed else (n_t, k_t)
    if last > UINT16_MAX:
        return _no("CANN-V3-H35", f"x2 last dim ({'k' if transposed else 'n'} = {last}) exceeds 65535")
    if has(V3_X2_FIRST_DIM_BOUNDED) and first > INT32_MAX:
        return _no("CANN-V3-H35", f"x2 first dim ({'n' if transposed else 'k'} = {first}) exceeds INT32_MAX")
    # the comm-scale emptiness test reads commQuantScale2 at the baseline, commQuantScale1 once it reads its own
    scale_tested = ("commQuantScale1", c1) if has(V3_COMM_SCALE1_OWN_SHAPE) else ("commQuantScale2", c2)
    empties = [nm for nm, v in (("bias", bias), ("x3", x3), ("dequantScale", deq), ("pertokenScale", pt),
                                scale_tested) if v is not None and v.numel == 0]
    if empties or k_t == 0:
        return _no("CANN-V3-H36", f"empty {', '.join(empties)}" if empties else "k == 0")

    # --- launch ---
    launch = _launch(t, revision)
    if launch is not None:
        return launch
    read_contiguous = (not nz4) and x2.numel > 1 and not x2.is_contiguous and not transposed
    return HostVerdict(status=0, message="accepted" + (": strided x2 read as contiguous" if read_contiguous else ""),
                       launched=True, x2_read_contiguous=read_contiguous)


def kernel_path(ranks: list[dict], vector_cores: int) -> str:
    """The numeric path (SimOptions.x3_rounding) of the published kernels: x3 added after the product's store
    (KERNEL_FACTS)."""
    return "after_store"
