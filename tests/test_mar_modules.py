"""MatmulAllReduce's own modules: the quoted contract's frozen lines, the sim-cann host model's rules, the path
model's own decision, the derived bound against the simulator and its faults, and the torch-npu binding's limits."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from conformance import dtypes
from conformance.casegen import mar as cases
from conformance.casegen.inputs import materialise
from conformance.protocol import TensorArg
from conformance.reference.mar import reference
from conformance.sim.cann import mar_host, mar_paths
from conformance.sim.cann.model import LAUNCH, WORKSPACE
from conformance.sim.cann.paths import PathQuery
from conformance.sim.faults import parse_faults
from conformance.sim.mar_numerics import run as sim_run
from conformance.spec import mar as spec
from conformance.tolerance import mar_bounds
from conformance.tolerance.mar_check import check
from helpers import vendor_doc

OP = spec.OP
D = TensorArg.descriptor


# ---- the contract's quotes -----------------------------------------------------------------------------------------

def _excerpts():
    return [e for c in spec.CONSTRAINTS if c.original for e in c.original.split(spec.ELIDED)]


def test_every_quoted_excerpt_names_its_line_and_every_line_has_a_frozen_sha():
    assert set(_excerpts()) <= set(spec.QUOTES), sorted(set(_excerpts()) - set(spec.QUOTES))
    assert set(spec.QUOTES.values()) == set(spec.LINE_SHA)


def test_each_quoted_line_is_as_frozen_at_the_cited_revision():
    lines = vendor_doc(*spec.SOURCE).splitlines()
    for excerpt, line in spec.QUOTES.items():
        text = lines[line - 1].strip()
        assert excerpt in text, f"line {line}: {excerpt!r} not in {text!r}"
        assert hashlib.sha256(text.encode()).hexdigest()[:16] == spec.LINE_SHA[line], f"line {line} changed"


# ---- the sim-cann host model -------------------------------------------------------------------------------------

def _tensors(dtype="float16", *, x1=(1, 4, 16), n=32, bias=True, x2=None, out=None):
    k = x1[-1]
    return {"x1": D(dtype, x1), "x2": x2 or D(dtype, (k, n)), "bias": D(dtype, (n,)) if bias else None,
            "output": out or D(dtype, tuple(x1[:-1]) + (n,))}


ATTRS = {"reduceOp": "sum", "commTurn": 0, "streamMode": 1}


def _rule(verdict, rule, phase=WORKSPACE):
    r = {x.id: x for x in mar_host.RULES}[rule]
    assert (verdict.rule, verdict.status, verdict.phase, verdict.launched) == (rule, r.status, phase, False), verdict


def test_host_rules_are_numbered_in_order_and_cited():
    assert [r.id for r in mar_host.RULES] == [f"CANN-MAR-H{i:02d}" for i in range(1, len(mar_host.RULES) + 1)]
    assert all(":" in r.source for r in mar_host.RULES)


@pytest.mark.parametrize("change,attrs,ws,rule,phase", [
    ({}, {}, 2, None, None),
    ({"bias": None}, {}, 2, None, None),
    ({"output": None}, {}, 2, "CANN-MAR-H01", WORKSPACE),
    ({"bias": D("bfloat16", (32,))}, {}, 2, "CANN-MAR-H02", WORKSPACE),
    ({}, {"reduceOp": "sumx"}, 2, "CANN-MAR-H03", WORKSPACE),  # strcmp: the tiling's 3-character test never runs
    ({"x2": D("float16", (16, 32), format="FRACTAL_NZ")}, {}, 2, "CANN-MAR-H04", WORKSPACE),
    ({"x2": D("float16", (1, 16, 32))}, {}, 2, "CANN-MAR-H05", WORKSPACE),
    ({"x2": D("float16", (17, 32))}, {}, 2, "CANN-MAR-H06", WORKSPACE),
    ({"output": D("float16", (1, 5, 32))}, {}, 2, "CANN-MAR-H07", WORKSPACE),
    ({"bias": D("float16", (1, 32))}, {}, 2, "CANN-MAR-H08", WORKSPACE),
    ({}, {}, 3, "CANN-MAR-H10", WORKSPACE),
    ({}, {"commTurn": 1 << 32}, 2, None, None),  # read as 32 bits: 2^32 is 0
    ({}, {"commTurn": 1}, 2, "CANN-MAR-H11", WORKSPACE),
    ({"x1": D("float16", (1, 4, 16), strides=(128, 1, 4))}, {}, 2, "CANN-MAR-H15", LAUNCH),
])
def test_host_model_worked_examples(change, attrs, ws, rule, phase):
    t = {**_tensors(), **change}
    verdict = mar_host.check(OP, t, {**ATTRS, **attrs}, ws)
    if rule is None:
        assert verdict.status == 0 and verdict.launched, verdict
    else:
        _rule(verdict, rule, phase)


def test_a_transposed_x2_is_taken_as_such_and_a_strided_one_read_as_contiguous():
    transposed = D("float16", (16, 32), strides=TensorArg.transposed_strides((16, 32)))
    assert mar_host.check(OP, _tensors(x2=transposed), ATTRS, 2).x2_read_contiguous is False
    strided = D("float16", (16, 32), strides=(64, 2))
    assert mar_host.check(OP, _tensors(x2=strided), ATTRS, 2).x2_read_contiguous is True


# ---- per source revision (mar_host.CHANGES; locations in conformance/data/sim_cann_locations/mar.json) -----------

def test_the_changes_are_this_modules_own_and_every_rule_is_located_at_every_revision():
    from conformance.sim.cann import revisions
    ids = {c.id for c in mar_host.CHANGES}
    assert ids == {mar_host.MAR_X2_CONTIGUITY_CHECKED, mar_host.MAR_INPUTS_MADE_CONTIGUOUS}
    assert ids <= {c.id for c in revisions.CHANGES} and all(c.operator == "mar" for c in mar_host.CHANGES)
    assert set(mar_host.NEW_RULES) <= set(revisions.NEW_RULES)
    for name in revisions.names():
        for rule in mar_host.RULES:
            if rule.id in mar_host.NEW_RULE_OF:
                assert bool(revisions.new_rule_location(mar_host.NEW_RULE_OF[rule.id], name)) == revisions.has(
                    name, mar_host.MAR_X2_CONTIGUITY_CHECKED), (rule.id, name)
                continue
            status, where = revisions.location(rule.id, name)
            assert status in ("baseline", "unchanged", "removed") and where, (rule.id, name)
            assert (status == "removed") == (rule.id == "CANN-MAR-H15" and revisions.has(
                name, mar_host.MAR_INPUTS_MADE_CONTIGUOUS)), (rule.id, name)


@pytest.mark.parametrize("revision,accepted", [("c29bc10", True), ("9.0.0-beta.2", True), ("9.0.0", False),
                                               ("9.1.0-beta.1", False), ("master", False)])
def test_a_strided_x2_is_read_as_contiguous_then_rejected_on_the_host(revision, accepted):
    strided = D("float16", (16, 32), strides=(64, 2))
    verdict = mar_host.check(OP, _tensors(x2=strided), ATTRS, 2, revision)
    if accepted:
        assert verdict.status == 0 and verdict.x2_read_contiguous, verdict
    else:  # after the shape checks, before the kernel lookup and tiling
        _rule(verdict, "CANN-MAR-H16")
        _rule(mar_host.check(OP, _tensors(x2=strided), ATTRS, 3, revision), "CANN-MAR-H16")  # not H10
        _rule(mar_host.check(OP, _tensors(x2=strided, bias=False, out=D("float16", (1, 5, 32))), ATTRS, 2, revision),
              "CANN-MAR-H07")
    transposed = D("float16", (16, 32), strides=TensorArg.transposed_strides((16, 32)))
    assert mar_host.check(OP, _tensors(x2=transposed), ATTRS, 2, revision).status == 0
    empty = _tensors(x2=D("float16", (16, 0), strides=(2, 2)), n=0)  # an empty call is not checked
    assert mar_host.check(OP, empty, ATTRS, 2, revision).status == 0


@pytest.mark.parametrize("revision,launch_fails", [("c29bc10", True), ("9.0.0-beta.2", True), ("9.0.0", False),
                                                   ("9.1.0-beta.1", False), ("master", False)])
def test_a_non_contiguous_x1_or_bias_fails_the_launch_then_is_made_contiguous(revision, launch_fails):
    x1 = D("float16", (1, 4, 16), strides=TensorArg.transposed_strides((1, 4, 16)))
    bias = D("float16", (32,), strides=(2,))
    for t in (_tensors(x1=(1, 4, 16)) | {"x1": x1}, _tensors() | {"bias": bias}):
        verdict = mar_host.check(OP, t, ATTRS, 2, revision)
        if launch_fails:
            _rule(verdict, "CANN-MAR-H15", LAUNCH)
        else:
            assert verdict.status == 0 and verdict.launched and not verdict.x2_read_contiguous, verdict


# ---- the path model's own decision -------------------------------------------------------------------------------

def test_the_x2_layout_decision_and_no_decision_for_a_shape_the_host_rejects():
    base = cases.base_tensors("float16", cases.TINY)
    plain = mar_paths.decide(PathQuery(OP, base, {}, 2, "c29bc10"))
    assert plain["MAR-X2-LAYOUT"] == "plain" and plain["MARN-MM-BIAS"] == "fp16_bias" and "COMM-TURNS" in plain
    t = cases.base_tensors("bfloat16", cases.TINY, x2_transposed=True, with_bias=False)
    taken = mar_paths.decide(PathQuery(OP, t, {}, 2, "c29bc10"))
    assert taken["MAR-X2-LAYOUT"] == "transposed" and taken["MARN-MM-BIAS"] == "none"
    bad = {**base, "x2": replace(base["x2"], shape=(17, 32))}
    assert mar_paths.decide(PathQuery(OP, bad, {}, 2, "c29bc10")) == {}


# ---- the bound against the simulator and its faults ---------------------------------------------------------------

def _case(name, dtype, ws):
    short = {"float16": "fp16", "bfloat16": "bf16"}[dtype]
    return next(c for c in cases.all_cases() if c.id == f"mar-{name}-{short}-w{ws}")


def _judge(inv, outs, exact=False):
    results = [type("R", (), {"outputs": o})() for o in outs]
    return [c for c in check(inv, results, exact=exact, with_metrics=False)]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_simulator_passes_and_the_bound_is_tight(dtype):
    inv = materialise(_case("odd-x1_2d-x2T-bias", dtype, 8), 7)
    outs = sim_run(OP, [dict(t) for t in inv.ranks], {}, parse_faults(()), "output_dtype")
    checks = _judge(inv, outs)
    assert all(c.passed for c in checks), [c.message for c in checks if not c.passed]
    red = reference(inv)
    ulp_scale = np.abs(red.mm_out) + 1.0
    # the bound stays within a few output roundings of the result's own magnitude: not vacuous
    u = dtypes.info(dtype).unit_roundoff
    assert float(np.max(mar_bounds.bound(red, dtype) / ulp_scale)) < 64 * u


@pytest.mark.parametrize("fault,name", [("mar-bias-once", "odd-x1_2d-x2T-bias"),
                                        ("mar-drop-last-rank", "odd-x1_2d-x2T-bias"),
                                        ("mar-rank0-data", "odd-x1_2d-x2T-bias"),
                                        ("x2-transpose-ignored", "odd-x1_2d-x2T-bias"),
                                        ("mar-accumulate-in-output-dtype", "long_k_same_sign-k4096")])
def test_each_numeric_fault_breaks_the_bound(fault, name):
    # the long-k probe at one rank: at eight the all-reduce's own roundings dominate the bound
    inv = materialise(_case(name, "float16", 1 if name.startswith("long_k") else 8), 7)
    outs = sim_run(OP, [dict(t) for t in inv.ranks], {}, parse_faults((fault,)), "float32")
    assert not all(c.passed for c in _judge(inv, outs))


@pytest.mark.parametrize("fault", ["mar-truncate", "lsb-drift", "mar-ranks-disagree"])
def test_rounding_and_agreement_faults_break_the_exact_case(fault):
    inv = materialise(_case("exact-k16n48", "bfloat16", 2), 7)
    assert all(c.passed for c in _judge(inv, sim_run(OP, [dict(t) for t in inv.ranks], {}, parse_faults(()),
                                                        "float32"), exact=True))
    outs = sim_run(OP, [dict(t) for t in inv.ranks], {}, parse_faults((fault,)), "float32")
    if fault == "mar-truncate":  # integers are exact under any rounding: the truncation shows on random data
        inv = materialise(_case("odd-x1_2d-x2T-bias", "bfloat16", 8), 7)
        outs = sim_run(OP, [dict(t) for t in inv.ranks], {}, parse_faults((fault,)), "float32")
        assert not all(c.passed for c in _judge(inv, outs))
        return
    assert not all(c.passed for c in _judge(inv, outs, exact=True))


# ---- the torch-npu binding's limits ------------------------------------------------------------------------------

def test_the_torch_npu_binding_names_what_npu_mm_all_reduce_base_cannot_express():
    from conformance.backends.bindings.torch_npu_mar import limits
    inv = materialise(replace(_case("tiny-x1_3d-x2N-bias", "float16", 2), shape_only=True), 0)
    t = dict(inv.ranks[0])
    assert limits(inv, t, False) is None
    assert "non-integer" in limits(inv, {**t, "x1": D("float32", (1, 4, 16))}, False)
    assert "allocates its output" in limits(inv, {**t, "output": D("float16", (4, 32))}, False)
