"""Sign-off summary from a results log (one JSON line per test, written by the pytest plugin).

`summarise` turns the log into the facts of a verdict (counts, per-constraint and matrix states, accuracy,
skips by reason, the evidence rule); `reporting.page` turns those facts into one page model with two renderings
(summary.md, summary.html); `write_summary` writes both and summary.json.

The verdict needs evidence: FAIL if any test failed; otherwise NO VERDICT unless at least one test executed
(passed, failed or waived) and every catalogue constraint the collected tests cover executed at least once;
otherwise PASS WITH WAIVERS if a failure was waived, else PASS.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
from collections import defaultdict
from pathlib import Path

from .. import __version__
from ..spec import CONSTRAINTS
from ..spec.deviations import DEVIATIONS, deviations_of

EXECUTED = ("passed", "failed", "waived")
SIMULATOR_PREFIXES = ("sim", "torch-cpu")  # backends that are not the hardware under sign-off
SIMULATOR_LABEL = "simulator run: not a hardware sign-off"


def read_results(path: Path) -> tuple[dict, list[dict]]:
    run, tests = {}, {}
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        if "run" in entry:
            run = entry["run"]
        elif "waiver_findings" in entry:
            run["waiver_findings"] = entry["waiver_findings"]
        else:  # a setup error and a call result of one test: keep the worst
            prev = tests.get(entry["nodeid"])
            if prev is None or entry["outcome"] == "failed":
                tests[entry["nodeid"]] = entry
    return run, list(tests.values())


def read_many(paths: list[Path]) -> tuple[dict, list[dict]]:
    """Merge several runs (one per hardware node): one verdict, each node's environment kept apart."""
    if len(paths) == 1:
        return read_results(paths[0])
    nodes, tests = [], []
    for i, path in enumerate(paths):
        run, node_tests = read_results(path)
        name = f"node{i + 1}:{Path(path).parent.name}"
        nodes.append({"name": name, **run})
        tests += [{**t, "nodeid": f"[{name}] {t['nodeid']}"} for t in node_tests]
    findings = [f for n in nodes for f in n.get("waiver_findings", [])]
    return {"nodes": nodes, "waiver_findings": findings}, tests


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


_OUTPUT_OF_STAT = re.compile(r"^rank \d+ (?P<output>[^:]+?)(?::|$)")


def output_of(stat_name: str) -> str:
    """The output a statistic is about: 'rank 0 y (in residual): error bound' -> 'y (in residual)',
    'rank 0 output: error bound' -> 'output' (QuantMatmulAllReduceV3), 'rank 1 normOut: ...' -> 'normOut'."""
    m = _OUTPUT_OF_STAT.match(stat_name)
    return m.group("output").strip() if m else stat_name


def _base(output: str) -> str:
    return output.split(" (", 1)[0]


def skip_reason(t: dict) -> str:
    msg = (t.get("message") or "").strip()
    return (msg[len("Skipped: "):] if msg.startswith("Skipped: ") else msg) or "(no reason given)"


