"""Host path of aclnnMatmulAllReduce, as published: the sim-cann host model (the record's `host_model`).

Written from reading hicann/ops-transformer at c29bc10 (``model.REVISION``; every bare ``path:line`` below is in that
repository), with the runtime facts MatmulAllReduceAddRmsNorm's model already read (sim/cann/marn_host.py: the
generated aclnnInner layer and opbase's executor, cited there).

How a call flows (facts, in the implementation's order):

1. op_api ``aclnnMatmulAllReduceGetWorkspaceSize`` (``_API``:51-100) runs MatmulAllReduceCheckParams
   (``_UTIL``:62-90) with x3 = NULL: null x1/x2/output (161001, :69, :93-98); dtypes of x1, x2, output and a given bias
   in {FLOAT16, BFLOAT16} and equal to x1's (161002, :72, :101-130); reduceOp exactly "sum" by strcmp and streamMode 1
   (161002, :75, :133-144); x2 not FRACTAL_NZ (161002, :79, :50-59); x2 2-D, x1 2- to 3-D, x1's last dimension equal
   to x2's first, output shape x1's with the last replaced by x2's second, a given bias 1-D of length n (161002, :83,
   :146-185). Then x1 of 1..3 dimensions again (561000, ``_API``:59-62, unreachable after :153-154). x2's transpose
   is IsTransposeLastTwoDims (``_API``:66; model.vendor_transposed).
2. The inner call aclnnInnerMatmulAllReduceGetWorkspaceSize (``_API``:76-78) is the MatmulAllReduce operator the
   AddRmsNorm fusion also runs: the kernel lookup by dtype and format of the required tensors (opbase, see
   marn_host H09; formats NCHW-like count as ND) and the tiling, inside GetWorkspaceSize: rank size in {1, 2, 4, 8}
   (``_MAR``:438), commTurn read as 32 bits (``_MAR``:660, mc2/common/src/context_transfer.cpp:34), m, k, n up to
   INT32_MAX (``_T910``:141-151).
3. Launch: x2 is IgnoreContiguous (mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:57), x1 and bias are not:
   an uncontiguous x1 or bias fails at launch with 561000 (opbase's executor as marn_host H38; the op_api maps any
   inner failure to 561000, ``_API``:107-112). A strided x2 that is not the transpose is read as if contiguous.

Revisions (sim/cann/revisions.py): every rule was located at each modelled revision of mirror-cann/ops-transformer
(conformance/data/sim_cann_locations/mar.json). Two behaviour changes, both from 9.0.0 and 9.1.0-beta.1 on (not at
9.0.0-beta.2 or earlier), are this module's `CHANGES`, switched by `revision`:
- MAR_X2_CONTIGUITY_CHECKED: MatmulAllReduceCheckParams, which this API calls, gained step 6: on Ascend910B, unless
  the call is empty (x1's dim 1 or one of x2's dims is 0), x2 must be contiguous or the last-two-axes transpose, else
  161002 (mirror-cann/ops-transformer@d28d8f9 mc2/matmul_all_reduce/op_api/matmul_all_reduce_util.cpp:121-125, the
  helpers :65-96; at master 3a280bc the same file :116-120, :61-91). It runs after the shape checks (H05-H08) and
  before the inner call: rule H16. A strided x2 that c29bc10 read as contiguous is rejected there.
- MAR_INPUTS_MADE_CONTIGUOUS: the op def's Ascend910B configuration declares x1 and bias AutoContiguous
  (d28d8f9 mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:496,532; 3a280bc the same file :491,518; x2 stays
  IgnoreContiguous, :514 / :505): the runtime copies a non-contiguous x1 or bias and the call succeeds; H15 no
  longer fails (the same declaration V3's model reads, revisions.V3_INPUTS_MADE_CONTIGUOUS).
Unchanged at every revision (mar.json): the op_api's checks H01-H08 (same order, same conditions; only the log
messages differ), the kernel lookup's fp16/bf16 ND combinations of the Ascend910B configuration (H09), the rank-size
set for Ascend910B ({1, 2, 4, 8}, 3a280bc mc2/common/op_host/op_tiling/mc2_tiling_utils.cpp:232), commTurn and the
INT32_MAX bounds (H10-H14, the conditions MatmulAllReduceAddRmsNorm's model locates, CANN-MARN-H11/H16/H22-H24).
Checks a revision added that no input of this API decides are `NEW_RULES`. Empty tensors are not modelled (no case
asks for one, MAR-AMB-004).
"""

