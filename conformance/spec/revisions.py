"""Revisions of the two contract documents and the drift between them, as data.

The contract is the shared copy of each document (shared/docs, a plain-text rendering of the published CANN
8.0.RC2-era page). The vendor's repository hicann/ops-transformer holds later Markdown revisions, and its newer
history, mirror-cann/ops-transformer (the same commit hashes), the revisions after 2025-11-15 up to the newest on
master; every commit that touched a document is a `DocRevision` here, and every difference that matters to a
constraint (or to the product list) is a `DocChange`, with the one sentence concerned quoted on each side
(repository quotes verbatim from the Markdown with links rendered as their text, see `rendered`).

`apply_revision` gives the catalogue as another revision states it (`--doc-revision`): each constraint gets the
chosen revision of its document in `revision`, and the `override` of every change up to that revision. A promise
a later revision makes for the first time is a record that change `introduces` (its `since` names the revision):
it is in the catalogue only from that revision on, never under the shared copies; the determinism promises
(MARN-DET-001, V3-DET-001) hold under a `setting` the document names. A change may carry a `notice` (the
deprecation of aclnnMatmulAllReduceAddRmsNorm) that the report states while the change is selected (`notices`).
Differences of rendering only (ASCII versus full-width punctuation, links, HTML tables in place of lists, sample
code) are not recorded. The repository's aclnnMatmulAllReduceAddRmsNorm.md and
aclnnInplaceMatmulAllReduceAddRmsNorm.md together are the repository form of the shared MARN document.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from . import marn, v3
from .marn import ELIDED
from .model import CODE_FROM_DOCUMENT, PHASE_WORKSPACE, Constraint

MARN_DOC = marn.DOC  # aclnnMatmulAllReduceAddRmsNorm.md
V3_DOC = v3.DOC  # aclnnQuantMatmulAllReduceV3.md
DOCS = (MARN_DOC, V3_DOC)

REPO = "hicann/ops-transformer"  # the revisions up to c29bc10 (2025-11-15)
# its newer history (same commit hashes): the revisions after c29bc10, read from this mirror
MIRROR_REPO = "mirror-cann/ops-transformer"
MARN_PATHS = ("mc2/matmul_all_reduce_add_rms_norm/docs/aclnnMatmulAllReduceAddRmsNorm.md",
              "mc2/inplace_matmul_all_reduce_add_rms_norm/docs/aclnnInplaceMatmulAllReduceAddRmsNorm.md")
V3_PATHS = ("mc2/matmul_all_reduce/docs/aclnnQuantMatmulAllReduceV3.md",)


@dataclass(frozen=True)
class DocRevision:
    id: str  # "shared-8.0.RC2", "repo-<short commit>"
    doc: str  # document file name (the shared copy's name)
    label: str
    where: str  # shared/docs path, or "<owner>/<repo>@<rev> path[ + path]"
    date: str


def _repo(doc: str, rev: str, date: str, label: str, repo: str = REPO) -> DocRevision:
    paths = MARN_PATHS if doc == MARN_DOC else V3_PATHS
    return DocRevision(f"repo-{rev}", doc, label, f"{repo}@{rev} " + " + ".join(paths), date)


def _later(doc: str, rev: str, date: str, label: str) -> DocRevision:
    return _repo(doc, rev, date, label, MIRROR_REPO)


_SHARED_DATE = "unknown (published for CANN 8.0.RC2, 2024)"

# Per document, oldest first: the order in which changes accumulate.
REVISIONS: tuple[DocRevision, ...] = (
    DocRevision("shared-8.0.RC2", MARN_DOC, "shared copy (published web page, CANN 8.0.RC2 era): the contract",
                f"shared/docs/{MARN_DOC}", _SHARED_DATE),
    _repo(MARN_DOC, "b122ed2", "2025-09-28", "init: first Markdown revision (parameter tables, return-code table)"),
    _repo(MARN_DOC, "d127892", "2025-10-09", "update aclnn: product table extended; stream missing from a prototype"),
    _repo(MARN_DOC, "a278852", "2025-10-17", "merge: stream parameter restored in the prototype"),
    _repo(MARN_DOC, "2b78730", "2025-10-23", "product list update: back to A3 (x) and A2 (√)"),
    _repo(MARN_DOC, "c29bc10", "2025-11-15", "HEAD of hicann/ops-transformer (text identical to 2b78730)"),
    # later revisions (mirror-cann/ops-transformer, master): release branch 8.5.0 holds 56fbb48 .. 8de0be3 and a
    # twin of edd2099; 9.0.0 up to a8f0431 and a twin of 3cce47f; 9.1.0 up to 1bbfbb2 and a twin of cd2d647
    _later(MARN_DOC, "56fbb48", "2025-11-19", "sample include path only (op_api directory switch)"),
    _later(MARN_DOC, "808679c", "2025-12-23", "issue 265 fixes: y shape column 2 -> 3; x2 row 两维 -> 二维; return-code link"),
    _later(MARN_DOC, "775e8eb", "2025-12-24", "sample includes hccl/hccl.h"),
    _later(MARN_DOC, "f33d3ce", "2025-12-25", "new 确定性计算 item (deterministic via aclrtCtxSetSysParamOpt); product line "
                                              "renamed; HCCS upper-case; inplace formula all_reduce"),
    _later(MARN_DOC, "8de0be3", "2025-12-26", "'Device侧的aclTensor' / 'Host侧...' dropped from descriptions"),
    _later(MARN_DOC, "edd2099", "2026-01-17", "blank lines only"),
    _later(MARN_DOC, "17beaba", "2026-02-05", "deterministic switch becomes HCCL_DETERMINISTIC; product table lists Ascend "
                                              "950PR/950DT and three more products as unsupported"),
    _later(MARN_DOC, "a8f0431", "2026-02-13", "inplace file: return-code intro says 第一阶段接口"),
    _later(MARN_DOC, "7d624de", "2026-03-28", "markup only"),
    _later(MARN_DOC, "f8e1cab", "2026-03-28", "blank line only"),
    _later(MARN_DOC, "ce6b031", "2026-03-31", "sample data types (op::fp16_t) only"),
    _later(MARN_DOC, "a9b638f", "2026-04-13", "sample includes only"),
    _later(MARN_DOC, "3cce47f", "2026-04-13", "deprecation notice (须知) added to both files"),
    _later(MARN_DOC, "285dd1a", "2026-06-08", "wording 使能 -> 开启 in the usage-scenario item"),
    _later(MARN_DOC, "1bbfbb2", "2026-06-12", "punctuation / table padding only"),
    _later(MARN_DOC, "cd2d647", "2026-07-13", "inplace file: list indentation only (HEAD of master for this document)"),
    DocRevision("shared-8.0.RC2", V3_DOC, "shared copy (published web page, CANN 8.0.RC2 era): the contract",
                f"shared/docs/{V3_DOC}", _SHARED_DATE),
    _repo(V3_DOC, "b122ed2", "2025-09-28", "init: first Markdown revision (formula, parameter table)"),
    _repo(V3_DOC, "d127892", "2025-10-09", "update aclnn: Ascend 910_95 added (ND-only x2, up to 64 ranks)"),
    _repo(V3_DOC, "6c485f2", "2025-10-14", "function description rewritten as three cases"),
    _repo(V3_DOC, "4b3d29a", "2025-10-17", "mc2 doc format fix (pertokenScale row)"),
    _repo(V3_DOC, "2b78730", "2025-10-23", "product list update: Ascend 910_95 removed again"),
    _repo(V3_DOC, "f66e305", "2025-11-06", "link fix only"),
    _repo(V3_DOC, "c29bc10", "2025-11-15", "HEAD of hicann/ops-transformer (text identical to f66e305)"),
    # later revisions (mirror-cann/ops-transformer, master): release branch 8.5.0 holds 56fbb48 .. 8c34a87 and a
    # twin of 2d6722f; 9.0.0 up to 8f3a574; 9.1.0 up to 1bbfbb2 and a twin of 7f36925
    _later(V3_DOC, "56fbb48", "2025-11-19", "sample include path only"),
    _later(V3_DOC, "3918073", "2025-12-08", "link path docs/zh only"),
    _later(V3_DOC, "808679c", "2025-12-23", "markup; x2 row 两维 -> 二维; return-code intro in <p>"),
    _later(V3_DOC, "775e8eb", "2025-12-24", "sample includes hccl/hccl.h"),
    _later(V3_DOC, "f33d3ce", "2025-12-25", "new 确定性计算 item (deterministic via aclrtCtxSetSysParamOpt); product line "
                                            "renamed; bias/x3 -> biasOptional/x3Optional in the return-code table and "
                                            "constraints; const aclrtStream"),
    _later(V3_DOC, "8c34a87", "2025-12-29", "formula names AllReduce/AllToAll/AllGather; return-code intro 第一阶段接口; "
                                            "code spans"),
    _later(V3_DOC, "2d6722f", "2026-01-14", "x2 format column ND -> ND、FRACTAL_NZ"),
    _later(V3_DOC, "edd2099", "2026-01-17", "blank lines only"),
    _later(V3_DOC, "17beaba", "2026-02-05", "Ascend 950PR/950DT supported (ND-only x2, 1..64 ranks, deterministic by "
                                            "default); Atlas A2 deterministic via HCCL_DETERMINISTIC; x2 non-contiguity "
                                            "column √ -> × with an ND transpose sentence; 空tensor支持度 sub-list"),
    _later(V3_DOC, "a8f0431", "2026-02-13", "formula indentation only"),
    _later(V3_DOC, "8f3a574", "2026-02-14", "<term> tag in the deterministic item"),
    _later(V3_DOC, "5405340", "2026-03-24", "prototype: const aclrtStream again"),
    _later(V3_DOC, "7d624de", "2026-03-28", "markup only"),
    _later(V3_DOC, "ce6b031", "2026-03-31", "x2 row loses '当前版本仅支持二维输入。'; sample data types"),
    _later(V3_DOC, "285dd1a", "2026-06-08", "wording 使能 -> 开启"),
    _later(V3_DOC, "1bbfbb2", "2026-06-12", "punctuation only"),
    _later(V3_DOC, "e01d50b", "2026-06-15", "punctuation only"),
    _later(V3_DOC, "7f36925", "2026-07-06", "link text only (HEAD of master for this document)"),
)

DEFAULT: dict[str, str] = {MARN_DOC: "shared-8.0.RC2", V3_DOC: "shared-8.0.RC2"}
LATEST: dict[str, str] = {MARN_DOC: "repo-cd2d647", V3_DOC: "repo-7f36925"}  # the newest master revisions
NEWEST = "latest"  # --doc-revision latest: every document at its LATEST revision


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
    # records of promises this revision makes for the first time (their `since` is to_revision): in the catalogue
    # only from to_revision on
    introduces: tuple[Constraint, ...] = ()
    # what the report says while this change is in the selected revision (a deprecation), one line
    notice: str = ""


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

_V3_CASE2_CAPS = ("output= AllReduce(dequantScale * pertokenScaleOptional * (x1_{int8}@x2_{int8} + "
                  "biasOptional_{int32}) + x3Optional)")
_V3_X2_ND_STRIDES = "ND格式下支持最后两轴转置情况下的非连续的tensor，其他非连续tensor不支持"

# ---- promises of later revisions: determinism under a documented setting (records of family DET) -------------
RUNTIME_DETERMINISTIC_ON = "aclrtCtxSetSysParamOpt (runtime context option: deterministic computation on)"
HCCL_DETERMINISTIC_ON = "HCCL_DETERMINISTIC=true"  # an environment variable read by HCCL on the node
_MARN_DET_RUNTIME = "aclnnMatmulAllReduceAddRmsNorm默认非确定性实现，支持通过aclrtCtxSetSysParamOpt开启确定性。"
_MARN_DET_ENV = "aclnnMatmulAllReduceAddRmsNorm默认非确定性实现，支持通过配置`HCCL_DETERMINISTIC`环境变量为true开启确定性计算"
_V3_DET_RUNTIME = "aclnnQuantMatmulAllReduceV3默认非确定性实现，支持通过aclrtCtxSetSysParamOpt开启确定性。"
_V3_DET_RUNTIME_CODE = "`aclnnQuantMatmulAllReduceV3`默认非确定性实现，支持通过`aclrtCtxSetSysParamOpt`开启确定性。"
_V3_DET_ENV = "`aclnnQuantMatmulAllReduceV3`默认非确定性实现，支持通过配置`HCCL_DETERMINISTIC`环境变量为true开启确定性计算。"
_DET_PARA = ("Repeat launches on identical inputs give bit-identical {outs}, under the documented deterministic "
             "setting; without it the operator is non-deterministic by default (nothing promised).")
_DET_NOTES = ("The 确定性计算 item of 约束说明. Checked by the determinism relation (cases/test_relations.py) where the run "
              "is under the setting; recorded otherwise.")

MARN_DET = Constraint(
    id="MARN-DET-001", ops=marn.BOTH, kind="compute", original=_MARN_DET_RUNTIME,
    paraphrase=_DET_PARA.format(outs="y and normOut"), constrains=("y", "normOut"), source=f"{_M} / 约束说明",
    notes=_DET_NOTES + " The inplace file says the same of aclnnInplaceMatmulAllReduceAddRmsNorm.",
    since="repo-f33d3ce", setting=RUNTIME_DETERMINISTIC_ON)
V3_DET = Constraint(
    id="V3-DET-001", ops=(v3.OP,), kind="compute", original=_V3_DET_RUNTIME,
    paraphrase=_DET_PARA.format(outs="output"), constrains=("output",), source=f"{_V} / 约束说明",
    notes=_DET_NOTES, since="repo-f33d3ce", setting=RUNTIME_DETERMINISTIC_ON)

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
    # ---- aclnnMatmulAllReduceAddRmsNorm.md: later revisions (mirror-cann/ops-transformer) ---------------------
    DocChange("DRIFT-MARN-031", _M, "repo-c29bc10", "repo-808679c", "changed",
              "y row, shape column: 2 becomes 3, now agreeing with the (b, s, n) of the constraints section (DRIFT-"
              "MARN-012 half resolved); normOut keeps 2 in both files (MARN-OUT-002 contradiction stays).",
              "<td>ND</td>\n          <td>2</td>\n          <td>√</td>",
              "<td>ND</td>\n          <td>3</td>\n          <td>√</td>",
              ("MARN-OUT-001",)),
    DocChange("DRIFT-MARN-032", _M, "repo-c29bc10", "repo-f33d3ce", "changed",
              "x2 row: 两维 becomes 二维 (MatmulAllReduceAddRmsNorm file at 808679c, inplace file at f33d3ce); same rule.",
              "当前版本仅支持两维输入，支持转置/不转置场景。",
              "当前版本仅支持二维输入，支持转置/不转置场景。",
              ("MARN-SHAPE-002", "MARN-LAYOUT-002")),
    DocChange("DRIFT-MARN-033", _M, "repo-775e8eb", "repo-f33d3ce", "added",
              "New promise (record MARN-DET-001): a 确定性计算 item opens 约束说明 in both files: non-deterministic by "
              "default, deterministic computation can be switched on through aclrtCtxSetSysParamOpt (a runtime "
              "context option).",
              "",
              _MARN_DET_RUNTIME,
              ("MARN-DET-001",), introduces=(MARN_DET,)),
    DocChange("DRIFT-MARN-034", _M, "repo-775e8eb", "repo-f33d3ce", "changed",
              "Product line renamed (table, scoped constraint and sample heading): 'Atlas 800I A2 推理产品/A200I A2 Box "
              "异构组件' becomes 'Atlas A2 推理系列产品'; Atlas A3 stays ×, Atlas A2 stays √.",
              "<term>Atlas A2 训练系列产品/Atlas 800I A2 推理产品/A200I A2 Box 异构组件</term>",
              "<term>Atlas A2 训练系列产品/Atlas A2 推理系列产品</term>",
              ()),
    DocChange("DRIFT-MARN-035", _M, "repo-775e8eb", "repo-f33d3ce", "changed",
              "World-size sentence: hccs becomes HCCS in the MatmulAllReduceAddRmsNorm file (the inplace file keeps "
              "hccs); same rule.",
              "支持1、2、4、8卡，并且仅支持hccs链路all mesh组网。",
              "支持1、2、4、8卡，并且仅支持HCCS链路all mesh组网。",
              ("MARN-WORLD-001",)),
    DocChange("DRIFT-MARN-036", _M, "repo-775e8eb", "repo-f33d3ce", "changed",
              "Inplace file only: the formula's allReduce is written all_reduce (the MatmulAllReduceAddRmsNorm file "
              "keeps allReduce); same computation.",
              "mm\\_out = allReduce(x1 @ x2 + bias)",
              "mm\\_out = all_reduce(x1 @ x2 + bias)",
              ("MARN-NUM-001",)),
    DocChange("DRIFT-MARN-037", _M, "repo-edd2099", "repo-17beaba", "changed",
              "The determinism promise's switch becomes an environment variable: HCCL_DETERMINISTIC=true turns "
              "deterministic computation on (both files; master and release branches 9.0.0/9.1.0; release branch "
              "8.5.0 keeps aclrtCtxSetSysParamOpt).",
              _MARN_DET_RUNTIME,
              _MARN_DET_ENV,
              ("MARN-DET-001",),
              (_o("MARN-DET-001", original=_MARN_DET_ENV, setting=HCCL_DETERMINISTIC_ON),)),
    DocChange("DRIFT-MARN-038", _M, "repo-edd2099", "repo-17beaba", "added",
              "Product table lists Ascend 950PR/Ascend 950DT, Atlas 200I/500 A2, Atlas 推理系列 and Atlas 训练系列 as not "
              "supported (×); Atlas A2 √ and Atlas A3 × unchanged.",
              "",
              "<term>Ascend 950PR/Ascend 950DT</term>",
              ()),
    DocChange("DRIFT-MARN-039", _M, "repo-17beaba", "repo-a8f0431", "changed",
              "Inplace file: the return-code intro says 第一阶段接口 (first-stage interface) where it said 第一段接口; same phase "
              "reading (GetWorkspaceSize). The MatmulAllReduceAddRmsNorm file keeps 第一段接口.",
              "第一段接口完成入参校验，出现以下场景报错：",
              "第一阶段接口完成入参校验，出现以下场景报错：",
              ("MARN-NULL-001", "MARN-ATTR-003", "MARN-SHAPE-001", "MARN-SHAPE-002", "MARN-SHAPE-003", "MARN-SHAPE-005", "MARN-SHAPE-006", "MARN-SHAPE-007", "MARN-BOUND-001", "MARN-BOUND-002", "MARN-BOUND-003", "MARN-BOUND-004")),
    DocChange("DRIFT-MARN-040", _M, "repo-a9b638f", "repo-3cce47f", "added",
              "New notice, no record: both files open with a deprecation notice: the interface will be deprecated in a "
              "later version; use aclnnMatmulAllReduce and aclnnAddRmsNorm instead (op_api_list.md lists it under "
              "废弃接口).",
              "",
              "须知：该接口后续版本会废弃，请使用aclnnMatmulAllReduce和aclnnAddRmsNorm替代本接口。",
              (),
              notice="aclnnMatmulAllReduceAddRmsNorm and aclnnInplaceMatmulAllReduceAddRmsNorm: deprecated by the "
                     "selected document revision (use aclnnMatmulAllReduce and aclnnAddRmsNorm instead; line 3 of "
                     "both files)"),
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
    # ---- aclnnQuantMatmulAllReduceV3.md: later revisions (mirror-cann/ops-transformer) ------------------------
    DocChange("DRIFT-V3-025", _V, "repo-c29bc10", "repo-808679c", "changed",
              "x2 row: 两维 becomes 二维; same rule.",
              "<li>当前版本仅支持两维输入。</li>",
              "<li>当前版本仅支持二维输入。</li><li>支持转置/不转置场景。</li>",
              ("V3-SHAPE-002",)),
    DocChange("DRIFT-V3-026", _V, "repo-775e8eb", "repo-f33d3ce", "added",
              "New promise (record V3-DET-001): a 确定性计算 item opens 约束说明: non-deterministic by default, "
              "deterministic computation through aclrtCtxSetSysParamOpt.",
              "",
              _V3_DET_RUNTIME,
              ("V3-DET-001",), introduces=(V3_DET,)),
    DocChange("DRIFT-V3-027", _V, "repo-775e8eb", "repo-f33d3ce", "changed",
              "Return-code table (161002 rows) names biasOptional and x3Optional instead of bias and x3; same rows.",
              "x1、x2、bias、dequantScale、pertokenScaleOptional、x3、commQuantScale1Optional、commQuantScale2Optional或output的shape不符合约束要求。",
              "x1、x2、biasOptional、dequantScale、pertokenScaleOptional、x3Optional、commQuantScale1Optional、commQuantScale2Optional或output的shape不符合约束要求。",
              ("V3-DTYPE-002", "V3-DTYPE-007", "V3-SHAPE-005", "V3-SHAPE-006")),
    DocChange("DRIFT-V3-028", _V, "repo-775e8eb", "repo-f33d3ce", "changed",
              "Constraint sentence on dtypes/formats names biasOptional instead of bias; same rule.",
              "x1和x2、dequantScale、output、bias（非空场景）、x3（非空场景）的数据类型和数据格式需要在支持的范围之内。",
              "x1和x2、dequantScale、output、biasOptional（非空场景）、x3（非空场景）的数据类型和数据格式需要在支持的范围之内。",
              ("V3-FORMAT-004",)),
    DocChange("DRIFT-V3-029", _V, "repo-775e8eb", "repo-f33d3ce", "changed",
              "Product line renamed (table, x2 format note, world-size and communication-domain scopes, sample "
              "heading): 'Atlas 800I A2 推理产品/A200I A2 Box 异构组件' becomes 'Atlas A2 推理系列产品'; A3 ×, A2 √ unchanged.",
              "<term>Atlas A2 训练系列产品/Atlas 800I A2 推理产品/A200I A2 Box 异构组件</term>：支持1、2、4、8卡。",
              "<term>Atlas A2 训练系列产品/Atlas A2 推理系列产品</term>：支持1、2、4、8卡。",
              ("V3-WORLD-001",)),
    DocChange("DRIFT-V3-030", _V, "repo-f33d3ce", "repo-8c34a87", "changed",
              "Formula case 2 (and the case-3 names) capitalised: allReduce -> AllReduce, alltoall -> AllToAll, "
              "allgather -> AllGather; same computation. The V3-NUM-001 quote (DRIFT-V3-022) needs the new spelling.",
              "output= allReduce(dequantScale * pertokenScaleOptional * (x1_{int8}@x2_{int8} + biasOptional_{int32}) + x3Optional)",
              _V3_CASE2_CAPS,
              ("V3-NUM-001",), (_o("V3-NUM-001", original=_V3_CASE2_CAPS),)),
    DocChange("DRIFT-V3-031", _V, "repo-f33d3ce", "repo-8c34a87", "changed",
              "Return-code intro says 第一阶段接口 instead of 第一段接口; same phase reading (GetWorkspaceSize).",
              "第一段接口完成入参校验，出现以下场景时报错：",
              "第一阶段接口完成入参校验，出现以下场景报错：",
              ("V3-NULL-001", "V3-ATTR-003")),
    DocChange("DRIFT-V3-039", _V, "repo-f33d3ce", "repo-8c34a87", "changed",
              "The determinism item's names become code spans (`aclnnQuantMatmulAllReduceV3`, "
              "`aclrtCtxSetSysParamOpt`); same promise, same setting.",
              _V3_DET_RUNTIME, _V3_DET_RUNTIME_CODE, ("V3-DET-001",),
              (_o("V3-DET-001", original=_V3_DET_RUNTIME_CODE),)),
    DocChange("DRIFT-V3-032", _V, "repo-8c34a87", "repo-2d6722f", "changed",
              "x2 row, format column: ND becomes ND、FRACTAL_NZ (DRIFT-V3-007 resolved: the table now agrees with the A2"
              " note and the shared copy).",
              "",
              "<td>ND、FRACTAL_NZ</td>",
              ("V3-FORMAT-001", "V3-FORMAT-003")),
    DocChange("DRIFT-V3-033", _V, "repo-edd2099", "repo-17beaba", "added",
              "Ascend 950PR/Ascend 950DT listed as supported (√) again, with Atlas 200I/500 A2, Atlas 推理系列 and Atlas "
              "训练系列 listed as not supported (×); not the suite's Atlas A2 target.",
              "",
              "<term>Ascend 950PR/Ascend 950DT</term>：支持1、2、4、8、16、32、64卡。",
              ("V3-WORLD-001",)),
    DocChange("DRIFT-V3-034", _V, "repo-edd2099", "repo-17beaba", "added",
              "Ascend 950PR/Ascend 950DT: x2 only in ND format, 2-D.",
              "",
              "输入x2的数据格式仅支持ND格式（当前版本仅支持二维输入）。",
              ("V3-FORMAT-001", "V3-SHAPE-003")),
    DocChange("DRIFT-V3-035", _V, "repo-edd2099", "repo-17beaba", "changed",
              "x2 row: the 非连续Tensor column turns √ -> × and a sentence states that, in ND format, only the last-two-"
              "axes transpose is accepted as non-contiguous and other non-contiguous tensors are not supported "
              "(V3-LAYOUT-003 gains a parameter-table sentence; FRACTAL_NZ keeps '非连续的tensor仅支持transpose场景。').",
              "",
              _V3_X2_ND_STRIDES,
              ("V3-LAYOUT-002", "V3-LAYOUT-003"),
              (_o("V3-LAYOUT-003", original=_V3_X2_ND_STRIDES + ELIDED + "非连续的tensor仅支持transpose场景。"),)),
    DocChange("DRIFT-V3-036", _V, "repo-edd2099", "repo-17beaba", "changed",
              "The determinism item is split by product: Atlas A2 non-deterministic by default, deterministic with "
              "HCCL_DETERMINISTIC=true; Ascend 950PR/950DT deterministic by default (the <term> tag around the A2 "
              "product name is added at 8f3a574). V3-DET-001 (Atlas A2, the suite's target) takes the new setting.",
              _V3_DET_RUNTIME_CODE,
              "Atlas A2 训练系列产品/Atlas A2 推理系列产品：" + _V3_DET_ENV,
              ("V3-DET-001",),
              (_o("V3-DET-001", original=_V3_DET_ENV, setting=HCCL_DETERMINISTIC_ON,
                  notes=_DET_NOTES + " Ascend 950PR/950DT (not the suite's target): 'Ascend 950PR/Ascend "
                  "950DT：`aclnnQuantMatmulAllReduceV3`默认确定性实现。' (deterministic by default)."),)),
    DocChange("DRIFT-V3-037", _V, "repo-edd2099", "repo-17beaba", "changed",
              "The empty-tensor sentence moves under a 空tensor支持度 item; same rule.",
              "",
              "空tensor支持度：",
              ("V3-EMPTY-001",)),
    DocChange("DRIFT-V3-038", _V, "repo-7d624de", "repo-ce6b031", "removed",
              "x2 row loses '当前版本仅支持二维输入。'; the 2-D rule remains in 约束说明 (x2必须是2维) and in the per-product format notes "
              "(ND: 二维, FRACTAL_NZ: 四维).",
              "<li>当前版本仅支持二维输入。</li><li>支持转置/不转置场景。</li>",
              "",
              ("V3-SHAPE-002",)),
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
    given = {c.id for c in constraints}
    introduced: list[Constraint] = []
    for ch in _applied(chosen):  # oldest first: a later change's field wins
        introduced += [c for c in ch.introduces if c.id not in given]
        for cid, pairs in ch.override:
            fields.setdefault(cid, {}).update(pairs)
    out = []
    for c in (*constraints, *introduced):
        doc = doc_of(c)
        if doc is None:
            out.append(c)
        elif not c.since or _order(doc, c.since) <= _order(doc, chosen[doc]):  # a later promise: absent before
            out.append(dataclasses.replace(c, **fields.get(c.id, {}), revision=chosen[doc]))
    return tuple(out)


def _applied(chosen: dict[str, str]) -> list[DocChange]:
    """The changes up to each document's chosen revision, oldest first (by the revision they lead to)."""
    done = [ch for ch in CHANGES if _order(ch.doc, ch.to_revision) <= _order(ch.doc, chosen[ch.doc])]
    return sorted(done, key=lambda ch: (ch.doc, _order(ch.doc, ch.to_revision)))


