"""Constraints of aclnnMatmulAllReduce, quoted from its published document in the vendor's repository.

The contract is not in shared/docs: it is mirror-cann/ops-transformer@c29bc10 (the suite's baseline revision)
mc2/matmul_all_reduce/docs/aclnnMatmulAllReduce.md, quoted line by line (`QUOTES`: the line each excerpt is on).
tests/test_spec_quotes.py checks every excerpt against that file where the mirror is present; `LINE_SHA` freezes a
sha256 (first 16 hex digits) of each quoted line, stripped, so tests/test_mar.py notices a changed line without the
mirror too.

The return-code table (lines 189-202) states 161001 for a null x1, x2 or output and 161002 for dtypes out of range,
reduceOp/streamMode out of range and shapes that break the constraints: those constraints are code_source=document.
commTurn, the format, contiguity and the world size are not in that table: the aclnn convention.
"""

from __future__ import annotations

from ..protocol import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS
from .model import Ambiguity, table_coded

OP = "MatmulAllReduce"
DOC = "aclnnMatmulAllReduce.md"
# where the quotes are text: the repository, the revision and the file (tests/test_spec_quotes.py reads it there)
SOURCE = ("mirror-cann/ops-transformer", "c29bc1069d3252c641e2aa059ec88f392d3f05ac",
               "mc2/matmul_all_reduce/docs/aclnnMatmulAllReduce.md")
OK = ACLNN_SUCCESS
NULLPTR = ACLNN_ERR_PARAM_NULLPTR
INVALID = ACLNN_ERR_PARAM_INVALID
ELIDED = " … "
PARAPHRASE_ONLY = "paraphrase only:"

# excerpt -> the line of SOURCE it is on (1-based)
QUOTES: dict[str, int] = {
    "output = allreduce(x1 @ x2 + bias)": 17,
    "当前版本仅支持二维或者三维输入。": 75,
    "BFLOAT16、FLOAT16": 76,
    "当前版本仅支持两维输入。": 85,
    "支持最后两轴转置情况下的非连续的tensor": 85,
    "当前版本仅支持一维输入。": 95,
    "当前版本仅支持输入\"sum\"。": 115,
    "当前版本仅支持输入0。": 125,
    "当前版本仅支持枚举值1。": 135,
    "output的维数与x1一致。": 145,
    "传入的x1、x2或output是空指针。": 191,
    "x1、x2、bias或output的数据类型不在支持的范围之内。": 196,
    "reduceOp、streamMode不在合法范围内。": 199,
    "x1、x2、bias或output的shape不符合约束要求。": 202,
    "输入x1可为二维或者三维，其shape为(b, s, k)或者(m, k)。": 248,
    "x2必须是二维，其shape为(k, n)，轴满足mm算子入参要求，k轴相等。": 248,
    "bias若非空，其shape为(n)。": 248,
    "b*s、m、k、n的值均不得超过2147483647(INT32_MAX)。": 249,
    "当输入x1的shape为(b, s, k)时，输出output的shape为(b, s, n)，当输入x1的shape为(m, k)时，输出output的shape为(m, n)。": 250,
    "x1、x2、bias计算输入的数据类型要和output计算输出的数据类型一致。": 251,
    "仅支持hccs链路all mesh组网。": 252,
    "支持1、2、4、8卡。": 253,
}
# line -> sha256 of the stripped line, first 16 hex digits (frozen from SOURCE)
LINE_SHA: dict[int, str] = {
    17: "03141f5ab95a93de", 75: "96e5204aa8302a43", 76: "d832ca855c441dbe", 85: "77036986138bcbb5",
    95: "9f3fa67999da7e0c", 115: "92a30e587f02cd1b", 125: "ef16ed4e4247d27c", 135: "1afffe58e333a849",
    145: "6ccd376cca832420", 191: "f12a9a6c41173102", 196: "ecde107406866fd5", 199: "7f2adfb31081fa6b",
    202: "9613624de3bab543", 248: "da0f15f0fc095048", 249: "0f17cd0e06d0f13d", 250: "b5b5bdfa8dfdcda8",
    251: "749539a82f09a92f", 252: "2c29ddcb06dff263", 253: "bb7b17227d279ff8",
}

