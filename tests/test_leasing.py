"""Device leasing across processes: no overlap (proven from a lease log under pytest -n 4), aligned blocks,
crash safety, stale tickets, no starvation of 8-device requests, clear errors."""

import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.hw.leasing import DeviceLeaser, LeaseError, parse_devices
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent


def test_parse_devices_and_errors():
    assert parse_devices("0-3,6") == [0, 1, 2, 3, 6]
    with pytest.raises(LeaseError, match="distinct"):
        parse_devices("0,0")
    with pytest.raises(LeaseError, match="expected ids"):
        parse_devices("a-b")


def test_blocks_are_aligned_and_bad_sizes_fail_in_one_line(tmp_path):
    leaser = DeviceLeaser(list(range(8)), tmp_path)
    with leaser.lease(2) as a, leaser.lease(4) as b, leaser.lease(1) as c:
        assert a.devices == (0, 1) and b.devices == (4, 5, 6, 7) and c.devices == (2,)
    with pytest.raises(LeaseError, match="sizes are"):
        leaser.acquire(3)
    with pytest.raises(LeaseError, match="only 2 configured"):
        DeviceLeaser([0, 1], tmp_path / "x").acquire(4)
    with leaser.lease(8):
        with pytest.raises(LeaseError, match="within 0 s"):
            leaser.acquire(1, timeout=0.05)


def run_workload(tmp_path, **extra_env):
    log = tmp_path / "leases.jsonl"
    env = dict(os.environ, LEASE_DIR=str(tmp_path / "locks"), LEASE_LOG=str(log), LEASE_DEVICES="0-7", **extra_env)
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/leasing/lease_workload.py", "-n", "4", "-q",
                           "-p", "no:cacheprovider"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def overlaps(leases) -> list:
    """Pairs of leases that shared a device at the same time."""
    found = []
    for i, a in enumerate(leases):
        for b in leases[i + 1:]:
            if set(a["devices"]) & set(b["devices"]) and not (a["end"] <= b["start"] or b["end"] <= a["start"]):
                found.append((a, b))
    return found


def test_no_overlap_under_pytest_xdist(tmp_path):
    leases = run_workload(tmp_path)
    assert len(leases) == 24 and {x["k"] for x in leases} == {1, 2, 4, 8}
    assert len({x["pid"] for x in leases}) == 4  # four workers really competed
    assert all(len(x["devices"]) == x["k"] and x["devices"][0] % x["k"] == 0 for x in leases)  # aligned
    assert overlaps(leases) == []


def test_the_overlap_proof_can_fail(tmp_path):
    assert overlaps(run_workload(tmp_path, LEASE_BROKEN="1"))


def _hold_and_die(lock_dir, k, ready):
    leaser = DeviceLeaser(list(range(8)), lock_dir)
    leaser.acquire(k)
    ready.set()
    time.sleep(60)


def test_a_killed_holder_frees_its_devices(tmp_path):
    ready = mp.Event()
    p = mp.Process(target=_hold_and_die, args=(tmp_path, 8, ready))
    p.start()
    assert ready.wait(10)
    leaser = DeviceLeaser(list(range(8)), tmp_path)
    with pytest.raises(LeaseError):
        leaser.acquire(1, timeout=0.1)
    p.kill()
    p.join()
    with leaser.lease(8, timeout=5) as held:
        assert held.devices == tuple(range(8))


def _wait_forever(lock_dir, ready):
    leaser = DeviceLeaser(list(range(8)), lock_dir)
    ready.set()
    leaser.acquire(8, timeout=60)  # blocks: the parent holds a device