def summarise(run: dict, tests: list[dict]) -> dict:
    counts = defaultdict(int)
    for t in tests:
        counts[t["outcome"]] += 1
    per_constraint = {c.id: {"passed": 0, "failed": 0, "skipped": 0, "waived": 0} for c in CONSTRAINTS}
    matrix: dict = {}  # (constraint, world size, dtype) -> worst outcome seen
    accuracy: dict = {}
    skips: dict = {}
    for t in tests:
        info = t.get("mc2") or {}
        if t["outcome"] == "skipped":
            skips[skip_reason(t)] = skips.get(skip_reason(t), 0) + 1
        for cid in info.get("covers", []):
            if cid in per_constraint:
                per_constraint[cid][t["outcome"]] = per_constraint[cid].get(t["outcome"], 0) + 1
                key = f"{cid}|{info.get('world_size')}|{info.get('dtype')}"
                matrix[key] = _worst(matrix.get(key), t["outcome"])
        stats = info.get("stats") or {}
        key = f"{info.get('op', '?')} / {info.get('dtype', '?')}"
        for name, st in stats.items():
            if "max_ratio" in st:
                full = output_of(name)  # e.g. "y (in residual)": keyed by the output, "y", shown in full
                acc = accuracy.setdefault(key, {}).setdefault(_base(full), {"worst_ratio": 0.0, "worst_case": ""})
                acc["output"] = max(acc.get("output", ""), full, key=len)
                if st["max_ratio"] > acc["worst_ratio"]:
                    acc["worst_ratio"], acc["worst_case"] = st["max_ratio"], info.get("case_id", "")
            for out, vm in (st.get("vendor_metrics") or {}).items():
                acc = accuracy.setdefault(key, {}).setdefault(_base(out), {"worst_ratio": 0.0, "worst_case": ""})
                for metric in ("share_over_1ulp", "max_rel_error", "mean_rel_error", "share_rel_over_1e-3"):
                    acc[metric] = max(acc.get(metric, 0.0), vm.get(metric, 0.0))
                acc["max_abs_balance"] = max(acc.get("max_abs_balance", 0.0), abs(vm.get("error_balance", 0.0)))
    evidence = _evidence(tests, per_constraint, counts)
    verdict, reasons = _verdict(counts, tests, evidence)
    return {"verdict": verdict, "verdict_reasons": reasons, "evidence": evidence, "counts": dict(counts),
            "constraints": per_constraint, "accuracy": accuracy, "matrix": matrix,
            "matrix_catalogue": catalogue_cells(), "skips": sorted(skips.items(), key=lambda kv: (-kv[1], kv[0])),
            "rejections": rejections(tests), "deviations": deviation_rows(tests),
            "precision": precision_levels(tests),
            "signed_off": signed_off(run, tests),
            "failures": [t for t in tests if t["outcome"] == "failed"],
            "waived": [t for t in tests if t["outcome"] == "waived"],
            # passed, flagged: the judge's check could not discriminate (judge.py, the mistrusted block)
            "mistrusted": [t for t in tests if (t.get("mc2") or {}).get("category") == "mistrusted"],
            "relations": relation_rows(tests),
            "waiver_findings": run.get("waiver_findings", [])}


def relation_rows(tests: list[dict]) -> list[list[str]]:
    """Per metamorphic relation (cases/test_relations.py): how often it held, did not, or was not evaluated;
    determinism is recorded, not judged, unless --mc2-require-determinism."""
    counts: dict = {}
    for t in tests:
        rel = t.get("mc2_relation")
        if not rel:
            continue
        held = rel.get("held")
        key = "held" if held else "not evaluated" if held is None else "did not hold"
        counts.setdefault(rel["relation"], {"held": 0, "did not hold": 0, "not evaluated": 0})[key] += 1
    return [[name, str(c["held"]), str(c["did not hold"]), str(c["not evaluated"])]
            for name, c in sorted(counts.items())]


PRECISION_CHECK = "precision standard"  # conformance/tolerance/precision.py CHECK_NAME
_LEVEL_ORDER = ("below L0", "L0", "L1", "L2")  # worst first; "not judged" sorts apart


