"""QuantMatmulAllReduce through torch_npu: the torch-npu backend's binding (torch_npu_backend.py, `Binding`).

Fused: `torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, bias, x3, dequant_scale)` with integer x1 and x2, no
pertoken scale and no comm scales: op_plugin then calls aclnnQuantMatmulAllReduce (Ascend/op-plugin@517f2e7
op_plugin/ops/opapi/MatmulAllReduceBaseKernelNpuOpApi.cpp:431-504: integer inputs, no comm_mode, neither comm
scale (456, 472) and no pertoken scale (477) reach the call at 491-503). The torch-npu 2.13.0 wheel was built at
Ascend/pytorch c798c65; the op_plugin revision read is the mirror's newest, the nearest readable.
Chain: V3's (torch_npu.npu_quant_matmul [+ x3] -> all_reduce), which without a pertoken scale is this operator's.
"""

from __future__ import annotations

from ...protocol import Invocation
from ..torch_npu_backend import FLOAT16S, Binding
from . import torch_npu_v3


def limits(inv: Invocation, t: dict, accept_v2_dispatch: bool) -> str | None:
    """What npu_mm_all_reduce_base cannot express of one rank's arguments (None: it can)."""
    x1, x2 = t["x1"], t["x2"]
    if x1.dtype in FLOAT16S + ("float32",) or x2.dtype in FLOAT16S + ("float32",):
        return (f"x1 {x1.dtype} / x2 {x2.dtype}: npu_mm_all_reduce_base sends non-integer inputs to another "
                f"operator than {inv.op}")
    deq = t.get("dequantScale")
    want = ("bfloat16" if deq is not None and deq.dtype == "bfloat16" else "float16", torch_npu_v3._out_shape(x1, x2))
    out = t["output"]
    if (out.dtype, out.shape) != want or not out.is_contiguous or out.format != "ND":
        return (f"output {out.dtype}{list(out.shape)}: npu_mm_all_reduce_base allocates its output itself, "
                f"as contiguous {want[0]}{list(want[1])} (float16 unless dequant_scale is bfloat16)")
    return None


BINDING = Binding("npu_mm_all_reduce_base", "mm_all_reduce_base", ("x1", "x2", "output"), False, limits,
                  torch_npu_v3.call, torch_npu_v3.chain_local, None, torch_npu_v3.chain_limits)
