"""`mc2-conformance fuzz`: property-based fuzzing of the valid and invalid input spaces; replay or export a
failure."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import add_suite_options, context_of


def cmd_fuzz(a) -> int:
    from ..backends import load_backend
    from ..casegen import serial
    from ..fuzz import runner
    from ..judge import run_case
    from .. import backend_setup
    context = context_of(a, with_metrics=False)
    backend = backend_setup.load(context, twin=backend_setup.prepare_twin(context))
    from ..fuzz import differential
    out = Path(a.out)
    if a.against and a.baseline:
        print("mc2-conformance fuzz: --against and --baseline are two reference sides: give one", file=sys.stderr)
        return 2
    if a.against_fault and not a.against:
        print("mc2-conformance fuzz: --against-fault needs --against", file=sys.stderr)
        return 2
    reference = None
    if a.against:
        reference = differential.LiveReference(
            load_backend(a.against, faults=a.against_fault or (), sim_options=context.sim_options),
            label=a.against + "".join(f" +{f}" for f in a.against_fault or ()))
    elif a.baseline:
        try:
            reference = differential.BaselineReference(a.baseline)
        except ValueError as exc:
            print(f"mc2-conformance fuzz: --baseline: {exc}", file=sys.stderr)
            return 2
        print(f"fuzz: baseline {a.baseline}: {len(reference.pool)} recorded catalogue cases drawable; a case is "
              f"compared only where its live inputs hash to the recorded inputs_sha256"
              + (f" ({len(reference.not_in_catalogue)} recorded ids not in the catalogue are left out)"
                 if reference.not_in_catalogue else ""))
    if a.replay:
        case = runner.load_failure(Path(a.replay))
        outcome = run_case(case, backend, context.replace(seed=0, with_metrics=True))
        print(outcome.report())
        if reference is None:
            return 0 if outcome.passed else 1
        ref = reference.behaviour(case, 0, context=context, inputs_sha256=outcome.inputs_sha256)
        if ref is None:
            print(f"fuzz: {reference.label} cannot be compared on {case.id}")
            return 2
        diffs = differential.differences(ref, differential.Behaviour.of(outcome))
        print(differential.describe(diffs) if diffs else f"fuzz: no difference from {reference.label}")
        return 1 if diffs else 0
    budget = None if a.time else a.budget
    result = runner.fuzz(backend, space=a.space, budget=budget, seconds=a.time, seed=context.seed, db=Path(a.db),
                         context=context, shrink_seconds=a.shrink_time, progress=print, reference=reference)
    print(f"fuzz: {result.examples} examples in {result.seconds:.1f} s ({result.rate:.1f} examples/s), "
          f"space {'baseline cases' if a.baseline else a.space}, backend {context.backend}"
          + (f", faults {','.join(context.faults)}" if context.faults else "")
          + (f"; against {reference.label}: {result.compared} compared, {result.skipped} not comparable"
             if reference else ""))
    if result.failure is None:
        print("fuzz: no difference found" if reference else "fuzz: no failure found")
        return 0
    path = runner.save_failure(result, out / "failure.json")
    args = " ".join(context.args(pytest=False, always=True,
                                 include=lambda o: o.flag in ("--backend", "--fault", "--twin", "--twin-revision")))
    if a.against:
        args += f" --against {a.against}" + "".join(f" --against-fault {f}" for f in a.against_fault or [])
    elif a.baseline:
        args += f" --baseline {a.baseline}"
    what = f"case differing in {result.difference}" if reference else "failing case"
    print(f"fuzz: minimal {what} {result.failure.id} (inputs seed {result.failure.fixed_seed})\n"
          f"{result.report}\n  saved: {path}\n  repro: mc2-conformance fuzz --replay {path} {args}")
    if a.export:
        target = serial.add_regression(result.failure)
        print(f"fuzz: exported to {target}; it now runs as cases/test_regressions.py::test_regression"
              f"[{result.failure.id}] (repro: mc2-conformance repro {result.failure.id} {args})")
    return 1


def register(sub) -> None:
    p = sub.add_parser("fuzz", help="property-based fuzzing of the valid and invalid input spaces")
    add_suite_options(p, profile=False)
    from ..fuzz.spaces import spaces
    p.add_argument("--space", default="all", choices=spaces(),
                   help="input space to draw from (default all)")
    p.add_argument("--budget", type=int, default=200, help="number of examples (default 200)")
    p.add_argument("--time", type=float, help="fuzz for this many seconds instead of a fixed budget")
    p.add_argument("--shrink-time", type=float, default=20.0, help="seconds allowed for shrinking a failure")
    p.add_argument("--db", default=".hypothesis/mc2-fuzz", help="example database folder (kept across runs)")
    p.add_argument("--out", default="results/fuzz", help="folder for failure.json (default results/fuzz)")
    p.add_argument("--export", action="store_true",
                   help="freeze the minimal failure into conformance/data/regressions.json")
    p.add_argument("--replay", help="rerun a saved failure.json instead of fuzzing")
    p.add_argument("--against", metavar="BACKEND",
                   help="differential fuzzing: run every drawn case on this reference backend too and report ANY "
                        "behavioural difference (status, phase, category, output bits), not contract failures")
    p.add_argument("--against-fault", action="append", default=[], metavar="FAULT",
                   help="simulator fault of the --against side (repeatable)")
    p.add_argument("--baseline", metavar="RUN_DIR",
                   help="differential fuzzing against a run folder of `mc2-conformance run`: draws the recorded "
                        "catalogue cases at their recorded seeds, compares only where the inputs hash matches")
    p.set_defaults(func=cmd_fuzz)