def test_a_dead_waiters_ticket_does_not_block_others(tmp_path):
    leaser = DeviceLeaser(list(range(8)), tmp_path)
    blocker = leaser.acquire(1)
    ready = mp.Event()
    p = mp.Process(target=_wait_forever, args=(tmp_path, ready))
    p.start()
    assert ready.wait(10)
    time.sleep(0.3)  # it is queued, reserving all 8 devices
    with pytest.raises(LeaseError):
        leaser.acquire(2, timeout=0.2)  # the older 8-device waiter's reservation holds
    p.kill()
    p.join()
    with leaser.lease(2, timeout=5) as held:  # its stale ticket is cleared
        assert held.devices == (2, 3)
    blocker.release()


class _NoReservation(DeviceLeaser):
    """A test-local wrong leaser: the oldest waiter reserves nothing, so small leases can starve big ones."""

    def _target(self, k, exclude):
        return None


def _churn(lock_dir, stop_at, cls):
    leaser = cls(list(range(8)), lock_dir)
    while time.time() < stop_at:
        with leaser.lease(1, timeout=30):
            time.sleep(0.1)


def _eight_behind_churn(tmp_path, cls, timeout):
    """Four staggered 1-device churners, each re-leasing at once: some device is always busy."""
    stop_at = time.time() + timeout + 2.0
    workers = [mp.Process(target=_churn, args=(tmp_path, stop_at, cls)) for _ in range(4)]
    for w in workers:
        w.start()
        time.sleep(0.025)
    time.sleep(0.5)
    t0 = time.monotonic()
    try:
        with cls(list(range(8)), tmp_path).lease(8, timeout=timeout):
            return time.monotonic() - t0
    except LeaseError:
        return None
    finally:
        for w in workers:
            w.join()


def test_an_eight_device_request_is_not_starved_by_small_ones(tmp_path):
    waited = _eight_behind_churn(tmp_path, DeviceLeaser, timeout=10)
    assert waited is not None and waited < 1.0, f"8-device lease waited {waited} s behind 1-device churn"


def test_without_the_reservation_it_would_starve(tmp_path):
    """The same workload on a leaser without the head-of-queue reservation: the 8-device request never gets in."""
    assert _eight_behind_churn(tmp_path, _NoReservation, timeout=1.5) is None


