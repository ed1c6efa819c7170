"""QuantMatmulAllReduceV3's benchmark chain as separate aclnn operators: the aclnn backend's binding
(conformance/backends/aclnn/program.py, `Chain`).

aclnnQuantMatmulV4(x1, x2, dequantScale, offset NULL, pertokenScale, bias, false, transposeX2) -> mm
[aclnnAdd(mm, x3, 1) -> mm_x3] -> HcclAllReduce -> reduced, the fused output. x2 goes as the stored matrix
(program._chain_weight: an NZ weight the documented way). Low-bit communication has no chain (backend.py).
"""

from __future__ import annotations

from ... import operators
from ..aclnn.program import Chain, ChainBuffers, Plan, Resources, matrix_arg, rows


def buffers(program, res: Resources, call, b: ChainBuffers, put, scratch) -> None:
    t = call.tensors
    x1 = t["x1"]
    out = t["output"]
    m, n = rows(x1), out.shape[-1]
    put("x1", matrix_arg(x1))
    program._chain_weight(res, b, t["x2"])
    for name in ("dequantScale", "pertokenScale", "bias"):
        put(name, t.get(name))
    scratch("mm", out.dtype, (m, n))
    if t.get("x3") is not None:
        put("x3", matrix_arg(t["x3"], n))
        scratch("mm_x3", out.dtype, (m, n))
    scratch("reduced", out.dtype, (m, n))
    b.count, b.dtype = m * n, out.dtype
    b.results = {operators.get(call.op).summed_output: ("reduced", out)}


def local(program, res: Resources, call, b: ChainBuffers, plan: Plan) -> str:
    """aclnnQuantMatmulV4(x1, x2, dequantScale, offset NULL, pertokenScale, bias, false, transposeX2) -> mm
    [aclnnAdd(mm, x3, 1) -> mm_x3]; the all-reduced buffer is the fused output."""
    h = b.handles
    program._gws(plan, "aclnnQuantMatmulV4", h["x1"], h["x2"], h["dequantScale"], None, h["pertokenScale"],
                 h["bias"], False, b.transpose_x2, h["mm"])
    partial = "mm"
    if "x3" in h:
        program._gws(plan, "aclnnAdd", h["mm"], h["x3"], res.scalar_float(1.0), h["mm_x3"])
        partial = "mm_x3"
    return partial


CHAIN = Chain(buffers, local)
