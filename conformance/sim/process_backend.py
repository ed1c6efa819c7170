"""The simulator in process mode: the same contract and rounding points, each rank in its own worker process
on the rank engine (conformance/engine), exchanging partials through shared memory. It exercises the engine
here exactly as the hardware backends use it on an Atlas A2 node."""

from __future__ import annotations

import dataclasses
import os

from ..engine import RankEngine
from ..protocol import Invocation, RankResult
from .backend import SimOptions, SimulatorBackend
from .rank_program import split_engine_faults

PROGRAM = "conformance.sim.rank_program:SimRankProgram"


class SimProcessBackend:
    name = "sim-process"
    reuses_rank_groups = True  # the plugin orders tests by world size so groups live long

    def __init__(self, faults=(), options: SimOptions | None = None, *, deadline_s: float = 60.0,
                 persistent: bool = True):
        numerical, self.engine_faults = split_engine_faults(tuple(faults))
        self._inline = SimulatorBackend(faults=numerical, options=options)  # describe/unsupported, and checks names
        self.faults = tuple(faults)
        self.deadline_s = deadline_s
        self.engine = RankEngine(program=PROGRAM, deadline_s=deadline_s, persistent=persistent,
                                 options={"faults": tuple(faults),
                                          "sim_options": dataclasses.asdict(self._inline.options),
                                          "device_log": os.environ.get("MC2_SIM_DEVICE_LOG")})

    def describe(self) -> dict[str, str]:
        info = self._inline.describe()
        info.update(backend="sim-process (CPU simulator, one worker process per rank)",
                    rank_deadline_s=str(self.deadline_s),
                    faults=",".join(sorted(self.faults)) or "none")
        return info

    def unsupported_reason(self, inv: Invocation) -> str | None:
        return self._inline.unsupported_reason(inv)

    def capacity_reason(self, estimate) -> str | None:
        """The in-process simulator's limit: the ranks' processes share the same host memory."""
        return self._inline.capacity_reason(estimate)

    def invoke(self, inv: Invocation) -> list[RankResult]:
        return self.engine.run(inv)

    def close(self) -> None:
        self.engine.close()

