"""The vendor's operator precision standard (hicann/opbase) applied to one case: the device's error and the
benchmark chain's error against the suite's golden, their ratios, and the level (L0/L1/L2) they reach.

Source: hicann/opbase@56922c3, docs/zh/ops_precision_standard/commercial_standard.md (the "commercial" standard;
the file was deleted from the repository in 8b296c7 / 3065559 on 2026-04-22: HEAD (aa3cd74) keeps only
experimental_standard.md, a mixed atol/rtol standard without levels). Cited below as "cs:<line>".

- Metrics (cs:349-373): relative error |actual - golden| / (|golden| + 1e-7); MARE its max, MERE its mean,
  RMSE sqrt(mean((actual - golden)^2)). Computed over the finite, normal-range elements (|golden| >= the
  small-value threshold) of every output the case compares, in float64.
- Ratios (cs:451): device metric / chain metric (the chain is the benchmark for fused operators, cs:699-702);
  0/0 is 1, x/0 is inf.
- Levels (cs:471-486): MARE / MERE / RMSE ratio <= 10 / 2 / 2 (L0), 5 / 1.5 / 1.5 (L1), 2 / 1.2 / 1.2 (L2).
- Small values (cs:545-580): where |golden| < threshold (fp16 2^-11, bf16 2^-8, fp32 2^-14) an element is an
  error if |actual - golden| > error (2^-16, 2^-16, 2^-30); ErrorCount_device / max(ErrorCount_chain, 1) <= 2.
- inf / -inf / NaN (cs:736-749): an element where golden, device or chain is not finite is correct if the
  device equals the chain or the golden, an error if the golden is non-finite and the device differs from it
  while the chain equals it, else "to investigate". The suite adds one rule: a non-finite device value where
  golden and chain are both finite is an error (overflow the benchmark does not have). Any error: no level.
- Re-check (cs:495-514, cs:798-811): on a failing ratio, re-run with other seeds, bootstrap the median of the
  ratio (2000 resamples with replacement, 95% interval from the 2.5% and 97.5% quantiles); fail if the
  interval's lower end > 1.0; fewer than 200 re-runs fail outright (the small-sample rule, cs:513). The suite
  bounds the re-runs per profile (RECHECK_SEEDS): below 200 the interval is computed and reported but the
  case fails by that rule; the full profile runs 200.
Only the verdict mode (`--mc2-precision-standard opbase-L1`) re-checks and decides; by default the check only
informs (always passes).

This module is the arithmetic on arrays it is given (metrics, ratios, levels, the bootstrap). Running the
backend for the chain, the repeat run and the re-check's seeds is the judging layer's (conformance/precision_runs.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import operators

STANDARD_REPO = "hicann/opbase"
STANDARD_REVISION = "56922c3"
STANDARD_FILE = "docs/zh/ops_precision_standard/commercial_standard.md"
STANDARD_LABEL = f"{STANDARD_REPO} {STANDARD_REVISION}"

REL_EPS = 1e-7  # cs:349
# level -> (MARE ratio, MERE ratio, RMSE ratio) upper limits, cs:471-486 (also the level table cs:43, 51, 59)
LEVELS = {"L0": (10.0, 2.0, 2.0), "L1": (5.0, 1.5, 1.5), "L2": (2.0, 1.2, 1.2)}
LEVEL_ORDER = ("below L0", "L0", "L1", "L2")  # worst first
NOT_JUDGED = "not judged"
# output dtype -> (small-value threshold, small-value error), cs:545-560
SMALL_VALUES = {"float16": (2.0**-11, 2.0**-16), "bfloat16": (2.0**-8, 2.0**-16), "float32": (2.0**-14, 2.0**-30)}
SMALL_VALUE_RATIO = 2.0  # cs:580
RECHECK_MIN_SAMPLES = 200  # cs:513
BOOTSTRAP_RESAMPLES = 2000  # cs:771, cs:799
CI_QUANTILES = (0.025, 0.975)  # cs:504
CI_LIMIT = 1.0  # cs:514
BOOTSTRAP_SEED = 20260422  # fixed: the interval of the same ratios is the same on every run
RECHECK_SEEDS = {"smoke": 8, "signoff": 32, "full": 200}  # extra seeds at most, by the case's profile
STANDARDS = ("opbase-L0", "opbase-L1", "opbase-L2")
CHECK_NAME = "precision standard"
MAX_ELEMENTS = 1 << 24  # per output and rank: larger cases are not judged (the CPU golden and chain would be slow)
# Without a standard set (--precision-standard), the level is informational: reported, never failing. Then the chain
# runs only up to this size: above it the chain and the metrics double a case's host-side cost (the path-designed
# cases of signoff reach 2^24 elements), for a number nobody judges. With a standard set, MAX_ELEMENTS holds.
INFORMATIONAL_MAX_ELEMENTS = 1 << 20
RATIO_NAMES = ("mare", "mere", "rmse")


def target_level(standard: str | None) -> str | None:
    if standard is None:
        return None
    if standard not in STANDARDS:
        raise ValueError(f"precision standard {standard!r}: expected one of {', '.join(STANDARDS)}")
    return standard.split("-", 1)[1]


def ratio(device: float, chain: float) -> float:
    if chain == 0:
        return 1.0 if device == 0 else float("inf")
    return float(device) / float(chain)


def _errors(actual: np.ndarray, golden: np.ndarray) -> dict:
    if actual.size == 0:
        return {"mare": 0.0, "mere": 0.0, "rmse": 0.0}
    diff = np.abs(actual - golden)
    rel = diff / (np.abs(golden) + REL_EPS)
    return {"mare": float(rel.max()), "mere": float(rel.mean()), "rmse": float(np.sqrt(np.mean(diff * diff)))}


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise: equal, NaN equal to NaN."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def compare_output(device, chain, golden, dtype: str) -> dict:
    """The standard's numbers for one output (any shapes of equal size; flattened, in float64)."""
    d = np.asarray(device).astype(np.float64).reshape(-1)
    c = np.asarray(chain).astype(np.float64).reshape(-1)
    g = np.asarray(golden).astype(np.float64).reshape(-1)
    threshold, small_error = SMALL_VALUES.get(dtype, SMALL_VALUES["float32"])
    special = ~(np.isfinite(d) & np.isfinite(c) & np.isfinite(g))
    nonfinite = {"elements": int(special.sum()), "correct": 0, "errors": 0, "investigate": 0}
    if special.any():
        ds, cs_, gs = d[special], c[special], g[special]
        correct = _same(ds, cs_) | _same(ds, gs)
        error = ~correct & ((~np.isfinite(gs) & _same(cs_, gs))
                            | (~np.isfinite(ds) & np.isfinite(gs) & np.isfinite(cs_)))
        nonfinite.update(correct=int(correct.sum()), errors=int(error.sum()),
                         investigate=int((~correct & ~error).sum()))
    ok = ~special
    d, c, g = d[ok], c[ok], g[ok]
    small = np.abs(g) < threshold
    normal = ~small
    dev, ben = _errors(d[normal], g[normal]), _errors(c[normal], g[normal])
    sv_dev = int((np.abs(d[small] - g[small]) > small_error).sum())
    sv_ben = int((np.abs(c[small] - g[small]) > small_error).sum())
    ratios = {k: ratio(dev[k], ben[k]) for k in RATIO_NAMES}
    ratios["small_values"] = sv_dev / max(sv_ben, 1)
    return {"device": dev, "chain": ben, "ratios": ratios, "elements": int(normal.sum()),
            "small_values": {"elements": int(small.sum()), "device_errors": sv_dev, "chain_errors": sv_ben,
                             "threshold": threshold, "error": small_error},
            "nonfinite": nonfinite, "level": level_of(ratios, nonfinite["errors"])}


