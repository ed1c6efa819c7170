"""MatmulAllReduce's path model (sim/cann/paths.py's vocabulary): the record's `path_branches` and `path_decide`.

aclnnMatmulAllReduce runs the MatmulAllReduce operator that MatmulAllReduceAddRmsNorm's matmul half also runs: the
same communication cut (comm_tiling.py, mc2/matmul_all_reduce/op_host/op_tiling/matmul_all_reduce_tiling.cpp), the
same bias handling (matmul_all_reduce_tiling.cpp:466-467, matmul_all_reduce_base.h:83-95) and the same MatMulV3 base
blocks per turn (marn_paths.matmul_turn). Those decisions are declared once, by comm_tiling and marn_paths, and this
model reuses them by id. MARN's kernel-selection and x2-template decisions are read in its own kernel
(mm_allreduce_add_rms_norm_910_general.h) and are not reused; this operator's own decision is the x2 layout its
op_api detects (MAR-X2-LAYOUT). The record's `path_own_branches` ("MAR-") limits what the path design must reach with
this operator's cases: the shared decisions' sides are reached by the family's cases already.
"""

from __future__ import annotations

from . import comm_tiling, marn_paths
from .model import vendor_transposed
from .paths import Branch, PathQuery, Side

_API = "mc2/matmul_all_reduce/op_host/op_api/aclnn_matmul_all_reduce.cpp"
_REUSED_EXCLUDED = ("MARN-CTX", "MARN-MM-KERNEL", "MARN-MM-X2-LAYOUT")  # MARN's own kernel / argument list
_SHARED = tuple(b for b in marn_paths.MARN_BRANCHES if b.id.startswith("MARN-MM-") and b.id not in _REUSED_EXCLUDED)

MAR_BRANCHES: tuple[Branch, ...] = (
    Branch("MAR-X2-LAYOUT", "host tiling", "whether the op_api passes transposeX2: IsTransposeLastTwoDims(x2)",
           (Side("plain", "x2 is a contiguous (k, n) matrix: transposeX2 false"),
            Side("transposed", "x2 is the (k, n) view of a contiguous (n, k) matrix: transposeX2 true")),
           source=f"{_API}:66", operators=("mar",)),
)

BRANCHES: tuple[Branch, ...] = tuple(comm_tiling.BRANCHES) + _SHARED + MAR_BRANCHES
_SHARED_IDS = frozenset(b.id for b in _SHARED)


def _x2_transposed(t) -> bool:
    if getattr(t, "layout", None) is not None:  # a casegen TensorSpec
        return t.layout in ("transposed", "nz_transposed")
    return vendor_transposed(t)


def decide(q: PathQuery) -> dict[str, str]:
    """{branch id: side} for the decisions this invocation meets: {} where the host rejects it before tiling (a
    call the host rejects for attributes or strides is not screened here: place only accepted calls)."""
    x1, x2, out = q.shape("x1"), q.shape("x2"), q.shape("output")
    if x1 is None or x2 is None or out is None or len(x1) not in (2, 3) or len(x2) != 2:
        return {}
    dtype = q.dtype("x1")
    if dtype not in ("float16", "bfloat16") or q.dtype("x2") != dtype or q.world_size not in (1, 2, 4, 8):
        return {}
    if any(q.format(name) == "FRACTAL_NZ" for name in ("x1", "x2", "output")):
        return {}
    m = x1[0] * (x1[1] if len(x1) == 3 else 1)
    k, n = x1[-1], x2[-1]
    if min(m, k, n) <= 0 or max(m, k, n) > 2**31 - 1 or x2[0] != k:
        return {}
    transposed = _x2_transposed(q.tensors["x2"])
    bias = q.tensors.get("bias") is not None
    taken = dict(comm_tiling.decide(q, m=m, k=k, n=n))
    taken["MARN-MM-BIAS"] = "none" if not bias else "bf16_bias_to_fp32" if dtype == "bfloat16" else "fp16_bias"
    taken["MAR-X2-LAYOUT"] = "transposed" if transposed else "plain"
    cp = comm_tiling.plan(q, m=m, k=k, n=n)
    turns = [("TILE", cp.tile_m)] + ([("TAIL", cp.tail_m)] if cp.tail_count and cp.tail_m else [])
    for turn, rows in turns:
        sides = marn_paths.matmul_turn(rows, k, n, x2_transposed=transposed, bias=bias, platform=q.platform).sides
        taken.update({f"{stem}-{turn}": side for stem, side in sides.items() if f"{stem}-{turn}" in _SHARED_IDS})
    return taken
