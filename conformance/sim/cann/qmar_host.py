"""Host path of aclnnQuantMatmulAllReduce (V1) as published in mirror-cann/ops-transformer: V3's host model
(v3_host.py) asked for the same arguments with no pertokenScale and no comm scales. Written from a reading of
those sources; no vendor code or text is reproduced.

Why V3's model answers for V1, rule by rule (paths inside ops-transformer at c29bc10, `U` =
mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.cpp, `V1` = .../op_api/aclnn_quant_matmul_all_reduce.cpp):
- V1's GetWorkspaceSize runs the family's quantised check with a null pertokenScale (V1:51-53): null pointers
  x1, x2, output, then dequantScale (U:194-196; V3 checks dequantScale before output: the status is 161001 either
  way, only the message of a call with two nulls differs); dtypes (U:212-254: the same lists as V3's, FLOAT
  included for dequantScale, U:42-43, so an fp16 output with a FLOAT dequantScale passes here and fails in tiling,
  as in V3: CANN-V3-H32); reduceOp and streamMode (U:134-143); shapes (U:335-389: the same early return for a 4-D
  NZ x2, U:339-341, and the same k / output / bias / x3 / dequantScale checks).
- V1 relabels an INT64 dequantScale as UINT64 (V1:60-62) and builds the same inner operator with null comm scales
  (U:459-504): the kernel lookup, tiling (CANN-V3-H24..H36) and launch (V1:77-81: any launch error is 561000)
  are V3's.
- At master (3a280bc, mc2/matmul_all_reduce/op_api/matmul_all_reduce_util.cpp:240-262) the quantised check also
  rejects a strided x2 on Ascend910B, as V3's host does from revision 9.0.0 on (revisions.V3_X2_CONTIGUITY_CHECKED).
  ASSUMPTION (named, not read at every revision): V1 follows V3's per-revision host behaviour at the revisions in
  between; only c29bc10 and master were read for V1.
The verdicts keep V3's rule ids (CANN-V3-Hnn): they are the shared rules, listed once, in v3_host.RULES.
"""

from __future__ import annotations

from typing import Mapping

from ...protocol import TensorArg
from . import revisions, v3_host

RULES = ()  # the rules are v3_host.RULES (drift.py lists every host module's RULES once)
ABSENT = ("pertokenScale", "commQuantScale1", "commQuantScale2")  # V3's arguments V1 passes as null


def check(op: str, tensors: Mapping[str, TensorArg | None], attrs: Mapping, world_size: int,
          revision: str = revisions.BASELINE):
    """The verdict of the published V1 host path at source `revision` for one rank's arguments (shape-only)."""
    t = {**tensors, **{name: None for name in ABSENT}}
    return v3_host.check(v3_host.OP, t, attrs, world_size, revision)


kernel_path = v3_host.kernel_path