from __future__ import annotations

from ...spec.model import INT32_MAX
from . import revisions
from .model import LAUNCH, WORKSPACE, HostRule, HostVerdict, kernel_format, vendor_transposed
from .revisions import CONTIGUITY_REVISIONS, BehaviourChange

NULLPTR, INVALID, INNER, TILING = 161001, 161002, 561000, 561002

_API = "mc2/matmul_all_reduce/op_host/op_api/aclnn_matmul_all_reduce.cpp"
_UTIL = "mc2/matmul_all_reduce/op_host/op_api/matmul_all_reduce_util.cpp"
_MAR = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_T910 = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_910.cpp"
_OPBASE = "hicann/opbase@313b014 src/nnopbase/individual_op/executor/indv_executor.cpp"

FLOATS = ("float16", "bfloat16")
VALID_RANK_SIZES = (1, 2, 4, 8)


def _rule(n, phase, status, source, summary):
    return HostRule(f"CANN-MAR-H{n:02d}", phase, status, source, summary)


RULES: tuple[HostRule, ...] = (
    _rule(1, WORKSPACE, NULLPTR, f"{_UTIL}:69", "x1, x2 or output is a null pointer (checked in that order, :93-98)"),
    _rule(2, WORKSPACE, INVALID, f"{_UTIL}:72", "x1, x2, output or a given bias has a dtype outside FLOAT16/BFLOAT16, "
          "or x2, output or bias differs from x1's (:101-130)"),
    _rule(3, WORKSPACE, INVALID, f"{_UTIL}:75", "reduceOp is not exactly \"sum\" (strcmp) or streamMode is not 1 "
          "(:133-144)"),
    _rule(4, WORKSPACE, INVALID, f"{_UTIL}:79", "x2's format is FRACTAL_NZ (:50-59)"),
    _rule(5, WORKSPACE, INVALID, f"{_UTIL}:152", "x2 is not 2-D, or x1 is not 2- or 3-D (:152-154)"),
    _rule(6, WORKSPACE, INVALID, f"{_UTIL}:160", "x1's last dimension differs from x2's first"),
    _rule(7, WORKSPACE, INVALID, f"{_UTIL}:171", "output's shape is not x1's with the last dimension x2's second"),
    _rule(8, WORKSPACE, INVALID, f"{_UTIL}:179", "a given bias is not 1-D of length n (:178-183)"),
    _rule(9, WORKSPACE, INVALID, f"{_OPBASE}:777",
          "dtype+format of the required tensors (x1, x2, output) match no kernel: a format other than ND-like"),
    _rule(10, WORKSPACE, TILING, f"{_MAR}:438", "rank size of the group not in {1, 2, 4, 8}"),
    _rule(11, WORKSPACE, TILING, f"{_MAR}:660", "commTurn != 0, read as a 32-bit int: only the low 32 bits count"),
    _rule(12, WORKSPACE, TILING, f"{_T910}:141", "m (rows of x1) > INT32_MAX"),
    _rule(13, WORKSPACE, TILING, f"{_T910}:146", "k > INT32_MAX"),
    _rule(14, WORKSPACE, TILING, f"{_T910}:151", "n > INT32_MAX"),
    _rule(15, LAUNCH, INNER, f"{_OPBASE}:372",
          "x1 or a given bias is not contiguous (x2 is IgnoreContiguous, "
          "mc2/matmul_all_reduce/op_host/matmul_all_reduce_def.cpp:57): the launch fails, mapped to 561000 (" + _API
          + ":107-112)"),
    # --- added by a later revision (CHANGES below): cited at 9.0.0; every later revision's location is
    # revisions.new_rule_location's (NEW-MAR-X2-CONTIGUOUS) ---
    HostRule("CANN-MAR-H16", WORKSPACE, INVALID,
             "mirror-cann/ops-transformer@d28d8f9 mc2/matmul_all_reduce/op_api/matmul_all_reduce_util.cpp:124",
             "x2 must be contiguous or the last-two-axes transpose unless the call is empty (checked after the shapes, "
             "before the inner call): the revisions with MAR_X2_CONTIGUITY_CHECKED"),
)
NEW_RULE_OF = {"CANN-MAR-H16": "NEW-MAR-X2-CONTIGUOUS"}  # the reading's id of a rule a later revision added

