"""Host path of aclnnMatmulAllReduceAddRmsNorm and aclnnInplaceMatmulAllReduceAddRmsNorm, as published.

Model of what the open-sourced implementation does with one rank's arguments, written from reading
hicann/ops-transformer at revision c29bc10 (``model.REVISION``; every bare ``path:line`` below is in that
repository). The generated ``aclnnInner*`` layer and its runtime were read in:

* hicann/opbase@313b014 (``src/nnopbase/``; 313b014 is the first revision that publishes nnopbase,
  2025-12-17, the nearest to c29bc10), cited as ``opbase@313b014 path:line``;
* the aclnn code generator ``tools/build/opbuild/op_aclnn_generator.cpp`` in mirror-cann/asc-devkit@78d7801
  (2026-04-21, the first revision that publishes it; hicann/asc-devkit could not be fetched here, the mirror
  carries the same history), cited as ``asc-devkit@78d7801 path:line``.

How a call flows (facts, in the implementation's order):

1. op_api (``aclnn_matmul_all_reduce_add_rms_norm.cpp``; the inplace entry only forwards with ``y = residual``,
   ``mc2/inplace_matmul_all_reduce_add_rms_norm/op_host/op_api/aclnn_inplace_matmul_all_reduce_add_rms_norm.cpp:43``):
   null x1/x2/residual/gamma, a light shape check, the empty-tensor short-cut, streamMode.
2. generated aclnnInner GetWorkspaceSize: null checks of the required outputs, epsilon cast to float, then
   ``NnopbaseRunForWorkspace``, which looks the kernel up by dtype/format and RUNS TILING - still inside
   GetWorkspaceSize (opbase@313b014 src/nnopbase/individual_op/executor/indv_executor.cpp:937-946 ->
   :920 -> :801 -> :711-715, tiling failure = ACLNN_ERR_INNER_TILING_ERROR 561002).
3. Launch (aclnnMatmulAllReduceAddRmsNorm): a workspace size of 0 (empty short-cut) returns 0 without running;
   otherwise an uncontiguous input that the generated code did not convert fails with ACLNN_ERR_INNER (561000).

Statements of shared/docs/device-facts.md sections 3 and 10 (and of the brief) found WRONG or incomplete:

* Tiling failures are NOT a launch-phase outcome: tiling runs inside GetWorkspaceSize (see 2.), so every
  tiling check answers 561002 from GetWorkspaceSize (phase WORKSPACE here). Only the uncontiguous-input
  failure (561000) and nothing else is a launch-phase rejection.
* The empty-tensor short-cut also skips the generated null checks of y and normOut (a null y or normOut with
  an empty x1/x2/residual/gamma returns 0), not only the attribute checks.
* The light shape check also rejects a 0-D x1, x2 or residual (matmul_all_reduce_arn_util.cpp:67).
* A non-contiguous bias fails at launch with 561000 like x1/residual/gamma (bias is an ordinary input).
* For a 3-D x1 only the product b*s is compared with residual's b*s (mc2/common/src/context_transfer.cpp:167):
  x1 (2, 6, k) with residual (3, 4, n) is accepted.
* AddRmsNorm mode selection has a fifth mode, MultiN, for float16 only (common_add_rms_norm_tiling.cpp:234);
  "tile rows" is the matmul tile's M (tileMValue_/tailMValue_, matmul_all_reduce_add_rms_norm_tiling.cpp:65,84),
  compared with the FULL vector-core count (useHalfBlockDim is false, matmul_all_reduce_add_rms_norm_tiling.cpp:75).
* The dtype/format lookup is against the compiled kernel list (binary.json) first and the operator
  definition's list second (opbase@313b014 indv_executor.cpp:777-779, :808-817); for this operator the two
  lists hold the same eight combinations of the required tensors, so the outcome is as device-facts says.
* Bias dtype and format take no part in that lookup (only required tensors form the key,
  opbase@313b014 src/nnopbase/individual_op/executor/indv_executor_ext.cpp:1250,1263); a bias dtype other than
  x1's is rejected by tiling (561002), a FRACTAL_NZ bias is not checked anywhere.

Everything else of sections 3 and 10 checked out (order, k == 0 -> 161002, 561002 from tiling, strided x2 read
as contiguous, reduceOp on 3 characters, commTurn on 32 bits, epsilon as float, the bf16 RMS sources).
"""

from __future__ import annotations

import math

import numpy as np

