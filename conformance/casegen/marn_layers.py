"""MatmulAllReduceAddRmsNorm (and its inplace twin) on the row-parallel layers of public LLMs
(casegen/llm_layers.py): the attention out-projection and the MLP down-projection at TP 2/4/8, decode and
prefill rows. Built with casegen/marn.py's builders (base_tensors, base_attrs, _case).

dtype: bf16 and fp16 alternate over the layers, so each dtype meets attention and MLP layers of every size.
x2 is transposed at TP 4 and 8 as the existing tp_layer cases do (the layout weights stored (n, k) give).
Profiles: everything in `full`; the signoff profile carries only the one decode call measured cheap (SIGNOFF).
The inplace twin runs the decode rows only (the prefill rows add memory, not a different path of its own).
Cases the simulator cannot hold are declined before their inputs exist (casegen/estimate.py, judge.run_case).
"""

from __future__ import annotations

from . import llm_layers
from .marn import DTYPES, OPS, _case, _numeric_covers, base_attrs, base_tensors, writes_inplace

# (layer name, world size) of the cases in signoff: one decode token through the smallest attention out-projection
SIGNOFF = {("llm-attn_out-k2048n4096-decode-b1s1", 2)}


def layer_cases() -> list:
    cases = []
    for op in OPS:
        for i, ls in enumerate(llm_layers.layer_shapes()):
            if writes_inplace(op) and ls.rows.phase != "decode":
                continue
            layer_index = llm_layers.layers().index(ls.layer)
            dtype = DTYPES[layer_index % len(DTYPES)]
            x2_t = ls.tp % 4 == 0
            shape = ls.shape
            t = base_tensors(op, dtype, shape, x1_3d=True, x2_transposed=x2_t, with_bias=False)
            profile = "signoff" if (ls.name, ls.tp) in SIGNOFF and not writes_inplace(op) else "full"
            cases.append(_case(op, ls.name, dtype, ls.tp, t, base_attrs(k=shape.k), kind="valid", profile=profile,
                               covers=_numeric_covers(op, x2_transposed=x2_t, with_bias=False),
                               notes=f"LLM layer of {', '.join(ls.layer.models)}", params=ls.params))
    return cases
