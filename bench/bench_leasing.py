"""Leasing efficiency: the device-busy share of a mixed 1/2/4/8-device workload under `pytest -n 4` on 8 fake
devices (sum over leases of devices x hold time, divided by 8 x wall time of the workload).

    python bench/bench_leasing.py
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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


if __name__ == "__main__":
    main()