from ...spec.model import INT32_MAX
from .model import LAUNCH, WORKSPACE, HostRule, HostVerdict, kernel_format, vendor_transposed

NULLPTR, INVALID, INNER, TILING = 161001, 161002, 561000, 561002

OP = "MatmulAllReduceAddRmsNorm"
INPLACE_OP = "InplaceMatmulAllReduceAddRmsNorm"

_API = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_api/aclnn_matmul_all_reduce_add_rms_norm.cpp"
_UTIL = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_api/matmul_all_reduce_arn_util.cpp"
_MAR = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp"
_T910 = "mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling_910.cpp"
_ARN = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/common_add_rms_norm_tiling.cpp"
_MRN = "mc2/matmul_all_reduce_add_rms_norm/op_host/op_tiling/matmul_all_reduce_add_rms_norm_tiling.cpp"
_CTX = "mc2/common/src/context_transfer.cpp"
_DEF = "mc2/matmul_all_reduce_add_rms_norm/op_host/matmul_all_reduce_add_rms_norm_def.cpp"
_OPBASE = "hicann/opbase@313b014 src/nnopbase/individual_op/executor/indv_executor.cpp"
_GEN = "mirror-cann/asc-devkit@78d7801 tools/build/opbuild/op_aclnn_generator.cpp"


def _rule(n, phase, status, source, summary):
    return HostRule(f"CANN-MARN-H{n:02d}", phase, status, source, summary)


