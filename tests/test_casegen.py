"""The case catalogue: ids, one violation per invalid case, independent ranks, profiles."""

import numpy as np
import pytest

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.sim.validate_marn import validate
from conformance.spec import BY_ID

INVALID = [c for c in casegen.catalogue() if c.kind == "invalid"]


def test_ids_unique_and_name_operator_dtype_world_size():
    for c in casegen.catalogue():
        assert c.id.startswith(("marn-", "marn_inplace-")), c.id
        assert c.id.endswith(f"-w{c.world_size}"), c.id
        assert any(s in c.id for s in ("fp16", "bf16")), c.id


def test_covers_name_known_constraints():
    for c in casegen.catalogue():
        for cid in c.covers:
            assert cid in BY_ID, (c.id, cid)
            assert c.op in BY_ID[cid].ops, (c.id, cid)


@pytest.mark.parametrize("case", INVALID[::3], ids=lambda c: c.id)
def test_invalid_case_violates_exactly_the_constraint_it_names(case):
    inv = materialise(case, 0)
    t = dict(inv.ranks[0])
    status, cid, _ = validate(case.op, t, dict(inv.attrs), case.world_size)
    assert (status, cid) == (case.expected_status, case.covers[0])
    # with that one rule switched off, nothing else is wrong with the input
    assert validate(case.op, t, dict(inv.attrs), case.world_size, frozenset({f"unchecked:{cid}"}))[0] == 0


def test_profiles_nest_and_signoff_has_every_world_size():
    smoke, signoff, full = (set(c.id for c in casegen.select(profile=p, world_sizes=(1, 2, 4, 8)))
                            for p in ("smoke", "signoff", "full"))
    assert smoke < signoff < full
    sizes = {c.world_size for c in casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8))}
    assert {1, 2, 4, 8} <= sizes


def test_world_size_filter_keeps_unsupported_sizes_that_fit():
    chosen = casegen.select(profile="signoff", world_sizes=(1, 2))
    assert {c.world_size for c in chosen} == {1, 2}
    chosen = casegen.select(profile="signoff", world_sizes=(4,))
    assert {c.world_size for c in chosen} == {3, 4}


def test_ranks_draw_independent_inputs_and_the_seed_reproduces_them():
    case = casegen.by_id("marn-odd-x1_3d-x2T-bias-eps1e-06-fp16-w8")
    a, b = materialise(case, 7), materialise(case, 7)
    for name in ("x1", "x2", "bias", "residual", "gamma"):
        arrays = [np.asarray(r[name].data) for r in a.ranks]
        assert not any(np.array_equal(arrays[0], x) for x in arrays[1:]), name
        assert all(np.array_equal(x, np.asarray(r[name].data)) for x, r in zip(arrays, b.ranks))
    assert not np.array_equal(np.asarray(materialise(case, 8).ranks[0]["x1"].data), np.asarray(a.ranks[0]["x1"].data))


def test_exact_cases_are_really_exact():
    """Every partial sum of the verifiable cases must be an integer representable in bf16 (< 256)."""
    for c in casegen.catalogue():
        if c.kind != "exact":
            continue
        inv = materialise(c, 3)
        total = 0
        for r in inv.ranks:
            x1 = np.abs(np.asarray(r["x1"].data, np.float64)).reshape(-1, r["x1"].shape[-1])
            x2 = np.abs(np.asarray(r["x2"].data, np.float64))
            total = total + x1 @ x2 + np.abs(np.asarray(r["bias"].data, np.float64))
        worst = total.max() + 4
        assert worst < 256, (c.id, worst)


def test_shape_only_cases_allocate_nothing():
    for c in casegen.catalogue():
        if c.shape_only:
            inv = materialise(c, 0)
            assert all(t is None or t.data is None for r in inv.ranks for t in r.values())
