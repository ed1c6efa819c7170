"""Sign-off summary from a results log (one JSON line per test, written by the pytest plugin).

`summarise` turns the log into the facts of a verdict, a `conformance.results.Summary` (counts, per-constraint
and matrix states, accuracy, precision levels, skips by reason, the evidence rule, the environments);
`reporting.page` renders a Summary alone (summary.md, summary.html); `write_summary` writes both and summary.json
(Summary.to_json). What the page says about the catalogue (constraints, ambiguities, deviations, the matrix's
cells) comes from the run's own record of it (results.CatalogueFacts, written by the plugin): reporting never
reads the live catalogue.

The verdict needs evidence: FAIL if any test failed; otherwise NO VERDICT unless at least one test executed
(passed, failed or waived) and every catalogue constraint the collected tests cover executed at least once;
otherwise PASS WITH WAIVERS if a failure was waived, else PASS. Cases the backend could not hold (category
hardware_only: "not run here: needs N GiB") are counted apart ("not run here") and are no evidence either way:
they run on hardware, and a simulator run that cannot hold them still reaches its verdict.
"""

from __future__ import annotations

import json
import platform
import subprocess
from collections import defaultdict
from pathlib import Path

from .. import __version__
from ..protocol import NOT_HARDWARE, TARGET_HARDWARE, TARGET_SIMULATOR
from ..results import (CatalogueFacts, Category, ConstraintFact, PathCoverage, RunEntry, Summary, TestEntry,
                       output_of, read_log, selfcheck_line)
from .page import (CELL_STATES, MATRIX_DTYPES, MATRIX_WORLD_SIZES, NOT_HARDWARE_SUFFIX, SIMULATOR_LABEL, build_page,
                   render_html, render_markdown)

__all__ = ["read_results", "read_many", "summarise", "write_summary", "git_revision", "output_of", "selfcheck_line",
           "CELL_STATES", "MATRIX_DTYPES", "MATRIX_WORLD_SIZES", "SIMULATOR_LABEL"]

EXECUTED = ("passed", "failed", "waived")
NOT_RUN_HERE = "not run here"  # the count of hardware-only cases (results.Category.HARDWARE_ONLY)
# logs written before backends declared their target: the names of the backends that are not the hardware
LEGACY_SIMULATOR_NAMES = ("sim", "torch-cpu")


def read_results(path: Path) -> tuple[RunEntry, list[TestEntry]]:
    """(run entry, tests) of one results.jsonl (results.read_log); an empty RunEntry if it has none."""
    log = read_log(path)
    return log.run or RunEntry(), log.tests


def read_many(paths: list[Path]) -> tuple[list[RunEntry], list[TestEntry]]:
    """Merge several runs (one per hardware node): one verdict, each node's environment kept apart."""
    if len(paths) == 1:
        run, tests = read_results(paths[0])
        return [run], tests
    nodes, tests = [], []
    for i, path in enumerate(paths):
        run, node_tests = read_results(path)
        run.name = f"node{i + 1}:{Path(path).parent.name}"
        nodes.append(run)
        for t in node_tests:
            t.nodeid = f"[{run.name}] {t.nodeid}"
        tests += node_tests
    return nodes, tests


def nodes_of(run) -> list[RunEntry]:
    """The runs a summary is about, from a RunEntry, a list of them, or a run entry's dict (with "nodes" where
    several runs were merged)."""
    if isinstance(run, RunEntry):
        return [run]
    if isinstance(run, (list, tuple)):
        return [r if isinstance(r, RunEntry) else RunEntry.from_dict(r) for r in run]
    run = dict(run or {})
    if "nodes" in run:
        nodes = [RunEntry.from_dict(n) for n in run["nodes"]]
        if run.get("waiver_findings") and not any(n.waiver_findings for n in nodes):
            nodes[0].waiver_findings = list(run["waiver_findings"])
        return nodes
    return [RunEntry.from_dict(run)]


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _base(output: str) -> str:
    return output.split(" (", 1)[0]


