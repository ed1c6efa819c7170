"""QuantMatmulAllReduce's benchmark chain as separate aclnn operators: the aclnn backend's binding
(conformance/backends/aclnn/program.py, `Chain`).

V3's chain (aclnn_v3.py) with a null pertokenScale: aclnnQuantMatmulV4(x1, x2, dequantScale, offset NULL,
pertokenScale NULL, bias, false, transposeX2) -> mm [aclnnAdd(mm, x3, 1)] -> HcclAllReduce. The fused call itself
is marshalled from the record's ABI (operators/qmar.py).
"""

from __future__ import annotations

from .aclnn_v3 import CHAIN

__all__ = ["CHAIN"]
