"""QuantMatmulAllReduceV3 through torch_npu: the torch-npu backend's binding (torch_npu_backend.py, `Binding`).

Fused: `torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, ...)`, which calls aclnnQuantMatmulAllReduceV3 only for
int8 inputs with both comm scales; with one of them op_plugin's own check refuses the call, without them it calls
aclnnQuantMatmulAllReduceV2 (pertoken scale) or aclnnQuantMatmulAllReduce, and fp16/bf16 inputs go to
aclnnMatmulAllReduce (V2 with x3) (Ascend/op-plugin@517f2e7d op_plugin/ops/opapi/
MatmulAllReduceBaseKernelNpuOpApi.cpp:146-150, :413-503). Cases without comm scales are therefore declared
unsupported unless `accept_v2_dispatch`. 3-D x1, x3 and output reach aclnn tagged ACL_FORMAT_NCL, not ND
(op_plugin/utils/op_api_common.cpp:917-930).
Chain: torch_npu.npu_quant_matmul(x1, x2, dequantScale, offset=None, pertoken_scale, bias, output_dtype)
[+ x3] -> torch.distributed.all_reduce(SUM) -> output (the reduced partial is the output).
"""

from __future__ import annotations

from ... import operators
from ...protocol import Invocation, TensorArg
from ..torch_npu_backend import FLOAT16S, Binding


def _out_shape(x1: TensorArg, x2: TensorArg) -> tuple[int, ...]:
    """torch_npu's output size: x1's sizes with the last replaced by x2.size(1)."""
    return x1.shape[:-1] + (x2.shape[1] if len(x2.shape) > 1 else 0,)


def limits(inv: Invocation, t: dict, accept_v2_dispatch: bool) -> str | None:
    """What npu_mm_all_reduce_base cannot express of one rank's arguments (None: it can)."""
    x1, x2 = t["x1"], t["x2"]
    if x1.dtype in FLOAT16S + ("float32",) or x2.dtype in FLOAT16S + ("float32",):
        return (f"x1 {x1.dtype} / x2 {x2.dtype}: npu_mm_all_reduce_base sends non-integer inputs to "
                f"aclnnMatmulAllReduce or aclnnWeightQuantMatmulAllReduce, not to {inv.op}")
    if t.get("commQuantScale1") is None and t.get("commQuantScale2") is None and not accept_v2_dispatch:
        return ("no comm scales: npu_mm_all_reduce_base then calls aclnnQuantMatmulAllReduceV2 (pertoken) or "
                f"aclnnQuantMatmulAllReduce, not {inv.op} (accept with MC2_TORCH_NPU_V3_VIA_V2=1)")
    deq = t.get("dequantScale")
    want = ("bfloat16" if deq is not None and deq.dtype == "bfloat16" else "float16", _out_shape(x1, x2))
    out = t["output"]
    if (out.dtype, out.shape) != want or not out.is_contiguous or out.format != "ND":
        return (f"output {out.dtype}{list(out.shape)}: npu_mm_all_reduce_base allocates its output itself, "
                f"as contiguous {want[0]}{list(want[1])} (float16 unless dequant_scale is bfloat16)")
    return None


def chain_limits(inv: Invocation) -> str | None:
    if any(t.get("dequantScale") is None for t in inv.ranks):
        return "null dequantScale: torch_npu.npu_quant_matmul takes `scale` as a required tensor"
    return None


def call(program, op: str, t: dict, attrs, common: dict) -> dict:
    out = program.seam.mm_all_reduce_base(
        t["x1"], t["x2"], program.hcom, bias=t.get("bias"), x3=t.get("x3"), dequant_scale=t.get("dequantScale"),
        pertoken_scale=t.get("pertokenScale"), comm_quant_scale_1=t.get("commQuantScale1"),
        comm_quant_scale_2=t.get("commQuantScale2"), **common)
    return {operators.get(op).summed_output: out}


def chain_local(program, x1, t: dict, specs: dict):
    import torch
    partial = program.seam.quant_matmul(x1, t["x2"], t["dequantScale"], offset=None,
                                        pertoken_scale=t.get("pertokenScale"), bias=t.get("bias"),
                                        output_dtype=getattr(torch, specs["output"].dtype))
    if t.get("x3") is not None:  # x3 as its own add, on the stored dequantised product
        partial = program.seam.add(partial, t["x3"].reshape(partial.shape))
    return partial


BINDING = Binding("npu_mm_all_reduce_base", "mm_all_reduce_base", ("x1", "x2", "output"), False, limits, call,
                  chain_local, None, chain_limits)
