"""`mc2-conformance faults`: list the simulator's named faults."""

from __future__ import annotations


def cmd_faults(a) -> int:
    from ..sim.faults import FAULTS, ROUNDING_FAULTS
    for f in FAULTS.values():
        print(f"{f.name:<34} {','.join(f.violates):<40} {f.description}")
    for f in ROUNDING_FAULTS.values():  # proven by their step's rounding probes (docs/rounding-probes.md)
        print(f"{f.name:<34} {','.join(f.violates):<40} {f.description}")
    print(f"{'rank-hangs:<r>':<34} {'(engine; sim-process only)':<40} rank r never joins the all-reduce: the test "
          f"must fail as timeout")
    print(f"{'rank-dies:<r>':<34} {'(engine; sim-process only)':<40} rank r SIGKILLs itself before the all-reduce: "
          f"the test must fail as crash")
    return 0


def register(sub) -> None:
    p = sub.add_parser("faults", help="list the simulator's named faults")
    p.set_defaults(func=cmd_faults)
