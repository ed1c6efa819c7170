"""QuantMatmulAllReduceV3's fuzz space: valid cases over every dtype row, layout, scale encoding, optional input
and the low-bit path (the record's `fuzz`)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..casegen import v3
from ..casegen.model import Case
from .draws import dims, input_seeds, world_sizes


@st.composite
def valid(draw) -> Case:
    row = draw(st.sampled_from(v3.ROWS))
    ws = draw(world_sizes)
    b, s = draw(st.integers(1, 3)), draw(dims(1, 24))
    k, n = draw(dims(1, 256)), draw(dims(1, 160))
    x1_3d = draw(st.booleans())
    layout = draw(st.sampled_from(tuple(v3.X2_LAYOUTS)))
    if layout == "nzT" and 1 in (k, n):  # a size-1 axis cannot tell an NZ weight's orientation (conformance.quant)
        layout = "nz"
    bias, x3, lowbit = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    scale_shape = draw(st.sampled_from(("1", "n", "1n")))
    shape = v3.Shape("fuzz", b if x1_3d else 1, s if x1_3d else b * s, k, n)
    t = v3.tensors(row, shape, x1_3d=x1_3d, x2_layout=layout, bias=bias, scale_shape=scale_shape, x3=x3,
                   lowbit=lowbit)
    name = (f"fuzz-{row.name}-b{shape.b}s{shape.s}k{k}n{n}-x1_{'3d' if x1_3d else '2d'}-x2{layout}"
            f"-{'bias' if bias else 'nobias'}-deq{scale_shape}-{'x3' if x3 else 'nox3'}-{'lowbit' if lowbit else 'fp'}")
    covers = ["V3-NUM-001", "V3-NUM-006"] + (["V3-NUM-003"] if lowbit else [])
    case = v3._case(name, row.out, ws, t, v3.attrs(k), covers=covers, kind="valid", profile="smoke")
    params = v3.AMBIGUITY_X3 if (x3 and row.out == "float16") else ()  # V3-AMB-001: either reading passes
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds), "params": params})