def precision_levels(tests: list[dict]) -> dict:
    """The vendor precision standard's level per "operator / dtype": the worst level over its judged cases,
    the worst device/chain ratio of each metric, the worst case, and how many cases were judged / not judged."""
    rows: dict = {}
    standard, modes = "", set()
    for t in tests:
        info = t.get("mc2") or {}
        st = (info.get("stats") or {}).get(PRECISION_CHECK)
        if not st:
            continue
        standard = standard or st.get("standard", "")
        modes.add(st.get("mode", "informational"))
        row = rows.setdefault(f"{info.get('op', '?')} / {info.get('dtype', '?')}",
                              {"level": None, "worst_case": "", "judged": 0, "not_judged": 0, "ratios": {},
                               "rechecked": 0, "failed": 0})
        level = st.get("level_after_recheck") or st.get("level")
        if level not in _LEVEL_ORDER:
            row["not_judged"] += 1
            row.setdefault("why_not", st.get("chain") or st.get("error") or level)
            continue
        row["judged"] += 1
        row["rechecked"] += bool(st.get("recheck"))
        row["failed"] += t.get("outcome") == "failed" and (info.get("category") == "precision")
        if row["level"] is None or _LEVEL_ORDER.index(level) < _LEVEL_ORDER.index(row["level"]):
            row["level"], row["worst_case"] = level, info.get("case_id", "")
        for k, v in (st.get("ratios") or {}).items():
            row["ratios"][k] = max(row["ratios"].get(k, 0.0), float(v))
    return {"standard": standard, "modes": sorted(modes), "rows": rows}


def _evidence(tests: list[dict], per_constraint: dict, counts: dict) -> dict:
    covered = [c.id for c in CONSTRAINTS
               if any(c.id in ((t.get("mc2") or {}).get("covers") or ()) for t in tests)]
    only_skipped = [cid for cid in covered if not any(per_constraint[cid].get(o, 0) for o in EXECUTED)]
    return {"tests": len(tests), "executed": sum(counts.get(o, 0) for o in EXECUTED), "covered": len(covered),
            "only_skipped": only_skipped}


def _verdict(counts: dict, tests: list[dict], ev: dict) -> tuple[str, list[str]]:
    """(verdict, reasons). FAIL beats NO VERDICT; NO VERDICT beats PASS."""
    if counts.get("failed"):
        n = counts["failed"]
        return "FAIL", [f"{n} test{'s' if n != 1 else ''} failed"]
    reasons = []
    if not tests:
        reasons.append("the results log holds no test: nothing was collected")
    elif not ev["executed"]:
        reasons.append(f"no test executed: all {len(tests)} collected tests were skipped (reasons below)")
    if tests and ev["only_skipped"]:
        reasons.append(f"{len(ev['only_skipped'])} of the {ev['covered']} constraints the collected tests cover "
                       f"never executed (only skipped): {', '.join(ev['only_skipped'])}")
    if reasons:
        return "NO VERDICT", reasons
    ok = (f"{ev['executed']} of {ev['tests']} tests executed, and each of the {ev['covered']} constraints "
          f"the collected tests cover executed at least once")
    return ("PASS WITH WAIVERS", [ok, f"{counts['waived']} failure{'s' if counts['waived'] != 1 else ''} waived"]) \
        if counts.get("waived") else ("PASS", [ok])


def is_simulator(backend: str | None) -> bool:
    return bool(backend) and str(backend).startswith(SIMULATOR_PREFIXES)


def node_runs(run: dict) -> list[dict]:
    return run["nodes"] if "nodes" in run else [run]


def signed_off(run: dict, tests: list[dict]) -> dict:
    """What a verdict is about: the header of the page, in order."""
    nodes = node_runs(run)

    def per_node(get):
        values = [get(n) for n in nodes]
        shown = [("-" if v in (None, "", []) else v) for v in values]
        if len({json.dumps(v, default=str) for v in shown}) <= 1:
            return shown[0] if shown else "-"
        return "; ".join(f"{n.get('name', i)}: {v}" for i, (n, v) in enumerate(zip(nodes, shown)))

    def join(v):
        return ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v

    backends = [n.get("backend") for n in nodes]
    return {
        "backend": per_node(lambda n: n.get("backend")),
        "backend description": per_node(lambda n: (n.get("environment") or {}).get("backend")),
        "simulator": any(is_simulator(b) for b in backends),
        "profile": per_node(lambda n: n.get("profile")),
        "world sizes": per_node(lambda n: join(n.get("world_sizes"))),
        "operators": ", ".join(sorted({(t.get("mc2") or {}).get("op") for t in tests} - {None})) or "-",
        "CANN version": per_node(lambda n: n.get("cann_version") or "not given (--cann-version)"),
        "document revision": per_node(lambda n: n.get("doc_revision") or "not recorded"),
        "status check": per_node(lambda n: n.get("status_check") or "not recorded"),
        "nodes": len(nodes),
        "seed": per_node(lambda n: n.get("seed")),
        "faults": per_node(lambda n: join(n.get("faults")) or "none"),
    }


