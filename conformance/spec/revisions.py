"""Revisions of the two contract documents and the drift between them, as data.

The contract is the shared copy of each document (shared/docs, a plain-text rendering of the published CANN
8.0.RC2-era page). The vendor's repository hicann/ops-transformer holds later Markdown revisions; every commit
that touched a document is a `DocRevision` here, and every difference that matters to a constraint (or to the
product list) is a `DocChange`, with the one sentence concerned quoted on each side (repository quotes verbatim
from the Markdown with links rendered as their text, see `rendered`).

`apply_revision` gives the catalogue as another revision states it (`--doc-revision`): each constraint gets the
chosen revision of its document in `revision`, and the `override` of every change up to that revision.
Differences of rendering only (ASCII versus full-width punctuation, links, HTML tables in place of lists, sample
code) are not recorded. The repository's aclnnMatmulAllReduceAddRmsNorm.md and
aclnnInplaceMatmulAllReduceAddRmsNorm.md together are the repository form of the shared MARN document.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from . import marn, v3
from .model import CODE_FROM_DOCUMENT, PHASE_WORKSPACE, Constraint

MARN_DOC = marn.DOC  # aclnnMatmulAllReduceAddRmsNorm.md
V3_DOC = v3.DOC  # aclnnQuantMatmulAllReduceV3.md
DOCS = (MARN_DOC, V3_DOC)

REPO = "hicann/ops-transformer"
MARN_PATHS = ("mc2/matmul_all_reduce_add_rms_norm/docs/aclnnMatmulAllReduceAddRmsNorm.md",
              "mc2/inplace_matmul_all_reduce_add_rms_norm/docs/aclnnInplaceMatmulAllReduceAddRmsNorm.md")
V3_PATHS = ("mc2/matmul_all_reduce/docs/aclnnQuantMatmulAllReduceV3.md",)


@dataclass(frozen=True)
class DocRevision:
    id: str  # "shared-8.0.RC2", "repo-<short commit>"
    doc: str  # document file name (the shared copy's name)
    label: str
    where: str  # shared/docs path, or "hicann/ops-transformer@<rev> path[ + path]"
    date: str


def _repo(doc: str, rev: str, date: str, label: str) -> DocRevision:
    paths = MARN_PATHS if doc == MARN_DOC else V3_PATHS
    return DocRevision(f"repo-{rev}", doc, label, f"{REPO}@{rev} " + " + ".join(paths), date)


_SHARED_DATE = "unknown (published for CANN 8.0.RC2, 2024)"

# Per document, oldest first: the order in which changes accumulate.
REVISIONS: tuple[DocRevision, ...] = (
    DocRevision("shared-8.0.RC2", MARN_DOC, "shared copy (published web page, CANN 8.0.RC2 era): the contract",
                f"shared/docs/{MARN_DOC}", _SHARED_DATE),
    _repo(MARN_DOC, "b122ed2", "2025-09-28", "init: first Markdown revision (parameter tables, return-code table)"),
    _repo(MARN_DOC, "d127892", "2025-10-09", "update aclnn: product table extended; stream missing from a prototype"),
    _repo(MARN_DOC, "a278852", "2025-10-17", "merge: stream parameter restored in the prototype"),
    _repo(MARN_DOC, "2b78730", "2025-10-23", "product list update: back to A3 (x) and A2 (√)"),
    _repo(MARN_DOC, "c29bc10", "2025-11-15", "HEAD (text identical to 2b78730)"),
    DocRevision("shared-8.0.RC2", V3_DOC, "shared copy (published web page, CANN 8.0.RC2 era): the contract",
                f"shared/docs/{V3_DOC}", _SHARED_DATE),
    _repo(V3_DOC, "b122ed2", "2025-09-28", "init: first Markdown revision (formula, parameter table)"),
    _repo(V3_DOC, "d127892", "2025-10-09", "update aclnn: Ascend 910_95 added (ND-only x2, up to 64 ranks)"),
    _repo(V3_DOC, "6c485f2", "2025-10-14", "function description rewritten as three cases"),
    _repo(V3_DOC, "4b3d29a", "2025-10-17", "mc2 doc format fix (pertokenScale row)"),
    _repo(V3_DOC, "2b78730", "2025-10-23", "product list update: Ascend 910_95 removed again"),
    _repo(V3_DOC, "f66e305", "2025-11-06", "link fix only"),
    _repo(V3_DOC, "c29bc10", "2025-11-15", "HEAD (text identical to f66e305)"),
)

DEFAULT: dict[str, str] = {MARN_DOC: "shared-8.0.RC2", V3_DOC: "shared-8.0.RC2"}
LATEST: dict[str, str] = {MARN_DOC: "repo-c29bc10", V3_DOC: "repo-c29bc10"}


def revisions_of(doc: str) -> tuple[DocRevision, ...]:
    return tuple(r for r in REVISIONS if r.doc == doc)


def revision(doc: str, rid: str) -> DocRevision:
    for r in revisions_of(doc):
        if r.id == rid:
            return r
    raise ValueError(f"unknown revision {rid!r} of {doc}; known: {', '.join(r.id for r in revisions_of(doc))}")


Override = tuple[tuple[str, tuple[tuple[str, object], ...]], ...]


@dataclass(frozen=True)
class DocChange:
    id: str  # DRIFT-MARN-001 ...
    doc: str
    from_revision: str
    to_revision: str
    kind: str  # added | removed | changed
    summary: str  # English
    old_quote: str  # verbatim from from_revision, or ""
    new_quote: str  # verbatim from to_revision, or ""
    constraints: tuple[str, ...]  # ids affected; empty: none (a summary starting "New promise" has no record yet)
    override: Override = ()


CHANGE_KINDS = ("added", "removed", "changed")
_S, _B = "shared-8.0.RC2", "repo-b122ed2"

_RENAMED = {"约束与限制": "约束说明", "功能描述": "功能说明", "接口原型": "函数原型"}


def _renamed_sections(constraints: tuple[Constraint, ...]) -> Override:
    out = []
    for c in constraints:
        doc, _, section = c.source.partition(" / ")
        if section in _RENAMED:
            out.append((c.id, (("source", f"{doc} / {_RENAMED[section]}"),)))
    return tuple(out)


def _o(cid: str, **fields) -> tuple[str, tuple[tuple[str, object], ...]]:
    return (cid, tuple(fields.items()))


def _documented(cids, note: str) -> Override:
    # the new table is the first-phase call's ("第一段接口完成入参校验"): the code is promised from GetWorkspaceSize
    return tuple(_o(cid, code_source=CODE_FROM_DOCUMENT, notes=note, phase=PHASE_WORKSPACE) for cid in cids)


_M, _V = MARN_DOC, V3_DOC
_MARN_SHAPE_ROW = ("MARN-SHAPE-001", "MARN-SHAPE-002", "MARN-SHAPE-003", "MARN-SHAPE-005", "MARN-SHAPE-006",
                   "MARN-SHAPE-007", "MARN-BOUND-001", "MARN-BOUND-002", "MARN-BOUND-003", "MARN-BOUND-004")
_V3_PAIR_NEW = ("若输出output类型为FLOAT16，当pertokenScale为空时，dequantScale的类型为INT64、UINT64，当pertokenScale不为空时，"
                "dequantScale的类型为FLOAT32；若输出output类型为BFLOAT16，dequantScale的类型为BFLOAT16，x3的类型为BFLOAT16。")
_V3_CASE2 = ("output= allReduce(dequantScale * pertokenScaleOptional * (x1_{int8}@x2_{int8} + "
             "biasOptional_{int32}) + x3Optional)")
_V3_LOWBIT = ("reduceSumOutPut_{int8} = (add(alltoallOutPut_{int8}) * (commQuantScale1Optional / "
              "commQuantScale2Optional));")

CHANGES: tuple[DocChange, ...] = (
    # ---- aclnnMatmulAllReduceAddRmsNorm.md: shared copy -> first repository revision -------------------------
    DocChange("DRIFT-MARN-001", _M, _S, _B, "changed",
              "Section headings renamed: 约束与限制 -> 约束说明, 功能描述 -> 功能说明, 接口原型 -> 函数原型 (record sources follow).",
              "约束与限制", "约束说明",
              tuple(cid for cid, _ in _renamed_sections(marn.CONSTRAINTS)), _renamed_sections(marn.CONSTRAINTS)),
    DocChange("DRIFT-MARN-002", _M, _S, _B, "changed",
              "Product list: A200I A2 Box 异构组件 joins the supported Atlas A2 line; Atlas A3 is listed as not supported.",
              "Atlas A2 训练系列产品/Atlas 800I A2 推理产品", "Atlas A2 训练系列产品/Atlas 800I A2 推理产品/A200I A2 Box 异构组件",
              ()),
    DocChange("DRIFT-MARN-003", _M, _S, _B, "changed",
              "The same-communication-domain restriction is now scoped to the Atlas A2 products.",
              "一个模型中的通算融合MC2算子,仅支持相同通信域。", "一个模型中的通算融合MC2算子，仅支持相同通信域。", ()),
    DocChange("DRIFT-MARN-004", _M, _S, _B, "changed",
              "The two-phase sentence names only aclnnMatmulAllReduceAddRmsNorm; the inplace variant moved to its own "
              "file, aclnnInplaceMatmulAllReduceAddRmsNorm.md (same tables and constraints).",
              "每个算子分为两段式接口,必须先调用“aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize”或者"
              "“aclnnInplaceMatmulAllReduceAddRmsNormGetWorkspaceSize”接口获取计算所需workspace大小以及包含了算子计算流程的执行器,"
              "再调用“aclnnMatmulAllReduceAddRmsNorm”或者“aclnnInplaceMatmulAllReduceAddRmsNorm”接口执行计算。",
              "每个算子分为两段式接口，必须先调用“aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize”接口获取计算所需workspace大小"
              "以及包含了算子计算流程的执行器，再调用“aclnnMatmulAllReduceAddRmsNorm”接口执行计算。",
              ("MARN-INPLACE-001",)),
    DocChange("DRIFT-MARN-005", _M, _S, _B, "added",
              "Return-code table (new): 161001 ACLNN_ERR_PARAM_NULLPTR for a null x1, x2, residual or gamma, in both "
              "files. Null y/normOut are not listed (MARN-NULL-002 stays convention).",
              "", "传入的x1、x2、residual或gamma是空指针。", ("MARN-NULL-001",),
              (_o("MARN-NULL-001", expected_status=161001, code_source=CODE_FROM_DOCUMENT,
                  original="传入的x1、x2、residual或gamma是空指针。", source=f"{_M} / 返回值",
                  notes="The return-code table states 161001 (ACLNN_ERR_PARAM_NULLPTR)."),)),
    DocChange("DRIFT-MARN-006", _M, _S, _B, "added",
              "Return-code table (new): 161002 ACLNN_ERR_PARAM_INVALID when the shape of x1, x2 or residual breaks "
              "the constraints, in both files; bias, gamma, y and normOut shapes and all dtypes are not listed.",
              "", "x1、x2、residual的shape不符合约束要求。", _MARN_SHAPE_ROW,
              _documented(_MARN_SHAPE_ROW, "161002 is stated by the return-code table: "
                          "'x1、x2、residual的shape不符合约束要求。'")),
    DocChange("DRIFT-MARN-007", _M, _S, _B, "added",
              "Return-code table (new): 161002 when streamMode is out of range, in both files.",
              "", "streamMode不在合法范围内。", ("MARN-ATTR-003",),
              _documented(("MARN-ATTR-003",), "161002 is stated by the return-code table: 'streamMode不在合法范围内。'")),
    DocChange("DRIFT-MARN-008", _M, _S, _B, "added",
              "Return-code table (new): 161002 when k (last dim of x1) is 0, in the MatmulAllReduceAddRmsNorm file "
              "only; the inplace file's table lacks the row, so the record (both operators) keeps the convention.",
              "", "x1的最后一维shape大小k值为0。", ("MARN-EMPTY-003",),
              (_o("MARN-EMPTY-003", notes="161002 is stated for aclnnMatmulAllReduceAddRmsNorm only ('x1的最后一维shape"
                  "大小k值为0。'); the inplace document states no code, so the record keeps the convention."),)),
    DocChange("DRIFT-MARN-009", _M, _S, _B, "changed",
              "epsilon: the default value 1e-06 is dropped; the (0, 1) range stays (MARN-AMB-004 loses its premise).",
              "epsilon取值满足取值范围(0,1),默认值为1e-06。", "epsilon取值满足取值范围(0,1)。", ("MARN-ATTR-004",),
              (_o("MARN-ATTR-004", original="epsilon取值满足取值范围(0,1)。"),)),
    DocChange("DRIFT-MARN-010", _M, _S, _B, "added",
              "x1 and x2 rows: empty tensors supported (the constraints section still rejects k = 0).",
              "", "支持空Tensor。", ("MARN-EMPTY-001", "MARN-EMPTY-002", "MARN-EMPTY-003")),
    DocChange("DRIFT-MARN-011", _M, _S, _B, "added",
              "y and normOut rows: empty tensors not supported, which contradicts the accepted empty b*s and n "
              "(their outputs are empty); the constraints section still allows them.",
              "", "不支持空Tensor。", ("MARN-EMPTY-001", "MARN-EMPTY-002", "MARN-OUT-001", "MARN-OUT-002"),
              tuple(_o(cid, notes="The repository revision's y/normOut rows say '不支持空Tensor。', contradicting this "
                       "sentence; the suite keeps the constraints-section reading.")
                    for cid in ("MARN-EMPTY-001", "MARN-EMPTY-002"))),
    DocChange("DRIFT-MARN-012", _M, _S, _B, "added",
              "Shape column (new): y and normOut are given 2 dimensions, against the 3-D (b, s, n) of the "
              "constraints section; residual 3, gamma and bias 1, x1 2-3, x2 2 agree.",
              "", "维度(shape)", ("MARN-OUT-001", "MARN-OUT-002")),
    DocChange("DRIFT-MARN-013", _M, _S, _B, "changed",
              "Non-contiguity of x1, residual and gamma is no longer a sentence but the 非连续Tensor column (×).",
              "不支持非连续的tensor。", "非连续Tensor", ("MARN-LAYOUT-001", "MARN-LAYOUT-004", "MARN-LAYOUT-005")),
    DocChange("DRIFT-MARN-014", _M, _S, _B, "changed",
              "x2 non-contiguity sentence shortened ('传入' dropped); meaning unchanged, column says √.",
              "支持最后两轴转置情况下的非连续的tensor传入。", "支持最后两轴转置情况下的非连续的tensor",
              ("MARN-LAYOUT-002", "MARN-LAYOUT-003"),
              (_o("MARN-LAYOUT-003", original="x2:支持最后两轴转置情况下的非连续的tensor"),
               _o("MARN-LAYOUT-002", original="只支持x2矩阵转置/不转置，x1矩阵支持不转置场景。 x2:支持最后两轴转置情况下的非连续的tensor"))),
    DocChange("DRIFT-MARN-015", _M, _S, _B, "added",
              "New promise, no record: the 非连续Tensor column marks bias, y and normOut √ (non-contiguous accepted); "
              "the shared copy says nothing about them.",
              "", "非连续Tensor", ()),
    DocChange("DRIFT-MARN-016", _M, _S, _B, "changed",
              "x2 row: '二维' becomes '两维' and transposed/untransposed support is restated in the row.",
              "当前版本仅支持二维输入。", "当前版本仅支持两维输入，支持转置/不转置场景。", ("MARN-SHAPE-002", "MARN-LAYOUT-002")),
    DocChange("DRIFT-MARN-017", _M, _S, _B, "added",
              "x1 and x2 rows: each must have the other's dtype (already implied by the one-dtype sentence).",
              "", "与x2的数据类型保持一致。", ("MARN-DTYPE-002",)),
    DocChange("DRIFT-MARN-018", _M, _S, _B, "changed",
              "streamMode: '当前版本仅支持枚举值1' becomes '当前只支持枚举值1' and 'AscendCL' is dropped; same value.",
              "Host侧的整型,数据类型支持int64_t,AscendCL流模式的枚举,当前版本仅支持枚举值1。", "当前只支持枚举值1。", ("MARN-ATTR-003",),
              (_o("MARN-ATTR-003", original="streamMode:当前只支持枚举值1。"),)),
    DocChange("DRIFT-MARN-019", _M, _S, _B, "added",
              "Inplace file, bias row: a null bias is explicitly supported (the non-inplace file keeps 'bias若非空').",
              "", "支持传入空指针场景。", ("MARN-NULL-003",),
              (_o("MARN-NULL-003", notes="The repository's inplace document adds '支持传入空指针场景。' for bias."),)),
    DocChange("DRIFT-MARN-020", _M, _S, _B, "added",
              "The non-inplace residual row now also says that the inplace variant writes y into residual.",
              "", "inplace场景将residual作为y的输出地址。", ("MARN-INPLACE-001",)),
    DocChange("DRIFT-MARN-021", _M, _S, _B, "changed", "Wording: 维度 -> shape in the x1 sentence; same rule.",
              "输入x1可为二维或者三维,其维度为(b, s, k)或者(m, k)。", "输入x1可为二维或者三维，其shape为(b, s, k)或者(m, k)。",
              ("MARN-SHAPE-001",), (_o("MARN-SHAPE-001", original="输入x1可为二维或者三维，其shape为(b, s, k)或者(m, k)。"),)),
    DocChange("DRIFT-MARN-022", _M, _S, _B, "changed", "Wording: 维度 -> shape in the x2 sentence; same rule.",
              "x2必须是二维,其维度为(k, n),轴满足mm算子入参要求,k轴相等。", "x2必须是二维，其shape为(k, n)，轴满足mm算子入参要求，k轴相等。",
              ("MARN-SHAPE-002", "MARN-SHAPE-003"),
              tuple(_o(cid, original="x2必须是二维，其shape为(k, n)，轴满足mm算子入参要求，k轴相等。")
                    for cid in ("MARN-SHAPE-002", "MARN-SHAPE-003"))),
    DocChange("DRIFT-MARN-023", _M, _S, _B, "changed", "Wording: 维度 -> shape in the bias sentence; same rule.",
              "bias若非空,bias为一维,其维度为(n)。", "bias若非空，bias为一维，其shape为(n)。", ("MARN-SHAPE-004", "MARN-NULL-003"),
              tuple(_o(cid, original="bias若非空，bias为一维，其shape为(n)。") for cid in ("MARN-SHAPE-004", "MARN-NULL-003"))),
    DocChange("DRIFT-MARN-024", _M, _S, _B, "changed", "Wording: 维度 -> shape in the residual sentence; same rule.",
              "输入residual必须是三维,其维度为(b, s, n),当x1为二维时,residual的(b*s)等于x1的m。",
              "输入residual必须是三维，其shape为(b, s, n)，当x1为二维时，residual的(b*s)等于x1的m。",
              ("MARN-SHAPE-005", "MARN-SHAPE-006", "MARN-SHAPE-007"),
              tuple(_o(cid, original="输入residual必须是三维，其shape为(b, s, n)，当x1为二维时，residual的(b*s)等于x1的m。")
                    for cid in ("MARN-SHAPE-005", "MARN-SHAPE-006", "MARN-SHAPE-007"))),
    DocChange("DRIFT-MARN-025", _M, _S, _B, "changed", "Wording: 维度 -> shape in the gamma sentence; same rule.",
              "输入gamma必须是一维,其维度为(n)。", "输入gamma必须是一维，其shape为(n)。", ("MARN-SHAPE-008",),
              (_o("MARN-SHAPE-008", original="输入gamma必须是一维，其shape为(n)。"),)),
    DocChange("DRIFT-MARN-026", _M, _S, _B, "changed", "Wording: 维度 -> shape in the outputs sentence; same rule.",
              "输出y和normOut的维度和数据类型同residual,其维度为(b, s, n)。", "输出y和normOut的shape和数据类型同residual，其shape为(b, s, n)。",
              ("MARN-OUT-001", "MARN-OUT-002"),
              tuple(_o(cid, original="输出y和normOut的shape和数据类型同residual，其shape为(b, s, n)。")
                    for cid in ("MARN-OUT-001", "MARN-OUT-002"))),
    # ---- aclnnMatmulAllReduceAddRmsNorm.md: between repository revisions --------------------------------------
    DocChange("DRIFT-MARN-027", _M, _B, "repo-d127892", "added",
              "Product table lists five more products as not supported (Ascend 910_95, Atlas 200I/500 A2, Atlas "
              "inference, Atlas training, Atlas 200/300/500).", "", "昇腾910_95 AI处理器", ()),
    DocChange("DRIFT-MARN-028", _M, _B, "repo-d127892", "removed",
              "The aclnnMatmulAllReduceAddRmsNorm prototype, reformatted, loses its stream parameter (a slip).",
              "aclnnStatus aclnnMatmulAllReduceAddRmsNorm(void *workspace, uint64_t workspaceSize, aclOpExecutor "
              "*executor, const aclrtStream stream)", "", ()),
    DocChange("DRIFT-MARN-029", _M, "repo-d127892", "repo-a278852", "added",
              "The stream parameter is restored in the aclnnMatmulAllReduceAddRmsNorm prototype.",
              "", "const aclrtStream stream", ()),
    DocChange("DRIFT-MARN-030", _M, "repo-a278852", "repo-2b78730", "removed",
              "The five extra product rows are removed again (A3 x, A2 √ remain).", "昇腾910_95 AI处理器", "", ()),
    # ---- aclnnQuantMatmulAllReduceV3.md: shared copy -> first repository revision ------------------------------
    DocChange("DRIFT-V3-001", _V, _S, _B, "changed",
              "Section headings renamed: 约束与限制 -> 约束说明, 功能描述 -> 功能说明, 接口原型 -> 函数原型 (record sources follow).",
              "约束与限制", "约束说明",
              tuple(cid for cid, _ in _renamed_sections(v3.CONSTRAINTS)), _renamed_sections(v3.CONSTRAINTS)),
    DocChange("DRIFT-V3-002", _V, _S, _B, "changed",
              "Product list: A200I A2 Box 异构组件 joins the supported Atlas A2 line; Atlas A3 is listed as not supported.",
              "Atlas A2 训练系列产品/Atlas 800I A2 推理产品", "Atlas A2 训练系列产品/Atlas 800I A2 推理产品/A200I A2 Box 异构组件",
              ()),
    DocChange("DRIFT-V3-003", _V, _S, _B, "added",
              "The formula, lost in the shared copy, is present: the low-bit path (alltoall of x / scale1, reduceSum "
              "rescaled by scale1 / scale2, allgather times scale2), as device-facts 1 restored it (V3-AMB-002).",
              "计算公式:", _V3_LOWBIT, ("V3-NUM-003",),
              (_o("V3-NUM-003", original=_V3_LOWBIT, source=f"{_V} / 功能说明"),)),
    DocChange("DRIFT-V3-004", _V, _S, _B, "added",
              "Function description adds support for pertensor, perchannel and pertoken quantisation.",
              "", "支持pertensor、perchannel、pertoken", ("V3-SHAPE-007", "V3-SHAPE-008")),
    DocChange("DRIFT-V3-005", _V, _S, _B, "changed",
              "x1 non-contiguity is no longer a sentence but the 非连续Tensor column (×).",
              "Device侧的aclTensor,mm左矩阵,不支持非连续输入。", "非连续Tensor", ("V3-LAYOUT-001",)),
    DocChange("DRIFT-V3-006", _V, _S, _B, "changed",
              "The constraints-section transpose sentence is gone; the x1 row says untransposed only, the x2 row "
              "transposed or not.",
              "只支持x2矩阵转置/不转置,x1矩阵不支持转置场景。", "支持转置/不转置场景。", ("V3-LAYOUT-001", "V3-LAYOUT-002"),
              (_o("V3-LAYOUT-001", original="支持不转置场景。"), _o("V3-LAYOUT-002", original="支持转置/不转置场景。"))),
    DocChange("DRIFT-V3-007", _V, _S, _B, "changed",
              "x2's format column says ND; FRACTAL_NZ is allowed by a note scoped to the Atlas A2 products.",
              "x2(aclTensor*, 计算输入):公式中的输入x2,数据类型支持INT8,数据格式支持ND和FRACTAL_NZ格式。",
              "输入x2的数据格式支持ND和FRACTAL_NZ格式。", ("V3-FORMAT-001", "V3-SHAPE-003"),
              (_o("V3-FORMAT-001", original="输入x2的数据格式支持ND和FRACTAL_NZ格式。"),)),
    DocChange("DRIFT-V3-008", _V, _S, _B, "removed",
              "'可选,可为空' is gone from the bias, pertokenScale and comm-scale rows; nullability rests on the "
              "Optional names and the '(非空场景)' wording of the constraints section.",
              "可选,可为空。", "", ("V3-NULL-002",),
              (_o("V3-NULL-002", notes="The repository revision no longer says '可选,可为空'; the suite keeps the "
                  "Optional arguments nullable."),)),
    DocChange("DRIFT-V3-009", _V, _S, _B, "added",
              "New promise, no record: the 非连续Tensor column marks bias, x3, dequantScale, pertokenScale, both comm "
              "scales and output √ (non-contiguous accepted).", "", "非连续Tensor", ()),
    DocChange("DRIFT-V3-010", _V, _S, _B, "added",
              "Shape column (new): x3, dequantScale, pertokenScale and both comm scales are given 2 dimensions, "
              "against x3 = output's shape (2-3), dequantScale (1)/(n)/(1, n), pertokenScale (m) and comm (n)/(1, n).",
              "", "维度(shape)", ("V3-SHAPE-006", "V3-SHAPE-007", "V3-SHAPE-008", "V3-COMM-002")),
    DocChange("DRIFT-V3-011", _V, _S, _B, "changed",
              "dequantScale shape wording: per-tensor/per-channel become pertensor/perchannel; same shapes.",
              "shape在per-tensor场景为(1),per-channel场景为(n)/(1, n)。", "shape在pertensor场景为(1)，perchannel场景为(n)/(1, n)",
              ("V3-SHAPE-007",),
              (_o("V3-SHAPE-007", original="dequantScale:shape在pertensor场景为(1)，perchannel场景为(n)/(1, n)"),)),
    DocChange("DRIFT-V3-012", _V, _S, _B, "changed",
              "pertokenScale row reworded, with a stray backslash in '(b*s\\)' (fixed in 4b3d29a); same shapes.",
              "x1为(b, s, k)时shape为(b*s),x1为(m, k)时shape为(m)。", "x1为(b, s, k)时,shape为(b*s\\)；x1为(m, k)时shape为(m)。",
              ("V3-SHAPE-008",)),
    DocChange("DRIFT-V3-013", _V, _S, _B, "changed",
              "output shape: '(b, s, n) or (m, n)' becomes 'as many dimensions as x1'; the last dimension n is no "
              "longer stated.",
              "output(aclTensor *, 输出):计算+通信的结果,数据类型支持FLOAT16、BFLOAT16,维度为(b, s, n)或者(m, n)。",
              "output的维数与x1一致。", ("V3-SHAPE-009",), (_o("V3-SHAPE-009", original="output的维数与x1一致。"),)),
    DocChange("DRIFT-V3-014", _V, _S, _B, "changed", "reduceOp wording: '目前仅支持' becomes '当前仅支持输入'; same value.",
              "目前仅支持\"sum\"。", "当前仅支持输入\"sum\"。", ("V3-ATTR-001",),
              (_o("V3-ATTR-001", original="reduceOp:当前仅支持输入\"sum\"。"),)),
    DocChange("DRIFT-V3-015", _V, _S, _B, "changed", "commTurn wording: '输入为0' becomes '输入0'; same value.",
              "当前版本仅支持输入为0。", "当前版本仅支持输入0。", ("V3-ATTR-002",),
              (_o("V3-ATTR-002", original="commTurn:当前版本仅支持输入0。"),)),
    DocChange("DRIFT-V3-016", _V, _S, _B, "removed",
              "The constraints-section streamMode sentence is gone; the parameter row ('当前只支持枚举值1') and the "
              "return-code table (161002) still state it.",
              "streamMode的数据在可选范围内,目前仅支持1。", "", ("V3-ATTR-003",),
              (_o("V3-ATTR-003", original="streamMode:当前只支持枚举值1。 streamMode不在合法范围内。", source=f"{_V} / 参数说明"),)),
    DocChange("DRIFT-V3-017", _V, _S, _B, "changed",
              "Typo fixed in the dtype pairing sentence: pertokenSclale -> pertokenScale; same rule.",
              v3._PAIR, _V3_PAIR_NEW, ("V3-DTYPE-004", "V3-DTYPE-005", "V3-DTYPE-006", "V3-DTYPE-007"),
              tuple(_o(cid, original=_V3_PAIR_NEW)
                    for cid in ("V3-DTYPE-004", "V3-DTYPE-005", "V3-DTYPE-006", "V3-DTYPE-007"))),
    DocChange("DRIFT-V3-018", _V, _S, _B, "changed",
              "World sizes: 1, 2, 4, 8 ranks now scoped to the Atlas A2 products; the hccs all-mesh restriction stays "
              "general.",
              "支持1、2、4、8卡,并且仅支持hccs链路all mesh组网。", "支持1、2、4、8卡。", ("V3-WORLD-001",),
              (_o("V3-WORLD-001", original="仅支持hccs链路all mesh组网。 支持1、2、4、8卡。"),)),
    DocChange("DRIFT-V3-019", _V, _S, _B, "changed",
              "The same-communication-domain restriction is now scoped to the Atlas A2 products.",
              "一个模型中的通算融合MC2算子,仅支持相同通信域。", "一个模型中的通算融合MC2算子，仅支持相同通信域。", ()),
    # ---- aclnnQuantMatmulAllReduceV3.md: between repository revisions -----------------------------------------
    DocChange("DRIFT-V3-020", _V, _B, "repo-d127892", "added",
              "Ascend 910_95 listed as supported, with 1, 2, 4, 8, 16, 32 and 64 ranks (not the suite's Atlas A2 "
              "target).",
              "", "支持1、2、4、8、16、32、64卡。", ("V3-WORLD-001",)),
    DocChange("DRIFT-V3-021", _V, _B, "repo-d127892", "added",
              "Ascend 910_95: x2 only in ND format (2-D), no FRACTAL_NZ.",
              "", "输入x2的数据格式仅支持ND格式（当前版本仅支持二维输入）。", ("V3-FORMAT-001", "V3-SHAPE-003")),
    DocChange("DRIFT-V3-022", _V, "repo-d127892", "repo-6c485f2", "changed",
              "Function description rewritten: V3 extends V2 with low-bit communication; three cases, the first two "
              "a plain all_reduce of dequantScale (* pertokenScale) * (x1 @ x2 + bias) + x3, as device-facts 1 "
              "restored them (V3-AMB-002).",
              "对量化后的入参x1、x2进行MatMul、Dequant和pertoken计算，接着与x3进行Add操作，再对输出进行perchannel量化，"
              "然后进行AllToAll通信，对第一次通讯结果进行reduceSum计算，接着进行AllGather通信，最后对第二次通信结果进行Dequant，"
              "得到最终输出。", _V3_CASE2, ("V3-NUM-001",),
              (_o("V3-NUM-001", original=_V3_CASE2, source=f"{_V} / 功能说明"),)),
    DocChange("DRIFT-V3-023", _V, "repo-6c485f2", "repo-4b3d29a", "changed",
              "pertokenScale row: the stray backslash is removed; same shapes.",
              "x1为(b, s, k)时,shape为(b*s\\)；x1为(m, k)时shape为(m)。", "x1为(b, s, k)时，shape为(b*s)；x1为(m, k)时shape为(m)。",
              ("V3-SHAPE-008",)),
    DocChange("DRIFT-V3-024", _V, "repo-4b3d29a", "repo-2b78730", "removed",
              "Ascend 910_95 removed again (product row, ND-only note, 64-rank note, sample).",
              "支持1、2、4、8、16、32、64卡。", "", ("V3-WORLD-001", "V3-FORMAT-001")),
)


def _order(doc: str, rid: str) -> int:
    ids = [r.id for r in revisions_of(doc)]
    if rid not in ids:
        raise ValueError(f"unknown revision {rid!r} of {doc}; known: {', '.join(ids)}")
    return ids.index(rid)


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def rendered(markdown: str) -> str:
    """Markdown links as their text, the form quotes of repository revisions are taken from."""
    return _LINK.sub(r"\1", markdown)


def doc_of(c: Constraint) -> str | None:
    """The document a record is taken from: its `source` starts with the document's file name."""
    for doc in DOCS:
        if c.source.startswith(doc):
            return doc
    return None


