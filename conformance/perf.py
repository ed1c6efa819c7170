"""Performance mode (`mc2-conformance perf`): the fused MatmulAllReduceAddRmsNorm against its chain of separate
operators (matmul (+bias) -> all-reduce -> AddRmsNorm), on tensor-parallel layer shapes, per world size.

For every (shape, world size):
1. correctness first: the same case is judged (judge.run_case); only a case that passes is timed;
2. the fused operator and the chain are timed: warm-up, then batches of iterations until the 95% confidence
   interval of the median (order statistics: ranks n/2 -/+ 1.96 sqrt(n)/2) is narrower than `target` (default
   +/-5% of the median) or `max_iterations` is reached. `backend.timed(inv, chain=, warmup=, iterations=)` where
   the backend has it (device events); otherwise wall-clock timing of invoke / invoke_chain, labelled
   "wall clock (simulator)";
3. p50, p99, CV, speedup = chain p50 / fused p50 (= fused throughput / chain throughput) and the all-reduce's
   effective bandwidth in the nccl-tests convention: bytes = m * n * itemsize (the all-reduced tensor),
   algbw = bytes / time, busbw = algbw * 2 (W - 1) / W. The time is the fused operator's (the all-reduce cannot be
   timed apart inside it), so these are lower bounds of the all-reduce's own bandwidth;
4. verdict: fused throughput >= threshold x chain throughput (default 0.95, as the vendor's own system tests carry
   "perf": [0.95, 0.95]). With a wall clock (the simulator) the verdict is informative only.
Writes perf.json, perf.md and perf.png (latency against size, fused and chain; needs matplotlib, optional).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import dtypes, operators
from .casegen.inputs import materialise
from .casegen.model import Case, Shape, TensorSpec
from .operators import Operator
from .protocol import Timing
from .context import Context

DEFAULT_THRESHOLD = 0.95
DEFAULT_TARGET = 0.05
WALL_CLOCK = "wall clock (simulator)"


# MindSpeed's layer (casegen.marn.tp_layer) and smaller ones down the same family
SHAPES = (Shape("mindspeed", 4, 1024, 1024, 8192), Shape("half", 2, 1024, 1024, 4096),
          Shape("small", 1, 512, 1024, 2048), Shape("tiny", 1, 128, 512, 1024))
QUICK_SHAPES = (Shape("q-small", 1, 16, 64, 128), Shape("q-medium", 1, 64, 128, 256),
                Shape("q-large", 2, 64, 256, 512))


class PerfUnsupported(ValueError):
    """An operator perf mode has no layer case for (one line)."""


def _marn_case(op: Operator, shape: Shape, world_size: int, dtype: str) -> Case:
    """The out-of-place MARN case of `shape` on `world_size` ranks (each holding k / W of x1's columns)."""
    b, s, k, n = shape.b, shape.s, shape.k // world_size, shape.n
    t = {"x1": TensorSpec(dtype, (b, s, k), "unit"), "x2": TensorSpec(dtype, (k, n), "rhs"),
         "bias": TensorSpec(dtype, (n,), "bias"), "residual": TensorSpec(dtype, (b, s, n), "unit"),
         "gamma": TensorSpec(dtype, (n,), "gain"), "y": TensorSpec(dtype, (b, s, n), "output"),
         "normOut": TensorSpec(dtype, (b, s, n), "output")}
    attrs = {"epsilon": 1e-6, "reduceOp": "sum", "commTurn": 0, "streamMode": 1, "_k": k}
    return Case(id=f"perf-{shape.name}-{dtypes.short(dtype)}-w{world_size}", op=op.name, world_size=world_size,
                tensors=tuple(t.items()), attrs=tuple(attrs.items()), rejects=False,
                covers=("MARN-NUM-001", "MARN-NUM-002", "MARN-NUM-003", "MARN-NUM-004"), kind="valid",
                profile="full", dtype=dtype, params=(("b", shape.b), ("s", shape.s), ("k", shape.k), ("n", n)))


# The operators perf mode can time, by record (conformance/operators/): the layer case of each. Any other
# operator is refused (PerfUnsupported, one line).
PERF_CASES = {operators.MARN.name: _marn_case}


def supported(op: Operator) -> None:
    """PerfUnsupported (one line) unless perf mode has a layer case for `op`."""
    if op.name not in PERF_CASES:
        raise PerfUnsupported(f"perf mode does not implement {op.name}: it times "
                              f"{', '.join(PERF_CASES)} (conformance/perf.py PERF_CASES)")


def perf_case(shape: Shape, world_size: int, dtype: str = "float16", operator: Operator = operators.MARN) -> Case:
    """`operator`'s layer case of `shape` on `world_size` ranks (each holding k / W of x1's columns)."""
    supported(operator)
    if shape.k % world_size:
        raise ValueError(f"shape {shape.name}: k = {shape.k} does not split over {world_size} ranks")
    return PERF_CASES[operator.name](operator, shape, world_size, dtype)


# ---------------------------------------------------------------------------------------------- statistics

def median_ci(samples) -> tuple[float, float, float]:
    """(median, low, high): the distribution-free 95% confidence interval of the median from order statistics."""
    x = np.sort(np.asarray(samples, dtype=np.float64))
    n = x.size
    med = float(np.median(x))
    half = 1.96 * math.sqrt(n) / 2
    lo, hi = max(0, int(math.floor(n / 2 - half))), min(n - 1, int(math.ceil(n / 2 + half)) - 1)
    return med, float(x[lo]), float(x[max(hi, lo)])


def summarise(seconds, clock: str) -> dict:
    x = np.asarray(seconds, dtype=np.float64)
    med, lo, hi = median_ci(x)
    mean = float(x.mean())
    return {"iterations": int(x.size), "p50_s": med, "p99_s": float(np.percentile(x, 99)), "mean_s": mean,
            "min_s": float(x.min()), "cv": float(x.std(ddof=1) / mean) if x.size > 1 and mean > 0 else 0.0,
            "ci95_low_s": lo, "ci95_high_s": hi,
            "ci95_half_width_rel": float((hi - lo) / 2 / med) if med > 0 else 0.0, "clock": clock}


def _wall_timed(backend, inv, *, chain: bool, warmup: int, iterations: int) -> Timing:
    call = backend.invoke_chain if chain else backend.invoke
    for _ in range(warmup):
        call(inv)
    seconds = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        call(inv)
        seconds.append(time.perf_counter() - t0)
    return Timing(seconds, WALL_CLOCK)


def measure(backend, inv, *, chain: bool, warmup: int, min_iterations: int, max_iterations: int,
            target: float) -> dict:
    """Batches of iterations (the first after `warmup`) until the median's CI half-width is below `target`
    (relative) or `max_iterations` are done."""
    timed = getattr(backend, "timed", None)
    seconds: list[float] = []
    clock = ""
    batch, first = max(1, min_iterations), True
    while len(seconds) < max_iterations:
        n = min(batch, max_iterations - len(seconds))
        w = warmup if first else 0
        t = (timed(inv, chain=chain, warmup=w, iterations=n) if callable(timed)
             else _wall_timed(backend, inv, chain=chain, warmup=w, iterations=n))
        if len(t.seconds) != n:
            raise RuntimeError(f"backend timed() returned {len(t.seconds)} latencies for {n} iterations")
        seconds += [float(s) for s in t.seconds]
        clock, first = t.clock if callable(timed) else WALL_CLOCK, False
        if len(seconds) >= min_iterations and summarise(seconds, clock)["ci95_half_width_rel"] <= target:
            break
        batch = len(seconds)  # double the sample
    stats = summarise(seconds, clock)
    stats["converged"] = stats["ci95_half_width_rel"] <= target
    return stats


def bandwidth(m: int, n: int, dtype: str, world_size: int, seconds: float) -> dict:
    """nccl-tests: algbw = bytes / time, busbw = algbw * 2 (W - 1) / W (GB/s, 10^9 bytes)."""
    size = m * n * dtypes.np_dtype(dtype).itemsize
    algbw = size / seconds / 1e9 if seconds > 0 else 0.0
    return {"bytes": int(size), "algbw_GBps": algbw, "busbw_GBps": algbw * 2 * (world_size - 1) / world_size}


# -------------------------------------------------------------------------------------------------- the run

@dataclass
class PerfRow:
    case_id: str
    shape: str
    world_size: int
    dtype: str
    m: int
    k: int
    n: int
    correctness: str  # the judge's category; timing only after "pass"
    fused: dict | None = None
    chain: dict | None = None
    speedup: float | None = None  # chain p50 / fused p50 = fused throughput / chain throughput
    bandwidth: dict | None = None
    verdict: str = ""  # pass | fail | informative | gated | no chain
    detail: str = ""


@dataclass
class PerfSettings:
    world_sizes: tuple[int, ...] = (2, 4, 8)
    shapes: tuple[Shape, ...] = SHAPES
    dtype: str = "float16"
    seed: int = 0
    warmup: int = 5
    min_iterations: int = 10
    max_iterations: int = 200
    target: float = DEFAULT_TARGET
    threshold: float = DEFAULT_THRESHOLD
    extra: dict = field(default_factory=dict)


def quick_settings(**over) -> PerfSettings:
    return PerfSettings(**{"shapes": QUICK_SHAPES, "warmup": 1, "min_iterations": 3, "max_iterations": 8,
                           "target": 0.25, **over})


def run(backend, settings: PerfSettings, progress=print, operator: Operator = operators.MARN) -> dict:
    """Time `operator` (perf mode implements the ones in PERF_CASES: PerfUnsupported, one line, otherwise)."""
    from .judge import run_case
    supported(operator)
    rows: list[PerfRow] = []
    has_chain = callable(getattr(backend, "invoke_chain", None))
    for shape in settings.shapes:
        for w in settings.world_sizes:
            try:
                case = perf_case(shape, w, settings.dtype, operator)
            except ValueError as exc:
                progress(f"perf: skip {shape.name} w{w}: {exc}")
                continue
            row = PerfRow(case.id, shape.name, w, settings.dtype, shape.m, shape.k, shape.n, "")
            outcome = run_case(case, backend, Context(seed=settings.seed, with_metrics=False))
            row.correctness = outcome.category
            if not outcome.passed:
                row.verdict, row.detail = "gated", f"not timed: correctness {outcome.category}"
                progress(f"perf: {case.id}: {row.detail}")
                rows.append(row)
                continue
            inv = materialise(case, settings.seed)
            kw = dict(warmup=settings.warmup, min_iterations=settings.min_iterations,
                      max_iterations=settings.max_iterations, target=settings.target)
            row.fused = measure(backend, inv, chain=False, **kw)
            row.bandwidth = bandwidth(shape.m, shape.n, settings.dtype, w, row.fused["p50_s"])
            if has_chain:
                row.chain = measure(backend, inv, chain=True, **kw)
                row.speedup = row.chain["p50_s"] / row.fused["p50_s"] if row.fused["p50_s"] > 0 else None
                if row.fused["clock"] == WALL_CLOCK:
                    row.verdict = "informative"
                    row.detail = "wall clock of a simulator: no verdict"
                else:
                    row.verdict = "pass" if (row.speedup or 0) >= settings.threshold else "fail"
                    row.detail = f"fused throughput {row.speedup:.3f} x chain (threshold {settings.threshold})"
            else:
                row.verdict, row.detail = "no chain", "backend has no invoke_chain: no comparison"
            chain = f", chain p50 {row.chain['p50_s'] * 1e3:.3f} ms, speedup {row.speedup:.3f}" if row.chain else ""
            progress(f"perf: {case.id}: fused p50 {row.fused['p50_s'] * 1e3:.3f} ms{chain} [{row.verdict}]")
            rows.append(row)
    failed = [r for r in rows if r.verdict in ("fail", "gated")]
    return {"backend": backend.describe(),
            "settings": {**asdict(settings), "shapes": [asdict(s) for s in settings.shapes]},
            "rows": [asdict(r) for r in rows], "passed": not failed and bool(rows),
            "summary": {v: sum(r.verdict == v for r in rows) for v in sorted({r.verdict for r in rows})}}


# ---------------------------------------------------------------------------------------------- the report

def _ms(stats: dict | None, key: str) -> str:
    return "-" if not stats else f"{stats[key] * 1e3:.3f}"


def to_markdown(result: dict) -> str:
    s = result["settings"]
    lines = ["# MC2 performance: fused MatmulAllReduceAddRmsNorm against its chain", "",
             f"Backend: {result['backend'].get('backend', '?')}. dtype {s['dtype']}, seed {s['seed']}; warm-up "
             f"{s['warmup']}, {s['min_iterations']}..{s['max_iterations']} iterations until the 95% CI of the median "
             f"is within +/-{s['target']:.0%}. Pass: fused throughput >= {s['threshold']} x chain. Only cases that "
             "passed their correctness check in this run are timed.", "",
             "Bus bandwidth (nccl-tests convention): bytes = m x n x itemsize of the all-reduced tensor, algbw = bytes "
             "/ fused p50, busbw = algbw x 2(W-1)/W: lower bounds of the all-reduce's own bandwidth.", "",
             "| case | W | m x k x n | correctness | fused p50 / p99 (ms) | CV | chain p50 / p99 (ms) | speedup | "
             "busbw (GB/s) | clock | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        f, c = r["fused"], r["chain"]
        head = f"| {r['case_id']} | {r['world_size']} | {r['m']} x {r['k']} x {r['n']} | {r['correctness']} | "
        if not f:
            lines.append(head + f"- | - | - | - | - | - | {r['verdict']} ({r['detail']}) |")
            continue
        speedup = "-" if r["speedup"] is None else format(r["speedup"], ".3f")
        lines.append(head + f"{_ms(f, 'p50_s')} / {_ms(f, 'p99_s')} | {f['cv']:.3f} | {_ms(c, 'p50_s')} / "
                     f"{_ms(c, 'p99_s')} | {speedup} | {r['bandwidth']['busbw_GBps']:.3f} | {f['clock']} | "
                     f"{r['verdict']} |")
    lines += ["", f"Verdicts: {', '.join(f'{k} {v}' for k, v in result['summary'].items()) or 'none'}. "
                  f"Overall: {'PASS' if result['passed'] else 'FAIL'}."]
    if result.get("plot"):
        lines += ["", f"![latency against size]({result['plot']})"]
    elif result.get("plot_note"):
        lines += ["", result["plot_note"]]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> str | None:
    """perf.png: p50 latency against the all-reduced bytes, fused and chain, one line per world size. Returns a
    note instead when matplotlib is missing."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install matplotlib, the optional extra)"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for w in sorted({r["world_size"] for r in result["rows"]}):
        rows = sorted((r for r in result["rows"] if r["world_size"] == w and r["fused"]),
                      key=lambda r: r["bandwidth"]["bytes"])
        if not rows:
            continue
        x = [r["bandwidth"]["bytes"] for r in rows]
        line, = ax.plot(x, [r["fused"]["p50_s"] * 1e3 for r in rows], "o-", label=f"fused W={w}")
        chain = [(xx, r["chain"]["p50_s"] * 1e3) for xx, r in zip(x, rows) if r["chain"]]
        if chain:
            ax.plot(*zip(*chain), "s--", color=line.get_color(), label=f"chain W={w}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("all-reduced bytes (m x n x itemsize)")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("MatmulAllReduceAddRmsNorm: fused vs chain")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    note = plot(result, out / "perf.png")
    if note:
        result["plot_note"] = note
    else:
        result["plot"] = "perf.png"
    (out / "perf.json").write_text(json.dumps(result, indent=2, default=float))
    (out / "perf.md").write_text(to_markdown(result))
