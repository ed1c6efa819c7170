"""Constraints of aclnnMatmulAllReduceAddRmsNorm and aclnnInplaceMatmulAllReduceAddRmsNorm.

Source: shared/docs/aclnnMatmulAllReduceAddRmsNorm.md ("约束与限制" and the parameter list), rounding facts
from device-facts sections 2-3. The document states no status codes for this operator pair, so every
expected code follows the aclnn convention (161001 null pointer, 161002 invalid value), marked as such.
"""

from __future__ import annotations

from ..protocol import ACLNN_ERR_PARAM_INVALID, ACLNN_ERR_PARAM_NULLPTR, ACLNN_SUCCESS
from .model import CODE_FROM_CONVENTION, Ambiguity, Constraint

OP = "MatmulAllReduceAddRmsNorm"
INPLACE_OP = "InplaceMatmulAllReduceAddRmsNorm"
BOTH = (OP, INPLACE_OP)
DOC = "aclnnMatmulAllReduceAddRmsNorm.md"
OK = ACLNN_SUCCESS
NULLPTR = ACLNN_ERR_PARAM_NULLPTR
INVALID = ACLNN_ERR_PARAM_INVALID


def _c(id, kind, original, paraphrase, constrains, status=None, section="约束与限制", ops=BOTH, notes="",
       representation=False, x1_ranks=(2, 3)):
    return Constraint(id=id, ops=ops, kind=kind, original=original, paraphrase=paraphrase,
                      constrains=tuple(constrains), expected_status=status, code_source=CODE_FROM_CONVENTION,
                      source=f"{DOC} / {section}", notes=notes, representation=representation,
                      x1_ranks=x1_ranks)


_X1_DIMS = "输入x1可为二维或者三维,其维度为(b, s, k)或者(m, k)。"
_X2_DIMS = "x2必须是二维,其维度为(k, n),轴满足mm算子入参要求,k轴相等。"
_BOUND = "b*s、m、k、n的值均不得超过2147483647(INT32_MAX)。"
_RESID = "输入residual必须是三维,其维度为(b, s, n),当x1为二维时,residual的(b*s)等于x1的m。"
_GAMMA = "输入gamma必须是一维,其维度为(n)。"
_OUTS = "输出y和normOut的维度和数据类型同residual,其维度为(b, s, n)。"
_SAME_DT = "x1、x2、bias、residual、gamma、y、normOut计算输入的数据类型要一致。"
_TRANS = "只支持x2矩阵转置/不转置,x1矩阵支持不转置场景。"
_EMPTY = "支持(b*s)、n为0的空tensor,不支持k为0的空tensor。"
_FORMULA = ("mm\\_out = allReduce(x1 @ x2 + bias) … y = mm\\_out + residual … normOut = \\frac{y}{RMS(y)} * gamma, "
            "RMS(y) = \\sqrt{\\frac{1}{d} \\sum_{i=1}^{d} y_{i}^{2} + epsilon}")
# `original` is text of the document, verbatim up to whitespace; excerpts from different places are joined by
# " … " (ELIDED). Where no sentence states a constraint, original is "" and notes begin with PARAPHRASE_ONLY.
# tests/test_spec_quotes.py checks both.
ELIDED = " … "
PARAPHRASE_ONLY = "paraphrase only:"

