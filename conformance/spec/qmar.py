"""Constraints of aclnnQuantMatmulAllReduce (V1: no pertokenScale, no comm scales).

The contract is the operator's published document in the vendor repository, not a shared/docs copy:
mirror-cann/ops-transformer@c29bc10 mc2/matmul_all_reduce/docs/aclnnQuantMatmulAllReduce.md (SOURCE below).
Each record's `source` names the document line it quotes ("doc:L276"). tests/test_spec_quotes.py checks every
excerpt against that file when the mirror is on the machine, and always checks QUOTE_SHA256 (the sha256 of each
record's whitespace-free original, frozen when the quotes were verified): a quote edited later fails until it is
verified again.

Ids follow V3's records that state the same rule (QMAR-SHAPE-005 is V3-SHAPE-005's rule for this operator): the
gaps are V3's pertokenScale and comm-scale records, which this operator has no argument for. The return-code
table (doc:L217-231) names 161001 for null x1, x2, dequantScale or output and 161002 for dtypes, streamMode and
shapes: those records are code_source=document; formats, contiguity, world size, reduceOp and commTurn are not in
the table: convention (QMAR-AMB-004).
"""

from __future__ import annotations

from ..protocol import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS
from .model import Ambiguity, table_coded

OP = "QuantMatmulAllReduce"
DOC = "aclnnQuantMatmulAllReduce.md"
# where the quotes come from: (repository, commit, path); the mirror's directory name replaces "/" by "+"
SOURCE = ("mirror-cann/ops-transformer", "c29bc1069d3252c641e2aa059ec88f392d3f05ac",
          "mc2/matmul_all_reduce/docs/aclnnQuantMatmulAllReduce.md")
OK = ACLNN_SUCCESS
NULLPTR = ACLNN_ERR_PARAM_NULLPTR
INVALID = ACLNN_ERR_PARAM_INVALID
ELIDED = " … "
PARAPHRASE_ONLY = "paraphrase only:"


def _c(id, kind, original, paraphrase, constrains, status=None, *, lines, documented=True, notes="",
       representation=False, x1_ranks=(2, 3)):
    return table_coded(id=id, op=OP, kind=kind, original=original, paraphrase=paraphrase, constrains=constrains,
                       status=status, documented=documented, source=f"{DOC}:{lines}", notes=notes,
                       representation=representation, x1_ranks=x1_ranks)


def _para(why: str) -> str:
    return f"{PARAPHRASE_ONLY} {why}"


_SHAPES = "输入x1可为二维或者三维，其shape为(b, s, k)或者(m, k)。x2必须是二维。其shape为(k, n)，k轴满足mm算子入参要求，k轴相等。"
_BOUNDS = ("m大小不超过2147483647，x1与x2的最后一维大小不超过65535，x1的最后一维指k，x2的最后一维指转置时的k或非转置时的n。")
_RANGE = "x1和x2、dequantScale、output、bias（非空场景）、x3（非空场景）的数据类型和数据格式需要在支持的范围之内。"
_DTYPE_CODE = "x1、x2、bias、dequantScale、x3或output的数据类型不在支持的范围之内。"
_SHAPE_CODE = "x1、x2、bias、dequantScale、x3或output的shape不符合约束要求。"
_PAIR = ("若输出output类型为FLOAT16，dequantScale的类型为INT64、UINT64；若输出output类型为BFLOAT16，dequantScale的类型为"
         "BFLOAT16，x3的类型为BFLOAT16。")
_NZ = ("x2输入的数据格式支持ND（当前版本仅支持二维输入）和FRACTAL_NZ格式（当前版本仅支持四维输入）。当x2的数据格式为FRACTAL_NZ时，"
       "配合aclnnCalculateMatmulWeightSizeV2和aclnnTransMatmulWeight完成数据格式ND到数据格式NZ的转换，非连续的tensor仅支持"
       "transpose场景。")
_OPTIONAL = "bias若非空，shape为(n)。x3若非空，shape与output相同。"
_FORMULA = "output= allReduce(dequantScale*(x1_{int8}@x2_{int8} + bias_{int32}) + x3)"

