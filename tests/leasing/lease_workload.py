"""A mixed 1/2/4/8-device workload, run by tests/test_leasing.py under `pytest -n 4` (not collected otherwise:
its name does not start with test_). Each test leases its devices, holds them briefly, and appends what it held
to a lease log, from which the test proves that no two leases ever overlapped on a device."""

import fcntl
import json
import os
import random
import time

import pytest

from conformance.hw.leasing import DeviceLeaser, Lease, parse_devices


class UnlockedLeaser(DeviceLeaser):
    """Test-local wrong leaser (LEASE_BROKEN=1): hands out the first aligned block without locking anything."""

    def acquire(self, k, *, timeout=600.0):
        return Lease(self._blocks(k)[0], 0.0, [])


@pytest.mark.parametrize("k,rep", [(k, r) for r in range(6) for k in (8, 1, 2, 4)])
def test_lease(k, rep):
    cls = UnlockedLeaser if os.environ.get("LEASE_BROKEN") else DeviceLeaser
    leaser = cls(parse_devices(os.environ["LEASE_DEVICES"]), os.environ["LEASE_DIR"])
    with leaser.lease(k, timeout=60) as held:
        start = time.time()
        time.sleep(random.uniform(0.02, 0.08))
        end = time.time()
    with open(os.environ["LEASE_LOG"], "a") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.write(json.dumps({"k": k, "devices": list(held.devices), "start": start, "end": end,
                              "pid": os.getpid(), "waited": held.waited}) + "\n")