_NULL = "传入的x1、x2或output是空指针。"
_DT_CODE = "x1、x2、bias或output的数据类型不在支持的范围之内。"
_ATTR_CODE = "reduceOp、streamMode不在合法范围内。"
_SHAPE_CODE = "x1、x2、bias或output的shape不符合约束要求。"
_X1 = "输入x1可为二维或者三维，其shape为(b, s, k)或者(m, k)。"
_X2 = "x2必须是二维，其shape为(k, n)，轴满足mm算子入参要求，k轴相等。"
_BIAS = "bias若非空，其shape为(n)。"
_BOUND = "b*s、m、k、n的值均不得超过2147483647(INT32_MAX)。"
_OUT = "当输入x1的shape为(b, s, k)时，输出output的shape为(b, s, n)，当输入x1的shape为(m, k)时，输出output的shape为(m, n)。"
_SAME = "x1、x2、bias计算输入的数据类型要和output计算输出的数据类型一致。"
_X2_STRIDES = "支持最后两轴转置情况下的非连续的tensor"
_FORMULA = "output = allreduce(x1 @ x2 + bias)"


def _c(id, kind, original, paraphrase, constrains, status=None, *, documented=True, section="约束说明", notes="",
       representation=False, x1_ranks=(2, 3)):
    return table_coded(id=id, op=OP, kind=kind, original=original, paraphrase=paraphrase, constrains=constrains,
                       status=status, documented=documented, source=f"{DOC} / {section}", notes=notes,
                       representation=representation, x1_ranks=x1_ranks)


def _para(why: str) -> str:
    return f"{PARAPHRASE_ONLY} {why}"


