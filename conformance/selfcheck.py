"""The self-check: how many wrong implementations does the suite reject, and does it accept a correct one?

It runs the suite (through pytest, as a release engineer would) against the clean simulator with xdist,
then once per named fault, each run stopping at its first failure (`-x`) with the tests covering the fault's
violated constraints ordered first (`--mc2-first`), several faulted runs side by side. A fault that no test
fails is a hole in the suite. Results: a table on the console and selfcheck.json / selfcheck.md in --out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatch
from pathlib import Path

from .results import first_failure
from .sim.faults import FAULTS


def _pytest_cmd(cases_dir: Path, profile: str, world_sizes: str, seed: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", str(cases_dir), "-p", "no:cacheprovider", "-q", "--mc2-backend", "sim",
            "--mc2-profile", profile, "--mc2-world-sizes", world_sizes, "--mc2-seed", str(seed), *extra]


def _first_failure(results: Path) -> tuple[str | None, int]:
    return first_failure(results)


def run_fault(fault: str, *, cases_dir: Path, profile: str, world_sizes: str, seed: int, tmp: Path) -> dict:
    results = tmp / f"{fault.replace(':', '_')}.jsonl"
    t0 = time.perf_counter()
    proc = subprocess.run(_pytest_cmd(cases_dir, profile, world_sizes, seed,
                                      ["--mc2-fault", fault, "-x", "--mc2-results", str(results),
                                       "--mc2-status-check", FAULTS[fault].status_check,
                                       "--mc2-unsupported-inputs", FAULTS[fault].unsupported_inputs,
                                       "--mc2-first", ",".join(FAULTS[fault].violates)]),
                          capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    first, ran = _first_failure(results)
    return {"fault": fault, "violates": list(FAULTS[fault].violates), "killed": proc.returncode == 1 and bool(first),
            "first_kill": first, "tests_run": ran, "seconds": round(time.perf_counter() - t0, 2),
            "exit_status": proc.returncode,
            "error": "" if proc.returncode in (0, 1) else (proc.stdout + proc.stderr).strip()[-300:]}


def run(*, cases_dir: Path, profile: str = "signoff", world_sizes: str = "1,2,4,8", seed: int = 0, workers: int = 2,
        faults: str = "*", out: Path, progress=print) -> dict:
    names = [f for f in FAULTS if FAULTS[f].kind == "contract"  # behaviour faults are the contract's to pass
             and any(fnmatch(f, pat) for pat in faults.split(","))]
    if not names:
        raise ValueError(f"--faults {faults!r} matches no fault; `mc2-conformance faults` lists them")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    clean_results = out / "clean.jsonl"
    clean_results.unlink(missing_ok=True)
    progress(f"selfcheck: clean run ({profile}, -n {workers})")
    clean = subprocess.run(_pytest_cmd(cases_dir, profile, world_sizes, seed,
                                       ["-n", str(workers), "--mc2-results", str(clean_results)]),
                           capture_output=True, text=True)
    first, ran = _first_failure(clean_results)
    clean_summary = {"passed": clean.returncode == 0, "tests": ran, "first_failure": first,
                     "tail": clean.stdout.strip().splitlines()[-1:] if clean.stdout.strip() else []}
    progress(f"selfcheck: clean run {'passed' if clean_summary['passed'] else 'FAILED'} ({ran} tests); "
             f"{len(names)} faults, {workers} at a time")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        futures = [pool.submit(run_fault, f, cases_dir=cases_dir, profile=profile, world_sizes=world_sizes,
                               seed=seed, tmp=Path(tmp)) for f in names]
        for i, fut in enumerate(futures, 1):
            row = fut.result()
            rows.append(row)
            progress(f"  [{i:>3}/{len(names)}] {'killed  ' if row['killed'] else 'SURVIVED'} {row['fault']:<34} "
                     f"{row['first_kill'] or row['error'] or '-'}")
    killed = sum(r["killed"] for r in rows)
    result = {"profile": profile, "world_sizes": world_sizes, "seed": seed, "clean": clean_summary,
              "killed": killed, "total": len(rows), "score": killed / len(rows),
              "seconds": round(time.perf_counter() - t0, 1), "faults": rows}
    (out / "selfcheck.json").write_text(json.dumps(result, indent=1))
    (out / "selfcheck.md").write_text(to_markdown(result))
    return result


def to_markdown(result: dict) -> str:
    lines = [f"# Self-check: {result['killed']}/{result['total']} faults killed "
             f"(score {result['score']:.1%}), clean simulator "
             f"{'passes' if result['clean']['passed'] else 'FAILS'} ({result['clean']['tests']} tests)", "",
             f"profile {result['profile']}, world sizes {result['world_sizes']}, seed {result['seed']}, "
             f"{result['seconds']} s", "", "| fault | violates | verdict | first test that killed it |",
             "|---|---|---|---|"]
    for r in result["faults"]:
        lines.append(f"| {r['fault']} | {', '.join(r['violates'])} | {'killed' if r['killed'] else 'SURVIVED'} "
                     f"| {r['first_kill'] or r['error'] or '-'} |")
    return "\n".join(lines) + "\n"


def load(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
