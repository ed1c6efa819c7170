"""Run the fuzzer: draw cases, judge each on the backend, shrink a failure within a time budget.

Budget: a number of examples, or wall time (run in rounds of examples until the time is spent). The example
database is a directory (safe to share between xdist workers). With a seed, runs are derandomised and repeat
exactly. Shrinking is bounded: once the first failure has been seen, attempts after `shrink_seconds` are
rejected, so hypothesis settles on the smallest failure found so far.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import HypothesisException

from ..casegen import serial
from ..casegen.model import Case
from ..judge import run_case
from .strategies import cases as case_strategy


@dataclass
class FuzzResult:
    examples: int = 0
    seconds: float = 0.0
    failure: Case | None = None
    report: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


def fuzz(backend, *, space: str = "all", budget: int | None = 100, seconds: float | None = None, seed: int | None = 0,
         db: Path | None = None, shrink_seconds: float = 20.0, accumulation: str = "probabilistic",
         progress=lambda msg: None) -> FuzzResult:
    result = FuzzResult()
    t0 = time.monotonic()
    state = {"first_failure": None, "smallest": None}

    def prop(case: Case):
        if state["first_failure"] is not None and time.monotonic() - state["first_failure"] > shrink_seconds:
            reject()  # the shrink budget is spent: keep the smallest failure found so far
        result.examples += 1
        outcome = run_case(case, backend, seed=0, accumulation=accumulation, with_metrics=False)
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
        test = cfg(given(case_strategy(space))(prop))
        if seed is not None:  # a fixed stream per round, reproducible from the seed
            test = hypothesis_seed(seed * 1000 + rounds)(test)
        try:
            test()
        except (AssertionError, HypothesisException, ExceptionGroup):
            # a failure (recorded in `state`), or hypothesis giving up once the shrink budget rejects replays
            if state["smallest"] is None:
                raise
        rounds += 1
        if state["smallest"] is not None:
            result.failure, result.report = state["smallest"]
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
