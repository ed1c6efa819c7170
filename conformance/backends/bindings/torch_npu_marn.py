"""(Inplace)MatmulAllReduceAddRmsNorm through MindSpeed: the torch-npu backend's bindings (torch_npu_backend.py).

Fused: MindSpeed's `npu_mm_all_reduce_add_rms_norm(_)` (torch_npu has none; MindSpeed is optional).
Chain: torch.matmul(x1, x2) [+ bias] -> torch.distributed.all_reduce(SUM, the hccl group)
-> torch_npu.npu_add_rms_norm(reduced, residual, gamma, epsilon) -> (normOut, rstd, y).
"""

from __future__ import annotations

from ... import operators
from ...protocol import Invocation
from ..torch_npu_backend import FLOAT16S, KIND, Binding, rows


def limits(inv: Invocation, t: dict, accept_v2_dispatch: bool) -> str | None:
    """What MindSpeed's npu_mm_all_reduce_add_rms_norm(_) cannot express of one rank's arguments."""
    x1, x2 = t["x1"], t["x2"]
    if x2.dtype == "int8" and (x1.dtype == "int8" or x1.dtype in FLOAT16S):
        return (f"x1 {x1.dtype} / x2 int8: MindSpeed sends these to the (Weight)Quant variant of "
                f"{inv.op}, not to {inv.op}")
    residual = t["residual"]
    for name in operators.get(inv.op).abi.outputs:  # the outputs the binding allocates itself
        out = t[name]
        if (out.dtype, out.shape) != (residual.dtype, residual.shape) or not out.is_contiguous:
            return (f"{name} {out.dtype}{list(out.shape)}: MindSpeed allocates it itself, like residual "
                    f"({residual.dtype}{list(residual.shape)}, contiguous)")
    return None


def call(program, op: str, t: dict, attrs, common: dict) -> dict:
    record = operators.get(op)
    fn = getattr(program.seam, record.binding(KIND).seam_fn)
    y, norm = fn(t["x1"], t["x2"], t["residual"], t["gamma"], program.hcom, epsilon=float(attrs["epsilon"]),
                 bias=t.get("bias"), **common)
    # inplace: the result is what the operator wrote into the residual tensor passed in, whatever it returns
    summed = t[record.summed_output] if record.writes_inplace else y
    return {record.summed_output: summed, "normOut": norm}


def chain_local(program, x1, t: dict, specs: dict):
    partial = program.seam.matmul(x1, t["x2"])
    if t.get("bias") is not None:  # the bias as its own add
        partial = program.seam.add(partial, t["bias"])
    return partial


def chain_after(program, op: str, t: dict, partial, attrs) -> dict:
    residual = t["residual"]
    matrix = residual.reshape(rows(residual.shape), residual.shape[-1])  # (m, n), as the partial
    norm, _rstd, x = program.seam.add_rms_norm(partial, matrix, t["gamma"], float(attrs["epsilon"]))
    shape = tuple(residual.shape)
    return {operators.get(op).summed_output: x.reshape(shape), "normOut": norm.reshape(shape)}


_REQUIRED = ("x1", "x2", "residual", "gamma")
BINDING = Binding("npu_mm_all_reduce_add_rms_norm", "mm_all_reduce_add_rms_norm", _REQUIRED + ("y", "normOut"),
                  True, limits, call, chain_local, chain_after)
INPLACE_BINDING = Binding("npu_mm_all_reduce_add_rms_norm_", "mm_all_reduce_add_rms_norm_",
                          _REQUIRED + ("normOut",), True, limits, call, chain_local, chain_after)