def skip_reason(t) -> str:
    return TestEntry.coerce(t).skip_reason()


def catalogue_of(nodes: list[RunEntry], tests: list[TestEntry]) -> CatalogueFacts:
    """The catalogue facts the run recorded (the first node that did). A log from before the plugin recorded
    them: the constraints its tests cover (no paraphrase, deviation or matrix cell)."""
    for n in nodes:
        if n.catalogue is not None:
            return n.catalogue
    seen: dict = {}
    for t in tests:
        for cid in t.info.covers:
            seen.setdefault(cid, ConstraintFact(cid, "", ""))
    return CatalogueFacts(constraints=sorted(seen.values(), key=lambda c: c.id))


def summarise(run, tests: list) -> Summary:
    """The verdict's facts of a run (a RunEntry, a list of them for several nodes, or a run entry's dict) and
    its tests (TestEntry, or their dicts as results.jsonl holds them)."""
    nodes = nodes_of(run)
    every_test = [TestEntry.coerce(t) for t in tests]
    catalogue = catalogue_of(nodes, every_test)
    not_run_here = [t for t in every_test if t.category == Category.HARDWARE_ONLY]
    tests = [t for t in every_test if t.category != Category.HARDWARE_ONLY]
    counts = defaultdict(int)
    for t in tests:
        counts[t.outcome] += 1
    if not_run_here:
        counts[NOT_RUN_HERE] = len(not_run_here)
    per_constraint = {c.id: {"passed": 0, "failed": 0, "skipped": 0, "waived": 0} for c in catalogue.constraints}
    matrix: dict = {}  # (constraint, world size, dtype) -> worst outcome seen
    accuracy: dict = {}
    skips: dict = {}
    for t in tests:
        info = t.info
        if t.outcome == "skipped":
            skips[t.skip_reason()] = skips.get(t.skip_reason(), 0) + 1
        for cid in info.covers:
            if cid in per_constraint:
                per_constraint[cid][t.outcome] = per_constraint[cid].get(t.outcome, 0) + 1
                key = f"{cid}|{info.world_size}|{info.dtype}"
                matrix[key] = _worst(matrix.get(key), t.outcome)
        key = f"{info.op or '?'} / {info.dtype or '?'}"
        for name, st in (info.stats or {}).items():
            if "max_ratio" in st:
                full = info.output_name(name)  # e.g. "y (in residual)": keyed by the output, "y", shown in full
                acc = accuracy.setdefault(key, {}).setdefault(_base(full), {"worst_ratio": 0.0, "worst_case": ""})
                acc["output"] = max(acc.get("output", ""), full, key=len)
                if st["max_ratio"] > acc["worst_ratio"]:
                    acc["worst_ratio"], acc["worst_case"] = st["max_ratio"], info.case_id or ""
            for out, vm in (st.get("vendor_metrics") or {}).items():
                acc = accuracy.setdefault(key, {}).setdefault(_base(out), {"worst_ratio": 0.0, "worst_case": ""})
                for metric in ("share_over_1ulp", "max_rel_error", "mean_rel_error", "share_rel_over_1e-3"):
                    acc[metric] = max(acc.get(metric, 0.0), vm.get(metric, 0.0))
                acc["max_abs_balance"] = max(acc.get("max_abs_balance", 0.0), abs(vm.get("error_balance", 0.0)))
    evidence = _evidence(tests, per_constraint, counts, catalogue)
    verdict, reasons = _verdict(counts, tests, evidence)
    return Summary(
        verdict=verdict, verdict_reasons=reasons, evidence=evidence, counts=dict(counts),
        constraints=per_constraint, accuracy=accuracy, matrix=matrix, matrix_catalogue=dict(catalogue.matrix_cells),
        skips=sorted(skips.items(), key=lambda kv: (-kv[1], kv[0])), rejections=rejections(tests),
        deviations=deviation_rows(tests, catalogue), precision=precision_levels(tests),
        signed_off=signed_off(nodes, every_test), not_run_here=not_run_here,
        failures=[t for t in tests if t.outcome == "failed"], waived=[t for t in tests if t.outcome == "waived"],
        # passed, flagged: the judge's check could not discriminate (judge.py, the mistrusted block)
        mistrusted=[t for t in tests if t.category == Category.MISTRUSTED],
        relations=relation_rows(tests),
        waiver_findings=[f for n in nodes for f in n.waiver_findings],
        environments=environments(nodes), catalogue=catalogue,
        # the implementation paths the judged cases reach, as each run recorded them; several nodes: their union
        paths=PathCoverage.merge(n.paths for n in nodes))


