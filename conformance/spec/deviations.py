"""Where the published implementation contradicts a document: named, quoted from both sides, waivable.

A `Deviation` is not a verdict. It says: the document promises X (quoted), the open-sourced implementation
does Y (file:line at a named revision), and these cases will therefore fail on a device that behaves as the
source does. A deviation holds at the source revisions it names (`revisions`; sim-cann's revision names,
conformance/sim/cann/revisions.py; empty: every modelled revision) and, where it is about an input a correct
device may compute instead of rejecting, only under the literal `--unsupported-inputs reject` reading (`reading`).
`waivers/cann-source-<revision>.toml` holds one waiver per record that holds at that revision (its issue is the
record id), so a release team can accept a deviation on purpose instead of being surprised by it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

from . import marn, v3
from .model import UNSUPPORTED_INPUT_READINGS as READINGS

# The sim-cann source revisions (conformance/sim/cann/revisions.py names them; the spec layer keeps the names only).
# Up to 9.0.0-beta.2 and at 9.1.0-beta.1 (forked before the fix) the V3 host path behaves as at c29bc10 here; from
# 9.0.0 / 9.1.0-beta.1 on the runtime makes non-contiguous inputs contiguous and the host rejects a strided x2.
_BEFORE_CONTIGUITY = ("c29bc10", "8.5.0-beta.1", "8.5.0", "9.0.0-beta.1", "9.0.0-beta.2")
_CONTIGUITY = ("9.0.0", "9.1.0-beta.1", "9.1.0-beta.2", "9.1.0-beta.3", "9.1.0", "master")
_M = "mirror-cann/ops-transformer"


@dataclass(frozen=True)
class Deviation:
    id: str  # DEV-MARN-001, DEV-V3-001: never renumbered
    ops: tuple[str, ...]
    constraints: tuple[str, ...]  # the catalogue records whose promise the implementation breaks
    document_quote: str  # verbatim sentence of the contract document
    document_ref: str  # document and section
    source_ref: str  # "hicann/ops-transformer@<rev> path:line" (one or more, "; "-separated)
    behaviour: str  # what the implementation does instead (English)
    case_patterns: tuple[str, ...]  # case-id globs (* and ?) of the cases that fail because of it
    revisions: tuple[str, ...] = ()  # the sim-cann source revisions where it holds (empty: every modelled one)
    reading: str = ""  # "reject": holds only under --unsupported-inputs reject; "": under every reading

    def holds(self, revision: str, reading: str = READINGS[0]) -> bool:
        """Whether the deviation holds at source `revision` under the --unsupported-inputs `reading`."""
        return (not self.revisions or revision in self.revisions) and (not self.reading or self.reading == reading)


_OT = "hicann/ops-transformer@c29bc10"
_OPBASE = "hicann/opbase@313b014"
_GEN = "mirror-cann/asc-devkit@78d7801"
_MARN_DOC = "aclnnMatmulAllReduceAddRmsNorm.md"
_V3_DOC = "aclnnQuantMatmulAllReduceV3.md"
_MARN_OPS = (marn.OP, marn.INPLACE_OP)
_V3_OPS = (v3.OP,)
_MARN_API = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_api/aclnn_matmul_all_reduce_add_rms_norm.cpp"
_V3_API = "mc2/matmul_all_reduce/op_host/op_api/aclnn_quant_matmul_all_reduce_v3.cpp"
_MAR_TILING = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_QMAR_TILING = "mc2/matmul_all_reduce/op_host/op_tiling/quant_matmul_all_reduce_tiling.cpp"

# Each record: document sentences (verbatim, one per line), the source that contradicts them (see
# docs/cann-source/*.md for the reading), and the case-id globs of the cases that fail because of it on a
# device that behaves as the source does (`--backend sim-cann`). tests/test_deviations.py proves the globs
# exact: every matched case fails on sim-cann, and nothing else fails there.
DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "DEV-MARN-001", _MARN_OPS, ("MARN-LAYOUT-003",),
        "支持最后两轴转置情况下的非连续的tensor传入。", f"{_MARN_DOC} / 参数说明 (x2)",
        f"{_OT} mc2/matmul_all_reduce_add_rms_norm/op_host/matmul_all_reduce_add_rms_norm_def.cpp:45; "
        f"{_OPBASE} src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:290-307,372",
        "x2 is declared contiguity-agnostic: a strided (not transposed) x2 passes both calls and the kernel reads "
        "its buffer as a contiguous (k, n) matrix (status 0, wrong values).",
        ("marn*-MARN-LAYOUT-003-x2_strided-*",)),
    Deviation(
        "DEV-MARN-002", _MARN_OPS, ("MARN-ATTR-001",),
        "reduceOp(char*, 计算输入):reduce操作类型。数据类型支持String。当前仅支持输入\"sum\"。",
        f"{_MARN_DOC} / 参数说明 (reduceOp)",
        f"{_OT} {_MAR_TILING}:655; {_GEN} tools/build/opbuild/op_aclnn_generator.cpp:599",
        "reduceOp is compared on its first three characters: \"summ\" is accepted and runs as sum.",
        ("marn*-MARN-ATTR-001-reduce_summ-*",)),
    Deviation(
        "DEV-MARN-003", _MARN_OPS, ("MARN-ATTR-002",),
        "commTurn(int64_t, 计算输入):Host侧的整型,数据类型支持int64_t。通信数据切分数,即总数据量/单次通信量。当前版本仅支持输入0。",
        f"{_MARN_DOC} / 参数说明 (commTurn)",
        f"{_OT} mc2/common/src/context_transfer.cpp:34, checked at {_MAR_TILING}:660",
        "commTurn is read as a 32-bit int: 2**32 (low 32 bits 0) is accepted.",
        ("marn*-MARN-ATTR-002-commturn_2pow32-*",)),
    Deviation(
        "DEV-MARN-004", _MARN_OPS, ("MARN-ATTR-004",),
        "epsilon(double, 计算输入):公式中的输入epsilon,Host侧双精度,用于防止除0错误。epsilon取值满足取值范围(0,1),默认值为1e-06。",
        f"{_MARN_DOC} / 参数说明 (epsilon) and 约束与限制",
        f"{_GEN} tools/build/opbuild/op_aclnn_generator.cpp:674; {_OT} "
        "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/common_add_rms_norm_tiling.cpp:193",
        "epsilon is converted to float before the (0, 1) range check: NaN passes (both comparisons false); "
        "1e-50 and 0.9999999999, inside (0, 1), become 0.0f and 1.0f and are rejected (561002).",
        ("marn*-MARN-ATTR-004-eps_nan-*", "marn*-tiny-eps1e-50-*", "marn*-tiny-eps0.9999999999-*")),
    Deviation(
        "DEV-MARN-005", _MARN_OPS, ("MARN-SHAPE-006",),
        "输入residual必须是三维,其维度为(b, s, n),当x1为二维时,residual的(b*s)等于x1的m。",
        f"{_MARN_DOC} / 约束与限制",
        f"{_OT} mc2/common/src/context_transfer.cpp:166-167",
        "For a 3-D x1 only the product b*s is compared with residual's: x1 (1, 4, k) with residual (2, 2, n) "
        "is accepted, rows paired by flat index.",
        ("marn*-MARN-SHAPE-006-residual_bs_swapped-*",)),
    Deviation(
        "DEV-MARN-006", _MARN_OPS,
        ("MARN-WORLD-001", "MARN-ATTR-001", "MARN-ATTR-003", "MARN-ATTR-004", "MARN-DTYPE-001", "MARN-NULL-002"),
        "支持(b*s)、n为0的空tensor,不支持k为0的空tensor。\n支持1、2、4、8卡,并且仅支持hccs链路all mesh组网。",
        f"{_MARN_DOC} / 约束与限制 (with the rules the short-cut bypasses)",
        f"{_OT} {_MARN_API}:48,64-66 (the launch returns at :81-84)",
        "When x1, x2, residual or gamma is empty and k != 0, GetWorkspaceSize returns 0 with workspace 0 before "
        "streamMode, the generated null checks of y/normOut, the dtype lookup, tiling (epsilon, reduceOp, commTurn, "
        "world size): an invalid attribute, dtype, null output or world size on an empty input is accepted.",
        ("marn*-*-on_empty_bs-*",)),
    Deviation(
        "DEV-MARN-007", _MARN_OPS, ("MARN-FORMAT-001",),
        "bias(aclTensor*, 计算输入):公式中的输入bias,数据类型支持FLOAT16、BFLOAT16。数据格式支持ND。",
        f"{_MARN_DOC} / 参数说明 (bias)",
        f"{_OPBASE} src/nnopbase/individual_op/executor/indv_executor_ext.cpp:1250,1263; {_OT} "
        f"{_MAR_TILING}:632-651",
        "Optional inputs take no part in the kernel lookup by dtype and format, and tiling checks only the bias's "
        "rank and length: a FRACTAL_NZ bias is accepted and read as ND.",
        ("marn*-MARN-FORMAT-001-bias_nz-*",)),
    Deviation(
        "DEV-V3-001", _V3_OPS, ("V3-BOUND-001", "V3-BOUND-002", "V3-BOUND-003"),
        "m大小不超过2147483647,x1与x2的最后一维大小不超过65535,x1的最后一维指k,x2的最后一维指转置时的k或非转置时的n。",
        f"{_V3_DOC} / 约束与限制, with the return-code table (161002 for shapes)",
        f"{_OT} {_QMAR_TILING}:139-167",
        "m > INT32_MAX, k > 65535 and an untransposed n > 65535 pass the host checks and are rejected by tiling "
        "with 561002, not the documented 161002.",
        ("v3-V3-BOUND-001-*_over_max-*", "v3-V3-BOUND-002-k65536-*", "v3-V3-BOUND-003-n65536_x2N-*")),
    Deviation(
        "DEV-V3-002", _V3_OPS, ("V3-EMPTY-001",),
        "不支持空tensor。",
        f"{_V3_DOC} / 约束与限制, with the return-code table (161002 for shapes)",
        f"hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor.cpp:1076-1082; "
        f"{_OT} {_MAR_TILING}:768,796-799",
        "An empty output (m or n = 0) is accepted with status 0 and nothing computed; an empty k is rejected by "
        "tiling with 561002, not 161002.",
        ("v3-V3-EMPTY-001-*",)),
    Deviation(
        "DEV-V3-003", _V3_OPS, ("V3-DTYPE-006",),
        "若输出output类型为FLOAT16,当pertokenSclale为空时,dequantScale的类型为INT64、UINT64,当pertokenSclale不为空时,"
        "dequantScale的类型为FLOAT32;若输出output类型为BFLOAT16,dequantScale的类型为BFLOAT16,x3的类型为BFLOAT16。",
        f"{_V3_DOC} / 约束与限制, with the return-code table (161002 for dtypes)",
        f"{_OT} {_V3_API}:111-121 (accepts), {_QMAR_TILING}:189-196 (rejects)",
        "fp16 output with a FLOAT32 dequantScale and no pertokenScale passes the host and is rejected by tiling "
        "with 561002, not 161002.",
        ("v3-V3-DTYPE-006-fp16_f32_deq_no_pt-*",)),
    Deviation(
        "DEV-V3-004", _V3_OPS, ("V3-LAYOUT-003",),
        "当x2的数据格式为FRACTAL_NZ时,当前版本仅支持四维输入,配合aclnnCalculateMatmulWeightSizeV2和aclnnTransMatmulWeight"
        "完成输入ND到NZ的转换,非连续的tensor仅支持transpose场景。",
        f"{_V3_DOC} / 参数说明 (x2)",
        f"{_OT} mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:57",
        "A strided (not transposed) x2 is accepted (status 0) and its buffer read as if contiguous. Retired at "
        "9.0.0 and 9.1.0-beta.1 on: the host rejects such an x2 (161002), as the document says "
        f"({_M}@d28d8f9 mc2/matmul_all_reduce/op_api/aclnn_quant_matmul_all_reduce_v3.cpp:301).",
        ("v3-V3-LAYOUT-003-x2_strided-*",), revisions=_BEFORE_CONTIGUITY),
    Deviation(
        "DEV-V3-005", _V3_OPS, ("V3-SHAPE-003",),
        "当x2的数据格式为FRACTAL_NZ时,当前版本仅支持四维输入,配合aclnnCalculateMatmulWeightSizeV2和aclnnTransMatmulWeight"
        "完成输入ND到NZ的转换,非连续的tensor仅支持transpose场景。",
        f"{_V3_DOC} / 参数说明 (x2)",
        f"{_OT} {_V3_API}:147-160,193-197; hicann/opbase@aa3cd74 "
        "src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:298-299",
        "A FRACTAL_NZ x2 with 3-D storage is accepted (status 0): the host treats it as a 2-D view and the NZ "
        "kernel reads the same bytes.",
        ("v3-V3-SHAPE-003-x2_nz_3d_storage-*",)),
    Deviation(
        "DEV-V3-006", _V3_OPS, ("V3-SHAPE-004", "V3-SHAPE-005", "V3-SHAPE-006"),
        "输入x1可为2维或者3维,且不为空Tensor,其shape为(b, s, k)或者(m, k)。x2必须是2维,且不为空Tensor。其shape为(k, n),"
        "k轴满足mm算子入参要求,k轴相等。",
        f"{_V3_DOC} / 约束与限制, with the return-code table (161002 for shapes)",
        f"{_OT} {_V3_API}:193-195; {_MAR_TILING}:684-723,772-774",
        "With a 4-D FRACTAL_NZ x2 the host's shape check returns early: a k mismatch and a wrongly shaped x3 are "
        "never checked (the launch computes with them), a wrong bias length is left to tiling (561002, not 161002).",
        ("v3-V3-*-x2nz-*",)),
    Deviation(
        "DEV-V3-007", _V3_OPS, ("V3-ATTR-002",),
        "commTurn(int64_t, 计算输入):通信数据切分数,数据类型支持INT64。即总数据量/单次通信量。当前版本仅支持输入为0。",
        f"{_V3_DOC} / 参数说明 (commTurn)",
        f"{_OT} mc2/common/src/context_transfer.cpp:34, checked at {_MAR_TILING}:660",
        "commTurn is read as a 32-bit int: 2**32 is accepted.",
        ("v3-V3-ATTR-002-commturn_2pow32-*",)),
)

DEVIATIONS += (
    Deviation(
        "DEV-V3-008", _V3_OPS, ("V3-FORMAT-004",),
        "biasOptional(aclTensor*, 计算输入):公式中的输入biasOptional,数据类型支持INT32,数据格式支持ND。",
        f"{_V3_DOC} / 参数说明 (bias, x3, dequantScale, pertokenScale, commQuantScale1/2: 数据格式支持ND)",
        f"hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor.cpp:959 (the kernel lookup "
        f"keys on x1, x2 and output only); {_OT} {_V3_API}:95-140 (dtype and shape checks, no format check)",
        "The formats of bias, x3, dequantScale, pertokenScale and the comm scales are never checked: a "
        "FRACTAL_NZ one is accepted and its buffer read as ND.",
        ("v3-V3-FORMAT-004-bias_nz-*", "v3-V3-FORMAT-004-x3_nz-*", "v3-V3-FORMAT-004-deq_nz-*",
         "v3-V3-FORMAT-004-pertoken_nz-*", "v3-V3-FORMAT-004-comm_nz-*")),
    Deviation(
        "DEV-V3-009", _V3_OPS, ("V3-LAYOUT-001",),
        "只支持x2矩阵转置/不转置,x1矩阵不支持转置场景。",
        f"{_V3_DOC} / 约束与限制 (x1)",
        f"{_M}@d28d8f9 mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:496,532,550,604,622,640,658 "
        f"(9.0.0); {_M}@3a280bc same file :491,518,531,570,583,596,609 (master); {_GEN} "
        "tools/build/opbuild/op_aclnn_generator.cpp:1578-1612",
        "A transposed or strided x1 (and a non-contiguous bias, x3 or scale) is made contiguous by the runtime and "
        "the call succeeds with the documented result. A deviation of the literal reading only: no document "
        "promises the rejection, so by default (--unsupported-inputs reject-or-compute) it is a device doing more "
        "than promised and passes.",
        ("v3-V3-LAYOUT-001-*",), revisions=_CONTIGUITY, reading="reject"),
    Deviation(
        "DEV-V3-010", _V3_OPS, ("V3-FORMAT-003",),
        v3._X2_FORMAT,
        f"{_V3_DOC} / 参数说明 (x2)",
        "hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:19-20, :284-306 (NCL, "
        "NCHW, NCDHW, NHWC and DHWCN are stored as ND before the kernel lookup); "
        f"{_OT} {_V3_API}:149,165-166 (x2's format is read only to detect FRACTAL_NZ)",
        "An x2 tagged with an ND-like base format (NCHW, NCL, ...) is looked up as ND and accepted; the document "
        "lists ND and FRACTAL_NZ only. Found when the real torch_npu on the CANN twin tagged a 3-D x1 NCL: the "
        "model's kernel lookup now treats these formats as the runtime does.",
        ("v3-V3-FORMAT-003-x2_nchw-*",)),
)



def _of_records() -> tuple[Deviation, ...]:
    """The deviations registered operators keep in their own modules (their record's `deviations`)."""
    from .. import operators
    refs = dict.fromkeys(op.deviations.path for op in operators.all_operators() if op.deviations is not None)
    return tuple(d for path in refs for d in operators.Ref(path).load())


DEVIATIONS += _of_records()
BY_ID = {d.id: d for d in DEVIATIONS}
if len(BY_ID) != len(DEVIATIONS):
    raise RuntimeError("two deviation records share an id")


@lru_cache(maxsize=None)
def _glob(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern))