def rejections(tests: list[dict]) -> dict:
    """Per rejection constraint: what the catalogue promised and every (status, phase) the ranks answered with
    (recorded for every invalid case, judged only where a document states the code)."""
    out: dict = {}
    for t in tests:
        info = t.get("mc2") or {}
        if info.get("kind") != "invalid" or not info.get("covers") or "observed" not in info:
            continue
        row = out.setdefault(info["covers"][0], {"expected": info.get("expected", ""), "observed": {}})
        for status, phase in info["observed"]:
            key = f"{status}" + (f" from {phase}" if phase else "")
            row["observed"][key] = row["observed"].get(key, 0) + 1
    return dict(sorted(out.items()))


def deviation_rows(tests: list[dict]) -> list[dict]:
    """Each known deviation of the published source, with what this run's matching cases did."""
    by_dev: dict = {d.id: {"passed": 0, "failed": 0, "waived": 0, "skipped": 0} for d in DEVIATIONS}
    for t in tests:
        case_id = (t.get("mc2") or {}).get("case_id")
        for d in deviations_of(case_id) if case_id else ():
            by_dev[d.id][t["outcome"]] = by_dev[d.id].get(t["outcome"], 0) + 1
    return [{"id": d.id, "constraints": list(d.constraints), "quote": d.document_quote, "source": d.source_ref,
             "behaviour": d.behaviour, "run": by_dev[d.id]} for d in DEVIATIONS]


def _run_counts(r: dict) -> str:
    return ", ".join(f"{v} {k}" for k, v in r.items() if v) or "no matching case ran"


_RANK = {None: -1, "skipped": 0, "passed": 1, "waived": 2, "failed": 3}
MATRIX_WORLD_SIZES = (1, 2, 4, 8)
MATRIX_DTYPES = ("float16", "bfloat16")
# a matrix cell: (symbol on the page, symbol in Markdown, meaning); "na" and "notrun" are the two blanks
CELL_STATES = {
    "pass": ("\u2713", "ok", "passed"),
    "fail": ("\u2717", "**FAIL**", "failed"),
    "waived": ("W", "waived", "failed, waived (a known deviation)"),
    "skipped": ("s", "skip", "skipped only (no case of the cell executed)"),
    "notrun": ("\u2013", "not run", "not run: the catalogue has a case for this cell, none was in this run"),
    "na": ("", "n/a", "not applicable: no case in the catalogue for this cell"),
}


def _worst(a, b):
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def catalogue_cells() -> dict:
    """'constraint|world size|dtype' -> the smallest profile with a catalogue case there (every profile and
    world size: a cell absent here is not applicable, one present but absent from the run was not run)."""
    from ..casegen import catalogue
    from ..casegen.model import PROFILES
    cells: dict = {}
    for case in catalogue():
        for cid in case.covers:
            key = f"{cid}|{case.world_size}|{case.dtype}"
            if key not in cells or PROFILES.index(case.profile) < PROFILES.index(cells[key]):
                cells[key] = case.profile
    return cells


def matrix_rows(s: dict):
    """(constraint, [(world size, dtype, state, why)]) for every constraint: the verdict page's matrix."""
    names = {"passed": "pass", "failed": "fail", "waived": "waived", "skipped": "skipped"}
    catalogue = s.get("matrix_catalogue", {})
    for con in CONSTRAINTS:
        cells = []
        for ws in MATRIX_WORLD_SIZES:
            for dt in MATRIX_DTYPES:
                key = f"{con.id}|{ws}|{dt}"
                state = names.get(s["matrix"].get(key))
                if state is None:
                    state = "notrun" if key in catalogue else "na"
                why = CELL_STATES[state][2]
                if state == "notrun":
                    why += f" (profile {catalogue[key]}, world size {ws})"
                cells.append((ws, dt, state, why))
        yield con, cells


