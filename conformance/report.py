"""Sign-off summary from a results log (one JSON line per test, written by the pytest plugin).

Writes summary.md and summary.html (self-contained: no scripts, no network): environment, verdict,
per-constraint verdict, accuracy per operator and dtype (worst error/bound ratio and vendor metrics), and
every failure with its repro line.
"""

from __future__ import annotations

import html
import json
import platform
import subprocess
from collections import defaultdict
from pathlib import Path

from . import __version__
from .spec import AMBIGUITIES, CONSTRAINTS
from .spec.deviations import DEVIATIONS, deviations_of


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


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def summarise(run: dict, tests: list[dict]) -> dict:
    counts = defaultdict(int)
    for t in tests:
        counts[t["outcome"]] += 1
    per_constraint = {c.id: {"passed": 0, "failed": 0, "skipped": 0, "waived": 0} for c in CONSTRAINTS}
    matrix: dict = {}  # (constraint, world size, dtype) -> worst outcome seen
    accuracy: dict = {}
    for t in tests:
        info = t.get("mc2") or {}
        for cid in info.get("covers", []):
            if cid in per_constraint:
                per_constraint[cid][t["outcome"]] += 1
                key = f"{cid}|{info.get('world_size')}|{info.get('dtype')}"
                matrix[key] = _worst(matrix.get(key), t["outcome"])
        stats = info.get("stats") or {}
        key = f"{info.get('op', '?')} / {info.get('dtype', '?')}"
        for name, st in stats.items():
            if "max_ratio" in st:
                out = "normOut" if "normOut" in name else "y"
                acc = accuracy.setdefault(key, {}).setdefault(out, {"worst_ratio": 0.0, "worst_case": ""})
                if st["max_ratio"] > acc["worst_ratio"]:
                    acc["worst_ratio"], acc["worst_case"] = st["max_ratio"], info.get("case_id", "")
            for out, vm in (st.get("vendor_metrics") or {}).items():
                acc = accuracy.setdefault(key, {}).setdefault(out, {"worst_ratio": 0.0, "worst_case": ""})
                for metric in ("share_over_1ulp", "max_rel_error", "mean_rel_error", "share_rel_over_1e-3"):
                    acc[metric] = max(acc.get(metric, 0.0), vm.get(metric, 0.0))
                acc["max_abs_balance"] = max(acc.get("max_abs_balance", 0.0), abs(vm.get("error_balance", 0.0)))
    verdict = "FAIL" if counts["failed"] or not tests else ("PASS WITH WAIVERS" if counts["waived"] else "PASS")
    return {"verdict": verdict, "counts": dict(counts), "constraints": per_constraint, "accuracy": accuracy,
            "matrix": matrix, "rejections": rejections(tests), "deviations": deviation_rows(tests),
            "failures": [t for t in tests if t["outcome"] == "failed"],
            "waived": [t for t in tests if t["outcome"] == "waived"],
            "waiver_findings": run.get("waiver_findings", [])}


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


def _worst(a, b):
    return a if _RANK.get(a, 0) >= _RANK.get(b, 0) else b


def matrix_rows(s: dict):
    """(constraint, [(world size, dtype, state)]) for every constraint: the verdict page's matrix."""
    for con in CONSTRAINTS:
        cells = []
        for ws in MATRIX_WORLD_SIZES:
            for dt in MATRIX_DTYPES:
                cells.append((ws, dt, {"passed": "pass", "failed": "fail", "waived": "waived", "skipped": "skipped"}
                              .get(s["matrix"].get(f"{con.id}|{ws}|{dt}"), "none")))
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
    env = {"suite_version": __version__, "git_revision": git_revision(), "python": platform.python_version(),
           "platform": platform.platform()}
    env.update({k: run.get(k) for k in ("backend", "profile", "world_sizes", "seed", "faults", "accumulation")})
    env.update(run.get("environment") or {})
    return env


def selfcheck_line(sc: dict | None) -> str:
    if not sc:
        return "self-check: not run (mc2-conformance selfcheck)"
    return (f"self-check: {sc['killed']}/{sc['total']} simulator faults killed ({sc['score']:.0%}), clean simulator "
            f"{'passes' if sc['clean']['passed'] else 'FAILS'} (profile {sc['profile']})")


