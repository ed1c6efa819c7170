"""Running a case: the `judge_case` fixture judges it on the (leased) backend, records what the judge found as
the test's `mc2` property (conformance.results.CaseRecord), labels it for Allure, and turns the Outcome into
pass / fail / skip with the one-line repro command on every failure."""

from __future__ import annotations

import json
import os
import re

import pytest

from ..reporting import allure_results
from ..results import CaseRecord, Category, output_of
from ..spec import BY_ID
from ..spec.deviations import deviations_of
from .leasing import leased_backend
from .results_log import deviation_setting


def label_case(case, *, seed: int) -> None:
    """The Allure labels of a case test (reporting.allure_results.label_case, with the kinds of the constraints
    the case covers from the catalogue)."""
    allure_results.label_case(case, seed=seed, constraint_kinds={BY_ID[c].kind for c in case.covers if c in BY_ID})


def case_record(case, outcome, *, outputs_file: str | None = None, context=None) -> CaseRecord:
    """The `mc2` property of a judged case: the Outcome's facts, with the structured facts readers would
    otherwise derive from the catalogue or from check names (the deviations matching the case, the output of
    each check)."""
    stats = outcome.stats()
    stat_outputs = {name: output_of(name) for name in stats if output_of(name) != name}
    return CaseRecord(
        case_id=case.id, category=outcome.category, op=case.op, dtype=case.dtype, world_size=case.world_size,
        kind=case.kind, covers=list(case.covers), seconds=round(outcome.seconds, 4), stats=stats,
        expected=outcome.expected, observed=outcome.observed, output_hashes=outcome.output_hashes,
        inputs_sha256=outcome.inputs_sha256, seed=outcome.seed, generator=outcome.generator,
        outputs_file=outputs_file or None,
        # mistrusted: passed, but its check could not discriminate (judge.py); the test does not fail
        mistrusted=outcome.detail if outcome.category == Category.MISTRUSTED else None,
        stat_outputs=stat_outputs or None,
        deviations=[d.id for d in deviations_of(case.id, *deviation_setting(context))] or None)


@pytest.fixture
def judge_case(request, mc2):
    """Run a case on the backend under test; fail with the judged report plus a repro line, or skip."""
    from ..judge import run_case

    def run(case, *, seed: int | None = None, expected: dict | None = None):
        alluring = bool(request.config.getoption("--alluredir", None))
        if alluring:
            label_case(case, seed=mc2.seed if seed is None else seed)
        context = mc2.context.replace(seed=mc2.seed if seed is None else seed, keep_outputs=bool(mc2.keep_outputs))
        outcome = run_case(case, leased_backend(mc2, case), context, expected=expected)
        kept = _keep_outputs(mc2.keep_outputs, request.node.nodeid, outcome.outputs)
        # user_properties cross the xdist channel, which carries only plain types: send JSON text
        request.node.user_properties.append(
            ("mc2", json.dumps(case_record(case, outcome, outputs_file=kept, context=context).to_dict(),
                               default=float)))
        if outcome.category == Category.UNSUPPORTED:
            pytest.skip(f"backend {mc2.backend.name} does not support this case: {outcome.detail}")
        if outcome.category == Category.HARDWARE_ONLY:  # recorded (mc2 property), counted apart by the summary
            pytest.skip(outcome.detail)
        if not outcome.passed:
            if alluring:
                allure_results.attach_failure(outcome)
            pytest.fail(f"{outcome.report()}\nrepro: {mc2.repro(request.node.nodeid)}", pytrace=False)
        return outcome

    return run


KEEP_OUTPUTS_LIMIT = 64 * 1024  # bytes per case: --mc2-keep-outputs stores only cases below it


def _keep_outputs(folder: str | None, nodeid: str, outputs: dict | None) -> str | None:
    """Write a small case's outputs to folder/<nodeid>.npz (each xdist worker its own files); the file's name
    (recorded as `outputs_file` in the mc2 property)."""
    if not folder or not outputs or sum(a.nbytes for a in outputs.values()) >= KEEP_OUTPUTS_LIMIT:
        return None
    import numpy as np
    name = re.sub(r"[^A-Za-z0-9._\[\]-]+", "_", nodeid)[-200:] + ".npz"
    os.makedirs(folder, exist_ok=True)
    # numpy's .npz cannot name bfloat16 (ml_dtypes): those are stored widened to float32, which is exact
    np.savez(os.path.join(folder, name), **{k: (a.astype(np.float32) if a.dtype.name == "bfloat16" else a)
                                            for k, a in outputs.items()})
    return name
