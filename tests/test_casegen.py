"""The case catalogue: ids, one violation per invalid case, independent ranks, profiles."""

import numpy as np
import pytest

from conformance import casegen, operators
from conformance.casegen import design
from conformance.casegen.inputs import materialise
from conformance.sim.faults import parse_faults
from conformance.spec import BY_ID
from conformance.context import Context

INVALID = [c for c in casegen.catalogue() if c.kind == "invalid"]


def test_ids_unique_and_name_operator_dtype_world_size():
    for c in casegen.catalogue():
        assert c.id.startswith(tuple(op.short + "-" for op in operators.all_operators())), c.id
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
    validate = operators.get(case.op).validate.load()
    status, cid, _ = validate(case.op, t, dict(inv.attrs), case.world_size)
    assert status != 0 and cid == case.covers[0]
    # with that one rule switched off, nothing else is wrong with the input
    assert validate(case.op, t, dict(inv.attrs), case.world_size, parse_faults([f"unchecked:{cid}"]))[0] == 0


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


@pytest.mark.parametrize("values,dtype,lo,hi,factor", [("unit", "float16", -1.0, 1.0, None),
                                                       ("bias_acc", "int32", -1.0, 1.0, "acc"),
                                                       ("deq:bf16", "bfloat16", 0.5, 1.5, "1/acc")])
def test_large_tensors_are_drawn_in_blocks_with_the_values_of_one_whole_draw(values, dtype, lo, hi, factor):
    """A tensor larger than DRAW_BLOCK (here 2.5 blocks) is drawn block by block into its dtype; its values,
    and the stream left for the next tensor, are those of one float32 draw of the whole shape."""
    from conformance import dtypes
    from conformance.casegen import inputs
    from conformance.casegen.model import TensorSpec
    case = casegen.by_id("marn-odd-x1_3d-x2T-bias-eps1e-06-fp16-w8")
    shape = (5, inputs.DRAW_BLOCK // 2 + 3)
    spec = TensorSpec(dtype, shape, values)
    got_rng, want_rng = np.random.default_rng(11), np.random.default_rng(11)
    got = inputs._draw(spec, case, got_rng, shape)
    x = want_rng.random(shape, dtype=np.float32)
    x *= np.float32(hi - lo)
    x += np.float32(lo)
    acc = np.float32(np.sqrt(max(int(case.attr_map["_k"]), 1)) * inputs.INT8_STD * inputs.INT8_STD)
    if factor == "acc":
        x = x * acc
    elif factor == "1/acc":
        x = x / acc
    want = np.rint(x).astype(np.int32) if dtype == "int32" else dtypes.round_to(x, dtype)
    assert got.dtype == want.dtype and got.shape == shape
    assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
    assert got_rng.random() == want_rng.random()


def _v3_reference(op: str) -> bool:
    """Whether operator `op` is judged by V3's quantised reference (V3 and the operators whose record reuses it)."""
    return operators.get(op).golden_arrays.path == "conformance.reference.v3:golden_arrays"


def test_exact_cases_are_really_exact():
    """Every partial sum of the verifiable cases must be an integer representable in bf16 (< 256)."""
    for c in casegen.catalogue():
        if c.kind != "exact" or _v3_reference(c.op):  # V3's reference: checked below
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
        # (the rounding probes leave the grid on purpose: tests/test_rounding_probes.py)
        if (c.kind == "exact" and _v3_reference(c.op) and "f32_scale" not in c.id
                and not dict(c.params).get("rounding_step")):
            ref = reference(materialise(c, 3))
            assert np.all(ref.out * 2 == np.rint(ref.out * 2)), c.id
            limit = 127 if ref.lowbit else (256 if ref.out_dtype == "bfloat16" else 2048)
            assert np.abs(ref.out).max() <= limit, (c.id, np.abs(ref.out).max())


def test_v3_lowbit_scales_use_the_int8_range_without_saturating():
    """Valid low-bit cases reach well into the int8 range but do not saturate; the saturation cases do."""
    from conformance.reference.v3 import local_value, scale_values
    peak, saturated = 0.0, {}
    for c in casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8), ops=("QuantMatmulAllReduceV3",)):
        if c.kind != "valid" or c.shape_only:  # shape-only cases have no values to measure
            continue
        inv = materialise(c, 0)
        if inv.ranks[0].get("commQuantScale1") is None:
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
    these cases is exact or within a few fp32 ulps, ~1e-5 of a bf16/fp16 ulp). A declared tie probe (params
    tie=True, exact arithmetic before its store) must hit its ties exactly: the rounding rule then decides."""
    from conformance.reference import marn as marn_ref
    from conformance.reference.v3 import reference as v3_reference
    for c in casegen.catalogue():
        if c.kind != "exact":
            continue
        inv = materialise(c, 0)
        if c.op == "QuantMatmulAllReduceV3":
            ref = v3_reference(inv)
            refs = [(ref.out, ref.out_dtype)]
        elif operators.get(c.op).golden_arrays.path.startswith(marn_ref.__name__ + ":"):
            red = marn_ref.reduced_matmul(inv)
            refs = []
            names = dict(c.params).get("exact_outputs", ("y",))
            for r in inv.ranks:
                y, norm, _ = marn_ref.rank_outputs(red, marn_ref.as_matrix(r["residual"]),
                                                   marn_ref.as_matrix(r["gamma"]).reshape(-1), inv.attrs["epsilon"])
                refs += [(y, c.dtype)] + ([(norm, c.dtype)] if "normOut" in names else [])
        else:  # any other operator: every reference array its record freezes in golden/
            refs = [(values, c.dtype) for values in operators.get(c.op).golden_arrays(inv).values()]
        tie_probe = bool(dict(c.params).get("tie"))
        rooms = [_tie_distance_ulps(values, dtype) for values, dtype in refs]
        if tie_probe:  # a declared tie probe sits exactly on its ties, never near one
            assert all(np.all((room == 0) | (room >= 0.1)) for room in rooms), c.id
            # its tie is at an output's own rounding (y or normOut), or at an inner step (the V3 int8 casts)
            inner = (c.op, dict(c.params).get("rounding_step")) in design.INNER_TIE_STEPS
            assert any(np.any(room == 0) for room in rooms) != inner, c.id
        else:
            assert all(room.min() >= 0.1 for room in rooms), c.id


def test_test_module_basenames_are_unique_across_folders():
    """pytest imports tests/ and cases/ modules by basename: a clash breaks collection of the whole run."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    names = [p.name for folder in ("tests", "cases") for p in (root / folder).glob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_v3_fp16_output_carries_x3_only_in_the_ambiguity_cases():
    """V3-AMB-001: a device that follows the literal text (x3 only with a bf16 output) passes every valid case
    that is not about x3; the permissive reading is exercised by cases marked ('ambiguity', 'V3-AMB-001')."""
    from conformance.casegen.v3 import AMBIGUITY_X3
    marked = []
    for c in casegen.catalogue():
        if c.op != "QuantMatmulAllReduceV3" or c.rejects:
            continue
        t = c.tensor_map
        fp16_x3 = t["output"].dtype == "float16" and t.get("x3") is not None
        assert fp16_x3 == (dict(c.params).get("ambiguity") == "V3-AMB-001"), c.id
        if fp16_x3:
            assert c.params == AMBIGUITY_X3 and c.kind == "valid", c.id
            marked.append(c)
    assert marked and any(c.in_profile("signoff") for c in marked)


