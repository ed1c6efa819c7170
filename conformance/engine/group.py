"""A group of rank workers: one process per rank, started together, torn down together.

The workers share one process group of their own (not the test runner's), so a teardown kills them and
anything they started with one killpg; each also dies with the engine (PR_SET_PDEATHSIG, set in the worker).
The engine is the hub of the group's side channel: it answers an allgather once every rank has joined it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.reduction import send_handle

from ..protocol import Invocation, RankFailure, RankResult
from .arena import Arena, BumpAllocator, nbytes_needed, round_up
from .wire import tensor_slot, unpack

LOG_TAIL_BYTES = 4096
LOG_TAIL_LINES = 25
STACK_DUMP_WAIT_S = 0.3  # time a hung rank gets to print its stacks (SIGUSR1 -> faulthandler) before SIGKILL


class ProgramError(RuntimeError):
    """The rank program raised (a backend bug, reported as backend_error). The group is torn down, since
    its other ranks may be blocked in a collective with the one that raised."""


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return str(code)


class WorkerGroup:
    def __init__(self, *, program: str, options: dict, world_size: int, devices: tuple[int, ...],
                 setup_deadline_s: float, env: dict | None = None):
        self.world_size, self.devices = world_size, tuple(devices)
        self.procs: list[subprocess.Popen] = []
        self.conns: list[Connection] = []
        self.logs: list[int] = []
        self.arena: Arena | None = None
        self.pgid = 0
        self.case_id = "(set-up)"
        self.closed = False
        try:
            self._spawn(env)
            deadline = time.monotonic() + setup_deadline_s
            for r, conn in enumerate(self.conns):
                conn.send(("start", {"program": program, "options": dict(options), "rank": r,
                                     "world_size": world_size, "device": self.devices[r] if self.devices else None}))
            tokens = self._collect("ready", deadline, "opening the device")
            for conn in self.conns:
                conn.send(("connect", tokens[0]))
            self._collect("connected", deadline, "initialising the communicator")
        except BaseException:
            self.close(force=True)
            raise

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _spawn(self, env: dict | None) -> None:
        child_env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
        for r in range(self.world_size):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            log = os.memfd_create(f"mc2-rank{r}-log")
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "conformance.engine.worker", str(theirs.fileno()), str(os.getpid())],
                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    env=child_env, process_group=self.pgid)  # 0 for the first: it leads a new group
            finally:
                theirs.close()
            if not self.pgid:
                self.pgid = proc.pid
            self.procs.append(proc)
            self.conns.append(Connection(ours.detach()))
            self.logs.append(log)

    # --- waiting on the ranks -------------------------------------------------------------------------

    def _collect(self, kind: str, deadline: float, doing: str) -> list:
        got: dict[int, object] = {}
        while len(got) < self.world_size:
            pending = [r for r in range(self.world_size) if r not in got]
            r, msg = self._next_message(pending, deadline, doing, waiting_in=())
            if msg[0] == "raised":
                self._fail("crash", r, f"rank {r} failed while {doing}: {msg[1]}", msg[2])
            got[r] = msg[1]
        return [got[r] for r in range(self.world_size)]

    def _next_message(self, pending: list[int], deadline: float, doing: str, waiting_in) -> tuple[int, tuple]:
        by_conn = {self.conns[r]: r for r in pending}
        remaining = deadline - time.monotonic()
        ready = wait(list(by_conn), timeout=max(remaining, 0)) if remaining > 0 else []
        if not ready:
            stuck = [r for r in pending if r not in waiting_in] or pending
            waiting = sorted(set(pending) - set(stuck))
            also = f"; rank{'s' if len(waiting) > 1 else ''} {', '.join(map(str, waiting))} waiting in a " \
                   f"collective for it" if waiting else ""
            self._fail("timeout", stuck[0], f"timeout: rank {stuck[0]} did not answer while {doing} "
                                            f"(case {self.case_id}){also}", dump_stacks=True)
        conn = ready[0]
        r = by_conn[conn]
        try:
            return r, conn.recv()
        except (EOFError, OSError):
            self._fail("crash", r, self._death_notice(r, doing))

    def _death_notice(self, r: int, doing: str) -> str:
        try:
            code = self.procs[r].wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        how = ("still running but closed its channel" if code is None else
               f"killed by signal {_signal_name(-code)}" if code < 0 else f"exited with status {code}")
        return f"rank {r} crashed while {doing} (case {self.case_id}): process {self.procs[r].pid} {how}"

    def _fail(self, kind: str, rank: int, detail: str, extra: str = "", *, dump_stacks: bool = False):
        if dump_stacks and self.procs[rank].poll() is None:
            try:
                os.kill(self.procs[rank].pid, signal.SIGUSR1)
                time.sleep(STACK_DUMP_WAIT_S)
            except ProcessLookupError:
                pass
        output = (extra + "\n" if extra else "") + self.last_output(rank)
        self.close(force=True)
        raise RankFailure(kind, rank, detail, output)

    def last_output(self, rank: int) -> str:
        fd = self.logs[rank]
        if fd < 0:
            return ""
        size = os.fstat(fd).st_size
        tail = os.pread(fd, LOG_TAIL_BYTES, max(0, size - LOG_TAIL_BYTES)).decode("utf-8", "replace")
        return "\n".join(tail.splitlines()[-LOG_TAIL_LINES:])

    # --- one invocation ---------------------------------------------------------------------------------

    def _layout(self, inv: Invocation) -> tuple[int, list[tuple[int, int]]]:
        """Inputs first, then one scratch region per rank for its outputs and allgather payloads: twice the
        rank's own tensor bytes, which holds its outputs and one exchanged partial; pages never touched cost
        nothing (memfd), and anything that does not fit travels through the socket instead."""
        per_rank = [sum(round_up(nbytes_needed(a.data)) for a in t.values() if a is not None and a.data is not None)
                    for t in inv.ranks]
        start = sum(per_rank)
        regions = []
        for size in per_rank:
            size = 2 * size + 65536
            regions.append((start, start + size))
            start += size
        return start, regions

    def invoke(self, inv: Invocation, deadline_s: float, *, mode: str = "fused", warmup: int = 0,
               iterations: int = 0) -> list[RankResult]:
        self.case_id = inv.case_id or "(unnamed)"
        total, regions = self._layout(inv)
        new_arena = self.arena is None or self.arena.size < total
        if new_arena:
            old = self.arena
            self.arena = Arena.create(max(total, 2 * old.size if old else 0))
            if old is not None:
                old.close()
        alloc = BumpAllocator(0, regions[0][0])
        tensors = [{name: tensor_slot(arg, self.arena, alloc) for name, arg in t.items()} for t in inv.ranks]
        for r, conn in enumerate(self.conns):
            conn.send(("invoke", {"op": inv.op, "rank": r, "world_size": inv.world_size, "tensors": tensors,
                                  "attrs": dict(inv.attrs), "shape_only": inv.shape_only, "case_id": inv.case_id,
                                  "region": regions[r], "new_arena": new_arena, "mode": mode, "warmup": warmup,
                                  "iterations": iterations}))
            if new_arena:
                send_handle(conn, self.arena.fd, self.procs[r].pid)
        return self._serve_invocation(time.monotonic() + deadline_s)

    def _serve_invocation(self, deadline: float) -> list[RankResult]:
        results: dict[int, RankResult] = {}
        gather: dict[int, object] = {}
        while len(results) < self.world_size:
            pending = [r for r in range(self.world_size) if r not in results]
            r, msg = self._next_message(pending, deadline, "running the operator", waiting_in=gather)
            if msg[0] == "allgather":
                gather[r] = msg[1]
                if len(gather) == self.world_size:  # everyone joined: answer the round
                    payloads = [gather[i] for i in range(self.world_size)]
                    for conn in self.conns:
                        conn.send(("gathered", payloads))
                    gather = {}
            elif msg[0] == "result":
                _, status, outputs, message, phase, answered_by = msg
                outs = {k: unpack(v, self.arena, copy=True) for k, v in outputs.items()}
                results[r] = RankResult(status, outs, message, phase, answered_by)
            elif msg[0] == "raised":
                # the other ranks may be blocked in a collective with it: the group cannot be trusted
                self.close(force=True)
                raise ProgramError(f"rank {r} program raised {msg[1]}\n{msg[2]}")
        return [results[r] for r in range(self.world_size)]

    # --- teardown ---------------------------------------------------------------------------------------

    def close(self, *, force: bool = False, grace_s: float = 5.0) -> None:
        if self.closed:
            return
        self.closed = True
        if not force:
            for conn in self.conns:
                try:
                    conn.send(("close", None))
                except OSError:
                    pass
            end = time.monotonic() + grace_s
            for proc in self.procs:
                try:
                    proc.wait(timeout=max(end - time.monotonic(), 0.01))
                except subprocess.TimeoutExpired:
                    break
        if self.pgid:  # whatever is left, and anything the ranks started, goes with the group
            try:
                os.killpg(self.pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for conn in self.conns:
            conn.close()
        for fd in self.logs:
            if fd >= 0:
                os.close(fd)
        self.logs = [-1] * len(self.logs)
        if self.arena is not None:
            self.arena.close()
            self.arena = None
