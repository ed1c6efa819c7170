"""MatmulAllReduceAddRmsNorm's (and its inplace twin's) fuzz space: valid cases of any shape the documents allow
(the record's `fuzz`)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..casegen import marn
from ..casegen.model import Case
from .draws import dims, input_seeds, world_sizes


@st.composite
def valid(draw) -> Case:
    op = draw(st.sampled_from(marn.OPS))
    dtype = draw(st.sampled_from(marn.DTYPES))
    ws = draw(world_sizes)
    b, s = draw(st.integers(0, 3)), draw(dims(1, 40))
    k, n = draw(dims(1, 300)), draw(dims(0, 160))
    x1_3d, x2_t, bias = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    eps = draw(st.one_of(st.sampled_from((1e-12, 1e-6, 1e-2, 0.5, 0.999999)),
                         st.floats(1e-9, 0.99, allow_nan=False)))
    shape = marn.Shape("fuzz", b if x1_3d else 1, s if x1_3d else b * s, k, n, "")
    t = marn.base_tensors(op, dtype, shape, x1_3d=x1_3d, x2_transposed=x2_t, with_bias=bias)
    name = (f"fuzz-b{shape.b}s{shape.s}k{k}n{n}-x1_{'3d' if x1_3d else '2d'}-x2{'T' if x2_t else 'N'}"
            f"-{'bias' if bias else 'nobias'}-eps{eps:.6g}")
    covers = ["MARN-NUM-001", "MARN-NUM-002", "MARN-NUM-003"] + marn.inplace_covers(op)
    if shape.m == 0:
        covers = ["MARN-EMPTY-001"]
    elif n == 0:
        covers = ["MARN-EMPTY-002"]
    case = marn._case(op, name, dtype, ws, t, marn.base_attrs(epsilon=float(eps), k=k), covers=covers,
                      kind="valid", profile="smoke")
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds)})
