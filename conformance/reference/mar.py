"""fp32 reference of MatmulAllReduce:

    output = sum_r (x1_r @ x2_r + bias_r)        bias counted once per rank (MAR-AMB-002), the same on every rank

It is the reduced matmul of MatmulAllReduceAddRmsNorm's reference (reference.marn.reduced_matmul: inputs upcast
exactly to float32, BLAS products, and the magnitudes the bound scales with), which reads only x1, x2 and bias of
each rank: one definition for the family.
"""

from __future__ import annotations

import numpy as np

from ..protocol import Invocation
from .marn import ReducedMatmul, reduced_matmul, reevaluation_tolerance

__all__ = ["ReducedMatmul", "golden_arrays", "golden_drift", "precision_outputs", "reference"]


def reference(inv: Invocation) -> ReducedMatmul:
    return reduced_matmul(inv)


def golden_arrays(inv: Invocation) -> dict[str, np.ndarray]:
    """The reference array frozen in golden/: the all-reduced output (every rank's) as float32 (m, n)."""
    return {"output": reference(inv).mm_out}


def golden_drift(inv: Invocation, live: dict, frozen: dict) -> list[str]:
    """MatmulAllReduceAddRmsNorm's y without the residual: two float32 evaluations of the reduced matmul differ by
    at most 2 dot_bound(k) |x1||x2| + a few u32 of the summed terms (BLAS order differs between machines)."""
    tol = reevaluation_tolerance(reference(inv))
    return [] if np.all(np.abs(live["output"] - frozen["output"]) <= tol) else ["output"]


def precision_outputs(inv: Invocation, expected: dict | None = None) -> tuple[dict[str, list[np.ndarray]], list[int]]:
    """The suite's reference of the output, compared on rank 0 (every rank holds the same all-reduced result):
    from the golden array `expected` where it has it, else computed."""
    if expected is not None and "output" in expected:
        return {"output": [np.asarray(expected["output"])]}, [0]
    return {"output": [reference(inv).mm_out]}, [0]