def relation_rows(tests: list[TestEntry]) -> list[list[str]]:
    """Per metamorphic relation (cases/test_relations.py): how often it held, did not, or was not evaluated;
    determinism is recorded, not judged, unless the selected documents promise it under a setting the run used
    (signed_off "determinism") or --mc2-require-determinism."""
    counts: dict = {}
    for t in tests:
        rel = t.mc2_relation
        if rel is None:
            continue
        key = "held" if rel.held else "not evaluated" if rel.held is None else "did not hold"
        counts.setdefault(rel.relation, {"held": 0, "did not hold": 0, "not evaluated": 0})[key] += 1
    return [[name, str(c["held"]), str(c["did not hold"]), str(c["not evaluated"])]
            for name, c in sorted(counts.items())]


PRECISION_CHECK = "precision standard"  # conformance/tolerance/precision.py CHECK_NAME
_LEVEL_ORDER = ("below L0", "L0", "L1", "L2")  # worst first; "not judged" sorts apart


def precision_levels(tests: list[TestEntry]) -> dict:
    """The vendor precision standard's level per "operator / dtype": the worst level over its judged cases,
    the worst device/chain ratio of each metric, the worst case, and how many cases were judged / not judged."""
    rows: dict = {}
    standard, modes = "", set()
    for t in tests:
        info = t.info
        st = (info.stats or {}).get(PRECISION_CHECK)
        if not st:
            continue
        standard = standard or st.get("standard", "")
        modes.add(st.get("mode", "informational"))
        row = rows.setdefault(f"{info.op or '?'} / {info.dtype or '?'}",
                              {"level": None, "worst_case": "", "judged": 0, "not_judged": 0, "ratios": {},
                               "rechecked": 0, "failed": 0})
        level = st.get("level_after_recheck") or st.get("level")
        if level not in _LEVEL_ORDER:
            row["not_judged"] += 1
            row.setdefault("why_not", st.get("chain") or st.get("error") or level)
            continue
        row["judged"] += 1
        row["rechecked"] += bool(st.get("recheck"))
        row["failed"] += t.outcome == "failed" and (info.category == Category.PRECISION)
        if row["level"] is None or _LEVEL_ORDER.index(level) < _LEVEL_ORDER.index(row["level"]):
            row["level"], row["worst_case"] = level, info.case_id or ""
        for k, v in (st.get("ratios") or {}).items():
            row["ratios"][k] = max(row["ratios"].get(k, 0.0), float(v))
    return {"standard": standard, "modes": sorted(modes), "rows": rows}


def _evidence(tests: list[TestEntry], per_constraint: dict, counts: dict, catalogue: CatalogueFacts) -> dict:
    covered = [c.id for c in catalogue.constraints if any(c.id in (t.info.covers or ()) for t in tests)]
    only_skipped = [cid for cid in covered if not any(per_constraint[cid].get(o, 0) for o in EXECUTED)]
    return {"tests": len(tests), "executed": sum(counts.get(o, 0) for o in EXECUTED), "covered": len(covered),
            "only_skipped": only_skipped}


def _verdict(counts: dict, tests: list, ev: dict) -> tuple[str, list[str]]:
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


