"""`mc2-conformance repro`: rerun one case by id, without pytest, and print every check."""

from __future__ import annotations

from .common import CliError, add_suite_options, sim_options


def cmd_repro(a) -> int:
    from .. import casegen
    from ..backends import load_backend
    from ..judge import run_case
    try:
        case = casegen.by_id(a.case_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    backend = load_backend(a.backend, faults=a.fault or (),
                           sim_options=sim_options(a))
    from ..spec import constraints_for
    outcome = run_case(case, backend, seed=a.seed, accumulation=a.accumulation_bound or "probabilistic",
                       status_check=a.status_check or "documented", constraints=constraints_for(a.doc_revision))
    print(f"{case.id}: {outcome.category} ({outcome.seconds:.2f} s)")
    print(f"  expected: {outcome.expected}")
    if outcome.observed:
        print("  observed: " + ", ".join(f"rank {r} status {s}{' from ' + p if p else ''}"
                                         for r, (s, p) in enumerate(outcome.observed)))
    from ..spec.deviations import deviations_of
    for d in deviations_of(case.id):
        print(f"  known deviation {d.id} of the published source: {d.behaviour}")
    if outcome.detail:
        print(f"  {outcome.detail}")
    for c in outcome.checks:
        print(f"  [{'ok' if c.passed else 'FAIL'}] {c.message}")
    return 0 if outcome.passed else 1


def register(sub) -> None:
    p = sub.add_parser("repro", help="rerun one case by id and print every check")
    p.add_argument("case_id", help="a case id, as in a test id's brackets or `constraints -v`")
    add_suite_options(p, profile=False)
    p.set_defaults(func=cmd_repro)