# Both read at every modelled revision (mar.json): present at 9.0.0 (d28d8f9) and 9.1.0-beta.1 (eb4e540) and after,
# absent at 9.0.0-beta.2 (49e3788) and before.
MAR_X2_CONTIGUITY_CHECKED = "mar-x2-contiguity-checked"
MAR_INPUTS_MADE_CONTIGUOUS = "mar-inputs-made-contiguous"

CHANGES: tuple[BehaviourChange, ...] = (
    BehaviourChange(MAR_X2_CONTIGUITY_CHECKED, "mar", (),
                    "GetWorkspaceSize rejects (161002) an x2 that is neither contiguous nor the last-two-axes "
                    "transpose, for non-empty inputs, after the shape checks; before, a strided x2 was accepted and "
                    "read as if contiguous (DEV-MAR-002)", CONTIGUITY_REVISIONS, new_rule="NEW-MAR-X2-CONTIGUOUS"),
    BehaviourChange(MAR_INPUTS_MADE_CONTIGUOUS, "mar", ("CANN-MAR-H15",),
                    "x1 and bias are declared auto-contiguous for Ascend910B: the runtime copies a non-contiguous one "
                    "and the call succeeds with the documented result; before, the launch failed (561000)",
                    CONTIGUITY_REVISIONS),
)

# Checks a revision added on this API's path that no input of it decides (locations: mar.json "new_rules").
NEW_RULES: dict[str, str] = {
    "NEW-MAR-X2-CONTIGUOUS": "GetWorkspaceSize: x2 contiguous or the last-two-axes transpose, unless the call is "
                             "empty (161002); modelled (MAR_X2_CONTIGUITY_CHECKED, rule CANN-MAR-H16)",
    "NEW-MAR-YDTYPE": "tiling: the output dtype must be float16/bfloat16; unreachable (CANN-MAR-H02 rejects first)",
    "NEW-MAR-A16W16-BIAS": "tiling: bias rank and length; unreachable (CANN-MAR-H08 rejects a wrong bias on the host "
                           "first)",
    "NEW-MAR-COMMMODE": "tiling: the comm_mode attribute must be null or ai_cpu; unreachable (this API passes ai_cpu "
                        "where the check exists: 06be6c2 / 3a280bc mc2/matmul_all_reduce/op_api/"
                        "aclnn_matmul_all_reduce.cpp:58 / :59)",
}

_BY_ID = {r.id: r for r in RULES}


def _fail(n: int, message: str) -> HostVerdict:
    r = _BY_ID[f"CANN-MAR-H{n:02d}"]
    return HostVerdict(status=r.status, phase=r.phase, rule=r.id, message=f"{r.id}: {message}", launched=False)


def _low32(value: int) -> int:
    v = int(value) & 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _x2_layout_rejected(x1, x2) -> bool:
    """MAR_X2_CONTIGUITY_CHECKED: a non-empty call whose x2 is neither row-major (every stride the product of the later
    dims, mirror-cann/ops-transformer@d28d8f9 mc2/common/src/mc2_aclnn_util.cpp:39) nor the last-two-axes transpose.
    "Empty" is the source's test (d28d8f9 matmul_all_reduce_util.cpp:65-83): x1's dim 1, or one of x2's two dims,
    is 0."""
    empty = (len(x1.shape) > 1 and x1.shape[1] == 0) or 0 in tuple(x2.shape)[-2:]
    row_major = tuple(x2.strides) == type(x2).contiguous_strides(x2.shape)
    return not empty and not (row_major or vendor_transposed(x2))