RULES: tuple[HostRule, ...] = (
    # --- op_api: aclnnMatmulAllReduceAddRmsNormGetWorkspaceSize
    _rule(1, WORKSPACE, NULLPTR, f"{_API}:46",
          "x1, x2, residual or gamma is a null pointer (checked in that order, matmul_all_reduce_arn_util.cpp:49-56)"),
    _rule(2, WORKSPACE, INVALID, f"{_UTIL}:67", "x1, x2 or residual has no dimension (0-D)"),
    _rule(3, WORKSPACE, INVALID, f"{_UTIL}:71", "last dimension of x1 differs from the first dimension of x2"),
    _rule(4, WORKSPACE, INVALID, f"{_UTIL}:78", "last dimension of residual differs from the last dimension of x2"),
    _rule(5, WORKSPACE, INVALID, f"{_API}:55",
          "one of x1, x2, residual, gamma is empty and x1's last dimension (k) is 0"),
    _rule(6, WORKSPACE, 0, f"{_API}:48",
          "one of x1, x2, residual, gamma is empty (k != 0): returns 0 with workspace 0 (:64-66) before every later "
          "check; the launch call then returns 0 without running anything (:81-84)"),
    _rule(7, WORKSPACE, INVALID, f"{_API}:69", "streamMode is not 1"),
    # --- generated aclnnInnerMatmulAllReduceAddRmsNormGetWorkspaceSize
    _rule(8, WORKSPACE, NULLPTR, f"{_GEN}:903",
          "generated null check of the required outputs y, normOut (the inplace entry passes residual as y)"),
    _rule(9, WORKSPACE, INVALID, f"{_OPBASE}:777",
          "dtype+format of the required tensors (x1, x2, residual, gamma, y, normOut) match no compiled kernel "
          "(binary.json) nor any column of the definition (" + _DEF + ":23-134): ParamCheck fails, :813-817, "
          "returns 161002 at :187; formats NCHW-like count as ND, FRACTAL_NZ does not"),
    # --- tiling (runs inside GetWorkspaceSize), template order quant(0), weight-quant(1), float(2)
    _rule(10, WORKSPACE, TILING, f"{_MAR}:997", "residual (used as the matmul output) is not 2-D or 3-D"),
    _rule(11, WORKSPACE, TILING, f"{_MAR}:438",
          "rank size of the group not in {1, 2, 4, 8} for Ascend910B (mc2/common/inc/tiling/mc2_tiling_utils.h:176)"),
    _rule(12, WORKSPACE, TILING, f"{_MAR}:627", "x1 is not 2-D or 3-D"),
    _rule(13, WORKSPACE, TILING, f"{_MAR}:634", "bias is given and is not 1-D"),
    _rule(14, WORKSPACE, TILING, f"{_MAR}:645", "bias length differs from n (residual's last dimension)"),
    _rule(15, WORKSPACE, TILING, f"{_MAR}:655", "the first 3 characters of reduceOp are not \"sum\" (strncmp)"),
    _rule(16, WORKSPACE, TILING, f"{_MAR}:660",
          "commTurn != 0, read as a 32-bit int from the int64 attribute (" + _CTX + ":34): only the low 32 bits count"),
    _rule(17, WORKSPACE, TILING, f"{_T910}:163", "x2 is not 2-D"),
    _rule(18, WORKSPACE, TILING, f"{_T910}:173", "x1 dtype is not float16 or bfloat16"),
    _rule(19, WORKSPACE, TILING, f"{_T910}:182", "x2 dtype differs from x1 dtype"),
    _rule(20, WORKSPACE, TILING, f"{_T910}:192", "bias dtype differs from x1 dtype"),
    _rule(21, WORKSPACE, TILING, f"{_T910}:207",
          "x2 storage format is FRACTAL_NZ (unreachable through this API: rule H09 rejects an NZ x2 first)"),
    _rule(22, WORKSPACE, TILING, f"{_T910}:141", "m (x1 rows: m, or b*s for 3-D x1) > INT32_MAX"),
    _rule(23, WORKSPACE, TILING, f"{_T910}:146", "k (x1's last dimension) > INT32_MAX"),
    _rule(24, WORKSPACE, TILING, f"{_T910}:151", "n (residual's last dimension) > INT32_MAX"),
    _rule(25, WORKSPACE, TILING, f"{_ARN}:98", "gamma dtype differs from residual dtype "
          "(unreachable: the H09 kernel lookup over every tensor's dtype rejects a mix first)"),
    _rule(26, WORKSPACE, TILING, f"{_ARN}:103", "normOut dtype differs from residual dtype "
          "(unreachable: the H09 kernel lookup over every tensor's dtype rejects a mix first)"),
    _rule(27, WORKSPACE, TILING, f"{_ARN}:108", "y dtype differs from residual dtype "
          "(unreachable: the H09 kernel lookup over every tensor's dtype rejects a mix first)"),
    _rule(28, WORKSPACE, TILING, f"{_ARN}:120", "residual is not 3-D"),
    _rule(29, WORKSPACE, TILING, f"{_ARN}:127", "gamma is not 1-D"),
    _rule(30, WORKSPACE, TILING, f"{_ARN}:134", "normOut is not 3-D"),
    _rule(31, WORKSPACE, TILING, f"{_ARN}:143", "y is not 3-D"),
    _rule(32, WORKSPACE, TILING, f"{_ARN}:150", "gamma length differs from residual's last dimension"),
    _rule(33, WORKSPACE, TILING, f"{_ARN}:159", "normOut shape differs from residual shape"),
    _rule(34, WORKSPACE, TILING, f"{_ARN}:167", "y shape differs from residual shape"),
    _rule(35, WORKSPACE, TILING, f"{_ARN}:193",
          "float(epsilon) <= 0 or >= 1; the double was cast to float by the generated code (" + _GEN + ":674), "
          "so NaN passes and doubles that round to 0 or 1 fail"),
    _rule(36, WORKSPACE, TILING, f"{_CTX}:167", "b*s of x1 (m for 2-D x1) differs from residual's b*s (dims 0*1)"),
    _rule(37, WORKSPACE, TILING, f"{_MRN}:49",
          "x1 dtype differs from residual dtype (unreachable through this API: H09/H19 leave no such case)"),
    # --- launch (aclnnMatmulAllReduceAddRmsNorm)
    _rule(38, LAUNCH, INNER, f"{_OPBASE}:372",
          "an ordinary input (x1, bias, residual, gamma; x2 is IgnoreContiguous, " + _DEF + ":45) is not "
          "contiguous: recorded at GetWorkspaceSize, never converted (no AutoContiguous), the launch fails "
          "(:373 -> :102 ACLNN_ERR_INNER; the op_api maps any inner failure to 561000, " + _API + ":88-90)"),
)

_BY_ID = {r.id: r for r in RULES}

# Required-tensor combinations (x1, x2, residual, gamma, y, normOut) of the definition, all ND
# (matmul_all_reduce_add_rms_norm_def.cpp:23-134, columns 0..8; columns 2 and 8 coincide here).
_F16, _BF16 = "float16", "bfloat16"
KERNEL_COMBOS = frozenset(
    (x1, x2, o, o, o, o)
    for x1, x2, o in (
        (_F16, _F16, _F16), (_BF16, _BF16, _BF16),
        (_F16, "int8", _F16), (_BF16, "int8", _BF16),
        (_F16, "int4", _F16), (_BF16, "int4", _BF16),
        ("int8", "int8", _F16), ("int8", "int8", _BF16),
    )
)
VALID_RANK_SIZES = (1, 2, 4, 8)