CONSTRAINTS = (
    _c("MAR-SHAPE-001", "reject", _X1 + ELIDED + _SHAPE_CODE, "x1 must be 2-D (m, k) or 3-D (b, s, k).", ["x1"],
       INVALID, x1_ranks=()),
    _c("MAR-SHAPE-002", "reject", _X2 + ELIDED + _SHAPE_CODE, "x2 must be 2-D (k, n).", ["x2"], INVALID),
    _c("MAR-SHAPE-003", "reject", _X2 + ELIDED + _SHAPE_CODE, "The k axis of x1 (last) and x2 (first) must be equal.",
       ["x1", "x2"], INVALID),
    _c("MAR-SHAPE-004", "reject", _BIAS + ELIDED + _SHAPE_CODE, "bias, when given, must be 1-D of length n.", ["bias"],
       INVALID),
    _c("MAR-SHAPE-005", "reject", _OUT + ELIDED + _SHAPE_CODE,
       "output is (b, s, n) for a 3-D x1 and (m, n) for a 2-D x1.", ["output"], INVALID),
    _c("MAR-DTYPE-001", "reject", "BFLOAT16、FLOAT16" + ELIDED + _DT_CODE,
       "x1, x2, bias and output must be FLOAT16 or BFLOAT16.", ["x1", "x2", "bias", "output"], INVALID,
       section="参数说明"),
    _c("MAR-DTYPE-002", "reject", _SAME + ELIDED + _DT_CODE, "x1, x2, bias and output must share one dtype.",
       ["x1", "x2", "bias", "output"], INVALID),
    _c("MAR-BOUND-001", "reject", _BOUND + ELIDED + _SHAPE_CODE,
       "b*s of a 3-D x1 must not exceed INT32_MAX (INT32_MAX itself is accepted).", ["x1"], INVALID,
       x1_ranks=(3,)),
    _c("MAR-BOUND-002", "reject", _BOUND + ELIDED + _SHAPE_CODE,
       "m of a 2-D x1 must not exceed INT32_MAX (INT32_MAX itself is accepted).", ["x1"], INVALID,
       x1_ranks=(2,)),
    _c("MAR-BOUND-003", "reject", _BOUND + ELIDED + _SHAPE_CODE, "k must not exceed INT32_MAX.", ["x1", "x2"],
       INVALID),
    _c("MAR-BOUND-004", "reject", _BOUND + ELIDED + _SHAPE_CODE, "n must not exceed INT32_MAX.", ["x2"], INVALID),
    _c("MAR-LAYOUT-001", "reject", "", "x1 must be contiguous (its 非连续Tensor column is ×).",
       ["x1"], INVALID, documented=False, section="参数说明", representation=True,
       notes=_para("x1's 非连续Tensor column (line 79) says ×, a one-symbol cell. Contiguity is not in the "
                   "return-code table: convention.")),
    _c("MAR-LAYOUT-002", "accept", _X2_STRIDES, "x2 may be passed transposed (a (k, n) view of an (n, k) buffer).",
       ["x2"], OK, section="参数说明"),
    _c("MAR-LAYOUT-003", "reject", _X2_STRIDES,
       "x2 non-contiguous in any way other than the last-two-axes transpose is rejected.", ["x2"], INVALID,
       documented=False, section="参数说明", representation=True,
       notes="The document allows only the transpose; other strides follow the convention."),
    _c("MAR-FORMAT-001", "reject", "", "x1, x2, bias and output must be in ND format.",
       ["x1", "x2", "bias", "output"], INVALID, documented=False, section="参数说明",
       notes=_para("the 数据格式 column says ND for every tensor (lines 77, 87, 97, 147); a one-word cell is not "
                   "quoted. Format is not in the return-code table: convention.")),
    _c("MAR-WORLD-001", "reject", "仅支持hccs链路all mesh组网。" + ELIDED + "支持1、2、4、8卡。",
       "Only world sizes 1, 2, 4 and 8 are supported.", ["group"], INVALID, documented=False),
    _c("MAR-ATTR-001", "reject", "当前版本仅支持输入\"sum\"。" + ELIDED + _ATTR_CODE, "reduceOp must be \"sum\".",
       ["reduceOp"], INVALID, section="参数说明"),
    _c("MAR-ATTR-002", "reject", "当前版本仅支持输入0。", "commTurn must be 0.", ["commTurn"], INVALID,
       documented=False, section="参数说明", notes="commTurn is not in the return-code table: convention."),
    _c("MAR-ATTR-003", "reject", "当前版本仅支持枚举值1。" + ELIDED + _ATTR_CODE, "streamMode must be 1.",
       ["streamMode"], INVALID, section="参数说明"),
    _c("MAR-NULL-001", "reject", _NULL, "A null x1, x2 or output is rejected with the null-pointer code.",
       ["x1", "x2", "output"], NULLPTR, section="返回值"),
    _c("MAR-NULL-002", "accept", _BIAS, "bias may be null.", ["bias"], OK),
    _c("MAR-NUM-001", "compute", _FORMULA,
       "output is the sum over ranks of each rank's own x1 @ x2 + bias (bias counted once per rank), the same on "
       "every rank.", ["x1", "x2", "bias", "output"], section="功能说明", notes="See MAR-AMB-002 for the bias."),
    _c("MAR-NUM-002", "compute", "",
       "Rounding to the output dtype is unbiased (round to nearest): the signed error is balanced.", ["output"],
       section="功能说明", notes=_para("the document says nothing of rounding; the family's device facts: "
                                     "round-half-even at each store to FLOAT16/BFLOAT16.")),
    _c("MAR-NUM-003", "compute", "",
       "With small-integer inputs whose every partial sum is representable, output is exact bit for bit.",
       ["output"], section="功能说明",
       notes=_para("implied by the formula with exact arithmetic: integer inputs make every sum exact.")),
)

