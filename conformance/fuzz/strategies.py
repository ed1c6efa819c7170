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
from ..casegen.model import VALID_WORLD_SIZES, Case

from .draws import input_seeds


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
