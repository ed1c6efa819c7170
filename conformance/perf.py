"""Performance mode (`mc2-conformance perf`): each fused operator against its chain of separate operators (MARN:
matmul (+bias) -> all-reduce -> AddRmsNorm; V3: quantised matmul (+x3) -> all-reduce), per world size, on
- layer shapes (default): tensor-parallel layers and smaller ones down the same family, each operator's layer case
  built by its record's `perf_case` (conformance/casegen/<op>_perf.py); or
- the path shapes (`--shapes paths`): one case per side of the operator's path model, taken from the catalogue:
  the cases tagged kind "path" or with a params entry ("path_sides", "<branch id>=<side>@<platform>") (several: a
  tuple), the first computing case per side whose world size is selected (`path_cases`). Where an operator has
  no tagged case yet, its layer shapes are timed instead and the run says so in one line.
Perf mode knows no operator by name: it asks each record for its `perf_case`, and the catalogue for the tags.

For every case:
1. correctness first: the same case is judged (judge.run_case); only a case that passes is timed;
2. the fused operator and the chain are timed: warm-up, then batches of iterations until the 95% confidence
   interval of the median (order statistics: ranks n/2 -/+ 1.96 sqrt(n)/2) is narrower than `target` (default
   +/-5% of the median) or `max_iterations` is reached. `backend.timed(inv, chain=, warmup=, iterations=)` where
   the backend has it (device events); otherwise wall-clock timing of invoke / invoke_chain, labelled
   "wall clock (simulator)". Repeat counts: the vendor's (VENDOR_WARMUP warm-up, VENDOR_ITERATIONS measured) are
   the default warm-up and first batch; `--repeats vendor` takes exactly those, `adaptive` (the default) adds
   batches until the confidence target or MAX_ITERATIONS;
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

from . import casegen, dtypes, operators
from .casegen.inputs import materialise
from .casegen.model import Case, Shape
from .operators import Operator
from .protocol import Timing
from .context import Context

DEFAULT_THRESHOLD = 0.95
DEFAULT_TARGET = 0.05
WALL_CLOCK = "wall clock (simulator)"


# The vendor's repeat counts for MC2 performance measurement: ops-transformer's MC2 bandwidth tool profiles
# `loop = 100` iterations with `repeat = 1` and `warmup = 5`, so `loop // repeat - warmup` = 95 are measured
# (mirror-cann/ops-transformer@3a280bcc mc2/tools/bandwidth_test/bandwidth_test.py:51-53, :214, the profiler
# schedule at :229; README.md:51-53 of the same folder). No published MatmulAllReduce(AddRmsNorm) or
# QuantMatmulAllReduce example or test states counts of its own (their examples/ run once).
VENDOR_LOOP, VENDOR_REPEAT, VENDOR_WARMUP = 100, 1, 5
VENDOR_ITERATIONS = VENDOR_LOOP // VENDOR_REPEAT - VENDOR_WARMUP  # 100 // 1 - 5 = 95
MAX_ITERATIONS = 200  # adaptive: the most iterations per measurement when the median's CI does not settle
REPEATS = ("adaptive", "vendor")

# MindSpeed's layer (casegen.marn.tp_layer) and smaller ones down the same family, as (b, s, whole k, n)
SHAPES = (Shape("mindspeed", 4, 1024, 1024, 8192), Shape("half", 2, 1024, 1024, 4096),
          Shape("small", 1, 512, 1024, 2048), Shape("tiny", 1, 128, 512, 1024))
QUICK_SHAPES = (Shape("q-small", 1, 16, 64, 128), Shape("q-medium", 1, 64, 128, 256),
                Shape("q-large", 2, 64, 256, 512))
PATHS = "paths"  # --shapes paths: the path model's cases (path_cases)
PATH_KIND = "path"  # a catalogue case built for the path model (Case.kind)
# its params key (casegen/path_design.py): the sides it was designed for, "<branch id>=<side>@<platform>", or one
PATH_SIDE = "path_sides"


class PerfUnsupported(ValueError):
    """An operator perf mode has no layer case for (one line)."""


def timed_operators() -> tuple[Operator, ...]:
    """The registered operators whose record names a layer case (`perf_case`)."""
    return tuple(op for op in operators.all_operators() if op.perf_case is not None)


def supported(op: Operator) -> None:
    """PerfUnsupported (one line) unless `op`'s record names a layer case for perf mode."""
    if op.perf_case is None:
        raise PerfUnsupported(f"perf mode does not implement {op.name}: its record names no perf_case; it times "
                              f"{', '.join(o.name for o in timed_operators())}")


def selected_operators(names=()) -> tuple[Operator, ...]:
    """The operators of `names` (empty: every one with a perf case); UnknownOperator / PerfUnsupported, one line."""
    if not names:
        return timed_operators()
    chosen = tuple(operators.get(n) for n in names)
    for op in chosen:
        supported(op)
    return chosen


