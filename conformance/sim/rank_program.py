"""The simulator's process mode: each rank validates its own arguments and computes in its own process, and
the ranks exchange their partials through the rank engine's allgather, as the device ranks do over HCCS.

Besides the simulator's numerical faults it has two engine faults, for proving the engine's isolation:
  rank-hangs:<r>   rank r prints a line, then never joins the all-reduce (its peers block in it)
  rank-dies:<r>    rank r prints a line, then kills itself with SIGKILL just before the all-reduce
Both hit every invocation whose world size exceeds r.

Option `device_log` (a path; the backend takes it from env MC2_SIM_DEVICE_LOG): each rank appends one JSON
line per invocation (case, rank, device, pid, start, end), so tests can prove from the ranks' own view that no
two invocations ever shared a leased device.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import signal
import time

from .. import operators
from ..protocol import ACLNN_ERR_INNER, PHASE_LAUNCH, PHASE_WORKSPACE, RankResult
from .backend import SimOptions
from .faults import parse_faults

ENGINE_FAULTS = ("rank-hangs", "rank-dies")


def split_engine_faults(faults) -> tuple[tuple[str, ...], dict[str, int]]:
    """Separate `rank-hangs:<r>` / `rank-dies:<r>` from the numerical faults; ValueError names a bad one."""
    numerical, engine = [], {}
    for f in faults:
        name, _, arg = f.partition(":")
        if name in ENGINE_FAULTS:
            if not arg.isdigit():
                raise ValueError(f"fault {f!r}: expected {name}:<rank>, e.g. {name}:1")
            engine[name] = int(arg)
        else:
            numerical.append(f)
    return tuple(numerical), engine


class SimRankProgram:
    def __init__(self, *, rank: int, world_size: int, device: int | None, faults=(),
                 sim_options: dict | None = None, device_log: str | None = None):
        numerical, self.engine_faults = split_engine_faults(faults)
        self.faults = parse_faults(numerical)
        self.rank, self.world_size, self.device = rank, world_size, device
        # the simulator's options by SimOptions field name: a record's `path_option` picks its operator's path
        self.options = dataclasses.asdict(SimOptions(**(sim_options or {})))
        self.accumulation = self.options["allreduce_accumulation"]
        self.device_log = device_log
        self.token = b""

    def open(self) -> bytes:
        return f"sim-group-{os.getpid()}".encode()  # rank 0's stands in for an HCCL root info

    def connect(self, token: bytes) -> None:
        self.token = token

    def close(self) -> None:
        pass

    def _engine_fault(self, call) -> None:
        if self.engine_faults.get("rank-hangs") == call.rank:
            print(f"rank {call.rank}: entering the all-reduce of {call.case_id} (fault rank-hangs)", flush=True)
            while True:
                time.sleep(3600)
        if self.engine_faults.get("rank-dies") == call.rank:
            print(f"rank {call.rank}: entering the all-reduce of {call.case_id} (fault rank-dies)", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    def invoke(self, call) -> RankResult:
        start = time.time()
        try:
            return self._invoke(call)
        finally:
            if self.device_log:
                self._log(call, start, time.time())

    def _log(self, call, start: float, end: float) -> None:
        with open(self.device_log, "a") as log:
            fcntl.flock(log, fcntl.LOCK_EX)
            log.write(json.dumps({"case": call.case_id, "rank": call.rank, "device": self.device,
                                  "pid": os.getpid(), "start": start, "end": end}) + "\n")

    def _invoke(self, call) -> RankResult:
        validate = operators.get(call.op).validate.load()
        status, _, message = validate(call.op, dict(call.tensors), dict(call.attrs), call.world_size, self.faults)
        # pre-flight, as a real rank would need: a rank that executes while a peer rejected blocks forever
        statuses = call.group.allgather(status)
        if call.shape_only or any(statuses):
            return RankResult(status, {}, message, PHASE_WORKSPACE if status else "")
        self._engine_fault(call)
        ranks = [dict(t) for t in call.group_tensors]
        try:
            outputs = self._compute(call, ranks)
        except Exception as exc:  # an unvalidated input reached the kernel: the device would fail inside
            return RankResult(ACLNN_ERR_INNER, {}, f"kernel failed: {type(exc).__name__}: {exc}", PHASE_LAUNCH)
        return RankResult(0, outputs)

    def _compute(self, call, ranks) -> dict:
        """This rank's outputs: the operator's numerics module's `rank_run`, on its numeric path."""
        path = self.options[operators.get(call.op).path_option]
        rank_run = operators.get(call.op).code("rank_run")
        return rank_run(call.op, ranks, call.rank, call.world_size, dict(call.attrs), call.group.allgather,
                        self.faults, self.accumulation, path)
