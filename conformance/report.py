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
    accuracy: dict = {}
    for t in tests:
        info = t.get("mc2") or {}
        for cid in info.get("covers", []):
            if cid in per_constraint:
                per_constraint[cid][t["outcome"]] += 1
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
            "failures": [t for t in tests if t["outcome"] == "failed"],
            "waived": [t for t in tests if t["outcome"] == "waived"],
            "waiver_findings": run.get("waiver_findings", [])}


def _constraint_state(c) -> str:
    if c["failed"]:
        return "fail"
    if c.get("waived"):
        return "waived"
    if c["passed"]:
        return "pass"
    return "skipped" if c["skipped"] else "not run"


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
    lines += ["", "## Environment", "", "| key | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in environment(run).items()]
    lines += ["", "## Constraints", "", "| constraint | verdict | passed | failed | skipped | promise |",
              "|---|---|---|---|---|---|"]
    for con in CONSTRAINTS:
        st = s["constraints"][con.id]
        lines.append(f"| {con.id} | {_constraint_state(st)} | {st['passed']} | {st['failed']} | {st['skipped']} "
                     f"| {con.paraphrase} |")
    lines += ["", "## Accuracy (worst error / derived bound; vendor metrics on rank 0)", "",
              "| operator / dtype | output | worst error/bound | case | share > 1 ulp | max rel err |",
              "|---|---|---|---|---|---|"]
    for key, outs in sorted(s["accuracy"].items()):
        for out, a in sorted(outs.items()):
            lines.append(f"| {key} | {out} | {a['worst_ratio']:.3f} | {a['worst_case']} | "
                         f"{a.get('share_over_1ulp', 0):.2e} | {a.get('max_rel_error', 0):.2e} |")
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


_CSS = ("body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}"
        ".pass{background:#d4f4d4}.waived{background:#fff2b3}.fail{background:#f8c8c8}.skipped,.not{background:#eee}"
        "pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}.PASS{color:#080}.FAIL{color:#b00}")


def to_html(run: dict, s: dict) -> str:
    e = html.escape
    c = s["counts"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>MC2 sign-off {s['verdict']}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>MC2 conformance sign-off: <span class='{s['verdict'].split()[0]}'>{s['verdict']}</span></h1>",
             f"<p>{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('skipped', 0)} skipped</p>",
             f"<p>{e(selfcheck_line(s.get('selfcheck')))}</p>",
             "<h2>Environment</h2><table>"]
    parts += [f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in environment(run).items()]
    parts.append("</table><h2>Constraints</h2><table><tr><th>constraint</th><th>verdict</th><th>passed</th>"
                 "<th>failed</th><th>skipped</th><th>promise</th></tr>")
    for con in CONSTRAINTS:
        st = s["constraints"][con.id]
        state = _constraint_state(st)
        parts.append(f"<tr class='{state.split()[0]}'><td>{con.id}</td><td>{state}</td><td>{st['passed']}</td>"
                     f"<td>{st['failed']}</td><td>{st['skipped']}</td><td>{e(con.paraphrase)}</td></tr>")
    parts.append("</table><h2>Accuracy</h2><table><tr><th>operator / dtype</th><th>output</th>"
                 "<th>worst error/bound</th><th>case</th><th>share &gt; 1 ulp</th><th>max rel err</th></tr>")
    for key, outs in sorted(s["accuracy"].items()):
        for out, a in sorted(outs.items()):
            parts.append(f"<tr><td>{e(key)}</td><td>{out}</td><td>{a['worst_ratio']:.3f}</td>"
                         f"<td>{e(a['worst_case'])}</td><td>{a.get('share_over_1ulp', 0):.2e}</td>"
                         f"<td>{a.get('max_rel_error', 0):.2e}</td></tr>")
    parts.append("</table><h2>Documented ambiguities</h2><ul>")
    parts += [f"<li><b>{a.id}</b>: {e(a.statement)} <i>Choice:</i> {e(a.choice)}</li>" for a in AMBIGUITIES]
    parts.append("</ul><h2>Waived failures</h2><ul>")
    parts += [f"<li>{e(t['nodeid'])}: {e(t.get('message', ''))}</li>" for t in s["waived"]] or ["<li>none</li>"]
    parts += [f"<li><b>waiver finding</b>: {e(x)}</li>" for x in s["waiver_findings"]]
    parts.append("</ul><h2>Failures</h2>")
    if not s["failures"]:
        parts.append("<p>none</p>")
    for t in s["failures"]:
        parts.append(f"<h3>{e(t['nodeid'])}</h3><pre>{e(t.get('message', '').strip())}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_summary(results: Path, out_dir: Path, selfcheck: Path | None = None) -> dict:
    """`selfcheck`: a selfcheck.json whose score the summary quotes (the suite's own detection power)."""
    run, tests = read_results(results)
    s = summarise(run, tests)
    if selfcheck and Path(selfcheck).exists():
        s["selfcheck"] = json.loads(Path(selfcheck).read_text())
    out_dir = Path(out_dir)
    (out_dir / "summary.md").write_text(to_markdown(run, s))
    (out_dir / "summary.html").write_text(to_html(run, s))
    (out_dir / "summary.json").write_text(json.dumps({"verdict": s["verdict"], "counts": s["counts"],
                                                      "environment": environment(run),
                                                      "selfcheck": selfcheck_line(s.get("selfcheck")),
                                                      "constraints": s["constraints"]}, indent=1))
    return s
