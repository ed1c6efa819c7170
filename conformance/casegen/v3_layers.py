"""QuantMatmulAllReduceV3 on the row-parallel layers of public LLMs (casegen/llm_layers.py), W8A8 as quantised
serving runs them: int8 activations and weights, the attention out-projection and the MLP down-projection at
TP 2/4/8, decode and prefill rows. Built with casegen/v3.py's builders (tensors, attrs, _case), passed in.

Rows of the dtype pairing table alternate over the layers: bf16 output with per-token scales (the usual W8A8
serving setup) and fp16 output with INT64 dequant words. Weights are FRACTAL_NZ (the layout the quantised
weights are converted to for the cube units), transposed at TP 4 and 8. Per-channel (n) dequant scales, bias,
no x3, no low-bit communication. Profiles: everything in `full`; signoff carries only the decode call measured
cheap (SIGNOFF). Cases the simulator cannot hold are declined before their inputs exist (casegen/estimate.py).
"""

from __future__ import annotations

from . import llm_layers

SIGNOFF = {("llm-attn_out-k2048n4096-decode-b1s1", 2)}


def layer_cases(*, rows, tensors, attrs, case, covers) -> list:
    """The layer cases, built with casegen/v3.py's builders (passed in: that module lists these cases, so
    importing it here would make a cycle): rows = the pairing-table rows to alternate (bf16_pt, fp16_i64),
    tensors, attrs, case = _case, covers = _covers."""
    out = []
    for ls in llm_layers.layer_shapes():
        row = rows[llm_layers.layers().index(ls.layer) % len(rows)]
        x2_layout = "nzT" if ls.tp % 4 == 0 else "nz"
        shape = ls.shape
        t = tensors(row, shape, x1_3d=True, x2_layout=x2_layout, bias=True, scale_shape="n", x3=False)
        profile = "signoff" if (ls.name, ls.tp) in SIGNOFF else "full"
        out.append(case(f"{ls.name}-{row.name}", row.out, ls.tp, t, attrs(shape.k), kind="valid", profile=profile,
                        covers=covers(x2_layout=x2_layout, lowbit=False, bias=True, x3=False,
                                      pertoken=row.pertoken, deq=row.deq),
                        notes=f"LLM layer of {', '.join(ls.layer.models)}", params=ls.params))
    return out
