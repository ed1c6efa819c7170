"""The independent correct backend (PyTorch CPU kernels) passes the signoff cases with the unchanged tolerance
model: evidence that the bounds are derived, not tuned to the simulator's rounding. Skipped without torch."""

import pytest

torch = pytest.importorskip("torch")

from conformance.backends import load_backend  # noqa: E402
from conformance.judge import run_case  # noqa: E402
from helpers import light_cases  # noqa: E402
from conformance.context import Context  # noqa: E402

CASES = light_cases("signoff")


def test_torch_backend_passes_every_light_signoff_case():
    backend = load_backend("torch-cpu")
    failures = [o.report() for o in (run_case(c, backend, Context(with_metrics=False)) for c in CASES) if not o.passed]
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


def test_torch_chain_feeds_the_precision_standard_and_the_chain_relation():
    """torch-cpu's own benchmark chain (separate torch operators): the chain relation holds and the vendor's
    precision standard gets a level; a backend without a chain would record 'not supported' instead."""
    from conformance import casegen, relations
    backend = load_backend("torch-cpu")
    v3_case = casegen.by_id("v3-tiny-bf16-x1_3d-x2nd-bias-deq1n-x3-fp-bf16-w2")
    assert relations.chain_matches(backend, v3_case, 0).status == relations.PASS
    outcome = run_case(casegen.by_id("marn-odd-x1_3d-x2T-bias-eps1e-06-fp16-w8"), backend, Context(seed=0))
    level = next(c.stats["level"] for c in outcome.checks if c.name == "precision standard")
    assert outcome.passed and level in ("L0", "L1", "L2")
