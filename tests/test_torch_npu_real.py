"""The torch_npu backend on the real torch_npu (torch-npu 2.13.0 from the registry) running on the CANN twin
(conformance/twin: fake CANN libraries, HCCL over shared memory, the operators executed by sim-cann).

What only the real stack can answer, and the stand-in (tests/stand_ins/torch_npu_stand_in.py) therefore no longer
claims: the smoke profile end to end; which interface answers a rejection (op_plugin's own check before aclnn,
or aclnn's status in "call aclnnXxx failed, error code is N"); the message forms the backend reads (with the pid
in them); whether npu_format_cast produces NZ on this stack.

Skips with the reason where torch_npu or the twin (a C compiler, torch_npu's headers) is missing.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest

from conformance import casegen
from conformance.backends.torch_npu_errors import read_exception
from conformance.casegen.inputs import materialise
from conformance.context import Context
from conformance.judge import run_case
from conformance.protocol import ACLNN_ERR_INNER, PHASE_WORKSPACE
from conformance.sim.cann.backend import CannOptions, SimCannBackend
from conformance.spec.deviations import deviations_of
from helpers import prepared_twin

COMM1_ONLY = "v3-V3-COMM-001-comm1_only-fp16-w2"  # one comm scale: op_plugin refuses it (research B5)
K_MISMATCH = "v3-V3-SHAPE-004-k_mismatch-fp16-w2"  # K of x1 and x2 differ: op_plugin's check_params (B1)
EMPTY_K = "v3-V3-EMPTY-001-empty_k-fp16-w2"  # k = 0 passes op_plugin's checks: aclnn answers 161002
NZ_LOWBIT = "v3-tiny-fp16_i64-x1_2d-x2nd-nobias-deq1-nox3-lowbit-fp16-w1"  # an ND case, recast as NZ below


@pytest.fixture(scope="module")
def twin():
    return prepared_twin(needs_torch_npu=True)


@pytest.fixture(scope="module")
def backend(twin):
    from conformance.backends.torch_npu_backend import TorchNpuBackend
    env = {**os.environ, **twin.env}
    env.pop("TORCH_DEVICE_BACKEND_AUTOLOAD", None)  # the ranks load torch_npu as torch's device backend
    b = TorchNpuBackend(env=env, deadline_s=300)
    yield b
    b.close()


@pytest.fixture(scope="module")
def smoke(backend):
    """Every smoke case judged on the twin, world size by world size (one worker group each)."""
    cases = sorted(casegen.select(profile="smoke", world_sizes=(1, 2, 4, 8)), key=lambda c: (c.world_size, c.id))
    return {c.id: run_case(c, backend, Context(seed=0)) for c in cases}


def said(outcome) -> str:
    """What the ranks' status checks said (the backend's message of each rank included)."""
    return "\n".join(c.message for c in outcome.checks if c.name.endswith(" status"))


def test_smoke_passes_on_the_twin(smoke, backend, twin):
    # a case of a known deviation at the twin's revision fails as sim-cann's does (the run waives it)
    failed = [o.report() for cid, o in smoke.items() if not o.passed and o.category != "unsupported"
              and not deviations_of(cid, twin.revision)]
    assert failed == []
    ran = Counter(o.category for o in smoke.values())
    assert ran["pass"] >= 8, ran  # the V3 cases with comm scales run; MARN needs MindSpeed (not in the registry)
    # the workers restarted once per case a rank failed past GetWorkspaceSize in (a launch failure), never otherwise
    launched = [cid for cid, o in smoke.items() if any(st and ph not in ("", PHASE_WORKSPACE) and "before aclnn"
                                                       not in ph for st, ph in o.observed)]
    assert backend.restarts == len(launched), (backend.restarts, launched, {c: smoke[c].observed for c in launched})


def test_a_rejection_by_torch_npus_own_check_is_judged_and_reported_as_such(smoke):
    for cid in (COMM1_ONLY, K_MISMATCH):
        outcome = smoke[cid]
        assert outcome.category == "pass", outcome.report()
        assert outcome.observed == [(ACLNN_ERR_INNER, "torch_npu (before aclnn)")] * 2, cid
        assert "rejected before aclnn by torch_npu's own check" in outcome.detail
        assert re.search(r"ERR01\d{3} OPS", said(outcome))  # op_plugin's own tag, in the real message


def model_status(case_id: str, revision: str) -> int:
    """What the device model (sim-cann at the twin's revision) answers for the case: the status aclnn returns."""
    inv = materialise(next(c for c in casegen.catalogue() if c.id == case_id), 0)
    return SimCannBackend(CannOptions(revision=revision)).invoke(inv)[0].status


def test_a_rejection_by_aclnn_carries_its_status_and_phase(smoke, twin):
    # k = 0 passes op_plugin's checks and reaches aclnn, which answers in GetWorkspaceSize (the model's status:
    # 561002 from the tiling at every modelled revision, a known deviation from the document's 161002)
    outcome, status = smoke[EMPTY_K], model_status(EMPTY_K, twin.revision)
    assert status != 0
    assert outcome.observed == [(status, "workspace")] * 2, outcome.report()
    assert f"call aclnnQuantMatmulAllReduceV3 failed, error code is {status}" in said(outcome)


def test_the_pid_in_a_real_message_is_never_the_status(smoke, twin):
    """The real message carries the rank's pid: made to look like a status, it still is not read as one."""
    status = model_status(EMPTY_K, twin.revision)
    text = said(smoke[EMPTY_K]).splitlines()[0]
    raw = text[text.index("RuntimeError: ") + len("RuntimeError: "):]
    assert re.search(r"\(PID:\d+, Device:", raw)
    for pid in ("161001", "161002", "561002"):
        got = read_exception(RuntimeError(re.sub(r"PID:\d+", f"PID:{pid}", raw)))
        assert (got.status, got.phase, got.answered_by) == (status, "workspace", "aclnn")
    check = said(smoke[K_MISMATCH]).splitlines()[0]
    raw = check[check.index("RuntimeError: ") + len("RuntimeError: "):]
    assert read_exception(RuntimeError(re.sub(r"PID:\d+", "PID:161002", raw))).status == ACLNN_ERR_INNER


def test_nz_on_the_twin_is_what_npu_format_cast_produces(backend):
    """The probe asks the real npu_format_cast; whichever way the twin answers, the declaration follows it."""
    from dataclasses import replace

    from conformance.protocol import TensorArg
    inv = materialise(casegen.by_id(NZ_LOWBIT), 0)
    x2 = inv.ranks[0]["x2"]
    nz_x2 = TensorArg(x2.dtype, x2.shape, x2.strides, "FRACTAL_NZ", None, x2.data)  # ND values, tagged NZ
    inv = replace(inv, ranks=({**inv.ranks[0], "x2": nz_x2},))
    reason = backend.unsupported_reason(inv)
    [probe] = backend._engine.run(replace(inv, ranks=({},)), mode="probe")
    assert (reason is None) == bool(probe.outputs["nz"][0]), (reason, probe.message)
    if reason:
        assert "FRACTAL_NZ not producible" in reason and "format 2" in reason
