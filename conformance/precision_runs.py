"""The precision standard's runs (conformance/tolerance/precision.py holds its arithmetic): the judging layer
drives the backend for the benchmark chain, the repeat run and the re-check's other seeds, materialising the
case again where it needs fresh inputs, and hands the arrays to tolerance/precision.py (the tolerance layer
never calls a backend). Called by the judge (judge._precision_standard).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from .casegen.inputs import materialise
from .tolerance import compare
from .tolerance.precision import (CHECK_NAME, CI_LIMIT, INFORMATIONAL_MAX_ELEMENTS, LEVEL_ORDER, LEVELS,
                                  MAX_ELEMENTS, NOT_JUDGED, RATIO_NAMES,
                                  RECHECK_MIN_SAMPLES, RECHECK_SEEDS, SMALL_VALUE_RATIO, STANDARD_LABEL, all_ok,
                                  bootstrap_median_ci, case_numbers, copy_results, numel, rounded, target_level)


def recheck(case, backend, *, seed: int, target: str, expected=None, max_seeds: int | None = None) -> dict:
    """The re-check of a failing ratio (cs:495-514): up to `max_seeds` (RECHECK_SEEDS[case.profile]) other seeds,
    each ratio that missed the target level bootstrapped (its worst over the outputs, per seed)."""
    n_max = RECHECK_SEEDS.get(getattr(case, "profile", "smoke"), RECHECK_SEEDS["smoke"]) if max_seeds is None \
        else max_seeds
    samples: dict[str, list[float]] = {k: [] for k in RATIO_NAMES}
    skipped = 0
    for i in range(1, n_max + 1):
        other = dataclasses.replace(case, fixed_seed=None) if getattr(case, "fixed_seed", None) is not None else case
        inv = materialise(other, seed + 7919 * i)
        dev = backend.invoke(inv)
        if not all_ok(dev):
            skipped += 1
            continue
        dev = copy_results(dev)
        ben = backend.invoke_chain(inv)
        if not all_ok(ben):
            skipped += 1
            continue
        nums = case_numbers(inv, dev, ben, None)
        for k in samples:
            samples[k].append(nums["ratios"][k])
    return {"seeds": n_max, "skipped": skipped, "samples": samples}


def check_case(case, backend, inv, results, *, seed: int, expected: dict | None = None,
               standard: str | None = None) -> compare.Check:
    """The "precision standard" check of one judged case. Informational (always passes) unless `standard`
    ("opbase-L1", ...) asks for a verdict: then a case below that level (after the re-check) fails with category
    "precision". Never raises."""
    t0 = time.perf_counter()
    target = target_level(standard)
    stats: dict = {"standard": STANDARD_LABEL, "mode": standard or "informational"}

    def done(passed: bool, msg: str) -> compare.Check:
        stats["seconds"] = round(time.perf_counter() - t0, 4)
        return compare.Check(CHECK_NAME, passed, f"{CHECK_NAME} ({STANDARD_LABEL}): {msg}", rounded(stats),
                             category="precision")

    if not hasattr(backend, "invoke_chain"):
        stats.update(level=NOT_JUDGED, chain="not supported")
        return done(True, "chain: not supported by this backend (level not judged)")
    limit = MAX_ELEMENTS if standard else INFORMATIONAL_MAX_ELEMENTS
    if numel(inv) > limit:
        stats.update(level=NOT_JUDGED, chain="not run: case too large")
        return done(True, f"not judged: more than {limit} elements per output"
                          + ("" if standard else " (informational: --precision-standard runs up to "
                                                 f"{MAX_ELEMENTS})"))
    try:
        device = copy_results(results)
        chain = backend.invoke_chain(inv)
        if not all_ok(chain):
            stats.update(level=NOT_JUDGED, chain=f"status {[r.status for r in chain]}")
            return done(target is None, f"the chain failed with status {[r.status for r in chain]}")
        nums = case_numbers(inv, device, chain, expected)
    except Exception as exc:  # a comparison that cannot be made is recorded, never a crash of the judge
        stats.update(level=NOT_JUDGED, error=f"{type(exc).__name__}: {exc}")
        return done(target is None, f"not judged: {type(exc).__name__}: {exc}")
    stats.update(level=nums["level"], ratios=nums["ratios"], dtype=nums["dtype"],
                 ranks_compared=nums["ranks_compared"],
                 outputs={name: {k: o[k] for k in ("device", "chain", "ratios", "level", "elements",
                                                   "small_values", "nonfinite")}
                          for name, o in nums["outputs"].items()})
    summary = (f"level {nums['level']} (ratios MARE {nums['ratios']['mare']:.3g}, MERE {nums['ratios']['mere']:.3g}, "
               f"RMSE {nums['ratios']['rmse']:.3g}, small values {nums['ratios']['small_values']:.3g})")
    if target is None:
        return done(True, summary + " [informational]")
    # the verdict: repeatability (one more run, fresh NaN-filled outputs; recorded, not deciding), then the level
    try:
        again = backend.invoke(materialise(case, seed))
        stats["repeatable"] = all_ok(again) and all(
            set(a.outputs) == set(b.outputs) and all(
                np.array_equal(np.asarray(a.outputs[k]).view(np.uint8), np.asarray(b.outputs[k]).view(np.uint8))
                for k in a.outputs) for a, b in zip(device, again))
    except Exception as exc:
        stats["repeatable"] = f"not run: {type(exc).__name__}"
    if LEVEL_ORDER.index(nums["level"]) >= LEVEL_ORDER.index(target):
        return done(True, summary + f" >= {target}")
    target_limits = dict(zip(RATIO_NAMES, LEVELS[target]))
    missed = [k for k in RATIO_NAMES if nums["ratios"][k] > target_limits[k]]
    hard = [f"{n} inf/NaN errors" for n in [sum(o["nonfinite"]["errors"] for o in nums["outputs"].values())] if n]
    if nums["ratios"]["small_values"] > SMALL_VALUE_RATIO:
        hard.append(f"small-value error ratio {nums['ratios']['small_values']:.3g} > {SMALL_VALUE_RATIO}")
    if hard or not missed:
        return done(False, summary + f" < {target}: " + "; ".join(hard or ["below the level"]))
    try:
        rc = recheck(case, backend, seed=seed, target=target, expected=expected)
    except Exception as exc:
        stats["recheck"] = {"error": f"{type(exc).__name__}: {exc}"}
        return done(False, summary + f" < {target}; the re-check failed: {type(exc).__name__}: {exc}")
    first = {k: nums["ratios"][k] for k in missed}
    intervals = {}
    for k in missed:
        xs = [first[k]] + rc["samples"][k]
        intervals[k] = bootstrap_median_ci(xs)
    runs = len(rc["samples"][missed[0]])
    ci_pass = all(iv["ci"][0] <= CI_LIMIT for iv in intervals.values())
    enough = runs >= RECHECK_MIN_SAMPLES
    stats["recheck"] = {"extra_seeds": rc["seeds"], "runs": runs, "skipped": rc["skipped"], "metrics": missed,
                        "intervals": intervals, "ci_lower_le_1": ci_pass, "enough_samples": enough}
    passed = ci_pass and enough
    stats["level_after_recheck"] = target if passed else nums["level"]
    why = ("passes the re-check" if passed else
           f"the re-check's {runs} runs < {RECHECK_MIN_SAMPLES} (the standard's small-sample rule)" if ci_pass else
           "the bootstrap interval's lower end > 1.0")
    ivs = ", ".join(f"{k.upper()} median {iv['median']:.3g} CI [{iv['ci'][0]:.3g}, {iv['ci'][1]:.3g}]"
                    for k, iv in intervals.items())
    return done(passed, summary + f" < {target}: {why} ({ivs})")
