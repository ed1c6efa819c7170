"""Benchmark of the CANN twin (never a timed test): wall time of sign-off runs of the hardware backends on the CPU
twin of a CANN node (conformance/twin/, `--twin`), next to the machine's float32 GEMM peak measured in the same run,
plus the twin's build and the real torch_npu's import under it.

    python bench/bench_twin.py [--profiles smoke signoff] [--backends torch-npu aclnn] [-n 2]
                                [--out bench/twin_results.json]

Each run is `mc2-conformance run --backend B --profile P --twin -n N` in a subprocess; its verdict and counts come
from the run's summary.json. Needs torch-npu (the `torch-npu` extra) and a C compiler; says so in one line if not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run_benchmarks import gemm_peak  # noqa: E402

from conformance import twin  # noqa: E402


def twin_build_seconds(cache_dir: Path) -> dict:
    """A cold build into an empty cache, then a warm prepare()."""
    start = time.perf_counter()
    built = twin.prepare(cache_dir=cache_dir)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    twin.prepare(cache_dir=cache_dir)
    return {"cold_build_s": round(cold, 2), "warm_prepare_s": round(time.perf_counter() - start, 2),
            "env": built.env}


def torch_npu_import_seconds(env: dict) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, torch_npu"], env={**os.environ, **env}, check=True,
                   capture_output=True)
    return round(time.perf_counter() - start, 2)


def run_wall(backend: str, profile: str, workers: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "conformance.cli", "run", "--backend", backend, "--profile", profile, "--twin",
           "-n", str(workers), "--out", str(out)]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return {"backend": backend, "profile": profile, "workers": workers, "wall_s": round(wall, 1),
            "exit": done.returncode, "verdict": summary.get("verdict"), "counts": summary.get("counts"),
            "last_line": (done.stdout.strip().splitlines() or [""])[-1][:300]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["smoke", "signoff"])
    parser.add_argument("--backends", nargs="+", default=["torch-npu", "aclnn"])
    parser.add_argument("-n", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "twin_results.json")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory() as cache:
            build = twin_build_seconds(Path(cache))
    except twin.TwinError as exc:
        print(f"bench_twin: the CANN twin cannot be built here: {exc}", file=sys.stderr)
        return 2
    env = build.pop("env")
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "gemm_peak_gflops": round(gemm_peak(), 1),
               "twin": build, "torch_npu_import_s": torch_npu_import_seconds(env), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for profile in args.profiles:
            for backend in args.backends:
                run = run_wall(backend, profile, args.n, Path(tmp) / f"{backend}-{profile}")
                print(json.dumps(run), flush=True)
                results["runs"].append(run)
    results["gemm_peak_gflops_after"] = round(gemm_peak(), 1)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"bench_twin: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