def target_of(node: RunEntry) -> str:
    """What the run ran on, as its environment declared it (describe()["target"]: protocol.TARGET_*, or the CANN
    twin's "CANN twin (CPU)"); a log from before that declaration: by the backend's name."""
    target = (node.environment or {}).get("target")
    if target is not None:
        return str(target)
    legacy = bool(node.backend) and str(node.backend).startswith(LEGACY_SIMULATOR_NAMES)
    return TARGET_SIMULATOR if legacy else TARGET_HARDWARE


def is_simulator(node: RunEntry) -> bool:
    """Whether the run's backend is not the hardware under sign-off, as the backend itself declared it: every
    target but TARGET_HARDWARE (the simulators, the CPU reference, the CANN twin, a target this suite does not
    know yet) is no hardware sign-off."""
    return target_of(node) != TARGET_HARDWARE


def not_hardware_label(nodes: list[RunEntry]) -> str:
    """The page's warning for runs that are not on hardware ("" when all are): the simulators' and the CPU
    reference's SIMULATOR_LABEL, or the label naming any other target (the CANN twin), so a twin run never reads
    as a simulator's, nor as hardware."""
    targets = list(dict.fromkeys(target_of(n) for n in nodes if is_simulator(n)))
    if not targets:
        return ""
    if all(t in NOT_HARDWARE for t in targets):
        return SIMULATOR_LABEL
    named = [t for t in targets if t not in NOT_HARDWARE] + (["simulator"] if set(targets) & set(NOT_HARDWARE) else [])
    return f"{' / '.join(named)}{NOT_HARDWARE_SUFFIX}"


def signed_off(nodes: list[RunEntry], tests: list[TestEntry]) -> dict:
    """What a verdict is about: the header of the page, in order."""

    def per_node(get):
        values = [get(n) for n in nodes]
        shown = [("-" if v in (None, "", []) else v) for v in values]
        if len({json.dumps(v, default=str) for v in shown}) <= 1:
            return shown[0] if shown else "-"
        return "; ".join(f"{n.name or i}: {v}" for i, (n, v) in enumerate(zip(nodes, shown)))

    def join(v):
        return ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v

    def determinism(n: RunEntry):
        """How the determinism relation was judged: one line, operators that share a reason together."""
        if not n.determinism:
            return "not recorded"
        by_why: dict = {}
        for op, why in n.determinism.items():
            by_why.setdefault(why, []).append(op)
        if len(by_why) == 1:
            return next(iter(by_why))
        return "; ".join(f"{', '.join(ops)}: {why}" for why, ops in by_why.items())

    facts = {
        "backend": per_node(lambda n: n.backend),
        "backend description": per_node(lambda n: (n.environment or {}).get("backend")),
        "simulator": any(is_simulator(n) for n in nodes),  # no hardware sign-off (kept under its old name)
        "not hardware": not_hardware_label(nodes),  # the page's warning ("" on hardware)
        "target": per_node(target_of),
        "profile": per_node(lambda n: n.profile),
        "world sizes": per_node(lambda n: join(n.world_sizes)),
        "operators": ", ".join(sorted({t.info.op for t in tests} - {None})) or "-",
        "CANN version": per_node(lambda n: n.cann_version or "not given (--cann-version)"),
        "document revision": per_node(lambda n: n.doc_revision or "not recorded"),
        "status check": per_node(lambda n: n.status_check or "not recorded"),
        "unsupported inputs": per_node(lambda n: n.unsupported_inputs or "not recorded"),
        "HCCL_DETERMINISTIC": per_node(lambda n: n.hccl_deterministic or "not recorded"),
        "determinism": per_node(determinism),
        "nodes": len(nodes),
        "seed": per_node(lambda n: n.seed),
        "faults": per_node(lambda n: join(n.faults) or "none"),
    }
    if any(n.doc_notices for n in nodes):  # a deprecation the selected document revision states
        facts["document notices"] = per_node(lambda n: " | ".join(n.doc_notices) or "none")
    return facts


