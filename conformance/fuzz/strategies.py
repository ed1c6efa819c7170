"""Hypothesis strategies over the valid and invalid input spaces, drawing whole `Case` records.

Shapes lean toward boundaries and odd sizes (1, 15/16/17, 31/32/33, primes) as well as plain random sizes;
every dtype pairing, world size, optional input, layout and scale encoding is reachable. The invalid space
samples the catalogue's single-violation mutations at any world size, two of them at once (so an
order-dependent validation is explored: any legal code of either rule, from either phase, passes), and the
values +-1 around every numeric limit (INT32_MAX for b*s, m, k, n; 65535 for V3's k and untransposed n),
shape-only. Each drawn case carries the seed of its inputs (`fixed_seed`), so a shrunk failure replays exactly.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from .. import casegen, operators
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
    shape = v3.Shape("fuzz", b if x1_3d else 1, s if x1_3d else b * s, k, n)
    t = v3.tensors(row, shape, x1_3d=x1_3d, x2_layout=layout, bias=bias, scale_shape=scale_shape, x3=x3,
                   lowbit=lowbit)
    name = (f"fuzz-{row.name}-b{shape.b}s{shape.s}k{k}n{n}-x1_{'3d' if x1_3d else '2d'}-x2{layout}"
            f"-{'bias' if bias else 'nobias'}-deq{scale_shape}-{'x3' if x3 else 'nox3'}-{'lowbit' if lowbit else 'fp'}")
    covers = ["V3-NUM-001", "V3-NUM-006"] + (["V3-NUM-003"] if lowbit else [])
    case = v3._case(name, row.out, ws, t, v3.attrs(k), covers=covers, kind="valid", profile="smoke")
    params = v3.AMBIGUITY_X3 if (x3 and row.out == "float16") else ()  # V3-AMB-001: either reading passes
    return Case(**{**case.__dict__, "fixed_seed": draw(input_seeds), "params": params})


def invalid() -> st.SearchStrategy[Case]:
    pool = [c for c in casegen.catalogue() if c.kind == "invalid" and c.origin == "catalogue"]

    @st.composite
    def draw_invalid(draw) -> Case:
        c = draw(st.sampled_from(pool))
        return Case(**{**c.__dict__, "id": "fuzz-" + c.id, "fixed_seed": draw(input_seeds)})

    return st.one_of(draw_invalid(), double_violations(), limit_probes())


def _families() -> list[operators.Operator]:
    """The operators that own case families (a twin's cases come with its base's), in registry order."""
    return [op for op in operators.all_operators() if op.cases is not None]


def _family_code(op: str, role: str):
    """The code for `role` of `op`'s case family: its record's, or its base's where `op` is a twin."""
    record = operators.get(op)
    owner = record if record.cases is not None else operators.twin_of(record)
    return owner.code(role)


def _base(case: Case) -> tuple[dict, dict] | None:
    """The valid tiny case an invalid catalogue case was mutated from (tensors, attrs), or None: the case
    module's `mutation_base`."""
    return _family_code(case.op, "mutation_base")(case.op, case.dtype)


def _changes(case: Case, base: tuple[dict, dict]) -> tuple[dict, dict]:
    t, a = base
    return ({k: v for k, v in case.tensors if t.get(k, "absent") != v},
            {k: v for k, v in case.attrs if a.get(k, "absent") != v})


def double_violations() -> st.SearchStrategy[Case]:
    """Two single-violation mutations of the same base case applied together (they must touch different
    arguments): the case must be rejected, with a code and phase either violated rule allows."""
    pool = [c for c in casegen.catalogue() if c.kind == "invalid" and c.origin == "catalogue"
            and c.world_size in VALID_WORLD_SIZES and not c.shape_only and _base(c) is not None]
    groups: dict = {}
    for c in pool:
        groups.setdefault((c.op, c.dtype, c.world_size), []).append(c)
    keys = sorted(k for k, v in groups.items() if len(v) > 1)

    @st.composite
    def draw(draw_) -> Case:
        key = draw_(st.sampled_from(keys))
        first, second = draw_(st.lists(st.sampled_from(groups[key]), min_size=2, max_size=2, unique_by=lambda c: c.id))
        base = _base(first)
        t1, a1 = _changes(first, base)
        t2, a2 = _changes(second, base)
        assume(first.covers[0] != second.covers[0] and not (set(t1) & set(t2)) and not (set(a1) & set(a2)))
        tensors = {**dict(first.tensors), **t2}
        attrs = {**dict(first.attrs), **a2}
        return Case(**{**first.__dict__, "id": f"fuzz-{first.id}+{second.covers[0]}",
                       "tensors": tuple(tensors.items()), "attrs": tuple(attrs.items()),
                       "covers": (first.covers[0], second.covers[0]), "fixed_seed": draw_(input_seeds)})

    return draw()


def _limit_cases() -> list[Case]:
    """Shape-only cases at limit - 1, limit and limit + 1 of every numeric rule: each family's `limit_cases`."""
    return [c for family in _families() for c in _family_code(family.name, "limit_cases")()]


def limit_probes() -> st.SearchStrategy[Case]:
    return st.sampled_from(_limit_cases())


def cases(space: str = "all") -> st.SearchStrategy[Case]:
    """space: an operator family's short name (its record's `fuzz` space: marn, v3) | invalid | all."""
    table = {family.short: family.fuzz() for family in operators.all_operators() if family.fuzz is not None}
    table["invalid"] = invalid()
    if space == "all":
        return st.one_of(*table.values())
    if space not in table:
        raise ValueError(f"unknown fuzz space {space!r}; expected one of {', '.join(table)}, all")
    return table[space]
