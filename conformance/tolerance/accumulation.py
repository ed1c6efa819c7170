"""Bounds for a float32 dot product of length k, the one named modelling choice of the tolerance model.

worst_case:    gamma_k = k u / (1 - k u) (Higham, Thm 3.1). Always valid, but for k = 8192 it is 2^-11 of
               sum |x||w|, as large as the fp16 output rounding, and would hide real faults.
probabilistic: exp(lambda sqrt(k) u + k u^2 / (1 - u)) - 1 (Higham & Mary 2019, Thm 2.4): holds with
               probability >= 1 - 2 exp(-lambda^2 (1 - u)^2 / 2) per dot product when rounding errors are
               mean-independent, true of round-to-nearest on non-adversarial data. lambda = 8 gives a failure
               probability of 2.5e-14 per element, i.e. < 1e-5 over every element of a full run.
The default is `probabilistic`; choose `worst_case` with --accumulation-bound worst_case.
"""

from __future__ import annotations

import math

from ..dtypes import U32, gamma_n

ACCUMULATION_BOUNDS = ("probabilistic", "worst_case")
DEFAULT_ACCUMULATION = ACCUMULATION_BOUNDS[0]  # the one place the default is written (options, context, bounds)
LAMBDA = 8.0


def dot_bound(k: int, mode: str = DEFAULT_ACCUMULATION) -> float:
    """Relative bound (multiplying sum |x||w|) on a float32 dot product of length k."""
    if mode == "worst_case":
        return float(gamma_n(k, U32))
    if mode == "probabilistic":
        return math.expm1(LAMBDA * math.sqrt(k) * U32 + k * U32 * U32 / (1 - U32))
    raise ValueError(f"unknown accumulation bound {mode!r}; expected one of {', '.join(ACCUMULATION_BOUNDS)}")
