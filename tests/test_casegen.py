"""The case catalogue: ids, one violation per invalid case, independent ranks, profiles."""

import numpy as np
import pytest

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.sim.backend import VALIDATORS
from conformance.spec import BY_ID

INVALID = [c for c in casegen.catalogue() if c.kind == "invalid"]


def test_ids_unique_and_name_operator_dtype_world_size():
    for c in casegen.catalogue():
        assert c.id.startswith(("marn-", "marn_inplace-", "v3-")), c.id
        assert c.id.endswith(f"-w{c.world_size}"), c.id
        assert any(s in c.id for s in ("fp16", "bf16")), c.id


def test_covers_name_known_constraints():
    for c in casegen.catalogue():
        for cid in c.covers:
            assert cid in BY_ID, (c.id, cid)
            assert c.op in BY_ID[cid].ops, (c.id, cid)


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.id)
def test_invalid_case_violates_exactly_the_constraint_it_names(case):
    inv = materialise(case, 0)
    t = dict(inv.ranks[0])
    validate = VALIDATORS[case.op]
    status, cid, _ = validate(case.op, t, dict(inv.attrs), case.world_size)
    assert status != 0 and cid == case.covers[0]
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
        if c.kind != "exact" or c.op == "QuantMatmulAllReduceV3":
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


def test_v3_exact_cases_stay_on_the_half_integer_grid_inside_int8_and_bf16():
    from conformance.reference.v3 import reference
    for c in casegen.catalogue():
        if c.kind == "exact" and c.op == "QuantMatmulAllReduceV3" and "f32_scale" not in c.id:
            ref = reference(materialise(c, 3))
            assert np.all(ref.out * 2 == np.rint(ref.out * 2)), c.id
            limit = 127 if ref.lowbit else (256 if ref.out_dtype == "bfloat16" else 2048)
            assert np.abs(ref.out).max() <= limit, (c.id, np.abs(ref.out).max())


def test_v3_lowbit_scales_use_the_int8_range_without_saturating():
    """Valid low-bit cases reach well into the int8 range but do not saturate; the saturation cases do."""
    from conformance.reference.v3 import local_value, scale_values
    peak, saturated = 0.0, {}
    for c in casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8), ops=("QuantMatmulAllReduceV3",)):
        inv = materialise(c, 0)
        if c.kind != "valid" or inv.ranks[0].get("commQuantScale1") is None:
            continue
        s1 = scale_values(inv.ranks[0]["commQuantScale1"])
        s2 = scale_values(inv.ranks[0]["commQuantScale2"])
        qs = [np.rint(local_value(t)[0] / s1) for t in inv.ranks]
        r = np.rint(sum(np.clip(q, -128, 127) for q in qs) * s1 / s2)
        worst = max(max(np.abs(q).max() for q in qs), np.abs(r).max())
        if "sat_" in c.id:
            saturated[c.id] = worst > 127
        else:
            assert worst <= 127, c.id
            peak = max(peak, worst)
    assert peak >= 64 and saturated and all(saturated.values())


def _tie_distance_ulps(ref: np.ndarray, dtype: str) -> np.ndarray:
    """Distance of each value from the nearest rounding tie of `dtype`, in ulps (0.5 for representable values)."""
    from conformance import dtypes
    r = ref.astype(np.float64)
    lo = dtypes.round_to(r.astype(np.float32), dtype).astype(np.float64)
    mant = 10 if dtype == "float16" else 7
    with np.errstate(divide="ignore"):
        ulp = np.exp2(np.floor(np.log2(np.maximum(np.abs(lo), 2.0**-14))) - mant)
    return 0.5 - np.abs(r - lo) / ulp


def test_exact_cases_expect_unambiguous_roundings():
    """Exact cases compare with the reference rounded to the output dtype. That is only fair where any correct
    computation lands on the same side of every tie: demand >= 0.1 ulp of room (the pre-rounding arithmetic of
    these cases is exact or within a few fp32 ulps, ~1e-5 of a bf16/fp16 ulp)."""
    from conformance.reference import marn as marn_ref
    from conformance.reference.v3 import reference as v3_reference
    for c in casegen.catalogue():
        if c.kind != "exact":
            continue
        inv = materialise(c, 0)
        if c.op == "QuantMatmulAllReduceV3":
            ref = v3_reference(inv)
            refs = [(ref.out, ref.out_dtype)]
        else:
            red = marn_ref.reduced_matmul(inv)
            refs = []
            names = dict(c.params).get("exact_outputs", ("y",))
            for r in inv.ranks:
                y, norm, _ = marn_ref.rank_outputs(red, marn_ref.as_matrix(r["residual"]),
                                                   marn_ref.as_matrix(r["gamma"]).reshape(-1), inv.attrs["epsilon"])
                refs += [(y, c.dtype)] + ([(norm, c.dtype)] if "normOut" in names else [])
        for values, dtype in refs:
            assert _tie_distance_ulps(values, dtype).min() >= 0.1, c.id


def test_test_module_basenames_are_unique_across_folders():
    """pytest imports tests/ and cases/ modules by basename: a clash breaks collection of the whole run."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    names = [p.name for folder in ("tests", "cases") for p in (root / folder).glob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
