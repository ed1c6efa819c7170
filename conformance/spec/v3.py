"""Constraints of aclnnQuantMatmulAllReduceV3 (shared/docs/aclnnQuantMatmulAllReduceV3.md).

The document states its status codes (161001 for null x1, x2, dequantScale or output; 161002 for dtypes out of
range, streamMode, and shapes that break the constraints), so those constraints are code_source=document. Formats,
contiguity, the pairing of the comm scales, world size, reduceOp and commTurn are not in that table: convention.
The formula image was lost; device-facts 1 restores its three cases (the numeric records paraphrase it).

`original` is text of the document, verbatim up to whitespace; excerpts from different places are joined by
" … " (ELIDED). Where no sentence states a record, original is "" and notes begin with PARAPHRASE_ONLY.
tests/test_spec_quotes.py checks both.
"""

from __future__ import annotations

from ..protocol import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS
from .model import Ambiguity, table_coded

OP = "QuantMatmulAllReduceV3"
DOC = "aclnnQuantMatmulAllReduceV3.md"
OK = ACLNN_SUCCESS
NULLPTR = ACLNN_ERR_PARAM_NULLPTR
INVALID = ACLNN_ERR_PARAM_INVALID
ELIDED = " … "
PARAPHRASE_ONLY = "paraphrase only:"
_NULL_CODE = "161001 (ACLNN_ERR_PARAM_NULLPTR): 1. 传入的x1、x2、dequantScale或output是空指针。"
_INVALID_CODE = "161002 (ACLNN_ERR_PARAM_INVALID):"
_STREAM_CODE = "2. streamMode不在合法范围内。"


def _c(id, kind, original, paraphrase, constrains, status=None, *, documented=True, section="约束与限制", notes="",
       representation=False, x1_ranks=(2, 3)):
    return table_coded(id=id, op=OP, kind=kind, original=original, paraphrase=paraphrase, constrains=constrains,
                       status=status, documented=documented, source=f"{DOC} / {section}", notes=notes,
                       representation=representation, x1_ranks=x1_ranks)


_X1 = "输入x1可为2维或者3维,且不为空Tensor,其shape为(b, s, k)或者(m, k)。"
_X2 = "x2必须是2维,且不为空Tensor。其shape为(k, n),k轴满足mm算子入参要求,k轴相等。"
_BOUNDS = ("m大小不超过2147483647,x1与x2的最后一维大小不超过65535,x1的最后一维指k,"
           "x2的最后一维指转置时的k或非转置时的n。")
_PAIR = ("若输出output类型为FLOAT16,当pertokenSclale为空时,dequantScale的类型为INT64、UINT64,当pertokenSclale"
         "不为空时,dequantScale的类型为FLOAT32;若输出output类型为BFLOAT16,dequantScale的类型为BFLOAT16,x3的类型为BFLOAT16。")
_X2_FORMAT = "x2(aclTensor*, 计算输入):公式中的输入x2,数据类型支持INT8,数据格式支持ND和FRACTAL_NZ格式。"
_COMM = ("传入的commQuantScale1与commQuantScale2需要同时为空指针或同时不为空指针,若传入的commQuantScale1与commQuantScale2"
         "同时不为空指针,两个量化参数shape需保持一致,类型需与算子输出类型保持一致,且每张卡输入保持一致。")
_FORMULA = ("the formula image is lost; device-facts 1 restores it: "
            "out = allReduce(dequantScale * pertokenScale * (x1 @ x2 + bias) + x3)")
_LOWBIT = ("the formula image is lost; device-facts 1 restores the low-bit case: q = alltoall(int8(local / "
           "commQuantScale1)); r = int8(sum(q) * scale1 / scale2); out = allgather(r) * commQuantScale2")


def _para(why: str) -> str:
    return f"{PARAPHRASE_ONLY} {why}"