def to_markdown(run: dict, s: dict) -> str:
    lines = [f"# MC2 conformance sign-off: **{s['verdict']}**", ""]
    c = s["counts"]
    lines.append(f"{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('waived', 0)} waived, "
                 f"{c.get('skipped', 0)} skipped")
    lines += ["", selfcheck_line(s.get("selfcheck"))]
    for name, env in environments(run):
        lines += ["", f"## Environment{' of ' + name if name else ''}", "", "| key | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in env.items()]
    lines += ["", "## Constraints", "", "| constraint | verdict | passed | failed | skipped | promise |",
              "|---|---|---|---|---|---|"]
    for con in CONSTRAINTS:
        st = s["constraints"][con.id]
        lines.append(f"| {con.id} | {_constraint_state(st)} | {st['passed']} | {st['failed']} | {st['skipped']} "
                     f"| {con.paraphrase} |")
    lines += ["", "## Matrix: constraint x world size x dtype", "",
              "| constraint | " + " | ".join(f"w{ws} {'fp16' if dt == 'float16' else 'bf16'}" for ws in MATRIX_WORLD_SIZES for dt in MATRIX_DTYPES)
              + " |", "|---|" + "---|" * (len(MATRIX_WORLD_SIZES) * len(MATRIX_DTYPES))]
    mark = {"pass": "ok", "fail": "**FAIL**", "waived": "waived", "skipped": "skip", "none": "."}
    for con, cells in matrix_rows(s):
        lines.append(f"| {con.id} | " + " | ".join(mark[c] for _, _, c in cells) + " |")
    lines += ["", "## Accuracy (worst error / derived bound; vendor metrics on rank 0)", "",
              "| operator / dtype | output | worst error/bound | case | share > 1 ulp | max rel err |",
              "|---|---|---|---|---|---|"]
    for key, outs in sorted(s["accuracy"].items()):
        for out, a in sorted(outs.items()):
            lines.append(f"| {key} | {out} | {a['worst_ratio']:.3f} | {a['worst_case']} | "
                         f"{a.get('share_over_1ulp', 0):.2e} | {a.get('max_rel_error', 0):.2e} |")
    lines += ["", "## Rejections: promised and observed status (per rank, with the phase it came from)", "",
              "| constraint | promised | observed |", "|---|---|---|"]
    lines += [f"| {cid} | {r['expected']} | {', '.join(f'{k} x{n}' for k, n in r['observed'].items())} |"
              for cid, r in s["rejections"].items()]
    lines += ["", "## Deviations of the published implementation from the documents", "",
              "| deviation | constraints | behaviour of the source | document | this run |", "|---|---|---|---|---|"]
    lines += [f"| {d['id']} | {', '.join(d['constraints'])} | {d['behaviour']} | {d['quote'].replace(chr(10), ' / ')} "
              f"| {_run_counts(d['run'])} |" for d in s["deviations"]]
    lines += ["", "## Documented ambiguities (the suite's choice)", ""]
    lines += [f"- **{a.id}**: {a.statement} *Choice:* {a.choice}" for a in AMBIGUITIES]
    lines += ["", "## Waived failures", ""]
    lines += [f"- {t['nodeid']}: {t.get('message', '')}" for t in s["waived"]] or ["none"]
    if s["waiver_findings"]:
        lines += ["", "### Waiver findings", ""] + [f"- {x}" for x in s["waiver_findings"]]
    lines += ["", "## Failures", ""]
    if not s["failures"]:
        lines.append("none")
    for t in s["failures"]:
        lines += [f"### {t['nodeid']}", "", "```", t.get("message", "").strip(), "```", ""]
    return "\n".join(lines) + "\n"


_CSS = ("body{font-family:sans-serif;margin:1.5em;max-width:1300px}#matrix td{padding:1px 4px}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}"
        ".pass{background:#d4f4d4}.waived{background:#fff2b3}.fail{background:#f8c8c8}.skipped,.not,.none{background:#eee}td.cell{text-align:center;width:2.2em}"
        "pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}.PASS{color:#080}.FAIL{color:#b00}")


def to_html(run: dict, s: dict) -> str:
    """One self-contained page (no scripts, no remote resources): verdict first, then the matrix a release
    manager reads, accuracy, failures, and the detail below."""
    e = html.escape
    c = s["counts"]

    def table(head, rows, attrs=""):
        return (f"<table {attrs}><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows)
                + "</table>")

    symbol = {"pass": "&#10003;", "fail": "&#10007;", "waived": "W", "skipped": "s", "none": ""}
    matrix = table(["constraint"] + [f"w{ws}<br>{dt}" for ws in MATRIX_WORLD_SIZES for dt in MATRIX_DTYPES],
                   [f"<tr><td>{con.id}</td>" + "".join(
                       f"<td class='cell {st}' data-constraint='{con.id}' data-world-size='{ws}' data-dtype='{dt}' "
                       f"title='{con.id} w{ws} {dt}: {st}'>{symbol[st]}</td>" for ws, dt, st in cells) + "</tr>"
                    for con, cells in matrix_rows(s)], "id='matrix'")
    accuracy = table(["operator / dtype", "output", "worst error/bound", "case", "share &gt; 1 ulp", "max rel err"],
                     [f"<tr><td>{e(key)}</td><td>{out}</td><td>{a['worst_ratio']:.3f}</td><td>{e(a['worst_case'])}"
                      f"</td><td>{a.get('share_over_1ulp', 0):.2e}</td><td>{a.get('max_rel_error', 0):.2e}</td></tr>"
                      for key, outs in sorted(s["accuracy"].items()) for out, a in sorted(outs.items())])
    failures = "".join(f"<h3>{e(t['nodeid'])}</h3><pre>{e(t.get('message', '').strip())}</pre>"
                       f"<p><a href='allure-report/index.html'>open in the Allure report</a></p>"
                       for t in s["failures"]) or "<p>none</p>"
    waived = "".join(f"<li>{e(t['nodeid'])}: {e(t.get('message', ''))}</li>" for t in s["waived"]) or "<li>none</li>"
    waived += "".join(f"<li><b>waiver finding</b>: {e(x)}</li>" for x in s["waiver_findings"])
    envs = "".join(f"<h3>Environment{' of ' + e(name) if name else ''}</h3>"
                   + table(["key", "value"], [f"<tr><td>{e(str(k))}</td><td>{e(str(v))}</td></tr>"
                                              for k, v in env.items()], "class='env'")
                   for name, env in environments(run))
    constraints = table(["constraint", "verdict", "passed", "failed", "waived", "skipped", "promise"],
                        [f"<tr class='{_constraint_state(st).split()[0]}'><td>{con.id}</td><td>{_constraint_state(st)}"
                         f"</td><td>{st['passed']}</td><td>{st['failed']}</td><td>{st.get('waived', 0)}</td>"
                         f"<td>{st['skipped']}</td><td>{e(con.paraphrase)}</td></tr>"
                         for con in CONSTRAINTS for st in [s["constraints"][con.id]]])
    ambiguities = "".join(f"<li><b>{a.id}</b>: {e(a.statement)} <i>Choice:</i> {e(a.choice)}</li>"
                          for a in AMBIGUITIES)
    rejected = table(["constraint", "promised", "observed (status from phase x ranks)"],
                     [f"<tr><td>{cid}</td><td>{e(r['expected'])}</td><td>"
                      f"{e(', '.join(f'{k} x{n}' for k, n in r['observed'].items()))}</td></tr>"
                      for cid, r in s["rejections"].items()], "id='rejections'")
    deviations = table(["deviation", "constraints", "behaviour of the source", "document", "source", "this run"],
                       [f"<tr><td>{d['id']}</td><td>{', '.join(d['constraints'])}</td><td>{e(d['behaviour'])}</td>"
                        f"<td lang='zh'>{e(d['quote'])}</td><td>{e(d['source'])}</td><td>{_run_counts(d['run'])}</td></tr>"
                        for d in s["deviations"]], "id='deviations'")
    verdict_class = s["verdict"].split()[0]
    return "\n".join([
        f"<!doctype html><html><head><meta charset='utf-8'><title>MC2 sign-off {s['verdict']}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>MC2 conformance sign-off: <span class='{verdict_class}'>{s['verdict']}</span></h1>",
        f"<p>{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('waived', 0)} waived, "
        f"{c.get('skipped', 0)} skipped &middot; {e(selfcheck_line(s.get('selfcheck')))} &middot; "
        f"<a href='allure-report/index.html'>Allure report</a></p>",
        "<h2>Matrix: constraint &times; world size &times; dtype</h2>", matrix,
        "<h2>Accuracy (worst error / derived bound; vendor metrics on rank 0)</h2>", accuracy,
        "<h2>Failures</h2>", failures, "<h2>Waived failures</h2><ul>", waived, "</ul>",
        "<h2>Environment</h2>", envs, "<h2>Constraints</h2>", constraints,
        "<h2>Rejections: promised and observed status</h2>", rejected,
        "<h2>Deviations of the published implementation from the documents</h2>", deviations,
        "<h2>Documented ambiguities</h2><ul>", ambiguities, "</ul></body></html>"])


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


def write_summary(results, out_dir: Path, selfcheck: Path | None = None) -> dict:
    """`results`: one results.jsonl or a list of them (merged). `selfcheck`: a selfcheck.json whose score the
    summary quotes (the suite's own detection power)."""
    paths = [Path(p) for p in (results if isinstance(results, (list, tuple)) else [results])]
    run, tests = read_many(paths)
    s = summarise(run, tests)
    if selfcheck and Path(selfcheck).exists():
        s["selfcheck"] = json.loads(Path(selfcheck).read_text())
    out_dir = Path(out_dir)
    (out_dir / "summary.md").write_text(to_markdown(run, s))
    (out_dir / "summary.html").write_text(to_html(run, s))
    (out_dir / "summary.json").write_text(json.dumps({"verdict": s["verdict"], "counts": s["counts"],
                                                      "environments": dict(environments(run)),
                                                      "selfcheck": selfcheck_line(s.get("selfcheck")),
                                                      "constraints": s["constraints"]}, indent=1))
    return s
