"""Peak memory (and wall time) per case, each case judged in a FRESH Python process, as one pytest worker
would judge it (keep_freed_memory() on, the default judge options).

    python bench/bench_memory.py [--backend sim|sim-process ...] [--cases ID ...] [--seed 0]
                                 [--label after] [--out bench/memory_results.json] [--checks-out FILE]

Peak RSS is the child's ru_maxrss (= VmHWM): the high-water mark of its resident set, imports included.
With --backend sim-process the owner's peak (RUSAGE_SELF) and the largest rank worker's peak
(RUSAGE_CHILDREN, after the engine closed and reaped its workers) are reported separately.
--checks-out writes every case's Outcome (category, check names, messages, stats) so two runs can be
compared for bit-identical judgements (`--compare A B`).
Results are merged into the output file under --label (e.g. "baseline", "after"), one entry per backend.
Run it alone: it measures memory and time, so a concurrent heavy job skews both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEAVY = [
    "marn-tp_layer-b4s1024k1024n8192-fp16-w1", "marn-tp_layer-b4s1024k1024n8192-bf16-w1",
    "marn-tp_layer-b4s1024k512n8192-fp16-w2", "marn-tp_layer-b4s1024k512n8192-bf16-w2",
    "marn-tp_layer-b4s1024k256n8192-fp16-w4", "marn-tp_layer-b4s1024k256n8192-bf16-w4",
    "marn-tp_layer-b4s1024k128n8192-fp16-w8", "marn-tp_layer-b4s1024k128n8192-bf16-w8",
]
ORDINARY = [
    "v3-V3-BOUND-003-n65536_x2T-bf16-w8", "v3-V3-BOUND-002-k65535-fp16-w8",
    "marn-long_k_same_sign-k4096-fp16-w8", "marn-exact-k16n48-bf16-w2",
]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from conformance.memory import keep_freed_memory
if {keep!r}:
    keep_freed_memory()
from conformance import casegen
from conformance.judge import run_case
from conformance.context import Context
case = casegen.by_id({case!r})
backend_name = {backend!r}
if backend_name == "sim":
    from conformance.sim import SimulatorBackend
    backend = SimulatorBackend()
else:
    from conformance.sim.process_backend import SimProcessBackend
    backend = SimProcessBackend()
import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
out = run_case(case, backend, Context(seed={seed}))
wall = time.perf_counter() - t0
if hasattr(backend, "close"):
    backend.close()
checks = [[c.name, c.passed, c.message, c.category, c.stats] for c in out.checks]
print("RESULT " + json.dumps({{
    "category": out.category, "wall_s": wall, "import_rss_kib": import_rss,
    "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "workers_peak_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    "detail": out.detail, "checks": checks}}, default=repr))
"""


def run_one(case_id: str, backend: str, seed: int, keep: bool = True) -> dict:
    code = CHILD.format(root=str(ROOT), case=case_id, backend=backend, seed=seed, keep=keep)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    total = time.perf_counter() - t0
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode or line is None:
        return {"case": case_id, "error": f"rc {proc.returncode}: {proc.stderr[-2000:]}", "process_s": total}
    res = json.loads(line[len("RESULT "):])
    res.update(case=case_id, process_s=total)
    return res


def mib(kib) -> float:
    return round(kib / 1024, 1)


def compare(a_path: str, b_path: str) -> int:
    a, b = json.loads(Path(a_path).read_text()), json.loads(Path(b_path).read_text())
    bad = 0
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            bad += 1
            print(f"DIFFERENT: {key}")
    print(f"{len(set(a) & set(b))} outcomes compared, {bad} different")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", action="append", choices=("sim", "sim-process"))
    ap.add_argument("--cases", nargs="*", help="case ids (default: the heavy tp_layer cases and a few ordinary ones)")
    ap.add_argument("--heavy-only", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-keep", action="store_true", help="leave glibc's malloc defaults (no keep_freed_memory)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", default=str(ROOT / "bench" / "memory_results.json"))
    ap.add_argument("--checks-out", help="write every outcome's checks (messages and stats) to this JSON file")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two --checks-out files and exit")
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    cases = args.cases or (HEAVY if args.heavy_only else HEAVY + ORDINARY)
    backends = args.backend or ["sim"]
    out_path = Path(args.out)
    doc = json.loads(out_path.read_text()) if out_path.exists() else {}
    doc["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    doc["method"] = ("each case judged by judge.run_case in a fresh `python -c` process with keep_freed_memory() "
                     "on; peak_rss = ru_maxrss (VmHWM) of that process, imports included; wall = run_case only")
    outcomes = {}
    for backend in backends:
        rows = {}
        print(f"\n{backend}, seed {args.seed}, label {args.label!r}")
        hdr = f"{'case':48} {'category':10} {'peak MiB':>9} {'workers':>8} {'import':>7} {'wall s':>7}"
        print(hdr + "\n" + "-" * len(hdr))
        for cid in cases:
            r = run_one(cid, backend, args.seed, keep=not args.no_keep)
            if "error" in r:
                print(f"{cid:48} ERROR {r['error'][-300:]}")
                rows[cid] = {"error": r["error"][-500:]}
                continue
            outcomes[f"{backend}:{cid}"] = {"category": r["category"], "detail": r["detail"], "checks": r["checks"]}
            rows[cid] = {"category": r["category"], "peak_rss_mib": mib(r["peak_rss_kib"]),
                         "import_rss_mib": mib(r["import_rss_kib"]), "wall_s": round(r["wall_s"], 2)}
            workers = ""
            if backend == "sim-process":
                rows[cid]["workers_peak_rss_mib"] = mib(r["workers_peak_rss_kib"])
                workers = f"{mib(r['workers_peak_rss_kib']):8.1f}"
            print(f"{cid:48} {r['category']:10} {mib(r['peak_rss_kib']):9.1f} {workers:>8} "
                  f"{mib(r['import_rss_kib']):7.1f} {r['wall_s']:7.2f}", flush=True)
        doc.setdefault(args.label, {})[backend] = rows
    out_path.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwrote {out_path}")
    if args.checks_out:
        Path(args.checks_out).write_text(json.dumps(outcomes, indent=1, default=repr) + "\n")
        print(f"wrote {args.checks_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