CONSTRAINTS = (
    _c("QMAR-SHAPE-001", "reject", _SHAPES + ELIDED + _SHAPE_CODE, "x1 must be 2-D (m, k) or 3-D (b, s, k).",
       ["x1"], INVALID, lines="L276,L230", x1_ranks=()),
    _c("QMAR-SHAPE-002", "reject", _SHAPES + ELIDED + _NZ, "An ND x2 must be 2-D (k, n).", ["x2"], INVALID,
       lines="L276,L197"),
    _c("QMAR-SHAPE-003", "reject", _NZ, "A FRACTAL_NZ x2 is a (k, n) view whose storage is the 4-D NZ tiling.",
       ["x2"], INVALID, lines="L197", notes="Read as the aclTensor aclnnTransMatmulWeight makes, as V3-SHAPE-003."),
    _c("QMAR-SHAPE-004", "reject", _SHAPES + ELIDED + _SHAPE_CODE, "The k axis of x1 and x2 must be equal.",
       ["x1", "x2"], INVALID, lines="L276,L230"),
    _c("QMAR-SHAPE-005", "reject", _OPTIONAL + ELIDED + _SHAPE_CODE, "bias, when given, is 1-D (n).", ["bias"],
       INVALID, lines="L277,L230"),
    _c("QMAR-SHAPE-006", "reject", _OPTIONAL + ELIDED + _SHAPE_CODE, "x3, when given, has the output's shape.",
       ["x3"], INVALID, lines="L277,L230", notes="The parameter table's x3 dimension column says 2: QMAR-AMB-002."),
    _c("QMAR-SHAPE-007", "reject", "shape在pertensor场景为(1)，perchannel场景为(n)/(1, n)" + ELIDED + _SHAPE_CODE,
       "dequantScale is (1), (n) or (1, n).", ["dequantScale"], INVALID, lines="L118,L230",
       notes="The parameter table's dequantScale dimension column says 2: QMAR-AMB-002."),
    _c("QMAR-SHAPE-009", "reject", "当输入x1的shape为(b, s, k)时，输出output的shape为(b, s, n)，当输入x1的shape为(m, k)时，"
       "输出output的shape为(m, n)。" + ELIDED + _SHAPE_CODE,
       "output is (b, s, n) for 3-D x1 and (m, n) for 2-D x1.", ["output"], INVALID, lines="L278,L230"),
    _c("QMAR-DTYPE-001", "reject", _RANGE + ELIDED + _DTYPE_CODE, "x1 and x2 must be INT8 (parameter table).",
       ["x1", "x2"], INVALID, lines="L280,L224,L79,L89"),
    _c("QMAR-DTYPE-002", "reject", _RANGE + ELIDED + _DTYPE_CODE, "bias, when given, must be INT32 (parameter table).",
       ["bias"], INVALID, lines="L280,L224,L99"),
    _c("QMAR-DTYPE-003", "reject", _RANGE + ELIDED + _DTYPE_CODE,
       "output must be FLOAT16 or BFLOAT16 (parameter table).", ["output"], INVALID, lines="L280,L224,L169"),
    _c("QMAR-DTYPE-004", "reject", _PAIR, "bf16 output needs a BFLOAT16 dequantScale.", ["dequantScale"], INVALID,
       lines="L281"),
    _c("QMAR-DTYPE-006", "reject", _PAIR, "fp16 output needs an INT64/UINT64 dequantScale.", ["dequantScale"],
       INVALID, lines="L281"),
    _c("QMAR-DTYPE-007", "reject", _PAIR, "x3 must have the output's dtype (bf16 output: BFLOAT16 x3).", ["x3"],
       INVALID, lines="L281", notes="The fp16-output half is a reading: QMAR-AMB-001."),
    _c("QMAR-BOUND-001", "reject", _BOUNDS, "m must not exceed INT32_MAX (m == INT32_MAX is accepted).", ["x1"],
       INVALID, lines="L277"),
    _c("QMAR-BOUND-002", "reject", _BOUNDS, "k (x1's last dim) must not exceed 65535.", ["x1"], INVALID,
       lines="L277"),
    _c("QMAR-BOUND-003", "reject", _BOUNDS,
       "x2's last dim must not exceed 65535: n > 65535 only with transposed x2 (whose last dim is k).", ["x2"],
       INVALID, lines="L277"),
    _c("QMAR-LAYOUT-001", "reject", "支持不转置场景。", "x1 must be contiguous (no transpose).", ["x1"], INVALID,
       lines="L78", documented=False, representation=True,
       notes="The parameter table marks x1 as not supporting non-contiguous tensors (L82); contiguity is not in "
             "the return-code table."),
    _c("QMAR-LAYOUT-003", "reject", "非连续的tensor仅支持transpose场景。",
       "x2 non-contiguous in any way other than the transpose is rejected.", ["x2"], INVALID, lines="L197",
       documented=False, representation=True),
    _c("QMAR-LAYOUT-002", "accept", "支持转置/不转置场景。", "x2 may be transposed, in ND or FRACTAL_NZ.", ["x2"], OK,
       lines="L88"),
    _c("QMAR-FORMAT-001", "accept", _NZ, "x2 may be FRACTAL_NZ (4-D storage).", ["x2"], OK, lines="L197"),
    _c("QMAR-FORMAT-002", "reject", _RANGE, "x1 must be ND.", ["x1"], INVALID, lines="L280,L80", documented=False,
       notes="Formats are not in the return-code table."),
    _c("QMAR-FORMAT-003", "reject", _NZ, "x2 in a format other than ND or FRACTAL_NZ is rejected.", ["x2"], INVALID,
       lines="L197", documented=False, notes="Formats are not in the return-code table."),
    _c("QMAR-FORMAT-004", "reject", _RANGE, "bias, x3, dequantScale and output, when given, must be ND.",
       ["bias", "x3", "dequantScale", "output"], INVALID, lines="L280", documented=False,
       notes="The parameter table's format column says ND for each (L100, L110, L120, L170)."),
    _c("QMAR-EMPTY-001", "reject", "不支持x1、x2为空矩阵。", "Empty x1 or x2 (m, k or n = 0) are rejected.",
       ["x1", "x2"], INVALID, lines="L276"),
    _c("QMAR-WORLD-001", "reject", "仅支持hccs链路all mesh组网。" + ELIDED + "支持1、2、4、8卡。",
       "Only world sizes 1, 2, 4 and 8.", ["group"], INVALID, lines="L282,L283", documented=False),
    _c("QMAR-ATTR-001", "reject", "当前版本仅支持输入\"sum\"。", "reduceOp must be \"sum\".", ["reduceOp"], INVALID,
       lines="L138", documented=False),
    _c("QMAR-ATTR-002", "reject", "当前版本仅支持输入0。", "commTurn must be 0.", ["commTurn"], INVALID,
       lines="L148", documented=False),
    _c("QMAR-ATTR-003", "reject", "当前版本仅支持枚举值1。" + ELIDED + "streamMode不在合法范围内。",
       "streamMode must be 1.", ["streamMode"], INVALID, lines="L158,L227"),
    _c("QMAR-NULL-001", "reject", "传入的x1、x2、dequantScale或者output不为空指针。" + ELIDED
       + "传入的x1、x2、dequantScale或output是空指针。", "A null x1, x2, dequantScale or output is rejected with 161001.",
       ["x1", "x2", "dequantScale", "output"], NULLPTR, lines="L279,L219"),
    _c("QMAR-NULL-002", "accept", _OPTIONAL, "bias and x3 may be null.", ["bias", "x3"], OK, lines="L277"),
    _c("QMAR-NUM-001", "compute", _FORMULA,
       "out = sum over ranks of dequantScale * (x1 @ x2 + bias) + x3, int32 bias inside the accumulator, bias and "
       "x3 counted once per rank (x3 inside the all-reduce).", ["output"], lines="L18"),
    _c("QMAR-NUM-002", "compute", "",
       "An INT64/UINT64 dequantScale applies the FP19 part of its word.", ["dequantScale"], lines="-",
       notes=_para("device-facts 4 (as V3-NUM-002): an INT64/UINT64 dequantScale applies fp32(word & 0xFFFFE000); "
                   "the V1 host relabels INT64 as UINT64 (aclnn_quant_matmul_all_reduce.cpp:60-62 at c29bc10).")),
    _c("QMAR-NUM-005", "compute", "",
       "With integer data and power-of-two (or FP19-exact) scales the output is exact bit for bit.", ["output"],
       lines="-", notes=_para("the integral path of the formula (the nccl-tests verifiable mode).")),
    _c("QMAR-NUM-006", "compute", "", "Every rank's output is identical.", ["output"], lines="-",
       notes=_para("allReduce: every rank receives the reduced result.")),
)

