"""What changed in the published host path between two source revisions: rule by rule with both locations, the
rules a revision added, and the catalogue cases whose host verdict differs (`mc2-conformance source-drift A B`).

The case comparison runs the host models only (shape descriptors, no data, no numerics): a verdict is the
(status, phase, rule) of every rank. A case whose verdict differs changes outcome on a device built from the other
revision; whether it then passes the suite depends on the documents and the reading (`--unsupported-inputs`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ... import operators
from . import revisions


@dataclass(frozen=True)
class RuleDrift:
    rule: str
    summary: str
    old: tuple[str, str]  # (status, location) at revision A
    new: tuple[str, str]  # (status, location) at revision B
    changes: tuple[str, ...]  # the behaviour changes (revisions.CHANGES ids) that touch it between A and B

    @property
    def behaviour_changed(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class CaseDrift:
    case_id: str
    old: tuple[tuple[int, str, str], ...]  # per rank (status, phase, rule) at A
    new: tuple[tuple[int, str, str], ...]


@dataclass(frozen=True)
class Drift:
    a: revisions.SourceRevision
    b: revisions.SourceRevision
    changes: tuple[revisions.BehaviourChange, ...]  # carried by exactly one of the two
    rules: tuple[RuleDrift, ...]
    added: tuple[tuple[str, str, str], ...]  # (new rule id, its description, its location at B) not at A
    cases: tuple[CaseDrift, ...]
    cases_compared: int


def _host_rules():
    """Every host rule of every registered operator's host model (a module's RULES; twins share one module)."""
    for module in revisions.host_modules():
        yield from module.RULES


def compare(a: str | None, b: str | None, *, cases=None) -> Drift:
    """The drift from revision `a` to revision `b` (names as revisions.names(); None: the default), over `cases`
    (default: the whole catalogue)."""
    ra, rb = revisions.get(a), revisions.get(b)
    changes = tuple(c for c in revisions.CHANGES if (ra.name in c.revisions) != (rb.name in c.revisions))
    rules = []
    for rule in _host_rules():
        touching = tuple(c.id for c in changes if rule.id in c.rules)
        rules.append(RuleDrift(rule.id, rule.summary, revisions.location(rule.id, ra),
                               revisions.location(rule.id, rb), touching))
    added = tuple((rid, text, revisions.new_rule_location(rid, rb)) for rid, text in revisions.NEW_RULES.items()
                  if revisions.new_rule_location(rid, rb) and not revisions.new_rule_location(rid, ra))
    if cases is None:
        from ... import casegen
        cases = casegen.catalogue()
    from ...casegen.inputs import materialise
    drifted, compared = [], 0
    for case in cases:
        op = operators.get(case.op)
        if op.host_model is None:
            continue
        inv = materialise(dataclasses.replace(case, shape_only=True), 0)  # descriptors only: host checks read no data
        check = op.host_model.load()
        verdicts = []
        for rev in (ra.name, rb.name):
            verdicts.append(tuple((v.status, v.phase, v.rule) for v in
                                  (check(inv.op, dict(t), dict(inv.attrs), inv.world_size, rev) for t in inv.ranks)))
        compared += 1
        if verdicts[0] != verdicts[1]:
            drifted.append(CaseDrift(case.id, verdicts[0], verdicts[1]))
    return Drift(ra, rb, changes, tuple(rules), added, tuple(drifted), compared)


def lines(d: Drift, *, all_rules: bool = False) -> list[str]:
    """The drift as text: behaviour changes, then every rule whose behaviour changed (with `all_rules`, every rule
    with both locations), rules added, and the cases that change outcome."""
    out = [f"source drift {d.a.label} -> {d.b.label}", ""]
    if d.changes:
        out.append("behaviour changes:")
        for c in d.changes:
            side = d.b.name if d.b.name in c.revisions else d.a.name
            out.append(f"  {c.id} (at {side} only): {c.summary}")
    else:
        out.append("behaviour changes: none (the host path behaves alike; its rules may have moved)")
    out += ["", "rules (" + ("all" if all_rules else "those whose behaviour changed; --all lists every rule") + "):"]
    moved = 0
    for r in d.rules:
        moved += r.old[1] != r.new[1]
        if all_rules or r.behaviour_changed:
            mark = f"CHANGED by {', '.join(r.changes)}" if r.behaviour_changed else "same behaviour"
            out.append(f"  {r.rule} [{mark}] {r.summary}")
            out.append(f"    {d.a.name}: {r.old[1] or '-'} ({r.old[0] or 'not read'})")
            out.append(f"    {d.b.name}: {r.new[1] or '-'} ({r.new[0] or 'not read'})")
    out.append(f"  ({sum(r.behaviour_changed for r in d.rules)} of {len(d.rules)} rules changed behaviour; "
               f"{moved} moved in the source)")
    if d.added:
        out += ["", f"checks {d.b.name} has and {d.a.name} has not:"]
        out += [f"  {rid} at {where}: {text}" for rid, text, where in d.added]
    out += ["", f"cases whose host verdict changes ({len(d.cases)} of {d.cases_compared} compared):"]
    for c in d.cases:
        out.append(f"  {c.case_id}: {_verdict(c.old)} -> {_verdict(c.new)}")
    return out


def _verdict(ranks: tuple[tuple[int, str, str], ...]) -> str:
    status, phase, rule = ranks[0]
    same = all(r == ranks[0] for r in ranks)
    text = "accepted" if status == 0 else f"{status} from {phase} ({rule})"
    return text if same else text + " on rank 0 (ranks differ)"
