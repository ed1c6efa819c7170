"""Run the fuzzer: draw cases, judge each on the backend, shrink a failure within a time budget.

Budget: a number of examples, or wall time (run in rounds of examples until the time is spent). The example
database is a directory (safe to share between xdist workers). With a seed, runs are derandomised and repeat
exactly. Shrinking is bounded: once the first failure has been seen, attempts after `shrink_seconds` are
rejected, so hypothesis settles on the smallest failure found so far.

Differential mode (`reference`: a differential.LiveReference or BaselineReference): a failure is any behavioural
difference between the backend and the reference (differential.differences), not a contract failure; the
first difference found fixes the class that shrinking must keep.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import HypothesisException, Unsatisfiable

from ..casegen import serial
from ..casegen.model import Case
from ..judge import run_case
from . import differential
from .strategies import cases as case_strategy
from ..context import DEFAULT_CONTEXT, Context


@dataclass
class FuzzResult:
    examples: int = 0
    seconds: float = 0.0
    failure: Case | None = None
    report: str = ""
    log: list[str] = field(default_factory=list)
    difference: str = ""  # differential mode: the class of the difference found (differential.CLASSES)
    compared: int = 0  # differential mode: examples compared with the reference
    skipped: int = 0  # differential mode: examples the reference could not be compared on (unsupported, inputs)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


def fuzz(backend, *, space: str = "all", budget: int | None = 100, seconds: float | None = None, seed: int | None = 0,
         db: Path | None = None, shrink_seconds: float = 20.0, context: Context = DEFAULT_CONTEXT,
         progress=lambda msg: None, reference=None) -> FuzzResult:
    """Fuzz `space` on `backend`, each drawn case judged under `context` (the run's judging options; its seed and
    metrics switch are the fuzzer's own)."""
    judging = context.replace(with_metrics=False)
    result = FuzzResult()
    t0 = time.monotonic()
    state = {"first_failure": None, "smallest": None, "class": None}

    def found(case: Case, report: str):
        if state["first_failure"] is None:
            state["first_failure"] = time.monotonic()
            progress(f"fuzz: {'difference' if reference else 'failure'} after {result.examples} examples, "
                     f"shrinking (<= {shrink_seconds:.0f} s)")
        if state["smallest"] is None or case.cost <= state["smallest"][0].cost:
            state["smallest"] = (case, report)
        raise AssertionError(report)

    def differential_prop(drawn):
        case, run_seed = drawn if isinstance(drawn, tuple) else (drawn, 0)
        if state["first_failure"] is not None and time.monotonic() - state["first_failure"] > shrink_seconds:
            reject()
        result.examples += 1
        outcome = run_case(case, backend, judging.replace(seed=run_seed))
        ref = None if outcome.category == "unsupported" else reference.behaviour(
            case, run_seed, context=judging, inputs_sha256=outcome.inputs_sha256)
        if ref is None:
            result.skipped += 1
            reject()
        result.compared += 1
        diffs = differential.differences(ref, differential.Behaviour.of(outcome))
        if state["class"] is not None:  # shrinking: only a difference of the class first found counts
            diffs = [d for d in diffs if d[0] == state["class"]]
        if diffs:
            if state["class"] is None:
                state["class"] = diffs[0][0]
            if case.fixed_seed is None:  # a baseline's catalogue case: freeze the recorded inputs for replay
                case = dataclasses.replace(case, fixed_seed=case.seed(run_seed))
            found(case, f"{case.id} (seed {run_seed}): {state['class']} differs from {reference.label}\n"
                        + differential.describe(diffs)
                        + (f"\n  this side: {outcome.report()}" if not outcome.passed else ""))

    def prop(case: Case):
        if state["first_failure"] is not None and time.monotonic() - state["first_failure"] > shrink_seconds:
            reject()  # the shrink budget is spent: keep the smallest failure found so far
        result.examples += 1
        outcome = run_case(case, backend, judging.replace(seed=0))
        if outcome.category == "unsupported":
            reject()
        if not outcome.passed:
            if state["first_failure"] is None:
                state["first_failure"] = time.monotonic()
                progress(f"fuzz: failure after {result.examples} examples, shrinking (<= {shrink_seconds:.0f} s)")
            if state["smallest"] is None or case.cost <= state["smallest"][0].cost:
                state["smallest"] = (case, outcome.report())
            raise AssertionError(outcome.report())

    rounds = 0
    while True:
        per_round = budget if seconds is None else 25
        cfg = settings(max_examples=per_round, deadline=None,
                       database=DirectoryBasedExampleDatabase(str(db)) if db else None,
                       phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
                       suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        if reference is None:
            test = cfg(given(case_strategy(space))(prop))
        elif isinstance(reference, differential.BaselineReference):  # the recorded cases, at their seeds
            test = cfg(given(reference.strategy())(differential_prop))
        else:
            test = cfg(given(case_strategy(space))(differential_prop))
        if seed is not None:  # a fixed stream per round, reproducible from the seed
            test = hypothesis_seed(seed * 1000 + rounds)(test)
        try:
            test()
        except (AssertionError, HypothesisException, ExceptionGroup) as exc:
            # a failure (recorded in `state`), or hypothesis giving up once the shrink budget rejects replays
            if state["smallest"] is None and not (reference is not None and isinstance(exc, Unsatisfiable)):
                raise  # (differential mode: nothing comparable was drawn is a result, counted in `skipped`)
        rounds += 1
        if state["smallest"] is not None:
            result.failure, result.report = state["smallest"]
            result.difference = state["class"] or ""
            break
        if seconds is None or time.monotonic() - t0 >= seconds:
            break
        progress(f"fuzz: {result.examples} examples, {time.monotonic() - t0:.0f} s, no failure")
    result.seconds = time.monotonic() - t0
    return result


def save_failure(result: FuzzResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"case": serial.to_dict(result.failure), "report": result.report}, indent=1) + "\n")
    return path


def load_failure(path: Path) -> Case:
    try:
        return serial.from_dict(json.loads(Path(path).read_text())["case"])
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"cannot read a fuzz failure from {path}: {type(exc).__name__}: {exc}") from None