def _fail(n: int, message: str) -> HostVerdict:
    r = _BY_ID[f"CANN-MARN-H{n:02d}"]
    return HostVerdict(status=r.status, phase=r.phase, rule=r.id, message=f"{r.id}: {message}")


def _as_float32(value: float) -> float:
    with np.errstate(over="ignore"):
        return float(np.float32(value))


def _low32(value: int) -> int:
    v = int(value) & 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _fmt(t) -> str:
    return kernel_format(t)


def check(op: str, tensors: dict, attrs: dict, world_size: int, revision: str = "c29bc10") -> HostVerdict:
    """What GetWorkspaceSize and the launch answer for one rank (never touches tensor data). Every modelled source
    revision behaves alike here (sim/cann/revisions.py: no behaviour change of this operator's host path; its
    rules only moved, and the checks later revisions added decide no input this API can pass): `revision` is
    accepted for the interface's sake."""
    inplace = op == INPLACE_OP
    if not inplace and op != OP:
        raise ValueError(f"unknown operator {op!r}")
    t = dict(tensors)
    x1, x2, bias, res, gamma = (t.get(k) for k in ("x1", "x2", "bias", "residual", "gamma"))
    y = res if inplace else t.get("y")  # the inplace entry passes residual as y
    norm = t.get("normOut")

    for name, v in (("x1", x1), ("x2", x2), ("residual", res), ("gamma", gamma)):
        if v is None:
            return _fail(1, f"{name} is null")
    for name, v in (("x1", x1), ("x2", x2), ("residual", res)):
        if len(v.shape) < 1:
            return _fail(2, f"{name} is 0-D")
    if x1.shape[-1] != x2.shape[0]:
        return _fail(3, f"x1 last dim {x1.shape[-1]} != x2 first dim {x2.shape[0]}")
    if res.shape[-1] != x2.shape[-1]:
        return _fail(4, f"residual last dim {res.shape[-1]} != x2 last dim {x2.shape[-1]}")
    if any(v.numel == 0 for v in (x1, x2, res, gamma)):
        if x1.shape[-1] == 0:
            return _fail(5, "k is 0")
        return HostVerdict(status=0, launched=False,
                           message="CANN-MARN-H06: empty tensor short-cut, workspace 0, nothing launched")
    if attrs.get("streamMode") != 1:
        return _fail(7, f"streamMode {attrs.get('streamMode')!r} is not 1")
    for name, v in (("y", y), ("normOut", norm)):
        if v is None:
            return _fail(8, f"{name} is null")

    required = (x1, x2, res, gamma, y, norm)
    if tuple(v.dtype for v in required) not in KERNEL_COMBOS or any(_fmt(v) != "ND" for v in required):
        return _fail(9, "dtype/format of (x1, x2, residual, gamma, y, normOut) = "
                        f"{[(v.dtype, v.format) for v in required]} has no kernel")

    # tiling, inside GetWorkspaceSize
    if len(res.shape) not in (2, 3):
        return _fail(10, f"residual is {len(res.shape)}-D")
    if world_size not in VALID_RANK_SIZES:
        return _fail(11, f"rank size {world_size} not in {VALID_RANK_SIZES}")
    if len(x1.shape) not in (2, 3):
        return _fail(12, f"x1 is {len(x1.shape)}-D")
    n = res.shape[-1]
    if bias is not None:
        if len(bias.shape) != 1:
            return _fail(13, f"bias is {len(bias.shape)}-D")
        if bias.shape[0] != n:
            return _fail(14, f"bias length {bias.shape[0]} != n {n}")
    reduce_op = attrs.get("reduceOp")
    if reduce_op is None:
        reduce_op = "sum"  # optional string attribute: the generated code substitutes the default (_GEN:599)
    if str(reduce_op)[:3] != "sum":
        return _fail(15, f"reduceOp {reduce_op!r} does not start with 'sum'")
    comm_turn = _low32(attrs.get("commTurn", 0))
    if comm_turn != 0:
        return _fail(16, f"commTurn read as 32 bits is {comm_turn}")
    if len(x2.shape) != 2:
        return _fail(17, f"x2 is {len(x2.shape)}-D")
    if x1.dtype not in (_F16, _BF16):
        return _fail(18, f"x1 dtype {x1.dtype}")
    if x2.dtype != x1.dtype:
        return _fail(19, f"x2 dtype {x2.dtype} != x1 dtype {x1.dtype}")
    if bias is not None and bias.dtype != x1.dtype:
        return _fail(20, f"bias dtype {bias.dtype} != x1 dtype {x1.dtype}")
    if x2.format == "FRACTAL_NZ":  # unreachable: H09 fired
        return _fail(21, "x2 is FRACTAL_NZ")
    m = x1.shape[0] * (x1.shape[1] if len(x1.shape) == 3 else 1)
    k = x1.shape[-1]
    for rule, name, value in ((22, "m", m), (23, "k", k), (24, "n", n)):
        if value > INT32_MAX:
            return _fail(rule, f"{name} = {value} > INT32_MAX")
    for rule, name, v in ((25, "gamma", gamma), (26, "normOut", norm), (27, "y", y)):
        if v.dtype != res.dtype:
            return _fail(rule, f"{name} dtype {v.dtype} != residual dtype {res.dtype}")
    for rule, name, v, dims in ((28, "residual", res, 3), (29, "gamma", gamma, 1), (30, "normOut", norm, 3),
                                (31, "y", y, 3)):
        if len(v.shape) != dims:
            return _fail(rule, f"{name} is {len(v.shape)}-D, expected {dims}-D")
    if gamma.shape[0] != res.shape[2]:
        return _fail(32, f"gamma length {gamma.shape[0]} != residual n {res.shape[2]}")
    if tuple(norm.shape) != tuple(res.shape):
        return _fail(33, f"normOut shape {tuple(norm.shape)} != residual shape {tuple(res.shape)}")
    if tuple(y.shape) != tuple(res.shape):
        return _fail(34, f"y shape {tuple(y.shape)} != residual shape {tuple(res.shape)}")
    eps = attrs.get("epsilon")
    eps32 = _as_float32(eps)
    if eps32 <= 0 or eps32 >= 1:  # NaN compares false both ways and passes
        return _fail(35, f"epsilon {eps!r} is {eps32!r} as float, not in (0, 1)")
    if m != res.shape[0] * res.shape[1]:
        return _fail(36, f"x1 b*s {m} != residual b*s {res.shape[0] * res.shape[1]}")
    if x1.dtype != res.dtype:  # unreachable
        return _fail(37, f"x1 dtype {x1.dtype} != residual dtype {res.dtype}")

    # launch
    for name, v in (("x1", x1), ("bias", bias), ("residual", res), ("gamma", gamma)):
        if v is not None and not v.is_contiguous:
            return _fail(38, f"{name} strides {tuple(v.strides)} are not contiguous")
    x2_as_contiguous = (not x2.is_contiguous) and not vendor_transposed(x2)
    return HostVerdict(status=0, x2_read_contiguous=x2_as_contiguous,
                       message="x2 strided: read as if contiguous" if x2_as_contiguous else "")


