"""`mc2-conformance diff OLD NEW`: what changed between two run folders (a CANN version and the next).

Every run folder is a baseline: its results.jsonl holds, per test, the outcome and category, the (status, phase)
of every rank, the sha256 of every output of every rank, the error statistics, the seconds, and the inputs'
generator version, seed and sha256; its first line holds the environment. Tests are matched by test id (a case
can run in two tests: test_golden draws its inputs from the golden seed, test_valid from the run seed).

Categories of change (each can be made the gate with --fail-on; the default gate is status):
  status       outcome, category, or the status code or phase of any rank changed
  bits         an output's bytes changed. The documents do not promise run-to-run determinism, so a bit change
               is "not promised" and informational unless --fail-on bits
  accuracy     drift of the error / derived-bound ratios (ACCURACY_TEST below): per (op, dtype) group a
               two-sided Mann-Whitney U test of the per-test max ratios of both runs, and per test (identical
               inputs only) a relative change beyond a threshold; only significant drift is reported
  perf         per (op, dtype) group, the median over its tests of new seconds / old seconds beyond a threshold
  inputs       same seed and generator recorded, but the materialised inputs hash differently: a generator change
               ("inputs changed: not comparable"; left out of bits, accuracy and perf, never hidden)
  cases        tests added or removed
  paths        implementation paths (sides of the published tiling's and kernels' decisions, per platform) the
               judged cases of one run reach and of the other do not (informational unless --fail-on paths)
  environment  a difference in the run entries (backend description, node facts, seed, faults, ...)

Outputs: diff.md, diff.html (the verdict page's renderer, same look) and diff.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..protocol import TARGET_HARDWARE
from ..results import PathCoverage, path_changes, read_log
from .page import Bullets, Para, Row, Section, Table, Text, render_html, render_markdown

CATEGORIES = ("status", "bits", "accuracy", "perf", "inputs", "cases", "paths", "environment")
DEFAULT_GATE = ("status",)
DEFAULT_ALPHA = 0.01
DEFAULT_MIN_GROUP = 5  # the normal approximation of U needs a few cases per side; smaller groups are not tested
DEFAULT_ACCURACY_THRESHOLD = 0.5  # per test: |new - old| > 0.5 * max(old, ACCURACY_FLOOR)
ACCURACY_FLOOR = 0.05  # ratios below 5 % of the bound are noise-level: a change there is measured against 0.05
DEFAULT_PERF_THRESHOLD = 1.5  # a group's median seconds ratio >= 1.5 (slower) or <= 1/1.5 (faster)
DEFAULT_PERF_MIN_SECONDS = 0.05  # tests faster than this in either run are timer noise: not compared
BITS_NOTE = "not promised: the documents do not promise run-to-run determinism (informational)"
# catalogue: what the page quotes, not the run; paths: compared on their own (the `paths` category)
RUN_KEYS_IGNORED = {"started", "waiver_findings", "catalogue", "paths"}


# ---- the statistical test ---------------------------------------------------------------------------------------

def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def mann_whitney_u(x: list[float], y: list[float]) -> dict:
    """Two-sided Mann-Whitney U test of H0 "x and y come from the same distribution", normal approximation:
    midranks for ties, the tie-corrected variance n1 n2 / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1))) and a
    continuity correction of 0.5. Returns u (U of x), z, p (two-sided) and the sizes. All values tied: p = 1."""
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("mann_whitney_u needs at least one value on each side")
    pooled = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    n = n1 + n2
    ranks = [0.0] * n
    ties = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1  # midrank, 1-based
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    r1 = sum(r for r, (_, side) in zip(ranks, pooled) if side == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return {"u": u1, "z": 0.0, "p": 1.0, "n_old": n1, "n_new": n2}
    z = (abs(u1 - mean) - 0.5) / math.sqrt(var)
    z = max(z, 0.0)
    return {"u": u1, "z": math.copysign(z, u1 - mean), "p": min(1.0, 2 * _normal_sf(z)), "n_old": n1, "n_new": n2}


def _median(v: list[float]) -> float:
    s = sorted(v)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


ACCURACY_TEST = ("two-sided Mann-Whitney U test per (op, dtype) group of the per-test max error/bound ratios "
                 "(normal approximation with midranks for ties, tie-corrected variance and a 0.5 continuity "
                 "correction; scipy-free)")


# ---- reading runs -----------------------------------------------------------------------------------------------

def load(folder) -> tuple[dict, dict]:
    """(run entry, {test id: entry}) of a run folder (or a results.jsonl), as the JSON dicts of their lines
    (read through conformance.results, the schema; {} where the log has no run entry)."""
    path = Path(folder)
    if path.is_dir():
        path = path / "results.jsonl"
    if not path.exists():
        raise ValueError(f"no results.jsonl in {folder} (a folder written by `mc2-conformance run`)")
    log = read_log(path)
    return (log.run.to_dict() if log.run else {}), {t.nodeid: t.to_dict() for t in log.tests}


def case_ids(folder) -> list[str]:
    """The case ids a run folder ran (also those of tests skipped before they reached the judge), in order."""
    _, tests = load(folder)
    ids = []
    for nodeid, t in tests.items():
        cid = (t.get("mc2") or {}).get("case_id")
        if not cid and nodeid.endswith("]") and "[" in nodeid:
            cid = nodeid[nodeid.index("[") + 1:-1]
        if cid and cid not in ids:
            ids.append(cid)
    return ids


def max_ratio(info: dict) -> float | None:
    """The worst error / derived-bound ratio of a test (over ranks and outputs); None without one."""
    ratios = [st["max_ratio"] for st in (info.get("stats") or {}).values()
              if isinstance(st, dict) and isinstance(st.get("max_ratio"), (int, float))]
    return max(ratios) if ratios else None


def vendor_errors(info: dict) -> dict:
    """MARE (max relative error), MERE (mean relative error) and RMSE of the vendor metrics, worst over outputs."""
    out: dict = {}
    for st in (info.get("stats") or {}).values():
        for vm in ((st or {}).get("vendor_metrics") or {}).values() if isinstance(st, dict) else ():
            for key, name in (("max_rel_error", "MARE"), ("mean_rel_error", "MERE"), ("rmse", "RMSE")):
                if isinstance(vm.get(key), (int, float)):
                    out[name] = max(out.get(name, 0.0), float(vm[key]))
    return out


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if not prefix and k in RUN_KEYS_IGNORED:
            continue
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v, default=str) if isinstance(v, (list, tuple)) else v
    return out


def _observed(info: dict) -> list:
    return [list(x) for x in info.get("observed") or []]


def _state(t: dict) -> str:
    info = t.get("mc2") or {}
    words = [t.get("outcome", "?")]
    if info.get("category") and info["category"] not in ("pass",):
        words.append(info["category"])
    obs = _observed(info)
    if obs:
        words.append("[" + ", ".join(f"{s}" + (f" {p}" if p else "") for s, p in obs) + "]")
    return " ".join(words)


def _status_change(old: dict, new: dict) -> list[str]:
    """What changed in the status of one test (empty: nothing)."""
    a, b = old.get("mc2") or {}, new.get("mc2") or {}
    what = []
    if old.get("outcome") != new.get("outcome"):
        what.append(f"outcome {old.get('outcome')} -> {new.get('outcome')}")
    if a.get("category") != b.get("category") and (a or b):
        what.append(f"category {a.get('category', '-')} -> {b.get('category', '-')}")
    oa, ob = _observed(a), _observed(b)
    if oa != ob and (oa or ob):
        if len(oa) != len(ob):
            what.append(f"{len(oa)} -> {len(ob)} ranks answered")
        for r, (x, y) in enumerate(zip(oa, ob)):
            if x != y:
                what.append(f"rank {r}: status {x[0]}{' from ' + x[1] if x[1] else ''} -> "
                            f"{y[0]}{' from ' + y[1] if y[1] else ''}")
    return what


def _kept_difference(old_dir: Path, new_dir: Path, a: dict, b: dict, names: list[str]) -> str:
    """Max |difference| and differing elements of changed outputs, when both runs kept them (--keep-outputs)."""
    fa, fb = a.get("outputs_file"), b.get("outputs_file")
    if not (fa and fb and (old_dir / "outputs" / fa).exists() and (new_dir / "outputs" / fb).exists()):
        return ""
    import numpy as np
    parts = []
    with np.load(old_dir / "outputs" / fa) as za, np.load(new_dir / "outputs" / fb) as zb:
        for name in names:
            if (name in za.files and name in zb.files and za[name].shape == zb[name].shape
                    and za[name].dtype.kind in "fiub" and zb[name].dtype.kind in "fiub"):
                x, y = za[name].astype(np.float64), zb[name].astype(np.float64)
                differ = ~((x == y) | (np.isnan(x) & np.isnan(y)))
                d = np.abs(x - y)[differ]
                parts.append(f"{name}: {int(differ.sum())} of {x.size} elements differ, max |diff| "
                             f"{float(np.nanmax(d)) if d.size else 0.0:.3g}")
    return "; ".join(parts)


# ---- the comparison ---------------------------------------------------------------------------------------------

def compare(old_dir, new_dir, *, alpha: float = DEFAULT_ALPHA, min_group: int = DEFAULT_MIN_GROUP,
            accuracy_threshold: float = DEFAULT_ACCURACY_THRESHOLD, perf_threshold: float = DEFAULT_PERF_THRESHOLD,
            perf_min_seconds: float = DEFAULT_PERF_MIN_SECONDS) -> dict:
    """The diff of two run folders as a JSON-able dict (see the module docstring)."""
    old_run, old = load(old_dir)
    new_run, new = load(new_dir)
    common = [k for k in old if k in new]
    d: dict = {
        "old": _run_facts(old_dir, old_run, old), "new": _run_facts(new_dir, new_run, new),
        "parameters": {"alpha": alpha, "min_group": min_group, "accuracy_threshold": accuracy_threshold,
                       "accuracy_floor": ACCURACY_FLOOR, "perf_threshold": perf_threshold,
                       "perf_min_seconds": perf_min_seconds, "accuracy_test": ACCURACY_TEST},
        "compared": len(common),
        "status": [], "bits": [], "inputs": [], "accuracy": {"groups": [], "cases": [], "tests": []},
        "perf": {"groups": [], "cases": []},
        "cases": {"added": [k for k in new if k not in old], "removed": [k for k in old if k not in new]},
        "environment": [],
    }
    d["paths"] = path_changes(PathCoverage.from_dict(old_run.get("paths")),
                              PathCoverage.from_dict(new_run.get("paths")))
    fa, fb = _flatten(old_run), _flatten(new_run)
    d["environment"] = [{"key": k, "old": fa.get(k), "new": fb.get(k)} for k in sorted(set(fa) | set(fb))
                        if fa.get(k) != fb.get(k)]
    acc_old: dict = {}
    acc_new: dict = {}
    perf: dict = {}
    no_hashes = 0
    for k in common:
        t_old, t_new = old[k], new[k]
        a, b = t_old.get("mc2") or {}, t_new.get("mc2") or {}
        row = {"test": k, "case_id": b.get("case_id") or a.get("case_id") or "", "op": b.get("op") or a.get("op"),
               "dtype": b.get("dtype") or a.get("dtype"), "kind": b.get("kind") or a.get("kind")}
        what = _status_change(t_old, t_new)
        if what:
            d["status"].append({**row, "old": _state(t_old), "new": _state(t_new), "what": what})
        ia, ib = a.get("inputs_sha256"), b.get("inputs_sha256")
        seeds_differ = a.get("seed") != b.get("seed")
        inputs_differ = bool(ia and ib and ia != ib)
        if inputs_differ and not seeds_differ:
            d["inputs"].append({**row, "seed": b.get("seed"), "old_generator": a.get("generator"),
                                "new_generator": b.get("generator"), "old_sha256": ia, "new_sha256": ib,
                                "note": "inputs changed: not comparable"})
            continue  # bits, accuracy and perf of other inputs say nothing about the backend
        ha, hb = a.get("output_hashes"), b.get("output_hashes")
        if ha is None or hb is None:
            no_hashes += bool(a or b)
        elif ha != hb:
            names = sorted(n for n in set(ha) | set(hb) if ha.get(n) != hb.get(n))
            reason = (f"inputs differ: seed {a.get('seed')} -> {b.get('seed')}" if inputs_differ
                      else "not promised (informational)")
            d["bits"].append({**row, "outputs": names, "note": reason,
                              "difference": _kept_difference(Path(old_dir), Path(new_dir), a, b, names)})
        group = f"{row['op']} / {row['dtype']}"
        ra, rb = max_ratio(a), max_ratio(b)
        if ra is not None and rb is not None:
            acc_old.setdefault(group, []).append(ra)
            acc_new.setdefault(group, []).append(rb)
            if not inputs_differ and abs(rb - ra) > accuracy_threshold * max(ra, ACCURACY_FLOOR):
                d["accuracy"]["cases"].append({**row, "old_ratio": ra, "new_ratio": rb,
                                               "change": (rb - ra) / max(ra, ACCURACY_FLOOR),
                                               "old_vendor": vendor_errors(a), "new_vendor": vendor_errors(b)})
        sa, sb = a.get("seconds"), b.get("seconds")
        if (isinstance(sa, (int, float)) and isinstance(sb, (int, float)) and min(sa, sb) >= perf_min_seconds
                and t_old.get("outcome") != "skipped" and t_new.get("outcome") != "skipped"):
            perf.setdefault(group, []).append({**row, "old_seconds": sa, "new_seconds": sb, "ratio": sb / sa})
    d["no_hashes"] = no_hashes
    for group in sorted(acc_old):
        x, y = acc_old[group], acc_new[group]
        test = {"group": group, "n_old": len(x), "n_new": len(y), "median_old": _median(x), "median_new": _median(y),
                "tested": min(len(x), len(y)) >= min_group}
        if test["tested"]:
            test.update(mann_whitney_u(x, y))
            test["significant"] = test["p"] < alpha
            test["direction"] = "worse" if test["median_new"] > test["median_old"] else "better"
        else:
            test["significant"] = False
        d["accuracy"]["tests"].append(test)
        if test["significant"]:
            d["accuracy"]["groups"].append(test)
    for group in sorted(perf):
        rows = perf[group]
        med = _median([r["ratio"] for r in rows])
        if med >= perf_threshold or med <= 1 / perf_threshold:
            d["perf"]["groups"].append({"group": group, "tests": len(rows), "median_ratio": med,
                                        "direction": "slower" if med > 1 else "faster"})
            d["perf"]["cases"] += [r for r in rows if r["ratio"] >= perf_threshold or r["ratio"] <= 1 / perf_threshold]
    d["counts"] = counts(d)
    return d


def _run_facts(folder, run: dict, tests: dict) -> dict:
    outcomes: dict = {}
    for t in tests.values():
        outcomes[t.get("outcome", "?")] = outcomes.get(t.get("outcome", "?"), 0) + 1
    return {"folder": str(folder), "backend": run.get("backend"),
            "backend description": (run.get("environment") or {}).get("backend"),
            "target": (run.get("environment") or {}).get("target"),  # hardware, simulator, CANN twin (CPU), ...
            "cann_version": run.get("cann_version"), "profile": run.get("profile"),
            "world_sizes": run.get("world_sizes"), "seed": run.get("seed"), "faults": run.get("faults"),
            "tests": len(tests), "outcomes": outcomes}


def counts(d: dict) -> dict:
    return {"status": len(d["status"]), "bits": len(d["bits"]), "inputs": len(d["inputs"]),
            "accuracy": len(d["accuracy"]["groups"]) + len(d["accuracy"]["cases"]),
            "perf": len(d["perf"]["groups"]), "cases": len(d["cases"]["added"]) + len(d["cases"]["removed"]),
            "paths": len(d["paths"]["newly_reached"]) + len(d["paths"]["no_longer_reached"]),
            "environment": len(d["environment"])}


def parse_gate(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_GATE
    names = tuple(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
    if "all" in names:
        return CATEGORIES
    bad = [x for x in names if x not in CATEGORIES]
    if bad or not names:
        raise ValueError(f"--fail-on {text!r}: expected a comma-separated list of {', '.join(CATEGORIES)} (or all)")
    return names


def gate(d: dict, fail_on=DEFAULT_GATE) -> int:
    """The exit status: 1 where a gated category has changes, else 0."""
    return 1 if any(d["counts"][c] for c in fail_on) else 0


# ---- rendering --------------------------------------------------------------------------------------------------

MEANING = {
    "status": "outcome, category, or a rank's status code or phase changed",
    "bits": "an output's bytes changed (" + BITS_NOTE.split(":", 1)[0] + ")",
    "accuracy": "significant drift of error / bound ratios",
    "perf": "a group's median seconds ratio beyond the threshold",
    "inputs": "inputs changed: not comparable (same seed, other inputs: a generator change)",
    "cases": "tests added or removed",
    "paths": "implementation path sides newly reached or no longer reached (per platform)",
    "environment": "run entry differences (backend, node, options)",
}


def not_hardware_warning(d: dict) -> str:
    """A warning when either run was not on hardware (its recorded target: a simulator, the CANN twin), so a diff
    of such runs never reads as a hardware comparison; "" when both were (or neither recorded a target)."""
    targets = {side: d[side].get("target") for side in ("old", "new")}
    off = {side: t for side, t in targets.items() if t and t != TARGET_HARDWARE}
    if not off:
        return ""
    return "not a hardware comparison: " + ", ".join(f"the {side} run is on the {t}" for side, t in off.items())


def headline(d: dict, fail_on=DEFAULT_GATE) -> str:
    c = d["counts"]
    changed = ", ".join(f"{n} {k}" for k, n in c.items() if n) or "no change"
    return (f"{changed}; gate (--fail-on {','.join(fail_on)}): "
            + ("CHANGED" if gate(d, fail_on) else "no gated change"))


def build_page(d: dict, fail_on=DEFAULT_GATE) -> list[Section]:
    p = d["parameters"]
    g = gate(d, fail_on)
    warning = not_hardware_warning(d)
    sections = [Section("diff", ["MC2 conformance diff: ", Text("CHANGED" if g else "NO GATED CHANGE", strong=True,
                                                                   cls="FAIL" if g else "PASS")], [
        Para([f"{d['old']['folder']} \u2192 {d['new']['folder']}: {d['compared']} tests compared. ",
              headline(d, fail_on)]),
        *([Para([Text(warning, strong=True)], cls="simulator")] if warning else []),
        Table(["category", "changes", "gate", "meaning"],
              [Row([k, str(d["counts"][k]), "yes" if k in fail_on else "no", MEANING[k]],
                   cls=("fail" if d["counts"][k] and k in fail_on else "waived" if d["counts"][k] else ""))
               for k in CATEGORIES], id="diff-counts")], level=1)]
    facts = ("backend", "backend description", "target", "cann_version", "profile", "world_sizes", "seed", "faults",
             "tests", "outcomes")
    sections.append(Section("runs", ["Runs compared"], [Table(
        ["", "old", "new"], [[k, _fmt(d["old"].get(k)), _fmt(d["new"].get(k))] for k in ("folder",) + facts],
        id="runs")]))
    sections.append(Section("status", [f"Status changes ({len(d['status'])})"], [Table(
        ["test", "old", "new", "what changed"],
        [Row([r["test"], r["old"], r["new"], "; ".join(r["what"])], cls="fail") for r in d["status"]], id="status")
        if d["status"] else Para(["none"])]))
    sections.append(Section("inputs", [f"Inputs changed: not comparable ({len(d['inputs'])})"], [Table(
        ["test", "seed", "generator (old \u2192 new)", "inputs sha256 (old \u2192 new)"],
        [[r["test"], str(r["seed"]), f"{r['old_generator']} \u2192 {r['new_generator']}",
          f"{(r['old_sha256'] or '')[:12]} \u2192 {(r['new_sha256'] or '')[:12]}"] for r in d["inputs"]], id="inputs")
        if d["inputs"] else Para(["none: every test present in both runs drew the same inputs, or another seed"])]))
    bit_blocks = [Para([Text("Bit changes are " + BITS_NOTE, strong=False)])]
    if d["bits"]:
        bit_blocks.append(Table(["test", "outputs changed", "note", "difference (kept outputs)"],
                                [[r["test"], ", ".join(r["outputs"]), r["note"], r["difference"] or "-"]
                                 for r in d["bits"]], id="bits"))
    else:
        bit_blocks.append(Para(["none" + (f" ({d['no_hashes']} tests without recorded hashes)"
                                          if d.get("no_hashes") else "")]))
    sections.append(Section("bits", [f"Bit changes ({len(d['bits'])})"], bit_blocks))
    acc = d["accuracy"]
    tested = [t for t in acc["tests"] if t["tested"]]
    acc_blocks = [Para([Text("Test: ", strong=True), f"{ACCURACY_TEST}, alpha = {p['alpha']}, groups with at "
                        f"least {p['min_group']} tests in both runs ({len(tested)} of {len(acc['tests'])} groups "
                        f"tested); per test with identical inputs: |new - old| > {p['accuracy_threshold']} x "
                        f"max(old, {p['accuracy_floor']}). Only significant drift is listed."])]
    if acc["groups"]:
        acc_blocks.append(Table(["op / dtype", "tests (old, new)", "median ratio old", "median ratio new", "U",
                                 "z", "p", "direction"],
                                [Row([t["group"], f"{t['n_old']}, {t['n_new']}", f"{t['median_old']:.3f}",
                                      f"{t['median_new']:.3f}", f"{t['u']:.1f}", f"{t['z']:.2f}", f"{t['p']:.2e}",
                                      t["direction"]], cls="fail" if t["direction"] == "worse" else "")
                                 for t in acc["groups"]], id="accuracy-groups"))
    if acc["cases"]:
        acc_blocks.append(Table(["test", "ratio old", "ratio new", "change", "MARE / MERE / RMSE old",
                                 "MARE / MERE / RMSE new"],
                                [[r["test"], f"{r['old_ratio']:.3f}", f"{r['new_ratio']:.3f}", f"{r['change']:+.0%}",
                                  _vendor(r["old_vendor"]), _vendor(r["new_vendor"])] for r in acc["cases"]],
                                id="accuracy-cases"))
    if not (acc["groups"] or acc["cases"]):
        acc_blocks.append(Para(["no significant drift"]))
    sections.append(Section("accuracy", [f"Accuracy drift ({d['counts']['accuracy']})"], acc_blocks))
    perf_blocks = [Para([f"Per test new seconds / old seconds (tests of at least {p['perf_min_seconds']} s in both "
                         f"runs); a group is listed where its median ratio is >= {p['perf_threshold']} or <= "
                         f"1/{p['perf_threshold']}."])]
    if d["perf"]["groups"]:
        perf_blocks.append(Table(["op / dtype", "tests", "median ratio", "direction"],
                                 [[g_["group"], str(g_["tests"]), f"{g_['median_ratio']:.2f}", g_["direction"]]
                                  for g_ in d["perf"]["groups"]], id="perf-groups"))
        perf_blocks.append(Table(["test", "old s", "new s", "ratio"],
                                 [[r["test"], f"{r['old_seconds']:.3f}", f"{r['new_seconds']:.3f}", f"{r['ratio']:.2f}"]
                                  for r in d["perf"]["cases"]], id="perf-cases"))
    else:
        perf_blocks.append(Para(["no change beyond the threshold"]))
    sections.append(Section("perf", [f"Performance ({d['counts']['perf']})"], perf_blocks))
    cases = d["cases"]
    sections.append(Section("cases", [f"Tests added ({len(cases['added'])}) and removed ({len(cases['removed'])})"],
                            [Bullets([[Text("added: ", strong=True), k] for k in cases["added"]]
                                     + [[Text("removed: ", strong=True), k] for k in cases["removed"]])
                             if cases["added"] or cases["removed"] else Para(["none"])]))
    sections.append(_paths_section(d["paths"]))
    sections.append(Section("environment", [f"Environment differences ({len(d['environment'])})"], [Table(
        ["key", "old", "new"], [[e["key"], _fmt(e["old"]), _fmt(e["new"])] for e in d["environment"]], cls="env",
        id="environment") if d["environment"] else Para(["none"])]))
    return sections


def _paths_section(p: dict) -> Section:
    rows = ([Row([r["branch"], r["side"], r["platform"], str(r["old"]), str(r["new"]), "newly reached"])
             for r in p["newly_reached"]]
            + [Row([r["branch"], r["side"], r["platform"], str(r["old"]), str(r["new"]), "no longer reached"],
                   cls="waived") for r in p["no_longer_reached"]])
    unrecorded = [name for name, rec in zip(("old", "new"), p["recorded"]) if not rec]
    blocks = [Para([f"not recorded by the {' and '.join(unrecorded)} run (a run from before path coverage): "
                    f"{'its' if len(unrecorded) == 1 else 'their'} sides count as unreached"])] if unrecorded else []
    blocks.append(Table(["branch", "side", "platform", "cases old", "cases new", "change"], rows, id="paths")
                  if rows else Para(["none: the judged cases of both runs reach the same sides"]))
    return Section("paths", [f"Implementation paths ({len(rows)})"], blocks)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "-"
    if isinstance(v, dict):
        return ", ".join(f"{k} {n}" for k, n in v.items()) or "-"
    return str(v)


def _vendor(v: dict) -> str:
    return " / ".join(f"{v[k]:.2e}" if k in v else "-" for k in ("MARE", "MERE", "RMSE")) if v else "-"


def write(d: dict, out_dir, fail_on=DEFAULT_GATE) -> dict:
    """Write diff.md, diff.html and diff.json into out_dir; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    page = build_page(d, fail_on)
    paths = {"md": out / "diff.md", "html": out / "diff.html", "json": out / "diff.json"}
    paths["md"].write_text(render_markdown(page))
    paths["html"].write_text(render_html(page))
    paths["json"].write_text(json.dumps({**d, "gate": list(fail_on), "exit_status": gate(d, fail_on)}, indent=1,
                                        default=str))
    return paths


def summary_entry(d: dict, fail_on=DEFAULT_GATE, *, html: str = "diff.html", md: str = "diff.md") -> dict:
    """The optional `diff` entry of the verdict page's summary dict (page.py renders it as one section)."""
    return {"baseline": d["old"]["folder"], "headline": headline(d, fail_on), "counts": d["counts"],
            "gate": list(fail_on), "gated": bool(gate(d, fail_on)), "html": html, "md": md,
            "status": [(r["test"], "; ".join(r["what"])) for r in d["status"]][:20],
            "more_status": max(0, len(d["status"]) - 20)}
