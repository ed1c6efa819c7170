"""Run one case against one backend and judge it: the layer between cases and comparisons.

Returns an `Outcome`; it never raises for a failed check. Categories (also the report's failure categories):
pass, wrong_status, tolerance, exact_mismatch, cross_rank_mismatch, bad_output, unsupported, backend_error,
timeout and crash (a rank of a process-based backend hung past its deadline or died), and hardware_only: a
backend with a host-memory limit (`capacity_reason(estimate)`, optional) declined the case before any input was
drawn (casegen/estimate.py gives the estimate from the case's specs alone).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np

from . import operators
from .casegen.inputs import materialise
from .casegen.model import Case
from .context import DEFAULT_CONTEXT, Context
from .expectation import PHASE_WORDS, Expected, observed_phase
from .expectation import expected as _expected
from .golden import GENERATOR_VERSION, _bytes, inputs_sha256
from .protocol import ANSWERED_BEFORE_ACLNN, RankFailure, RankResult, status_name
from .tolerance import compare

HARDWARE_ONLY = "hardware_only"  # results.Category.HARDWARE_ONLY: the backend cannot hold the case


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
    def passed(self) -> bool:  # a mistrusted case passed, flagged (see the mistrusted block)
        return self.category in ("pass", "mistrusted")

    @property
    def failures(self) -> list[compare.Check]:
        return [c for c in self.checks if not c.passed]

    def report(self) -> str:
        if self.passed:
            return f"{self.case_id}: {self.category}" + (f"\n{self.detail}" if self.detail else "")
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


def _status_check(r: int, res: RankResult, want: Expected) -> compare.Check:
    status, phase, message = res.status, res.phase, res.message
    ok = want.admits_answer(status, phase, res.answered_by)
    if status and res.answered_by in ANSWERED_BEFORE_ACLNN:  # no aclnn status exists to judge
        said = (f"rank {r}: rejected before aclnn by {res.answered_by}'s own check (reported as "
                f"{status_name(status)}, not an aclnn status), expected {want.describe()} [{want.basis}]; "
                f"judged as a rejection")
    else:
        where = f" from {PHASE_WORDS[phase]}" if phase in PHASE_WORDS else ""
        said = f"rank {r}: status {status_name(status)}{where}, expected {want.describe()} [{want.basis}]"
    msg = said + (f" [{message}]" if message else "")
    return compare.Check(f"rank {r} status", ok, msg, {}, category="wrong_status")


def output_hashes(results) -> dict[str, str]:
    """sha256 of the bytes of every output of every rank, keyed "name.rank" (e.g. "y.0")."""
    return {f"{name}.{r}": hashlib.sha256(_bytes(a)).hexdigest()
            for r, res in enumerate(results) for name, a in sorted((res.outputs or {}).items()) if a is not None}


def _with_baseline(outcome: Outcome, inv_sha: str, seed: int, results=None, keep_outputs: bool = False) -> Outcome:
    outcome.inputs_sha256, outcome.seed = inv_sha, seed
    if results is not None:
        outcome.output_hashes = output_hashes(results)
        if keep_outputs:
            outcome.outputs = {f"{name}.{r}": np.asarray(a) for r, res in enumerate(results)
                               for name, a in (res.outputs or {}).items() if a is not None}
    return outcome


def run_case(case: Case, backend, context: Context = DEFAULT_CONTEXT, *, expected: dict | None = None,
             devices: tuple[int, ...] = ()) -> Outcome:
    """Judge `case` on `backend` as `context` (conformance.context.Context: the run's options, validated once)
    says: its seed, accumulation model, status check and document revision's constraints, precision standard,
    whether to compute the vendor metrics and keep the output arrays. `expected` holds frozen reference outputs
    (golden) to compare against; `devices` are the device ids leased for it, passed on to the backend in the
    invocation. The Outcome also records the inputs' hash and seed and every output's hash."""
    seed = context.seed
    t0 = time.perf_counter()
    want = _expected(case, status_check=context.status_check, constraints=context.constraints,
                     unsupported_inputs=context.unsupported_inputs)
    too_big = capacity_reason(case, backend)
    if too_big:  # before materialise: the inputs of such a case may not fit in memory at all
        return Outcome(case.id, HARDWARE_ONLY, detail=too_big, expected=want.describe(),
                       seconds=time.perf_counter() - t0)
    inv = materialise(case, seed)
    t_hash = time.perf_counter()
    inv_sha = inputs_sha256(inv)  # once per case: a later run's diff tells a generator change from a bit change
    t0 += time.perf_counter() - t_hash  # `seconds` stays comparable with runs that did not hash
    box: list = []
    outcome = _judge(case, backend, inv, t0, want, box, devices=devices, accumulation=context.accumulation,
                     with_metrics=context.with_metrics, expected=expected)
    _precision_standard(outcome, case, backend, inv, box, want, seed, expected, context.precision_standard)
    _mistrusted(outcome, case, box, want)
    return _with_baseline(outcome, inv_sha, seed, box[0] if box else None, context.keep_outputs)


def capacity_reason(case: Case, backend) -> str | None:
    """Why `backend` cannot hold `case` ("not run here: needs N GiB (limit L GiB)"), or None. Asked of backends
    that declare `capacity_reason(estimate)` (those that hold every rank's tensors in host memory); hardware
    backends declare none and are never limited. Shape-only cases allocate nothing and always run."""
    check = getattr(backend, "capacity_reason", None)
    if check is None or case.shape_only:
        return None
    from .casegen.estimate import of_case
    return check(of_case(case))


# ---- precision standard (hicann/opbase; conformance/tolerance/precision.py) ------------------------------------
_PRECISION_AFTER = ("pass", "tolerance", "exact_mismatch", "bad_output", "cross_rank_mismatch", "precision")


def _precision_standard(outcome: Outcome, case: Case, backend, inv, box: list, want: Expected, seed: int,
                        expected: dict | None, standard: str | None) -> None:
    """Append the "precision standard" check to an outcome whose outputs were judged: informational (always
    passing) unless `standard` ("opbase-L1", ...) is set; then a case below the level fails with the category
    "precision" (one more Outcome category, only with a standard set)."""
    if (not box or case.shape_only or not want.accept or outcome.category not in _PRECISION_AFTER
            or any(res.status for res in box[0]) or not all(res.outputs for res in box[0])):
        return
    from . import precision_runs
    check = precision_runs.check_case(case, backend, inv, box[0], seed=seed, expected=expected, standard=standard)
    outcome.checks.append(check)
    if not check.passed and outcome.category == "pass":
        outcome.category = "precision"

# ---- end precision standard --------------------------------------------------------------------------------------


# ---- mistrusted (oneDNN benchdnn's MISTRUSTED) ------------------------------------------------------------------
# A passing valid case whose numeric check cannot discriminate is reported "mistrusted", not "pass" (pass but
# flagged: Outcome.passed holds, the plugin does not fail the test, the verdict page lists it). The rule, applied
# only to a case judged "pass" whose outputs were checked (accepted, not shape-only, every rank status 0):
#   (a) nothing checked: the numeric checks covered zero elements in all (empty outputs, or every element left
#       unchecked by its bound), the case covers a `compute` constraint and no `accept` constraint. A case
#       covering an `accept` constraint (MARN-EMPTY-001/002: "an empty b*s is accepted", also in the inplace
#       variant, which covers MARN-INPLACE-001 too) is trusted: its point is the status, which its status check
#       discriminates (faults reject-empty-bs / reject-empty-n are killed by it).
#   (b) constant outputs: every output of every rank holds one value (compared as float32, so -0 == +0), at
#       least one output has two or more elements, the case is not `exact` and does not declare
#       params (("trusted_constant", True),). A passing output is within the bound of the reference, so the
#       reference is constant too: a backend writing that constant without computing would pass. An `exact`
#       case is trusted: its design pins the result bit for bit (the rounding probes, whose constant result
#       is their very point). A single-element output is one computed value, not a constant fill.
MISTRUSTED = "mistrusted"


def _mistrust_reason(outcome: Outcome, case: Case, results) -> str | None:
    from .spec import BY_ID
    counted = [c for c in outcome.checks if "elements" in c.stats and not c.name.startswith("precision")]
    checked = sum(int(c.stats.get("checked", c.stats["elements"])) for c in counted)
    kinds = {BY_ID[cid].kind for cid in case.covers if cid in BY_ID}
    if checked == 0 and "compute" in kinds and "accept" not in kinds:
        return "mistrusted: the numeric checks covered 0 elements (nothing could fail)"
    if case.kind == "exact" or dict(case.params).get("trusted_constant"):
        return None
    arrays = [np.asarray(a) for res in results for a in (res.outputs or {}).values() if a is not None]
    if not arrays or max(a.size for a in arrays) < 2:
        return None
    for a in arrays:
        f = a.reshape(-1)  # compared in its own dtype (as in float32: -0 == +0, NaN differs), no float32 copy
        if f.size and not (bool(np.all(f[:64] == f[0])) and bool(np.all(f == f[0]))):
            return None
    values = sorted({float(np.asarray(a).reshape(-1)[0].astype(np.float32)) for a in arrays if a.size})
    return (f"mistrusted: every output is constant ({', '.join(f'{v:g}' for v in values[:4])}): a backend writing "
            f"the constant without computing would pass")


def _mistrusted(outcome: Outcome, case: Case, box: list, want: Expected) -> None:
    if (outcome.category != "pass" or not box or case.shape_only or not want.accept
            or any(res.status for res in box[0])):
        return
    reason = _mistrust_reason(outcome, case, box[0])
    if reason:
        outcome.category, outcome.detail = MISTRUSTED, reason

# ---- end mistrusted ---------------------------------------------------------------------------------------------


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
    checks = [_status_check(r, res, want) for r, res in enumerate(results)]
    observed = [(res.status, observed_phase(res.phase, res.answered_by, res.status)) for res in results]
    before = sorted({res.answered_by for res in results if res.status and res.answered_by in ANSWERED_BEFORE_ACLNN})
    answered = (f"rejected before aclnn by {' and '.join(before)}'s own check: no aclnn status to judge"
                if before else "")
    if any(not c.passed for c in checks):
        return Outcome(case.id, "wrong_status", checks, detail=answered, seconds=time.perf_counter() - t0,
                       expected=want.describe(), observed=observed)
    rejected_on_purpose = want.may_reject and all(res.status for res in results)
    # an unsupported input no document promises to reject, accepted by every rank: judged as a valid case would be
    computed_instead = want.may_compute and not any(res.status for res in results)
    if want.may_compute and not computed_instead and not all(res.status for res in results):
        checks.append(compare.Check("ranks agree", False, "ranks disagree: some accepted the unsupported input, "
                                    "others rejected it (either is conformant, but not both)", {},
                                    category="wrong_status"))
    if (want.accept and not case.shape_only and not rejected_on_purpose) or computed_instead:
        exact_outputs = dict(case.params).get("exact_outputs") if case.kind == "exact" else ()
        numeric_check = operators.get(case.op).code("check")  # the operator's reference, bound and comparison
        checks += list(numeric_check(inv, results, exact=case.kind == "exact", exact_outputs=exact_outputs,
                                     accumulation=accumulation, with_metrics=with_metrics, expected=expected))
    failed = [c for c in checks if not c.passed]
    category = _category(failed[0]) if failed else "pass"
    return Outcome(case.id, category, checks, detail=answered, seconds=time.perf_counter() - t0,
                   expected=want.describe(), observed=observed)
