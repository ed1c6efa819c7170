"""Where the published implementation of aclnnMatmulAllReduce contradicts its document (the record's `deviations`;
spec/deviations.py says what a Deviation is). Read at hicann/ops-transformer@c29bc10 (sim/cann/mar_host.py)."""

from __future__ import annotations

from .deviations import Deviation
from .mar import DOC, OP

_OT = "hicann/ops-transformer@c29bc10"
_T910 = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_910.cpp"
_UTIL = "mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.cpp"

DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "DEV-MAR-001", (OP,), ("MAR-BOUND-001", "MAR-BOUND-002", "MAR-BOUND-003", "MAR-BOUND-004"),
        "b*s、m、k、n的值均不得超过2147483647(INT32_MAX)。\nx1、x2、bias或output的shape不符合约束要求。",
        f"{DOC} / 约束说明 (line 249) and 返回值 (line 202)",
        f"{_OT} {_UTIL}:146-185 (the op_api's shape check has no bound); {_OT} {_T910}:141-151 (tiling)",
        "m (or b*s), k or n above INT32_MAX passes the op_api's checks and is rejected by tiling inside "
        "GetWorkspaceSize with 561002, not the documented 161002.",
        ("mar-MAR-BOUND-00?-over_max-*", "mar-limit-MAR-BOUND-00?-2147483648-*")),
    Deviation(
        "DEV-MAR-002", (OP,), ("MAR-LAYOUT-003",),
        "支持最后两轴转置情况下的非连续的tensor",
        f"{DOC} / 参数说明 (x2, line 85)",
        f"{_OT} mc2/matmul_all_reduce/op_host/op_api/aclnn_matmul_all_reduce.cpp:66 (transposeX2 only for the "
        f"transpose); {_OT} mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:57 (x2 IgnoreContiguous)",
        "An x2 that is strided in another way than the last-two-axes transpose is accepted and its buffer read as "
        "a contiguous (k, n) matrix: the call succeeds with a wrong result.",
        ("mar-MAR-LAYOUT-003-x2_strided-*",)),
)
