"""(Inplace)MatmulAllReduceAddRmsNorm's benchmark chain as separate aclnn operators: the aclnn backend's binding
(conformance/backends/aclnn/program.py, `Chain`).

aclnnMatmul(x1, x2) -> mm [aclnnAdd(mm, bias, 1) -> mm_bias] -> HcclAllReduce -> reduced
-> aclnnAddRmsNorm(reduced, residual, gamma, eps) -> yOut = normOut, xOut = y (the fused y, or the inplace twin's
residual). Activations go 2-D (m, k); x2 goes as given (aclnnMatmul takes the transposed view by its strides).
"""

from __future__ import annotations

from ... import operators
from ..aclnn import abi
from ..aclnn.program import Chain, ChainBuffers, Plan, Resources, matrix_arg, rows


def buffers(program, res: Resources, call, b: ChainBuffers, put, scratch) -> None:
    t = call.tensors
    x1 = t["x1"]
    res_name = operators.get(call.op).summed_output  # y, or the inplace twin's residual
    residual = t["residual"]
    m, n = rows(residual), residual.shape[-1]
    put("x1", matrix_arg(x1))
    put("x2", t["x2"])  # as given: aclnnMatmul takes the transposed view through its strides
    put("bias", t.get("bias"))
    put("residual", matrix_arg(residual, n))
    put("gamma", t["gamma"])
    scratch("mm", residual.dtype, (m, n))
    if t.get("bias") is not None:
        scratch("mm_bias", residual.dtype, (m, n))
    scratch("reduced", residual.dtype, (m, n))
    scratch("normOut", residual.dtype, (m, n))
    scratch("rstd", "float32", (m, 1))
    scratch("y", residual.dtype, (m, n))
    b.count, b.dtype = m * n, residual.dtype
    b.results = {res_name: ("y", residual), "normOut": ("normOut", t.get("normOut") or residual)}


def local(program, res: Resources, call, b: ChainBuffers, plan: Plan) -> str:
    """aclnnMatmul(x1, x2) -> mm [aclnnAdd(mm, bias, 1) -> mm_bias]."""
    h = b.handles
    program._gws(plan, "aclnnMatmul", h["x1"], h["x2"], h["mm"], abi.CUBE_MATH_KEEP_DTYPE)
    partial = "mm"
    if h.get("bias") is not None:
        program._gws(plan, "aclnnAdd", h["mm"], h["bias"], res.scalar_float(1.0), h["mm_bias"])
        partial = "mm_bias"
    return partial


def after(program, res: Resources, call, b: ChainBuffers, plan: Plan) -> None:
    """aclnnAddRmsNorm(reduced, residual, gamma, eps) -> yOut = normOut, xOut = y (the fused y)."""
    h = b.handles
    program._gws(plan, "aclnnAddRmsNorm", h["reduced"], h["residual"], h["gamma"],
                 float(call.attrs.get("epsilon", 1e-6)), h["normOut"], h["rstd"], h["y"])


CHAIN = Chain(buffers, local, after)