def perf_case(shape: Shape, world_size: int, dtype: str, operator: Operator) -> Case:
    """`operator`'s layer case of `shape` on `world_size` ranks (each holding k / W of x1's columns)."""
    supported(operator)
    if shape.k % world_size:
        raise ValueError(f"shape {shape.name}: k = {shape.k} does not split over {world_size} ranks")
    if dtype not in operator.dtypes:
        raise ValueError(f"{operator.name} computes {', '.join(operator.dtypes)}, not {dtype}")
    return operator.code("perf_case")(operator, shape, world_size, dtype)


def path_sides(case: Case) -> tuple[str, ...]:
    """The path-model sides a catalogue case was built to reach: its ("path_sides", ...) params entry, else its id
    for a case of kind "path"; () for any other case."""
    side = dict(case.params).get(PATH_SIDE)
    if side is not None:
        return tuple(str(s) for s in side) if isinstance(side, (tuple, list)) else (str(side),)
    return (case.id,) if case.kind == PATH_KIND else ()


def path_cases(op: Operator, world_sizes, cases=None) -> list[tuple[str, Case]]:
    """(side, case): one computing case (not rejected, not shape-only) per path side of `op`, the first in catalogue
    order (`cases`: default the catalogue) whose world size is in `world_sizes`."""
    chosen: dict[str, Case] = {}
    for case in casegen.catalogue() if cases is None else cases:
        if case.op != op.name or case.rejects or case.shape_only or case.world_size not in world_sizes:
            continue
        for side in path_sides(case):
            chosen.setdefault(side, case)
    return list(chosen.items())


def case_mkn(op: Operator, case: Case) -> tuple[int, int, int]:
    """(m, whole k, n) of a case, from the operator's record: its output's shape (`shape_arg`: rows x n) and the
    per-rank k (attribute "_k", else x1's last dim) times the world size."""
    out = case.tensor_map[op.shape_arg].shape
    m = 1
    for d in out[:-1]:
        m *= d
    k = case.attr_map.get("_k", case.tensor_map["x1"].shape[-1])
    return m, k * case.world_size, out[-1]


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
    op: str  # the operator's record name
    shape: str  # the layer shape's name, or the path side the case reaches
    world_size: int
    dtype: str
    m: int
    k: int
    n: int
    correctness: str  # the judge's category; timing only after "pass"
    path_side: str = ""  # --shapes paths: the path model's side this case was chosen for
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
    warmup: int = VENDOR_WARMUP
    min_iterations: int = VENDOR_ITERATIONS
    max_iterations: int = MAX_ITERATIONS
    target: float = DEFAULT_TARGET
    threshold: float = DEFAULT_THRESHOLD
    operators: tuple[str, ...] = ()  # record names; () every operator with a perf case
    shape_source: str = "layers"  # "layers" (`shapes`) or PATHS (the path model's tagged cases, path_cases)
    extra: dict = field(default_factory=dict)


def quick_settings(**over) -> PerfSettings:
    return PerfSettings(**{"shapes": QUICK_SHAPES, "warmup": 1, "min_iterations": 3, "max_iterations": 8,
                           "target": 0.25, **over})


def vendor_repeats() -> dict:
    """The settings of `--repeats vendor`: exactly the vendor's warm-up and measured iterations, no more."""
    return {"warmup": VENDOR_WARMUP, "min_iterations": VENDOR_ITERATIONS, "max_iterations": VENDOR_ITERATIONS}


@dataclass(frozen=True)
class Target:
    """One case to time: a layer shape's case or a path side's."""
    case: Case
    label: str
    path_side: str = ""


def targets(op: Operator, settings: PerfSettings, progress=print) -> list[Target]:
    """What perf mode times for `op`: its path cases (settings.shape_source == PATHS, where any are tagged), else
    its layer case of every shape and world size."""
    if settings.shape_source == PATHS:
        tagged = [(side, case) for side, case in path_cases(op, settings.world_sizes) if case.dtype == settings.dtype
                  or not case.dtype]
        if tagged:
            return [Target(case, side, side) for side, case in tagged]
        progress(f"perf: {op.name}: no catalogue case is tagged for the path model (kind {PATH_KIND!r} or params "
                 f"{PATH_SIDE!r}) in {settings.dtype} at world sizes {','.join(map(str, settings.world_sizes))}; "
                 f"timing its layer shapes instead")
    out = []
    for shape in settings.shapes:
        for w in settings.world_sizes:
            try:
                out.append(Target(perf_case(shape, w, settings.dtype, op), shape.name))
            except ValueError as exc:
                progress(f"perf: skip {op.short} {shape.name} w{w}: {exc}")
    return out