def notices(revision_ids: dict[str, str] | None = None) -> list[str]:
    """What the report says about the chosen revisions beyond the records (a deprecation), one line each, with
    the document's sentence and where it is."""
    chosen = _chosen(revision_ids)
    return [f"{ch.notice}: 「{ch.new_quote}」 ({ch.id}, {revision(ch.doc, ch.to_revision).where})"
            for ch in _applied(chosen) if ch.notice]


def revision_ids_for(spec: str) -> dict[str, str]:
    """Parse a --doc-revision value: "REV" (every document that has it), "DOC=REV", comma-separated, or
    "latest" (every document at its newest revision, LATEST)."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part == NEWEST:
            out.update(LATEST)
            continue
        if "=" in part:
            doc, rid = (s.strip() for s in part.split("=", 1))
            if doc not in DOCS:
                raise ValueError(f"unknown document {doc!r}; known: {', '.join(DOCS)}")
            _order(doc, rid)
            out[doc] = rid
            continue
        docs = [d for d in DOCS if any(r.id == part for r in revisions_of(d))]
        if not docs:
            known = [NEWEST] + sorted({r.id for r in REVISIONS})
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
            for c in ch.introduces:
                lines.append(f"    new record {c.id} ({c.kind}, from {c.since}, under {c.setting}): {c.paraphrase}")
            if ch.notice:
                lines.append(f"    notice: {ch.notice}")
        lines.append("")
    return lines[:-1] if lines and lines[-1] == "" else lines
