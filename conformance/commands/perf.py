"""`mc2-conformance perf`: fused operators against their chains of separate operators."""

from __future__ import annotations

import time
from pathlib import Path

from .common import CliError, add_suite_options, context_of


def _shapes(a, perf) -> dict:
    """--shapes as PerfSettings fields: "paths" (the path model's cases), or layer shape names."""
    if a.shapes == perf.PATHS:
        return {"shape_source": perf.PATHS}
    if not a.shapes:
        return {}
    by_name = {s.name: s for s in perf.SHAPES + perf.QUICK_SHAPES}
    unknown = [n for n in a.shapes.split(",") if n not in by_name]
    if unknown:
        raise CliError(f"--shapes: unknown shape {unknown[0]!r}; known: {perf.PATHS}, {', '.join(by_name)}")
    return {"shapes": tuple(by_name[n] for n in a.shapes.split(","))}


def cmd_perf(a) -> int:
    from .. import operators, perf
    from ..backends import load_backend
    c = context_of(a)
    try:
        chosen = perf.selected_operators(tuple(a.op or ()))
    except (operators.UnknownOperator, perf.PerfUnsupported) as exc:
        raise CliError(f"--op: {exc}") from None
    bad = [op.name for op in chosen if a.dtype not in op.dtypes]
    if bad:
        raise CliError(f"--dtype {a.dtype}: {bad[0]} does not compute it")
    over = perf.vendor_repeats() if a.repeats == "vendor" else {}
    over.update({k: v for k, v in (("warmup", a.warmup), ("min_iterations", a.min_iterations),
                                   ("max_iterations", a.max_iterations), ("target", a.target)) if v is not None})
    common = dict(world_sizes=c.world_sizes, dtype=a.dtype, seed=c.seed, threshold=a.threshold,
                  operators=tuple(op.name for op in chosen), **_shapes(a, perf), **over)
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
    from ..perf import MAX_ITERATIONS, PATHS, REPEATS, VENDOR_ITERATIONS, VENDOR_WARMUP
    p = sub.add_parser("perf", help="fused operators against their chains: latency, speedup, bus bandwidth")
    # the suite's options from its one table; world size 1 has no all-reduce to time, so perf's default leaves it out
    add_suite_options(p, only=("--backend", "--fault", "--world-sizes", "--seed", "--sim-allreduce-accumulation",
                               "--sim-bf16-rms-source", "--sim-x3-rounding"),
                      defaults={"--world-sizes": ("2,4,8", "world size 1 has no all-reduce to time")})
    p.add_argument("--op", action="append", metavar="NAME",
                   help="operator to time (repeatable; default: every operator whose record names a perf case)")
    p.add_argument("--shapes", help=f"'{PATHS}': one case per side of each operator's path model (the catalogue's "
                                    f"cases tagged kind 'path' or params 'path_side'; an operator with none falls "
                                    f"back to its layer shapes), or comma-separated layer shapes (default: "
                                    f"mindspeed,half,small,tiny; with --quick q-small,q-medium,q-large)")
    p.add_argument("--dtype", default="float16", choices=("float16", "bfloat16"),
                   help="the output dtype timed (default float16)")
    p.add_argument("--quick", action="store_true", help="small shapes and few iterations (the simulator)")
    p.add_argument("--repeats", default="adaptive", choices=REPEATS,
                   help=f"'vendor': exactly the vendor's {VENDOR_WARMUP} warm-up and {VENDOR_ITERATIONS} measured "
                        f"iterations (ops-transformer mc2/tools/bandwidth_test: loop 100, warmup 5); 'adaptive' "
                        f"(default): those first, then more until the confidence target (at most {MAX_ITERATIONS})")
    p.add_argument("--warmup", type=int, help=f"warm-up iterations (default {VENDOR_WARMUP}; --quick 1)")
    p.add_argument("--min-iterations", type=int,
                   help=f"iterations before the confidence target is tested (default {VENDOR_ITERATIONS}; --quick 3)")
    p.add_argument("--max-iterations", type=int,
                   help=f"most iterations per measurement (default {MAX_ITERATIONS}; --quick 8)")
    p.add_argument("--target", type=float, help="relative 95%% CI half-width of the median to reach (default 0.05)")
    p.add_argument("--threshold", type=float, default=0.95,
                   help="pass: fused throughput >= THRESHOLD x chain throughput (default 0.95)")
    p.add_argument("--out", help="output folder for perf.json, perf.md, perf.png (default results/perf-<time>)")
    p.set_defaults(func=cmd_perf)
