"""The independent correct backend (PyTorch CPU kernels) passes the signoff cases with the unchanged tolerance
model: evidence that the bounds are derived, not tuned to the simulator's rounding. Skipped without torch."""

import pytest

torch = pytest.importorskip("torch")

from conformance.backends import load_backend  # noqa: E402
from conformance.judge import run_case  # noqa: E402
from helpers import light_cases  # noqa: E402

CASES = light_cases("signoff")


def test_torch_backend_passes_every_light_signoff_case():
    backend = load_backend("torch-cpu")
    failures = [o.report() for o in (run_case(c, backend, seed=0, with_metrics=False) for c in CASES) if not o.passed]
    assert not failures, "\n".join(failures[:5])


def test_torch_backend_really_differs_from_the_simulator():
    """If its outputs matched the simulator bit for bit it would prove nothing about the tolerance."""
    import numpy as np
    from conformance import casegen
    from conformance.casegen.inputs import materialise
    from conformance.sim import SimulatorBackend
    differ = 0
    for cid in ("marn-odd-x1_3d-x2T-bias-eps1e-06-bf16-w8", "v3-odd-fp16_pt-x1_3d-x2nzT-nobias-deq1-nox3-fp-fp16-w8"):
        inv = materialise(casegen.by_id(cid), 0)
        a, b = load_backend("torch-cpu").invoke(inv), SimulatorBackend().invoke(inv)
        for name in a[0].outputs:
            ours, sim = a[0].outputs[name].astype(np.float32), b[0].outputs[name].astype(np.float32)
            differ += int(np.count_nonzero(ours != sim))
    assert differ > 0
