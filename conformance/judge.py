"""Run one case against one backend and judge it: the layer between cases and comparisons.

Returns an `Outcome`; it never raises for a failed check. Categories (also the report's failure categories):
pass, wrong_status, tolerance, exact_mismatch, cross_rank_mismatch, bad_output, unsupported, backend_error,
timeout and crash (a rank of a process-based backend hung past its deadline or died).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from .casegen.inputs import materialise
from .casegen.model import Case
from .expectation import PHASE_WORDS, Expected
from .expectation import expected as _expected
from .golden import GENERATOR_VERSION, inputs_sha256
from .protocol import RankFailure, status_name
from .tolerance import compare, marn_check, v3_check

_NUMERIC_CHECKS = {
    "MatmulAllReduceAddRmsNorm": marn_check.check,
    "InplaceMatmulAllReduceAddRmsNorm": marn_check.check,
    "QuantMatmulAllReduceV3": v3_check.check,
}


@dataclass
class Outcome:
    case_id: str
    category: str
    checks: list[compare.Check] = field(default_factory=list)
    detail: str = ""
    seconds: float = 0.0
    expected: str = ""  # what the catalogue promises (Expected.describe())
    observed: list[tuple[int, str]] = field(default_factory=list)  # (status, phase) per rank, recorded always
    # the baseline of a later run (`mc2-conformance diff`): sha256 of each output's bytes per rank ("y.0"), the
    # materialised inputs' sha256 (golden.inputs_sha256), the seed given to materialise and the generator version
    output_hashes: dict[str, str] = field(default_factory=dict)
    inputs_sha256: str = ""
    seed: int | None = None
    generator: str = GENERATOR_VERSION
    outputs: dict | None = field(default=None, repr=False)  # the arrays themselves, only with keep_outputs

    @property
    def passed(self) -> bool:
        return self.category == "pass"

    @property
    def failures(self) -> list[compare.Check]:
        return [c for c in self.checks if not c.passed]

    def report(self) -> str:
        if self.passed:
            return f"{self.case_id}: pass"
        lines = [f"{self.case_id}: {self.category}"]
        if self.detail:
            lines.append(self.detail)
        lines += [f"  {c.message}" for c in self.failures]
        return "\n".join(lines)

    def stats(self, *, samples: bool = False) -> dict:
        """Per-check statistics; `samples` keeps the worst-element samples failing checks carry for plots."""
        return {c.name: (c.stats if samples else {k: v for k, v in c.stats.items() if k != "sample"})
                for c in self.checks if c.stats}


def _category(check: compare.Check) -> str:
    return check.category or "bad_output"


def _status_check(r: int, status: int, phase: str, message: str, want: Expected) -> compare.Check:
    where = f" from {PHASE_WORDS[phase]}" if phase in PHASE_WORDS else ""
    ok = want.admits(status, phase)
    msg = (f"rank {r}: status {status_name(status)}{where}, expected {want.describe()} [{want.basis}]"
           + (f" [{message}]" if message else ""))
    return compare.Check(f"rank {r} status", ok, msg, {}, category="wrong_status")


def output_hashes(results) -> dict[str, str]:
    """sha256 of the bytes of every output of every rank, keyed "name.rank" (e.g. "y.0")."""
    return {f"{name}.{r}": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
            for r, res in enumerate(results) for name, a in sorted((res.outputs or {}).items()) if a is not None}


def _with_baseline(outcome: Outcome, inv_sha: str, seed: int, results=None, keep_outputs: bool = False) -> Outcome:
    outcome.inputs_sha256, outcome.seed = inv_sha, seed
    if results is not None:
        outcome.output_hashes = output_hashes(results)
        if keep_outputs:
            outcome.outputs = {f"{name}.{r}": np.asarray(a) for r, res in enumerate(results)
                               for name, a in (res.outputs or {}).items() if a is not None}
    return outcome


def run_case(case: Case, backend, *, seed: int, accumulation: str = "probabilistic",
             with_metrics: bool = True, expected: dict | None = None, devices: tuple[int, ...] = (),
             status_check: str = "documented", constraints=None, keep_outputs: bool = False) -> Outcome:
    """Judge `case` on `backend`. `expected` holds frozen reference outputs (golden) to compare against;
    `devices` are the device ids leased for it, passed on to the backend in the invocation. The expected
    status comes from the catalogue (`constraints`: another document revision's records, default the
    contract's) under `status_check` ("documented" or "convention"). The Outcome also records the inputs'
    hash and seed and every output's hash (`keep_outputs`: the output arrays too)."""
    t0 = time.perf_counter()
    want = _expected(case, status_check=status_check, constraints=constraints)
    inv = materialise(case, seed)
    t_hash = time.perf_counter()
    inv_sha = inputs_sha256(inv)  # once per case: a later run's diff tells a generator change from a bit change
    t0 += time.perf_counter() - t_hash  # `seconds` stays comparable with runs that did not hash
    box: list = []
    outcome = _judge(case, backend, inv, t0, want, box, devices=devices, accumulation=accumulation,
                     with_metrics=with_metrics, expected=expected)
    return _with_baseline(outcome, inv_sha, seed, box[0] if box else None, keep_outputs)


def _judge(case: Case, backend, inv, t0: float, want: Expected, box: list, *, devices, accumulation, with_metrics,
           expected) -> Outcome:
    """The judgement proper; appends the backend's rank results to `box` once it has them."""
    if devices:
        inv = dataclasses.replace(inv, devices=tuple(devices))
    reason = backend.unsupported_reason(inv)
    if reason:
        return Outcome(case.id, "unsupported", detail=reason)
    try:
        results = backend.invoke(inv)
    except RankFailure as exc:  # a hung or dead rank: the engine has torn its group down; the run goes on
        return Outcome(case.id, exc.kind, detail=str(exc), seconds=time.perf_counter() - t0)
    except Exception as exc:  # a backend bug is a finding, not a crash of the suite
        return Outcome(case.id, "backend_error", detail=f"backend raised {type(exc).__name__}: {exc}")
    box.append(results)
    if len(results) != case.world_size:
        return Outcome(case.id, "backend_error",
                       detail=f"backend returned {len(results)} rank results for world size {case.world_size}")
    checks = [_status_check(r, res.status, res.phase, res.message, want) for r, res in enumerate(results)]
    observed = [(res.status, res.phase) for res in results]
    if any(not c.passed for c in checks):
        return Outcome(case.id, "wrong_status", checks, seconds=time.perf_counter() - t0,
                       expected=want.describe(), observed=observed)
    rejected_on_purpose = want.may_reject and all(res.status for res in results)
    if want.accept and not case.shape_only and not rejected_on_purpose:
        exact_outputs = dict(case.params).get("exact_outputs") if case.kind == "exact" else ()
        checks += list(_NUMERIC_CHECKS[case.op](inv, results, exact=case.kind == "exact",
                                                exact_outputs=exact_outputs, accumulation=accumulation,
                                                with_metrics=with_metrics, expected=expected))
    failed = [c for c in checks if not c.passed]
    category = _category(failed[0]) if failed else "pass"
    return Outcome(case.id, category, checks, seconds=time.perf_counter() - t0, expected=want.describe(),
                   observed=observed)