AMBIGUITIES = (
    Ambiguity("MAR-AMB-001", (OP,),
              "The return-code table names no code for commTurn, formats, contiguity or the world size.",
              "Those rejections follow the aclnn convention (161002) and are enforced only under "
              "--status-check convention; the documented rows (null, dtype, reduceOp/streamMode, shape) are "
              "enforced always.", related=("MAR-ATTR-002", "MAR-FORMAT-001", "MAR-LAYOUT-001", "MAR-WORLD-001")),
    Ambiguity("MAR-AMB-002", (OP,),
              "The formula writes allreduce(x1 @ x2 + bias) with one bias; each rank passes its own.",
              "bias is counted once per rank (the family's device facts); ranks get independent biases so a kernel "
              "that adds one rank's bias only is caught.", related=("MAR-NUM-001",)),
    Ambiguity("MAR-AMB-003", (OP,),
              "The precision of HCCL's fp16/bf16 all-reduce accumulation is not documented.",
              "The bound covers fp32 accumulation and accumulation in the output dtype; the simulator reproduces "
              "either (the family's option, MARN-AMB-003).",
              option="sim option allreduce_accumulation=float32|output_dtype", related=("MAR-NUM-001",)),
    Ambiguity("MAR-AMB-004", (OP,),
              "Empty tensors (b*s, n or k of 0) are not mentioned by the document; the published kernels have an "
              "empty-k variant (mc2/matmul_all_reduce/op_kernel/matmul_all_reduce_empty_tensor_k_general.h).",
              "No case asks for an empty tensor: the contract promises nothing either way."),
    Ambiguity("MAR-AMB-005", (OP,),
              "Newer revisions of the document (master 3a280bc) mark x2's 非连续Tensor column × while its usage note "
              "still allows the last-two-axes transpose ('ND格式下支持最后两轴转置情况下的非连续的tensor').",
              "The c29bc10 revision is the contract: a transposed x2 is accepted (MAR-LAYOUT-002).",
              related=("MAR-LAYOUT-002", "MAR-LAYOUT-003")),
)

# sha256 of each quoting record's original with all whitespace removed, frozen when the quotes were verified
# against SOURCE (tests/test_spec_quotes.py checks both)
QUOTE_SHA256 = {
    "MAR-SHAPE-001": "9a9d598c0c9fef3c1cca2602f4ceaa88780eba55db063e94a578658b6e04b653",
    "MAR-SHAPE-002": "00230e2c012a07e508a32aa708cda120b014ce4cc517d6df17dc484f72f69f9e",
    "MAR-SHAPE-003": "00230e2c012a07e508a32aa708cda120b014ce4cc517d6df17dc484f72f69f9e",
    "MAR-SHAPE-004": "5e3b7e1f57b1223c6688272cb0493953adb37d2c11f6e70e79fbbc7ee1bf1085",
    "MAR-SHAPE-005": "196e292d66b1ac94032bf5b82059b1954e856d39e602b8cf4b0937d71ea5ed47",
    "MAR-DTYPE-001": "ba47261a5157e31848f52d542b60bdbbef32b32d2fb4f64bc1154a7c1a98dfb1",
    "MAR-DTYPE-002": "ce10a790d684628584b15e41adee80900ca0b627dbbb59e2bb0fafea8c71ee9f",
    "MAR-BOUND-001": "f40edda7430756671d040cf64e9bc9d092ee4a8902037223621937a4b99cb2c7",
    "MAR-BOUND-002": "f40edda7430756671d040cf64e9bc9d092ee4a8902037223621937a4b99cb2c7",
    "MAR-BOUND-003": "f40edda7430756671d040cf64e9bc9d092ee4a8902037223621937a4b99cb2c7",
    "MAR-BOUND-004": "f40edda7430756671d040cf64e9bc9d092ee4a8902037223621937a4b99cb2c7",
    "MAR-LAYOUT-002": "5376aa798f79d216355e9beba386ae2a4bf5b0e9951d3c22a50051e41ddaa4ca",
    "MAR-LAYOUT-003": "5376aa798f79d216355e9beba386ae2a4bf5b0e9951d3c22a50051e41ddaa4ca",
    "MAR-WORLD-001": "62ffaafcb210a7122720e61f82a9acf32969c42c1f9d3e82ed9254e33c712d95",
    "MAR-ATTR-001": "22d62b5a37eae143211fa89505226f7720dc0326a37199bfbd222442f8ccc119",
    "MAR-ATTR-002": "f773895eb4e402bc5b409d838f015a7959d543dd18b9691a1f018d96f610ecf1",
    "MAR-ATTR-003": "185450da661b744aada8a0f2b0051f8d28dbd93a8ab4f345fd2918505fe99ef9",
    "MAR-NULL-001": "81635fb67b02607ee45492696d2695a39e13a6df4a882eff9b2c76b179c8066b",
    "MAR-NULL-002": "1e0b7ab26846d1da33878eb4a462a55dd5582ffee73a56cb2703758b663da5f1",
    "MAR-NUM-001": "3111a48138375b7edef1c2f46421d4cab41ee308703305b158603e0570bbf339",
}
