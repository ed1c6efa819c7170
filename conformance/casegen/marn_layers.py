"""MatmulAllReduceAddRmsNorm (and its inplace twin) on the row-parallel layers of public LLMs
(casegen/llm_layers.py): the attention out-projection and the MLP down-projection at TP 2/4/8, decode and
prefill rows. Built with casegen/marn.py's builders (base_tensors, base_attrs, _case), passed in.

dtype: bf16 and fp16 alternate over the layers, so each dtype meets attention and MLP layers of every size.
x2 is transposed at TP 4 and 8 as the existing tp_layer cases do (the layout weights stored (n, k) give).
Profiles: everything in `full`; the signoff profile carries only the one decode call measured cheap (SIGNOFF).
The inplace twin runs the decode rows only (the prefill rows add memory, not a different path of its own).
Cases the simulator cannot hold are declined before their inputs exist (casegen/estimate.py, judge.run_case).
"""

from __future__ import annotations

from .. import operators
from ..spec.marn import INPLACE_OP, OP
from . import llm_layers

# (layer name, world size) of the cases in signoff: one decode token through the smallest attention out-projection
SIGNOFF = {("llm-attn_out-k2048n4096-decode-b1s1", 2)}


def layer_cases(*, tensors, attrs, case, covers) -> list:
    """The layer cases, built with casegen/marn.py's builders (passed in: that module lists these cases, so
    importing it here would make a cycle): tensors = base_tensors, attrs = base_attrs, case = _case,
    covers = _numeric_covers."""
    dtypes = operators.get(OP).dtypes
    out = []
    for op in (OP, INPLACE_OP):
        inplace = operators.get(op).writes_inplace
        for ls in llm_layers.layer_shapes():
            if inplace and ls.rows.phase != "decode":
                continue
            dtype = dtypes[llm_layers.layers().index(ls.layer) % len(dtypes)]
            x2_t = ls.tp % 4 == 0
            shape = ls.shape
            t = tensors(op, dtype, shape, x1_3d=True, x2_transposed=x2_t, with_bias=False)
            profile = "signoff" if (ls.name, ls.tp) in SIGNOFF and not inplace else "full"
            out.append(case(op, ls.name, dtype, ls.tp, t, attrs(k=shape.k), kind="valid", profile=profile,
                            covers=covers(op, x2_transposed=x2_t, with_bias=False),
                            notes=f"LLM layer of {', '.join(ls.layer.models)}", params=ls.params))
    return out
