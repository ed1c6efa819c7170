"""MatmulAllReduce's fuzz space: valid cases of any non-empty shape its document allows (the record's `fuzz`;
empty tensors are left out, MAR-AMB-004)."""

from __future__ import annotations

from hypothesis import strategies as st

from ..casegen import mar
from ..casegen.model import Case
from .draws import dims, input_seeds, world_sizes


@st.composite
def valid(draw) -> Case:
    dtype = draw(st.sampled_from(mar.DTYPES))
    ws = draw(world_sizes)
    b, s = draw(st.integers(1, 3)), draw(dims(1, 40))
    k, n = draw(dims(1, 300)), draw(dims(1, 160))
    x1_3d, x2_t, bias = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    shape = mar.Shape("fuzz", b if x1_3d else 1, s if x1_3d else b * s, k, n, "")
    t = mar.base_tensors(dtype, shape, x1_3d=x1_3d, x2_transposed=x2_t, with_bias=bias)
    name = (f"fuzz-b{shape.b}s{shape.s}k{k}n{n}-x1_{'3d' if x1_3d else '2d'}-x2{'T' if x2_t else 'N'}"
            f"-{'bias' if bias else 'nobias'}")
    case = mar._case(name, dtype, ws, t, mar.base_attrs(k=k), kind="valid", profile="smoke",
                     covers=mar._numeric_covers(x2_transposed=x2_t, with_bias=bias))
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds)})
