"""`mc2-conformance repro`: rerun one case by id, without pytest, and print every check."""

from __future__ import annotations

from .common import CliError, add_suite_options, context_of


def cmd_repro(a) -> int:
    from .. import casegen
    from .. import backend_setup
    from ..judge import run_case
    try:
        case = casegen.by_id(a.case_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    context = context_of(a)
    context.constraints  # noqa: B018  (an unknown --doc-revision: one line, before the backend loads)
    backend = backend_setup.load(context, twin=backend_setup.prepare_twin(context))
    try:
        outcome = run_case(case, backend, context)
    finally:
        backend_setup.close(backend)
    print(f"{case.id}: {outcome.category} ({outcome.seconds:.2f} s)")
    print(f"  expected: {outcome.expected}")
    if outcome.observed:
        print("  observed: " + ", ".join(f"rank {r} status {s}{' from ' + p if p else ''}"
                                         for r, (s, p) in enumerate(outcome.observed)))
    from ..spec.deviations import deviations_of
    for d in deviations_of(case.id, *context.deviation_setting):
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
