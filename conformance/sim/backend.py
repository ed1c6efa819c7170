"""SimulatorBackend: validation as GetWorkspaceSize performs it, then the device's arithmetic, per rank."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import numpy as np

from .. import __version__
from ..protocol import ACLNN_ERR_INNER, Invocation, RankResult
from . import marn_numerics, v3_numerics, validate_marn, validate_v3
from .faults import parse_faults

ALLREDUCE_ACCUMULATIONS = ("float32", "output_dtype")


@dataclass(frozen=True)
class SimOptions:
    """Modelling choices where the documents are silent (each named in the constraint listing).

    allreduce_accumulation: how HCCL sums fp16/bf16 partials (MARN-AMB-003, UNCONFIRMED in device-facts 3):
        "float32" (default: sum in fp32, store once) or "output_dtype" (sequential sum, rounding each add).
    """

    allreduce_accumulation: str = "float32"

    def __post_init__(self):
        if self.allreduce_accumulation not in ALLREDUCE_ACCUMULATIONS:
            raise ValueError(f"allreduce_accumulation {self.allreduce_accumulation!r} not in "
                             f"{', '.join(ALLREDUCE_ACCUMULATIONS)}")


VALIDATORS = {
    "MatmulAllReduceAddRmsNorm": validate_marn.validate,
    "InplaceMatmulAllReduceAddRmsNorm": validate_marn.validate,
    "QuantMatmulAllReduceV3": validate_v3.validate,
}
_NUMERICS = {
    "MatmulAllReduceAddRmsNorm": marn_numerics.run,
    "InplaceMatmulAllReduceAddRmsNorm": marn_numerics.run,
    "QuantMatmulAllReduceV3": v3_numerics.run,
}


class SimulatorBackend:
    name = "sim"

    def __init__(self, faults=(), options: SimOptions | None = None):
        self.faults = parse_faults(tuple(faults))
        self.options = options or SimOptions()

    def describe(self) -> dict[str, str]:
        return {"backend": "sim (CPU simulator)", "suite_version": __version__,
                "numpy": np.__version__, "machine": platform.machine(),
                "allreduce_accumulation": self.options.allreduce_accumulation,
                "faults": ",".join(sorted(self.faults)) or "none"}

    def unsupported_reason(self, inv: Invocation) -> str | None:
        if inv.op not in VALIDATORS:
            return f"the simulator does not implement {inv.op}"
        return None

    def invoke(self, inv: Invocation) -> list[RankResult]:
        validate = VALIDATORS[inv.op]
        results = []
        for tensors in inv.ranks:
            status, _, message = validate(inv.op, dict(tensors), dict(inv.attrs), inv.world_size, self.faults)
            results.append(RankResult(status, {}, message))
        if inv.shape_only or any(r.status for r in results):
            return results
        try:
            outs = _NUMERICS[inv.op](inv.op, [dict(t) for t in inv.ranks], dict(inv.attrs), self.faults,
                                     self.options.allreduce_accumulation)
        except Exception as exc:  # an unvalidated input reached the kernel: the device would fail inside
            return [RankResult(ACLNN_ERR_INNER, {}, f"kernel failed: {type(exc).__name__}: {exc}")
                    for _ in inv.ranks]
        return [RankResult(0, o) for o in outs]
