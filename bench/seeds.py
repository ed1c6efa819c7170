"""Run the conformance cases once per seed and record, per seed: pass/fail/skip counts, wall seconds, pytest's
exit status and the failing node ids.

    python bench/seeds.py --backend sim --seeds 0-19 [--workers 2] [--numeric-only] [--out bench/seeds_results.json]

--numeric-only keeps the tests whose inputs come from the run seed (test_valid, test_exact): invalid cases'
statuses do not depend on the seed, and the golden and regression cases replay fixed inputs. The results are
merged per backend and seed into --out (written after every seed); the exit status is 1 if any seed failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMERIC_ONLY = "test_valid or test_exact"
HEAVY = "tp_layer"  # the realistic tensor-parallel layers: minutes per seed on torch-cpu (see --light)
COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed)\b")


def parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += range(int(lo), int(hi or lo) + 1)
    return seeds


def summary(output: str) -> dict:
    """Counts from pytest's last summary line ("1 failed, 800 passed, 36 skipped in 61.2s") and the node ids
    of its FAILED / ERROR lines."""
    lines = output.splitlines()
    last = next((ln for ln in reversed(lines) if COUNT.search(ln) and re.search(r" in [\d.]+s", ln)), "")
    counts = {"passed": 0, "failed": 0, "skipped": 0, "errors": 0}
    for n, word in COUNT.findall(last):
        counts["errors" if word.startswith("error") else word] = int(n)
    failing = [ln.split(" ", 1)[1].split(" - ", 1)[0] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    return {**counts, "summary": last.strip("= "), "failing": failing}


def run_seed(backend: str, seed: int, workers: int, numeric_only: bool, light: bool = False) -> dict:
    cmd = [sys.executable, "-m", "pytest", "cases/", "-p", "no:cacheprovider", "-q", "-n", str(workers),
           "--mc2-backend", backend, "--mc2-seed", str(seed), "--mc2-profile", "signoff"]
    selection = [f"({NUMERIC_ONLY})"] if numeric_only else []
    if light:
        selection.append(f"not {HEAVY}")
    if selection:
        cmd += ["-k", " and ".join(selection)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    result = {"exit": proc.returncode, "wall_s": round(wall, 1), **summary(proc.stdout + proc.stderr),
              "command": " ".join(cmd[1:])}
    if proc.returncode not in (0, 1):  # usage error, internal error, nothing collected: keep the evidence
        result["output_tail"] = (proc.stdout + proc.stderr)[-2000:]
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="sim")
    ap.add_argument("--seeds", default="0-19", help="e.g. 0-19 or 0,3,5-7")
    ap.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (-n)")
    ap.add_argument("--numeric-only", action="store_true", help=f"only -k '{NUMERIC_ONLY}'")
    ap.add_argument("--light", action="store_true",
                    help=f"leave out the {HEAVY} cases (for slow backends; record which seeds ran them)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "seeds_results.json"))
    args = ap.parse_args(argv)

    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    entry = data.setdefault(args.backend + (" (light)" if args.light else ""), {})
    entry.update({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "workers": args.workers,
                  "numeric_only": args.numeric_only, "light": args.light, "date": time.strftime("%Y-%m-%d")})
    seeds_done = entry.setdefault("seeds", {})
    bad = []
    for seed in parse_seeds(args.seeds):
        r = run_seed(args.backend, seed, args.workers, args.numeric_only, args.light)
        seeds_done[str(seed)] = r
        out.write_text(json.dumps(data, indent=1) + "\n")
        ok = r["exit"] == 0
        if not ok:
            bad.append(seed)
        print(f"{args.backend} seed {seed}: {r['passed']} passed, {r['failed']} failed, {r['errors']} errors, "
              f"{r['skipped']} skipped in {r['wall_s']}s (exit {r['exit']})"
              + "".join(f"\n  {f}" for f in r["failing"][:20]), flush=True)
    walls = [seeds_done[str(s)]["wall_s"] for s in parse_seeds(args.seeds)]
    print(f"{args.backend}: {len(walls)} seeds, {len(bad)} failed {bad or ''}; wall total {sum(walls):.0f}s, "
          f"mean {sum(walls) / len(walls):.1f}s, max {max(walls):.1f}s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