def run(backend, settings: PerfSettings, progress=print, operator: Operator | None = None) -> dict:
    """Time `operator`, else settings.operators (default: every operator whose record names a perf case);
    PerfUnsupported (one line) for one that names none."""
    ops = (operator,) if operator is not None else selected_operators(settings.operators)
    for op in ops:
        supported(op)
    rows = [_time_one(backend, op, target, settings, progress) for op in ops
            for target in targets(op, settings, progress)]
    failed = [r for r in rows if r.verdict in ("fail", "gated")]
    return {"backend": backend.describe(),
            "settings": {**asdict(settings), "shapes": [asdict(s) for s in settings.shapes],
                         "operators": [op.name for op in ops],
                         "vendor_repeats": {"warmup": VENDOR_WARMUP, "iterations": VENDOR_ITERATIONS}},
            "rows": [asdict(r) for r in rows], "passed": not failed and bool(rows),
            "summary": {v: sum(r.verdict == v for r in rows) for v in sorted({r.verdict for r in rows})}}


def _time_one(backend, op: Operator, target: Target, settings: PerfSettings, progress) -> PerfRow:
    """Judge one case, then (if it passed) time the fused call and the chain."""
    from .judge import run_case
    case = target.case
    m, k, n = case_mkn(op, case)
    dtype = case.dtype or settings.dtype
    row = PerfRow(case.id, op.name, target.label, case.world_size, dtype, m, k, n, "", target.path_side)
    outcome = run_case(case, backend, Context(seed=settings.seed, with_metrics=False))
    row.correctness = outcome.category
    if not outcome.passed:
        row.verdict, row.detail = "gated", f"not timed: correctness {outcome.category}"
        progress(f"perf: {case.id}: {row.detail}")
        return row
    inv = materialise(case, settings.seed)
    kw = dict(warmup=settings.warmup, min_iterations=settings.min_iterations,
              max_iterations=settings.max_iterations, target=settings.target)
    row.fused = measure(backend, inv, chain=False, **kw)
    row.bandwidth = bandwidth(m, n, dtype, case.world_size, row.fused["p50_s"])
    if callable(getattr(backend, "invoke_chain", None)):
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
    return row


# ---------------------------------------------------------------------------------------------- the report

def _ms(stats: dict | None, key: str) -> str:
    return "-" if not stats else f"{stats[key] * 1e3:.3f}"


def to_markdown(result: dict) -> str:
    s = result["settings"]
    lines = ["# MC2 performance: fused operators against their chains of separate operators", "",
             f"Backend: {result['backend'].get('backend', '?')}. dtype {s['dtype']}, seed {s['seed']}; warm-up "
             f"{s['warmup']}, {s['min_iterations']}..{s['max_iterations']} iterations until the 95% CI of the median "
             f"is within +/-{s['target']:.0%}. Pass: fused throughput >= {s['threshold']} x chain. Only cases that "
             "passed their correctness check in this run are timed. The vendor's MC2 measurement takes "
             f"{VENDOR_WARMUP} warm-up and {VENDOR_ITERATIONS} measured iterations (ops-transformer "
             "mc2/tools/bandwidth_test).", "",
             "Bus bandwidth (nccl-tests convention): bytes = m x n x itemsize of the all-reduced tensor, algbw = bytes "
             "/ fused p50, busbw = algbw x 2(W-1)/W: lower bounds of the all-reduce's own bandwidth.", "",
             "| operator | case | shape or path side | W | m x k x n | correctness | fused p50 / p99 (ms) | CV | "
             "chain p50 / p99 (ms) | speedup | busbw (GB/s) | clock | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        f, c = r["fused"], r["chain"]
        head = (f"| {r['op']} | {r['case_id']} | {r['shape']} | {r['world_size']} | {r['m']} x {r['k']} x {r['n']} | "
                f"{r['correctness']} | ")
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
    for op, w in sorted({(r["op"], r["world_size"]) for r in result["rows"]}):
        rows = sorted((r for r in result["rows"] if (r["op"], r["world_size"]) == (op, w) and r["fused"]),
                      key=lambda r: r["bandwidth"]["bytes"])
        if not rows:
            continue
        x = [r["bandwidth"]["bytes"] for r in rows]
        line, = ax.plot(x, [r["fused"]["p50_s"] * 1e3 for r in rows], "o-", label=f"{op} fused W={w}")
        chain = [(xx, r["chain"]["p50_s"] * 1e3) for xx, r in zip(x, rows) if r["chain"]]
        if chain:
            ax.plot(*zip(*chain), "s--", color=line.get_color(), label=f"{op} chain W={w}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("all-reduced bytes (m x n x itemsize)")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("fused operators vs their chains")
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