AMBIGUITIES = (
    Ambiguity("QMAR-AMB-001", (OP,),
              "x3 with an FLOAT16 output: the pairing sentence (L281) names x3's dtype only for a BFLOAT16 output; "
              "the parameter table allows FLOAT16 and BFLOAT16 (L109) and the document's sample passes an fp16 x3 "
              "with an fp16 output (L459-461).",
              "x3 has the output's dtype: an fp16 x3 with an fp16 output is valid, a bf16 x3 with an fp16 output is "
              "rejected (QMAR-DTYPE-007). The published host check compares x3's dtype with the output's "
              "(matmul_all_reduce_util.cpp:227-231 at c29bc10).", related=("QMAR-DTYPE-007",)),
    Ambiguity("QMAR-AMB-002", (OP,),
              "The parameter table gives x3 and dequantScale the dimension 2 (L111, L121), while the constraint "
              "text allows x3 the output's (b, s, n) shape and dequantScale (1) or (n).",
              "The constraint text wins: x3 has the output's shape (2-D or 3-D) and dequantScale is (1), (n) or "
              "(1, n), as the document's own sample (dequantScale (128), L410) and the host check "
              "(matmul_all_reduce_util.cpp:370-385 at c29bc10) have it.", related=("QMAR-SHAPE-006", "QMAR-SHAPE-007")),
    Ambiguity("QMAR-AMB-003", (OP,),
              "The int32 accumulator's behaviour when x1 @ x2 + bias overflows is not documented.",
              "The reference wraps in two's complement, as an int32 accumulator does (V3-AMB-003); no valid case "
              "reaches overflow.", related=("QMAR-NUM-001",)),
    Ambiguity("QMAR-AMB-004", (OP,),
              "Only null pointers, dtypes, shapes and streamMode have documented codes (L217-231).",
              "world size, reduceOp, commTurn, format and contiguity violations are expected to give 161002 "
              "(convention).",
              related=("QMAR-WORLD-001", "QMAR-ATTR-001", "QMAR-ATTR-002", "QMAR-FORMAT-002", "QMAR-FORMAT-003",
                       "QMAR-FORMAT-004", "QMAR-LAYOUT-001", "QMAR-LAYOUT-003")),
    Ambiguity("QMAR-AMB-005", (OP,),
              "Whether x3 is added to the stored dequantised product or inside the same fp32 sum before one store "
              "is not stated (the formula adds it before the all-reduce).",
              "Either is legal: the simulator's path option x3_rounding ('after_store' as the kernels do, "
              "'fused'), shared with V3; the bound covers both.", related=("QMAR-NUM-001",)),
)

