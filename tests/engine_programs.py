"""Rank programs used only by tests/test_rank_engine.py (imported by the worker processes by path)."""

from __future__ import annotations

import os
import subprocess

import numpy as np

from conformance.protocol import RankResult


class EchoProgram:
    """Returns what it saw: its device, the rank-0 token, its x1 data and strides, and the allgathered x1."""

    def __init__(self, *, rank, world_size, device, spawn_grandchild=False, raise_on=None):
        self.rank, self.world_size, self.device = rank, world_size, device
        self.spawn_grandchild, self.raise_on = spawn_grandchild, raise_on
        self.token = None
        self.calls = 0

    def open(self):
        return f"token-from-{self.rank}-{os.getpid()}".encode()

    def connect(self, token):
        self.token = token

    def invoke(self, call):
        self.calls += 1
        if self.spawn_grandchild:  # a process the rank starts (as HCCL or a runtime daemon might)
            subprocess.Popen(["sleep", "1000"], env=dict(os.environ, MC2_GRANDCHILD="1"))
        if self.raise_on == call.rank:
            raise ValueError("program bug on purpose")
        x1 = call.tensors["x1"]
        everyone = call.group.allgather(np.asarray(x1.data) * (call.rank + 1))
        return RankResult(0, {"x1": np.array(x1.data), "gathered_sum": np.sum(everyone, axis=0),
                              "meta": np.array([self.device if self.device is not None else -1, self.calls,
                                                os.getpid(), *x1.strides])},
                          message=self.token.decode())

    def close(self):
        pass
