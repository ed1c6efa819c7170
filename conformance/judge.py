"""Run one case against one backend and judge it: the layer between cases and comparisons.

Returns an `Outcome`; it never raises for a failed check. Categories (also the report's failure categories):
pass, wrong_status, tolerance, exact_mismatch, cross_rank_mismatch, bad_output, unsupported, backend_error,
timeout and crash (a rank of a process-based backend hung past its deadline or died).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from .casegen.inputs import materialise
from .casegen.model import Case
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
    if "exact" in check.message:
        return "exact_mismatch"
    if check.name == "cross-rank identity":
        return "cross_rank_mismatch"
    if "bound" in check.name or "balance" in check.name:
        return "tolerance"
    return "bad_output"


def run_case(case: Case, backend, *, seed: int, accumulation: str = "probabilistic",
             with_metrics: bool = True, expected: dict | None = None, devices: tuple[int, ...] = ()) -> Outcome:
    """Judge `case` on `backend`. `expected` holds frozen reference outputs (golden) to compare against;
    `devices` are the device ids leased for it, passed on to the backend in the invocation."""
    t0 = time.perf_counter()
    inv = materialise(case, seed)
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
    if len(results) != case.world_size:
        return Outcome(case.id, "backend_error",
                       detail=f"backend returned {len(results)} rank results for world size {case.world_size}")
    checks = []
    for r, res in enumerate(results):
        ok = res.status == case.expected_status
        msg = (f"rank {r}: status {status_name(res.status)}, expected {status_name(case.expected_status)}"
               + (f" [{res.message}]" if res.message else ""))
        checks.append(compare.Check(f"rank {r} status", ok, msg, {}))
    if any(not c.passed for c in checks):
        return Outcome(case.id, "wrong_status", checks, seconds=time.perf_counter() - t0)
    if case.expected_status == 0 and not case.shape_only:
        exact_outputs = dict(case.params).get("exact_outputs") if case.kind == "exact" else ()
        checks += list(_NUMERIC_CHECKS[case.op](inv, results, exact=case.kind == "exact",
                                                exact_outputs=exact_outputs, accumulation=accumulation,
                                                with_metrics=with_metrics, expected=expected))
    failed = [c for c in checks if not c.passed]
    category = _category(failed[0]) if failed else "pass"
    return Outcome(case.id, category, checks, seconds=time.perf_counter() - t0)