def meets(ratios: dict, level: str) -> bool:
    limits = LEVELS[level]
    return (all(ratios[k] <= lim for k, lim in zip(RATIO_NAMES, limits))
            and ratios.get("small_values", 0.0) <= SMALL_VALUE_RATIO)


def level_of(ratios: dict, nonfinite_errors: int = 0) -> str:
    """The highest level whose limits every ratio meets ("below L0" if none, or if an inf/NaN is wrong)."""
    if nonfinite_errors:
        return "below L0"
    for level in ("L2", "L1", "L0"):
        if meets(ratios, level):
            return level
    return "below L0"


def worse(a: str, b: str) -> str:
    return a if LEVEL_ORDER.index(a) <= LEVEL_ORDER.index(b) else b


def bootstrap_median_ci(samples, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """The median of `samples` and the 95% interval of its bootstrap distribution (cs:798-801): `resamples`
    draws of len(samples) with replacement, the median of each, the 2.5% and 97.5% quantiles."""
    x = np.asarray(samples, np.float64)
    rng = np.random.default_rng(seed)
    medians = np.median(x[rng.integers(0, x.size, size=(resamples, x.size))], axis=1)
    lo, hi = np.quantile(medians, CI_QUANTILES)
    return {"n": int(x.size), "median": float(np.median(x)), "ci": [float(lo), float(hi)]}


# ---- outputs of a case ----------------------------------------------------------------------------------------

def out_dtype(inv) -> str:
    """The dtype the case's outputs have (its record's dtype_arg)."""
    return inv.ranks[0][operators.get(inv.op).dtype_arg].dtype


def numel(inv) -> int:
    """Elements per output (the shape of its record's shape_arg)."""
    t = inv.ranks[0][operators.get(inv.op).shape_arg]
    return int(np.prod(t.shape, dtype=np.int64))


def case_numbers(inv, device_results, chain_results, expected: dict | None = None) -> dict:
    """The standard's numbers of one invocation: per output, and the case's worst level and ratios. The golden
    and the ranks compared are the operator's own (its record's precision_outputs)."""
    golden, ranks = operators.get(inv.op).precision_outputs(inv, expected)
    dtype = out_dtype(inv)
    outputs, level = {}, "L2"
    worst = {k: 0.0 for k in (*RATIO_NAMES, "small_values")}
    for name, refs in golden.items():
        dev, ben = [], []
        for r in ranks:
            a, b = device_results[r].outputs.get(name), chain_results[r].outputs.get(name)
            if a is None or b is None or np.asarray(a).size != refs[len(dev)].size:
                raise ValueError(f"rank {r} {name}: missing or of the wrong size in the "
                                 f"{'device' if a is None or np.asarray(a).size != refs[len(dev)].size else 'chain'}"
                                 f" outputs")
            dev.append(np.asarray(a).reshape(-1))
            ben.append(np.asarray(b).reshape(-1))
        g = np.concatenate([np.asarray(x).reshape(-1) for x in refs])
        o = compare_output(np.concatenate(dev), np.concatenate(ben), g, dtype)
        outputs[name] = o
        level = worse(level, o["level"])
        for k in worst:
            worst[k] = max(worst[k], o["ratios"][k])
    return {"level": level, "ratios": worst, "outputs": outputs, "dtype": dtype, "ranks_compared": len(ranks)}


# ---- helpers of the check the judge records (conformance/precision_runs.py) ------------------------------------

def rounded(x):
    if isinstance(x, float):
        return x if not np.isfinite(x) else float(f"{x:.6g}")
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, list):
        return [rounded(v) for v in x]
    return x


def copy_results(results):
    return [dataclasses.replace(r, outputs={k: np.array(v, copy=True) for k, v in (r.outputs or {}).items()})
            for r in results]


def all_ok(results) -> bool:
    return all(r.status == 0 for r in results)
