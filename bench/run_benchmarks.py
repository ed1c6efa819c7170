"""Benchmarks (never timed tests): throughput of the reference and the simulator next to the machine's own
float32 GEMM peak measured in the same run, wall time of the smoke and signoff profiles, and the per-case
overhead of a shape-only case.

    python bench/run_benchmarks.py [--skip-profiles] [--out bench/results.json]
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance import casegen  # noqa: E402
from conformance.casegen.inputs import materialise  # noqa: E402
from conformance.casegen.marn import OP, Shape, base_attrs, base_tensors  # noqa: E402
from conformance.casegen.model import Case  # noqa: E402
from conformance.judge import run_case  # noqa: E402
from conformance.memory import keep_freed_memory  # noqa: E402
from conformance.reference.marn import as_matrix, rank_outputs, reduced_matmul  # noqa: E402
from conformance.sim import SimulatorBackend  # noqa: E402
from conformance.context import Context  # noqa: E402


def best_of(fn, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def gemm_peak(n=2048):
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    b = np.random.default_rng(1).random((n, n), dtype=np.float32)
    a @ b
    return 2 * n**3 / best_of(lambda: a @ b) / 1e9


def large_case(dtype="float16", b=4, s=1024, k=4096, n=4096):
    shape = Shape("bench", b, s, k, n, "full")
    t = base_tensors(OP, dtype, shape)
    case = Case(id=f"bench-{dtype}", op=OP, world_size=1, tensors=tuple(t.items()),
                attrs=tuple(base_attrs(k=k).items()), rejects=False, covers=(), kind="valid", profile="full",
                dtype=dtype)
    return case, 2.0 * b * s * k * n


def reference_gflops(inv, flops):
    def ref():
        red = reduced_matmul(inv)
        r = inv.ranks[0]
        rank_outputs(red, as_matrix(r["residual"]), as_matrix(r["gamma"]).reshape(-1), 1e-6)
    ref()
    return flops / best_of(ref) / 1e9


def simulator_gflops(inv, flops):
    sim = SimulatorBackend()
    sim.invoke(inv)
    return flops / best_of(lambda: sim.invoke(inv)) / 1e9


def profile_wall(profile, workers=2):
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "cases"), "-q", "-p", "no:cacheprovider",
                           "--mc2-profile", profile, "-n", str(workers)], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    return wall, tail


def shape_only_overhead(repeats=200):
    sim = SimulatorBackend()
    case = next(c for c in casegen.catalogue() if c.shape_only and not c.rejects)
    run_case(case, sim, Context(seed=0))
    t = time.perf_counter()
    for _ in range(repeats):
        run_case(case, sim, Context(seed=0))
    return (time.perf_counter() - t) / repeats * 1e6, case.id


def int_matmul_speedup(m=1024, k=4096, n=1024):
    """The V3 reference's exact int8 matmul (float64 BLAS here, k * 128^2 >= 2^24) against numpy's integer matmul."""
    from conformance.reference.v3 import int_matmul
    rng = np.random.default_rng(0)
    x1 = rng.integers(-128, 128, (m, k)).astype(np.int8)
    x2 = rng.integers(-128, 128, (k, n)).astype(np.int8)
    exact = np.matmul(x1, x2, dtype=np.int32)
    t_numpy = best_of(lambda: np.matmul(x1, x2, dtype=np.int32), repeats=1)
    assert np.array_equal(int_matmul(x1, x2), exact.astype(np.float64))
    t_blas = best_of(lambda: int_matmul(x1, x2))
    return t_numpy, t_blas


def fuzz_throughput(budget=400):
    from conformance.fuzz import runner
    result = runner.fuzz(SimulatorBackend(), budget=budget, seed=11)
    return result.examples / result.seconds


def selfcheck_wall(workers=2):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "conformance.cli", "selfcheck", "-n", str(workers), "--out", tmp],
                       capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t
        score = json.loads((Path(tmp) / "selfcheck.json").read_text())
    return wall, f"{score['killed']}/{score['total']} killed, clean {'passes' if score['clean']['passed'] else 'FAILS'}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-profiles", action="store_true")
    ap.add_argument("--skip-selfcheck", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    a = ap.parse_args()
    keep_freed_memory()
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}",
           "date": time.strftime("%Y-%m-%d")}
    res["gemm_peak_gflops_f32_2048"] = round(gemm_peak(), 1)
    for dtype in ("float16", "bfloat16"):
        case, flops = large_case(dtype)
        inv = materialise(case, 0)
        res[f"reference_gflops_{dtype}_b4s1024k4096n4096"] = round(reference_gflops(inv, flops), 1)
        res[f"simulator_gflops_{dtype}_b4s1024k4096n4096"] = round(simulator_gflops(inv, flops), 1)
    t_numpy, t_blas = int_matmul_speedup()
    res["v3_int8_matmul_1024x4096x1024_numpy_int_s"] = round(t_numpy, 3)
    res["v3_int8_matmul_1024x4096x1024_reference_s"] = round(t_blas, 4)
    res["v3_int8_matmul_speedup"] = round(t_numpy / t_blas, 1)
    res["shape_only_case_us"], res["shape_only_case"] = shape_only_overhead()
    res["shape_only_case_us"] = round(res["shape_only_case_us"], 1)
    res["fuzz_examples_per_s_sim"] = round(fuzz_throughput(), 1)
    if not a.skip_profiles:
        for profile in ("smoke", "signoff"):
            wall, tail = profile_wall(profile)
            res[f"profile_{profile}_wall_s_n2"] = round(wall, 1)
            res[f"profile_{profile}_result"] = tail
    if not a.skip_selfcheck:
        wall, verdict = selfcheck_wall()
        res["selfcheck_wall_s_n2"], res["selfcheck_result"] = round(wall, 1), verdict
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    width = max(map(len, res))
    for k, v in res.items():
        print(f"{k:<{width}}  {v}")
    peak = res["gemm_peak_gflops_f32_2048"]
    for k, v in res.items():
        if k.endswith("b4s1024k4096n4096"):
            print(f"{k}: {100 * v / peak:.0f}% of the float32 GEMM peak")


if __name__ == "__main__":
    main()
