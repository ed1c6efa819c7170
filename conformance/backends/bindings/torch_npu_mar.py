"""MatmulAllReduce through torch_npu: the torch-npu backend's binding (torch_npu_backend.py, `Binding`).

Fused: `torch_npu.npu_mm_all_reduce_base(x1, x2, hcom, reduce_op, bias=...)`. op_plugin sends non-integer x1 and x2
without x3 and without comm_mode to aclnnMatmulAllReduce (EXEC_NPU_CMD(aclnnMatmulAllReduce, x1, x2, bias, hcom,
reduce_op, comm_turn, stream_mode, result): Ascend/op-plugin@517f2e7 op_plugin/ops/opapi/
MatmulAllReduceBaseKernelNpuOpApi.cpp:426; with x3 to aclnnMatmulAllReduceV2, :413-424; with comm_mode to V3,
:395-411; the nearest revision readable here to torch-npu 2.13.0's c798c65). Before that it rejects an x1 or x2 of
fewer than 2 dimensions itself (:288-299) and allocates the output as x1's sizes with the last replaced by x2's last
(:300-312), in x1's dtype (get_output_dtype, :24-32).
Chain: torch.matmul(x1, x2) [+ bias] -> torch.distributed.all_reduce(SUM) -> output.
"""

from __future__ import annotations

from ... import operators
from ...protocol import Invocation
from ..torch_npu_backend import FLOAT16S, Binding


def limits(inv: Invocation, t: dict, accept_v2_dispatch: bool) -> str | None:
    """What npu_mm_all_reduce_base cannot express of one rank's arguments as aclnnMatmulAllReduce (None: it can)."""
    x1, x2 = t["x1"], t["x2"]
    if x1.dtype not in FLOAT16S or x2.dtype not in FLOAT16S:
        return (f"x1 {x1.dtype} / x2 {x2.dtype}: npu_mm_all_reduce_base sends only non-integer inputs to {inv.op} "
                f"(and float32 is no dtype of its)")
    if len(x1.shape) < 2 or len(x2.shape) < 2:
        return "x1 or x2 below 2-D: npu_mm_all_reduce_base raises before aclnn (its own dimension check)"
    want = (x1.dtype, tuple(x1.shape[:-1]) + (x2.shape[-1],))
    out = t["output"]
    if (out.dtype, tuple(out.shape)) != want or not out.is_contiguous or out.format != "ND":
        return (f"output {out.dtype}{list(out.shape)}: npu_mm_all_reduce_base allocates its output itself, as "
                f"contiguous {want[0]}{list(want[1])}")
    return None


def call(program, op: str, t: dict, attrs, common: dict) -> dict:
    out = program.seam.mm_all_reduce_base(t["x1"], t["x2"], program.hcom, bias=t.get("bias"), **common)
    return {operators.get(op).summed_output: out}


def chain_local(program, x1, t: dict, specs: dict):
    partial = program.seam.matmul(x1, t["x2"])
    if t.get("bias") is not None:  # the bias as its own add
        partial = program.seam.add(partial, t["bias"])
    return partial


BINDING = Binding("npu_mm_all_reduce_base", "mm_all_reduce_base", ("x1", "x2", "output"), False, limits, call,
                  chain_local)
