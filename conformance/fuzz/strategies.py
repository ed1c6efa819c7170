"""Hypothesis strategies over the valid and invalid input spaces, drawing whole `Case` records.

Shapes lean toward boundaries and odd sizes (1, 15/16/17, 31/32/33, primes) as well as plain random sizes;
every dtype pairing, world size, optional input, layout and scale encoding is reachable. The invalid space
samples the catalogue's single-violation mutations at any world size. Each drawn case carries the seed of
its inputs (`fixed_seed`), so a shrunk failure replays exactly.
"""

from __future__ import annotations

from hypothesis import strategies as st

from .. import casegen
from ..casegen import marn, v3
from ..casegen.model import VALID_WORLD_SIZES, Case

EDGE_SIZES = (1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 61, 64, 65, 127, 128)


def dims(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [d for d in EDGE_SIZES if lo <= d <= hi] + [lo, hi]
    return st.one_of(st.sampled_from(sorted(set(edges))), st.integers(lo, hi))


world_sizes = st.sampled_from(VALID_WORLD_SIZES)
input_seeds = st.integers(0, 2**32 - 1)


@st.composite
def marn_valid(draw) -> Case:
    op = draw(st.sampled_from((marn.OP, marn.INPLACE_OP)))
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
    covers = ["MARN-NUM-001", "MARN-NUM-002", "MARN-NUM-003"] + (["MARN-INPLACE-001"] if op == marn.INPLACE_OP else [])
    if shape.m == 0:
        covers = ["MARN-EMPTY-001"]
    elif n == 0:
        covers = ["MARN-EMPTY-002"]
    case = marn._case(op, name, dtype, ws, t, marn.base_attrs(epsilon=float(eps), k=k), covers=covers,
                      kind="valid", profile="smoke")
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds)})


@st.composite
def v3_valid(draw) -> Case:
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
    shape = v3.V3Shape("fuzz", b if x1_3d else 1, s if x1_3d else b * s, k, n)
    t = v3.tensors(row, shape, x1_3d=x1_3d, x2_layout=layout, bias=bias, scale_shape=scale_shape, x3=x3,
                   lowbit=lowbit)
    name = (f"fuzz-{row.name}-b{shape.b}s{shape.s}k{k}n{n}-x1_{'3d' if x1_3d else '2d'}-x2{layout}"
            f"-{'bias' if bias else 'nobias'}-deq{scale_shape}-{'x3' if x3 else 'nox3'}-{'lowbit' if lowbit else 'fp'}")
    covers = ["V3-NUM-001", "V3-NUM-006"] + (["V3-NUM-003"] if lowbit else [])
    case = v3._case(name, row.out, ws, t, v3.attrs(k), covers=covers, kind="valid", profile="smoke")
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds)})


def invalid() -> st.SearchStrategy[Case]:
    pool = [c for c in casegen.catalogue() if c.kind == "invalid" and c.origin == "catalogue"]

    @st.composite
    def draw_invalid(draw) -> Case:
        c = draw(st.sampled_from(pool))
        return Case(**{**c.__dict__, "id": "fuzz-" + c.id, "fixed_seed": draw(input_seeds)})

    return draw_invalid()


def cases(op: str = "all") -> st.SearchStrategy[Case]:
    """op: marn | v3 | invalid | all."""
    table = {"marn": marn_valid(), "v3": v3_valid(), "invalid": invalid()}
    if op == "all":
        return st.one_of(*table.values())
    if op not in table:
        raise ValueError(f"unknown fuzz space {op!r}; expected one of marn, v3, invalid, all")
    return table[op]
