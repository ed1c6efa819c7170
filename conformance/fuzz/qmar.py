"""QuantMatmulAllReduce's fuzz space: valid cases over every dtype row, x2 layout, scale shape and optional input
(the record's `fuzz`)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..casegen import qmar
from ..casegen.model import Case, Shape
from .draws import dims, input_seeds, world_sizes


@st.composite
def valid(draw) -> Case:
    row = draw(st.sampled_from(qmar.ROWS))
    ws = draw(world_sizes)
    b, s = draw(st.integers(1, 3)), draw(dims(1, 24))
    k, n = draw(dims(1, 256)), draw(dims(1, 160))
    x1_3d = draw(st.booleans())
    layout = draw(st.sampled_from(tuple(qmar.X2_LAYOUTS)))
    if layout == "nzT" and 1 in (k, n):  # a size-1 axis cannot tell an NZ weight's orientation (conformance.quant)
        layout = "nz"
    bias, x3 = draw(st.booleans()), draw(st.booleans())
    scale_shape = draw(st.sampled_from(("1", "n", "1n")))
    shape = Shape("fuzz", b if x1_3d else 1, s if x1_3d else b * s, k, n)
    t = qmar.tensors(row, shape, x1_3d=x1_3d, x2_layout=layout, bias=bias, scale_shape=scale_shape, x3=x3)
    name = f"fuzz-b{shape.b}s{shape.s}k{k}n{n}-" + qmar._name(shape, row, x1_3d, layout, bias, scale_shape, x3)
    case = qmar._case(name, row.out, ws, t, qmar.attrs(k), covers=["QMAR-NUM-001", "QMAR-NUM-006"], kind="valid",
                      profile="smoke")
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds)})
