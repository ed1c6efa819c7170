"""Per-invocation overhead of the rank engine: persistent worker groups against a fresh group per test (the
upstream way: spawn the rank processes, open the device, initialise the communicator, run, tear down), with
the in-process simulator as the floor. Same tiny case per world size, so the numbers are overhead, not compute.
Also the shared-memory transport rate on a large case.

    python bench/bench_engine.py [--repeats N] [--out bench/engine_results.json]

On hardware the spawn-per-test column would add device open and HCCL initialisation (seconds per group);
here the simulator's open/connect are free, so the gap below is a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

from conformance import casegen
from conformance.casegen.inputs import materialise
from conformance.sim import SimulatorBackend
from conformance.sim.process_backend import SimProcessBackend


def _per_call(backend, inv, repeats: int) -> float:
    backend.invoke(inv)  # warm: the persistent group starts here
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backend.invoke(inv)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _case(world: int):
    return next(c for c in casegen.select(profile="signoff", world_sizes=(world,))
                if c.kind == "exact" and c.op == "MatmulAllReduceAddRmsNorm")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "engine_results.json"))
    args = ap.parse_args()
    rows = []
    for world in (1, 2, 4, 8):
        inv = materialise(_case(world), 0)
        inline = _per_call(SimulatorBackend(), inv, args.repeats)
        persistent = SimProcessBackend()
        kept = _per_call(persistent, inv, args.repeats)
        persistent.close()
        fresh = SimProcessBackend(persistent=False)
        spawned = _per_call(fresh, inv, max(3, args.repeats // 4))
        rows.append({"world_size": world, "case": inv.case_id, "inline_ms": round(inline * 1e3, 2),
                     "persistent_ms": round(kept * 1e3, 2), "spawn_per_test_ms": round(spawned * 1e3, 1),
                     "spawn_over_persistent": round(spawned / kept, 1)})
    big = next(c for c in casegen.select(profile="signoff", world_sizes=(8,)) if c.cost > 5e6 and not c.shape_only)
    inv = materialise(big, 0)
    nbytes = sum(t.data.nbytes for r in inv.ranks for t in r.values() if t is not None and t.data is not None)
    proc, inline_backend = SimProcessBackend(), SimulatorBackend()
    t_proc, t_inline = _per_call(proc, inv, 3), _per_call(inline_backend, inv, 3)
    proc.close()
    text = json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": date.today().isoformat(),
                       "overhead_per_invocation": rows,
                       "large_case": {"case": big.id, "input_MB": round(nbytes / 1e6, 1),
                                      "process_mode_s": round(t_proc, 3), "inline_s": round(t_inline, 3)}}, indent=1)
    print(text)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