def _chosen(revision_ids: dict[str, str] | None) -> dict[str, str]:
    chosen = dict(DEFAULT)
    for doc, rid in (revision_ids or {}).items():
        if doc not in DEFAULT:
            raise ValueError(f"unknown document {doc!r}; known: {', '.join(DOCS)}")
        _order(doc, rid)
        chosen[doc] = rid
    return chosen


def apply_revision(constraints: tuple[Constraint, ...], revision_ids: dict[str, str] | None = None
                   ) -> tuple[Constraint, ...]:
    """The records as the chosen revision of each document states them (default: the shared copies).

    `revision_ids` maps a document file name to a revision id; documents not named keep DEFAULT.
    """
    chosen = _chosen(revision_ids)
    fields: dict[str, dict[str, object]] = {}
    for ch in CHANGES:  # oldest first: a later change's field wins
        if _order(ch.doc, ch.to_revision) > _order(ch.doc, chosen[ch.doc]):
            continue
        for cid, pairs in ch.override:
            fields.setdefault(cid, {}).update(pairs)
    out = []
    for c in constraints:
        doc = doc_of(c)
        if doc is None:
            out.append(c)
            continue
        out.append(dataclasses.replace(c, **fields.get(c.id, {}), revision=chosen[doc]))
    return tuple(out)