CONSTRAINTS = (
    _c("V3-SHAPE-001", "reject", _X1, "x1 must be 2-D (m, k) or 3-D (b, s, k).", ["x1"], INVALID, x1_ranks=()),
    _c("V3-SHAPE-002", "reject", _X2 + ELIDED + "当x2的数据格式为ND时,当前版本仅支持二维输入。",
       "An ND x2 must be 2-D (k, n).", ["x2"], INVALID),
    _c("V3-SHAPE-003", "reject", "当x2的数据格式为FRACTAL_NZ时,当前版本仅支持四维输入,配合aclnnCalculateMatmulWeightSizeV2和"
       "aclnnTransMatmulWeight完成输入ND到NZ的转换",
       "A FRACTAL_NZ x2 is a (k, n) view whose storage is the 4-D NZ tiling (ceil(n/32), ceil(k/16), 16, 32).",
       ["x2"], INVALID, section="参数说明",
       notes="Read as the aclTensor made by aclnnTransMatmulWeight: view (k, n), 4-D storage."),
    _c("V3-SHAPE-004", "reject", _X2, "The k axis of x1 and x2 must be equal.", ["x1", "x2"], INVALID),
    _c("V3-SHAPE-005", "reject", "对应计算公式中bias偏移。可选,可为空。当前版本仅支持一维输入。", "bias, when given, is 1-D (n).",
       ["bias"], INVALID, section="参数说明"),
    _c("V3-SHAPE-006", "reject", "mm计算后的add计算,维度与output一致。", "x3, when given, has the output's shape.",
       ["x3"], INVALID, section="参数说明"),
    _c("V3-SHAPE-007", "reject", "shape在per-tensor场景为(1),per-channel场景为(n)/(1, n)。",
       "dequantScale is (1), (n) or (1, n).", ["dequantScale"], INVALID, section="参数说明"),
    _c("V3-SHAPE-008", "reject", "x1的shape为(b, s, k)时,pertokenScaleOptional的shape为(b*s);当x1的shape为(m, k)时,"
       "pertokenScaleOptional的shape为(m)。", "pertokenScale, when given, is 1-D of length m (= b*s).",
       ["pertokenScale"], INVALID),
    _c("V3-SHAPE-009", "reject", "output(aclTensor *, 输出):计算+通信的结果,数据类型支持FLOAT16、BFLOAT16,维度为(b, s, n)或者(m, n)。",
       "output is (b, s, n) for 3-D x1 and (m, n) for 2-D x1.", ["output"], INVALID, section="参数说明"),
    _c("V3-DTYPE-001", "reject", "x1(aclTensor*, 计算输入):公式中的输入x1,数据类型支持INT8," + ELIDED
       + "x2(aclTensor*, 计算输入):公式中的输入x2,数据类型支持INT8,", "x1 and x2 must be INT8.", ["x1", "x2"], INVALID,
       section="参数说明"),
    _c("V3-DTYPE-002", "reject", "biasOptional(aclTensor*, 计算输入):公式中的输入biasOptional,数据类型支持INT32,", "bias, when given, must be INT32.", ["bias"],
       INVALID, section="参数说明"),
    _c("V3-DTYPE-003", "reject", "output(aclTensor *, 输出):计算+通信的结果,数据类型支持FLOAT16、BFLOAT16,", "output must be FLOAT16 or BFLOAT16.",
       ["output"], INVALID, section="参数说明"),
    _c("V3-DTYPE-004", "reject", _PAIR, "bf16 output needs a BFLOAT16 dequantScale.", ["dequantScale"], INVALID),
    _c("V3-DTYPE-005", "reject", _PAIR, "fp16 output with pertokenScale needs a FLOAT32 dequantScale.",
       ["dequantScale", "pertokenScale"], INVALID),
    _c("V3-DTYPE-006", "reject", _PAIR, "fp16 output without pertokenScale needs an INT64/UINT64 dequantScale.",
       ["dequantScale"], INVALID),
    _c("V3-DTYPE-007", "reject", _PAIR, "x3 must have the output's dtype (bf16 output: BFLOAT16 x3).", ["x3"],
       INVALID, notes="See V3-AMB-001 for fp16 output."),
    _c("V3-DTYPE-008", "reject", "mm计算后的pertoken去量化系数,数据类型支持FLOAT32,", "pertokenScale must be FLOAT32.",
       ["pertokenScale"], INVALID, section="参数说明"),
    _c("V3-COMM-001", "reject", _COMM, "commQuantScale1 and commQuantScale2 are both null or both given.",
       ["commQuantScale1", "commQuantScale2"], INVALID, documented=False,
       notes="Pairing of nullness: neither a dtype nor a shape rule, so not in the return-code table."),
    _c("V3-COMM-002", "reject", _COMM + ELIDED + "x2为(k, n)时, shape可为(n)或者(1,n)。",
       "Given comm scales have the same shape, (n) or (1, n).", ["commQuantScale1", "commQuantScale2"], INVALID),
    _c("V3-COMM-003", "reject", _COMM, "Given comm scales have the output's dtype.",
       ["commQuantScale1", "commQuantScale2"], INVALID),
    _c("V3-BOUND-001", "reject", _BOUNDS, "m must not exceed INT32_MAX (m == INT32_MAX is accepted).", ["x1"],
       INVALID),
    _c("V3-BOUND-002", "reject", _BOUNDS, "k (x1's last dim) must not exceed 65535: 65535 accepted, 65536 rejected.",
       ["x1"], INVALID),
    _c("V3-BOUND-003", "reject", _BOUNDS,
       "x2's last dim must not exceed 65535: n > 65535 only with transposed x2 (whose last dim is k).", ["x2"],
       INVALID),
    _c("V3-LAYOUT-001", "reject", "只支持x2矩阵转置/不转置,x1矩阵不支持转置场景。" + ELIDED + "mm左矩阵,不支持非连续输入。",
       "x1 must be contiguous (no transpose).", ["x1"], INVALID, documented=False,
       notes="Contiguity is not in the return-code table.", representation=True),
    _c("V3-LAYOUT-003", "reject", "非连续的tensor仅支持transpose场景。",
       "x2 non-contiguous in any way other than the transpose is rejected.", ["x2"], INVALID, documented=False,
       section="参数说明", representation=True),
    _c("V3-LAYOUT-002", "accept", "只支持x2矩阵转置/不转置,x1矩阵不支持转置场景。",
       "x2 may be transposed, in ND or FRACTAL_NZ.", ["x2"], OK),
    _c("V3-FORMAT-001", "accept", _X2_FORMAT, "x2 may be FRACTAL_NZ (4-D storage).", ["x2"], OK, section="参数说明"),
    _c("V3-FORMAT-002", "reject", "x1(aclTensor*, 计算输入):公式中的输入x1,数据类型支持INT8,数据格式支持ND。",
       "x1 must be ND (x2 may be ND or FRACTAL_NZ).", ["x1"], INVALID, documented=False, section="参数说明",
       notes="Formats are not in the return-code table."),
    _c("V3-FORMAT-003", "reject", _X2_FORMAT, "x2 in a format other than ND or FRACTAL_NZ is rejected.", ["x2"],
       INVALID, documented=False, section="参数说明", notes="Formats are not in the return-code table."),
    _c("V3-FORMAT-004", "reject",
       "数据类型支持INT32,数据格式支持ND。" + ELIDED + "数据类型支持FLOAT16、BFLOAT16,数据格式支持ND。" + ELIDED
       + "数据类型支持INT64、UINT64、FLOAT32、BFLOAT16,数据格式支持ND。" + ELIDED
       + "数据类型支持FLOAT32,数据格式支持ND。" + ELIDED + "数据类型支持BFLOAT16、FLOAT16,数据格式支持ND。" + ELIDED
       + "x1和x2、dequantScale、output、bias(非空场景)、x3(非空场景)的数据类型和数据格式需要在支持的范围之内。",
       "bias, x3, dequantScale, pertokenScale, commQuantScale1/2 and output, when given, must be ND.",
       ["bias", "x3", "dequantScale", "pertokenScale", "commQuantScale1", "commQuantScale2", "output"], INVALID,
       documented=False, section="参数说明",
       notes="The parameter list says 数据格式支持ND for bias, x3, dequantScale, pertokenScale and both comm scales "
             "(in that order in the quote); output's entry names no format, the ND of every other tensor and the "
             "约束与限制 sentence are read to cover it. Formats are not in the return-code table."),
    _c("V3-EMPTY-001", "reject", "不支持空tensor。", "Empty tensors (m, k or n = 0) are rejected.",
       ["x1", "x2"], INVALID),
    _c("V3-WORLD-001", "reject", "支持1、2、4、8卡,并且仅支持hccs链路all mesh组网。",
       "Only world sizes 1, 2, 4 and 8.", ["group"], INVALID, documented=False),
    _c("V3-ATTR-001", "reject", "reduceOp(char*, 计算输入):reduce操作类型,数据类型支持String。目前仅支持\"sum\"。", "reduceOp must be \"sum\".", ["reduceOp"], INVALID,
       documented=False, section="参数说明"),
    _c("V3-ATTR-002", "reject", "commTurn(int64_t, 计算输入):通信数据切分数,数据类型支持INT64。即总数据量/单次通信量。当前版本仅支持输入为0。", "commTurn must be 0.", ["commTurn"], INVALID,
       documented=False, section="参数说明"),
    _c("V3-ATTR-003", "reject", "streamMode的数据在可选范围内,目前仅支持1。" + ELIDED + _INVALID_CODE + ELIDED + _STREAM_CODE, "streamMode must be 1.",
       ["streamMode"], INVALID),
    _c("V3-NULL-001", "reject", "传入的x1、x2、dequantScale或者output不为空指针。" + ELIDED + _NULL_CODE,
       "A null x1, x2, dequantScale or output is rejected with 161001.",
       ["x1", "x2", "dequantScale", "output"], NULLPTR),
    _c("V3-NULL-002", "accept", "对应计算公式中bias偏移。可选,可为空。" + ELIDED
       + "mm计算后的pertoken去量化系数,数据类型支持FLOAT32,数据格式支持ND。可选,可为空。",
       "bias, pertokenScale and x3 may be null (subject to the dtype table).", ["bias", "pertokenScale", "x3"], OK,
       section="参数说明",
       notes="The quote covers bias and pertokenScale; for x3 the document says 仅支持非空输入 while naming it "
             "x3Optional: V3-AMB-001."),
    _c("V3-NUM-001", "compute", "",
       "out = sum over ranks of dequantScale * pertokenScale * (x1 @ x2 + bias) + x3, int32 bias inside the "
       "accumulator, bias and x3 counted once per rank.", ["output"], section="device-facts 1-2",
       notes=_para(_FORMULA)),
    _c("V3-NUM-002", "compute", "",
       "An INT64/UINT64 dequantScale applies the FP19 part of its word, masked by the encoder or not.",
       ["dequantScale"], section="device-facts 4",
       notes=_para("device-facts 4: an INT64/UINT64 dequantScale applies fp32(word & 0xFFFFE000).")),
    _c("V3-NUM-003", "compute", "",
       "With both comm scales, the result is the low-bit pipeline's, within one int8 step of scale1 per rank and "
       "one of scale2.", ["commQuantScale1", "commQuantScale2"], section="device-facts 1", notes=_para(_LOWBIT)),
    _c("V3-NUM-004", "compute", "",
       "Values beyond the int8 range of the comm scales saturate to -128/127 steps.",
       ["commQuantScale1", "commQuantScale2"], section="device-facts 1",
       notes=_para("device-facts 1: saturation on the cast to int8. UNCONFIRMED for half -> int8.")),
    _c("V3-NUM-005", "compute", "",
       "With integer data and power-of-two (or FP19-exact) scales the output is exact bit for bit.", ["output"],
       notes=_para("the integral path of the restored formula (the nccl-tests verifiable mode).")),
    _c("V3-NUM-006", "compute", "",
       "Every rank's output is identical.", ["output"],
       notes=_para("allReduce / allgather: every rank receives the reduced result.")),
)