def check(op: str, tensors: dict, attrs: dict, world_size: int, revision: str = revisions.BASELINE) -> HostVerdict:
    """What GetWorkspaceSize and the launch answer for one rank at source `revision` (never touches tensor data)."""
    t = dict(tensors)
    x1, x2, bias, out = (t.get(k) for k in ("x1", "x2", "bias", "output"))
    for name, v in (("x1", x1), ("x2", x2), ("output", out)):
        if v is None:
            return _fail(1, f"{name} is null")
    for name, v in (("x1", x1), ("x2", x2), ("output", out), ("bias", bias)):
        if v is not None and v.dtype not in FLOATS:
            return _fail(2, f"{name} dtype {v.dtype}")
    for name, v in (("x2", x2), ("output", out), ("bias", bias)):
        if v is not None and v.dtype != x1.dtype:
            return _fail(2, f"{name} dtype {v.dtype} != x1 dtype {x1.dtype}")
    if attrs.get("reduceOp") != "sum" or attrs.get("streamMode") != 1:
        return _fail(3, f"reduceOp {attrs.get('reduceOp')!r}, streamMode {attrs.get('streamMode')!r}")
    if x2.format == "FRACTAL_NZ":
        return _fail(4, "x2 is FRACTAL_NZ")
    if len(x2.shape) != 2 or len(x1.shape) not in (2, 3):
        return _fail(5, f"x1 {len(x1.shape)}-D, x2 {len(x2.shape)}-D")
    if x1.shape[-1] != x2.shape[0]:
        return _fail(6, f"x1 last dim {x1.shape[-1]} != x2 first dim {x2.shape[0]}")
    n = x2.shape[1]
    if tuple(out.shape) != tuple(x1.shape[:-1]) + (n,):
        return _fail(7, f"output shape {tuple(out.shape)}")
    if bias is not None and tuple(bias.shape) != (n,):
        return _fail(8, f"bias shape {tuple(bias.shape)}, n = {n}")
    if revisions.has(revision, MAR_X2_CONTIGUITY_CHECKED) and _x2_layout_rejected(x1, x2):
        return _fail(16, f"x2 strides {tuple(x2.strides)}: neither contiguous nor the last-two-axes transpose")
    for name, v in (("x1", x1), ("x2", x2), ("output", out)):
        if kernel_format(v) != "ND":  # ND-like base formats are stored as ND before the lookup
            return _fail(9, f"{name} format {v.format}")
    if world_size not in VALID_RANK_SIZES:
        return _fail(10, f"rank size {world_size}")
    if _low32(attrs.get("commTurn", 0)) != 0:
        return _fail(11, f"commTurn read as 32 bits is {_low32(attrs.get('commTurn', 0))}")
    m = x1.shape[0] * (x1.shape[1] if len(x1.shape) == 3 else 1)
    for rule, name, value in ((12, "m", m), (13, "k", x1.shape[-1]), (14, "n", n)):
        if value > INT32_MAX:
            return _fail(rule, f"{name} = {value} > INT32_MAX")
    made_contiguous = revisions.has(revision, MAR_INPUTS_MADE_CONTIGUOUS)  # by the runtime, before the launch
    for name, v in (("x1", x1), ("bias", bias)):
        if v is not None and not v.is_contiguous and not made_contiguous:
            return _fail(15, f"{name} strides {tuple(v.strides)} are not contiguous")
    x2_as_contiguous = (not x2.is_contiguous) and not vendor_transposed(x2)
    return HostVerdict(status=0, x2_read_contiguous=x2_as_contiguous,
                       message="x2 strided: read as if contiguous" if x2_as_contiguous else "")


def kernel_path(ranks: list[dict], vector_cores: int) -> str:
    """The record's numeric-path option is the all-reduce accumulation, which HCCL decides and no published source
    read here states (MAR-AMB-003): the simulator's default, fp32."""
    return "float32"