def test_v3_invalid_mutations_run_at_both_output_dtypes():
    """Every mutation runs from an fp16-output and a bf16-output base row (the dequantScale/x3 pairing table's
    cases are per output dtype by nature, and are left out)."""
    from conformance.casegen.v3 import _pairing_mutations, invalid_cases
    pairing = {name for name, *_ in _pairing_mutations()}
    names = {}
    for c in invalid_cases():
        if not any(f"-{p}-" in c.id for p in pairing):
            names.setdefault(c.id.rsplit("-", 2)[0], set()).add(c.dtype)
    assert names and all(d == {"float16", "bfloat16"} for d in names.values()), [
        n for n, d in names.items() if d != {"float16", "bfloat16"}]


def test_v3_f32_scale_observation_passes_with_fp19_or_full_application():
    """No document says whether a FLOAT32 dequantScale is truncated to FP19: the case is judged by the bound
    only (fewer outputs than the balance statistic needs), and both behaviours pass."""
    from conformance.judge import run_case
    from conformance.sim import SimulatorBackend
    from conformance.tolerance.compare import BALANCE_MIN_COUNT
    case = casegen.by_id("v3-f32_scale_fp19_or_full-fp16_pt-fp16-w1")
    assert case.kind == "valid" and np.prod(case.tensor_map["output"].shape) < BALANCE_MIN_COUNT
    for faults in ([], ["fp19-applied-to-float-scales"]):
        outcome = run_case(case, SimulatorBackend(faults=faults), Context(seed=0, with_metrics=False))
        assert outcome.passed, outcome.report()
