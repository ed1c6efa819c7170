"""MatmulAllReduce's benchmark chain as separate aclnn operators: the aclnn backend's binding
(conformance/backends/aclnn/program.py, `Chain`).

aclnnMatmul(x1, x2) -> mm [aclnnAdd(mm, bias, 1) -> mm_bias] -> HcclAllReduce -> reduced, the fused output.
x1 goes 2-D (m, k); x2 as given (aclnnMatmul takes the transposed view through its strides). The fused call itself
is marshalled from the record's ABI (x1, x2, bias, group, reduceOp, commTurn, streamMode, output).
"""

from __future__ import annotations

from ... import operators
from ..aclnn.program import Chain, ChainBuffers, Resources, matrix_arg, rows
from .aclnn_marn import local  # aclnnMatmul [+ aclnnAdd(bias)]: MARN's chain up to its all-reduce


def buffers(program, res: Resources, call, b: ChainBuffers, put, scratch) -> None:
    t = call.tensors
    x1, out = t["x1"], t["output"]
    m, n = rows(x1), out.shape[-1]
    put("x1", matrix_arg(x1))
    put("x2", t["x2"])
    put("bias", t.get("bias"))
    scratch("mm", out.dtype, (m, n))
    if t.get("bias") is not None:
        scratch("mm_bias", out.dtype, (m, n))
    scratch("reduced", out.dtype, (m, n))
    b.count, b.dtype = m * n, out.dtype
    b.results = {operators.get(call.op).summed_output: ("reduced", out)}


CHAIN = Chain(buffers, local)
