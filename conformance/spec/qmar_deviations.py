"""Where the published implementation contradicts aclnnQuantMatmulAllReduce's document (the record's
`deviations`; spec/deviations.py explains a Deviation and turns them into waivers).

V1's host path is the family's quantised check and V3's tiling (sim/cann/qmar_host.py), so V1 deviates where V3
does, for the inputs it has: each record below is V3's (DEV-V3-00n, same source lines) restated against this
document's sentences and this operator's cases. Source paths are inside mirror-cann/ops-transformer at c29bc10
unless named otherwise; `U` = mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.cpp.
"""

from __future__ import annotations

from .deviations import _BEFORE_CONTIGUITY, _CONTIGUITY, Deviation
from .qmar import DOC, OP

_OT = "mirror-cann/ops-transformer@c29bc10"
_U = "mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.cpp"
_TILING = "mc2/matmul_all_reduce/op_host/op_tiling/quant_matmul_all_reduce_tiling.cpp"
_MAR_TILING = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_OPS = (OP,)
_SHAPE_CODE = "x1、x2、bias、dequantScale、x3或output的shape不符合约束要求。"
_RANGE = "x1和x2、dequantScale、output、bias（非空场景）、x3（非空场景）的数据类型和数据格式需要在支持的范围之内。"
_NZ = ("x2输入的数据格式支持ND（当前版本仅支持二维输入）和FRACTAL_NZ格式（当前版本仅支持四维输入）。当x2的数据格式为FRACTAL_NZ时，"
       "配合aclnnCalculateMatmulWeightSizeV2和aclnnTransMatmulWeight完成数据格式ND到数据格式NZ的转换，非连续的tensor仅支持"
       "transpose场景。")

DEVIATIONS = (
    Deviation(
        "DEV-QMAR-001", _OPS, ("QMAR-BOUND-001", "QMAR-BOUND-002", "QMAR-BOUND-003"),
        "m大小不超过2147483647，x1与x2的最后一维大小不超过65535，x1的最后一维指k，x2的最后一维指转置时的k或非转置时的n。\n"
        + _SHAPE_CODE,
        f"{DOC} / 约束说明, with the return-code table (161002 for shapes)",
        f"{_OT} {_TILING}:139-167 (as DEV-V3-001)",
        "m > INT32_MAX, k > 65535 and an untransposed n > 65535 pass the host checks and are rejected by tiling "
        "with 561002, not the documented 161002.",
        ("qmar-QMAR-BOUND-001-*_over_max-*", "qmar-QMAR-BOUND-002-k65536-*", "qmar-QMAR-BOUND-003-n65536_x2N-*")),
    Deviation(
        "DEV-QMAR-002", _OPS, ("QMAR-EMPTY-001",),
        "不支持x1、x2为空矩阵。",
        f"{DOC} / 约束说明, with the return-code table (161002 for shapes)",
        f"hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor.cpp:1076-1082; "
        f"{_OT} {_MAR_TILING}:768,796-799 (as DEV-V3-002)",
        "An empty output (m = 0) is accepted with status 0 and nothing computed; an empty k is rejected by tiling "
        "with 561002, not 161002.",
        ("qmar-QMAR-EMPTY-001-*",)),
    Deviation(
        "DEV-QMAR-003", _OPS, ("QMAR-DTYPE-006",),
        "若输出output类型为FLOAT16，dequantScale的类型为INT64、UINT64；若输出output类型为BFLOAT16，dequantScale的类型为"
        "BFLOAT16，x3的类型为BFLOAT16。",
        f"{DOC} / 约束说明, with the return-code table (161002 for dtypes)",
        f"{_OT} {_U}:42-43,212-254 (FLOAT in the dequantScale list: accepts), {_TILING}:189-196 (rejects)",
        "fp16 output with a FLOAT32 dequantScale passes the host and is rejected by tiling with 561002, not 161002.",
        ("qmar-QMAR-DTYPE-006-fp16_f32_deq-*",)),
    Deviation(
        "DEV-QMAR-004", _OPS, ("QMAR-LAYOUT-003",),
        _NZ,
        f"{DOC} / 参数说明 (x2)",
        f"{_OT} mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:57 (as DEV-V3-004)",
        "A strided (not transposed) x2 is accepted (status 0) and its buffer read as if contiguous. Retired where "
        "the quantised check rejects such an x2 (mirror-cann/ops-transformer@3a280bc "
        "mc2/matmul_all_reduce/op_api/matmul_all_reduce_util.cpp:256-259 at master).",
        ("qmar-QMAR-LAYOUT-003-x2_strided-*",), revisions=_BEFORE_CONTIGUITY),
    Deviation(
        "DEV-QMAR-005", _OPS, ("QMAR-SHAPE-003",),
        _NZ,
        f"{DOC} / 参数说明 (x2)",
        f"{_OT} {_U}:275-289,335-343; hicann/opbase@aa3cd74 "
        "src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:298-299 (as DEV-V3-005)",
        "A FRACTAL_NZ x2 with 3-D storage is accepted (status 0): the host checks it as a 2-D view and the NZ "
        "kernel reads the same bytes.",
        ("qmar-QMAR-SHAPE-003-x2_nz_3d_storage-*",)),
    Deviation(
        "DEV-QMAR-006", _OPS, ("QMAR-FORMAT-004",),
        _RANGE,
        f"{DOC} / 约束说明 (formats of bias, x3, dequantScale)",
        "hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor.cpp:959 (the kernel lookup keys "
        f"on x1, x2 and output only); {_OT} {_U}:212-254,335-389 (dtype and shape checks, no format check)",
        "The formats of bias, x3 and dequantScale are never checked: a FRACTAL_NZ one is accepted and its buffer "
        "read as ND.",
        ("qmar-QMAR-FORMAT-004-bias_nz-*", "qmar-QMAR-FORMAT-004-x3_nz-*", "qmar-QMAR-FORMAT-004-deq_nz-*")),
    Deviation(
        "DEV-QMAR-007", _OPS, ("QMAR-LAYOUT-001",),
        "支持不转置场景。",
        f"{DOC} / 参数说明 (x1)",
        "mirror-cann/ops-transformer@d28d8f9 mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:496,532 "
        "(9.0.0; the inner operator V1 builds, as DEV-V3-009)",
        "A transposed or strided x1 is made contiguous by the runtime and the call succeeds with the documented "
        "result. A deviation of the literal reading only (--unsupported-inputs reject).",
        ("qmar-QMAR-LAYOUT-001-*",), revisions=_CONTIGUITY, reading="reject"),
    Deviation(
        "DEV-QMAR-008", _OPS, ("QMAR-FORMAT-003",),
        _NZ,
        f"{DOC} / 约束说明 (x2)",
        "hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:19-20, :284-306 (NCL, "
        "NCHW, ... are stored as ND before the kernel lookup; as DEV-V3-010)",
        "An x2 tagged with an ND-like base format (NCHW, NCL, ...) is looked up as ND and accepted; the document "
        "lists ND and FRACTAL_NZ only.",
        ("qmar-QMAR-FORMAT-003-x2_nchw-*",)),
    Deviation(
        "DEV-QMAR-009", _OPS, ("QMAR-ATTR-002",),
        "当前版本仅支持输入0。",
        f"{DOC} / 参数说明 (commTurn)",
        f"{_OT} mc2/common/src/context_transfer.cpp:34, checked at {_MAR_TILING}:660 (as DEV-V3-007)",
        "commTurn is read as a 32-bit int: 2**32 (low 32 bits 0) is accepted.",
        ("qmar-QMAR-ATTR-002-commturn_2pow32-*",)),
)