# --- AddRmsNorm mode selection (common_add_rms_norm_tiling.cpp) ---------------------------------------------

UB_FACTOR_16BIT = 12288  # common_add_rms_norm_tiling.cpp:22
UB_FACTOR_32BIT = 10240  # common_add_rms_norm_tiling.cpp:23
BLOCK_ALIGN = 16  # common_add_rms_norm_tiling.cpp:26
SMALL_REDUCE = 2000  # common_add_rms_norm_tiling.cpp:32
A2_UB_BYTES = 196608  # UB size of an Atlas A2 AI core (platform data, not in the source read; UNCONFIRMED)


def addrmsnorm_mode(rows: int, n: int, dtype: str, *, vector_cores: int, ub_size: int = A2_UB_BYTES) -> str:
    """Mode the tiling picks: "SplitD", "SingleN", "MergeN", "MultiN" (float16 only) or "Normal".

    rows: the rows of ONE communication tile, i.e. the matmul tile's M (tileMValue_, and separately the tail
    tile's tailMValue_; matmul_all_reduce_add_rms_norm_tiling.cpp:65, :84), not b*s: Tiling4AddRmsNorm
    multiplies all dims of the (tile M, n) shape but the last (common_add_rms_norm_tiling.cpp:76-77, :279-281).
    n: gamma's element count (:271). dtype: the output dtype (residual's), :204.
    vector_cores: PlatformAscendC::GetCoreNumAiv() (:263), used whole because MatmulAllReduceAddRmsNorm passes
    useHalfBlockDim = false (matmul_all_reduce_add_rms_norm_tiling.cpp:75). For an Atlas A2 this is a platform
    value, not in the source: 48 on 910B1/B2, 40 on 910B3/B4 (twice the cube-core count; UNCONFIRMED here).
    ub_size only matters for the float16 MultiN/Normal split (:236-245).
    """
    if rows < 0 or n < 0 or vector_cores <= 0:
        raise ValueError("rows and n must be >= 0, vector_cores > 0")
    ub_factor = UB_FACTOR_32BIT if dtype == "float32" else UB_FACTOR_16BIT  # :207-211
    n_align = math.ceil(n / BLOCK_ALIGN) * BLOCK_ALIGN  # :217
    block_factor = math.ceil(rows / vector_cores)  # :282-283 (rows per core)
    if n > ub_factor:  # :222
        return "SplitD"
    if block_factor == 1:  # :227, i.e. 1 <= rows <= vector_cores
        return "SingleN"
    if n_align <= SMALL_REDUCE:  # :229
        return "MergeN"
    if dtype == "float16" and n == n_align:  # :234
        row_factor = (ub_size - 1024 - 256 - n_align * 2) // (n_align * 16 + 64)  # :239
        return "MultiN" if row_factor > 0 else "Normal"  # :241-243
    return "Normal"


