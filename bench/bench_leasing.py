"""Leasing efficiency, two figures:
1. packing: the device-busy share of a mixed 1/2/4/8-device workload under `pytest -n 4` on 8 fake devices (sum
   over leases of devices x hold time, divided by 8 x wall time of the workload);
2. leases busy: the share of the time a lease is held that the backend is running (LeasedBackend leases around
   each invocation only), over the exact and tiny signoff cases on the simulator's process mode (ranks in their
   own processes, as on a node), against what the same cases held when a lease spanned the whole case
   (inputs drawn and outputs judged under the lease, as before).

    python bench/bench_leasing.py
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from conformance.context import Context

ROOT = Path(__file__).resolve().parent.parent


def main():
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "leases.jsonl"
        env = dict(os.environ, LEASE_DIR=str(Path(tmp) / "locks"), LEASE_LOG=str(log), LEASE_DEVICES="0-7")
        subprocess.run([sys.executable, "-m", "pytest", "tests/leasing/lease_workload.py", "-n", "4", "-q",
                        "-p", "no:cacheprovider"], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
        leases = [json.loads(x) for x in log.read_text().splitlines()]
    start, end = min(x["start"] for x in leases), max(x["end"] for x in leases)
    busy = sum(x["k"] * (x["end"] - x["start"]) for x in leases)
    share = busy / (8 * (end - start))
    waits = sorted(x["waited"] for x in leases)
    print(json.dumps({"leases": len(leases), "wall_s": round(end - start, 3), "device_busy_share": round(share, 3),
                      "median_wait_s": round(waits[len(waits) // 2], 4), "max_wait_s": round(waits[-1], 4)}, indent=1))


def leases_busy(tmp: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from conformance import casegen
    from conformance.hw.leasing import DeviceLeaser, LeasedBackend
    from conformance.judge import run_case
    from conformance.sim.process_backend import SimProcessBackend
    cases = [c for c in casegen.select(profile="signoff", world_sizes=(1, 2, 4, 8))
             if c.kind in ("exact", "valid") and ("exact" in c.id or c.id.split("-")[1] == "tiny")]
    inner = SimProcessBackend()
    backend = LeasedBackend(inner, DeviceLeaser(list(range(8)), tmp))
    try:
        t0 = time.monotonic()
        for case in cases:
            run_case(case, backend, Context(seed=0))
        whole = time.monotonic() - t0  # a lease per case would have been held this long
    finally:
        inner.close()
    return {"cases": len(cases), "per_invocation_lease_busy_share": round(backend.invoking_s / backend.held_s, 3),
            "per_case_lease_busy_share_before": round(backend.invoking_s / whole, 3)}


if __name__ == "__main__":
    main()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(leases_busy(tmp), indent=1))