NEWEST = "master"  # sim-cann's default revision (conformance/sim/cann/revisions.DEFAULT; tested equal)


@lru_cache(maxsize=None)
def active(revision: str = NEWEST, reading: str = READINGS[0]) -> tuple[Deviation, ...]:
    """The deviations that hold at source `revision` under the --unsupported-inputs `reading`."""
    return tuple(d for d in DEVIATIONS if d.holds(revision, reading))


def deviations_of(case_id: str, revision: str = NEWEST, reading: str = READINGS[0]) -> list[Deviation]:
    """The deviations holding at `revision` (under `reading`) whose case patterns match `case_id`."""
    return [d for d in active(revision, reading) if any(_glob(p).fullmatch(case_id) for p in d.case_patterns)]


WAIVER_EXPIRES = "2027-06-30"  # a release team renews waivers on purpose; the shipped file is generated


def waiver_file(revision: str) -> str:
    """Where the shipped waivers of source `revision` live, relative to the repository."""
    return f"waivers/cann-source-{revision}.toml"


def waiver_toml(revision: str = NEWEST, reading: str = READINGS[0], *, expires: str = WAIVER_EXPIRES) -> str:
    """The waiver file of source `revision` under `reading`: one waiver per deviation holding there, its issue the
    record id."""
    lines = [f"# Generated by `mc2-conformance deviations --waivers --sim-cann-revision {revision}"
             + ("" if reading == READINGS[0] else f" --unsupported-inputs {reading}")
             + "` from conformance/spec/deviations.py:",
             "# one waiver per place where the published CANN source at that revision contradicts the operator",
             "# documents. Applying it says: we accept that the device behaves as the source does there. Regenerate,",
             "# do not edit.", ""]
    for d in active(revision, reading):
        patterns = ", ".join(f'"cases/test_*.py::test_*[{p}]"' for p in d.case_patterns)
        reason = d.behaviour.replace("\\", "\\\\").replace('"', '\\"')
        lines += ["[[waiver]]", f"pattern = [{patterns}]", f'reason = "{d.id}: {reason}"', f'issue = "{d.id}"',
                  f"expires = {expires}", ""]
    return "\n".join(lines)


def listing(revision: str | None = None, reading: str = READINGS[0]) -> list[str]:
    """The deviation table for `mc2-conformance constraints` and `deviations`: every record with the revisions it
    holds at, or (`revision` given) those holding at that revision under `reading`."""
    out = []
    for d in (DEVIATIONS if revision is None else active(revision, reading)):
        where = ", ".join(d.revisions) if d.revisions else "every modelled revision"
        only = " (only under --unsupported-inputs reject)" if d.reading else ""
        out.append(f"{d.id}  [{', '.join(d.constraints)}]  {d.behaviour}")
        out.append(f"    holds at: {where}{only}")
        for q in d.document_quote.split("\n"):
            out.append(f"    document ({d.document_ref}): {q}")
        out.append(f"    source: {d.source_ref}")
        out.append(f"    cases: {', '.join(d.case_patterns)}")
    return out
