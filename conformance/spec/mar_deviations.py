"""Where the published implementation of aclnnMatmulAllReduce contradicts its document (the record's `deviations`;
spec/deviations.py says what a Deviation is). Read at hicann/ops-transformer@c29bc10 and located at every modelled
revision (sim/cann/mar_host.py, conformance/data/sim_cann_locations/mar.json): a record that holds only at some
revisions names them, as V3's do."""

from __future__ import annotations

from .deviations import _BEFORE_CONTIGUITY, _CONTIGUITY, Deviation
from .mar import DOC, OP

_OT = "hicann/ops-transformer@c29bc10"
_T910 = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_910.cpp"
_UTIL = "mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.cpp"
_M = "mirror-cann/ops-transformer"
# sim-cann's revision names (sim/cann/mar_host.py CHANGES): up to 9.0.0-beta.2 this API's host path behaves as at
# c29bc10; from 9.0.0 and 9.1.0-beta.1 on the host rejects a strided x2 and the runtime makes x1 and bias contiguous.

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
        "a contiguous (k, n) matrix: the call succeeds with a wrong result. Retired at 9.0.0 and 9.1.0-beta.1 on: "
        f"the host rejects such an x2 (161002), as the document says ({_M}@d28d8f9 "
        "mc2/matmul_all_reduce/op_api/matmul_all_reduce_util.cpp:121-125).",
        ("mar-MAR-LAYOUT-003-x2_strided-*",), revisions=_BEFORE_CONTIGUITY),
    Deviation(
        "DEV-MAR-003", (OP,), ("MAR-LAYOUT-001",),
        "支持不转置场景。",
        f"{DOC} / 参数说明 (x1, line 75)",
        f"{_M}@d28d8f9 mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:496,532 (9.0.0); {_M}@3a280bc same "
        "file :491,518 (master): x1 and bias AutoContiguous for Ascend910B",
        "A transposed or strided x1 (and a non-contiguous bias) is made contiguous by the runtime and the call "
        "succeeds with the documented result. A deviation of the literal reading only: x1's 非连续Tensor cell (×) "
        "does not promise the rejection, so by default (--unsupported-inputs reject-or-compute) it is a device doing "
        "more than promised and passes.",
        ("mar-MAR-LAYOUT-001-*",), revisions=_CONTIGUITY, reading="reject"),
    Deviation(
        "DEV-MAR-004", (OP,), ("MAR-ATTR-002",),
        "当前版本仅支持输入0。",
        f"{DOC} / 参数说明 (commTurn)",
        f"{_OT} mc2/common/src/context_transfer.cpp:34, checked at "
        "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp:660 (CANN-MAR-H11, the same at every "
        "modelled revision)",
        "commTurn is read as a 32-bit int: 2**32 (low 32 bits 0) is accepted.",
        ("mar-MAR-ATTR-002-commturn_2pow32-*",)),
)
