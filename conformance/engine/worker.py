"""One rank's worker process: `python -m conformance.engine.worker <socket-fd> <parent-pid>`.

It dies with its parent (PR_SET_PDEATHSIG), dumps every thread's stack on SIGUSR1 (the engine asks for it
before it kills a hung rank, so the test report shows where the rank was stuck), and clears its log at the
start of each invocation, so "last output" is this invocation's.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import sys
import traceback
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle

from ..importing import import_attr
from ..protocol import RankResult
from .arena import Arena, BumpAllocator
from .program import RankCall
from .wire import pack, tensor_view, unpack

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class _Channel:
    """The rank's GroupChannel: allgather through the engine, arrays through this rank's arena region."""

    def __init__(self, conn: Connection, arena: Arena, alloc: BumpAllocator):
        self.conn, self.arena, self.alloc = conn, arena, alloc

    def allgather(self, obj):
        self.conn.send(("allgather", pack(obj, self.arena, self.alloc)))
        kind, payloads = self.conn.recv()
        assert kind == "gathered", kind
        return [unpack(p, self.arena, copy=False) for p in payloads]


def _clear_log() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    try:  # stdout and stderr share one open file (the engine's log memfd): reset it to empty
        os.ftruncate(1, 0)
        os.lseek(1, 0, os.SEEK_SET)
    except OSError:  # not a file (run by hand in a terminal): keep writing
        pass


def _invoke(conn: Connection, program, arena: Arena, msg: dict):
    lo, hi = msg["region"]
    alloc = BumpAllocator(lo, hi)
    group = [{name: tensor_view(e, arena) for name, e in rank.items()} for rank in msg["tensors"]]
    call = RankCall(op=msg["op"], rank=msg["rank"], world_size=msg["world_size"], tensors=group[msg["rank"]],
                    attrs=msg["attrs"], shape_only=msg["shape_only"], case_id=msg["case_id"],
                    group=_Channel(conn, arena, alloc), group_tensors=group, mode=msg.get("mode", "fused"),
                    warmup=msg.get("warmup", 0), iterations=msg.get("iterations", 0))
    result = program.invoke(call)
    if not isinstance(result, RankResult):
        raise TypeError(f"{type(program).__name__}.invoke returned {type(result).__name__}, not RankResult")
    outputs = {k: pack(v, arena, alloc) for k, v in result.outputs.items()}
    conn.send(("result", result.status, outputs, result.message, result.phase, result.answered_by))


def serve(conn: Connection) -> None:
    kind, spec = conn.recv()
    assert kind == "start", kind
    program = import_attr(spec["program"])(rank=spec["rank"], world_size=spec["world_size"],
                                             device=spec["device"], **spec["options"])
    conn.send(("ready", program.open()))
    kind, token = conn.recv()
    assert kind == "connect", kind
    program.connect(token)
    conn.send(("connected", None))
    arena = None
    while True:
        msg = conn.recv()
        if msg[0] == "close":
            program.close()
            conn.send(("closed", None))
            return
        _, body = msg
        if body["new_arena"]:
            if arena is not None:
                arena.close()
            arena = Arena.attach(recv_handle(conn))
        _clear_log()
        try:
            _invoke(conn, program, arena, body)
        except Exception as exc:  # the program's own bug: report it, stay alive for the next test
            conn.send(("raised", f"{type(exc).__name__}: {exc}", traceback.format_exc()))


def main(argv: list[str]) -> int:
    fd, parent_pid = int(argv[1]), int(argv[2])
    _die_with_parent(parent_pid)
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    conn = Connection(fd)
    try:
        serve(conn)
    except EOFError:  # the engine closed the socket: nothing more to do
        return 0
    except Exception as exc:  # set-up failed (open/connect): tell the engine, then exit
        try:
            conn.send(("raised", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