def test_the_suite_leases_devices_per_test_and_skips_what_does_not_fit(tmp_path):
    def run(devices):
        return subprocess.run([sys.executable, "-m", "pytest", "cases", "--mc2-profile", "smoke", "-n", "2", "-q",
                               "-p", "no:cacheprovider", "--mc2-devices", devices,
                               "--mc2-lease-dir", str(tmp_path / devices),
                               "-rs"], capture_output=True, text=True, cwd=ROOT)
    full = run("0-7")
    assert full.returncode == 0 and "skipped" not in full.stdout.splitlines()[-1], full.stdout[-1500:]
    two = run("0-1")
    assert two.returncode == 0 and "needs 8 devices, 2 configured with --mc2-devices" in two.stdout
    bad = subprocess.run([sys.executable, "-m", "pytest", "cases", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--mc2-devices", "x"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 4 and "--mc2-devices" in bad.stderr and "Traceback" not in bad.stderr


def test_leased_ids_reach_the_backend(tmp_path):
    from conformance import casegen
    from conformance.judge import run_case
    seen = []

    class Recorder:
        name = "recorder"

        def describe(self):
            return {}

        def unsupported_reason(self, inv):
            seen.append(inv.devices)
            return "records only"

    leaser = DeviceLeaser(list(range(8)), tmp_path)
    with leaser.lease(4) as held:
        run_case(casegen.by_id("v3-exact-bf16-fp-bf16-w4"), Recorder(), Context(seed=0), devices=held.devices)
    assert seen == [(0, 1, 2, 3)]


def test_process_mode_ranks_run_only_on_their_leased_devices_under_xdist(tmp_path):
    """The suite as a hardware run uses it: pytest -n 4, the simulator's process mode, 8 fake devices. The ranks
    themselves log the device they ran on; per test, the devices and the span from first start to last end
    must never meet another test's (`overlaps`, shown able to fail above)."""
    device_log = tmp_path / "devices.jsonl"
    env = dict(os.environ, MC2_SIM_DEVICE_LOG=str(device_log))
    proc = subprocess.run([sys.executable, "-m", "pytest", "cases/test_marn.py", "cases/test_v3.py", "-k", "exact",
                           "-n", "4", "-q", "-p", "no:cacheprovider", "--mc2-backend", "sim-process",
                           "--mc2-devices", "0-7", "--mc2-lease-dir", str(tmp_path / "locks")],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:]
    per_case: dict[str, dict] = {}
    for line in device_log.read_text().splitlines():
        e = json.loads(line)
        c = per_case.setdefault(e["case"], {"devices": [], "start": e["start"], "end": e["end"], "pids": set()})
        c["devices"].append(e["device"])
        c["start"], c["end"] = min(c["start"], e["start"]), max(c["end"], e["end"])
        c["pids"].add(e["pid"])
    leases = list(per_case.values())
    sizes = {len(x["devices"]) for x in leases}
    assert sizes == {1, 2, 4, 8}, sizes
    assert all(sorted(x["devices"]) == list(range(min(x["devices"]), min(x["devices"]) + len(x["devices"])))
               and min(x["devices"]) % len(x["devices"]) == 0 for x in leases), "aligned, one device per rank"
    assert overlaps(leases) == []


def test_a_process_gets_its_last_block_back_when_it_is_free(tmp_path):
    """Affinity: the rank workers of the last group still live on those devices."""
    mine, other = DeviceLeaser(list(range(8)), tmp_path), DeviceLeaser(list(range(8)), tmp_path)
    with other.lease(2), mine.lease(2) as first:
        assert first.devices == (2, 3)
    with mine.lease(2) as again:
        assert again.devices == (2, 3), "the first free block would be (0, 1)"
    with other.lease(2) as theirs:
        assert theirs.devices == (0, 1)


def test_a_lease_is_held_only_while_the_backend_runs(tmp_path, monkeypatch):
    """LeasedBackend: the devices are leased around each invocation and free while the judge draws inputs and
    checks outputs (a lease held through host work leaves devices idle); its holding time is the invocations'."""
    from conformance import casegen, judge, operators
    from conformance.hw.leasing import LeasedBackend
    from conformance.operators import record
    from conformance.sim import SimulatorBackend

    leaser = DeviceLeaser(list(range(8)), tmp_path)
    held_during = {}

    class Spy(SimulatorBackend):
        def invoke(self, inv):
            held_during["invoke"] = (inv.devices, [leaser._busy(d) for d in range(8)])
            return super().invoke(inv)

    check_ref = operators.get("MatmulAllReduceAddRmsNorm").check
    real_materialise, real_check = judge.materialise, check_ref.load()

    def materialise(case, seed):
        held_during["materialise"] = [leaser._busy(d) for d in range(8)]
        return real_materialise(case, seed)

    def check(*args, **kw):
        held_during["check"] = [leaser._busy(d) for d in range(8)]
        yield from real_check(*args, **kw)

    monkeypatch.setattr(judge, "materialise", materialise)
    monkeypatch.setitem(record._LOADED, check_ref.path, check)  # what the record's Ref resolves to
    backend = LeasedBackend(Spy(), leaser)
    outcome = judge.run_case(casegen.by_id("marn-tiny-x1_3d-x2N-bias-eps1e-06-fp16-w2"), backend, Context(seed=0))
    assert outcome.passed, outcome.report()
    devices, busy = held_during["invoke"]
    assert devices == (0, 1) and busy == [True, True] + [False] * 6
    assert held_during["materialise"] == [False] * 8 and held_during["check"] == [False] * 8
    assert [leaser._busy(d) for d in range(8)] == [False] * 8
    assert 0 < backend.invoking_s <= backend.held_s
    assert backend.name == "sim" and not hasattr(LeasedBackend(object(), leaser), "invoke_chain")
