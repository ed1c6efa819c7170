"""`mc2-conformance source-drift A B`: what changed in the published host path between two source revisions."""

from __future__ import annotations

from .common import CliError


def cmd_source_drift(a) -> int:
    from ..sim.cann import drift, revisions
    if a.list:
        for r in revisions.revisions():
            carried = [c.id for c in revisions.CHANGES if r.name in c.revisions]
            print(f"{r.name:14} {r.label}" + (f"\n{'':15}behaviour changes: {', '.join(carried)}" if carried else ""))
        print(f"\ndefault (--sim-cann-revision unset): {revisions.DEFAULT}")
        return 0
    if not a.a or not a.b:
        raise CliError("give two revisions (A B), or --list to see them")
    try:
        d = drift.compare(a.a, a.b)
    except revisions.UnknownRevision as exc:
        raise CliError(str(exc)) from None
    for line in drift.lines(d, all_rules=a.all):
        print(line)
    return 0


def register(sub) -> None:
    p = sub.add_parser("source-drift", help="what changed in the published host path between two source revisions")
    p.add_argument("a", nargs="?", help="the older revision (c29bc10, 8.5.0, 9.0.0, ..., master)")
    p.add_argument("b", nargs="?", help="the newer revision")
    p.add_argument("--all", action="store_true", help="list every rule with both locations, not only changed ones")
    p.add_argument("--list", action="store_true", help="list the modelled revisions and their behaviour changes")
    p.set_defaults(func=cmd_source_drift)