def revision_ids_for(spec: str) -> dict[str, str]:
    """Parse a --doc-revision value: "REV" (every document that has it) or "DOC=REV", comma-separated."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if "=" in part:
            doc, rid = (s.strip() for s in part.split("=", 1))
            if doc not in DOCS:
                raise ValueError(f"unknown document {doc!r}; known: {', '.join(DOCS)}")
            _order(doc, rid)
            out[doc] = rid
            continue
        docs = [d for d in DOCS if any(r.id == part for r in revisions_of(d))]
        if not docs:
            known = sorted({r.id for r in REVISIONS})
            raise ValueError(f"unknown document revision {part!r}; known: {', '.join(known)}")
        out.update({d: part for d in docs})
    return out


def drift_lines(doc: str | None = None) -> list[str]:
    """Human-readable listing of CHANGES (one block per change), for `constraints --doc-drift`."""
    if doc is not None and doc not in DOCS:
        raise ValueError(f"unknown document {doc!r}; known: {', '.join(DOCS)}")
    lines: list[str] = []
    for d in DOCS if doc is None else (doc,):
        revs = revisions_of(d)
        lines.append(f"{d}: " + ", ".join(f"{r.id} ({r.date})" for r in revs))
        for ch in CHANGES:
            if ch.doc != d:
                continue
            lines.append(f"  {ch.id}  {ch.kind}  {ch.from_revision} -> {ch.to_revision}")
            lines.append(f"    {ch.summary}")
            lines.append(f"    constraints: {', '.join(ch.constraints) if ch.constraints else 'none'}")
            if ch.old_quote:
                lines.append(f"    old: {ch.old_quote}")
            if ch.new_quote:
                lines.append(f"    new: {ch.new_quote}")
            grouped: dict[tuple, list[str]] = {}  # records given the same fields share one line
            for cid, pairs in ch.override:
                grouped.setdefault(pairs, []).append(cid)
            for pairs, cids in grouped.items():
                lines.append(f"    override {', '.join(cids)}: " + ", ".join(f"{k}={v!r}" for k, v in pairs))
        lines.append("")
    return lines[:-1] if lines and lines[-1] == "" else lines
