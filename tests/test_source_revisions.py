"""sim-cann per published source revision (conformance/sim/cann/revisions.py): the revisions, each rule's location
at each of them, the V3 host path's behaviour changes as switches (each shown on an input that tells the two
behaviours apart), and `source-drift` between two revisions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.protocol import TensorArg
from conformance.sim.cann import drift, marn_host, revisions, v3_host
from conformance.sim.cann.model import LAUNCH, WORKSPACE

from test_sim_cann_v3_host import B, K, N, S, attrs, base, nz  # noqa: E402  (the host tests' fixtures)

ROOT = Path(__file__).resolve().parents[1]
D = TensorArg.descriptor
OLD, NEW = revisions.BASELINE, revisions.DEFAULT


def v3(t, revision, ws=2):
    return v3_host.check(v3_host.OP, t, attrs(), ws, revision)


def test_the_revisions_in_order_and_a_one_line_error_for_an_unknown_one():
    names = revisions.names()
    assert names[0] == "c29bc10" and names[-1] == "master" == revisions.DEFAULT
    assert {"8.5.0", "9.0.0", "9.1.0"} <= set(names)
    assert revisions.get("3a280bc").name == "master" and revisions.get(None).name == revisions.DEFAULT
    with pytest.raises(revisions.UnknownRevision) as info:
        revisions.get("7.0.0")
    assert "\n" not in str(info.value) and "master" in str(info.value)
    assert all(set(c.revisions) <= set(names) for c in revisions.CHANGES)


def test_every_host_rule_is_located_at_every_revision():
    rules = list(drift._host_rules())
    added = {rid for m in revisions.host_modules() for rid in getattr(m, "NEW_RULE_OF", {})}  # from a revision on
    assert {"CANN-V3-H38", "CANN-MAR-H16"} <= added
    located = [r.id for r in rules if r.id not in added]
    for name in revisions.names():
        for rid in located:
            status, where = revisions.location(rid, name)
            assert status in ("baseline", "unchanged", "changed", "removed") and where, (rid, name)
        assert revisions.cite("CANN-V3-H11", name, "x").startswith(("x", "mirror-cann/ops-transformer@"))
    assert revisions.new_rule_location("NEW-V3-X2-CONTIGUOUS", "9.0.0")
    assert not revisions.new_rule_location("NEW-V3-X2-CONTIGUOUS", "8.5.0")


def test_a_strided_x2_is_read_as_contiguous_then_rejected_on_the_host():
    t = base()
    t["x2"] = D("int8", (K, N), strides=(2 * N, 2))
    old = v3(t, OLD)
    assert old.status == 0 and old.x2_read_contiguous
    new = v3(t, NEW)
    assert (new.status, new.phase, new.rule) == (161002, WORKSPACE, "CANN-V3-H38")
    t["x2"] = D("int8", (K, N), strides=TensorArg.transposed_strides((K, N)))  # the transpose stays accepted
    assert v3(t, NEW).status == 0
    t = base()
    t["x2"] = D("int8", (K, 0), strides=(2, 2))  # an empty call is not checked
    for nm, sh in (("bias", (0,)), ("x3", (B, S, 0)), ("output", (B, S, 0)), ("dequantScale", (0,)),
                   ("commQuantScale1", (0,)), ("commQuantScale2", (0,))):
        t[nm] = D(t[nm].dtype, sh)
    assert v3(t, NEW).status == 0


def test_a_non_contiguous_x1_fails_the_launch_then_is_made_contiguous():
    t = base()
    t["x1"] = D("int8", (B, S, K), strides=TensorArg.transposed_strides((B, S, K)))
    old = v3(t, OLD)
    assert (old.status, old.phase, old.rule) == (561000, LAUNCH, "CANN-V3-H37")
    assert v3(t, NEW).status == 0 and v3(t, "9.0.0-beta.2").status == 561000


def test_comm_scale1_is_read_itself_from_its_fix_on():
    t = base()
    t["commQuantScale1"] = D("float16", (N, 1))
    t["commQuantScale2"] = D("float16", (1, N))
    assert v3(t, OLD).status == 0 and v3(t, "9.1.0-beta.1").status == 0  # forked before the fix
    new = v3(t, NEW)
    assert (new.status, new.rule) == (161002, "CANN-V3-H23") and "commQuantScale1" in new.message


def test_a_per_tensor_scale_must_be_exactly_one_from_9_1_0_beta_2_on():
    t = base()
    t["x2"] = nz()  # a 4-D NZ x2: the host's shape checks are skipped, tiling sees the scale
    t["dequantScale"] = D(t["dequantScale"].dtype, (1, 1))
    assert v3(t, OLD).status == 0 and v3(t, "9.0.0").status == 0
    new = v3(t, NEW)
    assert (new.status, new.rule) == (561002, "CANN-V3-H28")


def test_the_marn_host_path_behaves_alike_at_every_revision():
    from conformance import casegen
    from conformance.casegen.inputs import materialise
    import dataclasses
    cases = [c for c in casegen.catalogue() if c.op.endswith("RmsNorm")][:400]
    for case in cases:
        inv = materialise(dataclasses.replace(case, shape_only=True), 0)
        t = dict(inv.ranks[0])
        first = marn_host.check(case.op, t, dict(inv.attrs), inv.world_size, OLD)
        for name in ("8.5.0", "9.0.0", NEW):
            assert marn_host.check(case.op, t, dict(inv.attrs), inv.world_size, name) == first, case.id


def test_source_drift_names_the_changes_and_the_cases_they_move():
    d = drift.compare(OLD, NEW)
    assert {c.id for c in d.changes} == {c.id for c in revisions.CHANGES}
    changed = {r.rule for r in d.rules if r.behaviour_changed}
    assert changed == {rule for c in revisions.CHANGES for rule in c.rules if rule}
    assert {"CANN-V3-H23", "CANN-V3-H28", "CANN-V3-H35", "CANN-V3-H36", "CANN-V3-H37", "CANN-MAR-H15"} <= changed
    moved = {c.case_id.rsplit("-", 1)[0] for c in d.cases}
    assert any(i.startswith("v3-V3-LAYOUT-001-x1_transposed") for i in moved)
    assert any(i.startswith("v3-V3-LAYOUT-003-x2_strided") for i in moved)
    assert any(i.startswith("mar-MAR-LAYOUT-001-x1_strided") for i in moved)
    assert any(i.startswith("mar-MAR-LAYOUT-003-x2_strided") for i in moved)
    # a case moves only through a rule a change touches or adds (the records say which; QMAR's verdicts are V3's
    # rules, MARN behaves alike), never by operator name
    added = {rid for m in revisions.host_modules() for rid in getattr(m, "NEW_RULE_OF", {})}
    for case in d.cases:
        rules = {r for _, _, r in case.old + case.new if r}
        assert rules and rules <= changed | added, (case.case_id, rules)
    same = drift.compare("9.1.0", NEW)
    assert not same.changes and not same.cases and any(line.startswith("behaviour changes: none")
                                                       for line in drift.lines(same))


def test_source_drift_command():
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "source-drift", OLD, NEW], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0 and "CANN-V3-H37 [CHANGED" in proc.stdout and "v3-V3-LAYOUT-001" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "conformance.cli", "source-drift", OLD, "7.0.0"], capture_output=True,
                         text=True, cwd=ROOT)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "7.0.0" in bad.stderr
