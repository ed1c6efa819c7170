"""`mc2-conformance perf`: fused operator against its chain of separate operators."""

from __future__ import annotations

import time
from pathlib import Path

from .common import CliError, add_suite_options, context_of


def cmd_perf(a) -> int:
    from .. import perf
    from ..backends import load_backend
    c = context_of(a)
    world_sizes = c.world_sizes
    pool = perf.QUICK_SHAPES if a.quick else perf.SHAPES
    shapes = pool
    if a.shapes:
        by_name = {s.name: s for s in perf.SHAPES + perf.QUICK_SHAPES}
        unknown = [n for n in a.shapes.split(",") if n not in by_name]
        if unknown:
            raise CliError(f"--shapes: unknown shape {unknown[0]!r}; known: {', '.join(by_name)}")
        shapes = tuple(by_name[n] for n in a.shapes.split(","))
    over = {k: v for k, v in (("warmup", a.warmup), ("min_iterations", a.min_iterations),
                              ("max_iterations", a.max_iterations), ("target", a.target)) if v is not None}
    common = dict(world_sizes=world_sizes, shapes=shapes, dtype=a.dtype, seed=c.seed, threshold=a.threshold, **over)
    settings = perf.quick_settings(**common) if a.quick else perf.PerfSettings(**common)
    backend = load_backend(c.backend, faults=c.faults, sim_options=c.sim_options)
    try:
        result = perf.run(backend, settings)
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()
    out = Path(a.out or f"results/perf-{time.strftime('%Y%m%d-%H%M%S')}")
    perf.write(result, out)
    if result.get("plot_note"):
        print(result["plot_note"])
    print(f"perf: {'PASS' if result['passed'] else 'FAIL'} "
          f"({', '.join(f'{k} {v}' for k, v in result['summary'].items()) or 'nothing timed'}); "
          f"written to {out / 'perf.json'}, perf.md and perf.png")
    return 0 if result["passed"] else 1


def register(sub) -> None:
    p = sub.add_parser("perf", help="fused operator against its chain: latency, speedup, bus bandwidth")
    # the suite's options from its one table; world size 1 has no all-reduce to time, so perf's default leaves it out
    add_suite_options(p, only=("--backend", "--fault", "--world-sizes", "--seed", "--sim-allreduce-accumulation",
                               "--sim-bf16-rms-source", "--sim-x3-rounding"),
                      defaults={"--world-sizes": ("2,4,8", "world size 1 has no all-reduce to time")})
    p.add_argument("--shapes", help="comma-separated layer shapes (default: mindspeed,half,small,tiny; with --quick "
                                    "q-small,q-medium,q-large)")
    p.add_argument("--dtype", default="float16", choices=("float16", "bfloat16"), help="MARN dtype (default float16)")
    p.add_argument("--quick", action="store_true", help="small shapes and few iterations (the simulator)")
    p.add_argument("--warmup", type=int, help="warm-up iterations (default 5; --quick 1)")
    p.add_argument("--min-iterations", type=int, help="iterations before the confidence target is tested (default 10)")
    p.add_argument("--max-iterations", type=int, help="most iterations per measurement (default 200; --quick 8)")
    p.add_argument("--target", type=float, help="relative 95%% CI half-width of the median to reach (default 0.05)")
    p.add_argument("--threshold", type=float, default=0.95,
                   help="pass: fused throughput >= THRESHOLD x chain throughput (default 0.95)")
    p.add_argument("--out", help="output folder for perf.json, perf.md, perf.png (default results/perf-<time>)")
    p.set_defaults(func=cmd_perf)