def rejections(tests: list[TestEntry]) -> dict:
    """Per rejection constraint: what the catalogue promised and every (status, phase) the ranks answered with
    (recorded for every invalid case, judged only where a document states the code)."""
    out: dict = {}
    for t in tests:
        info = t.mc2
        if info is None or info.kind != "invalid" or not info.covers or info.observed is None:
            continue
        row = out.setdefault(info.covers[0], {"expected": info.expected or "", "observed": {}})
        for status, phase in info.observed:
            key = f"{status}" + (f" from {phase}" if phase else "")
            row["observed"][key] = row["observed"].get(key, 0) + 1
    return dict(sorted(out.items()))


def deviation_rows(tests: list[TestEntry], catalogue: CatalogueFacts) -> list[dict]:
    """Each known deviation of the published source, with what this run's matching cases did (the plugin
    records per case the deviations whose case patterns match it)."""
    by_dev: dict = {d.id: {"passed": 0, "failed": 0, "waived": 0, "skipped": 0} for d in catalogue.deviations}
    for t in tests:
        for dev in (t.info.deviations or ()) if t.info.case_id else ():
            if dev in by_dev:
                by_dev[dev][t.outcome] = by_dev[dev].get(t.outcome, 0) + 1
    return [{"id": d.id, "constraints": list(d.constraints), "quote": d.quote, "source": d.source,
             "behaviour": d.behaviour, "run": by_dev[d.id]} for d in catalogue.deviations]


_RANK = {None: -1, "skipped": 0, "passed": 1, "waived": 2, "failed": 3}
def _worst(a, b):
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def environments(nodes: list[RunEntry]) -> list[tuple[str, dict]]:
    if len(nodes) > 1 or (nodes and nodes[0].name):
        return [(n.name, environment(n)) for n in nodes]
    return [("", environment(nodes[0] if nodes else RunEntry()))]


def environment(run: RunEntry) -> dict:
    """The node's own facts (the plugin's "node" entry, written on the node); a log from before that entry
    falls back to the machine rendering the report, and says so."""
    node = run.node
    if node:
        env = {k: node.get(k, "unknown") for k in ("hostname", "suite_version", "git_revision", "python", "platform")}
    else:
        label = " (rendering machine)"
        env = {"suite_version" + label: __version__, "git_revision" + label: git_revision(),
               "python" + label: platform.python_version(), "platform" + label: platform.platform()}
    env.update({"backend": run.backend, "profile": run.profile, "world_sizes": run.world_sizes, "seed": run.seed,
                "faults": run.faults, "accumulation": run.accumulation})
    env.update({k: getattr(run, k) for k in ("status_check", "unsupported_inputs", "doc_revision",
                                             "hccl_deterministic", "cann_version")
                if run.has(k)})
    for k, v in (run.environment or {}).items():  # the backend's describe()
        env["backend description" if k == "backend" else k] = v
    return env


ALLURE_INDEX = Path("allure-report") / "index.html"


def write_summary(results, out_dir: Path, selfcheck: Path | None = None, *, allure_built: bool | None = None
                  ) -> Summary:
    """`results`: one results.jsonl or a list of them (merged). `selfcheck`: a selfcheck.json whose score the
    summary quotes (the suite's own detection power). `allure_built`: whether the Allure HTML report was built
    into out_dir/allure-report (the page links to it only then); None: look for its index.html."""
    paths = [Path(p) for p in (results if isinstance(results, (list, tuple)) else [results])]
    nodes, tests = read_many(paths)
    s = summarise(nodes, tests)
    if selfcheck and Path(selfcheck).exists():
        s.selfcheck = json.loads(Path(selfcheck).read_text())
    out_dir = Path(out_dir)
    s.allure_built = (out_dir / ALLURE_INDEX).exists() if allure_built is None else bool(allure_built)
    page = build_page(s)
    (out_dir / "summary.md").write_text(render_markdown(page))
    (out_dir / "summary.html").write_text(render_html(page))
    s.write_json(out_dir / "summary.json")
    return s