# sha256 of each quoting record's original with all whitespace removed, frozen when the quotes were verified
# against SOURCE (tests/test_spec_quotes.py)
QUOTE_SHA256 = {
    "QMAR-SHAPE-001": "b5ee6fbd3f605ba32215af3c08a43fb5379637b0c6e1d463eb6fb4c66fae4a0b",
    "QMAR-SHAPE-002": "f2b652f8d88c007bd4ba1a043d78657dc672fa8ca9b68b6fb449b8da2b87180a",
    "QMAR-SHAPE-003": "26a411b82b57b85c191ef3eff8c95a5d6f28a004101fd5233719313733ec9757",
    "QMAR-SHAPE-004": "b5ee6fbd3f605ba32215af3c08a43fb5379637b0c6e1d463eb6fb4c66fae4a0b",
    "QMAR-SHAPE-005": "bc5fe2e58930925b82ba3f08bbcb70a7726e64abf3ebba3f58665a6a6bc5036c",
    "QMAR-SHAPE-006": "bc5fe2e58930925b82ba3f08bbcb70a7726e64abf3ebba3f58665a6a6bc5036c",
    "QMAR-SHAPE-007": "2c28b8772efa79cc30eed676ed359cf6af2c4b49a5ff8bae3d2a19a476c2d69f",
    "QMAR-SHAPE-009": "be9c9ec7e9a2f2ad6676e1941658460ff12c3879c43ac9576b446538a6ca4ded",
    "QMAR-DTYPE-001": "1f9ed553c72897a514bab8a5e82388d69b1e2a12a62c4f7c83effc5388ea2ff6",
    "QMAR-DTYPE-002": "1f9ed553c72897a514bab8a5e82388d69b1e2a12a62c4f7c83effc5388ea2ff6",
    "QMAR-DTYPE-003": "1f9ed553c72897a514bab8a5e82388d69b1e2a12a62c4f7c83effc5388ea2ff6",
    "QMAR-DTYPE-004": "f414e452e2b6a3be5d6bf30c54b69ad3e4f262093f239e17bc7c78ae0985d966",
    "QMAR-DTYPE-006": "f414e452e2b6a3be5d6bf30c54b69ad3e4f262093f239e17bc7c78ae0985d966",
    "QMAR-DTYPE-007": "f414e452e2b6a3be5d6bf30c54b69ad3e4f262093f239e17bc7c78ae0985d966",
    "QMAR-BOUND-001": "e9389c3e4b17270bfe8cc81e1bc3ed3e77bae89b1ab51e41c7ec8fa821b51b47",
    "QMAR-BOUND-002": "e9389c3e4b17270bfe8cc81e1bc3ed3e77bae89b1ab51e41c7ec8fa821b51b47",
    "QMAR-BOUND-003": "e9389c3e4b17270bfe8cc81e1bc3ed3e77bae89b1ab51e41c7ec8fa821b51b47",
    "QMAR-LAYOUT-001": "8267f19b1c2018f42c9bc066ccf364c4ca83054edf4dc155c454bc6deff28c18",
    "QMAR-LAYOUT-003": "28495373477b24b587b80ce9b27eb63ff75954a6a916ea839cc8db192c9cb365",
    "QMAR-LAYOUT-002": "25f93be8ee62dc631d3d766ad222722ca554429025cc47bc65efc534430215ff",
    "QMAR-FORMAT-001": "26a411b82b57b85c191ef3eff8c95a5d6f28a004101fd5233719313733ec9757",
    "QMAR-FORMAT-002": "07b3b299ba0d9365f0b2a7efb1f6b6df3bc48ca06f7cc26e7d18676b335b5baa",
    "QMAR-FORMAT-003": "26a411b82b57b85c191ef3eff8c95a5d6f28a004101fd5233719313733ec9757",
    "QMAR-FORMAT-004": "07b3b299ba0d9365f0b2a7efb1f6b6df3bc48ca06f7cc26e7d18676b335b5baa",
    "QMAR-EMPTY-001": "717745e3d985298c56234393b3e0b3c55abe1b7fc7634765e38c94b5a53729c3",
    "QMAR-WORLD-001": "62ffaafcb210a7122720e61f82a9acf32969c42c1f9d3e82ed9254e33c712d95",
    "QMAR-ATTR-001": "11bfdfa94a16d6806af5bcf01dc2642283ed9e23f66156cb00b378c023e8770f",
    "QMAR-ATTR-002": "f773895eb4e402bc5b409d838f015a7959d543dd18b9691a1f018d96f610ecf1",
    "QMAR-ATTR-003": "46cad10ef0479fece0123492720c9d65eb22661374bc0d9a505e8742856ebe7a",
    "QMAR-NULL-001": "c250e25ef09922316e899f9481333ee4d9ac5c31ccaf0c53ad2fdf1af510a358",
    "QMAR-NULL-002": "1dff852308e1a70e280d0be8d808443b227fa7ecacd86a14e2db2d45323cc4d6",
    "QMAR-NUM-001": "690413bdc6b008d03fabdc333484e8e56b449f7e5ffe5e7cc359c4d22ef556bc",
}