def _constraint_state(c) -> str:
    if c["failed"]:
        return "fail"
    if c.get("waived"):
        return "waived"
    if c["passed"]:
        return "pass"
    return "skipped" if c["skipped"] else "not run"


def environments(run: dict) -> list[tuple[str, dict]]:
    if "nodes" in run:
        return [(n["name"], environment(n)) for n in run["nodes"]]
    return [("", environment(run))]


def environment(run: dict) -> dict:
    """The node's own facts (the plugin's "node" entry, written on the node); a log from before that entry
    falls back to the machine rendering the report, and says so."""
    node = run.get("node")
    if node:
        env = {k: node.get(k, "unknown") for k in ("hostname", "suite_version", "git_revision", "python", "platform")}
    else:
        label = " (rendering machine)"
        env = {"suite_version" + label: __version__, "git_revision" + label: git_revision(),
               "python" + label: platform.python_version(), "platform" + label: platform.platform()}
    env.update({k: run.get(k) for k in ("backend", "profile", "world_sizes", "seed", "faults", "accumulation")})
    env.update({k: run[k] for k in ("status_check", "doc_revision", "cann_version") if k in run})
    for k, v in (run.get("environment") or {}).items():  # the backend's describe()
        env["backend description" if k == "backend" else k] = v
    return env


def selfcheck_line(sc: dict | None) -> str:
    if not sc:
        return "self-check: not run (mc2-conformance selfcheck)"
    return (f"self-check: {sc['killed']}/{sc['total']} simulator faults killed ({sc['score']:.0%}), clean simulator "
            f"{'passes' if sc['clean']['passed'] else 'FAILS'} (profile {sc['profile']})")


def to_markdown(run: dict, s: dict) -> str:
    from .page import build_page, render_markdown
    return render_markdown(build_page(run, s))


def to_html(run: dict, s: dict) -> str:
    from .page import build_page, render_html
    return render_html(build_page(run, s))


ALLURE_INDEX = Path("allure-report") / "index.html"


def write_summary(results, out_dir: Path, selfcheck: Path | None = None, *, allure_built: bool | None = None) -> dict:
    """`results`: one results.jsonl or a list of them (merged). `selfcheck`: a selfcheck.json whose score the
    summary quotes (the suite's own detection power). `allure_built`: whether the Allure HTML report was built
    into out_dir/allure-report (the page links to it only then); None: look for its index.html."""
    paths = [Path(p) for p in (results if isinstance(results, (list, tuple)) else [results])]
    run, tests = read_many(paths)
    s = summarise(run, tests)
    if selfcheck and Path(selfcheck).exists():
        s["selfcheck"] = json.loads(Path(selfcheck).read_text())
    out_dir = Path(out_dir)
    s["allure_built"] = (out_dir / ALLURE_INDEX).exists() if allure_built is None else bool(allure_built)
    from .page import build_page, render_html, render_markdown
    page = build_page(run, s)
    (out_dir / "summary.md").write_text(render_markdown(page))
    (out_dir / "summary.html").write_text(render_html(page))
    (out_dir / "summary.json").write_text(json.dumps({
        "verdict": s["verdict"], "verdict_reasons": s["verdict_reasons"], "evidence": s["evidence"],
        "counts": s["counts"], "mistrusted": len(s.get("mistrusted") or ()), "signed_off": s["signed_off"],
        "skips": [{"reason": r, "tests": n} for r, n in s["skips"]],
        "environments": dict(environments(run)), "selfcheck": selfcheck_line(s.get("selfcheck")),
        "constraints": s["constraints"]}, indent=1, default=str))
    return s
