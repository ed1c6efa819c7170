"""What runs inside one rank's worker process: a `RankProgram`, built once per worker group.

The engine (conformance/engine/group.py) starts one worker process per rank and, in each, calls a program
factory named by an import path `package.module:attr` with keyword arguments

    factory(rank=r, world_size=W, device=d_or_None, **options) -> RankProgram

then drives the program through its life:

    token = program.open()          # every rank: device set-up (aclInit, set device, stream)
    program.connect(token0)         # every rank, concurrently, with rank 0's token (HcclCommInitRootInfo)
    program.invoke(call) ...        # once per test, as long as the group lives (same world size, devices)
    program.close()                 # teardown: communicator, stream, device, finalise

`open()` returns bytes; only rank 0's value is used (an HCCL root info, a store address); the engine hands it
to every rank's `connect`. A program knows nothing of pytest, cases or the engine's transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from ..protocol import RankResult, TensorArg


class GroupChannel(Protocol):
    """A rank's side channel to its peers, through the engine (small objects and numpy arrays).

    allgather(obj) blocks until every rank of the group has called it with its own object and returns the
    list of all ranks' objects in rank order. Arrays inside `obj` (top level, or in a list/tuple) travel
    through shared memory where they fit. A rank that never calls it leaves its peers blocked, exactly as a
    collective would: the engine's deadline then fails the test with category `timeout`.
    """

    def allgather(self, obj: Any) -> list[Any]: ...


@dataclass
class RankCall:
    op: str
    rank: int
    world_size: int
    tensors: Mapping[str, TensorArg | None]  # this rank's arguments by C name (data are views of shared memory)
    attrs: Mapping[str, Any]  # epsilon, reduceOp, commTurn, streamMode
    shape_only: bool
    case_id: str
    group: GroupChannel
    group_tensors: Sequence[Mapping[str, TensorArg | None]] = ()  # every rank's arguments (read-only views)
    # what to run (programs that know only the fused call see the defaults): "fused" the operator, "chain" the
    # benchmark chain (protocol.invoke_chain); iterations > 0: device timing (protocol.timed), `warmup` launches
    # then `iterations` timed ones, the latencies in seconds as the output "seconds"
    mode: str = "fused"
    warmup: int = 0
    iterations: int = 0


class RankProgram(Protocol):
    def open(self) -> bytes: ...

    def connect(self, token: bytes) -> None: ...

    def invoke(self, call: RankCall) -> RankResult: ...

    def close(self) -> None: ...
