"""Records shared by the sim-cann host models: rules with their source citation, and a host verdict."""

from __future__ import annotations

from dataclasses import dataclass

REPO = "hicann/ops-transformer"
REVISION = "c29bc1069d3252c641e2aa059ec88f392d3f05ac"  # 2025-11-15, the revision every citation refers to
REV = REVISION[:7]

WORKSPACE = "workspace"  # GetWorkspaceSize returned the status (tiling runs inside it: 561002 comes from here)
LAUNCH = "launch"  # GetWorkspaceSize returned 0; the second call (kernel launch) returned the status

# Formats the runtime stores as ND before the kernel lookup, with the default format-check option
# (hicann/opbase@aa3cd74 src/nnopbase/individual_op/executor/indv_executor_tensor.cpp:19-20, :284-287, :302-306).
# torch_npu tags a 3-D tensor NCL and a 4-D one NCHW (research for issue 21: op-plugin@517f2e7d
# op_plugin/utils/op_api_common.cpp:918-930), so these reach every host check as ND.
ND_LIKE_FORMATS = frozenset({"ND", "NCL", "NCDHW", "DHWCN", "NHWC", "NCHW"})


def kernel_format(t) -> str:
    """The storage format the kernel lookup sees for tensor `t`: ND for every ND-like base format."""
    return "ND" if t.format in ND_LIKE_FORMATS else t.format


@dataclass(frozen=True)
class HostRule:
    """One check of the published host path (op_api, generated checks, tiling or launch)."""

    id: str  # CANN-MARN-H01 ..., CANN-V3-H01 ...: in the order the implementation runs them
    phase: str  # WORKSPACE or LAUNCH
    status: int  # the aclnn status it returns
    source: str  # "path:line" inside REPO at REVISION (or "hicann/opbase@rev path:line")
    summary: str  # what it checks, in English


@dataclass(frozen=True)
class HostVerdict:
    """What the host path answers for one rank's arguments."""

    status: int  # 0 or the aclnn status
    phase: str = ""  # WORKSPACE or LAUNCH for a rejection; "" on success
    rule: str = ""  # HostRule.id that decided it ("" on success)
    message: str = ""
    launched: bool = True  # False: the empty-tensor short-cut returned 0 and nothing ran
    x2_read_contiguous: bool = False  # a strided (not transposed) x2 was accepted and is read as contiguous


def vendor_transposed(t) -> bool:
    """Whether the op_api reads x2 as transposed (the same test in both operators' host paths:
    mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.h:39-62 and
    mc2/3rd/common/op_host/op_api/matmul_util.cpp:1585-1608): 2 to 6 dims, the second-to-last with stride 1, the
    last's stride the second-to-last's size, batch dims packed, and the last two dims not both 1."""
    shape, strides = tuple(t.shape), tuple(t.strides)
    if not 2 <= len(shape) <= 6 or len(strides) != len(shape):
        return False
    if strides[-2] != 1 or strides[-1] != shape[-2]:
        return False
    packed = shape[-1] * shape[-2]
    for d in range(len(shape) - 3, -1, -1):
        if strides[d] != packed:
            return False
        packed *= shape[d]
    return not (shape[-1] == 1 and shape[-2] == 1)
