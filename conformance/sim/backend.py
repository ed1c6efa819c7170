"""SimulatorBackend: validation as GetWorkspaceSize performs it, then the device's arithmetic, per rank."""

from __future__ import annotations

import platform
from dataclasses import dataclass

import numpy as np

from .. import __version__, operators
from ..hooks import SIM_HOST_CHECK_HOOKS, SIM_OUTPUTS
from ..protocol import (ACLNN_ERR_INNER, HOST_MEMORY_LIMIT_BYTES, PHASE_LAUNCH, PHASE_WORKSPACE, TARGET_SIMULATOR,
                        Invocation, RankResult)
from .faults import parse_faults

# the names of the modelling options and numeric paths are defined below the simulator, with the option table's
# (tests/test_layering.py checks the numerics implement exactly these)
from ..numeric_paths import ALLREDUCE_ACCUMULATIONS, RMS_SOURCES, X3_ROUNDINGS  # noqa: E402


@dataclass(frozen=True)
class SimOptions:
    """Modelling choices where the documents are silent (each named in the constraint listing).

    allreduce_accumulation: how HCCL sums fp16/bf16 partials (MARN-AMB-003, UNCONFIRMED in device-facts 3):
        "float32" (default: sum in fp32, store once) or "output_dtype" (sequential sum, rounding each add).
    bf16_rms_source: which bf16 value feeds the RMSNorm (MARN-AMB-007; the kernel picks one per shape,
        device-facts 3): "fp32_sum" (default), "rounded_y" or "split_d" (mean square from the fp32 sum,
        numerator from the rounded y).
    x3_rounding: V3's x3 added to the product after it was stored in the output dtype ("after_store",
        default: what the kernels do, device-facts 1) or before the one store ("fused") (V3-AMB-007).
    """

    allreduce_accumulation: str = "float32"
    bf16_rms_source: str = "fp32_sum"
    x3_rounding: str = "after_store"

    def __post_init__(self):
        for name, allowed in (("allreduce_accumulation", ALLREDUCE_ACCUMULATIONS),
                              ("bf16_rms_source", RMS_SOURCES), ("x3_rounding", X3_ROUNDINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} {getattr(self, name)!r} not in {', '.join(allowed)}")

    def path_of(self, op: str) -> str:
        """The keyword the operator's numerics take for the path option (the field its record names)."""
        return getattr(self, operators.get(op).path_option)


def _implemented(op: str) -> operators.Operator | None:
    """The record of `op` if the simulator implements it (its validator and numerics), else None."""
    try:
        record = operators.get(op)
    except operators.UnknownOperator:
        return None
    return record if record.validate is not None and record.numerics is not None else None


class SimulatorBackend:
    name = "sim"

    def __init__(self, faults=(), options: SimOptions | None = None, *,
                 memory_limit_bytes: int = HOST_MEMORY_LIMIT_BYTES):
        self.faults = parse_faults(tuple(faults))
        self.options = options or SimOptions()
        self.memory_limit_bytes = memory_limit_bytes  # every rank's tensors live in this process
        self._calls = 0  # the number of calls computed (hook site SIM_OUTPUTS gets it)
        self._last_rejected = False  # whether the previous call was rejected (hook site SIM_OUTPUTS gets it)

    def describe(self) -> dict[str, str]:
        return {"backend": "sim (CPU simulator)", "target": TARGET_SIMULATOR, "suite_version": __version__,
                "numpy": np.__version__, "machine": platform.machine(),
                "allreduce_accumulation": self.options.allreduce_accumulation,
                "bf16_rms_source": self.options.bf16_rms_source, "x3_rounding": self.options.x3_rounding,
                "faults": ",".join(sorted(self.faults)) or "none"}

    def unsupported_reason(self, inv: Invocation) -> str | None:
        if _implemented(inv.op) is None:
            return f"the simulator does not implement {inv.op}"
        return None

    def capacity_reason(self, estimate) -> str | None:
        """Declines, before its inputs exist, a case whose estimated host memory is over the limit."""
        return estimate.exceeds(self.memory_limit_bytes)

    def _validate(self, inv: Invocation) -> list[RankResult]:
        """GetWorkspaceSize on every rank (the fused call and the chain validate alike, so statuses match)."""
        record = operators.get(inv.op)
        validate = record.validate.load()
        hooks = self.faults.at(SIM_HOST_CHECK_HOOKS, self.faults, inplace=record.writes_inplace)
        results = []
        for tensors in inv.ranks:
            status, _, message = validate(inv.op, dict(tensors), dict(inv.attrs), inv.world_size, hooks)
            results.append(RankResult(status, {}, message, PHASE_WORKSPACE if status else ""))
        return results

    def invoke(self, inv: Invocation) -> list[RankResult]:
        results = self._validate(inv)
        after_rejection, self._last_rejected = self._last_rejected, any(r.status for r in results)
        if inv.shape_only or any(r.status for r in results):
            return results
        try:
            outs = operators.get(inv.op).numerics(inv.op, [dict(t) for t in inv.ranks], dict(inv.attrs),
                                                  self.faults, self.options.allreduce_accumulation,
                                                  self.options.path_of(inv.op))
        except Exception as exc:  # an unvalidated input reached the kernel: the device would fail inside
            return [RankResult(ACLNN_ERR_INNER, {}, f"kernel failed: {type(exc).__name__}: {exc}", PHASE_LAUNCH)
                    for _ in inv.ranks]
        self._calls += 1
        outs = self.faults.at(SIM_OUTPUTS, outs, call=self._calls, after_rejection=after_rejection)
        return [RankResult(0, o) for o in outs]

    def invoke_chain(self, inv: Invocation) -> list[RankResult]:
        """The benchmark chain (sim/chain.py): the same validation as invoke (so the statuses match), then the
        separate operators in place of the fused kernel. Faults apply to the validation only."""
        from .chain import run_chain
        results = self._validate(inv)
        if inv.shape_only or any(r.status for r in results):
            return results
        try:
            outs = run_chain(inv.op, inv.ranks, inv.attrs)
        except Exception as exc:
            return [RankResult(ACLNN_ERR_INNER, {}, f"chain failed: {type(exc).__name__}: {exc}", PHASE_LAUNCH)
                    for _ in inv.ranks]
        return [RankResult(0, o) for o in outs]