CONSTRAINTS = (
    _c("MARN-SHAPE-001", "reject", _X1_DIMS, "x1 must be 2-D (m, k) or 3-D (b, s, k).", ["x1"], INVALID,
       x1_ranks=()),
    _c("MARN-SHAPE-002", "reject", _X2_DIMS, "x2 must be 2-D (k, n).", ["x2"], INVALID),
    _c("MARN-SHAPE-003", "reject", _X2_DIMS, "The k axis of x1 (last) and x2 (first) must be equal.",
       ["x1", "x2"], INVALID),
    _c("MARN-SHAPE-004", "reject", "bias若非空,bias为一维,其维度为(n)。",
       "bias, when given, must be 1-D of length n.", ["bias"], INVALID),
    _c("MARN-SHAPE-005", "reject", _RESID, "residual must be 3-D (b, s, n).", ["residual"], INVALID),
    _c("MARN-SHAPE-006", "reject", _RESID,
       "residual's (b, s) must match x1: b*s == m for 2-D x1, the same (b, s) for 3-D x1.",
       ["residual", "x1"], INVALID),
    _c("MARN-SHAPE-007", "reject", _RESID, "residual's last dimension must be n.", ["residual", "x2"], INVALID),
    _c("MARN-SHAPE-008", "reject", _GAMMA, "gamma must be 1-D of length n.", ["gamma"], INVALID),
    _c("MARN-OUT-001", "reject", _OUTS, "y must have residual's shape (b, s, n).", ["y"], INVALID, ops=(OP,),
       notes="The dtype half of this sentence is MARN-DTYPE-002 (one dtype across all tensors)."),
    _c("MARN-OUT-002", "reject", _OUTS, "normOut must have residual's shape (b, s, n).", ["normOut"], INVALID),
    _c("MARN-DTYPE-001", "reject", "数据类型支持FLOAT16、BFLOAT16。",
       "Every tensor must be FLOAT16 or BFLOAT16; other dtypes are rejected.",
       ["x1", "x2", "bias", "residual", "gamma", "y", "normOut"], INVALID, section="参数说明"),
    _c("MARN-DTYPE-002", "reject", _SAME_DT,
       "x1, x2, bias, residual, gamma, y and normOut must all have the same dtype.",
       ["x1", "x2", "bias", "residual", "gamma", "y", "normOut"], INVALID),
    _c("MARN-BOUND-001", "reject", _BOUND, "b*s must not exceed INT32_MAX (b*s == INT32_MAX is accepted).",
       ["x1", "residual"], INVALID, x1_ranks=(3,)),
    _c("MARN-BOUND-002", "reject", _BOUND, "m must not exceed INT32_MAX (m == INT32_MAX is accepted).",
       ["x1"], INVALID, x1_ranks=(2,)),
    _c("MARN-BOUND-003", "reject", _BOUND, "k must not exceed INT32_MAX (k == INT32_MAX is accepted).",
       ["x1", "x2"], INVALID),
    _c("MARN-BOUND-004", "reject", _BOUND, "n must not exceed INT32_MAX (n == INT32_MAX is accepted).",
       ["x2"], INVALID),
    _c("MARN-LAYOUT-001", "reject", _TRANS + ELIDED + "mm左矩阵。不支持非连续的tensor。",
       "x1 must be contiguous: a transposed or otherwise strided x1 is rejected.", ["x1"], INVALID,
       representation=True),
    _c("MARN-LAYOUT-002", "accept", _TRANS + ELIDED + "mm右矩阵。支持最后两轴转置情况下的非连续的tensor传入。",
       "x2 may be passed transposed (a (k, n) view of a contiguous (n, k) buffer).", ["x2"], OK),
    _c("MARN-LAYOUT-003", "reject", "mm右矩阵。支持最后两轴转置情况下的非连续的tensor传入。",
       "x2 non-contiguous in any way other than the last-two-axes transpose is rejected.", ["x2"], INVALID,
       section="参数说明", notes="The document allows only the transpose; other strides follow the convention.",
       representation=True),
    _c("MARN-LAYOUT-004", "reject", "AddRmsNorm融合算子的残差输入,不支持非连续的tensor。", "residual must be contiguous.",
       ["residual"], INVALID, section="参数说明", representation=True),
    _c("MARN-LAYOUT-005", "reject", "AddRmsNorm融合算子的RmsNorm计算输入,不支持非连续的tensor。", "gamma must be contiguous.",
       ["gamma"], INVALID, section="参数说明", representation=True),
    _c("MARN-FORMAT-001", "reject", "数据格式支持ND。", "Every tensor must be in ND format.",
       ["x1", "x2", "bias", "residual", "gamma"], INVALID, section="参数说明",
       notes="The parameter list says 数据格式支持ND for x1, x2, bias, residual and gamma."),
    _c("MARN-WORLD-001", "reject", "支持1、2、4、8卡,并且仅支持hccs链路all mesh组网。",
       "Only world sizes 1, 2, 4 and 8 are supported; other sizes are rejected.", ["group"], INVALID),
    _c("MARN-ATTR-001", "reject", "reduceOp(char*, 计算输入):reduce操作类型。数据类型支持String。当前仅支持输入\"sum\"。", "reduceOp must be \"sum\".",
       ["reduceOp"], INVALID, section="参数说明"),
    _c("MARN-ATTR-002", "reject", "commTurn(int64_t, 计算输入):Host侧的整型,数据类型支持int64_t。通信数据切分数,即总数据量/单次通信量。当前版本仅支持输入0。", "commTurn must be 0.", ["commTurn"],
       INVALID, section="参数说明"),
    _c("MARN-ATTR-003", "reject", "AscendCL流模式的枚举,当前版本仅支持枚举值1。", "streamMode must be 1.",
       ["streamMode"], INVALID, section="参数说明"),
    _c("MARN-ATTR-004", "reject", "epsilon取值满足取值范围(0,1),默认值为1e-06。",
       "epsilon must lie in the open interval (0, 1): 0 and 1 are rejected, values just inside accepted.",
       ["epsilon"], INVALID, section="参数说明"),
    _c("MARN-EMPTY-001", "accept", _EMPTY, "An empty b*s (m = 0) is accepted and yields empty outputs.",
       ["x1", "residual"], OK),
    _c("MARN-EMPTY-002", "accept", _EMPTY, "An empty n is accepted and yields empty outputs.", ["x2"], OK),
    _c("MARN-EMPTY-003", "reject", _EMPTY, "An empty k is rejected.", ["x1", "x2"], INVALID),
    _c("MARN-NULL-001", "reject", "",
       "A null x1, x2, residual or gamma is rejected with the null-pointer code.",
       ["x1", "x2", "residual", "gamma"], NULLPTR, section="参数说明",
       notes=f"{PARAPHRASE_ONLY} no sentence of the document states this; implied by the parameter list, which "
             "describes x1, x2, residual and gamma as 计算输入 the formula uses and never as 可选 (only bias is "
             "qualified, by 'bias若非空'). The code follows the aclnn convention."),
    _c("MARN-NULL-002", "reject", "", "A null y or normOut is rejected (null-pointer code).",
       ["y", "normOut"], NULLPTR, section="参数说明",
       notes=f"{PARAPHRASE_ONLY} no sentence of the document states this; implied by the parameter list "
             "(y and normOut are the 计算输出 that receive the results) and the aclnn convention."),
    _c("MARN-NULL-003", "accept", "bias若非空,bias为一维,其维度为(n)。", "bias may be null.", ["bias"], OK),
    _c("MARN-INPLACE-001", "compute",
       "aclnnInplaceMatmulAllReduceAddRmsNorm:需新建一个输出张量normOut,原非Inplace场景中新建的输出张量y存储的结果直接存储到输入张量residual的内存中。",
       "The inplace variant writes y into residual's buffer (and normOut into normOut).",
       ["residual", "normOut"], ops=(INPLACE_OP,), section="接口原型"),
    _c("MARN-NUM-001", "compute", _FORMULA,
       "mm_out is the sum over ranks of each rank's own x1 @ x2 + bias (bias counted once per rank).",
       ["x1", "x2", "bias"], section="功能描述", notes="device-facts 2: every rank adds its bias."),
    _c("MARN-NUM-002", "compute", _FORMULA, "y = mm_out + residual, per rank with the rank's own residual.",
       ["y", "residual"], section="功能描述"),
    _c("MARN-NUM-003", "compute", _FORMULA,
       "normOut = y / sqrt(mean(y^2) + epsilon) * gamma over the last axis (d = n).",
       ["normOut", "gamma", "epsilon"], section="功能描述"),
    _c("MARN-NUM-004", "compute", "",
       "Rounding to the output dtype is unbiased (round to nearest): the signed error is balanced.",
       ["y", "normOut"], section="device-facts 3",
       notes=f"{PARAPHRASE_ONLY} the document says nothing of rounding; device-facts 3: round-half-even at "
             "each store to FLOAT16/BFLOAT16."),
    _c("MARN-NUM-005", "compute", "",
       "With small-integer inputs whose every partial sum is representable, y is exact bit for bit.",
       ["y"], section="功能描述",
       notes=f"{PARAPHRASE_ONLY} implied by the formula (功能描述) with exact arithmetic: integer inputs make "
             "every sum exact (the nccl-tests verifiable mode)."),
)

