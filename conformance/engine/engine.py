"""RankEngine: runs an Invocation with one worker process per rank, keeping the group alive between calls.

A group is keyed by (world size, leased devices): consecutive tests of the same world size on the same devices
reuse its processes and communicator. A different key closes the current group first, so an engine never
holds processes on devices its test runner no longer leases. A hung or dead rank tears the group down and
raises RankFailure; the next invocation starts a fresh group.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..protocol import Invocation, RankResult, Timing
from .group import WorkerGroup


DEVICE_EVENTS = "device events"  # the clock of Timing results measured by the ranks' own event pairs


class RankEngine:
    def __init__(self, *, program: str, options: dict | None = None, deadline_s: float = 120.0,
                 setup_deadline_s: float = 300.0, persistent: bool = True, env: dict | None = None):
        """program: import path `package.module:factory` of the RankProgram (conformance/engine/program.py);
        options: keyword arguments for the factory (picklable); deadline_s: per invocation, all ranks;
        setup_deadline_s: starting a group (process start, device open, communicator init);
        persistent=False starts a fresh group for every invocation (the upstream way; the benchmark baseline)."""
        if deadline_s <= 0 or setup_deadline_s <= 0:
            raise ValueError(f"deadlines must be positive "
                             f"(deadline_s={deadline_s}, setup_deadline_s={setup_deadline_s})")
        self.program, self.options = program, dict(options or {})
        self.deadline_s, self.setup_deadline_s = deadline_s, setup_deadline_s
        self.persistent, self.env = persistent, env
        self.group: WorkerGroup | None = None
        self.groups_started = 0
        self._finalizer = None

    def _group_for(self, inv: Invocation) -> WorkerGroup:
        return self.open_group(inv.world_size, tuple(inv.devices))

    def open_group(self, world_size: int, devices: tuple[int, ...] = ()) -> WorkerGroup:
        """The group of `world_size` ranks on `devices` (() : rank r on device r), started if not running: its
        ranks open their devices and build the communicator (RankProgram open/connect). RankFailure if they do
        not; later invocations of that key reuse it. `mc2-conformance doctor` checks communicator set-up so."""
        key = (world_size, tuple(devices))
        if self.group is not None and (self.group.closed or (self.group.world_size, self.group.devices) != key):
            self.close()
        if self.group is None:
            self.group = WorkerGroup(program=self.program, options=self.options, world_size=world_size,
                                     devices=tuple(devices), setup_deadline_s=self.setup_deadline_s, env=self.env)
            self.groups_started += 1
            if self._finalizer is not None:
                self._finalizer.detach()
            # closes the live group when the engine is collected or the interpreter exits
            self._finalizer = weakref.finalize(self, self.group.close)
        return self.group

    def run(self, inv: Invocation, *, mode: str = "fused", warmup: int = 0, iterations: int = 0,
            deadline_s: float | None = None) -> list[RankResult]:
        """One invocation on every rank. `mode` is the RankCall mode (program.py: "fused" or "chain");
        `iterations` > 0 times that many launches after `warmup`; `deadline_s` replaces the engine's."""
        if inv.world_size < 1 or len(inv.ranks) != inv.world_size:
            raise ValueError(f"invocation {inv.case_id}: world_size {inv.world_size} with {len(inv.ranks)} ranks")
        if inv.devices and len(inv.devices) < inv.world_size:
            raise ValueError(f"invocation {inv.case_id}: {len(inv.devices)} devices for {inv.world_size} ranks")
        group = self._group_for(inv)
        try:
            return group.invoke(inv, self.deadline_s if deadline_s is None else deadline_s, mode=mode,
                                warmup=warmup, iterations=iterations)
        finally:
            if group.closed or not self.persistent:
                self.close()

    def timed(self, inv: Invocation, *, chain: bool, warmup: int, iterations: int) -> Timing:
        """Device-timed latencies: each rank's program returns its per-iteration "seconds" (device events);
        per iteration the slowest rank's counts (the collective completes when its last rank does). The
        deadline grows with the number of launches."""
        if iterations < 1:
            raise ValueError(f"timed: iterations must be positive, got {iterations}")
        results = self.run(inv, mode="chain" if chain else "fused", warmup=warmup, iterations=iterations,
                           deadline_s=self.deadline_s * max(1.0, (warmup + iterations) / 10))
        bad = [(r, res) for r, res in enumerate(results) if res.status or "seconds" not in res.outputs]
        if bad:
            r, res = bad[0]
            raise RuntimeError(f"{inv.case_id}: timed run failed on rank {r}: status {res.status}: {res.message}")
        per_rank = np.stack([np.asarray(res.outputs["seconds"], dtype=np.float64) for res in results])
        return Timing([float(s) for s in per_rank.max(axis=0)], DEVICE_EVENTS)

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
            self.group = None