AMBIGUITIES = (
    Ambiguity("V3-AMB-001", (OP,),
              "x3Optional: '目前仅支持输出为BFLOAT16场景,且仅支持非空输入' (only the BFLOAT16 output scenario, only "
              "non-null), while the document's own sample passes an fp16 x3 with an fp16 output, and the argument "
              "is named Optional.",
              "Both readings are tested. Valid cases that are not about x3 carry an x3 only with a bf16 output, so "
              "a device that follows the literal text passes them. The permissive reading (the executable sample "
              "and the name: x3 accepted with an fp16 output too, with the output's dtype) is exercised by a "
              "dedicated set of valid cases with params ('ambiguity', 'V3-AMB-001'), whose outcome is recorded, "
              "not a verdict on the literal reading. x3 may be null (V3-NULL-002).",
              related=("V3-DTYPE-007", "V3-NULL-002")),
    Ambiguity("V3-AMB-002", (OP,),
              "The formula image is lost; device-facts 1 restores three cases from the published text.",
              "The reference implements those three cases; bias is int32 inside the accumulator, bias and x3 are "
              "added by every rank (device-facts 2).", related=("V3-NUM-001", "V3-NUM-003")),
    Ambiguity("V3-AMB-003", (OP,),
              "The int32 accumulator's behaviour when x1 @ x2 + bias overflows is not documented.",
              "The reference wraps in two's complement, as an int32 accumulator does; no valid case reaches "
              "overflow (|x1 @ x2| <= 127 * 128 * 65535 < 2^31 leaves room only for moderate biases).",
              related=("V3-NUM-001",)),
    Ambiguity("V3-AMB-004", (OP,),
              "Saturation of half -> int8 in the low-bit path is UNCONFIRMED (device-facts 1).",
              "Saturation is assumed (the AscendC default); the dedicated saturation cases say so in their ids.",
              related=("V3-NUM-004",)),
    Ambiguity("V3-AMB-006", (OP,),
              "commQuantScale1/2 must be '每张卡输入保持一致' (identical on every rank): a precondition on the caller "
              "with no stated consequence when broken.",
              "The suite always passes identical comm scales (drawn from one per-case stream shared by all ranks) "
              "and tests no violation, since no outcome is promised.", related=("V3-COMM-001",)),
    Ambiguity("V3-AMB-008", (OP,),
              "x2 in FRACTAL_NZ: '当前版本仅支持四维输入' (only 4-D input) does not say whether the view or the "
              "storage is meant. The catalogue reads V3-SHAPE-003 as the aclTensor aclnnTransMatmulWeight makes: a "
              "(k, n) view over 4-D storage. The published host code checks the storage: it returns success from "
              "the shape check as soon as x2 has 4-D FRACTAL_NZ storage and re-creates x2 with the storage dims as "
              "its view (hicann/ops-transformer c29bc10, mc2/matmul_all_reduce/op_host/op_api/"
              "aclnn_quant_matmul_all_reduce_v3.cpp:193-195 and 338-361), so a 3-D view over 4-D storage passes.",
              "The V3-SHAPE-003 rejection cases keep a 2-D view over storage that is not 4-D. A 3-D view over 4-D "
              "storage is tested by shape-only cases with params ('ambiguity', 'V3-AMB-008'): rejected or accepted, "
              "the outcome is recorded.", related=("V3-SHAPE-003",)),
    Ambiguity("V3-AMB-005", (OP,),
              "Only the four null pointers and the dtype/shape/streamMode violations have documented codes.",
              "world size, reduceOp, commTurn, format, contiguity and comm-scale pairing violations are expected "
              "to give 161002 (convention).",
              related=("V3-WORLD-001", "V3-ATTR-001", "V3-ATTR-002", "V3-FORMAT-002", "V3-FORMAT-003",
                       "V3-FORMAT-004", "V3-LAYOUT-001", "V3-LAYOUT-003", "V3-COMM-001")),
)