AMBIGUITIES = (
    Ambiguity("MARN-AMB-001", BOTH,
              "The document gives no status codes for this operator pair.",
              "Expected codes follow the aclnn convention: 161001 for null pointers, 161002 for invalid "
              "shapes, dtypes, formats and values; every constraint is marked code_source=convention.",
              related=tuple(c.id for c in CONSTRAINTS if c.kind == "reject")),
    Ambiguity("MARN-AMB-002", BOTH,
              "The formula writes allReduce(x1 @ x2 + bias) with a single bias; hardware adds every rank's bias "
              "before the reduction (device-facts 2).",
              "bias is counted once per rank; ranks get independent biases so a kernel that adds only one "
              "rank's bias is caught.", related=("MARN-NUM-001",)),
    Ambiguity("MARN-AMB-003", BOTH,
              "The precision of HCCL's fp16/bf16 all-reduce accumulation is not documented (UNCONFIRMED in "
              "device-facts 3).",
              "The tolerance bound covers both fp32 accumulation and accumulation in the output dtype; the "
              "simulator reproduces either.", option="sim option allreduce_accumulation=float32|output_dtype",
              related=("MARN-NUM-001",)),
    Ambiguity("MARN-AMB-006", BOTH,
              "Where each rank adds its bias is not documented: inside the fp32 matmul accumulator, or after "
              "x1 @ x2 is stored in the output dtype (a separate add).",
              "The tolerance covers both: the rounding of each rank's partial is scaled by |x1 @ x2| + |bias|, "
              "so a bias that cancels the product cannot shrink the allowance.", related=("MARN-NUM-001",)),
    Ambiguity("MARN-AMB-004", BOTH,
              "epsilon is said to default to 1e-06, but the C API has no default arguments.",
              "The suite always passes epsilon explicitly and tests 1e-6 plus values near both ends of (0, 1).",
              related=("MARN-ATTR-004",)),
    Ambiguity("MARN-AMB-005", BOTH,
              "The document does not say how a non-contiguous x2 other than the transpose is treated, nor "
              "whether world sizes other than 1/2/4/8 fail in GetWorkspaceSize or later.",
              "Both are expected to be rejected by GetWorkspaceSize with 161002.",
              related=("MARN-LAYOUT-003", "MARN-WORLD-001")),
)