# (value feeding the mean square, value feeding the numerator y * rstd) for bfloat16, per kernel:
# "fp32_sum" = fp32(mm) + fp32(residual) before rounding; "rounded_y" = that sum rounded to bfloat16 (the y output).
RMS_SOURCE: dict[str, tuple[str, str]] = {
    # add_rms_norm_split_d.h:148-155 (sum in fp32, y rounded), :187 (square of the fp32 sum),
    # :231-236 (second pass reloads y from global memory for the numerator)
    "SplitD": ("fp32_sum", "rounded_y"),
    # add_rms_norm_single_n.h:163-165 (sum, round), :183 (recast from the rounded y), used for both
    "SingleN": ("rounded_y", "rounded_y"),
    # add_rms_norm_merge_n.h:138-143 (sum, round), :190 (recast from the rounded y), :224 reuses it
    "MergeN": ("rounded_y", "rounded_y"),
    # add_rms_norm.h:139-144 (sum in fp32 kept in the fp32 buffer, y rounded), :169 and :196 use the fp32 sum
    "Normal": ("fp32_sum", "fp32_sum"),
}
"""float16 has no fp32 sum: y = x + residual is added in half (add_rms_norm.h:132, add_rms_norm_split_d.h:139,
add_rms_norm_single_n.h:87, add_rms_norm_merge_n.h:134, add_rms_norm_multi_n.h:144) and the fp32 copy is cast
from that rounded y, so every float16 mode (including MultiN, which exists for float16 only,
add_rms_norm_kernel.h:133-134) takes ("rounded_y", "rounded_y"); see RMS_SOURCE_FP16."""

RMS_SOURCE_FP16: dict[str, tuple[str, str]] = {
    mode: ("rounded_y", "rounded_y") for mode in ("SplitD", "SingleN", "MergeN", "MultiN", "Normal")
}

# the mode's (mean-square source, numerator source) as the contract simulator's path names
_PATH_OF_SOURCES = {("fp32_sum", "fp32_sum"): "fp32_sum", ("rounded_y", "rounded_y"): "rounded_y",
                    ("fp32_sum", "rounded_y"): "split_d"}


def rms_path(m: int, n: int, dtype: str, vector_cores: int) -> str:
    """The contract simulator's bf16_rms_source the kernel takes for (m, n) (fp16: always the rounded y)."""
    mode = addrmsnorm_mode(m, n, dtype, vector_cores=vector_cores)
    if dtype != "bfloat16":
        return "rounded_y"
    return _PATH_OF_SOURCES[RMS_SOURCE[mode]]


def kernel_path(ranks: list[dict], vector_cores: int) -> str:
    """The numeric path (SimOptions.bf16_rms_source) of the kernel the tiling picks for these arguments."""
    res = ranks[0]["residual"]
    m = int(np.prod(res.shape[:-1])) if res.shape else 0
    return rms_path(m, res.shape[-1], res.dtype, vector_cores)
